import EventLog
import Events

extension CloudEvent {
    /// The log record of this event: structured mode, keyed by its entity id so that one entity's events share a
    /// partition and stay in order.
    public func outgoingRecord(topic: String) -> OutgoingRecord {
        OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: structuredBytes(),
            headers: [Header("content-type", CloudEvent.structuredContentType)])
    }
}
