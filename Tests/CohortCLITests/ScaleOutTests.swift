import EventLog
import Foundation
import Testing
import TestSupport

/// Beyond one machine (SPEC §14), end to end on `cohort broker`, every node a process with a data directory of its
/// own: an ingest node, three query nodes (first replicas, then shards behind a coordinator), a worker pair, and a
/// reference node folding everything, whose answers the others must give.
@Suite("scale-out", .serialized)
struct ScaleOutTests {
    static var rules: [[String: Any]] {
        [
            ["field": "total_spend", "op": "gte", "value": 5000],
            ["field": "city", "op": "eq", "value": "Pune"],
            // SPEC §5's rule: a condition relative to now, which every shard must cut at the same moment.
            [
                "or": [
                    [
                        "and": [
                            ["field": "total_spend", "op": "gt", "value": 10000],
                            ["field": "visit_count", "op": "lt", "value": 3],
                        ]
                    ],
                    ["field": "days_since_last_order", "op": "gt", "value": 90],
                    ["not": ["field": "tags", "op": "contains", "value": "vip"]],
                ]
            ],
        ]
    }

    /// A query node on a fixed port (so that it comes back at the address a coordinator knows), with `arguments`.
    static func queryNode(_ directory: TemporaryDirectory, port: Int, _ arguments: [String]) throws -> ServeNode {
        try ServeNode(
            arguments: ["serve", "--data", directory.path, "--http", "127.0.0.1:\(port)", "--role", "query"]
                + arguments, directory: directory)
    }

    static func ready(_ node: ServeNode) async throws -> Bool {
        try await node.eventually(timeoutSeconds: 60) { try await node.request("GET", "/readyz").status == 200 }
    }

