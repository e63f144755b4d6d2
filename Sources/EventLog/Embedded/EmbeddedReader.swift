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
        do {
            // Copied straight out of the map, with no array of lent records in between.
            var records: [LogRecord] = []
            var headerCache = LentRecord.HeaderCache()
            return try await waitForRecords(maxRecords: maxRecords, timeoutMs: timeoutMs, empty: []) {
                try readAvailable(maxRecords: maxRecords) {
                    records.append($0.copy(sharingHeaders: &headerCache))
                } finish: {
                    records
                }
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
        var lent: [LentRecord] = []
        lent.reserveCapacity(min(maxRecords, 1 << 16))
        return try await waitForRecords(maxRecords: maxRecords, timeoutMs: timeoutMs, empty: try body([])) {
            try readAvailable(maxRecords: maxRecords) {
                lent.append($0)
            } finish: {
                try body(lent)
            }
        }
    }

    func pollSplit<Result>(maxRecords: Int, timeoutMs: Int, _ body: (SplitPoll) throws -> Result) async throws
        -> Result
    {
        try await waitForRecords(
            maxRecords: maxRecords, timeoutMs: timeoutMs, empty: try body(SplitPoll(lending: []))
        ) {
            try planAvailable(maxRecords: maxRecords, body)
        }
    }

    /// Plans a poll of up to `maxRecords` of the records committed now, taken in turn from `startIndex` like
    /// `readAvailable`, and returns what `body` makes of it while its records are lent; nil when there are none.
    /// Nothing is read until `body` lends a range: offsets are contiguous, so committed offsets say which records
    /// the poll holds.
    private func planAvailable<Result>(maxRecords: Int, _ body: (SplitPoll) throws -> Result) throws -> Result? {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw EventLogError.closed }
        guard !assignments.isEmpty else { return nil }
        let ends = try log.committedEnds(of: assignments.map(\.id))
        var runs: [(index: Int, id: UInt32, run: SplitPoll.Run)] = []
        var count = 0
        for step in 0..<assignments.count where count < maxRecords {
            let index = (startIndex + step) % assignments.count
            let assignment = assignments[index]
            let taken = min(ends[index] - assignment.next, Int64(maxRecords - count))
            guard taken > 0 else { continue }
            runs.append(
                (index, assignment.id,
                    SplitPoll.Run(partition: assignment.partition, offsets: assignment.next..<(assignment.next + taken))))
            count += Int(taken)
        }
        guard count > 0 else { return nil }
        let ids = Dictionary(uniqueKeysWithValues: runs.map { ($0.run.partition, $0.id) })
        let log = self.log
        let result = try body(
            SplitPoll(runs: runs.map(\.run)) { parts, lend in
                try log.readRuns(parts.map { (ids[$0.partition]!, $0) }, lend)
            })
        for (index, _, run) in runs { assignments[index].next = run.offsets.upperBound }
        startIndex = (startIndex + 1) % assignments.count
        return result
    }

    /// Calls `read` until it finds records or `timeoutMs` pass (then `empty`), waiting for appends in between.
    private func waitForRecords<Result>(
        maxRecords: Int, timeoutMs: Int, empty: @autoclosure () throws -> Result, _ read: () throws -> Result?
    ) async throws -> Result {
        precondition(maxRecords > 0, "poll needs room for at least one record")
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        while true {
            let generation = log.notifier.current
            if let result = try read() { return result }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || log.closed { return try empty() }
            let remainingMs = Int(
                remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
            await log.notifier.wait(after: generation, timeoutMs: max(1, remainingMs))
        }
    }

    /// Reads the records available now, each passed to `visit`, then returns what `finish` makes of them while they
    /// are still lent; nil when there are none. Each assignment moves past the records read of it.
    private func readAvailable<Result>(
        maxRecords: Int, visit: (LentRecord) throws -> Void, finish: () throws -> Result
    ) throws -> Result? {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw EventLogError.closed }
        guard !assignments.isEmpty else { return nil }
        var next = assignments.map(\.next)
        var count = 0
        return try log.readRecords(assignments, from: startIndex, maxRecords: maxRecords) { index, record in
            next[index] = record.position.offset + 1
            count += 1
            try visit(record)
        } finish: {
            guard count > 0 else { return nil }
            for index in assignments.indices { assignments[index].next = next[index] }
            startIndex = (startIndex + 1) % assignments.count
            return try finish()
        }
    }

    func close() async {
        lock.withLock { isClosed = true }
    }
}
