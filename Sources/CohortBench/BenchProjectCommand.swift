import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import Events
import Foundation
import Kafka
import Logging
import Projections

/// `cohort bench project`: fold throughput from the embedded log and from Kafka into fresh read models.
struct BenchProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Measure fold throughput (log → LMDB read models) from the embedded log and from Kafka.",
        discussion: """
            Generates --events records of synthetic traffic (customers, orders with cancels and refunds, visits) once, \
            untimed, then rebuilds fresh read models from them --runs times: as `cohort replay` does (folded in \
            memory, written once in key order; --mode rebuild) and as a live projector does (one transaction per \
            batch; --mode batches). Kafka uses --brokers, or else librdkafka's mock cluster in this process (keep \
            --kafka-events within its ~5 MiB per partition). Reports medians and the process's peak resident memory.
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case rebuild, batches, all
    }

    @OptionGroup var target: BenchTargetOptions

    @Option(help: "Records to fold from the embedded log (approximate: cancels and refunds come on top).")
    var events = 1_000_000

    @Option(help: "Records to fold from Kafka.")
    var kafkaEvents = 200_000

    @Option(help: "How to fold: rebuild (in memory, as cohort replay), batches (as a live projector) or all.")
    var mode: Mode = .all

    @Option(help: "Memory (MiB) a rebuild may fold in before it writes (replay.memory_mb).")
    var memoryMb = CohortConfiguration().replayMemoryMiB

    func validate() throws {
        guard events >= 1_000, kafkaEvents >= 1_000 else { throw ValidationError("at least 1000 events") }
    }

    func run() async throws {
        Allocator.keepFreedMemory()  // as `cohort replay` does
        let logger = LoggingSetup.logger("cohort.bench", level: "warning")
        let directory = BenchMeasure.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        if target.measuresEmbedded {
            let (log, total) = try await BenchMeasure.generatedEmbeddedLog(
                at: directory + "/log", partitions: target.partitions, events: events, logger: logger)
            for inMemory in modes {
                let label = "embedded " + (inMemory ? "rebuild" : "batches")
                let rates = try await measure(
                    log, total: total, label: label, inMemory: inMemory, directory: directory, logger: logger)
                summarize(label, rates, records: total)
            }
            await log.close()
        }
        if target.measuresKafka {
            let cluster = try target.kafkaCluster(logger: logger)
            // Three times the partitions keep each within the mock cluster's ~5 MiB per partition.
            for stream in EventStream.allCases {
                try cluster.mock?.createTopic(stream.defaultTopic, partitions: target.partitions * 3)
            }
            let log = try KafkaLog(configuration: KafkaConfiguration(bootstrapServers: cluster.servers), logger: logger)
            let total = try await BenchMeasure.fillGenerated(log, events: kafkaEvents)
            for inMemory in modes {
                let label = target.kafkaLabel + (inMemory ? " rebuild" : " batches")
                let rates = try await measure(
                    log, total: total, label: label, inMemory: inMemory, directory: directory, logger: logger)
                summarize(label, rates, records: total)
            }
            await log.close()
            withExtendedLifetime(cluster.mock) {}
        }
        Output.line("peak resident memory of this process: \(BenchMeasure.peakResidentMegabytes()) MB")
        Output.line("allocator: \(Allocator.description)")
    }

    /// Whether each measured mode folds in memory.
    private var modes: [Bool] {
        switch mode {
        case .rebuild: [true]
        case .batches: [false]
        case .all: [true, false]
        }
    }

    private func measure(
        _ log: any EventLog, total: Int, label: String, inMemory: Bool, directory: String, logger: Logger
    ) async throws -> [Double] {
        var rates: [Double] = []
        let topics = EventStream.allCases.filter { $0 != .deadletter }.map(\.defaultTopic)
        var configuration = Projector.Configuration(topics: topics, deadLetterTopic: nil, currency: "INR")
        if inMemory {
            configuration.spanBytesMax = memoryMb << 20
            configuration.spanRecordsMin = 0
        }
        for run in 1...target.runs {
            let path = directory + "/run-\(run)"
            let store = try ReadModelStore(path: path, options: ReadModelStore.rebuildOptions)
            let projector = Projector(log: log, store: store, configuration: configuration, logger: logger)
            let started = ContinuousClock.now
            let progress = try await projector.run(until: .caughtUp)
            try store.sync()
            let seconds = BenchMeasure.seconds(since: started)
            guard progress.records == total else {
                throw ValidationError("folded \(progress.records) of \(total) records")
            }
            rates.append(Double(total) / seconds)
            Output.line(
                "  \(label) run \(run): \(total) records in \(BenchMeasure.format(seconds)) s = "
                    + "\(Int(rates.last!)) records/s"
            )
            try? FileManager.default.removeItem(atPath: path)
        }
        return rates
    }

    private func summarize(_ label: String, _ rates: [Double], records: Int) {
        Output.line("\(label): \(records) records/run, median \(Int(BenchMeasure.median(rates))) records/s")
    }
}
