import Foundation
import Logging

/// A swift-log handler that keeps every record, for tests that check what was logged.
public struct CapturingLogHandler: LogHandler {
    /// One captured record.
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]
    }

    /// Shared storage of the records.
    public final class Store: @unchecked Sendable {
        // @unchecked Sendable: guarded by `lock`.
        private let lock = NSLock()
        private var stored: [Record] = []

        public init() {}

        public var records: [Record] { lock.withLock { stored } }

        func append(_ record: Record) { lock.withLock { stored.append(record) } }
    }

    private let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    /// A logger whose records land in `store`.
    public static func logger(_ store: Store) -> Logger {
        Logger(label: "test") { _ in CapturingLogHandler(store: store) }
    }

    init(store: Store) { self.store = store }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        for (key, value) in event.metadata ?? [:] { merged[key] = value }
        store.append(Record(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
}
