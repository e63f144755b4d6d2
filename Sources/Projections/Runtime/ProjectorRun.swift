import EventLog
import Events
import Logging

/// One run of a projector: poll → decode → settle → enqueue → commit, with `ProjectorLoop` deciding when. Lives for
/// one call of `Projector.run`, on that call's task.
final class ProjectorRun {
    /// A batch decoded and ready for the write queue.
    struct Batch {
        var records: [DecodedRecord] = []
        /// Poison records in their dead-letter form.
        var poison: [OutgoingRecord] = []
        /// The next offset of every partition once this batch is folded.
        var reached: [TopicPartition: Int64]
    }

    /// A batch handed to the write queue and not yet settled.
    private struct InFlight {
        let commit: Task<Void, any Error>
        let offsets: [TopicPartition: Int64]
        let records: Int
        /// Whether the batch is stored once settled (false: folded into a span, stored when the span is).
        let isStored: Bool
    }

    private let projector: Projector
    private(set) var loop: ProjectorLoop
    private let reader: any LogReader
    private let decoders: DecodeThreads
    private let progress: (@Sendable (Projector.Progress) -> Void)?
    private let started = ContinuousClock.now
    private var state: Projector.Progress
    /// Oldest first.
    private var inFlight: [InFlight] = []
    /// Set while a span is folded in memory (`Configuration.spanBytesMax`), with the next offsets once its last
    /// batch is folded.
    private var span: InMemorySpan?
    private var spanReached: [TopicPartition: Int64] = [:]

    init(
        projector: Projector, loop: ProjectorLoop, reader: any LogReader, decoders: DecodeThreads,
        progress: (@Sendable (Projector.Progress) -> Void)?
    ) throws {
        self.projector = projector
        self.loop = loop
        self.reader = reader
        self.decoders = decoders
        self.progress = progress
        state = Projector.Progress(remaining: loop.stopsWhenCaughtUp ? loop.remaining() : nil)
    }

    /// Roughly what one folded record holds in a span's memory, for sizing its tables from a byte budget.
    private static let foldedRecordBytes = 256

    // MARK: Poll and decode

    /// The next batch: polls until `ProjectorLoop.batchCloses`, decoding as it goes; nil when nothing came.
    func nextBatch() async throws -> Batch? {
        var batch = Batch(reached: loop.positions)
        let deadline = ContinuousClock.now + .milliseconds(loop.batchWaitMs)
        func leftMs() -> Int { Int((deadline - ContinuousClock.now) / .milliseconds(1)) }
        while true {
            let taken = batch.records.count
            let maxRecords = loop.pollRecordsMax(taken: taken)
            let timeoutMs = loop.pollTimeoutMs(taken: taken, leftMs: leftMs())
            let polled: Int
            let fresh: [DecodedRecord]
            if loop.until != nil {
                (polled, fresh) = try await reader.pollLent(maxRecords: maxRecords, timeoutMs: timeoutMs) { lent in
                    let taken = lent.filter { record in
                        loop.admits(
                            TopicPartition(topic: record.position.topic, partition: record.position.partition),
                            timestampMs: record.timestampMs)
                    }
                    return (lent.count, try decode(SplitPoll(lending: taken), into: &batch))
                }
            } else {
                // Split: the decoding threads read the records they decode, so that reading is not one thread's
                // work done before theirs.
                (polled, fresh) = try await reader.pollSplit(maxRecords: maxRecords, timeoutMs: timeoutMs) { poll in
                    (poll.count, try decode(poll, into: &batch))
                }
            }
            // The first poll nearly always fills the batch: taken whole, nothing is copied.
            if batch.records.isEmpty { batch.records = fresh } else { batch.records += fresh }
            if loop.batchCloses(
                taken: batch.records.count, polled: polled, leftMs: leftMs(), stopRequested: projector.shouldStop,
                reached: batch.reached)
            {
                break
            }
        }
        return batch.records.isEmpty ? nil : batch
    }

    /// Decodes a poll for `batch`: records are decoded from the log's own bytes while it lends them, and only
    /// poison is copied out, in its dead-letter form.
    private func decode(_ poll: SplitPoll, into batch: inout Batch) throws -> [DecodedRecord] {
        for run in poll.runs { batch.reached[run.partition] = run.offsets.upperBound }
        let fresh = try projector.decode(poll, on: decoders)
        if let topic = projector.configuration.deadLetterTopic {
            for index in fresh.indices {
                guard case .poison(let reason) = fresh[index].content else { continue }
                try poll.lend(index..<(index + 1)) { record in
                    batch.poison.append(Projector.deadLetter(record[0].copy(), reason: reason, topic: topic))
                }
            }
        }
        return fresh
    }

    // MARK: Hand to the write queue

