import EventLog
import Foundation
import Testing
import TestSupport

/// Killing a process mid-append on the embedded log loses only appends that were never acknowledged.
@Suite("embedded log crash safety")
struct CrashSafetyTests {
    struct Ack: Hashable {
        let partition: Int32
        let offset: Int64
        let value: String
    }

    /// Parses `topic partition offset value` acknowledgement lines printed by `cohort log append`.
    private func acks(_ lines: [String]) -> [Ack] {
        lines.compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.count == 4, let partition = Int32(parts[1]), let offset = Int64(parts[2]) else { return nil }
            return Ack(partition: partition, offset: offset, value: String(parts[3]))
        }
    }

    @Test("SIGKILL during concurrent appends keeps every acknowledged record, at its acknowledged offset")
    func killMidAppend() async throws {
        let directory = TemporaryDirectory("cohort-crash")
        var acknowledged: [Ack] = []
        var sent = 0
        for round in 0..<4 {
            let child = try ChildProcess.cohort(
                [
                    "log", "append", "--data", directory.path, "--topic", "crm.orders", "--key-is-line", "--batch",
                    "20",
                    "--concurrency", "8", "--set", "topics.partitions=4",
                ],
                stdin: true)
            // Far more input than can be appended before the kill, written from another thread.
            let lines = (0..<100_000).map { "round\(round)-line\($0)" }
            sent += lines.count
            let writer = Thread {
                for chunk in stride(from: 0, to: lines.count, by: 1000) {
                    guard child.write(lines[chunk..<min(chunk + 1000, lines.count)].joined(separator: "\n") + "\n")
                    else { return }
                }
            }
            writer.start()
            // Kill at a different depth each round, while appends are certainly in flight.
            let killAfter = 500 + round * 1500
            #expect(child.waitForLines(killAfter, timeout: 120), "round \(round): \(child.errorOutput)")
            child.send(SIGKILL)
            _ = child.waitForExit(timeout: 30)
            let roundAcks = acks(child.outputLines)
            #expect(roundAcks.count >= killAfter)
            #expect(roundAcks.count < lines.count, "the kill must land before everything was appended")
            acknowledged += roundAcks
        }

        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path + "/log"))
        var stored: [TopicPartition: [LogRecord]] = [:]
        let positions = try await log.allPartitions(of: ["crm.orders"])
        for partition in positions.keys.sorted() {
            let high = try await log.watermarks(partition).high
            let reader = try await log.makeReader(startingAt: [partition: 0])
            var records: [LogRecord] = []
            while records.count < high {
                let polled = try await reader.poll(maxRecords: 10_000, timeoutMs: 1000)
                try #require(!polled.isEmpty)
                records += polled
            }
            stored[partition] = records
            // Contiguous offsets from 0, no holes left by the kills.
            #expect(records.map(\.offset) == Array(0..<high))
        }
        var byPosition: [String: String] = [:]
        for (partition, records) in stored {
            for record in records {
                byPosition["\(partition.partition)@\(record.offset)"] = String(decoding: record.value, as: UTF8.self)
                // Every stored record is one that was sent, intact, under the key it was sent with.
                #expect(record.key == record.value)
            }
        }
        for ack in acknowledged {
            #expect(
                byPosition["\(ack.partition)@\(ack.offset)"] == ack.value, "acknowledged \(ack.value) must be durable")
        }
        let storedValues = Set(byPosition.values)
        #expect(storedValues.count == byPosition.count, "no record is stored twice")
        #expect(storedValues.isSuperset(of: Set(acknowledged.map(\.value))))
        #expect(byPosition.count < sent)
        print("crash test: acknowledged \(acknowledged.count), stored \(byPosition.count), sent \(sent)")
        await log.close()
    }
}
