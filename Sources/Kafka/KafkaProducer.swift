import CRdKafka
import Foundation
import Logging

/// An idempotent producer (`enable.idempotence=true`, `acks=all`, `partitioner=murmur2_random`) whose sends
/// resolve when the cluster has acknowledged every message, with each message's partition and offset.
///
/// A dedicated thread serves librdkafka's delivery reports, so no Swift task ever blocks in librdkafka.
/// In-flight messages are bounded by `queue.buffering.max.messages`; when that queue is full a send waits.
public final class KafkaProducer: @unchecked Sendable {
    // @unchecked Sendable: librdkafka's producer is thread-safe; the poll loop state synchronises itself.

    private let handle: KafkaHandle
    private let configuration: KafkaConfiguration
    private let pollLoop = PollLoop()

    /// Connects lazily to `configuration.bootstrapServers`.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "cohort.kafka.producer"))
        throws(KafkaError)
    {
        self.configuration = configuration
        handle = try KafkaHandle(
            type: RD_KAFKA_PRODUCER, properties: configuration.producerProperties(), logger: logger
        ) {
            conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let ticket = Unmanaged<DeliveryTicket>.fromOpaque(opaque).takeRetainedValue()
                let raw = message.pointee
                if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                    ticket.batch.succeed(
                        ticket.index, DeliveryReport(topic: topic, partition: raw.partition, offset: raw.offset))
                } else {
                    ticket.batch.fail(ticket.index, KafkaError(code: raw.err, operation: "produce"))
                }
            }
        }
        // The thread holds the handle and the loop state, never the producer: otherwise the thread could drop the
        // last reference, run the producer's deinit and wait there for itself to stop.
        let handle = self.handle
        let loop = pollLoop
        let thread = Thread {
            while !loop.isClosed {
                rd_kafka_poll(handle.pointer, 100)
            }
            loop.stopped.signal()
        }
        thread.name = "cohort-kafka-producer-poll"
        thread.start()
    }

    private var closed: Bool { pollLoop.isClosed }

    /// Sends `messages` and returns once all are acknowledged, reports in input order. If any fails, the first
    /// failure is thrown after every message has been settled (some may have been stored).
    public func send(_ messages: [ProducerMessage]) async throws(KafkaError) -> [DeliveryReport] {
        guard !closed else { throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY, operation: "produce") }
        let batch = DeliveryBatch(count: messages.count)
        for (index, message) in messages.enumerated() {
            let deadline = ContinuousClock.now + .milliseconds(configuration.messageTimeoutMs)
            while true {
                let code = produce(message, ticket: DeliveryTicket(batch: batch, index: index))
                if code == RD_KAFKA_RESP_ERR_NO_ERROR { break }
                if code == RD_KAFKA_RESP_ERR__QUEUE_FULL && ContinuousClock.now < deadline {
                    // Back-pressure: librdkafka's queue is at its bound; let delivery reports drain it.
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                batch.fail(index, KafkaError(code: code, operation: "produce"))
                break
            }
        }
        return try await batch.result()
    }

    private func produce(_ message: ProducerMessage, ticket: DeliveryTicket) -> rd_kafka_resp_err_t {
        let headers = message.headers.isEmpty ? nil : rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            _ = header.value.withUnsafeBytes { bytes in
                rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
            }
        }
        let opaque = Unmanaged.passRetained(ticket).toOpaque()
        let code = withOptionalBytes(message.key) { keyBytes in
            message.value.withUnsafeBytes { valueBytes in
                cohort_rd_kafka_produce(
                    handle.pointer, message.topic, message.partition ?? RD_KAFKA_PARTITION_UA,
                    keyBytes?.baseAddress, keyBytes?.count ?? 0, valueBytes.baseAddress, valueBytes.count,
                    headers, message.timestampMs ?? 0, opaque)
            }
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            // Not enqueued: librdkafka took ownership of neither the ticket nor the headers.
            Unmanaged<DeliveryTicket>.fromOpaque(opaque).release()
            if let headers { rd_kafka_headers_destroy(headers) }
        }
        return code
    }

    /// Waits up to `timeoutMs` for every queued message to be acknowledged.
    public func flush(timeoutMs: Int) throws(KafkaError) {
        try check(rd_kafka_flush(handle.pointer, Int32(timeoutMs)), "flush")
    }

    /// Cluster metadata: topics and partition counts.
    public func metadata() throws(KafkaError) -> [TopicMetadata] {
        try handle.metadata(timeoutMs: configuration.requestTimeoutMs)
    }

    /// The low and high watermark of one partition.
    public func watermarks(topic: String, partition: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        try handle.watermarks(topic: topic, partition: partition, timeoutMs: configuration.requestTimeoutMs)
    }

    /// Flushes for up to `timeoutMs`, then stops the poll thread. Unflushed messages fail with `_DESTROY`.
    public func close(timeoutMs: Int = 5_000) {
        guard pollLoop.close() else { return }
        if (try? flush(timeoutMs: timeoutMs)) == nil {
            handle.logger.warning("producer closed with unacknowledged messages")
        }
        pollLoop.stopped.wait()
        rd_kafka_purge(handle.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_poll(handle.pointer, 0)
    }

    deinit {
        close(timeoutMs: 0)
    }
}

