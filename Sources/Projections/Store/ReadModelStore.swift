import Crypto
import EventLog
import Events
import Foundation
import LMDB
import Synchronization

/// The LMDB read models of one node, with the log offsets they were built from.
///
/// Every batch is one write transaction holding the new state and the next offset of each partition it
/// consumed, so after a crash the store is exactly as of some batch boundary and resumes from there.
public final class ReadModelStore: @unchecked Sendable {
    // @unchecked Sendable: LMDB transactions are synchronous; writes come from one projector at a time.

    let environment: Environment
    /// The timeline, in an environment of its own (`timeline/` inside the store's directory) written by a thread
    /// of its own (`TimelineBatch`): its rows, one per event at a random place, took half a live batch.
    let timelineEnvironment: Environment
    let timelineThread = SerialThread(name: "cohort.timeline")
    let customers: Database
    let orders: Database
    /// In `timelineEnvironment`.
    let timeline: Database
    let eventIDs: Database
    let segments: Database
    let campaigns: Database
    let campaignStats: Database
    let messages: Database
    let customerMessages: Database
    let deadLetters: Database
    let counters: Database
    let offsets: Database
    /// Where the delivery worker kept its progress before it had its own `OffsetStore` (read once on upgrade).
    let workerOffsets: Database

    /// The databases that make up read-model content, in digest order (offsets are bookkeeping, not content), each
    /// with its environment.
    var contentDatabases: [(environment: Environment, database: Database)] {
        [customers, orders].map { (environment, $0) } + [(timelineEnvironment, timeline)]
            + [eventIDs, segments, campaigns, campaignStats, messages, customerMessages, deadLetters, counters].map {
                (environment, $0)
            }
    }

    /// Default LMDB options for read models: commits do not wait for the disk. The log is the source of truth: a
    /// process that dies loses nothing, and read models a machine crash may have left half written are discarded
    /// and folded again (`UnsyncedWrites`).
    public static var defaultOptions: Environment.Options { options(syncEachCommit: false) }

    /// Options for read models whose every commit is synced (`data.read_models_sync = "commit"`): slower, but a
    /// machine crash loses at most the last commit, which is folded again from the stored offsets.
    public static func options(syncEachCommit: Bool) -> Environment.Options {
        var options = Environment.Options()
        options.noSync = !syncEachCommit
        options.noMetaSync = true
        return options
    }

    /// Options for a rebuild into a fresh directory: no fsync per commit, one `sync()` at the end.
    public static var rebuildOptions: Environment.Options {
        var options = Environment.Options()
        options.noSync = true
        options.writeMap = true
        options.noReadahead = true
        return options
    }

    /// Flushes everything to disk (after a rebuild with `rebuildOptions`).
    public func sync() throws {
        try environment.sync()
        try timelineEnvironment.sync()
    }

    /// Whether the read models found at opening were discarded: written without syncing by a process of an earlier
    /// boot that did not close them, so possibly half written when the machine went down. They fold again from the
    /// start of the log.
    public let discardedAfterMachineCrash: Bool

    /// This process's marker while it commits without syncing; nil once closed (`UnsyncedWrites`).
    private let marker: Mutex<String?>

    /// Opens (creating if needed) the store in `path`.
    public init(path: String, options: Environment.Options = ReadModelStore.defaultOptions) throws {
        var options = options
        let opening = try UnsyncedWrites.open(directory: path, unsynced: options.noSync)
        // Without a boot id to tell a machine crash from a process crash, every commit is synced.
        options.noSync = opening.marker != nil
        discardedAfterMachineCrash = opening.discarded
        marker = Mutex(opening.marker)
        var timelineOptions = options
        timelineOptions.maxDatabases = 1
        timelineEnvironment = try Environment(path: path + "/" + Self.timelineDirectory, options: timelineOptions)
        try Self.moveTimelineOfEarlierVersion(path: path, options: options, to: timelineEnvironment)
        environment = try Environment(path: path, options: options)
        customers = try environment.database("customers")
        orders = try environment.database("orders")
        timeline = try timelineEnvironment.database("timeline")
        eventIDs = try environment.database("event_ids")
        segments = try environment.database("segments")
        campaigns = try environment.database("campaigns")
        campaignStats = try environment.database("campaign_stats")
        messages = try environment.database("messages")
        customerMessages = try environment.database("customer_messages")
        deadLetters = try environment.database("dead_letters")
        counters = try environment.database("counters")
        offsets = try environment.database("offsets")
        workerOffsets = try environment.database("worker_offsets")
    }

