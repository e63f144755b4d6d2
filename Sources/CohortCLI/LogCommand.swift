import API
import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import EventRecords
import Events
import Foundation
import Projections

/// `cohort log`: look into and write to the configured log (embedded or Kafka), like kcat for Cohort.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Inspect, append to and read the event log.",
        subcommands: [LogInfoCommand.self, LogAppendCommand.self, LogReadCommand.self])
}

/// `cohort log info`: topics, partitions and watermarks.
struct LogInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print every topic's partitions and offsets.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.log", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        for topic in NodeWiring.topics(configuration) {
            let count = try await log.partitionCount(topic: topic)
            var total: Int64 = 0
            var parts: [String] = []
            for partition in 0..<count {
                let marks = try await log.watermarks(TopicPartition(topic: topic, partition: partition))
                total += marks.high - marks.low
                parts.append("\(partition):\(marks.low)-\(marks.high)")
            }
            Output.line("\(topic) partitions=\(count) records=\(total) [\(parts.joined(separator: " "))]")
        }
        await log.close()
    }
}

/// `cohort log append`: appends stdin lines as records and prints where each landed once it is durable.
struct LogAppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append each stdin line as one record; print 'topic partition offset line' once durable.",
        discussion: """
            With --events, each line must be a valid structured CloudEvent: it goes to its type's topic, keyed \
            by its entity id. Otherwise lines go to --topic, keyed by the line itself with --key-is-line.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Topic for raw lines.")
    var topic: String?

    @Flag(help: "Lines are CloudEvents: validate them and route each by type and key.")
    var events = false

    @Flag(help: "Use each raw line as its own key.")
    var keyIsLine = false

    @Option(help: "Lines per append call.")
    var batch = 100

    @Option(
        help: """
            Concurrent appenders; their batches share commits. Above 1, input order is kept within a batch only, \
            so keep 1 when later lines must follow earlier ones (events of one customer).
            """)
    var concurrency = 1

    @Option(help: "Longest line accepted, in bytes.")
    var lineBytesMax = 1 << 20

    func validate() throws {
        guard events != (topic != nil) else { throw ValidationError("give either --events or --topic") }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 10000") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256") }
    }

    func run() async throws {
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.log", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        let source = LineSource(lineBytesMax: lineBytesMax)
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask { [self] in
                    var failures = 0
                    while true {
                        let lines = await source.next(count: batch)
                        if lines.isEmpty { return failures }
                        var records: [OutgoingRecord] = []
                        for line in lines {
                            switch record(for: line, configuration: configuration) {
                            case .success(let record): records.append(record)
                            case .failure(let message):
                                failures += 1
                                Output.error("rejected: \(message)")
                            }
                        }
                        let positions = try await log.append(records)
                        for (record, position) in zip(records, positions) {
                            Output.line(
                                "\(position.topic) \(position.partition) \(position.offset) "
                                    + String(decoding: record.value, as: UTF8.self)
                            )
                        }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        await log.close()
        if failures > 0 { throw ExitCode(1) }
    }

    private func record(for line: String, configuration: CohortConfiguration) -> Result<OutgoingRecord, LineRejection> {
        guard line.utf8.count <= lineBytesMax else {
            return .failure(LineRejection("line longer than \(lineBytesMax) bytes"))
        }
        guard events else {
            let value = Array(line.utf8)
            return .success(OutgoingRecord(topic: topic ?? "", key: keyIsLine ? value : nil, value: value))
        }
        switch CloudEvent.decode(structured: Array(line.utf8)) {
        case .success(let event):
            return .success(event.outgoingRecord(topic: configuration.topic(event.type.stream.defaultTopic)))
        case .failure(let error):
            return .failure(LineRejection(error.description))
        }
    }
}

struct LineRejection: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Hands out stdin lines in batches to concurrent appenders; reads on a Dispatch thread, not the task pool.
final class LineSource: @unchecked Sendable {
    // @unchecked Sendable: reading is serialised by `lock`.
    private let lock = NSLock()
    private let lineBytesMax: Int
    private var finished = false

    init(lineBytesMax: Int) { self.lineBytesMax = lineBytesMax }

    func next(count: Int) async -> [String] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.readBlocking(count: count))
            }
        }
    }

    private func readBlocking(count: Int) -> [String] {
        lock.withLock {
            var lines: [String] = []
            while !finished, lines.count < count {
                guard let line = readLine(strippingNewline: true) else {
                    finished = true
                    break
                }
                if !line.isEmpty { lines.append(line) }
            }
            return lines
        }
    }
}

/// `cohort log read`: prints records as JSON lines.
struct LogReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print records of a topic as JSON lines (value as text when UTF-8, else base64)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Topic to read.")
    var topic: String

    @Option(help: "Only this partition (default: all).")
    var partition: Int32?

    @Option(help: "First offset of each partition.")
    var from: Int64 = 0

    @Flag(help: "Keep waiting for new records instead of stopping at the end.")
    var follow = false

    @Option(help: "Stop after this many records.")
    var max: Int = .max

    func run() async throws {
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.log", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        var positions = try await log.allPartitions(of: [topic], from: from)
        if let partition { positions = positions.filter { $0.key.partition == partition } }
        var ends: [TopicPartition: Int64] = [:]
        for key in positions.keys { ends[key] = try await log.watermarks(key).high }
        let reader = try await log.makeReader(startingAt: positions)
        var printed = 0
        func caughtUp() -> Bool { !follow && ends.allSatisfy { positions[$0.key, default: 0] >= $0.value } }
        while printed < max, !caughtUp() {
            for record in try await reader.poll(maxRecords: Swift.min(1000, max - printed), timeoutMs: 500) {
                positions[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
                Output.line(Self.render(record))
                printed += 1
            }
        }
        await reader.close()
        await log.close()
    }

    static func render(_ record: LogRecord) -> String {
        func bytes(_ value: [UInt8]) -> JSONValue {
            if let text = String(validating: value, as: UTF8.self) { return .string(text) }
            return .object(JSONObject([("base64", .string(Data(value).base64EncodedString()))]))
        }
        var object = JSONObject([
            ("topic", .string(record.topic)),
            ("partition", .number(JSONNumber(Int64(record.partition)))),
            ("offset", .number(JSONNumber(record.offset))),
            ("timestamp_ms", .number(JSONNumber(record.timestampMs))),
        ])
        object["key"] = record.key.map(bytes) ?? .null
        object["headers"] = .object(JSONObject(record.headers.map { ($0.name, bytes($0.value)) }))
        object["value"] = bytes(record.value)
        return JSONValue.object(object).jsonText
    }
}
