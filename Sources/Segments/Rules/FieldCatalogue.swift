import Events

/// What a rule can say, for people and models alike: every field with its kind, operators and meaning, the
/// deployment's known cities, countries, tags and attribute keys, its currency and today's date. The dashboard's
/// pickers, `GET /segments/fields`, the offline parser's vocabulary and the language model's prompt and schema
/// are all made from this one value, so that none of them can offer what the rule decoder would refuse.
public struct FieldCatalogue: Sendable {
    public struct Entry: Sendable {
        public let field: Field
        public let operators: [Operator]
        public let meaning: String
    }

    public let entries: [Entry]
    public let cities: [String]
    public let countries: [String]
    public let tags: [String]
    public let attributeKeys: [String]
    public let currency: String
    public let today: Timestamp

    /// Known values listed per field at most.
    public static let knownValuesMax = 50

    public init(
        cities: [String], countries: [String] = [], tags: [String], attributeKeys: [String] = [], currency: String,
        today: Timestamp
    ) {
        self.cities = cities
        self.countries = countries
        self.tags = tags
        self.attributeKeys = attributeKeys
        self.currency = currency
        self.today = today
        entries =
            Field.named.map { Entry(field: $0, operators: Operator.accepted(by: $0.kind), meaning: Self.meaning($0)) }
            + attributeKeys.map {
                Entry(
                    field: .attribute($0), operators: Operator.accepted(by: .attribute),
                    meaning: "profile attribute \"\($0)\" (string, number or boolean)")
            }
    }

    /// The catalogue of a live index: its most common cities, countries and tags and its attribute keys.
    public init(index: CustomerIndex, currency: String, today: Timestamp) {
        self.init(
            cities: index.knownValues(of: .city, limit: Self.knownValuesMax),
            countries: index.knownValues(of: .country, limit: Self.knownValuesMax),
            tags: index.knownValues(of: .tags, limit: Self.knownValuesMax),
            attributeKeys: Array(index.attributeKeys.prefix(Self.knownValuesMax)), currency: currency, today: today)
    }

    /// The vocabulary the offline parser recognises bare.
    public var vocabulary: PhraseVocabulary { PhraseVocabulary(cities: cities, tags: tags) }

    static func meaning(_ field: Field) -> String {
        switch field {
        case .customerID: "the customer's id"
        case .name: "full name"
        case .email: "e-mail address"
        case .phone: "phone number"
        case .city: "city (compared ignoring case)"
        case .country: "country, ISO 3166 alpha-2 code such as IN"
        case .tags: "labels on the customer such as vip"
        case .totalSpend: "lifetime spend, money in the deployment currency (0 when never ordered)"
        case .avgOrderValue: "average order value, money (missing when never ordered)"
        case .orderCount: "number of orders (0 when never ordered)"
        case .visitCount: "number of visits (0 when never visited)"
        case .createdAt: "sign-up time (RFC 3339)"
        case .firstOrderAt: "time of the first order (missing when never ordered)"
        case .lastOrderAt: "time of the last order (missing when never ordered)"
        case .lastVisitAt: "time of the last visit (missing when never visited)"
        case .lastSeenAt: "time of the last order or visit"
        case .daysSinceLastOrder: "whole days since the last order (missing when never ordered)"
        case .daysSinceLastVisit: "whole days since the last visit (missing when never visited)"
        case .daysInactive: "whole days since the last order or visit"
        case .daysSinceSignup: "whole days since sign-up"
        case .attribute(let key): "profile attribute \"\(key)\""
        }
    }

    /// The catalogue as the API serves it.
    public var json: JSONValue {
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        return .object(
            JSONObject([
                (
                    "fields",
                    .array(
                        entries.map { entry in
                            .object(
                                JSONObject([
                                    ("name", .string(entry.field.name)), ("kind", .string(entry.field.kind.rawValue)),
                                    ("operators", strings(entry.operators.map(\.rawValue))),
                                    ("meaning", .string(entry.meaning)),
                                ]))
                        })
                ),
                ("cities", strings(cities)), ("countries", strings(countries)), ("tags", strings(tags)),
                ("attribute_keys", strings(attributeKeys)), ("currency", .string(currency)),
                ("today", .string(String(today.description.prefix(10)))),
            ]))
    }
}
