import EventLog
import EventRecords
import Events

/// A log record turned into either an event to fold or the reason it is poison.
public struct DecodedRecord: Sendable {
    /// What the record turned out to be.
    public enum Content: Sendable {
        case event(EventEssentials)
        case poison(reason: String)
    }

    /// Where the record is in the log.
    public let position: RecordPosition
    /// The time folds use: the event's own `time`, else when the log stored it.
    public let time: Timestamp
    public let content: Content
    /// The hashes of what a fold looks up first, computed by the decoding thread (zero for poison).
    let hashes: LookupHashes

    /// A record that is an event to fold, with the hashes of what its fold looks up first.
    init(position: RecordPosition, time: Timestamp, event: consuming EventEssentials) {
        self.position = position
        self.time = time
        hashes = LookupHashes(event)
        content = .event(event)
    }

    /// The record taken apart, its content moved out rather than copied.
    consuming func parts() -> (position: RecordPosition, time: Timestamp, hashes: LookupHashes, content: Content) {
        (position, time, hashes, content)
    }

    /// What a batch holds in place of a record moved out of it to be folded: poison with no reason, at no
    /// position, holding nothing to release.
    static var vacated: DecodedRecord {
        DecodedRecord(
            position: RecordPosition(topic: "", partition: 0, offset: 0), time: Timestamp(microseconds: 0),
            poisonReason: "")
    }

    /// A record that is poison, and why.
    init(position: RecordPosition, time: Timestamp, poisonReason: String) {
        self.position = position
        self.time = time
        content = .poison(reason: poisonReason)
        hashes = LookupHashes()
    }
}

/// `ByteTable.hash` of an event's dedup key (`StoreKeys.eventID`), of its key (the customer, for customer
/// streams) and of its order's key (`StoreKeys.order`, zero without one): hashing them where records are decoded,
/// on every core, spares the one folding thread.
struct LookupHashes: Sendable {
    var eventID: UInt64 = 0
    var key: UInt64 = 0
    var order: UInt64 = 0
    /// Where the event id's bytes are, when they are on the heap (ids of over 15 bytes): a hint for the fold to
    /// request them early, only ever prefetched, never read through (0 when there is none).
    var eventIDBytes: UInt = 0

    init() {}

    init(_ event: borrowing EventEssentials) {
        switch event.payload {
        case .orderPlaced(let order): self.order = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
        case .orderCancelled(let order):
            self.order = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
        case .orderRefunded(let order):
            self.order = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
        default: break
        }
        eventID = StoreKeys.eventIDHash(event.id)
        if event.id.utf8.count > 15 {
            eventIDBytes = event.id.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) } ?? 0
        }
        key = ByteTable.hash(event.key)
    }
}

/// Decodes records in either Kafka binding (`LentRecord.decodeEvent`) and applies the deployment's rules
/// (`CurrencyRule`) into the batch slots folds read. Pure.
public struct RecordDecoder: Sendable {
    /// Orders and refunds in another currency go to the dead-letter topic.
    public let rule: CurrencyRule

    /// A decoder for a deployment whose currency is `currency`.
    public init(currency: String) { rule = CurrencyRule(currency: currency) }

    /// Decodes one record; never fails: what cannot be folded comes back as poison with its reason.
    public func decode(_ record: LogRecord) -> DecodedRecord {
        record.withLent(decode)
    }

    /// `decode` for a record lent by a log, decoded from the log's own bytes.
    public func decode(_ record: LentRecord) -> DecodedRecord {
        withUnsafeTemporaryAllocation(of: DecodedRecord.self, capacity: 1) { place in
            decode(record, into: place.baseAddress!)
            return place.baseAddress!.move()
        }
    }

    /// Decodes `record` into `destination`, which is uninitialized. The event is built where it was read and moved
    /// once, into its place: returned instead, the ~200-byte record would be copied at every step up.
    public func decode(_ record: LentRecord, into destination: UnsafeMutablePointer<DecodedRecord>) {
        let logTime = record.logTime
        let position = record.position
        let failure = record.decodeEvent { event in
            if let problem = rule.problem(event.payload) {
                destination.initialize(to: DecodedRecord(position: position, time: logTime, poisonReason: problem))
            } else {
                let time = event.time ?? logTime
                destination.initialize(to: DecodedRecord(position: position, time: time, event: event))
            }
        }
        if let failure {
            destination.initialize(to: DecodedRecord(position: position, time: logTime, poisonReason: failure.description))
        }
    }

    /// Every record of `records` decoded, in order, on this thread.
    public func decode(_ records: [LentRecord]) -> [DecodedRecord] {
        [DecodedRecord](unsafeUninitializedCapacity: records.count) { buffer, initialized in
            records.withUnsafeBufferPointer { decode($0, $0.indices, into: buffer.baseAddress!) }
            initialized = records.count
        }
    }

    /// Decodes `records[range]` into the same places of `destination`, which are uninitialized. Most of a record's
    /// first touch is a cache miss: each is requested `prefetchDistance` records ahead, so that the misses overlap
    /// the decoding of the records before.
    public func decode(
        _ records: UnsafeBufferPointer<LentRecord>, _ range: Range<Int>,
        into destination: UnsafeMutablePointer<DecodedRecord>
    ) {
        for index in range {
            if index + Self.prefetchDistance < range.upperBound { records[index + Self.prefetchDistance].prefetch() }
            decode(records[index], into: destination + index)
        }
    }

    private static let prefetchDistance = 4
}
