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
        /// When set and the store is empty (a rebuild), fold in memory and write everything once at the end, in key
        /// order; should the folded state outgrow this many bytes first, it is written then and the rest is folded
        /// in ordinary batches. Nil: always ordinary batches.
        public var inMemoryRebuildBytesMax: Int?

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
        /// Batches committed in this run (a rebuild in memory commits once, at the end).
        public var batches = 0
        /// Set while a rebuild folded in memory is being written to the store.
        public var writing = false
    }

    private let log: any EventLog
    private let store: ReadModelStore
    private let configuration: Configuration
    private let logger: Logger
    private let observer: (any ProjectionObserver)?
    private let decoder: RecordDecoder
    /// LMDB write transactions belong to one thread: every batch is applied on this queue.
    private let writeQueue = DispatchQueue(label: "cohort.projector.write")
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
    }

    /// Asks a running `run` to commit its open batch and return.
    public func stop() {
        lock.withLock { stopRequested = true }
    }

    private var shouldStop: Bool { lock.withLock { stopRequested } || Task.isCancelled }

    /// Records behind the log's end, per partition, as of the last refresh.
    public func lag() -> [TopicPartition: Int64] {
        lock.withLock {
            var result: [TopicPartition: Int64] = [:]
            for (partition, high) in highWatermarks { result[partition] = max(0, high - (positions[partition] ?? 0)) }
            return result
        }
    }

    /// Folds until `stop` says so. Returns the last progress.
    @discardableResult
    public func run(
        until stop: StopCondition, progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Progress {
        let started = ContinuousClock.now
        var current = try await log.allPartitions(of: configuration.topics)
        for (partition, offset) in try store.storedOffsets() where current[partition] != nil {
            current[partition] = offset
        }
        var ends: [TopicPartition: Int64] = [:]
        for partition in current.keys { ends[partition] = try await log.watermarks(partition).high }
        lock.withLock {
            positions = current
            highWatermarks = ends
        }
        var until: Timestamp?
        var stopsWhenCaughtUp = false
        switch stop {
        case .never: break
        case .caughtUp: stopsWhenCaughtUp = true
        case .caughtUpUntil(let time):
            stopsWhenCaughtUp = true
            until = time
        }
        logger.info(
            "projector starting",
            metadata: [
                "projector.partitions": "\(current.count)", "projector.behind": "\(Self.remaining(current, ends))",
            ])

        let reader = try await log.makeReader(startingAt: current)
        defer { Task { await reader.close() } }
        let decoders = DecodeThreads(count: Self.processors)
        defer { decoders.stop() }
        var finished: Set<TopicPartition> = []
        var state = Progress(remaining: stopsWhenCaughtUp ? Self.remaining(current, ends) : nil)
        var lastLagRefresh = ContinuousClock.now
        /// Batches handed to the write queue and not yet settled, oldest first.
        var inFlight: [(commit: Task<Void, any Error>, offsets: [TopicPartition: Int64], records: Int)] = []
        var rebuild: InMemoryRebuild?
        if let budget = configuration.inMemoryRebuildBytesMax, try store.isEmpty() {
            // Tables sized for the records behind, or as many as the budget holds (about 240 bytes per record of
            // generated traffic were measured), so that they are not grown step by step.
            let expected = min(Int(Self.remaining(current, ends)), budget / 256)
            rebuild = try InMemoryRebuild(store: store, expectedRecords: expected)
            logger.info("projector rebuilding in memory into an empty store")
        }

        /// Waits for the oldest batches handed to the write queue until at most `pending` are left, publishing the
        /// progress of each.
        func settle(keeping pending: Int = 0) async throws {
            while inFlight.count > pending {
                let batch = inFlight.removeFirst()
                try await batch.commit.value
                lock.withLock { positions = batch.offsets }
                state.records += batch.records
                if rebuild == nil { state.batches += 1 }
                state.elapsedSeconds = Self.seconds(since: started)
                if stopsWhenCaughtUp { state.remaining = Self.remaining(batch.offsets, ends) }
                progress?(state)
            }
        }

        /// Hands `work` (folding or applying one batch) to the write queue after every batch handed over before it.
        func enqueue(_ work: @escaping @Sendable () throws -> Void, offsets: [TopicPartition: Int64], records: Int) {
            let previous = inFlight.last?.commit
            let commit = Task { [self] in
                // A batch that failed stops every later one: batches fold in order or not at all.
                try await previous?.value
                try await onWriteQueue(work)
            }
            inFlight.append((commit, offsets, records))
        }

        /// Writes what a rebuild in memory has folded up to `offsets`; ordinary batches follow, if any.
        func commitRebuild(_ offsets: [TopicPartition: Int64]) async throws {
            guard let pending = rebuild else { return }
            rebuild = nil
            state.writing = true
            progress?(state)
            let writeStarted = ContinuousClock.now
            let estimatedBytes = pending.estimatedBytes
            let observer = self.observer
            try await onWriteQueue {
                let changes = try pending.commit(nextOffsets: offsets)
                observer?.didCommit(changes)
            }
            logger.info(
                "projector wrote the rebuild folded in memory",
                metadata: [
                    "projector.records": "\(state.records)",
                    "projector.estimated_mb": "\(estimatedBytes >> 20)",
                    "projector.write_seconds": "\(Self.seconds(since: writeStarted))",
                ])
            state.writing = false
            state.batches += 1
            state.elapsedSeconds = Self.seconds(since: started)
            progress?(state)
        }

        func caughtUp() -> Bool {
            ends.allSatisfy { partition, end in finished.contains(partition) || current[partition, default: 0] >= end }
        }

        while !shouldStop {
            if stopsWhenCaughtUp && caughtUp() { break }
            var decoded: [DecodedRecord] = []
            var poison: [OutgoingRecord] = []
            /// The next offset of every partition once this batch is folded.
            var reached = current
            let deadline = ContinuousClock.now + .milliseconds(configuration.batchWaitMs)
            /// Decodes a poll for the batch; records are decoded from the log's own bytes while it lends them, and
            /// only poison is copied out.
            func take(_ poll: SplitPoll) throws -> [DecodedRecord] {
                for run in poll.runs { reached[run.partition] = run.offsets.upperBound }
                let fresh = try decode(poll, on: decoders)
                if let topic = configuration.deadLetterTopic {
                    for index in fresh.indices {
                        guard case .poison(let reason) = fresh[index].content else { continue }
                        try poll.lend(index..<(index + 1)) { record in
                            poison.append(Self.deadLetter(record[0].copy(), reason: reason, topic: topic))
                        }
                    }
                }
                return fresh
            }
            while decoded.count < configuration.batchRecordsMax {
                let waitMs = max(0, Int((deadline - ContinuousClock.now) / .milliseconds(1)))
                let maxRecords = configuration.batchRecordsMax - decoded.count
                let timeoutMs = decoded.isEmpty ? max(waitMs, 100) : waitMs
                let polled: Int
                let fresh: [DecodedRecord]
                if let until {
                    (polled, fresh) = try await reader.pollLent(maxRecords: maxRecords, timeoutMs: timeoutMs) { lent in
                        var taken: [LentRecord] = []
                        for record in lent {
                            let partition = TopicPartition(
                                topic: record.position.topic, partition: record.position.partition)
                            if finished.contains(partition) { continue }
                            if record.timestampMs > until.milliseconds {
                                // The log is in append order per partition: nothing after this belongs to the past.
                                finished.insert(partition)
                                continue
                            }
                            taken.append(record)
                        }
                        return (lent.count, try take(SplitPoll(lending: taken)))
                    }
                } else {
                    // Split: the decoding threads read the records they decode, so that reading is not one
                    // thread's work done before theirs.
                    (polled, fresh) = try await reader.pollSplit(maxRecords: maxRecords, timeoutMs: timeoutMs) {
                        poll in (poll.count, try take(poll))
                    }
                }
                // The first poll nearly always fills the batch: taken whole, nothing is copied.
                if decoded.isEmpty { decoded = fresh } else { decoded += fresh }
                if polled == 0 || ContinuousClock.now >= deadline || shouldStop { break }
                if stopsWhenCaughtUp
                    && ends.allSatisfy({ finished.contains($0.key) || reached[$0.key, default: 0] >= $0.value })
                {
                    break
                }
            }
            if decoded.isEmpty {
                // Idle: publish the batch still in flight so progress and lag are current.
                try await settle()
                continue
            }
            current = reached
            // The batch was decoded while earlier ones were still being written; its poison records are on the
            // dead-letter topic before it commits, so that none is lost. Then it joins the write queue: batches
            // commit in order, one at a time, and the next is decoded meanwhile unless `Self.batchesInFlightMax`
            // already wait.
            try await deadLetter(poison)
            try await settle(keeping: Self.batchesInFlightMax - 1)
            let offsets = current
            // Handed over whole: a rebuild's fold then holds the only reference and moves records out instead of
            // copying them.
            let batch = BatchHandOff(consume decoded)
            if let inMemory = rebuild, let budget = configuration.inMemoryRebuildBytesMax {
                // As of the batches folded so far: the budget may be passed by those still in flight.
                if inMemory.isFull(bytesMax: budget, batchRecordsMax: configuration.batchRecordsMax) {
                    try await settle()
                    logger.notice(
                        "projector rebuild outgrew its memory budget; writing it and going on in batches",
                        metadata: ["projector.budget_bytes": "\(budget)"])
                    try await commitRebuild(lock.withLock { positions })
                }
            }
            if let inMemory = rebuild {
                enqueue({ try inMemory.fold(batch.take()) }, offsets: offsets, records: batch.count)
            } else {
                let (store, observer) = (self.store, self.observer)
                enqueue(
                    {
                        let changes = try store.apply(batch.take(), nextOffsets: offsets)
                        observer?.didCommit(changes)
                    }, offsets: offsets, records: batch.count)
            }
            if ContinuousClock.now - lastLagRefresh > .milliseconds(configuration.lagRefreshMs) {
                lastLagRefresh = ContinuousClock.now
                try await refreshHighWatermarks(Array(current.keys))
            }
        }
        try await settle()
        try await commitRebuild(lock.withLock { positions })
        state.elapsedSeconds = Self.seconds(since: started)
        // On a requested stop the log may be the reason (a broker outage): do not wait on it for a final lag reading.
        if !shouldStop { try await refreshHighWatermarks(Array(current.keys)) }
        return state
    }

    /// Appends poison records to the dead-letter topic; a broker outage makes the batch wait instead of the
    /// projector dying.
    private func deadLetter(_ poison: [OutgoingRecord]) async throws {
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
    private final class BatchHandOff: @unchecked Sendable {
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

    /// Decoded batches that may wait for the write queue at once: two, so that the next batch is decoded while
    /// one is folded and another waits, and neither side idles when the other takes a little longer.
    static let batchesInFlightMax = 2

    /// Runs `body` on the write queue: LMDB write transactions belong to one thread.
    private func onWriteQueue<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            writeQueue.async {
                continuation.resume(with: Swift.Result { try body() })
            }
        }
    }

    private static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Decoding is pure and independent per record, so large polls are split into chunks that `decoders` take in
    /// turn (more chunks than threads: a thread that gets less of its core takes fewer), each reading its own
    /// records from the poll and decoding them straight into its part of the result.
    private func decode(_ poll: SplitPoll, on decoders: DecodeThreads) throws -> [DecodedRecord] {
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

    private func refreshHighWatermarks(_ partitions: [TopicPartition]) async throws {
        var fresh: [TopicPartition: Int64] = [:]
        for partition in partitions { fresh[partition] = try await log.watermarks(partition).high }
        lock.withLock { highWatermarks = fresh }
    }

    private static func remaining(_ current: [TopicPartition: Int64], _ ends: [TopicPartition: Int64]) -> Int64 {
        ends.reduce(0) { $0 + max(0, $1.value - current[$1.key, default: 0]) }
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
