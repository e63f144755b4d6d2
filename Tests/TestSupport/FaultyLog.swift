import EventLog
import Foundation

/// A real log whose appends to one topic fail as `unavailable` a given number of times first, as during a broker
/// outage. Everything else goes to the wrapped log unchanged.
public final class FaultyLog: EventLog, @unchecked Sendable {
    // @unchecked Sendable: the failure budget is guarded by `lock`; the wrapped log is Sendable.
    private let wrapped: any EventLog
    private let topic: String
    private let lock = NSLock()
    private var failuresLeft: Int
    private var failed = 0

    /// Fails the first `failures` appends that touch `topic`.
    public init(_ wrapped: any EventLog, failing failures: Int, appendsTo topic: String) {
        self.wrapped = wrapped
        self.topic = topic
        self.failuresLeft = failures
    }

    /// How many appends were refused so far.
    public var refusedAppends: Int { lock.withLock { failed } }

    public func append(_ records: [OutgoingRecord]) async throws(EventLogError) -> [RecordPosition] {
        let refuse = lock.withLock {
            guard failuresLeft > 0, records.contains(where: { $0.topic == topic }) else { return false }
            failuresLeft -= 1
            failed += 1
            return true
        }
        if refuse { throw .unavailable("injected outage") }
        return try await wrapped.append(records)
    }

    public func partitionCount(topic: String) async throws(EventLogError) -> Int32 {
        try await wrapped.partitionCount(topic: topic)
    }

    public func watermarks(_ partition: TopicPartition) async throws(EventLogError) -> Watermarks {
        try await wrapped.watermarks(partition)
    }

    public func makeReader(startingAt positions: [TopicPartition: Int64]) async throws(EventLogError) -> any LogReader {
        try await wrapped.makeReader(startingAt: positions)
    }

    public func close() async { await wrapped.close() }
}
