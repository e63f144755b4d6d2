import Events
import Segments

/// Words → rules (SPEC §9). With a model configured, the model answers in a JSON schema made from the field
/// catalogue and its rule goes through the same `RuleDecoder` as any rule from outside; a rule it cannot give
/// (unavailable, refused, cut off, invalid) falls back to the offline parser with the reason said. Nothing is
/// saved here: the caller shows the answer for the user to accept.
public struct RuleAssistant: Sendable {
    public let client: ChatClient?
    public let decoder: RuleDecoder

    public init(client: ChatClient?, decoder: RuleDecoder = RuleDecoder()) {
        self.client = client
        self.decoder = decoder
    }

    /// The answer: the rule (nil when nothing could be made of the words), its English, what was assumed or left
    /// out, and where it came from.
    public struct Answer: Sendable {
        public var rule: Rule?
        public var english: String
        /// The model's stated interpretations ("3 months taken as 90 days").
        public var assumptions: [String]
        /// What the rule does not account for: the model's `unsupported` or the offline parser's unknown words.
        public var notUnderstood: [String]
        /// `llm` or `offline`.
        public var source: String
        /// Why the model's answer was not used, when the offline parser answered in its place.
        public var fallbackReason: String?

        /// True when the rule is not the whole meaning of the words.
        public var isPartial: Bool { rule == nil || !notUnderstood.isEmpty }
    }

    public func parse(_ text: String, now: Timestamp, catalogue: FieldCatalogue) async -> Answer {
        var fallbackReason: String?
        if let client {
            do {
                return try await llmAnswer(text, client: client, catalogue: catalogue)
            } catch {
                fallbackReason = error.description
            }
        }
        let parsed = PhraseParser(currency: catalogue.currency, vocabulary: catalogue.vocabulary).parseNow(
            text, now: now)
        var rule = parsed.rule
        if let candidate = rule, (try? decoder.decode(candidate.json)) == nil { rule = nil }
        return Answer(
            rule: rule, english: rule?.english(currency: catalogue.currency) ?? "", assumptions: [],
            notUnderstood: parsed.unknownWords, source: "offline", fallbackReason: fallbackReason)
    }

    private func llmAnswer(_ text: String, client: ChatClient, catalogue: FieldCatalogue) async throws(AssistError)
        -> Answer
    {
        try await client.complete(
            ChatClient.Request(
                helper: "rules", system: RulePrompt.system(catalogue), user: text, schemaName: "segment_rule",
                schema: RulePrompt.schema(catalogue))
        ) { answer throws(AssistError) in
            try Self.answer(answer, text: text, decoder: decoder, currency: catalogue.currency)
        }
    }

    /// The model's answer as an `Answer`, its rule decoded like any rule from outside.
    static func answer(_ answer: JSONObject, text: String, decoder: RuleDecoder, currency: String) throws(AssistError)
        -> Answer
    {
        let rule: Rule?
        switch answer["rules"] {
        case nil: throw .invalidOutput("the answer has no \"rules\"")
        case .null?: rule = nil
        case let value?:
            do {
                rule = try decoder.decode(RulePrompt.ruleJSON(value))
            } catch {
                throw .invalidOutput("its rule is not valid: " + error.description)
            }
        }
        func strings(_ key: String) -> [String] {
            guard case .array(let values)? = answer[key] else { return [] }
            return values.compactMap(\.stringValue).filter { !$0.isEmpty }.prefix(20).map { String($0.prefix(300)) }
        }
        var notUnderstood = strings("unsupported")
        if rule == nil, notUnderstood.isEmpty { notUnderstood = [text] }
        return Answer(
            rule: rule, english: rule?.english(currency: currency) ?? "", assumptions: strings("assumptions"),
            notUnderstood: notUnderstood, source: "llm", fallbackReason: nil)
    }
}

