import API
import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import EventRecords
import Events
import Foundation
import Projections
import Segments

/// `cohort segments`: check, preview, explain, list and save segment rules against the local read models.
struct SegmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: "Segment rules: check, preview counts, explain, members, natural-language parsing, saved segments.",
        subcommands: [
            SegmentsCheckCommand.self, SegmentsPreviewCommand.self, SegmentsExplainCommand.self,
            SegmentsMembersCommand.self, SegmentsParseCommand.self, SegmentsSaveCommand.self,
            SegmentsDeleteCommand.self, SegmentsListCommand.self,
        ])
}

/// `--rule` and `--as-of`, shared by the commands that evaluate a rule.
struct RuleOptions: ParsableArguments {
    @Option(help: "The rule: JSON text (SPEC §5), or @FILE to read it from a file.")
    var rule: String?

    @Option(help: "The moment the derived day fields are computed at (RFC 3339); default now.")
    var asOf: String?

    func validate() throws {
        if let asOf, Timestamp(rfc3339: asOf) == nil {
            throw ValidationError("--as-of must be an RFC 3339 time such as 2024-06-01T00:00:00Z")
        }
    }

    var asOfTime: Timestamp { asOf.flatMap(Timestamp.init(rfc3339:)) ?? SegmentSupport.now() }

    /// The decoded rule; prints every problem and exits with status 2 when it is invalid.
    func decodedRule(_ configuration: CohortConfiguration) throws -> Rule {
        guard let rule else { throw ValidationError("--rule is required") }
        return try SegmentSupport.decode(rule, configuration)
    }
}

enum SegmentSupport {
    /// The current time, to the microsecond.
    static func now() -> Timestamp { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6)) }

    static func decode(_ argument: String, _ configuration: CohortConfiguration) throws -> Rule {
        var text = argument
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path), data.count <= configuration.bodyBytesMax else {
                throw ValidationError("cannot read a rule of at most \(configuration.bodyBytesMax) bytes from \(path)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            return try RuleDecoder(conditionsMax: configuration.ruleConditionsMax).decode(text: text)
        } catch {
            for problem in error.problems { Output.error("invalid rule: \(problem)") }
            throw ExitCode(2)
        }
    }

    /// The read models and an index built from them, with a note of how long the build took.
    static func openIndex(_ configuration: CohortConfiguration) throws -> (ReadModelStore, CustomerIndex) {
        let store = try ReadModelStore(path: configuration.readModelsPath)
        let started = ContinuousClock.now
        let index = try CustomerIndex.build(from: store)
        Output.error(
            "index: \(index.customerCount) customers, \(index.byteCount / 1_048_576) MiB, built in "
                + "\(milliseconds(since: started)) ms")
        return (store, index)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        String(format: "%.3f", Double((ContinuousClock.now - start) / .nanoseconds(1)) / 1e6)
    }

    static func print(_ value: JSONValue) { Output.line(value.prettyText) }
}

struct SegmentsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a rule; print its canonical form, fingerprint and English rendering (exit 2 if invalid).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var rule: RuleOptions

    func run() throws {
        let configuration = try options.load()
        let decoded = try rule.decodedRule(configuration)
        SegmentSupport.print(
            .object(
                JSONObject([
                    ("valid", .bool(true)), ("english", .string(decoded.english(currency: configuration.currency))),
                    ("fingerprint", .string(decoded.fingerprint)), ("canonical", decoded.canonical.json),
                ])))
    }
}

struct SegmentsPreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview", abstract: "Count the customers a rule matches, with a sample of their ids.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var rule: RuleOptions
    @Option(help: "Sample size (0–100).") var sample = 10

    func validate() throws {
        guard (0...100).contains(sample) else { throw ValidationError("--sample must be 0…100") }
    }

    func run() throws {
        let configuration = try options.load()
        let decoded = try rule.decodedRule(configuration)
        let (_, index) = try SegmentSupport.openIndex(configuration)
        SegmentSupport.print(SegmentViews.preview(decoded, index: index, asOf: rule.asOfTime, sampleSize: sample))
    }
}

struct SegmentsExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Show why one customer is in or out: every value and every condition.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var rule: RuleOptions
    @Option(help: "The customer id.") var customer: String

    func run() throws {
        let configuration = try options.load()
        let decoded = try rule.decodedRule(configuration)
        let store = try ReadModelStore(path: configuration.readModelsPath)
        guard let state = try store.customer(customer), !state.isErased else {
            Output.error("explain: no customer \"\(customer)\"")
            throw ExitCode(1)
        }
        SegmentSupport.print(RuleExplainer.explain(decoded, customer: state, asOf: rule.asOfTime).json)
    }
}

