import API
import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import Events
import Foundation
import Logging
import Projections
import Synthetic

/// `cohort project`: the projector alone.
struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Fold the log into the read models; resumes from the stored offsets; SIGTERM commits and stops.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Exit once caught up with the end offsets seen at start (batch jobs, tests).")
    var untilCaughtUp = false

    func run() async throws {
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.project", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        let store = try NodeWiring.openReadModels(configuration, logger: logger)
        let projector = Projector(
            log: log, store: store, configuration: NodeWiring.projectorConfiguration(configuration),
            logger: logger)
        let printer = ProgressPrinter(label: "project", intervalSeconds: 5)
        let signals = Task {
            let signal = await SignalWaiter.waitForTermination()
            Output.error("project: stopping on signal \(signal) after the open batch")
            projector.stop()
        }
        let progress = try await projector.run(until: untilCaughtUp ? .caughtUp : .never) { printer.report($0) }
        signals.cancel()
        try store.close()
        printer.report(progress, final: true)
        await log.close()
    }
}

/// `cohort replay`: rebuilds every read model from offset 0 into a fresh directory.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Rebuild the read models from the start of the log into a new directory, then verify and print the digest.",
        discussion: """
            --until TIME (RFC 3339) folds only records the log stored at or before TIME: the read models as they \
            were then. Poison records are recorded in the rebuilt read models but not dead-lettered again.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Directory to build the read models in; must be empty or absent.")
    var into: String

    @Option(help: "Fold only records appended at or before this RFC 3339 time.")
    var until: String?

    func validate() throws {
        if let until, Timestamp(rfc3339: until) == nil {
            throw ValidationError("--until must be an RFC 3339 time such as 2024-06-01T00:00:00Z")
        }
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: into)) ?? []
        guard existing.isEmpty else {
            throw ValidationError("\(into) is not empty; replay builds into a fresh directory")
        }
    }

    func run() async throws {
        Allocator.keepFreedMemory()
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.replay", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        let stop: Projector.StopCondition =
            until.flatMap(Timestamp.init(rfc3339:)).map { .caughtUpUntil($0) } ?? .caughtUp
        let digest = try await Rebuild.run(
            log: log, into: into, configuration: configuration, until: stop, label: "replay", logger: logger)
        await log.close()
        Output.line(digest)
    }
}

/// A rebuild of the read models from the start of a log into a fresh directory, verified: `cohort replay`, and
/// `cohort migrate` on both logs.
enum Rebuild {
    /// Folds `log` into `path` until `stop`, syncs, checks that every record read is accounted for exactly once (as
    /// an event, a duplicate or a dead letter; exit status 2 if not) and returns the digest.
    static func run(
        log: any EventLog, into path: String, configuration: CohortConfiguration,
        until stop: Projector.StopCondition = .caughtUp, label: String, logger: Logger
    ) async throws -> String {
        let store = try ReadModelStore(path: path, options: ReadModelStore.rebuildOptions)
        let projector = Projector(
            log: log, store: store, configuration: NodeWiring.replayConfiguration(configuration), logger: logger)
        let printer = ProgressPrinter(label: label)
        let progress = try await projector.run(until: stop) { printer.report($0) }
        printer.report(progress, final: true)
        try store.close()
        let accounted = try [ReadModelStore.Counter.events, .duplicates, .deadLetters].reduce(Int64(0)) {
            $0 + (try store.counter($1))
        }
        guard accounted == Int64(progress.records) else {
            Output.error("\(label): verification failed: \(progress.records) records read, \(accounted) accounted for")
            throw ExitCode(2)
        }
        Output.error(
            "\(label): verified \(accounted) records (\(try store.counter(.events)) events, "
                + "\(try store.counter(.duplicates)) duplicates, \(try store.counter(.deadLetters)) dead letters)")
        return try store.digest()
    }
}

/// `cohort digest`: a stable checksum of all read-model content.
struct DigestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print the SHA-256 digest of all read-model content (equal models, equal digests).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try options.load()
        // Accept either a data directory (with readmodels/ inside) or a read-model directory itself.
        var path = configuration.readModelsPath
        let direct = configuration.dataDirectory
        if !FileManager.default.fileExists(atPath: path + "/data.mdb"),
            FileManager.default.fileExists(atPath: direct + "/data.mdb")
        {
            path = direct
        }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw ValidationError("no read models at \(path)")
        }
        Output.line(try ReadModelStore(path: path).digest())
    }
}

/// `cohort generate`: deterministic synthetic CRM traffic.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate deterministic synthetic customers, orders and visits as NDJSON or straight into the log.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Customers.") var customers = 1_000
    @Option(help: "Orders (cancellations and refunds come on top).") var orders = 3_000
    @Option(help: "Visits.") var visits = 5_000
    @Option(help: "Seed: the same seed gives the same events.") var seed: UInt64 = 42
    @Option(help: "Share of redelivered events, 0–1.") var redeliveries = 0.0
    @Option(help: "Share of poison records, 0–1.") var poison = 0.0
    @Flag(help: "Append to the configured log instead of printing NDJSON.") var intoLog = false
    @Option(
        help: ArgumentHelp(
            "Time of the first event: RFC 3339, or \"recent\" (early enough that the last event lands before now).",
            valueName: "time"))
    var start = "2024-01-01T00:00:00Z"

    /// The first event's time: `start`, or for "recent" that many days before now that the run (events ~30 s
    /// apart on average, a tenth more for cancellations, refunds and chance) ends a day before now.
    func startTime(now: Date = Date()) throws -> Timestamp {
        if start == "recent" {
            let events = Double(customers) + Double(orders) * 1.1 + Double(visits)
            let seconds = events * 30 * 1.1 + 86_400
            let day = 86_400.0
            let first = ((now.timeIntervalSince1970 - seconds) / day).rounded(.down) * day
            return Timestamp(microseconds: Int64(first) * 1_000_000)
        }
        guard let time = Timestamp(rfc3339: start) else {
            throw ValidationError("--start must be an RFC 3339 time or \"recent\"")
        }
        return time
    }

    func validate() throws {
        _ = try startTime()
        guard customers >= 1, customers <= 100_000_000 else {
            throw ValidationError("--customers must be 1…100000000")
        }
        guard orders >= 0, visits >= 0, orders + visits <= 1_000_000_000 else {
            throw ValidationError("too many events")
        }
        guard (0...1).contains(redeliveries), (0...1).contains(poison) else {
            throw ValidationError("--redeliveries and --poison are shares between 0 and 1")
        }
    }

    func run() async throws {
        let configuration = try options.load()
        var generatorOptions = EventGenerator.Options()
        generatorOptions.customers = customers
        generatorOptions.orders = orders
        generatorOptions.visits = visits
        generatorOptions.seed = seed
        generatorOptions.redeliveryRate = redeliveries
        generatorOptions.poisonRate = poison
        generatorOptions.currency = configuration.currency
        generatorOptions.start = try startTime()
        let generator = EventGenerator(options: generatorOptions)
        guard intoLog else {
            var buffer: [UInt8] = []
            for item in generator {
                buffer += item.value
                buffer.append(0x0A)
                if buffer.count > 1 << 20 {
                    FileHandle.standardOutput.write(Data(buffer))
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(Data(buffer))
            return
        }
        let logger = LoggingSetup.logger("cohort.generate", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        let started = ContinuousClock.now
        let appended = try await Wiring.appendGenerated(
            generatorOptions, to: log, topic: { configuration.topic($0.defaultTopic) },
            headers: [Header("content-type", CloudEvent.structuredContentType)])
        await log.close()
        let seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        Output.error("generate: appended \(appended) records in \(String(format: "%.1f", seconds)) s")
        Output.line(String(appended))
    }
}

/// `cohort stats`: what the read models hold and how far behind the log they are.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print read-model counters and the lag behind the log per topic.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        let store = try ReadModelStore(path: configuration.readModelsPath)
        for counter in ReadModelStore.Counter.allCases {
            Output.line("\(counter.rawValue) = \(try store.counter(counter))")
        }
        let logger = LoggingSetup.logger("cohort.stats", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        let offsets = try store.storedOffsets()
        for topic in NodeWiring.foldedTopics(configuration) {
            var lag: Int64 = 0
            for partition in 0..<(try await log.partitionCount(topic: topic)) {
                let key = TopicPartition(topic: topic, partition: partition)
                lag += try await log.watermarks(key).high - (offsets[key] ?? 0)
            }
            Output.line("lag \(topic) = \(lag)")
        }
        await log.close()
    }
}
