import Curl
import Dispatch
import EventLog
import EventRecords
import Events
import Foundation
import Logging
import Metrics
import Projections

/// Sends queued messages through the vendor API and records each outcome in the log.
///
/// It reads `crm.message.queued` from the deliveries topic, from its own stored offsets; sends in batches per
/// campaign over a fixed number of connections, within each campaign's rate limit; retries retryable failures with
/// exponential backoff and jitter (honouring `Retry-After`); appends `crm.message.sent` / `crm.message.failed`; and
/// only then stores its offsets (in an `OffsetStore` of its own). One round's outcomes are recorded while the next
/// round is sent. The idempotency key is the message id plus its attempt generation (bumped by retry-failed), so a
/// restart after a crash re-sends the unrecorded rounds with the same keys and the vendor does not send twice.
public final class DeliveryWorker: @unchecked Sendable {
    // @unchecked Sendable: mutable state is guarded by `lock`; `run` is called once.

    public struct Configuration: Sendable {
        /// The vendor's batch endpoint, e.g. `http://127.0.0.1:9090/v1/messages/batch`.
        public var vendorBatchURL: String
        public var deliveriesTopic: String
        /// Messages per vendor request.
        public var batchSize = 200
        /// Vendor requests in flight at once (one connection each).
        public var concurrency = 8
        /// Attempts per message before it is marked failed.
        public var attemptsMax = 5
        /// Backoff: base × 2^(attempt−1), capped, with full jitter.
        public var backoffBaseMs = 100
        public var backoffMaxMs = 5_000
        public var requestTimeoutMs = 10_000
        /// On a log with groups (Kafka), the group the workers of a deployment share the deliveries topic in: each
        /// queued message is handled by one of them, and a worker's partitions move to the others when it stops.
        /// nil, or a log without groups, reads every partition from offsets stored in `progress`.
        public var group: String?

        public init(vendorBatchURL: String, deliveriesTopic: String) {
            self.vendorBatchURL = vendorBatchURL
            self.deliveriesTopic = deliveriesTopic
        }
    }

    private let log: any EventLog
    private let store: ReadModelStore
    private let progress: OffsetStore
    private let configuration: Configuration
    private let logger: Logger
    private let lock = NSLock()
    private var stopRequested = false
    private var buckets: [String: TokenBucket] = [:]
    private let clients: [CurlClient]
    private let sendQueue = DispatchQueue(label: "cohort.delivery.send", attributes: .concurrent)
    /// Queued messages this worker read (in a group, its share).
    private let readCounter = Counter(label: "cohort_delivery_queued_read_total")
    /// Messages this worker decided, counted once their outcomes are recorded.
    private let sentCounter = Counter(label: "cohort_delivery_messages_total", dimensions: [("outcome", "sent")])
    private let failedCounter = Counter(label: "cohort_delivery_messages_total", dimensions: [("outcome", "failed")])

    /// A worker reading `log`, checking campaigns and messages in `store`, keeping its offsets in `progress`.
    public init(
        log: any EventLog, store: ReadModelStore, progress: OffsetStore, configuration: Configuration, logger: Logger
    ) {
        self.log = log
        self.store = store
        self.progress = progress
        self.configuration = configuration
        self.logger = logger
        clients = (0..<configuration.concurrency).map { _ in CurlClient() }
    }

    public func stop() { lock.withLock { stopRequested = true } }
    private var shouldStop: Bool { lock.withLock { stopRequested } || Task.isCancelled }

    /// One message to send.
    struct Outgoing: Sendable {
        let event: MessageEvent
        /// The vendor idempotency key: message id and attempt generation.
        var key: String { "\(event.messageID)#\(event.attempt ?? 1)" }
    }

    /// What became of one message.
    struct Result: Sendable {
        let outgoing: Outgoing
        let sent: Bool
        let attempts: Int
        let reason: String?
        let retryable: Bool
        let vendorMessageID: String?
    }

