import EventLog
import Events
import Testing

@testable import Projections

/// The projector's decisions, without a log: when a batch closes, how long polls wait, what a run "as of" a time
/// takes, when a run is over, when lag is refreshed.
@Suite("projector loop")
struct ProjectorLoopTests {
    static let a = TopicPartition(topic: "crm.orders", partition: 0)
    static let b = TopicPartition(topic: "crm.orders", partition: 1)

    static func loop(
        _ stop: Projector.StopCondition, positions: [TopicPartition: Int64] = [a: 0, b: 0],
        ends: [TopicPartition: Int64] = [a: 10, b: 5], batchRecordsMax: Int = 100, nowMs: Int64 = 0
    ) -> ProjectorLoop {
        var configuration = Projector.Configuration(topics: ["crm.orders"], deadLetterTopic: nil, currency: "INR")
        configuration.batchRecordsMax = batchRecordsMax
        configuration.batchWaitMs = 50
        configuration.lagRefreshMs = 1_000
        return ProjectorLoop(stop: stop, configuration: configuration, positions: positions, ends: ends, nowMs: nowMs)
    }

    @Test("a caught-up run is done once every partition reaches the end it had at start; a following one never")
    func caughtUpRunsEndAtTheStartingEnds() {
        var caughtUp = Self.loop(.caughtUp)
        #expect(caughtUp.remaining() == 15)
        #expect(!caughtUp.isDone(stopRequested: false))
        caughtUp.take(reached: [Self.a: 10, Self.b: 4])
        #expect(!caughtUp.isDone(stopRequested: false) && caughtUp.remaining() == 1)
        caughtUp.take(reached: [Self.a: 10, Self.b: 5])
        #expect(caughtUp.isDone(stopRequested: false) && caughtUp.remaining() == 0)

        var following = Self.loop(.never)
        following.take(reached: [Self.a: 10, Self.b: 5])
        #expect(!following.isDone(stopRequested: false))
        #expect(following.isDone(stopRequested: true))
    }

    @Test("an empty batch polls at least the idle wait; a started one only what is left of its wait")
    func pollTimeouts() {
        let loop = Self.loop(.never)
        #expect(loop.pollTimeoutMs(taken: 0, leftMs: 50) == ProjectorLoop.idlePollMs)
        #expect(loop.pollTimeoutMs(taken: 0, leftMs: 500) == 500)
        #expect(loop.pollTimeoutMs(taken: 3, leftMs: 20) == 20)
        #expect(loop.pollTimeoutMs(taken: 3, leftMs: -5) == 0)
        #expect(loop.pollRecordsMax(taken: 30) == 70)
    }

    @Test("a batch closes when full, when a poll brings nothing, when its time is up, on stop, or at the ends")
    func batchesClose() {
        let loop = Self.loop(.caughtUp)
        let midway: [TopicPartition: Int64] = [Self.a: 3, Self.b: 0]
        #expect(!loop.batchCloses(taken: 10, polled: 10, leftMs: 30, stopRequested: false, reached: midway))
        #expect(loop.batchCloses(taken: 100, polled: 10, leftMs: 30, stopRequested: false, reached: midway))
        #expect(loop.batchCloses(taken: 10, polled: 0, leftMs: 30, stopRequested: false, reached: midway))
        #expect(loop.batchCloses(taken: 10, polled: 10, leftMs: 0, stopRequested: false, reached: midway))
        #expect(loop.batchCloses(taken: 10, polled: 10, leftMs: 30, stopRequested: true, reached: midway))
        #expect(
            loop.batchCloses(taken: 10, polled: 10, leftMs: 30, stopRequested: false, reached: [Self.a: 10, Self.b: 5]))
        let following = Self.loop(.never)
        #expect(
            !following.batchCloses(
                taken: 10, polled: 10, leftMs: 30, stopRequested: false, reached: [Self.a: 10, Self.b: 5]))
    }

    @Test("a run as of a time takes records stored up to it; the first one past it finishes its partition")
    func untilFinishesPartitions() {
        let until = Timestamp(milliseconds: 1_000)
        var loop = Self.loop(.caughtUpUntil(until))
        #expect(loop.until == until)
        let verdicts = [
            loop.admits(Self.a, timestampMs: 999), loop.admits(Self.a, timestampMs: 1_000),
            loop.admits(Self.a, timestampMs: 1_001),
            // Finished for good, even for a record that looks older (appended later with an earlier creation time).
            loop.admits(Self.a, timestampMs: 10), loop.admits(Self.b, timestampMs: 10),
        ]
        #expect(verdicts == [true, true, false, false, true])
        // A finished partition counts as caught up wherever it stopped.
        #expect(!loop.isCaughtUp())
        loop.take(reached: [Self.a: 2, Self.b: 5])
        #expect(loop.isCaughtUp())

        var plain = Self.loop(.caughtUp)
        let admitted = plain.admits(Self.a, timestampMs: .max)
        #expect(admitted)
    }

    @Test("lag refreshes at most once per interval; one batch may wait while the next is decoded")
    func lagAndInFlight() {
        var loop = Self.loop(.never, nowMs: 0)
        let due = [500, 1_001, 1_500, 2_002].map { loop.lagRefreshDue(nowMs: $0) }
        #expect(due == [false, true, false, true])
        #expect(loop.batchesKeptBeforeEnqueue == ProjectorLoop.batchesInFlightMax - 1)
    }
}
