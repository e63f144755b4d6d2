import EventLog
import Foundation
import Testing
import TestSupport

/// Shards and a coordinator (SPEC §14) on `cohort broker`: three query nodes each folding a share of the customer
/// partitions, a coordinator fanning reads out to them, and a reference node folding everything.
@Suite("shards", .serialized)
struct ShardTests {
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

    /// A shard on a fixed port, so that it comes back at the address the coordinator knows.
    static func shard(_ directory: TemporaryDirectory, port: Int, partitions: String, cluster: [String]) throws
        -> ServeNode
    {
        try ServeNode(
            arguments: [
                "serve", "--data", directory.path, "--http", "127.0.0.1:\(port)", "--role", "query", "--set",
                "node.partitions=\(partitions)",
            ] + cluster, directory: directory)
    }

    @Test("three shards behind a coordinator answer like one node; a shard down is a 503 naming it; back, exact again")
    func shardsAndCoordinator() async throws {
        let broker = try DevBroker(partitions: 4)
        defer { _ = broker.stop() }
        let cluster = ["--brokers", broker.bootstrapServers]
        let generate = try ChildProcess.cohort(
            ["generate", "--into-log", "--customers", "600", "--orders", "1800", "--visits", "1200"] + cluster)
        #expect(generate.waitForExit(timeout: 120) == 0, "\(generate.errorOutput)")
        let key = try ServeNode.createKey(TemporaryDirectory(), scopes: "admin", extraArguments: cluster)

        let reference = try ServeNode(extraArguments: cluster + ["--role", "query"])
        defer { reference.stop() }
        let shares = ["0", "1", "2-3"]
        let ports = try shares.map { _ in try freePort() }
        let directories = shares.map { _ in TemporaryDirectory("cohort-shard") }
        var shards = try shares.indices.map {
            try Self.shard(directories[$0], port: ports[$0], partitions: shares[$0], cluster: cluster)
        }
        defer { for shard in shards { shard.stop() } }
        let urls = ports.map { "http://127.0.0.1:\($0)" }
        let coordinator = try ServeNode(
            extraArguments: cluster + ["--role", "query", "--set", "node.shards=\(urls.joined(separator: ","))"])
        defer { coordinator.stop() }

        // A saved segment, appended through the reference node and folded by every shard.
        let saved = try await reference.request(
            "POST", "/api/v1/segments", key: key,
            json: ["segment_id": "big", "name": "Big spenders", "rules": Self.rules[0]])
        #expect(saved.status == 202, "\(saved.text)")
        for node in [reference, coordinator] {
            let ready = try await node.eventually(timeoutSeconds: 60) {
                let members = try await node.request("GET", "/api/v1/segments/big/members?limit=1", key: key)
                return try await node.request("GET", "/readyz").status == 200 && members.status == 200
            }
            let readiness = try await node.request("GET", "/readyz").text
            #expect(ready, "\(node.baseURL) ready: \(readiness)")
        }
        let health = try await shards[2].request("GET", "/healthz").json["shard"] as? [String: Any]
        #expect(health?["partitions"] as? [Int] == [2, 3] && health?["of"] as? Int == 4)

        // Counts: the sum over the shards equals the count of the node that folds everything.
        func count(_ node: ServeNode, _ rule: [String: Any]) async throws -> (Int?, [String: Any]) {
            let reply = try await node.request("POST", "/api/v1/segments/preview", key: key, json: ["rules": rule])
            return (reply.json["count"] as? Int, reply.json)
        }
        for rule in Self.rules {
            let (expected, _) = try await count(reference, rule)
            let (merged, answer) = try await count(coordinator, rule)
            #expect(expected != nil && merged == expected, "\(rule): \(answer)")
            #expect(answer["shards"] as? Int == 3)
        }

        // An invalid rule is refused before any shard is asked.
        let invalid = try await coordinator.request(
            "POST", "/api/v1/segments/preview", key: key,
            json: ["rules": ["field": "total_spend", "op": "greaterThan"]])
        #expect(invalid.status == 422 && invalid.text.contains("did you mean"), "\(invalid.text)")

        // Member pages merged by id, and the CSV export, equal the reference's.
        func allMembers(_ node: ServeNode) async throws -> [String] {
            var ids: [String] = []
            var cursor: String?
            repeat {
                let path =
                    "/api/v1/segments/big/members?limit=37"
                    + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                        ?? "")
                let page = try await node.request("GET", path, key: key).json
                ids += page["members"] as? [String] ?? []
                cursor = page["next"] as? String
            } while cursor != nil
            return ids
        }
        let members = try await allMembers(reference)
        #expect(members.count > 37 * 2)
        #expect(try await allMembers(coordinator) == members)
        let csv = try await reference.request("GET", "/api/v1/segments/big/members?format=csv", key: key)
        let mergedCSV = try await coordinator.request("GET", "/api/v1/segments/big/members?format=csv", key: key)
        #expect(csv.status == 200 && mergedCSV.status == 200)
        #expect(mergedCSV.text == csv.text, "the merged export equals the single node's")

