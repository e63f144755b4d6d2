import Events
import Segments
import Testing

@Suite("natural-language rules")
struct PhraseParserTests {
    static let now = at("2024-06-15T10:00:00Z")

    static func c(_ field: Field, _ op: Operator, _ operands: Operand...) -> Rule {
        .condition(Condition(field, op, operands))
    }

    static let cases: [(String, Rule)] = [
        // Amounts: ₹, $, k, lakh, crore, commas, decimals.
        ("spent more than ₹10,000", c(.totalSpend, .gt, .number(10_000))),
        ("customers who spent over 5k", c(.totalSpend, .gt, .number(5_000))),
        ("total spend above Rs 2.5k", c(.totalSpend, .gt, .number(2_500))),
        ("spent at least 1 lakh", c(.totalSpend, .gte, .number(100_000))),
        ("spent more than 1.5 lakh rupees", c(.totalSpend, .gt, .number(150_000))),
        ("spend over 2 crore", c(.totalSpend, .gt, .number(20_000_000))),
        ("spent under $500", c(.totalSpend, .lt, .number(500))),
        ("spent between 1k and 5k", c(.totalSpend, .between, .number(1_000), .number(5_000))),
        ("lifetime value of at most ₹20000", c(.totalSpend, .lte, .number(20_000))),
        ("spent 10000 or more", c(.totalSpend, .gte, .number(10_000))),
        ("average order value above 750", c(.avgOrderValue, .gt, .number(750))),
        ("aov below ₹300.50", c(.avgOrderValue, .lt, .number(300.5))),
        // Counts.
        ("more than 5 orders", c(.orderCount, .gt, .number(5))),
        ("placed at least 3 orders", c(.orderCount, .gte, .number(3))),
        ("fewer than 3 visits", c(.visitCount, .lt, .number(3))),
        ("visited fewer than 3 times", c(.visitCount, .lt, .number(3))),
        ("ordered more than two times", c(.orderCount, .gt, .number(2))),
        ("visited between 2 and 5 times", c(.visitCount, .between, .number(2), .number(5))),
        ("ordered twice", c(.orderCount, .eq, .number(2))),
        ("never ordered", c(.orderCount, .eq, .number(0))),
        ("customers with no visits", c(.visitCount, .eq, .number(0))),
        ("repeat buyers", c(.orderCount, .gte, .number(2))),
        // Recency.
        ("inactive for 3 months", c(.daysInactive, .gte, .number(90))),
        ("inactive for more than 30 days", c(.daysInactive, .gt, .number(30))),
        ("haven't ordered in 90 days", c(.daysSinceLastOrder, .gte, .number(90))),
        ("hasn't purchased in the last 2 weeks", c(.daysSinceLastOrder, .gte, .number(14))),
        ("not visited in the past month", c(.daysSinceLastVisit, .gte, .number(30))),
        ("ordered in the last 30 days", c(.daysSinceLastOrder, .lt, .number(30))),
        ("visited within 7 days", c(.daysSinceLastVisit, .lt, .number(7))),
        ("active in the last week", c(.daysInactive, .lt, .number(7))),
        ("last order more than 90 days ago", c(.daysSinceLastOrder, .gt, .number(90))),
        ("last visit less than a week ago", c(.daysSinceLastVisit, .lt, .number(7))),
        // Sign-up.
        ("signed up this year", c(.createdAt, .gte, .time(at("2024-01-01T00:00:00Z")))),
        ("joined this month", c(.createdAt, .gte, .time(at("2024-06-01T00:00:00Z")))),
        (
            "registered last year",
            c(.createdAt, .between, .time(at("2023-01-01T00:00:00Z")), .time(at("2023-12-31T23:59:59.999999Z")))
        ),
        ("signed up in the last 30 days", c(.daysSinceSignup, .lt, .number(30))),
        ("joined more than a year ago", c(.daysSinceSignup, .gt, .number(365))),
        ("signed up before 2024-03-01", c(.createdAt, .lt, .time(at("2024-03-01T00:00:00Z")))),
        // Places, tags, contact details.
        ("in Mumbai", c(.city, .eq, .string("Mumbai"))),
        ("customers in Mumbai or Pune", c(.city, .in, .string("Mumbai"), .string("Pune"))),
        ("from New Delhi", c(.city, .eq, .string("New Delhi"))),
        ("city is Chennai", c(.city, .eq, .string("Chennai"))),
        ("based in India", c(.country, .eq, .string("IN"))),
        ("tagged vip", c(.tags, .contains, .string("vip"))),
        ("tagged vip or gold", c(.tags, .in, .string("vip"), .string("gold"))),
        ("untagged customers", c(.tags, .missing)),
        ("without an email", c(.email, .missing)),
        ("with a phone", c(.phone, .exists)),
        ("email contains gmail", c(.email, .contains, .string("gmail"))),
        // Boolean structure.
        ("not tagged vip", .not(c(.tags, .contains, .string("vip")))),
        (
            "spent over 10k and fewer than 3 visits",
            .and([c(.totalSpend, .gt, .number(10_000)), c(.visitCount, .lt, .number(3))])
        ),
        (
            "in Mumbai or spent more than 50k",
            .or([c(.city, .eq, .string("Mumbai")), c(.totalSpend, .gt, .number(50_000))])
        ),
        (
            "customers in Pune who spent over ₹10,000 but not tagged vip",
            .and([
                c(.city, .eq, .string("Pune")), c(.totalSpend, .gt, .number(10_000)),
                .not(c(.tags, .contains, .string("vip"))),
            ])
        ),
        (
            "(spent over 10k and fewer than 3 visits) or haven't ordered in 90 days or not tagged vip",
            .or([
                .and([c(.totalSpend, .gt, .number(10_000)), c(.visitCount, .lt, .number(3))]),
                c(.daysSinceLastOrder, .gte, .number(90)),
                .not(c(.tags, .contains, .string("vip"))),
            ])
        ),
        (
            "tagged gold and (in Mumbai or inactive for 6 months)",
            .and([
                c(.tags, .contains, .string("gold")),
                .or([c(.city, .eq, .string("Mumbai")), c(.daysInactive, .gte, .number(180))]),
            ])
        ),
        (
            "signed up this year, visited at least 5 times, except those in Delhi",
            .and([
                c(.createdAt, .gte, .time(at("2024-01-01T00:00:00Z"))), c(.visitCount, .gte, .number(5)),
                .not(c(.city, .eq, .string("Delhi"))),
            ])
        ),
    ]

