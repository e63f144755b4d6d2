import Events
import Foundation
import Projections
import Segments
import Synthetic

func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

func rule(_ text: String) throws -> Rule { try RuleDecoder().decode(text: text) }

func customer(_ id: String, _ configure: (inout CustomerState) -> Void = { _ in }) -> CustomerState {
    var state = CustomerState(customerID: id)
    state.firstSeenAt = at("2024-01-01T00:00:00Z")
    configure(&state)
    return state
}

func index(_ customers: [CustomerState]) -> CustomerIndex {
    let index = CustomerIndex()
    index.update(customers)
    return index
}

/// The generator's seeded random numbers, with the test's own helper.
typealias TestRandom = SplitMix64

extension SplitMix64 {
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
}
