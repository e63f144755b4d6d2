import Foundation
import Memory

/// Byte-string keys numbered 0, 1, 2… in insertion order, held in one `KeyArena` and found through an
/// open-addressing table: one flat array of 64-bit entries (part of the key's hash and its number), so that a probe
/// is one memory access and no object is kept per key. A `Dictionary` of strings or arrays takes several accesses
/// and a retained object per key, which for tens of millions of keys (a rebuild's event ids, customers and orders)
/// would dominate the fold. Linear probing, at most three quarters full: eight entries
/// share a cache line, so the few extra probes of a fuller table cost less than the memory of an emptier one.
struct ByteTable {
    /// The keys, by number.
    private(set) var keys: KeyArena
    /// Per place: 0 when empty, else the high half of the key's hash and its number + 1.
    private var entries: [UInt64]

    init(expectedCount: Int = 0, expectedBytes: Int = 0) {
        keys = KeyArena(expectedKeys: expectedCount, expectedBytes: expectedBytes)
        let wanted = max(16, expectedCount * 4 / 3 + 1)
        entries = Self.emptyEntries(count: 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount))
    }

    /// `count` empty entries; a table of `hugePagesFromBytes` or more asks for huge pages. It is probed at random,
    /// and with 4 KiB pages nearly every probe of a table that large also misses the TLB. Smaller tables keep small
    /// pages: finding free 2 MiB pages costs the kernel more than they save.
    private static func emptyEntries(count: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count * 8 >= hugePagesFromBytes { HugePages.advise(buffer.baseAddress!, byteCount: count * 8) }
            buffer.initialize(repeating: 0)
            initialized = count
        }
    }

    /// The table size from which entries ask for huge pages (`emptyEntries`).
    static let hugePagesFromBytes = 64 << 20

    /// The number of `key`, whose `ByteTable.hash` is `hash`, if it is in the table.
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let (_, number) = probe(key, hash: hash)
        return number
    }

    /// The number of `key`, whose `ByteTable.hash` is `hash`, adding it (as the next number) when absent; `added`
    /// says which.
    mutating func findOrInsert(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (number: Int, added: Bool) {
        let (place, found) = probe(key, hash: hash)
        if let found { return (found, false) }
        let number = keys.count
        precondition(number < Int(UInt32.max), "a ByteTable numbers at most 2^32 - 1 keys")
        keys.append(key)
        entries[place] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(number + 1)
        if keys.count * 4 > entries.count * 3 { grow() }
        return (number, true)
    }

    /// Where `key` is (its number), or the empty place where it would go.
    private func probe(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (place: Int, number: Int?) {
        entries.withUnsafeBufferPointer { entries in
            let mask = entries.count - 1
            var place = Int(truncatingIfNeeded: hash) & mask
            while entries[place] != 0 {
                let entry = entries[place]
                if entry >> 32 == hash >> 32, keys.keyEquals(Int(entry & 0xFFFF_FFFF) - 1, key) {
                    return (place, Int(entry & 0xFFFF_FFFF) - 1)
                }
                place = (place + 1) & mask
            }
            return (place, nil)
        }
    }

    /// Doubles the table, placing every key again (hashing it again: the entries keep only half of each hash).
    private mutating func grow() {
        entries = Self.emptyEntries(count: entries.count * 2)
        let mask = entries.count - 1
        for number in 0..<keys.count {
            let hash = keys.withKey(number) { Self.hash($0) }
            var place = Int(truncatingIfNeeded: hash) & mask
            while entries[place] != 0 { place = (place + 1) & mask }
            entries[place] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(number + 1)
        }
    }

    /// `find` for the UTF-8 of `key`.
    func find(_ key: String) -> Int? {
        var key = key
        return key.withUTF8 { find(UnsafeRawBufferPointer($0), hash: Self.hash(UnsafeRawBufferPointer($0))) }
    }

    /// `findOrInsert` for the UTF-8 of `key`.
    mutating func findOrInsert(_ key: String, hash: UInt64) -> (number: Int, added: Bool) {
        var key = key
        return key.withUTF8 { findOrInsert(UnsafeRawBufferPointer($0), hash: hash) }
    }

    /// Starts loading the place where a key of `hash` would be found, without waiting: requests for several keys
    /// overlap their cache misses, then each lookup finds its place in cache.
    func prefetch(hash: UInt64) {
        entries.withUnsafeBufferPointer {
            Prefetch.line($0.baseAddress! + (Int(truncatingIfNeeded: hash) & ($0.count - 1)))
        }
    }

    /// The number of the key at the first place a key of `hash` would be found, if its entry holds part of that
    /// hash: a guess to prefetch by (neither the key is compared nor the probe followed), read without waiting
    /// only when `prefetch(hash:)` brought the place in earlier.
    func likelyNumber(hash: UInt64) -> Int? {
        entries.withUnsafeBufferPointer { entries in
            let entry = entries[Int(truncatingIfNeeded: hash) & (entries.count - 1)]
            guard entry != 0, entry >> 32 == hash >> 32 else { return nil }
            return Int(entry & 0xFFFF_FFFF) - 1
        }
    }

    /// A seeded hash: the seed is random per process, so keys chosen to collide cannot be predicted from outside
    /// it; the same in every thread, so it can be computed where a key is decoded. Eight bytes at a time, each word
    /// folded in by a full-width multiply: cheaper than SipHash (`Hasher`) on the decoding threads' hot path.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let count = key.count
        var state = seeds.0 ^ UInt64(truncatingIfNeeded: count)
        var offset = 0
        while offset + 8 <= count {
            state = fold(state ^ key.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            for index in offset..<count { tail |= UInt64(key[index]) << (UInt64(index - offset) * 8) }
            state = fold(state ^ tail)
        }
        return fold(state ^ seeds.1)
    }

    private static let seeds = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

    /// Multiplies by an odd constant to 128 bits and folds the halves: every input bit reaches both halves of the
    /// result (the table's place comes from the low half, the check kept in an entry from the high half).
    private static func fold(_ value: UInt64) -> UInt64 {
        let product = value.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return product.high ^ product.low
    }

    /// `hash` of the UTF-8 of `key`.
    static func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
