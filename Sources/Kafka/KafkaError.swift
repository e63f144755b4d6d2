import CRdKafka

/// A librdkafka failure with its code, librdkafka's own classification and where it happened.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t` value.
    public let code: Int32
    /// librdkafka's symbolic name for `code`, e.g. `_MSG_TIMED_OUT`.
    public let name: String
    /// The message librdkafka gave (or its generic text for the code).
    public let message: String
    /// The operation that failed, e.g. `produce`, `metadata`.
    public let operation: String
    /// Whether the same operation may succeed if retried.
    public let isRetriable: Bool
    /// Whether the client instance is unusable and must be recreated.
    public let isFatal: Bool

    init(
        code: rd_kafka_resp_err_t, operation: String, message: String? = nil, isRetriable: Bool? = nil,
        isFatal: Bool = false
    ) {
        self.code = code.rawValue
        self.name = String(cString: rd_kafka_err2name(code))
        self.message = message ?? String(cString: rd_kafka_err2str(code))
        self.operation = operation
        self.isRetriable = isRetriable ?? KafkaError.retriableByDefault(code)
        self.isFatal = isFatal
    }

    /// An error from an `rd_kafka_error_t`, which carries its own classification; frees it.
    init(consuming error: OpaquePointer, operation: String) {
        let code = rd_kafka_error_code(error)
        self.init(
            code: code, operation: operation, message: String(cString: rd_kafka_error_string(error)),
            isRetriable: rd_kafka_error_is_retriable(error) != 0, isFatal: rd_kafka_error_is_fatal(error) != 0)
        rd_kafka_error_destroy(error)
    }

    /// A configuration or setup failure that has no librdkafka code.
    static func configuration(_ message: String, operation: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG, operation: operation, message: message, isRetriable: false)
    }

    /// Transient transport and leadership conditions that clear by themselves.
    private static func retriableByDefault(_ code: rd_kafka_resp_err_t) -> Bool {
        switch code {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
            true
        default:
            false
        }
    }

    public var description: String {
        "Kafka \(operation) failed: \(name): \(message)\(isFatal ? " (fatal)" : "")\(isRetriable ? " (retriable)" : "")"
    }
}

/// Routes a librdkafka return code through one place: no error passes, anything else throws with context.
@inline(__always)
func check(_ code: rd_kafka_resp_err_t, _ operation: @autoclosure () -> String) throws(KafkaError) {
    guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: code, operation: operation()) }
}
