import Dispatch
import EventLog
import Events
import Foundation
import Logging

/// Reads the `crm.*` topics of any `EventLog` and folds them into a `ReadModelStore`, one batch per LMDB write
/// transaction holding the state and the next offset of every partition consumed. On start it resumes from the
/// stored offsets; every node reads every partition (manual assignment: each node keeps a full replica).
public final class Projector: @unchecked Sendable {
    // @unchecked Sendable: mutable state is guarded by `lock`; `run` is meant to be called once at a time.

    /// Settings with defaults fit for one node.
    public struct Configuration: Sendable {
        /// The topics to fold (not the dead-letter topic).
        public var topics: [String]
        /// Where poison records are appended with their reason; nil to only record them in the read model
        /// (replays: the original run already dead-lettered them).
        public var deadLetterTopic: String?
        /// The deployment currency.
        public var currency: String
        /// A batch closes at this many records…
        public var batchRecordsMax = 20_000
        /// …or when this long has passed since its first record.
        public var batchWaitMs = 50
        /// How often lag is refreshed from the log's watermarks.
        public var lagRefreshMs = 1_000
        /// A shard's partitions, by topic: of a topic listed here only these partitions are folded (and count
        /// towards lag); other topics are folded whole.
        public var ownedPartitions: [String: Set<Int32>] = [:]

        /// Whether this projector folds `partition`.
        public func folds(_ partition: TopicPartition) -> Bool {
            ownedPartitions[partition.topic].map { $0.contains(partition.partition) } ?? true
        }
        /// When set, a projector at least `spanRecordsMin` records behind the log's end folds the records it catches
        /// up with as one span in memory, written in one transaction in key order when the span ends (`InMemorySpan`):
        /// appended into an empty store (a rebuild), merged into one holding read models (a restart, a new replica, a
        /// burst). A span ends when its folded state passes this many bytes, when a live run has caught up (a batch
        /// comes in short of full, or none comes), or when the run ends; then the projector goes on in ordinary
        /// batches, or opens the next span if still far behind. Nil: always ordinary batches.
        public var spanBytesMax: Int?
        /// Spans open only this far behind: closer to the end, each batch is committed (and seen) on its own.
        public var spanRecordsMin = 200_000
        /// How far below normal priority the folding thread runs (a nice value; 0: normal). A node that also takes
        /// ingest sets it so that, when the cores are short, requests are answered first and the fold catches up
        /// after the burst (in spans, its cheapest way); with cores to spare it changes nothing.
        public var writeNiceness: Int32 = 0

        /// Settings for folding `topics` in a deployment whose currency is `currency`.
        public init(topics: [String], deadLetterTopic: String?, currency: String) {
            self.topics = topics
            self.deadLetterTopic = deadLetterTopic
            self.currency = currency
        }
    }

    /// When `run` returns.
    public enum StopCondition: Sendable {
        /// Only when `stop()` is called (or the task is cancelled).
        case never
        /// Once every partition reaches the end offset it had when `run` started.
        case caughtUp
        /// Like `caughtUp`, folding only records the log stored at or before this time.
        case caughtUpUntil(Timestamp)
    }

    /// Where a run stands; passed to the progress callback after every batch.
    public struct Progress: Sendable {
        /// Records folded (events, duplicates and poison alike) in this run.
        public var records = 0
        /// Records left up to the end offsets seen at start, when known.
        public var remaining: Int64?
        /// Seconds since the run started.
        public var elapsedSeconds = 0.0
        /// Transactions committed in this run: one per ordinary batch, one per span folded in memory.
        public var batches = 0
        /// Set while a span folded in memory is being written to the store.
        public var writing = false
    }

    let log: any EventLog
    let store: ReadModelStore
    let configuration: Configuration
    let logger: Logger
    let observer: (any ProjectionObserver)?
    private let decoder: RecordDecoder
    /// LMDB write transactions belong to one thread: every batch is applied on this one.
    private let writeThread: SerialThread
    /// Where `run`'s own steps go: polling, decoding, handing over (see `SerialThread`).
    private let readThread: SerialThread
    private let lock = NSLock()
    private var stopRequested = false
    private var positions: [TopicPartition: Int64] = [:]
    private var highWatermarks: [TopicPartition: Int64] = [:]

