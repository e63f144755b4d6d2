import Assist
import CohortConfig
import Events
import Hummingbird
import Logging
import Projections
import Segments

/// The three AI helpers of a node, built once from the configuration: a language-model client when
/// `assist.llm.base_url` is set (its exchanges counted in the node's metrics), offline helpers otherwise.
public struct Assistants: Sendable {
    public let client: ChatClient?
    public let rules: RuleAssistant
    public let messages: MessageSuggester
    public let summaries: SummaryWriter

    init(configuration: CohortConfiguration, metrics: NodeMetrics, logger: Logger) {
        var client: ChatClient?
        if !configuration.assistBaseURL.isEmpty {
            let settings = LLMSettings(
                baseURL: configuration.assistBaseURL, model: configuration.assistModel,
                apiKey: configuration.assistAPIKey, timeoutMs: configuration.assistTimeoutMs,
                retries: configuration.assistRetries, maxTokens: configuration.assistMaxTokens,
                shareSamples: configuration.assistShareSamples)
            client = ChatClient(settings: settings, logger: logger) { exchange in
                let helper = ("helper", exchange.helper)
                metrics.increment(
                    "cohort_assist_llm_requests_total", dimensions: [helper, ("outcome", exchange.outcome)])
                metrics.increment(
                    "cohort_assist_llm_tokens_total", dimensions: [helper, ("kind", "prompt")],
                    by: Int64(exchange.promptTokens))
                metrics.increment(
                    "cohort_assist_llm_tokens_total", dimensions: [helper, ("kind", "completion")],
                    by: Int64(exchange.completionTokens))
                metrics.record(
                    "cohort_assist_llm_request_seconds", dimensions: [helper], seconds: exchange.seconds)
            }
            logger.info("AI assist uses a language model", metadata: ["llm": "\(settings)"])
        }
        self.client = client
        rules = RuleAssistant(client: client, decoder: RuleDecoder(conditionsMax: configuration.ruleConditionsMax))
        messages = MessageSuggester(client: client)
        summaries = SummaryWriter(client: client)
    }
}

/// AI assist (SPEC §9): words → rules, the field catalogue they are made from, message suggestions and
/// campaign summaries. Each answer says its `source` (`llm` or `offline`) and, when the model's answer was not
/// used, why.
extension CohortAPI {
    var assistRoutes: [Route] {
        [
            Route(
                method: .get, path: Self.prefix + "/segments/fields", scope: .read,
                summary: "The field catalogue: fields, kinds, operators, known cities, tags and attribute keys",
                handler: { request, _ in try fields(request) }),
            Route(
                method: .post, path: Self.prefix + "/assist/messages", scope: .campaigns,
                summary: "Two or three message templates for an objective, a channel and an audience",
                handler: { request, _ in try await suggestMessages(request) }),
        ]
    }

    func catalogue(at now: Timestamp) -> FieldCatalogue {
        FieldCatalogue(index: dependencies.index, currency: dependencies.configuration.currency, today: now)
    }

    private func fields(_ request: Request) throws -> Response {
        let now = try Self.asOf(request.uri.queryParameters["as_of"].map(String.init))
        return Self.json(catalogue(at: now).json)
    }

    /// `POST /segments/parse`: the words as a rule, with its English, live count and sample at `as_of`.
    func parseWords(_ request: Request) async throws -> Response {
        let object = try await objectBody(request)
        guard let text = object["text"]?.stringValue, !text.isEmpty else {
            throw Problem.unprocessable("text is required", errors: [("/text", "required non-empty string")])
        }
        guard text.utf8.count <= 2_000 else {
            throw Problem.unprocessable("text is longer than 2,000 bytes", errors: [("/text", "too long")])
        }
        let asOf = try Self.asOf((object["as_of"] ?? object["now"])?.stringValue)
        let sampleSize = try Self.sampleSize(object["sample"])
        let answer = await dependencies.assist.rules.parse(text, now: asOf, catalogue: catalogue(at: asOf))
        var members: [(String, JSONValue)] = [
            ("rules", answer.rule?.json ?? .null), ("english", .string(answer.english)),
            ("source", .string(answer.source)), ("partial", .bool(answer.isPartial)),
            ("not_understood", .array(answer.notUnderstood.map { .string($0) })),
            ("unknown_words", .array((answer.source == "offline" ? answer.notUnderstood : []).map { .string($0) })),
            ("assumptions", .array(answer.assumptions.map { .string($0) })),
            ("fallback_reason", answer.fallbackReason.map { .string($0) } ?? .null),
            ("as_of", .string(asOf.description)),
        ]
        if let rule = answer.rule {
            let started = ContinuousClock.now
            let preview = dependencies.index.preview(rule, asOf: asOf, sampleSize: sampleSize)
            dependencies.metrics.observe("cohort_segment_query_seconds", since: started)
            members.append(("count", .number(JSONNumber(Int64(preview.count)))))
            members.append(("sample", .array(preview.sample.map { .string($0) })))
        } else {
            members.append(("count", .null))
            members.append(("sample", .array([])))
        }
        if answer.fallbackReason != nil {
            dependencies.metrics.increment("cohort_assist_fallbacks_total", dimensions: [("helper", "rules")])
        }
        return Self.json(.object(JSONObject(members)))
    }

