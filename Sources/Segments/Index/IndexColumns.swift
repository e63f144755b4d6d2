import Events
import Foundation
import Projections

/// Missing numbers and times are stored as this value; comparisons never include it.
let missingValue = Int64.min

/// The numeric columns: money in units of 1/10,000, counts, and times in microseconds.
package enum NumericColumn: Int, CaseIterable {
    case totalSpend, avgOrderValue, orderCount, visitCount
    case createdAt, firstOrderAt, lastOrderAt, lastVisitAt, lastSeenAt

    init?(_ field: Field) {
        switch field {
        case .totalSpend: self = .totalSpend
        case .avgOrderValue: self = .avgOrderValue
        case .orderCount: self = .orderCount
        case .visitCount: self = .visitCount
        case .createdAt: self = .createdAt
        case .firstOrderAt: self = .firstOrderAt
        case .lastOrderAt: self = .lastOrderAt
        case .lastVisitAt: self = .lastVisitAt
        case .lastSeenAt: self = .lastSeenAt
        default: return nil
        }
    }

    func value(of customer: CustomerState) -> Int64 {
        switch self {
        case .totalSpend: customer.totalSpend.units
        case .avgOrderValue: customer.averageOrderValue?.units ?? missingValue
        case .orderCount: Int64(customer.orderCount)
        case .visitCount: Int64(customer.visitCount)
        case .createdAt: customer.createdAt?.microseconds ?? missingValue
        case .firstOrderAt: customer.firstOrderAt?.microseconds ?? missingValue
        case .lastOrderAt: customer.lastOrderAt?.microseconds ?? missingValue
        case .lastVisitAt: customer.lastVisitAt?.microseconds ?? missingValue
        case .lastSeenAt: customer.lastSeenAt?.microseconds ?? missingValue
        }
    }
}

/// The profile string columns, dictionary-encoded and lower-cased (comparisons ignore case).
package enum StringColumn: Int, CaseIterable {
    case name, email, phone, city, country

    init?(_ field: Field) {
        switch field {
        case .name: self = .name
        case .email: self = .email
        case .phone: self = .phone
        case .city: self = .city
        case .country: self = .country
        default: return nil
        }
    }

    func value(of customer: CustomerState) -> String? {
        switch self {
        case .name: customer.name
        case .email: customer.email
        case .phone: customer.phone
        case .city: customer.city
        case .country: customer.country
        }
    }
}

/// An attribute value as the index keeps it: strings lower-cased, numbers exact.
enum AttributeCell: Sendable, Hashable {
    case string(String)
    case number(Decimal)
    case bool(Bool)

    init?(_ value: AttributeValue) {
        switch value {
        case .string(let text): self = .string(text.indexFolded)
        case .number(let number):
            guard let decimal = Decimal(string: number.lexeme) else { return nil }
            self = .number(decimal)
        case .bool(let flag): self = .bool(flag)
        }
    }
}

/// Row-oriented tag lists (for updates) and per-tag sorted posting lists (for evaluation).
struct TagColumn: Sendable {
    var dictionary = StringDictionary()
    /// Rows holding each tag code, ascending; index 0 unused.
    var postings: [[UInt32]] = [[]]
    /// Row `r`'s tag codes are `arena[start[r] ..< start[r] + count[r]]`.
    var start: [UInt32] = []
    var count: [UInt16] = []
    var arena: [UInt32] = []
    /// Arena slots no longer referenced; compacted when they dominate.
    var garbage = 0

    mutating func appendRow() {
        start.append(UInt32(arena.count))
        count.append(0)
    }

    func codes(ofRow row: Int) -> ArraySlice<UInt32> {
        let first = Int(start[row])
        return arena[first..<first + Int(count[row])]
    }

    mutating func set(_ tags: [String], row: Int) {
        var fresh: [UInt32] = []
        for tag in tags {
            let code = dictionary.intern(tag.indexFolded)
            if !fresh.contains(code) { fresh.append(code) }
        }
        let old = Array(codes(ofRow: row))
        guard old != fresh else { return }
        for code in old where !fresh.contains(code) { remove(row, from: code) }
        for code in fresh where !old.contains(code) { insert(row, into: code) }
        if fresh.count <= old.count {
            for (offset, code) in fresh.enumerated() { arena[Int(start[row]) + offset] = code }
            garbage += old.count - fresh.count
        } else {
            garbage += old.count
            start[row] = UInt32(arena.count)
            arena.append(contentsOf: fresh)
        }
        count[row] = UInt16(fresh.count)
        if garbage > 1_000_000 && garbage * 2 > arena.count { compact() }
    }

    private mutating func insert(_ row: Int, into code: UInt32) {
        while postings.count <= Int(code) { postings.append([]) }
        let value = UInt32(row)
        if let last = postings[Int(code)].last, last >= value {
            var low = 0
            var high = postings[Int(code)].count
            while low < high {
                let middle = (low + high) / 2
                if postings[Int(code)][middle] < value { low = middle + 1 } else { high = middle }
            }
            postings[Int(code)].insert(value, at: low)
        } else {
            postings[Int(code)].append(value)
        }
    }

    private mutating func remove(_ row: Int, from code: UInt32) {
        let value = UInt32(row)
        var low = 0
        var high = postings[Int(code)].count
        while low < high {
            let middle = (low + high) / 2
            if postings[Int(code)][middle] < value { low = middle + 1 } else { high = middle }
        }
        if low < postings[Int(code)].count && postings[Int(code)][low] == value { postings[Int(code)].remove(at: low) }
    }

    private mutating func compact() {
        var fresh: [UInt32] = []
        fresh.reserveCapacity(arena.count - garbage)
        for row in start.indices {
            let codes = codes(ofRow: row)
            start[row] = UInt32(fresh.count)
            fresh.append(contentsOf: codes)
        }
        arena = fresh
        garbage = 0
    }

    var byteCount: Int {
        dictionary.byteCount + start.capacity * 4 + count.capacity * 2 + arena.capacity * 4
            + postings.reduce(0) { $0 + $1.capacity * 4 }
    }
}

/// One attribute key as a dense column of value codes (0: the customer has no such attribute); the distinct values
/// are interned once. Costs 4 bytes per customer per key, whatever the values.
struct AttributeColumn: Sendable {
    var codes: [UInt32]
    /// Value `code` is `values[code - 1]`.
    var values: [AttributeCell] = []
    var lookup: [AttributeCell: UInt32] = [:]

    /// `rows` rows without a value, with room for `capacity` (the index's reserved rows).
    init(rows: Int, capacity: Int) {
        codes = []
        codes.reserveCapacity(max(rows, capacity))
        codes.append(contentsOf: repeatElement(0, count: rows))
    }

    mutating func set(_ cell: AttributeCell?, row: Int) {
        guard let cell else {
            codes[row] = 0
            return
        }
        if let code = lookup[cell] {
            codes[row] = code
        } else {
            values.append(cell)
            let code = UInt32(values.count)
            lookup[cell] = code
            codes[row] = code
        }
    }

    var byteCount: Int { codes.capacity * 4 + values.capacity * 32 + lookup.capacity * 48 }
}

extension String {
    /// Lower-cased, as the index holds strings; most values are lower-case ASCII already and are kept as they are,
    /// without building a new string (the index folds every string of every customer a batch changes).
    var indexFolded: String {
        let isFolded = utf8.allSatisfy { $0 < 0x80 && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }
        return isFolded ? self : lowercased()
    }
}
