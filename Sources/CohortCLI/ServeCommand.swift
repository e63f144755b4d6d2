import API
import ArgumentParser
import CommandSupport
import CoreMetrics
import Hummingbird
import Synchronization

/// `cohort serve`: one node — event log, projector with the segment index, HTTP API, delivery worker — built by
/// `buildApplication` and run until SIGTERM/SIGINT, which stops it gracefully (the open batch is committed first).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: the event log (embedded, or Kafka with --brokers), the projector and the HTTP API.",
        discussion: """
            Prints `listening on http://HOST:PORT` on stdout once the server accepts connections (port 0 picks a \
            free one). API keys are records in the log; create them with `cohort keys create`.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "HOST:PORT to listen on (http.listen).") var http: String?

    @Option(help: "api-keys (default) or none: no authentication, for local demos only.") var auth = "api-keys"

    @Option(
        help:
            "all, ingest (ingest API only), query (projector and reads) or worker (projector and delivery) (node.role)."
    )
    var role: String?

    @Option(help: "Print a one-time admin sign-in link for this e-mail at start (valid 15 minutes, once).")
    var signInLink: String?

    func validate() throws {
        guard NodeOptions.Authentication(rawValue: auth) != nil else {
            throw ValidationError("--auth must be api-keys or none")
        }
        if let role, NodeRole(rawValue: role) == nil {
            throw ValidationError("--role must be one of \(NodeRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        var configuration = try options.load()
        if let http { configuration.httpListen = http }
        if let role { configuration.nodeRole = role }
        let host = try configuration.listenAddress().host
        var node = NodeOptions()
        node.authentication = NodeOptions.Authentication(rawValue: auth)!
        node.role = NodeRole(rawValue: configuration.nodeRole) ?? .all
        let link = Mutex<String?>(nil)
        node.signInLinkEmail = signInLink
        node.onSignInLink = { path in link.withLock { $0 = path } }
        node.onServerRunning = { port in
            Output.line("listening on http://\(host):\(port)")
            if let path = link.withLock({ $0 }) {
                Output.line("sign in (one-time link, 15 minutes): http://\(host):\(port)\(path)")
            }
        }
        // The process's swift-metrics backend is the node's registry, so that what libraries record is exported at
        // /metrics beside Cohort's own series.
        MetricsSystem.bootstrap(node.metrics.factory)
        let logger = LoggingSetup.logger("cohort.serve", level: configuration.logLevel)
        let application = try await buildApplication(configuration: configuration, options: node, logger: logger)
        try await application.runService()
    }
}
