import Campaigns
import EventLog
import Events
import Foundation
import Hummingbird
import Projections
import Segments

/// The reads the dashboard needs beyond the resource endpoints: the overview with the daily revenue read model, a
/// customer's segments, messages and one timeline event's payload, a template rendered for sample customers, and a
/// campaign's delivery over time. Plain `/api/v1` JSON like every other route: any client may use them.
extension CohortAPI {
    var dashboardRoutes: [Route] {
        [
            Route(
                method: .get, path: Self.prefix + "/overview", scope: .read,
                summary: "Customers, revenue and its daily trend, active campaigns, projector lag, ingest rate",
                handler: { request, _ in try overview(request) }),
            Route(
                method: .get, path: Self.prefix + "/customers/{id}/segments", scope: .read,
                summary: "The saved segments a customer is in at as_of",
                handler: { request, context in try customerSegments(request, context) }),
            Route(
                method: .get, path: Self.prefix + "/customers/{id}/messages", scope: .read,
                summary: "The campaign messages sent to a customer, most recent campaign first",
                handler: { _, context in try customerMessages(context) }),
            Route(
                method: .get, path: Self.prefix + "/customers/{id}/event", scope: .read,
                summary: "One event of a customer's timeline as stored in the log (topic, partition, offset)",
                handler: { request, context in try await timelineEvent(request, context) }),
            Route(
                method: .post, path: Self.prefix + "/campaigns/preview", scope: .read,
                summary: "A template rendered for sample customers of an audience, with its variables and length",
                handler: { request, _ in try await previewTemplate(request) }),
            Route(
                method: .get, path: Self.prefix + "/campaigns/{id}/delivery", scope: .read,
                summary: "A campaign's messages sent, failed and delivered per minute",
                handler: { _, context in try deliveryOverTime(context) }),
        ]
    }

    static let dailyDaysMax = 366

    private func overview(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var days = 30
        if let text = query["days"] {
            guard let value = Int(text), (1...Self.dailyDaysMax).contains(value) else {
                throw Problem.unprocessable(
                    "days must be 1–\(Self.dailyDaysMax)", errors: [("/days", "not an integer 1–\(Self.dailyDaysMax)")])
            }
            days = value
        }
        let today = DailyFigures.day(of: Self.now())
        let first = today - Int64(days) + 1
        var byDay: [Int64: DailyFigures] = [:]
        for (day, figures) in try dependencies.store.daily(from: first, through: today) { byDay[day] = figures }
        let daily: [JSONValue] = (first...today).map { day in
            let figures = byDay[day] ?? DailyFigures()
            return .object(
                JSONObject([
                    ("day", .string(String(Timestamp(microseconds: day * 86_400_000_000).description.prefix(10)))),
                    ("revenue", Self.money(Money(units: figures.revenueUnits))),
                    ("orders", .number(JSONNumber(figures.orders))),
                ]))
        }
        let totals = dependencies.index.totals
        var active: [JSONValue] = []
        let campaigns = try dependencies.store.allCampaigns()
        for campaign in campaigns where [.running, .paused].contains(campaign.status) {
            let stats = try dependencies.store.stats(ofCampaign: campaign.campaignID)
            active.append(
                .object(
                    JSONObject([
                        ("campaign_id", .string(campaign.campaignID)), ("name", .string(campaign.name)),
                        ("status", .string(campaign.status.rawValue)), ("audience", Self.number(stats.queued)),
                        ("sent", Self.number(stats.sent)), ("failed", Self.number(stats.failed)),
                        ("pending", Self.number(stats.pending)), ("delivered", Self.number(stats.delivered)),
                    ])))
        }
        for progress in dependencies.launches.all() where progress.state == .appending {
            guard !active.contains(where: { $0.objectValue?["campaign_id"]?.stringValue == progress.campaignID })
            else { continue }
            active.append(
                .object(
                    JSONObject([
                        ("campaign_id", .string(progress.campaignID)),
                        ("name", .string(campaigns.first { $0.campaignID == progress.campaignID }?.name ?? "")),
                        ("status", .string("launching")), ("audience", Self.number(progress.audience)),
                        ("sent", Self.number(0)), ("failed", Self.number(0)), ("pending", Self.number(0)),
                        ("delivered", Self.number(0)),
                    ])))
        }
        let folded = try dependencies.store.counter(.events)
        let lag = dependencies.projector?.lag()
        return Self.json(
            .object(
                JSONObject([
                    ("customers", Self.number(dependencies.index.customerCount)),
                    ("revenue", Self.money(Money(units: totals.spendUnits))),
                    ("orders", .number(JSONNumber(totals.orders))),
                    ("currency", .string(dependencies.configuration.currency)),
                    ("daily", .array(daily)),
                    ("campaigns", Self.number(campaigns.count)),
                    ("active_campaigns", .array(active)),
                    (
                        "projector",
                        .object(
                            JSONObject([
                                ("running", .bool(lag != nil)),
                                ("lag", lag.map { .number(JSONNumber($0.values.reduce(0, +))) } ?? .null),
                            ]))
                    ),
                    (
                        "ingest",
                        .object(
                            JSONObject([
                                ("events_folded", .number(JSONNumber(folded))),
                                ("events_per_second", .number(JSONNumber(dependencies.foldRate.rate(total: folded)))),
                            ]))
                    ),
                    ("dead_letters", .number(JSONNumber(try dependencies.store.counter(.deadLetters)))),
                ])))
    }

