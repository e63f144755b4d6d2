import ArgumentParser
import CMalloc

/// The entry point: tunes the allocator, then runs the command line.
@main
enum CohortMain {
    static func main() async {
        // glibc's fastbins: freeing millions of small objects while millions more stay alive (a rebuild folds tens
        // of millions of events) makes malloc consolidate them over and over; measured, a 10M-record replay spent a
        // quarter of its time there. Without fastbins, small blocks still go through the per-thread caches.
        _ = mallopt(M_MXFAST, 0)
        await CohortCommand.main()
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
