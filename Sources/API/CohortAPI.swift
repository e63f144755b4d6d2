import CohortConfig
import EventLog
import EventRecords
import Events
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Projections
import Segments

/// Everything the HTTP API reads from and writes to, built once by `serve` (and by tests the same way).
public struct APIDependencies: Sendable {
    public var log: any EventLog
    public var store: ReadModelStore
    public var index: CustomerIndex
    /// nil on an ingest node, which folds nothing.
    public var projector: Projector?
    /// What this node answers; the other routes get 421 naming the roles that do.
    public var role: NodeRole
    /// The API keys, as the log has them (every node has them; nil only where the API is built without a log).
    public var keys: APIKeyStore?
    /// Who may call the scoped routes; nil when the node runs with `--auth none`.
    public var authenticator: (any Authenticator)?
    public var configuration: CohortConfiguration
    public var metrics: NodeMetrics
    public var logger: Logger
    /// The AI helpers, made from `configuration`.
    public let assist: Assistants
    /// Browser sign-in and sessions; nil on a node without authentication.
    public var signIn: SignIn?
    /// Campaign launches this node is appending.
    public let launches = LaunchTracker()
    /// The projector's folding rate, as the overview shows it.
    let foldRate = RateMeter()
    /// On a coordinator, which shard folds which partition.
    let shardMap: ShardMap
    /// On a shard, the partition count of the customer topics (its `/healthz` says which of them it folds).
    public var shardPartitionCount: Int32?

    public init(
        log: any EventLog, store: ReadModelStore, index: CustomerIndex, projector: Projector?,
        authenticator: (any Authenticator)?,
        configuration: CohortConfiguration, metrics: NodeMetrics, logger: Logger, signIn: SignIn? = nil,
        role: NodeRole = .all, keys: APIKeyStore? = nil
    ) {
        self.signIn = signIn
        self.role = role
        self.keys = keys
        shardMap = ShardMap(shards: configuration.nodeShards)
        self.log = log
        self.store = store
        self.index = index
        self.projector = projector
        self.authenticator = authenticator
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        assist = Assistants(configuration: configuration, metrics: metrics, logger: logger)
    }
}

/// One endpoint: what the router serves, what `/docs` lists and what the OpenAPI test checks.
public struct Route: Sendable {
    public let method: HTTPRequest.Method
    /// The path as in `openapi.yaml`, `{name}` for parameters.
    public let path: String
    /// The scope a key needs; nil for endpoints open to everyone (health, readiness).
    public let scope: Scope?
    public let summary: String
    let handler: @Sendable (Request, CohortRequestContext) async throws -> Response
    /// What the route is for: which node roles answer it.
    var duty = RouteDuty.query

    /// This route with `duty`.
    func doing(_ duty: RouteDuty) -> Route {
        var route = self
        route.duty = duty
        return route
    }
}

/// The HTTP API of SPEC §6 under `/api/v1`, plus the ops endpoints at the root.
public struct CohortAPI: Sendable {
    let dependencies: APIDependencies
    public static let prefix = "/api/v1"

    public init(_ dependencies: APIDependencies) {
        self.dependencies = dependencies
    }

    /// Every route, in documentation order.
    public var routes: [Route] {
        ingestRoutes.map { $0.doing(.ingest) } + customerRoutes + segmentRoutes + assistRoutes + campaignRoutes
            + dashboardRoutes + signInRoutes + opsRoutes.map { $0.doing(.ops) }
    }

