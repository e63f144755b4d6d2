import ArgumentParser
import CommandSupport
import EventLog
import Events
import Foundation
import Logging
import Projections
import Segments
import Synthetic

/// `cohort bench segments`: audience counts over a generated customer base, against DuckDB and PostgreSQL.
struct BenchSegmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract:
            "Time segment counts on generated customers (P1); compare with DuckDB and PostgreSQL on the same data.",
        discussion: """
            Generates --customers customers with orders and visits into an embedded log in --work, folds them into \
            read models (both kept, so a second run skips this), builds the index from LMDB (start-up rebuild time) \
            and times each benchmark rule --runs times. Unless --no-compare, it exports the same customers to CSV \
            and runs scripts/bench_segments_sql.py, which loads them into DuckDB and a throw-away PostgreSQL \
            cluster and times the same rules as SQL; every engine's counts must agree.
            """)

    @Option(help: "Customers to generate.") var customers = 1_000_000
    @Option(help: "Orders per customer, on average.") var ordersPerCustomer = 2
    @Option(help: "Visits per customer, on average.") var visitsPerCustomer = 3
    @Option(help: "Timed runs per rule; the median is reported.") var runs = 51
    @Option(help: "Working directory (log, read models, CSV); reused when it already holds the data.")
    var work = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-bench-segments").path
    @Option(help: "The SQL comparison script.") var sqlScript = "scripts/bench_segments_sql.py"
    @Flag(help: "Skip the DuckDB/PostgreSQL comparison.") var noCompare = false

    /// SPEC §5's rule and five more, each exercising other columns and operators.
    static let rules: [(name: String, json: String)] = [
        (
            "spec §5",
            #"{"or":[{"and":[{"field":"total_spend","op":"gt","value":10000},{"field":"visit_count","op":"lt","value":3}]},{"field":"days_since_last_order","op":"gt","value":90},{"not":{"field":"tags","op":"contains","value":"vip"}}]}"#
        ),
        (
            "city in + orders",
            #"{"and":[{"field":"city","op":"in","value":["Mumbai","Pune"]},{"field":"order_count","op":"gte","value":2}]}"#
        ),
        (
            "vip big spenders",
            #"{"and":[{"field":"tags","op":"contains","value":"vip"},{"field":"total_spend","op":"gte","value":50000}]}"#
        ),
        (
            "lapsing regulars",
            #"{"and":[{"field":"days_inactive","op":"gte","value":60},{"field":"visit_count","op":"between","value":[1,5]}]}"#
        ),
        (
            "aov or new non-subscribers",
            #"{"or":[{"field":"avg_order_value","op":"gt","value":2000},{"and":[{"field":"created_at","op":"gte","value":"2024-03-01T00:00:00Z"},{"field":"tags","op":"not_contains","value":"newsletter"}]}]}"#
        ),
        (
            "name prefix in Delhi, no orders lately",
            #"{"and":[{"field":"name","op":"starts_with","value":"a"},{"field":"city","op":"eq","value":"Delhi"},{"not":{"field":"days_since_last_order","op":"lt","value":30}}]}"#
        ),
    ]

    func validate() throws {
        guard (1_000...20_000_000).contains(customers) else {
            throw ValidationError("--customers must be 1000…20000000")
        }
        guard (1...1_000).contains(runs) else { throw ValidationError("--runs must be 1…1000") }
    }

    func run() async throws {
        let logger = LoggingSetup.logger("cohort.bench", level: "warning")
        let modelsPath = work + "/models-\(customers)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let store = try await prepare(modelsPath: modelsPath, logger: logger)

        // Day fields are computed at midnight after the latest activity, so the rules see the whole history.
        var latest: Int64 = 0
        try store.forEachCustomer { latest = max(latest, $0.lastSeenAt?.microseconds ?? 0) }
        let day: Int64 = 86_400_000_000
        let asOf = Timestamp(microseconds: (latest / day + 1) * day)
        let heapBefore = BenchMeasure.heapResidentMegabytes()
        let started = ContinuousClock.now
        let index = try CustomerIndex.build(from: store) { loaded in
            Output.error("index: \(loaded) customers loaded")
        }
        let rebuildSeconds = BenchMeasure.seconds(since: started)
        Output.line(
            "index: \(index.customerCount) customers rebuilt from LMDB in \(BenchMeasure.format(rebuildSeconds)) s; "
                + "columns \(index.byteCount / 1_048_576) MiB; process heap resident \(heapBefore) → "
                + "\(BenchMeasure.heapResidentMegabytes()) MB, LMDB pages resident "
                + "\(BenchMeasure.mappedResidentMegabytes()) MB (page cache)"
        )

        var ours: [(median: Double, count: Int)] = []
        Output.line("as_of \(asOf); \(runs) runs per rule; median ms per count:")
        for (name, json) in Self.rules {
            let rule = try RuleDecoder().decode(text: json)
            for _ in 0..<3 { _ = index.count(rule, asOf: asOf) }
            var samples: [Double] = []
            var count = 0
            for _ in 0..<runs {
                let begin = ContinuousClock.now
                count = index.count(rule, asOf: asOf)
                samples.append(BenchMeasure.seconds(since: begin) * 1000)
            }
            ours.append((BenchMeasure.median(samples), count))
            Output.line("  cohort  \(pad(name)) \(BenchMeasure.format(ours.last!.median)) ms  (count \(count))")
        }
        Output.line(
            "peak resident memory of this process: \(BenchMeasure.peakResidentMegabytes()) MB (heap and mapped pages)")
        if !noCompare { try compare(store: store, ours: ours, asOf: asOf) }
    }

    private func pad(_ name: String) -> String { name.padding(toLength: 40, withPad: " ", startingAt: 0) }

    /// Opens the read models, generating and folding the customers first when they are not there yet.
    private func prepare(modelsPath: String, logger: Logger) async throws -> ReadModelStore {
        if FileManager.default.fileExists(atPath: modelsPath + "/data.mdb") {
            let store = try ReadModelStore(path: modelsPath)
            if try store.customerEntryCount() == customers {
                Output.line("reusing \(customers) customers folded earlier in \(modelsPath)")
                return store
            }
        }
        try? FileManager.default.removeItem(atPath: work + "/log-\(customers)")
        try? FileManager.default.removeItem(atPath: modelsPath)
        let log = try EmbeddedLog(
            configuration: EmbeddedLog.Configuration(path: work + "/log-\(customers)"), logger: logger)
        for stream in EventStream.allCases { try await log.createTopic(stream.defaultTopic, partitions: 8) }
        var options = EventGenerator.Options()
        options.customers = customers
        options.orders = customers * ordersPerCustomer
        options.visits = customers * visitsPerCustomer
        let started = ContinuousClock.now
        let appended = try await Wiring.appendGenerated(options, to: log, topic: \.defaultTopic) { total in
            if total % 1_000_000 == 0 { Output.error("generate: \(total) records") }
        }
        Output.line("generated \(appended) records in \(BenchMeasure.format(BenchMeasure.seconds(since: started))) s")
        let store = try ReadModelStore(path: modelsPath, options: ReadModelStore.rebuildOptions)
        let topics = EventStream.allCases.filter { $0 != .deadletter }.map(\.defaultTopic)
        // Folded as `cohort replay` folds: spans in memory, within half of this machine's memory.
        var configuration = Projector.Configuration(topics: topics, deadLetterTopic: nil, currency: "INR")
        configuration.spanBytesMax = Int(ProcessInfo.processInfo.physicalMemory / 2)
        configuration.spanRecordsMin = 0
        let printer = ProgressPrinter(label: "project", intervalSeconds: 5)
        let progress = try await Projector(log: log, store: store, configuration: configuration, logger: logger)
            .run(until: .caughtUp) { printer.report($0) }
        printer.report(progress, final: true)
        try store.sync()
        await log.close()
        return store
    }

    /// Exports the customers, runs the SQL script and prints each engine's medians and ratios.
    private func compare(store: ReadModelStore, ours: [(median: Double, count: Int)], asOf: Timestamp) throws {
        let csvPath = work + "/customers-\(customers).csv"
        let started = ContinuousClock.now
        try exportCSV(store, to: csvPath)
        Output.line("exported CSV in \(BenchMeasure.format(BenchMeasure.seconds(since: started))) s: \(csvPath)")
        var queries: [String: [String]] = [:]
        for dialect in [SQLDialect.duckdb, .postgres] {
            queries[dialect.rawValue] = try Self.rules.map { _, json in
                try RuleDecoder().decode(text: json).sql(dialect, asOf: asOf)!
            }
        }
        let queriesPath = work + "/queries.json"
        try JSONSerialization.data(withJSONObject: queries).write(to: URL(fileURLWithPath: queriesPath))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", sqlScript, "--csv", csvPath, "--queries", queriesPath, "--runs", String(runs)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let result = try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]]
        else {
            Output.error("bench: \(sqlScript) failed with status \(process.terminationStatus)")
            throw ExitCode(1)
        }
        var mismatches = 0
        for engine in ["duckdb", "postgres"] {
            guard let queries = result[engine]?["queries"] as? [[String: Any]] else {
                Output.line("\(engine): not measured: \(result[engine]?["error"] ?? "no result")")
                continue
            }
            let version = result[engine]?["version"] as? String ?? "?"
            Output.line("\(engine) \(version) (same data, same rules as SQL):")
            for (position, query) in queries.enumerated() {
                let median = query["median_ms"] as? Double ?? .nan
                let count = query["count"] as? Int ?? -1
                if count != ours[position].count { mismatches += 1 }
                Output.line(
                    "  \(engine.padding(toLength: 8, withPad: " ", startingAt: 0)) \(pad(Self.rules[position].name)) "
                        + "\(BenchMeasure.format(median)) ms  (count \(count)\(count == ours[position].count ? "" : " ≠ ours")) "
                        + "→ cohort is \(BenchMeasure.format(median / ours[position].median))× faster")
            }
        }
        guard mismatches == 0 else {
            Output.error("bench: \(mismatches) counts differ between engines")
            throw ExitCode(1)
        }
    }

    /// The customers as the SQL engines load them: strings lower-cased, money in 1/10,000, times in µs.
    private func exportCSV(_ store: ReadModelStore, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ValidationError("cannot create \(path)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var buffer = Array(
            ("customer_id,name,email,phone,city,country,tags_text,total_spend,avg_order_value,order_count,"
                + "visit_count,created_at,first_order_at,last_order_at,last_visit_at,last_seen_at\n").utf8)
        func text(_ value: String?) -> String { value.map { MemberCSV.quoted($0.lowercased()) } ?? "" }
        func micros(_ value: Timestamp?) -> String { value.map { String($0.microseconds) } ?? "" }
        try store.forEachCustomer { customer in
            guard !customer.isErased else { return }
            let tags = customer.tags.map { $0.lowercased() }.joined(separator: "|")
            let fields = [
                MemberCSV.quoted(customer.customerID), text(customer.name), text(customer.email), text(customer.phone),
                text(customer.city), text(customer.country), tags.isEmpty ? "" : MemberCSV.quoted(tags),
                String(customer.totalSpend.units), customer.averageOrderValue.map { String($0.units) } ?? "",
                String(customer.orderCount), String(customer.visitCount), micros(customer.createdAt),
                micros(customer.firstOrderAt), micros(customer.lastOrderAt), micros(customer.lastVisitAt),
                micros(customer.lastSeenAt),
            ]
            buffer.append(contentsOf: fields.joined(separator: ",").utf8)
            buffer.append(0x0A)
            if buffer.count > 1 << 22 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
    }
}