    static func number(_ value: Int) -> JSONValue { .number(JSONNumber(Int64(value))) }
    static func money(_ value: Money) -> JSONValue { .number(JSONNumber(lexeme: value.description)!) }

    private func liveCustomer(_ context: CohortRequestContext) throws -> CustomerState {
        let id = try context.parameters.require("id")
        guard let state = try dependencies.store.customer(id), !state.isErased else {
            throw Problem.notFound("no customer \"\(id)\"")
        }
        return state
    }

    private func customerSegments(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let customer = try liveCustomer(context)
        let asOf = try Self.asOf(request.uri.queryParameters["as_of"].map(String.init))
        var items: [JSONValue] = []
        for segment in try dependencies.store.savedSegments() {
            guard let rule = try? ruleDecoder.decode(text: segment.rulesJSON),
                RuleExplainer.explain(rule, customer: customer, asOf: asOf).matches
            else { continue }
            items.append(
                .object(JSONObject([("segment_id", .string(segment.segmentID)), ("name", .string(segment.name))])))
        }
        return Self.json(.object(JSONObject([("segments", .array(items)), ("as_of", .string(asOf.description))])))
    }

    private func customerMessages(_ context: CohortRequestContext) throws -> Response {
        let customer = try liveCustomer(context)
        let campaigns = try dependencies.store.allCampaigns()
        let found = try dependencies.store.messages(
            withIDs: campaigns.map { "\($0.campaignID):\(customer.customerID)" })
        var items: [JSONValue] = []
        for campaign in campaigns {
            guard let message = found["\(campaign.campaignID):\(customer.customerID)"] else { continue }
            items.append(
                .object(
                    JSONObject([
                        ("message_id", .string(message.messageID)), ("campaign_id", .string(campaign.campaignID)),
                        ("campaign", .string(campaign.name)), ("channel", message.channel.map { .string($0) } ?? .null),
                        ("body", message.body.map { .string($0) } ?? .null),
                        ("status", .string(message.delivery.rawValue)),
                        ("receipts", .array(message.receipts.map { .string($0) })),
                        ("at", message.history.last.map { .string($0.at.description) } ?? .null),
                    ])))
        }
        return Self.json(.object(JSONObject([("messages", .array(items))])))
    }

