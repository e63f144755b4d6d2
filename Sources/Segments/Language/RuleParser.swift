import Events

/// What a natural-language parser made of a sentence.
public struct ParsedRule: Sendable {
    /// The rule, or nil when nothing was understood.
    public var rule: Rule?
    /// The rule in plain English, for the user to confirm ("" without a rule).
    public var english: String
    /// Words the parser did not understand, in order.
    public var unknownWords: [String]

    public init(rule: Rule?, english: String, unknownWords: [String]) {
        self.rule = rule
        self.english = english
        self.unknownWords = unknownWords
    }

    /// True when the rule does not account for every word: something was not understood, or nothing at all. A
    /// partial answer must be shown as such, never as the meaning of the sentence.
    public var isPartial: Bool { rule == nil || !unknownWords.isEmpty }
}

/// Turns a sentence into a segment rule. The offline `PhraseParser` implements it today; an LLM-backed parser can
/// sit behind the same interface, and `validated` puts every parser's output through the rule decoder.
public protocol RuleParser: Sendable {
    /// Parses `text`; relative dates ("this year") are taken at `now`.
    func parse(_ text: String, now: Timestamp) async throws -> ParsedRule
}

extension ParsedRule {
    /// The same result after its rule has gone through `RuleDecoder` like any rule from outside, so that a
    /// parser can never hand on a rule the API would reject.
    public func validated(by decoder: RuleDecoder = RuleDecoder()) throws(RuleError) -> ParsedRule {
        guard let rule else { return self }
        var result = self
        result.rule = try decoder.decode(rule.json)
        return result
    }
}
