import Crypto
import Events
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synthetic

/// A simulated messaging vendor (`cohort vendor-sim`): single and batch sends, idempotency keys honoured, a seeded
/// success rate, receipts posted later in signed batches, and optional latency and error injection.
public final class VendorSimulator: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is guarded by `lock`.

    public struct Configuration: Sendable {
        /// Share of messages accepted (the rest are rejected as undeliverable).
        public var successRate = 0.9
        public var seed: UInt64 = 7
        /// Where receipts go (Cohort's `POST /api/v1/receipts`); nil sends none.
        public var receiptsURL: String?
        /// HMAC-SHA256 key for the `X-Cohort-Signature` header of receipt batches.
        public var receiptsSecret = "dev-secret"
        /// Receipts per webhook call and how often they are flushed.
        public var receiptsBatchMax = 500
        public var receiptsIntervalMs = 200
        /// Added to every send.
        public var latencyMs = 0
        /// Share of send requests answered 429 (with Retry-After: 1) or 500, or left unanswered (`timeoutRate`).
        public var throttleRate = 0.0
        public var errorRate = 0.0
        public var timeoutRate = 0.0
        /// What a 4xx answer to a receipt batch does: retried until accepted (forgiving), or dropped for good, as
        /// real senders do (Amazon SNS retries only 5xx answers and timeouts).
        public var receiptsOn4xx = ReceiptsOn4xx.retry

        public init() {}
    }

    /// What a 4xx answer to a receipt batch does.
    public enum ReceiptsOn4xx: String, Sendable, CaseIterable {
        case retry, drop
    }

    /// Counters served at `GET /stats`.
    public struct Stats: Sendable {
        public var accepted = 0
        public var rejected = 0
        /// Sends whose idempotency key was seen before (answered with the first result, not sent again).
        public var duplicates = 0
        public var receiptsSent = 0
        /// Receipts the webhook accepted, by status.
        public var receiptsSentByStatus: [String: Int] = [:]
        /// Receipts lost for good to a 4xx answer (`ReceiptsOn4xx.drop`).
        public var receiptsDropped = 0
        public var throttled = 0
        public var errors = 0
        public var timeouts = 0
    }

    struct Outcome {
        let accepted: Bool
        let vendorID: String
        let reason: String?
    }

    private let configuration: Configuration
    /// Where receipts go: `--receipts-url`, or what a client registered at `POST /v1/webhooks`.
    private var receiptsURL: URL?
    private let lock = NSLock()
    private var outcomes: [String: Outcome] = [:]
    private var stats = Stats()
    private var pendingReceipts: [(id: String, status: String)] = []
    private var random: SplitMix64
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        random = SplitMix64(seed: configuration.seed)
        receiptsURL = configuration.receiptsURL.flatMap(URL.init(string:))
    }

    public var currentStats: Stats { lock.withLock { stats } }

    /// The router: `POST /v1/messages` (one, `Idempotency-Key` header), `POST /v1/messages/batch`, `GET /stats`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/messages") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let key = request.headers[.init("Idempotency-Key")!],
                case .object(let object)? = try? JSONParser.parse(Array(body.readableBytesView))
            else { return Self.error("need an Idempotency-Key header and a JSON object") }
            if let fault = await self.injectFault() { return fault }
            return Self.json(self.send(id: key, to: object["to"]?.stringValue))
        }
        router.post("/v1/messages/batch") { request, _ in
            let body = try await request.body.collect(upTo: 64 << 20)
            guard case .object(let object)? = try? JSONParser.parse(Array(body.readableBytesView)),
                case .array(let messages)? = object["messages"], messages.count <= 10_000
            else { return Self.error("expected {\"messages\": [...]} (at most 10,000)") }
            if let fault = await self.injectFault() { return fault }
            var results: [JSONValue] = []
            results.reserveCapacity(messages.count)
            for message in messages {
                guard let id = message.objectValue?["id"]?.stringValue else {
                    results.append(
                        .object(
                            JSONObject([
                                ("id", .null), ("status", .string("rejected")), ("reason", .string("missing id")),
                            ])))
                    continue
                }
                results.append(self.send(id: id, to: message.objectValue?["to"]?.stringValue))
            }
            return Self.json(.object(JSONObject([("results", .array(results))])))
        }
        router.post("/v1/webhooks") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            guard case .object(let object)? = try? JSONParser.parse(Array(body.readableBytesView)),
                let text = object["receipts_url"]?.stringValue, let url = URL(string: text), url.scheme != nil
            else { return Self.error("expected {\"receipts_url\": \"http://…\"}") }
            self.lock.withLock { self.receiptsURL = url }
            return Self.json(.object(JSONObject([("receipts_url", .string(text))])))
        }
        router.get("/stats") { _, _ in
            let stats = self.currentStats
            func number(_ value: Int) -> JSONValue { .number(JSONNumber(Int64(value))) }
            return Self.json(
                .object(
                    JSONObject([
                        ("accepted", number(stats.accepted)), ("rejected", number(stats.rejected)),
                        ("duplicates", number(stats.duplicates)), ("receipts_sent", number(stats.receiptsSent)),
                        (
                            "receipts_sent_by_status",
                            .object(
                                JSONObject(stats.receiptsSentByStatus.sorted { $0.key < $1.key }.map { ($0.key, number($0.value)) }))
                        ),
                        ("receipts_dropped", number(stats.receiptsDropped)),
                        ("throttled", number(stats.throttled)), ("errors", number(stats.errors)),
                        ("timeouts", number(stats.timeouts)),
                    ])))
        }
        return router
    }

    /// Sends (or recalls) one message: the first call for an id decides its fate; later calls repeat it.
    private func send(id: String, to recipient: String?) -> JSONValue {
        lock.withLock {
            if let known = outcomes[id] {
                stats.duplicates += 1
                return Self.result(id, known, duplicate: true)
            }
            let accepted = recipient?.isEmpty == false && nextUnit() < configuration.successRate
            let outcome = Outcome(
                accepted: accepted, vendorID: "v-\(outcomes.count + 1)",
                reason: accepted ? nil : (recipient?.isEmpty == false ? "undeliverable" : "no recipient"))
            outcomes[id] = outcome
            if accepted {
                stats.accepted += 1
                let roll = nextUnit()
                pendingReceipts.append((id, roll < 0.05 ? "bounced" : roll < 0.35 ? "opened" : "delivered"))
            } else {
                stats.rejected += 1
            }
            return Self.result(id, outcome, duplicate: false)
        }
    }

    private static func result(_ id: String, _ outcome: Outcome, duplicate: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("status", .string(outcome.accepted ? "accepted" : "rejected")),
            ("vendor_message_id", .string(outcome.vendorID)), ("duplicate", .bool(duplicate)),
        ]
        if let reason = outcome.reason { members.append(("reason", .string(reason))) }
        return .object(JSONObject(members))
    }

    /// Latency, then maybe a 429, a 500 or a request left hanging for 30 s.
    private func injectFault() async -> Response? {
        if configuration.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(configuration.latencyMs)) }
        let roll = lock.withLock { nextUnit() }
        var threshold = configuration.throttleRate
        if roll < threshold {
            lock.withLock { stats.throttled += 1 }
            return Response(status: .tooManyRequests, headers: [.retryAfter: "1"])
        }
        threshold += configuration.errorRate
        if roll < threshold {
            lock.withLock { stats.errors += 1 }
            return Response(status: .internalServerError)
        }
        threshold += configuration.timeoutRate
        if roll < threshold {
            lock.withLock { stats.timeouts += 1 }
            try? await Task.sleep(for: .seconds(30))
            return Response(status: .gatewayTimeout)
        }
        return nil
    }

    /// Posts pending receipts in signed batches until cancelled.
    public func runReceipts() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(configuration.receiptsIntervalMs))
            // Receipts wait until someone says where they go.
            while let url = lock.withLock({ receiptsURL }) {
                let batch: [(id: String, status: String)] = lock.withLock {
                    let taken = Array(pendingReceipts.prefix(configuration.receiptsBatchMax))
                    pendingReceipts.removeFirst(taken.count)
                    return taken
                }
                if batch.isEmpty { break }
                let now = JSONValue.string(
                    Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6)).description)
                let receipts: [JSONValue] = batch.map {
                    .object(JSONObject([("message_id", .string($0.id)), ("status", .string($0.status)), ("at", now)]))
                }
                let body = Data(JSONValue.object(JSONObject([("receipts", .array(receipts))])).serialized())
                let answer = await deliver(body, to: url)
                switch answer {
                case .accepted:
                    lock.withLock {
                        stats.receiptsSent += batch.count
                        for receipt in batch { stats.receiptsSentByStatus[receipt.status, default: 0] += 1 }
                    }
                case .refused where configuration.receiptsOn4xx == .drop:
                    lock.withLock { stats.receiptsDropped += batch.count }
                case .refused, .failed:
                    // Put them back and try again at the next tick.
                    lock.withLock { pendingReceipts.insert(contentsOf: batch, at: 0) }
                }
                // After a refusal or a failure, the next batch waits for the next tick.
                guard answer == .accepted else { break }
            }
        }
    }

    /// How the webhook answered a receipt batch.
    enum WebhookAnswer: Equatable {
        case accepted
        /// 4xx: the receiver says the batch itself is wrong.
        case refused
        /// 5xx, a timeout or no connection: worth trying again.
        case failed
    }

    private func deliver(_ body: Data, to url: URL) async -> WebhookAnswer {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(
            "sha256=" + Self.signature(body, secret: configuration.receiptsSecret),
            forHTTPHeaderField: "X-Cohort-Signature")
        guard let (_, response) = try? await URLSession.shared.data(for: request),
            let status = (response as? HTTPURLResponse)?.statusCode
        else { return .failed }
        if status >= 300 { logger.warning("receipts webhook answered \(status)") }
        switch status {
        case 200..<300: return .accepted
        case 400..<500: return .refused
        default: return .failed
        }
    }

    /// Hex HMAC-SHA256 of `body` with `secret`: what the receipts endpoint checks.
    public static func signature(_ body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()  // once per receipt batch: not a hot path
    }

    private func nextUnit() -> Double { Double.random(in: 0..<1, using: &random) }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    static func error(_ message: String) -> Response {
        json(.object(JSONObject([("error", .string(message))])), status: .badRequest)
    }
}

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
