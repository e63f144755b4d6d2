import Foundation

/// Copies partitions of one log into another record for record (`cohort migrate`): each record goes to the same
/// topic and partition, with its key, value, headers and timestamp, so a target partition that started empty holds
/// the source's records at the same offsets (less the source's first stored offset).
///
/// A copy resumes where the target ends: what the target holds is taken as already copied, once its last record
/// is found equal to the source's at that place, so a copy killed at any moment and started again neither repeats
/// nor skips a record. Each appended record's offset is checked against the offset it must land at, which catches
/// another producer writing to the target meanwhile.
public enum LogCopy {
    /// What to copy of one partition: source offsets `next..<end`; the target holds `next - sourceLow` records.
    public struct Span: Sendable, Hashable {
        public let partition: TopicPartition
        /// The source's first stored offset, copied to target offset 0.
        public let sourceLow: Int64
        /// The first source offset not yet in the target.
        public let next: Int64
        /// The source's end when the copy was planned: records appended after it are left to a later run.
        public let end: Int64

        /// Records still to copy.
        public var remaining: Int64 { end - next }
        /// Records the target must hold once this span is copied.
        public var targetEnd: Int64 { end - sourceLow }
    }

    /// Why a copy cannot go on; every case names the partition and what to do.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case missingTopic(String, partitions: Int32)
        case partitionCount(String, source: Int32, target: Int32)
        case targetAhead(TopicPartition, target: Int64, source: Int64)
        case targetDiverges(TopicPartition, offset: Int64, field: String)
        case misplaced(TopicPartition, expected: Int64, actual: Int64)
        case stalled(TopicPartition, at: Int64)
        case gap(TopicPartition, expected: Int64, found: Int64)

