import Events
import Foundation

/// A condition compiled for one `as_of`: operands converted to the index's units, day fields turned into ranges of
/// their base time. The index applies a plan to whole columns, `explain` to one customer; both share these tests,
/// so the two can never disagree.
package struct ConditionPlan {
    package enum Test {
        /// The value is present and inside the ranges.
        case numeric(NumericColumn, RangeSet)
        case numericPresent(NumericColumn, Bool)
        /// The (lower-cased) value is present and passes the test.
        case string(StringSource, StringTest)
        case stringPresent(StringSource, Bool)
        /// Has any of the tags (or, negated, none of them).
        case tags(needles: [String], negated: Bool)
        case tagsPresent(Bool)
        case attribute(key: String, AttributeTest)
        case attributePresent(key: String, Bool)
    }

    /// Where a string field's values live.
    package enum StringSource {
        case customerID
        case column(StringColumn)
    }

    package let test: Test

    package init(_ condition: Condition, asOf: Timestamp) {
        let op = condition.op
        let field = condition.field
        let present = op == .exists
        if op == .exists || op == .missing {
            switch field.kind {
            case .string: test = .stringPresent(Self.source(field), present)
            case .tags: test = .tagsPresent(present)
            case .attribute:
                guard case .attribute(let key) = field else { preconditionFailure("attribute kind") }
                test = .attributePresent(key: key, present)
            case .days: test = .numericPresent(NumericColumn(field.dayBase!)!, present)
            case .money, .integer, .timestamp: test = .numericPresent(NumericColumn(field)!, present)
            }
            return
        }
        switch field.kind {
        case .string:
            test = .string(Self.source(field), StringTest(op: op, operands: condition.operands))
        case .tags:
            let needles = condition.operands.compactMap { operand -> String? in
                if case .string(let text) = operand { return text.lowercased() }
                return nil
            }
            test = .tags(needles: needles, negated: op == .notContains || op == .notIn)
        case .attribute:
            guard case .attribute(let key) = field else { preconditionFailure("attribute kind") }
            test = .attribute(key: key, AttributeTest(op: op, operands: condition.operands))
        case .money, .integer, .timestamp:
            let values = condition.operands.map { Self.units($0, kind: field.kind) }
            test = .numeric(NumericColumn(field)!, RangeSet.of(op, values))
        case .days:
            let days = RangeSet.of(op, condition.operands.map { Self.units($0, kind: .integer) })
            test = .numeric(NumericColumn(field.dayBase!)!, days.daysToTimes(asOf: asOf.microseconds))
        }
    }

    private static func source(_ field: Field) -> StringSource {
        if field == .customerID { return .customerID }
        return .column(StringColumn(field)!)
    }

    /// An operand in column units: money in 1/10,000, counts as is, times in microseconds.
    static func units(_ operand: Operand, kind: Field.Kind) -> Int64 {
        switch operand {
        case .time(let time): return time.microseconds
        case .number(let number):
            let scaled = kind == .money ? number * Decimal(Money.scale) : number
            return Int64(scaled.description) ?? (scaled < 0 ? RangeSet.lowest : Int64.max)
        case .string, .bool: preconditionFailure("the decoder admits only numbers and times here")
        }
    }
}

