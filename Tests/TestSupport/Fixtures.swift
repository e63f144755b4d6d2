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
