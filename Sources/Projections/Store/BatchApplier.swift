import EventLog
import Events
import Foundation
import LMDB

/// The working set of one batch: entities are read from the transaction once, folded in memory and written back
/// once at the end; per-event rows go to `sink`. Lives only inside one write transaction (`TransactionRows`), or,
/// for an `InMemoryRebuild`, across all its batches, its rows waiting in memory too (`RebuildRows`).
struct BatchApplier<Sink: RowSink> {
    let store: ReadModelStore
    var sink: Sink
    /// Customers of this batch: the ids numbered by slot (compared byte for byte, as LMDB compares keys), each
    /// customer folded in place in its slot of `customerStates`.
    var customerIDs: ByteTable
    var customerStates: [CustomerState] = []
    /// Orders changed by this batch: their keys numbered by place in `orderStates`, and the places of each customer
    /// slot's orders (for recomputes and erasure).
    var orderKeys: ByteTable
    var orderStates: [OrderState] = []
    private(set) var ordersOfSlot = PlaceLists()
    // Ids below compare byte for byte, as LMDB compares keys: two ids equal only as Unicode text are two entries.
    private(set) var campaigns: [ByteString: CampaignState?] = [:]
    /// Saved segments, nil once deleted.
    private(set) var segments: [ByteString: SegmentState?] = [:]
    private(set) var stats: [ByteString: CampaignStats] = [:]
    private(set) var messages: [ByteString: MessageState] = [:]
    private var counterDeltas = CounterDeltas()
    /// Reused for keys built per record, to spare an allocation each time.
    private var keyBuffer: [UInt8] = []

    /// An applier for about `expectedRecords` records touching about `expectedCustomers` customers (a batch may
    /// touch one per record; a whole log has far fewer customers than records), which sizes its tables once.
    init(store: ReadModelStore, expectedRecords: Int, expectedCustomers customers: Int, sink: Sink) {
        self.store = store
        self.sink = sink
        customerIDs = ByteTable(expectedCount: customers, expectedBytes: customers * 16)
        customerStates.reserveCapacity(customers)
        ordersOfSlot.reserveCapacity(slots: customers, places: expectedRecords / 2)
        orderKeys = ByteTable(expectedCount: expectedRecords / 2, expectedBytes: expectedRecords * 16)
        orderStates.reserveCapacity(expectedRecords / 2)
        keyBuffer.reserveCapacity(512)
    }

    /// Folds one record.

    mutating func fold(_ decoded: consuming DecodedRecord, in txn: borrowing Transaction) throws {
        // Taken apart and its content switched on as consumed: matched in place, the event was copied (retaining
        // all it holds) instead of moved.
        let (position, time, hashes, content) = decoded.parts()
        let event: EventEssentials
        switch consume content {
        case .event(let value): event = value
        case .poison(let reason):
            try sink.addDeadLetter(position, reason: reason, in: txn)
            counterDeltas.deadLetters += 1
            return
        }
        guard try sink.claim(eventID: event.id, hash: hashes.eventID, in: txn) else {
            counterDeltas.duplicates += 1
            return
        }
        counterDeltas.events += 1

        let payload = event.payload
        switch event.type.stream {
        case .customers, .orders, .activity:
            try foldCustomerEvent(
                event, payload: payload, time: time, position: position, hashes: hashes, in: txn)
        case .campaigns:
            try foldCampaignEvent(payload, time: time, in: txn)
        case .deliveries:
            try foldMessageEvent(event, payload: payload, time: time, position: position, in: txn)
        case .deadletter:
            break
        }
    }

    /// Roughly how many bytes the working set holds.
    var estimatedBytes: Int {
        customerStates.count * 320 + orderStates.count * 200 + messages.count * 400 + sink.estimatedBytes
    }

    // MARK: Customers and orders

    /// The slot of customer `id` (read from the transaction the first time), and whether it was stored before.
    private mutating func customerSlot(_ id: String, hash: UInt64, in txn: borrowing Transaction) throws -> (
        slot: Int, existed: Bool
    ) {
        let (slot, added) = customerIDs.findOrInsert(id, hash: hash)
        guard added else { return (slot, true) }
        let stored = try txn.withValue(store.customers, key: StoreKeys.id(id)) {
            try $0.map(CustomerState.init(decoding:))
        }
        customerStates.append(stored ?? CustomerState(customerID: id))
        ordersOfSlot.addSlot()
        return (slot, stored != nil)
    }

    /// Whether the customer was erased, without decoding the whole state (message events ask for every message).
    private func isErased(_ id: String, in txn: borrowing Transaction) throws -> Bool {
        if let slot = customerIDs.find(id) { return customerStates[slot].isErased }
        return try txn.withValue(store.customers, key: StoreKeys.id(id)) { bytes in
            guard let bytes else { return false }
            return try CustomerState.isErased(encoded: bytes)
        }
    }

