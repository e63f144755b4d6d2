/// One thing wrong with an input, located by a JSON pointer (RFC 6901), e.g. `/data/amount`.
public struct ValidationProblem: Sendable, Equatable, CustomStringConvertible {
    /// Where: a JSON pointer into the validated document; empty for the document itself.
    public let pointer: String
    /// What: a sentence fit for an API client. Never echoes field values, which may be personal data.
    public let message: String

    /// A problem at `pointer`.
    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    public var description: String { pointer.isEmpty ? message : "\(pointer): \(message)" }
}

extension String {
    /// This string as one JSON pointer reference token (`~` → `~0`, `/` → `~1`).
    var jsonPointerEscaped: String {
        guard utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return self }
        var escaped = ""
        for character in self {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// Where a value sits: the pointer of its parent and its own member name or index, joined only when a problem
/// is reported (building pointer strings for every valid field was a large share of validation time).
struct Location {
    let parent: String
    let name: String?

    init(_ parent: String, _ name: String? = nil) {
        self.parent = parent
        self.name = name
    }

    var pointer: String { name.map { "\(parent)/\($0.jsonPointerEscaped)" } ?? parent }
}

/// Checks JSON values against field specs, collecting every problem rather than stopping at the first.
struct Validator {
    private(set) var problems: [ValidationProblem] = []

    mutating func report(_ pointer: String, _ message: String) {
        problems.append(ValidationProblem(pointer: pointer, message: message))
    }

    /// Checks that `value` is an object with exactly the members `spec` allows (`ignoringUnknown`: the members
    /// `spec` allows, others being the caller's to judge).
    mutating func check(
        _ value: JSONValue, against spec: ObjectSpec, at location: Location, ignoringUnknown: Bool = false
    ) {
        guard case .object(let object) = value else {
            report(location.pointer, "expected an object, got \(value.kindName)")
            return
        }
        // The members' pointers are built only when a problem is reported; the object's own once per object.
        let base = location.pointer
        let members = object.members
        // Each field's member, found in one pass over the members; problems are still reported in field order.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: spec.fields.count) { memberOfField in
            memberOfField.initialize(repeating: -1)
            var unknown = 0
            for (index, member) in members.enumerated() {
                if let field = spec.index(of: member.key) { memberOfField[field] = index } else { unknown += 1 }
            }
            for (index, field) in spec.fields.enumerated() {
                guard memberOfField[index] >= 0 else {
                    if field.isRequired { report(Location(base, field.name).pointer, "is required") }
                    continue
                }
                let member = members[memberOfField[index]].value
                if case .null = member, field.isNullable { continue }
                check(member, kind: field.kind, at: Location(base, field.name))
            }
            if unknown > 0 && !ignoringUnknown {
                for member in members where spec.index(of: member.key) == nil {
                    report(Location(base, member.key).pointer, "is not a known field")
                }
            }
        }
    }

    /// Checks one value against one kind.
    mutating func check(_ value: JSONValue, kind: FieldKind, at location: Location) {
        switch kind {
        case .string(let minLength, let maxLength):
            checkString(value, minLength: minLength, maxLength: maxLength, at: location)
        case .identifier(let colonAllowed, let maxLength):
            guard let string = checkString(value, minLength: 1, maxLength: maxLength, at: location) else { return }
            if !colonAllowed && string.utf8.contains(UInt8(ascii: ":")) {
                report(location.pointer, "must not contain ':'")
            }
            if !FieldLimits.isControlFree(string.utf8) {
                report(location.pointer, "must not contain control characters")
            }
        case .currency:
            guard let string = checkString(value, minLength: 0, maxLength: .max, at: location) else { return }
            let bytes = Array(string.utf8)
            if bytes.count != 3 || !bytes.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
                report(location.pointer, "must be a three-letter upper-case currency code such as INR")
            }
        case .enumeration(let allowed):
            guard let string = checkString(value, minLength: 0, maxLength: .max, at: location) else { return }
            if !allowed.contains(where: { ObjectSpec.sameKey($0, string) }) {
                report(location.pointer, "must be one of \(allowed.joined(separator: ", "))")
            }
        case .constant(let expected):
            guard let string = checkString(value, minLength: 0, maxLength: .max, at: location) else { return }
            if string != expected { report(location.pointer, "must be \"\(expected)\"") }
        case .timestamp:
            guard let string = checkString(value, minLength: 0, maxLength: .max, at: location) else { return }
            if Timestamp(rfc3339: string) == nil {
                report(location.pointer, "must be an RFC 3339 date-time such as 2024-05-01T10:00:00Z")
            }
        case .money:
            guard case .number(let number) = value else {
                report(location.pointer, "expected a number, got \(value.kindName)")
                return
            }
            switch Money.parse(number.lexeme) {
            case .success(let money) where money < .zero: report(location.pointer, "must be ≥ 0")
            case .success(let money) where money > .maximum: report(location.pointer, "must be ≤ \(Money.maximum)")
            case .success: break
            case .failure(.tooManyFractionDigits): report(location.pointer, "must have at most 4 fraction digits")
            case .failure(.outOfRange), .failure(.notANumber): report(location.pointer, "must be ≤ \(Money.maximum)")
            }
        case .integer(let minimum, let maximum):
            guard case .number(let number) = value, number.isInteger else {
                report(location.pointer, "expected an integer, got \(value.kindName)")
                return
            }
            guard let integer = number.int64Value, integer >= minimum, integer <= maximum else {
                report(location.pointer, "must be between \(minimum) and \(maximum)")
                return
            }
        case .boolean:
            guard case .bool = value else {
                report(location.pointer, "expected a boolean, got \(value.kindName)")
                return
            }
        case .stringList(let maxItems, let itemMaxLength):
            guard case .array(let elements) = value else {
                report(location.pointer, "expected an array, got \(value.kindName)")
                return
            }
            if elements.count > maxItems { report(location.pointer, "must have at most \(maxItems) items") }
            for (index, element) in elements.enumerated() {
                checkString(
                    element, minLength: 1, maxLength: itemMaxLength, at: Location(location.pointer, String(index)))
            }
        case .attributes(let maxProperties):
            guard case .object(let object) = value else {
                report(location.pointer, "expected an object, got \(value.kindName)")
                return
            }
            if object.count > maxProperties {
                report(location.pointer, "must have at most \(maxProperties) attributes")
            }
            for member in object {
                let memberLocation = Location(location.pointer, member.key)
                if !Validator.isAttributeKey(member.key) {
                    report(
                        memberLocation.pointer,
                        "attribute names start with a letter or '_' and have at most 64 of [A-Za-z0-9_.-]")
                }
                switch member.value {
                case .string:
                    checkString(
                        member.value, minLength: 0, maxLength: FieldLimits.attributeStringLengthMax, at: memberLocation)
                case .number, .bool: break
                default:
                    report(memberLocation.pointer, "expected a string, number or boolean, got \(member.value.kindName)")
                }
            }
        case .anyObject:
            guard case .object = value else {
                report(location.pointer, "expected an object, got \(value.kindName)")
                return
            }
        case .objectList(let maxItems, let itemSpec):
            guard case .array(let elements) = value else {
                report(location.pointer, "expected an array, got \(value.kindName)")
                return
            }
            if elements.count > maxItems { report(location.pointer, "must have at most \(maxItems) items") }
            for (index, element) in elements.enumerated() {
                check(element, against: itemSpec, at: Location(location.pointer, String(index)))
            }
        }
    }

