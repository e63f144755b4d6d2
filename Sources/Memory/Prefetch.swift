import CIntrinsics

/// Asking the CPU for memory before it is read, so that cache misses overlap work instead of stalling it. Swift
/// has no prefetch; these wrap the compiler's. A prefetch is only a hint: it never faults and never changes a value.
public enum Prefetch {
    /// The cache line holding `address`.
    @inlinable @inline(__always)
    public static func line(_ address: UnsafeRawPointer?) {
        cohort_prefetch(address)
    }

    /// Every cache line of the `count` bytes from `start`.
    @inlinable @inline(__always)
    public static func range(_ start: UnsafeRawPointer?, count: Int) {
        cohort_prefetch_range(start, count)
    }
}
