import Events

/// The customer read model of SPEC §4: profile, aggregates and the times they derive from.
public struct CustomerState: Sendable, Equatable {
    public let customerID: String
    public var name: String?
    public var email: String?
    public var phone: String?
    public var city: String?
    public var country: String?
    /// Tags as given (exact duplicates dropped), in first-seen order.
    public var tags: [String] = []
    /// Attributes by key.
    public var attributes: [String: AttributeValue] = [:]
    /// The upserted `created_at`, last write wins; `nil` when never given or cleared.
    public var upsertedCreatedAt: Timestamp?
    /// The earliest event time about this customer.
    public var firstSeenAt: Timestamp?
    /// Orders not cancelled.
    public var orderCount = 0
    /// Σ over orders not cancelled of (amount − refunds capped at amount).
    public var totalSpend = Money.zero
    public var firstOrderAt: Timestamp?
    public var lastOrderAt: Timestamp?
    public var visitCount = 0
    public var lastVisitAt: Timestamp?
    /// Right-to-erasure happened: nothing else is kept and later events are ignored.
    public var isErased = false

    /// A customer first named by an event.
    public init(customerID: String) { self.customerID = customerID }

    /// `created_at` of SPEC §4: the upserted value, else the earliest event time.
    public var createdAt: Timestamp? { upsertedCreatedAt ?? firstSeenAt }

    /// The latest of `created_at`, `last_order_at` and `last_visit_at`.
    public var lastSeenAt: Timestamp? { [createdAt, lastOrderAt, lastVisitAt].compactMap { $0 }.max() }

    /// total_spend / order_count rounded half-even to 2 places; `nil` without orders.
    public var averageOrderValue: Money? {
        guard orderCount > 0 else { return nil }
        // Work in hundredths: units are 1/10,000, so divide by 100 × count and round half-even.
        let divisor = Int64(orderCount) * 100
        let (quotient, remainder) = totalSpend.units.quotientAndRemainder(dividingBy: divisor)
        var hundredths = quotient
        let twice = remainder.magnitude * 2
        if twice > divisor.magnitude || (twice == divisor.magnitude && hundredths % 2 != 0) {
            hundredths += totalSpend.units < 0 ? -1 : 1
        }
        return Money(units: hundredths * 100)
    }

    /// The tombstone that replaces an erased customer.
    static func erased(_ customerID: String) -> CustomerState {
        var state = CustomerState(customerID: customerID)
        state.isErased = true
        return state
    }
}

extension CustomerState: BinaryEncodable {
    func encode(into bytes: inout [UInt8]) {
        var writer = BinaryWriter(appendingTo: &bytes)
        defer { writer.finish(into: &bytes) }
        writer.write(UInt64(1))  // format version
        writer.write(customerID)
        writer.write(isErased)
        writer.write(name)
        writer.write(email)
        writer.write(phone)
        writer.write(city)
        writer.write(country)
        writer.write(tags)
        let keys = attributes.keys.sorted()
        writer.write(UInt64(keys.count))
        for key in keys {
            writer.write(key)
            switch attributes[key]! {
            case .string(let text):
                writer.write(UInt64(0))
                writer.write(text)
            case .number(let number):
                writer.write(UInt64(1))
                writer.write(number.lexeme)
            case .bool(let flag):
                writer.write(UInt64(2))
                writer.write(flag)
            }
        }
        writer.write(upsertedCreatedAt)
        writer.write(firstSeenAt)
        writer.write(orderCount)
        writer.write(totalSpend)
        writer.write(firstOrderAt)
        writer.write(lastOrderAt)
        writer.write(visitCount)
        writer.write(lastVisitAt)
    }

    /// The erasure flag of an encoded state, read without decoding the rest.
    static func isErased(encoded bytes: UnsafeRawBufferPointer) throws -> Bool {
        var reader = BinaryReader(bytes)
        guard try reader.readUInt64() == 1 else { throw BinaryReader.Corrupt() }
        try reader.skipString()
        return try reader.readBool()
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        guard try reader.readUInt64() == 1 else { throw BinaryReader.Corrupt() }
        self.init(customerID: try reader.readString())
        isErased = try reader.readBool()
        name = try reader.readOptionalString()
        email = try reader.readOptionalString()
        phone = try reader.readOptionalString()
        city = try reader.readOptionalString()
        country = try reader.readOptionalString()
        tags = try reader.readStrings()
        let attributeCount = try reader.readUInt64()
        for _ in 0..<attributeCount {
            let key = try reader.readString()
            switch try reader.readUInt64() {
            case 0: attributes[key] = .string(try reader.readString())
            case 1:
                let lexeme = try reader.readString()
                guard case .number(let number) = try JSONParser.parse(lexeme) else { throw BinaryReader.Corrupt() }
                attributes[key] = .number(number)
            case 2: attributes[key] = .bool(try reader.readBool())
            default: throw BinaryReader.Corrupt()
            }
        }
        upsertedCreatedAt = try reader.readTimestamp()
        firstSeenAt = try reader.readTimestamp()
        orderCount = try reader.readInt()
        totalSpend = try reader.readMoney()
        firstOrderAt = try reader.readTimestamp()
        lastOrderAt = try reader.readTimestamp()
        visitCount = try reader.readInt()
        lastVisitAt = try reader.readTimestamp()
    }
}
