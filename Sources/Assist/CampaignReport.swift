import Campaigns
import Events
import Foundation
import Projections

/// The figures of a campaign's performance, all computed by Cohort from its stats: counts, rates, the comparison
/// with the deployment's earlier campaigns, failures by reason and timing. A summary, deterministic or worded by
/// a model, may state these numbers and no others.
public struct CampaignFigures: Sendable {
    public struct Figure: Sendable {
        public let name: String
        public let value: Decimal
        /// How the value reads in a sentence: "12,345", "48.2 %", "35 minutes".
        public let display: String
    }

    public let campaignName: String
    public let status: String
    public let figures: [Figure]
    public let failureReasons: [(reason: String, count: Int)]
    public let launchedAt: Timestamp?
    public let finishedAt: Timestamp?
    /// Earlier campaigns compared with, and their rates, when any.
    public let comparedCampaigns: Int

    /// A rate in percent with one decimal, or nil when the base is zero.
    static func percent(_ part: Int, of whole: Int) -> Decimal? {
        guard whole > 0 else { return nil }
        var exact = Decimal(part) * 100 / Decimal(whole)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 1, .plain)
        return rounded
    }

    /// The figures of `campaign`; `earlier` are the deployment's other campaigns launched before it.
    public init(
        campaign: CampaignState, stats: CampaignStats, earlier: [(CampaignState, CampaignStats)],
        failureReasons: [(reason: String, count: Int)]
    ) {
        campaignName = campaign.name
        status = campaign.status.rawValue
        launchedAt = campaign.launchedAt
        finishedAt = campaign.finishedAt
        self.failureReasons = failureReasons
        var figures: [Figure] = []
        func count(_ name: String, _ value: Int) {
            figures.append(Figure(name: name, value: Decimal(value), display: Self.grouped(value)))
        }
        func rate(_ name: String, _ value: Decimal?) {
            guard let value else { return }
            figures.append(Figure(name: name, value: value, display: "\(value) %"))
        }
        count("queued", stats.queued)
        count("sent", stats.sent)
        count("failed", stats.failed)
        count("pending", stats.pending)
        count("delivered", stats.delivered)
        count("bounced", stats.bounced)
        count("opened", stats.opened)
        count("clicked", stats.clicked)
        rate("sent_rate", Self.percent(stats.sent, of: stats.queued))
        rate("failure_rate", Self.percent(stats.failed, of: stats.queued))
        rate("delivery_rate", Self.percent(stats.delivered, of: stats.sent))
        rate("open_rate", Self.percent(stats.opened, of: stats.delivered))
        rate("click_rate", Self.percent(stats.clicked, of: stats.delivered))
        let compared = earlier.filter { $0.1.sent > 0 }
        comparedCampaigns = compared.count
        if !compared.isEmpty {
            count("compared_campaigns", compared.count)
            let sent = compared.reduce(0) { $0 + $1.1.sent }
            let delivered = compared.reduce(0) { $0 + $1.1.delivered }
            let opened = compared.reduce(0) { $0 + $1.1.opened }
            rate("earlier_delivery_rate", Self.percent(delivered, of: sent))
            rate("earlier_open_rate", Self.percent(opened, of: delivered))
        }
        for (offset, failure) in failureReasons.prefix(5).enumerated() {
            count("failures_reason_\(offset + 1)", failure.count)
        }
        if let launched = campaign.launchedAt, let finished = campaign.finishedAt {
            let minutes = max(0, (finished.microseconds - launched.microseconds) / 60_000_000)
            figures.append(
                Figure(
                    name: "duration_minutes", value: Decimal(minutes), display: "\(Self.grouped(Int(minutes))) minutes")
            )
        }
        self.figures = figures
    }

    public func value(_ name: String) -> Figure? { figures.first { $0.name == name } }

    static func grouped(_ value: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.locale = Locale(identifier: "en_US")
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    /// The figures as JSON: what the API returns and all a model is shown (no customer data).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("campaign", .string(campaignName)), ("status", .string(status))]
        for figure in figures {
            members.append((figure.name, .number(JSONNumber(lexeme: figure.value.description) ?? JSONNumber(0))))
        }
        members.append(
            (
                "failures_by_reason",
                .array(
                    failureReasons.prefix(5).map {
                        .object(
                            JSONObject([
                                ("reason", .string($0.reason)), ("count", .number(JSONNumber(Int64($0.count)))),
                            ]))
                    })
            ))
        if let launchedAt { members.append(("launched_at", .string(launchedAt.description))) }
        if let finishedAt { members.append(("finished_at", .string(finishedAt.description))) }
        return .object(JSONObject(members))
    }

    /// The deterministic summary: the same figures always give the same sentences.
    public var text: String {
        func show(_ name: String) -> String { value(name)?.display ?? "0" }
        guard let queued = value("queued"), queued.value > 0 else {
            return "\"\(campaignName)\" is \(status) and has not queued any message yet."
        }
        var text = "\"\(campaignName)\" (\(status)) reached \(queued.display) customers: \(show("sent")) messages sent"
        if let rate = value("sent_rate") { text += " (\(rate.display))" }
        text += ", \(show("failed")) failed and \(show("pending")) pending."
        if value("sent")!.value > 0 {
            text += " \(show("delivered")) were delivered"
            if let rate = value("delivery_rate") { text += " (\(rate.display) of sent)" }
            text += ", \(show("opened")) opened"
            if let rate = value("open_rate") { text += " (\(rate.display) of delivered)" }
            text += " and \(show("clicked")) clicked; \(show("bounced")) bounced."
        }
        if let earlier = value("earlier_open_rate"), let open = value("open_rate") {
            let campaigns = comparedCampaigns == 1 ? "1 earlier campaign" : "\(comparedCampaigns) earlier campaigns"
            let direction = open.value > earlier.value ? "above" : open.value < earlier.value ? "below" : "level with"
            text += " The open rate is \(direction) the \(earlier.display) of \(campaigns)."
        }
        if let top = failureReasons.first {
            text += " The most common failure was \"\(top.reason)\" (\(Self.grouped(top.count)))."
        }
        if let duration = value("duration_minutes") { text += " Sending took \(duration.display)." }
        return text
    }

    /// The numbers a summary may state: every figure as a value, the digits in the campaign's name, the failure
    /// reasons and the launch and finish dates.
    var allowedNumbers: Set<Decimal> {
        var allowed = Set(figures.map(\.value))
        for text in [campaignName] + failureReasons.map(\.reason) { allowed.formUnion(Self.numbers(in: text)) }
        for time in [launchedAt, finishedAt].compactMap({ $0 }) {
            let (year, month, day) = time.calendarDate
            allowed.formUnion([Decimal(year), Decimal(month), Decimal(day)])
        }
        return allowed
    }

    /// The numbers written in `text`: "12,345", "48.2", "7"; digit groups joined, a trailing "." left out.
    static func numbers(in text: String) -> [Decimal] {
        var result: [Decimal] = []
        var current = ""
        func flush() {
            while current.last == "." || current.last == "," { current.removeLast() }
            if !current.isEmpty, let value = Decimal(string: current.replacingOccurrences(of: ",", with: "")) {
                result.append(value)
            }
            current = ""
        }
        let characters = Array(text)
        for (offset, character) in characters.enumerated() {
            if character.isASCII && character.isNumber {
                current.append(character)
            } else if (character == "," || character == "."), !current.isEmpty, offset + 1 < characters.count,
                characters[offset + 1].isASCII && characters[offset + 1].isNumber
            {
                current.append(character)
            } else {
                flush()
            }
        }
        flush()
        return result
    }

    /// The numbers in `text` that are not figures, or an empty list when every number is one.
    public func unsupportedNumbers(in text: String) -> [Decimal] {
        let allowed = allowedNumbers
        return Self.numbers(in: text).filter { !allowed.contains($0) }
    }
}