    /// A router serving `routes`, each behind its scope check, with metrics and problem+json errors.
    public func router() -> Router<CohortRequestContext> {
        let router = Router(context: CohortRequestContext.self)
        let role = dependencies.role
        let coordinates = !dependencies.configuration.nodeShards.isEmpty
        let coordinated = coordinates ? coordinatorHandlers : [:]
        for declared in routes {
            // A coordinator answers some reads by asking its shards, and no other read.
            let coordinatorHandler = coordinated[declared.method.rawValue + " " + declared.path]
            let route =
                coordinatorHandler.map {
                    Route(
                        method: declared.method, path: declared.path, scope: declared.scope,
                        summary: declared.summary, handler: $0, duty: declared.duty)
                } ?? declared
            let notCoordinated = coordinates && route.duty == .query && coordinatorHandler == nil
            router.on(RouterPath(route.path), method: route.method) { request, context in
                guard role.serves(route.duty) else { return Self.render(Self.misdirected(route.duty, role: role)) }
                guard !notCoordinated else { return Self.render(Self.notCoordinated) }
                return await self.serve(route, request, context)
            }
        }
        for page in pages {
            router.get(RouterPath(page.path)) { request, context in
                guard role.serves(.query) else { return Self.render(Self.misdirected(.query, role: role)) }
                guard !coordinates else { return Self.render(Self.notCoordinated) }
                do { return try await page.handler(request, context) } catch let problem as Problem {
                    return Self.render(problem)
                }
            }
        }
        return router
    }

    /// The header on every answer of a node with a projector: records its read models are behind the log (as of
    /// the last refresh).
    static let lagHeader = HTTPField.Name("Cohort-Lag")!

    /// 421 from a coordinator for a read it does not fan out.
    static let notCoordinated = Problem(
        .misdirectedRequest, "Misdirected request",
        detail: "a coordinator (node.shards) answers segment previews, members, exports and customer reads; "
            + "send this request to a query node that folds every partition")

    /// 421: a node of `role` does not answer routes of `duty`; the detail names the roles that do.
    static func misdirected(_ duty: RouteDuty, role: NodeRole) -> Problem {
        let roles = NodeRole.serving(duty).map(\.rawValue).joined(separator: " or ")
        return Problem(
            .misdirectedRequest, "Misdirected request",
            detail: "this node's role is \(role.rawValue); send this request to a node whose role is \(roles)")
    }

    private func serve(_ route: Route, _ request: Request, _ context: CohortRequestContext) async -> Response {
        let started = ContinuousClock.now
        var response: Response
        var context = context
        do {
            context.principal = try await authorize(route, request)
            response = try await route.handler(request, context)
        } catch let problem as Problem {
            response = Self.render(problem)
        } catch let refusal as ForwardedRefusal {
            response = refusal.response
        } catch let error as NIOTooManyBytesError {
            _ = error
            response = Self.render(
                .tooLarge(
                    "the body is larger than limits.body_bytes_max (\(dependencies.configuration.bodyBytesMax) bytes)"))
        } catch {
            dependencies.logger.error(
                "request failed", metadata: ["http.route": "\(route.path)", "error": "\(error)"])
            response = Self.render(Problem(.internalServerError, "Internal error", detail: "see the server log"))
        }
        // Answers say how far behind the log this node's read models are, so that a client or a balancer can pick
        // a replica.
        if let projector = dependencies.projector {
            response.headers[Self.lagHeader] = String(projector.totalLag())
        }
        dependencies.metrics.increment(
            "cohort_http_requests_total",
            dimensions: [
                ("route", route.path), ("method", route.method.rawValue), ("status", String(response.status.code)),
            ])
        dependencies.metrics.observe(
            "cohort_http_request_duration_seconds", dimensions: [("route", route.path)], since: started)
        return response
    }

    /// The caller of a scoped route, who must hold its scope (401 without credentials, 403 without the scope);
    /// nil for open routes and on a node without authentication.
    private func authorize(_ route: Route, _ request: Request) async throws -> Principal? {
        guard let scope = route.scope, let authenticator = dependencies.authenticator else { return nil }
        guard let principal = try await authenticator.authenticate(request) else {
            throw Problem(
                .unauthorized, "Unauthorized", detail: authenticator.instructions, headers: Problem.bearerChallenge)
        }
        guard principal.may(scope) else {
            throw Problem(
                .forbidden, "Forbidden",
                detail: "this \(principal.kind == .apiKey ? "key" : "user") (\(principal.id)) lacks the "
                    + "\"\(scope.rawValue)\" scope; it has "
                    + principal.scopes.sorted().map(\.rawValue).joined(separator: ", "))
        }
        return principal
    }

