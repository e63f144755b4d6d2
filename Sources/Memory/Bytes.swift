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

/// Bit masks of one-byte codes, sixteen at a time (the rule evaluator's scans of coded columns).
public enum ByteCodes {
    /// For the 64 codes at `codes`: `inside` has bit i set when `codes[i] &- from` is below `count` (in bytes,
    /// wrapping), `cut` when `codes[i]` is one of `cuts` (at most two).
    @inlinable @inline(__always)
    public static func masks(
        _ codes: UnsafePointer<UInt8>, from: UInt8, count: UInt8, cuts: (UInt8, UInt8)?
    ) -> (inside: UInt64, cut: UInt64) {
        var inside: UInt64 = 0
        var cut: UInt64 = 0
        cohort_code_masks(
            codes, from, count, cuts?.0 ?? 0, cuts?.1 ?? 0, cuts == nil ? 0 : 1, &inside, &cut)
        return (inside, cut)
    }
}