/// Sorted, disjoint closed ranges of Int64, never including the missing-value marker.
package struct RangeSet: Equatable {
    package static let lowest = Int64.min + 1
    package private(set) var ranges: [ClosedRange<Int64>]

    init(_ ranges: [ClosedRange<Int64>]) {
        var merged: [ClosedRange<Int64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound || last.upperBound &+ 1 == range.lowerBound {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    /// The values `op` accepts against `values`.
    static func of(_ op: Operator, _ values: [Int64]) -> RangeSet {
        let all = lowest...Int64.max
        func above(_ value: Int64) -> [ClosedRange<Int64>] { value == .max ? [] : [(value + 1)...Int64.max] }
        func below(_ value: Int64) -> [ClosedRange<Int64>] { value <= lowest ? [] : [lowest...(value - 1)] }
        switch op {
        case .eq: return RangeSet([values[0]...values[0]])
        case .ne: return RangeSet(below(values[0]) + above(values[0]))
        case .gt: return RangeSet(above(values[0]))
        case .gte: return RangeSet([max(values[0], lowest)...Int64.max])
        case .lt: return RangeSet(below(values[0]))
        case .lte: return RangeSet(values[0] < lowest ? [] : [lowest...values[0]])
        case .between: return RangeSet([values[0]...values[1]])
        case .in: return RangeSet(values.map { $0...$0 })
        case .notIn:
            var result: [ClosedRange<Int64>] = []
            var next = all.lowerBound
            for value in Set(values).sorted() where value >= next {
                if value > next { result.append(next...(value - 1)) }
                if value == .max { return RangeSet(result) }
                next = value + 1
            }
            result.append(next...Int64.max)
            return RangeSet(result)
        default: preconditionFailure("\(op) is not a numeric comparison")
        }
    }

    /// Whole days from time `t` to `asOf` are `floor((asOf − t) / day)`, so "days in [lo, hi]" is exactly
    /// "t in [asOf − (hi + 1)·day + 1, asOf − lo·day]". Saturating arithmetic keeps huge day counts in range.
    func daysToTimes(asOf: Int64) -> RangeSet {
        let day: Int64 = 86_400_000_000
        func product(_ days: Int64) -> Int64 {
            let (result, overflow) = days.multipliedReportingOverflow(by: day)
            return overflow ? (days < 0 ? RangeSet.lowest : Int64.max) : result
        }
        func minus(_ a: Int64, _ b: Int64) -> Int64 {
            let (result, overflow) = a.subtractingReportingOverflow(b)
            return overflow ? (b < 0 ? Int64.max : RangeSet.lowest) : max(result, RangeSet.lowest)
        }
        let converted = ranges.compactMap { range -> ClosedRange<Int64>? in
            let upper = range.lowerBound == RangeSet.lowest ? Int64.max : minus(asOf, product(range.lowerBound))
            let lower: Int64
            if range.upperBound == Int64.max {
                lower = RangeSet.lowest
            } else {
                let next = range.upperBound == Int64.max - 1 ? Int64.max : range.upperBound + 1
                let back = minus(asOf, product(next))
                lower = back == Int64.max ? back : max(RangeSet.lowest, back &+ 1)
            }
            return lower <= upper ? lower...upper : nil
        }
        return RangeSet(converted)
    }

    @inline(__always)
    func contains(_ value: Int64) -> Bool {
        if ranges.count == 1 { return ranges[0].contains(value) }
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < value { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].contains(value)
    }
}

/// A string comparison on lower-cased UTF-8 bytes of a present value.
package struct StringTest {
    package let op: Operator
    package let needles: [[UInt8]]

    init(op: Operator, operands: [Operand]) {
        self.op = op
        needles = operands.compactMap { operand in
            if case .string(let text) = operand { return Array(text.lowercased().utf8) }
            return nil
        }
    }

    /// True for the operators satisfied by any value equal to one of the needles.
    var isEquality: Bool { op == .eq || op == .in }
    /// True for the operators satisfied by any value equal to none of the needles.
    var isInequality: Bool { op == .ne || op == .notIn }

    func matches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        switch op {
        case .eq, .in: return needles.contains { value.elementsEqual($0) }
        case .ne, .notIn: return !needles.contains { value.elementsEqual($0) }
        case .contains: return value.contains(bytes: needles[0])
        case .notContains: return !value.contains(bytes: needles[0])
        case .startsWith: return value.starts(withBytes: needles[0])
        default: return false
        }
    }

    func matches(_ text: String) -> Bool {
        var lowered = text.lowercased()
        return lowered.withUTF8 { matches($0) }
    }
}

/// A comparison of one attribute value: equality across types (a string never equals a number), order on
/// numbers only, substring tests on strings only.
package struct AttributeTest {
    let op: Operator
    let operands: [AttributeCell]
    /// The substring operators are the string columns' own test.
    private let substring: StringTest

    init(op: Operator, operands: [Operand]) {
        self.op = op
        substring = StringTest(op: op, operands: operands)
        self.operands = operands.map { operand in
            switch operand {
            case .string(let text): .string(text.lowercased())
            case .number(let number): .number(number)
            case .bool(let flag): .bool(flag)
            case .time(let time): .string(time.description)
            }
        }
    }

    func matches(_ cell: AttributeCell) -> Bool {
        switch op {
        case .eq, .in: return operands.contains(cell)
        case .ne, .notIn: return !operands.contains(cell)
        case .gt, .gte, .lt, .lte, .between:
            guard case .number(let value) = cell else { return false }
            let bounds = operands.compactMap { operand -> Decimal? in
                if case .number(let number) = operand { return number }
                return nil
            }
            switch op {
            case .gt: return value > bounds[0]
            case .gte: return value >= bounds[0]
            case .lt: return value < bounds[0]
            case .lte: return value <= bounds[0]
            default: return value >= bounds[0] && value <= bounds[1]
            }
        case .contains, .notContains, .startsWith:
            guard case .string(let text) = cell, !substring.needles.isEmpty else { return false }
            return substring.matches(text)
        case .exists, .missing: return false
        }
    }
}
