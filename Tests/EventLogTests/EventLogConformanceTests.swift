import EventLog
import Foundation
import Testing

/// The contract of `EventLog`, run unchanged against the embedded log and against Kafka (`cohort broker`).
@Suite("EventLog conformance")
struct EventLogConformanceTests {
    private func record(_ topic: String, key: String?, value: String, headers: [Header] = [], timestampMs: Int64? = nil)
        -> OutgoingRecord
    {
        OutgoingRecord(
            topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers,
            timestampMs: timestampMs)
    }

    @Test("appended records come back in order with key, value, headers and timestamp", arguments: LogKind.allCases)
    func appendThenReadPreservesEverything(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let sent = (0..<200).map { index in
            record(
                "crm.orders", key: "customer-\(index % 17)", value: "{\"n\":\(index)}",
                headers: [Header("x-index", String(index)), Header("ce_type", "crm.order.placed")],
                timestampMs: 1_700_000_000_000 + Int64(index))
        }
        let positions = try await harness.log.append(sent)
        #expect(positions.count == sent.count)
        let records = try await harness.readAll(["crm.orders"])
        #expect(records.count == sent.count)
        let byPosition = Dictionary(uniqueKeysWithValues: records.map { ($0.position, $0) })
        for (outgoing, position) in zip(sent, positions) {
            let stored = try #require(byPosition[position])
            #expect(stored.key == outgoing.key)
            #expect(stored.value == outgoing.value)
            #expect(stored.headers == outgoing.headers)
            #expect(stored.timestampMs == outgoing.timestampMs)
        }
        await harness.close()
    }

    @Test("records lent by pollLent are the records poll returns, byte for byte", arguments: LogKind.allCases)
    func lentRecordsMatchPolledOnes(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let sent = (0..<300).map { (index: Int) -> OutgoingRecord in
            let key: String? = index % 5 == 0 ? nil : "customer-\(index % 23)"
            var headers: [Header] = []
            if index % 3 != 0 {
                headers = [Header("content-type", "application/cloudevents+json"), Header("x-index", String(index))]
            }
            return record(
                "crm.orders", key: key, value: "{\"n\":\(index)}", headers: headers,
                timestampMs: 1_700_000_000_000 + Int64(index))
        }
        let (polled, reader) = try await harness.appendAndReadBack(sent, topic: "crm.orders")
        var lent: [LogRecord] = []
        var headerChecks = 0
        let deadline = Date().addingTimeInterval(30)
        while lent.count < sent.count && Date() < deadline {
            lent += try await reader.pollLent(maxRecords: 64, timeoutMs: 1000) { records in
                records.map { record in
                    // What the projector asks of a lent record without copying it.
                    let copy = record.copy()
                    #expect(record.hasHeader(named: "x-index") == copy.headers.contains { $0.name == "x-index" })
                    #expect(!record.hasHeader(named: "x-inde"))
                    #expect(Array(record.value) == copy.value)
                    headerChecks += 1
                    return copy
                }
            }
        }
        await reader.close()
        #expect(headerChecks == sent.count)
        let byPosition = Dictionary(uniqueKeysWithValues: polled.map { ($0.position, $0) })
        #expect(lent.count == polled.count)
        for record in lent {
            #expect(byPosition[record.position] == record, "\(record.position)")
        }
        await harness.close()
    }

