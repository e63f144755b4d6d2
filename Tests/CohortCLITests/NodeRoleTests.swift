import Foundation
import Testing
import TestSupport

/// Node roles (SPEC §14) against one cluster (`cohort broker` in its own process): an ingest node, two query nodes
/// as replicas, a worker delivering to `cohort vendor-sim`; each node with a data directory of its own.
@Suite("node roles", .serialized)
struct NodeRoleTests {
    static var bigSpenders: [String: Any] { ["field": "total_spend", "op": "gte", "value": 5000] }

    /// `cohort broker` with 4 partitions holding generated traffic, and the arguments that point a node at it
    /// (without authentication: these tests are about roles, `keysAcrossNodes` about keys).
    static func cluster(customers: Int, orders: Int, visits: Int) throws -> (DevBroker, [String]) {
        let broker = try DevBroker(partitions: 4)
        let generate = try ChildProcess.cohort([
            "generate", "--brokers", broker.bootstrapServers, "--into-log", "--customers", "\(customers)", "--orders",
            "\(orders)", "--visits", "\(visits)",
        ])
        #expect(generate.waitForExit(timeout: 120) == 0, "\(generate.errorOutput)")
        return (broker, ["--brokers", broker.bootstrapServers, "--auth", "none"])
    }

    @Test("ingest, two replicas and a worker: writes, equal reads, 421 elsewhere, one delivery each, a late replica")
    func ingestQueryWorker() async throws {
        let (broker, cluster) = try Self.cluster(customers: 300, orders: 900, visits: 300)
        defer { _ = broker.stop() }

        let vendor = try ServeNode.vendorSim()
        defer { vendor.stop() }
        let ingest = try ServeNode(extraArguments: cluster + ["--role", "ingest"])
        defer { ingest.stop() }
        let replicas = try (0..<2).map { _ in
            try ServeNode(extraArguments: cluster + ["--role", "query", "--set", "vendor.url=\(vendor.baseURL)"])
        }
        defer { for replica in replicas { replica.stop() } }
        let worker = try ServeNode(
            extraArguments: cluster + ["--role", "worker", "--set", "vendor.url=\(vendor.baseURL)"])
        defer { worker.stop() }
        let hook = try await vendor.request(
            "POST", "/v1/webhooks", json: ["receipts_url": ingest.baseURL + "/api/v1/receipts"])
        #expect(hook.status == 200)

        for (node, role) in [(ingest, "ingest"), (replicas[0], "query"), (worker, "worker")] {
            #expect(try await node.request("GET", "/healthz").json["role"] as? String == role)
        }
        // Writes go to the ingest node, reads to the query nodes; the others say where to go.
        let batch: [[String: Any]] = [
            ServeTests.event("r-1", "crm.customer.upserted", ["customer_id": "role-1", "name": "Mira"]),
            ServeTests.event(
                "r-2", "crm.order.placed",
                ["order_id": "o-r", "customer_id": "role-1", "amount": 7000, "currency": "INR"]),
        ]
        let body = try JSONSerialization.data(withJSONObject: batch)
        let accepted = try await ingest.request(
            "POST", "/api/v1/events", body: body, contentType: "application/cloudevents-batch+json")
        #expect(accepted.status == 202, "\(accepted.text)")
        let misdirectedWrite = try await replicas[0].request(
            "POST", "/api/v1/events", body: body, contentType: "application/cloudevents-batch+json")
        #expect(misdirectedWrite.status == 421)
        #expect((misdirectedWrite.json["detail"] as? String)?.contains("ingest or all") == true)
        for node in [ingest, worker] {
            let read = try await node.request("GET", "/api/v1/customers/role-1")
            #expect(read.status == 421)
            #expect((read.json["detail"] as? String)?.contains("query or all") == true, "\(read.text)")
            #expect(try await node.request("GET", "/").status == 421, "the dashboard is on query nodes")
        }

        // Both replicas catch up and answer alike.
        for replica in replicas {
            let caughtUp = try await replica.eventually(timeoutSeconds: 60) {
                let ready = try await replica.request("GET", "/readyz")
                let mira = try await replica.request("GET", "/api/v1/customers/role-1")
                return ready.status == 200 && mira.status == 200
            }
            #expect(caughtUp)
        }
        var counts: [Int] = []
        for replica in replicas {
            let preview = try await replica.request(
                "POST", "/api/v1/segments/preview", json: ["rules": Self.bigSpenders])
            #expect(preview.status == 200)
            #expect(preview.header("Cohort-Lag") == "0", "a caught-up replica says it is 0 records behind")
            counts.append(try #require(preview.json["count"] as? Int))
            let mira = try await replica.request("GET", "/api/v1/customers/role-1")
            #expect(mira.json["order_count"] as? Int == 1)
        }
        #expect(counts.count == 2 && counts[0] == counts[1] && counts[0] > 1, "replicas agree: \(counts)")

        // A campaign launched on a query node is delivered by the worker alone, each message once; its receipts come
        // back through the ingest node, and both replicas show the same stats.
        let created = try await replicas[0].request(
            "POST", "/api/v1/campaigns",
            json: ["campaign_id": "roles", "name": "Roles", "template": "Hi", "rules": Self.bigSpenders])
        #expect(created.status == 202, "\(created.text)")
        #expect(
            try await replicas[0].eventually(timeoutSeconds: 30) {
                try await replicas[0].request("GET", "/api/v1/campaigns/roles").json["status"] as? String == "draft"
            })
        let launched = try await replicas[0].request("POST", "/api/v1/campaigns/roles/launch")
        #expect(launched.status == 202, "\(launched.text)")
        let audience = try #require(launched.json["audience"] as? Int)
        #expect(audience == counts[0])
        func stats(_ node: ServeNode) async throws -> [String: Int] {
            (try await node.request("GET", "/api/v1/campaigns/roles").json["stats"] as? [String: Int]) ?? [:]
        }
        for replica in replicas {
            let settled = try await replica.eventually(timeoutSeconds: 60) {
                let stats = try await stats(replica)
                let vendorStats = try await CampaignTests.Setup.counters(of: vendor)
                return stats["queued"] == audience && stats["pending"] == 0
                    && vendorStats["receipts_sent"] == vendorStats["accepted"]
                    && (stats["delivered"] ?? 0) + (stats["bounced"] ?? 0) + (stats["opened"] ?? 0)
                        == vendorStats["accepted"]
            }
            let final = try await stats(replica)
            #expect(settled, "stats on \(replica.baseURL): \(final)")
        }
        let vendorStats = try await CampaignTests.Setup.counters(of: vendor)
        #expect(vendorStats["accepted"]! + vendorStats["rejected"]! == audience, "each message decided once")
        #expect(vendorStats["duplicates"] == 0)
        let first = try await stats(replicas[0])
        let second = try await stats(replicas[1])
        #expect(first == second)
        #expect(worker.process.errorOutput.contains("delivery worker on"))
        for replica in replicas { #expect(!replica.process.errorOutput.contains("delivery worker on")) }

        // Nothing more is appended; a replica added now catches up, reports ready, and all three replicas' read models
        // are the same (equal digests).
        for node in [ingest, worker] { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
        vendor.stop()
        let late = try ServeNode(extraArguments: cluster + ["--role", "query"])
        defer { late.stop() }
        for replica in replicas + [late] {
            #expect(
                try await replica.eventually(timeoutSeconds: 60) {
                    try await replica.request("GET", "/readyz").status == 200
                })
        }
        let lateStats = try await stats(late)
        #expect(lateStats == first)
        var digests: Set<String> = []
        for replica in replicas + [late] {
            #expect(replica.stop() == 0, "\(replica.process.errorOutput)")
            let digest = try ChildProcess.cohort(["digest", "--data", replica.directory.path])
            #expect(digest.waitForExit(timeout: 60) == 0)
            digests.insert(try #require(digest.outputLines.last))
        }
        #expect(digests.count == 1, "replicas folded the same read models: \(digests)")
    }

    @Test(
        "API keys live in the log: created or revoked with cohort keys anywhere, in force on every node within a second"
    )
    func keysAcrossNodes() async throws {
        let broker = try DevBroker(partitions: 2)
        defer { _ = broker.stop() }
        let cluster = ["--brokers", broker.bootstrapServers]
        func keys(_ arguments: [String], exit expected: Int32 = 0) throws -> ChildProcess {
            // A data directory of its own: the keys come from the cluster, not from a node's directory.
            let child = try ChildProcess.cohort(
                ["keys"] + arguments + cluster + ["--data", TemporaryDirectory("cohort-keys").path])
            #expect(child.waitForExit(timeout: 60) == expected, "\(child.errorOutput)")
            return child
        }
        let first = try #require(try keys(["create", "--scope", "ingest,read", "--name", "first"]).outputLines.first)
        let nodes = [
            try ServeNode(extraArguments: cluster + ["--role", "ingest"]),
            try ServeNode(extraArguments: cluster + ["--role", "query"]),
        ]
        defer { for node in nodes { node.stop() } }
        let paths = ["/api/v1/visits", "/api/v1/customers"]
        func status(_ index: Int, _ key: String) async throws -> Int {
            index == 0
                ? try await nodes[0].request("POST", paths[0], key: key, json: ["customer_id": "k-1"]).status
                : try await nodes[1].request("GET", paths[1], key: key).status
        }
        for index in nodes.indices { #expect(try await status(index, first) == (index == 0 ? 202 : 200)) }

        // A key created while the nodes run, and a record on the keys' topic that is not a key, skipped.
        let poison = try ChildProcess.cohort(
            ["log", "append", "--topic", "cohort.keys", "--data", TemporaryDirectory("cohort-keys").path] + cluster,
            stdin: true)
        poison.write("{\"type\":\"created\",\"id\":42}\nnot json\n")
        poison.closeStdin()
        #expect(poison.waitForExit(timeout: 60) == 0)
        let second = try #require(try keys(["create", "--scope", "read", "--name", "second"]).outputLines.first)
        for index in nodes.indices {
            let accepted = try await nodes[index].eventually(timeoutSeconds: 10) {
                try await status(index, second) == (index == 0 ? 403 : 200)
            }
            #expect(accepted, "node \(index) knows the new key (a read key: 403 on ingest, 200 on reads)")
        }
        let listed = try keys(["list"]).outputLines
        #expect(
            listed.count == 2 && listed.contains { $0.hasSuffix("\tfirst") }
                && listed.contains { $0.hasSuffix("\tsecond") })

        // Revoked from yet another process: every node refuses the key soon after.
        let id = String(try #require(listed.first { $0.hasSuffix("\tfirst") }).split(separator: "\t")[0])
        let revoking = Date()
        _ = try keys(["revoke", id])
        for index in nodes.indices {
            let refused = try await nodes[index].eventually(timeoutSeconds: 10) {
                try await status(index, first) == 401
            }
            #expect(refused, "node \(index) refuses the revoked key")
        }
        let seconds = Date().timeIntervalSince(revoking)
        print("revocation in force on both nodes \(String(format: "%.2f", seconds)) s after cohort keys revoke started")
        #expect(seconds < 3, "a revocation takes effect within about a second (\(seconds) s)")
        _ = try keys(["revoke", id], exit: 1)
        for node in nodes { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
    }

    @Test("a one-time sign-in link used on one node is refused by every other (spent through the log)")
    func oneTimeLinksAcrossNodes() async throws {
        let broker = try DevBroker(partitions: 2)
        defer { _ = broker.stop() }
        // Nodes of one deployment share their session keys, so that a link made by one opens on any.
        let shared = [
            "--brokers", broker.bootstrapServers, "--role", "query", "--set",
            "auth.session_keys=\(Data(repeating: 7, count: 32).base64EncodedString())",
        ]
        let maker = try ServeNode(extraArguments: shared + ["--sign-in-link", "admin@example.com"])
        defer { maker.stop() }
        let other = try ServeNode(extraArguments: shared)
        defer { other.stop() }
        #expect(maker.process.waitForLines(2, timeout: 30))
        let line = try #require(maker.process.outputLines.first { $0.hasPrefix("sign in (one-time link") })
        let path = try #require(line.range(of: "/auth/link?").map { String(line[$0.lowerBound...]) })

        // Used on the other node first: it signs in there; the node that made it then refuses it, and so does the
        // other node when it comes again.
        let first = try await other.request("GET", path)
        #expect(first.status == 200, "\(first.status) \(first.text.prefix(300))")
        for node in [maker, other] {
            let again = try await node.request("GET", path)
            #expect(
                again.status >= 400 && again.text.contains("already used"), "\(again.status) \(again.text.prefix(300))")
        }
        for node in [maker, other] { #expect(node.stop() == 0, "\(node.process.errorOutput)") }
    }

    @Test("a worker without vendor.url and an unknown role are refused at start")
    func refusedConfigurations() throws {
        let directory = TemporaryDirectory("cohort-role")
        let worker = try ChildProcess.cohort([
            "serve", "--data", directory.path, "--http", "127.0.0.1:0", "--role", "worker",
        ])
        #expect(worker.waitForExit(timeout: 60) != 0)
        #expect(worker.errorOutput.contains("vendor.url, which is not set"), "\(worker.errorOutput)")
        let beyond = try ChildProcess.cohort([
            "serve", "--data", directory.path, "--http", "127.0.0.1:0", "--role", "query", "--set",
            "node.partitions=2,9",
        ])
        #expect(beyond.waitForExit(timeout: 60) != 0)
        #expect(
            beyond.errorOutput.contains("names partition 9, but the customer topics have 8"), "\(beyond.errorOutput)")
        // Read models folded from every partition cannot become a shard's: they hold other shards' customers.
        let folded = TemporaryDirectory("cohort-role-folded")
        for arguments in [
            ["generate", "--data", folded.path, "--into-log", "--customers", "50", "--orders", "50", "--visits", "0"],
            ["project", "--data", folded.path, "--until-caught-up"],
        ] {
            let step = try ChildProcess.cohort(arguments)
            #expect(step.waitForExit(timeout: 60) == 0, "\(step.errorOutput)")
        }
        let replicaAsShard = try ChildProcess.cohort([
            "serve", "--data", folded.path, "--http", "127.0.0.1:0", "--role", "query", "--set", "node.partitions=0-3",
        ])
        #expect(replicaAsShard.waitForExit(timeout: 60) != 0)
        #expect(
            replicaAsShard.errorOutput.contains("hold partitions 4,5,6,7, which this shard does not fold"),
            "\(replicaAsShard.errorOutput)")
        let coordinator = try ChildProcess.cohort([
            "serve", "--data", directory.path, "--http", "127.0.0.1:0", "--set", "node.shards=http://127.0.0.1:9",
        ])
        #expect(coordinator.waitForExit(timeout: 60) != 0)
        #expect(coordinator.errorOutput.contains("run it with --role query"), "\(coordinator.errorOutput)")
        let unknown = try ChildProcess.cohort(["serve", "--data", directory.path, "--role", "reader"])
        #expect(unknown.waitForExit(timeout: 60) == 64)
        #expect(unknown.errorOutput.contains("--role must be one of all, ingest, query, worker"))
        let environment = try ChildProcess.cohort(
            ["config", "--data", directory.path], environment: ["COHORT_NODE_ROLE": "nobody"])
        #expect(environment.waitForExit(timeout: 60) != 0)
        #expect(environment.errorOutput.contains("expected one of all, ingest, query, worker"))
    }
}
