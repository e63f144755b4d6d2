import EventLog
import Events

extension LentRecord {
    /// The record's log time as a timestamp: folds use it when the event carries no `time`.
    public var logTime: Timestamp { Timestamp(milliseconds: timestampMs) }

    /// The event this record carries, in either Kafka binding, handed to `body` in the frame that built it (to be
    /// moved once into its final place); the reason when the record is not a valid event, and then `body` is not
    /// called. Plain structured events take the scanner's one pass; anything else the full decoder, which also
    /// words the errors.
    public func decodeEvent(_ body: (consuming EventEssentials) -> Void) -> EventValidationError? {
        let binary = hasHeader(named: CloudEvent.binaryModeMarker)
        if !binary, CloudEvent.scanEssentials(structured: value, body) { return nil }
        let result: Result<EventEssentials, EventValidationError>
        if binary {
            let pairs = headers.map { (name: $0.name, value: $0.value) }
            result = CloudEvent.decode(binaryHeaders: pairs, value: Array(value)).map(\.essentials)
        } else {
            result = CloudEvent.decode(structured: Array(value)).map(\.essentials)
        }
        switch result {
        case .failure(let error): return error
        case .success(let event):
            body(event)
            return nil
        }
    }
}

extension LogRecord {
    /// `LentRecord.decodeEvent` for a record owned by the caller: the event, or why the record is not one.
    public func decodeEvent() -> Result<EventEssentials, EventValidationError> {
        withLent { record in
            var decoded: EventEssentials?
            if let error = record.decodeEvent({ decoded = $0 }) { return .failure(error) }
            return .success(decoded!)
        }
    }
}
