#ifndef COHORT_CJEMALLOC_SHIM_H
#define COHORT_CJEMALLOC_SHIM_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

// jemalloc replaces malloc and free for the whole process once linked; only its control entry point is declared here
// (its own header redeclares the standard allocation functions).
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/// jemalloc's version string, or NULL if it is not the allocator in use.
static inline const char *cohort_jemalloc_version(void) {
    const char *version = NULL;
    size_t length = sizeof(version);
    return mallctl("version", &version, &length, NULL, 0) == 0 ? version : NULL;
}

/// jemalloc's transparent huge page mode (`opt.thp`: "default", "always" or "never"), or NULL if it has none.
static inline const char *cohort_jemalloc_thp_mode(void) {
    const char *mode = NULL;
    size_t length = sizeof(mode);
    return mallctl("opt.thp", &mode, &length, NULL, 0) == 0 ? mode : NULL;
}

/// Sets how long freed pages are kept before they go back to the kernel, in every arena and in arenas created later
/// (-1: never; 0: at once). 0 on success.
static inline int cohort_jemalloc_set_decay_ms(ssize_t milliseconds) {
    int failed = 0;
    failed |= mallctl("arenas.dirty_decay_ms", NULL, NULL, &milliseconds, sizeof(milliseconds));
    failed |= mallctl("arenas.muzzy_decay_ms", NULL, NULL, &milliseconds, sizeof(milliseconds));
    unsigned arenas = 0;
    size_t length = sizeof(arenas);
    failed |= mallctl("arenas.narenas", &arenas, &length, NULL, 0);
    for (unsigned arena = 0; arena < arenas; arena++) {
        char name[64];
        // Arenas not created yet fail here and take the defaults set above when they are.
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", arena);
        mallctl(name, NULL, NULL, &milliseconds, sizeof(milliseconds));
        snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", arena);
        mallctl(name, NULL, NULL, &milliseconds, sizeof(milliseconds));
    }
    return failed;
}
#endif
