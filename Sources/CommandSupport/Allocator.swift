import AllocatorOptions
import CJemalloc

/// The process's allocator, jemalloc, with the options this executable gives it (`AllocatorOptions`).
public enum Allocator {
    /// Whether jemalloc is the process's allocator (it is linked into `cohort` to replace glibc's malloc).
    public static var isJemalloc: Bool { cohort_jemalloc_version() != nil }

    /// The allocator's version, start-up options and huge-page mode, in one line.
    public static var description: String {
        let version = cohort_jemalloc_version().map { String(cString: $0) } ?? "unknown"
        let hugePages = cohort_jemalloc_thp_mode().map { String(cString: $0) } ?? "unknown"
        let options = String(cString: cohort_allocator_options())
        return "jemalloc \(version), options \"\(options)\", transparent huge pages: \(hugePages)"
    }

    /// Keeps freed memory in the process instead of handing it back to the kernel after ten idle seconds: a rebuild
    /// frees and allocates gigabytes over a minute, and every page handed back is faulted in and zeroed again when
    /// reused. For jobs that end, not for servers.
    public static func keepFreedMemory() {
        if cohort_jemalloc_set_decay_ms(-1) != 0 {
            Output.error("cohort: could not configure the allocator's page decay; going on with its defaults")
        }
    }
}