/// The prompt and answer schema for words → rules, both made from the field catalogue.
enum RulePrompt {
    static func system(_ catalogue: FieldCatalogue) -> String {
        var text = """
            You turn a marketer's description of an audience into a segment rule for a customer database.
            Today is \(catalogue.today.description.prefix(10)) (UTC). Money is in \(catalogue.currency), written as \
            plain numbers (5k = 5000, 1 lakh = 100000, 1 crore = 10000000).

            A rule is a condition or a group. Groups: {"and": [rules]}, {"or": [rules]}, {"not": rule}.
            A condition is {"field": name, "op": operator, "value": value}. "between" takes [low, high], both \
            included; "in" and "not_in" take a list; "exists" and "missing" take null. Times are RFC 3339 \
            strings. Day fields count whole days: "no order in 90 days" is days_since_last_order gte 90, \
            "ordered in the last 30 days" is days_since_last_order lt 30. A month is 30 days, a year 365.

            Fields (name, kind: operators — meaning):

            """
        for entry in catalogue.entries {
            text += "- \(entry.field.name), \(entry.field.kind.rawValue): "
            text += entry.operators.map(\.rawValue).joined(separator: " ") + " — \(entry.meaning)\n"
        }
        if !catalogue.cities.isEmpty { text += "\nKnown cities: " + catalogue.cities.joined(separator: ", ") + "\n" }
        if !catalogue.tags.isEmpty { text += "Known tags: " + catalogue.tags.joined(separator: ", ") + "\n" }
        text += """

            Use only these fields and operators. Never guess: if the words ask for something no field can express \
            (a product, a spend within a period, a birthday), leave it out of the rule and name it in \
            "unsupported". State each interpretation you made in "assumptions". If nothing can be expressed, \
            answer "rules": null.

            Examples:
            "spent over 5k and inactive for 3 months" → {"rules": {"and": [{"field": "total_spend", "op": "gt", \
            "value": 5000}, {"field": "days_inactive", "op": "gte", "value": 90}]}, "assumptions": ["3 months = \
            90 days"], "unsupported": []}
            "Mumbai or Pune VIPs" → {"rules": {"and": [{"field": "city", "op": "in", "value": ["Mumbai", \
            "Pune"]}, {"field": "tags", "op": "contains", "value": "vip"}]}, "assumptions": [], "unsupported": []}
            "customers who bought shoes" → {"rules": null, "assumptions": [], "unsupported": ["bought shoes: \
            orders carry no product"]}
            """
        return text
    }

    /// The strict JSON schema of the answer: a recursive rule whose fields and operators are enumerated.
    static func schema(_ catalogue: FieldCatalogue) -> JSONValue {
        func object(_ members: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(members)) }
        func type(_ name: String) -> JSONValue { object([("type", .string(name))]) }
        func ref(_ name: String) -> JSONValue { object([("$ref", .string("#/$defs/" + name))]) }
        func closed(_ properties: [(String, JSONValue)]) -> JSONValue {
            object([
                ("type", .string("object")), ("properties", object(properties)),
                ("required", .array(properties.map { .string($0.0) })), ("additionalProperties", .bool(false)),
            ])
        }
        let fields = catalogue.entries.map { JSONValue.string($0.field.name) }
        let operators = Operator.allCases.map { JSONValue.string($0.rawValue) }
        let scalar = object([("anyOf", .array([type("string"), type("number"), type("boolean")]))])
        let value = object([
            (
                "anyOf",
                .array([
                    type("string"), type("number"), type("boolean"), type("null"),
                    object([("type", .string("array")), ("items", scalar)]),
                ])
            )
        ])
        let list = object([("type", .string("array")), ("items", ref("rule"))])
        let strings = object([("type", .string("array")), ("items", type("string"))])
        return object([
            ("type", .string("object")),
            (
                "properties",
                object([
                    ("rules", object([("anyOf", .array([ref("rule"), type("null")]))])), ("assumptions", strings),
                    ("unsupported", strings),
                ])
            ),
            ("required", .array([.string("rules"), .string("assumptions"), .string("unsupported")])),
            ("additionalProperties", .bool(false)),
            (
                "$defs",
                object([
                    ("rule", object([("anyOf", .array([ref("and"), ref("or"), ref("not"), ref("condition")]))])),
                    ("and", closed([("and", list)])), ("or", closed([("or", list)])),
                    ("not", closed([("not", ref("rule"))])),
                    (
                        "condition",
                        closed([
                            ("field", object([("type", .string("string")), ("enum", .array(fields))])),
                            ("op", object([("type", .string("string")), ("enum", .array(operators))])),
                            ("value", value),
                        ])
                    ),
                ])
            ),
        ])
    }

    /// The model's rule in the decoder's shape: strict schemas make every condition carry `value`, null for the
    /// operators that take none.
    static func ruleJSON(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var object):
            if object["field"] != nil, object["value"] == .null { object["value"] = nil }
            for member in object.members { object[member.key] = ruleJSON(member.value) }
            return .object(object)
        case .array(let items): return .array(items.map(ruleJSON))
        default: return value
        }
    }
}
