import Events
import Foundation
import Projections
import Segments
import Testing

/// Thousands of random rule trees (depth ≤ 4, every field and operator) on random customers: the index's counts
/// and member sets must equal the naive evaluator's, and `explain` must give the same verdict.
@Suite("evaluator properties")
struct EvaluatorPropertyTests {
    static let asOfChoices = [at("2025-02-01T00:00:00Z"), at("2024-07-15T13:45:10.5Z")]
    static let start = at("2024-01-01T00:00:00Z").microseconds
    static let spanMicros: Int64 = 400 * 86_400_000_000

    static let cities = ["Mumbai", "PUNE", "delhi", "Chennai", "New Delhi"]
    static let names = ["Asha Rao", "ravi SHARMA", "Priya Iyer", "Arjun", "Zoë Khan"]
    static let tagPool = ["vip", "VIP", "gold", "newsletter", "app_user"]

    static func randomTime(_ random: inout TestRandom) -> Timestamp {
        Timestamp(microseconds: start + Int64.random(in: 0..<spanMicros, using: &random))
    }

    static func customers(_ random: inout TestRandom, count: Int) -> [CustomerState] {
        (0..<count).map { number in
            var state = CustomerState(customerID: random.chance(0.5) ? "C-\(number)" : "c-\(number)")
            state.firstSeenAt = randomTime(&random)
            if random.chance(0.7) { state.name = random.pick(names) }
            if random.chance(0.6) { state.email = "user\(number)@\(random.pick(["Example.com", "mail.in"]))" }
            if random.chance(0.5) { state.phone = "+9198\(number)" }
            if random.chance(0.8) { state.city = random.pick(cities) }
            if random.chance(0.7) { state.country = random.pick(["IN", "in", "US"]) }
            state.tags = tagPool.filter { _ in random.chance(0.25) }
            if random.chance(0.3) { state.upsertedCreatedAt = randomTime(&random) }
            if random.chance(0.7) {
                state.orderCount = Int.random(in: 1...8, using: &random)
                state.totalSpend = Money(units: Int64.random(in: 0...500_000_000, using: &random))
                let first = randomTime(&random)
                state.firstOrderAt = first
                state.lastOrderAt = Timestamp(
                    microseconds: first.microseconds + Int64.random(in: 0...90 * 86_400_000_000, using: &random))
            }
            if random.chance(0.6) {
                state.visitCount = Int.random(in: 1...12, using: &random)
                state.lastVisitAt = randomTime(&random)
            }
            if random.chance(0.5) { state.attributes["plan"] = .string(random.pick(["Pro", "free", "PRO"])) }
            if random.chance(0.5) {
                state.attributes["score"] = .number(JSONNumber(lexeme: random.pick(["3", "3.5", "10", "-2", "7.25"]))!)
            }
            if random.chance(0.4) { state.attributes["beta"] = .bool(random.chance(0.5)) }
            if random.chance(0.1) { state.attributes["plan"] = .number(JSONNumber(5)) }
            if random.chance(0.03) {
                state = CustomerState(customerID: state.customerID)
                state.isErased = true
            }
            return state
        }
    }

    static func operand(for field: Field, op: Operator, _ random: inout TestRandom, data: [CustomerState]) -> Operand {
        let sample = random.pick(data)
        switch field.kind {
        case .string:
            let pool: [String]
            switch field {
            case .customerID: pool = [sample.customerID.uppercased(), "c-1", "C-", "c-2"]
            case .name: pool = names + ["sha", "RAO", "a", ""]
            case .email: pool = ["user1", "example", "@MAIL.in", sample.email ?? "x"]
            case .phone: pool = ["+9198", sample.phone ?? "+91", "98"]
            case .city: pool = cities + ["mumbai", "Delhi", "Kolkata", "new"]
            default: pool = ["in", "US", "i"]
            }
            let text = random.pick(pool)
            return .string(op == .startsWith || op == .contains || op == .notContains ? String(text.prefix(4)) : text)
        case .tags: return .string(random.pick(tagPool + ["wholesale", "Gold"]))
        case .money:
            if random.chance(0.3), let exact = (field == .totalSpend ? sample.totalSpend : sample.averageOrderValue) {
                return .number(Decimal(string: exact.description)!)
            }
            return .number(
                Decimal(string: random.pick(["0", "100", "999.99", "5000", "10000", "25000.5", "49999.9999"]))!)
        case .integer: return .number(Decimal(Int.random(in: 0...10, using: &random)))
        case .days: return .number(Decimal(Int.random(in: -5...420, using: &random)))
        case .timestamp:
            if random.chance(0.3), let exact = sample.lastOrderAt ?? sample.createdAt { return .time(exact) }
            return .time(randomTime(&random))
        case .attribute:
            switch op {
            case .contains, .notContains, .startsWith: return .string(random.pick(["p", "PR", "free", "o"]))
            case .gt, .gte, .lt, .lte, .between: return .number(Decimal(string: random.pick(["3", "3.5", "0", "7"]))!)
            default:
                return random.pick([
                    .string("pro"), .string("Free"), .number(3.5), .number(5), .bool(true), .bool(false), .number(10),
                ])
            }
        }
    }

