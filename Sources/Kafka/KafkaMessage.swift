import CRdKafka

/// A message to produce.
public struct ProducerMessage: Sendable {
    public var topic: String
    /// An explicit partition; `nil` lets the partitioner choose from the key.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]
    /// Creation time in milliseconds since the epoch; `nil` for now.
    public var timestampMs: Int64?

    /// A message for `topic`; the partitioner picks the partition from `key` unless `partition` is given.
    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8],
        headers: [(name: String, value: [UInt8])] = [], timestampMs: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }
}

/// Where the cluster stored a produced message.
public struct DeliveryReport: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
}

/// A consumed message, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [(name: String, value: [UInt8])]
    public let timestampMs: Int64

    init(copying message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = message.pointee
        topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        partition = raw.partition
        offset = raw.offset
        key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        timestampMs = rd_kafka_message_timestamp(message, &timestampType)
        var collected: [(name: String, value: [UInt8])] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                collected.append((name.map { String(cString: $0) } ?? "", headerValue))
                index += 1
            }
        }
        headers = collected
    }
}
