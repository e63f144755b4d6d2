import Events
import Foundation
import Hummingbird
import NIOCore
import Projections
import Segments

/// Segments: preview, explain, parse, saved-segment CRUD (through the log) and members (pages or CSV).
extension CohortAPI {
    var segmentRoutes: [Route] {
        let base = Self.prefix + "/segments"
        return [
            Route(
                method: .post, path: base + "/preview", scope: .read,
                summary: "Count the customers a rule matches, with a sample",
                handler: { request, _ in try await preview(request) }),
            Route(
                method: .post, path: base + "/explain", scope: .read,
                summary: "Why one customer is in or out, per condition",
                handler: { request, _ in try await explain(request) }),
            Route(
                method: .post, path: base + "/parse", scope: .read,
                summary: "Turn a sentence into a rule (language model when configured, else offline), with its count",
                handler: { request, _ in try await parseWords(request) }),
            Route(
                method: .get, path: base, scope: .read, summary: "Saved segments with their current size",
                handler: { request, _ in try listSegments(request) }),
            Route(
                method: .post, path: base, scope: .campaigns, summary: "Save a new segment (appends crm.segment.saved)",
                handler: { request, context in try await saveSegment(request, context, id: nil) }),
            Route(
                method: .get, path: base + "/{id}", scope: .read, summary: "One saved segment with its size",
                handler: { request, context in try getSegment(request, context) }),
            Route(
                method: .put, path: base + "/{id}", scope: .campaigns, summary: "Replace a saved segment",
                handler: { request, context in
                    try await saveSegment(request, context, id: try context.parameters.require("id"))
                }),
            Route(
                method: .delete, path: base + "/{id}", scope: .campaigns,
                summary: "Delete a saved segment (appends crm.segment.deleted)",
                handler: { _, context in try await deleteSegment(context) }),
            Route(
                method: .get, path: base + "/{id}/members", scope: .read,
                summary: "Members of a saved segment: a page by cursor, or every member as CSV (format=csv)",
                handler: { request, context in try members(request, context) }),
        ]
    }

    var ruleDecoder: RuleDecoder { RuleDecoder(conditionsMax: dependencies.configuration.ruleConditionsMax) }

    /// The `rules` member of a request body, decoded (422 with every problem's pointer under `/rules`).
    func rule(in object: JSONObject) throws -> Rule {
        guard let value = object["rules"] else {
            throw Problem.unprocessable("rules is required", errors: [("/rules", "required")])
        }
        do {
            return try ruleDecoder.decode(value)
        } catch {
            throw Problem.unprocessable(
                "invalid rule: \(error.problems.first?.description ?? "")",
                errors: error.problems.map { ("/rules" + $0.pointer, $0.message) })
        }
    }

    /// The audience a request names: a saved segment's rule (`segment_id`, 422 when unknown), an inline `rules`,
    /// or nil for neither.
    func audienceRule(in object: JSONObject) throws -> Rule? {
        if let segmentID = object["segment_id"]?.stringValue {
            guard let segment = try dependencies.store.segment(segmentID) else {
                throw Problem.unprocessable("no segment \"\(segmentID)\"", errors: [("/segment_id", "unknown")])
            }
            return try? ruleDecoder.decode(text: segment.rulesJSON)
        }
        return object["rules"] != nil ? try rule(in: object) : nil
    }

    private func preview(_ request: Request) async throws -> Response {
        let object = try await objectBody(request)
        let decoded = try rule(in: object)
        let asOf = try Self.asOf(object["as_of"]?.stringValue)
        let sample = try Self.sampleSize(object["sample"])
        let started = ContinuousClock.now
        var result = SegmentViews.preview(decoded, index: dependencies.index, asOf: asOf, sampleSize: sample)
        dependencies.metrics.observe("cohort_segment_query_seconds", since: started)
        if case .object(var members) = result {
            members["english"] = .string(decoded.english(currency: dependencies.configuration.currency))
            result = .object(members)
        }
        return Self.json(result)
    }

    private func explain(_ request: Request) async throws -> Response {
        let object = try await objectBody(request)
        let decoded = try rule(in: object)
        guard let id = object["customer_id"]?.stringValue else {
            throw Problem.unprocessable("customer_id is required", errors: [("/customer_id", "required string")])
        }
        let asOf = try Self.asOf(object["as_of"]?.stringValue)
        guard let state = try dependencies.store.customer(id), !state.isErased else {
            throw Problem.notFound("no customer \"\(id)\"")
        }
        return Self.json(RuleExplainer.explain(decoded, customer: state, asOf: asOf).json)
    }

    private func listSegments(_ request: Request) throws -> Response {
        let asOf = try Self.asOf(request.uri.queryParameters["as_of"].map(String.init))
        let items = try dependencies.store.savedSegments().map {
            SegmentViews.saved(
                $0, index: dependencies.index, decoder: ruleDecoder, asOf: asOf,
                currency: dependencies.configuration.currency)
        }
        return Self.json(.object(JSONObject([("as_of", .string(asOf.description)), ("segments", .array(items))])))
    }

