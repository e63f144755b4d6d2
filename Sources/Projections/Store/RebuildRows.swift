import EventLog
import Events
import Foundation
import LMDB
import Memory

/// The per-event rows of a span of the log folded in memory (event ids, timelines, dead letters, message links),
/// held until the span is written, then written once per database in key order: appended (`MDB_APPEND`) when the
/// store is empty (a rebuild), put through one cursor when it already holds read models (a catch-up merged into it).
///
/// Putting these rows one by one, each at a random place in a large B-tree, is most of what folding costs; written
/// in key order, each page is filled (or copied and updated) once per span instead of once per row.
struct RebuildRows: RowSink {
    /// One timeline row, its key built only when written. Plain data, with no string to retain: ten million rows of
    /// objects kept alive while as many short-lived ones come and go were what made the allocator slow.
    struct TimelineRow {
        let time: Int64
        let offset: Int64
        let partition: Int32
        /// The topic's number in `topics`.
        let topic: Int32
        /// The event's id: its number in `eventIDs`, whose key holds the id's bytes (`StoreKeys.eventID`).
        let eventID: Int32
        /// The event's type (`TimelineEntry.typeCode`): with the id, the stored value.
        let typeCode: UInt8
    }

    /// The keys (`StoreKeys.eventID`) of the ids seen: compared byte for byte as LMDB compares them (`String`
    /// equality would merge canonically equivalent ids that LMDB keeps apart).
    private var eventIDs: ByteTable
    private var scratch: [UInt8] = []
    /// Timeline rows in log order with the applier's slot of their customer (grouped by slot when written), rows of
    /// customers without a slot (named only by a message so far), and the slots of erased customers.
    private var timelineRows: [TimelineRow] = []
    /// The number in `eventIDs` of the id claimed last, and the ids too long to be their own keys, by number.
    private var lastClaimed: Int32 = -1
    private var longEventIDs: [Int32: String] = [:]
    private var topics: [String] = []
    private var timelineRowSlots: [Int32] = []
    private var timelineOfOthers: [ByteString: [TimelineRow]] = [:]
    private var erasedSlots: Set<Int> = []
    /// Customers erased by the span whose stored orders and timeline rows go when it is written (merging only).
    private var erasedStoredCustomers: [String] = []
    private var messageIDsByCustomer: [ByteString: [String]] = [:]
    private var deadLetters: [(position: RecordPosition, reason: String)] = []
    /// A rough count of the bytes held here, for the rebuild's memory budget.
    private(set) var estimatedBytes = 0

    let store: ReadModelStore
    /// Whether the store holds read models already: ids are looked up there too, erasures delete stored rows, and
    /// rows are put in key order instead of appended.
    let mergesIntoStore: Bool
    /// Whether the span is large enough next to the store for its largest databases to be written anew: set when
    /// the span is written (`InMemorySpan.commit`).
    var rewriteWanted = false
    /// Whether the largest databases are written anew (`StoreRewrite`) instead of merged into row by row; never when
    /// the span erases stored customers (their stored rows are deleted first, and a rewrite would copy them back).
    var rewritesStore: Bool { mergesIntoStore && rewriteWanted && erasedStoredCustomers.isEmpty }

    /// Roughly the bytes the timeline rows take stored.
    var timelineBytes: Int { (timelineRows.count + timelineOfOthers.values.reduce(0) { $0 + $1.count }) * 96 }

    init(store: ReadModelStore, expectedRecords: Int, mergesIntoStore: Bool) {
        self.store = store
        self.mergesIntoStore = mergesIntoStore
        eventIDs = ByteTable(expectedCount: expectedRecords, expectedBytes: expectedRecords * 32)
        timelineRows.reserveCapacity(expectedRecords)
        timelineRowSlots.reserveCapacity(expectedRecords)
    }

    /// Records `id`, whose key hashes to `hash` (`StoreKeys.eventIDHash`), as the id claimed last; false when it
    /// was seen before. An empty store is not asked: every lookup there would miss.
    mutating func claim(eventID id: String, hash: UInt64, in txn: borrowing Transaction) throws -> Bool {
        StoreKeys.eventID(id, into: &scratch)
        if mergesIntoStore {
            if scratch.withUnsafeBytes({ eventIDs.find($0, hash: hash) }) != nil { return false }
            if try txn.withValue(store.eventIDs, key: scratch, { $0 != nil }) { return false }
        }
        let (number, added) = scratch.withUnsafeBytes { eventIDs.findOrInsert($0, hash: hash) }
        guard added else { return false }
        lastClaimed = Int32(truncatingIfNeeded: number)
        if scratch.first != 0 { longEventIDs[lastClaimed] = id }
        estimatedBytes += 32 + id.utf8.count
        return true
    }

