import Crypto
import Foundation
import Testing
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Campaigns end to end: the real `cohort serve` with its delivery worker, the real `cohort vendor-sim`, signed
/// receipts, over real sockets.
@Suite("campaigns")
struct CampaignTests {
    /// A node with generated customers and a vendor whose receipts come back to it.
    struct Setup {
        let node: ServeNode
        let vendor: ServeNode
        let key: String
        let directory: TemporaryDirectory

        init(customers: Int, vendorArguments: [String] = [], nodeArguments: [String] = []) async throws {
            directory = TemporaryDirectory("cohort-campaign")
            let generate = try ChildProcess.cohort(
                [
                    "generate", "--data", directory.path, "--customers", "\(customers)", "--orders", "\(customers * 2)",
                    "--visits", "0", "--into-log",
                ])
            #expect(generate.waitForExit(timeout: 120) == 0)
            key = try ServeNode.createKey(directory, scopes: "admin")
            vendor = try ServeNode.vendorSim(vendorArguments)
            node = try ServeNode(
                directory: directory, extraArguments: ["--set", "vendor.url=\(vendor.baseURL)"] + nodeArguments)
            let hook = try await vendor.request(
                "POST", "/v1/webhooks", json: ["receipts_url": node.baseURL + "/api/v1/receipts"])
            #expect(hook.status == 200)
            let ready = try await node.eventually(timeoutSeconds: 60) {
                try await node.request("GET", "/readyz").status == 200
            }
            #expect(ready)
        }

        func stop() {
            node.stop()
            vendor.stop()
        }

        func campaign(_ id: String) async throws -> [String: Any] {
            try await node.request("GET", "/api/v1/campaigns/\(id)", key: key).json
        }

        func stats(_ id: String) async throws -> [String: Int] {
            (try await campaign(id)["stats"] as? [String: Int]) ?? [:]
        }

        /// Waits until every one of `audience` messages is queued and decided (sent or failed).
        func decided(_ id: String, audience: Int, timeoutSeconds: Double = 60) async throws -> Bool {
            try await node.eventually(timeoutSeconds: timeoutSeconds) {
                let stats = try await stats(id)
                return stats["queued"] == audience && stats["pending"] == 0
            }
        }

        func vendorStats() async throws -> [String: Int] {
            try await Self.counters(of: vendor)
        }

        /// vendor-sim's counters (`GET /stats`), the receipts by status as `receipts_sent.<status>`.
        static func counters(of vendor: ServeNode) async throws -> [String: Int] {
            let json = try await vendor.request("GET", "/stats").json
            var counters = json.compactMapValues { $0 as? Int }
            for (status, count) in json["receipts_sent_by_status"] as? [String: Int] ?? [:] {
                counters["receipts_sent.\(status)"] = count
            }
            return counters
        }

        /// Every page of a listing, following `next`.
        func all(_ path: String, _ member: String) async throws -> [[String: Any]] {
            var items: [[String: Any]] = []
            var cursor: String?
            repeat {
                let separator = path.contains("?") ? "&" : "?"
                let page = try await node.request(
                    "GET", path + separator + "limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                items += page.json[member] as? [[String: Any]] ?? []
                cursor = page.json["next"] as? String
            } while cursor != nil
            return items
        }
    }

    static let template = "Hi {{first_name|there}}, {{city|your city}} misses you"

    static func expectedBody(_ customer: [String: Any]) -> String {
        let first = (customer["name"] as? String)?.split(separator: " ").first.map(String.init)
        let city = customer["city"] as? String
        return
            "Hi \(first?.isEmpty == false ? first! : "there"), \(city?.isEmpty == false ? city! : "your city") misses you"
    }

