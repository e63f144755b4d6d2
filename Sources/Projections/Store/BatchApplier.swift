import EventLog
import Events
import LMDB

extension ReadModelStore {
    /// Folds one batch in one write transaction together with the next offset of every partition it consumed.
    /// Either all of it is stored or none of it. Returns what changed, for in-memory views kept beside the store.
    @discardableResult
    public func apply(_ batch: [DecodedRecord], nextOffsets: [TopicPartition: Int64]) throws -> BatchChanges {
        try environment.write { txn in
            var applier = BatchApplier(store: self, expectedRecords: batch.count)
            for record in batch { try applier.fold(record, in: txn) }
            let changes = try applier.flush(in: txn)
            try Self.writeOffsets(nextOffsets, to: offsets, in: txn)
            return changes
        }
    }
}

/// What one committed batch changed.
public struct BatchChanges: Sendable {
    /// The final state of every customer the batch touched (erased ones as tombstones).
    public var customers: [CustomerState]
}

/// Something kept in step with the read models, such as an in-memory index: told of every batch right after it
/// commits, on the projector's write thread, before the next batch is applied.
public protocol ProjectionObserver: Sendable {
    func didCommit(_ changes: BatchChanges)
}

/// The working set of one batch: entities are read from the transaction once, folded in memory and written back
/// once at the end. Lives only inside one write transaction.
struct BatchApplier {
    let store: ReadModelStore
    /// Customers of this batch, each in one slot of `customerStates` and folded there in place.
    private var customerSlots: [String: Int] = [:]
    private var customerStates: [CustomerState] = []
    /// Orders changed by this batch, and their keys per customer (for recomputes).
    private var orders: [[UInt8]: OrderState] = [:]
    private var orderKeysByCustomer: [String: [[UInt8]]] = [:]
    private var campaigns: [String: CampaignState?] = [:]
    private var stats: [String: CampaignStats] = [:]
    private var messages: [String: MessageState] = [:]
    private var counterDeltas: [ReadModelStore.Counter: Int64] = [:]
    /// Reused for keys built per record, to spare an allocation each time.
    private var keyBuffer: [UInt8] = []

    init(store: ReadModelStore, expectedRecords: Int) {
        self.store = store
        customerSlots.reserveCapacity(expectedRecords)
        customerStates.reserveCapacity(expectedRecords)
        orders.reserveCapacity(expectedRecords / 2)
        keyBuffer.reserveCapacity(512)
    }

    mutating func fold(_ decoded: DecodedRecord, in txn: borrowing Transaction) throws {
        let position = decoded.position
        guard case .event(let event) = decoded.content else {
            if case .poison(let reason) = decoded.content {
                var writer = BinaryWriter()
                writer.write(position.topic)
                writer.write(Int64(position.partition))
                writer.write(position.offset)
                writer.write(reason)
                try txn.put(store.deadLetters, key: StoreKeys.position(position), value: writer.bytes)
                counterDeltas[.deadLetters, default: 0] += 1
            }
            return
        }
        // Projections ignore an event id seen before, whatever its position in the log: one insert that
        // refuses an existing key both checks and records the id.
        StoreKeys.eventID(event.id, into: &keyBuffer)
        guard try txn.put(store.eventIDs, key: keyBuffer, value: [UInt8](), flags: .noOverwrite) else {
            counterDeltas[.duplicates, default: 0] += 1
            return
        }
        counterDeltas[.events, default: 0] += 1

        let time = decoded.time
        let payload = event.payload
        switch event.type.stream {
        case .customers, .orders, .activity:
            try foldCustomerEvent(event, payload: payload, time: time, position: position, in: txn)
        case .campaigns:
            try foldCampaignEvent(payload, time: time, in: txn)
        case .deliveries:
            try foldMessageEvent(event, payload: payload, time: time, position: position, in: txn)
        case .deadletter:
            break
        }
    }

    // MARK: Customers and orders

    /// The slot of customer `id` (read from the transaction the first time), and whether it was stored before.
    private mutating func customerSlot(_ id: String, in txn: borrowing Transaction) throws -> (slot: Int, existed: Bool)
    {
        if let slot = customerSlots[id] { return (slot, true) }
        let stored = try txn.withValue(store.customers, key: StoreKeys.id(id)) {
            try $0.map(CustomerState.init(decoding:))
        }
        customerStates.append(stored ?? CustomerState(customerID: id))
        customerSlots[id] = customerStates.count - 1
        return (customerStates.count - 1, stored != nil)
    }