    /// The order whose key is in `keyBuffer`, and its place if the batch holds it.
    private mutating func order(hash: UInt64, in txn: borrowing Transaction) throws -> (
        state: OrderState?, place: Int?
    ) {
        if let place = keyBuffer.withUnsafeBytes({ orderKeys.find($0, hash: hash) }) {
            return (orderStates[place], place)
        }
        return (try txn.withValue(store.orders, key: keyBuffer) { try $0.map(OrderState.init(decoding:)) }, nil)
    }

    private mutating func foldCustomerEvent(
        _ event: EventEssentials, payload: EventPayload, time: Timestamp, position: RecordPosition,
        hashes: LookupHashes, in txn: borrowing Transaction
    ) throws {
        let customerID = event.key
        // A customer new to the store but already in this batch "existed" for the counter: it was counted then.
        let (slot, existed) = try customerSlot(customerID, hash: hashes.key, in: txn)
        let wasErased = customerStates[slot].isErased
        var orderID: String?
        switch payload {
        case .orderPlaced(let value): orderID = value.orderID
        case .orderCancelled(let value): orderID = value.orderID
        case .orderRefunded(let value): orderID = value.orderID
        default: break
        }
        var (order, orderPlace): (OrderState?, Int?) = (nil, nil)
        if let orderID {
            StoreKeys.order(customerID: customerID, orderID: orderID, into: &keyBuffer)
            (order, orderPlace) = try self.order(hash: hashes.order, in: txn)
        }
        let (updatedOrder, needsRecompute) = CustomerFold.apply(
            payload, at: time, to: &customerStates[slot], order: order)
        if !existed { counterDeltas.customers += 1 }
        if orderID != nil { counterDeltas.orderChanged(before: order, after: updatedOrder) }
        if customerStates[slot].isErased {
            if !wasErased { try erase(customerID, slot: slot, in: txn) }
            return
        }
        if orderID != nil, let updatedOrder {
            if let orderPlace {
                orderStates[orderPlace] = updatedOrder
            } else {
                // The key is still in `keyBuffer`: nothing since the lookup has built another.
                ordersOfSlot.add(
                    place: keyBuffer.withUnsafeBytes { orderKeys.findOrInsert($0, hash: hashes.order) }.number,
                    toSlot: slot)
                orderStates.append(updatedOrder)
            }
        }
        if needsRecompute {
            // The batch's orders of the customer, each once (places are per order key), over those stored before.
            var orders = ordersOfSlot.places(of: slot).map { orderStates[$0] }
            let stored = try ReadModelStore.orders(ofCustomer: customerID, in: txn, database: store.orders)
            if !stored.isEmpty {
                var all: [ByteString: OrderState] = [:]
                for order in stored + orders { all[ByteString(order.orderID)] = order }
                orders = Array(all.values)
            }
            CustomerFold.recomputeOrderAggregates(&customerStates[slot], orders: orders)
        }
        try sink.addTimeline(customerID, slot: slot, event: event, time: time, position: position, in: txn)
    }

