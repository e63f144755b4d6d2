import CIntrinsics

/// Byte comparison for the short keys and names of hot loops, where a call to `memcmp` per comparison costs more
/// than the comparison itself.
public enum Bytes {
    /// Whether the `count` bytes at `a` and `b` are the same.
    @inlinable @inline(__always)
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        cohort_equal_bytes(a, b, count) != 0
    }
}
