/// The records of one poll, numbered `0..<count` in poll order, lent in ranges that several threads may read at
/// once: each thread then reads the records it decodes, and reading is spread over the cores instead of coming
/// first on one thread. The embedded log plans a poll from its committed offsets (contiguous per partition) and reads
/// each range in a read transaction of its own; other logs poll as usual and lend parts of the records polled.
public struct SplitPoll: @unchecked Sendable {
    // @unchecked Sendable: immutable, and `lend` is safe on several threads at once (the reader's closure is made
    // so). Like any lent record, a poll is valid only during the call that received it.
    /// Consecutive records of one partition: the records of `offsets` in a split poll of the embedded log; in one
    /// lent by another log, the records polled from `offsets.lowerBound` up to the last one's offset (a Kafka
    /// partition may skip offsets).
    public struct Run: Sendable, Hashable {
        public let partition: TopicPartition
        public let offsets: Range<Int64>

        public init(partition: TopicPartition, offsets: Range<Int64>) {
            self.partition = partition
            self.offsets = offsets
        }
    }

    private enum Source {
        case records([LentRecord])
        /// Reads the records of the runs given, in order, on the calling thread, and lends them.
        case reader(([Run], (UnsafeBufferPointer<LentRecord>) throws -> Void) throws -> Void)
    }

    /// The partitions' runs in poll order: record 0 is the first of `runs[0]`.
    public let runs: [Run]
    /// How many records the poll holds.
    public let count: Int
    private let source: Source

    /// A poll of `records` lent by a reader: all read already, lent in parts.
    public init(lending records: [LentRecord]) {
        var runs: [Run] = []
        var index = records.startIndex
        while index < records.endIndex {
            let first = records[index].position
            var last = index
            while last + 1 < records.endIndex, records[last + 1].position.partition == first.partition,
                records[last + 1].position.topic == first.topic
            {
                last += 1
            }
            runs.append(
                Run(
                    partition: TopicPartition(topic: first.topic, partition: first.partition),
                    offsets: first.offset..<(records[last].position.offset + 1)))
            index = last + 1
        }
        self.runs = runs
        count = records.count
        source = .records(records)
    }

    /// A poll of `runs`, each holding exactly `offsets.count` records; `read` reads and lends the records of the
    /// runs it is given (parts of these) and must be safe to call from several threads at once.
    init(runs: [Run], read: @escaping ([Run], (UnsafeBufferPointer<LentRecord>) throws -> Void) throws -> Void) {
        self.runs = runs
        count = runs.reduce(0) { $0 + $1.offsets.count }
        source = .reader(read)
    }

    /// Lends records `range` of the poll to `body`, valid only during the call. Safe to call from several threads at
    /// once, each with its own range.
    public func lend(_ range: Range<Int>, _ body: (UnsafeBufferPointer<LentRecord>) throws -> Void) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "SplitPoll.lend: range outside the poll")
        switch source {
        case .records(let records):
            try records.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
        case .reader(let read):
            try read(runs(covering: range), body)
        }
    }

    /// The parts of this poll's runs that hold records `range`, in order. Only for polls whose runs hold exactly
    /// `offsets.count` records.
    func runs(covering range: Range<Int>) -> [Run] {
        var covering: [Run] = []
        var start = 0
        for run in runs {
            let end = start + run.offsets.count
            defer { start = end }
            let lower = max(start, range.lowerBound)
            let upper = min(end, range.upperBound)
            guard lower < upper else { continue }
            let first = run.offsets.lowerBound + Int64(lower - start)
            covering.append(Run(partition: run.partition, offsets: first..<(first + Int64(upper - lower))))
        }
        return covering
    }
}

extension LogReader {
    /// `pollSplit` of a reader that cannot read in parallel: polls lent records, then lends them in parts.
    public func pollSplit<Result>(maxRecords: Int, timeoutMs: Int, _ body: (SplitPoll) throws -> Result)
        async throws -> Result
    {
        try await pollLent(maxRecords: maxRecords, timeoutMs: timeoutMs) { try body(SplitPoll(lending: $0)) }
    }
}
