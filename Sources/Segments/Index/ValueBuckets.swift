/// One-byte codes for a numeric column, so that a range condition reads a byte per row instead of eight.
///
/// A present value's code is 1 plus the number of `edges` at or below it (1…255); a missing value's is 0. A code
/// stands for the values from one edge up to the next: a range condition sets every row whose code's values lie
/// wholly inside the range from the code alone, and compares the exact values only of rows whose code the range's
/// ends cut through — at most two codes. Counts stay exact whatever the edges; good edges only make them fast.
///
/// The edges are 254 quantiles of the column, and a value that fills more than one quantile's share (no orders yet, a
/// count of 2) also ends just after itself (`v` and `v + 1`), so it has a code of its own and is never cut through;
/// the codes a range can cut hold about 1/254 of the rows each. They are chosen again from the values whenever the
/// column has grown fourfold, and whenever one code has come to hold four times its share (`set(_:at:)`): the times
/// of new orders and visits all lie beyond the last edge, and would otherwise pile up in one code that every
/// condition on a recent time cuts through.
package struct ValueBuckets {
    /// Sorted and distinct; at most 254.
    private(set) var edges: [Int64] = []
    /// Per row.
    package private(set) var codes: [UInt8] = []
    /// Rows per code, missing (0) included.
    private var rowsPerCode = [Int](repeating: 0, count: 256)

    package init() {}

    /// Quantiles taken when choosing edges: one edge each, as many as a byte codes.
    static let quantiles = 254
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
        var quantiles = Self.quantiles
        repeat {
            var chosen: [Int64] = []
            for quantile in 0..<(sample.isEmpty ? 0 : quantiles) {
                chosen.append(sample[quantile * sample.count / quantiles])
            }
            // A value holding more than one quantile's share also ends just after itself.
            var start = 0
            while start < sample.count {
                var end = start + 1
                while end < sample.count && sample[end] == sample[start] { end += 1 }
                if (end - start) * quantiles > sample.count && sample[start] < Int64.max {
                    chosen.append(sample[start] + 1)
                }
                start = end
            }
            chosen.sort()
            edges = []
            for edge in chosen where edge != edges.last && edge > RangeSet.lowest { edges.append(edge) }
            quantiles -= 8
        } while edges.count > Self.quantiles
        recode(values)
    }

    /// Codes every row of `values` again with the edges as they are.
    package mutating func recode(_ values: UnsafeBufferPointer<Int64>) {
        codes.removeAll(keepingCapacity: true)
        codes.reserveCapacity(values.count)
        rowsPerCode = [Int](repeating: 0, count: 256)
        for value in values {
            let code = code(of: value)
            codes.append(code)
            rowsPerCode[Int(code)] += 1
        }
    }

    /// Adds a row without a value.
    package mutating func appendMissing() {
        codes.append(0)
        rowsPerCode[0] += 1
    }

    /// Codes `value` at `row`. True when its code now holds four times its share of the rows (and at least 4,096)
    /// while standing for more than one value: then edges chosen again would split it.
    package mutating func set(_ value: Int64, at row: Int) -> Bool {
        let code = code(of: value)
        let old = codes[row]
        guard code != old else { return false }
        codes[row] = code
        rowsPerCode[Int(old)] -= 1
        rowsPerCode[Int(code)] += 1
        guard code != 0, rowsPerCode[Int(code)] > max(4_096, 4 * codes.count / Self.quantiles) else { return false }
        let covered = values(of: Int(code))
        return covered.lowerBound < covered.upperBound
    }

    /// Reserves room for `rows` codes.
    mutating func reserveCapacity(_ rows: Int) { codes.reserveCapacity(rows) }

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

    var byteCount: Int { codes.capacity + edges.capacity * 8 + rowsPerCode.capacity * 8 }
}
