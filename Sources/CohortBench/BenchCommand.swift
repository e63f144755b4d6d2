import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import Foundation
import Kafka
import Logging

/// `cohort bench`: the performance benchmarks of SPEC §13, reported as medians over several runs.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Run a benchmark and print per-run figures and medians.",
        subcommands: [
            BenchLogCommand.self, BenchProjectCommand.self, BenchDecodeCommand.self, BenchSegmentsCommand.self,
            BenchIngestCommand.self, BenchCampaignCommand.self, BenchAssistCommand.self, BenchDashboardCommand.self,
            BenchClusterCommand.self,
        ])

    public init() {}
}

/// `cohort bench log`: durable append and read throughput of the embedded log and of Kafka.
struct BenchLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Measure durable append (concurrent appenders) and read throughput with ~200-byte records.",
        discussion: """
            The embedded log runs in a fresh temporary directory per run, fsync on every commit. Kafka runs \
            against --brokers, or else against librdkafka's mock cluster started in this process (keep \
            --kafka-events within its ~5 MiB per partition).
            """)

    @OptionGroup var target: BenchTargetOptions

    @Option(help: "Records per run on the embedded log.")
    var events = 1_000_000

    @Option(help: "Records per run on Kafka.")
    var kafkaEvents = 100_000

    @Option(help: "Concurrent appenders.")
    var appenders = 8

    @Option(help: "Records per append call.")
    var batch = 500

    @Option(help: "Bytes of each record value.")
    var valueBytes = 200

    func validate() throws {
        guard appenders >= 1, appenders <= 256 else { throw ValidationError("--appenders must be between 1 and 256") }
        guard batch >= 1, batch <= 100_000 else { throw ValidationError("--batch must be between 1 and 100000") }
        guard events >= appenders, kafkaEvents >= appenders else {
            throw ValidationError("need at least one record per appender")
        }
    }

    struct RunResult {
        let appendPerSecond: Double
        let readPerSecond: Double
    }

    func run() async throws {
        let logger = LoggingSetup.logger("cohort.bench", level: "warning")
        Output.line(
            "cohort bench log: \(appenders) appenders × batches of \(batch), \(valueBytes)-byte values, "
                + "\(target.partitions) partitions, \(target.runs) runs"
        )
        if target.measuresEmbedded {
            var results: [RunResult] = []
            for run in 1...target.runs {
                let directory = BenchMeasure.scratchDirectory()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let log = try BenchMeasure.embeddedLog(at: directory, partitions: target.partitions, logger: logger)
                let result = try await measure(log, topic: "bench.log", events: events)
                await log.close()
                report("embedded", run: run, result)
                results.append(result)
            }
            summarize("embedded", results, events: events)
        }
        if target.measuresKafka {
            let cluster = try target.kafkaCluster(logger: logger)
            var results: [RunResult] = []
            for run in 1...target.runs {
                let topic = "bench.log.\(UUID().uuidString.prefix(8))"
                try cluster.mock?.createTopic(topic, partitions: target.partitions)
                let log = try KafkaLog(
                    configuration: KafkaConfiguration(bootstrapServers: cluster.servers), logger: logger)
                let result = try await measure(log, topic: topic, events: kafkaEvents)
                await log.close()
                report("kafka", run: run, result)
                results.append(result)
            }
            summarize(target.kafkaLabel, results, events: kafkaEvents)
            withExtendedLifetime(cluster.mock) {}
        }
    }

    /// Appends `events` records with concurrent appenders, then reads them all back with one reader.
    private func measure(_ log: any EventLog, topic: String, events: Int) async throws -> RunResult {
        let perAppender = events / appenders
        let padding = String(repeating: "x", count: max(0, valueBytes - 60))
        // Records are built before the clock starts: the benchmark measures the log, not the generator.
        let work: [[[OutgoingRecord]]] = (0..<appenders).map { appender in
            stride(from: 0, to: perAppender, by: batch).map { start in
                (start..<min(start + batch, perAppender)).map { index in
                    let key = "customer-\(appender)-\(index)"
                    let value = "{\"customer_id\":\"\(key)\",\"n\":\(index),\"pad\":\"\(padding)\"}"
                    return OutgoingRecord(
                        topic: topic, key: Array(key.utf8), value: Array(value.utf8.prefix(valueBytes)))
                }
            }
        }
        let total = perAppender * appenders
        let appendStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batches in work {
                group.addTask {
                    for records in batches { _ = try await log.append(records) }
                }
            }
            try await group.waitForAll()
        }
        let appendSeconds = BenchMeasure.seconds(since: appendStart)

        let reader = try await log.makeReader(startingAt: try await log.allPartitions(of: [topic]))
        let readStart = ContinuousClock.now
        var read = 0
        while read < total {
            let records = try await reader.poll(maxRecords: 10_000, timeoutMs: 5_000)
            guard !records.isEmpty else { throw ValidationError("read stalled at \(read) of \(total) records") }
            read += records.count
        }
        let readSeconds = BenchMeasure.seconds(since: readStart)
        await reader.close()
        return RunResult(appendPerSecond: Double(total) / appendSeconds, readPerSecond: Double(total) / readSeconds)
    }

    private func report(_ name: String, run: Int, _ result: RunResult) {
        Output.line(
            "  \(name) run \(run): append \(Int(result.appendPerSecond)) events/s, "
                + "read \(Int(result.readPerSecond)) events/s"
        )
    }

    private func summarize(_ name: String, _ results: [RunResult], events: Int) {
        let append = Int(BenchMeasure.median(results.map(\.appendPerSecond)))
        let read = Int(BenchMeasure.median(results.map(\.readPerSecond)))
        Output.line(
            "\(name): \(events) records/run, median append \(append) events/s (durable), median read \(read) events/s")
    }
}