    /// Adds a timeline row of the customer in `slot`, or, without one, of `customerID`, for the event whose id was
    /// claimed last: its value shares the claimed id's bytes.
    mutating func addTimeline(
        _ customerID: String, slot: Int?, event: EventEssentials, time: Timestamp, position: RecordPosition,
        in txn: borrowing Transaction
    ) {
        // A handful of topics: the last one nearly always matches.
        var topic = topics.count - 1
        if topic < 0 || topics[topic] != position.topic {
            topic = topics.firstIndex(of: position.topic) ?? topics.count
            if topic == topics.count { topics.append(position.topic) }
        }
        let row = TimelineRow(
            time: time.microseconds, offset: position.offset, partition: position.partition, topic: Int32(topic),
            eventID: lastClaimed, typeCode: TimelineEntry.typeCode(event.type))
        if let slot {
            timelineRows.append(row)
            timelineRowSlots.append(Int32(slot))
        } else {
            timelineOfOthers[ByteString(customerID), default: []].append(row)
        }
        estimatedBytes += 40
    }

    /// Starts loading where an event id hashing to `hash` would be (`ByteTable.prefetch`). Mutating though it
    /// changes nothing: a non-mutating call from the applier's mutating fold copies the whole struct, retaining each
    /// of its tables, per record.
    mutating func prefetchEventID(hash: UInt64) { eventIDs.prefetch(hash: hash) }

    var storeMayHoldRows: Bool { mergesIntoStore }

    /// Forgets the timeline of the customer in `slot`, named `customerID` (erasure), and, merging, marks their stored
    /// rows for deletion; the orders held in memory are the applier's. Returns the ids of their messages.
    mutating func dropCustomer(_ customerID: String, slot: Int, in txn: borrowing Transaction) throws -> [String] {
        erasedSlots.insert(slot)
        timelineOfOthers[ByteString(customerID)] = nil
        let held = messageIDsByCustomer[ByteString(customerID)] ?? []
        guard mergesIntoStore else { return held }
        erasedStoredCustomers.append(customerID)
        // A link is made when its message is new: none is both held here and stored.
        return held + (try TransactionRows.storedMessageIDs(of: customerID, store: store, in: txn))
    }

    mutating func addMessageLink(_ messageID: String, customerID: String, in txn: borrowing Transaction) {
        messageIDsByCustomer[ByteString(customerID), default: []].append(messageID)
        estimatedBytes += 32 + messageID.utf8.count
    }

    mutating func addDeadLetter(_ position: RecordPosition, reason: String, in txn: borrowing Transaction) {
        deadLetters.append((position, reason))
        estimatedBytes += 64 + reason.utf8.count
    }

    // The rows are written by `RowPipeline` jobs, each database in key order.

    /// Writes every database in key order, the rows built on other threads while this one puts them
    /// (`RowPipeline`). The jobs that sort the most before their first row go first: the putting thread has the
    /// others' rows meanwhile.
    func write(
        customers: @escaping RowPipeline.Job, others: [RowPipeline.Job],
        customersByPrefix: @escaping @Sendable () -> [(id: String, slot: Int)], in txn: borrowing Transaction
    ) throws {
        let rows = self
        let store = store
        // Erasures are rare: their stored rows are deleted here, before the rows of others are put.
        for customerID in erasedStoredCustomers {
            try TransactionRows.dropStoredRows(of: customerID, store: store, in: txn)
        }
        // The timeline meanwhile, in its own environment on its own thread; committed before this transaction.
        let timeline = store.writeTimeline { timelineTxn in try rows.writeTimeline(customersByPrefix, in: timelineTxn) }
        let jobs: [RowPipeline.Job] =
            [{ rows.writeEventIDs(to: store.eventIDs, &$0) }, customers]
            + [{ rows.writeLinksAndDeadLetters(store: store, &$0) }] + others
        do {
            try Self.put(
                jobs, into: store.environment, rewriting: [store.eventIDs, store.customers, store.orders],
                mergesIntoStore: mergesIntoStore, rewritesStore: rewritesStore, in: txn)
        } catch {
            // The timeline's transaction is let finish before the error goes up: this one is rolled back.
            _ = try? timeline.wait()
            throw error
        }
        try timeline.wait()
    }

