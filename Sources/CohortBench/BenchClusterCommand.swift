import ArgumentParser
import CommandSupport
import Events
import Foundation

/// `cohort bench cluster`: several local nodes against `cohort broker`, each in its own process (README "Beyond one
/// machine"): durable ingest through an ingest node by partition count, a count through a coordinator and three
/// shards against the same count on one node, and how fast a new replica catches up.
struct BenchClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Several local nodes on cohort broker: ingest by partition count, counts through shards, catch-up.",
        discussion: """
            Every node, the broker and the load run on this machine, so the figures show the design's costs (hops, \
            fan-out, folding from Kafka), not a cluster's capacity. The development broker keeps about 5 MiB per \
            partition: --customers stays small enough for the 24 partitions of the count and catch-up runs.
            """)

    @Option(help: "Partition counts for the ingest runs, comma-separated.")
    var partitions = "1,4,16"
    @Option(help: "Events per ingest run (requests of 1,000 over 4 connections).") var events = 200_000
    @Option(help: "Customers of the count and catch-up runs (orders and visits twice as many each).")
    var customers = 20_000
    @Option(help: "Count requests per node and round.") var probes = 400
    @Option(help: "Runs (ingest per partition count, catch-ups) and rounds (counts, alternating).") var runs = 3

    func validate() throws {
        guard partitionCounts.count >= 1, partitionCounts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--partitions must list counts between 1 and 256")
        }
        guard (1_000...10_000_000).contains(events), (100...60_000).contains(customers), probes >= 10, runs >= 1
        else { throw ValidationError("--events 1000…10M, --customers 100…60000, --probes ≥ 10, --runs ≥ 1") }
    }

    var partitionCounts: [Int] {
        partitions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func run() throws {
        let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
        try ingest(binary)
        try countsAndCatchUp(binary)
    }

    // MARK: Ingest by partition count

    private func ingest(_ binary: String) throws {
        let bodies = BenchIngestCommand.generatedEvents(events, seed: 1).chunks(of: 1_000).map(
            BenchIngestCommand.arrayBody)
        Output.line(
            "ingest: \(events) events in requests of 1,000 over 4 connections to an ingest node on cohort broker")
        for count in partitionCounts {
            var rates: [Double] = []
            for run in 1...runs {
                let cluster = try LocalCluster(binary, partitions: count)
                defer { cluster.stop() }
                let node = try cluster.node(["--role", "ingest"])
                let requests = bodies.map {
                    HTTPLoadConnection.request(
                        method: "POST", path: "/api/v1/events", host: "127.0.0.1:\(node.port)", body: $0,
                        authorization: "Bearer \(cluster.key)")
                }
                let seconds = try BenchIngestCommand.drive(
                    host: "127.0.0.1", port: node.port, requests: requests, connections: 4
                ).seconds
                rates.append(Double(events) / seconds)
                Output.line("  \(count) partitions, run \(run): \(Int(rates.last!)) events/s (durable: acks=all)")
            }
            Output.line("ingest: \(count) partitions: median \(Int(BenchMeasure.median(rates))) events/s")
        }
    }

    // MARK: Counts through shards, catch-up

    private func countsAndCatchUp(_ binary: String) throws {
        let cluster = try LocalCluster(binary, partitions: 24)
        defer { cluster.stop() }
        let generated = try BenchCampaignCommand.output(
            binary,
            [
                "generate", "--into-log", "--brokers", cluster.brokers, "--customers", "\(customers)", "--orders",
                "\(customers * 2)", "--visits", "\(customers * 2)", "--seed", "9",
            ])
        guard let records = Int(generated.split(separator: "\n").last ?? "") else {
            throw ValidationError("cohort generate printed no record count: \(generated)")
        }
        Output.line("catch-up: a new query node folding \(records) records from cohort broker (24 partitions)")
        var catchUps: [Double] = []
        for run in 1...runs {
            let started = ContinuousClock.now
            let replica = try cluster.node(["--role", "query"])
            try cluster.waitReady(replica)
            let seconds = BenchMeasure.seconds(since: started)
            catchUps.append(Double(records) / seconds)
            Output.line(
                "  run \(run): ready after \(BenchMeasure.format(seconds)) s (start-up included): "
                    + "\(Int(catchUps.last!)) records/s")
            cluster.stop(replica)
        }
        Output.line("catch-up: median \(Int(BenchMeasure.median(catchUps))) records/s")

        let single = try cluster.node(["--role", "query"])
        let shards = try ["0-7", "8-15", "16-23"].map {
            try cluster.node(["--role", "query", "--set", "node.partitions=\($0)"])
        }
        let coordinator = try cluster.node(
            ["--role", "query", "--set", "node.shards=\(shards.map(\.url).joined(separator: ","))"])
        for node in [single] + shards + [coordinator] { try cluster.waitReady(node) }
        Output.line(
            "counts: SPEC §5's rule (its threshold varied so that no answer comes from the preview cache), \(probes) "
                + "sequential requests per node and round, one node against a coordinator over three shards")
        var single50: [Double] = []
        var single99: [Double] = []
        var sharded50: [Double] = []
        var sharded99: [Double] = []
        for round in 1...runs {
            for (label, node) in [("one node", single), ("coordinator", coordinator)] {
                let latencies = try cluster.counts(node, probes: probes, round: round).sorted()
                let p50 = BenchIngestCommand.percentile(latencies, 0.5)
                let p99 = BenchIngestCommand.percentile(latencies, 0.99)
                if node === single {
                    single50.append(p50)
                    single99.append(p99)
                } else {
                    sharded50.append(p50)
                    sharded99.append(p99)
                }
                Output.line(
                    "  round \(round), \(label): p50 \(BenchMeasure.format(p50)) ms, p99 \(BenchMeasure.format(p99)) ms"
                )
            }
        }
        Output.line(
            "counts: one node median p50 \(BenchMeasure.format(BenchMeasure.median(single50))) ms, p99 "
                + "\(BenchMeasure.format(BenchMeasure.median(single99))) ms; coordinator median p50 "
                + "\(BenchMeasure.format(BenchMeasure.median(sharded50))) ms, p99 "
                + "\(BenchMeasure.format(BenchMeasure.median(sharded99))) ms")
        for node in [coordinator] + shards + [single] { cluster.stop(node) }
    }
}

