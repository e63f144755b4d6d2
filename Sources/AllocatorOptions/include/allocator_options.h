#ifndef COHORT_ALLOCATOR_OPTIONS_H
#define COHORT_ALLOCATOR_OPTIONS_H

/// The options jemalloc reads at start-up from this executable (its `malloc_conf`), before any `MALLOC_CONF` from
/// the environment, which can override them.
const char *cohort_allocator_options(void);

#endif
