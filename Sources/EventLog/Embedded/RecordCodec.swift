import Foundation

/// The stored form of an embedded-log record.
///
/// Key: partition id (UInt32, big-endian) + offset (UInt64, big-endian), so LMDB's byte order is log order.
/// Value: timestampMs (Int64 LE) | keyLength (Int32 LE, -1 for null) | key | headerCount (UInt16 LE) |
/// per header: nameLength (UInt16 LE) name valueLength (UInt32 LE) value | the record value to the end.
enum RecordCodec {
    static func storageKey(partitionID: UInt32, offset: Int64) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: partitionID.bigEndian) { key.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: UInt64(offset).bigEndian) { key.replaceSubrange(4..<12, with: $0) }
        return key
    }

    static func decodeKey(_ bytes: UnsafeRawBufferPointer) -> (partitionID: UInt32, offset: Int64)? {
        guard bytes.count == 12 else { return nil }
        let partitionID = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let offset = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        return (partitionID, Int64(offset))
    }

    static func encodeValue(_ record: OutgoingRecord, timestampMs: Int64, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        append(timestampMs.littleEndian, to: &output)
        if let key = record.key {
            append(Int32(key.count).littleEndian, to: &output)
            output.append(contentsOf: key)
        } else {
            append(Int32(-1).littleEndian, to: &output)
        }
        appendHeaders(record.headers, to: &output)
        output.append(contentsOf: record.value)
    }

    /// Appends the stored form of `headers`: their count, then each name and value with their lengths.
    static func appendHeaders(_ headers: [Header], to output: inout [UInt8]) {
        append(UInt16(headers.count).littleEndian, to: &output)
        for header in headers {
            let name = Array(header.name.utf8)
            append(UInt16(name.count).littleEndian, to: &output)
            output.append(contentsOf: name)
            append(UInt32(header.value.count).littleEndian, to: &output)
            output.append(contentsOf: header.value)
        }
    }

    /// Calls `body` with each header's name and value in `stored` (as `appendHeaders` wrote them, already checked
    /// by `parts`).
    static func forEachHeader(
        in stored: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) {
        guard stored.count >= 2 else { return }
        var cursor = 2
        for _ in 0..<UInt16(littleEndian: stored.loadUnaligned(as: UInt16.self)) {
            let nameLength = Int(UInt16(littleEndian: stored.loadUnaligned(fromByteOffset: cursor, as: UInt16.self)))
            let name = UnsafeRawBufferPointer(rebasing: stored[cursor + 2..<cursor + 2 + nameLength])
            cursor += 2 + nameLength
            let valueLength = Int(UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: cursor, as: UInt32.self)))
            body(name, UnsafeRawBufferPointer(rebasing: stored[cursor + 4..<cursor + 4 + valueLength]))
            cursor += 4 + valueLength
        }
    }

    /// The parts of a stored value, pointing into it; `nil` means the bytes are corrupt.
    static func parts(_ bytes: UnsafeRawBufferPointer) -> (
        timestampMs: Int64, key: UnsafeRawBufferPointer?, headers: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer
    )? {
        var cursor = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard cursor + MemoryLayout<T>.size <= bytes.count else { return nil }
            defer { cursor += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: T.self))
        }
        func take(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count >= 0, cursor + count <= bytes.count else { return nil }
            defer { cursor += count }
            return UnsafeRawBufferPointer(rebasing: bytes[cursor..<cursor + count])
        }
        guard let timestampMs = read(Int64.self), let keyLength = read(Int32.self) else { return nil }
        var key: UnsafeRawBufferPointer?
        if keyLength >= 0 {
            guard let bytes = take(Int(keyLength)) else { return nil }
            key = bytes
        }
        let headersStart = cursor
        guard let headerCount = read(UInt16.self) else { return nil }
        for _ in 0..<headerCount {
            guard let nameLength = read(UInt16.self), take(Int(nameLength)) != nil,
                let valueLength = read(UInt32.self), take(Int(valueLength)) != nil
            else { return nil }
        }
        let headers = UnsafeRawBufferPointer(rebasing: bytes[headersStart..<cursor])
        return (timestampMs, key, headers, UnsafeRawBufferPointer(rebasing: bytes[cursor...]))
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to output: inout [UInt8]) {
        withUnsafeBytes(of: value) { output.append(contentsOf: $0) }
    }
}
