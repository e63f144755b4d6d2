import Foundation

/// Reads assigned partitions of an `EmbeddedLog`, waking on appends instead of polling.
final class EmbeddedReader: LogReader, @unchecked Sendable {
    // @unchecked Sendable: `assignments` is guarded by `lock`; a reader is meant for one consumer task anyway.

    struct Assignment {
        let partition: TopicPartition
        let id: UInt32
        var next: Int64
    }

    private let log: EmbeddedLog
    private let lock = NSLock()
    private var assignments: [Assignment]
    /// Where the next poll starts, so that a busy partition cannot starve the others.
    private var startIndex = 0
    private var isClosed = false

    /// Where each partition is in `assignments`.
    private let assignmentIndex: [TopicPartition: Int]

    init(log: EmbeddedLog, assignments: [Assignment]) {
        self.log = log
        self.assignments = assignments
        assignmentIndex = Dictionary(uniqueKeysWithValues: assignments.enumerated().map { ($1.partition, $0) })
    }

    func poll(maxRecords: Int, timeoutMs: Int) async throws(EventLogError) -> [LogRecord] {
        do {
            return try await pollLent(maxRecords: maxRecords, timeoutMs: timeoutMs) { lent in
                var headerCache = LentRecord.HeaderCache()
                return lent.map { $0.copy(sharingHeaders: &headerCache) }
            }
        } catch let error as EventLogError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    func pollLent<Result>(maxRecords: Int, timeoutMs: Int, _ body: ([LentRecord]) throws -> Result) async throws
        -> Result
    {
        precondition(maxRecords > 0, "poll needs room for at least one record")
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        while true {
            let generation = log.notifier.current
            if let result = try lendAvailable(maxRecords: maxRecords, body) { return result }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || log.closed { return try body([]) }
            let remainingMs = Int(
                remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
            await log.notifier.wait(after: generation, timeoutMs: max(1, remainingMs))
        }
    }

    /// What `body` makes of the records available now; nil when there are none.
    private func lendAvailable<Result>(maxRecords: Int, _ body: ([LentRecord]) throws -> Result) throws -> Result? {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw EventLogError.closed }
        guard !assignments.isEmpty else { return nil }
        return try log.lendRecords(assignments, from: startIndex, maxRecords: maxRecords) { lent in
            guard !lent.isEmpty else { return nil }
            // The records come in runs of one partition: each run moves its assignment past its last record.
            var index = 0
            while index < lent.count {
                let position = lent[index].position
                var last = index
                while last + 1 < lent.count, lent[last + 1].position.partition == position.partition,
                    lent[last + 1].position.topic == position.topic
                {
                    last += 1
                }
                if let assignment = assignmentIndex[
                    TopicPartition(topic: position.topic, partition: position.partition)]
                {
                    assignments[assignment].next = lent[last].position.offset + 1
                }
                index = last + 1
            }
            startIndex = (startIndex + 1) % assignments.count
            return try body(lent)
        }
    }

    func close() async {
        lock.withLock { isClosed = true }
    }
}