    @Test func everyPhrasingMapsToItsRuleTree() throws {
        #expect(Self.cases.count >= 40)
        let parser = PhraseParser()
        for (text, expected) in Self.cases {
            let parsed = try parser.parseNow(text, now: Self.now).validated()
            #expect(parsed.rule == expected, "\(text) → \(parsed.rule?.json.jsonText ?? "nil")")
            #expect(parsed.unknownWords.isEmpty, "\(text): \(parsed.unknownWords)")
            #expect(parsed.english == expected.english())
        }
    }

    @Test func unknownWordsAreReportedNotGuessed() throws {
        let parsed = PhraseParser().parseNow("spent over 5k and love cricket", now: Self.now)
        #expect(parsed.rule == Self.c(.totalSpend, .gt, .number(5_000)))
        #expect(parsed.unknownWords == ["love", "cricket"])
        let nothing = PhraseParser().parseNow("purple elephants", now: Self.now)
        #expect(nothing.rule == nil && nothing.english.isEmpty)
        #expect(nothing.unknownWords == ["purple", "elephants"])
    }

    @Test func parsedRulesGoThroughTheSameValidation() async throws {
        // An LLM-backed parser plugs in behind `RuleParser`; whatever it returns is validated like any rule.
        struct Careless: RuleParser {
            func parse(_ text: String, now: Timestamp) async throws -> ParsedRule {
                ParsedRule(
                    rule: .condition(Condition(.city, .gt, [.string("Pune")])), english: "city > Pune", unknownWords: []
                )
            }
        }
        let parsed = try await Careless().parse("anything", now: Self.now)
        #expect(throws: RuleError.self) { try parsed.validated() }
        let fine = try await PhraseParser().parse("tagged vip", now: Self.now).validated()
        #expect(fine.rule == Self.c(.tags, .contains, .string("vip")))
    }
}