    static func condition(_ random: inout TestRandom, data: [CustomerState]) -> Rule {
        let field = random.pick(
            Field.named + [.attribute("plan"), .attribute("score"), .attribute("beta"), .attribute("nothing")])
        let ops = Operator.allCases.filter { op in
            switch field.kind {
            case .string: [.eq, .ne, .in, .notIn, .contains, .notContains, .startsWith, .exists, .missing].contains(op)
            case .tags: [.contains, .notContains, .in, .notIn, .exists, .missing].contains(op)
            case .money, .integer, .days:
                [.eq, .ne, .gt, .gte, .lt, .lte, .between, .in, .notIn, .exists, .missing].contains(op)
            case .timestamp: [.eq, .ne, .gt, .gte, .lt, .lte, .between, .exists, .missing].contains(op)
            case .attribute: true
            }
        }
        let op = random.pick(ops)
        var operands: [Operand]
        switch op {
        case .exists, .missing: operands = []
        case .between:
            operands = [
                operand(for: field, op: op, &random, data: data), operand(for: field, op: op, &random, data: data),
            ]
            if case (.number(let a), .number(let b)) = (operands[0], operands[1]), a > b { operands.reverse() }
            if case (.time(let a), .time(let b)) = (operands[0], operands[1]), a > b { operands.reverse() }
        case .in, .notIn:
            operands = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                operand(for: field, op: op, &random, data: data)
            }
        default: operands = [operand(for: field, op: op, &random, data: data)]
        }
        return .condition(Condition(field, op, operands))
    }

    static func tree(_ random: inout TestRandom, depth: Int, data: [CustomerState]) -> Rule {
        guard depth < 4, random.chance(0.6) else { return condition(&random, data: data) }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return .not(tree(&random, depth: depth + 1, data: data))
        case 1:
            return .and(
                (0..<Int.random(in: 1...3, using: &random)).map { _ in tree(&random, depth: depth + 1, data: data) })
        default:
            return .or(
                (0..<Int.random(in: 1...3, using: &random)).map { _ in tree(&random, depth: depth + 1, data: data) })
        }
    }

    @Test func indexAgreesWithTheNaiveEvaluatorOnRandomRules() throws {
        var random = TestRandom(seed: 2024)
        let data = Self.customers(&random, count: 600)
        let index = CustomerIndex()
        // Feed the index in three overlapping waves so that updates, not only inserts, are exercised.
        index.update(Array(data[0..<300]))
        index.update(
            Self.customers(&random, count: 450).map { state in
                var moved = state
                moved = CustomerState(customerID: data[Int.random(in: 0..<600, using: &random)].customerID)
                moved.city = state.city
                moved.tags = state.tags
                return moved
            })
        index.update(data)
        var nonTrivial = 0
        for iteration in 0..<2_500 {
            let rule = Self.tree(&random, depth: 1, data: data)
            // Every generated tree must be a valid rule: it round-trips through the decoder.
            #expect(try RuleDecoder().decode(rule.json) == rule)
            let asOf = Self.asOfChoices[iteration % 2]
            let expected = data.filter { NaiveEvaluator.matches(rule, $0, asOf: asOf) }.map(\.customerID).sorted {
                $0.utf8.lexicographicallyPrecedes($1.utf8)
            }
            let actual = index.allMembers(rule, asOf: asOf)
            #expect(index.count(rule, asOf: asOf) == expected.count)
            let same = actual == expected
            #expect(
                same,
                """
                rule \(rule.json.jsonText) at \(asOf): missing \(Set(expected).subtracting(actual).sorted().prefix(5)), \
                extra \(Set(actual).subtracting(expected).sorted().prefix(5))
                """)
            if !same { break }
            if !expected.isEmpty && expected.count < data.count { nonTrivial += 1 }
            let probe = data[iteration % data.count]
            #expect(
                RuleExplainer.explain(rule, customer: probe, asOf: asOf).matches
                    == NaiveEvaluator.matches(rule, probe, asOf: asOf))
            // The canonical form means the same.
            #expect(index.count(rule.canonical, asOf: asOf) == expected.count)
        }
        // The generator must produce informative rules, not only all-or-nothing ones.
        #expect(nonTrivial > 1_000)
    }
}
