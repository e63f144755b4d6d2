import Events

/// A compact, deterministic binary encoding for read-model records: LEB128 varints, length-prefixed UTF-8.
/// Deterministic output matters: the digest of a read model is a hash of these bytes.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    /// A writer that appends to `buffer`, taking it over (no copy) until `finish(into:)` hands it back.
    init(appendingTo buffer: inout [UInt8]) { swap(&bytes, &buffer) }

    /// Hands the buffer taken by `init(appendingTo:)` back, with what was written appended.
    mutating func finish(into buffer: inout [UInt8]) { swap(&bytes, &buffer) }

    mutating func write(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zig-zag so that small negative numbers stay short.
    mutating func write(_ value: Int64) { write(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }
    mutating func write(_ value: Int) { write(Int64(value)) }
    mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func write(_ value: String) {
        let utf8 = value.utf8
        write(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func write(_ value: String?) {
        write(value != nil)
        if let value { write(value) }
    }

    mutating func write(_ value: Timestamp?) {
        write(value != nil)
        if let value { write(value.microseconds) }
    }

    mutating func write(_ value: Money) { write(value.units) }

    mutating func write(_ values: [String]) {
        write(UInt64(values.count))
        for value in values { write(value) }
    }
}

/// A read-model record with a `BinaryWriter` encoding.
protocol BinaryEncodable {
    /// Appends the encoding to `bytes` (a rebuild writes millions of records straight into its chunks).
    func encode(into bytes: inout [UInt8])
}

extension BinaryEncodable {
    /// The encoding on its own.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }
}

/// Reads what `BinaryWriter` wrote. Corrupt input throws instead of trapping.
struct BinaryReader {
    struct Corrupt: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func readUInt64() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count, shift < 64 else { throw Corrupt() }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func readInt64() throws -> Int64 {
        let raw = try readUInt64()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func readInt() throws -> Int { Int(try readInt64()) }

    mutating func readBool() throws -> Bool {
        guard position < bytes.count else { throw Corrupt() }
        defer { position += 1 }
        return bytes[position] != 0
    }

    mutating func readString() throws -> String {
        let count = Int(try readUInt64())
        guard count >= 0, position + count <= bytes.count else { throw Corrupt() }
        defer { position += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + count]), as: UTF8.self)
    }

    mutating func skipString() throws {
        let count = Int(try readUInt64())
        guard count >= 0, position + count <= bytes.count else { throw Corrupt() }
        position += count
    }

    mutating func readOptionalString() throws -> String? { try readBool() ? try readString() : nil }

    mutating func readTimestamp() throws -> Timestamp? {
        try readBool() ? Timestamp(microseconds: try readInt64()) : nil
    }

    mutating func readMoney() throws -> Money { Money(units: try readInt64()) }

    mutating func readStrings() throws -> [String] {
        let count = Int(try readUInt64())
        guard count <= bytes.count else { throw Corrupt() }
        return try (0..<count).map { _ in try readString() }
    }
}
