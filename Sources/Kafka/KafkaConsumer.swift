import CRdKafka
import Foundation
import Logging

/// A consumer with caller-managed offsets: manual assignment with explicit start offsets, or consumer-group
/// subscription; pause/resume; explicit commits. Blocking polls run on the consumer's own serial queue,
/// never on Swift's cooperative thread pool.
public final class KafkaConsumer: @unchecked Sendable {
    // @unchecked Sendable: every librdkafka call that may block runs on `queue`; the others are thread-safe.

    /// A partition and the offset to start from (or commit).
    public struct PartitionOffset: Sendable, Hashable {
        public let topic: String
        public let partition: Int32
        public let offset: Int64

        /// Offset `offset` of partition `partition` of `topic`.
        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    private let handle: KafkaHandle
    private let configuration: KafkaConfiguration
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var isClosed = false

    /// A consumer in group `groupID` (used for subscription and commits; unused with manual assignment).
    public init(
        configuration: KafkaConfiguration, groupID: String, logger: Logger = Logger(label: "cohort.kafka.consumer")
    ) throws(KafkaError) {
        self.configuration = configuration
        handle = try KafkaHandle(
            type: RD_KAFKA_CONSUMER, properties: configuration.consumerProperties(groupID: groupID), logger: logger)
        queue = DispatchQueue(label: "cohort.kafka.consumer.\(groupID)")
        // Serve logs, errors and rebalances from the consumer queue, polled below.
        rd_kafka_poll_set_consumer(handle.pointer)
    }

    private static func partitionList(_ offsets: [PartitionOffset]) -> UnsafeMutablePointer<
        rd_kafka_topic_partition_list_t
    > {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for entry in offsets {
            let element = rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)
            element?.pointee.offset = entry.offset
        }
        return list
    }

    /// Reads exactly these partitions from these offsets (no group membership, no rebalancing).
    public func assign(_ offsets: [PartitionOffset]) throws(KafkaError) {
        let list = Self.partitionList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_assign(handle.pointer, list), "assign")
    }

    /// Joins the consumer group for `topics`; partitions arrive through rebalancing.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        try check(rd_kafka_subscribe(handle.pointer, list), "subscribe")
    }

    /// Stops fetching these partitions until `resume`.
    public func pause(_ partitions: [(topic: String, partition: Int32)]) throws(KafkaError) {
        let list = Self.partitionList(
            partitions.map { PartitionOffset(topic: $0.topic, partition: $0.partition, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_pause_partitions(handle.pointer, list), "pause")
    }

    /// Fetches paused partitions again.
    public func resume(_ partitions: [(topic: String, partition: Int32)]) throws(KafkaError) {
        let list = Self.partitionList(
            partitions.map { PartitionOffset(topic: $0.topic, partition: $0.partition, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_resume_partitions(handle.pointer, list), "resume")
    }

    /// The partitions currently assigned (manually or by the group).
    public func assignment() throws(KafkaError) -> [(topic: String, partition: Int32)] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try check(rd_kafka_assignment(handle.pointer, &list), "assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (String(cString: element.topic), element.partition)
        }
    }

    /// Up to `maxMessages` messages; waits up to `timeoutMs` for the first. Transient consumer errors are
    /// logged and skipped (librdkafka recovers by itself); fatal ones are thrown.
    public func poll(maxMessages: Int, timeoutMs: Int) async throws(KafkaError) -> [KafkaMessage] {
        let result: Result<[KafkaMessage], KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.pollBlocking(maxMessages: maxMessages, timeoutMs: timeoutMs))
            }
        }
        return try result.get()
    }

    private func pollBlocking(maxMessages: Int, timeoutMs: Int) -> Result<[KafkaMessage], KafkaError> {
        guard !lock.withLock({ isClosed }) else {
            return .failure(KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY, operation: "poll"))
        }
        var messages: [KafkaMessage] = []
        var wait = Int32(timeoutMs)
        while messages.count < maxMessages, let message = rd_kafka_consumer_poll(handle.pointer, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let code = message.pointee.err
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                messages.append(KafkaMessage(copying: message))
            } else if code == RD_KAFKA_RESP_ERR__FATAL {
                return .failure(KafkaError(code: code, operation: "poll", isFatal: true))
            } else if code != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                handle.logger.warning(
                    "consumer error", metadata: ["kafka.error": "\(KafkaError(code: code, operation: "poll"))"])
            }
        }
        return .success(messages)
    }

    /// Commits the given next-offsets for the group, synchronously.
    public func commit(_ offsets: [PartitionOffset]) async throws(KafkaError) {
        let client = handle
        let code: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            queue.async {
                let list = Self.partitionList(offsets)
                continuation.resume(returning: rd_kafka_commit(client.pointer, list, 0))
                rd_kafka_topic_partition_list_destroy(list)
            }
        }
        try check(code, "commit")
    }

    /// Cluster metadata: topics and partition counts.
    public func metadata() throws(KafkaError) -> [TopicMetadata] {
        try handle.metadata(timeoutMs: configuration.requestTimeoutMs)
    }

    /// Leaves the group (if any) and stops fetching. Further polls fail.
    public func close() async {
        guard
            lock.withLock({
                defer { isClosed = true }; return !isClosed
            })
        else { return }
        let client = handle
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                rd_kafka_consumer_close(client.pointer)
                continuation.resume()
            }
        }
    }
}
