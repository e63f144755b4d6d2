import Events
import Testing

@testable import Campaigns
@testable import Projections

@Suite("message templates")
struct MessageTemplateTests {
    static func customer(name: String? = "Asha Rao", city: String? = "Pune") -> CustomerState {
        var state = CustomerState(customerID: "c-1")
        state.name = name
        state.city = city
        state.email = "asha@example.com"
        state.orderCount = 3
        state.attributes = ["plan": .string("gold"), "age": .number(JSONNumber(41)), "beta": .bool(true)]
        return state
    }

    @Test("variables, defaults, attributes and plain text render per customer")
    func renders() throws {
        let template = try MessageTemplate(
            "Hi {{first_name|there}} from {{ city | your city}}: {{order_count}} orders, {{attributes.plan}} plan, "
                + "{{attributes.age}}, {{attributes.beta}}, {{attributes.missing|n/a}}.")
        #expect(
            template.render(Self.customer())
                == "Hi Asha from Pune: 3 orders, gold plan, 41, true, n/a.")
        #expect(template.render(Self.customer(name: nil, city: "")).hasPrefix("Hi there from  your city:"))
        #expect(try MessageTemplate("{{name}}").render(Self.customer(name: nil)) == "")
        #expect(try MessageTemplate("no variables").render(Self.customer()) == "no variables")
    }

    @Test("unknown variables and broken braces are rejected at creation")
    func rejects() {
        #expect(throws: MessageTemplate.Problem.self) { try MessageTemplate("Hi {{nickname}}") }
        #expect(throws: MessageTemplate.Problem.self) { try MessageTemplate("Hi {{name") }
        #expect(throws: MessageTemplate.Problem.self) { try MessageTemplate("Hi name}}") }
        #expect(throws: MessageTemplate.Problem.self) { try MessageTemplate("{{attributes.}}") }
        #expect(throws: MessageTemplate.Problem.self) { try MessageTemplate("") }
        #expect(throws: MessageTemplate.Problem.self) {
            try MessageTemplate(String(repeating: "x", count: MessageTemplate.lengthMax + 1))
        }
        do {
            _ = try MessageTemplate("Hi {{nick}}")
        } catch {
            #expect(error.description.contains("unknown variable {{nick}}"))
        }
    }

    @Test("the token bucket admits its rate per second and says how long to wait beyond it")
    func tokenBucket() {
        var bucket = TokenBucket(ratePerSecond: 100)
        #expect(bucket.take(100, now: 0) == 0)
        let wait = bucket.take(50, now: 0)
        #expect(abs(wait - 0.5) < 1e-9)
        #expect(bucket.take(50, now: 0.5) == 0)
        // A batch larger than one second's worth still gets through after a wait, never starves.
        var small = TokenBucket(ratePerSecond: 10)
        _ = small.take(10, now: 0)
        #expect(small.take(25, now: 0) > 0)
        #expect(small.take(25, now: 10) == 0)
    }
}
