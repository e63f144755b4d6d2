import CLMDB
import Foundation
import Memory

/// An LMDB environment: one memory-mapped file holding named databases.
///
/// Transactions are synchronous closures. A write transaction belongs to the calling thread from begin to
/// commit, so callers keep one writer thread and never `await` inside. Readers use `MDB_NOTLS`, so read
/// transactions may run on any thread. When a write runs out of map space the map is grown and the write
/// body is run again; bodies must therefore be free of side effects outside the transaction.
public final class Environment: @unchecked Sendable {
    // @unchecked Sendable: the handle is used only through LMDB calls that are thread-safe with MDB_NOTLS,
    // and resizing is serialised against every open transaction by `resizeLock`.

    /// Tunables with production defaults.
    public struct Options: Sendable {
        /// Initial map size; it grows by doubling when full. Virtual address space only on Linux.
        public var mapSizeBytes: Int = 1 << 30
        /// Upper bound on growth, so a runaway writer fails instead of exhausting the disk.
        public var mapSizeBytesMax: Int = 1 << 40
        /// Concurrent read transactions across all processes.
        public var maxReaders: UInt32 = 512
        /// Named databases in this environment.
        public var maxDatabases: UInt32 = 32
        /// Skip fsync on commit. A process crash loses nothing, but an OS crash may lose recent commits or corrupt
        /// the file: only for data that can be rebuilt from scratch, and whose owner can tell when it must be.
        public var noSync: Bool = false
        /// Write through the memory map instead of copying dirty pages out at commit. Faster for large write
        /// transactions; a stray write through a bad pointer could then corrupt the file, which Swift code here
        /// cannot produce. Used for rebuilds.
        public var writeMap: Bool = false
        /// Fsync data on commit but not the meta page: an OS crash may lose the last commit, never consistency.
        /// Right for read models, which carry their log offsets and re-fold whatever a lost commit held.
        public var noMetaSync: Bool = false
        /// No readahead on the map (`MDB_NORDAHEAD`). A rebuild writing through the map into a new, sparse file
        /// otherwise faults in and zeroes large blocks around every page it touches, most of them beyond the data.
        public var noReadahead: Bool = false

        /// The defaults.
        public init() {}
    }

    let handle: OpaquePointer
    /// Shared by every transaction, exclusive while the map is resized (LMDB requires no active transactions).
    private let resizeLock = ReadWriteLock()
    private let stateLock = NSLock()
    private var mapSizeBytes: Int
    private let mapSizeBytesMax: Int
    private var openDatabases: [String: Database] = [:]

    /// The directory holding `data.mdb` and `lock.mdb`.
    public let path: String

    /// Opens (creating if needed) the environment in directory `path`.
    public init(path: String, options: Options = Options()) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(rawValue: ENOMEM, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_mapsize(env, options.mapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            var flags = UInt32(MDB_NOTLS)
            if options.noSync { flags |= UInt32(MDB_NOSYNC) }
            if options.noMetaSync { flags |= UInt32(MDB_NOMETASYNC) }
            if options.writeMap { flags |= UInt32(MDB_WRITEMAP) }
            if options.noReadahead { flags |= UInt32(MDB_NORDAHEAD) }
            try check(mdb_env_open(env, path, flags, 0o644), "mdb_env_open(\(path))")
            // A process killed inside a read transaction leaves its reader slot behind; reclaim those now.
            var stale: Int32 = 0
            try check(mdb_reader_check(env, &stale), "mdb_reader_check")
        } catch {
            mdb_env_close(env)
            throw error
        }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        self.pageSize = Int(stat.ms_psize)
        self.handle = env
        self.path = path
        self.mapSizeBytes = max(options.mapSizeBytes, info.me_mapsize)
        self.mapSizeBytesMax = options.mapSizeBytesMax
    }

    deinit {
        mdb_env_close(handle)
    }

    /// The size of the environment's pages, each aligned to it in the memory map.
    public let pageSize: Int

    /// The current size of the memory map.
    public var currentMapSizeBytes: Int {
        stateLock.withLock { mapSizeBytes }
    }

    /// Opens (creating on first use) the named database.
    public func database(_ name: String, flags: Database.Flags = []) throws -> Database {
        if let known = stateLock.withLock({ openDatabases[name] }) { return known }
        let database = try write { txn in
            var dbi: MDB_dbi = 0
            try check(
                mdb_dbi_open(txn.handle, name, UInt32(MDB_CREATE) | flags.rawValue, &dbi), "mdb_dbi_open(\(name))")
            return Database(dbi: dbi, name: name)
        }
        stateLock.withLock { openDatabases[name] = database }
        return database
    }

    /// Runs `body` in a read-only transaction.
    @discardableResult
    public func read<Result>(_ body: (borrowing Transaction) throws -> Result) throws -> Result {
        while true {
            do {
                return try readOnce(body)
            } catch let error as LMDBError where error.code == .mapResized {
                try adoptResizedMap()
            }
        }
    }

    private func readOnce<Result>(_ body: (borrowing Transaction) throws -> Result) throws -> Result {
        resizeLock.lockShared()
        defer { resizeLock.unlock() }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin(read)")
        defer { mdb_txn_abort(txn) }
        return try body(Transaction(handle: txn!, pageSize: pageSize))
    }