    @Test("a 10k-customer campaign: personalised, exact stats, one log record per recipient with its history")
    func tenThousandCustomers() async throws {
        let setup = try await Setup(customers: 10_000)
        defer { setup.stop() }
        let created = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "campaign_id": "spring", "name": "Spring", "template": Self.template,
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(created.status == 202, "\(created.text)")
        let drafted = try await setup.node.eventually {
            try await setup.campaign("spring")["status"] as? String == "draft"
        }
        #expect(drafted)
        let launched = try await setup.node.request("POST", "/api/v1/campaigns/spring/launch", key: setup.key)
        #expect(launched.status == 202, "\(launched.text)")
        let audience = try #require(launched.json["audience"] as? Int)
        #expect(audience == 10_000)

        let settled = try await setup.node.eventually(timeoutSeconds: 120) {
            let stats = try await setup.stats("spring")
            let vendor = try await setup.vendorStats()
            return stats["pending"] == 0 && stats["queued"] == audience
                && vendor["receipts_sent"] == vendor["accepted"]
                && (stats["delivered"] ?? 0) + (stats["bounced"] ?? 0) + (stats["opened"] ?? 0) == vendor["accepted"]
        }
        let stats = try await setup.stats("spring")
        let vendor = try await setup.vendorStats()
        #expect(settled, "stats never settled: \(stats) vendor \(vendor)")
        #expect(stats["audience"] == audience)
        #expect(stats["sent"]! + stats["failed"]! + stats["pending"]! == audience)
        #expect(stats["sent"] == vendor["accepted"] && stats["failed"] == vendor["rejected"])
        #expect(vendor["accepted"]! + vendor["rejected"]! == audience, "the vendor decided each message once")
        #expect(vendor["duplicates"] == 0)
        #expect(stats["failed"]! > 0 && stats["sent"]! > audience * 8 / 10, "the simulator accepts about 90 %")

        let customers = try await setup.all("/api/v1/customers", "customers")
        let messages = try await setup.all("/api/v1/campaigns/spring/messages", "messages")
        #expect(customers.count == 10_000 && messages.count == audience)
        var byCustomer: [String: [String: Any]] = [:]
        for message in messages { byCustomer[message["customer_id"] as? String ?? ""] = message }
        #expect(byCustomer.count == audience, "one record per recipient")
        var wrong = 0
        for customer in customers {
            guard let id = customer["customer_id"] as? String, let message = byCustomer[id] else {
                wrong += 1
                continue
            }
            if message["body"] as? String != Self.expectedBody(customer) { wrong += 1 }
            if message["to"] as? String != customer["email"] as? String { wrong += 1 }
            let history = (message["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            let status = message["status"] as? String
            if history.first != "queued" || !history.contains(status ?? "?") { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) messages are not what their customer should have received")

        let summary = try await setup.node.request("GET", "/api/v1/campaigns/spring/summary", key: setup.key)
        #expect((summary.json["summary"] as? String)?.contains("reached 10,000 customers") == true)
    }

    @Test("creation rejects unknown template variables and bad channels; launch twice is a conflict")
    func validation() async throws {
        let setup = try await Setup(customers: 50)
        defer { setup.stop() }
        let unknown = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "name": "x", "template": "Hi {{nickname}}", "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(unknown.status == 422)
        #expect((unknown.json["detail"] as? String)?.contains("unknown variable {{nickname}}") == true)
        let channel = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "name": "x", "template": "Hi", "channel": "pigeon",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(channel.status == 422)
        let noTarget = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key, json: ["name": "x", "template": "Hi"])
        #expect(noTarget.status == 422)

        _ = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "campaign_id": "once", "name": "Once", "template": "Hi",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(try await setup.node.eventually { try await setup.campaign("once")["status"] as? String == "draft" })
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/once/launch", key: setup.key).status == 202)
        #expect(try await setup.node.eventually { try await setup.campaign("once")["status"] as? String == "running" })
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/once/launch", key: setup.key).status == 409)
    }

    @Test("a launch beyond limits.audience_max is refused and queues nothing")
    func audienceLimit() async throws {
        let setup = try await Setup(customers: 50, nodeArguments: ["--set", "limits.audience_max=10"])
        defer { setup.stop() }
        _ = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "campaign_id": "big", "name": "Big", "template": "Hi",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(try await setup.node.eventually { try await setup.campaign("big")["status"] as? String == "draft" })
        let refused = try await setup.node.request("POST", "/api/v1/campaigns/big/launch", key: setup.key)
        #expect(refused.status == 422)
        #expect((refused.json["detail"] as? String)?.contains("limits.audience_max (10)") == true)
        #expect(try await setup.campaign("big")["status"] as? String == "draft")
        #expect(try await setup.stats("big")["queued"] == 0)
    }

    /// POSTs `body` to the receipts webhook signed with `secret`.
    static func postReceipts(_ setup: Setup, _ body: Data, secret: String = "dev-secret") async throws -> Int {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        var request = URLRequest(url: URL(string: setup.node.baseURL + "/api/v1/receipts")!)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue(
            "sha256=" + mac.map { String(format: "%02x", $0) }.joined(), forHTTPHeaderField: "X-Cohort-Signature")
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test("receipts need a valid signature and count once")
    func receiptSignatures() async throws {
        let setup = try await Setup(customers: 20, vendorArguments: ["--success-rate", "1"])
        defer { setup.stop() }
        let audience = try await Self.launch(setup, "r")
        let received = try await setup.node.eventually {
            let stats = try await setup.stats("r")
            return stats["sent"] == audience
                && (stats["delivered"] ?? 0) + (stats["bounced"] ?? 0) + (stats["opened"] ?? 0) == audience
        }
        #expect(received)
        let before = try await setup.stats("r")
        let messages = try await setup.all("/api/v1/campaigns/r/messages", "messages")
        let message = try #require(messages.first)
        let id = try #require(message["message_id"] as? String)
        let secondID = try #require(messages.last?["message_id"] as? String)
        let clicked = try JSONSerialization.data(withJSONObject: [
            "receipts": [["message_id": id, "status": "clicked"]]
        ])

        #expect(try await Self.postReceipts(setup, clicked, secret: "wrong") == 401)
        let unsigned = try await setup.node.request("POST", "/api/v1/receipts", body: clicked)
        #expect(unsigned.status == 401)
        #expect(try await Self.postReceipts(setup, clicked) == 202)
        #expect(try await Self.postReceipts(setup, clicked) == 202)
        // The receipt the vendor already sent for this message, again.
        let status = try #require((message["receipts"] as? [String])?.first)
        let repeated = try JSONSerialization.data(withJSONObject: ["receipts": [["message_id": id, "status": status]]])
        #expect(try await Self.postReceipts(setup, repeated) == 202)
        let marker = try JSONSerialization.data(
            withJSONObject: ["receipts": [["message_id": secondID, "status": "clicked"]]])
        #expect(try await Self.postReceipts(setup, marker) == 202)
        // Once the later marker is folded, everything before it has been too.
        let folded = try await setup.node.eventually { try await setup.stats("r")["clicked"] == before["clicked"]! + 2 }
        #expect(folded, "two distinct clicks, each counted once")
        let stats = try await setup.stats("r")
        #expect(stats[status] == before[status], "a repeated \(status) receipt is not counted again")
        let unknown = try JSONSerialization.data(withJSONObject: [
            "receipts": [["message_id": "nope:x", "status": "clicked"]]
        ])
        // A receipt is a fact even when its message is unknown: accepted, counted apart, never as delivered.
        #expect(try await Self.postReceipts(setup, unknown) == 202)
        let apart = try await setup.node.eventually {
            let text = try await setup.node.request("GET", "/metrics", key: setup.key).text
            return text.split(separator: "\n").contains { $0.hasPrefix("cohort_receipts_unmatched ") && !$0.hasSuffix(" 0.0") }
        }
        #expect(apart, "the unmatched receipt shows in /metrics")
        let malformed = try JSONSerialization.data(withJSONObject: [
            "receipts": [["message_id": "no-colon", "status": "clicked"]]
        ])
        #expect(try await Self.postReceipts(setup, malformed) == 422)
    }

    @Test("429s and 500s are retried until each message is decided once")
    func faultsAndRetryFailed() async throws {
        // Batches of 10: about 30 requests, so that the seeded faults hit many of them.
        let flaky = try await Setup(
            customers: 300, vendorArguments: ["--throttle-rate", "0.3", "--error-rate", "0.2"],
            nodeArguments: ["--set", "delivery.batch_size=10"])
        _ = try await flaky.node.request(
            "POST", "/api/v1/campaigns", key: flaky.key,
            json: [
                "campaign_id": "f", "name": "F", "template": "Hi",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(try await flaky.node.eventually { try await flaky.campaign("f")["status"] as? String == "draft" })
        let launched = try await flaky.node.request("POST", "/api/v1/campaigns/f/launch", key: flaky.key)
        let audience = try #require(launched.json["audience"] as? Int)
        let done = try await flaky.decided("f", audience: audience, timeoutSeconds: 120)
        #expect(done)
        let stats = try await flaky.stats("f")
        let vendor = try await flaky.vendorStats()
        #expect(vendor["throttled"]! > 0 && vendor["errors"]! > 0, "faults were injected")
        #expect(stats["sent"] == vendor["accepted"])
        // A batch that met a fault on every one of its 5 attempts is marked failed (retryable) without a decision.
        let failed = try await flaky.all("/api/v1/campaigns/f/messages?status=failed", "messages")
        let exhausted = failed.filter {
            (($0["history"] as? [[String: Any]])?.last?["reason"] as? String)?.hasPrefix("vendor answered") == true
        }.count
        #expect(stats["failed"] == vendor["rejected"]! + exhausted)
        #expect(vendor["accepted"]! + vendor["rejected"]! + exhausted == audience, "each message decided once")
        #expect(exhausted < audience / 10, "most faults were retried away")
        flaky.stop()
    }

    /// Creates and launches campaign `id` targeting everyone; returns the audience.
    static func launch(_ setup: Setup, _ id: String) async throws -> Int {
        _ = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "campaign_id": id, "name": id, "template": "Hi",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(try await setup.node.eventually { try await setup.campaign(id)["status"] as? String == "draft" })
        let launched = try await setup.node.request("POST", "/api/v1/campaigns/\(id)/launch", key: setup.key)
        return try #require(launched.json["audience"] as? Int)
    }

    @Test("timeouts are retried, then the messages are marked failed (retryable)")
    func timeoutsThenFailed() async throws {
        let setup = try await Setup(
            customers: 30, vendorArguments: ["--latency-ms", "1500"],
            nodeArguments: ["--set", "delivery.request_timeout_ms=200"])
        defer { setup.stop() }
        let audience = try await Self.launch(setup, "slow")
        let done = try await setup.decided("slow", audience: audience)
        #expect(done)
        let stats = try await setup.stats("slow")
        #expect(stats["failed"] == audience && stats["sent"] == 0)
        let failed = try await setup.all("/api/v1/campaigns/slow/messages?status=failed", "messages")
        #expect(failed.count == audience)
        let reasons = failed.compactMap { ($0["history"] as? [[String: Any]])?.last?["reason"] as? String }
        #expect(reasons.allSatisfy { $0.contains("vendor unreachable") }, "\(reasons.prefix(3))")
        #expect((failed.first?["attempts"] as? Int) == 5)
    }

    @Test("retry-failed re-sends only the failed messages, under new idempotency keys")
    func retryFailedOnlyFailed() async throws {
        let setup = try await Setup(customers: 400, vendorArguments: ["--success-rate", "0.5"])
        defer { setup.stop() }
        let audience = try await Self.launch(setup, "half")
        #expect(try await setup.decided("half", audience: audience))
        let first = try await setup.stats("half")
        let failedBefore = try #require(first["failed"])
        #expect(failedBefore > 0 && failedBefore < audience)

        let retried = try await setup.node.request("POST", "/api/v1/campaigns/half/retry-failed", key: setup.key)
        #expect(retried.status == 202)
        #expect(retried.json["requeued"] as? Int == failedBefore)
        let settled = try await setup.node.eventually(timeoutSeconds: 60) {
            let vendor = try await setup.vendorStats()
            let stats = try await setup.stats("half")
            // The vendor decided the retried ones, and their outcomes are folded (not only the re-queue).
            return vendor["accepted"]! + vendor["rejected"]! == audience + failedBefore && stats["pending"] == 0
                && stats["sent"] == vendor["accepted"] && stats["sent"]! + stats["failed"]! == audience
        }
        #expect(settled)
        let vendor = try await setup.vendorStats()
        let stats = try await setup.stats("half")
        #expect(vendor["duplicates"] == 0, "no sent message was sent again")
        #expect(stats["sent"] == vendor["accepted"])
        #expect(stats["sent"]! + stats["failed"]! == audience)
        #expect(stats["sent"]! > first["sent"]!)
    }

    @Test("SIGKILLed mid-campaign 4 times: no message is sent twice and the stats come out exact")
    func crashMidCampaign() async throws {
        let directory = TemporaryDirectory("cohort-campaign-crash")
        let generate = try ChildProcess.cohort(
            [
                "generate", "--data", directory.path, "--customers", "3000", "--orders", "6000", "--visits", "0",
                "--into-log",
            ])
        #expect(generate.waitForExit(timeout: 120) == 0)
        let key = try ServeNode.createKey(directory, scopes: "admin")
        // A vendor that drops a receipt batch answered 4xx for good, as real ones do: none may be lost.
        let vendor = try ServeNode.vendorSim(["--latency-ms", "40", "--receipts4xx", "drop"])
        defer { vendor.stop() }
        let nodeArguments = [
            "--set", "vendor.url=\(vendor.baseURL)", "--set", "delivery.batch_size=25", "--set",
            "delivery.concurrency=2",
        ]
        func start() async throws -> ServeNode {
            let node = try ServeNode(directory: directory, extraArguments: nodeArguments)
            let hook = try await vendor.request(
                "POST", "/v1/webhooks", json: ["receipts_url": node.baseURL + "/api/v1/receipts"])
            #expect(hook.status == 200)
            return node
        }
        var node = try await start()
        _ = try await node.request(
            "POST", "/api/v1/campaigns", key: key,
            json: [
                "campaign_id": "k", "name": "K", "template": "Hi {{name}}",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(
            try await node.eventually {
                try await node.request("GET", "/api/v1/campaigns/k", key: key).json["status"] as? String == "draft"
            })
        let launched = try await node.request("POST", "/api/v1/campaigns/k/launch", key: key)
        let audience = try #require(launched.json["audience"] as? Int)

        var random = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            // A random moment while messages are going out (about 5 s of sending in all).
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...700, using: &random)))
            node.process.send(SIGKILL)
            _ = node.process.waitForExit(timeout: 30)
            node = try await start()
        }
        defer { node.stop() }
        let done = try await node.eventually(timeoutSeconds: 120) {
            let stats =
                (try await node.request("GET", "/api/v1/campaigns/k", key: key).json["stats"] as? [String: Int]) ?? [:]
            let sim = try await Setup.counters(of: vendor)
            return stats["queued"] == audience && stats["pending"] == 0 && sim["receipts_sent"] == sim["accepted"]
                && (stats["delivered"] ?? 0) + (stats["bounced"] ?? 0) + (stats["opened"] ?? 0) == sim["accepted"]
        }
        let stats =
            (try await node.request("GET", "/api/v1/campaigns/k", key: key).json["stats"] as? [String: Int]) ?? [:]
        let sim = try await Setup.counters(of: vendor)
        #expect(done, "never settled: \(stats) vendor \(sim)")
        #expect(sim["receipts_dropped"] == 0, "no receipt batch was refused while the node restarted")
        for status in ["delivered", "bounced", "opened"] {
            #expect(stats[status] == sim["receipts_sent.\(status)", default: 0], "\(status) counted once each")
        }
        #expect(stats["unmatched_receipts"] == 0)
        #expect(sim["accepted"]! + sim["rejected"]! == audience, "every message was decided exactly once by the vendor")
        #expect(stats["sent"] == sim["accepted"] && stats["failed"] == sim["rejected"])
        #expect(stats["sent"]! + stats["failed"]! + stats["pending"]! == audience)
    }

    @Test("pause stops sending within one round, resume finishes; cancel fails what is left")
    func pauseResumeCancel() async throws {
        let setup = try await Setup(
            customers: 300, vendorArguments: ["--latency-ms", "60"],
            nodeArguments: ["--set", "delivery.batch_size=5", "--set", "delivery.concurrency=1"])
        defer { setup.stop() }
        func decided() async throws -> Int {
            let vendor = try await setup.vendorStats()
            return vendor["accepted"]! + vendor["rejected"]!
        }
        let audience = try await Self.launch(setup, "p")
        #expect(try await setup.node.eventually { try await decided() >= 20 })
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/p/pause", key: setup.key).status == 202)
        #expect(try await setup.node.eventually { try await setup.campaign("p")["status"] as? String == "paused" })
        let atPause = try await decided()
        // Watch for as long as 20 more requests would take: at most the round in flight (5 messages) goes out.
        let watchUntil = Date().addingTimeInterval(1.2)
        while Date() < watchUntil { try await Task.sleep(for: .milliseconds(100)) }
        let whilePaused = try await decided()
        #expect(whilePaused <= atPause + 5, "sent \(whilePaused - atPause) messages while paused")
        #expect(whilePaused < audience)
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/p/pause", key: setup.key).status == 409)
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/p/resume", key: setup.key).status == 202)
        #expect(try await setup.decided("p", audience: audience))
        #expect(try await decided() == audience)

        let second = try await Self.launch(setup, "c")
        #expect(try await setup.node.eventually { try await decided() >= audience + 10 })
        #expect(try await setup.node.request("POST", "/api/v1/campaigns/c/cancel", key: setup.key).status == 202)
        #expect(try await setup.decided("c", audience: second))
        let stats = try await setup.stats("c")
        let cancelled = try await setup.all("/api/v1/campaigns/c/messages?status=failed", "messages").filter {
            (($0["history"] as? [[String: Any]])?.last?["reason"] as? String) == "campaign cancelled"
        }
        #expect(cancelled.count > 0 && stats["sent"]! + stats["failed"]! == second)
        #expect(try await decided() < audience + second, "cancelled messages never reached the vendor")
        #expect(try await setup.campaign("c")["status"] as? String == "cancelled")
    }

    @Test("a campaign's rate limit holds: 300 messages at 100/s take at least 2 s")
    func rateLimit() async throws {
        let setup = try await Setup(customers: 300, nodeArguments: ["--set", "delivery.batch_size=20"])
        defer { setup.stop() }
        _ = try await setup.node.request(
            "POST", "/api/v1/campaigns", key: setup.key,
            json: [
                "campaign_id": "slow", "name": "Slow", "template": "Hi", "rate_limit_per_second": 100,
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(try await setup.node.eventually { try await setup.campaign("slow")["status"] as? String == "draft" })
        let started = Date()
        let launched = try await setup.node.request("POST", "/api/v1/campaigns/slow/launch", key: setup.key)
        let audience = try #require(launched.json["audience"] as? Int)
        #expect(
            try await setup.node.eventually(timeoutSeconds: 30) {
                let vendor = try await setup.vendorStats()
                return vendor["accepted"]! + vendor["rejected"]! == audience
            })
        // The bucket starts with one second's worth (100); the other 200 need 2 s more.
        #expect(Date().timeIntervalSince(started) >= 1.9)
    }
}
