import EventLog
import Events
import LMDB

/// Where a fold's per-event rows go — event ids, dead letters, timelines, message links — and how the flush writes
/// a batch's rows. `BatchApplier` folds the same way into either kind: `TransactionRows` puts each row into the
/// write transaction as it comes (live batches); `RebuildRows` keeps them in memory and appends every database in
/// key order at the end (a rebuild into an empty store).
protocol RowSink: SendableMetatype {
    /// Roughly how many bytes the rows held here take.
    var estimatedBytes: Int { get }
    /// Whether the store may hold rows the batch removes (a deleted segment): false for an empty store.
    var storeMayHoldRows: Bool { get }

    /// Starts loading whatever `claim` will look at for an id hashing to `hash` (a hint; may do nothing).
    mutating func prefetchEventID(hash: UInt64)
    /// Records event id `id`, whose key hashes to `hash` (`StoreKeys.eventIDHash`); false when it was seen before,
    /// whatever its position in the log.
    mutating func claim(eventID id: String, hash: UInt64, in txn: borrowing Transaction) throws -> Bool
    /// Records poison at `position`, and why.
    mutating func addDeadLetter(_ position: RecordPosition, reason: String, in txn: borrowing Transaction) throws
    /// Adds a timeline row of `customerID` (in `slot` of the applier when it holds one) for `event`, the event whose
    /// id was claimed last.
    mutating func addTimeline(
        _ customerID: String, slot: Int?, event: EventEssentials, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws
    /// Links message `messageID` to its customer.
    mutating func addMessageLink(_ messageID: String, customerID: String, in txn: borrowing Transaction) throws
    /// Drops an erased customer's orders and timeline; returns the ids of the messages sent to them.
    mutating func dropCustomer(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws -> [String]
    /// Runs the flush's row jobs into `txn`: `customers` first, then this sink's own rows, then `others`.
    func write(
        customers: @escaping RowPipeline.Job, others: [RowPipeline.Job],
        customersByPrefix: @escaping @Sendable () -> [(id: String, slot: Int)], in txn: borrowing Transaction
    ) throws
}