    /// Runs `body` in a write transaction and commits it; on `MDB_MAP_FULL` grows the map and runs `body` again.
    @discardableResult
    public func write<Result>(_ body: (borrowing Transaction) throws -> Result) throws -> Result {
        while true {
            do {
                return try writeOnce(body)
            } catch let error as LMDBError where error.code == .mapFull {
                try grow()
            } catch let error as LMDBError where error.code == .mapResized {
                try adoptResizedMap()
            }
        }
    }

    private func writeOnce<Result>(_ body: (borrowing Transaction) throws -> Result) throws -> Result {
        resizeLock.lockShared()
        defer { resizeLock.unlock() }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, 0, &txn), "mdb_txn_begin(write)")
        let result: Result
        do {
            result = try body(Transaction(handle: txn!, pageSize: pageSize))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the transaction whether or not it succeeds.
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
        return result
    }

    /// Keeps the data file's page cache filled ahead of a large write transaction that appends through the map
    /// (`writeMap`), on a thread of its own, until `finish()`: `advance(by:)` tells it how many bytes the writer
    /// has put so far.
    ///
    /// A new environment written through its map is one sparse file, and the first write to each page waits for
    /// the kernel to fill it with zeroes: a third of a large rebuild's writing thread went there. Asked ahead with
    /// `POSIX_FADV_WILLNEED`, the kernel fills them on the other thread, and the writer only marks them dirty. It
    /// stays `lead` bytes (and half as much again as was put: pages hold more than the rows) ahead of the writer,
    /// so that it does not fill far more than the write needs.
    public func populatingAhead(lead: Int) -> FilePopulator {
        var fd: mdb_filehandle_t = -1
        let populator = FilePopulator(fd: mdb_env_get_fd(handle, &fd) == MDB_SUCCESS ? fd : -1, lead: lead)
        Thread.detachNewThread { populator.run() }
        return populator
    }

    /// Grows the map (by doublings) until it is at least `bytes`, so that one large transaction known in advance
    /// does not fail on a full map and start over, perhaps several times.
    public func reserve(bytes: Int) throws {
        while currentMapSizeBytes < min(bytes, mapSizeBytesMax) { try grow() }
    }

    /// Doubles the map, waiting for every transaction in this process to finish first.
    private func grow() throws {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        let newSize = stateLock.withLock { mapSizeBytes * 2 }
        guard newSize <= mapSizeBytesMax else {
            throw LMDBError(rawValue: MDB_MAP_FULL, operation: "grow beyond mapSizeBytesMax \(mapSizeBytesMax)")
        }
        try check(mdb_env_set_mapsize(handle, newSize), "mdb_env_set_mapsize")
        stateLock.withLock { mapSizeBytes = newSize }
    }

    /// Takes the map size another process grew the environment to (LMDB answers `MDB_MAP_RESIZED` to a
    /// transaction begun with the old one), waiting for every transaction in this process to finish first.
    private func adoptResizedMap() throws {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize(adopt)")
        var info = MDB_envinfo()
        try check(mdb_env_info(handle, &info), "mdb_env_info")
        stateLock.withLock { mapSizeBytes = max(mapSizeBytes, info.me_mapsize) }
    }

    /// Flushes buffers to disk; needed only when opened with `noSync`.
    public func sync() throws {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Writes a copy of the environment into directory `path` (created), without its free pages.
    public func copyCompacted(to path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try check(mdb_env_copy2(handle, path, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2(\(path))")
    }

    /// Syncs every later commit, after opening with `noSync`.
    public func syncEachCommit() throws {
        try check(mdb_env_set_flags(handle, UInt32(MDB_NOSYNC), 0), "mdb_env_set_flags")
    }
}

/// A named database inside an environment.
public struct Database: Sendable, Hashable {
    /// Flags fixed when a database is created.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        /// Flags from LMDB's bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Keys are native-endian unsigned integers of equal size.
        public static let integerKeys = Flags(rawValue: UInt32(MDB_INTEGERKEY))
    }

    let dbi: MDB_dbi
    /// The name it was opened with.
    public let name: String
}

/// Fills a data file's page cache ahead of a writer (`Environment.populatingAhead(lead:)`).
public final class FilePopulator: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`.
    private let fd: Int32
    private let lead: Int
    private let condition = NSCondition()
    private var written = 0
    private var finished = false
    private var stopped = false

    /// Bytes asked for at once: large enough to cost one call per many pages.
    private static let stepBytes = 4 << 20

    fileprivate init(fd: Int32, lead: Int) {
        self.fd = fd
        self.lead = lead
    }

    /// The writer has put `bytes` more.
    public func advance(by bytes: Int) {
        condition.lock()
        written += bytes
        condition.signal()
        condition.unlock()
    }

    /// The write is over: stops filling, and waits until the populating thread has stopped.
    public func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    fileprivate func run() {
        var populated = 0
        condition.lock()
        while !finished && fd >= 0 {
            let target = written + written / 2 + lead
            if populated >= target {
                condition.wait()
                continue
            }
            condition.unlock()
            _ = posix_fadvise(fd, off_t(populated), off_t(Self.stepBytes), POSIX_FADV_WILLNEED)
            populated += Self.stepBytes
            condition.lock()
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