        // Customer reads go to the shard that folds the customer's partition.
        for id in members.prefix(20) {
            let one = try await reference.request("GET", "/api/v1/customers/\(id)", key: key).json
            let other = try await coordinator.request("GET", "/api/v1/customers/\(id)", key: key).json
            for field in ["customer_id", "name", "order_count", "visit_count", "total_spend"] {
                #expect("\(one[field] ?? "-")" == "\(other[field] ?? "-")", "\(id) \(field)")
            }
            let timeline = try await coordinator.request("GET", "/api/v1/customers/\(id)/events?limit=3", key: key)
            #expect((timeline.json["events"] as? [[String: Any]])?.isEmpty == false)
        }
        #expect(try await coordinator.request("GET", "/api/v1/customers/nobody-at-all", key: key).status == 404)
        #expect(try await coordinator.request("GET", "/api/v1/campaigns", key: key).status == 421)

        // A shard down: counts and its customers are a 503 naming it; customers of the other shards still answer.
        shards[1].process.send(SIGKILL)
        _ = shards[1].process.waitForExit(timeout: 30)
        let (_, refused) = try await count(coordinator, Self.rules[0])
        let down = try await coordinator.request(
            "POST", "/api/v1/segments/preview", key: key, json: ["rules": Self.rules[0]])
        #expect(down.status == 503, "\(refused)")
        #expect((down.json["detail"] as? String)?.contains(urls[1]) == true, "\(down.text)")
        let onDownShard = try #require(
            members.first { Partitioner.partition(forKey: Array($0.utf8), partitionCount: 4) == 1 })
        let onLiveShard = try #require(
            members.first { Partitioner.partition(forKey: Array($0.utf8), partitionCount: 4) == 0 })
        let lost = try await coordinator.request("GET", "/api/v1/customers/\(onDownShard)", key: key)
        #expect(lost.status == 503 && lost.text.contains(urls[1]), "\(lost.text)")
        #expect(try await coordinator.request("GET", "/api/v1/customers/\(onLiveShard)", key: key).status == 200)
        #expect(try await coordinator.request("GET", "/readyz").status == 503)

        // Back on its address with its data: exact again.
        shards[1] = try Self.shard(directories[1], port: ports[1], partitions: shares[1], cluster: cluster)
        let (expected, _) = try await count(reference, Self.rules[0])
        let exact = try await coordinator.eventually(timeoutSeconds: 60) {
            try await count(coordinator, Self.rules[0]).0 == expected
        }
        #expect(exact)
        #expect(try await coordinator.request("GET", "/api/v1/customers/\(onDownShard)", key: key).status == 200)
        for node in shards + [coordinator, reference] { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
    }
}
