import Foundation
import LMDB
import Logging

/// The single-machine log: records in LMDB, durable on return from `append`, ordered per partition with
/// contiguous offsets from 0.
///
/// Appends go through one writer thread that practises group commit: every batch that arrives while a commit
/// is under way joins the next transaction, so concurrent appenders share one fsync.
///
/// Several processes may append to one log (a node serving, `cohort generate --into-log`, `cohort keys`): LMDB runs
/// one write transaction at a time across processes, and each transaction takes the ends of the partitions it
/// appends to (and the topics) from the store, not from what this process last wrote. Readers take partition ends
/// from the store too, so they see other processes' records (within their poll's wait: only this process's
/// appends wake them early).
public final class EmbeddedLog: EventLog, @unchecked Sendable {
    // @unchecked Sendable: mutable state is guarded by `stateLock`; LMDB writes happen on the writer thread only.

    /// Settings with defaults fit for one node.
    public struct Configuration: Sendable {
        /// Directory of the LMDB environment.
        public var path: String
        /// Partitions of a topic created implicitly by its first append.
        public var defaultPartitions: Int32 = 8
        /// Largest record value accepted.
        public var recordBytesMax: Int = 1 << 20
        /// Most records in one `append` call.
        public var batchRecordsMax: Int = 100_000
        /// Most records written in one transaction; further waiting batches go into the next one.
        public var transactionRecordsMax: Int = 250_000
        /// LMDB tunables.
        public var environment = Environment.Options()

        /// Defaults for a log stored in directory `path`.
        public init(path: String) { self.path = path }
    }

    private struct TopicInfo {
        let number: UInt16
        let partitionCount: Int32
    }

    private struct PendingAppend {
        let records: [OutgoingRecord]
        let continuation: CheckedContinuation<[RecordPosition], any Error>
    }

    private let configuration: Configuration
    private let environment: Environment
    private let recordsDB: Database
    private let topicsDB: Database
    private let logger: Logger
    let notifier = AppendNotifier()

    private let stateLock = NSCondition()
    /// The topics as last read from the store (at open, by a write, or when a name was not known).
    private var topics: [String: TopicInfo] = [:]
    private var pending: [PendingAppend] = []
    private var isClosed = false
    /// Partition counts asked for by `createTopic`, used when the writer creates the topic.
    private var requestedPartitions: [String: Int32] = [:]
    private var roundRobin: UInt32 = 0
    private var commitCount = 0
    private var appendCount = 0
    private var writerThread: Thread?
    private let writerStopped = DispatchSemaphore(value: 0)

    /// Opens (creating if needed) the log at `configuration.path` and starts its writer thread.
    public init(configuration: Configuration, logger: Logger = Logger(label: "cohort.log.embedded"))
        throws(EventLogError)
    {
        self.configuration = configuration
        self.logger = logger
        do {
            environment = try Environment(path: configuration.path, options: configuration.environment)
            recordsDB = try environment.database("records")
            topicsDB = try environment.database("topics")
        } catch {
            throw .storage("\(error)")
        }
        try loadTopics()
        // The writer thread keeps the log alive until `close()` stops it: call `close()` to release a log.
        let thread = Thread { self.runWriter() }
        thread.name = "cohort-log-writer"
        writerThread = thread
        thread.start()
    }

    static func partitionID(topic: UInt16, partition: Int32) -> UInt32 {
        UInt32(topic) << 16 | UInt32(partition)
    }