    /// Every member of the saved segment `big`, page by page (37 a page).
    static func members(_ node: ServeNode, key: String) async throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            let path =
                "/api/v1/segments/big/members?limit=37"
                + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? "")
            let page = try await node.request("GET", path, key: key).json
            ids += page["members"] as? [String] ?? []
            cursor = page["next"] as? String
        } while cursor != nil
        return ids
    }

    static func count(_ node: ServeNode, _ rule: [String: Any], key: String) async throws -> Int? {
        try await node.request("POST", "/api/v1/segments/preview", key: key, json: ["rules": rule]).json["count"]
            as? Int
    }

    /// `node` answers counts, member pages, the CSV export and customer reads (profiles, timelines) as `reference`.
    static func expectSameAnswers(_ node: ServeNode, as reference: ServeNode, key: String) async throws {
        for rule in rules {
            let expected = try await count(reference, rule, key: key)
            let answered = try await count(node, rule, key: key)
            #expect(expected != nil && answered == expected, "\(node.baseURL): \(rule)")
        }
        let members = try await Self.members(reference, key: key)
        #expect(members.count > 37 * 2)
        #expect(try await Self.members(node, key: key) == members, "\(node.baseURL) member pages")
        let csv = try await reference.request("GET", "/api/v1/segments/big/members?format=csv", key: key)
        let answeredCSV = try await node.request("GET", "/api/v1/segments/big/members?format=csv", key: key)
        #expect(csv.status == 200 && answeredCSV.text == csv.text, "\(node.baseURL) export")
        for id in members.prefix(15) {
            let one = try await reference.request("GET", "/api/v1/customers/\(id)", key: key).json
            let other = try await node.request("GET", "/api/v1/customers/\(id)", key: key).json
            for field in ["customer_id", "name", "order_count", "visit_count", "total_spend"] {
                #expect("\(one[field] ?? "-")" == "\(other[field] ?? "-")", "\(node.baseURL) \(id) \(field)")
            }
            let timeline = try await node.request("GET", "/api/v1/customers/\(id)/events?limit=3", key: key)
            #expect((timeline.json["events"] as? [[String: Any]])?.isEmpty == false)
        }
    }

    /// The queued messages a worker read, from its /metrics.
    static func read(by worker: ServeNode, key: String) async throws -> Int {
        try await worker.request("GET", "/metrics", key: key).text.split(separator: "\n").filter {
            $0.hasPrefix("cohort_delivery_queued_read_total")
        }.compactMap { $0.split(separator: " ").last.flatMap { Int(Double($0) ?? -1) } }.reduce(0, +)
    }

    @Test("an ingest node, three query nodes as replicas then as shards, a worker pair: like one node, through kills")
    func scenario() async throws {
        let broker = try DevBroker(partitions: 4)
        defer { _ = broker.stop() }
        let cluster = ["--brokers", broker.bootstrapServers]
        let generate = try ChildProcess.cohort(
            ["generate", "--into-log", "--customers", "1500", "--orders", "3000", "--visits", "1500"] + cluster)
        #expect(generate.waitForExit(timeout: 120) == 0, "\(generate.errorOutput)")
        let key = try ServeNode.createKey(TemporaryDirectory(), scopes: "admin", extraArguments: cluster)
        // A slow vendor and small rounds (about 100 messages a second per worker): the campaign takes a while.
        let vendor = try ServeNode.vendorSim(["--latency-ms", "100"])
        defer { vendor.stop() }
        let ingest = try ServeNode(extraArguments: cluster + ["--role", "ingest"])
        defer { ingest.stop() }
        let hook = try await vendor.request(
            "POST", "/v1/webhooks", json: ["receipts_url": ingest.baseURL + "/api/v1/receipts"])
        #expect(hook.status == 200)
        let reference = try ServeNode(extraArguments: cluster + ["--role", "query"])
        defer { reference.stop() }

        // Three replicas, each folding every partition, and a saved segment appended through the reference node.
        let directories = (0..<3).map { _ in TemporaryDirectory("cohort-scale") }
        let ports = try directories.map { _ in try freePort() }
        var queryNodes = try directories.indices.map { try Self.queryNode(directories[$0], port: ports[$0], cluster) }
        defer { for node in queryNodes { node.stop() } }
        let saved = try await reference.request(
            "POST", "/api/v1/segments", key: key,
            json: ["segment_id": "big", "name": "Big spenders", "rules": Self.rules[0]])
        #expect(saved.status == 202, "\(saved.text)")
        let written = try await ingest.request(
            "POST", "/api/v1/orders", key: key,
            json: ["order_id": "late-order", "customer_id": "late-customer", "amount": 9000, "currency": "INR"])
        #expect(written.status == 202, "\(written.text)")
        for node in [reference] + queryNodes {
            #expect(try await Self.ready(node))
            #expect(
                try await node.eventually(timeoutSeconds: 30) {
                    let late = try await node.request("GET", "/api/v1/customers/late-customer", key: key)
                    let segment = try await node.request("GET", "/api/v1/segments/big", key: key)
                    return late.status == 200 && segment.status == 200
                })
        }
        for replica in queryNodes { try await Self.expectSameAnswers(replica, as: reference, key: key) }

        // A campaign launched on a replica, delivered by a worker pair sharing the deliveries in their group; one
        // worker is killed once a fifth is decided.
        let workerArguments =
            cluster + [
                "--role", "worker", "--set", "vendor.url=\(vendor.baseURL)", "--set", "delivery.batch_size=10", "--set",
                "delivery.concurrency=1",
            ]
        let workers = try (0..<2).map { _ in try ServeNode(extraArguments: workerArguments) }
        defer { for worker in workers { worker.stop() } }
        for worker in workers {
            #expect(try await Self.ready(worker))
            #expect(
                await worker.eventually(timeoutSeconds: 30) {
                    worker.process.errorOutput.contains("delivery worker joins its group")
                })
        }
        let campaigns = queryNodes[0]
        let created = try await campaigns.request(
            "POST", "/api/v1/campaigns", key: key,
            json: [
                "campaign_id": "scale", "name": "Scale", "template": "Hi",
                "rules": ["field": "order_count", "op": "gte", "value": 0],
            ])
        #expect(created.status == 202, "\(created.text)")
        #expect(
            try await campaigns.eventually(timeoutSeconds: 30) {
                try await campaigns.request("GET", "/api/v1/campaigns/scale", key: key).json["status"] as? String
                    == "draft"
            })
        let launched = try await campaigns.request("POST", "/api/v1/campaigns/scale/launch", key: key)
        let audience = try #require(launched.json["audience"] as? Int)
        #expect(audience > 1000)
        func stats(_ node: ServeNode) async throws -> [String: Int] {
            (try await node.request("GET", "/api/v1/campaigns/scale", key: key).json["stats"] as? [String: Int]) ?? [:]
        }
        #expect(
            try await campaigns.eventually(timeoutSeconds: 60) {
                let stats = try await stats(campaigns)
                return (stats["sent"] ?? 0) + (stats["failed"] ?? 0) >= audience / 5
            })
        // Reads first, then what was decided: a message read is decided a round later at most.
        let readBeforeKill = try await Self.read(by: workers[0], key: key)
        let readByOtherBeforeKill = try await Self.read(by: workers[1], key: key)
        let decidedBeforeKill = try await stats(campaigns)
        workers[0].process.send(SIGKILL)
        _ = workers[0].process.waitForExit(timeout: 30)
        let atKill = try await stats(campaigns)
        // In a group each message is read by one worker: reads exceed decisions only by rounds in flight.
        let decided = (decidedBeforeKill["sent"] ?? 0) + (decidedBeforeKill["failed"] ?? 0)
        print("worker pair at the kill: \(readBeforeKill) + \(readByOtherBeforeKill) read, \(decided) decided")
        #expect(readBeforeKill > 0 && readByOtherBeforeKill > 0)
        #expect(readBeforeKill + readByOtherBeforeKill <= decided + 100, "no message read by both workers")
        #expect((atKill["pending"] ?? 0) > audience / 3, "killed mid-campaign: \(atKill)")
        let settled = try await campaigns.eventually(timeoutSeconds: 120) {
            let stats = try await stats(campaigns)
            let sim = try await CampaignTests.Setup.counters(of: vendor)
            return stats["queued"] == audience && stats["pending"] == 0 && sim["receipts_sent"] == sim["accepted"]
                && (stats["delivered"] ?? 0) + (stats["bounced"] ?? 0) + (stats["opened"] ?? 0) == sim["accepted"]
        }
        let final = try await stats(campaigns)
        let sim = try await CampaignTests.Setup.counters(of: vendor)
        #expect(settled, "never settled: \(final) vendor \(sim)")
        #expect(sim["accepted"]! + sim["rejected"]! == audience, "the vendor decided each message once")
        #expect(final["sent"] == sim["accepted"] && final["failed"] == sim["rejected"])
        #expect(final["sent"]! + final["failed"]! + final["pending"]! == audience)
        // The survivor goes on from the killed worker's last commits, so every message is read (some twice, harmless).
        let readBySurvivor = try await Self.read(by: workers[1], key: key)
        let repeated = sim["duplicates"] ?? 0
        print("worker pair: \(readBeforeKill) + \(readBySurvivor) queued messages read; \(repeated) keys repeated")
        #expect(readBeforeKill + readBySurvivor >= audience)
        for replica in queryNodes.dropFirst() {
            #expect(try await replica.eventually(timeoutSeconds: 30) { try await stats(replica) == final })
        }

        // The three query nodes become shards (on fresh read models: a replica's hold every partition) behind a
        // coordinator, which answers as the reference does.
        for node in queryNodes { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
        let shares = ["0", "1", "2-3"]
        queryNodes = try directories.indices.map {
            try Self.queryNode(
                directories[$0], port: ports[$0],
                cluster + [
                    "--set", "node.partitions=\(shares[$0])", "--set",
                    "data.read_models=\(directories[$0].path)/shard-readmodels",
                ])
        }
        let urls = ports.map { "http://127.0.0.1:\($0)" }
        let coordinator = try ServeNode(
            extraArguments: cluster + ["--role", "query", "--set", "node.shards=\(urls.joined(separator: ","))"])
        defer { coordinator.stop() }
        #expect(try await Self.ready(coordinator))
        try await Self.expectSameAnswers(coordinator, as: reference, key: key)
        let invalid = try await coordinator.request(
            "POST", "/api/v1/segments/preview", key: key,
            json: ["rules": ["field": "total_spend", "op": "greaterThan"]])
        #expect(invalid.status == 422 && invalid.text.contains("did you mean"), "\(invalid.text)")
        #expect(try await coordinator.request("GET", "/api/v1/campaigns", key: key).status == 421)
        #expect(try await coordinator.request("GET", "/api/v1/customers/nobody-at-all", key: key).status == 404)
        #expect(try await coordinator.request("GET", "/api/v1/segments/nothing/members", key: key).status == 404)
        let health = try await queryNodes[2].request("GET", "/healthz").json["shard"] as? [String: Any]
        #expect(health?["partitions"] as? [Int] == [2, 3] && health?["of"] as? Int == 4)

        // A shard killed: counts and its customers are a 503 naming it, customers of the others still answer;
        // restarted on its address and its data: exact again.
        queryNodes[1].process.send(SIGKILL)
        _ = queryNodes[1].process.waitForExit(timeout: 30)
        let down = try await coordinator.request(
            "POST", "/api/v1/segments/preview", key: key, json: ["rules": Self.rules[0]])
        #expect(down.status == 503 && down.text.contains(urls[1]), "\(down.text)")
        let members = try await Self.members(reference, key: key)
        let onDownShard = try #require(
            members.first { Partitioner.partition(forKey: Array($0.utf8), partitionCount: 4) == 1 })
        let onLiveShard = try #require(
            members.first { Partitioner.partition(forKey: Array($0.utf8), partitionCount: 4) == 0 })
        let lost = try await coordinator.request("GET", "/api/v1/customers/\(onDownShard)", key: key)
        #expect(lost.status == 503 && lost.text.contains(urls[1]), "\(lost.text)")
        #expect(try await coordinator.request("GET", "/api/v1/customers/\(onLiveShard)", key: key).status == 200)
        #expect(try await coordinator.request("GET", "/readyz").status == 503)
        queryNodes[1] = try Self.queryNode(
            directories[1], port: ports[1],
            cluster + [
                "--set", "node.partitions=\(shares[1])", "--set",
                "data.read_models=\(directories[1].path)/shard-readmodels",
            ])
        let expected = try await Self.count(reference, Self.rules[0], key: key)
        #expect(
            try await coordinator.eventually(timeoutSeconds: 60) {
                try await Self.count(coordinator, Self.rules[0], key: key) == expected
            })
        try await Self.expectSameAnswers(coordinator, as: reference, key: key)

        // Nothing more is appended; a replica added now catches up to the reference's digest.
        for node in [workers[1], ingest] { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
        vendor.stop()
        let late = try ServeNode(extraArguments: cluster + ["--role", "query"])
        defer { late.stop() }
        var digests: [String] = []
        for node in [reference, late] {
            #expect(try await Self.ready(node))
            #expect(node.stop() == 0, "\(node.process.errorOutput)")
            let digest = try ChildProcess.cohort(["digest", "--data", node.directory.path])
            #expect(digest.waitForExit(timeout: 60) == 0)
            digests.append(try #require(digest.outputLines.last))
        }
        #expect(digests.count == 2 && digests[0] == digests[1], "the late replica folded the same read models")
        for node in queryNodes + [coordinator] { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
    }
}
