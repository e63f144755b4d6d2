import Foundation

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): identical output on every platform.
/// Public so that tests draw their random data from the same generator.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole output is determined by `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(Swift.max(1, bound))) }

    /// One of `values`, uniformly.
    public mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = Swift.max(unit(), 1e-12)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }
}
