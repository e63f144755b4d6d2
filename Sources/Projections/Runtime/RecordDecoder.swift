import EventLog
import Events

/// A log record turned into either an event to fold or the reason it is poison.
public struct DecodedRecord: Sendable {
    /// What the record turned out to be.
    public enum Content: Sendable {
        case event(EventEssentials)
        case poison(reason: String)
    }

    /// Where the record is in the log.
    public let position: RecordPosition
    /// The time folds use: the event's own `time`, else when the log stored it.
    public let time: Timestamp
    public let content: Content
    /// The hashes of what a fold looks up first, computed by the decoding thread (zero for poison).
    let hashes: LookupHashes

    init(position: RecordPosition, time: Timestamp, content: Content) {
        self.position = position
        self.time = time
        self.content = content
        if case .event(let event) = content {
            var orderHash: UInt64 = 0
            switch event.payload {
            case .orderPlaced(let order): orderHash = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
            case .orderCancelled(let order):
                orderHash = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
            case .orderRefunded(let order):
                orderHash = StoreKeys.orderHash(customerID: event.key, orderID: order.orderID)
            default: break
            }
            hashes = LookupHashes(
                eventID: StoreKeys.eventIDHash(event.id), key: ByteTable.hash(event.key), order: orderHash)
        } else {
            hashes = LookupHashes()
        }
    }
}

/// `ByteTable.hash` of an event's dedup key (`StoreKeys.eventID`), of its key (the customer, for customer
/// streams) and of its order's key (`StoreKeys.order`, zero without one): hashing them where records are decoded,
/// on every core, spares the one folding thread.
struct LookupHashes: Sendable {
    var eventID: UInt64 = 0
    var key: UInt64 = 0
    var order: UInt64 = 0
}

/// Decodes records in either Kafka binding and applies deployment rules (one currency). Pure.
public struct RecordDecoder: Sendable {
    /// The deployment currency; orders and refunds in another go to the dead-letter topic.
    public let currency: String

    /// A decoder for a deployment whose currency is `currency`.
    public init(currency: String) { self.currency = currency }

    /// Decodes one record; never fails: what cannot be folded comes back as poison with its reason.
    public func decode(_ record: LogRecord) -> DecodedRecord {
        record.withLent(decode)
    }

    /// `decode` for a record lent by a log, decoded from the log's own bytes.
    public func decode(_ record: LentRecord) -> DecodedRecord {
        let result: Result<EventEssentials, EventValidationError>
        if record.hasHeader(named: CloudEvent.binaryModeMarker) {
            let headers = record.headers.map { (name: $0.name, value: $0.value) }
            result = CloudEvent.decode(binaryHeaders: headers, value: Array(record.value)).map(\.essentials)
        } else {
            result = CloudEvent.decodeEssentials(structured: record.value)
        }
        let logTime = Timestamp(milliseconds: record.timestampMs)
        switch result {
        case .failure(let error):
            return DecodedRecord(position: record.position, time: logTime, content: .poison(reason: error.description))
        case .success(let event):
            if let problem = currencyProblem(event.payload) {
                return DecodedRecord(position: record.position, time: logTime, content: .poison(reason: problem))
            }
            return DecodedRecord(position: record.position, time: event.time ?? logTime, content: .event(event))
        }
    }

    /// Why `event` does not belong in this deployment (an order or refund in another currency), if it does not.
    public func currencyProblem(_ event: CloudEvent) -> String? {
        switch event.type {
        case .orderPlaced, .orderRefunded: currencyProblem(given: event.data["currency"]?.stringValue)
        default: nil
        }
    }

    private func currencyProblem(_ payload: EventPayload) -> String? {
        switch payload {
        case .orderPlaced(let order): currencyProblem(given: order.currency)
        case .orderRefunded(let refund): currencyProblem(given: refund.currency)
        default: nil
        }
    }

    private func currencyProblem(given: String?) -> String? {
        guard let given, given != currency else { return nil }
        return "/data/currency: \(given) is not the deployment currency \(currency)"
    }
}
