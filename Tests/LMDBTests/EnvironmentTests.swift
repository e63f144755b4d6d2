import Foundation
import LMDB
import Testing
import TestSupport

@Suite("LMDB environment")
struct EnvironmentTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("values written in a committed transaction are read back; deletes remove them")
    func putGetDelete() throws {
        let directory = TemporaryDirectory()
        let environment = try Environment(path: directory.path)
        let database = try environment.database("things")
        try environment.write { txn in
            try txn.put(database, key: bytes("a"), value: bytes("1"))
            try txn.put(database, key: bytes("b"), value: bytes("2"))
        }
        #expect(try environment.read { try $0.get(database, key: bytes("a")) } == bytes("1"))
        #expect(try environment.read { try $0.count(database) } == 2)
        let removed = try environment.write { try $0.delete(database, key: bytes("a")) }
        #expect(removed)
        #expect(try environment.read { try $0.get(database, key: bytes("a")) } == nil)
        #expect(try environment.write { try $0.delete(database, key: bytes("a")) } == false)
    }

    @Test("noOverwrite refuses an existing key without failing the transaction")
    func noOverwrite() throws {
        let directory = TemporaryDirectory()
        let environment = try Environment(path: directory.path)
        let database = try environment.database("things")
        let (first, second) = try environment.write { txn in
            (
                try txn.put(database, key: bytes("k"), value: bytes("old"), flags: .noOverwrite),
                try txn.put(database, key: bytes("k"), value: bytes("new"), flags: .noOverwrite)
            )
        }
        #expect(first && !second)
        #expect(try environment.read { try $0.get(database, key: bytes("k")) } == bytes("old"))
    }

    @Test("a write whose body throws is rolled back")
    func abortedWriteLeavesNoTrace() throws {
        struct Boom: Error {}
        let directory = TemporaryDirectory()
        let environment = try Environment(path: directory.path)
        let database = try environment.database("things")
        #expect(throws: Boom.self) {
            try environment.write { txn in
                try txn.put(database, key: bytes("k"), value: bytes("v"))
                throw Boom()
            }
        }
        #expect(try environment.read { try $0.count(database) } == 0)
    }

    @Test("cursors iterate in key order from a start key, and seek before a key")
    func cursorRanges() throws {
        let directory = TemporaryDirectory()
        let environment = try Environment(path: directory.path)
        let database = try environment.database("ordered")
        try environment.write { txn in
            for key in ["d", "a", "c", "e", "b"] {
                try txn.put(database, key: bytes(key), value: bytes(key.uppercased()))
            }
        }
        var visited: [String] = []
        try environment.read { txn in
            try txn.forEach(database, from: bytes("b")) { key, value in
                visited.append(String(decoding: key, as: UTF8.self) + String(decoding: value, as: UTF8.self))
                return visited.count < 3
            }
        }
        #expect(visited == ["bB", "cC", "dD"])
        let before = try environment.read { txn in
            try txn.withCursor(database) { cursor in
                try cursor.seek(before: bytes("c")).map { String(decoding: $0.key, as: UTF8.self) }
            }
        }
        #expect(before == "b")
        let beforeEnd = try environment.read { txn in
            try txn.withCursor(database) { cursor in
                try cursor.seek(before: bytes("z")).map { String(decoding: $0.key, as: UTF8.self) }
            }
        }
        #expect(beforeEnd == "e")
    }

    @Test("a full map grows instead of failing, and the data survives reopening")
    func mapGrowsWhenFull() throws {
        let directory = TemporaryDirectory()
        var options = Environment.Options()
        options.mapSizeBytes = 256 * 1024
        let value = [UInt8](repeating: 7, count: 4096)
        do {
            let environment = try Environment(path: directory.path, options: options)
            let database = try environment.database("big")
            for batch in 0..<20 {
                try environment.write { txn in
                    for index in 0..<64 { try txn.put(database, key: bytes("k\(batch)-\(index)"), value: value) }
                }
            }
            #expect(environment.currentMapSizeBytes > options.mapSizeBytes)
        }
        let reopened = try Environment(path: directory.path, options: options)
        let database = try reopened.database("big")
        #expect(try reopened.read { try $0.count(database) } == 20 * 64)
        #expect(try reopened.read { try $0.get(database, key: bytes("k19-63")) } == value)
    }

    @Test("growth stops at the configured maximum with a typed map-full error")
    func growthIsBounded() throws {
        let directory = TemporaryDirectory()
        var options = Environment.Options()
        options.mapSizeBytes = 128 * 1024
        options.mapSizeBytesMax = 256 * 1024
        let environment = try Environment(path: directory.path, options: options)
        let database = try environment.database("big")
        let value = [UInt8](repeating: 1, count: 8192)
        #expect {
            try environment.write { txn in
                for index in 0..<200 { try txn.put(database, key: bytes("k\(index)"), value: value) }
            }
        } throws: { error in
            (error as? LMDBError)?.code == .mapFull
        }
    }

    @Test("opening a path that is a file fails with a typed error, not a crash")
    func badPath() throws {
        let directory = TemporaryDirectory()
        let file = directory.path + "/not-a-directory"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        #expect(throws: (any Error).self) { _ = try Environment(path: file + "/env") }
    }

    @Test("readers on other threads see committed data while a writer runs")
    func concurrentReaders() async throws {
        let directory = TemporaryDirectory()
        let environment = try Environment(path: directory.path)
        let database = try environment.database("shared")
        try environment.write { txn in try txn.put(database, key: bytes("n"), value: bytes("0")) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 1...50 {
                    try environment.write { txn in try txn.put(database, key: bytes("n"), value: bytes(String(round))) }
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    var last = 0
                    for _ in 0..<200 {
                        let seen = try environment.read { txn in
                            Int(String(decoding: try txn.get(database, key: bytes("n")) ?? [], as: UTF8.self)) ?? -1
                        }
                        #expect(seen >= last, "a reader never sees the value go backwards")
                        last = seen
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
