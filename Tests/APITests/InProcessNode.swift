import API
import CohortConfig
import Events
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport

/// A whole node built by `buildApplication` in a temporary directory and driven in process through
/// HummingbirdTesting's router client: the same routes, authenticator and projector as `cohort serve`, no socket.
struct InProcessNode {
    let directory = TemporaryDirectory("cohort-api")
    var configuration = CohortConfiguration()
    /// One key per scope, by scope.
    private(set) var keys: [Scope: String] = [:]
    /// Their records, appended to the node's log when it starts.
    private var keyRecords: [APIKeyRecord] = []

    init(configure: (inout CohortConfiguration) -> Void = { _ in }) throws {
        configuration.dataDirectory = directory.path
        configuration.partitions = 2
        configure(&configuration)
        let now = Timestamp(microseconds: 0)
        for scope in Scope.allCases {
            let (secret, record) = APIKeyStore.newKey(name: "test-\(scope.rawValue)", scopes: [scope], now: now)
            keys[scope] = secret
            keyRecords.append(record)
        }
    }

    /// Runs `body` against the node, whose services (log, projector) run meanwhile and stop after it.
    func run<Value: Sendable>(
        logger: Logger = Logger(label: "api-test"), options: NodeOptions = NodeOptions(),
        _ body: @Sendable (NodeClient) async throws -> Value
    ) async throws -> Value {
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        _ = try await log.append(
            keyRecords.map { APIKeyStore.createdRecord($0, topic: NodeWiring.keysTopic(configuration)) })
        await log.close()
        let application = try await buildApplication(configuration: configuration, options: options, logger: logger)
        let keys = keys
        return try await application.test(.router) { client in try await body(NodeClient(client: client, keys: keys)) }
    }
}

/// A response with its body decoded, for assertions.
struct NodeResponse {
    let status: Int
    let headers: HTTPFields
    let text: String

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    var contentType: String? { headers[.contentType] }
    var isProblem: Bool { contentType == "application/problem+json" }
    /// The problem's detail, when the body is a problem.
    var detail: String { json["detail"] as? String ?? "" }
    /// `name=value` of each `Set-Cookie`, by name, and the attributes as sent.
    var setCookies: [String: (value: String, attributes: String)] {
        var cookies: [String: (value: String, attributes: String)] = [:]
        for header in headers[values: .setCookie] {
            let first = header.split(separator: ";", maxSplits: 1)
            let pair = first[0].split(separator: "=", maxSplits: 1)
            guard let name = pair.first else { continue }
            cookies[String(name)] = (pair.count == 2 ? String(pair[1]) : "", first.count == 2 ? String(first[1]) : "")
        }
        return cookies
    }
}

/// Requests as a caller holding one scope's key (or none) sends them.
struct NodeClient: Sendable {
    let client: any TestClientProtocol
    let keys: [Scope: String]

    func request(
        _ method: HTTPRequest.Method, _ uri: String, as scope: Scope? = nil, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> NodeResponse {
        var headers = extra
        if let scope { headers[.authorization] = "Bearer \(keys[scope]!)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(
            uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        return NodeResponse(
            status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Asks `probe` again (every 10 ms, for at most `seconds`) until it holds: the projector folds asynchronously.
    func eventually(seconds: Double = 20, _ probe: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await probe() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await probe()
    }
}