    /// A projector from `log` into `store`; call `run` to start it. `observer` hears of every committed batch.
    public init(
        log: any EventLog, store: ReadModelStore, configuration: Configuration,
        observer: (any ProjectionObserver)? = nil, logger: Logger = Logger(label: "cohort.projector")
    ) {
        self.observer = observer
        self.log = log
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.decoder = RecordDecoder(currency: configuration.currency)
        writeThread = SerialThread(name: "cohort.fold", niceness: configuration.writeNiceness)
        readThread = SerialThread(name: "cohort.read")
    }

    deinit {
        writeThread.stop()
        readThread.stop()
    }

    /// Asks a running `run` to commit its open batch and return.
    public func stop() {
        lock.withLock { stopRequested = true }
    }

    var shouldStop: Bool { lock.withLock { stopRequested } || Task.isCancelled }

    /// Publishes the positions of the batches committed so far (for `lag`).
    func publish(positions: [TopicPartition: Int64]) {
        lock.withLock { self.positions = positions }
    }

    /// The positions of the batches committed so far.
    var committedPositions: [TopicPartition: Int64] { lock.withLock { positions } }
    /// Records from `positions` to the log's end, summed over its partitions, as of the last refresh.
    func recordsBehind(from positions: [TopicPartition: Int64]) -> Int64 {
        lock.withLock {
            highWatermarks.reduce(0) { $0 + max(0, $1.value - (positions[$1.key] ?? 0)) }
        }
    }

    /// Records behind the log's end, per partition, as of the last refresh.
    public func lag() -> [TopicPartition: Int64] {
        lock.withLock {
            var result: [TopicPartition: Int64] = [:]
            for (partition, high) in highWatermarks { result[partition] = max(0, high - (positions[partition] ?? 0)) }
            return result
        }
    }

    /// The records between the read models and the log's end, summed over every partition, as of the last refresh.
    public func totalLag() -> Int64 { recordsBehind(from: committedPositions) }

