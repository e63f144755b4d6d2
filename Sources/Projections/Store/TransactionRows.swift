import EventLog
import Events
import LMDB

/// The rows of a live batch, put into its write transaction: event ids and dead letters as they come, timeline
/// rows at the flush, in key order.
struct TransactionRows: RowSink {
    let store: ReadModelStore
    /// Reused for keys built per record, to spare an allocation each time.
    private var keyBuffer: [UInt8] = []
    /// The batch's timeline rows, key and value under the same index. Put as they came, each row of a batch of
    /// visits to random customers descended the largest B-tree from its root to a page in no cache, which took
    /// half the batch's time; in key order, each put starts where the one before ended.
    private var timelineKeys = KeyArena()
    private var timelineValues = KeyArena()

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
        StoreKeys.timeline(customerID: customerID, time: time, position: position, into: &keyBuffer)
        timelineKeys.append(keyBuffer)
        TimelineEntry.encodeValue(type: event.type, eventID: event.id, into: &keyBuffer)
        timelineValues.append(keyBuffer)
    }

    mutating func addMessageLink(_ messageID: String, customerID: String, in txn: borrowing Transaction) throws {
        try txn.put(
            store.customerMessages, key: StoreKeys.customerMessage(customerID: customerID, messageID: messageID),
            value: [UInt8]())
    }

    mutating func dropCustomer(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws -> [String] {
        try Self.dropStoredRows(of: customerID, store: store, in: txn)
        // Erasures are rare: the batch's rows are copied once without the customer's.
        let prefix = StoreKeys.prefix(customerID)
        var (keys, values) = (KeyArena(), KeyArena())
        for index in 0..<timelineKeys.count where !timelineKeys.withKey(index, { $0.starts(with: prefix) }) {
            timelineKeys.withKey(index) { keys.append($0) }
            timelineValues.withKey(index) { values.append($0) }
        }
        (timelineKeys, timelineValues) = (keys, values)
        return try Self.storedMessageIDs(of: customerID, store: store, in: txn)
    }

    /// Deletes the stored orders and timeline of an erased customer.
    static func dropStoredRows(of customerID: String, store: ReadModelStore, in txn: borrowing Transaction) throws {
        let prefix = StoreKeys.prefix(customerID)
        for database in [store.orders, store.timeline] {
            var keys: [[UInt8]] = []
            try txn.forEach(database, from: prefix) { key, _ in
                guard key.starts(with: prefix) else { return false }
                keys.append(Array(key))
                return true
            }
            for key in keys { try txn.delete(database, key: key) }
        }
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
    func write(
        customers: @escaping RowPipeline.Job, others: [RowPipeline.Job],
        customersByPrefix: @escaping @Sendable () -> [(id: String, slot: Int)], in txn: borrowing Transaction
    ) throws {
        let rows = self
        let timeline: RowPipeline.Job = { writer in
            for index in rows.timelineKeys.sortedIndices() {
                writer.put(
                    rows.store.timeline,
                    key: { key in rows.timelineKeys.withKey(index) { key.append(contentsOf: $0) } },
                    value: { value in rows.timelineValues.withKey(index) { value.append(contentsOf: $0) } })
            }
        }
        try RowPipeline.runHere([customers, timeline] + others) { try txn.apply($0, flags: []) }
    }
}