    @discardableResult
    private mutating func checkString(_ value: JSONValue, minLength: Int, maxLength: Int, at location: Location)
        -> String?
    {
        guard case .string(let string) = value else {
            report(location.pointer, "expected a string, got \(value.kindName)")
            return nil
        }
        // Scalars are between a quarter of the UTF-8 bytes and all of them: count them only when that matters.
        let bytes = string.utf8.count
        let length = bytes <= maxLength && bytes >= minLength * 4 ? minLength : string.unicodeScalars.count
        if length < minLength {
            report(
                location.pointer, minLength == 1 ? "must not be empty" : "must have at least \(minLength) characters")
        } else if length > maxLength {
            report(location.pointer, "must have at most \(maxLength) characters")
        }
        return string
    }

    /// Matches `FieldLimits.attributeKeyPattern` without a regex engine on the hot path.
    static func isAttributeKey(_ key: String) -> Bool {
        let bytes = key.utf8
        guard let first = bytes.first, bytes.count <= 64 else { return false }
        func isLetter(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        }
        guard isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst().allSatisfy { byte in
            isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// Matches `FieldLimits.extensionNamePattern`.
    static func isExtensionName(_ name: String) -> Bool {
        let bytes = name.utf8
        return (1...20).contains(bytes.count)
            && bytes.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
            }
    }
}
