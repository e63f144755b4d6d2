import Events
import Foundation
import Segments

/// The committed evaluation set of phrasings (`Resources/phrasings.json`) and how a parser scores on it: a case is
/// right when the parsed rule equals the expected one in canonical form; a phrasing no rule can express fully is
/// right only when the answer says it is partial.
public struct PhraseEvaluation: Sendable {
    public struct Case: Sendable {
        public let text: String
        /// The rule the words mean; nil for a phrasing that must be answered as partial.
        public let expected: Rule?
    }

    public let now: Timestamp
    public let currency: String
    public let vocabulary: PhraseVocabulary
    public let cases: [Case]

    /// One phrasing's outcome.
    public struct Outcome: Sendable {
        public let text: String
        public let passed: Bool
        public let got: String
        public let expected: String
        public let milliseconds: Double
    }

    /// The set shipped with Cohort.
    public static func bundled() throws -> PhraseEvaluation {
        guard let url = Bundle.module.url(forResource: "phrasings", withExtension: "json") else {
            throw AssistError.invalidOutput("the evaluation set is missing from the bundle")
        }
        return try load(Data(contentsOf: url))
    }

    /// Reads a set in the bundled format.
    public static func load(_ data: Data) throws -> PhraseEvaluation {
        let document = try JSONParser.parse(Array(data))
        guard let object = document.objectValue, let nowText = object["now"]?.stringValue,
            let now = Timestamp(rfc3339: nowText)
        else { throw AssistError.invalidOutput("the evaluation set needs an object with \"now\"") }
        func strings(_ key: String) -> [String] {
            guard case .array(let values)? = object[key] else { return [] }
            return values.compactMap(\.stringValue)
        }
        var cases: [Case] = []
        let decoder = RuleDecoder()
        if case .array(let items)? = object["cases"] {
            for item in items {
                guard let text = item.objectValue?["text"]?.stringValue, let rules = item.objectValue?["rules"] else {
                    throw AssistError.invalidOutput("every case needs text and rules")
                }
                cases.append(Case(text: text, expected: try decoder.decode(rules)))
            }
        }
        if case .array(let items)? = object["partial"] {
            for item in items {
                guard let text = item.objectValue?["text"]?.stringValue else {
                    throw AssistError.invalidOutput("every partial phrasing needs text")
                }
                cases.append(Case(text: text, expected: nil))
            }
        }
        return PhraseEvaluation(
            now: now, currency: object["currency"]?.stringValue ?? "INR",
            vocabulary: PhraseVocabulary(cities: strings("cities"), tags: strings("tags")), cases: cases)
    }

    /// Runs `parse` over every case, in order.
    public func run(_ parse: (String) async throws -> ParsedRule) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for item in cases {
            let started = ContinuousClock.now
            let parsed: ParsedRule?
            do { parsed = try await parse(item.text) } catch { parsed = nil }
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            let got = parsed.map(Self.describe) ?? "(error)"
            let passed: Bool
            if let expected = item.expected {
                passed = parsed?.isPartial == false && parsed?.rule?.canonical == expected.canonical
            } else {
                passed = parsed?.isPartial == true
            }
            outcomes.append(
                Outcome(
                    text: item.text, passed: passed, got: got,
                    expected: item.expected.map { $0.json.jsonText } ?? "partial", milliseconds: milliseconds))
        }
        return outcomes
    }

    static func describe(_ parsed: ParsedRule) -> String {
        var text = parsed.rule?.json.jsonText ?? "(no rule)"
        if parsed.isPartial { text += " partial, not understood: " + parsed.unknownWords.joined(separator: " ") }
        return text
    }
}
