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
        // A serving node runs its tasks on the event loops that already read and write its sockets, one thread per
        // core, instead of on a second pool of as many threads beside them: a request is parsed, answered and its
        // response written on one thread, in the order it came, without waiting for another pool's thread to be
        // scheduled (the preview's p99 at 16 connections roughly halved: BENCHMARKS.md, "Counts in parallel").
        // Work that blocks stays off these threads: folding, decoding, the projector's loop (`SerialThread`), Kafka
        // polls and outgoing HTTP run on threads of their own. Only `serve`: other commands keep Swift's pool.
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
            SegmentsCommand.self, ServeCommand.self, KeysCommand.self, VendorSimCommand.self, BenchCommand.self,
        ])
}
