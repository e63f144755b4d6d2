import API
import Campaigns
import ArgumentParser
import CohortConfig
import EventLog
import Events
import Foundation
import Hummingbird
import Logging
import Projections
import Segments
import ServiceLifecycle

/// `cohort serve`: one node — event log, projector with the segment index, HTTP API — in one `ServiceGroup`
/// that shuts down gracefully on SIGTERM/SIGINT (the open batch is committed first).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: the event log (embedded, or Kafka with --brokers), the projector and the HTTP API.",
        discussion: """
            Prints `listening on http://HOST:PORT` on stdout once the server accepts connections (port 0 picks a \
            free one). API keys live in <data.dir>/api-keys.json; create them with `cohort keys create`.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "HOST:PORT to listen on (http.listen).") var http: String?

    @Option(help: "api-keys (default) or none: no authentication, for local demos only.") var auth = "api-keys"

    @Flag(help: "Run no projector: an ingest-only node (reads show the read models as they are on disk).")
    var noProjector = false

    func validate() throws {
        guard ["api-keys", "none"].contains(auth) else { throw ValidationError("--auth must be api-keys or none") }
    }

    func run() async throws {
        var configuration = try options.load()
        if let http { configuration.httpListen = http }
        let (host, port) = try Self.hostAndPort(configuration.httpListen)
        let logger = LoggingSetup.logger("cohort.serve", level: configuration.logLevel)

        let log = try await Wiring.openLog(configuration, logger: logger)
        let store = try ReadModelStore(path: configuration.readModelsPath)
        let started = ContinuousClock.now
        let index = try CustomerIndex.build(from: store)
        logger.info(
            "segment index built",
            metadata: [
                "index.customers": "\(index.customerCount)", "index.mib": "\(index.byteCount / 1_048_576)",
                "index.ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
            ])
        var projectorConfiguration = Wiring.projectorConfiguration(configuration, deadLetters: true)
        // A serving node wants fresh reads more than large batches: close a batch 5 ms after its first record.
        projectorConfiguration.batchWaitMs = 5
        let projector = Projector(
            log: log, store: store, configuration: projectorConfiguration, observer: index, logger: logger)

        let keys: APIKeyStore?
        if auth == "none" {
            keys = nil
            logger.warning("AUTHENTICATION IS OFF (--auth none): anyone who can reach this port has full access")
        } else {
            keys = try APIKeyStore(path: Self.keysPath(configuration))
        }
        let api = CohortAPI(
            APIDependencies(
                log: log, store: store, index: index, projector: noProjector ? nil : projector, keys: keys,
                configuration: configuration,
                metrics: Metrics(), logger: logger))
        let application = Application(
            router: api.router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "cohort"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                Output.line("listening on http://\(host):\(bound)")
            },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: application)]
        if !noProjector { services.insert(.init(service: ProjectorService(projector: projector)), at: 0) }
        if !configuration.vendorURL.isEmpty {
            var delivery = DeliveryWorker.Configuration(
                vendorBatchURL: configuration.vendorURL + "/v1/messages/batch",
                deliveriesTopic: configuration.topic(EventStream.deliveries.defaultTopic))
            delivery.concurrency = configuration.deliveryConcurrency
            delivery.batchSize = configuration.deliveryBatchSize
            delivery.requestTimeoutMs = configuration.deliveryRequestTimeoutMs
            let worker = DeliveryWorker(
                log: log, store: store, progress: try OffsetStore(path: configuration.deliveryProgressPath),
                configuration: delivery, logger: logger)
            services.append(.init(service: DeliveryService(worker: worker)))
            logger.info("delivery worker on", metadata: ["vendor.url": "\(configuration.vendorURL)"])
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        await log.close()
    }

    static func keysPath(_ configuration: CohortConfiguration) -> String {
        configuration.dataDirectory + "/api-keys.json"
    }

    static func hostAndPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else { throw ValidationError("http.listen must be HOST:PORT, got \"\(text)\"") }
        return (String(text[..<colon]), port)
    }
}

/// The delivery worker as a service: stops taking new messages on shutdown, after recording what it sent.
struct DeliveryService: Service {
    let worker: DeliveryWorker

    func run() async throws {
        _ = try await withGracefulShutdownHandler {
            try await worker.run()
        } onGracefulShutdown: {
            worker.stop()
        }
    }
}

/// The projector as a service: runs until the group shuts down, then commits its open batch and returns.
struct ProjectorService: Service {
    let projector: Projector

    func run() async throws {
        _ = try await withGracefulShutdownHandler {
            try await projector.run(until: .never)
        } onGracefulShutdown: {
            projector.stop()
        }
    }
}