    private func suggestMessages(_ request: Request) async throws -> Response {
        let object = try await objectBody(request)
        guard let objective = object["objective"]?.stringValue else {
            throw Problem.unprocessable("objective is required", errors: [("/objective", "required string")])
        }
        let channel = object["channel"]?.stringValue ?? "email"
        let asOf = Self.now()
        var audience = MessageSuggester.Audience(english: "", size: dependencies.index.customerCount)
        if let rule = try audienceRule(in: object) {
            let preview = dependencies.index.preview(rule, asOf: asOf, sampleSize: 3)
            audience.english = rule.english(currency: dependencies.configuration.currency)
            audience.size = preview.count
            if dependencies.assist.client?.settings.shareSamples == true {
                audience.samples = try preview.sample.compactMap { id in
                    try dependencies.store.customer(id).map {
                        (String(($0.name ?? "").split(separator: " ").first ?? ""), $0.city ?? "")
                    }
                }
            }
        }
        let answer: MessageSuggester.Answer
        do {
            answer = try await dependencies.assist.messages.suggest(
                objective: objective, channel: channel, audience: audience)
        } catch {
            throw Problem.unprocessable(error.description, errors: [(error.pointer, error.description)])
        }
        if answer.fallbackReason != nil {
            dependencies.metrics.increment("cohort_assist_fallbacks_total", dimensions: [("helper", "messages")])
        }
        return Self.json(
            .object(
                JSONObject([
                    ("objective", .string(answer.objective)), ("channel", .string(channel)),
                    (
                        "audience",
                        .object(
                            JSONObject([
                                ("english", .string(audience.english)),
                                ("size", .number(JSONNumber(Int64(audience.size)))),
                            ]))
                    ),
                    (
                        "variants",
                        .array(
                            answer.variants.map {
                                .object(
                                    JSONObject([
                                        ("template", .string($0.template)),
                                        ("variables", .array($0.variables.map { .string($0) })),
                                        ("length_bound", .number(JSONNumber(Int64($0.lengthBound)))),
                                    ]))
                            })
                    ),
                    ("source", .string(answer.source)),
                    ("fallback_reason", answer.fallbackReason.map { .string($0) } ?? .null),
                ])))
    }

    /// `GET /campaigns/{id}/summary`: the computed figures and a summary that states only them.
    func campaignSummary(_ campaign: CampaignState) async throws -> Response {
        let store = dependencies.store
        let stats = try store.stats(ofCampaign: campaign.campaignID)
        let reference = campaign.launchedAt ?? campaign.createdAt
        let earlier = try store.allCampaigns().filter { other in
            guard other.campaignID != campaign.campaignID, let launched = other.launchedAt else { return false }
            return reference.map { launched.microseconds < $0.microseconds } ?? true
        }.map { ($0, try store.stats(ofCampaign: $0.campaignID)) }
        var reasons: [String: Int] = [:]
        var cursor: String?
        var examined = 0
        repeat {
            let page = try store.messages(
                ofCampaign: campaign.campaignID, delivery: .failed, after: cursor, limit: 1_000)
            for message in page.messages {
                let reason = message.history.last(where: { $0.reason != nil })?.reason ?? "no reason given"
                reasons[reason, default: 0] += 1
            }
            examined += page.messages.count
            cursor = page.next
        } while cursor != nil && examined < Self.failuresExaminedMax
        let byReason = reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { (reason: $0.key, count: $0.value) }
        let figures = CampaignFigures(campaign: campaign, stats: stats, earlier: earlier, failureReasons: byReason)
        let answer = await dependencies.assist.summaries.summary(figures)
        if answer.fallbackReason != nil {
            dependencies.metrics.increment("cohort_assist_fallbacks_total", dimensions: [("helper", "summary")])
        }
        return Self.json(
            .object(
                JSONObject([
                    ("campaign_id", .string(campaign.campaignID)), ("summary", .string(answer.text)),
                    ("source", .string(answer.source)),
                    ("fallback_reason", answer.fallbackReason.map { .string($0) } ?? .null),
                    ("figures", figures.json),
                ])))
    }

    /// Failed messages read to group failures by reason; past it the grouping covers the first ones only.
    static let failuresExaminedMax = 100_000

    static func sampleSize(_ value: JSONValue?) throws -> Int {
        guard let value else { return 10 }
        guard case .number(let number) = value, let size = number.int64Value, (0...100).contains(size) else {
            throw Problem.unprocessable("sample must be an integer 0…100", errors: [("/sample", "0…100")])
        }
        return Int(size)
    }
}
