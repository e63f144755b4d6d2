import Dispatch
import Foundation
import Memory

/// A fixed-size set of row numbers, one bit each: the currency of rule evaluation.
package struct Bitset: Sendable, Equatable {
    package private(set) var words: [UInt64]
    package private(set) var count: Int

    /// All bits clear (`filled: false`) or set for rows `0..<count`.
    package init(count: Int, filled: Bool = false) {
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

    /// Rows the bitset has room for without growing its storage.
    var rowCapacity: Int { words.capacity * 64 }

    /// Rows set.
    package var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

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
        let rows = count
        splittingWords { words, range in
            for wordIndex in range {
                let base = wordIndex << 6
                let end = min(64, rows - base)
                var word: UInt64 = 0
                for bit in 0..<end where test(base + bit) { word |= 1 << UInt64(bit) }
                words[wordIndex] = word
            }
        }
    }

    /// Sets the rows whose value lies in `range`: one unsigned comparison per row, 64 rows per word, no branches,
    /// so the compiler can vectorise it. This loop is most of the cost of a count.
    package mutating func fillInRange(_ values: UnsafeBufferPointer<Int64>, _ range: ClosedRange<Int64>) {
        let low = range.lowerBound
        let width = UInt64(bitPattern: range.upperBound &- low)
        let rows = count
        splittingWords { words, range in
            for wordIndex in range {
                let base = wordIndex &* 64
                var word: UInt64 = 0
                if base &+ 64 <= rows {
                    for bit in 0..<64 {
                        let inside = UInt64(bitPattern: values[base &+ bit] &- low) <= width
                        word |= (inside ? 1 : 0) &<< UInt64(bit)
                    }
                } else {
                    for bit in 0..<(rows &- base) where UInt64(bitPattern: values[base &+ bit] &- low) <= width {
                        word |= 1 << UInt64(bit)
                    }
                }
                words[wordIndex] = word
            }
        }
    }

    /// Sets the rows whose value lies in `range` reading mostly `buckets`' one-byte codes: a row whose code lies
    /// wholly inside the range is set from the code, and only rows whose code the range's ends cut through are
    /// compared exactly (`ValueBuckets`). Eight times less memory to read than `fillInRange(_:_:)`, which at 10M
    /// customers is what a count waits for.
    package mutating func fillInRange(
        _ values: UnsafeBufferPointer<Int64>, buckets: ValueBuckets, _ range: ClosedRange<Int64>
    ) {
        let low = range.lowerBound
        let width = UInt64(bitPattern: range.upperBound &- low)
        let (from, insideCount, cuts) = buckets.plan(range)
        let rows = count
        buckets.codes.withUnsafeBufferPointer { codes in
            splittingWords { words, range in
                for wordIndex in range {
                    let base = wordIndex &* 64
                    var (word, cut): (UInt64, UInt64) = (0, 0)
                    if base &+ 64 <= rows {
                        (word, cut) = ByteCodes.masks(
                            codes.baseAddress! + base, from: from, count: insideCount, cuts: cuts)
                    } else {
                        for bit in 0..<(rows &- base) {
                            let code = codes[base &+ bit]
                            if code &- from < insideCount { word |= 1 &<< UInt64(bit) }
                            if let cuts, code == cuts.0 || code == cuts.1 { cut |= 1 &<< UInt64(bit) }
                        }
                    }
                    while cut != 0 {
                        let bit = cut.trailingZeroBitCount
                        if UInt64(bitPattern: values[base &+ bit] &- low) <= width { word |= 1 &<< UInt64(bit) }
                        cut &= cut &- 1
                    }
                    words[wordIndex] = word
                }
            }
        }
    }

    /// Sets the rows whose code is marked in `table` (row `r` has code `codes[r]`); like `fillInRange`, a tight
    /// branch-free loop over whole words.
    mutating func fillFromCodes(_ codes: UnsafeBufferPointer<UInt32>, _ table: UnsafeBufferPointer<Bool>) {
        let rows = count
        splittingWords { words, range in
            for wordIndex in range {
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

    /// Sets of at least this many rows are filled on every core at once: a scan of millions of rows is bound by
    /// memory bandwidth, which one core does not use up; below it, waking a second thread costs more than it saves.
    package static let parallelRowsMin = 1 << 21

    /// The cores a fill is split over.
    private static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` with the words and consecutive ranges of word indices that cover them all: one range, or, for
    /// sets of `parallelRowsMin` rows or more, one per core, on as many threads at once. Ranges never share a word.
    private mutating func splittingWords(
        _ body: (_ words: UnsafeMutableBufferPointer<UInt64>, _ range: Range<Int>) -> Void
    ) {
        let parts = count >= Self.parallelRowsMin ? Self.cores : 1
        words.withUnsafeMutableBufferPointer { words in
            guard parts > 1 else { return body(words, 0..<words.count) }
            let size = (words.count + parts - 1) / parts
            let total = words.count
            withoutActuallyEscaping(body) { body in
                // Each thread writes only the words of its own range, and `body` only reads what it captured.
                let shared = UncheckedSendable((words: words, body: body))
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    shared.value.body(shared.value.words, min(total, part * size)..<min(total, (part + 1) * size))
                }
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
