import EventLog
import Foundation

/// A directory removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked Sendable: immutable.
    public let path: String

    public init(_ label: String = "cohort-test") {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// `cohort broker` running as a separate process.
public final class DevBroker: @unchecked Sendable {
    // @unchecked Sendable: immutable after start.
    public let process: ChildProcess
    /// Its bootstrap address, as printed on its first stdout line.
    public let bootstrapServers: String

    /// Starts a broker with the `crm.*` topics (and `extraTopics`) of `partitions` partitions.
    public init(partitions: Int32 = 4, extraTopics: [String] = []) throws {
        process = try ChildProcess.cohort(
            ["broker", "--partitions", String(partitions)] + extraTopics.flatMap { ["--topic", $0] })
        guard let line = process.firstLine(timeout: 30), line.contains(":") else {
            throw FixtureError("cohort broker printed no bootstrap address; stderr: \(process.errorOutput)")
        }
        bootstrapServers = line
    }

    /// Sends SIGTERM and returns the exit status.
    public func stop() -> Int32? {
        process.send(SIGTERM)
        return process.waitForExit(timeout: 20)
    }
}

/// A setup failure in a test fixture.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 10 ms until it holds or `timeoutSeconds` pass; returns whether it held.
public func eventually(timeoutSeconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), for a server that must come
/// back on the same address after a restart.
public func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw FixtureError("socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { throw FixtureError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw FixtureError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
