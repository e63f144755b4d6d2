import Events
import Foundation
import Projections
import Testing

@Suite("customer folds (SPEC §4)")
struct CustomerFoldTests {
    @Test("upserts: present fields replace, null clears, absent keeps")
    func upsertSemantics() throws {
        var scenario = CustomerScenario()
        try scenario.apply(
            .customerUpserted,
            #"{"customer_id":"c1","name":"Asha","city":"Pune","tags":["vip","vip","new"],"attributes":{"plan":"gold"}}"#
        )
        try scenario.apply(.customerUpserted, #"{"customer_id":"c1","city":null,"email":"a@x.in"}"#)
        let customer = try #require(scenario.customer)
        #expect(customer.name == "Asha")
        #expect(customer.city == nil)
        #expect(customer.email == "a@x.in")
        #expect(customer.tags == ["vip", "new"])
        #expect(customer.attributes == ["plan": .string("gold")])
        try scenario.apply(.customerUpserted, #"{"customer_id":"c1","tags":null,"attributes":{"age":30}}"#)
        #expect(scenario.customer?.tags == [])
        #expect(scenario.customer?.attributes["plan"] == nil)
    }

    @Test("created_at: the upserted value, last write wins; else the earliest event time")
    func createdAt() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1"}"#, at: "2024-03-01T00:00:00Z")
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1"}"#, at: "2024-02-01T00:00:00Z")
        #expect(scenario.customer?.createdAt == at("2024-02-01T00:00:00Z"))
        try scenario.apply(
            .customerUpserted, #"{"customer_id":"c1","created_at":"2023-05-05T00:00:00Z"}"#, at: "2024-04-01T00:00:00Z")
        try scenario.apply(
            .customerUpserted, #"{"customer_id":"c1","created_at":"2023-06-06T00:00:00Z"}"#, at: "2024-04-02T00:00:00Z")
        #expect(scenario.customer?.createdAt == at("2023-06-06T00:00:00Z"))
        try scenario.apply(.customerUpserted, #"{"customer_id":"c1","created_at":null}"#, at: "2024-04-03T00:00:00Z")
        #expect(scenario.customer?.createdAt == at("2024-02-01T00:00:00Z"))
    }

    @Test("an order counts once per order_id, also when a retry carries a new event id; the first placed wins")
    func orderOncePerOrderID() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":100.10}"#)
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":999}"#)
        #expect(scenario.customer?.orderCount == 1)
        #expect(scenario.customer?.totalSpend == money("100.10"))
    }

    @Test("money is exact: 0.1 + 0.2 is 0.3")
    func exactMoney() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":0.1}"#)
        try scenario.apply(.orderPlaced, #"{"order_id":"o2","customer_id":"c1","amount":0.2}"#)
        #expect(scenario.customer?.totalSpend == money("0.3"))
    }

    @Test("a cancellation before its order: the order never counts")
    func cancelBeforeOrder() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.orderCancelled, #"{"order_id":"o1","customer_id":"c1"}"#)
        #expect(scenario.customer?.orderCount == 0)
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":50}"#)
        #expect(scenario.customer?.orderCount == 0)
        #expect(scenario.customer?.totalSpend == .zero)
        #expect(scenario.customer?.firstOrderAt == nil)
    }

    @Test("a cancellation after its order reverses it and moves first/last order times")
    func cancelAfterOrder() throws {
        var scenario = CustomerScenario()
        try scenario.apply(
            .orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":10,"placed_at":"2024-01-01T00:00:00Z"}"#)
        try scenario.apply(
            .orderPlaced, #"{"order_id":"o2","customer_id":"c1","amount":20,"placed_at":"2024-02-01T00:00:00Z"}"#)
        try scenario.apply(
            .orderPlaced, #"{"order_id":"o3","customer_id":"c1","amount":30,"placed_at":"2024-03-01T00:00:00Z"}"#)
        try scenario.apply(.orderCancelled, #"{"order_id":"o3","customer_id":"c1"}"#)
        try scenario.apply(.orderCancelled, #"{"order_id":"o1","customer_id":"c1"}"#)
        let customer = try #require(scenario.customer)
        #expect(customer.orderCount == 1)
        #expect(customer.totalSpend == money("20"))
        #expect(customer.firstOrderAt == at("2024-02-01T00:00:00Z"))
        #expect(customer.lastOrderAt == at("2024-02-01T00:00:00Z"))
    }

    @Test("partial refunds add up and are capped at the order amount, also when they come before the order")
    func refunds() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.orderRefunded, #"{"order_id":"o1","customer_id":"c1","amount":30}"#)
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":100}"#)
        try scenario.apply(.orderRefunded, #"{"order_id":"o1","customer_id":"c1","amount":25.5}"#)
        #expect(scenario.customer?.totalSpend == money("44.5"))
        try scenario.apply(.orderRefunded, #"{"order_id":"o1","customer_id":"c1","amount":1000}"#)
        #expect(scenario.customer?.totalSpend == .zero)
        #expect(scenario.customer?.orderCount == 1)
    }

    @Test("average order value rounds half-even to 2 places; missing without orders")
    func averageOrderValue() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1"}"#)
        #expect(scenario.customer?.averageOrderValue == nil)
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":50.125}"#)
        #expect(scenario.customer?.averageOrderValue == money("50.12"))
        try scenario.apply(.orderPlaced, #"{"order_id":"o2","customer_id":"c1","amount":50.225}"#)
        // 100.35 / 2 = 50.175 → 50.18 (half-even rounds the 7 up to the even 8).
        #expect(scenario.customer?.averageOrderValue == money("50.18"))
    }

    @Test("visits count, last visit is the latest visited_at whatever the order, last seen is the latest of all")
    func visitsAndLastSeen() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1","visited_at":"2024-05-01T00:00:00Z"}"#)
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1","visited_at":"2024-04-01T00:00:00Z"}"#)
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1"}"#, at: "2024-03-01T00:00:00Z")
        #expect(scenario.customer?.visitCount == 3)
        #expect(scenario.customer?.lastVisitAt == at("2024-05-01T00:00:00Z"))
        try scenario.apply(
            .orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":1,"placed_at":"2024-06-01T00:00:00Z"}"#)
        #expect(scenario.customer?.lastSeenAt == at("2024-06-01T00:00:00Z"))
    }

    @Test("an order for an unknown customer creates the customer")
    func orderCreatesCustomer() throws {
        var scenario = CustomerScenario()
        try scenario.apply(
            .orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":5}"#, at: "2024-01-09T00:00:00Z")
        #expect(scenario.customer?.customerID == "c1")
        #expect(scenario.customer?.createdAt == at("2024-01-09T00:00:00Z"))
    }

    @Test("erasure drops everything and later events do not bring the customer back")
    func erasure() throws {
        var scenario = CustomerScenario()
        try scenario.apply(.customerUpserted, #"{"customer_id":"c1","name":"Asha","email":"a@x.in"}"#)
        try scenario.apply(.orderPlaced, #"{"order_id":"o1","customer_id":"c1","amount":5}"#)
        try scenario.apply(.customerErased, #"{"customer_id":"c1"}"#)
        try scenario.apply(.customerUpserted, #"{"customer_id":"c1","name":"Asha again"}"#)
        try scenario.apply(.visitRecorded, #"{"customer_id":"c1"}"#)
        let customer = try #require(scenario.customer)
        #expect(customer.isErased)
        #expect(customer.name == nil && customer.email == nil)
        #expect(customer.orderCount == 0 && customer.visitCount == 0 && customer.totalSpend == .zero)
    }

    @Test("incremental aggregates equal a full recompute over thousands of random order histories")
    func incrementalEqualsRecompute() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            var scenario = CustomerScenario()
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                let order = "o\(Int.random(in: 0..<4, using: &generator))"
                let day = String(format: "%02d", Int.random(in: 1...28, using: &generator))
                switch Int.random(in: 0..<4, using: &generator) {
                case 0, 1:
                    let cents = Int.random(in: 0...100_000, using: &generator)
                    try scenario.apply(
                        .orderPlaced,
                        #"{"order_id":"\#(order)","customer_id":"c1","amount":\#(cents / 100).\#(cents % 100 < 10 ? "0" : "")\#(cents % 100),"placed_at":"2024-01-\#(day)T00:00:00Z"}"#
                    )
                case 2:
                    try scenario.apply(.orderCancelled, #"{"order_id":"\#(order)","customer_id":"c1"}"#)
                default:
                    try scenario.apply(
                        .orderRefunded,
                        #"{"order_id":"\#(order)","customer_id":"c1","amount":\#(Int.random(in: 0...600, using: &generator))}"#
                    )
                }
            }
            var recomputed = try #require(scenario.customer)
            CustomerFold.recomputeOrderAggregates(&recomputed, orders: Array(scenario.orders.values))
            #expect(scenario.customer == recomputed, "round \(round)")
        }
    }
}
