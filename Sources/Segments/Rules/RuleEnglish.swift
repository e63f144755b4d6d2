import Events
import Foundation

extension Rule {
    /// The rule in plain English: "total spend > ₹10,000 and fewer than 3 visits".
    /// Amounts are shown in `currency` (an ISO 4217 code).
    public func english(currency: String = "INR") -> String {
        EnglishRenderer(currency: currency).render(self, parent: nil)
    }
}

private struct EnglishRenderer {
    let currency: String

    enum GroupKind { case and, or }

    func render(_ rule: Rule, parent: GroupKind?) -> String {
        switch rule {
        case .and(let children):
            let text = children.map { render($0, parent: .and) }.joined(separator: " and ")
            return parent == nil || parent == .and ? text : "(\(text))"
        case .or(let children):
            let text = children.map { render($0, parent: .or) }.joined(separator: " or ")
            return parent == nil || parent == .or ? text : "(\(text))"
        case .not(let child):
            if case .condition(let condition) = child, let negated = negated(condition) { return negated }
            return "not (\(render(child, parent: nil)))"
        case .condition(let condition):
            return phrase(condition)
        }
    }

    /// Conditions with a natural negative form.
    func negated(_ condition: Condition) -> String? {
        switch (condition.field, condition.op) {
        case (.tags, .contains): "not tagged \(value(condition.operands[0]))"
        case (.tags, .in): "tagged neither " + list(condition.operands, joiner: "nor")
        default: nil
        }
    }

    func phrase(_ condition: Condition) -> String {
        let operands = condition.operands
        switch condition.field {
        case .tags:
            switch condition.op {
            case .contains: return "tagged \(value(operands[0]))"
            case .notContains: return "not tagged \(value(operands[0]))"
            case .in: return "tagged " + list(operands, joiner: "or")
            case .notIn: return "tagged neither " + list(operands, joiner: "nor")
            case .exists: return "has tags"
            default: return "has no tags"
            }
        case .orderCount, .visitCount:
            let noun = condition.field == .orderCount ? "order" : "visit"
            if let text = countPhrase(condition.op, operands, noun: noun) { return text }
        case .daysSinceLastOrder, .daysSinceLastVisit, .daysInactive, .daysSinceSignup:
            let subject = [
                Field.daysSinceLastOrder: "last order", .daysSinceLastVisit: "last visit",
                .daysInactive: "last seen", .daysSinceSignup: "signed up",
            ][condition.field]!
            if let text = agoPhrase(condition.op, operands, subject: subject) { return text }
        case .createdAt, .firstOrderAt, .lastOrderAt, .lastVisitAt, .lastSeenAt:
            let subject = label(condition.field)
            switch condition.op {
            case .gt: return "\(subject) after \(value(operands[0]))"
            case .gte: return "\(subject) on or after \(value(operands[0]))"
            case .lt: return "\(subject) before \(value(operands[0]))"
            case .lte: return "\(subject) on or before \(value(operands[0]))"
            case .between: return "\(subject) between \(value(operands[0])) and \(value(operands[1]))"
            default: break
            }
        default: break
        }
        return generic(condition)
    }

    func generic(_ condition: Condition) -> String {
        let subject = label(condition.field)
        let operands = condition.operands.map { value($0, field: condition.field) }
        switch condition.op {
        case .eq: return "\(subject) is \(operands[0])"
        case .ne: return "\(subject) is not \(operands[0])"
        case .gt: return "\(subject) > \(operands[0])"
        case .gte: return "\(subject) ≥ \(operands[0])"
        case .lt: return "\(subject) < \(operands[0])"
        case .lte: return "\(subject) ≤ \(operands[0])"
        case .between: return "\(subject) between \(operands[0]) and \(operands[1])"
        case .in: return "\(subject) is " + join(operands, "or")
        case .notIn: return "\(subject) is neither " + join(operands, "nor")
        case .contains: return "\(subject) contains \(operands[0])"
        case .notContains: return "\(subject) does not contain \(operands[0])"
        case .startsWith: return "\(subject) starts with \(operands[0])"
        case .exists: return "\(subject) is known"
        case .missing: return "\(subject) is missing"
        }
    }

