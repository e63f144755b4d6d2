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
        bytes.withUnsafeBufferPointer { bytes in
            starts.withUnsafeBufferPointer { starts in
                let base = bytes.baseAddress
                order.sort { i, j in
                    let (x, xCount) = (starts[i], starts[i + 1] - starts[i])
                    let (y, yCount) = (starts[j], starts[j + 1] - starts[j])
                    let common = min(xCount, yCount)
                    let order = common == 0 ? 0 : memcmp(base! + x, base! + y, common)
                    return order != 0 ? order < 0 : xCount < yCount
                }
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

extension KeyArena {
    /// Forgets the last key added.
    mutating func removeLast() {
        starts.removeLast()
        bytes.removeSubrange(starts.last!...)
    }

    /// Whether keys `a` and `b` hold the same bytes.
    func keysEqual(_ a: Int, _ b: Int) -> Bool {
        let (aCount, bCount) = (starts[a + 1] - starts[a], starts[b + 1] - starts[b])
        guard aCount == bCount else { return false }
        return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[a], $0.baseAddress! + starts[b], aCount) }
            == 0
    }

    /// A seeded hash of key `index` (`Hasher`: inputs chosen to collide cannot be predicted).
    func hash(_ index: Int) -> Int {
        withKey(index) { key in
            var hasher = Hasher()
            hasher.combine(bytes: key)
            return hasher.finalize()
        }
    }
}

/// A set of byte strings held in one `KeyArena`, found through an open-addressing table of their hashes: no object
/// per entry and one probe sequence through a flat array, where a `Set` of strings chases a pointer per comparison.
/// For the tens of millions of event ids of a rebuild.
struct ByteSet {
    /// The members, in insertion order.
    private(set) var keys: KeyArena
    /// Per table place: the member's index + 1 (0 = empty), and its hash.
    private var places: [Int32]
    private var hashes: [Int]
    private var count = 0

    init(expectedCount: Int, expectedBytes: Int) {
        keys = KeyArena(expectedKeys: expectedCount, expectedBytes: expectedBytes)
        let wanted = max(16, expectedCount * 2)
        let capacity = 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount)  // the next power of two
        places = [Int32](repeating: 0, count: capacity)
        hashes = [Int](repeating: 0, count: capacity)
    }

    /// Adds the key that `build` appends to a buffer; false (and nothing added) when it is a member already.
    mutating func insert(_ build: (inout [UInt8]) -> Void) -> Bool {
        keys.append(build)
        let candidate = keys.count - 1
        let hash = keys.hash(candidate)
        let mask = places.count - 1
        var place = hash & mask
        while places[place] != 0 {
            if hashes[place] == hash && keys.keysEqual(Int(places[place]) - 1, candidate) {
                keys.removeLast()
                return false
            }
            place = (place + 1) & mask
        }
        places[place] = Int32(candidate + 1)
        hashes[place] = hash
        count += 1
        if count * 2 > places.count { grow() }
        return true
    }

    /// Doubles the table, placing every member again by its stored hash.
    private mutating func grow() {
        let (oldPlaces, oldHashes) = (places, hashes)
        places = [Int32](repeating: 0, count: oldPlaces.count * 2)
        hashes = [Int](repeating: 0, count: oldPlaces.count * 2)
        let mask = places.count - 1
        for (index, member) in oldPlaces.enumerated() where member != 0 {
            var place = oldHashes[index] & mask
            while places[place] != 0 { place = (place + 1) & mask }
            places[place] = member
            hashes[place] = oldHashes[index]
        }
    }
}
