import ArgumentParser
import CommandSupport
import EventLog
import Events
import Foundation
import Kafka
import Logging
import Projections
import Synthetic

/// Options every log benchmark shares: which log, how many runs, and where Kafka is.
struct BenchTargetOptions: ParsableArguments {
    enum Implementation: String, ExpressibleByArgument, CaseIterable {
        case embedded, kafka, all
    }

    @Option(help: "Which log to measure: embedded, kafka or all.")
    var impl: Implementation = .all

    @Option(help: "Runs per implementation; the median is reported.")
    var runs = 3

    @Option(help: "Partitions per topic.")
    var partitions: Int32 = 8

    @Option(help: "Kafka bootstrap servers; default: librdkafka's mock cluster in this process.")
    var brokers: String?

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
        guard (1...1024).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 1024") }
    }

    var measuresEmbedded: Bool { impl != .kafka }
    var measuresKafka: Bool { impl != .embedded }

    /// The Kafka cluster to measure: `--brokers`, or a mock cluster that lives as long as the returned value.
    func kafkaCluster(logger: Logger) throws -> (servers: String, mock: MockCluster?) {
        if let brokers { return (brokers, nil) }
        let mock = try MockCluster(brokers: 1, logger: logger)
        return (mock.bootstrapServers, mock)
    }

    /// How the Kafka results are labelled.
    var kafkaLabel: String { brokers.map { "kafka (\($0))" } ?? "kafka (mock cluster)" }
}

/// Arithmetic and process facts the benchmarks report.
enum BenchMeasure {
    /// Seconds elapsed since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The median: the middle value, or the mean of the two middle values.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Two decimals.
    static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A fresh directory for one benchmark's data, under the system's temporary directory; the caller removes it.
    static func scratchDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cohort-bench-\(UUID().uuidString)").path
    }

    /// An embedded log in `path` whose topics get `partitions` partitions.
    static func embeddedLog(at path: String, partitions: Int32, logger: Logger) throws -> EmbeddedLog {
        var configuration = EmbeddedLog.Configuration(path: path)
        configuration.defaultPartitions = partitions
        return try EmbeddedLog(configuration: configuration, logger: logger)
    }

    /// An embedded log in `path` with every `crm.*` topic, holding generated traffic of about `events` records
    /// (`fillGenerated`); returns it and the exact count.
    static func generatedEmbeddedLog(at path: String, partitions: Int32, events: Int, logger: Logger) async throws
        -> (log: EmbeddedLog, total: Int)
    {
        let log = try embeddedLog(at: path, partitions: partitions, logger: logger)
        for stream in EventStream.allCases { try await log.createTopic(stream.defaultTopic, partitions: partitions) }
        return (log, try await fillGenerated(log, events: events))
    }

    /// Appends generated traffic of about `events` records (a tenth customers, four tenths orders with their
    /// cancels and refunds, the rest visits), untimed; returns the exact count.
    static func fillGenerated(_ log: any EventLog, events: Int) async throws -> Int {
        var options = EventGenerator.Options()
        options.customers = max(100, events / 10)
        options.orders = events * 4 / 10
        options.visits = events - options.customers - options.orders
        let started = ContinuousClock.now
        let total = try await Wiring.appendGenerated(options, to: log, topic: \.defaultTopic)
        Output.line("generated \(total) records in \(format(seconds(since: started))) s (untimed)")
        return total
    }

    /// VmRSS from /proc/self/status: memory resident now.
    static func residentMegabytes() -> Int { statusMegabytes("VmRSS:") }

    /// RssAnon from /proc/self/status: the heap (and stacks) resident now, without mapped files.
    static func heapResidentMegabytes() -> Int { statusMegabytes("RssAnon:") }

    /// RssFile from /proc/self/status: pages of mapped files resident now (LMDB's map): page cache the OS may drop.
    static func mappedResidentMegabytes() -> Int { statusMegabytes("RssFile:") }

    /// VmHWM from /proc/self/status: the most memory this process has had resident.
    static func peakResidentMegabytes() -> Int { statusMegabytes("VmHWM:") }

    private static func statusMegabytes(_ key: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        else { return -1 }
        return kilobytes / 1024
    }
}