    /// The timeline rows into `txn` of the timeline's environment, erased customers' stored rows deleted first.
    private func writeTimeline(
        _ customersByPrefix: @escaping @Sendable () -> [(id: String, slot: Int)], in txn: borrowing Transaction
    ) throws {
        let rows = self
        let store = store
        for customerID in erasedStoredCustomers {
            try StoreKeys.prefix(customerID).withUnsafeBytes { try txn.deleteAll(store.timeline, startingWith: $0) }
        }
        try Self.put(
            [{ rows.writeTimelines(to: store.timeline, customersByPrefix: customersByPrefix(), &$0) }],
            into: store.timelineEnvironment, rewriting: [store.timeline], mergesIntoStore: mergesIntoStore,
            rewritesStore: rewritesStore, in: txn)
    }

    /// Puts the rows `jobs` build into `txn` of `environment`: merged into what it stores, `rewriting` written anew
    /// when `rewritesStore` (`StoreRewrite`), or appended to an empty environment.
    private static func put(
        _ jobs: [RowPipeline.Job], into environment: Environment, rewriting: Set<Database>, mergesIntoStore: Bool,
        rewritesStore: Bool, in txn: borrowing Transaction
    ) throws {
        if mergesIntoStore {
            guard rewritesStore else {
                try RowPipeline.run(jobs) { try txn.apply($0, flags: []) }
                return
            }
            try environment.read { snapshot in
                var rewrite = StoreRewrite(rewriting)
                try RowPipeline.run(jobs) { try rewrite.put($0, in: txn, from: snapshot) }
                try rewrite.finish(in: txn, from: snapshot)
            }
            return
        }
        // A new environment is written through its map: its pages are filled ahead on the other core.
        let populator = environment.populatingAhead(lead: 64 << 20)
        defer { populator.finish() }
        try RowPipeline.run(jobs) { chunk in
            try txn.apply(chunk, flags: .append)
            populator.advance(by: chunk.bytes.count)
        }
    }

