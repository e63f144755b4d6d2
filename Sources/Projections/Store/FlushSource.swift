import Foundation
import LMDB
import Memory

/// The working set as the flush's row-building jobs read it, from other threads, while nothing changes it.
final class FlushSource<Sink: RowSink>: @unchecked Sendable {
    // @unchecked Sendable: a copy of the applier, only read, and only while the flush waits for its jobs.
    let applier: BatchApplier<Sink>
    private let lock = NSLock()
    private var prefixOrder: [(id: String, slot: Int)]?

    init(_ applier: BatchApplier<Sink>) { self.applier = applier }

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
            } else if applier.sink.storeMayHoldRows {
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
