import EventLog
import Events
import Foundation
import Projections
import Segments
import Synthetic
import TestSupport
import Testing

/// The index kept current by a real projector (embedded log, LMDB) equals an index rebuilt from the store.
@Suite("index and projector")
struct IndexProjectionTests {
    static let rules = [
        RuleDecoderTests.specRule,
        #"{"field":"city","op":"in","value":["mumbai","pune"]}"#,
        #"{"and":[{"field":"order_count","op":"gte","value":2},{"field":"tags","op":"contains","value":"newsletter"}]}"#,
        #"{"not":{"field":"last_visit_at","op":"exists"}}"#,
        #"{"field":"customer_id","op":"starts_with","value":"c-7-1"}"#,
        #"{"field":"avg_order_value","op":"between","value":[500, 5000]}"#,
    ]

    func event(_ type: EventType, _ data: String) -> OutgoingRecord {
        let text =
            #"{"specversion":"1.0","id":"\#(UUID())","source":"/test","type":"\#(type.rawValue)","time":"2024-05-01T00:00:00Z","data":\#(data)}"#
        let value = Array(text.utf8)
        let event = try! CloudEvent.decode(structured: value).get()
        return OutgoingRecord(topic: type.stream.defaultTopic, key: Array(event.key.utf8), value: value)
    }

    @Test func projectorKeepsTheIndexEqualToARebuildFromTheStore() async throws {
        let directory = TemporaryDirectory("cohort-index")
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path + "/log"))
        for stream in EventStream.allCases { try await log.createTopic(stream.defaultTopic, partitions: 3) }
        var options = EventGenerator.Options()
        (options.seed, options.customers, options.orders, options.visits) = (7, 400, 1_500, 2_000)
        options.redeliveryRate = 0.02
        var records = EventGenerator(options: options).map {
            OutgoingRecord(topic: $0.stream.defaultTopic, key: Array($0.key.utf8), value: $0.value)
        }
        // Later changes to customers already folded: an erasure, a move, tags cleared.
        records.append(event(.customerErased, #"{"customer_id":"c-7-3"}"#))
        records.append(event(.customerUpserted, #"{"customer_id":"c-7-4","city":"Pune","tags":[]}"#))
        records.append(event(.customerUpserted, #"{"customer_id":"c-7-5","city":null}"#))
        _ = try await log.append(records)

        let store = try ReadModelStore(path: directory.path + "/models")
        let live = CustomerIndex()
        var configuration = Projector.Configuration(
            topics: EventStream.allCases.filter { $0 != .deadletter }.map(\.defaultTopic), deadLetterTopic: nil,
            currency: "INR")
        configuration.batchRecordsMax = 97  // many small batches: customers are updated across commits
        let progress = try await Projector(log: log, store: store, configuration: configuration, observer: live)
            .run(until: .caughtUp)
        #expect(progress.batches > 20)
        await log.close()

        let rebuilt = try CustomerIndex.build(from: store)
        var stored: [CustomerState] = []
        try store.forEachCustomer { stored.append($0) }
        #expect(stored.count == 400)
        #expect(live.customerCount == 399 && rebuilt.customerCount == 399)
        let asOf = at("2024-09-01T00:00:00Z")
        for text in Self.rules {
            let rule = try rule(text)
            let expected = stored.filter { NaiveEvaluator.matches(rule, $0, asOf: asOf) }.map(\.customerID)
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(live.allMembers(rule, asOf: asOf) == expected, "\(text)")
            #expect(rebuilt.allMembers(rule, asOf: asOf) == expected, "\(text)")
        }
        let erased = try rule(#"{"field":"customer_id","op":"eq","value":"c-7-3"}"#)
        #expect(live.count(erased, asOf: asOf) == 0)
        #expect(
            live.count(
                try rule(
                    #"{"and":[{"field":"customer_id","op":"eq","value":"c-7-4"},{"field":"city","op":"eq","value":"pune"},{"field":"tags","op":"missing"}]}"#
                ), asOf: asOf) == 1)
        #expect(
            live.count(
                try rule(
                    #"{"and":[{"field":"customer_id","op":"eq","value":"c-7-5"},{"field":"city","op":"missing"}]}"#),
                asOf: asOf) == 1)
    }
}
