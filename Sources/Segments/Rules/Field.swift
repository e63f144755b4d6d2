import Events

/// A customer field a rule can test (SPEC §4). The names are the contract.
public enum Field: Sendable, Hashable, CustomStringConvertible {
    case customerID, name, email, phone, city, country
    case tags
    case totalSpend, avgOrderValue
    case orderCount, visitCount
    case createdAt, firstOrderAt, lastOrderAt, lastVisitAt, lastSeenAt
    case daysSinceLastOrder, daysSinceLastVisit, daysInactive, daysSinceSignup
    /// `attributes.<key>`: a free-form profile attribute (string, number or bool).
    case attribute(String)

    /// How values of a field compare, which decides the operators it accepts.
    public enum Kind: String, Sendable {
        case string, tags, money, integer, timestamp, days, attribute
    }

    /// Every named field (attributes aside), in the order of SPEC §4.
    public static let named: [Field] = [
        .customerID, .name, .email, .phone, .city, .country, .tags, .totalSpend, .avgOrderValue, .orderCount,
        .visitCount, .createdAt, .firstOrderAt, .lastOrderAt, .lastVisitAt, .lastSeenAt, .daysSinceLastOrder,
        .daysSinceLastVisit, .daysInactive, .daysSinceSignup,
    ]

    static let attributePrefix = "attributes."

    /// The field called `name` in rules, or nil.
    public init?(name: String) {
        if name.hasPrefix(Field.attributePrefix) {
            let key = String(name.dropFirst(Field.attributePrefix.count))
            guard !key.isEmpty else { return nil }
            self = .attribute(key)
            return
        }
        guard let field = Field.named.first(where: { $0.name == name }) else { return nil }
        self = field
    }

    /// The name used in rules.
    public var name: String {
        switch self {
        case .customerID: "customer_id"
        case .name: "name"
        case .email: "email"
        case .phone: "phone"
        case .city: "city"
        case .country: "country"
        case .tags: "tags"
        case .totalSpend: "total_spend"
        case .avgOrderValue: "avg_order_value"
        case .orderCount: "order_count"
        case .visitCount: "visit_count"
        case .createdAt: "created_at"
        case .firstOrderAt: "first_order_at"
        case .lastOrderAt: "last_order_at"
        case .lastVisitAt: "last_visit_at"
        case .lastSeenAt: "last_seen_at"
        case .daysSinceLastOrder: "days_since_last_order"
        case .daysSinceLastVisit: "days_since_last_visit"
        case .daysInactive: "days_inactive"
        case .daysSinceSignup: "days_since_signup"
        case .attribute(let key): Field.attributePrefix + key
        }
    }

    public var description: String { name }

    /// How the field's values compare.
    public var kind: Kind {
        switch self {
        case .customerID, .name, .email, .phone, .city, .country: .string
        case .tags: .tags
        case .totalSpend, .avgOrderValue: .money
        case .orderCount, .visitCount: .integer
        case .createdAt, .firstOrderAt, .lastOrderAt, .lastVisitAt, .lastSeenAt: .timestamp
        case .daysSinceLastOrder, .daysSinceLastVisit, .daysInactive, .daysSinceSignup: .days
        case .attribute: .attribute
        }
    }

    /// For a derived day field: the timestamp field it counts whole days from.
    public var dayBase: Field? {
        switch self {
        case .daysSinceLastOrder: .lastOrderAt
        case .daysSinceLastVisit: .lastVisitAt
        case .daysInactive: .lastSeenAt
        case .daysSinceSignup: .createdAt
        default: nil
        }
    }
}

/// A comparison of SPEC §5.
public enum Operator: String, Sendable, Hashable, CaseIterable {
    case eq, ne, gt, gte, lt, lte, between
    case `in` = "in"
    case notIn = "not_in"
    case contains
    case notContains = "not_contains"
    case startsWith = "starts_with"
    case exists, missing

    /// How many operands the operator takes.
    enum Arity { case none, one, range, list }

    var arity: Arity {
        switch self {
        case .exists, .missing: .none
        case .between: .range
        case .in, .notIn: .list
        default: .one
        }
    }

    /// The operators each kind of field accepts.
    static func accepted(by kind: Field.Kind) -> [Operator] {
        switch kind {
        case .string: [.eq, .ne, .in, .notIn, .contains, .notContains, .startsWith, .exists, .missing]
        case .tags: [.contains, .notContains, .in, .notIn, .exists, .missing]
        case .money, .integer, .days: [.eq, .ne, .gt, .gte, .lt, .lte, .between, .in, .notIn, .exists, .missing]
        case .timestamp: [.eq, .ne, .gt, .gte, .lt, .lte, .between, .exists, .missing]
        case .attribute: Operator.allCases
        }
    }
}