    /// Where a worker reads queued messages, and how it records how far it got.
    private func openFeed() async throws -> (
        reader: any LogReader, commit: @Sendable ([TopicPartition: Int64]) async throws -> Void
    ) {
        if let group = configuration.group, let log = log as? any GroupReadableLog {
            let reader = try await log.makeGroupReader(group: group, topics: [configuration.deliveriesTopic])
            logger.info("delivery worker joins its group", metadata: ["delivery.group": "\(group)"])
            let logger = self.logger
            let unsent = UncommittedPositions()
            return (
                reader,
                { positions in
                    // Offsets a commit could not store (during a rebalance) go with the next one.
                    let all = unsent.adding(positions)
                    do {
                        try await reader.commit(all)
                        unsent.clear(all)
                    } catch {
                        // The partitions may have moved to another worker: it goes on from the group's last commit,
                        // with the same idempotency keys, so the vendor sends nothing twice.
                        logger.notice("delivery progress not committed yet", metadata: ["error": "\(error)"])
                    }
                }
            )
        }
        var positions = try await log.allPartitions(of: [configuration.deliveriesTopic])
        var stored = try progress.stored()
        if stored.isEmpty { stored = try store.legacyDeliveryWorkerOffsets() }
        for (partition, offset) in stored where positions[partition] != nil {
            positions[partition] = offset
        }
        let progress = self.progress
        return (try await log.makeReader(startingAt: positions), { try progress.store($0) })
    }

    /// Works until `stop` (or cancellation).
    public func run() async throws {
        let (reader, commit) = try await openFeed()
        defer { Task { await reader.close() } }
        var held: [LogRecord] = []
        var recording: Task<Void, any Error>?
        while !shouldStop {
            // One round of requests per poll: a pause or cancel takes effect within batchSize × concurrency messages.
            let round = configuration.batchSize * configuration.concurrency
            let fresh = held.isEmpty
            let records = fresh ? try await reader.poll(maxRecords: round, timeoutMs: 100) : held
            held = []
            if records.isEmpty { continue }
            var outgoing: [Outgoing] = []
            var immediate: [Result] = []
            var campaigns: [String: CampaignState?] = [:]
            var paused = false
            let queued = records.compactMap { record -> MessageEvent? in
                guard case .success(let event) = record.decodeEvent(), case .messageQueued(let message) = event.payload
                else { return nil }
                return message
            }
            if fresh { readCounter.increment(by: queued.count) }
            let known = try store.messages(withIDs: queued.map(\.messageID))
            for message in queued {
                let campaign: CampaignState?
                if let cached = campaigns[message.campaignID] {
                    campaign = cached
                } else {
                    campaign = try store.campaign(message.campaignID)
                    campaigns[message.campaignID] = campaign
                }
                switch campaign?.status {
                case .paused:
                    paused = true
                case .cancelled:
                    immediate.append(
                        Result(
                            outgoing: Outgoing(event: message), sent: false, attempts: 0, reason: "campaign cancelled",
                            retryable: false, vendorMessageID: nil))
                default:
                    // A draft here is a launch in progress (queued messages go before `launched`): send.
                    if known[message.messageID]?.delivery == .sent { continue }
                    outgoing.append(Outgoing(event: message))
                }
            }
            if paused {
                held = records
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            let results = immediate + (try await send(outgoing, campaigns: campaigns))
            var next: [TopicPartition: Int64] = [:]
            for record in records {
                next[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
            }
            // The previous round's outcomes were being recorded while this round was sent. Wait for them, so that
            // offsets are stored in order, each only once everything before it is in the log.
            try await recording?.value
            recording = Task { [self] in
                try await record(results)
                try await commit(next)
            }
        }
        try await recording?.value
    }

    /// Sends everything, batch by batch per campaign, over the fixed set of connections.
    private func send(_ outgoing: [Outgoing], campaigns: [String: CampaignState?]) async throws -> [Result] {
        guard !outgoing.isEmpty else { return [] }
        var batches: [[Outgoing]] = []
        for (_, group) in Dictionary(grouping: outgoing, by: { $0.event.campaignID }) {
            batches += stride(from: 0, to: group.count, by: configuration.batchSize).map {
                Array(group[$0..<min(group.count, $0 + configuration.batchSize)])
            }
        }
        let queue = BatchQueue(batches)
        let collected = ResultCollector()
        await withTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask { [self] in
                    while let batch = queue.next() {
                        let rate = campaigns[batch[0].event.campaignID]??.rateLimitPerSecond
                        await admit(batch.count, campaign: batch[0].event.campaignID, ratePerSecond: rate)
                        collected.add(await sendWithRetries(batch, client: client))
                    }
                }
            }
        }
        return collected.all
    }

