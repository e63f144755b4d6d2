/// The shape of one field of an event's `data` (or of the envelope).
///
/// These specs are the single source of truth: the Swift validator checks them and `JSONSchemaWriter`
/// turns them into the JSON Schemas in `schemas/`, so the two cannot drift apart.
public indirect enum FieldKind: Sendable {
    /// A string of `minLength...maxLength` Unicode scalars.
    case string(minLength: Int = 0, maxLength: Int)
    /// An entity id: 1–`maxLength` scalars, no control characters; `colonAllowed: false` for ids that are joined
    /// with ':' into message ids.
    case identifier(colonAllowed: Bool = true, maxLength: Int = FieldLimits.identifierLengthMax)
    /// An ISO 4217 code: three upper-case letters.
    case currency
    /// One of a fixed set of strings.
    case enumeration([String])
    /// Exactly this string.
    case constant(String)
    /// An RFC 3339 date-time.
    case timestamp
    /// A non-negative exact decimal with at most four fraction digits, at most `Money.maximum`.
    case money
    /// An integer lexeme in `minimum...maximum`.
    case integer(minimum: Int64, maximum: Int64)
    /// `true` or `false`.
    case boolean
    /// An array of at most `maxItems` strings, each 1...`itemMaxLength` scalars.
    case stringList(maxItems: Int, itemMaxLength: Int)
    /// Free-form attributes: identifier-like keys, values string (≤ 1000), number or boolean.
    case attributes(maxProperties: Int)
    /// Any JSON object (validated elsewhere, e.g. segment rules).
    case anyObject
    /// An array of at most `maxItems` objects of the given shape.
    case objectList(maxItems: Int, ObjectSpec)
}

/// One named field.
public struct FieldSpec: Sendable {
    /// The member name.
    public let name: String
    /// Its type and limits.
    public let kind: FieldKind
    /// Whether the member must be present.
    public let isRequired: Bool
    /// Whether `null` is accepted (for upserts, `null` clears the field).
    public let isNullable: Bool

    /// A field; optional and non-nullable unless said otherwise.
    public init(_ name: String, _ kind: FieldKind, required: Bool = false, nullable: Bool = false) {
        self.name = name
        self.kind = kind
        self.isRequired = required
        self.isNullable = nullable
    }
}

/// A closed JSON object: only the listed fields are allowed.
public struct ObjectSpec: Sendable {
    /// The allowed members, in documentation order.
    public let fields: [FieldSpec]

    /// An object shape with these members.
    public init(_ fields: [FieldSpec]) { self.fields = fields }

    /// The place of the field named `name`, if the spec has one. Linear, names of other lengths skipped without a
    /// string comparison: specs are short, and this runs for every member of every event ingested.
    func index(of name: String) -> Int? {
        fields.firstIndex { Self.sameKey($0.name, name) }
    }

    /// Whether two member names are equal, byte counts compared first (cheap for the short names of events).
    static func sameKey(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && lhs == rhs
    }
}

/// Limits shared by the specs, the validator and the generated schemas.
public enum FieldLimits {
    /// Longest entity id or event id.
    public static let identifierLengthMax = 128
    /// Longest message id: `campaign_id:customer_id`.
    public static let messageIDLengthMax = 2 * identifierLengthMax + 1
    /// Longest attribute string value.
    public static let attributeStringLengthMax = 1000
    /// Attribute keys: a letter or underscore, then letters, digits, `_`, `-` or `.`, 64 at most.
    public static let attributeKeyPattern = "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
    /// Envelope extension attribute names, as CloudEvents defines them.
    public static let extensionNamePattern = "^[a-z0-9]{1,20}$"

    /// Identifiers (event ids, customer, order, campaign and message ids) exclude control characters, which no
    /// key should carry and a log line or a CSV export would show wrongly: C0 (U+0000–U+001F), DEL and C1
    /// (U+0080–U+009F). The schemas say the same with a pattern (`identifierPattern`).
    public static func isControlFree(_ bytes: some Sequence<UInt8>) -> Bool {
        var afterC2 = false
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F || (afterC2 && byte >= 0x80 && byte <= 0x9F) { return false }
            afterC2 = byte == 0xC2
        }
        return true
    }

    /// The schema pattern of an identifier: no control characters, and no ':' unless `colonAllowed`.
    public static func identifierPattern(colonAllowed: Bool) -> String {
        "^[^\\x00-\\x1F\\x7F-\\x9F" + (colonAllowed ? "" : ":") + "]*$"
    }
}
