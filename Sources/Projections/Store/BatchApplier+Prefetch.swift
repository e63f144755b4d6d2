import LMDB
import Memory

/// Feeding a batch to the fold: records are taken in order — moved out of a batch folded once, copied otherwise —
/// and the lookups of records further on are requested ahead, so that their cache misses overlap.
extension BatchApplier {
    /// Folds every record of `batch`, in order, moving each out of it (`batch` is left holding placeholders): for
    /// a batch folded once, as a rebuild's are (a write transaction may be run again, and must copy instead).
    ///
    /// Moved, a record is folded without being copied: a copy retains every string and box it holds, a cache miss
    /// each on the folding thread, since another thread decoded them. When the caller still shares `batch`, taking
    /// it `inout` copies it first; callers hand batches over whole.
    mutating func fold(moving batch: inout [DecodedRecord], in txn: borrowing Transaction) throws {
        try batch.withUnsafeMutableBufferPointer { records in
            try fold(UnsafeBufferPointer(records), in: txn) { index in
                let record = (records.baseAddress! + index).move()
                // Refilled at once: whatever the fold throws, the array's elements stay initialized.
                (records.baseAddress! + index).initialize(to: .vacated)
                return record
            }
        }
    }

    /// Folds every record of `batch`, in order, copying each.
    mutating func fold(_ batch: [DecodedRecord], in txn: borrowing Transaction) throws {
        try batch.withUnsafeBufferPointer { records in try fold(records, in: txn) { records[$0] } }
    }

    /// Folds `records` in order, each as `take` gives it.
    ///
    /// A record's lookups go to tables of up to millions of entries, and then to the state they number: each a
    /// cache miss that stalls the thread when taken one at a time. So they are requested ahead, in two stages that
    /// overlap the misses of many records: `prefetchDistance` records ahead, the record itself, its id's bytes and
    /// its table places; half that far ahead, with those places in cache, the states they number.
    private mutating func fold(
        _ records: UnsafeBufferPointer<DecodedRecord>, in txn: borrowing Transaction,
        taking take: (Int) -> DecodedRecord
    ) throws {
        let (far, near) = (Self.prefetchDistance, Self.prefetchDistance / 2)
        for index in 0..<min(records.count, far) { requestPlaces(of: records.baseAddress! + index) }
        for index in 0..<min(records.count, near) { requestStates(of: records[index].hashes) }
        for index in records.indices {
            if index + far < records.count { requestPlaces(of: records.baseAddress! + index + far) }
            if index + near < records.count { requestStates(of: records[index + near].hashes) }
            try fold(take(index), in: txn)
        }
    }

    /// How many records ahead of the one being folded its lookups are requested (`fold(_:in:)`): enough to overlap
    /// that many misses, few enough that what they bring is still in cache when the record is folded.
    private static var prefetchDistance: Int { 16 }

    /// The first stage: the record (written by another core), its id's bytes and its table places.
    private mutating func requestPlaces(of record: UnsafePointer<DecodedRecord>) {
        let start = UnsafeRawPointer(record)
        for line in stride(from: 64, to: MemoryLayout<DecodedRecord>.size, by: 64) { Prefetch.line(start + line) }
        let hashes = record.pointee.hashes
        if let idBytes = UnsafeRawPointer(bitPattern: hashes.eventIDBytes) { Prefetch.line(idBytes) }
        sink.prefetchEventID(hash: hashes.eventID)
        customerIDs.prefetch(hash: hashes.key)
        orderKeys.prefetch(hash: hashes.order)
    }

    /// The second stage: the states the record's customer and order places number, when they hold any. Mutating
    /// though it changes nothing, like `requestPlaces`: called from the mutating fold, a non-mutating method was
    /// handed a copy of the whole applier, retaining every table, per record.
    private mutating func requestStates(of hashes: LookupHashes) {
        if let slot = customerIDs.likelyNumber(hash: hashes.key), slot < customerStates.count {
            customerIDs.keys.prefetch(keys: CollectionOfOne(slot))
            customerStates.withUnsafeBufferPointer { states in
                let start = UnsafeRawPointer(states.baseAddress! + slot)
                for line in stride(from: 0, to: MemoryLayout<CustomerState>.size, by: 64) {
                    Prefetch.line(start + line)
                }
            }
        }
        if hashes.order != 0, let place = orderKeys.likelyNumber(hash: hashes.order), place < orderStates.count {
            orderKeys.keys.prefetch(keys: CollectionOfOne(place))
            orderStates.withUnsafeBufferPointer { Prefetch.line($0.baseAddress! + place) }
        }
    }
}
