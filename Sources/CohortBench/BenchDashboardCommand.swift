import ArgumentParser
import CommandSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `cohort bench dashboard`: the dashboard in Debian's headless chromium against a node with many customers.
struct BenchDashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Measure each dashboard page's time to interactive and the builder's keystroke-to-count time.",
        discussion: """
            Generates --customers customers (with as many orders and visits, dated up to yesterday) into a fresh \
            data directory and folds them (untimed; --work reuses a directory prepared before), saves the SPEC §5 \
            rule as a segment and launches a small campaign, starts `cohort serve` and drives headless chromium \
            through chromium-driver (WebDriver), signed in with the node's one-time link. Each page is loaded \
            --loads times; from the browser's Navigation Timing it reports DOMContentLoaded and load, and the \
            page's own `cohort-loaded` mark: the moment its data is on screen (time to interactive). Then it types \
            --keystrokes keystrokes into the builder's amount field, one at a time, and reports the time from each \
            keystroke's event to the frame that paints the new count, as the page measures it (p50, p95, max).
            """)

    @Option(help: "Customers (orders and visits: as many again each).") var customers = 1_000_000
    @Option(help: "Loads of each page.") var loads = 5
    @Option(help: "Keystrokes typed into the builder.") var keystrokes = 60
    @Option(help: "Working directory (kept when given, and reused when it already holds a log).") var work: String?
    @Option(help: "The chromium binary.") var chromium = "/usr/bin/chromium"
    @Option(help: "The chromium-driver binary.") var chromedriver = "/usr/bin/chromedriver"

    func validate() throws {
        guard customers >= 1_000, loads >= 1, keystrokes >= 1 else {
            throw ValidationError("--customers ≥ 1000, --loads ≥ 1, --keystrokes ≥ 1")
        }
        for path in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: path) {
            throw ValidationError("\(path) is missing (scripts/setup installs chromium and chromium-driver)")
        }
    }

    static let specRule =
        #"{"or":[{"and":[{"field":"total_spend","op":"gt","value":10000},{"field":"visit_count","op":"lt","value":3}]},"#
        + #"{"field":"days_since_last_order","op":"gt","value":90},{"not":{"field":"tags","op":"contains","value":"vip"}}]}"#

    func run() throws {
        let directory = work ?? NSTemporaryDirectory() + "cohort-bench-dashboard-\(UUID().uuidString)"
        defer { if work == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let started = ContinuousClock.now
        if !FileManager.default.fileExists(atPath: directory + "/log") {
            Output.line("bench dashboard: generating \(customers) customers with their orders and visits…")
            try BenchCampaignCommand.run(
                binary,
                [
                    "generate", "--data", directory, "--customers", "\(customers)", "--orders", "\(customers)",
                    "--visits", "\(customers)", "--start", "recent", "--into-log",
                ])
        }
        try BenchCampaignCommand.run(binary, ["project", "--data", directory, "--until-caught-up"])
        Output.line(
            "bench dashboard: data ready in \(BenchMeasure.format(BenchMeasure.seconds(since: started))) s (untimed)")

        let key = try BenchCampaignCommand.output(
            binary, ["keys", "create", "--data", directory, "--scope", "admin", "--name", "bench dashboard"])
        let node = try ChildServer(
            binary,
            [
                "serve", "--data", directory, "--http", "127.0.0.1:0", "--set", "log.level=warning",
                "--sign-in-link", "bench@example.com",
            ])
        defer { node.stop() }
        guard let link = try node.nextLine().split(separator: " ").last.map(String.init), link.hasPrefix("http")
        else { throw ValidationError("serve printed no sign-in link") }
        let api = try HTTPLoadConnection(host: "127.0.0.1", port: node.port)
        func call(_ method: String, _ path: String, _ body: String = "") throws -> [String: Any] {
            let request = HTTPLoadConnection.request(
                method: method, path: path, host: "127.0.0.1:\(node.port)", body: Array(body.utf8),
                authorization: "Bearer \(key)")
            let reply = try api.exchange(request)
            return (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
        }
        let segment = "bench-spec"
        _ = try call(
            "POST", "/api/v1/segments",
            #"{"segment_id":"\#(segment)","name":"SPEC §5 rule","rules":\#(Self.specRule)}"#)
        _ = try call(
            "POST", "/api/v1/campaigns",
            #"{"campaign_id":"bench-dashboard","name":"Bench","template":"Hi {{first_name|there}}","#
                + #""rules":{"field":"customer_id","op":"starts_with","value":"c-42-1000"}}"#)
        try waitUntil("the campaign draft") { try call("GET", "/api/v1/campaigns/bench-dashboard")["status"] != nil }
        _ = try call("POST", "/api/v1/campaigns/bench-dashboard/launch", "{}")
        try waitUntil("the segment") { try call("GET", "/api/v1/segments/\(segment)")["size"] != nil }
        let customer =
            ((try call("GET", "/api/v1/customers?limit=1")["customers"] as? [[String: Any]])?.first?["customer_id"]
                as? String) ?? ""

        let browser = try WebDriverSession(chromedriver: chromedriver, chromium: chromium)
        defer { browser.close() }
        try browser.navigate(link)
        let pages = [
            ("overview", "/"), ("customers", "/customers"), ("customer", "/customers/\(customer)"),
            ("segments", "/segments"), ("builder", "/segments/\(segment)"), ("campaigns", "/campaigns"),
            ("campaign", "/campaigns/bench-dashboard"), ("new campaign", "/campaigns/new?segment=\(segment)"),
        ]
        Output.line(
            "bench dashboard: \(customers) customers, \(loads) loads per page, medians in ms "
                + "(data shown = the page's cohort-loaded mark: time to interactive)")
        Output.line("page            DOMContentLoaded     load    data shown")
        for (name, path) in pages {
            var timings: [[Double]] = []
            for _ in 0..<loads {
                try browser.navigate(node.url + path)
                try waitUntil("\(path) to show its data", seconds: 60) {
                    try browser.execute("return performance.getEntriesByName('cohort-loaded').length") as? Int == 1
                }
                let values =
                    try browser.execute(
                        """
                        const n = performance.getEntriesByType('navigation')[0];
                        return [n.domContentLoadedEventEnd, n.loadEventEnd,
                                performance.getEntriesByName('cohort-loaded')[0].startTime];
                        """) as? [Double] ?? []
                timings.append(values)
            }
            let medians = (0..<3).map { column in BenchMeasure.median(timings.map { $0[column] }) }
            Output.line(
                name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + medians.map { String(format: "%16.1f", $0) }.joined())
        }

        // The live count as the builder sees it: keystrokes into the amount of the rule's first condition.
        try browser.navigate(node.url + "/segments/\(segment)")
        try waitUntil("the builder", seconds: 60) {
            // The first count, painted: its timing is in, so the ones below are the keystrokes' only.
            try browser.execute("return (window.cohortTimings || []).length") as? Int ?? 0 >= 1
        }
        _ = try browser.execute("window.cohortTimings = []; return 0")
        let field = try browser.element(".rule-condition .cond-input")
        for index in 0..<keystrokes {
            // Alternately a digit more and one less: 10000 ⇄ 100000 keeps every count exact and different.
            try browser.type(index % 2 == 0 ? "0" : "\u{E003}", into: field)
            try waitUntil("count \(index + 1)", seconds: 10) {
                (try browser.execute("return window.cohortTimings.length") as? Int ?? 0) > index
            }
        }
        let measured = (try browser.execute("return window.cohortTimings") as? [Double] ?? []).sorted()
        func percentile(_ share: Double) -> Double {
            measured[min(measured.count - 1, Int((Double(measured.count) * share).rounded(.up)) - 1)]
        }
        Output.line(
            "live count, keystroke → count painted (\(measured.count) keystrokes, SPEC §5 rule at "
                + "\(customers) customers): p50 \(BenchMeasure.format(percentile(0.5))) ms, "
                + "p95 \(BenchMeasure.format(percentile(0.95))) ms, max \(BenchMeasure.format(measured.last ?? 0)) ms")
    }

    private func waitUntil(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw ValidationError("timed out waiting for \(what)")
    }
}

/// The few WebDriver commands the benchmark needs, spoken to chromium-driver over one HTTP connection.
final class WebDriverSession {
    private let driver: Process
    private let connection: HTTPLoadConnection
    private let port: Int
    private var session = ""

    init(chromedriver: String, chromium: String) throws {
        port = try Self.freePort()
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: chromedriver)
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        var connected: HTTPLoadConnection?
        for _ in 0..<200 where connected == nil {
            connected = try? HTTPLoadConnection(host: "127.0.0.1", port: port)
            if connected == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let connected else { throw ValidationError("chromium-driver did not start") }
        connection = connected
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000",
                        ],
                    ],
                ]
            ]
        ]
        let created = try command("POST", "/session", capabilities)
        guard let id = (created as? [String: Any])?["sessionId"] as? String else {
            throw ValidationError("chromium-driver refused the session: \(String(describing: created))")
        }
        session = id
    }

    func navigate(_ url: String) throws { _ = try command("POST", "/session/\(session)/url", ["url": url]) }

    func execute(_ script: String) throws -> Any? {
        try command("POST", "/session/\(session)/execute/sync", ["script": script, "args": []])
    }

    func element(_ css: String) throws -> String {
        let found = try command("POST", "/session/\(session)/element", ["using": "css selector", "value": css])
        guard let id = (found as? [String: Any])?.values.first as? String else {
            throw ValidationError("no element \(css)")
        }
        return id
    }

    func type(_ text: String, into element: String) throws {
        _ = try command("POST", "/session/\(session)/element/\(element)/value", ["text": text])
    }

    func close() {
        if !session.isEmpty { _ = try? command("DELETE", "/session/\(session)", nil) }
        driver.terminate()
        driver.waitUntilExit()
    }

    /// Sends one command; the answer's `value`, or an error naming WebDriver's.
    private func command(_ method: String, _ path: String, _ body: Any?) throws -> Any? {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        let reply = try connection.exchange(
            HTTPLoadConnection.request(method: method, path: path, host: "127.0.0.1:\(port)", body: bytes))
        let json = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        guard reply.status == 200 else {
            throw ValidationError("WebDriver \(method) \(path): \(reply.status) \(String(describing: json?["value"]))")
        }
        if path == "/session" { return json?["value"] }
        return json?["value"] as Any?
    }

    /// A port nothing listens on now (bound, read, released).
    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw ValidationError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
