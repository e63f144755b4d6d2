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

    init(log: EmbeddedLog, assignments: [Assignment]) {
        self.log = log
        self.assignments = assignments
    }

    func poll(maxRecords: Int, timeoutMs: Int) async throws(EventLogError) -> [LogRecord] {
        precondition(maxRecords > 0, "poll needs room for at least one record")
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        while true {
            let generation = log.notifier.current
            let records = try readAvailable(maxRecords: maxRecords)
            if !records.isEmpty { return records }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || log.closed { return [] }
            let remainingMs = Int(
                remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
            await log.notifier.wait(after: generation, timeoutMs: max(1, remainingMs))
        }
    }

    private func readAvailable(maxRecords: Int) throws(EventLogError) -> [LogRecord] {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw .closed }
        var records: [LogRecord] = []
        let count = assignments.count
        for step in 0..<count where records.count < maxRecords {
            let index = (startIndex + step) % count
            let before = records.count
            try log.readRecords(assignments[index], maxRecords: maxRecords - records.count, into: &records)
            if let last = records.last, records.count > before { assignments[index].next = last.offset + 1 }
        }
        if count > 0 { startIndex = (startIndex + 1) % count }
        return records
    }

    func close() async {
        lock.withLock { isClosed = true }
    }
}
