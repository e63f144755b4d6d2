import Synthetic
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

@Suite("place lists")
struct PlaceListsTests {
    @Test("grouped gives each slot's places in the order they were added, and none for cleared slots")
    func grouped() {
        var random = SplitMix64(seed: 5)
        var lists = PlaceLists()
        var expected: [[Int]] = []
        // An erased customer's slot is cleared and never gets a place again.
        var cleared: Set<Int> = []
        var place = 0
        for _ in 0..<2_000 {
            if expected.isEmpty || Int.random(in: 0..<4, using: &random) == 0 {
                lists.addSlot()
                expected.append([])
            }
            let slot = Int.random(in: 0..<expected.count, using: &random)
            if cleared.contains(slot) { continue }
            if Int.random(in: 0..<25, using: &random) == 0 {
                lists.clear(slot: slot)
                cleared.insert(slot)
                expected[slot] = []
            } else {
                lists.add(place: place, toSlot: slot)
                expected[slot].append(place)
                place += 1
            }
        }
        #expect(!cleared.isEmpty && place > 1_000)
        let (starts, places) = lists.grouped()
        #expect(starts.count == expected.count + 1)
        for slot in expected.indices {
            #expect(Array(places[starts[slot]..<starts[slot + 1]]) == expected[slot], "slot \(slot)")
            #expect(lists.places(of: slot) == expected[slot], "slot \(slot)")
        }
    }
}
