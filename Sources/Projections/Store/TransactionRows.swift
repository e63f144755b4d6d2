import EventLog
import Events
import LMDB

/// The rows of a live batch, put into its write transaction as they come; its timeline rows go to the timeline's
/// own thread and environment (`TimelineBatch`), committed before the batch.
struct TransactionRows: RowSink {
    let store: ReadModelStore
    /// Reused for keys built per record, to spare an allocation each time.
    private var keyBuffer: [UInt8] = []
    /// The batch's timeline rows on their way, from its first one on.
    private var timeline: TimelineStream?

    init(store: ReadModelStore) {
        self.store = store
        keyBuffer.reserveCapacity(512)
    }

    var estimatedBytes: Int { 0 }

    var storeMayHoldRows: Bool { true }

    mutating func prefetchEventID(hash: UInt64) {}

    mutating func claim(eventID id: String, hash: UInt64, in txn: borrowing Transaction) throws -> Bool {
        // One insert that refuses an existing key both checks and records the id.
        StoreKeys.eventID(id, into: &keyBuffer)
        return try txn.put(store.eventIDs, key: keyBuffer, value: [UInt8](), flags: .noOverwrite)
    }

    mutating func addDeadLetter(_ position: RecordPosition, reason: String, in txn: borrowing Transaction) throws {
        try txn.put(
            store.deadLetters, key: StoreKeys.position(position),
            value: DeadLetterEntry.encodedValue(position: position, reason: reason))
    }

    mutating func addTimeline(
        _ customerID: String, slot: Int?, event: EventEssentials, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws {
        let stream = timelineStream()
        StoreKeys.timeline(customerID: customerID, time: time, position: position, into: &keyBuffer)
        stream.writer.put(
            store.timeline, key: { $0.append(contentsOf: keyBuffer) },
            value: { TimelineEntry.appendValue(type: event.type, eventID: event.id, to: &$0) })
    }

    private mutating func timelineStream() -> TimelineStream {
        if let timeline { return timeline }
        let stream = TimelineStream(store: store)
        timeline = stream
        return stream
    }

    mutating func addMessageLink(_ messageID: String, customerID: String, in txn: borrowing Transaction) throws {
        try txn.put(
            store.customerMessages, key: StoreKeys.customerMessage(customerID: customerID, messageID: messageID),
            value: [UInt8]())
    }

    mutating func dropCustomer(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws -> [String] {
        try Self.dropStoredRows(of: customerID, store: store, in: txn)
        timelineStream().writer.deleteAll(store.timeline, startingWith: StoreKeys.prefix(customerID))
        return try Self.storedMessageIDs(of: customerID, store: store, in: txn)
    }

    /// Deletes the stored orders of an erased customer (its timeline is in the timeline's environment).
    static func dropStoredRows(of customerID: String, store: ReadModelStore, in txn: borrowing Transaction) throws {
        try StoreKeys.prefix(customerID).withUnsafeBytes { try txn.deleteAll(store.orders, startingWith: $0) }
    }

    /// The ids of the stored messages linked to `customerID`.
    static func storedMessageIDs(of customerID: String, store: ReadModelStore, in txn: borrowing Transaction) throws
        -> [String]
    {
        let prefix = StoreKeys.prefix(customerID)
        var messageIDs: [String] = []
        try txn.forEach(store.customerMessages, from: prefix) { key, _ in
            guard key.starts(with: prefix) else { return false }
            messageIDs.append(String(decoding: key.dropFirst(prefix.count), as: UTF8.self))
            return true
        }
        return messageIDs
    }

    /// In key order on this thread: consecutive puts land on the same or neighbouring B-tree pages, still in cache.
    /// The timeline's rows are committed last, before the batch's transaction is.
    func write(
        customers: @escaping RowPipeline.Job, others: [RowPipeline.Job],
        customersByPrefix: @escaping @Sendable () -> [(id: String, slot: Int)], in txn: borrowing Transaction
    ) throws {
        try RowPipeline.runHere([customers] + others) { try txn.apply($0, flags: []) }
        try timeline?.commit()
    }
}

/// A live batch's timeline rows, chunked on their way to the timeline's thread. A reference, so that the
/// batch's flush, which cannot mutate its sink, commits the very rows the fold wrote.
private final class TimelineStream: @unchecked Sendable {
    // @unchecked Sendable: used by the batch's writing thread only.
    var writer: RowWriter
    private let batch: TimelineBatch

    init(store: ReadModelStore) {
        let batch = TimelineBatch(store: store)
        self.batch = batch
        writer = RowWriter(chunkBytes: TimelineBatch.chunkBytes) { batch.send($0) }
    }

    /// Ships what is written and commits it.
    func commit() throws {
        writer.finish()
        try batch.commit()
    }
}
