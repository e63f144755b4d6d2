import EventLog
import Events
import Foundation
import Logging
import Projections
import Synthetic

/// What commands share beyond `NodeWiring`: generated traffic, stdout and progress lines.
public enum Wiring {}

extension Wiring {
    /// Appends generated traffic to `log` in sequential batches of 5,000 (which keeps the generated order within
    /// every partition); `progress` hears the running total after each batch. Returns the records appended.
    public static func appendGenerated(
        _ options: EventGenerator.Options, to log: any EventLog, topic: (EventStream) -> String,
        headers: [Header] = [], progress: ((Int) -> Void)? = nil
    ) async throws -> Int {
        var batch: [OutgoingRecord] = []
        var appended = 0
        func flush() async throws {
            appended += try await log.append(batch).count
            batch.removeAll(keepingCapacity: true)
            progress?(appended)
        }
        for item in EventGenerator(options: options) {
            batch.append(
                OutgoingRecord(
                    topic: topic(item.stream), key: Array(item.key.utf8), value: item.value, headers: headers))
            if batch.count == 5_000 { try await flush() }
        }
        if !batch.isEmpty { try await flush() }
        return appended
    }
}

/// Writes lines to stdout from any thread, flushing each so that a reader sees them at once.
public enum Output {
    private static let lock = NSLock()

    public static func line(_ text: String) {
        lock.withLock {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    public static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Prints a progress line to stderr at most every `intervalSeconds`, and once more at the end.
public final class ProgressPrinter: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private let label: String
    private let intervalSeconds: Double
    private var lastPrinted = -1.0

    public init(label: String, intervalSeconds: Double = 1) {
        self.label = label
        self.intervalSeconds = intervalSeconds
    }

    public func report(_ progress: Projector.Progress, final: Bool = false) {
        let due = lock.withLock {
            guard final || progress.writing || progress.elapsedSeconds - lastPrinted >= intervalSeconds else {
                return false
            }
            lastPrinted = progress.elapsedSeconds
            return true
        }
        guard due else { return }
        if progress.writing {
            Output.error("\(label): \(progress.records) records folded in memory; writing the read models in key order")
            return
        }
        let rate = progress.elapsedSeconds > 0 ? Double(progress.records) / progress.elapsedSeconds : 0
        var line =
            "\(label): \(progress.records) records, \(Int(rate)) records/s, "
            + "\(String(format: "%.1f", progress.elapsedSeconds)) s"
        if let remaining = progress.remaining {
            line += ", \(remaining) to go"
            if rate > 0 && remaining > 0 { line += ", ETA \(String(format: "%.1f", Double(remaining) / rate)) s" }
        }
        Output.error(line)
    }
}
