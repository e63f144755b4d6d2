import Events

/// The deployment rule that money is in one currency: an order or refund in another is refused at ingest and
/// dead-lettered by projectors. Pure.
public struct CurrencyRule: Sendable {
    /// The deployment currency (ISO 4217 code).
    public let currency: String

    /// The rule for a deployment whose currency is `currency`.
    public init(currency: String) { self.currency = currency }

    /// Why `event` does not belong in this deployment, if it does not.
    public func problem(_ event: CloudEvent) -> String? {
        switch event.type {
        case .orderPlaced, .orderRefunded: problem(given: event.data["currency"]?.stringValue)
        default: nil
        }
    }

    /// Why a decoded payload does not belong in this deployment, if it does not.
    public func problem(_ payload: EventPayload) -> String? {
        switch payload {
        case .orderPlaced(let order): problem(given: order.currency)
        case .orderRefunded(let refund): problem(given: refund.currency)
        default: nil
        }
    }

    private func problem(given: String?) -> String? {
        guard let given, given != currency else { return nil }
        return "/data/currency: \(given) is not the deployment currency \(currency)"
    }
}
