/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    /// Partition `partition` of `topic`.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// A record header, as in Kafka: a name and opaque bytes.
public struct Header: Sendable, Hashable {
    public let name: String
    public let value: [UInt8]

    /// A header with raw bytes.
    public init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// A header whose value is UTF-8 text.
    public init(_ name: String, _ value: String) {
        self.init(name, Array(value.utf8))
    }
}

/// A record to append. The partition is chosen from the key (murmur2) unless given.
public struct OutgoingRecord: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [Header]
    /// Creation time in milliseconds since the epoch; the append time when `nil`.
    public var timestampMs: Int64?
    /// An explicit partition, overriding the key's.
    public var partition: Int32?

    /// A record for `topic`; its partition comes from `key` unless `partition` is given.
    public init(
        topic: String, key: [UInt8]?, value: [UInt8], headers: [Header] = [], timestampMs: Int64? = nil,
        partition: Int32? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
        self.partition = partition
    }
}

/// A stored record.
public struct LogRecord: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [Header]
    /// Milliseconds since the epoch: the creation time given on append, else the append time.
    public let timestampMs: Int64

    /// A record as stored at `offset` of `partition`.
    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [Header],
        timestampMs: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    /// Where the record is stored.
    public var position: RecordPosition { RecordPosition(topic: topic, partition: partition, offset: offset) }
}

/// Where an appended record landed.
public struct RecordPosition: Sendable, Hashable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32
    public let offset: Int64

    /// Offset `offset` of partition `partition` of `topic`.
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// The stored range of a partition: offsets `low..<high`; `high` is the next offset to be written.
public struct Watermarks: Sendable, Hashable {
    public let low: Int64
    public let high: Int64

    /// The stored range `low..<high`.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
