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

#endif