    /// Takes `batch`: its poison is on the dead-letter topic first (none is lost), then it joins the write queue
    /// once fewer than `ProjectorLoop.batchesInFlightMax` wait there. Batches commit in order, one at a time, and
    /// the next is decoded meanwhile.
    func hand(_ batch: consuming Batch) async throws {
        let behind = projector.recordsBehind(from: loop.positions)
        let isShort = batch.records.count < loop.batchRecordsMax
        loop.take(reached: batch.reached)
        try await projector.deadLetter(batch.poison)
        try await settle(keeping: loop.batchesKeptBeforeEnqueue)
        let offsets = loop.positions
        // Handed over whole: a span's fold then holds the only reference and moves records out instead of copying
        // them.
        let records = Projector.BatchHandOff(batch.records)
        if let budget = projector.configuration.spanBytesMax {
            if let open = span, open.isFull(bytesMax: budget, batchRecordsMax: loop.batchRecordsMax) {
                // As of the batches folded so far: the budget may be passed by those still in flight.
                try await settle()
                projector.logger.notice(
                    "projector span outgrew its memory budget; writing it",
                    metadata: ["projector.budget_bytes": "\(budget)"])
                try await commitSpan()
            }
            if span == nil, behind >= Int64(projector.configuration.spanRecordsMin) {
                try await openSpan(behind: behind, budget: budget)
            }
        }
        if let open = span {
            enqueue({ try open.fold(records.take()) }, offsets: offsets, records: records.count, isStored: false)
            spanReached = offsets
            // A live run has caught up: what it folded is written and seen now; batches keep it fresh from here.
            if isShort && !loop.stopsWhenCaughtUp { try await commitSpan() }
        } else {
            let (store, observer) = (projector.store, projector.observer)
            enqueue(
                {
                    let changes = try store.apply(records.take(), nextOffsets: offsets)
                    observer?.didCommit(changes)
                }, offsets: offsets, records: records.count, isStored: true)
        }
        if loop.lagRefreshDue(nowMs: Projector.nowMs()) {
            try await projector.refreshHighWatermarks(Array(offsets.keys))
        }
    }

    /// Opens a span for catching up with the `behind` records left, after every batch before it is stored: the span
    /// reads the store as they left it.
    private func openSpan(behind: Int64, budget: Int) async throws {
        try await settle()
        // Tables sized once for the records behind, or as many as the budget holds, instead of grown step by step.
        let expected = Int(min(behind, Int64(budget / Self.foldedRecordBytes)))
        let store = projector.store
        let opened = try await projector.onWriteQueue { try InMemorySpan(store: store, expectedRecords: expected) }
        span = opened
        projector.logger.info(
            opened.mergesIntoStore
                ? "projector catching up in memory, merging into the stored read models"
                : "projector rebuilding in memory into an empty store",
            metadata: ["projector.behind": "\(behind)", "projector.budget_mb": "\(budget >> 20)"])
    }

    /// Hands `work` (folding or applying one batch) to the write queue after every batch handed over before it.
    private func enqueue(
        _ work: @escaping @Sendable () throws -> Void, offsets: [TopicPartition: Int64], records: Int, isStored: Bool
    ) {
        let previous = inFlight.last?.commit
        let projector = projector
        let commit = Task {
            // A batch that failed stops every later one: batches fold in order or not at all.
            try await previous?.value
            try await projector.onWriteQueue(work)
        }
        inFlight.append(InFlight(commit: commit, offsets: offsets, records: records, isStored: isStored))
    }

    /// Waits for the oldest batches handed to the write queue until at most `pending` are left, publishing the
    /// progress of each.
    func settle(keeping pending: Int = 0) async throws {
        while inFlight.count > pending {
            let batch = inFlight.removeFirst()
            try await batch.commit.value
            // A batch folded into a span is not stored yet: readers must not be told it is.
            if batch.isStored {
                projector.publish(positions: batch.offsets)
                state.batches += 1
            }
            state.records += batch.records
            state.elapsedSeconds = Projector.seconds(since: started)
            if loop.stopsWhenCaughtUp { state.remaining = loop.remaining(from: batch.offsets) }
            progress?(state)
        }
    }

    /// Nothing came: the batch still in flight is published, and in a live run a span is written (there is nothing
    /// left to catch up with), so that reads, progress and lag are current. A run that stops when caught up keeps
    /// its span to the end (`replay --until` polls nothing once past its time on some partitions).
    func idle() async throws {
        try await settle()
        if !loop.stopsWhenCaughtUp { try await commitSpan() }
    }

    /// Writes the span folded in memory, if one is open, with the offsets its last batch reached.
    func commitSpan() async throws {
        guard let pending = span else { return }
        try await settle()
        span = nil
        let offsets = spanReached
        state.writing = true
        progress?(state)
        let writeStarted = ContinuousClock.now
        let estimatedBytes = pending.estimatedBytes
        let observer = projector.observer
        try await projector.onWriteQueue {
            let changes = try pending.commit(nextOffsets: offsets)
            observer?.didCommit(changes)
        }
        projector.publish(positions: offsets)
        projector.logger.info(
            "projector wrote a span folded in memory",
            metadata: [
                "projector.merged": "\(pending.mergesIntoStore)",
                "projector.rewritten": "\(pending.rewritesStore)",
                "projector.span_records": "\(pending.records)",
                "projector.records": "\(state.records)",
                "projector.estimated_mb": "\(estimatedBytes >> 20)",
                "projector.write_seconds": "\(Projector.seconds(since: writeStarted))",
            ])
        state.writing = false
        state.batches += 1
        state.elapsedSeconds = Projector.seconds(since: started)
        progress?(state)
    }

    /// Settles every batch, writes a span still in memory, and returns the last progress.
    func finish() async throws -> Projector.Progress {
        try await settle()
        try await commitSpan()
        state.elapsedSeconds = Projector.seconds(since: started)
        // On a requested stop the log may be the reason (a broker outage): do not wait on it for a final lag reading.
        if !projector.shouldStop { try await projector.refreshHighWatermarks(Array(loop.positions.keys)) }
        return state
    }
}