        public var description: String {
            switch self {
            case .missingTopic(let topic, let partitions):
                "topic \(topic) is missing on the target: create it with \(partitions) partitions, then run again"
            case .partitionCount(let topic, let source, let target):
                "topic \(topic) has \(source) partitions here but \(target) on the target: keys would land elsewhere; "
                    + "create it with \(source) partitions"
            case .targetAhead(let partition, let target, let source):
                "\(partition) holds \(target) records on the target but only \(source) here: "
                    + "the target is not a copy of this log"
            case .targetDiverges(let partition, let offset, let field):
                "\(partition) offset \(offset) on the target differs from this log's record (\(field)): "
                    + "the target is not a copy of this log"
            case .misplaced(let partition, let expected, let actual):
                "\(partition): a copied record landed at offset \(actual) instead of \(expected); another producer "
                    + "writes to the target: stop it, then check the target (its records there are not a copy)"
            case .stalled(let partition, let at):
                "\(partition): no record came from offset \(at) of this log although its end is further on"
            case .gap(let partition, let expected, let found):
                "\(partition): this log has no record at offset \(expected) (the next is \(found)), so a copy "
                    + "cannot keep its offsets"
            }
        }
    }

    /// Checks that every topic exists on the target with the same partition count and plans each partition from the
    /// target's end, after checking that the target's last record equals the source's at that place. Empty source
    /// topics missing on the target are left out.
    public static func plan(
        topics: [(name: String, partitions: Int32)], from source: any EventLog, to target: any EventLog
    ) async throws -> [Span] {
        var spans: [Span] = []
        for topic in topics {
            var sourceMarks: [Watermarks] = []
            for partition in 0..<topic.partitions {
                sourceMarks.append(try await source.watermarks(TopicPartition(topic: topic.name, partition: partition)))
            }
            let targetPartitions: Int32
            do throws(EventLogError) {
                targetPartitions = try await target.partitionCount(topic: topic.name)
            } catch {
                guard case .unknownTopic = error else { throw error }
                if sourceMarks.allSatisfy({ $0.high == $0.low }) { continue }
                throw Failure.missingTopic(topic.name, partitions: topic.partitions)
            }
            guard targetPartitions == topic.partitions else {
                throw Failure.partitionCount(topic.name, source: topic.partitions, target: targetPartitions)
            }
            for (index, marks) in sourceMarks.enumerated() {
                let partition = TopicPartition(topic: topic.name, partition: Int32(index))
                let held = try await target.watermarks(partition).high
                guard held <= marks.high - marks.low else {
                    throw Failure.targetAhead(partition, target: held, source: marks.high - marks.low)
                }
                if held > 0 {
                    try await checkSame(
                        partition, sourceOffset: marks.low + held - 1, targetOffset: held - 1, source: source,
                        target: target)
                }
                spans.append(Span(partition: partition, sourceLow: marks.low, next: marks.low + held, end: marks.high))
            }
        }
        return spans
    }

    /// Copies `spans`, reading up to `batchRecords` records at a time (fewer when records are large, so that a read
    /// stays near 32 MiB) and appending them in one call; `recordsPerSecond` (if set) bounds the rate. `progress`
    /// hears the records copied so far after each append. Returns the number of records copied.
    @discardableResult
    public static func copy(
        _ spans: [Span], from source: any EventLog, to target: any EventLog, batchRecords: Int = 10_000,
        recordsPerSecond: Int? = nil, progress: (Int64) -> Void = { _ in }
    ) async throws -> Int64 {
        var next: [TopicPartition: Int64] = [:]
        var ends: [TopicPartition: Int64] = [:]
        var lows: [TopicPartition: Int64] = [:]
        for span in spans where span.remaining > 0 {
            next[span.partition] = span.next
            ends[span.partition] = span.end
            lows[span.partition] = span.sourceLow
        }
        guard !next.isEmpty else { return 0 }
        let reader = try await source.makeReader(startingAt: next)
        let started = ContinuousClock.now
        var copied: Int64 = 0
        var pollRecords = min(batchRecords, 64)
        var emptyPolls = 0
        do {
            while !next.isEmpty {
                let polled = try await reader.poll(maxRecords: pollRecords, timeoutMs: 500)
                if polled.isEmpty {
                    emptyPolls += 1
                    if emptyPolls >= 20, let (partition, at) = next.min(by: { $0.key < $1.key }) {
                        throw Failure.stalled(partition, at: at)
                    }
                    continue
                }
                emptyPolls = 0
                var records: [OutgoingRecord] = []
                var expected: [Int64] = []
                var bytes = 0
                for record in polled {
                    let partition = TopicPartition(topic: record.topic, partition: record.partition)
                    guard let end = ends[partition], let at = next[partition], at < end else { continue }
                    guard record.offset == at else { throw Failure.gap(partition, expected: at, found: record.offset) }
                    records.append(
                        OutgoingRecord(
                            topic: record.topic, key: record.key, value: record.value, headers: record.headers,
                            timestampMs: record.timestampMs, partition: record.partition))
                    expected.append(record.offset - lows[partition, default: 0])
                    bytes += record.value.count + (record.key?.count ?? 0)
                    next[partition] = at + 1 == end ? nil : at + 1
                }
                pollRecords = max(1, min(batchRecords, (32 << 20) / max(1, bytes / max(1, polled.count))))
                guard !records.isEmpty else { continue }
                let positions = try await target.append(records)
                for (position, offset) in zip(positions, expected) where position.offset != offset {
                    throw Failure.misplaced(
                        TopicPartition(topic: position.topic, partition: position.partition), expected: offset,
                        actual: position.offset)
                }
                copied += Int64(records.count)
                progress(copied)
                if let recordsPerSecond, recordsPerSecond > 0 {
                    let due = started + .milliseconds(copied * 1_000 / Int64(recordsPerSecond))
                    if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                }
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return copied
    }

    /// Per partition, the records the target holds against those the spans say it must: the partitions that differ.
    public static func verifyCounts(_ spans: [Span], target: any EventLog) async throws -> [(
        partition: TopicPartition, expected: Int64, actual: Int64
    )] {
        var differing: [(partition: TopicPartition, expected: Int64, actual: Int64)] = []
        for span in spans {
            let marks = try await target.watermarks(span.partition)
            let held = marks.high - marks.low
            if held != span.targetEnd || marks.low != 0 {
                differing.append((span.partition, span.targetEnd, held))
            }
        }
        return differing
    }

    /// Reads one record of each log and throws `targetDiverges` unless they agree in key, value, headers and time.
    static func checkSame(
        _ partition: TopicPartition, sourceOffset: Int64, targetOffset: Int64, source: any EventLog,
        target: any EventLog
    ) async throws {
        let mine = try await record(at: sourceOffset, of: partition, in: source)
        let theirs = try await record(at: targetOffset, of: partition, in: target)
        let field: String? =
            if mine.key != theirs.key {
                "key"
            } else if mine.value != theirs.value {
                "value"
            } else if mine.headers != theirs.headers {
                "headers"
            } else if mine.timestampMs != theirs.timestampMs {
                "timestamp"
            } else {
                nil
            }
        if let field { throw Failure.targetDiverges(partition, offset: targetOffset, field: field) }
    }

    private static func record(at offset: Int64, of partition: TopicPartition, in log: any EventLog) async throws
        -> LogRecord
    {
        let reader = try await log.makeReader(startingAt: [partition: offset])
        var found: LogRecord?
        do {
            for _ in 0..<20 where found == nil {
                found = try await reader.poll(maxRecords: 1, timeoutMs: 500).first { $0.offset == offset }
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        guard let found else { throw Failure.stalled(partition, at: offset) }
        return found
    }
}
