import Memory
import Foundation

/// What folds need of a valid event: its identity, time, key and typed payload, without the JSON tree.
public struct EventEssentials: Sendable, Equatable {
    /// Unique per event; projections ignore repeats.
    public let id: String
    public let type: EventType
    /// The event's own `time`, when it has one.
    public let time: Timestamp?
    /// The entity id named by `type.keyField`.
    public let key: String
    public let payload: EventPayload

    /// Essentials given member by member.
    public init(id: String, type: EventType, time: Timestamp?, key: String, payload: EventPayload) {
        self.id = id
        self.type = type
        self.time = time
        self.key = key
        self.payload = payload
    }
}

extension CloudEvent {
    /// This event's essentials.
    public var essentials: EventEssentials {
        EventEssentials(id: id, type: type, time: time, key: key, payload: payload)
    }

    /// What `decode(structured:)` gives, reduced to its essentials. Plain events are read in one pass by
    /// `EventScanner`; anything else, valid or not, goes through the full parser and validator, so the result and
    /// every error message are always theirs.
    public static func decodeEssentials(structured bytes: [UInt8]) -> Result<EventEssentials, EventValidationError> {
        bytes.withUnsafeBytes { decodeEssentials(structured: $0) }
    }

    /// `decodeEssentials(structured:)` for bytes lent by a log; they are copied only when the full decoder must
    /// decide.
    public static func decodeEssentials(structured bytes: UnsafeRawBufferPointer) -> Result<
        EventEssentials, EventValidationError
    > {
        if let scanned = scanEssentials(structured: bytes) { return .success(scanned) }
        return decode(structured: Array(bytes)).map(\.essentials)
    }

    /// The essentials of a plain, valid structured-mode event read in one pass; nil when `decode(structured:)` must
    /// decide (the event may still be valid).
    public static func scanEssentials(structured bytes: UnsafeRawBufferPointer) -> EventEssentials? {
        var scanned: EventEssentials?
        _ = scanEssentials(structured: bytes) { scanned = $0 }
        return scanned
    }

    /// `scanEssentials(structured:)` handing the essentials to `body` in the frame that built them, to be moved once
    /// into their final place (a batch's slot) instead of being returned up through every caller, a copy of the
    /// whole value at each step; false, without calling `body`, when `decode(structured:)` must decide.
    public static func scanEssentials(
        structured bytes: UnsafeRawBufferPointer, _ body: (consuming EventEssentials) -> Void
    ) -> Bool {
        var scanner = EventScanner(bytes: bytes.assumingMemoryBound(to: UInt8.self))
        return scanner.envelope(body)
    }
}

