import EventLog
import LMDB
import Synchronization

/// A rebuild into an empty store, folded in memory and written in one transaction at the end (or when it outgrows
/// its memory budget): the fastest way to fold a whole log, and as exact as batches, since the folds are the same.
///
/// A crash before `commit` leaves the store as empty as it was: there is nothing half-written to recover from.
/// Used from one thread at a time (the projector's write queue).
public final class InMemoryRebuild: @unchecked Sendable {
    // @unchecked Sendable: used from one thread at a time.
    private let store: ReadModelStore
    private var applier: BatchApplier<RebuildRows>

    /// A rebuild into `store`, which must hold no read models yet, of about `expectedRecords` records (to size its
    /// tables once instead of growing them step by step).
    public init(store: ReadModelStore, expectedRecords: Int) throws {
        guard try store.isEmpty() else { throw ReadModelStore.NotEmpty() }
        self.store = store
        applier = BatchApplier(
            store: store, expectedRecords: expectedRecords, expectedCustomers: expectedRecords / 4,
            sink: RebuildRows(store: store, expectedRecords: expectedRecords))
    }

    /// Folds `batch` in memory. The store is only read (it is empty: every lookup misses). Records are moved out of
    /// `batch` when the caller handed it over (`BatchApplier.fold(moving:in:)`): a read transaction is not run again.
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

    /// Roughly how many bytes the folded state holds.
    public var estimatedBytes: Int { folded.withLock { $0.bytes } }

    /// Records folded so far.
    public var records: Int { folded.withLock { $0.records } }

    /// The most records one rebuild holds, whatever the memory budget: its tables number entries with 32 bits.
    public static let recordsMax = 1 << 30

    /// Whether the rebuild should be written now: past `bytesMax`, or close to `recordsMax` before a batch of up
    /// to `batchRecordsMax` more.
    public func isFull(bytesMax: Int, batchRecordsMax: Int) -> Bool {
        estimatedBytes > bytesMax || records + batchRecordsMax > Self.recordsMax
    }

    /// Writes everything folded, with `nextOffsets`, in one transaction. The rebuild is finished afterwards.
    @discardableResult
    public func commit(nextOffsets: [TopicPartition: Int64]) throws -> BatchChanges {
        // Stored, the rows take about what they take in memory; a map too small would fail the write and redo it.
        try store.environment.reserve(bytes: 2 * estimatedBytes + (64 << 20))
        return try store.environment.write { txn in
            let changes = try applier.flush(in: txn)
            try ReadModelStore.writeOffsets(nextOffsets, to: store.offsets, in: txn)
            return changes
        }
    }
}
