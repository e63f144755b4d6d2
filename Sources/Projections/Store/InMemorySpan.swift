import EventLog
import Foundation
import LMDB
import Synchronization

/// A span of the log folded in memory and written in one transaction at its end: the fastest way to fold many
/// records, and as exact as batches, since the folds are the same. Into an empty store (a rebuild) every database
/// is appended in key order; into a store that holds read models already (a projector catching up) the span reads
/// what it folds onto from the store and its rows are merged in key order.
///
/// A crash before `commit` leaves the store as it was: there is nothing half-written to recover from. The store
/// must not be written by anyone else while the span is open (the projector is its only writer). Used from one
/// thread at a time (the projector's write queue).
public final class InMemorySpan: @unchecked Sendable {
    // @unchecked Sendable: used from one thread at a time.
    private let store: ReadModelStore
    private var applier: BatchApplier<RebuildRows>

    /// Whether the span merges into read models already stored (false: a rebuild into an empty store).
    public let mergesIntoStore: Bool

    /// A span of about `expectedRecords` records folded onto `store` (to size its tables once instead of growing
    /// them step by step).
    public init(store: ReadModelStore, expectedRecords: Int) throws {
        self.store = store
        mergesIntoStore = try !store.isEmpty()
        applier = BatchApplier(
            store: store, expectedRecords: expectedRecords, expectedCustomers: expectedRecords / 4,
            sink: RebuildRows(store: store, expectedRecords: expectedRecords, mergesIntoStore: mergesIntoStore))
    }

    /// Folds `batch` in memory; the store is only read. Records are moved out of `batch` when the caller handed it
    /// over (`BatchApplier.fold(moving:in:)`): a read transaction is not run again.
    public func fold(_ batch: consuming [DecodedRecord]) throws {
        var batch = batch
        let count = batch.count
        try store.environment.read { txn in try applier.fold(moving: &batch, in: txn) }
        let bytes = applier.estimatedBytes
        folded.withLock {
            $0.records += count
            $0.bytes = bytes
        }
    }

    /// Records folded so far and roughly how many bytes they hold: asked from other threads while batches fold.
    private let folded = Mutex((records: 0, bytes: 0))

    /// Whether the span's write empties the largest databases and appends their stored rows merged with its own
    /// (`StoreRewrite`); known once written.
    public var rewritesStore: Bool { applier.sink.rewritesStore }

    /// Roughly how many bytes the folded state holds.
    public var estimatedBytes: Int { folded.withLock { $0.bytes } }

    /// Records folded so far.
    public var records: Int { folded.withLock { $0.records } }

    /// The most records one span holds, whatever the memory budget: its tables number entries with 32 bits.
    public static let recordsMax = 1 << 30

    /// Whether the span should be written now: past `bytesMax`, or close to `recordsMax` before a batch of up to
    /// `batchRecordsMax` more.
    public func isFull(bytesMax: Int, batchRecordsMax: Int) -> Bool {
        estimatedBytes > bytesMax || records + batchRecordsMax > Self.recordsMax
    }

    /// Writes everything folded, with `nextOffsets`, in one transaction. The span is finished afterwards.
    @discardableResult
    public func commit(nextOffsets: [TopicPartition: Int64]) throws -> BatchChanges {
        // Stored, the rows take about what they take in memory, on top of what the file holds already; a map too
        // small would fail the write and redo it.
        let stored = (try? FileManager.default.attributesOfItem(atPath: store.environment.path + "/data.mdb"))?[.size]
        let storedBytes = stored as? Int ?? 0
        // A span of at least half as many records as the store has folded touches most pages of its largest
        // databases: writing them anew costs less than merging into them (`StoreRewrite`), and leaves them packed.
        // Their old pages stay until the commit, beside the new ones.
        let storedEvents = mergesIntoStore ? try store.environment.read { try $0.count(store.eventIDs) } : 0
        applier.sink.rewriteWanted = 2 * records >= storedEvents
        let rewrittenBytes = applier.sink.rewritesStore ? storedBytes : 0
        try store.environment.reserve(bytes: storedBytes + rewrittenBytes + 2 * estimatedBytes + (64 << 20))
        let timelinePath = store.timelineEnvironment.path + "/data.mdb"
        let timelineStored = (try? FileManager.default.attributesOfItem(atPath: timelinePath))?[.size] as? Int ?? 0
        try store.timelineEnvironment.reserve(
            bytes: timelineStored * (applier.sink.rewritesStore ? 2 : 1) + 2 * applier.sink.timelineBytes + (64 << 20))
        return try store.environment.write { txn in
            let changes = try applier.flush(in: txn)
            try ReadModelStore.writeOffsets(nextOffsets, to: store.offsets, in: txn)
            return changes
        }
    }
}