    /// Runs `body` in a write transaction of the timeline's environment on its thread; `wait` for it.
    func writeTimeline(_ body: @escaping @Sendable (borrowing Transaction) throws -> Void) -> TimelineWrite {
        let write = TimelineWrite()
        timelineThread.async { [self] in
            write.finish(Result { try timelineEnvironment.write(body) })
        }
        return write
    }

    /// The timeline environment's directory inside the store's.
    static let timelineDirectory = "timeline"

    /// Moves the timeline that versions before its own environment kept with the other read models, once, then
    /// copies their file without the pages it leaves free: a freelist of millions of pages (10M customers) is
    /// written back by every later commit, which made live batches three times slower.
    private static func moveTimelineOfEarlierVersion(
        path: String, options: Environment.Options, to target: Environment
    ) throws {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return }
        let compacted = path + "/compacted"
        do {
            let earlier = try Environment(path: path, options: options)
            let source = try earlier.database("timeline")
            guard try earlier.read({ try $0.count(source) }) > 0 else { return }
            let timeline = try target.database("timeline")
            try target.write { txn in
                try txn.clear(timeline)
                try earlier.read { stored in
                    try stored.forEach(source) { key, value in
                        try txn.put(timeline, key: key, value: value, flags: .append)
                        return true
                    }
                }
            }
            try target.sync()
            try earlier.write { try $0.clear(source) }
            if FileManager.default.fileExists(atPath: compacted) {
                try FileManager.default.removeItem(atPath: compacted)
            }
            try earlier.copyCompacted(to: compacted)
        }
        // The rename replaces the file whole; a crash before it leaves the moved store, merely not compacted.
        let (from, to) = (compacted + "/data.mdb", path + "/data.mdb")
        guard rename(from, to) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        try FileManager.default.removeItem(atPath: compacted)
    }

    /// Syncs what was committed without syncing and removes this process's marker: the read models are whole on
    /// the disk, whatever happens to the machine next. Later commits are synced one by one. Called on deinit too.
    public func close() throws {
        guard let marker = marker.withLock({ $0 }) else { return }
        for environment in [environment, timelineEnvironment] {
            try environment.syncEachCommit()
            try environment.sync()
        }
        try UnsyncedWrites.release(marker)
        self.marker.withLock { $0 = nil }
    }

    deinit {
        try? close()
        timelineThread.stop()
    }

    // MARK: Reads

    /// Whether the store holds nothing yet: no read-model content and no offsets.
    public func isEmpty() throws -> Bool {
        try (contentDatabases + [(environment, offsets)]).allSatisfy { environment, database in
            try environment.read { try $0.count(database) == 0 }
        }
    }

    /// The next offset to read of every partition folded so far.
    public func storedOffsets() throws -> [TopicPartition: Int64] {
        try Self.readOffsets(offsets, in: environment)
    }

    /// Offsets as kept in `database` of `environment`.
    static func readOffsets(_ database: Database, in environment: Environment) throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        try environment.read { txn in
            try txn.forEach(database) { key, value in
                if let partition = StoreKeys.decodePartition(key), let offset = StoreKeys.readInt64(value) {
                    result[partition] = offset
                }
                return true
            }
        }
        return result
    }

    /// Stores `next` offsets in `database` within `txn`.
    static func writeOffsets(_ next: [TopicPartition: Int64], to database: Database, in txn: borrowing Transaction)
        throws
    {
        for (partition, offset) in next {
            try txn.put(database, key: StoreKeys.partition(partition), value: StoreKeys.int64(offset))
        }
    }

    /// A customer, or nil when never seen. Erased customers come back as tombstones (`isErased`).
    public func customer(_ id: String) throws -> CustomerState? {
        guard StoreKeys.isStorable(id) else { return nil }
        return try environment.read { txn in
            try txn.withValue(customers, key: StoreKeys.id(id)) { bytes in try bytes.map(CustomerState.init(decoding:))
            }
        }
    }

    /// All orders of a customer.
    public func orders(ofCustomer id: String) throws -> [OrderState] {
        try environment.read { txn in try Self.orders(ofCustomer: id, in: txn, database: orders) }
    }

    static func orders(ofCustomer id: String, in txn: borrowing Transaction, database: Database) throws -> [OrderState]
    {
        let prefix = StoreKeys.prefix(id)
        var result: [OrderState] = []
        try txn.forEach(database, from: prefix) { key, value in
            guard key.starts(with: prefix) else { return false }
            result.append(try OrderState(decoding: value))
            return true
        }
        return result
    }

    /// A customer's timeline, newest first; with `before`, only entries older than that one (the cursor of the
    /// previous page).
    public func timeline(
        ofCustomer id: String, limit: Int = 100, before: (time: Timestamp, position: RecordPosition)? = nil
    ) throws
        -> [TimelineEntry]
    {
        let prefix = StoreKeys.prefix(id)
        var result: [TimelineEntry] = []
        let upper =
            before.map { StoreKeys.timeline(customerID: id, time: $0.time, position: $0.position) }
            ?? prefix + [UInt8](repeating: 0xFF, count: 64)
        try timelineEnvironment.read { txn in
            try txn.withCursor(timeline) { cursor in
                var entry = try cursor.seek(before: upper)
                while let current = entry, current.key.starts(with: prefix), result.count < limit {
                    result.append(try TimelineEntry(key: current.key, value: current.value))
                    entry = try cursor.previous()
                }
            }
        }
        return result
    }

    /// A campaign's definition and lifecycle.
    public func campaign(_ id: String) throws -> CampaignState? {
        guard StoreKeys.isStorable(id) else { return nil }
        return try environment.read { txn in
            try txn.withValue(campaigns, key: StoreKeys.id(id)) { try $0.map(CampaignState.init(decoding:)) }
        }
    }

    /// The delivery worker's progress as versions before `OffsetStore` kept it here, for a node upgraded in place.
    public func legacyDeliveryWorkerOffsets() throws -> [TopicPartition: Int64] {
        try Self.readOffsets(workerOffsets, in: environment)
    }

    /// The stored state of each of `ids` that has one, read in one transaction.
    public func messages(withIDs ids: some Sequence<String>) throws -> [String: MessageState] {
        var found: [String: MessageState] = [:]
        try environment.read { txn in
            for id in ids where StoreKeys.isStorable(id) {
                if let state = try txn.withValue(
                    messages, key: StoreKeys.id(id), { try $0.map(MessageState.init(decoding:)) })
                {
                    found[id] = state
                }
            }
        }
        return found
    }

    /// Every message of a campaign, in message-id order, optionally only those with `delivery`.
    public func messages(ofCampaign id: String, delivery: MessageState.Delivery? = nil, after: String?, limit: Int)
        throws -> (messages: [MessageState], next: String?)
    {
        var page: [MessageState] = []
        var next: String?
        let prefix = StoreKeys.id(id + ":")
        try environment.read { txn in
            try txn.forEach(messages, from: after.map { StoreKeys.id($0) + [0] } ?? prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                let message = try MessageState(decoding: value)
                if delivery == nil || message.delivery == delivery { page.append(message) }
                if page.count == limit {
                    next = message.messageID
                    return false
                }
                return true
            }
        }
        return (page, next)
    }

    /// Every campaign, most recently created first.
    public func allCampaigns() throws -> [CampaignState] {
        var result: [CampaignState] = []
        try environment.read { txn in
            try txn.forEach(campaigns) { _, value in
                result.append(try CampaignState(decoding: value))
                return true
            }
        }
        return result.sorted {
            ($0.createdAt?.microseconds ?? 0, $0.campaignID) > ($1.createdAt?.microseconds ?? 0, $1.campaignID)
        }
    }

    /// A campaign's exact delivery counters.
    public func stats(ofCampaign id: String) throws -> CampaignStats {
        guard StoreKeys.isStorable(id) else { return CampaignStats() }
        return try environment.read { txn in
            try txn.withValue(campaignStats, key: StoreKeys.id(id)) { try $0.map(CampaignStats.init(decoding:)) }
        } ?? CampaignStats()
    }

    /// One message of the communication log.
    public func message(_ id: String) throws -> MessageState? {
        guard StoreKeys.isStorable(id) else { return nil }
        return try environment.read { txn in
            try txn.withValue(messages, key: StoreKeys.id(id)) { try $0.map(MessageState.init(decoding:)) }
        }
    }

    /// Calls `body` with every customer (erased ones as tombstones), in key order, from one snapshot.
    public func forEachCustomer(_ body: (CustomerState) throws -> Void) throws {
        try environment.read { txn in
            try txn.forEach(customers) { _, value in
                try body(try CustomerState(decoding: value))
                return true
            }
        }
    }

    /// One page of live customers in id order, after the id `after`, that pass `filter`. At most `scanMax`
    /// entries are looked at, so a rare filter cannot make one request walk everything: `next` is where to go on
    /// (nil at the end), even when the page came back short.
    public func customers(
        after: String?, limit: Int, scanMax: Int = 100_000, where filter: (CustomerState) -> Bool
    ) throws -> (customers: [CustomerState], next: String?) {
        var page: [CustomerState] = []
        var next: String?
        var scanned = 0
        try environment.read { txn in
            try txn.forEach(customers, from: after.map { StoreKeys.id($0) + [0] }) { _, value in
                let customer = try CustomerState(decoding: value)
                scanned += 1
                if !customer.isErased && filter(customer) { page.append(customer) }
                if page.count == limit || scanned == scanMax {
                    next = customer.customerID
                    return false
                }
                return true
            }
        }
        return (page, next)
    }

    /// Customers stored, erased ones included.
    public func customerEntryCount() throws -> Int {
        try environment.read { txn in try txn.count(customers) }
    }

    /// Every saved segment, in key order.
    public func savedSegments() throws -> [SegmentState] {
        var result: [SegmentState] = []
        try environment.read { txn in
            try txn.forEach(segments) { _, value in
                result.append(try SegmentState(decoding: value))
                return true
            }
        }
        return result
    }

    /// A saved segment (nil once deleted).
    public func segment(_ id: String) throws -> SegmentState? {
        guard StoreKeys.isStorable(id) else { return nil }
        return try environment.read { txn in
            try txn.withValue(segments, key: StoreKeys.id(id)) { try $0.map(SegmentState.init(decoding:)) }
        }
    }

    /// The records that could not be folded, in log order.
    public func deadLetterEntries(limit: Int = 1000) throws -> [DeadLetterEntry] {
        var result: [DeadLetterEntry] = []
        try environment.read { txn in
            try txn.forEach(deadLetters) { _, value in
                var reader = BinaryReader(value)
                let position = RecordPosition(
                    topic: try reader.readString(), partition: Int32(try reader.readInt64()),
                    offset: try reader.readInt64())
                result.append(DeadLetterEntry(position: position, reason: try reader.readString()))
                return result.count < limit
            }
        }
        return result
    }

    /// Counters: events folded, duplicates ignored, dead letters, customers.
    public func counter(_ name: Counter) throws -> Int64 {
        try environment.read { txn in
            try txn.withValue(counters, key: Array(name.rawValue.utf8)) { $0.flatMap(StoreKeys.readInt64) }
        } ?? 0
    }

    /// The daily read model: net revenue and counting orders per UTC day of placement, for days `from...through`
    /// (days since 1970-01-01), in day order; days without orders are absent.
    public func daily(from: Int64, through: Int64) throws -> [(day: Int64, figures: DailyFigures)] {
        var result: [(day: Int64, figures: DailyFigures)] = []
        guard from <= through else { return result }
        try environment.read { txn in
            try txn.forEach(counters, from: DailyFigures.key(day: from)) { key, value in
                guard let day = DailyFigures.day(fromKey: key), day <= through,
                    key.starts(with: DailyFigures.keyPrefix.utf8)
                else { return false }
                if let figures = DailyFigures(encoded: value) { result.append((day, figures)) }
                return true
            }
        }
        return result
    }

    /// The delivery read model of one campaign: messages sent, failed and delivered per minute (since 1970, UTC),
    /// in time order; minutes without any are absent.
    public func deliveryMinutes(ofCampaign id: String) throws -> [(minute: Int64, figures: DeliveryFigures)] {
        let prefix = DeliveryMinute.prefix(id)
        var result: [(minute: Int64, figures: DeliveryFigures)] = []
        try environment.read { txn in
            try txn.forEach(counters, from: prefix) { key, value in
                guard key.count == prefix.count + 8, key.starts(with: prefix),
                    let minute = DeliveryMinute.minute(fromKey: key), let figures = DeliveryFigures(encoded: value)
                else { return false }
                result.append((minute, figures))
                return true
            }
        }
        return result
    }

    /// The named counters.
    public enum Counter: String, CaseIterable, Sendable {
        case events, duplicates, deadLetters = "dead_letters", customers
        /// Receipts whose message no queued, sent or failed event has named (yet).
        case unmatchedReceipts = "unmatched_receipts"
    }

    /// The pages each content database takes, by name: how tightly its rows are packed (appended in key order,
    /// pages are full; put between stored keys, split pages are left half full).
    public func pageCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (environment, database) in contentDatabases {
            counts[database.name] = try environment.read { try $0.pageCount(database) }
        }
        return counts
    }

    /// A SHA-256 over all read-model content in key order: equal for equal read models, whatever the history
    /// of crashes and restarts that produced them. Offsets are not content and are left out.
    public func digest() throws -> String {
        var hasher = FramingHasher()
        // A snapshot of each environment, taken one after the other: of a store at rest, the same moment.
        try environment.read { txn in
            try timelineEnvironment.read { timelineTxn in
                for (environment, database) in contentDatabases {
                    var header = "db:\(database.name)\n"
                    header.withUTF8 { hasher.add(UnsafeRawBufferPointer($0)) }
                    if environment === timelineEnvironment {
                        try timelineTxn.forEach(database) { hasher.addEntry(key: $0, value: $1) }
                    } else {
                        try txn.forEach(database) { hasher.addEntry(key: $0, value: $1) }
                    }
                }
            }
        }
        return hasher.finalize()
    }
}

