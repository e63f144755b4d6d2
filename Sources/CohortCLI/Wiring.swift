import CohortConfig
import EventLog
import Events
import Foundation
import Kafka
import Logging

/// Builds the components a command needs from the configuration. The one place that chooses implementations.
enum Wiring {
    /// Every topic Cohort uses, prefixed as configured.
    static func topics(_ configuration: CohortConfiguration) -> [String] {
        Stream.allCases.map { configuration.topic($0.defaultTopic) }
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
