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

    /// Message outcomes per campaign and minute: sends, failures and delivered receipts as they happened.
    var delivery: [DeliveryMinute: DeliveryFigures] = [:]

    /// Counts what a message event moved in its campaign's stats at `time`: each new send, failure and delivery.
    mutating func messageChanged(campaignID: String, at time: Timestamp, before: CampaignStats, after: CampaignStats) {
        let added = DeliveryFigures(
            sent: Int64(max(0, after.sent - before.sent)), failed: Int64(max(0, after.failed - before.failed)),
            delivered: Int64(max(0, after.delivered - before.delivered)))
        guard added != DeliveryFigures() else { return }
        delivery[DeliveryMinute(campaignID: campaignID, minute: DeliveryMinute.minute(of: time)), default: .init()]
            .add(added)
    }

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

/// A campaign and a minute (since 1970, UTC) of the delivery read model.
struct DeliveryMinute: Hashable, Comparable {
    let campaignID: String
    let minute: Int64

    static func minute(of time: Timestamp) -> Int64 {
        let perMinute: Int64 = 60_000_000
        return time.microseconds >= 0 ? time.microseconds / perMinute : (time.microseconds - perMinute + 1) / perMinute
    }

    static func < (a: DeliveryMinute, b: DeliveryMinute) -> Bool {
        a.campaignID != b.campaignID
            ? Array(a.campaignID.utf8).lexicographicallyPrecedes(b.campaignID.utf8)
            : a.minute < b.minute
    }

    static let keyPrefix = "delivery/"

    /// `delivery/` + the campaign id + NUL (ids hold no control characters) + the minute biased to sort in order.
    static func prefix(_ campaignID: String) -> [UInt8] { Array(keyPrefix.utf8) + Array(campaignID.utf8) + [0] }

    var key: [UInt8] {
        var key = Self.prefix(campaignID)
        StoreKeys.append(UInt64(bitPattern: minute) ^ (1 << 63), to: &key)
        return key
    }

    static func minute(fromKey key: UnsafeRawBufferPointer) -> Int64? {
        guard key.count >= 8 else { return nil }
        let biased = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: key.count - 8, as: UInt64.self))
        return Int64(bitPattern: biased ^ (1 << 63))
    }
}

/// One campaign-minute of the delivery read model: messages sent, failed and delivered in that minute.
public struct DeliveryFigures: Sendable, Equatable {
    public var sent: Int64 = 0
    public var failed: Int64 = 0
    public var delivered: Int64 = 0

    public init(sent: Int64 = 0, failed: Int64 = 0, delivered: Int64 = 0) {
        (self.sent, self.failed, self.delivered) = (sent, failed, delivered)
    }

    mutating func add(_ other: DeliveryFigures) {
        sent += other.sent
        failed += other.failed
        delivered += other.delivered
    }

    var encoded: [UInt8] { StoreKeys.int64(sent) + StoreKeys.int64(failed) + StoreKeys.int64(delivered) }

    init?(encoded bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 24 else { return nil }
        sent = Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
        failed = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        delivered = Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self))
    }
}
