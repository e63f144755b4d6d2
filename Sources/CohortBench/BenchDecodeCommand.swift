import ArgumentParser
import CommandSupport
import EventLog
import Events
import Foundation
import Projections

/// `cohort bench decode`: how fast one thread reads records from the embedded log and decodes them into what folds
/// take, nothing folded.
struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Measure reading and decoding records on one thread (the projector's decoders, per core).",
        discussion: """
            Generates --events records of synthetic traffic into an embedded log once, untimed, then reads them \
            all from offset 0 --runs times, decoding each on this one thread into a batch as a projector's decoders \
            do (valid events and poison alike). Decoding is half of a rebuild's CPU: this isolates it, on a short \
            run, to compare builds in small steps.
            """)

    @Option(help: "Records to decode (approximate: cancels and refunds come on top).")
    var events = 1_000_000

    @Option(help: "Runs; the median is reported.")
    var runs = 5

    @Option(help: "Partitions per topic.")
    var partitions: Int32 = 8

    func validate() throws {
        guard events >= 1_000, events <= 100_000_000 else {
            throw ValidationError("--events must be between 1000 and 100000000")
        }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
        guard (1...1024).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 1024") }
    }

    func run() async throws {
        let logger = LoggingSetup.logger("cohort.bench", level: "warning")
        let directory = BenchMeasure.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, total) = try await BenchMeasure.generatedEmbeddedLog(
            at: directory, partitions: partitions, events: events, logger: logger)
        let topics = EventStream.allCases.filter { $0 != .deadletter }.map(\.defaultTopic)
        let decoder = RecordDecoder(currency: "INR")
        var rates: [Double] = []
        for run in 1...runs {
            let reader = try await log.makeReader(startingAt: log.allPartitions(of: topics))
            var (decoded, poison) = (0, 0)
            let started = ContinuousClock.now
            while decoded < total {
                let batch = try await reader.pollLent(maxRecords: 50_000, timeoutMs: 100) { decoder.decode($0) }
                guard !batch.isEmpty else { break }
                decoded += batch.count
                for record in batch { if case .poison = record.content { poison += 1 } }
            }
            let seconds = BenchMeasure.seconds(since: started)
            await reader.close()
            guard decoded == total, poison == 0 else {
                throw ValidationError("decoded \(decoded) of \(total) records, \(poison) of them poison")
            }
            rates.append(Double(total) / seconds)
            Output.line(
                "  decode run \(run): \(total) records in \(BenchMeasure.format(seconds)) s = \(Int(rates.last!)) "
                    + "records/s")
        }
        await log.close()
        Output.line("decode (one thread): \(total) records/run, median \(Int(BenchMeasure.median(rates))) records/s")
        Output.line("allocator: \(Allocator.description)")
    }
}
