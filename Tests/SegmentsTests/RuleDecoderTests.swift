import Events
import Segments
import Testing

@Suite("rule language")
struct RuleDecoderTests {
    static let specRule = """
        {"or": [
          {"and": [{"field": "total_spend", "op": "gt", "value": 10000},
                   {"field": "visit_count", "op": "lt", "value": 3}]},
          {"field": "days_since_last_order", "op": "gt", "value": 90},
          {"not": {"field": "tags", "op": "contains", "value": "vip"}}
        ]}
        """

    func problems(_ text: String, conditionsMax: Int = Rule.conditionsMax) -> [String] {
        do {
            _ = try RuleDecoder(conditionsMax: conditionsMax).decode(text: text)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func specExampleDecodesToTheExpectedTree() throws {
        let rule = try RuleDecoder().decode(text: Self.specRule)
        #expect(
            rule
                == .or([
                    .and([
                        .condition(Condition(.totalSpend, .gt, [.number(10000)])),
                        .condition(Condition(.visitCount, .lt, [.number(3)])),
                    ]),
                    .condition(Condition(.daysSinceLastOrder, .gt, [.number(90)])),
                    .not(.condition(Condition(.tags, .contains, [.string("vip")]))),
                ]))
    }

    @Test func everyProblemIsListedWithItsPointerAndASuggestion() {
        let found = problems(
            """
            {"or": [{"and": [{"field": "total_spend", "op": "gt", "value": 10000},
                             {"field": "visit_count", "op": "greaterThan", "value": 3}]},
                    {"field": "totalSpent", "op": "lt", "value": 5},
                    {"field": "city", "op": "gt", "value": "Pune"},
                    {"field": "created_at", "op": "gt", "value": "yesterday"},
                    {"field": "order_count", "op": "between", "value": [5, 2]},
                    {"field": "tags", "op": "contains", "value": 7},
                    {"field": "email", "op": "exists", "value": "x"},
                    {"fiel": "city", "op": "eq", "value": "Pune"}]}
            """)
        #expect(found.contains(#"/or/0/and/1/op: unknown operator "greaterThan"; did you mean "gt"?"#))
        #expect(found.contains(#"/or/1/field: unknown field "totalSpent"; did you mean "total_spend"?"#))
        #expect(found.contains { $0.hasPrefix(#"/or/2/op: operator "gt" does not apply to string field "city""#) })
        #expect(found.contains { $0.hasPrefix("/or/3/value: expected an RFC 3339 timestamp") })
        #expect(found.contains("/or/4/value: low 5 is greater than high 2"))
        #expect(found.contains("/or/5/value: expected a string, got 7"))
        #expect(found.contains(#"/or/6/value: "exists" takes no value"#))
        #expect(found.contains(#"/or/7/fiel: unknown key "fiel"; did you mean "field"?"#))
        #expect(found.count == 9, "\(found)")
    }

    @Test func nearMissOperatorsAndFieldsAreSuggested() {
        let cases: [(String, String)] = [
            (#"{"field":"order_count","op":">=","value":1}"#, #""gte""#),
            (#"{"field":"order_count","op":"less_than","value":1}"#, #""lt""#),
            (#"{"field":"order_count","op":"betwen","value":[1,2]}"#, #""between""#),
            (#"{"field":"lastOrderAt","op":"exists"}"#, #""last_order_at""#),
            (#"{"field":"visits","op":"gt","value":1}"#, #""visit_count""#),
            (#"{"field":"tag","op":"contains","value":"x"}"#, #""tags""#),
        ]
        for (rule, suggestion) in cases {
            let found = problems(rule)
            #expect(found.count == 1 && found[0].hasSuffix("did you mean \(suggestion)?"), "\(rule): \(found)")
        }
    }

    @Test func limitsAreEnforced() {
        var deep = #"{"field":"city","op":"eq","value":"x"}"#
        for _ in 0..<8 { deep = #"{"not":\#(deep)}"# }
        #expect(problems(deep) == ["/not/not/not/not/not/not/not/not: nested deeper than 8 levels"])
        var ok = #"{"field":"city","op":"eq","value":"x"}"#
        for _ in 0..<7 { ok = #"{"not":\#(ok)}"# }
        #expect(problems(ok).isEmpty)

        let many = (0..<257).map { _ in #"{"field":"visit_count","op":"gt","value":1}"# }.joined(separator: ",")
        #expect(problems(#"{"and":[\#(many)]}"#) == ["(rule): has 257 conditions; at most 256 are allowed"])
        #expect(problems(#"{"and":[\#(many)]}"#, conditionsMax: 300).isEmpty)

        let values = (0..<1001).map { "\"c\($0)\"" }.joined(separator: ",")
        #expect(
            problems(#"{"field":"city","op":"in","value":[\#(values)]}"#)
                == ["/value: has 1001 values; at most 1000 are allowed"])
    }

    @Test func malformedShapesAreRejectedClearly() {
        #expect(
            problems("[1,2]") == [
                "(rule): expected a group (and, or, not) or a condition (field, op, value), got array"
            ])
        #expect(problems(#"{"and":[]}"#) == ["/and: expected a non-empty array of nodes"])
        #expect(problems(#"{"and":[{"field":"city","op":"eq","value":"x"}],"field":"city"}"#).count == 1)
        #expect(problems("{nope").first?.hasPrefix("(rule): invalid JSON") == true)
        #expect(
            problems(#"{"field":"total_spend","op":"gt","value":1.23456}"#).first?.contains("not an amount") == true)
        #expect(
            problems(#"{"field":"visit_count","op":"gt","value":2.5}"#) == ["/value: expected a whole number, got 2.5"])
        #expect(problems(#"{"field":"attributes.","op":"exists"}"#).first?.contains("unknown field") == true)
    }

    @Test func equalRulesHaveEqualCanonicalFormsAndFingerprints() throws {
        let decoder = RuleDecoder()
        let a = try decoder.decode(
            text: """
                {"and":[{"field":"city","op":"in","value":["Pune","MUMBAI","pune"]},
                        {"and":[{"field":"visit_count","op":"gt","value":2}]},
                        {"not":{"not":{"field":"tags","op":"contains","value":"VIP"}}}]}
                """)
        let b = try decoder.decode(
            text: """
                {"and":[{"field":"tags","op":"contains","value":"vip"},
                        {"field":"visit_count","op":"gt","value":2},
                        {"field":"city","op":"in","value":["mumbai","pune"]}]}
                """)
        #expect(a != b)
        #expect(a.canonical == b.canonical)
        #expect(a.fingerprint == b.fingerprint)
        let c = try decoder.decode(text: #"{"field":"visit_count","op":"gt","value":3}"#)
        #expect(c.fingerprint != a.fingerprint)
        // The canonical form decodes back to itself.
        #expect(try decoder.decode(text: a.canonicalText).canonical == a.canonical)
    }

    @Test func englishRendering() throws {
        let rule = try RuleDecoder().decode(text: Self.specRule)
        #expect(
            rule.english()
                == "(total spend > ₹10,000 and fewer than 3 visits) or last order more than 90 days ago or not tagged vip"
        )
        let decoder = RuleDecoder()
        let cases: [(String, String)] = [
            (#"{"field":"total_spend","op":"gte","value":1500000}"#, "total spend ≥ ₹15,00,000"),
            (#"{"field":"order_count","op":"eq","value":0}"#, "no orders"),
            (#"{"field":"order_count","op":"gte","value":1}"#, "at least 1 order"),
            (#"{"field":"city","op":"in","value":["Mumbai","Pune","Delhi"]}"#, "city is Mumbai, Pune or Delhi"),
            (#"{"field":"tags","op":"in","value":["vip","gold"]}"#, "tagged vip or gold"),
            (#"{"field":"days_inactive","op":"gte","value":90}"#, "last seen at least 90 days ago"),
            (#"{"field":"created_at","op":"gte","value":"2024-01-01T00:00:00Z"}"#, "signed up on or after 2024-01-01"),
            (#"{"field":"email","op":"missing"}"#, "email is missing"),
            (#"{"field":"attributes.plan","op":"eq","value":"pro"}"#, "attribute plan is pro"),
            (
                #"{"not":{"and":[{"field":"visit_count","op":"gt","value":1},{"field":"city","op":"eq","value":"Pune"}]}}"#,
                "not (more than 1 visits and city is Pune)"
            ),
        ]
        for (text, expected) in cases {
            #expect(try decoder.decode(text: text).english() == expected)
        }
        let usd = try decoder.decode(text: #"{"field":"total_spend","op":"gt","value":1234567.5}"#)
        #expect(usd.english(currency: "USD") == "total spend > $1,234,567.5")
    }
}
