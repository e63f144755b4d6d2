import ArgumentParser
import CohortConfig
import CommandSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VendorSim

/// `cohort vendor-sim`: the simulated messaging vendor.
struct VendorSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vendor-sim",
        abstract: "Run a simulated messaging vendor: sends, idempotency keys, signed receipts, injected faults.",
        discussion: """
            Prints `listening on http://HOST:PORT` on stdout. POST /v1/messages (one message, Idempotency-Key \
            header), POST /v1/messages/batch ({"messages": [{"id", "to", "body", "channel"}]}, each id is its \
            idempotency key), POST /v1/webhooks ({"receipts_url": …}), GET /stats. Receipts go to --receipts-url in batches, signed with \
            X-Cohort-Signature: sha256=<hex HMAC-SHA256 of the body with --secret> (or to the URL registered at \
            POST /v1/webhooks).
            """)

    @Option(help: "HOST:PORT to listen on (port 0 picks a free one).") var http = "127.0.0.1:0"
    @Option(help: "Share of messages accepted, 0–1.") var successRate = 0.9
    @Option(help: "Seed of the accept/reject and receipt draws.") var seed: UInt64 = 7
    @Option(help: "Where to post receipts (Cohort's /api/v1/receipts); none if absent.") var receiptsURL: String?
    @Option(help: "HMAC secret for receipt signatures (Cohort's vendor.receipts_secret).") var secret = "dev-secret"
    @Option(help: "Milliseconds added to every send.") var latencyMs = 0
    @Option(help: "Share of send requests answered 429 with Retry-After: 1.") var throttleRate = 0.0
    @Option(help: "Share of send requests answered 500.") var errorRate = 0.0
    @Option(help: "Share of send requests left unanswered for 30 s.") var timeoutRate = 0.0
    @Option(
        help: "What a 4xx answer to a receipt batch does: retry (until accepted) or drop (for good, as vendors do).")
    var receipts4xx: VendorSimulator.ReceiptsOn4xx = .retry

    func validate() throws {
        for (name, value) in [
            ("--success-rate", successRate), ("--throttle-rate", throttleRate), ("--error-rate", errorRate),
            ("--timeout-rate", timeoutRate),
        ] where !(0...1).contains(value) {
            throw ValidationError("\(name) must be between 0 and 1")
        }
        guard throttleRate + errorRate + timeoutRate <= 1 else { throw ValidationError("fault rates add up above 1") }
    }

    func run() async throws {
        let (host, port) = try CohortConfiguration.hostAndPort(http, setting: "--http")
        let logger = LoggingSetup.logger("cohort.vendor-sim", level: "info")
        var configuration = VendorSimulator.Configuration()
        configuration.successRate = successRate
        configuration.seed = seed
        configuration.receiptsURL = receiptsURL
        configuration.receiptsSecret = secret
        configuration.latencyMs = latencyMs
        configuration.throttleRate = throttleRate
        configuration.errorRate = errorRate
        configuration.timeoutRate = timeoutRate
        configuration.receiptsOn4xx = receipts4xx
        let simulator = VendorSimulator(configuration: configuration, logger: logger)
        let application = Application(
            router: simulator.router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "vendor-sim"),
            onServerRunning: { channel in
                Output.line("listening on http://\(host):\(channel.localAddress?.port ?? port)")
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: application), .init(service: ReceiptsService(simulator: simulator))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Posts the simulator's receipts until shutdown.
struct ReceiptsService: Service {
    let simulator: VendorSimulator

    func run() async throws {
        await cancelWhenGracefulShutdown { await simulator.runReceipts() }
    }
}

extension VendorSimulator.ReceiptsOn4xx: ExpressibleByArgument {}
