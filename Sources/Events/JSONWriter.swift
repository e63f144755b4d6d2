extension JSONValue {
    /// Compact JSON text (UTF-8), members in stored order. Deterministic: the same value gives the same bytes.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(into: &output)
        return output
    }

    /// Compact JSON text as a `String`.
    public var jsonText: String { String(decoding: serialized(), as: UTF8.self) }

    /// Appends compact JSON text to `output`.
    public func write(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.lexeme.utf8)
        case .string(let string): JSONValue.writeString(string, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                element.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                member.value.write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes a quoted, escaped JSON string.
    static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        let written: Void? = string.utf8.withContiguousStorageIfAvailable { writeEscaped($0, into: &output) }
        if written == nil { Array(string.utf8).withUnsafeBufferPointer { writeEscaped($0, into: &output) } }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends `bytes` escaped for a JSON string: runs that need no escape (nearly all text) are copied whole.
    private static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        var runStart = 0
        for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            if runStart < index { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            }
        }
        if runStart < bytes.count { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
    }
}

extension JSONValue {
    /// Indented JSON text (two spaces), members in stored order, ending with a newline. For files people read.
    public var prettyText: String {
        var output: [UInt8] = []
        writePretty(into: &output, indent: 0)
        output.append(0x0A)
        return String(decoding: output, as: UTF8.self)
    }

    private func writePretty(into output: inout [UInt8], indent: Int) {
        let inner = [UInt8](repeating: 0x20, count: (indent + 1) * 2)
        let outer = [UInt8](repeating: 0x20, count: indent * 2)
        switch self {
        case .array(let elements) where !elements.isEmpty:
            output.append(contentsOf: "[\n".utf8)
            for (index, element) in elements.enumerated() {
                output.append(contentsOf: inner)
                element.writePretty(into: &output, indent: indent + 1)
                output.append(contentsOf: (index + 1 < elements.count ? ",\n" : "\n").utf8)
            }
            output.append(contentsOf: outer)
            output.append(UInt8(ascii: "]"))
        case .object(let object) where object.count > 0:
            output.append(contentsOf: "{\n".utf8)
            for (index, member) in object.members.enumerated() {
                output.append(contentsOf: inner)
                JSONValue.writeString(member.key, into: &output)
                output.append(contentsOf: ": ".utf8)
                member.value.writePretty(into: &output, indent: indent + 1)
                output.append(contentsOf: (index + 1 < object.count ? ",\n" : "\n").utf8)
            }
            output.append(contentsOf: outer)
            output.append(UInt8(ascii: "}"))
        default:
            write(into: &output)
        }
    }
}