struct SegmentsMembersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "List the customers a rule or saved segment matches: a page by cursor, or all of them as CSV.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var rule: RuleOptions
    @Option(help: "A saved segment's id, instead of --rule.") var segment: String?
    @Option(help: "Cursor: the `next` of the previous page.") var after: String?
    @Option(help: "Page size (at most the configured api.page_size_max).") var limit = 100
    @Flag(help: "Print every member as CSV with profile and aggregate columns instead of a page.") var csv = false

    func run() throws {
        let configuration = try options.load()
        guard (1...configuration.pageSizeMax).contains(limit) else {
            throw ValidationError("--limit must be 1…\(configuration.pageSizeMax)")
        }
        let (store, index) = try SegmentSupport.openIndex(configuration)
        let decoded: Rule
        if let segment {
            guard let saved = try store.segment(segment) else {
                Output.error("members: no saved segment \"\(segment)\"")
                throw ExitCode(1)
            }
            decoded = try SegmentSupport.decode(saved.rulesJSON, configuration)
        } else {
            decoded = try rule.decodedRule(configuration)
        }
        if csv {
            let writer = CSVWriter()
            writer.row(MemberCSV.header)
            for id in index.allMembers(decoded, asOf: rule.asOfTime) {
                if let customer = try store.customer(id) { writer.row(MemberCSV.fields(customer)) }
            }
            writer.finish()
            return
        }
        SegmentSupport.print(
            SegmentViews.membersPage(decoded, index: index, asOf: rule.asOfTime, after: after, limit: limit))
    }
}

struct SegmentsParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Turn a sentence into a rule, offline; unknown words are listed and make the answer partial.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The sentence, e.g. \"spent over ₹10k in Mumbai or Pune but not tagged vip\".") var text: String
    @Option(help: "The moment \"this year\" and the like refer to (RFC 3339); default now.") var now: String?

    func run() async throws {
        let configuration = try options.load()
        guard text.utf8.count <= 2_000 else { throw ValidationError("the sentence is longer than 2,000 bytes") }
        let moment = now.flatMap(Timestamp.init(rfc3339:)) ?? SegmentSupport.now()
        let parsed: ParsedRule
        do {
            parsed = try await PhraseParser(currency: configuration.currency).parse(text, now: moment)
                .validated(by: RuleDecoder(conditionsMax: configuration.ruleConditionsMax))
        } catch let error as RuleError {
            for problem in error.problems { Output.error("parse: rule rejected: \(problem)") }
            throw ExitCode(2)
        }
        SegmentSupport.print(
            .object(
                JSONObject([
                    ("rules", parsed.rule?.json ?? .null), ("english", .string(parsed.english)),
                    ("partial", .bool(parsed.isPartial)),
                    ("unknown_words", .array(parsed.unknownWords.map { .string($0) })),
                ])))
        if parsed.rule == nil { throw ExitCode(1) }
    }
}

struct SegmentsSaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", abstract: "Save a segment: appends crm.segment.saved to the log (the projector folds it).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var rule: RuleOptions
    @Option(help: "Segment id.") var id: String
    @Option(help: "Segment name.") var name: String
    @Option(help: "Description.") var description: String?

    func run() async throws {
        let configuration = try options.load()
        let decoded = try rule.decodedRule(configuration)
        var data: [(String, JSONValue)] = [("segment_id", .string(id)), ("name", .string(name))]
        if let description { data.append(("description", .string(description))) }
        data.append(("rules", decoded.json))
        try await SegmentSupport.append(.segmentSaved, data: JSONObject(data), configuration)
    }
}

struct SegmentsDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a saved segment: appends crm.segment.deleted to the log.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Segment id.") var id: String

    func run() async throws {
        let configuration = try options.load()
        try await SegmentSupport.append(.segmentDeleted, data: JSONObject([("segment_id", .string(id))]), configuration)
    }
}

extension SegmentSupport {
    /// Appends one event durably and prints its id.
    static func append(_ type: EventType, data: JSONObject, _ configuration: CohortConfiguration) async throws {
        let event: CloudEvent
        switch CloudEvent.make(
            id: UUID().uuidString.lowercased(), source: "cohort-cli", type: type, time: SegmentSupport.now(),
            data: data)
        {
        case .success(let made): event = made
        case .failure(let error):
            Output.error("invalid event: \(error)")
            throw ExitCode(2)
        }
        let logger = LoggingSetup.logger("cohort.segments", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        _ = try await log.append([event.outgoingRecord(topic: configuration.topic(type.stream.defaultTopic))])
        await log.close()
        Output.line(event.id)
    }
}

struct SegmentsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List saved segments with their current size and English rendering.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The moment sizes are computed at (RFC 3339); default now.") var asOf: String?

    func run() throws {
        let configuration = try options.load()
        let (store, index) = try SegmentSupport.openIndex(configuration)
        let moment = asOf.flatMap(Timestamp.init(rfc3339:)) ?? SegmentSupport.now()
        let decoder = RuleDecoder(conditionsMax: configuration.ruleConditionsMax)
        let items = try store.savedSegments().map {
            SegmentViews.saved(
                $0, index: index, decoder: decoder, asOf: moment, currency: configuration.currency)
        }
        SegmentSupport.print(
            .object(JSONObject([("as_of", .string(moment.description)), ("segments", .array(items))])))
    }
}

/// Buffered CSV on stdout.
final class CSVWriter {
    private var buffer: [UInt8] = []

    func row(_ fields: [String]) {
        MemberCSV.appendRow(fields, to: &buffer)
        if buffer.count > 1 << 20 { flush() }
    }

    func finish() { flush() }

    private func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
