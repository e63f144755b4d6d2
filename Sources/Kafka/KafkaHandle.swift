import CRdKafka
import Logging

/// Owns one `rd_kafka_t` and the bridge that forwards librdkafka's logs to swift-log.
final class KafkaHandle: @unchecked Sendable {
    // @unchecked Sendable: librdkafka handles are thread-safe; the pointer is freed only in deinit.

    let pointer: OpaquePointer
    private let bridge: Unmanaged<LogBridge>
    let logger: Logger

    /// Creates a client of `type`; `configure` may install more callbacks on the configuration first.
    init(
        type: rd_kafka_type_t, properties: [(String, String)], logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else {
            throw .configuration("rd_kafka_conf_new returned NULL", operation: "configure")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw .configuration(Self.text(errorText), operation: "configure \(name)")
            }
        }
        let bridge = Unmanaged.passRetained(LogBridge(logger: logger))
        rd_kafka_conf_set_opaque(conf, bridge.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, text in
            guard let client, let opaque = rd_kafka_opaque(client) else { return }
            let bridge = Unmanaged<LogBridge>.fromOpaque(opaque).takeUnretainedValue()
            bridge.log(
                level: level, facility: facility.map { String(cString: $0) } ?? "",
                text: text.map { String(cString: $0) } ?? "")
        }
        rd_kafka_conf_set_error_cb(conf) { client, code, reason, _ in
            guard let client, let opaque = rd_kafka_opaque(client) else { return }
            let bridge = Unmanaged<LogBridge>.fromOpaque(opaque).takeUnretainedValue()
            let name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: code)))
            bridge.logger.warning(
                "librdkafka error",
                metadata: [
                    "kafka.error": "\(name)", "kafka.reason": "\(reason.map { String(cString: $0) } ?? "")",
                ])
        }
        configure(conf)
        // rd_kafka_new takes ownership of conf on success only.
        guard let client = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            bridge.release()
            throw .configuration(Self.text(errorText), operation: "rd_kafka_new")
        }
        self.pointer = client
        self.bridge = bridge
        self.logger = logger
    }

    /// The text of a NUL-terminated error buffer that librdkafka filled in.
    private static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit {
        rd_kafka_destroy(pointer)
        // Released after destroy: librdkafka may log while shutting down.
        bridge.release()
    }

    /// Topics and their partition counts as the cluster reports them.
    func metadata(timeoutMs: Int) throws(KafkaError) -> [TopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try check(rd_kafka_metadata(pointer, 1, nil, &metadata, Int32(timeoutMs)), "metadata")
        guard let metadata else { return [] }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [TopicMetadata] = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            topics.append(
                TopicMetadata(
                    name: String(cString: topic.topic), partitionCount: topic.partition_cnt,
                    errorCode: topic.err.rawValue))
        }
        return topics
    }

    /// The low and high watermark of one partition, asked of the partition leader.
    func watermarks(topic: String, partition: Int32, timeoutMs: Int) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        try check(
            rd_kafka_query_watermark_offsets(pointer, topic, partition, &low, &high, Int32(timeoutMs)),
            "watermarks \(topic)/\(partition)")
        return (low, high)
    }
}

/// A topic as reported by cluster metadata.
public struct TopicMetadata: Sendable, Hashable {
    public let name: String
    public let partitionCount: Int32
    /// librdkafka's error code for this topic; 0 when healthy.
    public let errorCode: Int32
}

/// Forwards librdkafka log lines to a swift-log `Logger`.
final class LogBridge: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; Logger is Sendable.
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Maps syslog levels (librdkafka's) to swift-log levels.
    func log(level: Int32, facility: String, text: String) {
        let mapped: Logger.Level =
            switch level {
            case ...3: .error
            case 4: .warning
            case 5, 6: .info
            default: .debug
            }
        // Cohort sets experimental properties on purpose (`enable.gapless.guarantee` for `cohort migrate`): that
        // they are experimental is worth a note, not a warning on every run.
        let deliberate = facility == "CONFWARN" && text.contains("is experimental")
        logger.log(level: deliberate ? .info : mapped, "\(text)", metadata: ["kafka.facility": "\(facility)"])
    }
}
