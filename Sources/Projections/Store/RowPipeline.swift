import Dispatch
import Foundation
import LMDB
import Memory

/// Puts and deletes for one database, laid end to end in one buffer: what a `RowWriter` hands to whoever holds the
/// write transaction.
struct RowChunk: Sendable {
    let database: Database
    /// Keys and values, one after the other.
    var bytes: [UInt8] = []
    /// Per row: where its key ends and where its value ends in `bytes`; a value end of -1 deletes the key, of
    /// `deletesPrefix` every key that starts with it.
    var ends: [(key: Int, value: Int)] = []

    /// The value end of a row that deletes every key starting with its key.
    static let deletesPrefix = -2

    /// A chunk's rows are shipped once its bytes pass this size: big enough that handing one over costs nothing
    /// next to putting it, small enough that the writer starts early and a few chunks in flight stay small.
    static let bytesMax = 1 << 20
}

extension Transaction {
    /// Puts (or deletes) every row of `chunk` in order, with `flags` on each put, through one cursor: appended
    /// rows go where the one before went.
    func apply(_ chunk: RowChunk, flags: PutFlags) throws {
        try withCursor(chunk.database) { cursor in
            try chunk.bytes.withUnsafeBytes { bytes in
                var start = 0
                for (keyEnd, valueEnd) in chunk.ends {
                    let key = UnsafeRawBufferPointer(rebasing: bytes[start..<keyEnd])
                    if valueEnd == RowChunk.deletesPrefix {
                        try deleteAll(chunk.database, startingWith: key)
                        start = keyEnd
                    } else if valueEnd < 0 {
                        try delete(chunk.database, key: key)
                        start = keyEnd
                    } else {
                        try cursor.put(
                            key: key, value: UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<valueEnd]), flags: flags)
                        start = valueEnd
                    }
                }
            }
        }
    }

    /// Deletes every key of `database` that starts with `prefix`.
    func deleteAll(_ database: Database, startingWith prefix: UnsafeRawBufferPointer) throws {
        var keys: [[UInt8]] = []
        try forEach(database, from: Array(prefix)) { key, _ in
            guard key.starts(with: prefix) else { return false }
            keys.append(Array(key))
            return true
        }
        for key in keys { try delete(database, key: key) }
    }
}

/// Builds the rows of one or more databases, each in the order it will be put, into chunks, and passes every full
/// chunk to `ship`. Rows of one database written by one writer stay in the order written.
struct RowWriter {
    private var database: Database?
    private var bytes: [UInt8] = []
    private var ends: [(key: Int, value: Int)] = []
    private let ship: (RowChunk) -> Void
    /// A chunk is shipped once its bytes pass this size.
    private let chunkBytes: Int

    init(chunkBytes: Int = RowChunk.bytesMax, ship: @escaping (RowChunk) -> Void) {
        self.chunkBytes = chunkBytes
        self.ship = ship
    }

    /// Puts the key `key` appends to a buffer, with the value `value` appends.
    mutating func put(_ database: Database, key: (inout [UInt8]) -> Void, value: (inout [UInt8]) -> Void) {
        begin(database)
        key(&bytes)
        let keyEnd = bytes.count
        value(&bytes)
        ends.append((keyEnd, bytes.count))
        if bytes.count >= chunkBytes { finish() }
    }

    /// Puts a row whose key and value take `keyCount` and `valueCount` bytes, which `fill` writes in place, end to
    /// end, from the pointer it is given (the rows of a rebuild's largest databases).
    mutating func put(
        _ database: Database, keyCount: Int, valueCount: Int, fill: (UnsafeMutableRawPointer) -> Void
    ) {
        begin(database)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: keyCount + valueCount))
        bytes.withUnsafeMutableBytes { fill($0.baseAddress! + start) }
        ends.append((start + keyCount, start + keyCount + valueCount))
        if bytes.count >= chunkBytes { finish() }
    }

    /// Puts `key` with `value`.
    mutating func put(_ database: Database, key: some Sequence<UInt8>, value: some Sequence<UInt8>) {
        put(database, key: { $0.append(contentsOf: key) }, value: { $0.append(contentsOf: value) })
    }

    /// Deletes `key`.
    mutating func delete(_ database: Database, key: some Sequence<UInt8>) {
        begin(database)
        bytes.append(contentsOf: key)
        ends.append((bytes.count, -1))
        if bytes.count >= chunkBytes { finish() }
    }

    /// Deletes every key that starts with `prefix`, those of rows put before it included.
    mutating func deleteAll(_ database: Database, startingWith prefix: some Sequence<UInt8>) {
        begin(database)
        bytes.append(contentsOf: prefix)
        ends.append((bytes.count, RowChunk.deletesPrefix))
        if bytes.count >= chunkBytes { finish() }
    }

    /// Ships the last chunk, however small.
    mutating func finish() {
        if let database, !ends.isEmpty { ship(RowChunk(database: database, bytes: bytes, ends: ends)) }
        database = nil
        bytes = []
        ends = []
    }

    private mutating func begin(_ database: Database) {
        if self.database != database {
            finish()
            self.database = database
            bytes.reserveCapacity(chunkBytes + 4096)
            ends.reserveCapacity(chunkBytes / 32)
        }
    }
}

/// Runs row-building jobs on other threads while the calling thread, which holds the write transaction, puts their
/// chunks as they come: a rebuild's final write spends as long building sorted keys and encoding values as LMDB
/// spends putting them, and the other cores are idle then.
///
/// Each job writes its databases' rows in key order; chunks of different jobs interleave, which LMDB does not mind
/// (each database is appended to in its own order). At most `chunksInFlightMax` chunks wait at a time.
enum RowPipeline {
    /// Enough to keep the putting thread busy while jobs take turns; a few megabytes in all.
    static let chunksInFlightMax = 8

    /// One row-building job: writes its rows to the writer it is given.
    typealias Job = @Sendable (inout RowWriter) -> Void

    /// Runs `jobs` on other threads and `put`s each chunk on this one. If `put` throws, the jobs are told to stop,
    /// waited for, and the error rethrown.
    static func run(_ jobs: [Job], put: (RowChunk) throws -> Void) throws {
        let queue = BoundedQueue<RowChunk>(capacity: chunksInFlightMax, producers: jobs.count)
        let group = DispatchGroup()
        for job in jobs {
            DispatchQueue.global().async(group: group) {
                var writer = RowWriter { queue.push($0) }
                job(&writer)
                writer.finish()
                queue.producerFinished()
            }
        }
        defer { group.wait() }
        do {
            while let chunk = queue.pop() { try put(chunk) }
        } catch {
            queue.cancel()
            throw error
        }
    }

    /// Runs `jobs` one after the other on this thread, `put`ting each chunk as it fills (a batch's rows are few).
    static func runHere(_ jobs: [Job], put: (RowChunk) throws -> Void) throws {
        var chunks: [RowChunk] = []
        for job in jobs {
            var writer = RowWriter { chunks.append($0) }
            job(&writer)
            writer.finish()
            for chunk in chunks { try put(chunk) }
            chunks.removeAll()
        }
    }
}
