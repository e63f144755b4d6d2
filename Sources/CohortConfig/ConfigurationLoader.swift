import Foundation
import TOMLKit

/// Builds a `CohortConfiguration` from its three layers: file < environment < flags.
public enum ConfigurationLoader {
    /// Loads the file at `path` (if any), then `COHORT_*` variables from `environment`, then `overrides`
    /// (key → value, from flags). Unknown keys and bad values are errors that name their source.
    public static func load(
        file path: String?, environment: [String: String], overrides: [(key: String, value: String)]
    ) throws(ConfigurationError) -> CohortConfiguration {
        var configuration = CohortConfiguration()
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError(source: path, message: "cannot read the file: \(error.localizedDescription)")
            }
            for entry in try ConfigFileParser.parse(text, name: path) {
                let source = entry.line.map { "\(path):\($0)" } ?? path
                try apply(entry.key, entry.value, to: &configuration, source: source)
            }
        }
        for setting in Settings.all {
            if let value = environment[setting.environmentName] {
                try apply(setting.key, value, to: &configuration, source: "environment \(setting.environmentName)")
            }
        }
        let knownVariables = Set(Settings.all.map(\.environmentName) + ["COHORT_CONFIG", "COHORT_BINARY"])
        if let unknown = environment.keys.sorted().first(where: {
            $0.hasPrefix("COHORT_") && !knownVariables.contains($0)
        }) {
            throw ConfigurationError(
                source: "environment \(unknown)", message: "unknown setting\(suggestion(forEnvironment: unknown))")
        }
        for (key, value) in overrides {
            try apply(key, value, to: &configuration, source: "flag for \(key)")
        }
        return configuration
    }

    private static func apply(
        _ key: String, _ value: String, to configuration: inout CohortConfiguration, source: String
    ) throws(ConfigurationError) {
        guard let setting = Settings.named(key) else {
            throw ConfigurationError(source: source, message: "unknown key \"\(key)\"\(suggestion(forKey: key))")
        }
        do {
            try setting.apply(&configuration, value)
        } catch {
            throw ConfigurationError(source: source, message: "\(key): \(error.message)")
        }
    }

    private static func suggestion(forKey key: String) -> String {
        closest(to: key, among: Settings.all.map(\.key)).map { "; did you mean \"\($0)\"?" } ?? ""
    }

    private static func suggestion(forEnvironment name: String) -> String {
        closest(to: name, among: Settings.all.map(\.environmentName)).map { "; did you mean \($0)?" } ?? ""
    }

    /// The candidate nearest to `text` by edit distance, if it is close enough to be a likely typo.
    private static func closest(to text: String, among candidates: [String]) -> String? {
        guard let best = candidates.min(by: { editDistance($0, text) < editDistance($1, text) }),
            editDistance(best, text) <= 3
        else { return nil }
        return best
    }

    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs), b = Array(rhs)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Reads the configuration file with a full TOML parser (TOMLKit): every table's keys become dotted setting keys
/// (`[kafka]` `brokers = …` → `kafka.brokers`), and each value must be a string, an integer or a boolean.
enum ConfigFileParser {
    struct Entry: Equatable {
        let key: String
        let value: String
        /// The line that sets the key, when it can be found (TOML values carry no position of their own).
        let line: Int?
    }

    static func parse(_ text: String, name: String) throws(ConfigurationError) -> [Entry] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(source: "\(name):\(error.source.begin.line)", message: error.description)
        } catch {
            throw ConfigurationError(source: name, message: "not TOML: \(error)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var entries: [Entry] = []
        try flatten(table, prefix: "", lines: lines, name: name, into: &entries)
        return entries
    }

    private static func flatten(
        _ table: TOMLTable, prefix: String, lines: [String], name: String, into entries: inout [Entry]
    ) throws(ConfigurationError) {
        for key in table.keys.sorted() {
            guard let value = table[key] else { continue }
            let dotted = prefix + key
            if let nested = value.table {
                try flatten(nested, prefix: dotted + ".", lines: lines, name: name, into: &entries)
                continue
            }
            let line = Self.line(of: key, in: lines)
            let text: String
            if let string = value.string {
                text = string
            } else if let bool = value.bool {
                text = bool ? "true" : "false"
            } else if let int = value.int {
                text = String(int)
            } else {
                throw ConfigurationError(
                    source: line.map { "\(name):\($0)" } ?? name,
                    message: "\(dotted): expected a \"string\", an integer, true or false, got a \(value.type)")
            }
            entries.append(Entry(key: dotted, value: text, line: line))
        }
    }

    /// The first line that assigns `key` (possibly as the last part of a dotted key), for error messages.
    private static func line(of key: String, in lines: [String]) -> Int? {
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingSpaces
            guard let equals = trimmed.firstIndex(of: "="), !trimmed.hasPrefix("#") else { continue }
            let assigned = trimmed[..<equals].trimmingSpaces
            if assigned == key || assigned.hasSuffix("." + key) { return index + 1 }
        }
        return nil
    }
}
