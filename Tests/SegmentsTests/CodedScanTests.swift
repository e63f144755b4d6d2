import Events
import Segments
import Testing

/// Range conditions read one-byte codes and compare exact values only where a range's end cuts a code; sets of
/// millions of rows are filled on every core. Both must give exactly what comparing every value gives.
@Suite("coded scans")
struct CodedScanTests {
    /// Values as customers have them: many missing, many sharing a value, the rest spread wide, and the extremes.
    static func values(count: Int, _ random: inout TestRandom) -> [Int64] {
        (0..<count).map { _ in
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1: Int64.min  // missing
            case 2, 3, 4: 0
            case 5: Int64.random(in: 1...5, using: &random)
            case 6: random.pick([RangeSet.lowest, Int64.max, -1])
            default: Int64.random(in: -1_000_000_000...4_000_000_000_000, using: &random)
            }
        }
    }

    static func ranges(of values: [Int64], _ random: inout TestRandom) -> [ClosedRange<Int64>] {
        var ranges: [ClosedRange<Int64>] = [
            RangeSet.lowest...Int64.max, 0...0, 1...5, 0...5, RangeSet.lowest...(-1), 6...Int64.max,
            Int64.max...Int64.max,
        ]
        for _ in 0..<40 {
            let picked = [random.pick(values), random.pick(values), Int64.random(in: -5...5_000_000, using: &random)]
                .map { max($0, RangeSet.lowest) }
            let (a, b) = (random.pick(picked), random.pick(picked))
            ranges.append(min(a, b)...max(a, b))
        }
        return ranges
    }

    @Test(
        "coded and exact range scans set the same rows, on one core and split over all",
        arguments: [1_000, 4_097, Bitset.parallelRowsMin + 77])
    func codedEqualsExact(rows: Int) {
        var random = TestRandom(seed: UInt64(rows))
        let values = Self.values(count: rows, &random)
        var buckets = ValueBuckets()
        values.withUnsafeBufferPointer { buckets.choose(from: $0) }
        // Edges chosen from the first rows only, as when an index grows after choosing them.
        var early = ValueBuckets()
        values.prefix(300).withUnsafeBufferPointer { early.choose(from: $0) }
        values.withUnsafeBufferPointer { early.recode($0) }
        for range in Self.ranges(of: values, &random) {
            let expected = values.count { $0 != Int64.min && range.contains($0) }
            var exact = Bitset(count: rows)
            var coded = Bitset(count: rows)
            var codedEarly = Bitset(count: rows)
            values.withUnsafeBufferPointer { values in
                exact.fillInRange(values, range)
                coded.fillInRange(values, buckets: buckets, range)
                codedEarly.fillInRange(values, buckets: early, range)
            }
            #expect(exact.population == expected, "\(range)")
            #expect(coded == exact, "\(range)")
            #expect(codedEarly == exact, "\(range)")
        }
    }

    @Test("a value many rows share gets a code of its own, so no range end cuts it")
    func sharedValuesAreNotCut() {
        var random = TestRandom(seed: 7)
        let values = Self.values(count: 10_000, &random)
        var buckets = ValueBuckets()
        values.withUnsafeBufferPointer { buckets.choose(from: $0) }
        let zero = buckets.code(of: 0)
        #expect(zero != 0 && buckets.code(of: -1) != zero && buckets.code(of: 1) != zero)
        #expect(buckets.code(of: Int64.min) == 0)
    }

    @Test("a code filling up with values beyond the last edge asks for new edges, and they split it")
    func crowdedCodeAsksForNewEdges() {
        // Times of past orders, then new orders, all later than every edge.
        var values = (0..<20_000).map { Int64($0) }
        var buckets = ValueBuckets()
        values.withUnsafeBufferPointer { buckets.choose(from: $0) }
        let topBefore = buckets.code(of: 1_000_000)
        var asked = false
        while !asked && values.count < 60_000 {
            values.append(1_000_000 + Int64(values.count))
            buckets.appendMissing()
            asked = buckets.set(values.last!, at: values.count - 1)
        }
        #expect(asked)
        // 4,096 rows piled up in the last code (its share was 20,000 / 254).
        #expect(values.count - 20_000 < 4_200)
        #expect(buckets.code(of: values.last!) == topBefore && buckets.code(of: 1_020_000) == topBefore)
        values.withUnsafeBufferPointer { buckets.choose(from: $0) }
        #expect(buckets.code(of: 1_020_000) != buckets.code(of: values.last!))

        // A code standing for one value holds every row and never asks: new edges could not split it.
        var shared = ValueBuckets()
        let zeros = [Int64](repeating: 0, count: 10_000)
        zeros.withUnsafeBufferPointer { shared.choose(from: $0) }
        var sharedAsked = false
        for row in 0..<10_000 {
            shared.appendMissing()
            sharedAsked = sharedAsked || shared.set(0, at: 10_000 + row)
        }
        #expect(!sharedAsked)
    }

    @Test("a live index whose new order times fill one code chooses new edges, and its counts stay exact")
    func liveIndexChoosesNewEdges() throws {
        let day: Int64 = 86_400_000_000
        let past = at("2024-01-01T00:00:00Z").microseconds
        let recent = at("2026-06-01T00:00:00Z").microseconds
        var customers = (0..<20_000).map { number in
            customer("c\(number)") { $0.lastOrderAt = Timestamp(microseconds: past + Int64(number) * day / 100) }
        }
        let index = index(customers)
        let asOf = at("2026-07-01T00:00:00Z")
        let rule = try rule(#"{"field":"days_since_last_order","op":"lt","value":20}"#)
        for wave in 0..<10 {
            let orders = (0..<1_000).map { number in
                customer("n\(wave)-\(number)") {
                    $0.lastOrderAt = Timestamp(microseconds: recent + Int64(wave * 1_000 + number) * day / 1_000)
                }
            }
            index.update(orders)
            customers += orders
            let expected = customers.count { NaiveEvaluator.matches(rule, $0, asOf: asOf) }
            #expect(index.count(rule, asOf: asOf) == expected, "after wave \(wave)")
        }
        // 10,000 times beyond the last edge: the code holding them asked for new edges past 4,096.
        #expect(index.edgesChosenAgain >= 1)
        // Columns coded again keep the room made for new rows.
        #expect(index.room.least >= index.room.reserved)
    }
}
