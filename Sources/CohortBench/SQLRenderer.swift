import Events
import Segments

/// SQL databases the segment benchmark compares against.
public enum SQLDialect: String, Sendable {
    case duckdb, postgres
}

extension Rule {
    /// The rule as a SQL `WHERE` expression over the benchmark's `customers` table, with the semantics of SPEC §5:
    /// conditions on NULL are false (`COALESCE(…, FALSE)`), so `NOT` of one is true. Strings are compared on
    /// lower-cased columns, money in 1/10,000 units, times in microseconds, and day fields as ranges of their base
    /// time at `asOf` — the same sargable form the index uses. Nil when the rule tests attributes (not exported).
    public func sql(_ dialect: SQLDialect, asOf: Timestamp) -> String? {
        switch self {
        case .and(let children), .or(let children):
            let parts = children.compactMap { $0.sql(dialect, asOf: asOf) }
            guard parts.count == children.count else { return nil }
            let joiner = if case .and = self { " AND " } else { " OR " }
            return "(" + parts.joined(separator: joiner) + ")"
        case .not(let child): return child.sql(dialect, asOf: asOf).map { "(NOT \($0))" }
        case .condition(let condition):
            return SQLRenderer.condition(ConditionPlan(condition, asOf: asOf), dialect).map { "COALESCE(\($0), FALSE)" }
        }
    }
}

enum SQLRenderer {
    static let numericColumns: [NumericColumn: String] = [
        .totalSpend: "total_spend", .avgOrderValue: "avg_order_value", .orderCount: "order_count",
        .visitCount: "visit_count", .createdAt: "created_at", .firstOrderAt: "first_order_at",
        .lastOrderAt: "last_order_at", .lastVisitAt: "last_visit_at", .lastSeenAt: "last_seen_at",
    ]

    static func literal(_ bytes: [UInt8]) -> String {
        "'" + String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func condition(_ plan: ConditionPlan, _ dialect: SQLDialect) -> String? {
        func stringColumn(_ source: ConditionPlan.StringSource) -> String {
            switch source {
            case .customerID: "lower(customer_id)"
            case .column(let column): ["name", "email", "phone", "city", "country"][column.rawValue]
            }
        }
        switch plan.test {
        case .numeric(let column, let ranges):
            let name = numericColumns[column]!
            guard !ranges.ranges.isEmpty else { return "FALSE" }
            let parts = ranges.ranges.map { range -> String in
                switch (range.lowerBound == Segments.RangeSet.lowest, range.upperBound == Int64.max) {
                case (true, true): "\(name) IS NOT NULL"
                case (true, false): "\(name) <= \(range.upperBound)"
                case (false, true): "\(name) >= \(range.lowerBound)"
                case (false, false):
                    range.lowerBound == range.upperBound
                        ? "\(name) = \(range.lowerBound)"
                        : "\(name) BETWEEN \(range.lowerBound) AND \(range.upperBound)"
                }
            }
            return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " OR ") + ")"
        case .numericPresent(let column, let present):
            return "\(numericColumns[column]!) IS \(present ? "NOT " : "")NULL"
        case .string(let source, let test):
            let column = stringColumn(source)
            let values = test.needles.map(literal).joined(separator: ", ")
            switch test.op {
            case .eq, .in: return "\(column) IN (\(values))"
            case .ne, .notIn: return "\(column) NOT IN (\(values))"
            case .contains: return "strpos(\(column), \(literal(test.needles[0]))) > 0"
            case .notContains: return "strpos(\(column), \(literal(test.needles[0]))) = 0"
            default: return "starts_with(\(column), \(literal(test.needles[0])))"
            }
        case .stringPresent(let source, let present):
            return "\(stringColumn(source)) IS \(present ? "NOT " : "")NULL"
        case .tags(let needles, let negated):
            let values = needles.map { literal(Array($0.utf8)) }.joined(separator: ", ")
            let any =
                dialect == .duckdb ? "list_has_any(tags, [\(values)])" : "tags && ARRAY[\(values)]::text[]"
            return negated ? "NOT \(any)" : any
        case .tagsPresent(let present):
            let size = dialect == .duckdb ? "len(tags)" : "cardinality(tags)"
            return "\(size) \(present ? ">" : "=") 0"
        case .attribute, .attributePresent:
            return nil
        }
    }
}
