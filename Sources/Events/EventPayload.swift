/// An upsert field: absent keeps the stored value, `null` clears it, a value replaces it.
public enum Patch<Value: Sendable & Equatable>: Sendable, Equatable {
    case keep
    case clear
    case set(Value)
}

/// A free-form customer attribute value.
public enum AttributeValue: Sendable, Equatable {
    case string(String)
    case number(JSONNumber)
    case bool(Bool)
}

/// `crm.customer.upserted`.
public struct CustomerUpserted: Sendable, Equatable {
    public var customerID: String
    public var name: Patch<String>, email: Patch<String>, phone: Patch<String>
    public var city: Patch<String>, country: Patch<String>
    public var tags: Patch<[String]>
    public var attributes: Patch<[String: AttributeValue]>
    public var createdAt: Patch<Timestamp>
}

/// One line of an order.
public struct OrderItem: Sendable, Equatable {
    public var sku: String
    public var quantity: Int64
    public var price: Money
}

/// `crm.order.placed`.
public struct OrderPlaced: Sendable, Equatable {
    public var orderID: String
    public var customerID: String
    public var amount: Money
    public var currency: String?
    public var placedAt: Timestamp?
    public var items: [OrderItem]
    public var channel: String?
}

/// `crm.order.cancelled`.
public struct OrderCancelled: Sendable, Equatable {
    public var orderID: String
    public var customerID: String
    public var reason: String?
}

/// `crm.order.refunded`.
public struct OrderRefunded: Sendable, Equatable {
    public var orderID: String
    public var customerID: String
    public var amount: Money
    public var currency: String?
    public var reason: String?
}

/// `crm.visit.recorded`.
public struct VisitRecorded: Sendable, Equatable {
    public var customerID: String
    public var visitedAt: Timestamp?
    public var channel: String?
    public var page: String?
}

/// `crm.segment.saved`.
public struct SegmentSaved: Sendable, Equatable {
    public var segmentID: String
    public var name: String
    public var description: String?
    public var rules: JSONObject
    public var actor: String?
}

/// `crm.campaign.created`.
public struct CampaignCreated: Sendable, Equatable {
    public var campaignID: String
    public var name: String
    public var segmentID: String?
    public var rules: JSONObject?
    public var template: String
    public var channel: String
    public var rateLimitPerSecond: Int64?
    public var audienceAsOf: Timestamp?
    public var actor: String?
}

/// `crm.campaign.launched`, and `crm.campaign.launching` (the same fields: the launch as accepted).
public struct CampaignLaunched: Sendable, Equatable {
    public var campaignID: String
    public var audienceAsOf: Timestamp?
    public var audience: Int64?
    public var actor: String?
}

/// `crm.campaign.paused`, `.resumed`, `.cancelled`, `.completed`.
public struct CampaignTransition: Sendable, Equatable {
    public var campaignID: String
    public var reason: String?
    public var actor: String?
}

/// The `crm.message.*` events share one shape; `status` is set on receipts.
public struct MessageEvent: Sendable, Equatable {
    public var messageID: String
    public var campaignID: String
    public var customerID: String?
    public var channel: String?
    public var attempt: Int64?
    public var at: Timestamp?
    public var to: String?
    public var body: String?
    public var vendorMessageID: String?
    public var reason: String?
    public var retryable: Bool?
    public var status: String?
    /// Who re-queued the message (a retry), when a person or key asked for it.
    public var actor: String? = nil
}

/// The typed content of a validated event.
///
/// The large payloads (upserts, campaigns, messages) are boxed (`indirect`): an enum is as large as its largest
/// case, and every event, orders and visits above all, is moved several times on its way from the scanner to the
/// fold, at that size.
public enum EventPayload: Sendable, Equatable {
    indirect case customerUpserted(CustomerUpserted)
    case customerErased(customerID: String)
    case orderPlaced(OrderPlaced)
    case orderCancelled(OrderCancelled)
    case orderRefunded(OrderRefunded)
    case visitRecorded(VisitRecorded)
    case segmentSaved(SegmentSaved)
    case segmentDeleted(segmentID: String)
    indirect case campaignCreated(CampaignCreated)
    case campaignLaunched(CampaignLaunched)
    case campaignLaunching(CampaignLaunched)
    case campaignPaused(CampaignTransition)
    case campaignResumed(CampaignTransition)
    case campaignCancelled(CampaignTransition)
    case campaignCompleted(CampaignTransition)
    indirect case messageQueued(MessageEvent)
    indirect case messageSent(MessageEvent)
    indirect case messageFailed(MessageEvent)
    indirect case messageReceipt(MessageEvent)
}

