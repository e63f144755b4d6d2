import Foundation
import Testing
import TestSupport

/// `cohort segments` end to end: the real binary, a real embedded log and LMDB read models.
@Suite("cohort segments")
struct SegmentsCommandTests {
    static let specRule =
        #"{"or":[{"and":[{"field":"total_spend","op":"gt","value":10000},{"field":"visit_count","op":"lt","value":3}]},{"field":"days_since_last_order","op":"gt","value":90},{"not":{"field":"tags","op":"contains","value":"vip"}}]}"#
    static let asOf = "2024-04-01T00:00:00Z"

    func run(_ arguments: [String], exit expected: Int32 = 0) throws -> ChildProcess {
        let child = try ChildProcess.cohort(arguments)
        let status = child.waitForExit(timeout: 120)
        #expect(status == expected, "\(arguments): \(child.errorOutput)")
        return child
    }

    func json(_ child: ChildProcess) throws -> [String: Any] {
        let text = child.outputLines.joined(separator: "\n")
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    @Test("save, project, list with sizes, preview, members as CSV, explain, check and parse")
    func segmentsLifecycle() throws {
        let directory = TemporaryDirectory()
        let data = ["--data", directory.path]
        _ = try run(["generate", "--customers", "500", "--orders", "1500", "--visits", "2000", "--into-log"] + data)
        _ = try run(
            ["segments", "save", "--id", "lapsed", "--name", "Lapsed big spenders", "--rule", Self.specRule] + data)
        let vipRule = #"{"field":"tags","op":"contains","value":"VIP"}"#
        _ = try run(["segments", "save", "--id", "vip", "--name", "VIPs", "--rule", vipRule] + data)
        _ = try run(["segments", "save", "--id", "gone", "--name", "Gone", "--rule", vipRule] + data)
        _ = try run(["segments", "delete", "--id", "gone"] + data)
        _ = try run(["project", "--until-caught-up"] + data)

        let preview = try json(try run(["segments", "preview", "--rule", Self.specRule, "--as-of", Self.asOf] + data))
        let count = try #require(preview["count"] as? Int)
        #expect(count > 0 && count < 500)
        #expect((preview["sample"] as? [String])?.count == 10)
        #expect(preview["as_of"] as? String == Self.asOf)
        #expect(preview["took_ms"] is Double)

        let list = try json(try run(["segments", "list", "--as-of", Self.asOf] + data))
        let segments = try #require(list["segments"] as? [[String: Any]])
        #expect(segments.map { $0["segment_id"] as? String } == ["vip", "lapsed"] || segments.count == 2)
        let lapsed = try #require(segments.first { $0["segment_id"] as? String == "lapsed" })
        #expect(lapsed["size"] as? Int == count)
        #expect((lapsed["english"] as? String)?.contains("not tagged vip") == true)
        #expect(!segments.contains { $0["segment_id"] as? String == "gone" })

        let csv = try run(["segments", "members", "--segment", "lapsed", "--csv", "--as-of", Self.asOf] + data)
        #expect(csv.outputLines.count == count + 1)
        #expect(csv.outputLines.first?.hasPrefix("customer_id,name,email") == true)

        let page = try json(try run(["segments", "members", "--rule", vipRule, "--limit", "5"] + data))
        let ids = try #require(page["members"] as? [String])
        #expect(ids.count == 5 && ids == ids.sorted())
        let next = try json(
            try run(["segments", "members", "--rule", vipRule, "--limit", "5", "--after", ids[4]] + data))
        #expect((next["members"] as? [String])?.first.map { $0 > ids[4] } == true)

        let explain = try json(
            try run(["segments", "explain", "--rule", vipRule, "--customer", ids[0], "--as-of", Self.asOf] + data))
        #expect(explain["matches"] as? Bool == true)
        #expect(((explain["rule"] as? [String: Any])?["actual"] as? [String])?.contains("vip") == true)

        let bad = try run(
            ["segments", "check", "--rule", #"{"and":[{"field":"totalSpent","op":"greaterThan","value":1}]}"#],
            exit: 2)
        #expect(bad.errorOutput.contains(#"/and/0/field: unknown field "totalSpent"; did you mean "total_spend"?"#))
        #expect(bad.errorOutput.contains(#"/and/0/op: unknown operator "greaterThan"; did you mean "gt"?"#))

        let parsed = try json(try run(["segments", "parse", "spent over 5k in Pune and purple", "--now", Self.asOf]))
        #expect(parsed["english"] as? String == "total spend > ₹5,000 and city is Pune")
        #expect(parsed["unknown_words"] as? [String] == ["purple"])
    }
}
