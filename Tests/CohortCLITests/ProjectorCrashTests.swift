import Foundation
import Projections
import Testing
import TestSupport

/// Exactly-once effects (SPEC §12.2): a projector SIGKILLed at random moments and restarted ends with read models
/// identical to one clean run, on the embedded log and on Kafka (`cohort broker` in its own process).
@Suite("projector crash recovery", .serialized)
struct ProjectorCrashTests {
    /// ~200k records: customers, orders with cancels and refunds, visits, redeliveries and poison.
    static let generateArguments = [
        "--customers", "20000", "--orders", "70000", "--visits", "100000", "--redeliveries", "0.01", "--poison",
        "0.002", "--seed", "2026",
    ]

    private func run(_ arguments: [String], timeout: TimeInterval = 600) throws -> ChildProcess {
        let child = try ChildProcess.cohort(arguments)
        let status = child.waitForExit(timeout: timeout)
        #expect(status == 0, "cohort \(arguments.joined(separator: " ")) failed: \(child.errorOutput)")
        return child
    }

    /// A projector that catches up in spans of about three batches (16 MiB of folded state), from 1,000 records
    /// behind: kills land inside spans, between them and in their writes.
    static let spans = [
        "--set", "projector.catch_up_memory_mb=16", "--set", "projector.catch_up_records_min=1000",
    ]
    /// A projector that folds ordinary batches only.
    static let batches = ["--set", "projector.catch_up_memory_mb=0"]