    /// Waits until the campaign's token bucket has `count` tokens.
    private func admit(_ count: Int, campaign: String, ratePerSecond: Int64?) async {
        guard let ratePerSecond, ratePerSecond > 0 else { return }
        while true {
            let waitSeconds: Double = lock.withLock {
                var bucket = buckets[campaign] ?? TokenBucket(ratePerSecond: Double(ratePerSecond))
                let wait = bucket.take(Double(count), now: Date().timeIntervalSince1970)
                buckets[campaign] = bucket
                return wait
            }
            if waitSeconds <= 0 { return }
            try? await Task.sleep(for: .milliseconds(Int(waitSeconds * 1000) + 1))
        }
    }

    /// Sends one batch; retries the retryable part with backoff until `attemptsMax`.
    private func sendWithRetries(_ batch: [Outgoing], client: CurlClient) async -> [Result] {
        var remaining = batch
        var results: [Result] = []
        var attempt = 1
        while !remaining.isEmpty {
            let (done, retry, retryAfter, reason) = await exchange(remaining, client: client, attempt: attempt)
            results += done
            remaining = retry
            if remaining.isEmpty { break }
            if attempt >= configuration.attemptsMax {
                results += remaining.map {
                    Result(
                        outgoing: $0, sent: false, attempts: attempt, reason: reason ?? "vendor unavailable",
                        retryable: true, vendorMessageID: nil)
                }
                break
            }
            let cap = min(configuration.backoffMaxMs, configuration.backoffBaseMs << (attempt - 1))
            let delayMs = max(retryAfter.map { $0 * 1000 } ?? 0, Int.random(in: 0...cap))
            try? await Task.sleep(for: .milliseconds(delayMs))
            attempt += 1
        }
        return results
    }

