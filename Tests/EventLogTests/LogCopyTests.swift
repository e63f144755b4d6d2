import Foundation
import Testing
import TestSupport

@testable import EventLog

/// `LogCopy` (`cohort migrate`'s copy) from an embedded log into each implementation: records keep partition,
/// offset, key, value, headers and timestamp; a copy resumes where the target ends; targets that are not a copy
/// are refused.
@Suite("log copy")
struct LogCopyTests {
    /// An embedded source log with the harness's topics and `count` records spread by key, with headers and
    /// timestamps of their own.
    static func source(_ count: Int) async throws -> (EmbeddedLog, TemporaryDirectory) {
        let directory = TemporaryDirectory("cohort-copy-source")
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        for topic in LogHarness.topics { try await log.createTopic(topic, partitions: LogHarness.partitions) }
        let records = (0..<count).map { index in
            OutgoingRecord(
                topic: LogHarness.topics[index % 2], key: Array("customer-\(index % 37)".utf8),
                value: Array("{\"n\":\(index)}".utf8), headers: [Header("h", "v\(index % 3)")],
                timestampMs: 1_700_000_000_000 + Int64(index) * 1_000)
        }
        _ = try await log.append(records)
        return (log, directory)
    }

    static func topics(_ log: EmbeddedLog) throws -> [(name: String, partitions: Int32)] { try log.listTopics() }

    /// Every record of the harness's topics, in partition and offset order.
    static func all(_ log: any EventLog) async throws -> [LogRecord] {
        try await LogHarness.readAll(log).sorted {
            ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset)
        }
    }

    @Test("a copy holds every record at its offset, with key, value, headers and time", arguments: LogKind.allCases)
    func copiesRecordForRecord(kind: LogKind) async throws {
        let (source, directory) = try await Self.source(500)
        let target = try await LogHarness(kind)
        let spans = try await LogCopy.plan(topics: try Self.topics(source), from: source, to: target.log)
        #expect(spans.count == LogHarness.topics.count * Int(LogHarness.partitions))
        var reported: [Int64] = []
        let copied = try await LogCopy.copy(spans, from: source, to: target.log, batchRecords: 64) {
            reported.append($0)
        }
        #expect(copied == 500)
        #expect(reported.last == 500 && reported.count > 1, "progress after each append")
        let mine = try await Self.all(source)
        let theirs = try await Self.all(target.log)
        #expect(mine.count == 500)
        #expect(mine == theirs)
        #expect(try await LogCopy.verifyCounts(spans, target: target.log).isEmpty)
        // Planned again, nothing is left to copy.
        let again = try await LogCopy.plan(topics: try Self.topics(source), from: source, to: target.log)
        #expect(again.allSatisfy { $0.remaining == 0 })
        #expect(try await LogCopy.copy(again, from: source, to: target.log) == 0)
        await target.close()
        await source.close()
        withExtendedLifetime(directory) {}
    }

    @Test(
        "a copy stopped part way resumes where the target ends: nothing twice, nothing skipped",
        arguments: LogKind.allCases)
    func resumes(kind: LogKind) async throws {
        let (source, directory) = try await Self.source(400)
        let target = try await LogHarness(kind)
        // What a copy killed part way leaves: a prefix of some partitions, nothing of others.
        let mine = try await Self.all(source)
        let prefix = mine.filter { $0.partition < 2 && $0.offset < 7 }.map {
            OutgoingRecord(
                topic: $0.topic, key: $0.key, value: $0.value, headers: $0.headers, timestampMs: $0.timestampMs,
                partition: $0.partition)
        }
        _ = try await target.log.append(prefix)
        let spans = try await LogCopy.plan(topics: try Self.topics(source), from: source, to: target.log)
        for span in spans {
            #expect(span.next == (span.partition.partition < 2 ? min(7, span.end) : 0), "\(span.partition)")
        }
        let copied = try await LogCopy.copy(spans, from: source, to: target.log)
        #expect(copied == Int64(400 - prefix.count))
        #expect(try await Self.all(target.log) == mine)
        await target.close()
        await source.close()
        withExtendedLifetime(directory) {}
    }

    @Test("a target that is not a copy is refused: other records, more records, other partition counts")
    func refusesForeignTargets() async throws {
        let (source, directory) = try await Self.source(100)
        let partition = TopicPartition(topic: LogHarness.topics[0], partition: 0)
        let sourceCount = try await source.watermarks(partition).high

        let foreign = try await LogHarness(.embedded)
        _ = try await foreign.log.append([
            OutgoingRecord(topic: partition.topic, key: nil, value: Array("other".utf8), partition: 0)
        ])
        await #expect {
            try await LogCopy.plan(topics: try Self.topics(source), from: source, to: foreign.log)
        } throws: { error in
            guard case LogCopy.Failure.targetDiverges(partition, 0, _) = error else { return false }
            return "\(error)".contains("not a copy of this log")
        }
        await foreign.close()

        let longer = try await LogHarness(.embedded)
        _ = try await longer.log.append(
            (0...sourceCount).map { _ in OutgoingRecord(topic: partition.topic, key: nil, value: [1], partition: 0) })
        await #expect {
            try await LogCopy.plan(topics: try Self.topics(source), from: source, to: longer.log)
        } throws: { error in
            guard case LogCopy.Failure.targetAhead(partition, sourceCount + 1, sourceCount) = error else {
                return false
            }
            return true
        }
        await longer.close()

        let otherDirectory = TemporaryDirectory("cohort-copy-target")
        let other = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: otherDirectory.path))
        try await other.createTopic(LogHarness.topics[0], partitions: LogHarness.partitions + 1)
        await #expect {
            try await LogCopy.plan(
                topics: try Self.topics(source).filter { $0.name == LogHarness.topics[0] }, from: source, to: other)
        } throws: { error in
            guard case LogCopy.Failure.partitionCount(LogHarness.topics[0], LogHarness.partitions, _) = error else {
                return false
            }
            return "\(error)".contains("create it with \(LogHarness.partitions) partitions")
        }
        // Missing topics: refused when they hold records, left out when empty.
        try await source.createTopic("empty", partitions: 3)
        await #expect {
            try await LogCopy.plan(
                topics: try Self.topics(source).filter { $0.name == LogHarness.topics[1] }, from: source, to: other)
        } throws: { error in
            guard case LogCopy.Failure.missingTopic(LogHarness.topics[1], LogHarness.partitions) = error else {
                return false
            }
            return true
        }
        let planned = try await LogCopy.plan(
            topics: try Self.topics(source).filter { $0.name == "empty" }, from: source, to: other)
        #expect(planned.isEmpty)
        await other.close()
        await source.close()
        withExtendedLifetime((directory, otherDirectory)) {}
    }

    @Test("a record another producer appends to the target during the copy stops it: misplaced")
    func anotherProducerStopsTheCopy() async throws {
        let (source, directory) = try await Self.source(200)
        let target = try await LogHarness(.embedded)
        let spans = try await LogCopy.plan(topics: try Self.topics(source), from: source, to: target.log)
        _ = try await target.log.append([
            OutgoingRecord(topic: LogHarness.topics[0], key: nil, value: Array("intruder".utf8), partition: 0)
        ])
        await #expect {
            try await LogCopy.copy(spans, from: source, to: target.log)
        } throws: { error in
            guard case LogCopy.Failure.misplaced(let partition, 0, 1) = error else { return false }
            return partition == TopicPartition(topic: LogHarness.topics[0], partition: 0)
        }
        await target.close()
        await source.close()
        withExtendedLifetime(directory) {}
    }
}
