import Testing

@testable import Projections

@Suite("store keys")
struct StoreKeysTests {
    @Test("precedes orders keys as LMDB does: bytes first, then the shorter key first")
    func keyOrder() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<5_000 {
            let a = (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0...3, using: &random) * 85
            }
            let b = (0..<Int.random(in: 0...6, using: &random)).map { _ in UInt8.random(in: 0...3, using: &random) * 85
            }
            #expect(StoreKeys.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) vs \(b)")
        }
        #expect(StoreKeys.precedes([1], [1, 0]) && !StoreKeys.precedes([1, 0], [1]) && !StoreKeys.precedes([], []))
    }
}
