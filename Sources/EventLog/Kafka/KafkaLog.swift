import Dispatch
import Foundation
import Kafka
import Logging

/// The event log on a Kafka cluster: appends through one idempotent producer, reads through consumers with
/// manual assignment. Appends of several records are not atomic on Kafka (no transactions): a failed append
/// may have stored some records, which projections tolerate because they de-duplicate by event id.
public final class KafkaLog: GroupReadableLog, @unchecked Sendable {
    // @unchecked Sendable: KafkaProducer is thread-safe; `readers` is guarded by `lock`.

    private let configuration: KafkaConfiguration
    private let producer: KafkaProducer
    private let logger: Logger

    /// Connects lazily to the cluster of `configuration`.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "cohort.log.kafka"))
        throws(EventLogError)
    {
        self.configuration = configuration
        self.logger = logger
        do {
            producer = try KafkaProducer(configuration: configuration, logger: logger)
        } catch {
            throw .storage("\(error)")
        }
    }

    static func translate(_ error: KafkaError) -> EventLogError {
        error.isRetriable ? .unavailable(error.description) : .storage(error.description)
    }

    public func append(_ records: [OutgoingRecord]) async throws(EventLogError) -> [RecordPosition] {
        let messages = records.map { record in
            ProducerMessage(
                topic: record.topic, partition: record.partition, key: record.key, value: record.value,
                headers: record.headers.map { ($0.name, $0.value) }, timestampMs: record.timestampMs)
        }
        do {
            return try await producer.send(messages).map {
                RecordPosition(topic: $0.topic, partition: $0.partition, offset: $0.offset)
            }
        } catch {
            throw Self.translate(error)
        }
    }

    public func partitionCount(topic: String) async throws(EventLogError) -> Int32 {
        let producer = self.producer
        let metadata = try await Self.offPool { () throws(KafkaError) in try producer.metadata() }
        guard let entry = metadata.first(where: { $0.name == topic }), entry.errorCode == 0, entry.partitionCount > 0
        else { throw .unknownTopic(topic) }
        return entry.partitionCount
    }

    public func watermarks(_ partition: TopicPartition) async throws(EventLogError) -> Watermarks {
        let producer = self.producer
        let marks = try await Self.offPool { () throws(KafkaError) in
            try producer.watermarks(topic: partition.topic, partition: partition.partition)
        }
        return Watermarks(low: marks.low, high: marks.high)
    }

    public func makeReader(startingAt positions: [TopicPartition: Int64]) async throws(EventLogError) -> any LogReader {
        do {
            let consumer = try KafkaConsumer(
                configuration: configuration, groupID: "cohort-reader-\(UUID().uuidString)", logger: logger)
            try consumer.assign(
                positions.sorted { $0.key < $1.key }.map {
                    KafkaConsumer.PartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
                })
            return KafkaReader(consumer: consumer)
        } catch {
            throw Self.translate(error)
        }
    }

    public func makeGroupReader(group: String, topics: [String]) async throws(EventLogError) -> any GroupReader {
        do {
            let consumer = try KafkaConsumer(configuration: configuration, groupID: group, logger: logger)
            try consumer.subscribe(topics)
            return KafkaReader(consumer: consumer)
        } catch {
            throw Self.translate(error)
        }
    }

    public func close() async {
        let producer = self.producer
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                producer.close()
                continuation.resume()
            }
        }
    }

    /// Runs a blocking librdkafka query on a Dispatch thread rather than the cooperative pool.
    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T)
        async throws(EventLogError) -> T
    {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        do {
            return try result.get()
        } catch {
            throw translate(error)
        }
    }
}

/// Reads partitions through one Kafka consumer: assigned ones, or a group's share.
final class KafkaReader: GroupReader {
    private let consumer: KafkaConsumer

    init(consumer: KafkaConsumer) {
        self.consumer = consumer
    }

    func poll(maxRecords: Int, timeoutMs: Int) async throws(EventLogError) -> [LogRecord] {
        do {
            return try await consumer.poll(maxMessages: maxRecords, timeoutMs: timeoutMs).map { message in
                LogRecord(
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                    value: message.value, headers: message.headers.map { Header($0.name, $0.value) },
                    timestampMs: message.timestampMs)
            }
        } catch {
            throw KafkaLog.translate(error)
        }
    }

    /// Commits the offsets of the partitions this member holds now; the others have moved to another member, whose
    /// commits are not to be overwritten.
    func commit(_ positions: [TopicPartition: Int64]) async throws(EventLogError) {
        do {
            let held = Set(try consumer.assignment().map { TopicPartition(topic: $0.topic, partition: $0.partition) })
            let mine = positions.filter { held.contains($0.key) }
            guard !mine.isEmpty else { return }
            try await consumer.commit(
                mine.sorted { $0.key < $1.key }.map {
                    KafkaConsumer.PartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
                })
        } catch {
            throw KafkaLog.translate(error)
        }
    }

    func close() async {
        await consumer.close()
    }
}