/// SHA-256 over many small pieces, gathered into a buffer that is hashed when full: hashing each key, value and
/// length on its own costs more in calls than in hashing. Full buffers are hashed on another
/// thread while the next fills (two buffers, one in flight). A hash is the same over any split of its bytes, so the
/// digest is too.
private struct FramingHasher: ~Copyable {
    private let hashing = HashingThread()
    private let buffers = [0, 1].map { _ in
        UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 64)
    }
    private var filling = 0
    private var count = 0

    deinit {
        hashing.wait()
        for buffer in buffers { buffer.deallocate() }
    }

    /// Adds an entry as the digest frames it: the key's length, the value's, the key, the value. True: go on.
    mutating func addEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        add(length: key.count)
        add(length: value.count)
        add(key)
        add(value)
        return true
    }

    /// Adds a length as the digest frames it: 8 bytes, big-endian (`StoreKeys.append`).
    mutating func add(length: Int) {
        withUnsafeBytes(of: Int64(length).bigEndian) { add($0) }
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let buffer = buffers[filling]
        if count + bytes.count > buffer.count {
            handOver()
            if bytes.count > buffer.count {
                // Larger than a buffer: hashed from where it is, after what came before it.
                hashing.hash(bytes)
                hashing.wait()
                return
            }
        }
        if let base = bytes.baseAddress, bytes.count > 0 {
            (buffers[filling].baseAddress! + count).copyMemory(from: base, byteCount: bytes.count)
            count += bytes.count
        }
    }

    /// Starts hashing the buffer being filled and fills the other, once the hashing of that one has finished.
    private mutating func handOver() {
        hashing.wait()
        hashing.hash(UnsafeRawBufferPointer(rebasing: buffers[filling][..<count]))
        filling = 1 - filling
        count = 0
    }

    consuming func finalize() -> String {
        handOver()
        hashing.wait()
        return hashing.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// A SHA-256 updated on a thread of its own, one piece at a time.
private final class HashingThread: @unchecked Sendable {
    // @unchecked Sendable: `hasher` is used on `queue` only, and by `finalize` after `wait`.
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "cohort.digest")
    private let pending = DispatchGroup()

    /// Pointer to bytes that stay valid and unchanged until `wait` returns.
    private struct Bytes: @unchecked Sendable {
        let pointer: UnsafeRawBufferPointer
    }

    /// Starts hashing `bytes`, which must stay valid and unchanged until `wait` returns.
    func hash(_ bytes: UnsafeRawBufferPointer) {
        let bytes = Bytes(pointer: bytes)
        queue.async(group: pending) { self.hasher.update(bufferPointer: bytes.pointer) }
    }

    /// Returns once every piece handed to `hash` is hashed.
    func wait() { pending.wait() }

    func finalize() -> SHA256.Digest { hasher.finalize() }
}
