import CohortConfig
import EventLog
import Events
import Foundation
import Kafka
import Logging
import Projections
import Synthetic

/// Builds the components a command needs from the configuration. The one place that chooses implementations.
enum Wiring {
    /// Every topic Cohort uses, prefixed as configured.
    static func topics(_ configuration: CohortConfiguration) -> [String] {
        EventStream.allCases.map { configuration.topic($0.defaultTopic) }
    }

    /// The Kafka client settings of a configuration.
    static func kafkaConfiguration(_ configuration: CohortConfiguration) -> KafkaConfiguration {
        var kafka = KafkaConfiguration(bootstrapServers: configuration.kafkaBrokers)
        kafka.messageTimeoutMs = configuration.kafkaMessageTimeoutMs
        kafka.properties = configuration.kafkaProperties
        return kafka
    }

    /// The configured log: Kafka when brokers are set, else the embedded log in `data.dir/log` with the
    /// `crm.*` topics created.
    static func openLog(_ configuration: CohortConfiguration, logger: Logger) async throws -> any EventLog {
        if configuration.usesKafka {
            return try KafkaLog(configuration: kafkaConfiguration(configuration), logger: logger)
        }
        let log = try openEmbeddedLog(configuration, logger: logger)
        for topic in topics(configuration) {
            try await log.createTopic(topic, partitions: configuration.partitions)
        }
        return log
    }

    static func openEmbeddedLog(_ configuration: CohortConfiguration, logger: Logger) throws -> EmbeddedLog {
        var embedded = EmbeddedLog.Configuration(
            path: (configuration.dataDirectory as NSString).appendingPathComponent("log"))
        embedded.defaultPartitions = configuration.partitions
        return try EmbeddedLog(configuration: embedded, logger: logger)
    }
}

extension Wiring {
    /// Appends generated traffic to `log` in sequential batches of 5,000 (which keeps the generated order within
    /// every partition); `progress` hears the running total after each batch. Returns the records appended.
    static func appendGenerated(
        _ options: EventGenerator.Options, to log: any EventLog, topic: (EventStream) -> String,
        headers: [Header] = [], progress: ((Int) -> Void)? = nil
    ) async throws -> Int {
        var batch: [OutgoingRecord] = []
        var appended = 0
        func flush() async throws {
            appended += try await log.append(batch).count
            batch.removeAll(keepingCapacity: true)
            progress?(appended)
        }
        for item in EventGenerator(options: options) {
            batch.append(
                OutgoingRecord(
                    topic: topic(item.stream), key: Array(item.key.utf8), value: item.value, headers: headers))
            if batch.count == 5_000 { try await flush() }
        }
        if !batch.isEmpty { try await flush() }
        return appended
    }
}

/// Writes lines to stdout from any thread, flushing each so that a reader sees them at once.
enum Output {
    private static let lock = NSLock()

    static func line(_ text: String) {
        lock.withLock {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension Wiring {
    /// The topics projectors fold: every `crm.*` topic but the dead-letter one.
    static func foldedTopics(_ configuration: CohortConfiguration) -> [String] {
        EventStream.allCases.filter { $0 != .deadletter }.map { configuration.topic($0.defaultTopic) }
    }

    /// Projector settings for this configuration; `deadLetters: false` for replays.
    static func projectorConfiguration(_ configuration: CohortConfiguration, deadLetters: Bool)
        -> Projector.Configuration
    {
        Projector.Configuration(
            topics: foldedTopics(configuration),
            deadLetterTopic: deadLetters ? configuration.topic(EventStream.deadletter.defaultTopic) : nil,
            currency: configuration.currency)
    }

    /// The projector of `cohort replay`: no dead-lettering (the original run did), and a rebuild in memory within
    /// `replay.memory_mb`, but never more than half of this machine's memory.
    static func replayConfiguration(_ configuration: CohortConfiguration) -> Projector.Configuration {
        var projector = projectorConfiguration(configuration, deadLetters: false)
        if configuration.replayMemoryMiB > 0 {
            projector.inMemoryRebuildBytesMax = min(
                configuration.replayMemoryMiB << 20, Int(ProcessInfo.processInfo.physicalMemory / 2))
        }
        return projector
    }
}

/// Prints a progress line to stderr at most every `intervalSeconds`, and once more at the end.
final class ProgressPrinter: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private let label: String
    private let intervalSeconds: Double
    private var lastPrinted = -1.0

    init(label: String, intervalSeconds: Double = 1) {
        self.label = label
        self.intervalSeconds = intervalSeconds
    }

    func report(_ progress: Projector.Progress, final: Bool = false) {
        let due = lock.withLock {
            guard final || progress.writing || progress.elapsedSeconds - lastPrinted >= intervalSeconds else {
                return false
            }
            lastPrinted = progress.elapsedSeconds
            return true
        }
        guard due else { return }
        if progress.writing {
            Output.error("\(label): \(progress.records) records folded in memory; writing the read models in key order")
            return
        }
        let rate = progress.elapsedSeconds > 0 ? Double(progress.records) / progress.elapsedSeconds : 0
        var line =
            "\(label): \(progress.records) records, \(Int(rate)) records/s, "
            + "\(String(format: "%.1f", progress.elapsedSeconds)) s"
        if let remaining = progress.remaining {
            line += ", \(remaining) to go"
            if rate > 0 && remaining > 0 { line += ", ETA \(String(format: "%.1f", Double(remaining) / rate)) s" }
        }
        Output.error(line)
    }
}
