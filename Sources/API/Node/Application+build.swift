import Campaigns
import CohortConfig
import EventLog
import Events
import Hummingbird
import Logging
import Projections
import Segments
import ServiceLifecycle

/// How `buildApplication` shapes a node, beyond its configuration: the `serve` flags.
public struct NodeOptions: Sendable {
    /// Who may call the scoped routes.
    public enum Authentication: String, Sendable {
        /// API keys, kept in the log (`cohort keys`).
        case apiKeys = "api-keys"
        /// Nobody is asked: for local demos only, said loudly in the log and on `/healthz`.
        case none
    }

    public var authentication: Authentication = .apiKeys
    /// What the node runs and answers.
    public var role = NodeRole.all
    /// Called with the bound port once the server accepts connections.
    public var onServerRunning: @Sendable (_ port: Int) async -> Void = { _ in }
    /// Where the node records its metrics: a Prometheus registry of its own unless given.
    public var metrics = NodeMetrics()
    /// When set, a one-time admin sign-in link for this e-mail is made at start and handed to `onSignInLink`.
    public var signInLinkEmail: String?
    /// Receives the path (with its token) of the one-time sign-in link.
    public var onSignInLink: @Sendable (_ path: String) -> Void = { _ in }

    /// The defaults: API keys, every role.
    public init() {}
}

/// A node's HTTP application with its services in dependency order: the log (closed last), the projector, the
/// delivery worker (when a vendor is configured), then the server. `serve` runs it; route tests drive it in
/// process with HummingbirdTesting.
public typealias CohortApplication = Application<RouterResponder<CohortRequestContext>>

