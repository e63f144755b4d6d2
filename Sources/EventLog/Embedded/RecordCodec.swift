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
        append(UInt16(record.headers.count).littleEndian, to: &output)
        for header in record.headers {
            let name = Array(header.name.utf8)
            append(UInt16(name.count).littleEndian, to: &output)
            output.append(contentsOf: name)
            append(UInt32(header.value.count).littleEndian, to: &output)
            output.append(contentsOf: header.value)
        }
        output.append(contentsOf: record.value)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to output: inout [UInt8]) {
        withUnsafeBytes(of: value) { output.append(contentsOf: $0) }
    }

    /// The headers decoded last and the stored bytes they came from, valid within one read transaction: records of
    /// one producer nearly always carry the same headers, which are then shared instead of decoded and allocated
    /// again (two allocations per record, in a replay of millions).
    struct HeaderCache {
        var stored = UnsafeRawBufferPointer(start: nil, count: 0)
        var headers: [Header] = []
    }

    /// Decodes a stored value; `nil` means the bytes are corrupt.
    static func decodeValue(
        _ bytes: UnsafeRawBufferPointer, topic: String, partition: Int32, offset: Int64, headerCache: inout HeaderCache
    ) -> LogRecord? {
        var cursor = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard cursor + MemoryLayout<T>.size <= bytes.count else { return nil }
            defer { cursor += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: T.self))
        }
        func readBytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, cursor + count <= bytes.count else { return nil }
            defer { cursor += count }
            return Array(UnsafeRawBufferPointer(rebasing: bytes[cursor..<cursor + count]))
        }
        func skip(_ count: Int) -> Bool {
            guard count >= 0, cursor + count <= bytes.count else { return false }
            cursor += count
            return true
        }
        guard let timestampMs = read(Int64.self), let keyLength = read(Int32.self) else { return nil }
        var key: [UInt8]?
        if keyLength >= 0 {
            guard let bytes = readBytes(Int(keyLength)) else { return nil }
            key = bytes
        }
        let headersStart = cursor
        guard let headerCount = read(UInt16.self) else { return nil }
        for _ in 0..<headerCount {
            guard let nameLength = read(UInt16.self), skip(Int(nameLength)), let valueLength = read(UInt32.self),
                skip(Int(valueLength))
            else { return nil }
        }
        let stored = UnsafeRawBufferPointer(rebasing: bytes[headersStart..<cursor])
        if stored.count != headerCache.stored.count
            || memcmp(stored.baseAddress!, headerCache.stored.baseAddress!, stored.count) != 0
        {
            cursor = headersStart + 2
            var headers: [Header] = []
            headers.reserveCapacity(Int(headerCount))
            for _ in 0..<headerCount {
                guard let nameLength = read(UInt16.self), let name = readBytes(Int(nameLength)),
                    let valueLength = read(UInt32.self), let value = readBytes(Int(valueLength))
                else { return nil }
                headers.append(Header(String(decoding: name, as: UTF8.self), value))
            }
            headerCache = HeaderCache(stored: stored, headers: headers)
        }
        guard let value = readBytes(bytes.count - cursor) else { return nil }
        return LogRecord(
            topic: topic, partition: partition, offset: offset, key: key, value: value, headers: headerCache.headers,
            timestampMs: timestampMs)
    }
}
