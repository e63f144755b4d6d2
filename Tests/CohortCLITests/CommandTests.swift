import Foundation
import Testing
import TestSupport

@Suite("cohort commands")
struct CommandTests {
    @Test("cohort broker prints its address, serves the crm topics and exits 0 on SIGTERM")
    func brokerLifecycle() throws {
        let broker = try DevBroker(partitions: 5)
        let metadata = try ChildProcess(
            executable: "/usr/bin/kcat", arguments: ["-b", broker.bootstrapServers, "-L"])
        #expect(metadata.waitForExit(timeout: 30) == 0)
        let text = metadata.outputLines.joined()
        for topic in [
            "crm.customers", "crm.orders", "crm.activity", "crm.campaigns", "crm.deliveries", "crm.deadletter",
        ] {
            #expect(text.contains("topic \"\(topic)\" with 5 partitions"), "\(topic) exists with 5 partitions")
        }
        #expect(broker.stop() == 0)
        #expect(broker.process.errorOutput.contains("stopping on signal 15"))
    }

    @Test("log append --events refuses invalid events with their reasons and appends the valid ones")
    func appendEvents() throws {
        let directory = TemporaryDirectory()
        let valid =
            #"{"specversion":"1.0","id":"e1","source":"/t","type":"crm.visit.recorded","data":{"customer_id":"c-7"}}"#
        let invalid =
            #"{"specversion":"1.0","id":"e2","source":"/t","type":"crm.order.placed","#
            + #""data":{"customer_id":"c-7","amount":-1}}"#
        let child = try ChildProcess.cohort(["log", "append", "--data", directory.path, "--events"], stdin: true)
        child.write(valid + "\n" + invalid + "\nnot json at all\n")
        child.closeStdin()
        #expect(child.waitForExit(timeout: 60) == 1)
        #expect(child.outputLines.count == 1)
        #expect(child.outputLines.first?.hasPrefix("crm.activity ") == true)
        #expect(child.errorOutput.contains("/data/amount: must be ≥ 0"))
        #expect(child.errorOutput.contains("/data/order_id: is required"))
        #expect(child.errorOutput.contains("invalid JSON"))

        let reader = try ChildProcess.cohort(["log", "read", "--data", directory.path, "--topic", "crm.activity"])
        #expect(reader.waitForExit(timeout: 60) == 0)
        #expect(reader.outputLines.count == 1)
        #expect(reader.outputLines.first?.contains("\"key\":\"c-7\"") == true)
    }

    @Test("bad configuration stops a command with a message naming the source")
    func badConfiguration() throws {
        let child = try ChildProcess.cohort(["log", "info", "--set", "topics.partitions=0"])
        #expect(child.waitForExit(timeout: 60) != 0)
        #expect(child.errorOutput.contains("topics.partitions: must be between 1 and 1024"))
        let fromEnvironment = try ChildProcess.cohort(["config"], environment: ["COHORT_CURRENCY": "rupee"])
        #expect(fromEnvironment.waitForExit(timeout: 60) != 0)
        #expect(fromEnvironment.errorOutput.contains("environment COHORT_CURRENCY"))
    }

    @Test("bench decode decodes every generated record, reports a median and the allocator; bad options are refused")
    func benchDecode() throws {
        let child = try ChildProcess.cohort(["bench", "decode", "--events", "2000", "--runs", "3", "--partitions", "2"])
        #expect(child.waitForExit(timeout: 120) == 0, "\(child.errorOutput)")
        let lines = child.outputLines
        let generated = lines.first { $0.hasPrefix("generated ") }?.split(separator: " ").dropFirst().first
        let total = try #require(generated.flatMap { Int($0) })
        #expect(total >= 2000)
        #expect(lines.filter { $0.hasPrefix("  decode run ") && $0.contains(": \(total) records in ") }.count == 3)
        #expect(lines.contains { $0.hasPrefix("decode (one thread): \(total) records/run, median ") })
        // The executable's own allocator options are in effect (`AllocatorOptions`), not jemalloc's defaults.
        #expect(
            lines.contains { $0.hasPrefix("allocator: jemalloc ") && $0.hasSuffix("transparent huge pages: always") })