    /// Whether the customer was erased, without decoding the whole state (message events ask for every message).
    private func isErased(_ id: String, in txn: borrowing Transaction) throws -> Bool {
        if let slot = customerSlots[id] { return customerStates[slot].isErased }
        return try txn.withValue(store.customers, key: StoreKeys.id(id)) { bytes in
            guard let bytes else { return false }
            return try CustomerState.isErased(encoded: bytes)
        }
    }

    private mutating func order(_ key: [UInt8], in txn: borrowing Transaction) throws -> OrderState? {
        if let cached = orders[key] { return cached }
        return try txn.withValue(store.orders, key: key) { try $0.map(OrderState.init(decoding:)) }
    }

    private mutating func foldCustomerEvent(
        _ event: EventEssentials, payload: EventPayload, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws {
        let customerID = event.key
        // A customer new to the store but already in this batch "existed" for the counter: it was counted then.
        let (slot, existed) = try customerSlot(customerID, in: txn)
        let wasErased = customerStates[slot].isErased
        var orderKey: [UInt8]?
        switch payload {
        case .orderPlaced(let value): orderKey = StoreKeys.order(customerID: customerID, orderID: value.orderID)
        case .orderCancelled(let value): orderKey = StoreKeys.order(customerID: customerID, orderID: value.orderID)
        case .orderRefunded(let value): orderKey = StoreKeys.order(customerID: customerID, orderID: value.orderID)
        default: break
        }
        let order = try orderKey.map { try self.order($0, in: txn) } ?? nil
        let (updatedOrder, needsRecompute) = CustomerFold.apply(
            payload, at: time, to: &customerStates[slot], order: order)
        if !existed { counterDeltas[.customers, default: 0] += 1 }
        if customerStates[slot].isErased {
            if !wasErased { try erase(customerID, in: txn) }
            return
        }
        if let orderKey, let updatedOrder {
            if orders.updateValue(updatedOrder, forKey: orderKey) == nil {
                orderKeysByCustomer[customerID, default: []].append(orderKey)
            }
        }
        if needsRecompute {
            var all: [String: OrderState] = [:]
            for stored in try ReadModelStore.orders(ofCustomer: customerID, in: txn, database: store.orders) {
                all[stored.orderID] = stored
            }
            for key in orderKeysByCustomer[customerID] ?? [] {
                if let changed = orders[key] { all[changed.orderID] = changed }
            }
            CustomerFold.recomputeOrderAggregates(&customerStates[slot], orders: Array(all.values))
        }
        try addTimeline(customerID, event: event, time: time, position: position, in: txn)
    }

    private mutating func addTimeline(
        _ customerID: String, event: EventEssentials, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws {
        let entry = TimelineEntry(time: time, type: event.type, eventID: event.id, position: position)
        StoreKeys.timeline(customerID: customerID, time: time, position: position, into: &keyBuffer)
        try txn.put(store.timeline, key: keyBuffer, value: entry.encodedValue())
    }

    /// Right to erasure: drops the customer's orders and timeline and scrubs their messages.
    private mutating func erase(_ customerID: String, in txn: borrowing Transaction) throws {
        let prefix = StoreKeys.prefix(customerID)
        for key in orderKeysByCustomer.removeValue(forKey: customerID) ?? [] { orders[key] = nil }
        try deleteAll(withPrefix: prefix, in: store.orders, txn)
        try deleteAll(withPrefix: prefix, in: store.timeline, txn)
        var messageIDs: [String] = []
        try txn.forEach(store.customerMessages, from: prefix) { key, _ in
            guard key.starts(with: prefix) else { return false }
            messageIDs.append(String(decoding: key.dropFirst(prefix.count), as: UTF8.self))
            return true
        }
        for id in messageIDs {
            if var message = try message(id, in: txn) {
                message.to = nil
                message.body = nil
                messages[id] = message
            }
        }
    }

    private func deleteAll(withPrefix prefix: [UInt8], in database: Database, _ txn: borrowing Transaction) throws {
        var keys: [[UInt8]] = []
        try txn.forEach(database, from: prefix) { key, _ in
            guard key.starts(with: prefix) else { return false }
            keys.append(Array(key))
            return true
        }
        for key in keys { try txn.delete(database, key: key) }
    }

    // MARK: Segments and campaigns

    private mutating func foldCampaignEvent(_ payload: EventPayload, time: Timestamp, in txn: borrowing Transaction)
        throws
    {
        switch payload {
        case .segmentSaved(let saved):
            let state = SegmentState(
                segmentID: saved.segmentID, name: saved.name, description: saved.description,
                rulesJSON: JSONValue.object(saved.rules).jsonText, savedAt: time)
            try txn.put(store.segments, key: StoreKeys.id(saved.segmentID), value: state.encoded())
        case .segmentDeleted(let segmentID):
            try txn.delete(store.segments, key: StoreKeys.id(segmentID))
        default:
            guard let campaignID = campaignID(of: payload) else { return }
            let current: CampaignState?
            if let cached = campaigns[campaignID] {
                current = cached
            } else {
                current = try txn.withValue(store.campaigns, key: StoreKeys.id(campaignID)) {
                    try $0.map(CampaignState.init(decoding:))
                }
            }
            campaigns[campaignID] = CampaignFold.apply(payload, at: time, to: current)
        }
    }

    private func campaignID(of payload: EventPayload) -> String? {
        switch payload {
        case .campaignCreated(let value): value.campaignID
        case .campaignLaunched(let value): value.campaignID
        case .campaignPaused(let value), .campaignResumed(let value), .campaignCancelled(let value),
            .campaignCompleted(let value):
            value.campaignID
        default: nil
        }
    }

    // MARK: Messages

    private mutating func message(_ id: String, in txn: borrowing Transaction) throws -> MessageState? {
        if let cached = messages[id] { return cached }
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
        if let cached = stats[campaignID] {
            currentStats = cached
        } else {
            currentStats =
                try txn.withValue(store.campaignStats, key: StoreKeys.id(campaignID)) {
                    try $0.map(CampaignStats.init(decoding:))
                } ?? CampaignStats()
        }
        var (updated, newStats) = CampaignFold.apply(payload, at: time, to: before, stats: currentStats)
        stats[campaignID] = newStats
        if let customerID = updated.customerID {
            if try isErased(customerID, in: txn) {
                updated.to = nil
                updated.body = nil
            } else {
                try addTimeline(customerID, event: event, time: time, position: position, in: txn)
            }
            if before == nil {
                try txn.put(
                    store.customerMessages,
                    key: StoreKeys.customerMessage(customerID: customerID, messageID: messageID),
                    value: [UInt8]())
            }
        }
        messages[messageID] = updated
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

    /// Writes the working set back into the transaction.
    mutating func flush(in txn: borrowing Transaction) throws -> BatchChanges {
        // In key order: consecutive puts land on the same or neighbouring B-tree pages, still in cache.
        let customerKeys = customerSlots.map { (StoreKeys.id($0.key), $0.value) }.sorted {
            StoreKeys.precedes($0.0, $1.0)
        }
        for (key, slot) in customerKeys {
            try txn.put(store.customers, key: key, value: customerStates[slot].encoded())
        }
        for key in orders.keys.sorted(by: StoreKeys.precedes) {
            try txn.put(store.orders, key: key, value: orders[key]!.encoded())
        }
        for (id, state) in campaigns {
            if let state { try txn.put(store.campaigns, key: StoreKeys.id(id), value: state.encoded()) }
        }
        for (id, state) in stats { try txn.put(store.campaignStats, key: StoreKeys.id(id), value: state.encoded()) }
        for (key, id) in messages.keys.map({ (StoreKeys.id($0), $0) }).sorted(by: { StoreKeys.precedes($0.0, $1.0) }) {
            try txn.put(store.messages, key: key, value: messages[id]!.encoded())
        }
        for (counter, delta) in counterDeltas where delta != 0 {
            let key = Array(counter.rawValue.utf8)
            let current = try txn.withValue(store.counters, key: key) { $0.flatMap(StoreKeys.readInt64) } ?? 0
            try txn.put(store.counters, key: key, value: StoreKeys.int64(current + delta))
        }
        return BatchChanges(customers: customerStates)
    }
}
