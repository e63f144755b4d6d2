import ArgumentParser
import CommandSupport
import Foundation

/// `cohort bench campaign`: a campaign to many recipients against `cohort vendor-sim`, both in their own processes.
struct BenchCampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Measure campaign delivery: messages handed to vendor-sim per second, with the stats checked exact.",
        discussion: """
            Generates --customers customers into a fresh data directory and folds them (untimed), starts \
            `cohort vendor-sim` and `cohort serve` with its delivery worker (this binary, separate processes), \
            creates a campaign for everyone and launches it. Reports the launch time (audience snapshot and one \
            durable queued message per recipient) and the delivery rate: recipients divided by the time from the \
            launch's 202 until the vendor has decided every message (the launch answers at once and appends its \
            messages in the background; its time is until the last of them is durable). Then waits for the read models and checks \
            audience = sent + failed, sent = vendor accepted, failed = vendor rejected.
            """)

    @Option(help: "Recipients.") var customers = 1_000_000
    @Option(help: "Messages per vendor request.") var batch = 500
    @Option(help: "Vendor requests in flight.") var concurrency = 4
    @Option(help: "Working directory (default: a fresh temporary one, removed at the end).") var work: String?
    @Option(
        help: "What vendor-sim does with a receipt batch answered 4xx: drop (for good, as real vendors do) or retry.")
    var receipts4xx = "drop"
    @Option(help: "SIGKILL the node this many seconds into delivery and start it again (0: never).")
    var killNodeAfter = 0.0

    func validate() throws {
        guard ["drop", "retry"].contains(receipts4xx) else { throw ValidationError("--receipts4xx is drop or retry") }
        guard killNodeAfter >= 0 else { throw ValidationError("--kill-node-after must be ≥ 0") }
    }

    func run() throws {
        let directory = work ?? NSTemporaryDirectory() + "cohort-bench-campaign-\(UUID().uuidString)"
        defer { if work == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let started = ContinuousClock.now
        try Self.run(
            binary,
            [
                "generate", "--data", directory, "--customers", "\(customers)", "--orders", "0", "--visits", "0",
                "--into-log",
            ])
        try Self.run(binary, ["project", "--data", directory, "--until-caught-up"])
        Output.line(
            "bench campaign: \(customers) customers generated and folded in "
                + "\(BenchMeasure.format(BenchMeasure.seconds(since: started))) s (untimed)")

        let vendor = try ChildServer(binary, ["vendor-sim", "--http", "127.0.0.1:0", "--receipts4xx", receipts4xx])
        defer { vendor.stop() }
        let key = try Self.output(binary, ["keys", "create", "--data", directory, "--scope", "admin"])
        func startNode(port: Int) throws -> ChildServer {
            try ChildServer(
                binary,
                [
                    "serve", "--data", directory, "--http", "127.0.0.1:\(port)", "--set", "log.level=warning", "--set",
                    "vendor.url=\(vendor.url)", "--set", "delivery.batch_size=\(batch)", "--set",
                    "delivery.concurrency=\(concurrency)",
                ])
        }
        var node = try startNode(port: 0)
        defer { node.stop() }
        let vendorConnection = try HTTPLoadConnection(host: "127.0.0.1", port: vendor.port)
        var connection = try HTTPLoadConnection(host: "127.0.0.1", port: node.port)
        func call(_ method: String, _ path: String, _ body: String = "", on server: ChildServer) throws -> [String: Any]
        {
            let request = HTTPLoadConnection.request(
                method: method, path: path, host: "127.0.0.1:\(server.port)", body: Array(body.utf8),
                authorization: "Bearer \(key)")
            let reply = try (server === vendor ? vendorConnection : connection).exchange(request)
            return (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        }
        _ = try call(
            "POST", "/v1/webhooks", #"{"receipts_url":"http://127.0.0.1:\#(node.port)/api/v1/receipts"}"#, on: vendor)
        _ = try call(
            "POST", "/api/v1/campaigns",
            #"{"campaign_id":"bench","name":"Bench","template":"Hi {{first_name|there}}","rules":{"field":"order_count","op":"gte","value":0}}"#,
            on: node)
        while (try call("GET", "/api/v1/campaigns/bench", on: node))["status"] as? String != "draft" {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let launchStarted = ContinuousClock.now
        let launched = try call("POST", "/api/v1/campaigns/bench/launch", on: node)
        guard let audience = launched["audience"] as? Int else { throw ValidationError("launch failed: \(launched)") }
        let acceptedSeconds = BenchMeasure.seconds(since: launchStarted)
        // The launch is accepted at once and appended in the background: it is done when every queued message is
        // durable (`launch.state` done); delivery runs meanwhile, so its clock starts at the 202.
        let sendStarted = ContinuousClock.now
        while true {
            let launch = try call("GET", "/api/v1/campaigns/bench", on: node)["launch"] as? [String: Any]
            if launch?["state"] as? String == "done" { break }
            if launch?["state"] as? String == "failed" { throw ValidationError("launch failed: \(launch ?? [:])") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let launchSeconds = BenchMeasure.seconds(since: launchStarted)
        Output.line(
            "launch: accepted in \(BenchMeasure.format(acceptedSeconds * 1000)) ms; \(audience) queued messages "
                + "durable in \(BenchMeasure.format(launchSeconds)) s")

        var lastPrinted = 0.0
        var killed = false
        while true {
            let stats = try call("GET", "/stats", on: vendor)
            let decided = (stats["accepted"] as? Int ?? 0) + (stats["rejected"] as? Int ?? 0)
            let elapsed = BenchMeasure.seconds(since: sendStarted)
            if decided >= audience { break }
            if killNodeAfter > 0, !killed, elapsed >= killNodeAfter {
                // On the same port: the vendor's receipts keep their address, and fail (and are retried) meanwhile.
                killed = true
                let port = node.port
                node.kill()
                Output.line("kill: node SIGKILLed \(BenchMeasure.format(elapsed)) s into delivery, \(decided) decided")
                node = try startNode(port: port)
                connection = try HTTPLoadConnection(host: "127.0.0.1", port: node.port)
                continue
            }
            if elapsed - lastPrinted >= 5 {
                lastPrinted = elapsed
                Output.error("  \(decided) of \(audience) handed to the vendor after \(Int(elapsed)) s")
            }
            guard elapsed < 1_800 else { throw ValidationError("not every message reached the vendor in 30 minutes") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let sendSeconds = BenchMeasure.seconds(since: sendStarted)
        Output.line(
            "delivery: \(audience) messages handed to vendor-sim in \(BenchMeasure.format(sendSeconds)) s = "
                + "\(Int(Double(audience) / sendSeconds)) messages/s (batches of \(batch), \(concurrency) in flight)")

        // The read models catch up with the outcomes; then the stats must add up exactly.
        var stats: [String: Int] = [:]
        let vendorStats = try call("GET", "/stats", on: vendor)
        while true {
            stats = (try call("GET", "/api/v1/campaigns/bench", on: node))["stats"] as? [String: Int] ?? [:]
            if stats["pending"] == 0 && stats["queued"] == audience { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let exact =
            stats["sent"] == vendorStats["accepted"] as? Int && stats["failed"] == vendorStats["rejected"] as? Int
            && stats["sent"]! + stats["failed"]! == audience
        Output.line(
            "stats: audience \(audience), sent \(stats["sent"] ?? -1), failed \(stats["failed"] ?? -1), vendor accepted "
                + "\(vendorStats["accepted"] ?? -1), rejected \(vendorStats["rejected"] ?? -1), duplicates "
                + "\(vendorStats["duplicates"] ?? -1): \(exact ? "exact" : "MISMATCH")")
        guard exact else { throw ExitCode(1) }
        try checkReceipts(audience: audience) { try call("GET", $0, on: $1 ? vendor : node) }
    }

    /// Waits until the vendor has posted a receipt for every accepted message and the campaign's stats count them,
    /// then checks that each status counted equals what the vendor's webhook accepted, and that none was dropped.
    private func checkReceipts(audience: Int, get: (String, _ vendor: Bool) throws -> [String: Any]) throws {
        let started = ContinuousClock.now
        var vendorStats: [String: Any] = [:]
        while true {
            vendorStats = try get("/stats", true)
            let posted = (vendorStats["receipts_sent"] as? Int ?? 0) + (vendorStats["receipts_dropped"] as? Int ?? 0)
            if posted >= vendorStats["accepted"] as? Int ?? 0 { break }
            guard BenchMeasure.seconds(since: started) < 600 else {
                throw ValidationError("the vendor did not post every receipt in 10 minutes")
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let byStatus = vendorStats["receipts_sent_by_status"] as? [String: Int] ?? [:]
        let statuses = ["delivered", "bounced", "opened", "clicked"]
        var stats: [String: Int] = [:]
        while true {
            stats = (try get("/api/v1/campaigns/bench", false))["stats"] as? [String: Int] ?? [:]
            if statuses.allSatisfy({ stats[$0, default: 0] >= byStatus[$0, default: 0] }) { break }
            guard BenchMeasure.seconds(since: started) < 900 else { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let dropped = vendorStats["receipts_dropped"] as? Int ?? -1
        let exact =
            statuses.allSatisfy { stats[$0, default: 0] == byStatus[$0, default: 0] } && dropped == 0
            && stats["unmatched_receipts"] == 0
        func list(_ counts: [String: Int]) -> String {
            statuses.map { "\($0) \(counts[$0, default: 0])" }.joined(separator: ", ")
        }
        Output.line(
            "receipts: vendor posted \(vendorStats["receipts_sent"] ?? -1) (\(list(byStatus))), dropped \(dropped) "
                + "(4xx: \(receipts4xx)); counted \(list(stats)), unmatched \(stats["unmatched_receipts"] ?? -1): "
                + (exact ? "exact" : "MISMATCH"))
        guard exact else { throw ExitCode(1) }
    }

    static func run(_ binary: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("cohort \(arguments[0]) failed") }
    }

    static func output(_ binary: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A `cohort` server child (serve, vendor-sim) that prints `listening on http://HOST:PORT` first.
final class ChildServer: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    let port: Int
    let url: String
    private let process: Process
    private let output = Pipe()

    init(_ binary: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = output
        try process.run()
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening on "), let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...])
        else {
            process.terminate()
            throw ValidationError("cohort \(arguments[0]) did not start (\"\(text)\")")
        }
        self.port = port
        url = String(text.dropFirst("listening on ".count))
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// The next line the process prints after "listening on" (e.g. `serve --sign-in-link`'s link).
    func nextLine() throws -> String {
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    /// SIGKILL: no chance to commit or clean up, as in a crash.
    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
