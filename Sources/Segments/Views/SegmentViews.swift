import Foundation
import Events
import Projections

/// The JSON answers about segments that both the command line and the HTTP API give, built in one place.
public enum SegmentViews {
    /// `{count, sample, as_of, took_ms}` for a preview.
    public static func preview(
        _ rule: Rule, index: CustomerIndex, asOf: Timestamp, sampleSize: Int
    ) -> JSONValue {
        let started = ContinuousClock.now
        let (count, ids) = index.preview(rule, asOf: asOf, sampleSize: sampleSize)
        return .object(
            JSONObject([
                ("count", .number(JSONNumber(Int64(count)))), ("sample", .array(ids.map { .string($0) })),
                ("as_of", .string(asOf.description)),
                ("took_ms", .number(JSONNumber(lexeme: milliseconds(since: started))!)),
            ]))
    }

    /// `{members, next}`: one page of member ids by cursor.
    public static func membersPage(
        _ rule: Rule, index: CustomerIndex, asOf: Timestamp, after: String?, limit: Int
    ) -> JSONValue {
        let page = index.members(rule, asOf: asOf, after: after, limit: limit)
        return .object(
            JSONObject([
                ("members", .array(page.ids.map { .string($0) })), ("next", page.next.map { .string($0) } ?? .null),
            ]))
    }

    /// One saved segment with its size at `asOf` and its English rendering; a rule this version rejects is shown
    /// with its problems instead of a size (saved by another producer: listed, not hidden).
    public static func saved(
        _ segment: SegmentState, index: CustomerIndex, decoder: RuleDecoder, asOf: Timestamp, currency: String
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("segment_id", .string(segment.segmentID)), ("name", .string(segment.name)),
            ("description", segment.description.map { .string($0) } ?? .null),
            ("saved_at", .string(segment.savedAt.description)),
            ("saved_by", segment.savedBy.map { .string($0) } ?? .null),
        ]
        do {
            let rule = try decoder.decode(text: segment.rulesJSON)
            members.append(("rules", rule.json))
            members.append(("size", .number(JSONNumber(Int64(index.count(rule, asOf: asOf))))))
            members.append(("english", .string(rule.english(currency: currency))))
        } catch {
            members.append(("size", .null))
            members.append(("problems", .array(error.problems.map { .string($0.description) })))
        }
        return .object(JSONObject(members))
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        String(format: "%.3f", Double((ContinuousClock.now - start) / .nanoseconds(1)) / 1e6)
    }
}

/// The CSV export of members: one row per customer, RFC 4180 quoting, spreadsheet formulas neutralised.
public enum MemberCSV {
    public static let header = [
        "customer_id", "name", "email", "phone", "city", "country", "tags", "total_spend", "order_count",
        "avg_order_value", "visit_count", "created_at", "last_order_at", "last_visit_at", "last_seen_at",
    ]

    public static func fields(_ customer: CustomerState) -> [String] {
        [
            customer.customerID, customer.name ?? "", customer.email ?? "", customer.phone ?? "", customer.city ?? "",
            customer.country ?? "", customer.tags.joined(separator: ";"), customer.totalSpend.description,
            String(customer.orderCount), customer.averageOrderValue?.description ?? "", String(customer.visitCount),
            customer.createdAt?.description ?? "", customer.lastOrderAt?.description ?? "",
            customer.lastVisitAt?.description ?? "", customer.lastSeenAt?.description ?? "",
        ]
    }

    /// One CSV line (with CRLF) appended to `buffer`.
    public static func appendRow(_ fields: [String], to buffer: inout [UInt8]) {
        buffer.append(contentsOf: fields.map(escape).joined(separator: ",").utf8)
        buffer.append(contentsOf: [0x0D, 0x0A])
    }

    static func escape(_ field: String) -> String {
        var value = field
        // A leading =, +, - or @ makes spreadsheets evaluate the cell; a quote mark keeps it text.
        if let first = value.first, "=+-@".contains(first), Double(value) == nil { value = "'" + value }
        return quoted(value)
    }

    /// RFC 4180 quoting, only where needed.
    public static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