    /// Every topic stored in `txn`.
    private func storedTopics(_ txn: borrowing Transaction) throws -> [String: TopicInfo] {
        var stored: [String: TopicInfo] = [:]
        try txn.forEach(topicsDB) { key, value in
            let number = UInt16(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
            let count = Int32(littleEndian: value.loadUnaligned(fromByteOffset: 2, as: Int32.self))
            stored[String(decoding: key, as: UTF8.self)] = TopicInfo(number: number, partitionCount: count)
            return true
        }
        return stored
    }

    /// Reads the topics from the store into `topics`.
    private func loadTopics() throws(EventLogError) {
        let stored = try readingStore { txn in try storedTopics(txn) }
        stateLock.withLock { topics = stored }
    }

    /// The topic called `name`: as known, else as stored now (another process may have created it).
    private func topic(_ name: String) throws(EventLogError) -> TopicInfo? {
        if let known = stateLock.withLock({ topics[name] }) { return known }
        try loadTopics()
        return stateLock.withLock { topics[name] }
    }

    /// The offset after the last stored record of partition `id`.
    private func storedEnd(of id: UInt32, _ txn: borrowing Transaction) throws -> Int64 {
        try txn.withCursor(recordsDB) { cursor in
            guard let entry = try cursor.seek(before: RecordCodec.storageKey(partitionID: id + 1, offset: 0)),
                let stored = RecordCodec.decodeKey(entry.key), stored.partitionID == id
            else { return 0 }
            return stored.offset + 1
        }
    }

    // MARK: Topics

    /// Creates `topic` with `partitions` partitions; a no-op when it exists with that count.
    public func createTopic(_ topic: String, partitions: Int32) async throws(EventLogError) {
        guard partitions > 0, partitions <= Int32(UInt16.max) else { throw .tooLarge("partition count \(partitions)") }
        if let existing = try self.topic(topic) {
            guard existing.partitionCount == partitions else {
                throw .storage("topic \(topic) exists with \(existing.partitionCount) partitions, not \(partitions)")
            }
            return
        }
        // Topics are created by the writer thread, inside a transaction: register the wanted count, then send
        // a marker (partition -1, which `append` refuses from callers) that creates the topic and stores nothing.
        stateLock.withLock { requestedPartitions[topic] = partitions }
        _ = try await enqueue([OutgoingRecord(topic: topic, key: nil, value: [], partition: Self.createTopicMarker)])
    }

    private static let createTopicMarker: Int32 = -1

    public func partitionCount(topic: String) async throws(EventLogError) -> Int32 {
        guard let info = try self.topic(topic) else { throw .unknownTopic(topic) }
        return info.partitionCount
    }

    /// Every topic with its partition count.
    public func listTopics() throws(EventLogError) -> [(name: String, partitions: Int32)] {
        try loadTopics()
        return stateLock.withLock { topics.map { ($0.key, $0.value.partitionCount) }.sorted { $0.name < $1.name } }
    }

    public func watermarks(_ partition: TopicPartition) async throws(EventLogError) -> Watermarks {
        try committedWatermarks(partition)
    }

    private func committedWatermarks(_ partition: TopicPartition) throws(EventLogError) -> Watermarks {
        guard let info = try topic(partition.topic) else { throw .unknownTopic(partition.topic) }
        guard partition.partition >= 0, partition.partition < info.partitionCount else {
            throw .unknownPartition(partition)
        }
        let id = Self.partitionID(topic: info.number, partition: partition.partition)
        return Watermarks(low: 0, high: try committedEnds(of: [id])[0])
    }

    // MARK: Append

    public func append(_ records: [OutgoingRecord]) async throws(EventLogError) -> [RecordPosition] {
        guard records.count <= configuration.batchRecordsMax else {
            throw .tooLarge("\(records.count) records in one append (at most \(configuration.batchRecordsMax))")
        }
        for record in records {
            guard record.value.count <= configuration.recordBytesMax else {
                throw .tooLarge("a record of \(record.value.count) bytes (at most \(configuration.recordBytesMax))")
            }
            guard record.partition.map({ $0 >= 0 }) ?? true else {
                throw .unknownPartition(TopicPartition(topic: record.topic, partition: record.partition!))
            }
        }
        if records.isEmpty { return [] }
        return try await enqueue(records)
    }

    private func enqueue(_ records: [OutgoingRecord]) async throws(EventLogError) -> [RecordPosition] {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                stateLock.lock()
                if isClosed {
                    stateLock.unlock()
                    continuation.resume(throwing: EventLogError.closed)
                    return
                }
                pending.append(PendingAppend(records: records, continuation: continuation))
                stateLock.signal()
                stateLock.unlock()
            }
        } catch let error as EventLogError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// The writer loop: take every waiting batch (up to the transaction limit), write them in one transaction,
    /// commit (fsync), then publish offsets and resume the appenders.
    private func runWriter() {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(4096)
        while true {
            stateLock.lock()
            while pending.isEmpty && !isClosed { stateLock.wait() }
            if pending.isEmpty && isClosed {
                stateLock.unlock()
                break
            }
            var group: [PendingAppend] = []
            var groupRecords = 0
            while let next = pending.first,
                group.isEmpty || groupRecords + next.records.count <= configuration.transactionRecordsMax
            {
                group.append(pending.removeFirst())
                groupRecords += next.records.count
            }
            let knownTopics = topics
            let requested = requestedPartitions
            var counter = roundRobin
            stateLock.unlock()

            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            var newTopics = knownTopics
            var offsets: [UInt32: Int64] = [:]
            var results: [Result<[RecordPosition], EventLogError>] = []
            do {
                try environment.write { txn in
                    // The body may run again after the map grows, so it starts from the committed state each time;
                    // another process may have created topics or appended since this one last wrote.
                    newTopics = try txn.count(topicsDB) == knownTopics.count ? knownTopics : try storedTopics(txn)
                    offsets = [:]
                    counter = roundRobin
                    results = []
                    for append in group {
                        var positions: [RecordPosition] = []
                        positions.reserveCapacity(append.records.count)
                        var failure: EventLogError?
                        for record in append.records {
                            var info = newTopics[record.topic]
                            if info == nil {
                                guard newTopics.count < Int(UInt16.max) else {
                                    failure = .tooLarge("too many topics")
                                    break
                                }
                                let number = UInt16(newTopics.count)
                                let count = requested[record.topic] ?? configuration.defaultPartitions
                                var value: [UInt8] = []
                                withUnsafeBytes(of: number.littleEndian) { value.append(contentsOf: $0) }
                                withUnsafeBytes(of: count.littleEndian) { value.append(contentsOf: $0) }
                                try txn.put(topicsDB, key: Array(record.topic.utf8), value: value)
                                info = TopicInfo(number: number, partitionCount: count)
                                newTopics[record.topic] = info
                            }
                            guard let info else { continue }
                            if record.partition == Self.createTopicMarker { continue }
                            let partition: Int32
                            if let explicit = record.partition {
                                guard explicit < info.partitionCount else {
                                    failure = .unknownPartition(
                                        TopicPartition(topic: record.topic, partition: explicit))
                                    break
                                }
                                partition = explicit
                            } else if let key = record.key {
                                partition = Partitioner.partition(forKey: key, partitionCount: info.partitionCount)
                            } else {
                                counter &+= 1
                                partition = Int32(counter % UInt32(info.partitionCount))
                            }
                            let id = Self.partitionID(topic: info.number, partition: partition)
                            let offset = try offsets[id] ?? storedEnd(of: id, txn)
                            offsets[id] = offset + 1
                            RecordCodec.encodeValue(record, timestampMs: record.timestampMs ?? nowMs, into: &encoded)
                            // Not MDB_APPEND: keys increase per partition, not across the whole database.
                            try txn.put(
                                recordsDB, key: RecordCodec.storageKey(partitionID: id, offset: offset), value: encoded)
                            positions.append(RecordPosition(topic: record.topic, partition: partition, offset: offset))
                        }
                        if let failure {
                            // Keep the batch all-or-nothing: this append is refused, the transaction must not
                            // keep its earlier records, so the whole group is retried without it.
                            throw RejectedAppend(index: results.count, error: failure)
                        }
                        results.append(.success(positions))
                    }
                }
            } catch let rejected as RejectedAppend {
                // Resume the bad appender with its error and put the others back at the front of the queue.
                group[rejected.index].continuation.resume(throwing: rejected.error)
                group.remove(at: rejected.index)
                stateLock.withLock { pending.insert(contentsOf: group, at: 0) }
                continue
            } catch {
                logger.error("embedded log commit failed", metadata: ["error": "\(error)"])
                for append in group { append.continuation.resume(throwing: EventLogError.storage("\(error)")) }
                continue
            }
            stateLock.withLock {
                topics = newTopics
                roundRobin = counter
                commitCount += 1
                appendCount += group.count
            }
            notifier.notify()
            for (append, result) in zip(group, results) {
                append.continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
        writerStopped.signal()
    }

    private struct RejectedAppend: Error {
        let index: Int
        let error: EventLogError
    }

    // MARK: Read

    public func makeReader(startingAt positions: [TopicPartition: Int64]) async throws(EventLogError) -> any LogReader {
        var assignments: [EmbeddedReader.Assignment] = []
        for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
            guard let info = try topic(partition.topic) else { throw .unknownTopic(partition.topic) }
            guard partition.partition >= 0, partition.partition < info.partitionCount else {
                throw .unknownPartition(partition)
            }
            assignments.append(
                EmbeddedReader.Assignment(
                    partition: partition, id: Self.partitionID(topic: info.number, partition: partition.partition),
                    next: max(0, offset)))
        }
        return EmbeddedReader(log: self, assignments: assignments)
    }

    /// Reads up to `maxRecords` stored records of `assignments`, taken in turn from `first` on, each from its `next`
    /// offset, in one read transaction. `visit` sees each record with the index of its assignment, lent: its bytes
    /// point into the memory map, valid until `finish`, which runs last, inside the transaction, returns.
    func readRecords<Result>(
        _ assignments: [EmbeddedReader.Assignment], from first: Int, maxRecords: Int,
        visit: (Int, LentRecord) throws -> Void, finish: () throws -> Result
    ) throws -> Result {
        try reading { txn in
            var count = 0
            for step in 0..<assignments.count where count < maxRecords {
                let index = (first + step) % assignments.count
                let assignment = assignments[index]
                count += try walk(
                    txn, assignment.partition, id: assignment.id, from: assignment.next, upTo: maxRecords - count
                ) { try visit(index, $0) }
            }
            return try finish()
        }
    }

    /// Reads the records of `runs` (each exactly `offsets.count` stored records of the partition with that id), in
    /// order, in a read transaction of its own, and lends them to `body`: safe to call from several threads at once.
    func readRuns(
        _ runs: [(id: UInt32, run: SplitPoll.Run)], _ body: (UnsafeBufferPointer<LentRecord>) throws -> Void
    ) throws {
        var lent: [LentRecord] = []
        lent.reserveCapacity(runs.reduce(0) { $0 + $1.run.offsets.count })
        try reading { txn in
            for (id, run) in runs {
                var expected = run.offsets.lowerBound
                _ = try walk(txn, run.partition, id: id, from: expected, upTo: run.offsets.count) { record in
                    // Offsets are contiguous: a gap is a record lost from the file.
                    guard record.position.offset == expected else {
                        throw EventLogError.storage("record missing at \(run.partition)@\(expected)")
                    }
                    lent.append(record)
                    expected += 1
                }
                guard expected == run.offsets.upperBound else {
                    throw EventLogError.storage("record missing at \(run.partition)@\(expected)")
                }
            }
            try lent.withUnsafeBufferPointer(body)
        }
    }

    /// Runs `body` in a read transaction, with LMDB's errors as `EventLogError`s.
    private func reading<Result>(_ body: (borrowing Transaction) throws -> Result) throws -> Result {
        do {
            return try environment.read(body)
        } catch let error as EventLogError {
            throw error
        } catch let error as LMDBError {
            throw EventLogError.storage("\(error)")
        }
    }

    /// `reading` for the log's own lookups, whose only failures are the store's.
    private func readingStore<Result>(_ body: (borrowing Transaction) throws -> Result) throws(EventLogError) -> Result
    {
        do {
            return try reading(body)
        } catch let error as EventLogError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// Lends `visit` up to `limit` stored records of one partition, in offset order from `offset` on; returns how
    /// many it lent.
    private func walk(
        _ txn: borrowing Transaction, _ partition: TopicPartition, id: UInt32, from offset: Int64, upTo limit: Int,
        _ visit: (LentRecord) throws -> Void
    ) throws -> Int {
        var count = 0
        try txn.walkPrefetchingPages(recordsDB, from: RecordCodec.storageKey(partitionID: id, offset: offset)) {
            entry in
            guard count < limit, let key = RecordCodec.decodeKey(entry.key), key.partitionID == id else { return false }
            guard let parts = RecordCodec.parts(entry.value) else {
                throw EventLogError.storage("corrupt record at \(partition)@\(key.offset)")
            }
            try visit(
                LentRecord(
                    position: RecordPosition(
                        topic: partition.topic, partition: partition.partition, offset: key.offset),
                    timestampMs: parts.timestampMs, key: parts.key, value: parts.value, storedHeaders: parts.headers))
            count += 1
            return true
        }
        return count
    }

    /// The next offset of each partition id in `ids`, as committed by any process: every record below it is stored.
    func committedEnds(of ids: [UInt32]) throws(EventLogError) -> [Int64] {
        try readingStore { txn in try ids.map { try storedEnd(of: $0, txn) } }
    }

    var closed: Bool { stateLock.withLock { isClosed } }

    /// Durable commits so far and the `append` calls they carried; more appends than commits is group commit.
    public var statistics: (commits: Int, appends: Int) {
        stateLock.withLock { (commitCount, appendCount) }
    }

    // MARK: Close

    public func close() async {
        let wasOpen = stateLock.withLock {
            defer {
                isClosed = true
                stateLock.signal()
            }
            return !isClosed
        }
        guard wasOpen else { return }
        // The writer finishes what was queued before close, then stops.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.writerStopped.wait()
                continuation.resume()
            }
        }
        notifier.notify()
    }
}
