#ifndef COHORT_CINTRINSICS_SHIM_H
#define COHORT_CINTRINSICS_SHIM_H

/// Asks the CPU to bring the cache line holding `address` in, without waiting for it (Swift has no prefetch).
static inline void cohort_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// `cohort_prefetch` for every cache line of the `count` bytes from `start`.
static inline void cohort_prefetch_range(const void *start, long count) {
    const char *line = start;
    for (long offset = 0; offset < count; offset += 64) __builtin_prefetch(line + offset, 0, 3);
}

/// Whether the `count` bytes at `a` and `b` are the same, compared inline eight at a time: keys and names are
/// short, and a call to `memcmp` for each cost more than the comparison.
static inline int cohort_equal_bytes(const void *a, const void *b, long count) {
    const unsigned char *x = a, *y = b;
    while (count >= 8) {
        unsigned long long u, v;
        __builtin_memcpy(&u, x, 8);
        __builtin_memcpy(&v, y, 8);
        if (u != v) return 0;
        x += 8;
        y += 8;
        count -= 8;
    }
    while (count-- > 0) {
        if (*x++ != *y++) return 0;
    }
    return 1;
}

/// Sixteen bytes, for the compiler's vector operations (SSE2 on x86-64, NEON on arm64).
typedef unsigned char cohort_u8x16 __attribute__((vector_size(16)));

/// One bit per lane of `lanes` (each 0x00 or 0xFF), lane 0 in bit 0.
static inline unsigned cohort_lane_bits(cohort_u8x16 lanes) {
#if defined(__SSE2__)
    return (unsigned)__builtin_ia32_pmovmskb128((__attribute__((vector_size(16))) char)lanes);
#else
    unsigned bits = 0;
    for (int lane = 0; lane < 16; lane++) bits |= (unsigned)(lanes[lane] & 1) << lane;
    return bits;
#endif
}

/// For the 64 one-byte codes at `codes`: bit i of `*inside` is set when `codes[i] - from` (modulo 256) is below
/// `count`, and bit i of `*cut` when `codes[i]` is `cut_a` or `cut_b` (only if `cuts` is not 0). Sixteen codes per
/// step: a segment count reads millions of codes, and Swift cannot turn a vector comparison into bits.
static inline void cohort_code_masks(const unsigned char *codes, unsigned char from, unsigned char count,
                                     unsigned char cut_a, unsigned char cut_b, int cuts,
                                     unsigned long long *inside, unsigned long long *cut) {
    unsigned long long in_bits = 0, cut_bits = 0;
    for (int part = 0; part < 4; part++) {
        cohort_u8x16 lanes;
        __builtin_memcpy(&lanes, codes + part * 16, 16);
        cohort_u8x16 shifted = lanes - from;
        in_bits |= (unsigned long long)cohort_lane_bits((cohort_u8x16)(shifted < count)) << (part * 16);
        if (cuts) {
            cohort_u8x16 hit = (cohort_u8x16)(lanes == cut_a) | (cohort_u8x16)(lanes == cut_b);
            cut_bits |= (unsigned long long)cohort_lane_bits(hit) << (part * 16);
        }
    }
    *inside = in_bits;
    *cut = cut_bits;
}

#endif
