/// A fixed-size set of row numbers, one bit each: the currency of rule evaluation.
struct Bitset: Sendable, Equatable {
    private(set) var words: [UInt64]
    private(set) var count: Int

    /// All bits clear (`filled: false`) or set for rows `0..<count`.
    init(count: Int, filled: Bool = false) {
        self.count = count
        words = [UInt64](repeating: filled ? ~0 : 0, count: (count + 63) / 64)
        if filled { clearTail() }
    }

    /// Bits past `count` stay clear so that counts and complements are exact.
    private mutating func clearTail() {
        let extra = count % 64
        if extra != 0 { words[words.count - 1] &= (1 << UInt64(extra)) - 1 }
    }

    subscript(row: Int) -> Bool {
        get { words[row >> 6] & (1 << UInt64(row & 63)) != 0 }
        set {
            if newValue {
                words[row >> 6] |= 1 << UInt64(row & 63)
            } else {
                words[row >> 6] &= ~(1 << UInt64(row & 63))
            }
        }
    }

    /// Adds clear rows up to `newCount`.
    mutating func grow(to newCount: Int) {
        guard newCount > count else { return }
        count = newCount
        let needed = (newCount + 63) / 64
        if needed > words.count { words.append(contentsOf: repeatElement(0, count: needed - words.count)) }
    }

    mutating func reserveCapacity(_ rows: Int) { words.reserveCapacity((rows + 63) / 64) }

    /// Rows set.
    var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    mutating func formIntersection(_ other: Bitset) {
        words.withUnsafeMutableBufferPointer { mine in
            other.words.withUnsafeBufferPointer { theirs in
                for index in mine.indices { mine[index] &= theirs[index] }
            }
        }
    }

    mutating func formUnion(_ other: Bitset) {
        words.withUnsafeMutableBufferPointer { mine in
            other.words.withUnsafeBufferPointer { theirs in
                for index in mine.indices { mine[index] |= theirs[index] }
            }
        }
    }

    /// Keeps the rows of `within` that are not in self.
    mutating func formComplement(within: Bitset) {
        words.withUnsafeMutableBufferPointer { mine in
            within.words.withUnsafeBufferPointer { theirs in
                for index in mine.indices { mine[index] = ~mine[index] & theirs[index] }
            }
        }
    }

    /// Sets every row for which `test` holds, writing whole words at a time.
    mutating func fill(_ test: (Int) -> Bool) {
        words.withUnsafeMutableBufferPointer { words in
            for wordIndex in words.indices {
                let base = wordIndex << 6
                let end = min(64, count - base)
                var word: UInt64 = 0
                for bit in 0..<end where test(base + bit) { word |= 1 << UInt64(bit) }
                words[wordIndex] = word
            }
        }
    }

    /// Sets the rows whose value lies in `range`: one unsigned comparison per row, 64 rows per word, no branches,
    /// so the compiler can vectorise it. This loop is most of the cost of a count.
    mutating func fillInRange(_ values: UnsafeBufferPointer<Int64>, _ range: ClosedRange<Int64>) {
        let low = range.lowerBound
        let width = UInt64(bitPattern: range.upperBound &- low)
        let rows = count
        words.withUnsafeMutableBufferPointer { words in
            let full = rows / 64
            for wordIndex in 0..<full {
                let base = wordIndex &* 64
                var word: UInt64 = 0
                for bit in 0..<64 {
                    let inside = UInt64(bitPattern: values[base &+ bit] &- low) <= width
                    word |= (inside ? 1 : 0) &<< UInt64(bit)
                }
                words[wordIndex] = word
            }
            if full < words.count {
                var word: UInt64 = 0
                for bit in 0..<(rows - full * 64) where UInt64(bitPattern: values[full * 64 + bit] &- low) <= width {
                    word |= 1 << UInt64(bit)
                }
                words[full] = word
            }
        }
    }

    /// Sets the rows whose code is marked in `table` (row `r` has code `codes[r]`); like `fillInRange`, a tight
    /// branch-free loop over whole words.
    mutating func fillFromCodes(_ codes: UnsafeBufferPointer<UInt32>, _ table: UnsafeBufferPointer<Bool>) {
        let rows = count
        words.withUnsafeMutableBufferPointer { words in
            for wordIndex in words.indices {
                let base = wordIndex &* 64
                let end = min(64, rows &- base)
                var word: UInt64 = 0
                for bit in 0..<end {
                    word |= (table[Int(codes[base &+ bit])] ? 1 : 0) &<< UInt64(bit)
                }
                words[wordIndex] = word
            }
        }
    }

    /// Calls `body` with each set row in ascending order until it returns false.
    func forEach(_ body: (Int) -> Bool) {
        for (wordIndex, original) in words.enumerated() {
            var word = original
            while word != 0 {
                let bit = word.trailingZeroBitCount
                guard body(wordIndex << 6 + bit) else { return }
                word &= word - 1
            }
        }
    }

    /// Bytes held.
    var byteCount: Int { words.capacity * 8 }
}
