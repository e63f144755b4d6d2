import Events
import Foundation
import Projections
import Segments

/// Turns campaign commands into events: creation (validated), launch (audience snapshot → one queued message per
/// recipient, personalised), pause/resume/cancel, retry-failed. Pure apart from reading the read models it is given.
public enum CampaignPlanner {
    public static let channels = ["email", "sms", "whatsapp"]

    /// Why a command cannot be carried out: a JSON pointer into the request and a message.
    public struct Problem: Error, Sendable {
        public let pointer: String
        public let message: String
        /// 409 rather than 422: the request is fine but the campaign's state does not allow it.
        public let isConflict: Bool

        init(_ pointer: String, _ message: String, isConflict: Bool = false) {
            self.pointer = pointer
            self.message = message
            self.isConflict = isConflict
        }
    }

    /// The `crm.campaign.created` event for a request body; every check happens here, before anything is appended.
    public static func create(
        _ body: JSONObject, decoder: RuleDecoder, store: ReadModelStore, now: Timestamp, id: String,
        actor: String? = nil
    ) throws(Problem) -> CloudEvent {
        guard let name = body["name"]?.stringValue, !name.isEmpty, name.utf8.count <= 256 else {
            throw Problem("/name", "required: a string of 1–256 bytes")
        }
        guard let templateText = body["template"]?.stringValue else { throw Problem("/template", "required string") }
        do {
            _ = try MessageTemplate(templateText)
        } catch {
            throw Problem("/template", error.description)
        }
        let channel = body["channel"]?.stringValue ?? "email"
        guard channels.contains(channel) else {
            throw Problem("/channel", "must be one of \(channels.joined(separator: ", "))")
        }
        var data: [(String, JSONValue)] = [
            ("campaign_id", .string(id)), ("name", .string(name)), ("template", .string(templateText)),
            ("channel", .string(channel)),
        ]
        switch (body["segment_id"]?.stringValue, body["rules"]) {
        case (let segmentID?, nil):
            let exists: Bool
            do { exists = try store.segment(segmentID) != nil } catch { throw Problem("/segment_id", "\(error)") }
            guard exists else { throw Problem("/segment_id", "no saved segment \"\(segmentID)\"") }
            data.append(("segment_id", .string(segmentID)))
        case (nil, let rules?):
            do {
                data.append(("rules", try decoder.decode(rules).json))
            } catch {
                throw Problem("/rules" + (error.problems.first?.pointer ?? ""), error.problems.first?.message ?? "")
            }
        default:
            throw Problem("", "give exactly one of segment_id or rules")
        }
        if let rate = body["rate_limit_per_second"] {
            guard case .number(let number) = rate, let value = number.int64Value, (1...1_000_000).contains(value) else {
                throw Problem("/rate_limit_per_second", "an integer 1…1,000,000")
            }
            data.append(("rate_limit_per_second", .number(number)))
        }
        if let asOf = body["audience_as_of"] {
            guard let text = asOf.stringValue, Timestamp(rfc3339: text) != nil else {
                throw Problem("/audience_as_of", "an RFC 3339 time")
            }
            data.append(("audience_as_of", .string(text)))
        }
        return try make(.campaignCreated, data + actorMember(actor), now: now, id: "\(id):created")
    }

    /// The rule a campaign targets (its inline rules, or its saved segment's).
    public static func rule(of campaign: CampaignState, store: ReadModelStore, decoder: RuleDecoder) throws(Problem)
        -> Rule
    {
        let text: String?
        if let rulesJSON = campaign.rulesJSON {
            text = rulesJSON
        } else if let segmentID = campaign.segmentID {
            text = (try? store.segment(segmentID))??.rulesJSON
            if text == nil { throw Problem("/segment_id", "the saved segment \"\(segmentID)\" no longer exists") }
        } else {
            text = nil
        }
        guard let text, let rule = try? decoder.decode(text: text) else {
            throw Problem("/rules", "the campaign's rule is not valid for this version")
        }
        return rule
    }

    /// Whether `campaign` may be launched now (a draft, or a launch under way being resumed; an audience within
    /// `audienceMax`): its audience size.
    public static func checkLaunch(
        _ campaign: CampaignState, rule: Rule, index: CustomerIndex, asOf: Timestamp, audienceMax: Int
    ) throws(Problem) -> Int {
        guard campaign.status == .draft || campaign.status == .launching else {
            throw Problem(
                "", "the campaign is \(campaign.status.rawValue); only a draft can be launched", isConflict: true)
        }
        let size = index.count(rule, asOf: asOf)
        guard size <= audienceMax else {
            throw Problem("", "the audience of \(size) exceeds limits.audience_max (\(audienceMax))")
        }
        return size
    }

    /// The launch accepted: `crm.campaign.launching` fixes the audience (`asOf`, its size) before any message is
    /// queued, so that a node that stops mid-launch leaves a campaign any node resumes with the same audience.
    public static func launching(
        _ campaign: CampaignState, asOf: Timestamp, audience: Int, now: Timestamp, actor: String? = nil
    ) throws(Problem) -> CloudEvent {
        try make(
            .campaignLaunching,
            [
                ("campaign_id", .string(campaign.campaignID)), ("audience_as_of", .string(asOf.description)),
                ("audience", .number(JSONNumber(Int64(audience)))),
            ] + actorMember(actor), now: now, id: "\(campaign.campaignID):launching")
    }

