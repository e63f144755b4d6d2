import EventLog
import LMDB

extension ReadModelStore {
    /// Folds one batch in one write transaction together with the next offset of every partition it consumed.
    /// Either all of it is stored or none of it. Returns what changed, for in-memory views kept beside the store.
    @discardableResult
    public func apply(_ batch: [DecodedRecord], nextOffsets: [TopicPartition: Int64]) throws -> BatchChanges {
        try environment.write { txn in
            var applier = BatchApplier(
                store: self, expectedRecords: batch.count, expectedCustomers: batch.count,
                sink: TransactionRows(store: self))
            // Copied, not moved out of the batch: a transaction that outgrows the map is run again, whole.
            try applier.fold(batch, in: txn)
            let changes = try applier.flush(in: txn)
            try Self.writeOffsets(nextOffsets, to: offsets, in: txn)
            return changes
        }
    }
}
