/// "Did you mean…?" for near-miss names in rules: known aliases first, then the closest name by edit distance.
enum Suggestions {
    /// Operator spellings people reach for, mapped to the operator they mean.
    static let operatorAliases: [String: String] = [
        "greater_than": "gt", "greaterthan": "gt", ">": "gt", "more_than": "gt", "above": "gt", "over": "gt",
        "greater_than_or_equal": "gte", "greater_or_equal": "gte", ">=": "gte", "at_least": "gte", "min": "gte",
        "less_than": "lt", "lessthan": "lt", "<": "lt", "below": "lt", "under": "lt", "fewer_than": "lt",
        "less_than_or_equal": "lte", "less_or_equal": "lte", "<=": "lte", "at_most": "lte", "max": "lte",
        "equals": "eq", "equal": "eq", "is": "eq", "=": "eq", "==": "eq", "===": "eq",
        "not_equals": "ne", "not_equal": "ne", "neq": "ne", "!=": "ne", "<>": "ne", "is_not": "ne",
        "range": "between", "one_of": "in", "any_of": "in", "none_of": "not_in", "nin": "not_in",
        "includes": "contains", "has": "contains", "excludes": "not_contains", "prefix": "starts_with",
        "begins_with": "starts_with", "startswith": "starts_with", "is_set": "exists", "present": "exists",
        "is_null": "missing", "is_empty": "missing", "absent": "missing", "not_exists": "missing",
    ]

    /// Field spellings people reach for, mapped to the field they mean.
    static let fieldAliases: [String: String] = [
        "total_spent": "total_spend", "spend": "total_spend", "spent": "total_spend", "lifetime_value": "total_spend",
        "ltv": "total_spend", "revenue": "total_spend", "aov": "avg_order_value",
        "average_order_value": "avg_order_value",
        "orders": "order_count", "num_orders": "order_count", "visits": "visit_count", "num_visits": "visit_count",
        "tag": "tags", "id": "customer_id", "customer": "customer_id", "signup_date": "created_at",
        "signed_up_at": "created_at", "last_active_at": "last_seen_at", "days_since_signed_up": "days_since_signup",
        "inactive_days": "days_inactive", "days_since_last_seen": "days_inactive",
    ]

    /// The best guess among `candidates` for the unknown `name`, or nil when nothing is close.
    static func closest(to name: String, among candidates: [String], aliases: [String: String] = [:]) -> String? {
        let normalized = snakeCase(name)
        if let alias = aliases[normalized] ?? aliases[name.lowercased()] { return alias }
        if candidates.contains(normalized) { return normalized }
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(normalized, candidate)
            if distance < best?.distance ?? Int.max { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(2, normalized.count / 3) else { return nil }
        return best.name
    }

    /// `totalSpent` → `total_spent`, `Total Spend` → `total_spend`, `order-count` → `order_count`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        var previousWasLower = false
        for character in name {
            if character.isUppercase {
                if previousWasLower { result.append("_") }
                result.append(contentsOf: character.lowercased())
                previousWasLower = false
            } else if character == " " || character == "-" {
                result.append("_")
                previousWasLower = false
            } else {
                result.append(character)
                previousWasLower = character.isLetter || character.isNumber
            }
        }
        return result
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
