import Events

/// Exact delivery counters of one campaign, kept by the message folds: `queued = sent + failed + pending`.
/// Stored apart from the definition because messages (on `crm.deliveries`) and the campaign's own events
/// (on `crm.campaigns`) are folded from different topics in no fixed order relative to each other.
public struct CampaignStats: Sendable, Equatable {
    public var queued = 0
    public var sent = 0
    public var failed = 0
    public var delivered = 0
    public var bounced = 0
    public var opened = 0
    public var clicked = 0
    /// Receipts with status `failed` (the vendor reported a failure after accepting the message).
    public var receiptFailed = 0
    /// Receipts for messages no queued, sent or failed event has named yet: kept, counted apart, and moved into
    /// the counts above when the message appears (a vendor's receipt may overtake the worker's record of it).
    public var unmatchedReceipts = 0

    /// All counters at zero.
    public init() {}

    /// Queued and neither sent nor failed yet.
    public var pending: Int { queued - sent - failed }

    func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 16)
        for field in [queued, sent, failed, delivered, bounced, opened, clicked, receiptFailed] { writer.write(field) }
        // Only when there are any: stats without unmatched receipts keep the encoding they always had.
        if unmatchedReceipts != 0 { writer.write(unmatchedReceipts) }
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        (queued, sent, failed, delivered) = (
            try reader.readInt(), try reader.readInt(), try reader.readInt(), try reader.readInt()
        )
        (bounced, opened, clicked, receiptFailed) = (
            try reader.readInt(), try reader.readInt(), try reader.readInt(), try reader.readInt()
        )
        if !reader.isAtEnd { unmatchedReceipts = try reader.readInt() }
    }

    /// Adds one to the counter of a receipt status.
    mutating func countReceipt(_ status: String) {
        switch status {
        case "delivered": delivered += 1
        case "bounced": bounced += 1
        case "opened": opened += 1
        case "clicked": clicked += 1
        default: receiptFailed += 1
        }
    }
}

/// A campaign's definition and lifecycle.
public struct CampaignState: Sendable, Equatable {
    /// `draft → running → (paused ⇄ running) → completed | cancelled`.
    public enum Status: String, Sendable, CaseIterable {
        /// `launching`: accepted, its messages being queued (`crm.campaign.launching` … `crm.campaign.launched`).
        case draft, launching, running, paused, completed, cancelled
    }

    public let campaignID: String
    public var name: String
    public var segmentID: String?
    public var rulesJSON: String?
    public var template: String
    public var channel: String
    public var rateLimitPerSecond: Int64?
    public var audienceAsOf: Timestamp?
    public var status: Status = .draft
    public var createdAt: Timestamp?
    public var launchedAt: Timestamp?
    public var finishedAt: Timestamp?
    /// Recipients snapshotted at launch.
    public var audience: Int64?
    /// Who did what to the campaign, oldest first: created, launched, paused, resumed, cancelled, retried.
    public var audit: [AuditEntry] = []

    /// One entry of the audit trail.
    public struct AuditEntry: Sendable, Equatable {
        public let action: String
        /// A signed-in user's e-mail, or `key:<id>` of an API key.
        public let actor: String
        public let at: Timestamp

        public init(action: String, actor: String, at: Timestamp) {
            self.action = action
            self.actor = actor
            self.at = at
        }
    }

    /// Records `action` by `actor` (nothing when the actor is unknown; a repeat of the last entry is one entry).
    mutating func record(_ action: String, by actor: String?, at time: Timestamp) {
        guard let actor else { return }
        let entry = AuditEntry(action: action, actor: actor, at: time)
        if audit.last != entry { audit.append(entry) }
    }

    public init(campaignID: String, name: String, template: String, channel: String) {
        self.campaignID = campaignID
        self.name = name
        self.template = template
        self.channel = channel
    }