extension CloudEvent {
    /// The typed payload. `data` was validated against `type.dataSpec`, so reading it cannot fail.
    public var payload: EventPayload { EventPayload(type: type, fields: data) }
}

/// Where a payload's fields are read from: a validated `data` object, or the values `EventScanner` read straight
/// from the bytes. Both hold values already checked against the type's spec, so a reader never fails: it answers
/// nil for a field that is absent or null. One description of each payload (`EventPayload.init(type:fields:)`)
/// serves both.
protocol PayloadFields {
    /// Whether the member is present with the value `null` (an upsert's "clear").
    func isNull(_ name: String) -> Bool
    func string(_ name: String) -> String?
    func timestamp(_ name: String) -> Timestamp?
    func integer(_ name: String) -> Int64?
    func money(_ name: String) -> Money?
    func bool(_ name: String) -> Bool?
    func strings(_ name: String) -> [String]?
    func attributes(_ name: String) -> [String: AttributeValue]?
    func object(_ name: String) -> JSONObject?
    /// The members of an array of objects, each readable the same way and handed to `read` in turn (the fields of
    /// one may live only as long as that call).
    func objects<Item>(_ name: String, _ read: (Self) -> Item) -> [Item]?
}

extension PayloadFields {
    /// An upsert field: absent keeps, `null` clears, a value sets.
    func patch<Value>(_ name: String, _ read: (String) -> Value?) -> Patch<Value> {
        if isNull(name) { return .clear }
        return read(name).map(Patch.set) ?? .keep
    }

    var transition: CampaignTransition {
        CampaignTransition(campaignID: string("campaign_id") ?? "", reason: string("reason"), actor: string("actor"))
    }

    var message: MessageEvent {
        MessageEvent(
            messageID: string("message_id") ?? "", campaignID: string("campaign_id") ?? "",
            customerID: string("customer_id"), channel: string("channel"), attempt: integer("attempt"),
            at: timestamp("at"), to: string("to"), body: string("body"),
            vendorMessageID: string("vendor_message_id"), reason: string("reason"), retryable: bool("retryable"),
            status: string("status"), actor: string("actor"))
    }
}