/// Builds a whole node from `configuration`: opens the log and the read models, builds the segment index, and
/// wires the projector, the delivery worker and the HTTP API of SPEC §6 into one application.
public func buildApplication(
    configuration: CohortConfiguration, options: NodeOptions = NodeOptions(), logger: Logger
) async throws -> CohortApplication {
    let (host, port) = try configuration.listenAddress()
    let role = options.role
    guard role != .worker || !configuration.vendorURL.isEmpty else {
        throw NodeSetupError("a worker node delivers to the vendor at vendor.url, which is not set")
    }
    // A coordinator (node.shards) folds nothing and keeps no index: it asks the shards.
    let coordinates = !configuration.nodeShards.isEmpty
    guard !coordinates || (role == .query && configuration.nodePartitions.isEmpty) else {
        throw NodeSetupError("node.shards makes a coordinator: run it with --role query and no node.partitions")
    }
    let folds = role.runsProjector && !coordinates
    let keepsIndex = role.keepsIndex && !coordinates
    // Sign-in settings are checked before anything is opened: a mistake there stops the node at once.
    let signIn = options.authentication == .apiKeys ? try SignIn(configuration: configuration, logger: logger) : nil
    let log = try await NodeWiring.openLog(configuration, logger: logger)
    let store = try NodeWiring.openReadModels(configuration, folds: folds, logger: logger)
    let started = ContinuousClock.now
    let index: CustomerIndex
    if !keepsIndex {
        index = CustomerIndex()
    } else {
        index = try CustomerIndex.build(from: store)
        logger.info(
            "segment index built",
            metadata: [
                "index.customers": "\(index.customerCount)", "index.mib": "\(index.byteCount / 1_048_576)",
                "index.ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
            ])
    }
    var projectorConfiguration = NodeWiring.projectorConfiguration(configuration)
    // A serving node wants fresh reads more than large batches: close a batch 5 ms after its first record.
    projectorConfiguration.batchWaitMs = 5
    // Requests first when ingest and the fold contend for the cores: the fold catches up after a burst.
    projectorConfiguration.writeNiceness = 5
    let projector = Projector(
        log: log, store: store, configuration: projectorConfiguration, observer: keepsIndex ? index : nil,
        logger: logger)

    let keys = try await NodeWiring.keys(configuration, log: log, logger: logger)
    let authenticator: (any Authenticator)?
    if let signIn {
        var members: [any Authenticator] = [SessionAuthenticator(signIn: signIn)]
        if let provider = signIn.provider { members.append(IDTokenAuthenticator(provider: provider)) }
        members.append(APIKeyAuthenticator(keys: keys))
        authenticator = AuthenticatorChain(members)
    } else {
        authenticator = nil
        logger.warning("AUTHENTICATION IS OFF (--auth none): anyone who can reach this port has full access")
    }
    var dependencies = APIDependencies(
        log: log, store: store, index: index, projector: folds ? projector : nil, authenticator: authenticator,
        configuration: configuration, metrics: options.metrics, logger: logger, signIn: signIn, role: role, keys: keys)
    if !configuration.nodePartitions.isEmpty {
        dependencies.shardPartitionCount = try await shardPartitionCount(configuration, log: log)
        try checkShardReadModels(configuration, store: store)
    }
    let api = CohortAPI(dependencies)
    logger.info("node role \(role.rawValue)", metadata: ["node.role": "\(role.rawValue)"])
    if let signIn, let email = options.signInLinkEmail {
        let token = signIn.linkToken(email: email, scopes: [Scope.admin.rawValue])
        options.onSignInLink("/auth/link?token=" + token)
    }

    var services: [any Service] = [LogService(log: log), KeysService(keys: keys)]
    if folds { services.append(ProjectorService(projector: projector, store: store)) }
    // Launches are appended by the nodes that answer the campaign routes, which resume their own.
    if keepsIndex { services.append(LaunchResumeService(projector: projector, api: api)) }
    if role.delivers && !configuration.vendorURL.isEmpty {
        var delivery = DeliveryWorker.Configuration(
            vendorBatchURL: configuration.vendorURL + "/v1/messages/batch",
            deliveriesTopic: configuration.topic(EventStream.deliveries.defaultTopic))
        delivery.concurrency = configuration.deliveryConcurrency
        delivery.batchSize = configuration.deliveryBatchSize
        delivery.requestTimeoutMs = configuration.deliveryRequestTimeoutMs
        delivery.group = configuration.topic(configuration.deliveryGroup)
        let worker = DeliveryWorker(
            log: log, store: store, progress: try OffsetStore(path: configuration.deliveryProgressPath),
            configuration: delivery, logger: logger)
        services.append(DeliveryService(worker: worker))
        logger.info("delivery worker on", metadata: ["vendor.url": "\(configuration.vendorURL)"])
    }
    let onServerRunning = options.onServerRunning
    return Application(
        router: api.router(),
        configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "cohort"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}

/// The partition count of the customer topics of a shard, checked: all equal (a customer's events are then in the
/// same partition number of each), and above every partition in `node.partitions`.
private func shardPartitionCount(_ configuration: CohortConfiguration, log: any EventLog) async throws -> Int32 {
    var counts: [String: Int32] = [:]
    for stream in EventStream.customerKeyed {
        let topic = configuration.topic(stream.defaultTopic)
        counts[topic] = try await log.partitionCount(topic: topic)
    }
    guard let count = counts.values.first, counts.values.allSatisfy({ $0 == count }) else {
        throw NodeSetupError(
            "a shard needs the customer topics to have one partition count: "
                + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
    let highest = configuration.nodePartitions.max() ?? 0
    guard highest < count else {
        throw NodeSetupError("node.partitions names partition \(highest), but the customer topics have \(count)")
    }
    return count
}

/// A shard's read models must hold its partitions only: read models a replica folded (every partition) would add
/// other shards' customers to its counts.
private func checkShardReadModels(_ configuration: CohortConfiguration, store: ReadModelStore) throws {
    let owned = Set(configuration.nodePartitions)
    let customerTopics = Set(EventStream.customerKeyed.map { configuration.topic($0.defaultTopic) })
    let foreign = try store.storedOffsets().filter {
        customerTopics.contains($0.key.topic) && !owned.contains($0.key.partition) && $0.value > 0
    }
    guard foreign.isEmpty else {
        let partitions = Set(foreign.keys.map(\.partition)).sorted().map(String.init).joined(separator: ",")
        throw NodeSetupError(
            "the read models at \(configuration.readModelsPath) hold partitions \(partitions), which this shard does "
                + "not fold (node.partitions): start it on fresh read models (data.read_models), it catches up")
    }
}

/// A node that cannot start as configured; the message says what to change.
public struct NodeSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The log as a service: open while the node runs, closed after every service that uses it has stopped.
struct LogService: Service {
    let log: any EventLog

    func run() async throws {
        // Cancellation ends the wait as well as a graceful shutdown does: the log is closed either way.
        try? await gracefulShutdown()
        await log.close()
    }
}

/// Follows the API keys' topic while the node runs, so that keys created or revoked anywhere take effect here.
struct KeysService: Service, CustomStringConvertible {
    let keys: APIKeyStore
    var description: String { "KeysService" }

    func run() async throws {
        await cancelWhenGracefulShutdown { await keys.follow() }
    }
}

/// The projector as a service: runs until the group shuts down, then commits its open batch, syncs the read
/// models and returns.
struct ProjectorService: Service {
    let projector: Projector
    let store: ReadModelStore

    func run() async throws {
        _ = try await withGracefulShutdownHandler {
            try await projector.run(until: .never)
        } onGracefulShutdown: {
            projector.stop()
        }
        try store.close()
    }
}

/// Resumes the campaign launches a stopped node left under way, once the projector has caught up with the log.
struct LaunchResumeService: Service, CustomStringConvertible {
    let projector: Projector
    let api: CohortAPI
    /// What service-lifecycle logs: the default description would print the configuration, secrets included.
    var description: String { "LaunchResumeService" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let lag = projector.lag()
                if !lag.isEmpty, lag.values.allSatisfy({ $0 == 0 }) {
                    api.resumeLaunches()
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        try? await gracefulShutdown()
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
