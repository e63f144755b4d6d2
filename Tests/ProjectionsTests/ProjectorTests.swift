import EventLog
import Events
import Foundation
import Projections
import Synthetic
import TestSupport
import Testing

/// The projector against a real embedded log and a real LMDB store.
@Suite("projector")
struct ProjectorTests {
    static let topics = EventStream.allCases.map(\.defaultTopic)
    static let folded = EventStream.allCases.filter { $0 != .deadletter }.map(\.defaultTopic)

    final class World: @unchecked Sendable {
        let directory = TemporaryDirectory("cohort-projector")
        let log: EmbeddedLog

        init() async throws {
            log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path + "/log"))
            for topic in ProjectorTests.topics { try await log.createTopic(topic, partitions: 4) }
        }

        func store(_ name: String) throws -> ReadModelStore { try ReadModelStore(path: directory.path + "/" + name) }

        @discardableResult
        func append(_ options: EventGenerator.Options) async throws -> [EventGenerator.Item] {
            let items = Array(EventGenerator(options: options))
            var batch: [OutgoingRecord] = []
            for item in items {
                batch.append(
                    OutgoingRecord(topic: item.stream.defaultTopic, key: Array(item.key.utf8), value: item.value))
                if batch.count == 1000 {
                    _ = try await log.append(batch)
                    batch.removeAll()
                }
            }
            if !batch.isEmpty { _ = try await log.append(batch) }
            return items
        }

        func project(
            into store: ReadModelStore, batch: Int = 20_000, until: Projector.StopCondition = .caughtUp,
            deadLetters: Bool = false, through other: (any EventLog)? = nil, inMemoryBytesMax: Int? = nil,
            spanRecordsMin: Int = 0
        ) async throws -> Projector.Progress {
            var configuration = Projector.Configuration(
                topics: ProjectorTests.folded, deadLetterTopic: deadLetters ? "crm.deadletter" : nil, currency: "INR")
            configuration.batchRecordsMax = batch
            configuration.spanBytesMax = inMemoryBytesMax
            configuration.spanRecordsMin = spanRecordsMin
            return try await Projector(log: other ?? log, store: store, configuration: configuration).run(until: until)
        }
    }

    static func options(seed: UInt64 = 7, customers: Int = 300, orders: Int = 1200, visits: Int = 1500)
        -> EventGenerator.Options
    {
        var options = EventGenerator.Options()
        (options.seed, options.customers, options.orders, options.visits) = (seed, customers, orders, visits)
        options.redeliveryRate = 0.03
        options.poisonRate = 0.01
        return options
    }

    /// Traffic with a tenth of poison records: garbage, wrong types, unknown types, another currency.
    static func poisonedOptions() -> EventGenerator.Options {
        var options = options(customers: 50, orders: 200, visits: 100)
        options.poisonRate = 0.1
        return options
    }

    @Test("every record is accounted for and offsets reach the end of every partition")
    func foldsEverything() async throws {
        let world = try await World()
        let items = try await world.append(Self.options())
        let store = try world.store("a")
        let progress = try await world.project(into: store)
        #expect(progress.records == items.count)
        let accounted = try store.counter(.events) + store.counter(.duplicates) + store.counter(.deadLetters)
        #expect(accounted == Int64(items.count))
        #expect(try store.counter(.deadLetters) == Int64(items.filter { !$0.isValid }.count))
        #expect(try store.counter(.duplicates) > 0)
        #expect(try store.counter(.customers) >= 300)
        let offsets = try store.storedOffsets()
        for (partition, offset) in offsets {
            #expect(offset == (try await world.log.watermarks(partition)).high)
        }
        await world.log.close()
    }

    @Test("batch boundaries do not matter: tiny batches give the same digest as large ones")
    func batchSizeIndependence() async throws {
        let world = try await World()
        try await world.append(Self.options(customers: 100, orders: 400, visits: 300))
        let large = try world.store("large")
        let tiny = try world.store("tiny")
        _ = try await world.project(into: large, batch: 20_000)
        _ = try await world.project(into: tiny, batch: 7)
        #expect(try large.digest() == tiny.digest())
        await world.log.close()
    }

    @Test("resuming from stored offsets after more appends equals one run over everything")
    func resumeEqualsOneRun() async throws {
        let world = try await World()
        try await world.append(Self.options(seed: 1))
        let resumed = try world.store("resumed")
        _ = try await world.project(into: resumed)
        try await world.append(Self.options(seed: 2))
        let second = try await world.project(into: resumed)
        #expect(second.records > 0)
        let clean = try world.store("clean")
        _ = try await world.project(into: clean)
        #expect(try resumed.digest() == clean.digest())
        await world.log.close()
    }

    @Test("poison records land in crm.deadletter with their reason and origin; everything else is folded")
    func deadLetters() async throws {
        let world = try await World()
        let items = try await world.append(Self.poisonedOptions())
        let poisonCount = items.filter { !$0.isValid }.count
        try #require(poisonCount > 0)
        let store = try world.store("a")
        _ = try await world.project(into: store, deadLetters: true)
        let reader = try await world.log.makeReader(
            startingAt: try await world.log.allPartitions(of: ["crm.deadletter"]))
        var letters: [LogRecord] = []
        while letters.count < poisonCount {
            let polled = try await reader.poll(maxRecords: 1000, timeoutMs: 2000)
            try #require(!polled.isEmpty)
            letters += polled
        }
        let reasons = letters.compactMap { record in
            record.headers.first { $0.name == "x-error" }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        #expect(reasons.count == poisonCount)
        #expect(reasons.contains { $0.contains("invalid JSON") })
        #expect(reasons.contains { $0.contains("/type") })
        #expect(reasons.contains { $0.contains("/data/amount") })
        #expect(reasons.contains { $0.contains("not the deployment currency INR") })
        #expect(letters.allSatisfy { $0.headers.contains { $0.name == "x-source-offset" } })
        #expect(try store.deadLetterEntries().count == poisonCount)
        #expect(try store.counter(.events) + store.counter(.duplicates) == Int64(items.count - poisonCount))
        await reader.close()
        await world.log.close()
    }

    @Test("an outage while dead-lettering makes the projector wait and retry, not die; nothing is lost")
    func deadLetterOutage() async throws {
        let world = try await World()
        let items = try await world.append(Self.poisonedOptions())
        let poisonCount = items.filter { !$0.isValid }.count
        let faulty = FaultyLog(world.log, failing: 3, appendsTo: "crm.deadletter")
        let store = try world.store("a")
        let progress = try await world.project(into: store, deadLetters: true, through: faulty)
        #expect(faulty.refusedAppends == 3)
        #expect(progress.records == items.count)
        #expect(try store.counter(.deadLetters) == Int64(poisonCount))
        var letters = 0
        for partition in 0..<(try await world.log.partitionCount(topic: "crm.deadletter")) {
            letters += Int(
                try await world.log.watermarks(TopicPartition(topic: "crm.deadletter", partition: partition)).high)
        }
        #expect(letters == poisonCount)
        await world.log.close()
    }

    @Test("the same event in Kafka binary mode folds like structured mode")
    func binaryMode() async throws {
        let world = try await World()
        let text =
            #"{"specversion":"1.0","id":"b1","source":"/t","type":"crm.order.placed","data":{"order_id":"o1","customer_id":"c-bin","amount":12.5}}"#
        let event = try CloudEvent.decode(structured: Array(text.utf8)).get()
        let binary = event.binaryEncoding()
        _ = try await world.log.append([
            OutgoingRecord(
                topic: "crm.orders", key: Array("c-bin".utf8), value: binary.value,
                headers: binary.headers.map { Header($0.name, $0.value) })
        ])
        let store = try world.store("a")
        _ = try await world.project(into: store)
        #expect(try store.customer("c-bin")?.totalSpend == Money(units: 125_000))
        await world.log.close()
    }

    @Test("erasure removes the customer's orders and timeline and scrubs their messages")
    func erasure() async throws {
        let world = try await World()
        let events = [
            #"{"specversion":"1.0","id":"e1","source":"/t","type":"crm.customer.upserted","data":{"customer_id":"c9","name":"Asha","email":"asha@x.in"}}"#,
            #"{"specversion":"1.0","id":"e2","source":"/t","type":"crm.order.placed","data":{"order_id":"o1","customer_id":"c9","amount":10}}"#,
            #"{"specversion":"1.0","id":"e3","source":"/t","type":"crm.message.queued","data":{"message_id":"k:c9","campaign_id":"k","customer_id":"c9","to":"+91 98","body":"Hi Asha"}}"#,
            #"{"specversion":"1.0","id":"e4","source":"/t","type":"crm.customer.erased","data":{"customer_id":"c9"}}"#,
        ]
        for text in events {
            let event = try CloudEvent.decode(structured: Array(text.utf8)).get()
            _ = try await world.log.append([
                OutgoingRecord(
                    topic: event.type.stream.defaultTopic, key: Array(event.key.utf8), value: Array(text.utf8))
            ])
        }
        let store = try world.store("a")
        _ = try await world.project(into: store)
        #expect(try store.customer("c9")?.isErased == true)
        #expect(try store.customer("c9")?.name == nil)
        #expect(try store.orders(ofCustomer: "c9").isEmpty)
        #expect(try store.timeline(ofCustomer: "c9").isEmpty)
        let message = try #require(try store.message("k:c9"))
        #expect(message.to == nil && message.body == nil)
        #expect(try store.stats(ofCampaign: "k").queued == 1)
        await world.log.close()
    }

    @Test("timeline: newest first, pointing at the events in the log")
    func timeline() async throws {
        let world = try await World()
        try await world.append(Self.options(customers: 20, orders: 100, visits: 100))
        let store = try world.store("a")
        _ = try await world.project(into: store)
        let entries = try store.timeline(ofCustomer: "c-7-0", limit: 1000)
        #expect(entries.count > 3)
        #expect(entries.map(\.time) == entries.map(\.time).sorted(by: >))
        let reader = try await world.log.makeReader(startingAt: [
            TopicPartition(topic: entries[0].position.topic, partition: entries[0].position.partition): entries[0]
                .position.offset
        ])
        let record = try #require(try await reader.poll(maxRecords: 1, timeoutMs: 1000).first)
        #expect(try CloudEvent.decode(structured: record.value).get().id == entries[0].eventID)
        await reader.close()
        await world.log.close()
    }

    @Test("replay --until T equals a clean fold of exactly the events appended up to T")
    func untilTime() async throws {
        let world = try await World()
        let before = try await world.append(Self.options(seed: 11))
        let cut = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        // Appends stamp records with the wall clock in milliseconds: wait for it to pass the cut.
        while Int64(Date().timeIntervalSince1970 * 1000) <= cut.milliseconds { await Task.yield() }
        try await world.append(Self.options(seed: 12))
        let asOfCut = try world.store("until")
        _ = try await world.project(into: asOfCut, until: .caughtUpUntil(cut))

        let other = try await World()
        var batch: [OutgoingRecord] = []
        for item in before {
            batch.append(OutgoingRecord(topic: item.stream.defaultTopic, key: Array(item.key.utf8), value: item.value))
        }
        _ = try await other.log.append(batch)
        let clean = try other.store("clean")
        _ = try await other.project(into: clean)
        #expect(try asOfCut.digest() == clean.digest())
        let everything = try world.store("all")
        _ = try await world.project(into: everything)
        #expect(try everything.digest() != asOfCut.digest())
        await world.log.close()
        await other.log.close()
    }

    @Test("stop() commits the open batch; lag shows what is left")
    func gracefulStopAndLag() async throws {
        let world = try await World()
        try await world.append(Self.options(customers: 50, orders: 100, visits: 100))
        let store = try world.store("a")
        var configuration = Projector.Configuration(topics: Self.folded, deadLetterTopic: nil, currency: "INR")
        configuration.lagRefreshMs = 0
        let projector = Projector(log: world.log, store: store, configuration: configuration)
        let task = Task { try await projector.run(until: .never) }
        // Wait (bounded) until it has caught up, observed through its lag.
        let deadline = Date().addingTimeInterval(30)
        var caughtUp = false
        while Date() < deadline && !caughtUp {
            let folded = try store.counter(.events)
            caughtUp = !projector.lag().isEmpty && projector.lag().values.allSatisfy({ $0 == 0 }) && folded > 0
            await Task.yield()
        }
        #expect(caughtUp, "an idle projector publishes its last batch: lag reaches 0 while it runs")
        projector.stop()
        let progress = try await task.value
        #expect(progress.records > 0)
        #expect(projector.lag().values.allSatisfy { $0 == 0 })
        try await world.append(Self.options(seed: 99, customers: 5, orders: 5, visits: 5))
        let again = Projector(log: world.log, store: store, configuration: configuration)
        _ = try await again.run(until: .caughtUp)
        #expect(again.lag().values.allSatisfy { $0 == 0 })
        await world.log.close()
    }
}

