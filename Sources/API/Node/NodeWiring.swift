import CohortConfig
import EventLog
import Events
import Foundation
import Kafka
import Logging
import Projections

/// Builds a node's parts from the configuration: the one place that chooses implementations. `buildApplication`
/// and every command use it.
public enum NodeWiring {
    /// Every topic Cohort uses, prefixed as configured: the `crm.*` event topics and the API keys'.
    public static func topics(_ configuration: CohortConfiguration) -> [String] {
        EventStream.allCases.map { configuration.topic($0.defaultTopic) } + [keysTopic(configuration)]
    }

    /// The read models of a node, synced as `data.read_models_sync` says when it `folds` into them (else every
    /// commit is synced: a node that writes next to nothing leaves no marker). Read models a machine crash may have
    /// left half written are discarded on opening, and said so: they fold again from the start of the log.
    public static func openReadModels(_ configuration: CohortConfiguration, folds: Bool = true, logger: Logger) throws
        -> ReadModelStore
    {
        let store = try ReadModelStore(
            path: configuration.readModelsPath,
            options: ReadModelStore.options(syncEachCommit: !folds || configuration.readModelsSync == "commit"))
        if store.discardedAfterMachineCrash {
            logger.warning(
                """
                read models discarded: a process of an earlier boot was writing them without syncing when the \
                machine stopped; they fold again from the start of the log
                """,
                metadata: ["data.read_models": "\(configuration.readModelsPath)"])
        }
        return store
    }

    /// The topic of the API keys (`APIKeyStore`).
    public static func keysTopic(_ configuration: CohortConfiguration) -> String {
        configuration.topic(APIKeyStore.defaultTopic)
    }

    /// The API keys of the configured log, read up to its end; a key file of an earlier version in the data
    /// directory is imported first (`APIKeyStore.importLegacyFile`).
    public static func keys(_ configuration: CohortConfiguration, log: any EventLog, logger: Logger) async throws
        -> APIKeyStore
    {
        let keys: APIKeyStore
        do {
            keys = try await APIKeyStore(log: log, topic: keysTopic(configuration), logger: logger)
        } catch EventLogError.unknownTopic(let topic) {
            throw EventLogError.unknownTopic(
                "\(topic): the API keys' topic is missing on the cluster; create it like the crm.* topics")
        }
        let imported = try await keys.importLegacyFile(keysPath(configuration))
        if imported > 0 {
            logger.notice(
                "API keys imported into the log",
                metadata: ["keys.imported": "\(imported)", "keys.file": "\(keysPath(configuration))"])
        }
        return keys
    }

    /// The Kafka client settings of a configuration.
    public static func kafkaConfiguration(_ configuration: CohortConfiguration) -> KafkaConfiguration {
        var kafka = KafkaConfiguration(bootstrapServers: configuration.kafkaBrokers)
        kafka.messageTimeoutMs = configuration.kafkaMessageTimeoutMs
        kafka.properties = configuration.kafkaProperties
        return kafka
    }

    /// The configured log: Kafka when brokers are set, else the embedded log in `data.dir/log` with the
    /// `crm.*` topics created.
    public static func openLog(_ configuration: CohortConfiguration, logger: Logger) async throws -> any EventLog {
        if configuration.usesKafka {
            return try KafkaLog(configuration: kafkaConfiguration(configuration), logger: logger)
        }
        let log = try openEmbeddedLog(configuration, logger: logger)
        for topic in topics(configuration) {
            try await log.createTopic(topic, partitions: configuration.partitions)
        }
        return log
    }

    /// The embedded log in `data.dir/log`, without creating topics.
    public static func openEmbeddedLog(_ configuration: CohortConfiguration, logger: Logger) throws -> EmbeddedLog {
        var embedded = EmbeddedLog.Configuration(
            path: (configuration.dataDirectory as NSString).appendingPathComponent("log"))
        embedded.defaultPartitions = configuration.partitions
        return try EmbeddedLog(configuration: embedded, logger: logger)
    }

    /// The topics projectors fold: every `crm.*` topic but the dead-letter one.
    public static func foldedTopics(_ configuration: CohortConfiguration) -> [String] {
        EventStream.allCases.filter { $0 != .deadletter }.map { configuration.topic($0.defaultTopic) }
    }

    /// The projector of a node or `cohort project`: dead letters go to their topic, and a projector far behind
    /// catches up in spans folded in memory within `projector.catch_up_memory_mb`, but never more than a quarter of
    /// this machine's memory.
    public static func projectorConfiguration(_ configuration: CohortConfiguration) -> Projector.Configuration {
        var projector = Projector.Configuration(
            topics: foldedTopics(configuration),
            deadLetterTopic: configuration.topic(EventStream.deadletter.defaultTopic),
            currency: configuration.currency)
        if configuration.catchUpMemoryMiB > 0 {
            projector.spanBytesMax = min(
                configuration.catchUpMemoryMiB << 20, Int(ProcessInfo.processInfo.physicalMemory / 4))
            projector.spanRecordsMin = configuration.catchUpRecordsMin
        }
        if !configuration.nodePartitions.isEmpty {
            // A shard: of the topics keyed by customer, only its partitions; segments, campaigns and messages whole.
            let owned = Set(configuration.nodePartitions)
            for stream in EventStream.customerKeyed {
                projector.ownedPartitions[configuration.topic(stream.defaultTopic)] = owned
            }
        }
        return projector
    }

    /// The projector of `cohort replay`: no dead-lettering (the original run did), and the whole log as one span
    /// folded in memory within `replay.memory_mb`, but never more than half of this machine's memory.
    public static func replayConfiguration(_ configuration: CohortConfiguration) -> Projector.Configuration {
        var projector = Projector.Configuration(
            topics: foldedTopics(configuration), deadLetterTopic: nil, currency: configuration.currency)
        if configuration.replayMemoryMiB > 0 {
            projector.spanBytesMax = min(
                configuration.replayMemoryMiB << 20, Int(ProcessInfo.processInfo.physicalMemory / 2))
            projector.spanRecordsMin = 0
        }
        return projector
    }

    /// Where an earlier version kept the API keys of a data directory (imported into the log when found).
    public static func keysPath(_ configuration: CohortConfiguration) -> String {
        configuration.dataDirectory + "/api-keys.json"
    }
}
