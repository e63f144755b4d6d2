import Campaigns
import Crypto
import EventLog
import Events
import Foundation
import Hummingbird
import Projections
import Segments

/// Campaigns (SPEC §6, §7): create, launch, pause/resume/cancel, retry-failed, list, get, messages, summary; and
/// the vendor's signed receipts webhook.
extension CohortAPI {
    var campaignRoutes: [Route] {
        let base = Self.prefix + "/campaigns"
        return [
            Route(
                method: .post, path: base, scope: .campaigns,
                summary: "Create a campaign (template checked, saved segment or inline rules)",
                handler: { request, context in try await createCampaign(request, context) }),
            Route(
                method: .get, path: base, scope: .read, summary: "Campaigns, most recent first, with stats",
                handler: { _, _ in try listCampaigns() }),
            Route(
                method: .get, path: base + "/{id}", scope: .read, summary: "One campaign with its stats",
                handler: { _, context in try getCampaign(context) }),
            Route(
                method: .post, path: base + "/{id}/launch", scope: .campaigns,
                summary: "Snapshot the audience and queue one personalised message per recipient",
                handler: { request, context in try await launch(request, context) }),
            Route(
                method: .post, path: base + "/{id}/pause", scope: .campaigns, summary: "Pause sending",
                handler: { _, context in try await transition(context, .campaignPaused) }),
            Route(
                method: .post, path: base + "/{id}/resume", scope: .campaigns, summary: "Resume sending",
                handler: { _, context in try await transition(context, .campaignResumed) }),
            Route(
                method: .post, path: base + "/{id}/cancel", scope: .campaigns, summary: "Cancel the campaign",
                handler: { _, context in try await transition(context, .campaignCancelled) }),
            Route(
                method: .post, path: base + "/{id}/retry-failed", scope: .campaigns,
                summary: "Re-queue only the failed messages",
                handler: { _, context in try await retryFailed(context) }),
            Route(
                method: .get, path: base + "/{id}/messages", scope: .read,
                summary: "The communication log of a campaign, by status, cursor paging",
                handler: { request, context in try messages(request, context) }),
            Route(
                method: .get, path: base + "/{id}/summary", scope: .read,
                summary: "How the campaign performed: computed figures and a summary stating only them",
                handler: { _, context in try await campaignSummary(try campaign(context)) }),
            Route(
                method: .post, path: Self.prefix + "/receipts", scope: nil,
                summary: "Vendor receipts webhook (HMAC-signed; single or batch)",
                handler: { request, _ in try await receipts(request) }
            ).doing(.ingest),
        ]
    }

    func campaign(_ context: CohortRequestContext) throws -> CampaignState {
        let id = try context.parameters.require("id")
        guard let campaign = try dependencies.store.campaign(id) else {
            throw Problem.notFound("no campaign \"\(id)\"")
        }
        return campaign
    }

    private static func problem(_ problem: CampaignPlanner.Problem) -> Problem {
        problem.isConflict
            ? Problem(.conflict, "Conflict", detail: problem.message)
            : Problem.unprocessable(
                (problem.pointer.isEmpty ? "" : problem.pointer + ": ") + problem.message,
                errors: [(problem.pointer, problem.message)])
    }

    /// Large launches go in slices of 5,000, each durable before the next; repeating a launch cut short is safe.
    private func append(_ events: [CloudEvent]) async throws {
        for start in stride(from: 0, to: events.count, by: 5_000) {
            try await appendDurably(events[start..<min(events.count, start + 5_000)])
        }
    }

    private func createCampaign(_ request: Request, _ context: CohortRequestContext) async throws -> Response {
        let body = try await objectBody(request)
        let id = body["campaign_id"]?.stringValue ?? "cmp_" + UUID().uuidString.lowercased().prefix(12)
        guard (1...128).contains(id.utf8.count), !id.contains(":"), !id.contains("#") else {
            throw Problem.unprocessable(
                "campaign_id: 1–128 bytes, without ':' or '#'", errors: [("/campaign_id", "invalid")])
        }
        guard try dependencies.store.campaign(id) == nil else {
            throw Problem(.conflict, "Conflict", detail: "campaign \"\(id)\" exists")
        }
        let event: CloudEvent
        do {
            event = try CampaignPlanner.create(
                body, decoder: RuleDecoder(conditionsMax: dependencies.configuration.ruleConditionsMax),
                store: dependencies.store, now: Self.now(), id: id, actor: context.actor)
        } catch { throw Self.problem(error) }
        try await append([event])
        return Self.json(
            .object(JSONObject([("campaign_id", .string(id)), ("status", .string("draft"))])), status: .accepted)
    }

