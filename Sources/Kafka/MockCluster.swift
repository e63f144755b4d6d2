import CRdKafka
import Logging

/// librdkafka's in-process mock Kafka cluster (`rdkafka_mock.h`): a development broker speaking the Kafka
/// protocol on loopback. In-memory only; see the README for its limits.
public final class MockCluster: @unchecked Sendable {
    // @unchecked Sendable: the mock cluster runs on its own librdkafka thread; its API is thread-safe.

    private let host: KafkaHandle
    private let cluster: OpaquePointer

    /// Starts a cluster of `brokers` brokers listening on ephemeral loopback ports.
    public init(brokers: Int32 = 1, logger: Logger = Logger(label: "cohort.kafka.mock")) throws(KafkaError) {
        // The mock cluster hangs off an ordinary client instance, which does nothing else.
        host = try KafkaHandle(type: RD_KAFKA_PRODUCER, properties: [("client.id", "cohort-broker")], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(host.pointer, brokers) else {
            throw .configuration("rd_kafka_mock_cluster_new failed", operation: "mock cluster")
        }
        self.cluster = cluster
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// The `bootstrap.servers` string clients connect to.
    public var bootstrapServers: String {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates `topic` with `partitions` partitions (the mock has no CreateTopics API; this is its substitute).
    public func createTopic(_ topic: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try check(rd_kafka_mock_topic_create(cluster, topic, partitions, replicationFactor), "create topic \(topic)")
    }
}
