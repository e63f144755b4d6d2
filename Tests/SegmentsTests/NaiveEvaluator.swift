import Events
import Foundation
import Projections
import Segments

/// A deliberately naive, customer-at-a-time reading of SPEC §4–§5, written independently of the index: the
/// property tests hold the product's evaluator to it.
enum NaiveEvaluator {
    enum Value {
        case missing
        case text(String)
        case tags([String])
        case number(Decimal)
        case time(Int64)
        case flag(Bool)
    }

    static func matches(_ rule: Rule, _ customer: CustomerState, asOf: Timestamp) -> Bool {
        if customer.isErased { return false }
        switch rule {
        case .and(let children): return children.allSatisfy { matches($0, customer, asOf: asOf) }
        case .or(let children): return children.contains { matches($0, customer, asOf: asOf) }
        case .not(let child): return !matches(child, customer, asOf: asOf)
        case .condition(let condition): return holds(condition, customer, asOf: asOf)
        }
    }

    static func value(_ field: Field, _ customer: CustomerState, asOf: Timestamp) -> Value {
        func text(_ value: String?) -> Value { value.map { .text($0) } ?? .missing }
        func time(_ value: Timestamp?) -> Value { value.map { .time($0.microseconds) } ?? .missing }
        func money(_ value: Money?) -> Value { value.map { .number(Decimal(string: $0.description)!) } ?? .missing }
        func days(_ base: Timestamp?) -> Value {
            guard let base else { return .missing }
            let difference = asOf.microseconds - base.microseconds
            let day: Int64 = 86_400 * 1_000_000
            var whole = difference / day
            if difference % day != 0 && difference < 0 { whole -= 1 }
            return .number(Decimal(whole))
        }
        switch field {
        case .customerID: return .text(customer.customerID)
        case .name: return text(customer.name)
        case .email: return text(customer.email)
        case .phone: return text(customer.phone)
        case .city: return text(customer.city)
        case .country: return text(customer.country)
        case .tags: return .tags(customer.tags)
        case .totalSpend: return money(customer.totalSpend)
        case .avgOrderValue: return money(customer.averageOrderValue)
        case .orderCount: return .number(Decimal(customer.orderCount))
        case .visitCount: return .number(Decimal(customer.visitCount))
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
            case nil: return .missing
            case .string(let value)?: return .text(value)
            case .number(let value)?: return .number(Decimal(string: value.lexeme)!)
            case .bool(let value)?: return .flag(value)
            }
        }
    }

    static func holds(_ condition: Condition, _ customer: CustomerState, asOf: Timestamp) -> Bool {
        let value = value(condition.field, customer, asOf: asOf)
        switch condition.op {
        case .exists, .missing:
            let present: Bool
            switch value {
            case .missing: present = false
            case .tags(let tags): present = !tags.isEmpty
            default: present = true
            }
            return present == (condition.op == .exists)
        default: break
        }
        let operands = condition.operands
        switch value {
        case .missing: return false
        case .tags(let tags):
            let lowered = tags.map { $0.lowercased() }
            let wanted = operands.map { operandText($0) }
            let any = wanted.contains { lowered.contains($0) }
            return condition.op == .contains || condition.op == .in ? any : !any
        case .text(let raw):
            let text = raw.lowercased()
            let wanted = operands.map { operandText($0) }
            switch condition.op {
            case .eq, .in: return wanted.contains(text)
            case .ne, .notIn: return !wanted.contains(text)
            case .contains: return wanted[0].isEmpty || text.contains(wanted[0])
            case .notContains: return !(wanted[0].isEmpty || text.contains(wanted[0]))
            case .startsWith: return text.hasPrefix(wanted[0])
            default: return false
            }
        case .number(let number):
            let wanted = operands.compactMap { operand -> Decimal? in
                if case .number(let value) = operand { return value }
                return nil
            }
            let sameType = wanted.count == operands.count
            switch condition.op {
            case .eq: return sameType && number == wanted[0]
            case .ne: return !(sameType && number == wanted[0])
            case .in: return wanted.contains(number)
            case .notIn: return !wanted.contains(number)
            case .gt: return number > wanted[0]
            case .gte: return number >= wanted[0]
            case .lt: return number < wanted[0]
            case .lte: return number <= wanted[0]
            case .between: return number >= wanted[0] && number <= wanted[1]
            default: return false
            }
        case .time(let micros):
            let wanted = operands.compactMap { operand -> Int64? in
                if case .time(let value) = operand { return value.microseconds }
                return nil
            }
            switch condition.op {
            case .eq: return micros == wanted[0]
            case .ne: return micros != wanted[0]
            case .gt: return micros > wanted[0]
            case .gte: return micros >= wanted[0]
            case .lt: return micros < wanted[0]
            case .lte: return micros <= wanted[0]
            case .between: return micros >= wanted[0] && micros <= wanted[1]
            default: return false
            }
        case .flag(let flag):
            let equal = operands.contains { $0 == .bool(flag) }
            switch condition.op {
            case .eq, .in: return equal
            case .ne, .notIn: return !equal
            default: return false
            }
        }
    }

    /// A string operand lower-cased; other operands become text that no lower-cased string value can equal.
    static func operandText(_ operand: Operand) -> String {
        if case .string(let text) = operand { return text.lowercased() }
        return "\u{0}not a string"
    }
}
