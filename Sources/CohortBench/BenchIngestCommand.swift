import ArgumentParser
import CommandSupport
import Events
import Foundation
import Projections
import Synthetic

/// `cohort bench ingest`: a load generator over real sockets against a real `cohort serve` in its own process.
struct BenchIngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Measure HTTP ingest: durable batches, single-event requests with latency, and freshness.",
        discussion: """
            Starts `cohort serve` (this binary) on a fresh data directory and a free port for each measurement and \
            drives it over keep-alive HTTP/1.1 connections, one thread each. batch: --events generated events in \
            POST /api/v1/events arrays of --batch over --batch-connections. single: --requests one-event \
            requests over --connections, each latency recorded. freshness: a background load of --background-rate \
            events/s while a probe upserts a new customer every 20 ms and polls a preview count until it shows; \
            the time from the 2xx to the first preview that counts it is the freshness. The server's projector \
            folds everything as it arrives; a batch run also waits until every event is folded and reports that \
            end-to-end rate beside the durable one (unless --no-projector).
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case batch, single, freshness, all
    }

    @Option(help: "Which measurement: batch, single, freshness or all.") var mode: Mode = .all
    @Option(help: "Runs of batch and single; medians are reported.") var runs = 3
    @Option(help: "Events per batch run.") var events = 1_000_000
    @Option(help: "Events per batch request.") var batch = 1_000
    @Option(help: "Connections for batch runs.") var batchConnections = 4
    @Option(help: "Requests per single-event run.") var requests = 200_000
    @Option(help: "Connections for single-event runs.") var connections = 64
    @Option(help: "Freshness probes.") var probes = 500
    @Option(help: "Background events/s during the freshness run.") var backgroundRate = 10_000
    @Flag(help: "Batch and single runs against an ingest node (serve --role ingest): ingest alone.")
    var noProjector = false

    func validate() throws {
        guard (1...20).contains(runs) else { throw ValidationError("--runs must be 1…20") }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1…10,000") }
        guard (1...512).contains(connections), (1...64).contains(batchConnections) else {
            throw ValidationError("--connections must be 1…512 and --batch-connections 1…64")
        }
        guard events >= batch, requests >= connections, probes >= 10 else {
            throw ValidationError("--events must be ≥ --batch, --requests ≥ --connections, --probes ≥ 10")
        }
    }

    func run() throws {
        if mode == .batch || mode == .all {
            let bodies = Self.generatedEvents(events, seed: 1).chunks(of: batch).map(Self.arrayBody)
            Output.line("batch: \(events) events in requests of \(batch) over \(batchConnections) connections")
            var rates: [Double] = []
            var foldedRates: [Double] = []
            for run in 1...runs {
                let node = try BenchNode(noProjector: noProjector)
                defer { node.stop() }
                let start = ContinuousClock.now
                let seconds = try Self.drive(
                    host: node.host, port: node.port, requests: bodies.map { node.post("/api/v1/events", $0) },
                    connections: batchConnections
                ).seconds
                rates.append(Double(events) / seconds)
                var line = "  run \(run): \(Int(rates.last!)) events/s (\(BenchMeasure.format(seconds)) s, durable)"
                if !noProjector {
                    // Ingest alone does not say whether the node keeps up: the run ends once every event is folded.
                    try node.waitUntilFolded(events)
                    let folded = BenchMeasure.seconds(since: start)
                    foldedRates.append(Double(events) / folded)
                    line +=
                        "; all folded at \(BenchMeasure.format(folded)) s: \(Int(foldedRates.last!)) events/s end to end"
                }
                Output.line(line)
            }
            Output.line(
                "batch: median \(Int(BenchMeasure.median(rates))) events/s durable"
                    + (foldedRates.isEmpty ? "" : ", \(Int(BenchMeasure.median(foldedRates))) events/s folded"))
        }
        if mode == .single || mode == .all {
            let bodies = Self.generatedEvents(requests, seed: 2).map { $0 }
            Output.line("single: \(requests) one-event requests over \(connections) connections")
            var rates: [Double] = []
            var p50s: [Double] = []
            var p99s: [Double] = []
            for run in 1...runs {
                let node = try BenchNode(noProjector: noProjector)
                defer { node.stop() }
                let result = try Self.drive(
                    host: node.host, port: node.port, requests: bodies.map { node.post("/api/v1/events", $0) },
                    connections: connections)
                let sorted = result.latencies.sorted()
                rates.append(Double(requests) / result.seconds)
                p50s.append(Self.percentile(sorted, 0.50))
                p99s.append(Self.percentile(sorted, 0.99))
                Output.line(
                    "  run \(run): \(Int(rates.last!)) requests/s, p50 \(BenchMeasure.format(p50s.last!)) ms, "
                        + "p99 \(BenchMeasure.format(p99s.last!)) ms, p99.9 "
                        + "\(BenchMeasure.format(Self.percentile(sorted, 0.999))) ms")
            }
            Output.line(
                "single: median \(Int(BenchMeasure.median(rates))) requests/s, median p50 "
                    + "\(BenchMeasure.format(BenchMeasure.median(p50s))) ms, median p99 "
                    + "\(BenchMeasure.format(BenchMeasure.median(p99s))) ms")
        }
        if mode == .freshness || mode == .all {
            try freshness()
        }
    }

    // MARK: Freshness

    private func freshness() throws {
        let node = try BenchNode()
        defer { node.stop() }
        let perRequest = 100
        let background = Self.generatedEvents(backgroundRate * 120, seed: 3).chunks(of: perRequest).map(Self.arrayBody)
        let stop = StopFlag()
        let sent = SharedCounter()
        let finished = DispatchSemaphore(value: 0)
        let loadThread = Thread {
            defer { finished.signal() }
            do {
                let connection = try HTTPLoadConnection(host: node.host, port: node.port)
                // One request of 100 events every 100/rate seconds, against a deadline so pauses do not drift.
                let interval = Double(perRequest) / Double(backgroundRate)
                let start = Date()
                var index = 0
                while !stop.isSet && index < background.count {
                    let due = start.addingTimeInterval(Double(index) * interval)
                    let wait = due.timeIntervalSinceNow
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    let reply = try connection.exchange(node.post("/api/v1/events", background[index]))
                    if reply.status != 202 { Output.error("freshness: background load got \(reply.status)") }
                    _ = sent.increment()
                    index += 1
                }
            } catch {
                Output.error("freshness: background load failed: \(error)")
            }
        }
        let loadStarted = ContinuousClock.now
        loadThread.start()
        // The load stops (and its thread ends) before the node does.
        defer {
            stop.set()
            finished.wait()
            let rate = Double(sent.value * perRequest) / BenchMeasure.seconds(since: loadStarted)
            Output.line("freshness: background load sustained \(Int(rate)) events/s")
        }
        let connection = try HTTPLoadConnection(host: node.host, port: node.port)
        var samples: [Double] = []
        Output.line("freshness: \(probes) probes under \(backgroundRate) events/s of background ingest")
        for probe in 0..<probes {
            let started = Date()
            let id = "probe-\(probe)"
            let upsert = try connection.exchange(
                node.post("/api/v1/customers", Array(#"{"customer_id":"\#(id)"}"#.utf8)))
            guard upsert.status == 202 else { throw ValidationError("probe upsert answered \(upsert.status)") }
            let acknowledged = ContinuousClock.now
            let preview = node.post(
                "/api/v1/segments/preview",
                Array(#"{"sample":0,"rules":{"field":"customer_id","op":"eq","value":"\#(id)"}}"#.utf8))
            while true {
                let reply = try connection.exchange(preview)
                if reply.status == 200, String(decoding: reply.body, as: UTF8.self).hasPrefix(#"{"count":1"#) { break }
                guard ContinuousClock.now - acknowledged < .seconds(10) else {
                    throw ValidationError("probe \(id) not visible after 10 s")
                }
            }
            samples.append(BenchMeasure.seconds(since: acknowledged) * 1000)
            let pause = 0.02 - Date().timeIntervalSince(started)
            if pause > 0 { Thread.sleep(forTimeInterval: pause) }
        }
        let sorted = samples.sorted()
        Output.line(
            "freshness: p50 \(BenchMeasure.format(Self.percentile(sorted, 0.5))) ms, p99 "
                + "\(BenchMeasure.format(Self.percentile(sorted, 0.99))) ms, max \(BenchMeasure.format(sorted.last!)) ms "
                + "(2xx on ingest → first preview that counts it)")
    }

    // MARK: Driving

    /// Sends every request once (each expecting 202), spread over `connections` threads; returns the wall time and
    /// each latency in ms.
    static func drive(host: String, port: Int, requests: [[UInt8]], connections: Int) throws
        -> (seconds: Double, latencies: [Double])
    {
        let next = SharedCounter()
        let failures = SharedCounter()
        let group = DispatchGroup()
        let results = LatencyResults(threads: connections)
        let start = ContinuousClock.now
        for thread in 0..<connections {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let connection = try HTTPLoadConnection(host: host, port: port)
                    var latencies: [Double] = []
                    while true {
                        let index = next.increment() - 1
                        guard index < requests.count else { break }
                        let sent = ContinuousClock.now
                        let reply = try connection.exchange(requests[index])
                        latencies.append(BenchMeasure.seconds(since: sent) * 1000)
                        if reply.status != 202 { _ = failures.increment() }
                    }
                    results.store(latencies, at: thread)
                } catch {
                    _ = failures.increment()
                    Output.error("bench ingest: connection failed: \(error)")
                }
            }.start()
        }
        group.wait()
        let seconds = BenchMeasure.seconds(since: start)
        guard failures.value == 0 else {
            throw ValidationError("\(failures.value) requests were not accepted (see the lines above)")
        }
        return (seconds, results.all)
    }

    static func generatedEvents(_ count: Int, seed: UInt64) -> [[UInt8]] {
        var options = EventGenerator.Options()
        options.customers = max(1, count / 10)
        options.orders = count * 4 / 10
        options.visits = count
        options.seed = seed
        var generator = EventGenerator(options: options)
        var values: [[UInt8]] = []
        values.reserveCapacity(count)
        while values.count < count, let item = generator.next() { values.append(item.value) }
        return values
    }

    static func arrayBody(_ values: ArraySlice<[UInt8]>) -> [UInt8] {
        var body: [UInt8] = [0x5B]
        for (index, value) in values.enumerated() {
            if index > 0 { body.append(0x2C) }
            body.append(contentsOf: value)
        }
        body.append(0x5D)
        return body
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }
}

/// A `cohort serve` child on a fresh data directory and a free port, with an ingest+read key.
final class BenchNode: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable after init.
    let host = "127.0.0.1"
    let port: Int
    let key: String
    private let server: ChildServer
    private let directory: String

    init(noProjector: Bool = false) throws {
        directory = NSTemporaryDirectory() + "cohort-bench-ingest-\(UUID().uuidString)"
        let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
        key = try BenchCampaignCommand.output(
            binary, ["keys", "create", "--data", directory, "--scope", "ingest,read"])
        server = try ChildServer(
            binary,
            ["serve", "--data", directory, "--http", "127.0.0.1:0", "--set", "log.level=warning"]
                + (noProjector ? ["--role", "ingest"] : []))
        port = server.port
    }

    func post(_ path: String, _ body: [UInt8]) -> [UInt8] {
        HTTPLoadConnection.request(
            method: "POST", path: path, host: "\(host):\(port)", body: body, authorization: "Bearer \(key)")
    }

    /// Waits until the node's read models count `events` events folded (the overview's `ingest.events_folded`,
    /// a counter in the same transactions as the state); fails after ten minutes.
    func waitUntilFolded(_ events: Int) throws {
        let request = HTTPLoadConnection.request(
            method: "GET", path: "/api/v1/overview?days=1", host: "\(host):\(port)", body: [],
            authorization: "Bearer \(key)")
        let connection = try HTTPLoadConnection(host: host, port: port)
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            let reply = try connection.exchange(request)
            guard reply.status == 200 else {
                throw ValidationError("GET /api/v1/overview answered \(reply.status)")
            }
            if case .object(let overview) = try JSONParser.parse(reply.body),
                case .number(let folded)? = overview["ingest"]?.objectValue?["events_folded"],
                let count = folded.int64Value, count >= events
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw ValidationError("the node had not folded \(events) events after ten minutes")
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Thread-safe helpers for the load threads.
final class SharedCounter: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    func increment() -> Int {
        lock.withLock {
            count += 1; return count
        }
    }
    var value: Int { lock.withLock { count } }
}

final class StopFlag: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var raised = false
    func set() { lock.withLock { raised = true } }
    var isSet: Bool { lock.withLock { raised } }
}

final class LatencyResults: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var perThread: [[Double]]
    init(threads: Int) { perThread = Array(repeating: [], count: threads) }
    func store(_ values: [Double], at index: Int) { lock.withLock { perThread[index] = values } }
    var all: [Double] { lock.withLock { perThread.flatMap { $0 } } }
}

extension Array {
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}
