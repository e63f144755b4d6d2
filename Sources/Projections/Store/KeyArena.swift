import Foundation
import Memory

/// Many keys laid end to end in one buffer, to be put in LMDB's key order: sorting them compares bytes in place,
/// with no array or string to retain and release per comparison (for millions of keys, those would cost more than
/// the puts themselves).
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
    ///
    /// Keys of one database mostly share a prefix (a marker byte, a producer's `gen-42-`) and then differ within a
    /// few bytes. So each key is ranked by the eight bytes after the prefix all keys share (zero-padded: a key
    /// that ends inside them ranks with the keys it is a prefix of), those words are radix-sorted with their
    /// indices, and only keys whose words tie are compared whole. That is LMDB's order: keys that differ within the
    /// window differ first there, and big-endian words compare as their bytes do; a key shorter than another with
    /// the same window bytes ties with it and is compared whole.
    func sortedIndices() -> [Int] {
        let count = self.count
        guard count > 1 else { return Array(0..<count) }
        return bytes.withUnsafeBytes { bytes in
            starts.withUnsafeBufferPointer { starts in
                func key(_ index: Int) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: bytes[starts[index]..<starts[index + 1]])
                }
                // The prefix every key shares with the first.
                let first = key(0)
                var shared = first.count
                for index in 1..<count where shared > 0 {
                    let other = key(index)
                    var same = 0
                    let limit = min(shared, other.count)
                    while same < limit && other[same] == first[same] { same += 1 }
                    shared = same
                }
                var ranked = [(word: UInt64, index: Int)](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for index in 0..<count {
                        let key = key(index)
                        var word: UInt64 = 0
                        for offset in 0..<8 {
                            let at = shared + offset
                            word = word << 8 | UInt64(at < key.count ? key[at] : 0)
                        }
                        buffer[index] = (word, index)
                    }
                    initialized = count
                }
                Self.radixSort(&ranked)
                // Runs of equal words, compared whole (stably: the radix sort kept their order).
                var order = ranked.map(\.index)
                var start = 0
                while start < count {
                    var end = start + 1
                    while end < count && ranked[end].word == ranked[start].word { end += 1 }
                    if end - start > 1 {
                        order[start..<end].sort { a, b in
                            StoreKeys.precedes(key(a), key(b)) || (!StoreKeys.precedes(key(b), key(a)) && a < b)
                        }
                    }
                    start = end
                }
                return order
            }
        }
    }

    /// Sorts `items` by `word`, stably: least significant byte first, one counting pass per byte, skipping bytes
    /// that are the same in every word.
    private static func radixSort(_ items: inout [(word: UInt64, index: Int)]) {
        var counts = [Int](repeating: 0, count: 8 * 256)
        for item in items {
            for byte in 0..<8 { counts[byte * 256 + Int((item.word >> (8 * UInt64(byte))) & 0xFF)] += 1 }
        }
        var scratch = items
        for byte in 0..<8 {
            let base = byte * 256
            let shift = 8 * UInt64(byte)
            if counts[base + Int((items[0].word >> shift) & 0xFF)] == items.count { continue }
            var next = 0
            for bucket in base..<base + 256 {
                let bucketCount = counts[bucket]
                counts[bucket] = next
                next += bucketCount
            }
            for item in items {
                let bucket = base + Int((item.word >> shift) & 0xFF)
                scratch[counts[bucket]] = item
                counts[bucket] += 1
            }
            swap(&items, &scratch)
        }
    }

    /// Starts loading the keys numbered `indices`, without waiting. A key read out of order costs two dependent
    /// cache misses (where it starts, then its bytes): requested for several keys at once, first all their bounds,
    /// then all their bytes, the misses overlap instead of stalling the reader one by one.
    func prefetch(keys indices: some Collection<Int>) {
        starts.withUnsafeBufferPointer { starts in
            for index in indices { Prefetch.line(starts.baseAddress! + index) }
            bytes.withUnsafeBufferPointer { bytes in
                for index in indices { Prefetch.line(bytes.baseAddress! + starts[index]) }
            }
        }
    }

    /// Calls `body` with the bytes of key `index`.
    @discardableResult
    func withKey<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[starts[index]..<starts[index + 1]]))
        }
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
            key.count == other.count
                && (key.count == 0 || Bytes.equal(key.baseAddress!, other.baseAddress!, count: key.count))
        }
    }
}
