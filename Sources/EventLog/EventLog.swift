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

    /// `poll`, lending the records to `body` (valid only during the call) instead of returning copies; returns what
    /// `body` returns. Every reader has it (`LentRecord.swift`); readers over memory lend without copying.
    func pollLent<Result>(maxRecords: Int, timeoutMs: Int, _ body: ([LentRecord]) throws -> Result) async throws
        -> Result

    /// `poll`, lending the records in ranges that several threads may read at once (`SplitPoll`); returns what
    /// `body` returns. Every reader has it (`SplitPoll.swift`); the embedded log reads each range when it is lent.
    func pollSplit<Result>(maxRecords: Int, timeoutMs: Int, _ body: (SplitPoll) throws -> Result) async throws
        -> Result

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

    /// Appends, retrying with exponential backoff (100 ms doubling to 5 s) while the log is unavailable (a broker
    /// outage): the caller waits instead of failing, and carries on where it stopped. Any other error, or
    /// `shouldStop()` turning true, ends the wait with the error. `onRetry` hears of each retry (attempt number,
    /// backoff in milliseconds, the error), for logging.
    public func appendRetrying(
        _ records: [OutgoingRecord], shouldStop: () -> Bool,
        onRetry: (_ attempt: Int, _ backoffMs: Int, _ error: EventLogError) -> Void = { _, _, _ in }
    ) async throws {
        var attempt = 0
        while true {
            do throws(EventLogError) {
                _ = try await append(records)
                return
            } catch {
                // (A `catch where` clause here crashes the Swift 6.3 compiler with typed throws.)
                guard error.isRetriable, !shouldStop() else { throw error }
                attempt += 1
                let backoffMs = min(5_000, 100 << min(attempt - 1, 6))
                onRetry(attempt, backoffMs, error)
                try await Task.sleep(for: .milliseconds(backoffMs))
            }
        }
    }
}
