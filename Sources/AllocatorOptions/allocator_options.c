#include "allocator_options.h"

// jemalloc reads this symbol, if the executable defines it, once, when it initialises: before `main`, so it cannot
// be set from Swift at run time. Its options:
// - thp:always: large mappings are advised for transparent huge pages. Every page a process touches for the first
//   time is a fault and a zeroing; on virtual machines, also a fault on the host. A 10M-record replay touches about
//   2.5 GB of heap: with 2 MiB pages instead of 4 KiB, it finished in 21-23 s instead of 24-25 s (BENCHMARKS.md).
const char *malloc_conf = "thp:always";

const char *cohort_allocator_options(void) { return malloc_conf; }
