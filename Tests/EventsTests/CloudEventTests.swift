import Events
import Foundation
import Testing

@Suite("CloudEvents contract")
struct CloudEventTests {
    /// The documented examples in `schemas/examples`, one per event type.
    static let examples: [(name: String, bytes: [UInt8])] = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/examples")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.sorted().map { name in
            (name, Array((try? Data(contentsOf: directory.appendingPathComponent(name))) ?? Data()))
        }
    }()

    @Test("every documented example is valid and decodes to its typed payload")
    func examplesDecode() throws {
        #expect(Self.examples.count == EventType.allCases.count)
        var seen: Set<EventType> = []
        for example in Self.examples {
            let event = try CloudEvent.decode(structured: example.bytes).get()
            seen.insert(event.type)
            #expect(!event.key.isEmpty, "\(example.name) has a key")
            #expect(example.name == "\(event.type.rawValue).json")
        }
        #expect(seen == Set(EventType.allCases))
    }

    @Test("the structured bytes written directly are the envelope's JSON, escapes and all")
    func structuredBytesMatchEnvelope() throws {
        var events = try Self.examples.map { try CloudEvent.decode(structured: $0.bytes).get() }
        let text =
            #"{"specversion":"1.0","id":"evt:1","source":"/src/é","#
            + #""type":"crm.customer.upserted","subject":"line\nbreak","traceparent":"00-ab","retries":3,"#
            + #""sampled":true,"data":{"customer_id":"c-1","name":"Zoë \"Z\"","tags":["a","b"]}}"#
        events.append(try CloudEvent.decode(structured: Array(text.utf8)).get())
        for time in ["2024-05-01T04:30:00Z", "1999-12-31T23:59:59.5Z", "2024-02-29T00:00:00.000001Z"] {
            var timed = events[0]
            timed.time = Timestamp(rfc3339: time)
            #expect(timed.time?.description == time)
            events.append(timed)
        }
        let escaped = JSONValue.string("a\u{1}\t\n\r\"\\é\u{1F}z").serialized()
        #expect(String(decoding: escaped, as: UTF8.self) == #""a\u0001\t\n\r\"\\é\u001fz""#)
        for event in events {
            let written = event.structuredBytes()
            #expect(written == JSONValue.object(event.envelope).serialized(), "\(event.id)")
            #expect(try CloudEvent.decode(structured: written).get() == event)
        }
    }

    @Test("an order decodes with exact money, items and a parsed time")
    func orderPayload() throws {
        let example = try #require(Self.examples.first { $0.name == "crm.order.placed.json" })
        let event = try CloudEvent.decode(structured: example.bytes).get()
        guard case .orderPlaced(let order) = event.payload else {
            Issue.record("expected an order")
            return
        }
        #expect(order.amount == Money(units: 24_995_000))
        #expect(order.items.map(\.quantity) == [2, 1])
        #expect(order.placedAt == Timestamp(rfc3339: "2024-05-01T04:30:00Z"))
        #expect(event.key == "c-1001")
        #expect(event.type.stream == .orders)
    }

    @Test("an upsert tells absent (keep), null (clear) and a value (set) apart")
    func upsertPatches() throws {
        let text = #"""
            {"specversion":"1.0","id":"e1","source":"/t","type":"crm.customer.upserted",
             "data":{"customer_id":"c1","name":"Ravi","city":null,"tags":["a","b"]}}
            """#
        let event = try CloudEvent.decode(structured: Array(text.utf8)).get()
        guard case .customerUpserted(let upsert) = event.payload else {
            Issue.record("expected an upsert")
            return
        }
        #expect(upsert.name == .set("Ravi"))
        #expect(upsert.city == .clear)
        #expect(upsert.email == .keep)
        #expect(upsert.tags == .set(["a", "b"]))
    }

    @Test("every problem is reported, each with its JSON pointer")
    func reportsEveryProblem() {
        let text = #"""
            {"specversion":"0.3","id":"","source":"/t","type":"crm.order.placed","extra_thing":1,
             "data":{"customer_id":7,"amount":1.23456,"currency":"inr",
                     "items":[{"sku":"s","quantity":0}],"color":"red"}}
            """#
        guard case .failure(let error) = CloudEvent.decode(structured: Array(text.utf8)) else {
            Issue.record("expected a failure")
            return
        }
        let pointers = Set(error.problems.map(\.pointer))
        #expect(
            pointers.isSuperset(of: [
                "/specversion", "/id", "/extra_thing", "/data/customer_id", "/data/amount", "/data/currency",
                "/data/order_id", "/data/items/0/quantity", "/data/items/0/price", "/data/color",
            ]))
        #expect(error.description.contains("/data/amount: must have at most 4 fraction digits"))
    }

    @Test("an unknown type and malformed JSON are rejected with a reason")
    func unknownTypeAndGarbage() {
        let unknown = #"{"specversion":"1.0","id":"e","source":"/s","type":"crm.order.shipped","data":{}}"#
        guard case .failure(let error) = CloudEvent.decode(structured: Array(unknown.utf8)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.problems.map(\.pointer) == ["/type"])
        guard case .failure(let garbage) = CloudEvent.decode(structured: [0xFF, 0x00, 0x41]) else {
            Issue.record("expected a failure")
            return
        }
        #expect(garbage.description.contains("invalid JSON"))
    }

    @Test("problem messages never echo field values")
    func noDataInMessages() {
        let secret = "very-secret-email@example.com"
        let text =
            #"{"specversion":"1.0","id":"e","source":"/s","type":"crm.customer.upserted","#
            + #""data":{"customer_id":"c","email":["\#(secret)"]}}"#
        guard case .failure(let error) = CloudEvent.decode(structured: Array(text.utf8)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(!error.description.contains(secret))
    }

    @Test("binary mode (ce_* headers + data) decodes to the same event as structured mode")
    func binaryModeRoundTrip() throws {
        for example in Self.examples {
            let event = try CloudEvent.decode(structured: example.bytes).get()
            let binary = event.binaryEncoding()
            #expect(CloudEvent.isBinaryMode(headers: binary.headers))
            let decoded = try CloudEvent.decode(binaryHeaders: binary.headers, value: binary.value).get()
            #expect(decoded == event, "\(example.name)")
        }
    }

    @Test("binary mode with a broken data value or header is rejected")
    func binaryModeRejects() {
        let headers: [(name: String, value: [UInt8])] = [
            ("ce_specversion", Array("1.0".utf8)), ("ce_id", [0xFF]), ("ce_source", Array("/s".utf8)),
            ("ce_type", Array("crm.visit.recorded".utf8)),
        ]
        guard case .failure(let error) = CloudEvent.decode(binaryHeaders: headers, value: Array("{".utf8)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(Set(error.problems.map(\.pointer)) == ["/id", "/data"])
    }

    @Test("events built in code are validated like decoded ones")
    func makeValidates() {
        let bad = CloudEvent.make(
            id: "e", source: "/s", type: .visitRecorded, data: JSONObject([("customer_id", .string(""))]))
        #expect((try? bad.get()) == nil)
        let good = CloudEvent.make(
            id: "e", source: "/s", type: .visitRecorded, time: Timestamp(microseconds: 0),
            data: JSONObject([("customer_id", .string("c9"))]))
        #expect((try? good.get())?.key == "c9")
    }
}
