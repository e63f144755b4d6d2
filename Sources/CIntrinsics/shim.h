#ifndef COHORT_CINTRINSICS_SHIM_H
#define COHORT_CINTRINSICS_SHIM_H

/// Asks the CPU to bring the cache line holding `address` in, without waiting for it (Swift has no prefetch).
static inline void cohort_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
