import Events
import Foundation

/// One thing wrong with a rule, located by a JSON pointer into it.
public struct RuleProblem: Sendable, Hashable, CustomStringConvertible {
    /// RFC 6901 pointer to the offending value ("" is the whole rule).
    public let pointer: String
    public let message: String

    public var description: String { "\(pointer.isEmpty ? "(rule)" : pointer): \(message)" }
}

/// A rule was rejected; `problems` lists every reason, not just the first.
public struct RuleError: Error, Sendable, CustomStringConvertible {
    public let problems: [RuleProblem]

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// Reads rule JSON (SPEC §5) into a `Rule`, checking fields, operators, value types and limits.
public struct RuleDecoder: Sendable {
    /// At most this many conditions in one rule (SPEC §5: 256; configurable downwards).
    public var conditionsMax: Int

    /// A decoder enforcing the limits of SPEC §5.
    public init(conditionsMax: Int = Rule.conditionsMax) { self.conditionsMax = conditionsMax }

    /// Decodes rule JSON text.
    public func decode(text: String) throws(RuleError) -> Rule {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            throw RuleError(problems: [RuleProblem(pointer: "", message: error.description)])
        }
        return try decode(json)
    }

    /// Decodes a parsed rule, or throws every problem found.
    public func decode(_ json: JSONValue) throws(RuleError) -> Rule {
        var walk = Walk()
        let rule = walk.node(json, pointer: "", depth: 1)
        if walk.conditionCount > conditionsMax {
            walk.problems.append(
                RuleProblem(
                    pointer: "",
                    message: "has \(walk.conditionCount) conditions; at most \(conditionsMax) are allowed"))
        }
        guard walk.problems.isEmpty, let rule else { throw RuleError(problems: walk.problems) }
        return rule
    }
}

private let groupKeys = ["and", "or", "not"]
private let conditionKeys = ["field", "op", "value"]

/// One pass over a rule document, collecting problems as it goes.
private struct Walk {
    var problems: [RuleProblem] = []
    var conditionCount = 0

    mutating func problem(_ pointer: String, _ message: String) {
        problems.append(RuleProblem(pointer: pointer, message: message))
    }

    mutating func node(_ json: JSONValue, pointer: String, depth: Int) -> Rule? {
        guard depth <= Rule.depthMax else {
            problem(pointer, "nested deeper than \(Rule.depthMax) levels")
            return nil
        }
        guard case .object(let object) = json else {
            problem(pointer, "expected a group (and, or, not) or a condition (field, op, value), got \(json.kindName)")
            return nil
        }
        let keys = object.members.map(\.key)
        for key in keys where !groupKeys.contains(key) && !conditionKeys.contains(key) {
            let hint = Suggestions.closest(to: key, among: groupKeys + conditionKeys).map {
                "; did you mean \"\($0)\"?"
            }
            problem(pointer + "/" + escape(key), "unknown key \"\(key)\"" + (hint ?? ""))
        }
        let groups = keys.filter(groupKeys.contains)
        if groups.count > 1 || (groups.count == 1 && keys.contains(where: conditionKeys.contains)) {
            problem(pointer, "a node is either one group (and, or, not) or a condition, not both")
            return nil
        }
        if let group = groups.first {
            let value = object[group]!
            let childPointer = pointer + "/" + group
            if group == "not" {
                return node(value, pointer: childPointer, depth: depth + 1).map { .not($0) }
            }
            guard case .array(let items) = value, !items.isEmpty else {
                problem(childPointer, "expected a non-empty array of nodes")
                return nil
            }
            var children: [Rule] = []
            for (index, item) in items.enumerated() {
                if let child = node(item, pointer: childPointer + "/\(index)", depth: depth + 1) {
                    children.append(child)
                }
            }
            guard children.count == items.count else { return nil }
            return group == "and" ? .and(children) : .or(children)
        }
        if !keys.contains("field") && !keys.contains("op") {
            if keys.allSatisfy({ groupKeys.contains($0) || conditionKeys.contains($0) }) {
                problem(pointer, "expected a group (and, or, not) or a condition (field, op, value)")
            }
            return nil
        }
        conditionCount += 1
        return condition(object, pointer: pointer)
    }