/// The poll thread's stop flag and its "stopped" signal.
private final class PollLoop: @unchecked Sendable {
    // @unchecked Sendable: `closed` is guarded by `lock`; DispatchSemaphore is thread-safe.
    private let lock = NSLock()
    private var closed = false
    let stopped = DispatchSemaphore(value: 0)

    var isClosed: Bool { lock.withLock { closed } }

    /// Marks the loop closed; returns false if it already was.
    func close() -> Bool {
        lock.withLock {
            defer { closed = true }
            return !closed
        }
    }
}

private func withOptionalBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// Carried through librdkafka as the per-message opaque; routes one delivery report to its batch.
final class DeliveryTicket: @unchecked Sendable {
    // @unchecked Sendable: immutable; DeliveryBatch synchronises itself.
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// Collects the delivery reports of one `send`; resumes the sender when all messages are settled.
final class DeliveryBatch: @unchecked Sendable {
    // @unchecked Sendable: all state is guarded by `lock`.
    private let lock = NSLock()
    private var reports: [DeliveryReport?]
    private var firstError: KafkaError?
    private var remaining: Int
    private var continuation: CheckedContinuation<[DeliveryReport], any Error>?

    init(count: Int) {
        reports = Array(repeating: nil, count: count)
        remaining = count
    }

    func succeed(_ index: Int, _ report: DeliveryReport) {
        settle { reports[index] = report }
    }

    func fail(_ index: Int, _ error: KafkaError) {
        settle { if firstError == nil { firstError = error } }
    }

    private func settle(_ update: () -> Void) {
        let ready: (CheckedContinuation<[DeliveryReport], any Error>, Result<[DeliveryReport], KafkaError>)? =
            lock.withLock {
                update()
                remaining -= 1
                guard remaining == 0, let continuation else { return nil }
                self.continuation = nil
                return (continuation, outcome)
            }
        if let (continuation, outcome) = ready { continuation.resume(with: outcome.mapError { $0 as any Error }) }
    }

    private var outcome: Result<[DeliveryReport], KafkaError> {
        if let firstError { return .failure(firstError) }
        return .success(reports.map { $0! })
    }

    func result() async throws(KafkaError) -> [DeliveryReport] {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let done: Result<[DeliveryReport], KafkaError>? = lock.withLock {
                    if remaining == 0 { return outcome }
                    self.continuation = continuation
                    return nil
                }
                if let done { continuation.resume(with: done.mapError { $0 as any Error }) }
            }
        } catch let error as KafkaError {
            throw error
        } catch {
            throw .configuration("\(error)", operation: "produce")
        }
    }
}
