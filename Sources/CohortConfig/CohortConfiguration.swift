/// Everything a Cohort node is configured with. Defaults suit one machine with the embedded log.
///
/// Each field has a dotted key (`kafka.brokers`), read in this order, later winning: the documented file
/// (`config/cohort.example.toml` shows every key), `COHORT_*` environment variables (`COHORT_KAFKA_BROKERS`),
/// then command-line flags. `Settings.all` is the single table that defines keys, defaults and docs.
public struct CohortConfiguration: Sendable, Equatable {
    /// Directory for the embedded log and the read models.
    public var dataDirectory = "data"
    /// Directory of the LMDB read models; empty means `<dataDirectory>/readmodels`.
    public var readModelsDirectory = ""
    /// When read-model commits reach the disk: `close` (synced on a clean stop; after a machine crash the read
    /// models fold again from the log) or `commit` (each commit synced, about half the live fold's speed).
    public var readModelsSync = "close"
    /// Kafka `bootstrap.servers`; empty selects the embedded log.
    public var kafkaBrokers = ""
    /// Raw librdkafka properties, `name=value` pairs.
    public var kafkaProperties: [String: String] = [:]
    /// How long a Kafka append may take before ingest gives up (and answers 503).
    public var kafkaMessageTimeoutMs = 10_000
    /// Prepended to every topic name (`prod.` → `prod.crm.orders`).
    public var topicPrefix = ""
    /// Partitions of each `crm.*` topic created by Cohort.
    public var partitions: Int32 = 8
    /// The deployment's single currency (ISO 4217); events in another go to the dead-letter topic.
    public var currency = "INR"
    /// What `serve` runs (SPEC §14): all, ingest, query or worker.
    public var nodeRole = "all"
    /// The partitions of the customer topics this node folds (a shard); empty = all of them.
    public var nodePartitions: [Int32] = []
    /// Base URLs of the shards a coordinator fans queries out to; empty = this node answers from its own index.
    public var nodeShards: [String] = []
    /// A shard further behind the log than this many records is answered for with 503, not counted.
    public var shardLagMax = 10_000
    /// Where the HTTP API listens.
    public var httpListen = "127.0.0.1:8080"
    /// Largest request body accepted.
    public var bodyBytesMax = 10 * 1024 * 1024
    /// Most events in one ingest batch.
    public var batchEventsMax = 10_000
    /// Largest page of a listing.
    public var pageSizeMax = 1_000
    /// Most conditions in one segment rule.
    public var ruleConditionsMax = 256
    /// Most recipients one campaign launch may queue.
    public var audienceMax = 5_000_000
    /// Base URL of the messaging vendor (`cohort vendor-sim` prints one); empty runs no delivery worker.
    public var vendorURL = ""
    /// Shared secret of the vendor's receipt webhook signatures (HMAC-SHA256).
    public var receiptsSecret = "dev-secret"
    /// Vendor requests the delivery worker keeps in flight.
    public var deliveryConcurrency = 8
    /// Messages per vendor request.
    public var deliveryBatchSize = 200
    /// How long one vendor request may take before it counts as a (retryable) timeout.
    public var deliveryRequestTimeoutMs = 10_000
    /// On Kafka, the consumer group the delivery workers of a deployment share the deliveries topic in.
    public var deliveryGroup = "cohort-delivery"
    /// Memory a replay (a rebuild into an empty directory) may fold in before it writes, in MiB; past it, the rest
    /// is folded in ordinary batches. 0 folds every replay in ordinary batches.
    public var replayMemoryMiB = 8_192
    /// Memory a live projector far behind the log's end (a restart, a new replica, a burst) may fold a span of the
    /// log in before it writes it, merged into the read models in key order, in MiB. 0 = ordinary batches only.
    public var catchUpMemoryMiB = 2_048
    /// How far behind the log's end (in records) a projector must be to catch up in a span instead of batches.
    public var catchUpRecordsMin = 200_000
    /// The OpenID Connect issuer people sign in with (`https://accounts.google.com`); empty = no OIDC sign-in.
    public var oidcIssuer = ""
    /// The OAuth client id registered with the issuer.
    public var oidcClientID = ""
    /// The OAuth client secret; best given as `COHORT_AUTH_OIDC_CLIENT_SECRET`. Never printed or logged.
    public var oidcClientSecret = ""
    /// The node's public base URL (`https://crm.example.com`), for the sign-in redirect; empty = from the request.
    public var publicURL = ""
    /// E-mail domains whose users may sign in, comma-separated.
    public var allowedDomains = ""
    /// E-mail addresses that may sign in whatever their domain, comma-separated.
    public var allowedUsers = ""
    /// E-mail addresses that sign in with every scope (admin), comma-separated.
    public var admins = ""
    /// Scopes of everyone else who signs in, comma-separated.
    public var defaultScopes = "campaigns,read"
    /// Session keys, base64 of 32 bytes each, comma-separated: the current one first, then the previous one (rotation).
    /// Empty: a random key per process (sessions end with it and do not work across nodes).
    public var sessionKeys = ""
    /// How long a sign-in lasts.
    public var sessionHours = 12
    /// The root of Debian's `libjs-*` packages (Bootstrap, Chart.js, SortableJS) the dashboard serves.
    public var dashboardScriptsDir = "/usr/share/javascript"
    /// The OpenAI-compatible API root of the language model for AI assist; empty keeps the helpers offline.
    public var assistBaseURL = ""
    /// The model name sent with each request (`gpt-4o-mini`, `gemini-2.0-flash`, `llama3.1`…).
    public var assistModel = ""
    /// The provider's API key; best given as `COHORT_ASSIST_LLM_API_KEY`. Never printed or logged.
    public var assistAPIKey = ""
    /// Deadline of one request to the model.
    public var assistTimeoutMs = 20_000
    /// Retries after 429, 5xx, timeouts and refused connections.
    public var assistRetries = 2
    /// The token budget of one answer (`max_tokens`).
    public var assistMaxTokens = 1_000
    /// Whether a few sample customers' first names and cities may go to the provider (off: aggregates only).
    public var assistShareSamples = false
    /// swift-log level: trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"

    /// The defaults.
    public init() {}

    /// Whether this node runs on Kafka rather than the embedded log.
    public var usesKafka: Bool { !kafkaBrokers.isEmpty }

    /// Where the read models live.
    public var readModelsPath: String {
        readModelsDirectory.isEmpty ? dataDirectory + "/readmodels" : readModelsDirectory
    }

    /// Where the delivery worker keeps its progress through the deliveries topic (the node's, not the read models').
    public var deliveryProgressPath: String { dataDirectory + "/delivery" }

    /// The topic name for a default topic name such as `crm.orders`.
    public func topic(_ defaultName: String) -> String { topicPrefix + defaultName }

    /// `http.listen` taken apart.
    public func listenAddress() throws -> (host: String, port: Int) {
        try Self.hostAndPort(httpListen, setting: "http.listen")
    }

    /// `HOST:PORT` taken apart; port 0 asks the system for a free one.
    public static func hostAndPort(_ text: String, setting: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else { throw ConfigurationError(source: setting, message: "must be HOST:PORT, got \"\(text)\"") }
        return (String(text[..<colon]), port)
    }
}

/// A configuration input that could not be used; `source` says where it came from.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `file:line`, `environment COHORT_X` or `flag`.
    public let source: String
    /// What is wrong.
    public let message: String

    public var description: String { "\(source): \(message)" }
}
