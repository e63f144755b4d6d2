import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `cohort serve` on a free port, with its data directory, and a small HTTP client for it.
public final class ServeNode: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; ChildProcess is thread-safe.
    public let directory: TemporaryDirectory
    public let process: ChildProcess
    public let baseURL: String

    /// Starts `cohort serve --http 127.0.0.1:0` on `directory` (created when nil) and waits until it listens.
    public convenience init(directory: TemporaryDirectory? = nil, extraArguments: [String] = []) throws {
        let directory = directory ?? TemporaryDirectory("cohort-serve")
        try self.init(
            arguments: ["serve", "--data", directory.path, "--http", "127.0.0.1:0"] + extraArguments,
            directory: directory)
    }

    /// `cohort vendor-sim` on a free port, with `arguments` added.
    public static func vendorSim(_ arguments: [String] = []) throws -> ServeNode {
        try ServeNode(arguments: ["vendor-sim", "--http", "127.0.0.1:0"] + arguments, directory: TemporaryDirectory())
    }

    /// Any `cohort` command that prints `listening on URL` first.
    public init(arguments: [String], directory: TemporaryDirectory) throws {
        self.directory = directory
        process = try ChildProcess.cohort(arguments)
        guard let line = process.firstLine(timeout: 60), line.hasPrefix("listening on ") else {
            process.terminate()
            throw FixtureError("cohort \(arguments[0]) did not start: \(process.errorOutput)")
        }
        baseURL = String(line.dropFirst("listening on ".count))
    }

    /// Creates an API key with `scopes` in the log of `directory` (or, with `--brokers` among `extraArguments`, in
    /// Kafka's).
    public static func createKey(_ directory: TemporaryDirectory, scopes: String, extraArguments: [String] = []) throws
        -> String
    {
        let child = try ChildProcess.cohort(
            ["keys", "create", "--data", directory.path, "--scope", scopes] + extraArguments)
        guard child.waitForExit(timeout: 60) == 0, let key = child.outputLines.first else {
            throw FixtureError("keys create failed: \(child.errorOutput)")
        }
        return key
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    public func stop() -> Int32? {
        process.send(SIGTERM)
        return process.waitForExit(timeout: 30)
    }

    /// One HTTP exchange.
    public struct Reply: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object (empty when it is not one).
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }
        public func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    public func request(
        _ method: String, _ path: String, key: String? = nil, body: Data? = nil,
        contentType: String = "application/json"
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers["\(name)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }

    public func request(_ method: String, _ path: String, key: String? = nil, json: Any) async throws -> Reply {
        try await request(method, path, key: key, body: try JSONSerialization.data(withJSONObject: json))
    }

    /// Polls `condition` every 10 ms until it holds or `timeoutSeconds` pass; returns whether it held.
    public func eventually(timeoutSeconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await TestSupport.eventually(timeoutSeconds: timeoutSeconds, condition)
    }
}
