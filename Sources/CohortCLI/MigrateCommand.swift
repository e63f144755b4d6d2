import API
import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import Foundation
import Kafka
import Logging

/// `cohort migrate`: copies the embedded log of a data directory into Kafka topics (`LogCopy`), then verifies it.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the embedded log of --data into the Kafka cluster of --brokers, then verify the copy.",
        discussion: """
            Every record keeps its topic, partition, offset, key, headers and timestamp. The topics must exist on \
            the cluster with the same partition counts (`cohort broker --partitions N` creates the crm.* ones). A \
            copy that stops (killed, broker down) resumes where the cluster's partitions end when run again: \
            nothing is copied twice or skipped. Records appended here while it runs are left to the next run, so \
            a node may keep serving during a first copy and be stopped for a final one. Verification compares \
            each partition's record count and, unless --skip-digest, the digests of read models rebuilt from \
            both logs (in a temporary directory under data.dir).
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Records read and appended at a time (1–100000).")
    var batch = 10_000

    @Option(help: "Copy at most this many records per second (spares a cluster in use); default: no bound.")
    var maxRate: Int?

    @Flag(help: "Skip rebuilding the read models from both logs to compare their digests.")
    var skipDigest = false

    func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000") }
        if let maxRate, maxRate < 1 { throw ValidationError("--max-rate must be at least 1 record per second") }
    }

    func run() async throws {
        let configuration = try options.load()
        guard configuration.usesKafka else {
            throw ValidationError("give the target cluster with --brokers HOST:PORT (or kafka.brokers)")
        }
        let logPath = (configuration.dataDirectory as NSString).appendingPathComponent("log")
        guard FileManager.default.fileExists(atPath: logPath + "/data.mdb") else {
            throw ValidationError("no embedded log at \(logPath): --data names the data directory to copy")
        }
        let logger = LoggingSetup.logger("cohort.migrate", level: configuration.logLevel)
        let source = try NodeWiring.openEmbeddedLog(configuration, logger: logger)
        var kafka = NodeWiring.kafkaConfiguration(configuration)
        kafka.gapless = true
        let topics = try source.listTopics()

        let spans = try await copyRetrying(topics: topics, from: source, kafka: kafka, logger: logger)
        let target = try KafkaLog(configuration: kafka, logger: logger)
        let differing = try await LogCopy.verifyCounts(spans, target: target)
        let total = spans.reduce(Int64(0)) { $0 + $1.targetEnd }
        for (partition, expected, actual) in differing {
            Output.error("migrate: \(partition) holds \(actual) records on the cluster, \(expected) expected")
        }
        guard differing.isEmpty else {
            await target.close()
            await source.close()
            Output.error("migrate: verification failed in \(differing.count) of \(spans.count) partitions")
            throw ExitCode(2)
        }
        Output.error("migrate: verified the record count of all \(spans.count) partitions (\(total) records)")
        Output.line("records \(total)")

        if skipDigest {
            Output.error("migrate: digest comparison skipped (--skip-digest)")
        } else if try await grew(spans, source) {
            Output.error(
                "migrate: records were appended here during the copy, so the digests would differ; run migrate "
                    + "again once writers have stopped to copy them and compare the digests")
        } else {
            try await compareDigests(source: source, target: target, configuration: configuration, logger: logger)
        }
        await target.close()
        await source.close()
    }

    /// Plans and copies; when the cluster is unavailable, waits (100 ms doubling to 5 s) and starts again from
    /// where the cluster's partitions end, with a new producer, giving up after eight failures in a row.
    private func copyRetrying(
        topics: [(name: String, partitions: Int32)], from source: EmbeddedLog, kafka: KafkaConfiguration,
        logger: Logger
    ) async throws -> [LogCopy.Span] {
        var failures = 0
        while true {
            let target = try KafkaLog(configuration: kafka, logger: logger)
            var copiedBefore: Int64 = 0
            do {
                let spans = try await LogCopy.plan(topics: topics, from: source, to: target)
                let toCopy = spans.reduce(Int64(0)) { $0 + $1.remaining }
                let held = spans.reduce(Int64(0)) { $0 + $1.next - $1.sourceLow }
                Output.error(
                    "migrate: \(topics.count) topics, \(spans.count) partitions; the cluster holds \(held) records "
                        + "already, \(toCopy) to copy")
                let printer = CopyProgress(total: toCopy)
                try await LogCopy.copy(
                    spans, from: source, to: target, batchRecords: batch, recordsPerSecond: maxRate
                ) {
                    copiedBefore = $0
                    printer.report($0)
                }
                printer.report(copiedBefore, final: true)
                await target.close()
                return spans
            } catch let error as EventLogError where error.isRetriable {
                await target.close()
                failures = copiedBefore > 0 ? 1 : failures + 1
                guard failures <= 8 else {
                    Output.error("migrate: giving up: \(error); run migrate again to resume")
                    throw ExitCode(1)
                }
                let backoffMs = min(5_000, 100 << min(failures - 1, 6))
                Output.error("migrate: \(error); resuming from the cluster's ends in \(backoffMs) ms")
                try await Task.sleep(for: .milliseconds(backoffMs))
            } catch let failure as LogCopy.Failure {
                await target.close()
                Output.error("migrate: \(failure)")
                throw ExitCode(1)
            }
        }
    }

    /// Whether any partition of the copy holds more records here than when it was planned.
    private func grew(_ spans: [LogCopy.Span], _ source: EmbeddedLog) async throws -> Bool {
        for span in spans where try await source.watermarks(span.partition).high != span.end { return true }
        return false
    }

    /// Rebuilds read models from both logs in a temporary directory under data.dir and compares their digests.
    private func compareDigests(
        source: EmbeddedLog, target: KafkaLog, configuration: CohortConfiguration, logger: Logger
    ) async throws {
        let scratch = (configuration.dataDirectory as NSString).appendingPathComponent(
            "migrate-verify-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let here = try await Rebuild.run(
            log: source, into: scratch + "/embedded", configuration: configuration, label: "migrate: embedded log",
            logger: logger)
        let there = try await Rebuild.run(
            log: target, into: scratch + "/kafka", configuration: configuration, label: "migrate: Kafka",
            logger: logger)
        guard here == there else {
            Output.error("migrate: the digests differ: \(here) from this log, \(there) from the cluster")
            throw ExitCode(2)
        }
        Output.error("migrate: read models rebuilt from both logs are equal")
        Output.line("digest \(here)")
    }
}

/// Prints the copy's progress at most once a second: records copied, share, rate and time to go.
final class CopyProgress: @unchecked Sendable {
    // @unchecked Sendable: used from one task at a time.
    private let total: Int64
    private let started = ContinuousClock.now
    private var lastPrinted: ContinuousClock.Instant?

    init(total: Int64) { self.total = total }

    func report(_ copied: Int64, final: Bool = false) {
        let now = ContinuousClock.now
        if !final, let lastPrinted, now - lastPrinted < .seconds(1) { return }
        lastPrinted = now
        let seconds = Double((now - started) / .milliseconds(1)) / 1000
        let rate = seconds > 0 ? Double(copied) / seconds : 0
        let share = total > 0 ? 100 * Double(copied) / Double(total) : 100
        let filled = min(20, Int(share / 5))
        var line =
            "migrate: [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 20 - filled))] "
            + "copied \(copied) of \(total) records (\(String(format: "%.1f", share)) %), "
            + "\(Int(rate)) records/s, \(String(format: "%.1f", seconds)) s"
        if !final && rate > 0 { line += ", ETA \(String(format: "%.0f", Double(total - copied) / rate)) s" }
        Output.error(line)
    }
}
