import LMDB

/// Puts a span's rows into databases that are written anew: each is emptied before its first row, then filled by
/// appending the rows it held (read from a snapshot taken before the write) merged in key order with the span's.
///
/// A span of a good part of what the store holds touches most of its pages anyway. Put one by one between stored
/// keys, its rows split pages in the middle and leave them half full, so the store grows to about twice its size
/// and every page is copied and written more than once; appended, each page is filled once, full.
struct StoreRewrite {
    /// Where the stored rows of a database resume: at a key (the next stored one not copied yet; empty: the first)
    /// or nowhere (all copied). A database not begun has none and is emptied before its first row.
    private enum Progress {
        case resumeAt([UInt8])
        case done
    }

    private let databases: Set<Database>
    private var progress: [Database: Progress] = [:]

    /// Rewrites `databases`; rows of any other database are put as they come.
    init(_ databases: Set<Database>) { self.databases = databases }

    /// Puts `chunk`, whose rows follow those of its database put before in key order.
    mutating func put(_ chunk: RowChunk, in txn: borrowing Transaction, from snapshot: borrowing Transaction) throws {
        let database = chunk.database
        guard databases.contains(database) else { return try txn.apply(chunk, flags: []) }
        if progress[database] == nil {
            try txn.clear(database)
            progress[database] = .resumeAt([])
        }
        guard case .resumeAt(let resumeKey) = progress[database]! else {
            // Every stored row was copied; nothing stored is left to merge with.
            return try txn.apply(chunk, flags: .append)
        }
        progress[database] = try merging(database, resumingAt: resumeKey, in: txn, from: snapshot) {
            out, stored, next in
            try chunk.bytes.withUnsafeBytes { bytes in
                var start = 0
                for (keyEnd, valueEnd) in chunk.ends {
                    let key = UnsafeRawBufferPointer(rebasing: bytes[start..<keyEnd])
                    try Self.appendStored(from: stored, to: out, next: &next) { StoreKeys.precedes($0, key) }
                    // A stored row under the same key is replaced (or deleted) by the span's.
                    if let row = next, !StoreKeys.precedes(key, row.key) { next = try stored.next() }
                    if valueEnd >= 0 {
                        let value = UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<valueEnd])
                        try out.put(key: key, value: value, flags: .append)
                        start = valueEnd
                    } else {
                        start = keyEnd
                    }
                }
            }
        }
    }

    /// Appends the stored rows that follow the span's last row in every database begun.
    func finish(in txn: borrowing Transaction, from snapshot: borrowing Transaction) throws {
        for case (let database, .resumeAt(let resumeKey)) in progress {
            try merging(database, resumingAt: resumeKey, in: txn, from: snapshot) { out, stored, next in
                try Self.appendStored(from: stored, to: out, next: &next) { _ in true }
            }
        }
    }

    /// Runs `body` with a cursor appending to `database` and one on its stored rows, and the stored row to resume
    /// at (`resumeKey`); returns where the stored rows resume after it.
    @discardableResult
    private func merging(
        _ database: Database, resumingAt resumeKey: [UInt8], in txn: borrowing Transaction,
        from snapshot: borrowing Transaction,
        _ body: (borrowing Cursor, borrowing Cursor, inout Cursor.Entry?) throws -> Void
    ) throws -> Progress {
        try txn.withCursor(database) { out in
            try snapshot.withCursor(database) { stored in
                var next = try resumeKey.isEmpty ? stored.first() : stored.seek(atOrAfter: resumeKey)
                try body(out, stored, &next)
                return next.map { .resumeAt(Array($0.key)) } ?? .done
            }
        }
    }

    /// Appends the stored rows from `next` on while their keys are `before` what comes next.
    private static func appendStored(
        from stored: borrowing Cursor, to out: borrowing Cursor, next: inout Cursor.Entry?,
        while before: (UnsafeRawBufferPointer) -> Bool
    ) throws {
        while let row = next, before(row.key) {
            try out.put(key: row.key, value: row.value, flags: .append)
            next = try stored.next()
        }
    }
}
