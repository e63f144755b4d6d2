/// Why a log operation failed. `isRetriable` tells callers (e.g. the ingest API, which answers 503) whether
/// the same call may succeed later.
public enum EventLogError: Error, Sendable, CustomStringConvertible {
    /// The topic does not exist and cannot be created implicitly.
    case unknownTopic(String)
    /// The partition number is outside the topic's partitions.
    case unknownPartition(TopicPartition)
    /// A record or batch is over a configured limit.
    case tooLarge(String)
    /// The log was closed.
    case closed
    /// The log is unreachable or did not acknowledge in time (broker down, timeout).
    case unavailable(String)
    /// The backing store failed (disk, LMDB, librdkafka); the message carries the underlying error.
    case storage(String)

    /// Whether retrying the same call later may succeed.
    public var isRetriable: Bool {
        switch self {
        case .unavailable: true
        case .unknownTopic, .unknownPartition, .tooLarge, .closed, .storage: false
        }
    }

    public var description: String {
        switch self {
        case .unknownTopic(let topic): "unknown topic \(topic)"
        case .unknownPartition(let partition): "unknown partition \(partition)"
        case .tooLarge(let what): "too large: \(what)"
        case .closed: "the event log is closed"
        case .unavailable(let why): "the event log is unavailable: \(why)"
        case .storage(let why): "event log storage failed: \(why)"
        }
    }
}
