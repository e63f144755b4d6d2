import Foundation
import Testing
import TestSupport

/// `cohort migrate` (SPEC §11): the embedded log copied into `cohort broker` (its own process), killed part way
/// and run again: every record exactly once at its offset, and read models rebuilt from the cluster equal.
@Suite("cohort migrate", .serialized)
struct MigrateTests {
    private func run(_ arguments: [String], exit expected: Int32 = 0) throws -> ChildProcess {
        let child = try ChildProcess.cohort(arguments)
        let status = child.waitForExit(timeout: 300)
        #expect(status == expected, "cohort \(arguments.joined(separator: " ")): \(child.errorOutput)")
        return child
    }

    /// Records in all `crm.*` topics on the cluster, from `cohort log info`.
    private func recordsOnCluster(_ brokers: String) throws -> Int64 {
        try records(in: ["--brokers", brokers])
    }

    /// Records in all `crm.*` topics of the log that `logArguments` select, from `cohort log info`.
    private func records(in logArguments: [String]) throws -> Int64 {
        try run(["log", "info"] + logArguments).outputLines.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("records=") }.flatMap { Int64($0.dropFirst(8)) }
        }.reduce(0, +)
    }

    @Test("SIGKILL mid-copy, then run again: no record twice or missing, same records and digest as the embedded log")
    func killedMidCopyResumes() throws {
        let directory = TemporaryDirectory("cohort-migrate")
        let data = directory.path + "/node"
        let generated = try run([
            "generate", "--data", data, "--into-log", "--customers", "2000", "--orders", "6000", "--visits",
            "10000", "--redeliveries", "0.01", "--poison", "0.005",
        ])
        let generatedRecords = try #require(generated.outputLines.last.flatMap(Int64.init))
        // The node's read models, folded from the embedded log before the move (its poison records are appended
        // to crm.deadletter, which moves too).
        _ = try run(["project", "--data", data, "--until-caught-up"])
        let total = try records(in: ["--data", data])
        #expect(total > generatedRecords)
        let broker = try DevBroker(partitions: 8)
        let brokers = broker.bootstrapServers

        // A copy bounded to 4,000 records/s takes about five seconds; it is killed at a random moment after its
        // first append.
        let copy = try ChildProcess.cohort([
            "migrate", "--data", data, "--brokers", brokers, "--max-rate", "4000", "--batch", "200",
        ])
        let started = Date()
        while !copy.errorOutput.contains("] copied "), copy.waitForExit(timeout: 0.05) == nil,
            Date().timeIntervalSince(started) < 120
        {}
        _ = copy.waitForExit(timeout: Double.random(in: 0...1.5))
        copy.send(SIGKILL)
        #expect(copy.waitForExit(timeout: 30) != 0, "killed before it finished: \(copy.errorOutput)")
        let copiedBeforeKill = try recordsOnCluster(brokers)
        #expect(copiedBeforeKill > 0 && copiedBeforeKill < total, "killed part way: \(copiedBeforeKill) of \(total)")

        let resumed = try run(["migrate", "--data", data, "--brokers", brokers])
        #expect(resumed.errorOutput.contains("the cluster holds \(copiedBeforeKill) records already"))
        #expect(resumed.errorOutput.contains("migrate: verified the record count of all 56 partitions"))
        #expect(resumed.outputLines.contains("records \(total)"))
        #expect(try recordsOnCluster(brokers) == total)

        // Record for record: partition, offset, key, headers, timestamp and value, topic by topic.
        for topic in ["crm.customers", "crm.orders", "crm.activity"] {
            let here = try run(["log", "read", "--data", data, "--topic", topic]).outputLines.sorted()
            let there = try run(["log", "read", "--brokers", brokers, "--topic", topic]).outputLines.sorted()
            #expect(!here.isEmpty)
            #expect(here.count == there.count, "\(topic): \(here.count) records here, \(there.count) on the cluster")
            let difference = zip(here, there).first { $0 != $1 }
            #expect(difference == nil, "\(topic) differs: \(difference.map { "\($0) against \($1)" } ?? "")")
        }
        // The digests of read models rebuilt from both logs: compared by migrate, and against a replay here.
        let digest = try #require(resumed.outputLines.first { $0.hasPrefix("digest ") }?.dropFirst(7))
        let replayed = try run(["replay", "--data", data, "--into", directory.path + "/replayed"])
        #expect(replayed.outputLines.last.map { Substring($0) } == digest)
        let fromCluster = try run(["replay", "--brokers", brokers, "--into", directory.path + "/from-cluster"])
        #expect(fromCluster.outputLines.last.map { Substring($0) } == digest)

        // The node's read models carry on against the cluster: their stored offsets mean the same there.
        let stats = try run(["stats", "--data", data, "--brokers", brokers])
        #expect(stats.outputLines.filter { $0.hasPrefix("lag ") }.count == 5)
        #expect(stats.outputLines.filter { $0.hasPrefix("lag ") }.allSatisfy { $0.hasSuffix(" = 0") })
        #expect(try run(["digest", "--data", data]).outputLines.last.map { Substring($0) } == digest)

        // Run once more: nothing left to copy, nothing copied twice.
        let again = try run(["migrate", "--data", data, "--brokers", brokers, "--skip-digest"])
        #expect(again.errorOutput.contains("the cluster holds \(total) records already, 0 to copy"))
        #expect(try recordsOnCluster(brokers) == total)
        #expect(broker.stop() == 0)
    }

    @Test("a cluster whose topics have other partition counts is refused before anything is copied")
    func refusesOtherPartitionCounts() throws {
        let directory = TemporaryDirectory("cohort-migrate-refused")
        let data = directory.path + "/node"
        _ = try run(["generate", "--data", data, "--into-log", "--customers", "50", "--orders", "50", "--visits", "50"])
        let broker = try DevBroker(partitions: 4)
        let refused = try run(["migrate", "--data", data, "--brokers", broker.bootstrapServers], exit: 1)
        #expect(refused.errorOutput.contains("here but 4 on the target"))
        #expect(refused.errorOutput.contains("create it with 8 partitions"))
        #expect(try recordsOnCluster(broker.bootstrapServers) == 0)
        let noTarget = try run(["migrate", "--data", data], exit: 64)
        #expect(noTarget.errorOutput.contains("--brokers"))
        let noLog = try run(
            ["migrate", "--data", directory.path + "/none", "--brokers", broker.bootstrapServers], exit: 64)
        #expect(noLog.errorOutput.contains("no embedded log"))
        #expect(broker.stop() == 0)
    }
}
