import API
import CohortConfig
import Foundation
import Logging
import TestSupport
import Testing

/// AI assist through the HTTP API: the field catalogue, words → rules with count and sample, message
/// suggestions and campaign summaries, offline and against a local OpenAI-compatible server.
@Suite("AI assist routes")
struct AssistRouteTests {
    static let key = "sk-live-0d9e8f7a6b5c4d3e-never-logged"

    static let customers = """
        [{"customer_id":"a","name":"Asha Rao","email":"asha@example.com","city":"Pune","tags":["vip"]},
         {"customer_id":"b","name":"Ravi Iyer","email":"ravi@example.com","city":"Delhi"},
         {"customer_id":"c","name":"Meera Das","email":"meera@example.com","city":"Pune"}]
        """
    static let puneRule =
        #"{"rules": {"field": "city", "op": "eq", "value": "Pune"}, "assumptions": [], "unsupported": []}"#

    static func node(_ server: FakeModelServer?, shareSamples: Bool = false) throws -> InProcessNode {
        try InProcessNode { configuration in
            if let server {
                configuration.assistBaseURL = server.baseURL
                configuration.assistModel = "fake-model"
                configuration.assistAPIKey = key
                configuration.assistRetries = 0
                configuration.assistShareSamples = shareSamples
            }
        }
    }