/// Campaign performance summaries (SPEC §9): Cohort computes the figures; a model, when configured, only words
/// them, and its text is used only when every number in it is one of the figures.
public struct SummaryWriter: Sendable {
    public let client: ChatClient?

    public init(client: ChatClient?) { self.client = client }

    public struct Answer: Sendable {
        public var text: String
        public var source: String
        public var fallbackReason: String?
    }

    public func summary(_ figures: CampaignFigures) async -> Answer {
        guard let client else { return Answer(text: figures.text, source: "offline", fallbackReason: nil) }
        do {
            let text = try await client.complete(
                ChatClient.Request(
                    helper: "summary",
                    system: """
                        You summarise a marketing campaign's performance for a marketer in two to four plain \
                        sentences. Use only the figures given, written exactly as given (percentages as given, \
                        counts with their digits); never compute, round or estimate a number of your own. Rates \
                        are in percent.
                        """,
                    user: figures.json.jsonText, schemaName: "campaign_summary", schema: Self.schema)
            ) { answer throws(AssistError) in
                guard let text = answer["summary"]?.stringValue, !text.isEmpty else {
                    throw .invalidOutput("no \"summary\" text")
                }
                let wrong = figures.unsupportedNumbers(in: text)
                guard wrong.isEmpty else {
                    client.logMismatch(wrong)
                    throw .invalidOutput(
                        "it stated \(wrong.map(\.description).joined(separator: ", ")), not among the computed figures")
                }
                return String(text.prefix(2_000))
            }
            return Answer(text: text, source: "llm", fallbackReason: nil)
        } catch {
            return Answer(text: figures.text, source: "offline", fallbackReason: error.description)
        }
    }

    static let schema: JSONValue = .object(
        JSONObject([
            ("type", .string("object")),
            ("properties", .object(JSONObject([("summary", .object(JSONObject([("type", .string("string"))])))]))),
            ("required", .array([.string("summary")])), ("additionalProperties", .bool(false)),
        ]))
}