    @Test(
        "a split poll lends, range by range from several threads at once, the records poll returns",
        arguments: LogKind.allCases)
    func splitPollsLendPolledRecords(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let sent = (0..<500).map { index in
            record(
                "crm.orders", key: "customer-\(index % 29)", value: "{\"n\":\(index)}",
                headers: [Header("x-index", String(index))], timestampMs: 1_700_000_000_000 + Int64(index))
        }
        let (polled, reader) = try await harness.appendAndReadBack(sent, topic: "crm.orders")
        var split: [LogRecord] = []
        let deadline = Date().addingTimeInterval(30)
        while split.count < sent.count && Date() < deadline {
            split += try await reader.pollSplit(maxRecords: 97, timeoutMs: 1000) { poll in
                // Ranges of 10 (the last shorter), each read on whichever thread takes it.
                let ranges = stride(from: 0, to: poll.count, by: 10).map { $0..<min(poll.count, $0 + 10) }
                let parts = Parts(count: ranges.count)
                DispatchQueue.concurrentPerform(iterations: ranges.count) { part in
                    do {
                        try poll.lend(ranges[part]) { records in parts.set(part, records.map { $0.copy() }) }
                    } catch {
                        parts.fail(error)
                    }
                }
                #expect(parts.errors.isEmpty, "\(parts.errors)")
                let records = parts.records.flatMap { $0 }
                #expect(records.count == poll.count)
                // The runs name the records' partitions and offsets, in poll order.
                var index = 0
                for run in poll.runs {
                    let positions = records.dropFirst(index).prefix(run.offsets.count).map(\.position)
                    #expect(
                        positions
                            == run.offsets.map {
                                RecordPosition(topic: run.partition.topic, partition: run.partition.partition, offset: $0)
                            })
                    index += run.offsets.count
                }
                #expect(index == poll.count)
                return records
            }
        }
        await reader.close()
        #expect(split.count == polled.count)
        let byPosition = Dictionary(uniqueKeysWithValues: polled.map { ($0.position, $0) })
        for record in split {
            #expect(byPosition[record.position] == record, "\(record.position)")
        }
        // Each partition's records come in offset order, once each.
        for (partition, records) in Dictionary(grouping: split, by: \.partition) {
            #expect(records.map(\.offset) == Array(0..<Int64(records.count)), "partition \(partition)")
        }
        await harness.close()
    }

    /// What the threads of a split poll's test read, each into its own place.
    private final class Parts: @unchecked Sendable {
        // @unchecked Sendable: every field is read and written under `lock`.
        private let lock = NSLock()
        private var stored: [[LogRecord]]
        private var failures: [any Error] = []

        init(count: Int) { stored = Array(repeating: [], count: count) }

        func set(_ part: Int, _ records: [LogRecord]) { lock.withLock { stored[part] = records } }
        func fail(_ error: any Error) { lock.withLock { failures.append(error) } }
        var records: [[LogRecord]] { lock.withLock { stored } }
        var errors: [any Error] { lock.withLock { failures } }
    }

    @Test("offsets are contiguous from 0 in every partition and watermarks match", arguments: LogKind.allCases)
    func offsetsAreContiguous(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        var positions: [RecordPosition] = []
        for batch in 0..<5 {
            positions += try await harness.log.append(
                (0..<40).map { record("crm.orders", key: "k\(batch)-\($0)", value: "v") })
        }
        let grouped = Dictionary(grouping: positions, by: { $0.partition })
        for partition in 0..<LogHarness.partitions {
            let offsets = (grouped[partition] ?? []).map(\.offset).sorted()
            #expect(offsets == Array(0..<Int64(offsets.count)))
            let marks = try await harness.log.watermarks(TopicPartition(topic: "crm.orders", partition: partition))
            #expect(marks.low == 0)
            #expect(marks.high == Int64(offsets.count))
        }
        await harness.close()
    }

    @Test("keys map to partitions with Kafka's murmur2, as the Java client does", arguments: LogKind.allCases)
    func keysUseMurmur2(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let keys = (0..<300).map { "customer-\($0)" } + ["", "a", "ab", "abc", "ünïcødé", "21"]
        let positions = try await harness.log.append(keys.map { record("crm.customers", key: $0, value: "x") })
        for (key, position) in zip(keys, positions) {
            #expect(
                position.partition
                    == Partitioner.partition(forKey: Array(key.utf8), partitionCount: LogHarness.partitions),
                "key \(key)")
        }
        await harness.close()
    }

    @Test("an explicit partition wins over the key", arguments: LogKind.allCases)
    func explicitPartition(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        var outgoing = record("crm.orders", key: "customer-1", value: "x")
        outgoing.partition = 3
        let position = try #require(try await harness.log.append([outgoing]).first)
        #expect(position.partition == 3)
        await harness.close()
    }

    @Test("records without a key are stored and readable", arguments: LogKind.allCases)
    func nullKeys(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let positions = try await harness.log.append((0..<20).map { record("crm.orders", key: nil, value: "n\($0)") })
        let records = try await harness.readAll(["crm.orders"])
        #expect(Set(records.map(\.position)) == Set(positions))
        #expect(records.allSatisfy { $0.key == nil })
        await harness.close()
    }

    @Test("a reader starts at the offset it is given", arguments: LogKind.allCases)
    func readerStartsAtOffset(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        var first = record("crm.orders", key: nil, value: "")
        first.partition = 1
        let batch = (0..<10).map { index -> OutgoingRecord in
            var copy = first
            copy.value = Array("m\(index)".utf8)
            return copy
        }
        _ = try await harness.log.append(batch)
        let reader = try await harness.log.makeReader(startingAt: [TopicPartition(topic: "crm.orders", partition: 1): 6]
        )
        var records: [LogRecord] = []
        while records.count < 4 {
            let polled = try await reader.poll(maxRecords: 100, timeoutMs: 5000)
            try #require(!polled.isEmpty)
            records += polled
        }
        #expect(records.map(\.offset) == [6, 7, 8, 9])
        #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == ["m6", "m7", "m8", "m9"])
        await reader.close()
        await harness.close()
    }

    @Test("a waiting reader is woken by an append instead of running out its timeout", arguments: LogKind.allCases)
    func tailIsLive(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let reader = try await harness.log.makeReader(
            startingAt: try await harness.log.allPartitions(of: ["crm.orders"]))
        // Drain anything already there (nothing) so the next poll has to wait.
        _ = try await reader.poll(maxRecords: 10, timeoutMs: 0)
        let started = ContinuousClock.now
        async let polled = reader.poll(maxRecords: 10, timeoutMs: 60_000)
        _ = try await harness.log.append([record("crm.orders", key: "late", value: "arrived")])
        let records = try await polled
        #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == ["arrived"])
        #expect(ContinuousClock.now - started < .seconds(45), "woken by the append, not by the 60 s timeout")
        await reader.close()
        await harness.close()
    }

    @Test("polling an idle log returns nothing after its timeout", arguments: LogKind.allCases)
    func idlePollTimesOut(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let reader = try await harness.log.makeReader(
            startingAt: try await harness.log.allPartitions(of: ["crm.customers"]))
        let started = ContinuousClock.now
        let records = try await reader.poll(maxRecords: 10, timeoutMs: 300)
        #expect(records.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(30))
        await reader.close()
        await harness.close()
    }

    @Test("concurrent appenders get unique, contiguous offsets and lose nothing", arguments: LogKind.allCases)
    func concurrentAppenders(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        let log = harness.log
        let positions = try await withThrowingTaskGroup(of: [RecordPosition].self) { group in
            for appender in 0..<8 {
                group.addTask {
                    var mine: [RecordPosition] = []
                    for batch in 0..<20 {
                        mine += try await log.append(
                            (0..<25).map {
                                OutgoingRecord(
                                    topic: "crm.orders", key: Array("a\(appender)-\(batch)-\($0)".utf8),
                                    value: Array("v".utf8))
                            })
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(positions.count == 8 * 20 * 25)
        #expect(Set(positions).count == positions.count)
        for partition in 0..<LogHarness.partitions {
            let offsets = positions.filter { $0.partition == partition }.map(\.offset).sorted()
            #expect(offsets == Array(0..<Int64(offsets.count)))
        }
        #expect(try await harness.readAll(["crm.orders"]).count == positions.count)
        await harness.close()
    }

    @Test("partition counts are reported and unknown topics are typed errors", arguments: LogKind.allCases)
    func partitionCounts(kind: LogKind) async throws {
        let harness = try await LogHarness(kind)
        #expect(try await harness.log.partitionCount(topic: "crm.orders") == LogHarness.partitions)
        await #expect(throws: EventLogError.self) {
            _ = try await harness.log.partitionCount(topic: "no.such.topic")
        }
        await harness.close()
    }
}
