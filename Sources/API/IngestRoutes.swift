import EventLog
import Events
import Foundation
import Hummingbird
import EventRecords

/// `POST /events` and the convenience endpoints: validate everything, append all of it durably, then answer 202.
extension CohortAPI {
    var ingestRoutes: [Route] {
        [
            Route(
                method: .post, path: Self.prefix + "/events", scope: .ingest,
                summary: "Ingest one CloudEvent, a batch (JSON array) or NDJSON; all or nothing",
                handler: { request, _ in try await ingestEvents(request) }),
            Route(
                method: .post, path: Self.prefix + "/customers", scope: .ingest,
                summary: "Upsert customers from plain JSON objects (one or an array)",
                handler: { request, _ in try await ingestPlain(request, as: .customerUpserted) }),
            Route(
                method: .post, path: Self.prefix + "/orders", scope: .ingest,
                summary: "Record orders from plain JSON objects (one or an array)",
                handler: { request, _ in try await ingestPlain(request, as: .orderPlaced) }),
            Route(
                method: .post, path: Self.prefix + "/visits", scope: .ingest,
                summary: "Record visits from plain JSON objects (one or an array)",
                handler: { request, _ in try await ingestPlain(request, as: .visitRecorded) }),
        ]
    }

    /// Newline-delimited JSON: one CloudEvent per line.
    static let ndjsonMediaTypes = ["application/x-ndjson", "application/ndjson", "application/jsonl"]

    private func ingestEvents(_ request: Request) async throws -> Response {
        let bytes = try await body(request, accepting: Self.jsonMediaTypes + Self.ndjsonMediaTypes)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        var items: [Item] = []
        var isBatch = true
        if Self.ndjsonMediaTypes.contains(where: contentType.hasPrefix) {
            var lineStart = 0
            for (index, byte) in bytes.enumerated() where byte == 0x0A {
                items.append(Self.parseLine(bytes[lineStart..<index]))
                lineStart = index + 1
            }
            if lineStart < bytes.count { items.append(Self.parseLine(bytes[lineStart...])) }
            items.removeAll { if case .blank = $0 { true } else { false } }
        } else {
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                reject("malformed")
                throw Problem.badRequest("malformed JSON: \(error.description)")
            }
            switch value {
            case .array(let elements): items = elements.map { .value($0) }
            default:
                items = [.value(value)]
                isBatch = false
            }
        }
        try checkBatchSize(items.count)
        var events: [CloudEvent] = []
        var problems: [(pointer: String, message: String)] = []
        let currency = CurrencyRule(currency: dependencies.configuration.currency)
        for (index, item) in items.enumerated() {
            // Built only for a problem: most batches have none.
            var prefix: String { isBatch ? "/\(index)" : "" }
            switch item {
            case .blank: break
            case .invalid(let reason): problems.append((prefix, reason))
            case .value(let value):
                switch CloudEvent.validate(envelope: value) {
                case .failure(let error):
                    problems += error.problems.map { (prefix + $0.pointer, $0.message) }
                case .success(let event):
                    if let problem = currency.problem(event) {
                        problems.append((prefix + "/data/currency", problem))
                    } else {
                        events.append(event)
                    }
                }
            }
        }
        return try await accept(events, problems: problems, isBatch: isBatch)
    }

    /// The seeds' shapes: plain objects that become the `data` of one event type each.
    private func ingestPlain(_ request: Request, as type: EventType) async throws -> Response {
        let value = try await jsonBody(request)
        let objects: [JSONValue]
        let isBatch: Bool
        switch value {
        case .array(let elements):
            objects = elements
            isBatch = true
        default:
            objects = [value]
            isBatch = false
        }
        try checkBatchSize(objects.count)
        let now = Self.now()
        var events: [CloudEvent] = []
        var problems: [(pointer: String, message: String)] = []
        let currency = CurrencyRule(currency: dependencies.configuration.currency)
        for (index, element) in objects.enumerated() {
            let prefix = isBatch ? "/\(index)" : ""
            guard var data = element.objectValue else {
                problems.append((prefix, "expected a JSON object, got \(element.kindName)"))
                continue
            }
            // The seeds call the customer's id `id`; the event contract calls it `customer_id`.
            if type == .customerUpserted, data["customer_id"] == nil, let id = data["id"] {
                data = JSONObject(data.compactMap { $0.key == "id" ? nil : ($0.key, $0.value) } + [("customer_id", id)])
            }
            switch CloudEvent.make(
                id: UUID().uuidString.lowercased(), source: Self.prefix + "/" + type.stream.rawValue, type: type,
                time: now, data: data)
            {
            case .failure(let error):
                problems += error.problems.map { (prefix + Self.dataRelative($0.pointer), $0.message) }
            case .success(let event):
                if let problem = currency.problem(event) {
                    problems.append((prefix + "/currency", problem))
                } else {
                    events.append(event)
                }
            }
        }
        return try await accept(events, problems: problems, isBatch: isBatch)
    }

    /// Appends every event or none: any problem rejects the whole request, before anything is written.
    private func accept(_ events: [CloudEvent], problems: [(pointer: String, message: String)], isBatch: Bool)
        async throws -> Response
    {
        guard problems.isEmpty else {
            reject("invalid")
            let first = problems[0]
            let detail =
                isBatch
                ? "the batch was rejected whole: \(first.pointer): \(first.message)"
                    + (problems.count > 1 ? " (and \(problems.count - 1) more)" : "")
                : "\(first.pointer.isEmpty ? "" : first.pointer + ": ")\(first.message)"
            throw Problem.unprocessable(detail, errors: problems)
        }
        guard !events.isEmpty else { throw Problem.unprocessable("no events in the request") }
        let started = ContinuousClock.now
        do {
            try await appendDurably(events)
        } catch {
            reject("log_unavailable")
            throw error
        }
        dependencies.metrics.observe("cohort_ingest_append_seconds", since: started)
        dependencies.metrics.increment("cohort_ingest_events_total", by: Int64(events.count))
        return Self.json(
            .object(
                JSONObject([
                    ("accepted", .number(JSONNumber(Int64(events.count)))),
                    ("ids", .array(events.map { .string($0.id) })),
                ])), status: .accepted)
    }

    private func checkBatchSize(_ count: Int) throws {
        let maximum = dependencies.configuration.batchEventsMax
        guard count <= maximum else {
            reject("too_large")
            throw Problem.tooLarge("\(count) events exceed limits.batch_events_max (\(maximum)) per request")
        }
    }

    private func reject(_ reason: String) {
        dependencies.metrics.increment("cohort_ingest_rejected_total", dimensions: [("reason", reason)])
    }

    /// One item of an ingest request, parsed.
    private enum Item {
        case value(JSONValue)
        case invalid(String)
        /// A blank NDJSON line, skipped.
        case blank
    }

    private static func parseLine(_ line: ArraySlice<UInt8>) -> Item {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .blank }
        do {
            return .value(try JSONParser.parse(line))
        } catch {
            return .invalid("malformed JSON: \(error)")
        }
    }
}
