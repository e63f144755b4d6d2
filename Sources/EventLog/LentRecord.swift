import Foundation
import Memory

/// A stored record lent by a reader without being copied out: its bytes are valid only during the call that
/// received it. A projector decodes most records straight from these bytes and copies out only what it keeps
/// (poison records, for the dead-letter topic): a replay reads millions of records, and copying each one out would
/// be a large share of decoding.
public struct LentRecord {
    /// Where the record is stored.
    public let position: RecordPosition
    /// Milliseconds since the epoch: the creation time given on append, else the append time.
    public let timestampMs: Int64
    public let key: UnsafeRawBufferPointer?
    public let value: UnsafeRawBufferPointer
    /// The headers in their stored form (`RecordCodec`: count, then per header its name and value with lengths).
    let storedHeaders: UnsafeRawBufferPointer

    /// Whether a header is named `name`, without decoding the headers (asked of every record a projector reads).
    public func hasHeader(named name: String) -> Bool {
        var name = name
        return name.withUTF8 { name in
            var found = false
            RecordCodec.forEachHeader(in: storedHeaders) { headerName, _ in
                if !found, headerName.count == name.count,
                    name.isEmpty || memcmp(headerName.baseAddress!, name.baseAddress!, name.count) == 0
                {
                    found = true
                }
            }
            return found
        }
    }

    /// Starts bringing the record's bytes into cache without waiting for them: a reader that will decode this
    /// record after the ones before it calls this first, so that its cache misses overlap their decoding.
    public func prefetch() {
        Prefetch.line(storedHeaders.baseAddress)
        var line = 0
        while line < value.count {
            Prefetch.line(value.baseAddress! + line)
            line += 64
        }
    }

    /// A copy of the headers.
    public var headers: [Header] {
        var headers: [Header] = []
        RecordCodec.forEachHeader(in: storedHeaders) { name, value in
            headers.append(Header(String(decoding: name, as: UTF8.self), Array(value)))
        }
        return headers
    }

    /// A copy of the whole record, to keep beyond the call that lent it.
    public func copy() -> LogRecord {
        var cache = HeaderCache()
        return copy(sharingHeaders: &cache)
    }

    /// The headers copied last and the stored bytes they came from, valid while the records are lent: records of
    /// one producer nearly always carry the same headers, which are then shared instead of copied again.
    struct HeaderCache {
        var stored = UnsafeRawBufferPointer(start: nil, count: 0)
        var headers: [Header] = []
    }

    /// `copy()`, taking the headers from `cache` when they are the same bytes.
    func copy(sharingHeaders cache: inout HeaderCache) -> LogRecord {
        if storedHeaders.count != cache.stored.count
            || memcmp(storedHeaders.baseAddress!, cache.stored.baseAddress!, storedHeaders.count) != 0
        {
            cache = HeaderCache(stored: storedHeaders, headers: headers)
        }
        return LogRecord(
            topic: position.topic, partition: position.partition, offset: position.offset, key: key.map { Array($0) },
            value: Array(value), headers: cache.headers, timestampMs: timestampMs)
    }
}

extension LogReader {
    /// `poll`, lending the records to `body` instead of returning copies. This default lays out the records `poll`
    /// returns in one buffer and lends them from there; the embedded log lends straight from its memory map.
    public func pollLent<Result>(
        maxRecords: Int, timeoutMs: Int, _ body: ([LentRecord]) throws -> Result
    ) async throws -> Result {
        let records = try await poll(maxRecords: maxRecords, timeoutMs: timeoutMs)
        return try LentRecord.lending(records, body)
    }
}

extension LogRecord {
    /// Calls `body` with this record lent, as a reader lends it.
    public func withLent<Result>(_ body: (LentRecord) throws -> Result) rethrows -> Result {
        var storedHeaders: [UInt8] = []
        RecordCodec.appendHeaders(headers, to: &storedHeaders)
        return try storedHeaders.withUnsafeBytes { storedHeaders in
            try value.withUnsafeBytes { value in
                func lend(_ key: UnsafeRawBufferPointer?) throws -> Result {
                    try body(
                        LentRecord(
                            position: position, timestampMs: timestampMs, key: key, value: value,
                            storedHeaders: storedHeaders))
                }
                guard let key else { return try lend(nil) }
                return try key.withUnsafeBytes { try lend($0) }
            }
        }
    }
}

extension LentRecord {
    /// Calls `body` with `records` lent from one buffer holding all their bytes.
    static func lending<Result>(_ records: [LogRecord], _ body: ([LentRecord]) throws -> Result) rethrows -> Result {
        var buffer: [UInt8] = []
        var layout: [(key: Range<Int>?, value: Range<Int>, headers: Range<Int>)] = []
        layout.reserveCapacity(records.count)
        for record in records {
            let keyStart = buffer.count
            if let key = record.key { buffer.append(contentsOf: key) }
            let valueStart = buffer.count
            buffer.append(contentsOf: record.value)
            let headersStart = buffer.count
            RecordCodec.appendHeaders(record.headers, to: &buffer)
            layout.append(
                (
                    record.key == nil ? nil : keyStart..<valueStart, valueStart..<headersStart,
                    headersStart..<buffer.count
                ))
        }
        return try buffer.withUnsafeBytes { bytes in
            let lent = zip(records, layout).map { record, parts in
                LentRecord(
                    position: record.position, timestampMs: record.timestampMs,
                    key: parts.key.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                    value: UnsafeRawBufferPointer(rebasing: bytes[parts.value]),
                    storedHeaders: UnsafeRawBufferPointer(rebasing: bytes[parts.headers]))
            }
            return try body(lent)
        }
    }
}