    func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(campaignID)
        writer.write(name)
        writer.write(segmentID)
        writer.write(rulesJSON)
        writer.write(template)
        writer.write(channel)
        writer.write(rateLimitPerSecond != nil)
        if let rateLimitPerSecond { writer.write(rateLimitPerSecond) }
        writer.write(audienceAsOf)
        writer.write(status.rawValue)
        writer.write(createdAt)
        writer.write(launchedAt)
        writer.write(finishedAt)
        writer.write(audience != nil)
        if let audience { writer.write(audience) }
        // Only when there is one: campaigns without an audit trail keep the encoding they always had.
        if !audit.isEmpty {
            writer.write(audit.count)
            for entry in audit {
                writer.write(entry.action)
                writer.write(entry.actor)
                writer.write(Optional(entry.at))
            }
        }
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        let campaignID = try reader.readString()
        let name = try reader.readString()
        let segmentID = try reader.readOptionalString()
        let rulesJSON = try reader.readOptionalString()
        self.init(
            campaignID: campaignID, name: name, template: try reader.readString(), channel: try reader.readString())
        self.segmentID = segmentID
        self.rulesJSON = rulesJSON
        rateLimitPerSecond = try reader.readBool() ? try reader.readInt64() : nil
        audienceAsOf = try reader.readTimestamp()
        guard let status = Status(rawValue: try reader.readString()) else { throw BinaryReader.Corrupt() }
        self.status = status
        createdAt = try reader.readTimestamp()
        launchedAt = try reader.readTimestamp()
        finishedAt = try reader.readTimestamp()
        audience = try reader.readBool() ? try reader.readInt64() : nil
        if !reader.isAtEnd {
            for _ in 0..<min(try reader.readInt(), 100_000) {
                let action = try reader.readString()
                let actor = try reader.readString()
                audit.append(
                    AuditEntry(
                        action: action, actor: actor, at: try reader.readTimestamp() ?? Timestamp(microseconds: 0)))
            }
        }
    }
}

/// One message of a campaign: the communication-log record with its status history.
public struct MessageState: Sendable, Equatable {
    /// Where delivery stands.
    public enum Delivery: String, Sendable {
        case queued, sent, failed
        /// Known only through receipts so far: not counted as queued until a queued, sent or failed event names it.
        case unmatched
    }

    /// One step of the history.
    public struct Step: Sendable, Equatable {
        public let status: String
        public let at: Timestamp
        public let reason: String?
    }

    /// History entries kept per message; older ones are dropped (the log keeps everything).
    public static let historyMax = 32

    public let messageID: String
    public let campaignID: String
    public var customerID: String?
    public var channel: String?
    public var to: String?
    public var body: String?
    public var delivery: Delivery = .queued
    public var attempts = 0
    /// Receipt statuses seen (each counts once), sorted.
    public var receipts: [String] = []
    public var history: [Step] = []

    init(messageID: String, campaignID: String) {
        self.messageID = messageID
        self.campaignID = campaignID
    }

    func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(messageID)
        writer.write(campaignID)
        writer.write(customerID)
        writer.write(channel)
        writer.write(to)
        writer.write(body)
        writer.write(delivery.rawValue)
        writer.write(attempts)
        writer.write(receipts)
        writer.write(UInt64(history.count))
        for step in history {
            writer.write(step.status)
            writer.write(step.at.microseconds)
            writer.write(step.reason)
        }
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = BinaryReader(bytes)
        self.init(messageID: try reader.readString(), campaignID: try reader.readString())
        customerID = try reader.readOptionalString()
        channel = try reader.readOptionalString()
        to = try reader.readOptionalString()
        body = try reader.readOptionalString()
        guard let delivery = Delivery(rawValue: try reader.readString()) else { throw BinaryReader.Corrupt() }
        self.delivery = delivery
        attempts = try reader.readInt()
        receipts = try reader.readStrings()
        let count = try reader.readUInt64()
        guard count <= UInt64(Self.historyMax) else { throw BinaryReader.Corrupt() }
        history = try (0..<count).map { _ in
            Step(
                status: try reader.readString(), at: Timestamp(microseconds: try reader.readInt64()),
                reason: try reader.readOptionalString())
        }
    }
}
