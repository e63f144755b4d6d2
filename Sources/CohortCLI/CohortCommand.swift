import ArgumentParser

/// `cohort`: the event-sourced customer-engagement engine.
@main
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
