import Foundation
import Testing
import TestSupport

/// `cohort serve` end to end: the real binary on a free port, real sockets, the embedded log or the dev broker.
@Suite("cohort serve")
struct ServeTests {
    static func event(_ id: String, _ type: String, _ data: [String: Any]) -> [String: Any] {
        [
            "specversion": "1.0", "id": id, "source": "/test", "type": type, "time": "2024-06-01T00:00:00Z",
            "data": data,
        ]
    }

    static var bigSpenderRule: [String: Any] { ["field": "total_spend", "op": "gte", "value": 5000] }

    /// Events in over HTTP show up in preview counts, customer reads and the timeline.
    func ingestThenRead(_ node: ServeNode, key: String) async throws {
        let before = try await node.request(
            "POST", "/api/v1/segments/preview", key: key, json: ["rules": Self.bigSpenderRule])
        #expect(before.status == 200, "\(before.text)")
        let countBefore = try #require(before.json["count"] as? Int)

        let batch: [[String: Any]] = [
            Self.event("e-1", "crm.customer.upserted", ["customer_id": "web-1", "name": "Asha", "city": "Pune"]),
            Self.event(
                "e-2", "crm.order.placed",
                ["order_id": "o-1", "customer_id": "web-1", "amount": 3000, "currency": "INR"]),
            Self.event(
                "e-3", "crm.order.placed",
                ["order_id": "o-2", "customer_id": "web-1", "amount": 2500.5, "currency": "INR"]),
        ]
        let accepted = try await node.request(
            "POST", "/api/v1/events", key: key, body: try JSONSerialization.data(withJSONObject: batch),
            contentType: "application/cloudevents-batch+json")
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(accepted.json["accepted"] as? Int == 3)
        #expect(accepted.json["ids"] as? [String] == ["e-1", "e-2", "e-3"])

        let visible = try await node.eventually {
            let preview = try await node.request(
                "POST", "/api/v1/segments/preview", key: key, json: ["rules": Self.bigSpenderRule])
            return preview.json["count"] as? Int == countBefore + 1
        }
        #expect(visible, "the new big spender never showed up in the preview count")

        let customer = try await node.request("GET", "/api/v1/customers/web-1", key: key)
        #expect(customer.status == 200)
        #expect(customer.json["name"] as? String == "Asha")
        #expect(customer.json["order_count"] as? Int == 2)
        #expect((customer.json["total_spend"] as? NSNumber)?.doubleValue == 5500.5)

        let timeline = try await node.request("GET", "/api/v1/customers/web-1/events?limit=2", key: key)
        let events = try #require(timeline.json["events"] as? [[String: Any]])
        #expect(events.count == 2)
        let cursor = try #require(timeline.json["next"] as? String)
        let rest = try await node.request(
            "GET",
            "/api/v1/customers/web-1/events?limit=2&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)",
            key: key)
        #expect((rest.json["events"] as? [[String: Any]])?.count == 1)
        let ids = (events + (rest.json["events"] as? [[String: Any]] ?? [])).compactMap { $0["event_id"] as? String }
        #expect(Set(ids) == ["e-1", "e-2", "e-3"])

        // The seeds' plain shapes: a customer whose id is called `id`, then a visit.
        let plain = try await node.request(
            "POST", "/api/v1/customers", key: key,
            json: [["id": "plain-1", "name": "Ravi", "email": "ravi@example.com"]])
        #expect(plain.status == 202, "\(plain.text)")
        let visit = try await node.request("POST", "/api/v1/visits", key: key, json: ["customer_id": "plain-1"])
        #expect(visit.status == 202, "\(visit.text)")
        // The visit and the profile travel on different topics: either may be folded first.
        let ravi = try await node.eventually {
            let profile = try await node.request("GET", "/api/v1/customers/plain-1", key: key).json
            return profile["visit_count"] as? Int == 1 && profile["email"] as? String == "ravi@example.com"
        }
        #expect(ravi)
        let listed = try await node.request("GET", "/api/v1/customers?q=ravi@&limit=5", key: key)
        #expect(
            (listed.json["customers"] as? [[String: Any]])?.compactMap { $0["customer_id"] as? String } == ["plain-1"])
    }

    @Test("ingest over HTTP on the embedded log: visible in previews, customer reads and the timeline")
    func embeddedIngestAndRead() async throws {
        let directory = TemporaryDirectory("cohort-serve")
        let key = try ServeNode.createKey(directory, scopes: "ingest,read")
        let node = try ServeNode(directory: directory)
        defer { node.stop() }
        try await ingestThenRead(node, key: key)
        let readModels = directory.path + "/readmodels"
        #expect(try FileManager.default.contentsOfDirectory(atPath: readModels).contains { $0.hasPrefix("unsynced-") })
        #expect(node.stop() == 0, "serve should exit cleanly on SIGTERM: \(node.process.errorOutput)")
        let left = try FileManager.default.contentsOfDirectory(atPath: readModels).filter { $0.hasPrefix("unsynced-") }
        #expect(left.isEmpty, "a clean stop syncs the read models and removes the node's marker")
    }

    @Test("ingest over HTTP with Kafka (dev broker in its own process)")
    func kafkaIngestAndRead() async throws {
        let broker = try DevBroker()
        defer { _ = broker.stop() }
        let directory = TemporaryDirectory("cohort-serve")
        let key = try ServeNode.createKey(
            directory, scopes: "ingest,read", extraArguments: ["--brokers", broker.bootstrapServers])
        let node = try ServeNode(directory: directory, extraArguments: ["--brokers", broker.bootstrapServers])
        defer { node.stop() }
        try await ingestThenRead(node, key: key)
    }

    @Test("bad input gets a precise 4xx and appends nothing; keys and scopes are enforced")
    func badInputAndAuth() async throws {
        let directory = TemporaryDirectory("cohort-serve")
        let key = try ServeNode.createKey(directory, scopes: "ingest,read")
        let readOnly = try ServeNode.createKey(directory, scopes: "read")
        let node = try ServeNode(directory: directory, extraArguments: ["--set", "limits.batch_events_max=50"])
        defer { node.stop() }

        func folded() async throws -> Int {
            let text = try await node.request("GET", "/metrics", key: key).text
            let line = text.split(separator: "\n").first { $0.hasPrefix("cohort_events_folded ") } ?? ""
            // Prometheus samples are floating point ("12.0").
            return Double(line.split(separator: " ").last ?? "").map { Int($0) } ?? -1
        }
        let start = try await folded()
        #expect(start == 0)

        let malformed = try await node.request("POST", "/api/v1/events", key: key, body: Data("{\"id\": ".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.header("Content-Type") == "application/problem+json")
        #expect((malformed.json["detail"] as? String)?.contains("malformed JSON") == true)

        var wrongType = Self.event("w-1", "crm.order.placed", ["order_id": "o", "customer_id": "c", "amount": "lots"])
        wrongType["time"] = "yesterday"
        let wrong = try await node.request(
            "POST", "/api/v1/events", key: key,
            json: [Self.event("ok-1", "crm.visit.recorded", ["customer_id": "c"]), wrongType])
        #expect(wrong.status == 422)
        let pointers = (wrong.json["errors"] as? [[String: Any]])?.compactMap { $0["pointer"] as? String } ?? []
        #expect(pointers.contains("/1/data/amount"), "\(wrong.text)")
        #expect(pointers.contains("/1/time"), "\(wrong.text)")
        #expect((wrong.json["detail"] as? String)?.contains("rejected whole") == true)

        let otherCurrency = try await node.request(
            "POST", "/api/v1/orders", key: key,
            json: ["order_id": "o-9", "customer_id": "c", "amount": 10, "currency": "USD"])
        #expect(otherCurrency.status == 422, "\(otherCurrency.text)")

        let huge = Data(repeating: 0x20, count: 12 << 20)
        let tooLarge = try await node.request("POST", "/api/v1/events", key: key, body: huge)
        #expect(tooLarge.status == 413)

        let many = (0..<51).map { Self.event("m-\($0)", "crm.visit.recorded", ["customer_id": "c"]) }
        let oversized = try await node.request("POST", "/api/v1/events", key: key, json: many)
        #expect(oversized.status == 413)
        #expect((oversized.json["detail"] as? String)?.contains("limits.batch_events_max") == true)

        let badRule = try await node.request(
            "POST", "/api/v1/segments/preview", key: key,
            json: ["rules": ["field": "total_spend", "op": "greaterThan", "value": 1]])
        #expect(badRule.status == 422)
        let ruleErrors = (badRule.json["errors"] as? [[String: Any]]) ?? []
        #expect(ruleErrors.contains { $0["pointer"] as? String == "/rules/op" }, "\(badRule.text)")

        let missing = try await node.request("GET", "/api/v1/customers")
        #expect(missing.status == 401)
        #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        let forged = try await node.request("GET", "/api/v1/customers", key: "ck_" + String(repeating: "0", count: 48))
        #expect(forged.status == 401)
        let scoped = try await node.request(
            "POST", "/api/v1/visits", key: readOnly, json: ["customer_id": "c"])
        #expect(scoped.status == 403)
        #expect((scoped.json["detail"] as? String)?.contains("ingest") == true)
        let open = try await node.request("GET", "/healthz")
        #expect(open.status == 200 && open.json["auth"] as? String == "session+api-keys")

        // Nothing above was appended: one good event later, exactly one event has been folded.
        let good = try await node.request("POST", "/api/v1/visits", key: key, json: ["customer_id": "c"])
        #expect(good.status == 202)
        let settled = try await node.eventually { try await folded() >= 1 }
        #expect(settled)
        #expect(try await folded() == 1)
    }

    @Test("saved segments over HTTP: create, read with size, members by page and CSV, delete")
    func segmentLifecycle() async throws {
        let directory = TemporaryDirectory("cohort-serve")
        let generate = try ChildProcess.cohort(
            [
                "generate", "--data", directory.path, "--customers", "300", "--orders", "900", "--visits", "900",
                "--into-log",
            ])
        #expect(generate.waitForExit(timeout: 60) == 0)
        let key = try ServeNode.createKey(directory, scopes: "read,campaigns")
        let node = try ServeNode(directory: directory)
        defer { node.stop() }
        let ready = try await node.eventually { try await node.request("GET", "/readyz").status == 200 }
        #expect(ready)

        let created = try await node.request(
            "POST", "/api/v1/segments", key: key,
            json: ["segment_id": "big", "name": "Big", "rules": Self.bigSpenderRule])
        #expect(created.status == 202, "\(created.text)")
        var segment: [String: Any] = [:]
        let saved = try await node.eventually {
            let reply = try await node.request("GET", "/api/v1/segments/big", key: key)
            segment = reply.json
            return reply.status == 200
        }
        #expect(saved)
        let size = try #require(segment["size"] as? Int)
        let preview = try await node.request(
            "POST", "/api/v1/segments/preview", key: key, json: ["rules": Self.bigSpenderRule])
        #expect(preview.json["count"] as? Int == size)

        var members: [String] = []
        var cursor: String?
        repeat {
            let page = try await node.request(
                "GET", "/api/v1/segments/big/members?limit=40" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
            #expect(page.status == 200)
            members += page.json["members"] as? [String] ?? []
            cursor = page.json["next"] as? String
        } while cursor != nil
        #expect(members.count == size && Set(members).count == size)

        let csv = try await node.request("GET", "/api/v1/segments/big/members?format=csv", key: key)
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        let rows = csv.text.split(separator: "\r\n")
        #expect(rows.count == size + 1)
        #expect(rows.first?.hasPrefix("customer_id,name,email") == true)

        let deleted = try await node.request("DELETE", "/api/v1/segments/big", key: key)
        #expect(deleted.status == 202)
        let gone = try await node.eventually {
            try await node.request("GET", "/api/v1/segments/big", key: key).status == 404
        }
        #expect(gone)
    }

    @Test("a broker outage answers 503 with Retry-After in bounded time, and the node stays up")
    func brokerOutage() async throws {
        let broker = try DevBroker()
        let directory = TemporaryDirectory("cohort-serve")
        let key = try ServeNode.createKey(
            directory, scopes: "ingest,read", extraArguments: ["--brokers", broker.bootstrapServers])
        let node = try ServeNode(
            directory: directory,
            extraArguments: ["--brokers", broker.bootstrapServers, "--set", "kafka.message_timeout_ms=1500"])
        defer { node.stop() }
        let before = try await node.request("POST", "/api/v1/visits", key: key, json: ["customer_id": "c-1"])
        #expect(before.status == 202, "\(before.text)")
        _ = broker.stop()

        let started = Date()
        let during = try await node.request("POST", "/api/v1/visits", key: key, json: ["customer_id": "c-2"])
        let seconds = Date().timeIntervalSince(started)
        #expect(during.status == 503, "\(during.text)")
        #expect(during.header("Retry-After") == "1")
        #expect(during.header("Content-Type") == "application/problem+json")
        #expect(seconds < 10, "the 503 took \(seconds) s")
        #expect(try await node.request("GET", "/healthz").status == 200)
        let stopping = Date()
        #expect(node.stop() == 0)
        #expect(Date().timeIntervalSince(stopping) < 15, "shutting down without a broker must not hang")
    }

    @Test("--auth none serves without keys and says so on /healthz; page sizes are bounded")
    func authNoneAndPageLimits() async throws {
        let node = try ServeNode(extraArguments: ["--auth", "none", "--set", "limits.page_size_max=50"])
        defer { node.stop() }
        let health = try await node.request("GET", "/healthz")
        #expect(health.json["auth"] as? String == "none")
        #expect((health.json["warning"] as? String)?.contains("OFF") == true)
        #expect(try await node.request("GET", "/api/v1/customers").status == 200)
        let tooBig = try await node.request("GET", "/api/v1/customers?limit=51")
        #expect(tooBig.status == 422)
        #expect((tooBig.json["detail"] as? String)?.contains("limits.page_size_max (50)") == true)
        #expect(try await node.request("GET", "/api/v1/customers?limit=0").status == 422)
        #expect(try await node.request("GET", "/api/v1/customers/nobody").status == 404)
    }

    @Test("keys list shows ids and scopes, never secrets; a revoked key stops working on the running node")
    func listAndRevoke() async throws {
        let directory = TemporaryDirectory("cohort-serve")
        let key = try ServeNode.createKey(directory, scopes: "read")
        let node = try ServeNode(directory: directory)
        defer { node.stop() }
        #expect(try await node.request("GET", "/api/v1/customers", key: key).status == 200)

        let list = try ChildProcess.cohort(["keys", "list", "--data", directory.path])
        #expect(list.waitForExit(timeout: 60) == 0)
        let line = try #require(list.outputLines.first)
        let id = String(line.split(separator: "\t")[0])
        #expect(key.contains(id) && line.contains("\tread\t") && !line.contains(key))

        let revoke = try ChildProcess.cohort(["keys", "revoke", "--data", directory.path, id])
        #expect(revoke.waitForExit(timeout: 60) == 0)
        // The node follows the keys' topic (the revocation is a record another process appended to its log).
        let refused = try await node.eventually(timeoutSeconds: 5) {
            try await node.request("GET", "/api/v1/customers", key: key).status == 401
        }
        #expect(refused)
        let again = try ChildProcess.cohort(["keys", "revoke", "--data", directory.path, id])
        #expect(again.waitForExit(timeout: 60) == 1, "revoking an unknown key fails")
    }
}
