import Events
import Projections
import Testing

/// Builds a validated payload from a `data` JSON text, as the projector would see it.
func payload(_ type: EventType, _ data: String) throws -> EventPayload {
    let text = #"{"specversion":"1.0","id":"t","source":"/test","type":"\#(type.rawValue)","data":\#(data)}"#
    return try CloudEvent.decode(structured: Array(text.utf8)).get().payload
}

func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

func money(_ text: String) -> Money { try! Money.parse(text).get() }

/// Folds a sequence of customer/order events for one customer the way the store does, keeping orders by id.
struct CustomerScenario {
    var customer: CustomerState?
    var orders: [String: OrderState] = [:]
    let customerID = "c1"

    mutating func apply(_ type: EventType, _ data: String, at time: String = "2024-01-01T00:00:00Z") throws {
        let payload = try payload(type, data)
        var orderID: String?
        switch payload {
        case .orderPlaced(let value): orderID = value.orderID
        case .orderCancelled(let value): orderID = value.orderID
        case .orderRefunded(let value): orderID = value.orderID
        default: break
        }
        var outcome = CustomerFold.apply(
            payload, at: at(time), to: customer, customerID: customerID, order: orderID.flatMap { orders[$0] })
        if let orderID, let order = outcome.order { orders[orderID] = order }
        if outcome.needsRecompute {
            CustomerFold.recomputeOrderAggregates(&outcome.customer, orders: Array(orders.values))
        }
        customer = outcome.customer
    }
}