    /// The record at a timeline entry's position, as its CloudEvent; only an event of this customer (keyed by them,
    /// or a message event naming them).
    private func timelineEvent(_ request: Request, _ context: CohortRequestContext) async throws -> Response {
        let customer = try liveCustomer(context)
        let query = request.uri.queryParameters
        guard let topic = query["topic"].map(String.init), let partition = query["partition"].flatMap({ Int32($0) }),
            let offset = query["offset"].flatMap({ Int64($0) }), offset >= 0
        else {
            throw Problem.unprocessable(
                "topic, partition and offset are required (a timeline entry's position)",
                errors: [("/topic", "required"), ("/partition", "integer"), ("/offset", "integer ≥ 0")])
        }
        guard EventStream.allCases.contains(where: { dependencies.configuration.topic($0.defaultTopic) == topic })
        else {
            throw Problem.unprocessable(
                "\(topic) is not one of this deployment's topics", errors: [("/topic", "unknown")])
        }
        let position = TopicPartition(topic: topic, partition: partition)
        let record: LogRecord?
        do {
            let reader = try await dependencies.log.makeReader(startingAt: [position: offset])
            record = try await reader.poll(maxRecords: 1, timeoutMs: 1_000).first { $0.offset == offset }
            await reader.close()
        } catch {
            throw Problem.notFound("no record at \(topic)/\(partition)/\(offset): \(error)")
        }
        guard let record else {
            throw Problem.notFound("no event at \(topic)/\(partition)/\(offset)")
        }
        let headers = record.headers.map { (name: $0.name, value: $0.value) }
        var event: JSONValue?
        if CloudEvent.isBinaryMode(headers: headers) {
            if case .success(let decoded) = CloudEvent.decode(binaryHeaders: headers, value: record.value) {
                event = .object(decoded.envelope)
            }
        } else {
            event = try? JSONParser.parse(record.value)
        }
        // The customer's own events are keyed by their id; message events name them in `data.customer_id`.
        let key = record.key.map { String(decoding: $0, as: UTF8.self) }
        let named = event?.objectValue?["data"]?.objectValue?["customer_id"]?.stringValue
        guard let event, key == customer.customerID || named == customer.customerID else {
            throw Problem.notFound("no event of \"\(customer.customerID)\" at \(topic)/\(partition)/\(offset)")
        }
        return Self.json(event)
    }

    private func previewTemplate(_ request: Request) async throws -> Response {
        let object = try await objectBody(request)
        guard let text = object["template"]?.stringValue else {
            throw Problem.unprocessable("template is required", errors: [("/template", "required string")])
        }
        let template: MessageTemplate
        do { template = try MessageTemplate(text) } catch {
            throw Problem.unprocessable("template: \(error.description)", errors: [("/template", error.description)])
        }
        let sampleSize = try Self.sampleSize(object["sample"])
        let asOf = try Self.asOf(object["as_of"]?.stringValue)
        let channel = object["channel"]?.stringValue ?? "email"
        var sample: [String] = []
        var audience: Int?
        if let rule = try audienceRule(in: object) {
            let preview = dependencies.index.preview(rule, asOf: asOf, sampleSize: sampleSize)
            (audience, sample) = (preview.count, preview.sample)
        }
        let previews: [JSONValue] = try sample.compactMap { id in
            guard let customer = try dependencies.store.customer(id), !customer.isErased else { return nil }
            let body = template.render(customer)
            return .object(
                JSONObject([
                    ("customer_id", .string(id)), ("name", customer.name.map { .string($0) } ?? .null),
                    ("to", (channel == "email" ? customer.email : customer.phone).map { .string($0) } ?? .null),
                    ("body", .string(body)), ("length", Self.number(body.count)),
                ]))
        }
        return Self.json(
            .object(
                JSONObject([
                    ("variables", .array(template.variableNames.map { .string($0) })),
                    ("known_variables", .array(MessageTemplate.variables.map { .string($0) })),
                    ("audience", audience.map(Self.number) ?? .null), ("previews", .array(previews)),
                ])))
    }

    /// The delivery read model of a campaign: per minute, the messages sent, failed and delivered then.
    private func deliveryOverTime(_ context: CohortRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        guard try dependencies.store.campaign(id) != nil else { throw Problem.notFound("no campaign \"\(id)\"") }
        let series: [JSONValue] = try dependencies.store.deliveryMinutes(ofCampaign: id).map { minute, figures in
            .object(
                JSONObject([
                    ("minute", .string(Timestamp(microseconds: minute * 60_000_000).description)),
                    ("sent", .number(JSONNumber(figures.sent))), ("failed", .number(JSONNumber(figures.failed))),
                    ("delivered", .number(JSONNumber(figures.delivered))),
                ]))
        }
        return Self.json(.object(JSONObject([("minutes", .array(series))])))
    }
}
