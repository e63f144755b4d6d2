import EventLog
import Events
import Foundation
import LMDB
import Memory

extension ReadModelStore {
    /// Folds one batch in one write transaction together with the next offset of every partition it consumed.
    /// Either all of it is stored or none of it. Returns what changed, for in-memory views kept beside the store.
    @discardableResult
    public func apply(_ batch: [DecodedRecord], nextOffsets: [TopicPartition: Int64]) throws -> BatchChanges {
        try environment.write { txn in
            var applier = BatchApplier(store: self, expectedRecords: batch.count)
            // Copied, not moved out of the batch: a transaction that outgrows the map is run again, whole.
            try applier.fold(batch, in: txn)
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
/// once at the end. Lives only inside one write transaction, or, for an `InMemoryRebuild`, across all its batches,
/// the per-event rows waiting in `rows` too.
struct BatchApplier {
    let store: ReadModelStore
    /// Set when folding into an empty store in memory: per-event rows wait here instead of being put one by one,
    /// and the flush appends everything in key order.
    private var rows: RebuildRows?
    /// Customers of this batch: the ids numbered by slot (compared byte for byte, as LMDB compares keys), each
    /// customer folded in place in its slot of `customerStates`.
    private var customerIDs: ByteTable
    private var customerStates: [CustomerState] = []
    /// Orders changed by this batch: their keys numbered by place in `orderStates`, and the places of each customer
    /// slot's orders (for recomputes and erasure).
    private var orderKeys: ByteTable
    private var orderStates: [OrderState] = []
    private var ordersOfSlot = PlaceLists()
    // Ids below compare byte for byte, as LMDB compares keys: two ids equal only as Unicode text are two entries.
    private var campaigns: [ByteString: CampaignState?] = [:]
    /// Saved segments, nil once deleted.
    private var segments: [ByteString: SegmentState?] = [:]
    private var stats: [ByteString: CampaignStats] = [:]
    private var messages: [ByteString: MessageState] = [:]
    private var counterDeltas = CounterDeltas()
    /// Reused for keys built per record, to spare an allocation each time.
    private var keyBuffer: [UInt8] = []

    init(store: ReadModelStore, expectedRecords: Int, inMemory: Bool = false) {
        self.store = store
        rows = inMemory ? RebuildRows(expectedRecords: expectedRecords) : nil
        // A batch may touch a customer per record; a whole log has fewer customers than records by far.
        let customers = inMemory ? expectedRecords / 4 : expectedRecords
        customerIDs = ByteTable(expectedCount: customers, expectedBytes: customers * 16)
        customerStates.reserveCapacity(customers)
        ordersOfSlot.reserveCapacity(slots: customers, places: expectedRecords / 2)
        orderKeys = ByteTable(expectedCount: expectedRecords / 2, expectedBytes: expectedRecords * 16)
        orderStates.reserveCapacity(expectedRecords / 2)
        keyBuffer.reserveCapacity(512)
    }

    /// Folds every record of `batch`, in order, moving each out of it (`batch` is left holding placeholders): for
    /// a batch folded once, as a rebuild's are (a write transaction may be run again, and must copy instead).
    ///
    /// Moved, a record is folded without being copied: a copy retains every string and box it holds, a cache miss
    /// each on the folding thread, since another thread decoded them. When the caller still shares `batch`, taking
    /// it `inout` copies it first; callers hand batches over whole.
    mutating func fold(moving batch: inout [DecodedRecord], in txn: borrowing Transaction) throws {
        try batch.withUnsafeMutableBufferPointer { records in
            try fold(UnsafeBufferPointer(records), in: txn) { index in
                let record = (records.baseAddress! + index).move()
                // Refilled at once: whatever the fold throws, the array's elements stay initialized.
                (records.baseAddress! + index).initialize(to: .vacated)
                return record
            }
        }
    }

    /// Folds every record of `batch`, in order, copying each.
    mutating func fold(_ batch: [DecodedRecord], in txn: borrowing Transaction) throws {
        try batch.withUnsafeBufferPointer { records in try fold(records, in: txn) { records[$0] } }
    }

    /// Folds `records` in order, each as `take` gives it.
    ///
    /// A record's lookups go to tables of up to millions of entries, and then to the state they number: each a
    /// cache miss that stalls the thread when taken one at a time. So they are requested ahead, in two stages that
    /// overlap the misses of many records: `prefetchDistance` records ahead, the record itself, its id's bytes and
    /// its table places; half that far ahead, with those places in cache, the states they number.
    private mutating func fold(
        _ records: UnsafeBufferPointer<DecodedRecord>, in txn: borrowing Transaction,
        taking take: (Int) -> DecodedRecord
    ) throws {
        let (far, near) = (Self.prefetchDistance, Self.prefetchDistance / 2)
        for index in 0..<min(records.count, far) { requestPlaces(of: records.baseAddress! + index) }
        for index in 0..<min(records.count, near) { requestStates(of: records[index].hashes) }
        for index in records.indices {
            if index + far < records.count { requestPlaces(of: records.baseAddress! + index + far) }
            if index + near < records.count { requestStates(of: records[index + near].hashes) }
            try fold(take(index), in: txn)
        }
    }

    /// How many records ahead of the one being folded its lookups are requested (`fold(_:in:)`): enough to overlap
    /// that many misses, few enough that what they bring is still in cache when the record is folded.
    private static let prefetchDistance = 16

    /// The first stage: the record (written by another core), its id's bytes and its table places.
    private mutating func requestPlaces(of record: UnsafePointer<DecodedRecord>) {
        let start = UnsafeRawPointer(record)
        for line in stride(from: 64, to: MemoryLayout<DecodedRecord>.size, by: 64) { Prefetch.line(start + line) }
        let hashes = record.pointee.hashes
        if let idBytes = UnsafeRawPointer(bitPattern: hashes.eventIDBytes) { Prefetch.line(idBytes) }
        if rows != nil { rows!.prefetchEventID(hash: hashes.eventID) }
        customerIDs.prefetch(hash: hashes.key)
        orderKeys.prefetch(hash: hashes.order)
    }

    /// The second stage: the states the record's customer and order places number, when they hold any. Mutating
    /// though it changes nothing, like `requestPlaces`: called from the mutating fold, a non-mutating method was
    /// handed a copy of the whole applier, retaining every table, per record.
    private mutating func requestStates(of hashes: LookupHashes) {
        if let slot = customerIDs.likelyNumber(hash: hashes.key), slot < customerStates.count {
            customerIDs.keys.prefetch(keys: CollectionOfOne(slot))
            customerStates.withUnsafeBufferPointer { states in
                let start = UnsafeRawPointer(states.baseAddress! + slot)
                for line in stride(from: 0, to: MemoryLayout<CustomerState>.size, by: 64) {
                    Prefetch.line(start + line)
                }
            }
        }
        if hashes.order != 0, let place = orderKeys.likelyNumber(hash: hashes.order), place < orderStates.count {
            orderKeys.keys.prefetch(keys: CollectionOfOne(place))
            orderStates.withUnsafeBufferPointer { Prefetch.line($0.baseAddress! + place) }
        }
    }

    mutating func fold(_ decoded: consuming DecodedRecord, in txn: borrowing Transaction) throws {
        // Taken apart and its content switched on as consumed: matched in place, the event was copied (retaining
        // all it holds) instead of moved.
        let (position, time, hashes, content) = decoded.parts()
        let event: EventEssentials
        switch consume content {
        case .event(let value): event = value
        case .poison(let reason):
            if rows != nil {
                rows!.addDeadLetter(position, reason: reason)
            } else {
                try txn.put(
                    store.deadLetters, key: StoreKeys.position(position),
                    value: DeadLetterEntry.encodedValue(position: position, reason: reason))
            }
            counterDeltas.deadLetters += 1
            return
        }
        guard try claim(eventID: event.id, hash: hashes.eventID, in: txn) else {
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

    /// Records an event id; false when it was seen before, whatever its position in the log.
    private mutating func claim(eventID id: String, hash: UInt64, in txn: borrowing Transaction) throws -> Bool {
        if rows != nil { return rows!.claim(eventID: id, hash: hash) }
        // One insert that refuses an existing key both checks and records the id.
        StoreKeys.eventID(id, into: &keyBuffer)
        return try txn.put(store.eventIDs, key: keyBuffer, value: [UInt8](), flags: .noOverwrite)
    }

    /// Roughly how many bytes the working set holds.
    var estimatedBytes: Int {
        customerStates.count * 320 + orderStates.count * 200 + messages.count * 400 + (rows?.estimatedBytes ?? 0)
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
        try addTimeline(customerID, slot: slot, event: event, time: time, position: position, in: txn)
    }

    /// Adds a timeline row of `customerID`, whose slot is `slot` when the batch holds one.
    private mutating func addTimeline(
        _ customerID: String, slot: Int?, event: EventEssentials, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) throws {
        if rows != nil {
            // The event being folded is the one claimed last: its timeline value shares the claimed id's bytes.
            rows!.addTimeline(time: time, position: position, type: event.type, slot: slot, customerID: customerID)
            return
        }
        let entry = TimelineEntry(time: time, type: event.type, eventID: event.id, position: position)
        StoreKeys.timeline(customerID: customerID, time: time, position: position, into: &keyBuffer)
        try txn.put(store.timeline, key: keyBuffer, value: entry.encodedValue())
    }

    /// Right to erasure: drops the customer's orders and timeline and scrubs their messages.
    private mutating func erase(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws {
        let prefix = StoreKeys.prefix(customerID)
        // The orders stay numbered (an erased customer's events change nothing, so they are not looked up again)
        // but are no longer the customer's, so they are not written.
        ordersOfSlot.clear(slot: slot)
        var messageIDs: [String] = []
        if rows != nil {
            rows!.dropTimeline(slot: slot, customerID: customerID)
            messageIDs = rows!.messageIDs(of: customerID)
        } else {
            try deleteAll(withPrefix: prefix, in: store.orders, txn)
            try deleteAll(withPrefix: prefix, in: store.timeline, txn)
            try txn.forEach(store.customerMessages, from: prefix) { key, _ in
                guard key.starts(with: prefix) else { return false }
                messageIDs.append(String(decoding: key.dropFirst(prefix.count), as: UTF8.self))
                return true
            }
        }
        for id in messageIDs {
            if var message = try message(id, in: txn) {
                message.to = nil
                message.body = nil
                messages[ByteString(id)] = message
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
            segments[ByteString(saved.segmentID)] = .some(state)
        case .segmentDeleted(let segmentID):
            segments[ByteString(segmentID)] = .some(nil)
        default:
            guard let campaignID = campaignID(of: payload) else { return }
            let current: CampaignState?
            if let cached = campaigns[ByteString(campaignID)] {
                current = cached
            } else {
                current = try txn.withValue(store.campaigns, key: StoreKeys.id(campaignID)) {
                    try $0.map(CampaignState.init(decoding:))
                }
            }
            campaigns[ByteString(campaignID)] = CampaignFold.apply(payload, at: time, to: current)
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
        stats[ByteString(campaignID)] = newStats
        if let customerID = updated.customerID {
            if try isErased(customerID, in: txn) {
                updated.to = nil
                updated.body = nil
            } else {
                try addTimeline(
                    customerID, slot: customerIDs.find(customerID), event: event, time: time,
                    position: position, in: txn)
            }
            if before == nil {
                if rows != nil {
                    rows!.addMessage(messageID, of: customerID)
                } else {
                    try txn.put(
                        store.customerMessages,
                        key: StoreKeys.customerMessage(customerID: customerID, messageID: messageID),
                        value: [UInt8]())
                }
            }
        }
        messages[ByteString(messageID)] = updated
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

    /// Writes the working set back into the transaction. In key order: consecutive puts land on the same or
    /// neighbouring B-tree pages, still in cache; into the empty databases of a rebuild, they append, and the rows
    /// are built on other threads while this one puts them (`RowPipeline`).
    mutating func flush(in txn: borrowing Transaction) throws -> BatchChanges {
        let source = FlushSource(self)
        let store = self.store
        // The jobs that sort the most before their first row go first: the putting thread has the others' rows.
        var jobs: [RowPipeline.Job] = [{ source.writeCustomers(to: &$0) }]
        if let rows {
            jobs.insert({ rows.writeEventIDs(to: store.eventIDs, &$0) }, at: 0)
            jobs.append { rows.writeTimelines(to: store.timeline, customersByPrefix: source.customersByPrefix, &$0) }
            jobs.append { rows.writeLinksAndDeadLetters(store: store, &$0) }
        }
        jobs += [{ source.writeOrders(to: &$0) }, { source.writeCampaignsAndSegments(to: &$0) }]
        if rows == nil {
            try RowPipeline.runHere(jobs) { try txn.apply($0, flags: []) }
        } else {
            // A rebuild writes a new environment through its map: its pages are filled ahead on the other core.
            let populator = store.environment.populatingAhead(lead: 64 << 20)
            defer { populator.finish() }
            try RowPipeline.run(jobs) { chunk in
                try txn.apply(chunk, flags: .append)
                populator.advance(by: chunk.bytes.count)
            }
        }
        for (counter, delta) in counterDeltas.all where delta != 0 {
            let key = Array(counter.rawValue.utf8)
            let current = try txn.withValue(store.counters, key: key) { $0.flatMap(StoreKeys.readInt64) } ?? 0
            try txn.put(store.counters, key: key, value: StoreKeys.int64(current + delta))
        }
        return BatchChanges(customers: customerStates)
    }

    /// The working set as the flush's row-building jobs read it, from other threads, while nothing changes it.
    private final class FlushSource: @unchecked Sendable {
        // @unchecked Sendable: a copy of the applier, only read, and only while the flush waits for its jobs.
        let applier: BatchApplier
        private let lock = NSLock()
        private var prefixOrder: [(id: String, slot: Int)]?

        init(_ applier: BatchApplier) { self.applier = applier }

        /// The customers and their slots in `StoreKeys.prefix` order: their orders, timelines and message links are
        /// filed under that prefix, which sorts by length first. Sorted by the first job that asks.
        var customersByPrefix: [(id: String, slot: Int)] {
            lock.withLock {
                if let prefixOrder { return prefixOrder }
                var prefixes = KeyArena(expectedKeys: applier.customerStates.count)
                for state in applier.customerStates {
                    prefixes.append { StoreKeys.appendPrefix(state.customerID, to: &$0) }
                }
                let order = prefixes.sortedIndices().map { (id: applier.customerStates[$0].customerID, slot: $0) }
                prefixOrder = order
                return order
            }
        }

        /// Customers, keyed by their id (`customerIDs` holds the ids by slot).
        func writeCustomers(to writer: inout RowWriter) {
            let keys = applier.customerIDs.keys
            for slot in keys.sortedIndices() {
                writer.put(
                    applier.store.customers, key: { key in keys.withKey(slot) { key.append(contentsOf: $0) } },
                    value: { applier.customerStates[slot].encode(into: &$0) })
            }
        }

        /// Each customer's orders, in their key order under the customer's prefix.
        func writeOrders(to writer: inout RowWriter) {
            let keys = applier.orderKeys.keys
            guard !applier.orderStates.isEmpty else { return }
            let customers = customersByPrefix
            let (starts, grouped) = applier.ordersOfSlot.grouped()
            func places(of customer: Int) -> ArraySlice<Int> {
                let slot = customers[customer].slot
                return grouped[starts[slot]..<starts[slot + 1]]
            }
            // Orders are read out of order, each key and state a cache miss: requested a few customers ahead, the
            // misses overlap instead of stalling the writing loop one by one.
            let ahead = 4
            func request(_ customer: Int) {
                guard customer < customers.count else { return }
                let places = places(of: customer)
                applier.orderStates.withUnsafeBufferPointer { states in
                    for place in places { Prefetch.line(states.baseAddress! + place) }
                }
                keys.prefetch(keys: places)
            }
            for customer in 0..<min(ahead, customers.count) { request(customer) }
            for customer in customers.indices {
                request(customer + ahead)
                let places = places(of: customer)
                for place in places.count > 1 ? places.sorted(by: keys.keyPrecedes) : Array(places) {
                    writer.put(
                        applier.store.orders, key: { key in keys.withKey(place) { key.append(contentsOf: $0) } },
                        value: { applier.orderStates[place].encode(into: &$0) })
                }
            }
        }

        /// Campaigns, their stats, saved segments (deleted ones removed) and messages.
        func writeCampaignsAndSegments(to writer: inout RowWriter) {
            let store = applier.store
            for (id, state) in inKeyOrder(applier.campaigns) {
                if let state { writer.put(store.campaigns, key: StoreKeys.id(id), value: state.encoded()) }
            }
            for (id, state) in inKeyOrder(applier.stats) {
                writer.put(store.campaignStats, key: StoreKeys.id(id), value: state.encoded())
            }
            for (id, state) in inKeyOrder(applier.segments) {
                if let state {
                    writer.put(store.segments, key: StoreKeys.id(id), value: state.encoded())
                } else if applier.rows == nil {
                    writer.delete(store.segments, key: StoreKeys.id(id))
                }
            }
            for (id, state) in inKeyOrder(applier.messages) {
                writer.put(store.messages, key: StoreKeys.id(id), value: state.encoded())
            }
        }

        /// The entries of `table` in the order of their `StoreKeys.id` keys.
        private func inKeyOrder<Value>(_ table: [ByteString: Value]) -> [(id: String, value: Value)] {
            table.map { (id: $0.key.value, value: $0.value) }.sorted { StoreKeys.idPrecedes($0.id, $1.id) }
        }
    }
}

/// The places of each customer slot's orders: per slot a list threaded through two flat arrays, instead of an
/// array per customer, a heap object of its own whose header the fold read (most often a cache miss) on every
/// order it added.
struct PlaceLists {
    /// Per slot: its place added last, or -1.
    private var last: [Int32] = []
    /// Per place: the place its slot had before it, or -1.
    private var previous: [Int32] = []
    /// Per place: its slot.
    private var slots: [Int32] = []

    mutating func reserveCapacity(slots: Int, places: Int) {
        last.reserveCapacity(slots)
        previous.reserveCapacity(places)
        self.slots.reserveCapacity(places)
    }

    /// A new slot, with no places.
    mutating func addSlot() { last.append(-1) }

    /// Adds `place`, the next place (places are numbered 0, 1, 2… as they are added), to `slot`.
    mutating func add(place: Int, toSlot slot: Int) {
        precondition(place == previous.count, "places are added in order")
        previous.append(last[slot])
        slots.append(Int32(slot))
        last[slot] = Int32(place)
    }

    /// Every slot's places at once, grouped by slot in two passes over the places: slot `s` has
    /// `places[starts[s]..<starts[s + 1]]`, in the order they were added; cleared slots have none. For reading many
    /// slots' places, where following each slot's list took a cache miss per place.
    func grouped() -> (starts: [Int], places: [Int]) {
        // A cleared slot is one whose list is empty though it had places (a slot gets none after being cleared).
        let (starts, places) = Self.group(slots, slotCount: last.count) { last[$0] >= 0 }
        return (starts, places)
    }

    /// The indices of `slots` grouped by the slot they hold, with a counting sort (one pass to count, one to
    /// place): slot `s` has `members[starts[s]..<starts[s + 1]]`, in index order; slots `keeps` refuses have none.
    static func group(_ slots: [Int32], slotCount: Int, keeping keeps: (Int) -> Bool = { _ in true }) -> (
        starts: [Int], members: [Int]
    ) {
        var starts = [Int](repeating: 0, count: slotCount + 1)
        for slot in slots where keeps(Int(slot)) { starts[Int(slot) + 1] += 1 }
        for slot in 0..<slotCount { starts[slot + 1] += starts[slot] }
        var next = starts
        var members = [Int](repeating: 0, count: starts[slotCount])
        for (index, slot) in slots.enumerated() where keeps(Int(slot)) {
            members[next[Int(slot)]] = index
            next[Int(slot)] += 1
        }
        return (starts, members)
    }

    /// Drops every place of `slot` (they stay numbered).
    mutating func clear(slot: Int) { last[slot] = -1 }

    /// The places of `slot`, in the order they were added.
    func places(of slot: Int) -> [Int] {
        var places: [Int] = []
        var place = last[slot]
        while place >= 0 {
            places.append(Int(place))
            place = previous[Int(place)]
        }
        return places.reversed()
    }
}

/// What a batch adds to each counter.
private struct CounterDeltas {
    var events: Int64 = 0
    var duplicates: Int64 = 0
    var deadLetters: Int64 = 0
    var customers: Int64 = 0

    var all: [(ReadModelStore.Counter, Int64)] {
        [(.events, events), (.duplicates, duplicates), (.deadLetters, deadLetters), (.customers, customers)]
    }
}