/// `cohort broker` in a process of its own, an admin key in its log, and the nodes started against it.
final class LocalCluster {
    let brokers: String
    let key: String
    private let binary: String
    private let broker: Process
    private var nodes: [ChildServer] = []
    /// One directory for everything the cluster's processes write (a node's data, the key command's), removed by
    /// `stop`.
    private let scratchRoot = NSTemporaryDirectory() + "cohort-bench-cluster-\(UUID().uuidString)"

    init(_ binary: String, partitions: Int) throws {
        self.binary = binary
        broker = Process()
        broker.executableURL = URL(fileURLWithPath: binary)
        broker.arguments = ["broker", "--partitions", "\(partitions)"]
        let output = Pipe()
        broker.standardOutput = output
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { line.append(byte) }
        brokers = String(decoding: line, as: UTF8.self)
        guard brokers.contains(":") else {
            broker.terminate()
            throw ValidationError("cohort broker printed no address")
        }
        key = try BenchCampaignCommand.output(
            binary, ["keys", "create", "--brokers", brokers, "--data", scratchRoot + "/keys", "--scope", "admin"])
    }

    /// A fresh directory inside the cluster's.
    private func scratch() -> String { scratchRoot + "/" + UUID().uuidString }

    /// A `cohort serve` on a data directory of its own, with `arguments` added.
    func node(_ arguments: [String]) throws -> ChildServer {
        let node = try ChildServer(
            binary,
            [
                "serve", "--data", scratch(), "--http", "127.0.0.1:0", "--brokers", brokers, "--set",
                "log.level=warning",
            ] + arguments)
        nodes.append(node)
        return node
    }

    /// Waits until `node`'s /readyz answers 200 (ten minutes at most).
    func waitReady(_ node: ChildServer) throws {
        let connection = try HTTPLoadConnection(host: "127.0.0.1", port: node.port)
        let request = HTTPLoadConnection.request(method: "GET", path: "/readyz", host: "127.0.0.1", body: [])
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            if try connection.exchange(request).status == 200 { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw ValidationError("\(node.url) was not ready after ten minutes")
    }

    /// `probes` sequential previews of SPEC §5's rule on `node`, each with another threshold; latencies in ms.
    func counts(_ node: ChildServer, probes: Int, round: Int) throws -> [Double] {
        let connection = try HTTPLoadConnection(host: "127.0.0.1", port: node.port)
        var latencies: [Double] = []
        for probe in 0..<probes {
            let threshold = 10_000 + round * 100_000 + probe
            let body = Array(
                (#"{"sample":0,"rules":{"or":[{"and":[{"field":"total_spend","op":"gt","value":\#(threshold)},"#
                    + #"{"field":"visit_count","op":"lt","value":3}]},"#
                    + #"{"field":"days_since_last_order","op":"gt","value":90},"#
                    + #"{"not":{"field":"tags","op":"contains","value":"vip"}}]}}"#).utf8)
            let request = HTTPLoadConnection.request(
                method: "POST", path: "/api/v1/segments/preview", host: "127.0.0.1", body: body,
                authorization: "Bearer \(key)")
            let sent = ContinuousClock.now
            let reply = try connection.exchange(request)
            latencies.append(BenchMeasure.seconds(since: sent) * 1000)
            guard reply.status == 200 else {
                throw ValidationError("\(node.url) answered a preview with \(reply.status)")
            }
        }
        return latencies
    }

    /// Stops one node (SIGTERM, then waits).
    func stop(_ node: ChildServer) {
        node.stop()
        nodes.removeAll { $0 === node }
    }

    func stop() {
        for node in nodes { node.stop() }
        nodes.removeAll()
        broker.terminate()
        broker.waitUntilExit()
        try? FileManager.default.removeItem(atPath: scratchRoot)
    }
}