    func countPhrase(_ op: Operator, _ operands: [Operand], noun: String) -> String? {
        func n(_ index: Int) -> String { value(operands[index]) }
        func plural(_ index: Int) -> String { n(index) == "1" ? noun : noun + "s" }
        switch op {
        case .gt: return "more than \(n(0)) \(noun)s"
        case .gte: return "at least \(n(0)) \(plural(0))"
        case .lt: return "fewer than \(n(0)) \(noun)s"
        case .lte: return "at most \(n(0)) \(plural(0))"
        case .eq: return n(0) == "0" ? "no \(noun)s" : "exactly \(n(0)) \(plural(0))"
        case .ne: return "not exactly \(n(0)) \(plural(0))"
        case .between: return "between \(n(0)) and \(n(1)) \(noun)s"
        default: return nil
        }
    }

    func agoPhrase(_ op: Operator, _ operands: [Operand], subject: String) -> String? {
        func days(_ index: Int) -> String {
            let text = value(operands[index])
            return text == "1" ? "1 day" : "\(text) days"
        }
        switch op {
        case .gt: return "\(subject) more than \(days(0)) ago"
        case .gte: return "\(subject) at least \(days(0)) ago"
        case .lt: return "\(subject) less than \(days(0)) ago"
        case .lte: return "\(subject) at most \(days(0)) ago"
        case .eq: return "\(subject) exactly \(days(0)) ago"
        case .between: return "\(subject) between \(value(operands[0])) and \(days(1)) ago"
        default: return nil
        }
    }

    func label(_ field: Field) -> String {
        switch field {
        case .customerID: "customer id"
        case .totalSpend: "total spend"
        case .avgOrderValue: "average order value"
        case .orderCount: "order count"
        case .visitCount: "visit count"
        case .createdAt: "signed up"
        case .firstOrderAt: "first order"
        case .lastOrderAt: "last order"
        case .lastVisitAt: "last visit"
        case .lastSeenAt: "last seen"
        case .daysSinceLastOrder: "days since last order"
        case .daysSinceLastVisit: "days since last visit"
        case .daysInactive: "days inactive"
        case .daysSinceSignup: "days since sign-up"
        case .attribute(let key): "attribute \(key)"
        default: field.name
        }
    }

    func list(_ operands: [Operand], joiner: String) -> String { join(operands.map { value($0) }, joiner) }

    func join(_ items: [String], _ joiner: String) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " \(joiner) " + items.last!
    }

    func value(_ operand: Operand, field: Field? = nil) -> String {
        switch operand {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .time(let time):
            let (year, month, day) = time.calendarDate
            let midnight = Timestamp(year: year, month: month, day: day)
            return midnight == time ? String(time.description.prefix(10)) : time.description
        case .number(let number):
            if let field, field.kind == .money { return MoneyText.format(number, currency: currency) }
            return number.description
        }
    }
}

/// Amounts for people: `₹1,00,000` (Indian grouping for INR), `$100,000.50`.
enum MoneyText {
    static let symbols = ["INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"]

    static func format(_ amount: Decimal, currency: String) -> String {
        let text = amount.description
        let negative = text.hasPrefix("-")
        let unsigned = negative ? String(text.dropFirst()) : text
        let parts = unsigned.split(separator: ".", maxSplits: 1)
        let whole = Array(parts[0])
        var groups: [String] = []
        var end = whole.count
        var size = 3
        while end > 0 {
            let start = max(0, end - size)
            groups.insert(String(whole[start..<end]), at: 0)
            end = start
            if currency == "INR" { size = 2 }
        }
        var result = groups.joined(separator: ",")
        if parts.count == 2 { result += "." + parts[1] }
        let symbol = symbols[currency] ?? "\(currency) "
        return (negative ? "-" : "") + symbol + result
    }
}
