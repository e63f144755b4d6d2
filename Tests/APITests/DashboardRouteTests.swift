import API
import Foundation
import TestSupport
import Testing

/// The reads the dashboard adds to the API: the overview with the daily revenue read model, a customer's segments,
/// messages and timeline payloads, template previews, delivery over time, and launches accepted at once.
@Suite("Dashboard routes")
struct DashboardRouteTests {
    /// `yyyy-MM-dd` of `days` days before now (UTC).
    static func day(_ days: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(-Double(days) * 86_400))
    }

    static func event(_ id: String, _ type: String, _ data: String) -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"/test","type":"\#(type)","time":"2026-01-01T00:00:00Z","#
            + #""data":\#(data)}"#
    }

    @Test("the daily read model: net revenue and orders per day of placement, moved by cancellations and refunds")
    func overview() async throws {
        let (today, yesterday) = (Self.day(0), Self.day(1))
        try await InProcessNode().run { node in
            let customers = #"[{"customer_id":"a","city":"Pune"},{"customer_id":"b","city":"Delhi"}]"#
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: customers).status == 202)
            let orders = """
                [{"customer_id":"a","order_id":"o1","amount":100.5,"currency":"INR","placed_at":"\(yesterday)T10:00:00Z"},
                 {"customer_id":"a","order_id":"o2","amount":200,"currency":"INR","placed_at":"\(today)T00:00:01Z"},
                 {"customer_id":"b","order_id":"o3","amount":300,"currency":"INR","placed_at":"\(today)T01:00:00Z"},
                 {"customer_id":"b","order_id":"o4","amount":50,"currency":"INR","placed_at":"\(yesterday)T23:59:59Z"}]
                """
            #expect(try await node.request(.post, "/api/v1/orders", as: .ingest, json: orders).status == 202)
            let later =
                "["
                + Self.event(
                    "x1", "crm.order.cancelled", #"{"order_id":"o4","customer_id":"b"}"#) + ","
                + Self.event(
                    "x2", "crm.order.refunded", #"{"order_id":"o3","customer_id":"b","amount":30,"currency":"INR"}"#)
                + "]"
            let appended = try await node.request(
                .post, "/api/v1/events", as: .ingest, json: later,
                headers: [.contentType: "application/cloudevents-batch+json"])
            #expect(appended.status == 202, "\(appended.text)")
            var overview: [String: Any] = [:]
            #expect(
                try await node.eventually {
                    overview = try await node.request(.get, "/api/v1/overview?days=3", as: .read).json
                    return (overview["orders"] as? Int) == 3
                })
            let daily = overview["daily"] as? [[String: Any]] ?? []
            #expect(daily.map { $0["day"] as? String } == [Self.day(2), yesterday, today])
            #expect(daily.map { $0["orders"] as? Int } == [0, 1, 2])
            #expect(daily.map { $0["revenue"] as? Double } == [0, 100.5, 470])
            #expect(overview["revenue"] as? Double == 570.5, "Σ total_spend: 100.5 + 200 + 300 − 30")
            #expect(overview["customers"] as? Int == 2 && overview["currency"] as? String == "INR")
            #expect((overview["projector"] as? [String: Any])?["running"] as? Bool == true)
            #expect(try await node.request(.get, "/api/v1/overview?days=0", as: .read).status == 422)
            #expect(try await node.request(.get, "/api/v1/overview?days=367", as: .read).status == 422)
            #expect(try await node.request(.get, "/api/v1/overview").status == 401)
        }
    }

    @Test("a customer's segments, messages and one timeline event's payload from the log")
    func customerReads() async throws {
        try await InProcessNode().run { node in
            let customers = """
                [{"customer_id":"a","name":"Asha","email":"a@example.com","city":"Pune","tags":["vip"]},
                 {"customer_id":"b","name":"Ravi","email":"b@example.com","city":"Delhi"}]
                """
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: customers).status == 202)
            let segment = #"{"segment_id":"pune","name":"Pune","rules":{"field":"city","op":"eq","value":"Pune"}}"#
            #expect(try await node.request(.post, "/api/v1/segments", as: .campaigns, json: segment).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/segments/pune", as: .read).status == 200
                })
            let campaign =
                #"{"campaign_id":"k","name":"Hello","template":"Hi {{first_name}}","segment_id":"pune"}"#
            #expect(try await node.request(.post, "/api/v1/campaigns", as: .campaigns, json: campaign).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).status == 200
                })
            #expect(try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns).status == 202)

            let inA = try await node.request(.get, "/api/v1/customers/a/segments", as: .read).json
            #expect((inA["segments"] as? [[String: Any]])?.map { $0["segment_id"] as? String } == ["pune"])
            let inB = try await node.request(.get, "/api/v1/customers/b/segments", as: .read).json
            #expect((inB["segments"] as? [[String: Any]])?.isEmpty == true)
            var messages: [[String: Any]] = []
            #expect(
                try await node.eventually {
                    messages =
                        try await node.request(.get, "/api/v1/customers/a/messages", as: .read).json["messages"]
                        as? [[String: Any]] ?? []
                    return messages.count == 1
                })
            #expect(
                messages.first?["body"] as? String == "Hi Asha" && messages.first?["campaign"] as? String == "Hello")
            let none = try await node.request(.get, "/api/v1/customers/b/messages", as: .read).json
            #expect((none["messages"] as? [Any])?.isEmpty == true)
            #expect(try await node.request(.get, "/api/v1/customers/zz/messages", as: .read).status == 404)

            let timeline =
                try await node.request(.get, "/api/v1/customers/a/events", as: .read).json["events"]
                as? [[String: Any]] ?? []
            func payload(of type: String, for customer: String) async throws -> NodeResponse {
                let entry = try #require(timeline.first { $0["type"] as? String == type })
                let position = try #require(entry["position"] as? [String: Any])
                let query =
                    "topic=\(position["topic"]!)&partition=\(position["partition"]!)&offset=\(position["offset"]!)"
                return try await node.request(.get, "/api/v1/customers/\(customer)/event?\(query)", as: .read)
            }
            let profile = try await payload(of: "crm.customer.upserted", for: "a")
            #expect(profile.status == 200 && profile.json["type"] as? String == "crm.customer.upserted")
            #expect((profile.json["data"] as? [String: Any])?["name"] as? String == "Asha")
            let queued = try await payload(of: "crm.message.queued", for: "a")
            #expect((queued.json["data"] as? [String: Any])?["body"] as? String == "Hi Asha", "\(queued.text)")
            let other = try await payload(of: "crm.customer.upserted", for: "b")
            #expect(other.status == 404, "an event of another customer is not served through this customer")
            let bad = try await node.request(
                .get, "/api/v1/customers/a/event?topic=nope&partition=0&offset=0", as: .read)
            #expect(bad.status == 422)
            #expect(try await node.request(.get, "/api/v1/customers/a/event", as: .read).status == 422)
        }
    }

    @Test("template previews for sample customers; launches accepted at once with their progress")
    func previewsAndLaunch() async throws {
        try await InProcessNode().run { node in
            let customers = (0..<40).map {
                #"{"customer_id":"c\#($0)","name":"Name\#($0) Surname","email":"c\#($0)@example.com","city":"Pune"}"#
            }
            let body = "[" + customers.joined(separator: ",") + "]"
            #expect(try await node.request(.post, "/api/v1/customers", as: .ingest, json: body).status == 202)
            let rules = #"{"field":"city","op":"eq","value":"Pune"}"#
            #expect(
                try await node.eventually {
                    try await node.request(.post, "/api/v1/segments/preview", as: .read, json: #"{"rules":\#(rules)}"#)
                        .json["count"] as? Int == 40
                })
            let preview = try await node.request(
                .post, "/api/v1/campaigns/preview", as: .read,
                json: #"{"template":"Hi {{first_name}} from {{city}}","rules":\#(rules),"sample":2}"#)
            #expect(preview.status == 200)
            let previews = preview.json["previews"] as? [[String: Any]] ?? []
            #expect(previews.count == 2 && preview.json["audience"] as? Int == 40)
            #expect((previews.first?["body"] as? String)?.hasPrefix("Hi Name") == true)
            #expect((previews.first?["body"] as? String)?.hasSuffix("from Pune") == true)
            #expect(preview.json["variables"] as? [String] == ["first_name", "city"])
            let badTemplate = try await node.request(
                .post, "/api/v1/campaigns/preview", as: .read, json: #"{"template":"Hi {{nickname}}"}"#)
            #expect(badTemplate.status == 422 && badTemplate.text.contains("/template"))

            let campaign = #"{"campaign_id":"k","name":"K","template":"Hi","rules":\#(rules)}"#
            #expect(try await node.request(.post, "/api/v1/campaigns", as: .campaigns, json: campaign).status == 202)
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/campaigns/k", as: .read).status == 200
                })
            let launched = try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns)
            #expect(launched.status == 202 && launched.json["audience"] as? Int == 40)
            let state = (launched.json["launch"] as? [String: Any])?["state"] as? String
            #expect(state == "appending" || state == "done")
            var campaignJSON: [String: Any] = [:]
            #expect(
                try await node.eventually {
                    campaignJSON = try await node.request(.get, "/api/v1/campaigns/k", as: .read).json
                    return campaignJSON["status"] as? String == "running"
                })
            let launch = campaignJSON["launch"] as? [String: Any]
            #expect(launch?["state"] as? String == "done" && launch?["appended"] as? Int == 40)
            #expect((campaignJSON["stats"] as? [String: Any])?["queued"] as? Int == 40)
            #expect(try await node.request(.post, "/api/v1/campaigns/k/launch", as: .campaigns).status == 409)
            let delivery = try await node.request(.get, "/api/v1/campaigns/k/delivery", as: .read)
            #expect(delivery.status == 200 && (delivery.json["minutes"] as? [Any])?.isEmpty == true, "nothing sent")
            #expect(try await node.request(.get, "/api/v1/campaigns/none/delivery", as: .read).status == 404)
        }
    }
}
