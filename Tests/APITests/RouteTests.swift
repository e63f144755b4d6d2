import API
import CohortConfig
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Testing

/// Every route of the OpenAPI table driven in process through `buildApplication`: its success, its problem+json
/// refusals, and its scope.
@Suite("routes in process")
struct RouteTests {
    /// A concrete URI for a path of the spec (`{id}` → `x`).
    static func uri(_ path: String) -> String { path.replacingOccurrences(of: "{id}", with: "x") }

    /// The only operations anyone may call: health, readiness, the API description, the signed receipts webhook,
    /// and the sign-in steps (which check what they are given themselves; who-am-I answers 401 to nobody).
    static let openOperations: Set<String> = [
        "GET /healthz", "GET /readyz", "GET /openapi.yaml", "GET /docs", "POST /api/v1/receipts", "GET /auth/login",
        "GET /auth/callback", "GET /auth/link", "POST /auth/logout", "GET /auth/me",
    ]

    /// A scope a key may hold that is not enough for a route needing `scope`.
    static func other(than scope: Scope) -> Scope { scope == .read ? .ingest : .read }

    @Test("every scoped route refuses anonymous callers (401) and keys without its scope (403); admin passes")
    func scopesAreEnforcedOnEveryRoute() async throws {
        let operations = try OpenAPICoverageTests.specOperations()
        #expect(operations.count >= 30)
        try await InProcessNode().run { node in
            for (operation, scopeName) in operations {
                let parts = operation.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(rawValue: String(parts[0]))!
                let uri = Self.uri(String(parts[1]))
                guard let scopeName, let scope = Scope(rawValue: scopeName) else {
                    #expect(Self.openOperations.contains(operation), "\(operation) is open but not meant to be")
                    let open = try await node.request(method, uri)
                    if operation == "GET /auth/me" {
                        #expect(open.status == 401, "who-am-I refuses anonymous callers")
                    } else {
                        #expect(open.status != 403, "\(operation) is open but answered 403")
                    }
                    continue
                }
                let anonymous = try await node.request(method, uri, json: method == .get ? nil : "{}")
                #expect(anonymous.status == 401 && anonymous.isProblem, "\(operation) anonymous: \(anonymous.text)")
                #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(operation)")
                let forged = try await node.request(
                    method, uri, json: method == .get ? nil : "{}",
                    headers: [.authorization: "Bearer ck_" + String(repeating: "0", count: 48)])
                #expect(forged.status == 401 && forged.text.contains("not valid"), "\(operation) forged")
                let unscoped = try await node.request(
                    method, uri, as: Self.other(than: scope), json: method == .get ? nil : "{}")
                #expect(unscoped.status == 403 && unscoped.isProblem, "\(operation) without \(scope): \(unscoped.text)")
                #expect(unscoped.text.contains(scope.rawValue), "\(operation): the 403 names the missing scope")
                let admin = try await node.request(method, uri, as: .admin, json: method == .get ? nil : "{}")
                #expect(![401, 403].contains(admin.status), "\(operation) refused admin: \(admin.text)")
                let holder = try await node.request(method, uri, as: scope, json: method == .get ? nil : "{}")
                #expect(![401, 403].contains(holder.status), "\(operation) refused its own scope: \(holder.text)")
            }
        }
    }

    @Test("ops routes: health names the authenticator, readiness, metrics, the OpenAPI document and the docs page")
    func opsRoutes() async throws {
        try await InProcessNode().run { node in
            let health = try await node.request(.get, "/healthz")
            #expect(health.status == 200 && health.json["auth"] as? String == "session+api-keys")
            #expect(try await node.eventually { try await node.request(.get, "/readyz").status == 200 })
            let metrics = try await node.request(.get, "/metrics", as: .read)
            #expect(metrics.status == 200 && metrics.text.contains("cohort_events_folded"))
            let spec = try await node.request(.get, "/openapi.yaml")
            #expect(spec.status == 200 && spec.text.hasPrefix("openapi: 3.1"), "\(spec.text.prefix(40))")
            let docs = try await node.request(.get, "/docs")
            #expect(docs.status == 200 && docs.text.contains("/api/v1/segments/preview"))
            let missing = try await node.request(.get, "/api/v1/nothing-here", as: .admin)
            #expect(missing.status == 404)
        }
    }

