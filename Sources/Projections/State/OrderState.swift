import Events

/// One order of one customer, as its placed, cancelled and refunded events have shaped it (in any order).
public struct OrderState: Sendable, Equatable, BinaryEncodable {
    public let orderID: String
    /// Whether a `placed` event has been seen; the first one wins.
    public var isPlaced = false
    public var amount = Money.zero
    /// `placed_at`, or the event time of the `placed` event.
    public var placedAt: Timestamp?
    public var isCancelled = false
    /// Every refund added up; the effective refund is capped at `amount`.
    public var refundedTotal = Money.zero

    /// An order known only by its id (no event applied yet).
    public init(orderID: String) { self.orderID = orderID }

    /// Whether the order counts toward the customer's aggregates.
    public var counts: Bool { isPlaced && !isCancelled }

    /// What the order adds to `total_spend`: amount less refunds, never below zero.
    public var netAmount: Money { amount - min(refundedTotal, amount) }

    func encode(into bytes: inout [UInt8]) {
        var writer = BinaryWriter(appendingTo: &bytes)
        defer { writer.finish(into: &bytes) }
        writer.write(orderID)
        writer.write(isPlaced)
        writer.write(amount)
        writer.write(placedAt)
        writer.write(isCancelled)
        writer.write(refundedTotal)
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        self.init(orderID: try reader.readString())
        isPlaced = try reader.readBool()
        amount = try reader.readMoney()
        placedAt = try reader.readTimestamp()
        isCancelled = try reader.readBool()
        refundedTotal = try reader.readMoney()
    }
}

/// A saved segment.
public struct SegmentState: Sendable, Equatable {
    public let segmentID: String
    public var name: String
    public var description: String?
    /// The rules as canonical JSON text.
    public var rulesJSON: String
    public var savedAt: Timestamp
    /// Who saved it (audit trail), when known.
    public var savedBy: String?

    func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(segmentID)
        writer.write(name)
        writer.write(description)
        writer.write(rulesJSON)
        writer.write(Optional(savedAt))
        // Only when known: segments saved without an actor keep the encoding they always had.
        if let savedBy { writer.write(savedBy) }
        return writer.bytes
    }

    init(segmentID: String, name: String, description: String?, rulesJSON: String, savedAt: Timestamp) {
        self.segmentID = segmentID
        self.name = name
        self.description = description
        self.rulesJSON = rulesJSON
        self.savedAt = savedAt
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        self.init(
            segmentID: try reader.readString(), name: try reader.readString(),
            description: try reader.readOptionalString(), rulesJSON: try reader.readString(),
            savedAt: try reader.readTimestamp() ?? Timestamp(microseconds: 0))
        if !reader.isAtEnd { savedBy = try reader.readString() }
    }
}