@Suite("audit trail")
struct AuditTrailTests {
    static func record(_ type: EventType, _ id: String, time: String, _ data: String) -> OutgoingRecord {
        let object = try! JSONParser.parse(data).objectValue!
        let key = object[type.keyField]!.stringValue!
        let value =
            #"{"specversion":"1.0","id":"\#(id)","source":"test","type":"\#(type.rawValue)","time":"\#(time)","#
            + #""datacontenttype":"application/json","data":\#(data)}"#
        return OutgoingRecord(topic: type.stream.defaultTopic, key: Array(key.utf8), value: Array(value.utf8))
    }

    @Test(
        "who created, launched, retried and cancelled a campaign, and who saved a segment, in live batches and rebuilds"
    )
    func actorsAreFolded() async throws {
        let world = try await ProjectorTests.World()
        let t0 = "2024-06-01T00:00:00Z"
        let t1 = "2024-06-01T01:00:00Z"
        _ = try await world.log.append([
            Self.record(
                .segmentSaved, "s", time: t0,
                #"{"segment_id":"s1","name":"All","rules":{"field":"city","op":"exists"},"actor":"ana@example.com"}"#),
            Self.record(
                .campaignCreated, "c", time: t0,
                #"{"campaign_id":"k1","name":"K","template":"Hi","channel":"sms","actor":"ana@example.com"}"#),
            Self.record(.campaignLaunched, "l", time: t0, #"{"campaign_id":"k1","audience":2,"actor":"key:ab12"}"#),
            Self.record(.messageQueued, "q1", time: t0, #"{"message_id":"k1:a","campaign_id":"k1","attempt":1}"#),
            Self.record(.messageQueued, "q2", time: t0, #"{"message_id":"k1:b","campaign_id":"k1","attempt":1}"#),
            Self.record(
                .messageQueued, "r1", time: t1,
                #"{"message_id":"k1:a","campaign_id":"k1","attempt":2,"actor":"boss@example.com"}"#),
            Self.record(
                .messageQueued, "r2", time: t1,
                #"{"message_id":"k1:b","campaign_id":"k1","attempt":2,"actor":"boss@example.com"}"#),
            Self.record(.campaignCancelled, "x", time: t1, #"{"campaign_id":"k1"}"#),
        ])
        let expected = [
            CampaignState.AuditEntry(action: "created", actor: "ana@example.com", at: at(t0)),
            CampaignState.AuditEntry(action: "launched", actor: "key:ab12", at: at(t0)),
            CampaignState.AuditEntry(action: "retried", actor: "boss@example.com", at: at(t1)),
        ]
        for (name, memory) in [("live", nil), ("rebuild", 1 << 30)] as [(String, Int?)] {
            let store = try world.store(name)
            _ = try await world.project(into: store, batch: 3, inMemoryBytesMax: memory)
            #expect(try store.campaign("k1")?.audit == expected, "\(name)")
            #expect(try store.campaign("k1")?.status == .cancelled, "a cancel without an actor is not in the trail")
            #expect(try store.segment("s1")?.savedBy == "ana@example.com", "\(name)")
        }
        #expect(try world.store("live").campaign("k1") == world.store("rebuild").campaign("k1"))
    }
}