    /// Folds until `stop` says so. Returns the last progress.
    @discardableResult
    public func run(
        until stop: StopCondition, progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Progress {
        try await withTaskExecutorPreference(readThread) { try await runHere(until: stop, progress: progress) }
    }

    private func runHere(
        until stop: StopCondition, progress: (@Sendable (Progress) -> Void)?
    ) async throws -> Progress {
        var positions = try await log.allPartitions(of: configuration.topics).filter { configuration.folds($0.key) }
        for (partition, offset) in try store.storedOffsets() where positions[partition] != nil {
            positions[partition] = offset
        }
        var ends: [TopicPartition: Int64] = [:]
        for partition in positions.keys { ends[partition] = try await log.watermarks(partition).high }
        lock.withLock {
            self.positions = positions
            highWatermarks = ends
        }
        let loop = ProjectorLoop(
            stop: stop, configuration: configuration, positions: positions, ends: ends, nowMs: Self.nowMs())
        logger.info(
            "projector starting",
            metadata: ["projector.partitions": "\(positions.count)", "projector.behind": "\(loop.remaining())"])

        let reader = try await log.makeReader(startingAt: positions)
        defer { Task { await reader.close() } }
        let decoders = DecodeThreads(count: Self.processors)
        defer { decoders.stop() }
        let run = try ProjectorRun(projector: self, loop: loop, reader: reader, decoders: decoders, progress: progress)
        while !run.loop.isDone(stopRequested: shouldStop) {
            if let batch = try await run.nextBatch() {
                try await run.hand(batch)
            } else {
                try await run.idle()
            }
        }
        return try await run.finish()
    }

    /// Appends poison records to the dead-letter topic; a broker outage makes the batch wait instead of the
    /// projector dying.
    func deadLetter(_ poison: [OutgoingRecord]) async throws {
        guard !poison.isEmpty else { return }
        try await log.appendRetrying(poison, shouldStop: { shouldStop }) { attempt, backoffMs, error in
            logger.warning(
                "dead-letter append failed; retrying",
                metadata: [
                    "projector.attempt": "\(attempt)", "projector.backoff_ms": "\(backoffMs)", "error": "\(error)",
                ])
        }
    }

    /// A decoded batch on its way to the write queue, taken out there once: the taker then holds the only reference
    /// to its records (a closure's captured array stays shared with the closure).
    final class BatchHandOff: @unchecked Sendable {
        // @unchecked Sendable: filled before the write queue sees it, taken once there.
        private var records: [DecodedRecord]
        let count: Int

        init(_ records: consuming [DecodedRecord]) {
            count = records.count
            self.records = records
        }

        func take() -> [DecodedRecord] {
            var taken: [DecodedRecord] = []
            swap(&taken, &records)
            return taken
        }
    }

    /// Runs `body` on the write queue: LMDB write transactions belong to one thread.
    func onWriteQueue<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            writeThread.async {
                continuation.resume(with: Swift.Result { try body() })
            }
        }
    }

    static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Decoding is pure and independent per record, so large polls are split into chunks that `decoders` take in
    /// turn (more chunks than threads: a thread that gets less of its core takes fewer), each reading its own
    /// records from the poll and decoding them straight into its part of the result.
    func decode(_ poll: SplitPoll, on decoders: DecodeThreads) throws -> [DecodedRecord] {
        let decoder = self.decoder
        let chunks = max(1, min(poll.count / 500, Self.processors * 8))
        let size = (poll.count + chunks - 1) / chunks
        let failures = NSLock()
        var failed: [(chunk: Int, error: any Error)] = []
        return try [DecodedRecord](unsafeUninitializedCapacity: poll.count) { buffer, initialized in
            func range(_ chunk: Int) -> Range<Int> { (chunk * size)..<min(poll.count, (chunk + 1) * size) }
            func decodeChunk(_ chunk: Int) {
                let range = range(chunk)
                do {
                    try poll.lend(range) { records in
                        decoder.decode(records, records.indices, into: buffer.baseAddress! + range.lowerBound)
                    }
                } catch {
                    failures.withLock { failed.append((chunk, error)) }
                }
            }
            if chunks == 1 { decodeChunk(0) } else { decoders.perform(chunks: chunks, decodeChunk) }
            if let first = failed.min(by: { $0.chunk < $1.chunk }) {
                // A chunk that could not be read decoded nothing; release what the others decoded.
                let unread = Set(failed.map(\.chunk))
                for chunk in 0..<chunks where !unread.contains(chunk) {
                    let range = range(chunk)
                    (buffer.baseAddress! + range.lowerBound).deinitialize(count: range.count)
                }
                throw first.error
            }
            initialized = poll.count
        }
    }

    /// The dead-letter form of a record: the original key, value and headers plus where it came from and why.
    static func deadLetter(_ record: LogRecord, reason: String, topic: String) -> OutgoingRecord {
        OutgoingRecord(
            topic: topic, key: record.key, value: record.value,
            headers: record.headers + [
                Header("x-error", reason),
                Header("x-source-topic", record.topic),
                Header("x-source-partition", String(record.partition)),
                Header("x-source-offset", String(record.offset)),
            ])
    }

    func refreshHighWatermarks(_ partitions: [TopicPartition]) async throws {
        var fresh: [TopicPartition: Int64] = [:]
        for partition in partitions { fresh[partition] = try await log.watermarks(partition).high }
        lock.withLock { highWatermarks = fresh }
    }

    /// Milliseconds on a monotonic clock, for the loop's timing decisions.
    static func nowMs() -> Int64 {
        let now = ContinuousClock.now - Self.clockOrigin
        return now.components.seconds * 1000 + now.components.attoseconds / 1_000_000_000_000_000
    }

    private static let clockOrigin = ContinuousClock.now

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