    /// Right to erasure: drops the customer's orders and timeline and scrubs their messages.
    private mutating func erase(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws {
        // The orders stay numbered (an erased customer's events change nothing, so they are not looked up again)
        // but are no longer the customer's, so they are not written.
        ordersOfSlot.clear(slot: slot)
        for id in try sink.dropCustomer(customerID, slot: slot, in: txn) {
            if var message = try message(id, in: txn) {
                message.to = nil
                message.body = nil
                messages[ByteString(id)] = message
            }
        }
    }

    // MARK: Segments and campaigns

    private mutating func foldCampaignEvent(_ payload: EventPayload, time: Timestamp, in txn: borrowing Transaction)
        throws
    {
        switch payload {
        case .segmentSaved(let saved):
            var state = SegmentState(
                segmentID: saved.segmentID, name: saved.name, description: saved.description,
                rulesJSON: JSONValue.object(saved.rules).jsonText, savedAt: time)
            state.savedBy = saved.actor
            segments[ByteString(saved.segmentID)] = .some(state)
        case .segmentDeleted(let segmentID):
            segments[ByteString(segmentID)] = .some(nil)
        default:
            guard let campaignID = campaignID(of: payload) else { return }
            campaigns[ByteString(campaignID)] = CampaignFold.apply(
                payload, at: time, to: try campaign(campaignID, in: txn))
        }
    }

    private mutating func campaign(_ id: String, in txn: borrowing Transaction) throws -> CampaignState? {
        if let cached = campaigns[ByteString(id)] { return cached }
        return try txn.withValue(store.campaigns, key: StoreKeys.id(id)) { try $0.map(CampaignState.init(decoding:)) }
    }

    private func campaignID(of payload: EventPayload) -> String? {
        switch payload {
        case .campaignCreated(let value): value.campaignID
        case .campaignLaunched(let value), .campaignLaunching(let value): value.campaignID
        case .campaignPaused(let value), .campaignResumed(let value), .campaignCancelled(let value),
            .campaignCompleted(let value):
            value.campaignID
        default: nil
        }
    }

    // MARK: Messages

    private mutating func message(_ id: String, in txn: borrowing Transaction) throws -> MessageState? {
        if let cached = messages[ByteString(id)] { return cached }
        return try txn.withValue(store.messages, key: StoreKeys.id(id)) { try $0.map(MessageState.init(decoding:)) }
    }

    private mutating func foldMessageEvent(
        _ event: EventEssentials, payload: EventPayload, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws {
        let messageID = event.key
        let campaignID = Self.campaignID(ofMessage: payload)
        let before = try message(messageID, in: txn)
        let currentStats: CampaignStats
        if let cached = stats[ByteString(campaignID)] {
            currentStats = cached
        } else {
            currentStats =
                try txn.withValue(store.campaignStats, key: StoreKeys.id(campaignID)) {
                    try $0.map(CampaignStats.init(decoding:))
                } ?? CampaignStats()
        }
        var (updated, newStats) = CampaignFold.apply(payload, at: time, to: before, stats: currentStats)
        counterDeltas.unmatchedReceipts += Int64(newStats.unmatchedReceipts - currentStats.unmatchedReceipts)
        counterDeltas.messageChanged(
            campaignID: campaignID, at: updated.history.last?.at ?? time, before: currentStats, after: newStats)
        stats[ByteString(campaignID)] = newStats
        if let customerID = updated.customerID {
            if try isErased(customerID, in: txn) {
                updated.to = nil
                updated.body = nil
            } else {
                try sink.addTimeline(
                    customerID, slot: customerIDs.find(customerID), event: event, time: time,
                    position: position, in: txn)
            }
            if before == nil { try sink.addMessageLink(messageID, customerID: customerID, in: txn) }
        }
        messages[ByteString(messageID)] = updated
        if case .messageQueued(let queued) = payload, queued.actor != nil, (queued.attempt ?? 1) > 1 {
            campaigns[ByteString(campaignID)] = CampaignFold.recordRetry(
                by: queued.actor, at: time, to: try campaign(campaignID, in: txn))
        }
    }

    private static func campaignID(ofMessage payload: EventPayload) -> String {
        switch payload {
        case .messageQueued(let message), .messageSent(let message), .messageFailed(let message),
            .messageReceipt(let message):
            message.campaignID
        default: ""
        }
    }

    // MARK: Flush

    /// Writes the working set back into the transaction, every database in key order (`sink.write`), then the
    /// counters.
    mutating func flush(in txn: borrowing Transaction) throws -> BatchChanges {
        let source = FlushSource(self)
        try sink.write(
            customers: { source.writeCustomers(to: &$0) },
            others: [{ source.writeOrders(to: &$0) }, { source.writeCampaignsAndSegments(to: &$0) }],
            customersByPrefix: { source.customersByPrefix }, in: txn)
        for (counter, delta) in counterDeltas.all where delta != 0 {
            let key = Array(counter.rawValue.utf8)
            let current = try txn.withValue(store.counters, key: key) { $0.flatMap(StoreKeys.readInt64) } ?? 0
            try txn.put(store.counters, key: key, value: StoreKeys.int64(current + delta))
        }
        for (day, delta) in counterDeltas.daily.sorted(by: { $0.key < $1.key }) where delta != DailyFigures() {
            let key = DailyFigures.key(day: day)
            var figures =
                try txn.withValue(store.counters, key: key) { $0.flatMap(DailyFigures.init(encoded:)) }
                ?? DailyFigures()
            figures.revenueUnits += delta.revenueUnits
            figures.orders += delta.orders
            try put(figures.encoded, at: key, unlessZero: figures == DailyFigures(), in: txn)
        }
        for (minute, delta) in counterDeltas.delivery.sorted(by: { $0.key < $1.key }) {
            let key = minute.key
            var figures =
                try txn.withValue(store.counters, key: key) { $0.flatMap(DeliveryFigures.init(encoded:)) }
                ?? DeliveryFigures()
            figures.add(delta)
            try put(figures.encoded, at: key, unlessZero: figures == DeliveryFigures(), in: txn)
        }
        return BatchChanges(customers: customerStates)
    }

    /// Stores a day's or a minute's figures, or, once they are back to zero (an order placed and cancelled), none:
    /// whether the two changes fell into one batch or two must not show in the read models.
    private func put(_ value: [UInt8], at key: [UInt8], unlessZero isZero: Bool, in txn: borrowing Transaction)
        throws
    {
        if isZero {
            try txn.delete(store.counters, key: key)
        } else {
            try txn.put(store.counters, key: key, value: value)
        }
    }
}
