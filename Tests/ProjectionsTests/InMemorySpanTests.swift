import EventLog
import Events
import Foundation
import Projections
import Synchronization
import Testing
import TestSupport

/// A span folded in memory and written once — into an empty store or merged into one holding read models — must
/// store exactly what batch-by-batch folding stores.
@Suite("in-memory spans")
struct InMemorySpanTests {
    typealias World = ProjectorTests.World

    /// Appends `texts` (structured CloudEvents), each to its type's topic, keyed by its entity.
    static func append(_ texts: [String], to world: World) async throws {
        var records: [OutgoingRecord] = []
        for text in texts {
            let event = try CloudEvent.decode(structured: Array(text.utf8)).get()
            records.append(
                OutgoingRecord(
                    topic: event.type.stream.defaultTopic, key: Array(event.key.utf8), value: Array(text.utf8)))
        }
        _ = try await world.log.append(records)
    }

    static func event(_ id: String, _ type: String, _ data: String, time: String = "2024-02-01T10:00:00Z") -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"/t","type":"\#(type)","time":"\#(time)","data":\#(data)}"#
    }

    /// Every kind of row: generated traffic with redeliveries and poison, plus segments, a campaign, messages (to a
    /// known customer, to one never upserted, to one erased later), erasure, a cancel and a refund before their
    /// order, an id long enough to be stored hashed, and two ids equal as Swift strings but not as bytes.
    static func richLog(_ world: World) async throws {
        var options = ProjectorTests.options(seed: 5, customers: 120, orders: 600, visits: 500)
        options.redeliveryRate = 0.05
        options.poisonRate = 0.02
        try await world.append(options)
        let long = String(repeating: "😀", count: 110)  // 440 bytes: the dedup key is its hash
        try await append(
            [
                event("s1", "crm.segment.saved", #"{"segment_id":"vip","name":"VIP","rules":{"all":[]}}"#),
                event("s2", "crm.segment.saved", #"{"segment_id":"gone","name":"Gone","rules":{"all":[]}}"#),
                event("s3", "crm.segment.deleted", #"{"segment_id":"gone"}"#),
                event(
                    "k1", "crm.campaign.created",
                    #"{"campaign_id":"k","name":"Hello","template":"Hi {{name}}","channel":"sms"}"#),
                event("k2", "crm.campaign.launched", #"{"campaign_id":"k","audience":3}"#),
                event(
                    "m1", "crm.message.queued",
                    #"{"message_id":"k:c-5-1","campaign_id":"k","customer_id":"c-5-1","to":"+91 1","body":"Hi"}"#),
                event(
                    "m2", "crm.message.queued",
                    #"{"message_id":"k:ghost","campaign_id":"k","customer_id":"ghost","to":"+91 2","body":"Hi"}"#),
                event(
                    "m3", "crm.message.queued",
                    #"{"message_id":"k:c-5-2","campaign_id":"k","customer_id":"c-5-2","to":"+91 3","body":"Hi"}"#),
                event("m4", "crm.message.sent", #"{"message_id":"k:c-5-1","campaign_id":"k","customer_id":"c-5-1"}"#),
                event(
                    "m5", "crm.message.failed",
                    #"{"message_id":"k:ghost","campaign_id":"k","customer_id":"ghost","reason":"no route"}"#),
                event(
                    "m6", "crm.message.receipt",
                    #"{"message_id":"k:c-5-1","campaign_id":"k","customer_id":"c-5-1","status":"delivered"}"#),
                event(
                    "m7", "crm.message.queued",
                    #"{"message_id":"k:nobody","campaign_id":"k","customer_id":"nobody","to":"+91 4","body":"Hi"}"#),
                // Message ids equal as Unicode text, not as bytes: two messages.
                event(
                    "m8", "crm.message.queued",
                    #"{"message_id":"k:caf\#u{E9}","campaign_id":"k","customer_id":"c-5-6","to":"+91 5","body":"Hi"}"#),
                event(
                    "m9", "crm.message.queued",
                    #"{"message_id":"k:cafe\#u{301}","campaign_id":"k","customer_id":"c-5-6","to":"+91 6","body":"Hi"}"#
                ),
                event("g1", "crm.customer.upserted", #"{"customer_id":"ghost","name":"Ghost"}"#),
                event("x1", "crm.customer.erased", #"{"customer_id":"c-5-2"}"#),
                event("x2", "crm.visit.recorded", #"{"customer_id":"c-5-2"}"#),
                event("r1", "crm.order.cancelled", #"{"order_id":"late","customer_id":"c-5-3"}"#),
                event("r2", "crm.order.refunded", #"{"order_id":"late2","customer_id":"c-5-3","amount":5.00}"#),
                event("r3", "crm.order.placed", #"{"order_id":"late","customer_id":"c-5-3","amount":100.00}"#),
                event("r4", "crm.order.placed", #"{"order_id":"late2","customer_id":"c-5-3","amount":50.00}"#),
                event(long, "crm.visit.recorded", #"{"customer_id":"c-5-4"}"#),
                event(long, "crm.visit.recorded", #"{"customer_id":"c-5-4"}"#),
                event("caf\u{E9}", "crm.visit.recorded", #"{"customer_id":"c-5-5"}"#),
                event("cafe\u{301}", "crm.visit.recorded", #"{"customer_id":"c-5-5"}"#),
            ], to: world)
        // More traffic after the hand-written events, so that a spilled rebuild goes on from a non-empty store.
        try await world.append(ProjectorTests.options(seed: 6, customers: 80, orders: 300, visits: 300))
    }

    @Test("folded in memory, in batches, or in memory until a budget spills: the same read models")
    func sameAsBatches() async throws {
        let world = try await World()
        try await Self.richLog(world)
        let batches = try world.store("batches")
        let inBatches = try await world.project(into: batches, batch: 97)
        let memory = try world.store("memory")
        let inMemory = try await world.project(into: memory, batch: 97, inMemoryBytesMax: 1 << 30)
        // A budget of one byte is outgrown by the first batch: it is written and the rest goes on in batches.
        let spilled = try world.store("spilled")
        let inPart = try await world.project(into: spilled, batch: 97, inMemoryBytesMax: 1)

        #expect(inMemory.records == inBatches.records && inPart.records == inBatches.records)
        #expect(inMemory.batches == 1)
        #expect(inPart.batches > 2)
        #expect(try memory.digest() == batches.digest())
        #expect(try spilled.digest() == batches.digest())
        #expect(try memory.storedOffsets() == batches.storedOffsets())

        // The content the digest covers, checked directly where the two paths differ most.
        #expect(try memory.counter(.duplicates) == batches.counter(.duplicates))
        #expect(try memory.counter(.duplicates) > 0)
        #expect(try memory.counter(.deadLetters) > 0)
        #expect(try memory.customer("c-5-2")?.isErased == true)
        #expect(try memory.timeline(ofCustomer: "c-5-2").isEmpty)
        #expect(try memory.message("k:c-5-2")?.body == nil)
        #expect(try memory.timeline(ofCustomer: "ghost").count == 3)  // two messages, then the upsert
        #expect(try memory.segment("gone") == nil && memory.segment("vip") != nil)
        #expect(try memory.timeline(ofCustomer: "nobody").count == 1)
        #expect(try memory.customer("nobody") == nil)
        for store in [memory, batches] {
            #expect(try store.stats(ofCampaign: "k").queued == 6)
            #expect(try store.message("k:caf\u{E9}")?.to == "+91 5")
            #expect(try store.message("k:cafe\u{301}")?.to == "+91 6")
        }
        let long = String(repeating: "😀", count: 110)
        #expect(try memory.timeline(ofCustomer: "c-5-4", limit: 1000).count(where: { $0.eventID == long }) == 1)
        #expect(
            try memory.timeline(ofCustomer: "c-5-5", limit: 1000).count(where: { $0.eventID.hasPrefix("caf") }) == 2)
        await world.log.close()
    }

    @Test("a batch whose transaction outgrows the map is folded again, whole, once the map has grown")
    func batchRetriedAfterGrowth() async throws {
        let world = try await World()
        try await Self.richLog(world)
        var small = ReadModelStore.defaultOptions
        small.mapSizeBytes = 128 * 1024
        let grown = try ReadModelStore(path: world.directory.path + "/grown", options: small)
        let progress = try await world.project(into: grown)
        #expect(progress.batches == 1)
        // The one batch's read models outgrew the first map, and so did its timeline: each transaction ran out of
        // space and was run again (the batch's with a new timeline transaction, the first one rolled back).
        for file in ["/grown/data.mdb", "/grown/timeline/data.mdb"] {
            let size = try FileManager.default.attributesOfItem(atPath: world.directory.path + file)[.size]
            #expect((size as? Int ?? 0) > small.mapSizeBytes, "\(file)")
        }
        let roomy = try world.store("roomy")
        _ = try await world.project(into: roomy)
        #expect(try grown.digest() == roomy.digest())
        #expect(try grown.counter(.deadLetters) == roomy.counter(.deadLetters))
        await world.log.close()
    }

    @Test("a span merged into stored read models: erasures, deletions, redeliveries and orders that were stored")
    func mergesIntoStoredReadModels() async throws {
        let world = try await World()
        try await world.append(ProjectorTests.options(seed: 11, customers: 60, orders: 300, visits: 200))
        try await Self.append(
            [
                Self.event("s1", "crm.segment.saved", #"{"segment_id":"gone","name":"Gone","rules":{"all":[]}}"#),
                Self.event(
                    "k1", "crm.campaign.created",
                    #"{"campaign_id":"k","name":"Hello","template":"Hi {{name}}","channel":"sms"}"#),
                Self.event(
                    "m1", "crm.message.queued",
                    #"{"message_id":"k:c-11-1","campaign_id":"k","customer_id":"c-11-1","to":"+91 1","body":"Hi"}"#),
                Self.event(
                    "m2", "crm.message.queued",
                    #"{"message_id":"k:c-11-2","campaign_id":"k","customer_id":"c-11-2","to":"+91 2","body":"Hi"}"#),
                Self.event("o1", "crm.order.placed", #"{"order_id":"stored","customer_id":"c-11-3","amount":80.00}"#),
                Self.event("v1", "crm.visit.recorded", #"{"customer_id":"c-11-1"}"#),
            ], to: world)
        // Two stores with the same history, the first part folded in batches; then the second part is merged
        // into one as a span and folded into the other in batches. (Against a single run over the whole log, the
        // erasure could be read before the first part's orders: topics are folded in no fixed order.)
        let merged = try world.store("merged")
        let batches = try world.store("batches")
        for store in [merged, batches] {
            let first = try await world.project(into: store, batch: 64)
            #expect(first.batches > 1)
        }
        #expect(try merged.timeline(ofCustomer: "c-11-1").isEmpty == false)
        #expect(try merged.orders(ofCustomer: "c-11-1").isEmpty == false)

        // The second part touches what the first stored: every path where a merge differs from a rebuild.
        try await Self.append(
            [
                Self.event("v1", "crm.visit.recorded", #"{"customer_id":"c-11-1"}"#),  // a redelivery of a stored id
                Self.event("s2", "crm.segment.deleted", #"{"segment_id":"gone"}"#),
                Self.event("x1", "crm.customer.erased", #"{"customer_id":"c-11-1"}"#),
                Self.event(
                    "m3", "crm.message.sent", #"{"message_id":"k:c-11-2","campaign_id":"k","customer_id":"c-11-2"}"#),
                Self.event("o2", "crm.order.cancelled", #"{"order_id":"stored","customer_id":"c-11-3"}"#),
                Self.event("v2", "crm.visit.recorded", #"{"customer_id":"c-11-4"}"#),
                Self.event("v2", "crm.visit.recorded", #"{"customer_id":"c-11-4"}"#),  // and one within the span
            ], to: world)
        try await world.append(ProjectorTests.options(seed: 12, customers: 60, orders: 300, visits: 200))
        let second = try await world.project(into: merged, batch: 64, inMemoryBytesMax: 1 << 30)
        #expect(second.batches == 1)
        _ = try await world.project(into: batches, batch: 64)
        #expect(try merged.digest() == batches.digest())
        #expect(try merged.storedOffsets() == batches.storedOffsets())
        #expect(try merged.counter(.duplicates) == batches.counter(.duplicates))
        #expect(try merged.customer("c-11-1")?.isErased == true)
        #expect(try merged.timeline(ofCustomer: "c-11-1").isEmpty)
        #expect(try merged.orders(ofCustomer: "c-11-1").isEmpty)
        #expect(try merged.message("k:c-11-1")?.body == nil)
        #expect(try merged.message("k:c-11-2")?.body == "Hi")
        #expect(try merged.segment("gone") == nil)
        #expect(try merged.orders(ofCustomer: "c-11-3").first { $0.orderID == "stored" }?.isCancelled == true)
        #expect(try merged.timeline(ofCustomer: "c-11-4", limit: 1000).count { $0.eventID == "v2" } == 1)
        await world.log.close()
    }

    @Test("a span as large as the store writes its largest databases anew: the same read models, packed as rebuilt")
    func rewritesStoredReadModels() async throws {
        let world = try await World()
        try await world.append(ProjectorTests.options(seed: 21, customers: 40, orders: 150, visits: 120))
        try await Self.append(
            [
                Self.event("o1", "crm.order.placed", #"{"order_id":"stored","customer_id":"c-21-3","amount":80.00}"#),
                Self.event("v1", "crm.visit.recorded", #"{"customer_id":"c-21-1"}"#),
            ], to: world)
        let rewritten = try world.store("rewritten")
        let batches = try world.store("batches")
        for store in [rewritten, batches] { _ = try await world.project(into: store, batch: 64) }

        // A second part several times the first, touching what the first stored.
        try await Self.append(
            [
                Self.event("v1", "crm.visit.recorded", #"{"customer_id":"c-21-1"}"#),  // a redelivery of a stored id
                Self.event("o2", "crm.order.cancelled", #"{"order_id":"stored","customer_id":"c-21-3"}"#),
                Self.event("v2", "crm.visit.recorded", #"{"customer_id":"c-21-2"}"#),
            ], to: world)
        try await world.append(ProjectorTests.options(seed: 22, customers: 150, orders: 600, visits: 500))
        let second = try await world.project(into: rewritten, batch: 64, inMemoryBytesMax: 1 << 30)
        #expect(second.batches == 1)
        _ = try await world.project(into: batches, batch: 64)
        let rebuilt = try world.store("rebuilt")
        _ = try await world.project(into: rebuilt, inMemoryBytesMax: 1 << 30)

        #expect(try rewritten.digest() == batches.digest())
        #expect(try rewritten.digest() == rebuilt.digest())
        #expect(try rewritten.storedOffsets() == batches.storedOffsets())
        #expect(try rewritten.counter(.duplicates) == batches.counter(.duplicates))
        #expect(try rewritten.orders(ofCustomer: "c-21-3").first { $0.orderID == "stored" }?.isCancelled == true)
        #expect(try rewritten.timeline(ofCustomer: "c-21-1", limit: 1000).count { $0.eventID == "v1" } == 1)
        // Appended in key order, stored and new rows fill their pages as a rebuild's do; put between stored keys,
        // as batches put them, they leave split pages half full.
        let pages = try rewritten.pageCounts()
        let rebuiltPages = try rebuilt.pageCounts()
        for name in ["customers", "orders", "timeline", "event_ids"] {
            #expect(pages[name] == rebuiltPages[name], "\(name)")
        }
        #expect(try batches.pageCounts()["timeline"]! > rebuiltPages["timeline"]!)
        await world.log.close()
    }

    @Test("a live projector far behind catches up in a span, publishes it once written, then folds in batches")
    func liveCatchUp() async throws {
        let world = try await World()
        let items = try await world.append(ProjectorTests.options(seed: 13, customers: 200, orders: 1000, visits: 800))
        let store = try world.store("live")
        var configuration = Projector.Configuration(
            topics: ProjectorTests.folded, deadLetterTopic: nil, currency: "INR")
        configuration.batchRecordsMax = 100
        configuration.spanBytesMax = 1 << 30
        configuration.spanRecordsMin = 500
        let projector = Projector(log: world.log, store: store, configuration: configuration)
        let seen = Mutex((writing: 0, batches: 0))
        let running = Task {
            try await projector.run(until: .never) { progress in
                seen.withLock {
                    if progress.writing { $0.writing += 1 }
                    $0.batches = progress.batches
                }
            }
        }
        // Caught up: the span has been written whole, once (nothing was stored before it), and counts every record.
        func accounted() throws -> Int64 {
            try store.counter(.events) + store.counter(.duplicates) + store.counter(.deadLetters)
        }
        // (The progress callback hears of the commit just after readers can see it.)
        #expect(try await eventually { try accounted() == Int64(items.count) && seen.withLock { $0.batches } > 0 })
        #expect(seen.withLock { $0.writing } == 1)
        #expect(seen.withLock { $0.batches } == 1)

        // A few more records, fewer than a span's minimum: ordinary batches, each stored on its own.
        let more = try await world.append(ProjectorTests.options(seed: 14, customers: 20, orders: 60, visits: 40))
        #expect(
            try await eventually { try accounted() == Int64(items.count + more.count) })
        projector.stop()
        _ = try await running.value
        #expect(seen.withLock { $0.writing } == 1)
        #expect(seen.withLock { $0.batches } > 1)
        let clean = try world.store("clean")
        _ = try await world.project(into: clean)
        #expect(try store.digest() == clean.digest())
        await world.log.close()
    }
}