/// Reads a structured-mode event in one pass over its bytes straight into a typed payload, checking each value
/// against the type's `FieldSpec`s on the way: no JSON tree, no second walk to validate it, no third to read it.
///
/// It takes only the plain shape producers send: strings without escapes, the envelope's own attributes with
/// `type` before `data`, no free-form `rules` objects. On anything else, valid or not, it gives up (nil) and
/// the caller falls back to `JSONParser` and `Validator`, which also word the errors. So it accepts a subset of
/// what they accept and must return the same for it; `EventScannerTests` hold it to that.
struct EventScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// The timestamp parsed last and the bytes it was parsed from (`timestamp(_:)`).
    private var lastTimestamp: (range: Range<Int>, value: Timestamp)?

    fileprivate init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: Envelope

    /// The envelope attributes the scanner knows, by index; `data` is last.
    private static let attributeNames = NameTable([
        "specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data",
    ])
    private static let required = 0b1000_1111
    private static let typeNames = NameTable(EventType.allCases.map(\.rawValue))
    private static let types = EventType.allCases
    private static let plans = types.map { ScanPlan($0.dataSpec) }

    /// The most fields a type's data has: the envelope's scanned values are kept on the stack in as many places.
    private static let fieldCountMax = plans.map(\.checks.count).max() ?? 0

    /// Calls `body` with the essentials when the bytes are a plain, valid event; false when the full decoder must
    /// decide.
    fileprivate mutating func envelope(_ body: (consuming EventEssentials) -> Void) -> Bool {
        // Kept on the stack, only for the scan: a heap array per event is allocated, then destroyed element by
        // element through the runtime's generic witnesses.
        withUnsafeTemporaryAllocation(of: ScannedValue.self, capacity: Self.fieldCountMax) { values in
            values.initialize(repeating: .absent)
            defer { values.deinitialize() }
            return envelope(dataInto: values, body)
        }
    }

    /// The envelope, its data's values read into `values` (which hold `.absent`), handed to `body`.
    private mutating func envelope(
        dataInto values: UnsafeMutableBufferPointer<ScannedValue>, _ body: (consuming EventEssentials) -> Void
    ) -> Bool {
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = 0
        var id = ""
        var typeIndex: Int?
        var time: Timestamp?
        var last = -1
        let complete = members(closing: UInt8(ascii: "}")) { scanner in
            guard let attribute = scanner.memberName(in: Self.attributeNames, expected: last + 1),
                seen & (1 << attribute) == 0
            else { return false }
            seen |= 1 << attribute
            last = attribute
            return scanner.attribute(attribute, typeIndex: &typeIndex, id: &id, time: &time, data: values)
        }
        skipWhitespace()
        // `data` is required, so when every required attribute was read, so were the data's values.
        guard complete, position == bytes.count, seen & Self.required == Self.required, let typeIndex else {
            return false
        }
        let type = Self.types[typeIndex]
        let data = ScannedFields(plan: Self.plans[typeIndex], values: UnsafeBufferPointer(values), source: bytes)
        body(
            EventEssentials(
                id: id, type: type, time: time, key: data.string(type.keyField) ?? "",
                payload: EventPayload(type: type, fields: data)))
        return true
    }

    /// Reads envelope attribute number `attribute` into its variable (`data` into its values); false when it is not
    /// plain and valid.
    private mutating func attribute(
        _ attribute: Int, typeIndex: inout Int?, id: inout String, time: inout Timestamp?,
        data: UnsafeMutableBufferPointer<ScannedValue>
    ) -> Bool {
        switch attribute {
        case 0:
            guard let value = string() else { return false }
            return equals(value, "1.0")
        case 1:
            guard let value = string(), (1...FieldLimits.identifierLengthMax).contains(scalarCount(value)),
                FieldLimits.isControlFree(slice(value))
            else { return false }
            id = text(value)
        case 2:
            guard let value = string() else { return false }
            return (1...1024).contains(scalarCount(value))
        case 3:
            guard let value = string(), let index = Self.typeNames.index(of: value, in: bytes) else {
                return false
            }
            typeIndex = index
        case 4:
            guard let value = string(), let parsed = timestamp(value) else { return false }
            time = parsed
        case 5:
            guard let value = string() else { return false }
            return scalarCount(value) <= 1024
        case 6:
            guard let value = string() else { return false }
            return equals(value, CloudEvent.dataContentType)
        default:
            guard let typeIndex else { return false }
            return members(of: Self.plans[typeIndex], into: data)
        }
        return true
    }

    // MARK: Values checked against specs

    /// The members of an object of exactly the shape `plan` describes, each into its field's place in `values`
    /// (which hold `.absent`); false when the object is not that shape.
    private mutating func members(of plan: ScanPlan, into values: UnsafeMutableBufferPointer<ScannedValue>) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = 0
        var last = -1
        let complete = members(closing: UInt8(ascii: "}")) { scanner in
            guard let index = scanner.memberName(in: plan.names, expected: last + 1),
                seen & (1 << index) == 0, let value = scanner.value(plan, index)
            else { return false }
            seen |= 1 << index
            last = index
            values[index] = value
            return true
        }
        return complete && seen & plan.required == plan.required
    }

    /// The value of member number `index` of `plan`, checked as `Validator` checks its field.
    private mutating func value(_ plan: ScanPlan, _ index: Int) -> ScannedValue? {
        let field = plan.checks[index]
        if current == UInt8(ascii: "n") {
            guard field.isNullable, literal("null") else { return nil }
            return .null
        }
        switch field.kind {
        case .string:
            guard let range = string(), (field.minimum...field.maximum).contains(Int64(scalarCount(range))) else {
                return nil
            }
            return .string(range)
        case .identifier:
            guard let range = string(), (1...field.maximum).contains(Int64(scalarCount(range))),
                field.colonAllowed || !slice(range).contains(UInt8(ascii: ":")), FieldLimits.isControlFree(slice(range))
            else { return nil }
            return .string(range)
        case .currency:
            guard let range = string(), range.count == 3,
                slice(range).allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
            else { return nil }
            return .string(range)
        case .enumeration:
            guard let range = string(), case .enumeration(let allowed) = plan.fields[index].kind,
                allowed.contains(where: { equals(range, $0) })
            else { return nil }
            return .string(range)
        case .constant:
            guard let range = string(), case .constant(let expected) = plan.fields[index].kind,
                equals(range, expected)
            else { return nil }
            return .string(range)
        case .timestamp:
            guard let range = string(), let timestamp = timestamp(range) else { return nil }
            return .timestamp(timestamp)
        case .money:
            guard let number = number(), case .success(let money) = Money.parse(utf8: slice(number.range)),
                money >= .zero, money <= .maximum
            else { return nil }
            return .money(money)
        case .integer:
            guard let number = number(), number.isInteger, let integer = integer(number.range),
                integer >= field.minimum, integer <= field.maximum
            else { return nil }
            return .integer(integer)
        case .boolean:
            return boolean().map(ScannedValue.bool)
        case .stringList:
            var strings: [String] = []
            let complete = array { scanner in
                guard strings.count < field.maximum, let range = scanner.string(),
                    (1...field.itemLengthMax).contains(scanner.scalarCount(range))
                else { return false }
                strings.append(scanner.text(range))
                return true
            }
            return complete ? .strings(strings) : nil
        case .attributes:
            return attributes(maxProperties: Int(field.maximum)).map(ScannedValue.attributes)
        case .anyObject:
            return nil
        case .objectList:
            guard let items = plan.items[index] else { return nil }
            var objects: [[ScannedValue]] = []
            let complete = array { scanner in
                guard objects.count < field.maximum else { return false }
                var values = [ScannedValue](repeating: .absent, count: items.checks.count)
                guard values.withUnsafeMutableBufferPointer({ scanner.members(of: items, into: $0) }) else {
                    return false
                }
                objects.append(values)
                return true
            }
            return complete ? .objects(objects) : nil
        }
    }

    /// Free-form attributes, checked as `Validator` checks `.attributes`.
    private mutating func attributes(maxProperties: Int) -> [String: AttributeValue]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var result: [String: AttributeValue] = [:]
        // Customers carry a few attributes: one table sized for them instead of growing it step by step.
        result.reserveCapacity(8)
        let complete = members(closing: UInt8(ascii: "}")) { scanner in
            guard result.count < maxProperties, let name = scanner.memberName() else { return false }
            let key = scanner.text(name)
            guard Validator.isAttributeKey(key), result[key] == nil else { return false }
            switch scanner.current {
            case UInt8(ascii: "\""):
                guard let range = scanner.string(),
                    scanner.scalarCount(range) <= FieldLimits.attributeStringLengthMax
                else {
                    return false
                }
                result[key] = .string(scanner.text(range))
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                guard let bool = scanner.boolean() else { return false }
                result[key] = .bool(bool)
            default:
                guard let number = scanner.number() else { return false }
                result[key] = .number(JSONNumber(validLexeme: scanner.text(number.range), isInteger: number.isInteger))
            }
            return true
        }
        return complete ? result : nil
    }

    /// Reads `[element, …]`, calling `element` at each; false when it or the syntax fails.
    private mutating func array(_ element: (inout EventScanner) -> Bool) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        return members(closing: UInt8(ascii: "]"), element)
    }

    /// The members of an object or elements of an array, after its opening bracket and through `closing`: calls
    /// `member` at each; false when it or the syntax fails (a trailing comma included).
    private mutating func members(closing: UInt8, _ member: (inout EventScanner) -> Bool) -> Bool {
        skipWhitespace()
        if take(closing) { return true }
        while true {
            guard member(&self) else { return false }
            skipWhitespace()
            guard take(UInt8(ascii: ",")) else { return take(closing) }
            skipWhitespace()
        }
    }

    // MARK: Tokens

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[range])
    }

    /// The bytes of `range` as a string; `string()` has checked that they are valid UTF-8.
    private func text(_ range: Range<Int>) -> String { String(decoding: slice(range), as: UTF8.self) }

    private func equals(_ range: Range<Int>, _ expected: String) -> Bool {
        var expected = expected
        return expected.withUTF8 { expected in
            range.count == expected.count
                && (range.isEmpty
                    || memcmp(bytes.baseAddress! + range.lowerBound, expected.baseAddress!, range.count) == 0)
        }
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// `"name" :` with the whitespace around it, as the name's number in `names`, looking from `expected` on;
    /// nil when it is none of them. Names are compared in place, quotes included, the expected one first
    /// (producers write members in one order): only a name that is none of them, or not plain, is read as a
    /// string and looked up.
    private mutating func memberName(in names: NameTable, expected: Int) -> Int? {
        skipWhitespace()
        let index: Int
        if let (found, length) = names.quoted(at: position, in: bytes, expected: expected) {
            position += length
            index = found
        } else {
            guard let name = string(), let found = names.index(of: name, in: bytes, expected: expected) else {
                return nil
            }
            index = found
        }
        skipWhitespace()
        guard take(UInt8(ascii: ":")) else { return nil }
        skipWhitespace()
        return index
    }

    /// `"name" :` with the whitespace around it; the range of the name.
    private mutating func memberName() -> Range<Int>? {
        skipWhitespace()
        guard let name = string() else { return nil }
        skipWhitespace()
        guard take(UInt8(ascii: ":")) else { return nil }
        skipWhitespace()
        return name
    }

    /// A string without escapes or control characters: the range of its contents, whose bytes are valid UTF-8.
    private mutating func string() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        var high: UInt8 = 0
        skipPlainASCII()
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                let range = start..<(position - 1)
                // The parser's own rule for non-ASCII strings.
                guard high < 0x80 || String(validating: slice(range), as: UTF8.self) != nil else { return nil }
                return range
            }
            guard byte >= 0x20, byte != UInt8(ascii: "\\") else { return nil }
            high |= byte
            position += 1
        }
        return nil
    }

    /// Skips eight bytes at a time while none of them ends the string, escapes, is a control character or is not
    /// ASCII, then up to the first that does in the word that has it; `string()` reads on from there byte by byte.
    /// Most of a record's bytes are in strings, most strings are short: their last bytes, read one at a time, were
    /// most of reading them.
    private mutating func skipPlainASCII() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while position + 8 <= bytes.count {
            let word = (base + position).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
            let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            // A byte of `x` is zero (or, for the last term, below 0x20) only if its high bit is set in these; a
            // word with any high bit set, non-ASCII bytes included, is left to the byte loop.
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
            let stops = (special | word) & highs
            if stops != 0 {
                // The lowest flagged byte is exact (a borrow only ever flags bytes above a real match).
                position += stops.trailingZeroBitCount / 8
                return
            }
            position += 8
        }
    }

    /// The Unicode scalars in a string `string()` returned (its UTF-8 is valid): its bytes less the continuation
    /// bytes (`10xxxxxx`), counted eight at a time.
    private func scalarCount(_ range: Range<Int>) -> Int {
        var count = range.count
        var index = range.lowerBound
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while index + 8 <= range.upperBound {
            let word = (base + index).loadUnaligned(as: UInt64.self)
            // Per byte: its top bit set and the one below clear (shifted up, each byte's bit 6 lands on its bit 7).
            count -= (word & ~(word << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
            index += 8
        }
        while index < range.upperBound {
            if bytes[index] & 0xC0 == 0x80 { count -= 1 }
            index += 1
        }
        return count
    }

    /// The timestamp the bytes of `range` spell, if they are one. An event's `time` and its data's own time
    /// (`placed_at`, `visited_at`) are nearly always the same text: it is parsed once.
    private mutating func timestamp(_ range: Range<Int>) -> Timestamp? {
        if let (last, value) = lastTimestamp, last.count == range.count,
            Bytes.equal(bytes.baseAddress! + last.lowerBound, bytes.baseAddress! + range.lowerBound, count: range.count)
        {
            return value
        }
        guard let parsed = Timestamp.parse(slice(range)) else { return nil }
        lastTimestamp = (range, parsed)
        return parsed
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        position += count
        return true
    }

    private mutating func boolean() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    /// A number token as the JSON grammar defines it.
    private mutating func number() -> (range: Range<Int>, isInteger: Bool)? {
        let start = position
        var isInteger = true
        _ = take(UInt8(ascii: "-"))
        guard let first = current, Self.isDigit(first) else { return nil }
        position += 1
        if first == UInt8(ascii: "0") {
            if let next = current, Self.isDigit(next) { return nil }
        } else {
            skipDigits()
        }
        if take(UInt8(ascii: ".")) {
            isInteger = false
            guard let digit = current, Self.isDigit(digit) else { return nil }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, Self.isDigit(digit) else { return nil }
            skipDigits()
        }
        return (start..<position, isInteger)
    }

    /// An integer token's value; nil beyond 18 digits (such values are out of every spec's range anyway, and the
    /// full decoder words the error).
    private func integer(_ range: Range<Int>) -> Int64? {
        var digits = slice(range)[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard digits.count <= 18 else { return nil }
        let magnitude = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        return negative ? -magnitude : magnitude
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = current, Self.isDigit(byte) { position += 1 }
    }
}

/// An object spec prepared for scanning: member names as bytes, each field's checks as plain values, and the plan
/// of each list's items.
private final class ScanPlan: Sendable {
    let fields: [FieldSpec]
    let names: NameTable
    /// Per field, what the scanner checks: read per member of every record, so plain values that copy without
    /// retaining (a `FieldKind` is boxed; copying a `FieldSpec` retained it).
    let checks: [FieldCheck]
    /// The fields that must be present, one bit per index.
    let required: Int
    /// The names, to find a field by (`ScannedFields`), and their UTF-8 lengths, to skip most without comparing.
    let fieldNames: [String]
    let nameLengths: [Int]
    let items: [ScanPlan?]

    init(_ spec: ObjectSpec) {
        precondition(spec.fields.count < Int.bitWidth, "an object spec with more fields than bits in Int")
        fields = spec.fields
        names = NameTable(spec.fields.map(\.name))
        checks = spec.fields.map(FieldCheck.init)
        required = spec.fields.indices.reduce(0) { $0 | (spec.fields[$1].isRequired ? 1 << $1 : 0) }
        fieldNames = spec.fields.map(\.name)
        nameLengths = spec.fields.map(\.name.utf8.count)
        items = spec.fields.map { field in
            if case .objectList(_, let itemSpec) = field.kind { return ScanPlan(itemSpec) }
            return nil
        }
    }
}

/// A field's kind and limits as plain values; enumerations and constants keep their strings in the `FieldSpec`.
private struct FieldCheck {
    enum Kind {
        case string, identifier, currency, enumeration, constant, timestamp, money, integer, boolean, stringList
        case attributes, anyObject, objectList
    }
    var kind: Kind
    /// A string's least scalars, an integer's minimum.
    var minimum: Int64 = 0
    /// A string's most scalars, an integer's maximum, a list's most items, attributes' most properties.
    var maximum: Int64 = 0
    /// A string list's longest item.
    var itemLengthMax = 0
    var colonAllowed = true
    var isNullable: Bool

    init(_ field: FieldSpec) {
        isNullable = field.isNullable
        switch field.kind {
        case .string(let minLength, let maxLength):
            kind = .string
            (minimum, maximum) = (Int64(minLength), Int64(maxLength))
        case .identifier(let colonAllowed, let maxLength):
            kind = .identifier
            self.colonAllowed = colonAllowed
            (minimum, maximum) = (1, Int64(maxLength))
        case .currency: kind = .currency
        case .enumeration: kind = .enumeration
        case .constant: kind = .constant
        case .timestamp: kind = .timestamp
        case .money: kind = .money
        case .integer(let minimum, let maximum):
            kind = .integer
            (self.minimum, self.maximum) = (minimum, maximum)
        case .boolean: kind = .boolean
        case .stringList(let maxItems, let itemMaxLength):
            kind = .stringList
            (maximum, itemLengthMax) = (Int64(maxItems), itemMaxLength)
        case .attributes(let maxProperties):
            kind = .attributes
            maximum = Int64(maxProperties)
        case .anyObject: kind = .anyObject
        case .objectList(let maxItems, _):
            kind = .objectList
            maximum = Int64(maxItems)
        }
    }
}

/// Names to find a member by, held so that a lookup allocates and retains nothing (an array of byte arrays retains
/// each name it compares, on the hottest path of decoding).
private final class NameTable: @unchecked Sendable {
    // @unchecked Sendable: the buffers are written once in `init` and only read after.
    /// The names' bytes, end to end.
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// Per name: where it starts in `bytes` and its length.
    private let spans: UnsafeMutableBufferPointer<(start: Int, count: Int)>
    /// Per name: its first eight bytes (`head`), which tell most names of one length apart at once.
    private let heads: UnsafeMutableBufferPointer<UInt64>

    init(_ names: [String]) {
        let utf8 = names.map { Array($0.utf8) }
        bytes = .allocate(capacity: max(1, utf8.reduce(0) { $0 + $1.count }))
        spans = .allocate(capacity: max(1, names.count))
        heads = .allocate(capacity: max(1, names.count))
        var start = 0
        for (index, name) in utf8.enumerated() {
            _ = UnsafeMutableBufferPointer(rebasing: bytes[start..<start + name.count]).initialize(from: name)
            spans[index] = (start, name.count)
            heads[index] = name.withUnsafeBytes { Self.head($0.baseAddress!, count: name.count, readable: 0) }
            start += name.count
        }
        count = names.count
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
        heads.deallocate()
    }

    let count: Int

    /// Which name the bytes of `range` of `source` spell, looking from name number `expected` on (and round).
    /// Producers write members in one order, mostly the table's, some left out: a scanner expecting the name after
    /// the one it found last finds it at once or a step or two on, where a search from the first name compares
    /// most of the table each time.
    func index(of range: Range<Int>, in source: UnsafeBufferPointer<UInt8>, expected: Int = 0) -> Int? {
        let length = range.count
        let candidate = UnsafeRawPointer(source.baseAddress! + range.lowerBound)
        let head = Self.head(candidate, count: length, readable: source.count - range.lowerBound)
        let start = expected < count ? expected : 0
        for step in 0..<count {
            let index = start + step < count ? start + step : start + step - count
            if name(index, is: candidate, length: length, head: head) { return index }
        }
        return nil
    }

    /// Which name, in quotes, the bytes of `source` at `position` start with, and how many bytes that is, looking
    /// from name number `expected` on (and round), as `index(of:in:expected:)` does; nil when none does (a name
    /// with other bytes, or not plain, is for `index(of:in:expected:)` to find).
    func quoted(at position: Int, in source: UnsafeBufferPointer<UInt8>, expected: Int) -> (index: Int, length: Int)? {
        guard position < source.count, source[position] == UInt8(ascii: "\"") else { return nil }
        let start = expected < count ? expected : 0
        for step in 0..<count {
            let index = start + step < count ? start + step : start + step - count
            let (from, length) = spans[index]
            let end = position + length + 2
            if end <= source.count, source[end - 1] == UInt8(ascii: "\""),
                Bytes.equal(bytes.baseAddress! + from, source.baseAddress! + position + 1, count: length)
            {
                return (index, length + 2)
            }
        }
        return nil
    }

    /// Whether name `index` is the `length` bytes at `candidate`, whose `head` is given.
    @inline(__always)
    private func name(_ index: Int, is candidate: UnsafeRawPointer, length: Int, head: UInt64) -> Bool {
        spans[index].count == length && heads[index] == head
            && (length <= 8
                || Bytes.equal(bytes.baseAddress! + spans[index].start + 8, candidate + 8, count: length - 8))
    }

    /// The first eight bytes of the `count` at `start` (fewer zero-padded), as a little-endian word; loaded at once
    /// when `readable` bytes from `start` allow it.
    private static func head(_ start: UnsafeRawPointer, count: Int, readable: Int) -> UInt64 {
        if readable >= 8 {
            let word = UInt64(littleEndian: start.loadUnaligned(as: UInt64.self))
            return count >= 8 ? word : word & ((1 << (8 * UInt64(count))) &- 1)
        }
        var word: UInt64 = 0
        for index in 0..<min(count, 8) {
            word |= UInt64(start.load(fromByteOffset: index, as: UInt8.self)) << (8 * UInt64(index))
        }
        return word
    }

}

/// A value the scanner read, already checked against its field's kind.
private enum ScannedValue {
    case absent
    case null
    /// Where a string's bytes are in the scanned event: made a `String` only if a payload reads it.
    case string(Range<Int>)
    case timestamp(Timestamp)
    case integer(Int64)
    case money(Money)
    case bool(Bool)
    case strings([String])
    case attributes([String: AttributeValue])
    /// A list of objects: the values of each, by their index in the list's item plan.
    case objects([[ScannedValue]])
}

/// The members of one scanned object, by their index in its plan; valid only while the scanner lends them and
/// the bytes they were read from.
private struct ScannedFields: PayloadFields {
    let plan: ScanPlan
    let values: UnsafeBufferPointer<ScannedValue>
    /// The scanned event, whose bytes strings are made from.
    let source: UnsafeBufferPointer<UInt8>

    private func index(_ name: String) -> Int? {
        let length = name.utf8.count
        for index in plan.nameLengths.indices where plan.nameLengths[index] == length {
            if plan.fieldNames[index] == name { return index }
        }
        return nil
    }

    private func value(_ name: String) -> ScannedValue { index(name).map { values[$0] } ?? .absent }

    func isNull(_ name: String) -> Bool {
        if case .null = value(name) { return true }
        return false
    }

    func string(_ name: String) -> String? {
        // `EventScanner.string()` checked that the bytes are valid UTF-8.
        if case .string(let range) = value(name) {
            return String(decoding: UnsafeBufferPointer(rebasing: source[range]), as: UTF8.self)
        }
        return nil
    }

    func timestamp(_ name: String) -> Timestamp? {
        if case .timestamp(let value) = value(name) { return value }
        return nil
    }

    func integer(_ name: String) -> Int64? {
        if case .integer(let value) = value(name) { return value }
        return nil
    }

    func money(_ name: String) -> Money? {
        if case .money(let value) = value(name) { return value }
        return nil
    }

    func bool(_ name: String) -> Bool? {
        if case .bool(let value) = value(name) { return value }
        return nil
    }

    func strings(_ name: String) -> [String]? {
        if case .strings(let value) = value(name) { return value }
        return nil
    }

    func attributes(_ name: String) -> [String: AttributeValue]? {
        if case .attributes(let value) = value(name) { return value }
        return nil
    }

    /// Never: the scanner gives `rules` objects to the full decoder.
    func object(_ name: String) -> JSONObject? { nil }

    func objects<Item>(_ name: String, _ read: (ScannedFields) -> Item) -> [Item]? {
        guard let index = index(name), case .objects(let lists) = values[index], let items = plan.items[index] else {
            return nil
        }
        return lists.map { list in
            list.withUnsafeBufferPointer { read(ScannedFields(plan: items, values: $0, source: source)) }
        }
    }
}
