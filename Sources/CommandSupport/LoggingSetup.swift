import Logging

/// Sets up swift-log once, writing to stderr so stdout stays machine-readable.
public enum LoggingSetup {
    nonisolated(unsafe) private static var done = false

    public static func logger(_ label: String, level: String) -> Logger {
        if !done {
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: level) ?? .info
                return handler
            }
        }
        return Logger(label: label)
    }
}
