import Events

/// Folds customer, order and activity events into a customer and one of its orders. Pure: no I/O.
///
/// Order aggregates are updated incrementally; the rare case an increment cannot handle (a cancelled order that
/// was the first or last order) asks the caller to recompute from all the customer's orders with
/// `recomputeOrderAggregates`.
public enum CustomerFold {
    /// What applying one event produced.
    public struct Outcome: Sendable, Equatable {
        public var customer: CustomerState
        /// The order after the event, for order events.
        public var order: OrderState?
        /// Set when first/last order times must be recomputed from every order of the customer.
        public var needsRecompute = false
    }

    /// Applies `payload` (a customer, order or activity event) that happened at `time`.
    /// `customer` is nil for a customer never seen before; `order` is the stored order named by an order event.
    public static func apply(
        _ payload: EventPayload, at time: Timestamp, to customer: CustomerState?, customerID: String, order: OrderState?
    ) -> Outcome {
        var state = customer ?? CustomerState(customerID: customerID)
        let (updated, needsRecompute) = apply(payload, at: time, to: &state, order: order)
        return Outcome(customer: state, order: updated, needsRecompute: needsRecompute)
    }

    /// The same fold in place: the batch applier keeps each customer in one slot and changes it there, which spares
    /// copying every field of the state per event. Returns the order after the event and whether first/last order
    /// times must be recomputed.
    public static func apply(
        _ payload: EventPayload, at time: Timestamp, to state: inout CustomerState, order: OrderState?
    ) -> (order: OrderState?, needsRecompute: Bool) {
        // Erasure is final: later events do not bring the customer (or their data) back.
        if state.isErased { return (order, false) }
        state.firstSeenAt = min(state.firstSeenAt ?? time, time)
        switch payload {
        case .customerUpserted(let upsert):
            applyProfile(upsert, to: &state)
            return (nil, false)
        case .customerErased:
            state = .erased(state.customerID)
            return (nil, false)
        case .visitRecorded(let visit):
            state.visitCount += 1
            let visitedAt = visit.visitedAt ?? time
            state.lastVisitAt = max(state.lastVisitAt ?? visitedAt, visitedAt)
            return (nil, false)
        case .orderPlaced(let placed):
            var updated = order ?? OrderState(orderID: placed.orderID)
            // The first `placed` wins; a redelivery, even with a new event id, changes nothing.
            if !updated.isPlaced {
                updated.isPlaced = true
                updated.amount = placed.amount
                updated.placedAt = placed.placedAt ?? time
            }
            return (updated, orderChanged(&state, before: order, after: updated))
        case .orderCancelled(let cancelled):
            var updated = order ?? OrderState(orderID: cancelled.orderID)
            updated.isCancelled = true
            return (updated, orderChanged(&state, before: order, after: updated))
        case .orderRefunded(let refunded):
            var updated = order ?? OrderState(orderID: refunded.orderID)
            updated.refundedTotal = updated.refundedTotal + refunded.amount
            return (updated, orderChanged(&state, before: order, after: updated))
        default:
            return (order, false)
        }
    }

    private static func applyProfile(_ upsert: CustomerUpserted, to state: inout CustomerState) {
        func patch<Value>(_ field: inout Value?, _ change: Patch<Value>) {
            switch change {
            case .keep: break
            case .clear: field = nil
            case .set(let value): field = value
            }
        }
        patch(&state.name, upsert.name)
        patch(&state.email, upsert.email)
        patch(&state.phone, upsert.phone)
        patch(&state.city, upsert.city)
        patch(&state.country, upsert.country)
        patch(&state.upsertedCreatedAt, upsert.createdAt)
        switch upsert.tags {
        case .keep: break
        case .clear: state.tags = []
        case .set(let tags):
            var unique: [String] = []
            for tag in tags where !unique.contains(tag) { unique.append(tag) }
            state.tags = unique
        }
        switch upsert.attributes {
        case .keep: break
        case .clear: state.attributes = [:]
        case .set(let attributes): state.attributes = attributes
        }
    }

    /// Moves the customer's aggregates from what `before` contributed to what `after` contributes; returns whether
    /// first/last order times must be recomputed.
    static func orderChanged(_ state: inout CustomerState, before: OrderState?, after: OrderState) -> Bool {
        var needsRecompute = false
        if let before, before.counts {
            state.orderCount -= 1
            state.totalSpend = state.totalSpend - before.netAmount
            // Removing the order that defined the first or last order time cannot be undone incrementally.
            if !after.counts, before.placedAt == state.firstOrderAt || before.placedAt == state.lastOrderAt {
                needsRecompute = true
            }
        }
        if after.counts {
            state.orderCount += 1
            state.totalSpend = state.totalSpend + after.netAmount
            if let placedAt = after.placedAt {
                state.firstOrderAt = min(state.firstOrderAt ?? placedAt, placedAt)
                state.lastOrderAt = max(state.lastOrderAt ?? placedAt, placedAt)
            }
        }
        return needsRecompute
    }

    /// Recomputes every order aggregate from all of the customer's orders.
    public static func recomputeOrderAggregates(_ customer: inout CustomerState, orders: [OrderState]) {
        let counting = orders.filter(\.counts)
        customer.orderCount = counting.count
        customer.totalSpend = counting.reduce(Money.zero) { $0 + $1.netAmount }
        let times = counting.compactMap(\.placedAt)
        customer.firstOrderAt = times.min()
        customer.lastOrderAt = times.max()
    }
}