    /// Every customer's timeline rows, whether filed under its slot or (named by a message first) under its id.
    /// `customersByPrefix` are the applier's customers and their slots in `StoreKeys.prefix` order.
    func writeTimelines(
        to database: Database, customersByPrefix: [(id: String, slot: Int)], _ writer: inout RowWriter
    ) {
        let slotCount = (customersByPrefix.map(\.slot).max() ?? -1) + 1
        let (starts, bySlot) = PlaceLists.group(timelineRowSlots, slotCount: slotCount)
        // Customers named only by messages have rows under their id; a customer with both has them merged.
        var others = timelineOfOthers
        var customers = customersByPrefix.map { (id: $0.id, slot: Optional($0.slot)) }
        if !others.isEmpty {
            let slotted = Set(customersByPrefix.map { ByteString($0.id) })
            customers += others.keys.filter { !slotted.contains($0) }.map { (id: $0.value, slot: nil) }
            customers.sort { StoreKeys.prefixPrecedes($0.id, $1.id) }
        }
        // Topics by their number, ranked in key order (length first), and their key bytes.
        var topicRanks = [Int](repeating: 0, count: topics.count)
        for (rank, number) in topics.indices.sorted(by: { StoreKeys.prefixPrecedes(topics[$0], topics[$1]) })
            .enumerated()
        {
            topicRanks[number] = rank
        }
        let topicPrefixes = topics.map(StoreKeys.prefix)
        /// The order of one customer's `StoreKeys.timeline` keys: time, then topic, partition and offset, each as
        /// its key bytes compare.
        func precedes(_ a: TimelineRow, _ b: TimelineRow) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.topic != b.topic { return topicRanks[Int(a.topic)] < topicRanks[Int(b.topic)] }
            let (x, y) = (UInt32(bitPattern: a.partition), UInt32(bitPattern: b.partition))
            if x != y { return x < y }
            return UInt64(bitPattern: a.offset) < UInt64(bitPattern: b.offset)
        }
        var places: [Int] = []
        var customerPrefix: [UInt8] = []
        timelineRows.withUnsafeBufferPointer { rows in
            // Rows are read out of order, a cache miss each, and each row's event id two more (where its key
            // starts, then its bytes): requested customers ahead, the rows first and their ids once the rows are
            // in, the misses overlap instead of stalling the writing loop one by one.
            func rowsPlaces(of customer: Int) -> ArraySlice<Int> {
                guard customer < customers.count, let slot = customers[customer].slot else { return [] }
                return bySlot[starts[slot]..<starts[slot + 1]]
            }
            let (rowsAhead, idsAhead) = (8, 3)
            func requestRows(_ customer: Int) {
                for place in rowsPlaces(of: customer) { Prefetch.line(rows.baseAddress! + place) }
            }
            func requestIDs(_ customer: Int) {
                eventIDs.keys.prefetch(keys: rowsPlaces(of: customer).lazy.map { Int(rows[$0].eventID) })
            }
            for customer in 0..<rowsAhead { requestRows(customer) }
            for customer in 0..<idsAhead { requestIDs(customer) }
            for (customer, (customerID, slot)) in customers.enumerated() {
                requestRows(customer + rowsAhead)
                requestIDs(customer + idsAhead)
                places.removeAll(keepingCapacity: true)
                if let slot, !erasedSlots.contains(slot) { places += bySlot[starts[slot]..<starts[slot + 1]] }
                let named = others.isEmpty ? [] : others.removeValue(forKey: ByteString(customerID)) ?? []
                if places.isEmpty && named.isEmpty { continue }
                // Rows come in log order, which is nearly always time order: the sorts are short.
                var merged: [TimelineRow] = named
                if named.isEmpty {
                    if places.count > 1 { places.sort { precedes(rows[$0], rows[$1]) } }
                } else {
                    merged += places.map { rows[$0] }
                    merged.sort(by: precedes)
                }
                // The key (`StoreKeys.timeline`: customer prefix ‖ time ‖ topic prefix ‖ partition ‖ offset) from
                // parts built once per customer and per topic, written in place with the value.
                customerPrefix.removeAll(keepingCapacity: true)
                StoreKeys.appendPrefix(customerID, to: &customerPrefix)
                func put(_ row: TimelineRow) {
                    customerPrefix.withUnsafeBytes { customer in
                        topicPrefixes[Int(row.topic)].withUnsafeBytes { topic in
                            withEventID(row.eventID) { id in
                                writer.put(
                                    database, keyCount: customer.count + topic.count + 20, valueCount: 1 + id.count
                                ) { out in
                                    out.copyMemory(from: customer.baseAddress!, byteCount: customer.count)
                                    var at = customer.count
                                    // Sign flipped: byte order is time order.
                                    out.storeBytes(
                                        of: (UInt64(bitPattern: row.time) ^ (1 << 63)).bigEndian, toByteOffset: at,
                                        as: UInt64.self)
                                    at += 8
                                    (out + at).copyMemory(from: topic.baseAddress!, byteCount: topic.count)
                                    at += topic.count
                                    out.storeBytes(
                                        of: UInt32(bitPattern: row.partition).bigEndian, toByteOffset: at,
                                        as: UInt32.self)
                                    out.storeBytes(
                                        of: UInt64(bitPattern: row.offset).bigEndian, toByteOffset: at + 4,
                                        as: UInt64.self)
                                    // The value: type code ‖ event id (`TimelineEntry.encodeValue`).
                                    out.storeBytes(of: row.typeCode, toByteOffset: at + 12, as: UInt8.self)
                                    if !id.isEmpty {
                                        (out + at + 13).copyMemory(from: id.baseAddress!, byteCount: id.count)
                                    }
                                }
                            }
                        }
                    }
                }
                if named.isEmpty {
                    for place in places { put(rows[place]) }
                } else {
                    for row in merged { put(row) }
                }
            }
        }
    }

    /// Calls `body` with the bytes of the event id numbered `number`: its key without the marker byte, or, for an
    /// id too long to be its own key, the id kept aside.
    private func withEventID(_ number: Int32, _ body: (UnsafeRawBufferPointer) -> Void) {
        eventIDs.keys.withKey(Int(number)) { key in
            guard key.first != 0, var id = longEventIDs[number] else {
                return body(UnsafeRawBufferPointer(rebasing: key.dropFirst()))
            }
            id.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }

    /// The event ids seen, in key order.
    func writeEventIDs(to database: Database, _ writer: inout RowWriter) {
        let keys = eventIDs.keys
        for index in keys.sortedIndices() {
            writer.put(database, key: { key in keys.withKey(index) { key.append(contentsOf: $0) } }, value: { _ in })
        }
    }

    /// Message links under their customers, and dead letters, each sorted by its key (there are few).
    func writeLinksAndDeadLetters(store: ReadModelStore, _ writer: inout RowWriter) {
        var links = KeyArena()
        for (customer, messageIDs) in messageIDsByCustomer {
            for messageID in messageIDs {
                links.append(StoreKeys.customerMessage(customerID: customer.value, messageID: messageID))
            }
        }
        for index in links.sortedIndices() {
            writer.put(
                store.customerMessages, key: { key in links.withKey(index) { key.append(contentsOf: $0) } },
                value: { _ in })
        }
        let letters = deadLetters.map { (key: StoreKeys.position($0.position), letter: $0) }
        for (key, letter) in letters.sorted(by: { StoreKeys.precedes($0.key, $1.key) }) {
            writer.put(
                store.deadLetters, key: key,
                value: DeadLetterEntry.encodedValue(position: letter.position, reason: letter.reason))
        }
    }
}
