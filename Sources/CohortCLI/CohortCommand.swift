import AllocatorOptions
import ArgumentParser
import CJemalloc

/// The entry point: checks the allocator, then runs the command line.
@main
enum CohortMain {
    static func main() async {
        // Cohort allocates and frees small objects by the million on one thread while others keep millions alive
        // (decoding on every core, folding on one): glibc's malloc spent a sixth of a replay in its slow paths and
        // locks there, and a quarter of a 10M-record replay consolidating fastbins. jemalloc, linked in, takes its
        // place; this fails loudly should a build ever lose it.
        precondition(cohort_jemalloc_version() != nil, "cohort expects jemalloc as its allocator (libjemalloc-dev)")
        await CohortCommand.main()
    }
}

/// The process's allocator, jemalloc, with the options this executable gives it (`AllocatorOptions`).
enum Allocator {
    /// Which allocator and how it is set up, as benchmarks report it.
    static var description: String {
        let version = cohort_jemalloc_version().map { String(cString: $0) } ?? "unknown"
        let hugePages = cohort_jemalloc_thp_mode().map { String(cString: $0) } ?? "unknown"
        let options = String(cString: cohort_allocator_options())
        return "jemalloc \(version), options \"\(options)\", transparent huge pages: \(hugePages)"
    }

    /// Keeps freed memory in the process instead of handing it back to the kernel after ten idle seconds: a rebuild
    /// frees and allocates gigabytes over a minute, and every page handed back was faulted in and zeroed again when
    /// reused (a 10M-record replay spent a quarter of its time in the kernel). For jobs that end, not for servers.
    static func keepFreedMemory() {
        if cohort_jemalloc_set_decay_ms(-1) != 0 {
            Output.error("cohort: could not configure the allocator's page decay; going on with its defaults")
        }
    }
}

/// `cohort`: the event-sourced customer-engagement engine.
struct CohortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohort",
        abstract: "Cohort: an event-sourced customer-engagement engine on Kafka or an embedded log.",
        subcommands: [
            BrokerCommand.self, LogCommand.self, ValidateCommand.self, SchemasCommand.self, ConfigCommand.self,
            ProjectCommand.self, ReplayCommand.self, DigestCommand.self, StatsCommand.self, GenerateCommand.self,
            SegmentsCommand.self, ServeCommand.self, KeysCommand.self, VendorSimCommand.self, BenchCommand.self,
        ])
}
