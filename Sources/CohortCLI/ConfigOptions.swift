import ArgumentParser
import CohortConfig
import Foundation
import Logging

/// Options every command that touches the log shares: where the configuration comes from and the common
/// overrides. Flags win over `COHORT_*` variables, which win over the file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Configuration file (TOML); default: $COHORT_CONFIG if set.")
    var configFile: String?

    @Option(name: .customLong("data"), help: "Data directory (data.dir).")
    var dataDirectory: String?

    @Option(name: .customLong("brokers"), help: "Kafka bootstrap servers (kafka.brokers); none = embedded log.")
    var brokers: String?

    @Option(name: .customLong("set"), help: "Any setting as key=value, e.g. --set topics.partitions=4 (repeatable).")
    var settings: [String] = []

    /// The merged configuration.
    func load() throws -> CohortConfiguration {
        var overrides: [(key: String, value: String)] = []
        if let dataDirectory { overrides.append(("data.dir", dataDirectory)) }
        if let brokers { overrides.append(("kafka.brokers", brokers)) }
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--set expects key=value, got \"\(setting)\"") }
            overrides.append((String(parts[0]), String(parts[1])))
        }
        let environment = ProcessInfo.processInfo.environment
        do {
            return try ConfigurationLoader.load(
                file: configFile ?? environment["COHORT_CONFIG"], environment: environment, overrides: overrides)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
