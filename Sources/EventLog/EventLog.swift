/// A durable, partitioned, append-only log of records: Kafka in production, LMDB on one machine.
///
/// Both implementations pass the same conformance suite (`Tests/EventLogTests`). Keys map to partitions with
/// Kafka's murmur2 (as the Java client does), so a log moves between implementations without reshuffling keys.
public protocol EventLog: Sendable {
    /// Appends records and returns once every one is durable (Kafka: acks=all; embedded: fsync'd), in input order.
    /// Either all records are appended or the call throws; on the embedded log nothing of a failed batch is kept.
    func append(_ records: [OutgoingRecord]) async throws(EventLogError) -> [RecordPosition]

    /// The number of partitions of `topic`.
    func partitionCount(topic: String) async throws(EventLogError) -> Int32

    /// The first offset still stored and the next offset to be written in one partition.
    func watermarks(_ partition: TopicPartition) async throws(EventLogError) -> Watermarks

    /// A reader that starts at the given offset of each listed partition.
    func makeReader(startingAt positions: [TopicPartition: Int64]) async throws(EventLogError) -> any LogReader

    /// Flushes and releases resources; later calls fail with `.closed`.
    func close() async
}

/// Reads records from a fixed set of partitions, each from its own position onwards.
public protocol LogReader: Sendable {
    /// Returns up to `maxRecords` records in offset order per partition; when none is available it waits up to
    /// `timeoutMs` for an append and returns an empty array if nothing arrived.
    func poll(maxRecords: Int, timeoutMs: Int) async throws(EventLogError) -> [LogRecord]

    /// Stops reading and releases resources.
    func close() async
}

extension EventLog {
    /// Every partition of `topics`, each starting at `offset` (0 reads from the beginning).
    public func allPartitions(of topics: [String], from offset: Int64 = 0) async throws(EventLogError)
        -> [TopicPartition: Int64]
    {
        var positions: [TopicPartition: Int64] = [:]
        for topic in topics {
            let count = try await partitionCount(topic: topic)
            for partition in 0..<count { positions[TopicPartition(topic: topic, partition: partition)] = offset }
        }
        return positions
    }
}
