import CLMDB

/// An LMDB failure: the operation that failed and LMDB's return code.
public struct LMDBError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in LMDB's terms.
    public enum Code: Sendable, Equatable {
        case mapFull
        case readersFull
        case transactionFull
        case corrupted
        case versionMismatch
        case invalid
        case mapResized
        case system(errno: Int32)
        case other(Int32)
    }

    /// The classified return code.
    public let code: Code
    /// The raw LMDB or errno value.
    public let rawValue: Int32
    /// The LMDB call that returned it, e.g. `mdb_put`.
    public let operation: String

    init(rawValue: Int32, operation: String) {
        self.rawValue = rawValue
        self.operation = operation
        switch rawValue {
        case MDB_MAP_FULL: code = .mapFull
        case MDB_READERS_FULL: code = .readersFull
        case MDB_TXN_FULL: code = .transactionFull
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND: code = .corrupted
        case MDB_VERSION_MISMATCH, MDB_INVALID: code = .versionMismatch
        case MDB_BAD_TXN, MDB_BAD_VALSIZE, MDB_BAD_DBI, MDB_INCOMPATIBLE: code = .invalid
        case MDB_MAP_RESIZED: code = .mapResized
        case let errno where errno > 0: code = .system(errno: errno)
        default: code = .other(rawValue)
        }
    }

    public var description: String {
        let message = String(cString: mdb_strerror(rawValue))
        return "LMDB \(operation) failed: \(message) (\(rawValue))"
    }
}

/// Routes every LMDB return code through one place: success passes, anything else throws with context.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    guard result == MDB_SUCCESS else { throw LMDBError(rawValue: result, operation: operation()) }
}
