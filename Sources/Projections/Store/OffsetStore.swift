import EventLog
import LMDB

/// The progress of a consumer that is not a projection (the delivery worker), in an LMDB environment of its own.
///
/// Kept apart from the read models on purpose: LMDB has one writer per environment, and a commit here would
/// otherwise wait behind the projector's write transaction (tens of milliseconds per batch), once per delivery
/// round. Every commit is synced: progress stored is progress kept.
public final class OffsetStore: @unchecked Sendable {
    // @unchecked Sendable: LMDB transactions are synchronous; one consumer writes.

    private let environment: Environment
    private let offsets: Database

    /// Opens (creating if needed) the store in directory `path`.
    public init(path: String) throws {
        var options = Environment.Options()
        options.mapSizeBytes = 1 << 20
        options.maxDatabases = 1
        environment = try Environment(path: path, options: options)
        offsets = try environment.database("offsets")
    }

    /// The next offset to read of every partition stored so far.
    public func stored() throws -> [TopicPartition: Int64] {
        try ReadModelStore.readOffsets(offsets, in: environment)
    }

    /// Replaces the stored offsets of the partitions in `next`.
    public func store(_ next: [TopicPartition: Int64]) throws {
        try environment.write { txn in try ReadModelStore.writeOffsets(next, to: offsets, in: txn) }
    }
}
