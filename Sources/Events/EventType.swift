/// The logical streams of SPEC §3. Actual topic names come from configuration (`TopicNames`).
public enum EventStream: String, Sendable, CaseIterable {
    case customers, orders, activity, campaigns, deliveries, deadletter

    /// The default topic name, e.g. `crm.customers`.
    public var defaultTopic: String { "crm.\(rawValue)" }

    /// The streams keyed by customer id: a customer's events are all in the same partition number of each (with
    /// equal partition counts), which is what shards split on.
    public static let customerKeyed: [EventStream] = [.customers, .orders, .activity]
}

/// Every event type Cohort understands, with its stream, its key field and the shape of its `data`.
public enum EventType: String, Sendable, CaseIterable {
    case customerUpserted = "crm.customer.upserted"
    case customerErased = "crm.customer.erased"
    case orderPlaced = "crm.order.placed"
    case orderCancelled = "crm.order.cancelled"
    case orderRefunded = "crm.order.refunded"
    case visitRecorded = "crm.visit.recorded"
    case segmentSaved = "crm.segment.saved"
    case segmentDeleted = "crm.segment.deleted"
    case campaignCreated = "crm.campaign.created"
    case campaignLaunched = "crm.campaign.launched"
    case campaignPaused = "crm.campaign.paused"
    case campaignResumed = "crm.campaign.resumed"
    case campaignCancelled = "crm.campaign.cancelled"
    case campaignCompleted = "crm.campaign.completed"
    case messageQueued = "crm.message.queued"
    case messageSent = "crm.message.sent"
    case messageFailed = "crm.message.failed"
    case messageReceipt = "crm.message.receipt"
    /// A launch accepted and under way: its audience is fixed; `crm.campaign.launched` follows once every message is
    /// queued. Last in this list: a type's position is its code in stored timelines.
    case campaignLaunching = "crm.campaign.launching"

    /// The stream (topic) this type is published on.
    public var stream: EventStream {
        switch self {
        case .customerUpserted, .customerErased: .customers
        case .orderPlaced, .orderCancelled, .orderRefunded: .orders
        case .visitRecorded: .activity
        case .segmentSaved, .segmentDeleted, .campaignCreated, .campaignLaunching, .campaignLaunched, .campaignPaused,
            .campaignResumed, .campaignCancelled, .campaignCompleted:
            .campaigns
        case .messageQueued, .messageSent, .messageFailed, .messageReceipt: .deliveries
        }
    }

    /// The `data` member whose value is the message key (and so decides the partition).
    public var keyField: String {
        switch stream {
        case .customers, .orders, .activity: "customer_id"
        case .campaigns: self == .segmentSaved || self == .segmentDeleted ? "segment_id" : "campaign_id"
        case .deliveries, .deadletter: "message_id"
        }
    }

    /// The closed shape of this type's `data`.
    public var dataSpec: ObjectSpec {
        switch self {
        case .customerUpserted: EventSpecs.customerUpserted
        case .customerErased: EventSpecs.customerOnly
        case .orderPlaced: EventSpecs.orderPlaced
        case .orderCancelled: EventSpecs.orderCancelled
        case .orderRefunded: EventSpecs.orderRefunded
        case .visitRecorded: EventSpecs.visitRecorded
        case .segmentSaved: EventSpecs.segmentSaved
        case .segmentDeleted: EventSpecs.segmentDeleted
        case .campaignCreated: EventSpecs.campaignCreated
        case .campaignLaunched, .campaignLaunching: EventSpecs.campaignLaunched
        case .campaignPaused, .campaignResumed, .campaignCancelled, .campaignCompleted: EventSpecs.campaignTransition
        case .messageQueued: EventSpecs.messageQueued
        case .messageSent: EventSpecs.messageSent
        case .messageFailed: EventSpecs.messageFailed
        case .messageReceipt: EventSpecs.messageReceipt
        }
    }
}

/// The data shapes of SPEC §3.
enum EventSpecs {
    static let customerOnly = ObjectSpec([FieldSpec("customer_id", .identifier(), required: true)])

    static let customerUpserted = ObjectSpec([
        FieldSpec("customer_id", .identifier(), required: true),
        FieldSpec("name", .string(maxLength: 200), nullable: true),
        FieldSpec("email", .string(maxLength: 254), nullable: true),
        FieldSpec("phone", .string(maxLength: 32), nullable: true),
        FieldSpec("city", .string(maxLength: 100), nullable: true),
        FieldSpec("country", .string(maxLength: 100), nullable: true),
        FieldSpec("tags", .stringList(maxItems: 100, itemMaxLength: 64), nullable: true),
        FieldSpec("attributes", .attributes(maxProperties: 100), nullable: true),
        FieldSpec("created_at", .timestamp, nullable: true),
    ])

