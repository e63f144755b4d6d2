import Crypto
import Foundation
import Synthetic
import TestSupport
import Testing

@testable import Projections

@Suite("read-model digest")
struct DigestTests {
    /// The digest's definition, hashed piece by piece: per content database in order, `db:NAME\n`, then per entry
    /// in key order its key length and value length (8 bytes each, big-endian), key and value.
    static func referenceDigest(_ contents: [(name: String, entries: [(key: [UInt8], value: [UInt8])])]) -> String {
        var hasher = SHA256()
        for (name, entries) in contents {
            hasher.update(data: Array("db:\(name)\n".utf8))
            for (key, value) in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                hasher.update(data: StoreKeys.int64(Int64(key.count)) + StoreKeys.int64(Int64(value.count)))
                hasher.update(data: key)
                hasher.update(data: value)
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    @Test("is SHA-256 over every content database's framed entries, whatever their sizes")
    func digestMatchesItsDefinition() throws {
        let directory = TemporaryDirectory("digest")
        let store = try ReadModelStore(path: directory.path)
        let names = [
            "customers", "orders", "timeline", "event_ids", "segments", "campaigns", "campaign_stats",
            "messages", "customer_messages", "dead_letters", "counters",
        ]
        var random = SplitMix64(seed: 5)
        // Empty values, small ones, and values larger than the digest's buffers (256 KiB), so that pieces are
        // gathered, cross buffer boundaries and bypass the buffers.
        let sizes = [0, 1, 7, 100, 4_000, 70_000, 300_000, 1_100_000]
        var contents: [(name: String, entries: [(key: [UInt8], value: [UInt8])])] = []
        for (index, (environment, database)) in store.contentDatabases.enumerated() {
            var entries: [(key: [UInt8], value: [UInt8])] = []
            for entry in 0..<(index % 3 == 2 ? 0 : 40) {
                let size = sizes[Int.random(in: 0..<sizes.count, using: &random)]
                // Random where a frame starts, the rest one byte repeated (cheap to make in a debug build).
                var value = [UInt8](repeating: UInt8(truncatingIfNeeded: entry), count: size)
                for byte in value.indices.prefix(64) { value[byte] = UInt8.random(in: 0...255, using: &random) }
                entries.append((Array("key-\(entry)-\(index)".utf8), value))
            }
            try environment.write { txn in
                for (key, value) in entries { try txn.put(database, key: key, value: value) }
            }
            contents.append((names[index], entries))
        }
        // Bookkeeping is not content.
        try store.environment.write { txn in try txn.put(store.offsets, key: Array("p".utf8), value: [1, 2, 3]) }
        #expect(try store.digest() == Self.referenceDigest(contents))
        #expect(try store.digest() == store.digest())
    }
}
