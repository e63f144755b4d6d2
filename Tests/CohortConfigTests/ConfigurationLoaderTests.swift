import CohortConfig
import Foundation
import Testing

@Suite("configuration layers")
struct ConfigurationLoaderTests {
    private static let exampleFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/cohort.example.toml").path

    private func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-\(UUID().uuidString).toml")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the documented example file loads and states exactly the defaults, every key included")
    func exampleIsTheDefaults() throws {
        let loaded = try ConfigurationLoader.load(file: Self.exampleFile, environment: [:], overrides: [])
        #expect(loaded == CohortConfiguration())
        let text = try String(contentsOfFile: Self.exampleFile, encoding: .utf8)
        for setting in Settings.all {
            let name = setting.key.split(separator: ".").last.map(String.init) ?? setting.key
            #expect(text.contains(name), "example documents \(setting.key)")
            #expect(text.contains(setting.environmentName), "example names \(setting.environmentName)")
        }
    }

    @Test("file < COHORT_* environment < flags")
    func precedence() throws {
        let file = try write(
            """
            # comment
            currency = "USD"
            [kafka]
            brokers = "file:9092"   # trailing comment
            [topics]
            partitions = 3
            prefix = "file."
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try ConfigurationLoader.load(
            file: file,
            environment: ["COHORT_KAFKA_BROKERS": "env:9092", "COHORT_TOPICS_PARTITIONS": "5", "PATH": "/bin"],
            overrides: [("topics.partitions", "7")])
        #expect(configuration.currency == "USD")
        #expect(configuration.kafkaBrokers == "env:9092")
        #expect(configuration.partitions == 7)
        #expect(configuration.topic("crm.orders") == "file.crm.orders")
        #expect(configuration.usesKafka)
    }

    @Test("secrets from the environment are used but never shown: cohort config prints (set)")
    func secretsAreNotShown() throws {
        let secrets = [
            "COHORT_ASSIST_LLM_API_KEY": "sk-secret-1", "COHORT_AUTH_OIDC_CLIENT_SECRET": "client-secret-2",
            "COHORT_AUTH_SESSION_KEYS": "c2Vzc2lvbi1rZXktMzIvYnl0ZXMvZXhhY3RseS0tLS0=",
        ]
        let configuration = try ConfigurationLoader.load(file: nil, environment: secrets, overrides: [])
        #expect(configuration.assistAPIKey == "sk-secret-1" && configuration.oidcClientSecret == "client-secret-2")
        for key in ["assist.llm.api_key", "auth.oidc.client_secret", "auth.session_keys"] {
            #expect(Settings.named(key)?.value(in: configuration) == "(set)", "\(key)")
        }
        #expect(Settings.named("assist.llm.api_key")?.value(in: CohortConfiguration()) == "")
    }

    @Test("librdkafka properties pass through as name=value pairs")
    func kafkaProperties() throws {
        let configuration = try ConfigurationLoader.load(
            file: nil, environment: ["COHORT_KAFKA_PROPERTIES": "linger.ms=5, compression.type=zstd"], overrides: [])
        #expect(configuration.kafkaProperties == ["linger.ms": "5", "compression.type": "zstd"])
    }

    @Test(
        "bad input names its source and the problem",
        arguments: [
            ("currency = \"rupees\"", "currency"), ("topics.partitions = 0", "between 1 and 1024"),
            ("kafka.brokerz = \"x\"", "did you mean \"kafka.brokers\""), ("just words", "TOML_SYNTAX"),
            ("[broken", "TOML_SYNTAX"), ("currency = 1.5", "expected a \"string\""),
            ("topics.partitions = [1, 2]", "expected a \"string\""),
        ])
    func badFile(text: String, expected: String) throws {
        let file = try write(text)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect {
            _ = try ConfigurationLoader.load(file: file, environment: [:], overrides: [])
        } throws: { error in
            let description = "\(error)"
            // A syntax error is worded by the TOML parser; it must still say where.
            let worded =
                expected == "TOML_SYNTAX" ? description.count > "\(file):1: ".count : description.contains(expected)
            return worded && description.contains("\(file):1")
        }
    }

    @Test("node settings: partition lists and ranges, shard URLs, roles; bad values name the problem")
    func nodeSettings() throws {
        let loaded = try ConfigurationLoader.load(
            file: nil, environment: ["COHORT_NODE_PARTITIONS": "6, 0-3,2"],
            overrides: [("node.shards", "http://a:1/, https://b:2"), ("node.role", "query")])
        #expect(loaded.nodePartitions == [0, 1, 2, 3, 6])
        #expect(loaded.nodeShards == ["http://a:1", "https://b:2"])
        #expect(loaded.nodeRole == "query")
        for (key, value, message) in [
            ("node.partitions", "3-1", "3-1"), ("node.partitions", "1024", "1024"), ("node.partitions", "x", "x"),
            ("node.shards", "ftp://a", "http:// or https://"), ("node.role", "reader", "all, ingest, query, worker"),
            ("delivery.group", "", "group name"),
        ] {
            #expect(throws: (any Error).self, "\(key)=\(value)") {
                try ConfigurationLoader.load(file: nil, environment: [:], overrides: [(key, value)])
            }
            do {
                _ = try ConfigurationLoader.load(file: nil, environment: [:], overrides: [(key, value)])
            } catch {
                #expect("\(error)".contains(message), "\(key)=\(value): \(error)")
            }
        }
    }

    @Test("the file is full TOML: literal strings, dotted keys, inline tables, comments, underscores in numbers")
    func fullTOML() throws {
        let file = try write(
            """
            currency = 'USD'   # a literal string
            kafka.brokers = "dotted:9092"
            topics = { prefix = "p.", partitions = 1_024 }
            [http]
            listen = "0.0.0.0:9000"
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = try ConfigurationLoader.load(file: file, environment: [:], overrides: [])
        #expect(configuration.currency == "USD")
        #expect(configuration.kafkaBrokers == "dotted:9092")
        #expect(configuration.topicPrefix == "p." && configuration.partitions == 1_024)
        #expect(configuration.httpListen == "0.0.0.0:9000")
    }

    @Test("an unknown COHORT_ variable is an error with a suggestion, not silently ignored")
    func unknownEnvironment() {
        #expect {
            _ = try ConfigurationLoader.load(file: nil, environment: ["COHORT_KAFKA_BROKER": "x"], overrides: [])
        } throws: { error in
            "\(error)".contains("did you mean COHORT_KAFKA_BROKERS")
        }
    }

    @Test("a missing file is an error, not the defaults")
    func missingFile() {
        #expect(throws: ConfigurationError.self) {
            _ = try ConfigurationLoader.load(file: "/nonexistent/cohort.toml", environment: [:], overrides: [])
        }
    }
}

@Suite("configuration as text")
struct ConfigurationTextTests {
    struct Holder { let configuration: CohortConfiguration }

    @Test("secrets never appear when a configuration, or a value holding one, is printed")
    func secretsRedacted() {
        var configuration = CohortConfiguration()
        configuration.assistAPIKey = "sk-never-printed-1"
        configuration.oidcClientSecret = "oidc-never-printed-2"
        configuration.sessionKeys = "c2Vzc2lvbi1uZXZlci1wcmludGVkLTM="
        for text in [
            String(describing: configuration), String(reflecting: configuration),
            String(describing: Holder(configuration: configuration)), "\(Holder(configuration: configuration))",
        ] {
            #expect(text.contains("assist.llm.api_key=(set)"), "\(text)")
            for secret in ["sk-never-printed-1", "oidc-never-printed-2", "c2Vzc2lvbi1uZXZlci1wcmludGVkLTM="] {
                #expect(!text.contains(secret))
            }
        }
    }
}
