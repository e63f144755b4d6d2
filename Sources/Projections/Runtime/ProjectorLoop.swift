import EventLog
import Events

/// The decisions of a projector's run, kept apart from its I/O so that they can be tested without a log: when a
/// batch closes, how long a poll may wait, which records a run "as of" a time takes, when the run is over, how many
/// batches may wait for the write queue, when lag is refreshed. `Projector.run` polls, decodes and commits; this
/// says when.
struct ProjectorLoop {
    /// When the run ends.
    let stop: Projector.StopCondition
    /// A batch closes at this many records…
    let batchRecordsMax: Int
    /// …or this long after its first poll.
    let batchWaitMs: Int
    /// How often lag is refreshed from the log's watermarks.
    let lagRefreshMs: Int
    /// The end offset of every partition when the run started: `caughtUp` runs stop there.
    let ends: [TopicPartition: Int64]
    /// The next offset of every partition after the batches taken so far.
    private(set) var positions: [TopicPartition: Int64]
    /// Partitions a run "as of" a time is done with: their next record was stored after that time.
    private(set) var finished: Set<TopicPartition> = []
    /// Milliseconds since an arbitrary start when lag was last refreshed.
    private var lagRefreshedAtMs: Int64

    /// A poll may wait at least this long while the batch is empty: an idle projector wakes ten times a second.
    static let idlePollMs = 100
    /// Decoded batches that may wait for the write queue at once: two, so that the next batch is decoded while
    /// one is folded and another waits, and neither side idles when the other takes a little longer.
    static let batchesInFlightMax = 2

    init(
        stop: Projector.StopCondition, configuration: Projector.Configuration, positions: [TopicPartition: Int64],
        ends: [TopicPartition: Int64], nowMs: Int64
    ) {
        self.stop = stop
        batchRecordsMax = configuration.batchRecordsMax
        batchWaitMs = configuration.batchWaitMs
        lagRefreshMs = configuration.lagRefreshMs
        self.positions = positions
        self.ends = ends
        lagRefreshedAtMs = nowMs
    }

    /// Whether the run stops once it has caught up with `ends`.
    var stopsWhenCaughtUp: Bool {
        if case .never = stop { return false }
        return true
    }

    /// The time a run "as of" folds up to, if it is one.
    var until: Timestamp? {
        if case .caughtUpUntil(let time) = stop { return time }
        return nil
    }

    /// Records left up to `ends` from `positions` (all of them when nil).
    func remaining(from positions: [TopicPartition: Int64]? = nil) -> Int64 {
        let from = positions ?? self.positions
        return ends.reduce(0) { $0 + max(0, $1.value - from[$1.key, default: 0]) }
    }

    /// Whether every partition has reached its end, or is finished, at `positions` (the batches taken so far by
    /// default): a `caughtUp` run then stops.
    func isCaughtUp(at positions: [TopicPartition: Int64]? = nil) -> Bool {
        let at = positions ?? self.positions
        return ends.allSatisfy { partition, end in finished.contains(partition) || at[partition, default: 0] >= end }
    }

    /// Whether the run is over before taking another batch.
    func isDone(stopRequested: Bool) -> Bool {
        stopRequested || (stopsWhenCaughtUp && isCaughtUp())
    }

    /// How long the next poll of a batch holding `taken` records may wait, `leftMs` before the batch's deadline:
    /// the rest of the batch's wait, but at least `idlePollMs` while it is empty.
    func pollTimeoutMs(taken: Int, leftMs: Int) -> Int {
        let wait = max(0, leftMs)
        return taken == 0 ? max(wait, Self.idlePollMs) : wait
    }

    /// How many more records the batch may take, holding `taken`.
    func pollRecordsMax(taken: Int) -> Int { batchRecordsMax - taken }

    /// Whether a run "as of" a time takes a record of `partition` stored at `timestampMs`; the first record past that
    /// time finishes its partition (the log is in append order per partition: nothing after it belongs to the past).
    mutating func admits(_ partition: TopicPartition, timestampMs: Int64) -> Bool {
        if finished.contains(partition) { return false }
        guard let until, timestampMs > until.milliseconds else { return true }
        finished.insert(partition)
        return false
    }

    /// Whether the batch being assembled closes after a poll: it is full, the poll found nothing, its time is up,
    /// a stop was asked for, or (for a `caughtUp` run) the positions it `reached` are the ends.
    func batchCloses(
        taken: Int, polled: Int, leftMs: Int, stopRequested: Bool, reached: [TopicPartition: Int64]
    ) -> Bool {
        taken >= batchRecordsMax || polled == 0 || leftMs <= 0 || stopRequested
            || (stopsWhenCaughtUp && isCaughtUp(at: reached))
    }

    /// Takes a closed batch that brought the positions to `reached`.
    mutating func take(reached: [TopicPartition: Int64]) { positions = reached }

    /// How many batches may still wait for the write queue before another is handed to it.
    var batchesKeptBeforeEnqueue: Int { Self.batchesInFlightMax - 1 }

    /// Whether lag is due for a refresh at `nowMs`; if so, it counts as refreshed then.
    mutating func lagRefreshDue(nowMs: Int64) -> Bool {
        guard nowMs - lagRefreshedAtMs > Int64(lagRefreshMs) else { return false }
        lagRefreshedAtMs = nowMs
        return true
    }
}