    static let orderItem = ObjectSpec([
        FieldSpec("sku", .string(minLength: 1, maxLength: 128), required: true),
        FieldSpec("quantity", .integer(minimum: 1, maximum: 1_000_000), required: true),
        FieldSpec("price", .money, required: true),
    ])

    static let orderPlaced = ObjectSpec([
        FieldSpec("order_id", .identifier(), required: true),
        FieldSpec("customer_id", .identifier(), required: true),
        FieldSpec("amount", .money, required: true),
        FieldSpec("currency", .currency),
        FieldSpec("placed_at", .timestamp),
        FieldSpec("items", .objectList(maxItems: 1000, orderItem)),
        FieldSpec("channel", .string(maxLength: 64)),
    ])

    static let orderCancelled = ObjectSpec([
        FieldSpec("order_id", .identifier(), required: true),
        FieldSpec("customer_id", .identifier(), required: true),
        FieldSpec("reason", .string(maxLength: 500)),
    ])

    static let orderRefunded = ObjectSpec([
        FieldSpec("order_id", .identifier(), required: true),
        FieldSpec("customer_id", .identifier(), required: true),
        FieldSpec("amount", .money, required: true),
        FieldSpec("currency", .currency),
        FieldSpec("reason", .string(maxLength: 500)),
    ])

    static let visitRecorded = ObjectSpec([
        FieldSpec("customer_id", .identifier(), required: true),
        FieldSpec("visited_at", .timestamp),
        FieldSpec("channel", .string(maxLength: 64)),
        FieldSpec("page", .string(maxLength: 2048)),
    ])

    static let segmentSaved = ObjectSpec([
        FieldSpec("segment_id", .identifier(), required: true),
        FieldSpec("name", .string(minLength: 1, maxLength: 200), required: true),
        FieldSpec("description", .string(maxLength: 1000)),
        FieldSpec("rules", .anyObject, required: true),
        actor,
    ])

    static let segmentDeleted = ObjectSpec([FieldSpec("segment_id", .identifier(), required: true), actor])

    /// Who asked for a command (audit trail): a signed-in user's e-mail or `key:<id>` of an API key.
    static let actor = FieldSpec("actor", .string(maxLength: 320))

    static let channels = ["sms", "email", "whatsapp", "push"]

    static let campaignCreated = ObjectSpec([
        FieldSpec("campaign_id", .identifier(colonAllowed: false), required: true),
        FieldSpec("name", .string(minLength: 1, maxLength: 200), required: true),
        FieldSpec("segment_id", .identifier()),
        FieldSpec("rules", .anyObject),
        FieldSpec("template", .string(minLength: 1, maxLength: 2000), required: true),
        FieldSpec("channel", .enumeration(channels), required: true),
        FieldSpec("rate_limit_per_second", .integer(minimum: 1, maximum: 1_000_000)),
        FieldSpec("audience_as_of", .timestamp),
        actor,
    ])

    static let campaignLaunched = ObjectSpec([
        FieldSpec("campaign_id", .identifier(colonAllowed: false), required: true),
        FieldSpec("audience_as_of", .timestamp),
        FieldSpec("audience", .integer(minimum: 0, maximum: Int64(Int32.max))),
        actor,
    ])

    static let campaignTransition = ObjectSpec([
        FieldSpec("campaign_id", .identifier(colonAllowed: false), required: true),
        FieldSpec("reason", .string(maxLength: 500)),
        actor,
    ])

    static let receiptStatuses = ["delivered", "failed", "bounced", "opened", "clicked"]

    static func message(_ extra: [FieldSpec], statusRequired: Bool = false) -> ObjectSpec {
        ObjectSpec(
            [
                FieldSpec("message_id", .identifier(maxLength: FieldLimits.messageIDLengthMax), required: true),
                FieldSpec("campaign_id", .identifier(colonAllowed: false), required: true),
                FieldSpec("customer_id", .identifier()),
                FieldSpec("channel", .enumeration(channels)),
                FieldSpec("attempt", .integer(minimum: 0, maximum: 100)),
                FieldSpec("at", .timestamp),
            ] + extra)
    }

    static let messageQueued = message([
        FieldSpec("to", .string(maxLength: 320)),
        FieldSpec("body", .string(maxLength: 4000)),
        // Set on re-queued (retried) messages: who asked for the retry.
        actor,
    ])
    static let messageSent = message([FieldSpec("vendor_message_id", .string(maxLength: 256))])
    static let messageFailed = message([
        FieldSpec("reason", .string(maxLength: 500)),
        FieldSpec("retryable", .boolean),
    ])
    static let messageReceipt = message([
        FieldSpec("status", .enumeration(receiptStatuses), required: true),
        FieldSpec("reason", .string(maxLength: 500)),
    ])
}
