import Events
import Projections
import Segments
import Testing

@Suite("evaluator semantics")
struct EvaluatorSemanticsTests {
    /// Count through the index and verdict through explain must agree, and both are returned.
    func verdict(_ text: String, _ state: CustomerState, asOf: Timestamp) throws -> Bool {
        let parsed = try rule(text)
        let counted = index([state]).count(parsed, asOf: asOf) == 1
        let explained = RuleExplainer.explain(parsed, customer: state, asOf: asOf).matches
        #expect(counted == explained, "index and explain disagree on \(text)")
        return counted
    }

    @Test func dayFieldsChangeExactlyAtWholeDayBoundaries() throws {
        let base = at("2024-03-01T12:00:00Z")
        let state = customer("c1") {
            $0.upsertedCreatedAt = base
            $0.orderCount = 1
            $0.totalSpend = Money(units: 10_000)
            $0.firstOrderAt = base
            $0.lastOrderAt = base
            $0.visitCount = 1
            $0.lastVisitAt = base
        }
        let before = at("2024-03-31T11:59:59.999999Z")  // 29 whole days
        let after = at("2024-03-31T12:00:00Z")  // 30 whole days
        for field in ["days_since_last_order", "days_since_last_visit", "days_inactive", "days_since_signup"] {
            func check(_ op: String, _ value: String, _ expectedBefore: Bool, _ expectedAfter: Bool) throws {
                let text = #"{"field":"\#(field)","op":"\#(op)","value":\#(value)}"#
                #expect(try verdict(text, state, asOf: before) == expectedBefore, "\(text) before")
                #expect(try verdict(text, state, asOf: after) == expectedAfter, "\(text) after")
            }
            try check("gt", "29", false, true)
            try check("gte", "30", false, true)
            try check("eq", "30", false, true)
            try check("eq", "29", true, false)
            try check("ne", "29", false, true)
            try check("lt", "30", true, false)
            try check("lte", "29", true, false)
            try check("between", "[30, 31]", false, true)
            try check("between", "[0, 29]", true, false)
            try check("in", "[1, 30]", false, true)
            try check("not_in", "[30]", true, false)
        }
        // The next boundary: 31 days from 2024-04-01T12:00:00Z on.
        #expect(
            try verdict(#"{"field":"days_inactive","op":"eq","value":30}"#, state, asOf: at("2024-04-01T11:59:59Z")))
        #expect(
            !(try verdict(#"{"field":"days_inactive","op":"eq","value":30}"#, state, asOf: at("2024-04-01T12:00:00Z"))))
        // A base time after as_of gives negative whole days, rounded down.
        #expect(
            try verdict(#"{"field":"days_since_signup","op":"eq","value":-1}"#, state, asOf: at("2024-03-01T11:00:00Z"))
        )
    }

    @Test func timestampsCompareAtTheMicrosecond() throws {
        let state = customer("c1") { $0.upsertedCreatedAt = at("2024-05-01T10:00:00.000001Z") }
        let asOf = at("2025-01-01T00:00:00Z")
        #expect(try verdict(#"{"field":"created_at","op":"gt","value":"2024-05-01T10:00:00Z"}"#, state, asOf: asOf))
        #expect(
            !(try verdict(#"{"field":"created_at","op":"gt","value":"2024-05-01T10:00:00.000001Z"}"#, state, asOf: asOf))
        )
        #expect(
            try verdict(
                #"{"field":"created_at","op":"lte","value":"2024-05-01T15:30:00.000001+05:30"}"#, state, asOf: asOf))
        #expect(
            try verdict(#"{"field":"last_seen_at","op":"eq","value":"2024-05-01T10:00:00.000001Z"}"#, state, asOf: asOf)
        )
    }

    @Test func missingValuesAreFalseAndTheirNegationTrue() throws {
        let state = customer("c1")  // no orders, visits, city or e-mail
        let asOf = at("2024-06-01T00:00:00Z")
        #expect(!(try verdict(#"{"field":"days_since_last_order","op":"gt","value":0}"#, state, asOf: asOf)))
        #expect(!(try verdict(#"{"field":"days_since_last_order","op":"lte","value":0}"#, state, asOf: asOf)))
        #expect(try verdict(#"{"not":{"field":"days_since_last_order","op":"lte","value":0}}"#, state, asOf: asOf))
        #expect(!(try verdict(#"{"field":"city","op":"ne","value":"Pune"}"#, state, asOf: asOf)))
        #expect(!(try verdict(#"{"field":"city","op":"not_in","value":["Pune"]}"#, state, asOf: asOf)))
        #expect(!(try verdict(#"{"field":"city","op":"not_contains","value":"x"}"#, state, asOf: asOf)))
        #expect(try verdict(#"{"not":{"field":"city","op":"eq","value":"Pune"}}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"city","op":"missing"}"#, state, asOf: asOf))
        #expect(!(try verdict(#"{"field":"city","op":"exists"}"#, state, asOf: asOf)))
        #expect(try verdict(#"{"field":"avg_order_value","op":"missing"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"total_spend","op":"eq","value":0}"#, state, asOf: asOf))
        #expect(!(try verdict(#"{"field":"attributes.plan","op":"ne","value":"pro"}"#, state, asOf: asOf)))
        #expect(try verdict(#"{"field":"attributes.plan","op":"missing"}"#, state, asOf: asOf))
    }

    @Test func tagsAreNeverMissingAndNoTagsIsTheEmptySet() throws {
        let none = customer("c1")
        let tagged = customer("c2") { $0.tags = ["VIP", "gold"] }
        let asOf = at("2024-06-01T00:00:00Z")
        #expect(try verdict(#"{"field":"tags","op":"not_contains","value":"vip"}"#, none, asOf: asOf))
        #expect(try verdict(#"{"field":"tags","op":"not_in","value":["vip","gold"]}"#, none, asOf: asOf))
        #expect(try verdict(#"{"field":"tags","op":"missing"}"#, none, asOf: asOf))
        #expect(!(try verdict(#"{"field":"tags","op":"exists"}"#, none, asOf: asOf)))
        #expect(try verdict(#"{"field":"tags","op":"contains","value":"vip"}"#, tagged, asOf: asOf))
        #expect(try verdict(#"{"field":"tags","op":"in","value":["silver","GOLD"]}"#, tagged, asOf: asOf))
        #expect(!(try verdict(#"{"field":"tags","op":"not_in","value":["silver","GOLD"]}"#, tagged, asOf: asOf)))
        #expect(try verdict(#"{"field":"tags","op":"exists"}"#, tagged, asOf: asOf))
    }

    @Test func stringAndTagComparisonsIgnoreCase() throws {
        let state = customer("Cust-7") {
            $0.name = "Asha Rao"
            $0.city = "MUMBAI"
            $0.email = "Asha@Example.COM"
            $0.attributes = ["plan": .string("Pro")]
        }
        let asOf = at("2024-06-01T00:00:00Z")
        #expect(try verdict(#"{"field":"city","op":"eq","value":"mumbai"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"city","op":"in","value":["Pune","Mumbai"]}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"name","op":"contains","value":"ASH"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"email","op":"starts_with","value":"asha@"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"customer_id","op":"eq","value":"cust-7"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"customer_id","op":"starts_with","value":"CUST"}"#, state, asOf: asOf))
        #expect(try verdict(#"{"field":"attributes.plan","op":"eq","value":"PRO"}"#, state, asOf: asOf))
        #expect(!(try verdict(#"{"field":"city","op":"eq","value":"mumbai "}"#, state, asOf: asOf)))
    }

    @Test func erasedCustomersAreInNoSegment() throws {
        var gone = customer("c1") { $0.city = "Pune" }
        let index = index([gone, customer("c2")])
        gone = CustomerState(customerID: "c1")
        gone.isErased = true
        index.update([gone])
        let asOf = at("2024-06-01T00:00:00Z")
        #expect(index.count(try rule(#"{"field":"city","op":"missing"}"#), asOf: asOf) == 1)
        #expect(index.count(try rule(#"{"not":{"field":"city","op":"eq","value":"x"}}"#), asOf: asOf) == 1)
        #expect(index.allMembers(try rule(#"{"field":"tags","op":"missing"}"#), asOf: asOf) == ["c2"])
        #expect(index.customerCount == 1)
    }

    @Test func updatesReplaceEveryColumn() throws {
        let index = index([
            customer("c1") {
                $0.tags = ["vip"]; $0.city = "Pune"; $0.attributes = ["plan": .string("pro")]
            }
        ])
        index.update([
            customer("c1") {
                $0.tags = ["gold"]; $0.city = nil
            }
        ])
        let asOf = at("2024-06-01T00:00:00Z")
        #expect(index.count(try rule(#"{"field":"tags","op":"contains","value":"vip"}"#), asOf: asOf) == 0)
        #expect(index.count(try rule(#"{"field":"tags","op":"contains","value":"gold"}"#), asOf: asOf) == 1)
        #expect(index.count(try rule(#"{"field":"city","op":"missing"}"#), asOf: asOf) == 1)
        #expect(index.count(try rule(#"{"field":"attributes.plan","op":"exists"}"#), asOf: asOf) == 0)
    }

    @Test func membersArePagedInIdOrderWithACursor() throws {
        var states: [CustomerState] = []
        for number in (0..<250).reversed() { states.append(customer("c\(number)") { $0.visitCount = number % 3 }) }
        let index = index(states)
        let matching = try rule(#"{"field":"visit_count","op":"gte","value":1}"#)
        let asOf = at("2024-06-01T00:00:00Z")
        var collected: [String] = []
        var cursor: String?
        repeat {
            let page = index.members(matching, asOf: asOf, after: cursor, limit: 40)
            #expect(page.ids.count <= 40)
            collected += page.ids
            cursor = page.next
        } while cursor != nil
        let expected = states.filter { $0.visitCount >= 1 }.map(\.customerID).sorted()
        #expect(collected == expected)
        #expect(index.allMembers(matching, asOf: asOf) == expected)
        let preview = index.preview(matching, asOf: asOf, sampleSize: 5)
        #expect(preview.count == expected.count && preview.sample.count == 5)
        #expect(preview.sample.allSatisfy(expected.contains))
    }
}
