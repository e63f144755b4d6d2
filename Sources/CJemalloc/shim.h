#ifndef COHORT_CJEMALLOC_SHIM_H
#define COHORT_CJEMALLOC_SHIM_H
#include <stddef.h>

// jemalloc replaces malloc and free for the whole process once linked; only its control entry point is declared here
// (its own header redeclares the standard allocation functions).
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/// jemalloc's version string, or NULL if it is not the allocator in use.
static inline const char *cohort_jemalloc_version(void) {
    const char *version = NULL;
    size_t length = sizeof(version);
    return mallctl("version", &version, &length, NULL, 0) == 0 ? version : NULL;
}
#endif
