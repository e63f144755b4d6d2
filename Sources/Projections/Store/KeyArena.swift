import Foundation

/// Many keys laid end to end in one buffer, to be put in LMDB's key order: sorting them compares bytes in place,
/// with no array or string to retain and release per comparison (which, for a million keys, took longer than the
/// puts themselves).
struct KeyArena {
    private var bytes: [UInt8] = []
    /// Where key `i` starts; it ends where key `i + 1` starts.
    private var starts: [Int] = [0]

    init(expectedKeys: Int = 0, expectedBytes: Int = 0) {
        starts.reserveCapacity(expectedKeys + 1)
        bytes.reserveCapacity(expectedBytes)
    }

    var count: Int { starts.count - 1 }

    /// Adds the key that `build` appends to the buffer; its index is the count before.
    mutating func append(_ build: (inout [UInt8]) -> Void) {
        build(&bytes)
        starts.append(bytes.count)
    }

    /// Adds `key`.
    mutating func append(_ key: some Collection<UInt8>) {
        bytes.append(contentsOf: key)
        starts.append(bytes.count)
    }

    /// The indices of the keys in LMDB's default order: bytes (`memcmp`), then length. Stable: equal keys keep
    /// their order.
    func sortedIndices() -> [Int] {
        var order = Array(0..<count)
        bytes.withUnsafeBytes { bytes in
            starts.withUnsafeBufferPointer { starts in
                func key(_ index: Int) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: bytes[starts[index]..<starts[index + 1]])
                }
                order.sort { StoreKeys.precedes(key($0), key($1)) }
            }
        }
        return order
    }

    /// Calls `body` with the bytes of key `index`.
    @discardableResult
    func withKey<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[starts[index]..<starts[index + 1]]))
        }
    }
}

/// Byte-string keys numbered 0, 1, 2… in insertion order, held in one `KeyArena` and found through an
/// open-addressing table: one flat array of 64-bit entries (part of the key's hash and its number), so that a probe
/// is one memory access and no object is kept per key. A `Dictionary` of strings or arrays takes several accesses
/// and a retained object per key; with tens of millions of keys (a rebuild's event ids, customers and orders) those
/// cache misses and allocations were most of the fold.
struct ByteTable {
    /// The keys, by number.
    private(set) var keys: KeyArena
    /// Per place: 0 when empty, else the high half of the key's hash and its number + 1.
    private var entries: [UInt64]

    init(expectedCount: Int = 0, expectedBytes: Int = 0) {
        keys = KeyArena(expectedKeys: expectedCount, expectedBytes: expectedBytes)
        let wanted = max(16, expectedCount * 2)
        entries = [UInt64](repeating: 0, count: 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount))
    }

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
        if keys.count * 2 > entries.count { grow() }
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
        entries = [UInt64](repeating: 0, count: entries.count * 2)
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

    /// Reads the place where a key of `hash` would be found and returns what it holds (for nothing else): loads
    /// issued for several keys at once overlap their cache misses, then each lookup finds its place in cache.
    func touch(hash: UInt64) -> UInt64 {
        entries.withUnsafeBufferPointer { $0[Int(truncatingIfNeeded: hash) & ($0.count - 1)] }
    }

    /// A seeded hash (`Hasher`: keys chosen to collide cannot be predicted from outside the process); the same in
    /// every thread of the process, so it can be computed where the key is decoded.
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: key)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// `hash` of the UTF-8 of `key`.
    static func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}

extension KeyArena {
    /// Whether key `a` sorts before key `b` in LMDB's default order.
    func keyPrecedes(_ a: Int, _ b: Int) -> Bool {
        withKey(a) { x in withKey(b) { y in StoreKeys.precedes(x, y) } }
    }

    /// Whether key `index` holds exactly `other`.
    func keyEquals(_ index: Int, _ other: UnsafeRawBufferPointer) -> Bool {
        withKey(index) { key in
            key.count == other.count && (key.count == 0 || memcmp(key.baseAddress!, other.baseAddress!, key.count) == 0)
        }
    }
}
