import EventLog
import Foundation
import Kafka
import TestSupport
import Testing

/// One of the two implementations, set up fresh for one test with the topics the suite uses.
enum LogKind: String, CaseIterable, CustomTestStringConvertible {
    case embedded, kafka

    var testDescription: String { rawValue }
}

/// Keeps whatever backs a log (a temporary directory, a broker process) alive for the test's duration.
final class LogHarness: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    static let topics = ["crm.orders", "crm.customers"]
    static let partitions: Int32 = 4

    let log: any EventLog
    let kind: LogKind
    private let directory: TemporaryDirectory?
    let broker: DevBroker?

    init(_ kind: LogKind) async throws {
        self.kind = kind
        switch kind {
        case .embedded:
            let directory = TemporaryDirectory("cohort-log")
            let embedded = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
            for topic in Self.topics { try await embedded.createTopic(topic, partitions: Self.partitions) }
            self.directory = directory
            self.broker = nil
            self.log = embedded
        case .kafka:
            let broker = try DevBroker(partitions: Self.partitions)
            var configuration = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
            configuration.messageTimeoutMs = 15_000
            self.broker = broker
            self.directory = nil
            self.log = try KafkaLog(configuration: configuration)
        }
    }

    func close() async {
        await log.close()
    }

    /// Reads every record of `topics` from offset 0 up to the current high watermarks.
    func readAll(_ topics: [String] = LogHarness.topics) async throws -> [LogRecord] {
        try await Self.readAll(log, topics)
    }

    /// Reads every record of `topics` in `log` from offset 0 up to the current high watermarks.
    static func readAll(_ log: any EventLog, _ topics: [String] = LogHarness.topics) async throws -> [LogRecord] {
        let positions = try await log.allPartitions(of: topics)
        var remaining = 0
        for partition in positions.keys { remaining += Int(try await log.watermarks(partition).high) }
        let reader = try await log.makeReader(startingAt: positions)
        var records: [LogRecord] = []
        let deadline = Date().addingTimeInterval(30)
        while records.count < remaining && Date() < deadline {
            records += try await reader.poll(maxRecords: 1000, timeoutMs: 1000)
        }
        await reader.close()
        return records
    }

    /// Appends `records` to `topic`, reads them all back with `poll`, and opens another reader of the topic from
    /// offset 0: for comparing another way of reading with `poll`.
    func appendAndReadBack(_ records: [OutgoingRecord], topic: String) async throws
        -> (polled: [LogRecord], reader: any LogReader)
    {
        _ = try await log.append(records)
        let polled = try await readAll([topic])
        #expect(polled.count == records.count)
        return (polled, try await log.makeReader(startingAt: try await log.allPartitions(of: [topic])))
    }
}
