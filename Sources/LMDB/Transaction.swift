import CLMDB
import Foundation
import Memory

/// An open LMDB transaction, valid only inside the closure that received it.
///
/// Buffers handed to closures point into the memory map and are valid only for that closure's duration.
public struct Transaction: ~Copyable {
    let handle: OpaquePointer
    /// The environment's page size, for walks that request whole pages.
    let pageSize: Int

    /// How `put` behaves for an existing key.
    public struct PutFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        /// Flags from LMDB's bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Fail (return `false`) instead of replacing an existing key.
        public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
        /// The key sorts after every existing key: a fast path for sequential keys.
        public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    }

    /// Calls `body` with the stored value for `key`, or `nil` when absent.
    public func withValue<Result>(
        _ database: Database, key: some ContiguousBytes, _ body: (UnsafeRawBufferPointer?) throws -> Result
    ) throws -> Result {
        var value = MDB_val()
        let rc = key.withUnsafeBytes { keyBytes in
            var mdbKey = MDB_val(
                mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(handle, database.dbi, &mdbKey, &value)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc, "mdb_get(\(database.name))")
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// A copy of the stored value for `key`, or `nil` when absent.
    public func get(_ database: Database, key: some ContiguousBytes) throws -> [UInt8]? {
        try withValue(database, key: key) { $0.map { Array($0) } }
    }

    /// Stores `value` under `key`. Returns `false` only when `.noOverwrite` is set and the key exists.
    @discardableResult
    public func put(
        _ database: Database, key: some ContiguousBytes, value: some ContiguousBytes, flags: PutFlags = []
    ) throws -> Bool {
        let rc = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var mdbKey = MDB_val(
                    mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var mdbValue = MDB_val(
                    mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(handle, database.dbi, &mdbKey, &mdbValue, flags.rawValue)
            }
        }
        if rc == MDB_KEYEXIST && flags.contains(.noOverwrite) { return false }
        try check(rc, "mdb_put(\(database.name))")
        return true
    }

    /// Removes `key`. Returns whether it was present.
    @discardableResult
    public func delete(_ database: Database, key: some ContiguousBytes) throws -> Bool {
        let rc = key.withUnsafeBytes { keyBytes in
            var mdbKey = MDB_val(
                mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(handle, database.dbi, &mdbKey, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del(\(database.name))")
        return true
    }

    /// Removes every entry of `database`, keeping the database itself.
    public func clear(_ database: Database) throws {
        try check(mdb_drop(handle, database.dbi, 0), "mdb_drop(\(database.name))")
    }

    /// The number of entries in `database`.
    public func count(_ database: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, database.dbi, &stat), "mdb_stat(\(database.name))")
        return stat.ms_entries
    }

    /// The pages `database` takes: branch, leaf and overflow.
    public func pageCount(_ database: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, database.dbi, &stat), "mdb_stat(\(database.name))")
        return stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages
    }

    /// Runs `body` with a cursor over `database`, closed when `body` returns.
    public func withCursor<Result>(_ database: Database, _ body: (inout Cursor) throws -> Result) throws -> Result {
        var cursorHandle: OpaquePointer?
        try check(mdb_cursor_open(handle, database.dbi, &cursorHandle), "mdb_cursor_open(\(database.name))")
        defer { mdb_cursor_close(cursorHandle) }
        var cursor = Cursor(handle: cursorHandle!, databaseName: database.name)
        return try body(&cursor)
    }

    /// Visits entries in key order starting at the first key ≥ `start` (or the first key), while `body` returns true.
    public func forEach(
        _ database: Database, from start: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try withCursor(database) { cursor in
            var entry = try start.map { try cursor.seek(atOrAfter: $0) } ?? cursor.first()
            while let (key, value) = entry {
                guard try body(key, value) else { return }
                entry = try cursor.next()
            }
        }
    }
}

extension Transaction {
    /// Visits entries in key order from the first key ≥ `start` while `body` returns true, requesting each page
    /// whole from the CPU as the walk enters it. Made for long runs of keys whose pages lie apart in the file
    /// (a log partition interleaved with others): each new page is a cache miss, and so would each of its entries
    /// be in turn; requested at once, their misses overlap.
    public func walkPrefetchingPages(
        _ database: Database, from start: [UInt8], _ body: (_ entry: Cursor.Entry) throws -> Bool
    ) throws {
        let pageMask = ~UInt(pageSize - 1)
        var page: UInt = 0
        try withCursor(database) { cursor in
            var entry = try cursor.seek(atOrAfter: start)
            while let current = entry {
                let start = UInt(bitPattern: current.key.baseAddress) & pageMask
                if start != page {
                    page = start
                    Prefetch.range(UnsafeRawPointer(bitPattern: start), count: pageSize)
                }
                guard try body(current) else { return }
                entry = try cursor.next()
            }
        }
    }
}

/// A position in a database, moved by the methods below; each returns the entry it lands on or `nil`.
public struct Cursor: ~Copyable {
    let handle: OpaquePointer
    let databaseName: String

    /// One entry: buffers valid until the cursor moves or the transaction ends.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    private func move(_ operation: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var mdbKey = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var value = MDB_val()
        let rc = mdb_cursor_get(handle, &mdbKey, &value, operation)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(databaseName))")
        return (
            UnsafeRawBufferPointer(start: mdbKey.mv_data, count: mdbKey.mv_size),
            UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        )
    }

    /// The first entry.
    public func first() throws -> Entry? { try move(MDB_FIRST) }
    /// The last entry.
    public func last() throws -> Entry? { try move(MDB_LAST) }
    /// The entry after the current one.
    public func next() throws -> Entry? { try move(MDB_NEXT) }
    /// The entry before the current one.
    public func previous() throws -> Entry? { try move(MDB_PREV) }

    /// Puts `value` under `key` through this cursor (`mdb_cursor_put`). Keys appended in order through one cursor
    /// (`append`) go where the last one went, without a search of the tree from its root for each.
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: Transaction.PutFlags) throws {
        var mdbKey = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var mdbValue = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(handle, &mdbKey, &mdbValue, flags.rawValue), "mdb_cursor_put(\(databaseName))")
    }

    /// The first entry whose key is ≥ `key`.
    public func seek(atOrAfter key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { try move(MDB_SET_RANGE, key: $0) }
    }

    /// The last entry whose key is < `key`.
    public func seek(before key: [UInt8]) throws -> Entry? {
        if try seek(atOrAfter: key) != nil { return try previous() }
        return try last()
    }
}