    mutating func condition(_ object: JSONObject, pointer: String) -> Rule? {
        var field: Field?
        switch object["field"] {
        case nil: problem(pointer, "missing \"field\"")
        case .string(let name)?:
            field = Field(name: name)
            if field == nil {
                let known = Field.named.map(\.name)
                let hint = Suggestions.closest(to: name, among: known, aliases: Suggestions.fieldAliases)
                    .map { "; did you mean \"\($0)\"?" }
                problem(pointer + "/field", "unknown field \"\(name)\"" + (hint ?? ""))
            }
        case let other?: problem(pointer + "/field", "expected a field name string, got \(other.kindName)")
        }
        var op: Operator?
        switch object["op"] {
        case nil: problem(pointer, "missing \"op\"")
        case .string(let name)?:
            op = Operator(rawValue: name)
            if op == nil {
                let hint = Suggestions.closest(
                    to: name, among: Operator.allCases.map(\.rawValue), aliases: Suggestions.operatorAliases
                ).map { "; did you mean \"\($0)\"?" }
                problem(pointer + "/op", "unknown operator \"\(name)\"" + (hint ?? ""))
            }
        case let other?: problem(pointer + "/op", "expected an operator string, got \(other.kindName)")
        }
        guard let field, let op else { return nil }
        let accepted = Operator.accepted(by: field.kind)
        guard accepted.contains(op) else {
            problem(
                pointer + "/op",
                "operator \"\(op.rawValue)\" does not apply to \(field.kind.rawValue) field \"\(field.name)\"; "
                    + "use one of \(accepted.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        guard let operands = operands(object["value"], field: field, op: op, pointer: pointer + "/value") else {
            return nil
        }
        return .condition(Condition(field, op, operands))
    }

    mutating func operands(_ value: JSONValue?, field: Field, op: Operator, pointer: String) -> [Operand]? {
        switch op.arity {
        case .none:
            if let value, value != .null {
                problem(pointer, "\"\(op.rawValue)\" takes no value")
                return nil
            }
            return []
        case .one:
            guard let value else {
                problem(pointer, "missing \"value\"")
                return nil
            }
            return operand(value, field: field, op: op, pointer: pointer).map { [$0] }
        case .range:
            guard case .array(let items)? = value, items.count == 2 else {
                problem(pointer, "\"between\" takes [low, high]")
                return nil
            }
            let low = operand(items[0], field: field, op: op, pointer: pointer + "/0")
            let high = operand(items[1], field: field, op: op, pointer: pointer + "/1")
            guard let low, let high else { return nil }
            if let inverted = Self.isInverted(low, high), inverted {
                problem(pointer, "low \(low.json.jsonText) is greater than high \(high.json.jsonText)")
                return nil
            }
            return [low, high]
        case .list:
            guard case .array(let items)? = value, !items.isEmpty else {
                problem(pointer, "\"\(op.rawValue)\" takes a non-empty array of values")
                return nil
            }
            guard items.count <= Rule.listValuesMax else {
                problem(pointer, "has \(items.count) values; at most \(Rule.listValuesMax) are allowed")
                return nil
            }
            var result: [Operand] = []
            for (index, item) in items.enumerated() {
                if let parsed = operand(item, field: field, op: op, pointer: pointer + "/\(index)") {
                    result.append(parsed)
                }
            }
            return result.count == items.count ? result : nil
        }
    }

    static func isInverted(_ low: Operand, _ high: Operand) -> Bool? {
        switch (low, high) {
        case (.number(let a), .number(let b)): a > b
        case (.time(let a), .time(let b)): a > b
        default: nil
        }
    }

    mutating func operand(_ value: JSONValue, field: Field, op: Operator, pointer: String) -> Operand? {
        switch field.kind {
        case .string, .tags:
            guard case .string(let text) = value else { return expected("a string", value, pointer) }
            return .string(text)
        case .money:
            guard case .number(let number) = value else { return expected("a number", value, pointer) }
            guard case .success = Money.parse(number.lexeme), let decimal = Decimal(string: number.lexeme) else {
                problem(pointer, "\(number.lexeme) is not an amount (at most 4 decimal places, within ±10^12)")
                return nil
            }
            return .number(decimal)
        case .integer, .days:
            guard case .number(let number) = value, let integer = number.int64Value,
                abs(integer) <= 1_000_000_000_000
            else { return expected("a whole number", value, pointer) }
            return .number(Decimal(integer))
        case .timestamp:
            guard case .string(let text) = value, let time = Timestamp(rfc3339: text) else {
                return expected("an RFC 3339 timestamp such as \"2024-05-01T00:00:00Z\"", value, pointer)
            }
            return .time(time)
        case .attribute:
            switch op {
            case .contains, .notContains, .startsWith:
                guard case .string(let text) = value else { return expected("a string", value, pointer) }
                return .string(text)
            case .gt, .gte, .lt, .lte, .between:
                guard case .number(let number) = value, let decimal = Decimal(string: number.lexeme) else {
                    return expected("a number", value, pointer)
                }
                return .number(decimal)
            default:
                switch value {
                case .string(let text): return .string(text)
                case .bool(let flag): return .bool(flag)
                case .number(let number):
                    guard let decimal = Decimal(string: number.lexeme) else {
                        return expected("a number", value, pointer)
                    }
                    return .number(decimal)
                default: return expected("a string, number or boolean", value, pointer)
                }
            }
        }
    }

    mutating func expected(_ what: String, _ value: JSONValue, _ pointer: String) -> Operand? {
        let shown: String
        switch value {
        case .string(let text): shown = "\"\(text.prefix(40))\""
        case .number(let number): shown = number.lexeme
        default: shown = value.kindName
        }
        problem(pointer, "expected \(what), got \(shown)")
        return nil
    }
}

/// RFC 6901 escaping of one pointer token.
private func escape(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
}