        let refused = try ChildProcess.cohort(["bench", "decode", "--events", "10"])
        #expect(refused.waitForExit(timeout: 60) != 0)
        #expect(refused.errorOutput.contains("--events must be between 1000 and 100000000"))
    }

    @Test("bench ingest batch: durable rate, and the time until the node has folded every event it took")
    func benchIngestBatch() throws {
        let child = try ChildProcess.cohort([
            "bench", "ingest", "--mode", "batch", "--runs", "2", "--events", "3000", "--batch", "100",
            "--batch-connections", "2",
        ])
        #expect(child.waitForExit(timeout: 180) == 0, "\(child.errorOutput)")
        let runs = child.outputLines.filter { $0.hasPrefix("  run ") }
        #expect(runs.count == 2)
        for run in runs {
            // "  run 1: R events/s (S s, durable); all folded at F s: E events/s end to end", with F ≥ S.
            let numbers = run.split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
            #expect(numbers.count == 5, "\(run)")
            if numbers.count == 5 {
                #expect(numbers[3] >= numbers[2] && numbers[4] <= numbers[1], "\(run)")
            }
        }
        #expect(child.outputLines.contains { $0.hasPrefix("batch: median ") && $0.hasSuffix(" events/s folded") })
    }

    @Test("bench cluster runs its three measurements against real nodes and prints their medians")
    func benchCluster() throws {
        let scratch = TemporaryDirectory("cohort-bench-cluster-test")
        let child = try ChildProcess.cohort(
            [
                "bench", "cluster", "--partitions", "2", "--events", "2000", "--customers", "300", "--probes", "10",
                "--runs", "1",
            ], environment: ["TMPDIR": scratch.path])
        #expect(child.waitForExit(timeout: 300) == 0, "\(child.errorOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "the nodes' data is removed")
        let lines = child.outputLines
        #expect(lines.contains { $0.hasPrefix("ingest: 2 partitions: median ") && $0.hasSuffix(" events/s") })
        #expect(lines.contains { $0.hasPrefix("catch-up: median ") && $0.hasSuffix(" records/s") })
        #expect(
            lines.contains { $0.hasPrefix("counts: one node median p50 ") && $0.contains("coordinator median p50") })
    }

    @Test("the same log can be used through Kafka: log info against cohort broker")
    func logInfoOnKafka() throws {
        let broker = try DevBroker(partitions: 2)
        let child = try ChildProcess.cohort(["log", "info", "--brokers", broker.bootstrapServers])
        #expect(child.waitForExit(timeout: 60) == 0)
        #expect(child.outputLines.contains { $0.hasPrefix("crm.orders partitions=2 records=0") })
        #expect(broker.stop() == 0)
    }
}

/// Several processes append to one embedded log: each write transaction continues from the partition ends stored
/// by whichever process wrote last, and readers in other processes see every record.
@Suite("embedded log across processes", .serialized)
struct EmbeddedLogProcessTests {
    static let partitions = ["--set", "topics.partitions=1"]

    private func appender(_ data: String) throws -> ChildProcess {
        try ChildProcess.cohort(
            ["log", "append", "--data", data, "--topic", "t", "--key-is-line", "--batch", "1"] + Self.partitions,
            stdin: true)
    }

    private func append(_ data: String, _ lines: [String]) throws -> ChildProcess {
        let child = try appender(data)
        child.write(lines.map { $0 + "\n" }.joined())
        child.closeStdin()
        _ = child.waitForExit(timeout: 60)
        return child
    }

    /// Whether process `pid` has mapped the log's data file (it has opened the log).
    private func hasOpenedLog(_ pid: Int32, _ data: String) -> Bool {
        let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
        return maps.contains(data + "/log/data.mdb")
    }

    private func waitUntilOpened(_ child: ChildProcess, _ data: String) {
        let started = Date()
        while !hasOpenedLog(child.pid, data), Date().timeIntervalSince(started) < 60 { usleep(10_000) }
        #expect(hasOpenedLog(child.pid, data))
    }

    @Test("appenders in several processes continue each other's offsets; a reader in another process sees them all")
    func severalWriters() throws {
        let directory = TemporaryDirectory("cohort-writers")
        let data = directory.path
        let info = try ChildProcess.cohort(["log", "info", "--data", data] + Self.partitions)
        #expect(info.waitForExit(timeout: 60) == 0)

        // The first appender opens the log and waits for its input; another process appends and ends meanwhile.
        let early = try appender(data)
        waitUntilOpened(early, data)
        let other = try append(data, ["other-1", "other-2"])
        #expect(other.waitForExit(timeout: 0) == 0, "\(other.errorOutput)")
        #expect(other.outputLines == ["t 0 0 other-1", "t 0 1 other-2"])
        // A reader in a process of its own, following the topic as the others append.
        let follower = try ChildProcess.cohort(
            ["log", "read", "--data", data, "--topic", "t", "--follow"] + Self.partitions)
        defer { follower.terminate() }
        #expect(follower.waitForLines(2, timeout: 30))

        // The first appender's records go after the other's, and a third process appends between two of its own.
        early.write("early-1\n")
        #expect(early.waitForLines(1, timeout: 60))
        let later = try append(data, ["later-1"])
        #expect(later.waitForExit(timeout: 0) == 0, "\(later.errorOutput)")
        early.write("early-2\n")
        early.closeStdin()
        #expect(early.waitForExit(timeout: 60) == 0, "\(early.errorOutput)")
        #expect(early.outputLines == ["t 0 2 early-1", "t 0 4 early-2"])
        #expect(later.outputLines == ["t 0 3 later-1"])

        let expected = ["other-1", "other-2", "early-1", "later-1", "early-2"]
        func values(_ lines: [String]) -> [String] {
            lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["value"] as? String
            }
        }
        #expect(follower.waitForLines(expected.count, timeout: 30))
        #expect(values(follower.outputLines) == expected, "the reader saw every process's records in order")
        let read = try ChildProcess.cohort(["log", "read", "--data", data, "--topic", "t"] + Self.partitions)
        #expect(read.waitForExit(timeout: 60) == 0)
        #expect(values(read.outputLines) == expected, "nothing written over, nothing lost")
        let counts = try ChildProcess.cohort(["log", "info", "--data", data] + Self.partitions)
        #expect(counts.waitForExit(timeout: 60) == 0)
    }
}