    /// Launch: the queued messages of the audience at `asOf` (personalised), then `launched` last, so that a launch
    /// cut short by a crash can simply be repeated (message ids are `campaign:customer`, so repeats fold once).
    public static func launch(
        _ campaign: CampaignState, rule: Rule, index: CustomerIndex, store: ReadModelStore, asOf: Timestamp,
        now: Timestamp, audienceMax: Int = 5_000_000, actor: String? = nil
    ) throws(Problem) -> [CloudEvent] {
        _ = try checkLaunch(campaign, rule: rule, index: index, asOf: asOf, audienceMax: audienceMax)
        let template: MessageTemplate
        do { template = try MessageTemplate(campaign.template) } catch { throw Problem("/template", error.description) }
        var events: [CloudEvent] = []
        let members = index.allMembers(rule, asOf: asOf)
        events.reserveCapacity(members.count + 1)
        for customerID in members {
            guard let customer = try? store.customer(customerID), !customer.isErased else { continue }
            let address = campaign.channel == "email" ? customer.email : customer.phone
            var data: [(String, JSONValue)] = [
                ("message_id", .string("\(campaign.campaignID):\(customerID)")),
                ("campaign_id", .string(campaign.campaignID)), ("customer_id", .string(customerID)),
                ("channel", .string(campaign.channel)), ("body", .string(template.render(customer))),
                ("attempt", .number(JSONNumber(1))), ("at", .string(now.description)),
            ]
            if let address { data.append(("to", .string(address))) }
            events.append(try make(.messageQueued, data, now: now, id: "\(campaign.campaignID):\(customerID):queued#1"))
        }
        events.append(
            try make(
                .campaignLaunched,
                [
                    ("campaign_id", .string(campaign.campaignID)), ("audience_as_of", .string(asOf.description)),
                    ("audience", .number(JSONNumber(Int64(events.count)))),
                ] + actorMember(actor), now: now, id: "\(campaign.campaignID):launched"))
        return events
    }

    /// A lifecycle transition (`paused`, `resumed`, `cancelled`) if the campaign's state allows it.
    public static func transition(
        _ campaign: CampaignState, to type: EventType, now: Timestamp, actor: String? = nil
    ) throws(Problem) -> CloudEvent {
        let allowed: [CampaignState.Status]
        switch type {
        case .campaignPaused: allowed = [.running]
        case .campaignResumed: allowed = [.paused]
        case .campaignCancelled: allowed = [.draft, .launching, .running, .paused]
        default: allowed = []
        }
        guard allowed.contains(campaign.status) else {
            throw Problem(
                "", "a \(campaign.status.rawValue) campaign cannot be \(type.rawValue.split(separator: ".").last!)",
                isConflict: true)
        }
        return try make(
            type, [("campaign_id", .string(campaign.campaignID))] + actorMember(actor), now: now,
            id: "\(campaign.campaignID):\(type.rawValue):\(now.microseconds)")
    }

    /// Re-queues every failed message with the next attempt generation (a new idempotency key for the vendor).
    public static func retryFailed(
        _ campaign: CampaignState, store: ReadModelStore, now: Timestamp, actor: String? = nil
    ) throws(Problem) -> [CloudEvent] {
        guard campaign.status == .running || campaign.status == .paused else {
            throw Problem("", "only a running or paused campaign retries", isConflict: true)
        }
        var events: [CloudEvent] = []
        var after: String?
        repeat {
            let page: (messages: [MessageState], next: String?)
            do {
                page = try store.messages(
                    ofCampaign: campaign.campaignID, delivery: .failed, after: after, limit: 5_000)
            } catch { throw Problem("", "\(error)") }
            for message in page.messages {
                let generation = message.history.filter { $0.status == "queued" }.count + 1
                var data: [(String, JSONValue)] = [
                    ("message_id", .string(message.messageID)), ("campaign_id", .string(campaign.campaignID)),
                    ("channel", .string(message.channel ?? campaign.channel)),
                    ("attempt", .number(JSONNumber(Int64(generation)))), ("at", .string(now.description)),
                ]
                if let customerID = message.customerID { data.append(("customer_id", .string(customerID))) }
                if let to = message.to { data.append(("to", .string(to))) }
                if let body = message.body { data.append(("body", .string(body))) }
                data += actorMember(actor)
                events.append(try make(.messageQueued, data, now: now, id: "\(message.messageID):queued#\(generation)"))
            }
            after = page.next
        } while after != nil
        return events
    }

    /// The `actor` member of a command event, when the caller is known (audit trail).
    static func actorMember(_ actor: String?) -> [(String, JSONValue)] { actor.map { [("actor", .string($0))] } ?? [] }

    static func make(_ type: EventType, _ data: [(String, JSONValue)], now: Timestamp, id: String) throws(Problem)
        -> CloudEvent
    {
        switch CloudEvent.make(id: id, source: "cohort-campaigns", type: type, time: now, data: JSONObject(data)) {
        case .success(let event): return event
        case .failure(let error):
            let first = error.problems.first
            throw Problem(
                (first?.pointer ?? "").replacingOccurrences(of: "/data", with: ""), first?.message ?? "invalid")
        }
    }
}