    private func listCampaigns() throws -> Response {
        let items = try dependencies.store.allCampaigns().map { try view($0) }
        return Self.json(.object(JSONObject([("campaigns", .array(items))])))
    }

    private func getCampaign(_ context: CohortRequestContext) throws -> Response {
        Self.json(try view(try campaign(context)))
    }

    private func view(_ campaign: CampaignState) throws -> JSONValue {
        let stats = try dependencies.store.stats(ofCampaign: campaign.campaignID)
        func number(_ value: Int) -> JSONValue { .number(JSONNumber(Int64(value))) }
        func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.description) } ?? .null }
        return .object(
            JSONObject([
                ("campaign_id", .string(campaign.campaignID)), ("name", .string(campaign.name)),
                ("status", .string(campaign.status.rawValue)), ("channel", .string(campaign.channel)),
                ("template", .string(campaign.template)),
                ("segment_id", campaign.segmentID.map { .string($0) } ?? .null),
                ("created_at", time(campaign.createdAt)), ("launched_at", time(campaign.launchedAt)),
                ("finished_at", time(campaign.finishedAt)), ("audience_as_of", time(campaign.audienceAsOf)),
                ("launch", Self.launchJSON(dependencies.launches.progress(campaign.campaignID))),
                (
                    "audit",
                    .array(
                        campaign.audit.map {
                            .object(
                                JSONObject([
                                    ("action", .string($0.action)), ("actor", .string($0.actor)),
                                    ("at", .string($0.at.description)),
                                ]))
                        })
                ),
                (
                    "stats",
                    .object(
                        JSONObject([
                            ("audience", number(stats.queued)), ("queued", number(stats.queued)),
                            ("sent", number(stats.sent)), ("failed", number(stats.failed)),
                            ("pending", number(stats.pending)), ("delivered", number(stats.delivered)),
                            ("bounced", number(stats.bounced)), ("opened", number(stats.opened)),
                            ("clicked", number(stats.clicked)),
                            ("unmatched_receipts", number(stats.unmatchedReceipts)),
                        ]))
                ),
            ]))
    }

    /// Accepts a launch at once: `crm.campaign.launching` (the audience fixed) is made durable, then the messages are
    /// appended in the background (`LaunchTracker`); the answer carries the audience and the launch's progress,
    /// which `GET /campaigns/{id}` reports too. A launch already appending here answers with its progress; a
    /// campaign left launching by a node that stopped is resumed with its fixed audience; a finished launch leaves
    /// a running campaign (409 again).
    private func launch(_ request: Request, _ context: CohortRequestContext) async throws -> Response {
        let campaign = try campaign(context)
        let bytes = try await body(request)
        var asOf = campaign.audienceAsOf ?? Self.now()
        if campaign.status == .draft, !bytes.isEmpty, case .object(let object) = try? JSONParser.parse(bytes),
            let text = object["audience_as_of"]
        {
            asOf = try Self.asOf(text.stringValue ?? "")
        }
        if let progress = dependencies.launches.progress(campaign.campaignID), progress.state == .appending {
            return Self.json(launchAnswer(campaign.campaignID, asOf: asOf, progress), status: .accepted)
        }
        let rule: Rule
        let audience: Int
        do {
            rule = try CampaignPlanner.rule(of: campaign, store: dependencies.store, decoder: ruleDecoder)
            audience = try CampaignPlanner.checkLaunch(
                campaign, rule: rule, index: dependencies.index, asOf: asOf,
                audienceMax: dependencies.configuration.audienceMax)
            if campaign.status == .draft {
                try await append([
                    CampaignPlanner.launching(
                        campaign, asOf: asOf, audience: audience, now: Self.now(), actor: context.actor)
                ])
            }
        } catch let problem as CampaignPlanner.Problem { throw Self.problem(problem) }
        startLaunch(campaign, rule: rule, asOf: asOf, audience: audience, actor: context.actor)
        return Self.json(
            launchAnswer(campaign.campaignID, asOf: asOf, dependencies.launches.progress(campaign.campaignID)),
            status: .accepted)
    }

    /// Starts appending a launch's messages in the background, unless this node is at it already.
    private func startLaunch(_ campaign: CampaignState, rule: Rule, asOf: Timestamp, audience: Int, actor: String?) {
        guard dependencies.launches.start(campaign.campaignID, audience: audience) else { return }
        let api = self
        Task.detached { @Sendable in await api.appendLaunch(campaign, rule: rule, asOf: asOf, actor: actor) }
    }

    /// Resumes every launch a stopped node left under way (campaigns `launching`), with the audience its
    /// `crm.campaign.launching` fixed: called once the projector has caught up. Messages already queued fold once.
    public func resumeLaunches() {
        for campaign in (try? dependencies.store.allCampaigns()) ?? [] where campaign.status == .launching {
            guard let rule = try? CampaignPlanner.rule(of: campaign, store: dependencies.store, decoder: ruleDecoder)
            else { continue }
            dependencies.logger.info("resuming a launch", metadata: ["campaign": "\(campaign.campaignID)"])
            startLaunch(
                campaign, rule: rule, asOf: campaign.audienceAsOf ?? Self.now(), audience: Int(campaign.audience ?? 0),
                actor: nil)
        }
    }

    private func launchAnswer(_ id: String, asOf: Timestamp, _ progress: LaunchTracker.Progress?) -> JSONValue {
        .object(
            JSONObject([
                ("campaign_id", .string(id)), ("audience", Self.number(progress?.audience ?? 0)),
                ("audience_as_of", .string(asOf.description)), ("launch", Self.launchJSON(progress)),
            ]))
    }

    static func launchJSON(_ progress: LaunchTracker.Progress?) -> JSONValue {
        guard let progress else { return .null }
        return .object(
            JSONObject([
                ("state", .string(progress.state.rawValue)), ("audience", number(progress.audience)),
                ("appended", number(progress.appended)), ("error", progress.error.map { .string($0) } ?? .null),
            ]))
    }

    /// Plans the launch's messages and appends them in durable slices, reporting each to the tracker.
    private func appendLaunch(_ campaign: CampaignState, rule: Rule, asOf: Timestamp, actor: String?) async {
        let id = campaign.campaignID
        do {
            let events = try CampaignPlanner.launch(
                campaign, rule: rule, index: dependencies.index, store: dependencies.store, asOf: asOf, now: Self.now(),
                audienceMax: dependencies.configuration.audienceMax, actor: actor)
            dependencies.launches.update(id) { $0.audience = events.count - 1 }
            for start in stride(from: 0, to: events.count, by: 5_000) {
                let end = min(events.count, start + 5_000)
                try await appendDurably(events[start..<end])
                dependencies.launches.update(id) { $0.appended = min(end, events.count - 1) }
            }
            dependencies.launches.update(id) { $0.state = .done }
        } catch {
            let message = (error as? Problem)?.detail ?? (error as? CampaignPlanner.Problem)?.message ?? "\(error)"
            dependencies.logger.error("launch failed", metadata: ["campaign": "\(id)", "error": "\(message)"])
            dependencies.launches.update(id) {
                $0.state = .failed
                $0.error = message
            }
        }
    }

    private func transition(_ context: CohortRequestContext, _ type: EventType) async throws -> Response {
        let campaign = try campaign(context)
        let event: CloudEvent
        do { event = try CampaignPlanner.transition(campaign, to: type, now: Self.now(), actor: context.actor) } catch {
            throw Self.problem(error)
        }
        try await append([event])
        return Self.json(.object(JSONObject([("campaign_id", .string(campaign.campaignID))])), status: .accepted)
    }

    private func retryFailed(_ context: CohortRequestContext) async throws -> Response {
        let campaign = try campaign(context)
        let events: [CloudEvent]
        do {
            events = try CampaignPlanner.retryFailed(
                campaign, store: dependencies.store, now: Self.now(), actor: context.actor)
        } catch {
            throw Self.problem(error)
        }
        try await append(events)
        return Self.json(
            .object(
                JSONObject([
                    ("campaign_id", .string(campaign.campaignID)),
                    ("requeued", .number(JSONNumber(Int64(events.count)))),
                ])), status: .accepted)
    }

    private func messages(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let campaign = try campaign(context)
        let query = request.uri.queryParameters
        var delivery: MessageState.Delivery?
        if let status = query["status"] {
            guard let parsed = MessageState.Delivery(rawValue: String(status)) else {
                throw Problem.unprocessable("status must be queued, sent or failed", errors: [("/status", "unknown")])
            }
            delivery = parsed
        }
        let page = try dependencies.store.messages(
            ofCampaign: campaign.campaignID, delivery: delivery, after: query["cursor"].map(String.init),
            limit: try pageSize(request))
        let items: [JSONValue] = page.messages.map { message in
            .object(
                JSONObject([
                    ("message_id", .string(message.messageID)),
                    ("customer_id", message.customerID.map { .string($0) } ?? .null),
                    ("to", message.to.map { .string($0) } ?? .null),
                    ("body", message.body.map { .string($0) } ?? .null),
                    ("status", .string(message.delivery.rawValue)),
                    ("attempts", .number(JSONNumber(Int64(message.attempts)))),
                    ("receipts", .array(message.receipts.map { .string($0) })),
                    (
                        "history",
                        .array(
                            message.history.map { step in
                                .object(
                                    JSONObject([
                                        ("status", .string(step.status)), ("at", .string(step.at.description)),
                                        ("reason", step.reason.map { .string($0) } ?? .null),
                                    ]))
                            })
                    ),
                ]))
        }
        return Self.json(
            .object(JSONObject([("messages", .array(items)), ("next", page.next.map { .string($0) } ?? .null)])))
    }

    /// Verifies the signature over the raw body, then appends one receipt event per (message, status): repeats
    /// carry the same event id, so each receipt counts once.
    private func receipts(_ request: Request) async throws -> Response {
        // Any declared media type: senders label JSON notifications variously (Amazon SNS says text/plain), and the
        // signature, not the label, says where a body comes from.
        let bytes = try await body(request, accepting: nil)
        let expected =
            "sha256="
            + APIKeyStore.hex(
                Array(
                    HMAC<SHA256>.authenticationCode(
                        for: bytes, using: SymmetricKey(data: Array(dependencies.configuration.receiptsSecret.utf8)))))
        guard let given = request.headers[.init("X-Cohort-Signature")!],
            Self.constantTimeEqual(Array(given.utf8), Array(expected.utf8))
        else {
            throw Problem(.unauthorized, "Unauthorized", detail: "missing or wrong X-Cohort-Signature")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw Problem.badRequest("malformed JSON: \(error)") }
        let items: [JSONValue]
        switch value {
        case .object(let object):
            if case .array(let list) = object["receipts"] { items = list } else { items = [value] }
        case .array(let list): items = list
        default: throw Problem.unprocessable("expected a receipt or {\"receipts\": [...]}")
        }
        try checkReceiptCount(items.count)
        var events: [CloudEvent] = []
        var problems: [(pointer: String, message: String)] = []
        let now = Self.now()
        for (index, item) in items.enumerated() {
            guard let object = item.objectValue, let key = object["message_id"]?.stringValue,
                let status = object["status"]?.stringValue,
                ["delivered", "failed", "bounced", "opened", "clicked"].contains(status)
            else {
                problems.append(
                    ("/\(index)", "needs message_id and a status of delivered, failed, bounced, opened, clicked"))
                continue
            }
            // The vendor knows the idempotency key (message id#generation); the message id is before the '#'. A
            // receipt is a fact whatever the read models know yet: its campaign and customer are in its message id
            // (`campaign_id:customer_id`), and the fold keeps it until the message appears.
            let messageID = String(key.split(separator: "#", omittingEmptySubsequences: false).first ?? "")
            guard let colon = messageID.firstIndex(of: ":"), colon != messageID.startIndex,
                messageID.index(after: colon) != messageID.endIndex
            else {
                problems.append(
                    ("/\(index)/message_id", "a message id is campaign_id:customer_id, got \"\(messageID)\""))
                continue
            }
            var data: [(String, JSONValue)] = [
                ("message_id", .string(messageID)), ("campaign_id", .string(String(messageID[..<colon]))),
                ("customer_id", .string(String(messageID[messageID.index(after: colon)...]))),
                ("status", .string(status)),
            ]
            if let at = object["at"]?.stringValue, Timestamp(rfc3339: at) != nil { data.append(("at", .string(at))) }
            switch CloudEvent.make(
                id: "\(messageID):receipt:\(status)", source: "vendor-receipts", type: .messageReceipt, time: now,
                data: JSONObject(data))
            {
            case .success(let event): events.append(event)
            case .failure(let error): problems.append(("/\(index)", error.description))
            }
        }
        guard problems.isEmpty else {
            throw Problem.unprocessable("the receipts were rejected whole: \(problems[0].message)", errors: problems)
        }
        try await append(events)
        return Self.json(
            .object(JSONObject([("accepted", .number(JSONNumber(Int64(events.count))))])), status: .accepted)
    }

    private func checkReceiptCount(_ count: Int) throws {
        guard count <= dependencies.configuration.batchEventsMax else {
            throw Problem.tooLarge("\(count) receipts exceed limits.batch_events_max")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
