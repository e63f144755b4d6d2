import ArgumentParser
import CohortBench
import CommandSupport
import NIOCore
import NIOPosix

/// The entry point: checks the allocator, then runs the command line.
@main
enum CohortMain {
    static func main() async {
        // Cohort allocates and frees small objects by the million on one thread while others keep millions alive
        // (decoding on every core, folding on one), which glibc's malloc serves through its slow paths and locks.
        // jemalloc, linked in, takes its place; this fails loudly should a build ever lose it.
        precondition(Allocator.isJemalloc, "cohort expects jemalloc as its allocator (libjemalloc-dev)")
        // A serving node answers each request on the event loop that reads its connection, with no hop to a second
        // pool of threads competing for the same cores; what blocks runs on threads of its own (`SerialThread`).
        if CommandLine.arguments.dropFirst().first == ServeCommand.configuration.commandName {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
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
            SegmentsCommand.self, ServeCommand.self, KeysCommand.self, VendorSimCommand.self, MigrateCommand.self,
            BenchCommand.self,
        ])
}
