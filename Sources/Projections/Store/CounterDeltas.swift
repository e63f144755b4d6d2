import Events

/// What a batch adds to each counter.
struct CounterDeltas {
    var events: Int64 = 0
    var duplicates: Int64 = 0
    var deadLetters: Int64 = 0
    var customers: Int64 = 0
    var unmatchedReceipts: Int64 = 0
    /// Net revenue (minor units) and counting orders added per UTC day of the orders' placement.
    var daily: [Int64: DailyFigures] = [:]

    /// Moves the daily figures from what `before` contributed to what `after` contributes.
    mutating func orderChanged(before: OrderState?, after: OrderState?) {
        if let before, before.counts, let placedAt = before.placedAt {
            daily[DailyFigures.day(of: placedAt), default: DailyFigures()].remove(before.netAmount)
        }
        if let after, after.counts, let placedAt = after.placedAt {
            daily[DailyFigures.day(of: placedAt), default: DailyFigures()].add(after.netAmount)
        }
    }

    var all: [(ReadModelStore.Counter, Int64)] {
        [
            (.events, events), (.duplicates, duplicates), (.deadLetters, deadLetters), (.customers, customers),
            (.unmatchedReceipts, unmatchedReceipts),
        ]
    }
}

/// One UTC day's order figures in the daily read model: net revenue in minor units and counting orders.
public struct DailyFigures: Sendable, Equatable {
    public var revenueUnits: Int64 = 0
    public var orders: Int64 = 0

    public init(revenueUnits: Int64 = 0, orders: Int64 = 0) {
        self.revenueUnits = revenueUnits
        self.orders = orders
    }

    mutating func add(_ amount: Money) {
        revenueUnits += amount.units
        orders += 1
    }

    mutating func remove(_ amount: Money) {
        revenueUnits -= amount.units
        orders -= 1
    }

    /// Days since 1970-01-01 (UTC) of `time`.
    public static func day(of time: Timestamp) -> Int64 {
        let perDay: Int64 = 86_400_000_000
        return time.microseconds >= 0 ? time.microseconds / perDay : (time.microseconds - perDay + 1) / perDay
    }

    /// The key of `day` in the counters database: a prefix, then the day biased to sort in time order.
    static func key(day: Int64) -> [UInt8] {
        var key = Array(keyPrefix.utf8)
        StoreKeys.append(UInt64(bitPattern: day) ^ (1 << 63), to: &key)
        return key
    }

    static let keyPrefix = "daily/"

    static func day(fromKey key: UnsafeRawBufferPointer) -> Int64? {
        let prefix = keyPrefix.utf8.count
        guard key.count == prefix + 8 else { return nil }
        return Int64(
            bitPattern: UInt64(bigEndian: key.loadUnaligned(fromByteOffset: prefix, as: UInt64.self)) ^ (1 << 63))
    }

    var encoded: [UInt8] { StoreKeys.int64(revenueUnits) + StoreKeys.int64(orders) }

    init?(encoded bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        revenueUnits = Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
        orders = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
    }
}
