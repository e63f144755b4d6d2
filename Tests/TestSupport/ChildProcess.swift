import Foundation

/// A child process whose stdout is collected line by line, so tests wait on real output instead of sleeping.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: the collected output is guarded by `condition`.
    private let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stdinPipe: Pipe?
    private let condition = NSCondition()
    private var lines: [String] = []
    private var partial = Data()
    private var stdoutClosed = false
    private var stderrText = Data()

    /// The path of the `cohort` binary under test: `$COHORT_BINARY`, else next to the test bundle.
    public static var cohortBinary: String {
        if let path = ProcessInfo.processInfo.environment["COHORT_BINARY"] { return path }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cohort")
                .path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("cohort").path,
            FileManager.default.currentDirectoryPath + "/.build/debug/cohort",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    /// Starts `cohort` with `arguments`.
    public static func cohort(_ arguments: [String], stdin: Bool = false, environment: [String: String] = [:]) throws
        -> ChildProcess
    {
        try ChildProcess(executable: cohortBinary, arguments: arguments, stdin: stdin, environment: environment)
    }

    /// Starts `executable`; with `stdin: true` the test can write to its standard input.
    public init(executable: String, arguments: [String], stdin: Bool = false, environment: [String: String] = [:])
        throws
    {
        // A child that dies while we write to its stdin must not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("COHORT_") || $0.key == "COHORT_BINARY"
        }
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        stdinPipe = stdin ? Pipe() : nil
        process.standardInput = stdinPipe ?? FileHandle.nullDevice
        try process.run()
        // One blocking reader thread per pipe: reads arrive in order and end only at end of file
        // (readability handlers could report an early empty read and lose the rest of a large output).
        let stdoutHandle = stdoutPipe.fileHandleForReading
        let stderrHandle = stderrPipe.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            while true {
                let data = stdoutHandle.availableData
                self?.receive(data)
                if data.isEmpty { return }
            }
        }
        Thread.detachNewThread { [weak self] in
            while true {
                let data = stderrHandle.availableData
                if data.isEmpty { return }
                guard let self else { return }
                self.condition.withLock { self.stderrText.append(data) }
            }
        }
    }

    private func receive(_ data: Data) {
        condition.withLock {
            if data.isEmpty {
                stdoutClosed = true
                if !partial.isEmpty { lines.append(String(decoding: partial, as: UTF8.self)) }
                partial.removeAll()
            } else {
                partial.append(data)
                while let newline = partial.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                    partial.removeSubrange(partial.startIndex...newline)
                }
            }
            condition.broadcast()
        }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Complete stdout lines so far.
    public var outputLines: [String] { condition.withLock { lines } }

    /// Everything written to stderr so far.
    public var errorOutput: String { condition.withLock { String(decoding: stderrText, as: UTF8.self) } }

    /// Waits until at least `count` stdout lines have arrived; false on timeout or end of output.
    @discardableResult
    public func waitForLines(_ count: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return condition.withLock {
            while lines.count < count && !stdoutClosed {
                if !condition.wait(until: deadline) { break }
            }
            return lines.count >= count
        }
    }

    /// The first stdout line, waiting for it up to `timeout`.
    public func firstLine(timeout: TimeInterval) -> String? {
        waitForLines(1, timeout: timeout) ? outputLines.first : nil
    }

    /// Writes to the child's stdin; false once the child has gone.
    @discardableResult
    public func write(_ text: String) -> Bool {
        guard let stdinPipe else { return false }
        do {
            try stdinPipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
            return true
        } catch {
            return false
        }
    }

    /// Closes the child's stdin (end of input).
    public func closeStdin() {
        try? stdinPipe?.fileHandleForWriting.close()
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the child to exit, up to `timeout`; returns its status, or nil if it is still running.
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            usleep(10_000)
        }
        // Let the pipe handler deliver what the child wrote last. End of file can come late: a child spawned
        // meanwhile by another test may have inherited the pipe's write end. So wait briefly, then keep a final
        // line without a newline as it is.
        let drainDeadline = Date().addingTimeInterval(2)
        condition.withLock {
            while !stdoutClosed {
                if !condition.wait(until: drainDeadline) { break }
            }
            if !stdoutClosed && !partial.isEmpty {
                lines.append(String(decoding: partial, as: UTF8.self))
                partial.removeAll()
            }
        }
        return process.terminationStatus
    }

    /// Kills the child if it is still running.
    public func terminate() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        terminate()
    }
}