    private func killAndRecover(logArguments: [String], projectArguments: [String]) throws {
        let directory = TemporaryDirectory("cohort-crash")
        let data = directory.path + "/node"
        let generated = try run(["generate"] + logArguments + ["--data", data, "--into-log"] + Self.generateArguments)
        let total = try #require(generated.outputLines.last.flatMap(Int64.init))
        #expect(total > 190_000)

        var random = SystemRandomNumberGenerator()
        var killedMidway = 0
        var previous: Int64 = 0
        func foldedSoFar() throws -> Int64 {
            try ReadModelStore(path: data + "/readmodels").storedOffsets().values.reduce(0, +)
        }
        for round in 0..<5 {
            let projector = try ChildProcess.cohort(["project"] + logArguments + projectArguments + ["--data", data])
            // Once this run has committed a batch (however long a loaded machine takes), a random moment after it:
            // the projector is killed wherever it happens to be (batch, commit, idle).
            let started = Date()
            while previous < total, projector.waitForExit(timeout: 0.05) == nil, try foldedSoFar() <= previous,
                Date().timeIntervalSince(started) < 120
            {}
            let delay = Double.random(in: 0...0.6, using: &random)
            _ = projector.waitForExit(timeout: delay)
            projector.send(SIGKILL)
            _ = projector.waitForExit(timeout: 30)
            let folded = try foldedSoFar()
            print(
                "crash round \(round): killed \(String(format: "%.2f", delay)) s after a commit with \(folded) of \(total) "
                    + "records folded")
            #expect(folded >= previous, "progress is never lost")
            if folded > previous && folded < total { killedMidway += 1 }
            previous = folded
        }
        #expect(killedMidway >= 1, "at least one kill must land while the projector is behind")

        _ = try run(["project"] + logArguments + projectArguments + ["--data", data, "--until-caught-up"])
        let recovered = try #require(try run(["digest", "--data", data]).outputLines.last)
        let clean = try #require(
            try run(["replay"] + logArguments + ["--data", data, "--into", directory.path + "/clean"]).outputLines.last)
        #expect(recovered.count == 64)
        #expect(recovered == clean, "recovered read models must equal a clean rebuild")
    }

    @Test("SIGKILL at random moments on the embedded log, folding in batches: same digest as a clean run")
    func embedded() throws {
        try killAndRecover(logArguments: ["--set", "topics.partitions=8"], projectArguments: Self.batches)
    }

    @Test("SIGKILL at random moments on the embedded log, catching up in spans: same digest as a clean run")
    func embeddedSpans() throws {
        try killAndRecover(logArguments: ["--set", "topics.partitions=8"], projectArguments: Self.spans)
    }

    @Test("SIGKILL at random moments on Kafka (cohort broker), catching up in spans: same digest as a clean run")
    func kafka() throws {
        // 24 partitions keep each well under the mock broker's ~5 MiB per partition.
        let broker = try DevBroker(partitions: 24)
        try killAndRecover(logArguments: ["--brokers", broker.bootstrapServers], projectArguments: Self.spans)
        #expect(broker.stop() == 0)
    }

    @Test("two replays of the same log give byte-identical digests; digest of a live node agrees")
    func replayDeterminism() throws {
        let directory = TemporaryDirectory("cohort-replay")
        let data = directory.path + "/node"
        _ = try run([
            // Three projector batches (20,000 records each at most), so that a budget is outgrown between two for
            // certain: it is checked as of the batches folded so far, and with two batches in flight, only the third
            // is sure to find the first folded (with two, a fast decoder finds none folded yet).
            "generate", "--data", data, "--into-log", "--customers", "4000", "--orders", "12000", "--visits", "30000",
            "--redeliveries", "0.02", "--poison", "0.01",
        ])
        let first = try run(["replay", "--data", data, "--into", directory.path + "/r1"]).outputLines.last
        let second = try run(["replay", "--data", data, "--into", directory.path + "/r2"]).outputLines.last
        #expect(first != nil && first == second)
        #expect(try run(["digest", "--data", directory.path + "/r2"]).outputLines.last == first)
        // Replays fold in memory; in ordinary batches (memory_mb=0), or past a budget the first batch outgrows
        // (memory_mb=1: written, then batches), the digest is the same.
        for budget in ["0", "1"] {
            let replay = try run([
                "replay", "--data", data, "--into", directory.path + "/budget-\(budget)", "--set",
                "replay.memory_mb=\(budget)",
            ])
            #expect(replay.outputLines.last == first, "replay.memory_mb=\(budget)")
            let log = replay.errorOutput
            #expect(!log.contains("could not configure the allocator"), "jemalloc took the replay's settings")
            #expect(log.contains("rebuilding in memory") == (budget == "1"))
            #expect(log.contains("outgrew its memory budget") == (budget == "1"))
        }
        let refused = try ChildProcess.cohort(["replay", "--data", data, "--into", directory.path + "/r1"])
        #expect(refused.waitForExit(timeout: 60) != 0, "replay refuses a directory that is not empty")
        // A node pointed at the rebuilt directory reads it, caught up with the log.
        let stats = try run(["stats", "--data", data, "--set", "data.read_models=\(directory.path)/r2"])
        #expect(stats.outputLines.contains { $0.hasPrefix("events = ") && $0 != "events = 0" })
        #expect(stats.outputLines.filter { $0.hasPrefix("lag ") }.allSatisfy { $0.hasSuffix(" = 0") })
    }

    @Test("SIGTERM stops a running projector cleanly after its open batch")
    func sigtermStopsProjector() throws {
        let directory = TemporaryDirectory("cohort-sigterm")
        let data = directory.path + "/node"
        let generated = try run([
            "generate", "--data", data, "--into-log", "--customers", "500", "--orders", "1000",
            "--visits", "1000",
        ])
        let total = try #require(generated.outputLines.last.flatMap(Int64.init))
        let projector = try ChildProcess.cohort(["project", "--data", data])
        // Wait (bounded) until everything is folded, watching the stored offsets.
        let deadline = Date().addingTimeInterval(120)
        var folded: Int64 = 0
        while folded < total && Date() < deadline {
            _ = projector.waitForExit(timeout: 0.2)
            folded = (try? ReadModelStore(path: data + "/readmodels").storedOffsets().values.reduce(0, +)) ?? 0
        }
        #expect(folded == total)
        projector.send(SIGTERM)
        #expect(projector.waitForExit(timeout: 60) == 0)
        #expect(projector.errorOutput.contains("stopping on signal 15"))
        #expect(try Self.markers(data).isEmpty, "a clean stop syncs the read models and removes its marker")
    }

    /// The markers of processes that committed to the read models of `data` without syncing them.
    static func markers(_ data: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: data + "/readmodels").filter { $0.hasPrefix("unsynced-") }
    }

    @Test("read models a machine crash may have left half written are discarded and folded again from the log")
    func machineCrashRefolds() throws {
        let directory = TemporaryDirectory("cohort-machine-crash")
        let data = directory.path + "/node"
        let generated = try run([
            "generate", "--data", data, "--into-log", "--customers", "500", "--orders", "1000", "--visits", "1000",
        ])
        let total = try #require(generated.outputLines.last.flatMap(Int64.init))
        _ = try run(["project", "--data", data, "--until-caught-up"])
        #expect(try Self.markers(data).isEmpty)
        let digest = try #require(try run(["digest", "--data", data]).outputLines.last)

        // What a projector of an earlier boot leaves when the machine stops under it (the boot id differs).
        try Data("2f6c0a4e-0000-4000-8000-earlier-boot\n".utf8).write(
            to: URL(fileURLWithPath: data + "/readmodels/unsynced-777"))
        let refold = try run(["project", "--data", data, "--until-caught-up"])
        #expect(refold.errorOutput.contains("read models discarded"))
        #expect(refold.errorOutput.contains("project: \(total) records"), "every record folded again")
        #expect(try run(["digest", "--data", data]).outputLines.last == digest)
        #expect(try Self.markers(data).isEmpty)

        // Nothing to discard the next time: the projector finds itself caught up.
        let again = try run(["project", "--data", data, "--until-caught-up"])
        #expect(!again.errorOutput.contains("read models discarded"))
        #expect(again.errorOutput.contains("project: 0 records"))
    }
}
