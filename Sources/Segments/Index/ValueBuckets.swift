/// One-byte codes for a numeric column, so that a range condition reads a byte per row instead of eight.
///
/// A present value's code is 1 plus the number of `edges` at or below it (1…255); a missing value's is 0. A code
/// stands for the values from one edge up to the next: a range condition sets every row whose code's values lie
/// wholly inside the range from the code alone, and compares the exact values only of rows whose code the range's
/// ends cut through — at most two codes. Counts stay exact whatever the edges; good edges only make them fast.
///
/// The edges are quantiles of the column, each also ending just after itself (`q` and `q + 1`), so a value many
/// customers share (no orders yet, a count of 2) has a code of its own and is never cut through; the codes a range
/// can cut hold about 1/127 of the rows each. They are chosen again from the values whenever the column has grown
/// fourfold (`IndexStorage.upsert`), so an index that starts empty and fills up gets edges that fit it.
package struct ValueBuckets {
    /// Sorted and distinct; at most 254.
    private(set) var edges: [Int64] = []
    /// Per row.
    package var codes: [UInt8] = []

    package init() {}

    /// Quantiles taken when choosing edges (each adds two edges).
    static let quantiles = 127
    /// The most values looked at when choosing edges.
    static let sampleMax = 1 << 16

    package func code(of value: Int64) -> UInt8 {
        if value == missingValue { return 0 }
        // How many edges are at or below `value`: halving without branches the CPU could mispredict.
        return edges.withUnsafeBufferPointer { edges in
            var base = 0
            var length = edges.count
            while length > 1 {
                let half = length >> 1
                base = edges[base + half - 1] <= value ? base + half : base
                length -= half
            }
            let below = length == 1 && edges[base] <= value ? base + 1 : base
            return UInt8(truncatingIfNeeded: 1 + below)
        }
    }

    /// The values the present code `code` stands for.
    func values(of code: Int) -> ClosedRange<Int64> {
        let lower = code == 1 ? RangeSet.lowest : edges[code - 2]
        let upper = code - 1 < edges.count ? edges[code - 1] - 1 : Int64.max
        return lower...upper
    }

    /// Chooses the edges from `values` (a sample of them) and codes every row again.
    package mutating func choose(from values: UnsafeBufferPointer<Int64>) {
        let stride = max(1, values.count / Self.sampleMax)
        var sample: [Int64] = []
        sample.reserveCapacity(min(values.count, Self.sampleMax + 1))
        for row in Swift.stride(from: 0, to: values.count, by: stride) where values[row] != missingValue {
            sample.append(values[row])
        }
        sample.sort()
        var chosen: [Int64] = []
        if !sample.isEmpty {
            for quantile in 0..<Self.quantiles {
                let value = sample[quantile * sample.count / Self.quantiles]
                chosen.append(value)
                if value < Int64.max { chosen.append(value + 1) }
            }
        }
        chosen.sort()
        edges = []
        for edge in chosen where edge != edges.last && edge > RangeSet.lowest { edges.append(edge) }
        codes.removeAll(keepingCapacity: true)
        for value in values { codes.append(code(of: value)) }
    }

    /// How `fillInRange` tests a row for `range`: codes `from ..< from + count` lie wholly inside it; rows whose
    /// code is one of `cuts` are compared exactly.
    func plan(_ range: ClosedRange<Int64>) -> (from: UInt8, count: UInt8, cuts: (UInt8, UInt8)?) {
        let lowCode = Int(code(of: max(range.lowerBound, RangeSet.lowest)))
        let highCode = Int(code(of: max(range.upperBound, RangeSet.lowest)))
        func inside(_ code: Int) -> Bool {
            let covered = values(of: code)
            return range.lowerBound <= covered.lowerBound && covered.upperBound <= range.upperBound
        }
        var from = lowCode
        var to = highCode
        var cuts: [UInt8] = []
        if !inside(lowCode) {
            cuts.append(UInt8(lowCode))
            from += 1
        }
        if highCode >= from && !inside(highCode) {
            cuts.append(UInt8(highCode))
            to -= 1
        }
        let count = max(0, to - from + 1)
        return (
            UInt8(truncatingIfNeeded: from), UInt8(count),
            cuts.isEmpty ? nil : (cuts[0], cuts.last!)
        )
    }

    var byteCount: Int { codes.capacity + edges.capacity * 8 }
}
