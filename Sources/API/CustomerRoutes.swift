import EventLog
import Events
import Foundation
import Hummingbird
import Projections

/// Customer reads: list with filters and a cursor, one profile with aggregates, the timeline.
extension CohortAPI {
    var customerRoutes: [Route] {
        [
            Route(
                method: .get, path: Self.prefix + "/customers", scope: .read,
                summary: "List customers in id order; filter by city, tag or text; cursor paging",
                handler: { request, _ in try listCustomers(request) }),
            Route(
                method: .get, path: Self.prefix + "/customers/{id}", scope: .read,
                summary: "One customer: profile, aggregates and day fields at as_of",
                handler: { request, context in try customer(request, context) }),
            Route(
                method: .get, path: Self.prefix + "/customers/{id}/events", scope: .read,
                summary: "A customer's timeline, newest first; cursor paging",
                handler: { request, context in try timeline(request, context) }),
        ]
    }

    private func listCustomers(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let limit = try pageSize(request)
        let asOf = try Self.asOf(query["as_of"].map(String.init))
        let city = query["city"].map { String($0).lowercased() }
        let tag = query["tag"].map { String($0).lowercased() }
        let text = query["q"].map { String($0).lowercased() }
        for (name, value) in [("city", city), ("tag", tag), ("q", text)] where (value?.utf8.count ?? 0) > 256 {
            throw Problem.unprocessable("\(name) is longer than 256 bytes", errors: [("/\(name)", "too long")])
        }
        let page = try dependencies.store.customers(after: query["cursor"].map(String.init), limit: limit) { customer in
            if let city, customer.city?.lowercased() != city { return false }
            if let tag, !customer.tags.contains(where: { $0.lowercased() == tag }) { return false }
            if let text {
                let haystack = [customer.customerID, customer.name ?? "", customer.email ?? ""]
                guard haystack.contains(where: { $0.lowercased().contains(text) }) else { return false }
            }
            return true
        }
        return Self.json(
            .object(
                JSONObject([
                    ("customers", .array(page.customers.map { CustomerView.json($0, asOf: asOf) })),
                    ("next", page.next.map { .string($0) } ?? .null),
                ])))
    }

    private func customer(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        let asOf = try Self.asOf(request.uri.queryParameters["as_of"].map(String.init))
        guard let state = try dependencies.store.customer(id), !state.isErased else {
            throw Problem.notFound("no customer \"\(id)\"")
        }
        return Self.json(CustomerView.json(state, asOf: asOf))
    }

    private func timeline(_ request: Request, _ context: CohortRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        let limit = try pageSize(request, default: 50)
        guard let state = try dependencies.store.customer(id), !state.isErased else {
            throw Problem.notFound("no customer \"\(id)\"")
        }
        let before = try request.uri.queryParameters["cursor"].map { try TimelineCursor.decode(String($0)) }
        let entries = try dependencies.store.timeline(ofCustomer: id, limit: limit, before: before)
        let events: [JSONValue] = entries.map { entry in
            .object(
                JSONObject([
                    ("event_id", .string(entry.eventID)), ("type", .string(entry.type.rawValue)),
                    ("time", .string(entry.time.description)),
                    (
                        "position",
                        .object(
                            JSONObject([
                                ("topic", .string(entry.position.topic)),
                                ("partition", .number(JSONNumber(Int64(entry.position.partition)))),
                                ("offset", .number(JSONNumber(entry.position.offset))),
                            ]))
                    ),
                ]))
        }
        let next = entries.count == limit ? entries.last.map { TimelineCursor.encode($0.time, $0.position) } : nil
        return Self.json(
            .object(JSONObject([("events", .array(events)), ("next", next.map { .string($0) } ?? .null)])))
    }
}

/// The timeline cursor: the last entry's time and log position, as `time_us~topic~partition~offset`.
enum TimelineCursor {
    static func encode(_ time: Timestamp, _ position: RecordPosition) -> String {
        "\(time.microseconds)~\(position.topic)~\(position.partition)~\(position.offset)"
    }

    static func decode(_ text: String) throws -> (time: Timestamp, position: RecordPosition) {
        let parts = text.split(separator: "~", omittingEmptySubsequences: false)
        guard parts.count == 4, let time = Int64(parts[0]), let partition = Int32(parts[2]),
            let offset = Int64(parts[3])
        else { throw Problem.unprocessable("malformed cursor", errors: [("/cursor", "not a cursor from `next`")]) }
        return (
            Timestamp(microseconds: time), RecordPosition(topic: String(parts[1]), partition: partition, offset: offset)
        )
    }
}

/// The customer read model of SPEC §4 as JSON, with the day fields derived at `asOf`.
enum CustomerView {
    static func json(_ customer: CustomerState, asOf: Timestamp) -> JSONValue {
        func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.description) } ?? .null }
        func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        func money(_ value: Money?) -> JSONValue { value.map { .number(JSONNumber(lexeme: $0.description)!) } ?? .null }
        func days(since base: Timestamp?) -> JSONValue {
            guard let base else { return .null }
            return .number(JSONNumber((asOf.microseconds - base.microseconds).floorDivided(by: 86_400_000_000)))
        }
        var attributes: [(String, JSONValue)] = []
        for key in customer.attributes.keys.sorted() {
            switch customer.attributes[key]! {
            case .string(let text): attributes.append((key, .string(text)))
            case .number(let number): attributes.append((key, .number(number)))
            case .bool(let flag): attributes.append((key, .bool(flag)))
            }
        }
        return .object(
            JSONObject([
                ("customer_id", .string(customer.customerID)), ("name", string(customer.name)),
                ("email", string(customer.email)), ("phone", string(customer.phone)), ("city", string(customer.city)),
                ("country", string(customer.country)), ("tags", .array(customer.tags.map { .string($0) })),
                ("attributes", .object(JSONObject(attributes))), ("total_spend", money(customer.totalSpend)),
                ("order_count", .number(JSONNumber(Int64(customer.orderCount)))),
                ("avg_order_value", money(customer.averageOrderValue)),
                ("visit_count", .number(JSONNumber(Int64(customer.visitCount)))),
                ("created_at", time(customer.createdAt)), ("first_order_at", time(customer.firstOrderAt)),
                ("last_order_at", time(customer.lastOrderAt)), ("last_visit_at", time(customer.lastVisitAt)),
                ("last_seen_at", time(customer.lastSeenAt)), ("as_of", .string(asOf.description)),
                ("days_since_last_order", days(since: customer.lastOrderAt)),
                ("days_since_last_visit", days(since: customer.lastVisitAt)),
                ("days_inactive", days(since: customer.lastSeenAt)),
                ("days_since_signup", days(since: customer.createdAt)),
            ]))
    }
}