extension EventPayload {
    /// The payload of a `type` event whose `data` members `fields` reads.
    init(type: EventType, fields: some PayloadFields) {
        switch type {
        case .customerUpserted:
            self = .customerUpserted(
                CustomerUpserted(
                    customerID: fields.string("customer_id") ?? "",
                    name: fields.patch("name", fields.string), email: fields.patch("email", fields.string),
                    phone: fields.patch("phone", fields.string), city: fields.patch("city", fields.string),
                    country: fields.patch("country", fields.string), tags: fields.patch("tags", fields.strings),
                    attributes: fields.patch("attributes", fields.attributes),
                    createdAt: fields.patch("created_at", fields.timestamp)))
        case .customerErased:
            self = .customerErased(customerID: fields.string("customer_id") ?? "")
        case .orderPlaced:
            let items =
                fields.objects("items") { item in
                    OrderItem(
                        sku: item.string("sku") ?? "", quantity: item.integer("quantity") ?? 0,
                        price: item.money("price") ?? .zero)
                } ?? []
            self = .orderPlaced(
                OrderPlaced(
                    orderID: fields.string("order_id") ?? "", customerID: fields.string("customer_id") ?? "",
                    amount: fields.money("amount") ?? .zero, currency: fields.string("currency"),
                    placedAt: fields.timestamp("placed_at"), items: items, channel: fields.string("channel")))
        case .orderCancelled:
            self = .orderCancelled(
                OrderCancelled(
                    orderID: fields.string("order_id") ?? "", customerID: fields.string("customer_id") ?? "",
                    reason: fields.string("reason")))
        case .orderRefunded:
            self = .orderRefunded(
                OrderRefunded(
                    orderID: fields.string("order_id") ?? "", customerID: fields.string("customer_id") ?? "",
                    amount: fields.money("amount") ?? .zero, currency: fields.string("currency"),
                    reason: fields.string("reason")))
        case .visitRecorded:
            self = .visitRecorded(
                VisitRecorded(
                    customerID: fields.string("customer_id") ?? "", visitedAt: fields.timestamp("visited_at"),
                    channel: fields.string("channel"), page: fields.string("page")))
        case .segmentSaved:
            self = .segmentSaved(
                SegmentSaved(
                    segmentID: fields.string("segment_id") ?? "", name: fields.string("name") ?? "",
                    description: fields.string("description"), rules: fields.object("rules") ?? JSONObject(),
                    actor: fields.string("actor")))
        case .segmentDeleted:
            self = .segmentDeleted(segmentID: fields.string("segment_id") ?? "")
        case .campaignCreated:
            self = .campaignCreated(
                CampaignCreated(
                    campaignID: fields.string("campaign_id") ?? "", name: fields.string("name") ?? "",
                    segmentID: fields.string("segment_id"), rules: fields.object("rules"),
                    template: fields.string("template") ?? "", channel: fields.string("channel") ?? "",
                    rateLimitPerSecond: fields.integer("rate_limit_per_second"),
                    audienceAsOf: fields.timestamp("audience_as_of"), actor: fields.string("actor")))
        case .campaignLaunched, .campaignLaunching:
            let launch = CampaignLaunched(
                campaignID: fields.string("campaign_id") ?? "", audienceAsOf: fields.timestamp("audience_as_of"),
                audience: fields.integer("audience"), actor: fields.string("actor"))
            self = type == .campaignLaunched ? .campaignLaunched(launch) : .campaignLaunching(launch)
        case .campaignPaused: self = .campaignPaused(fields.transition)
        case .campaignResumed: self = .campaignResumed(fields.transition)
        case .campaignCancelled: self = .campaignCancelled(fields.transition)
        case .campaignCompleted: self = .campaignCompleted(fields.transition)
        case .messageQueued: self = .messageQueued(fields.message)
        case .messageSent: self = .messageSent(fields.message)
        case .messageFailed: self = .messageFailed(fields.message)
        case .messageReceipt: self = .messageReceipt(fields.message)
        }
    }
}

/// A validated `data` object as payload fields.
extension JSONObject: PayloadFields {
    func isNull(_ name: String) -> Bool { self[name] == .null }
    func string(_ name: String) -> String? { self[name]?.stringValue }
    func timestamp(_ name: String) -> Timestamp? { string(name).flatMap(Timestamp.init(rfc3339:)) }

    func integer(_ name: String) -> Int64? {
        if case .number(let number) = self[name] { return number.int64Value }
        return nil
    }

    func money(_ name: String) -> Money? {
        guard case .number(let number) = self[name], case .success(let money) = Money.parse(number.lexeme) else {
            return nil
        }
        return money
    }

    func bool(_ name: String) -> Bool? {
        if case .bool(let value) = self[name] { return value }
        return nil
    }

    func strings(_ name: String) -> [String]? {
        guard case .array(let elements) = self[name] else { return nil }
        return elements.compactMap(\.stringValue)
    }

    func attributes(_ name: String) -> [String: AttributeValue]? {
        guard case .object(let object) = self[name] else { return nil }
        var result: [String: AttributeValue] = [:]
        for member in object {
            switch member.value {
            case .string(let string): result[member.key] = .string(string)
            case .number(let number): result[member.key] = .number(number)
            case .bool(let bool): result[member.key] = .bool(bool)
            default: break
            }
        }
        return result
    }

    func object(_ name: String) -> JSONObject? { self[name]?.objectValue }

    func objects<Item>(_ name: String, _ read: (JSONObject) -> Item) -> [Item]? {
        guard case .array(let elements) = self[name] else { return nil }
        return elements.compactMap(\.objectValue).map(read)
    }
}