    @Test("ingest routes accept valid events (202, ids) and refuse bad ones whole with a pointer")
    func ingestRoutes() async throws {
        try await InProcessNode().run { node in
            let event = """
                {"specversion":"1.0","id":"e-1","source":"/t","type":"crm.customer.upserted",\
                "data":{"customer_id":"c-1","name":"Asha","city":"Pune"}}
                """
            let accepted = try await node.request(.post, "/api/v1/events", as: .ingest, json: event)
            #expect(accepted.status == 202 && accepted.json["ids"] as? [String] == ["e-1"], "\(accepted.text)")
            let malformed = try await node.request(.post, "/api/v1/events", as: .ingest, json: "{\"id\": ")
            #expect(malformed.status == 400 && malformed.isProblem && malformed.text.contains("malformed JSON"))
            let invalid = try await node.request(
                .post, "/api/v1/events", as: .ingest,
                json: #"{"specversion":"1.0","id":"e-2","source":"/t","type":"crm.order.placed","data":{}}"#)
            #expect(invalid.status == 422 && invalid.text.contains("/data/order_id"), "\(invalid.text)")

            let customer = try await node.request(
                .post, "/api/v1/customers", as: .ingest, json: #"{"customer_id":"c-2","name":"Ravi"}"#)
            #expect(customer.status == 202, "\(customer.text)")
            let notObject = try await node.request(.post, "/api/v1/customers", as: .ingest, json: "[1]")
            #expect(notObject.status == 422 && notObject.text.contains("/0"), "\(notObject.text)")

            let order = try await node.request(
                .post, "/api/v1/orders", as: .ingest,
                json: #"{"order_id":"o-1","customer_id":"c-1","amount":183.51,"currency":"INR"}"#)
            #expect(order.status == 202, "\(order.text)")
            let noAmount = try await node.request(
                .post, "/api/v1/orders", as: .ingest, json: #"{"order_id":"o-2","customer_id":"c-1"}"#)
            #expect(noAmount.status == 422 && noAmount.text.contains("/amount"), "\(noAmount.text)")
            let otherCurrency = try await node.request(
                .post, "/api/v1/orders", as: .ingest,
                json: #"{"order_id":"o-3","customer_id":"c-1","amount":1,"currency":"USD"}"#)
            #expect(otherCurrency.status == 422 && otherCurrency.text.contains("currency"), "\(otherCurrency.text)")

            let visit = try await node.request(.post, "/api/v1/visits", as: .ingest, json: #"{"customer_id":"c-2"}"#)
            #expect(visit.status == 202, "\(visit.text)")
            let noCustomer = try await node.request(.post, "/api/v1/visits", as: .ingest, json: "{}")
            #expect(noCustomer.status == 422 && noCustomer.text.contains("customer_id"), "\(noCustomer.text)")

            // Only the accepted ones were folded.
            #expect(try await node.eventually { try await node.request(.get, "/readyz").status == 200 })
            let list = try await node.request(.get, "/api/v1/customers", as: .read)
            let ids = (list.json["customers"] as? [[String: Any]])?.compactMap { $0["customer_id"] as? String }
            #expect(ids == ["c-1", "c-2"], "\(list.text)")
        }
    }

    @Test("customer reads: list with filters and paging, one profile, the timeline; 404 and 422 where due")
    func customerRoutes() async throws {
        try await InProcessNode().run { node in
            let batch = """
                [{"customer_id":"a","name":"Asha","city":"Pune"},{"customer_id":"b","name":"Ravi","city":"Delhi"},\
                {"customer_id":"c","name":"Meera","city":"Pune"}]
                """
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: batch).status == 202)
            #expect(
                try await node.request(.post, "/api/v1/visits", as: .ingest, json: #"{"customer_id":"a"}"#).status
                    == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/customers/a", as: .read).json["visit_count"] as? Int == 1
                })
            let pune = try await node.request(.get, "/api/v1/customers?city=pune&limit=1", as: .read)
            #expect(pune.status == 200)
            #expect((pune.json["customers"] as? [[String: Any]])?.first?["customer_id"] as? String == "a")
            let cursor = try #require(pune.json["next"] as? String, "\(pune.text)")
            let next = try await node.request(.get, "/api/v1/customers?city=pune&limit=1&cursor=\(cursor)", as: .read)
            #expect((next.json["customers"] as? [[String: Any]])?.first?["customer_id"] as? String == "c")
            #expect(try await node.request(.get, "/api/v1/customers?limit=0", as: .read).status == 422)
            #expect(try await node.request(.get, "/api/v1/customers?as_of=yesterday", as: .read).status == 422)

            let profile = try await node.request(.get, "/api/v1/customers/a", as: .read)
            #expect(profile.status == 200 && profile.json["name"] as? String == "Asha")
            let unknown = try await node.request(.get, "/api/v1/customers/nobody", as: .read)
            #expect(unknown.status == 404 && unknown.isProblem)

            let timeline = try await node.request(.get, "/api/v1/customers/a/events", as: .read)
            let types = (timeline.json["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
            #expect(types == ["crm.visit.recorded", "crm.customer.upserted"], "\(timeline.text)")
            #expect(try await node.request(.get, "/api/v1/customers/nobody/events", as: .read).status == 404)
        }
    }

    @Test("segments: preview, explain, parse, save, read, replace, members as pages and CSV, delete")
    func segmentRoutes() async throws {
        try await InProcessNode().run { node in
            let batch = """
                [{"customer_id":"a","name":"Asha","city":"Pune"},{"customer_id":"b","name":"Ravi","city":"Delhi"}]
                """
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: batch).status == 202)
            let rule = #"{"field":"city","op":"eq","value":"pune"}"#
            #expect(
                try await node.eventually {
                    try await node.request(.post, "/api/v1/segments/preview", as: .read, json: #"{"rules":\#(rule)}"#)
                        .json["count"] as? Int == 1
                })
            let badRule = try await node.request(
                .post, "/api/v1/segments/preview", as: .read,
                json: #"{"rules":{"field":"city","op":"greaterThan","value":1}}"#)
            #expect(badRule.status == 422 && badRule.text.contains("/rules/op"), "\(badRule.text)")

            let explain = try await node.request(
                .post, "/api/v1/segments/explain", as: .read, json: #"{"rules":\#(rule),"customer_id":"a"}"#)
            #expect(explain.status == 200 && explain.json["matches"] as? Bool == true, "\(explain.text)")
            let explainNobody = try await node.request(
                .post, "/api/v1/segments/explain", as: .read, json: #"{"rules":\#(rule)}"#)
            #expect(explainNobody.status == 422, "\(explainNobody.text)")

            let parse = try await node.request(
                .post, "/api/v1/segments/parse", as: .read, json: #"{"text":"customers in Pune"}"#)
            #expect(parse.status == 200 && parse.text.contains(#""value":"Pune""#), "\(parse.text)")
            #expect(try await node.request(.post, "/api/v1/segments/parse", as: .read, json: "{}").status == 422)

            let save = try await node.request(
                .post, "/api/v1/segments", as: .campaigns,
                json: #"{"segment_id":"pune","name":"Pune","rules":\#(rule)}"#)
            #expect(save.status == 202, "\(save.text)")
            let noName = try await node.request(.post, "/api/v1/segments", as: .campaigns, json: #"{"rules":\#(rule)}"#)
            #expect(noName.status == 422, "\(noName.text)")
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/segments/pune", as: .read).status == 200
                })
            let list = try await node.request(.get, "/api/v1/segments", as: .read)
            #expect(list.status == 200 && list.text.contains("\"pune\""), "\(list.text)")
            #expect(try await node.request(.get, "/api/v1/segments/nothing", as: .read).status == 404)

            let replace = try await node.request(
                .put, "/api/v1/segments/pune", as: .campaigns,
                json: #"{"name":"Pune and Delhi","rules":{"field":"city","op":"in","value":["pune","delhi"]}}"#)
            #expect(replace.status == 202, "\(replace.text)")
            let badReplace = try await node.request(
                .put, "/api/v1/segments/pune", as: .campaigns, json: #"{"name":"x","rules":{"and":[]}}"#)
            #expect(badReplace.status == 422, "\(badReplace.text)")
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/segments/pune", as: .read).text.contains("Pune and Delhi")
                })
            let members = try await node.request(.get, "/api/v1/segments/pune/members", as: .read)
            #expect(members.status == 200 && members.text.contains("\"a\"") && members.text.contains("\"b\""))
            let csv = try await node.request(.get, "/api/v1/segments/pune/members?format=csv", as: .read)
            #expect(
                csv.contentType?.hasPrefix("text/csv") == true
                    && csv.text.split(whereSeparator: \.isNewline).count == 3, "\(csv.text)")
            #expect(try await node.request(.get, "/api/v1/segments/nothing/members", as: .read).status == 404)

            #expect(try await node.request(.delete, "/api/v1/segments/pune", as: .campaigns).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/segments/pune", as: .read).status == 404
                })
            #expect(try await node.request(.delete, "/api/v1/segments/pune", as: .campaigns).status == 404)
        }
    }

    @Test("campaigns: create, list, read, launch, pause, resume, cancel, retry-failed, messages, summary, receipts")
    func campaignRoutes() async throws {
        try await InProcessNode().run { node in
            let batch = #"[{"customer_id":"a","name":"Asha"},{"customer_id":"b","name":"Ravi"}]"#
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: batch).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/customers/b", as: .read).status == 200
                })
            let create = try await node.request(
                .post, "/api/v1/campaigns", as: .campaigns,
                json:
                    #"{"campaign_id":"k","name":"K","template":"Hi {{name|there}}","rules":{"field":"visit_count","op":"gte","value":0}}"#
            )
            #expect(create.status == 202, "\(create.text)")
            let badTemplate = try await node.request(
                .post, "/api/v1/campaigns", as: .campaigns,
                json: #"{"name":"x","template":"Hi {{nickname}}","rules":{"field":"visit_count","op":"gte","value":0}}"#
            )
            #expect(badTemplate.status == 422 && badTemplate.text.contains("nickname"), "\(badTemplate.text)")
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["status"] as? String == "draft"
                })
            #expect(try await node.request(.get, "/api/v1/campaigns", as: .read).text.contains("\"k\""))
            #expect(try await node.request(.get, "/api/v1/campaigns/none", as: .read).status == 404)

            let launch = try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns)
            #expect(launch.status == 202, "\(launch.text)")
            #expect(try await node.request(.post, "/api/v1/campaigns/none/launch", as: .campaigns).status == 404)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["status"] as? String
                        == "running"
                })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns).status == 409)
            #expect(try await node.request(.post, "/api/v1/campaigns/k/resume", as: .campaigns).status == 409)
            #expect(try await node.request(.post, "/api/v1/campaigns/k/pause", as: .campaigns).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["status"] as? String == "paused"
                })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/resume", as: .campaigns).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["status"] as? String
                        == "running"
                })
            let retry = try await node.request(.post, "/api/v1/campaigns/k/retry-failed", as: .campaigns)
            #expect([202, 409].contains(retry.status) && (retry.status == 202 || retry.isProblem), "\(retry.text)")

            let messages = try await node.request(.get, "/api/v1/campaigns/k/messages", as: .read)
            #expect(messages.status == 200 && messages.text.contains("k:a") && messages.text.contains("k:b"))
            #expect(try await node.request(.get, "/api/v1/campaigns/k/messages?status=lost", as: .read).status == 422)
            let summary = try await node.request(.get, "/api/v1/campaigns/k/summary", as: .read)
            #expect(summary.status == 200, "\(summary.text)")
            #expect(try await node.request(.get, "/api/v1/campaigns/none/summary", as: .read).status == 404)

            // The receipts webhook is open but signed.
            let receipt = #"{"message_id":"k:a","status":"delivered"}"#
            let unsigned = try await node.request(.post, "/api/v1/receipts", json: receipt)
            #expect(unsigned.status == 401 && unsigned.isProblem)
            let signed = try await node.request(
                .post, "/api/v1/receipts", json: receipt,
                headers: [HTTPField.Name("X-Cohort-Signature")!: Self.signature(receipt, node: node)])
            #expect(signed.status == 202, "\(signed.text)")
            let badSigned = try await node.request(
                .post, "/api/v1/receipts", json: "[1]",
                headers: [HTTPField.Name("X-Cohort-Signature")!: Self.signature("[1]", node: node)])
            #expect(badSigned.status == 422 && badSigned.isProblem, "\(badSigned.text)")

            #expect(try await node.request(.post, "/api/v1/campaigns/k/cancel", as: .campaigns).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["status"] as? String
                        == "cancelled"
                })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/cancel", as: .campaigns).status == 409)
            // The audit trail: every command above, by the key that asked for it.
            let audited =
                try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["audit"] as? [[String: Any]]
            let actions = audited?.compactMap { $0["action"] as? String } ?? []
            #expect(
                actions.first == "created" && actions.contains("launched") && actions.contains("paused"), "\(actions)")
            #expect(actions.contains("resumed") && actions.last == "cancelled", "\(actions)")
            let campaignsKey = try await node.request(.get, "/auth/me", as: .campaigns).json["id"] as? String ?? "?"
            #expect(audited?.allSatisfy { $0["actor"] as? String == "key:" + campaignsKey } == true, "\(audited ?? [])")
        }
    }

    @Test("a signed receipt is a fact: accepted before or without its message, counted apart until it appears")
    func receiptsAreFacts() async throws {
        try await InProcessNode().run { node in
            let signature = HTTPField.Name("X-Cohort-Signature")!
            // A receipt for a campaign and message nobody has seen yet.
            let early =
                #"{"receipts":[{"message_id":"k:a#1","status":"opened"},{"message_id":"k:zz","status":"delivered"}]}"#
            let accepted = try await node.request(
                .post, "/api/v1/receipts", json: early, headers: [signature: Self.signature(early, node: node)])
            #expect(accepted.status == 202, "\(accepted.text)")
            // Labelled as Amazon SNS labels its notifications: the signature, not the label, decides.
            let plain = #"{"message_id":"k:zz","status":"delivered"}"#
            let labelled = try await node.request(
                .post, "/api/v1/receipts", json: plain,
                headers: [signature: Self.signature(plain, node: node), .contentType: "text/plain; charset=UTF-8"])
            #expect(labelled.status == 202, "\(labelled.text)")
            #expect(
                try await node.request(.post, "/api/v1/customers", as: .ingest, json: #"{"customer_id":"a"}"#).status
                    == 202)
            let create = try await node.request(
                .post, "/api/v1/campaigns", as: .campaigns,
                json:
                    #"{"campaign_id":"k","name":"K","template":"Hi","rules":{"field":"visit_count","op":"gte","value":0}}"#
            )
            #expect(create.status == 202, "\(create.text)")
            func stats() async throws -> [String: Int] {
                try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["stats"] as? [String: Int] ?? [:]
            }
            #expect(try await node.eventually { try await stats()["unmatched_receipts"] == 2 })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns).status == 202)
            // k:a is queued now: its receipt leaves the unmatched count; k:zz never appears and stays there.
            #expect(try await node.eventually { try await stats()["queued"] == 1 })
            let after = try await stats()
            #expect(after["unmatched_receipts"] == 1 && after["opened"] == 0 && after["delivered"] == 0, "\(after)")
            let metrics = try await node.request(.get, "/metrics", as: .read).text
            #expect(metrics.contains("cohort_receipts_unmatched 1"), "\(metrics)")
            let messages = try await node.request(.get, "/api/v1/campaigns/k/messages?status=unmatched", as: .read)
            #expect(messages.status == 200 && messages.text.contains("k:zz") && !messages.text.contains("k:a\""))
        }
    }

    @Test("identifiers refuse control characters (422 with a pointer); unsupported media types get 415")
    func controlCharactersAndMediaTypes() async throws {
        try await InProcessNode().run { node in
            let nul = "\\u0000", tab = "\\t", del = "\u{7F}", c1 = "\u{85}"
            let cases: [(path: String, body: String, pointer: String)] = [
                ("/api/v1/customers", #"{"customer_id":"c\#(nul)d"}"#, "/customer_id"),
                ("/api/v1/customers", #"{"customer_id":"c\#(del)d"}"#, "/customer_id"),
                ("/api/v1/orders", #"{"customer_id":"c","order_id":"o\#(tab)1","amount":1}"#, "/order_id"),
                ("/api/v1/visits", #"{"customer_id":"c\#(c1)d"}"#, "/customer_id"),
                (
                    "/api/v1/events",
                    #"{"specversion":"1.0","id":"e\#(nul)1","source":"/t","type":"crm.visit.recorded","data":{"customer_id":"c"}}"#,
                    "/id"
                ),
                (
                    "/api/v1/events",
                    #"{"specversion":"1.0","id":"e2","source":"/t","type":"crm.campaign.created","data":{"campaign_id":"k\#(nul)","name":"K","template":"Hi","channel":"sms","rules":{"field":"visit_count","op":"gte","value":0}}}"#,
                    "/data/campaign_id"
                ),
                (
                    "/api/v1/events",
                    #"{"specversion":"1.0","id":"e3","source":"/t","type":"crm.message.sent","data":{"message_id":"k:c\#(nul)","campaign_id":"k"}}"#,
                    "/data/message_id"
                ),
            ]
            for (path, body, pointer) in cases {
                let answer = try await node.request(.post, path, as: .ingest, json: body)
                #expect(answer.status == 422 && answer.isProblem, "\(path) \(body): \(answer.text)")
                #expect(answer.text.contains(pointer) && answer.text.contains("control characters"), "\(answer.text)")
            }
            let xml = try await node.request(
                .post, "/api/v1/events", as: .ingest, json: "<event/>", headers: [.contentType: "text/xml"])
            #expect(xml.status == 415 && xml.isProblem, "\(xml.text)")
            #expect(xml.text.contains("application/cloudevents+json") && xml.text.contains("application/x-ndjson"))
            let form = try await node.request(
                .post, "/api/v1/segments/preview", as: .read, json: "rules=x",
                headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == 415 && form.text.contains("application/json"), "\(form.text)")
            let withCharset = try await node.request(
                .post, "/api/v1/visits", as: .ingest, json: #"{"customer_id":"ok"}"#,
                headers: [.contentType: "application/json; charset=utf-8"])
            #expect(withCharset.status == 202, "\(withCharset.text)")
            // Nothing of the refused requests was appended.
            #expect(try await node.eventually { try await node.request(.get, "/readyz").status == 200 })
            let list = try await node.request(.get, "/api/v1/customers", as: .read)
            let ids = (list.json["customers"] as? [[String: Any]])?.compactMap { $0["customer_id"] as? String }
            #expect(ids == ["ok"], "\(list.text)")
        }
    }

    /// The vendor's signature of `body` with the default receipts secret.
    static func signature(_ body: String, node: NodeClient) -> String {
        let secret = CohortConfiguration().receiptsSecret
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }
}
