import Foundation
import Testing
import TestSupport

@testable import EventLog

/// Behaviour specific to the embedded log (the shared contract is in EventLogConformanceTests).
@Suite("embedded log")
struct EmbeddedLogTests {
    @Test("concurrent appenders share fsync'd commits (group commit)")
    func groupCommit() async throws {
        let directory = TemporaryDirectory()
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        try await log.createTopic("t", partitions: 2)
        let before = log.statistics
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<32 {
                group.addTask {
                    for batch in 0..<10 {
                        _ = try await log.append([
                            OutgoingRecord(topic: "t", key: Array("\(appender)-\(batch)".utf8), value: [1])
                        ])
                    }
                }
            }
            try await group.waitForAll()
        }
        let after = log.statistics
        #expect(after.appends - before.appends == 320)
        #expect(after.commits - before.commits < 320, "some appends must have shared a commit")
        await log.close()
    }

    @Test("a split poll's range lends its records in order, and fails whole when one of them is not stored")
    func splitRangesAreWholeOrFail() async throws {
        let directory = TemporaryDirectory()
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        try await log.createTopic("t", partitions: 1)
        _ = try await log.append(
            (0..<5).map { OutgoingRecord(topic: "t", key: nil, value: [UInt8($0)], partition: 0) })
        let partition = TopicPartition(topic: "t", partition: 0)
        let id = EmbeddedLog.partitionID(topic: 0, partition: 0)
        var values: [[UInt8]] = []
        try log.readRuns([(id, SplitPoll.Run(partition: partition, offsets: 1..<4))]) { records in
            values = records.map { Array($0.value) }
            #expect(records.map(\.position.offset) == [1, 2, 3])
        }
        #expect(values == [[1], [2], [3]])
        var lent = 0
        #expect {
            try log.readRuns([(id, SplitPoll.Run(partition: partition, offsets: 2..<8))]) { lent += $0.count }
        } throws: { error in
            "\(error)".contains("record missing at t/0@5")
        }
        #expect(lent == 0, "nothing of a range that cannot be read whole is lent")
        await log.close()
    }

    @Test("records and offsets survive closing and reopening; appends continue the offsets")
    func reopen() async throws {
        let directory = TemporaryDirectory()
        do {
            let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
            try await log.createTopic("t", partitions: 3)
            _ = try await log.append(
                (0..<30).map { OutgoingRecord(topic: "t", key: nil, value: Array("a\($0)".utf8), partition: 1) })
            await log.close()
        }
        let reopened = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        #expect(try await reopened.partitionCount(topic: "t") == 3)
        #expect(try await reopened.watermarks(TopicPartition(topic: "t", partition: 1)).high == 30)
        let next = try await reopened.append([OutgoingRecord(topic: "t", key: nil, value: [9], partition: 1)])
        #expect(next.first?.offset == 30)
        await reopened.close()
    }

    @Test("a batch with an invalid record is refused whole and other appenders are unaffected")
    func allOrNothing() async throws {
        let directory = TemporaryDirectory()
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        try await log.createTopic("t", partitions: 2)
        async let good = log.append([OutgoingRecord(topic: "t", key: nil, value: [1], partition: 0)])
        await #expect(throws: EventLogError.self) {
            _ = try await log.append([
                OutgoingRecord(topic: "t", key: nil, value: [2], partition: 0),
                OutgoingRecord(topic: "t", key: nil, value: [3], partition: 7),
            ])
        }
        #expect(try await good.count == 1)
        #expect(try await log.watermarks(TopicPartition(topic: "t", partition: 0)).high == 1)
        await log.close()
    }

    @Test("limits: oversized records and batches are refused with a clear error")
    func limits() async throws {
        let directory = TemporaryDirectory()
        var configuration = EmbeddedLog.Configuration(path: directory.path)
        configuration.recordBytesMax = 100
        configuration.batchRecordsMax = 3
        let log = try EmbeddedLog(configuration: configuration)
        await #expect(throws: EventLogError.self) {
            _ = try await log.append([OutgoingRecord(topic: "t", key: nil, value: [UInt8](repeating: 0, count: 101))])
        }
        await #expect(throws: EventLogError.self) {
            _ = try await log.append((0..<4).map { _ in OutgoingRecord(topic: "t", key: nil, value: [0]) })
        }
        await log.close()
        await #expect(throws: EventLogError.self) {
            _ = try await log.append([OutgoingRecord(topic: "t", key: nil, value: [0])])
        }
    }

    @Test("a log whose map must grow keeps appending")
    func growsWhileAppending() async throws {
        let directory = TemporaryDirectory()
        var configuration = EmbeddedLog.Configuration(path: directory.path)
        configuration.environment.mapSizeBytes = 512 * 1024
        let log = try EmbeddedLog(configuration: configuration)
        for batch in 0..<20 {
            _ = try await log.append(
                (0..<100).map {
                    OutgoingRecord(
                        topic: "t", key: Array("k\(batch)-\($0)".utf8), value: [UInt8](repeating: 1, count: 400))
                })
        }
        var total: Int64 = 0
        for partition in 0..<(try await log.partitionCount(topic: "t")) {
            total += try await log.watermarks(TopicPartition(topic: "t", partition: partition)).high
        }
        #expect(total == 2000)
        await log.close()
    }
}
