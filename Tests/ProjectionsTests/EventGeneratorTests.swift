import Events
import Projections
import Synthetic
import Testing

@Suite("synthetic data generator")
struct EventGeneratorTests {
    private func options(seed: UInt64) -> EventGenerator.Options {
        var options = EventGenerator.Options()
        (options.seed, options.customers, options.orders, options.visits) = (seed, 500, 2_000, 3_000)
        (options.redeliveryRate, options.poisonRate) = (0.05, 0.02)
        return options
    }

    @Test("the same seed gives byte-identical output; another seed does not")
    func deterministic() {
        let first = EventGenerator(options: options(seed: 5)).map(\.value)
        let again = EventGenerator(options: options(seed: 5)).map(\.value)
        let other = EventGenerator(options: options(seed: 6)).map(\.value)
        #expect(first == again)
        #expect(first != other)
    }

    @Test("valid items are valid CloudEvents keyed by their entity; poison items are not")
    func validity() {
        var valid = 0
        var poison = 0
        for item in EventGenerator(options: options(seed: 9)) {
            switch CloudEvent.decode(structured: item.value) {
            case .success(let event):
                if item.isValid {
                    valid += 1
                    #expect(event.key == item.key)
                    #expect(event.type.stream == item.stream)
                } else {
                    // Another currency is valid JSON-wise; the projector dead-letters it.
                    #expect(event.data["currency"]?.stringValue == "USD")
                    poison += 1
                }
            case .failure:
                #expect(!item.isValid)
                poison += 1
            }
        }
        #expect(valid > 5_000)
        #expect(poison > 50)
    }

    @Test("orders are heavy-tailed across customers; visits are spread evenly")
    func distributions() throws {
        var options = options(seed: 3)
        (options.customers, options.orders, options.visits, options.redeliveryRate, options.poisonRate) = (
            1_000, 20_000, 20_000, 0, 0
        )
        var orders: [String: Int] = [:]
        var visits: [String: Int] = [:]
        for item in EventGenerator(options: options) {
            let event = try CloudEvent.decode(structured: item.value).get()
            if event.type == .orderPlaced { orders[event.key, default: 0] += 1 }
            if event.type == .visitRecorded { visits[event.key, default: 0] += 1 }
        }
        let topTenth = orders.values.sorted(by: >).prefix(100).reduce(0, +)
        #expect(Double(topTenth) / Double(orders.values.reduce(0, +)) > 0.3, "the top 10 % place a large share")
        let visitCounts = visits.values.sorted(by: >)
        // Poisson(20): nobody gets more than a few times the mean.
        #expect(try #require(visitCounts.first) < 60)
        #expect(visits.count > 990)
    }
}