    // MARK: Helpers shared by the route files

    static func render(_ problem: Problem) -> Response {
        var fields = problem.headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: problem.status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: problem.json.serialized())))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    static func text(_ text: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Appends `events` to their topics in one durable append: all of them or none. While the log is unavailable
    /// (a broker outage) that is a 503 with `Retry-After`; any other log failure a 500.
    func appendDurably(_ events: some Collection<CloudEvent>) async throws {
        let configuration = dependencies.configuration
        do {
            _ = try await dependencies.log.append(
                events.map { $0.outgoingRecord(topic: configuration.topic($0.type.stream.defaultTopic)) })
        } catch {
            dependencies.logger.warning("append failed", metadata: ["error": "\(error)"])
            if error.isRetriable {
                throw Problem.unavailable(
                    "the event log did not acknowledge in time; nothing was accepted, retry later", retryAfterSeconds: 1
                )
            }
            throw Problem(.internalServerError, "Log error", detail: "the event log failed; nothing was accepted")
        }
    }

    /// The media types of JSON bodies.
    static let jsonMediaTypes = [
        "application/json", "application/cloudevents+json", "application/cloudevents-batch+json",
    ]

    /// The body, at most `limits.body_bytes_max` bytes (413 beyond), declared as one of `accepted` (415 otherwise;
    /// a body without `Content-Type` is taken as JSON; nil accepts any declaration).
    func body(_ request: Request, accepting accepted: [String]? = Self.jsonMediaTypes) async throws -> [UInt8] {
        if let accepted, let declared = request.headers[.contentType] {
            let type = (declared.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            guard accepted.contains(type) else {
                throw Problem(
                    .unsupportedMediaType, "Unsupported media type",
                    detail: "Content-Type \"\(type)\" is not accepted here; send one of "
                        + accepted.joined(separator: ", "))
            }
        }
        let buffer = try await request.body.collect(upTo: dependencies.configuration.bodyBytesMax)
        return Array(buffer.readableBytesView)
    }

    /// The body parsed as JSON (400 with the position of the syntax error).
    func jsonBody(_ request: Request) async throws -> JSONValue {
        let bytes = try await body(request)
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw Problem.badRequest("malformed JSON: \(error.description)")
        }
    }

    /// A JSON object body (422 for any other JSON type).
    func objectBody(_ request: Request) async throws -> JSONObject {
        guard case .object(let object) = try await jsonBody(request) else {
            throw Problem.unprocessable("expected a JSON object", errors: [("", "expected a JSON object")])
        }
        return object
    }

    /// `limit` from the query: 1…`limits.page_size_max`, default `fallback`.
    func pageSize(_ request: Request, default fallback: Int = 100) throws -> Int {
        let maximum = dependencies.configuration.pageSizeMax
        guard let text = request.uri.queryParameters["limit"] else { return min(fallback, maximum) }
        guard let value = Int(text), value >= 1 else {
            throw Problem.unprocessable(
                "limit must be a positive integer", errors: [("/limit", "not a positive integer")])
        }
        guard value <= maximum else {
            throw Problem.unprocessable(
                "limit \(value) exceeds limits.page_size_max (\(maximum))", errors: [("/limit", "at most \(maximum)")])
        }
        return value
    }

    /// `as_of` from a query or body value; now when absent.
    static func asOf(_ text: String?) throws -> Timestamp {
        guard let text else { return now() }
        guard let time = Timestamp(rfc3339: text) else {
            throw Problem.unprocessable(
                "as_of must be an RFC 3339 time", errors: [("/as_of", "not an RFC 3339 time: \(text)")])
        }
        return time
    }

    /// A pointer into an event's `data` made relative to the plain object the client sent.
    static func dataRelative(_ pointer: String) -> String {
        pointer.hasPrefix("/data") ? String(pointer.dropFirst(5)) : pointer
    }

    static func now() -> Timestamp { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6)) }
}
