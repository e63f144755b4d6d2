#include "allocator_options.h"

// jemalloc reads this symbol, if the executable defines it, once, when it initialises: before `main`, so it cannot
// be set from Swift at run time. Its options:
// - thp:always: large mappings are advised for transparent huge pages. Every page a process touches for the first
//   time is a fault and a zeroing; on virtual machines, also a fault on the host. A 10M-record replay touches about
//   2.4 GB of heap: with 2 MiB pages instead of 4 KiB, three runs took 20.9-23.5 s instead of 24.4-24.9 s
//   (BENCHMARKS.md, tenth round). For a server, pages may stay larger than what is in use; MALLOC_CONF overrides.
const char *malloc_conf = "thp:always";

const char *cohort_allocator_options(void) { return malloc_conf; }
