/// Settings for a Kafka client. Named fields cover what Cohort relies on; `properties` passes anything else
/// straight to librdkafka (see its CONFIGURATION.md) and wins over the named fields.
public struct KafkaConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// `client.id`, visible in broker logs.
    public var clientID: String = "cohort"
    /// `message.timeout.ms`: how long a produce may take, retries included, before it fails.
    public var messageTimeoutMs: Int = 10_000
    /// `linger.ms`: how long the producer waits to fill a batch.
    public var lingerMs: Int = 2
    /// `socket.timeout.ms` and the bound on metadata and watermark queries.
    public var requestTimeoutMs: Int = 5_000
    /// `enable.gapless.guarantee`: a produce that fails stops the producer rather than let later records of its
    /// partition be stored after a gap (`cohort migrate`, whose copies must keep every offset).
    public var gapless = false
    /// `session.timeout.ms` of consumer-group members: how long the group waits for a member that stopped
    /// heartbeating (killed, cut off) before its partitions go to the others.
    public var groupSessionTimeoutMs: Int = 6_000
    /// Raw librdkafka properties applied last.
    public var properties: [String: String] = [:]

    /// A configuration for the cluster reachable at `bootstrapServers`.
    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    /// Properties common to producers and consumers.
    func baseProperties() -> [(String, String)] {
        [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", clientID),
            ("socket.timeout.ms", String(max(requestTimeoutMs, 10))),
        ]
    }

    /// Properties of the idempotent producer.
    func producerProperties() -> [(String, String)] {
        baseProperties() + [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            // Same key → partition mapping as the Java client.
            ("partitioner", "murmur2_random"),
            ("linger.ms", String(lingerMs)),
            ("message.timeout.ms", String(messageTimeoutMs)),
            ("batch.num.messages", "10000"),
            ("queue.buffering.max.messages", "200000"),
            ("compression.type", "lz4"),
        ] + (gapless ? [("enable.gapless.guarantee", "true")] : []) + properties.sorted { $0.key < $1.key }
    }

    /// Properties of a consumer; offsets are handled by the caller, never committed automatically.
    func consumerProperties(groupID: String) -> [(String, String)] {
        baseProperties() + [
            ("group.id", groupID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
            ("fetch.wait.max.ms", "50"),
            ("session.timeout.ms", String(groupSessionTimeoutMs)),
            // A rebalance moves only the partitions that change hands: the others keep their positions, and their
            // members keep working (and committing) meanwhile.
            ("partition.assignment.strategy", "cooperative-sticky"),
            ("heartbeat.interval.ms", String(max(100, groupSessionTimeoutMs / 6))),
        ] + properties.sorted { $0.key < $1.key }
    }
}
