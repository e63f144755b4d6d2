import Events
import Foundation

/// One value a condition compares with.
public enum Operand: Sendable, Hashable {
    case string(String)
    /// An exact decimal (money, counts, days, numeric attributes).
    case number(Decimal)
    case bool(Bool)
    case time(Timestamp)

    /// The operand as it is written in rule JSON.
    public var json: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .number(let number): .number(JSONNumber(lexeme: number.description) ?? JSONNumber(0))
        case .bool(let flag): .bool(flag)
        case .time(let time): .string(time.description)
        }
    }
}

/// `{field, op, value}`: a test of one customer field.
public struct Condition: Sendable, Hashable {
    public var field: Field
    public var op: Operator
    /// None for `exists`/`missing`, one value, `[low, high]` for `between`, the list for `in`/`not_in`.
    public var operands: [Operand]

    /// A condition; `operands` must suit `op` (the decoder checks rules that come from outside).
    public init(_ field: Field, _ op: Operator, _ operands: [Operand] = []) {
        self.field = field
        self.op = op
        self.operands = operands
    }
}

/// A node of the rule language of SPEC §5: a group or a condition.
public indirect enum Rule: Sendable, Hashable {
    case and([Rule])
    case or([Rule])
    case not(Rule)
    case condition(Condition)

    /// Limits of SPEC §5.
    public static let depthMax = 8
    public static let conditionsMax = 256
    public static let listValuesMax = 1_000

    /// The rule as JSON, in the shape the decoder reads.
    public var json: JSONValue {
        switch self {
        case .and(let children): return .object(JSONObject([("and", .array(children.map(\.json)))]))
        case .or(let children): return .object(JSONObject([("or", .array(children.map(\.json)))]))
        case .not(let child): return .object(JSONObject([("not", child.json)]))
        case .condition(let condition):
            var members: [(String, JSONValue)] = [
                ("field", .string(condition.field.name)), ("op", .string(condition.op.rawValue)),
            ]
            switch condition.op.arity {
            case .none: break
            case .one: members.append(("value", condition.operands.first?.json ?? .null))
            case .range, .list: members.append(("value", .array(condition.operands.map(\.json))))
            }
            return .object(JSONObject(members))
        }
    }

    /// Every condition, depth first.
    public var conditions: [Condition] {
        switch self {
        case .and(let children), .or(let children): children.flatMap(\.conditions)
        case .not(let child): child.conditions
        case .condition(let condition): [condition]
        }
    }
}
