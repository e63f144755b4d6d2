import EventLog
import Events

/// A log record turned into either an event to fold or the reason it is poison.
public struct DecodedRecord: Sendable {
    /// What the record turned out to be.
    public enum Content: Sendable {
        case event(CloudEvent)
        case poison(reason: String)
    }

    public let record: LogRecord
    public let content: Content

    /// The time folds use: the event's own `time`, else when the log stored it.
    public var time: Timestamp {
        if case .event(let event) = content, let time = event.time { return time }
        return Timestamp(milliseconds: record.timestampMs)
    }
}

/// Decodes records in either Kafka binding and applies deployment rules (one currency). Pure.
public struct RecordDecoder: Sendable {
    /// The deployment currency; orders and refunds in another go to the dead-letter topic.
    public let currency: String

    /// A decoder for a deployment whose currency is `currency`.
    public init(currency: String) { self.currency = currency }

    /// Decodes one record; never fails: what cannot be folded comes back as poison with its reason.
    public func decode(_ record: LogRecord) -> DecodedRecord {
        let result: Result<CloudEvent, EventValidationError>
        let headers = record.headers.map { (name: $0.name, value: $0.value) }
        if CloudEvent.isBinaryMode(headers: headers) {
            result = CloudEvent.decode(binaryHeaders: headers, value: record.value)
        } else {
            result = CloudEvent.decode(structured: record.value)
        }
        switch result {
        case .failure(let error):
            return DecodedRecord(record: record, content: .poison(reason: error.description))
        case .success(let event):
            if let problem = currencyProblem(event) {
                return DecodedRecord(record: record, content: .poison(reason: problem))
            }
            return DecodedRecord(record: record, content: .event(event))
        }
    }

    private func currencyProblem(_ event: CloudEvent) -> String? {
        switch event.type {
        case .orderPlaced, .orderRefunded:
            if let given = event.data["currency"]?.stringValue, given != currency {
                return "/data/currency: \(given) is not the deployment currency \(currency)"
            }
            return nil
        default:
            return nil
        }
    }
}
