import Testing

@testable import Projections

@Suite("store keys")
struct StoreKeysTests {
    @Test("precedes orders keys as LMDB does: bytes first, then the shorter key first")
    func keyOrder() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<5_000 {
            let a = (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0...3, using: &random) * 85
            }
            let b = (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0...3, using: &random) * 85
            }
            #expect(StoreKeys.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) vs \(b)")
        }
        #expect(StoreKeys.precedes([1], [1, 0]) && !StoreKeys.precedes([1, 0], [1]) && !StoreKeys.precedes([], []))
    }

    @Test(
        "a key arena sorts in LMDB's key order, stably, whatever prefix its keys share",
        arguments: [[], [0], [0x67, 0x65, 0x6E, 0x2D], Array(repeating: UInt8(7), count: 12)])
    func arenaOrder(sharedPrefix: [UInt8]) {
        var random = SplitMix64(seed: 29)
        for round in 0..<40 {
            // Few byte values (zero among them) and short tails, so that keys tie, share windows of eight bytes,
            // end inside them, and are prefixes of each other; a long run of keys now and then.
            let count = round % 10 == 0 ? 3_000 : Int.random(in: 1...60, using: &random)
            let keys = (0..<count).map { _ in
                sharedPrefix
                    + (0..<Int.random(in: 0...12, using: &random)).map { _ in
                        [0, 1, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
                    }
            }
            var arena = KeyArena()
            for key in keys { arena.append(key) }
            let expected = keys.indices.sorted { a, b in
                StoreKeys.precedes(keys[a], keys[b]) || (keys[a] == keys[b] && a < b)
            }
            #expect(arena.sortedIndices() == expected, "round \(round)")
        }
    }

    @Test("the lookup hashes built on the stack are the hashes of the keys the tables store")
    func lookupHashesMatchKeys() {
        let long = String(repeating: "é", count: StoreKeys.eventIDBytesMax)  // 800 bytes: stored hashed
        for id in ["", "e", "gen-42-100024-placed-0", "k:café", "k:cafe\u{301}", long] {
            var key: [UInt8] = []
            StoreKeys.eventID(id, into: &key)
            #expect(StoreKeys.eventIDHash(id) == key.withUnsafeBytes(ByteTable.hash), "\(id.prefix(20))")
            for customer in ["c-1", "", String(repeating: "c", count: 300)] {
                StoreKeys.order(customerID: customer, orderID: id, into: &key)
                #expect(
                    StoreKeys.orderHash(customerID: customer, orderID: id) == key.withUnsafeBytes(ByteTable.hash))
            }
        }
    }
}
