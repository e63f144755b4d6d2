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
}

/// `crm.campaign.launched`.
public struct CampaignLaunched: Sendable, Equatable {
    public var campaignID: String
    public var audienceAsOf: Timestamp?
    public var audience: Int64?
}

/// `crm.campaign.paused`, `.resumed`, `.cancelled`, `.completed`.
public struct CampaignTransition: Sendable, Equatable {
    public var campaignID: String
    public var reason: String?
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
}

/// The typed content of a validated event.
public enum EventPayload: Sendable, Equatable {
    case customerUpserted(CustomerUpserted)
    case customerErased(customerID: String)
    case orderPlaced(OrderPlaced)
    case orderCancelled(OrderCancelled)
    case orderRefunded(OrderRefunded)
    case visitRecorded(VisitRecorded)
    case segmentSaved(SegmentSaved)
    case segmentDeleted(segmentID: String)
    case campaignCreated(CampaignCreated)
    case campaignLaunched(CampaignLaunched)
    case campaignPaused(CampaignTransition)
    case campaignResumed(CampaignTransition)
    case campaignCancelled(CampaignTransition)
    case campaignCompleted(CampaignTransition)
    case messageQueued(MessageEvent)
    case messageSent(MessageEvent)
    case messageFailed(MessageEvent)
    case messageReceipt(MessageEvent)
}

extension CloudEvent {
    /// The typed payload. `data` was validated against `type.dataSpec`, so reading it cannot fail.
    public var payload: EventPayload {
        let reader = DataReader(object: data)
        switch type {
        case .customerUpserted:
            return .customerUpserted(
                CustomerUpserted(
                    customerID: reader.string("customer_id"),
                    name: reader.patch("name") { $0.stringValue }, email: reader.patch("email") { $0.stringValue },
                    phone: reader.patch("phone") { $0.stringValue }, city: reader.patch("city") { $0.stringValue },
                    country: reader.patch("country") { $0.stringValue },
                    tags: reader.patch("tags") { value in
                        guard case .array(let elements) = value else { return nil }
                        return elements.compactMap(\.stringValue)
                    },
                    attributes: reader.patch("attributes") { value in
                        guard case .object(let object) = value else { return nil }
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
                    },
                    createdAt: reader.patch("created_at") { $0.stringValue.flatMap(Timestamp.init(rfc3339:)) }))
        case .customerErased:
            return .customerErased(customerID: reader.string("customer_id"))
        case .orderPlaced:
            let items: [OrderItem] =
                if case .array(let elements) = data["items"] {
                    elements.compactMap(\.objectValue).map { item in
                        let itemReader = DataReader(object: item)
                        return OrderItem(
                            sku: itemReader.string("sku"), quantity: itemReader.integer("quantity") ?? 0,
                            price: itemReader.money("price") ?? .zero)
                    }
                } else { [] }
            return .orderPlaced(
                OrderPlaced(
                    orderID: reader.string("order_id"), customerID: reader.string("customer_id"),
                    amount: reader.money("amount") ?? .zero, currency: reader.optionalString("currency"),
                    placedAt: reader.timestamp("placed_at"), items: items, channel: reader.optionalString("channel")))
        case .orderCancelled:
            return .orderCancelled(
                OrderCancelled(
                    orderID: reader.string("order_id"), customerID: reader.string("customer_id"),
                    reason: reader.optionalString("reason")))
        case .orderRefunded:
            return .orderRefunded(
                OrderRefunded(
                    orderID: reader.string("order_id"), customerID: reader.string("customer_id"),
                    amount: reader.money("amount") ?? .zero, currency: reader.optionalString("currency"),
                    reason: reader.optionalString("reason")))
        case .visitRecorded:
            return .visitRecorded(
                VisitRecorded(
                    customerID: reader.string("customer_id"), visitedAt: reader.timestamp("visited_at"),
                    channel: reader.optionalString("channel"), page: reader.optionalString("page")))
        case .segmentSaved:
            return .segmentSaved(
                SegmentSaved(
                    segmentID: reader.string("segment_id"), name: reader.string("name"),
                    description: reader.optionalString("description"), rules: data["rules"]?.objectValue ?? JSONObject()
                ))
        case .segmentDeleted:
            return .segmentDeleted(segmentID: reader.string("segment_id"))
        case .campaignCreated:
            return .campaignCreated(
                CampaignCreated(
                    campaignID: reader.string("campaign_id"), name: reader.string("name"),
                    segmentID: reader.optionalString("segment_id"), rules: data["rules"]?.objectValue,
                    template: reader.string("template"), channel: reader.string("channel"),
                    rateLimitPerSecond: reader.integer("rate_limit_per_second"),
                    audienceAsOf: reader.timestamp("audience_as_of")))
        case .campaignLaunched:
            return .campaignLaunched(
                CampaignLaunched(
                    campaignID: reader.string("campaign_id"), audienceAsOf: reader.timestamp("audience_as_of"),
                    audience: reader.integer("audience")))
        case .campaignPaused: return .campaignPaused(reader.transition)
        case .campaignResumed: return .campaignResumed(reader.transition)
        case .campaignCancelled: return .campaignCancelled(reader.transition)
        case .campaignCompleted: return .campaignCompleted(reader.transition)
        case .messageQueued: return .messageQueued(reader.message)
        case .messageSent: return .messageSent(reader.message)
        case .messageFailed: return .messageFailed(reader.message)
        case .messageReceipt: return .messageReceipt(reader.message)
        }
    }
}

/// Reads members of an already validated `data` object.
private struct DataReader {
    let object: JSONObject

    func string(_ name: String) -> String { object[name]?.stringValue ?? "" }
    func optionalString(_ name: String) -> String? { object[name]?.stringValue }
    func timestamp(_ name: String) -> Timestamp? { object[name]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }

    func integer(_ name: String) -> Int64? {
        if case .number(let number) = object[name] { return number.int64Value }
        return nil
    }

    func money(_ name: String) -> Money? {
        guard case .number(let number) = object[name], case .success(let money) = Money.parse(number.lexeme) else {
            return nil
        }
        return money
    }

    func patch<Value>(_ name: String, _ convert: (JSONValue) -> Value?) -> Patch<Value> {
        guard let value = object[name] else { return .keep }
        if case .null = value { return .clear }
        return convert(value).map(Patch.set) ?? .keep
    }

    var transition: CampaignTransition {
        CampaignTransition(campaignID: string("campaign_id"), reason: optionalString("reason"))
    }

    var message: MessageEvent {
        var retryable: Bool?
        if case .bool(let value) = object["retryable"] { retryable = value }
        return MessageEvent(
            messageID: string("message_id"), campaignID: string("campaign_id"),
            customerID: optionalString("customer_id"),
            channel: optionalString("channel"), attempt: integer("attempt"), at: timestamp("at"),
            to: optionalString("to"), body: optionalString("body"),
            vendorMessageID: optionalString("vendor_message_id"),
            reason: optionalString("reason"), retryable: retryable, status: optionalString("status"))
    }
}