    static func ingest(_ node: NodeClient) async throws {
        #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: customers).status == 202)
        #expect(
            try await node.eventually {
                try await node.request(
                    .post, "/api/v1/segments/preview", as: .read,
                    json: #"{"rules":{"field":"customer_id","op":"exists"}}"#
                ).json["count"] as? Int == 3
            })
    }

    @Test("with a model: rules with count and sample, suggestions, summaries; only aggregates reach the provider")
    func withModel() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        let logs = CapturingLogHandler.Store()
        try await Self.node(server).run(logger: CapturingLogHandler.logger(logs)) { node in
            try await Self.ingest(node)
            let fields = try await node.request(.get, "/api/v1/segments/fields", as: .read)
            #expect(fields.status == 200)
            #expect((fields.json["cities"] as? [String])?.sorted() == ["delhi", "pune"])
            #expect(fields.json["tags"] as? [String] == ["vip"])
            let names = (fields.json["fields"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(names.contains("total_spend") && names.contains("days_inactive"))

            server.script(.content(Self.puneRule))
            let parsed = try await node.request(
                .post, "/api/v1/segments/parse", as: .read, json: #"{"text":"people in Pune"}"#)
            #expect(parsed.status == 200, "\(parsed.text)")
            #expect(parsed.json["source"] as? String == "llm" && parsed.json["partial"] as? Bool == false)
            #expect(parsed.json["count"] as? Int == 2 && (parsed.json["sample"] as? [String])?.sorted() == ["a", "c"])
            #expect((parsed.json["english"] as? String)?.isEmpty == false)
            #expect(parsed.json["fallback_reason"] is NSNull)

            server.script(
                .content(
                    #"{"rules": {"field": "loyalty_tier", "op": "eq", "value": "gold"}, "assumptions": [], "unsupported": []}"#
                ))
            let fallback = try await node.request(
                .post, "/api/v1/segments/parse", as: .read, json: #"{"text":"customers in Pune"}"#)
            #expect(fallback.json["source"] as? String == "offline" && fallback.json["count"] as? Int == 2)
            #expect((fallback.json["fallback_reason"] as? String)?.contains("loyalty_tier") == true, "\(fallback.text)")

            server.script(
                .content(
                    #"{"variants": [{"template": "Hi {{first_name}}, we miss you!"}, {"template": "Come back, {{first_name|friend}}."}]}"#
                ))
            let suggested = try await node.request(
                .post, "/api/v1/assist/messages", as: .campaigns,
                json: #"{"objective":"win back","channel":"sms","rules":{"field":"city","op":"eq","value":"Pune"}}"#)
            #expect(suggested.status == 200 && suggested.json["source"] as? String == "llm", "\(suggested.text)")
            #expect((suggested.json["variants"] as? [[String: Any]])?.count == 2)
            #expect((suggested.json["audience"] as? [String: Any])?["size"] as? Int == 2)
            let noObjective = try await node.request(.post, "/api/v1/assist/messages", as: .campaigns, json: "{}")
            #expect(noObjective.status == 422 && noObjective.isProblem)
            let badChannel = try await node.request(
                .post, "/api/v1/assist/messages", as: .campaigns, json: #"{"objective":"x","channel":"fax"}"#)
            #expect(badChannel.status == 422 && badChannel.text.contains("/channel"), "\(badChannel.text)")

            let create = try await node.request(
                .post, "/api/v1/campaigns", as: .campaigns,
                json:
                    #"{"campaign_id":"k","name":"Monsoon","template":"Hi {{name}}","rules":{"field":"city","op":"eq","value":"Pune"}}"#
            )
            #expect(create.status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).status == 200
                })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns).status == 202)
            #expect(
                try await node.eventually {
                    (try await node.request(.get, "/api/v1/campaigns/k", as: .read).json["stats"] as? [String: Any])?[
                        "queued"] as? Int == 2
                })
            server.script(
                .content(#"{"summary": "Monsoon is running and has queued 2 messages; none sent yet."}"#),
                .content(#"{"summary": "Monsoon reached 2,000 customers with a 30 % open rate."}"#))
            let worded = try await node.request(.get, "/api/v1/campaigns/k/summary", as: .read)
            #expect(worded.json["source"] as? String == "llm", "\(worded.text)")
            #expect((worded.json["figures"] as? [String: Any])?["queued"] as? Int == 2)
            let checked = try await node.request(.get, "/api/v1/campaigns/k/summary", as: .read)
            #expect(checked.json["source"] as? String == "offline", "\(checked.text)")
            #expect((checked.json["fallback_reason"] as? String)?.contains("2000, 30") == true, "\(checked.text)")

            let metrics = try await node.request(.get, "/metrics", as: .read).text
            #expect(metrics.contains(#"cohort_assist_llm_requests_total{helper="rules",outcome="ok"}"#), "\(metrics)")
            #expect(metrics.contains(#"cohort_assist_llm_requests_total{helper="rules",outcome="invalid"}"#))
            #expect(metrics.contains(#"cohort_assist_llm_tokens_total{helper="summary",kind="completion"}"#))
            #expect(metrics.contains("cohort_assist_llm_request_seconds"))
            #expect(metrics.contains(#"cohort_assist_fallbacks_total{helper="summary"}"#))
        }
        // Privacy: the provider saw the catalogue, rules in English and figures; no customer's name or e-mail.
        #expect(server.received.count == 5)
        for request in server.received {
            for secret in ["Asha", "asha@example.com", "Ravi", "Meera", "Rao"] {
                #expect(!request.body.contains(secret), "\(secret) was sent to the provider")
            }
            #expect(request.authorization == "Bearer \(Self.key)")
        }
        #expect(
            server.received[0].messagesText.contains("Known cities: pune, delhi")
                || server.received[0].messagesText.contains("Known cities: delhi, pune"))
        // The key is never logged, whatever happened.
        #expect(logs.records.contains { $0.message.contains("language model") })
        for record in logs.records {
            #expect(
                !record.message.contains(Self.key) && !record.metadata.values.contains { $0.contains(Self.key) },
                "\(record.message) \(record.metadata)")
        }
    }

    @Test("sample first names and cities reach the provider only with assist.llm.share_samples")
    func sharingSamples() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        let variants = #"{"variants": [{"template": "Hi {{first_name}}!"}, {"template": "Hello {{first_name}}."}]}"#
        for share in [false, true] {
            server.script(.content(variants))
            try await Self.node(server, shareSamples: share).run { node in
                try await Self.ingest(node)
                let answer = try await node.request(
                    .post, "/api/v1/assist/messages", as: .campaigns,
                    json: #"{"objective":"welcome","rules":{"field":"city","op":"eq","value":"Pune"}}"#)
                #expect(answer.json["source"] as? String == "llm", "\(answer.text)")
            }
            let sent = try #require(server.received.last).messagesText
            #expect(sent.contains("Asha in Pune") == share, "share_samples=\(share): \(sent)")
            #expect(!sent.contains("asha@example.com"))
        }
    }

    @Test("without a model: every helper answers offline, with no fallback reason")
    func offline() async throws {
        try await Self.node(nil).run { node in
            try await Self.ingest(node)
            let parsed = try await node.request(
                .post, "/api/v1/segments/parse", as: .read, json: #"{"text":"vip customers in Pune","sample":1}"#)
            #expect(parsed.json["source"] as? String == "offline" && parsed.json["fallback_reason"] is NSNull)
            #expect(parsed.json["count"] as? Int == 1 && parsed.json["sample"] as? [String] == ["a"], "\(parsed.text)")
            let partial = try await node.request(
                .post, "/api/v1/segments/parse", as: .read, json: #"{"text":"customers who bought shoes in Pune"}"#)
            #expect(partial.json["partial"] as? Bool == true, "\(partial.text)")
            #expect((partial.json["not_understood"] as? [String])?.contains("shoes") == true)
            let suggested = try await node.request(
                .post, "/api/v1/assist/messages", as: .campaigns, json: #"{"objective":"thank our loyal customers"}"#)
            #expect(
                suggested.json["source"] as? String == "offline" && suggested.json["objective"] as? String == "loyalty")
            #expect((suggested.json["variants"] as? [[String: Any]])?.count == 3)
        }
    }
}
