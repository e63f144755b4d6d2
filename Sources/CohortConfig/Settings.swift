/// One configurable key: its name, documentation and how a text value is applied.
public struct Setting: Sendable {
    /// The dotted key used in the file and, upper-cased with `_`, in the environment.
    public let key: String
    /// One line for `cohort config` and the example file.
    public let summary: String
    /// Applies a text value; throws a message when it does not fit.
    let apply: @Sendable (inout CohortConfiguration, String) throws(SettingError) -> Void
    /// Reads the current value back as text.
    let read: @Sendable (CohortConfiguration) -> String

    /// The environment variable for this key: `kafka.brokers` → `COHORT_KAFKA_BROKERS`.
    public var environmentName: String {
        "COHORT_" + key.uppercased().map { $0 == "." ? "_" : $0 }.map(String.init).joined()
    }

    /// The current value of this key in `configuration`, as text.
    public func value(in configuration: CohortConfiguration) -> String { read(configuration) }
}

/// Why a value does not fit its key.
struct SettingError: Error {
    let message: String
}

/// The table of every key. Adding a field to `CohortConfiguration` means adding its row here.
public enum Settings {
    /// Every key, in documentation order.
    public static let all: [Setting] = [
        string("data.dir", "directory for the embedded log and read models", \.dataDirectory),
        string(
            "data.read_models", "directory of the LMDB read models; empty = <data.dir>/readmodels",
            \.readModelsDirectory),
        Setting(
            key: "data.read_models_sync",
            summary: "close: read models synced on a clean stop, folded again from the log after a machine crash; "
                + "commit: every commit synced (slower)",
            apply: { configuration, text throws(SettingError) in
                guard ["close", "commit"].contains(text) else {
                    throw SettingError(message: "expected close or commit")
                }
                configuration.readModelsSync = text
            },
            read: { $0.readModelsSync }),
        string("kafka.brokers", "Kafka bootstrap servers; empty = embedded log", \.kafkaBrokers),
        Setting(
            key: "kafka.properties", summary: "raw librdkafka properties, comma-separated name=value",
            apply: { configuration, text throws(SettingError) in
                var properties: [String: String] = [:]
                for pair in text.split(separator: ",") where !pair.trimmingSpaces.isEmpty {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, !parts[0].trimmingSpaces.isEmpty else {
                        throw SettingError(message: "expected name=value pairs, got \"\(pair)\"")
                    }
                    properties[parts[0].trimmingSpaces] = parts[1].trimmingSpaces
                }
                configuration.kafkaProperties = properties
            },
            read: {
                $0.kafkaProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }),
        integer(
            "kafka.message_timeout_ms", "Kafka produce deadline before ingest answers 503", 100...600_000,
            \.kafkaMessageTimeoutMs),
        Setting(
            key: "node.role",
            summary: "what serve runs: all, ingest (writes only), query (projector and reads) or worker (delivery)",
            apply: { configuration, text throws(SettingError) in
                let roles = ["all", "ingest", "query", "worker"]
                guard roles.contains(text) else {
                    throw SettingError(message: "expected one of \(roles.joined(separator: ", "))")
                }
                configuration.nodeRole = text
            },
            read: { $0.nodeRole }),
        Setting(
            key: "node.partitions",
            summary: "partitions of the customer topics this node folds, e.g. 0-3,6 (a shard); empty = all",
            apply: { configuration, text throws(SettingError) in
                configuration.nodePartitions = try parsePartitions(text)
            },
            read: { $0.nodePartitions.map(String.init).joined(separator: ",") }),
        Setting(
            key: "node.shards", summary: "base URLs of the shards a coordinator fans queries out to, comma-separated",
            apply: { configuration, text throws(SettingError) in
                var urls: [String] = []
                for part in text.split(separator: ",") where !part.trimmingSpaces.isEmpty {
                    var url = part.trimmingSpaces
                    while url.hasSuffix("/") { url.removeLast() }
                    guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
                        throw SettingError(message: "expected http:// or https:// URLs, got \"\(part)\"")
                    }
                    urls.append(url)
                }
                guard urls.count <= 256 else { throw SettingError(message: "at most 256 shards") }
                configuration.nodeShards = urls
            },
            read: { $0.nodeShards.joined(separator: ",") }),
        integer(
            "node.shard_lag_max", "records a shard may be behind the log and still be counted", 0...1_000_000_000,
            \.shardLagMax),
        string("topics.prefix", "prefix for every topic name", \.topicPrefix),
        Setting(
            key: "topics.partitions", summary: "partitions per crm.* topic created by Cohort",
            apply: { configuration, text throws(SettingError) in
                configuration.partitions = Int32(try parseInteger(text, in: 1...1024))
            },
            read: { String($0.partitions) }),
        Setting(
            key: "currency", summary: "the deployment currency (ISO 4217)",
            apply: { configuration, text throws(SettingError) in
                guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
                    throw SettingError(message: "expected a three-letter upper-case code such as INR")
                }
                configuration.currency = text
            },
            read: { $0.currency }),
        string("http.listen", "HOST:PORT of the HTTP API", \.httpListen),
        integer("limits.body_bytes_max", "largest request body", 1024...1 << 30, \.bodyBytesMax),
        integer("limits.batch_events_max", "most events in one ingest batch", 1...100_000, \.batchEventsMax),
        integer("limits.page_size_max", "largest page of a listing", 1...100_000, \.pageSizeMax),
        integer("limits.rule_conditions_max", "most conditions in one segment rule", 1...10_000, \.ruleConditionsMax),
        integer("limits.audience_max", "most recipients of one campaign launch", 1...100_000_000, \.audienceMax),
        string("vendor.url", "base URL of the messaging vendor; empty = no delivery worker", \.vendorURL),
        string("vendor.receipts_secret", "HMAC-SHA256 secret of signed receipt webhooks", \.receiptsSecret),
        integer("delivery.concurrency", "vendor requests in flight", 1...256, \.deliveryConcurrency),
        integer("delivery.batch_size", "messages per vendor request", 1...10_000, \.deliveryBatchSize),
        integer(
            "delivery.request_timeout_ms", "vendor request deadline (then retried)", 100...600_000,
            \.deliveryRequestTimeoutMs),
        Setting(
            key: "delivery.group",
            summary: "Kafka consumer group the delivery workers share the deliveries topic in",
            apply: { configuration, text throws(SettingError) in
                guard !text.isEmpty, text.utf8.count <= 200 else {
                    throw SettingError(message: "expected a group name of 1 to 200 bytes")
                }
                configuration.deliveryGroup = text
            },
            read: { $0.deliveryGroup }),
        integer(
            "replay.memory_mb", "MiB a replay folds in memory before writing; 0 = ordinary batches", 0...1 << 20,
            \.replayMemoryMiB),
        integer(
            "projector.catch_up_memory_mb",
            "MiB a projector far behind folds in memory before it merges it into the read models; 0 = batches only",
            0...1 << 20, \.catchUpMemoryMiB),
        integer(
            "projector.catch_up_records_min", "records behind the log's end from which a projector catches up in spans",
            0...1 << 40, \.catchUpRecordsMin),
        string("auth.oidc.issuer", "OpenID Connect issuer for sign-in; empty = no OIDC sign-in", \.oidcIssuer),
        string("auth.oidc.client_id", "OAuth client id at the issuer", \.oidcClientID),
        secret(
            "auth.oidc.client_secret", "OAuth client secret (prefer the environment); never shown", \.oidcClientSecret),
        string(
            "auth.public_url", "public base URL of the node for sign-in redirects; empty = from the request",
            \.publicURL),
        string("auth.allowed_domains", "e-mail domains that may sign in, comma-separated", \.allowedDomains),
        string("auth.allowed_users", "e-mail addresses that may sign in, comma-separated", \.allowedUsers),
        string("auth.admins", "e-mail addresses that sign in as admin, comma-separated", \.admins),
        string("auth.default_scopes", "scopes of other signed-in users, comma-separated", \.defaultScopes),
        secret(
            "auth.session_keys", "base64 32-byte session keys, current first, comma-separated; never shown",
            \.sessionKeys),
        integer("auth.session_hours", "how long a sign-in lasts", 1...24 * 90, \.sessionHours),
        string(
            "dashboard.js_dir", "where the Debian libjs-* packages the pages use are installed", \.dashboardScriptsDir),
        string(
            "assist.llm.base_url", "OpenAI-compatible API root for AI assist; empty = offline helpers only",
            \.assistBaseURL),
        string("assist.llm.model", "model name sent to the assist endpoint", \.assistModel),
        secret(
            "assist.llm.api_key", "API key of the assist endpoint (prefer the environment); never shown",
            \.assistAPIKey),
        integer("assist.llm.timeout_ms", "deadline of one request to the model", 100...600_000, \.assistTimeoutMs),
        integer("assist.llm.retries", "retries after 429, 5xx and timeouts", 0...10, \.assistRetries),
        integer("assist.llm.max_tokens", "token budget of one answer", 16...100_000, \.assistMaxTokens),
        Setting(
            key: "assist.llm.share_samples",
            summary: "send a few sample customers' first names and cities to the model (true/false)",
            apply: { configuration, text throws(SettingError) in
                switch text.lowercased() {
                case "true", "1", "yes", "on": configuration.assistShareSamples = true
                case "false", "0", "no", "off": configuration.assistShareSamples = false
                default: throw SettingError(message: "expected true or false, got \"\(text)\"")
                }
            },
            read: { String($0.assistShareSamples) }),
        Setting(
            key: "log.level", summary: "trace, debug, info, notice, warning, error or critical",
            apply: { configuration, text throws(SettingError) in
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                guard levels.contains(text) else {
                    throw SettingError(message: "expected one of \(levels.joined(separator: ", "))")
                }
                configuration.logLevel = text
            },
            read: { $0.logLevel }),
    ]

    /// The setting for `key`, if there is one.
    public static func named(_ key: String) -> Setting? { all.first { $0.key == key } }

    private static func string(
        _ key: String, _ summary: String, _ path: any WritableKeyPath<CohortConfiguration, String> & Sendable
    ) -> Setting {
        Setting(
            key: key, summary: summary, apply: { configuration, text in configuration[keyPath: path] = text },
            read: { $0[keyPath: path] })
    }

    /// A value that is never shown: `cohort config` prints "(set)".
    private static func secret(
        _ key: String, _ summary: String, _ path: any WritableKeyPath<CohortConfiguration, String> & Sendable
    ) -> Setting {
        Setting(
            key: key, summary: summary, apply: { configuration, text in configuration[keyPath: path] = text },
            read: { $0[keyPath: path].isEmpty ? "" : "(set)" })
    }

    private static func integer(
        _ key: String, _ summary: String, _ range: ClosedRange<Int>,
        _ path: any WritableKeyPath<CohortConfiguration, Int> & Sendable
    ) -> Setting {
        Setting(
            key: key, summary: summary,
            apply: { configuration, text throws(SettingError) in
                configuration[keyPath: path] = try parseInteger(text, in: range)
            },
            read: { String($0[keyPath: path]) })
    }

    /// `0-3,6` → [0, 1, 2, 3, 6]: partition numbers and ranges, each within 0…1023.
    static func parsePartitions(_ text: String) throws(SettingError) -> [Int32] {
        var partitions: Set<Int32> = []
        for part in text.split(separator: ",") where !part.trimmingSpaces.isEmpty {
            let bounds = part.split(separator: "-", maxSplits: 1).map { Int(String($0).trimmingSpaces) }
            guard let low = bounds.first ?? nil, let high = bounds.count == 2 ? bounds[1] : low, 0 <= low,
                low <= high, high <= 1023
            else {
                throw SettingError(
                    message:
                        "expected partitions and ranges such as 0-3,6 within 0…1023, got \"\(part.trimmingSpaces)\"")
            }
            for partition in low...high { partitions.insert(Int32(partition)) }
        }
        return partitions.sorted()
    }

    static func parseInteger(_ text: String, in range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard let value = Int(text.trimmingSpaces.replacingUnderscores) else {
            throw SettingError(message: "expected an integer, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw SettingError(message: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }

    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}

/// A configuration as text shows every setting as `cohort config` does, secrets as "(set)": whatever prints a
/// value that holds one (service-lifecycle logs its services' descriptions) never prints a key or password.
extension CohortConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "CohortConfiguration(" + Settings.all.map { "\($0.key)=\($0.value(in: self))" }.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }
}
