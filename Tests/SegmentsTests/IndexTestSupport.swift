import Events
import Foundation
import Projections
import Segments

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

/// Deterministic pseudo-random numbers for generated tests (SplitMix64).
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
    mutating func pick<T>(_ items: [T]) -> T { items.randomElement(using: &self)! }
}