    private func getSegment(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        let asOf = try Self.asOf(request.uri.queryParameters["as_of"].map(String.init))
        guard let segment = try dependencies.store.segment(id) else { throw Problem.notFound("no segment \"\(id)\"") }
        return Self.json(
            SegmentViews.saved(
                segment, index: dependencies.index, decoder: ruleDecoder, asOf: asOf,
                currency: dependencies.configuration.currency))
    }

    private func saveSegment(_ request: Request, _ context: CohortRequestContext, id: String?) async throws
        -> Response
    {
        let object = try await objectBody(request)
        let decoded = try rule(in: object)
        guard let name = object["name"]?.stringValue, !name.isEmpty else {
            throw Problem.unprocessable("name is required", errors: [("/name", "required non-empty string")])
        }
        let segmentID = id ?? object["segment_id"]?.stringValue ?? "seg_" + UUID().uuidString.lowercased().prefix(12)
        var data: [(String, JSONValue)] = [("segment_id", .string(segmentID)), ("name", .string(name))]
        if let description = object["description"]?.stringValue { data.append(("description", .string(description))) }
        data.append(("rules", decoded.json))
        if let actor = context.actor { data.append(("actor", .string(actor))) }
        let eventID = try await appendCommand(.segmentSaved, data: JSONObject(data))
        return Self.json(
            .object(JSONObject([("segment_id", .string(segmentID)), ("event_id", .string(eventID))])),
            status: .accepted)
    }

    private func deleteSegment(_ context: CohortRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try dependencies.store.segment(id) != nil else { throw Problem.notFound("no segment \"\(id)\"") }
        var data: [(String, JSONValue)] = [("segment_id", .string(id))]
        if let actor = context.actor { data.append(("actor", .string(actor))) }
        let eventID = try await appendCommand(.segmentDeleted, data: JSONObject(data))
        return Self.json(
            .object(JSONObject([("segment_id", .string(id)), ("event_id", .string(eventID))])), status: .accepted)
    }

    private func members(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        let query = request.uri.queryParameters
        let asOf = try Self.asOf(query["as_of"].map(String.init))
        guard let segment = try dependencies.store.segment(id) else { throw Problem.notFound("no segment \"\(id)\"") }
        let decoded: Rule
        do {
            decoded = try ruleDecoder.decode(text: segment.rulesJSON)
        } catch {
            throw Problem.unprocessable(
                "the saved rule is not valid for this version", errors: error.problems.map { ($0.pointer, $0.message) })
        }
        let started = ContinuousClock.now
        defer { dependencies.metrics.observe("cohort_segment_query_seconds", since: started) }
        if query["format"] == "csv" {
            let ids = dependencies.index.allMembers(decoded, asOf: asOf)
            let store = dependencies.store
            // Streamed in chunks of 1,000 rows so that a large export never sits whole in memory.
            let body = ResponseBody { writer in
                var buffer: [UInt8] = []
                MemberCSV.appendRow(MemberCSV.header, to: &buffer)
                for chunk in stride(from: 0, to: ids.count, by: 1_000) {
                    for memberID in ids[chunk..<min(ids.count, chunk + 1_000)] {
                        if let customer = try store.customer(memberID) {
                            MemberCSV.appendRow(MemberCSV.fields(customer), to: &buffer)
                        }
                    }
                    try await writer.write(ByteBuffer(bytes: buffer))
                    buffer.removeAll(keepingCapacity: true)
                }
                if !buffer.isEmpty { try await writer.write(ByteBuffer(bytes: buffer)) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: Self.exportHeaders(segment: id), body: body)
        }
        let limit = try pageSize(request)
        return Self.json(
            SegmentViews.membersPage(
                decoded, index: dependencies.index, asOf: asOf, after: query["cursor"].map(String.init), limit: limit))
    }

    /// The headers of a segment's CSV export: its type, and a file name made of the id's safe characters.
    static func exportHeaders(segment id: String) -> HTTPFields {
        [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition:
                "attachment; filename=\"\(id.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }).csv\"",
        ]
    }

    /// Appends one event made by the API itself (a command such as saving a segment) and returns its id.
    func appendCommand(_ type: EventType, data: JSONObject) async throws -> String {
        let event: CloudEvent
        switch CloudEvent.make(
            id: UUID().uuidString.lowercased(), source: "cohort-api", type: type, time: Self.now(), data: data)
        {
        case .success(let made): event = made
        case .failure(let error):
            throw Problem.unprocessable(
                "invalid \(type.rawValue)", errors: error.problems.map { (Self.dataRelative($0.pointer), $0.message) })
        }
        try await appendDurably([event])
        return event.id
    }
}
