import Assist
import Campaigns
import Events
import Foundation
import Logging
import Projections
import Segments
import TestSupport
import Testing

/// Every path of the language-model helpers against a local OpenAI-compatible server that answers from a script:
/// good answers, and each fault a provider can produce.
@Suite("AI assist against a scripted model server")
struct ModelPathTests {
    static let key = "sk-test-7f3a9c1e-never-logged"
    static let now = Timestamp(rfc3339: "2026-06-15T10:00:00Z")!
    static let catalogue = FieldCatalogue(
        cities: ["Mumbai", "Pune", "Delhi"], tags: ["vip", "newsletter"], currency: "INR", today: now)

    /// A client of `server` whose log lines land in `logs`.
    static func client(
        _ server: FakeModelServer, logs: CapturingLogHandler.Store = .init(), retries: Int = 2, timeoutMs: Int = 5_000,
        exchanges: ExchangeLog = ExchangeLog()
    ) -> ChatClient {
        ChatClient(
            settings: LLMSettings(
                baseURL: server.baseURL, model: "fake-model", apiKey: key, timeoutMs: timeoutMs, retries: retries,
                maxTokens: 400),
            logger: CapturingLogHandler.logger(logs), observe: { exchanges.append($0) })
    }

    final class ExchangeLog: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [LLMExchange] = []
        func append(_ exchange: LLMExchange) { lock.withLock { stored.append(exchange) } }
        var all: [LLMExchange] { lock.withLock { stored } }
    }

    static let goodRule = """
        {"rules": {"and": [{"field": "city", "op": "in", "value": ["Mumbai", "Pune"]},
        {"field": "tags", "op": "contains", "value": "vip"}]}, "assumptions": ["VIPs means the tag vip"],
        "unsupported": []}
        """

    @Test("words → rules: strict schema from the catalogue, key sent as a bearer token, rule decoded, source llm")
    func goodAnswer() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(.content(Self.goodRule))
        let exchanges = ExchangeLog()
        let answer = await RuleAssistant(client: Self.client(server, exchanges: exchanges))
            .parse("Mumbai or Pune VIPs", now: Self.now, catalogue: Self.catalogue)
        #expect(answer.source == "llm")
        #expect(answer.fallbackReason == nil)
        #expect(!answer.isPartial)
        #expect(answer.assumptions == ["VIPs means the tag vip"])
        let expected = Rule.and([
            .condition(Condition(.city, .in, [.string("Mumbai"), .string("Pune")])),
            .condition(Condition(.tags, .contains, [.string("vip")])),
        ])
        #expect(answer.rule?.canonical == expected.canonical)
        let request = try #require(server.received.first)
        #expect(request.authorization == "Bearer \(Self.key)")
        #expect(request.responseFormat == "json_schema")
        let format = try #require(request.json["response_format"] as? [String: Any])
        let schema = try #require(format["json_schema"] as? [String: Any])
        #expect(schema["strict"] as? Bool == true)
        #expect(request.body.contains("\"total_spend\""))
        #expect(request.messagesText.contains("Known cities: Mumbai, Pune, Delhi"))
        #expect(request.messagesText.contains("Today is 2026-06-15"))
        #expect(request.json["max_tokens"] as? Int == 400)
        #expect(exchanges.all.map(\.outcome) == ["ok"])
        #expect(exchanges.all.first?.promptTokens == 120)
    }

    @Test("429 with Retry-After is waited out and retried; 500 is retried; out of retries falls back offline")
    func retries() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(.status(429, headers: ["Retry-After": "1"]), .status(500), .content(Self.goodRule))
        let exchanges = ExchangeLog()
        let answer = await RuleAssistant(client: Self.client(server, exchanges: exchanges))
            .parse("Mumbai or Pune VIPs", now: Self.now, catalogue: Self.catalogue)
        #expect(answer.source == "llm")
        let times = server.received.map(\.at)
        try #require(times.count == 3)
        #expect(times[1] - times[0] >= .milliseconds(950), "Retry-After: 1 honoured")
        #expect(exchanges.all.first?.attempts == 3)

        server.script(.status(503), .status(503))
        let fallback = await RuleAssistant(client: Self.client(server, retries: 1))
            .parse("spent over 5k", now: Self.now, catalogue: Self.catalogue)
        #expect(fallback.source == "offline")
        #expect(fallback.fallbackReason?.contains("HTTP 503") == true)
        #expect(fallback.rule == .condition(Condition(.totalSpend, .gt, [.number(5_000)])))

        server.script(.status(429, headers: ["Retry-After": "3600"]))
        let tooLong = await RuleAssistant(client: Self.client(server))
            .parse("spent over 5k", now: Self.now, catalogue: Self.catalogue)
        #expect(tooLong.source == "offline")
        #expect(tooLong.fallbackReason?.contains("retry after 3600 s") == true)
    }

    @Test("a timeout falls back offline with the reason")
    func timeout() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(.delayed(3, .content(Self.goodRule)))
        let answer = await RuleAssistant(client: Self.client(server, retries: 0, timeoutMs: 300))
            .parse("tagged vip", now: Self.now, catalogue: Self.catalogue)
        #expect(answer.source == "offline")
        #expect(answer.fallbackReason?.lowercased().contains("timeout") == true)
        #expect(answer.rule == .condition(Condition(.tags, .contains, [.string("vip")])))
    }

    @Test(
        "non-JSON, a refusal, a truncated answer, an unknown field or operator: each falls back with a clear reason",
        arguments: [
            (FakeModelServer.Reply.content("Sure! Customers in Mumbai who are VIPs."), "not a JSON object"),
            (.refusal("I can't help with that."), "declined: I can't help with that."),
            (.content("{\"rules\": {\"and\": [", finishReason: "length"), "cut off at the token budget"),
            (
                .content(
                    "{\"rules\": {\"field\": \"loyalty_tier\", \"op\": \"eq\", \"value\": \"gold\"}, "
                        + "\"assumptions\": [], \"unsupported\": []}"), "loyalty_tier"
            ),
            (
                .content(
                    "{\"rules\": {\"field\": \"total_spend\", \"op\": \"greater\", \"value\": 5000}, "
                        + "\"assumptions\": [], \"unsupported\": []}"), "greater"
            ),
            (.content("{\"assumptions\": []}"), "no \"rules\""),
        ])
    func faults(reply: FakeModelServer.Reply, reason: String) async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(reply)
        let logs = CapturingLogHandler.Store()
        let answer = await RuleAssistant(client: Self.client(server, logs: logs, retries: 0))
            .parse("vip customers in Mumbai", now: Self.now, catalogue: Self.catalogue)
        #expect(answer.source == "offline")
        #expect(answer.fallbackReason?.contains(reason) == true, "\(answer.fallbackReason ?? "nil")")
        let expected = Rule.and([
            .condition(Condition(.tags, .contains, [.string("vip")])),
            .condition(Condition(.city, .eq, [.string("Mumbai")])),
        ])
        #expect(answer.rule?.canonical == expected.canonical, "the offline answer stands in")
        #expect(!logs.records.isEmpty)
        for record in logs.records {
            #expect(!record.message.contains(Self.key) && !record.metadata.values.contains { $0.contains(Self.key) })
        }
        #expect(answer.fallbackReason?.contains(Self.key) == false)
    }

    @Test("past the in-flight limit a helper answers offline at once instead of queueing behind a slow model")
    func inFlightLimit() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(.delayed(1, .content(Self.goodRule)))
        let client = ChatClient(
            settings: LLMSettings(baseURL: server.baseURL, model: "m", retries: 0, inFlightMax: 1),
            logger: Logger(label: "test"))
        let assistant = RuleAssistant(client: client)
        async let slow = assistant.parse("Mumbai or Pune VIPs", now: Self.now, catalogue: Self.catalogue)
        // The first request is under way once the server holds it.
        while server.received.isEmpty { await Task.yield() }
        let second = await assistant.parse("tagged vip", now: Self.now, catalogue: Self.catalogue)
        #expect(second.source == "offline" && second.fallbackReason?.contains("already under way") == true)
        #expect(await slow.source == "llm")
        #expect(server.received.count == 1)
    }

    @Test("a server without structured output gets plain JSON with the schema in the prompt, from then on")
    func plainJSONFallback() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.rejectStructuredOutput()
        server.script(.content("```json\n" + Self.goodRule + "\n```"), .content(Self.goodRule))
        let client = Self.client(server)
        let first = await RuleAssistant(client: client).parse("x", now: Self.now, catalogue: Self.catalogue)
        let second = await RuleAssistant(client: client).parse("x", now: Self.now, catalogue: Self.catalogue)
        #expect(first.source == "llm" && second.source == "llm")
        #expect(server.received.map(\.responseFormat) == ["json_schema", "json_object", "json_object"])
        #expect(server.received[1].messagesText.contains("valid against this JSON schema"))
    }

    @Test("the model's 'unsupported' makes the answer partial; a null rule is an answer, not a guess")
    func partialAnswers() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        server.script(
            .content(
                "{\"rules\": {\"field\": \"total_spend\", \"op\": \"gt\", \"value\": 5000}, \"assumptions\": [], "
                    + "\"unsupported\": [\"in the last 3 months: spend has no period\"]}"),
            .content("{\"rules\": null, \"assumptions\": [], \"unsupported\": [\"bought shoes\"]}"))
        let logs = CapturingLogHandler.Store()
        let client = Self.client(server, logs: logs)
        let partial = await RuleAssistant(client: client)
            .parse("spent over 5000 in the last 3 months", now: Self.now, catalogue: Self.catalogue)
        #expect(partial.source == "llm" && partial.isPartial)
        #expect(partial.notUnderstood == ["in the last 3 months: spend has no period"])
        let none = await RuleAssistant(client: client).parse("bought shoes", now: Self.now, catalogue: Self.catalogue)
        #expect(none.source == "llm" && none.rule == nil && none.isPartial)
    }

    @Test("message suggestions: variants checked by the template validator and the channel limit, else offline")
    func messages() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        let good = """
            {"variants": [{"template": "Hi {{first_name|there}}, we miss you in {{city}}!"},
            {"template": "{{first_name}}, come back for something new."},
            {"template": "Your {{order_count}} orders mean a lot, {{first_name}}."}]}
            """
        let unknownVariable = """
            {"variants": [{"template": "Hi {{first_name}}, use code {{coupon_code}}!"},
            {"template": "Hello {{name}}, your {{discount}} is waiting."},
            {"template": "Hi {{first_name}}, we miss you."}]}
            """
        let tooLong =
            "{\"variants\": [{\"template\": \"\(String(repeating: "a", count: 170))\"}, "
            + "{\"template\": \"\(String(repeating: "b", count: 200))\"}]}"
        server.script(.content(good), .content(unknownVariable), .content(tooLong))
        let suggester = MessageSuggester(client: Self.client(server))
        let audience = MessageSuggester.Audience(english: "days inactive ≥ 90", size: 1_234)
        let llm = try await suggester.suggest(
            objective: "win back inactive customers", channel: "sms", audience: audience)
        #expect(llm.source == "llm" && llm.variants.count == 3)
        #expect(server.received[0].messagesText.contains("days inactive ≥ 90"))
        #expect(server.received[0].messagesText.contains("within 160 characters"))

        let rejected = try await suggester.suggest(objective: "win back", channel: "sms", audience: audience)
        #expect(rejected.source == "offline")
        #expect(rejected.fallbackReason?.contains("{{coupon_code}}") == true)
        #expect(rejected.objective == "winback" && rejected.variants.count == 3)
        for variant in rejected.variants { #expect(variant.lengthBound <= 160) }

        let long = try await suggester.suggest(objective: "win back", channel: "sms", audience: audience)
        #expect(long.source == "offline")
        #expect(long.fallbackReason?.contains("the limit is 160") == true)

        await #expect(throws: MessageSuggester.InvalidRequest.self) {
            _ = try await suggester.suggest(objective: "x", channel: "pigeon", audience: audience)
        }
    }

    @Test("offline suggestions: three valid templates for every objective and channel")
    func offlineMessages() async throws {
        let suggester = MessageSuggester(client: nil)
        for objective in ["winback", "welcome", "loyalty", "upsell", "feedback", "announcement", "Diwali sale"] {
            for channel in ["sms", "whatsapp", "email"] {
                let answer = try await suggester.suggest(
                    objective: objective, channel: channel, audience: .init(english: "", size: 10))
                #expect(answer.variants.count == 3, "\(objective) on \(channel)")
                #expect(answer.source == "offline" && answer.fallbackReason == nil)
            }
        }
    }

    static func campaignFigures() -> CampaignFigures {
        var campaign = CampaignState(campaignID: "cmp_1", name: "Diwali 2026", template: "Hi", channel: "sms")
        campaign.status = .completed
        campaign.launchedAt = Timestamp(rfc3339: "2026-06-10T10:00:00Z")
        campaign.finishedAt = Timestamp(rfc3339: "2026-06-10T10:35:00Z")
        var stats = CampaignStats()
        (stats.queued, stats.sent, stats.failed, stats.delivered, stats.opened, stats.clicked) =
            (1_000, 980, 20, 950, 400, 120)
        var earlier = CampaignState(campaignID: "cmp_0", name: "Spring", template: "Hi", channel: "sms")
        earlier.launchedAt = Timestamp(rfc3339: "2026-03-01T10:00:00Z")
        var earlierStats = CampaignStats()
        (earlierStats.queued, earlierStats.sent, earlierStats.delivered, earlierStats.opened) = (500, 500, 480, 120)
        return CampaignFigures(
            campaign: campaign, stats: stats, earlier: [(earlier, earlierStats)],
            failureReasons: [("invalid number", 15), ("carrier rejected", 5)])
    }

    @Test("figures: rates computed once, deterministic summary states them; numbers in text are checked")
    func figures() throws {
        let figures = Self.campaignFigures()
        #expect(figures.value("sent_rate")?.display == "98 %")
        #expect(figures.value("open_rate")?.display == "42.1 %")
        #expect(figures.value("earlier_open_rate")?.display == "25 %")
        #expect(figures.value("duration_minutes")?.display == "35 minutes")
        #expect(figures.text.contains("The open rate is above the 25 % of 1 earlier campaign."))
        #expect(figures.text.contains("\"invalid number\" (15)"))
        #expect(figures.unsupportedNumbers(in: figures.text).isEmpty, "the deterministic text states only figures")
        #expect(figures.unsupportedNumbers(in: "Diwali 2026 reached 1,000 customers; 42.1% opened.").isEmpty)
        #expect(figures.unsupportedNumbers(in: "About 43% opened, up 17 points.") == [43, 17])
    }

    @Test("summary: the model's words are used when every number is a figure, else the deterministic text")
    func summaries() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        let honest =
            "Diwali 2026 reached 1,000 customers and 98 % were sent. The open rate of 42.1 % beats the "
            + "25 % of earlier campaigns; 20 messages failed, mostly for invalid numbers."
        let invented = "Diwali 2026 reached 1,000 customers with a 45 % open rate, 3 times the usual."
        server.script(
            .content("{\"summary\": \(String(reflecting: honest))}"),
            .content("{\"summary\": \(String(reflecting: invented))}"))
        let logs = CapturingLogHandler.Store()
        let writer = SummaryWriter(client: Self.client(server, logs: logs))
        let figures = Self.campaignFigures()
        let worded = await writer.summary(figures)
        #expect(worded.source == "llm" && worded.text == honest)
        #expect(!server.received[0].body.contains("Hi"), "the template (customer-facing text) is not sent")
        let checked = await writer.summary(figures)
        #expect(checked.source == "offline" && checked.text == figures.text)
        #expect(checked.fallbackReason?.contains("45, 3") == true, "\(checked.fallbackReason ?? "")")
        #expect(logs.records.contains { $0.level == .warning && $0.metadata["numbers"] == "45, 3" })
    }
}