    /// One vendor request: final results, messages to retry, the vendor's Retry-After and why.
    private func exchange(_ batch: [Outgoing], client: CurlClient, attempt: Int) async
        -> (done: [Result], retry: [Outgoing], retryAfterSeconds: Int?, reason: String?)
    {
        let body = Self.batchBody(batch)
        let configuration = configuration
        let response: Swift.Result<CurlClient.Response, CurlError> = await withCheckedContinuation { continuation in
            sendQueue.async {
                do throws(CurlError) {
                    let reply = try client.post(
                        configuration.vendorBatchURL, headers: ["Content-Type: application/json"], body: body,
                        timeoutMs: configuration.requestTimeoutMs)
                    continuation.resume(returning: .success(reply))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch response {
        case .failure(let error):
            return ([], batch, nil, "vendor unreachable: \(error)")
        case .success(let reply) where reply.status == 429 || reply.status >= 500:
            return ([], batch, reply.retryAfterSeconds, "vendor answered \(reply.status)")
        case .success(let reply) where reply.status != 200:
            let done = batch.map {
                Result(
                    outgoing: $0, sent: false, attempts: attempt, reason: "vendor answered \(reply.status)",
                    retryable: false, vendorMessageID: nil)
            }
            return (done, [], nil, nil)
        case .success(let reply):
            guard case .object(let object) = try? JSONParser.parse(reply.body),
                case .array(let items) = object["results"]
            else { return ([], batch, nil, "vendor sent an unreadable answer") }
            var byKey: [String: JSONObject] = [:]
            for item in items {
                if let result = item.objectValue, let id = result["id"]?.stringValue { byKey[id] = result }
            }
            var done: [Result] = []
            var retry: [Outgoing] = []
            for outgoing in batch {
                guard let result = byKey[outgoing.key] else {
                    retry.append(outgoing)
                    continue
                }
                let accepted = result["status"]?.stringValue == "accepted"
                done.append(
                    Result(
                        outgoing: outgoing, sent: accepted, attempts: attempt,
                        reason: accepted ? nil : result["reason"]?.stringValue ?? "rejected", retryable: false,
                        vendorMessageID: result["vendor_message_id"]?.stringValue))
            }
            return (done, retry, nil, retry.isEmpty ? nil : "missing from the vendor's answer")
        }
    }

    static func batchBody(_ batch: [Outgoing]) -> [UInt8] {
        let messages: [JSONValue] = batch.map { outgoing in
            .object(
                JSONObject([
                    ("id", .string(outgoing.key)), ("to", outgoing.event.to.map { .string($0) } ?? .null),
                    ("channel", .string(outgoing.event.channel ?? "")), ("body", .string(outgoing.event.body ?? "")),
                ]))
        }
        return JSONValue.object(JSONObject([("messages", .array(messages))])).serialized()
    }

    /// Appends one `sent` or `failed` per result, retrying while the log is unavailable.
    private func record(_ results: [Result]) async throws {
        guard !results.isEmpty else { return }
        let now = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6))
        var records: [OutgoingRecord] = []
        for result in results {
            let message = result.outgoing.event
            var data: [(String, JSONValue)] = [
                ("message_id", .string(message.messageID)), ("campaign_id", .string(message.campaignID)),
                ("attempt", .number(JSONNumber(Int64(max(1, result.attempts))))), ("at", .string(now.description)),
            ]
            if let customerID = message.customerID { data.append(("customer_id", .string(customerID))) }
            if let channel = message.channel { data.append(("channel", .string(channel))) }
            if result.sent, let vendorID = result.vendorMessageID {
                data.append(("vendor_message_id", .string(vendorID)))
            }
            if let reason = result.reason { data.append(("reason", .string(reason))) }
            if !result.sent { data.append(("retryable", .bool(result.retryable))) }
            let type: EventType = result.sent ? .messageSent : .messageFailed
            let attemptTag = message.attempt ?? 1
            switch CloudEvent.make(
                id: "\(message.messageID)#\(attemptTag):\(type == .messageSent ? "sent" : "failed")",
                source: "cohort-delivery", type: type, time: now, data: JSONObject(data))
            {
            case .success(let event): records.append(event.outgoingRecord(topic: configuration.deliveriesTopic))
            case .failure(let error): logger.error("delivery: cannot record \(message.messageID): \(error)")
            }
        }
        try await log.appendRetrying(records, shouldStop: { shouldStop })
        let sent = results.filter(\.sent).count
        sentCounter.increment(by: sent)
        failedCounter.increment(by: results.count - sent)
    }
}

/// Tokens refill at `ratePerSecond` up to one second's worth.
struct TokenBucket {
    let ratePerSecond: Double
    var tokens: Double
    var updated: Double?

    init(ratePerSecond: Double) {
        self.ratePerSecond = ratePerSecond
        tokens = ratePerSecond
    }

    /// Takes `count` tokens if there are enough (returns 0), else returns how long to wait.
    mutating func take(_ count: Double, now: Double) -> Double {
        if let updated { tokens = min(max(ratePerSecond, count), tokens + (now - updated) * ratePerSecond) }
        updated = now
        if tokens >= count {
            tokens -= count
            return 0
        }
        return (count - tokens) / ratePerSecond
    }
}

/// Hands batches to the sending tasks.
final class BatchQueue: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var batches: [[DeliveryWorker.Outgoing]]
    init(_ batches: [[DeliveryWorker.Outgoing]]) { self.batches = batches.reversed() }
    func next() -> [DeliveryWorker.Outgoing]? { lock.withLock { batches.popLast() } }
}

/// Gathers results from the sending tasks.
final class ResultCollector: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var results: [DeliveryWorker.Result] = []
    func add(_ more: [DeliveryWorker.Result]) { lock.withLock { results += more } }
    var all: [DeliveryWorker.Result] { lock.withLock { results } }
}

/// Offsets a group commit has not stored yet, sent again with the next.
final class UncommittedPositions: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var positions: [TopicPartition: Int64] = [:]

    /// The waiting offsets with `next` on top (later offsets win).
    func adding(_ next: [TopicPartition: Int64]) -> [TopicPartition: Int64] {
        lock.withLock {
            positions.merge(next) { max($0, $1) }
            return positions
        }
    }

    /// Forgets the offsets that `committed` stored (unless a later one came meanwhile).
    func clear(_ committed: [TopicPartition: Int64]) {
        lock.withLock {
            for (partition, offset) in committed where positions[partition] == offset { positions[partition] = nil }
        }
    }
}
