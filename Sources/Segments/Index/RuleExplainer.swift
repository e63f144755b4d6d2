import Events
import Foundation
import Projections

/// Why one customer is in or out of a segment: each field's value and each condition's and group's truth.
public struct Explanation: Sendable {
    /// One node of the rule with its outcome for this customer.
    public indirect enum Node: Sendable {
        case group(kind: String, result: Bool, children: [Node])
        case negation(result: Bool, child: Node)
        /// `actual` is nil when the value is missing.
        case condition(Condition, actual: JSONValue?, result: Bool)

        public var result: Bool {
            switch self {
            case .group(_, let result, _), .negation(let result, _), .condition(_, _, let result): result
            }
        }

        /// The node as JSON: the rule's shape with `result` (and `actual` for conditions) added.
        public var json: JSONValue {
            switch self {
            case .group(let kind, let result, let children):
                return .object(JSONObject([(kind, .array(children.map(\.json))), ("result", .bool(result))]))
            case .negation(let result, let child):
                return .object(JSONObject([("not", child.json), ("result", .bool(result))]))
            case .condition(let condition, let actual, let result):
                var members = Rule.condition(condition).json.objectValue!.members.map { ($0.key, $0.value) }
                members.append(("actual", actual ?? .null))
                members.append(("missing", .bool(actual == nil)))
                members.append(("result", .bool(result)))
                return .object(JSONObject(members))
            }
        }
    }

    public let customerID: String
    public let asOf: Timestamp
    public let matches: Bool
    public let root: Node

    public var json: JSONValue {
        .object(
            JSONObject([
                ("customer_id", .string(customerID)), ("as_of", .string(asOf.description)),
                ("matches", .bool(matches)), ("rule", root.json),
            ]))
    }
}

/// Evaluates a rule against one customer with the same compiled tests the index uses.
public enum RuleExplainer {
    /// The explanation of `rule` for `customer` at `asOf`. An erased customer matches nothing.
    public static func explain(_ rule: Rule, customer: CustomerState, asOf: Timestamp) -> Explanation {
        let root = node(rule, customer, asOf)
        return Explanation(
            customerID: customer.customerID, asOf: asOf, matches: root.result && !customer.isErased, root: root)
    }

    private static func node(_ rule: Rule, _ customer: CustomerState, _ asOf: Timestamp) -> Explanation.Node {
        switch rule {
        case .and(let children):
            let nodes = children.map { node($0, customer, asOf) }
            return .group(kind: "and", result: nodes.allSatisfy(\.result), children: nodes)
        case .or(let children):
            let nodes = children.map { node($0, customer, asOf) }
            return .group(kind: "or", result: nodes.contains(where: \.result), children: nodes)
        case .not(let child):
            let inner = node(child, customer, asOf)
            return .negation(result: !inner.result, child: inner)
        case .condition(let condition):
            return .condition(
                condition, actual: value(of: condition.field, customer, asOf),
                result: holds(ConditionPlan(condition, asOf: asOf), for: customer))
        }
    }

    /// Whether `plan` holds for `customer`.
    static func holds(_ plan: ConditionPlan, for customer: CustomerState) -> Bool {
        func string(_ source: StringSource) -> String? {
            switch source {
            case .customerID: customer.customerID
            case .column(let column): column.value(of: customer)
            }
        }
        let tags = Set(customer.tags.map { $0.lowercased() })
        switch plan.test {
        case .numeric(let column, let ranges):
            let value = column.value(of: customer)
            return value != missingValue && ranges.contains(value)
        case .numericPresent(let column, let present): return (column.value(of: customer) != missingValue) == present
        case .string(let source, let test): return string(source).map(test.matches) ?? false
        case .stringPresent(let source, let present): return (string(source) != nil) == present
        case .tags(let needles, let negated): return needles.contains(where: tags.contains) != negated
        case .tagsPresent(let present): return !tags.isEmpty == present
        case .attribute(let key, let test):
            return customer.attributes[key].flatMap(AttributeCell.init).map(test.matches) ?? false
        case .attributePresent(let key, let present): return (customer.attributes[key] != nil) == present
        }
    }

    /// A field's value for display; nil when missing.
    public static func value(of field: Field, _ customer: CustomerState, _ asOf: Timestamp) -> JSONValue? {
        func time(_ value: Timestamp?) -> JSONValue? { value.map { .string($0.description) } }
        func money(_ value: Money?) -> JSONValue? {
            value.flatMap { JSONNumber(lexeme: $0.description) }.map { .number($0) }
        }
        func days(_ base: Timestamp?) -> JSONValue? {
            base.map { .number(JSONNumber((asOf.microseconds - $0.microseconds).floorDivided(by: 86_400_000_000))) }
        }
        switch field {
        case .customerID: return .string(customer.customerID)
        case .name: return customer.name.map { .string($0) }
        case .email: return customer.email.map { .string($0) }
        case .phone: return customer.phone.map { .string($0) }
        case .city: return customer.city.map { .string($0) }
        case .country: return customer.country.map { .string($0) }
        case .tags: return .array(customer.tags.map { .string($0) })
        case .totalSpend: return money(customer.totalSpend)
        case .avgOrderValue: return money(customer.averageOrderValue)
        case .orderCount: return .number(JSONNumber(Int64(customer.orderCount)))
        case .visitCount: return .number(JSONNumber(Int64(customer.visitCount)))
        case .createdAt: return time(customer.createdAt)
        case .firstOrderAt: return time(customer.firstOrderAt)
        case .lastOrderAt: return time(customer.lastOrderAt)
        case .lastVisitAt: return time(customer.lastVisitAt)
        case .lastSeenAt: return time(customer.lastSeenAt)
        case .daysSinceLastOrder: return days(customer.lastOrderAt)
        case .daysSinceLastVisit: return days(customer.lastVisitAt)
        case .daysInactive: return days(customer.lastSeenAt)
        case .daysSinceSignup: return days(customer.createdAt)
        case .attribute(let key):
            switch customer.attributes[key] {
            case nil: return nil
            case .string(let text)?: return .string(text)
            case .number(let number)?: return .number(number)
            case .bool(let flag)?: return .bool(flag)
            }
        }
    }
}
