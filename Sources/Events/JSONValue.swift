/// A parsed JSON document. Numbers keep their source text so that money is never rounded through `Double`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The kind name used in error messages ("string", "number", …).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let number): number.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The object payload, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// A JSON number as written: the lexeme is kept and interpreted exactly on demand.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The number's source text, already checked against the JSON grammar.
    public let lexeme: String
    /// True when the lexeme has neither fraction nor exponent.
    public let isInteger: Bool

    /// Wraps a lexeme known to be a valid JSON number.
    init(validLexeme: String, isInteger: Bool) {
        self.lexeme = validLexeme
        self.isInteger = isInteger
    }

    /// A number from its text, or nil when the text is not a JSON number.
    public init?(lexeme: String) {
        guard case .number(let number)? = try? JSONParser.parse(lexeme) else { return nil }
        self = number
    }

    /// An integer number.
    public init(_ value: Int64) {
        self.lexeme = String(value)
        self.isInteger = true
    }

    /// The value as an `Int64` when the lexeme is an integer in range.
    public var int64Value: Int64? { isInteger ? Int64(lexeme) : nil }

    /// An approximate value, for display and non-monetary statistics only.
    public var doubleValue: Double { Double(lexeme) ?? .nan }

    public var description: String { lexeme }
}

/// One member of a JSON object. A struct, not a tuple: arrays of tuples need their type metadata looked up at run
/// time on every use.
public struct JSONMember: Sendable, Equatable {
    public let key: String
    public var value: JSONValue

    /// A member named `key`.
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON object: members in document order, keys unique (the parser rejects duplicates).
public struct JSONObject: Sendable, Equatable, Sequence {
    /// The members in the order they were written.
    public private(set) var members: [JSONMember]

    /// An object with the given members; later duplicates replace earlier ones.
    public init(_ members: [(String, JSONValue)] = []) {
        self.members = []
        self.members.reserveCapacity(members.count)
        for (key, value) in members { self[key] = value }
    }

    /// An object from members whose keys are known to be unique.
    init(uniqueMembers: [JSONMember]) {
        self.members = uniqueMembers
    }

    /// The member named `key`. Linear: event objects are small, and order is kept for stable output.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key.utf8.count == key.utf8.count && member.key == key {
                return member.value
            }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key.utf8.count == key.utf8.count && $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(JSONMember(key: key, value: newValue))
            }
        }
    }

    /// The number of members.
    public var count: Int { members.count }

    public func makeIterator() -> IndexingIterator<[JSONMember]> { members.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && lhs.members.allSatisfy { member in rhs[member.key] == member.value }
    }
}
