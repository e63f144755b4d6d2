import Foundation

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
                try apply(entry.key, entry.value, to: &configuration, source: "\(path):\(entry.line)")
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

/// Reads the configuration file: a TOML subset of `[section]` headers and `key = value` lines, where a value is
/// a double-quoted string, an integer or a boolean, and `#` starts a comment.
enum ConfigFileParser {
    struct Entry: Equatable {
        let key: String
        let value: String
        let line: Int
    }

    static func parse(_ text: String, name: String) throws(ConfigurationError) -> [Entry] {
        var entries: [Entry] = []
        var section = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(rawLine).trimmingSpaces
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigurationError(source: "\(name):\(lineNumber)", message: "malformed section header")
                }
                section = String(line.dropFirst().dropLast()).trimmingSpaces + "."
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ConfigurationError(source: "\(name):\(lineNumber)", message: "expected key = value")
            }
            let key = section + parts[0].trimmingSpaces
            let rawValue = parts[1].trimmingSpaces
            guard let value = parseValue(rawValue) else {
                throw ConfigurationError(
                    source: "\(name):\(lineNumber)", message: "\(key): expected a \"string\", an integer, true or false"
                )
            }
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return entries
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: Substring) -> Substring {
        var inString = false
        var escaped = false
        for index in line.indices {
            let character = line[index]
            if escaped { escaped = false; continue }
            if character == "\\" && inString { escaped = true; continue }
            if character == "\"" { inString.toggle() }
            if character == "#" && !inString { return line[..<index] }
        }
        return line
    }

    private static func parseValue(_ text: String) -> String? {
        if text == "true" || text == "false" { return text }
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else { return nil }
            var result = ""
            var escaped = false
            for character in text.dropFirst().dropLast() {
                if escaped {
                    switch character {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"", "\\": result.append(character)
                    default: return nil
                    }
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    return nil
                } else {
                    result.append(character)
                }
            }
            return escaped ? nil : result
        }
        let digits = text.replacingUnderscores
        return Int(digits) != nil ? digits : nil
    }
}
