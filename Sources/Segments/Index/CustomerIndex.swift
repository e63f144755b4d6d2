import Dispatch
import Events
import Foundation
import Memory
import Projections
import Synchronization

/// A compact in-memory, column-oriented copy of the customer read model, made for counting segments fast.
///
/// LMDB stays the durable source of truth: the index is built from the store on start (`build(from:)`) and then
/// kept current by the projector, which hands it every batch's changed customers right after the batch commits
/// (`ProjectionObserver`). Queries share a read-write lock and run in parallel; a batch's update takes it
/// exclusively (waiting writers go first), so a query sees whole batches only. A preview asked again at the same
/// index version — a builder re-sending its rule — is answered from a small cache.
public final class CustomerIndex: ProjectionObserver, @unchecked Sendable {
    // @unchecked Sendable: `storage` and `version` change only with `lock` held exclusively, and are read with it
    // held shared; `previews` has a lock of its own.
    private let lock = ReadWriteLock(preferringWriters: true)
    private var storage = IndexStorage()
    /// Bumped by every update: cached answers belong to one version.
    private var version: UInt64 = 0
    private let previews = Mutex(PreviewCache())

    /// An empty index.
    public init() {}

    /// An index of every customer in `store`, with progress every 100,000 customers. Reading and decoding the
    /// store costs about as much as indexing what it holds: a thread of its own reads while this one indexes.
    public static func build(from store: ReadModelStore, progress: ((Int) -> Void)? = nil) throws -> CustomerIndex {
        let index = CustomerIndex()
        let expected = try store.customerEntryCount()
        index.lock.writing {
            index.storage.reserveCapacity(expected)
            index.storage.buildingFromStore = true
        }
        let batchSize = 10_000
        let batches = BoundedQueue<[CustomerState]>(capacity: 4, producers: 1)
        let failure = Mutex<(any Error)?>(nil)
        Thread.detachNewThread {
            defer { batches.producerFinished() }
            do {
                var batch: [CustomerState] = []
                batch.reserveCapacity(batchSize)
                try store.forEachCustomer { customer in
                    batch.append(customer)
                    if batch.count == batchSize {
                        batches.push(batch)
                        batch = []
                        batch.reserveCapacity(batchSize)
                    }
                }
                batches.push(batch)
            } catch {
                failure.withLock { $0 = error }
            }
        }
        var loaded = 0
        while let batch = batches.pop() {
            index.update(batch)
            loaded += batch.count
            if loaded % 100_000 == 0 { progress?(loaded) }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        index.lock.writing { index.storage.finishBuild() }
        return index
    }

    /// How many times a column's edges were chosen again because one of its codes filled up (for tests).
    package private(set) var edgesChosenAgain = 0

    /// Applies the final state of customers changed by one committed batch. One caller at a time (the projector's
    /// fold thread): the storage has one writer.
    public func update(_ customers: [CustomerState]) {
        guard !customers.isEmpty else { return }
        // Room for new rows is made outside the lock (growing copies whole columns, which counts would wait for),
        // a part at a time swapped in under a brief lock: with one writer, nothing copied changes before the swap.
        let rowsNeeded = storage.rowCount + customers.count
        if rowsNeeded > storage.reservedRows {
            let rows = rowsNeeded + rowsNeeded / 8
            for part in storage.growingParts(rows: rows) {
                let swapIn = part.grownCopy(storage)
                lock.writing { swapIn(&storage) }
            }
            lock.writing { storage.reservedRows = rows }
        }
        let (columns, crowded) = lock.writing {
            for customer in customers { storage.upsert(customer) }
            version &+= 1
            return storage.takeColumnsNeedingEdges()
        }
        guard !columns.isEmpty else { return }
        // New edges are chosen outside the lock, counts going on with the old ones (exact with either, so the
        // version stays): with one writer, what it reads here does not change until it changes it.
        let fresh = IndexStorage.chooseEdges(of: columns, from: storage.numbers, rows: storage.reservedRows)
        lock.writing {
            for (column, buckets) in zip(columns, fresh) { storage.buckets[column] = buckets }
            edgesChosenAgain += crowded
        }
    }

    public func didCommit(_ changes: BatchChanges) { update(changes.customers) }

    /// Rows the columns have room for before they grow again, and the fewest any per-row column has room for (for
    /// tests: at least `reservedRows`, or a new row would grow that column under the lock).
    package var room: (reserved: Int, least: Int) {
        lock.reading { (storage.reservedRows, storage.leastRowCapacity) }
    }

    /// Customers present (not erased).
    public var customerCount: Int { lock.reading { storage.alive.population } }

    /// Totals over present customers: Σ total_spend (minor units) and Σ order_count.
    public var totals: (spendUnits: Int64, orders: Int64) {
        lock.reading {
            func sum(_ column: NumericColumn) -> Int64 {
                storage.numbers[column.rawValue].withUnsafeBufferPointer { values in
                    var total: Int64 = 0
                    for value in values where value != missingValue { total &+= value }
                    return total
                }
            }
            return (sum(.totalSpend), sum(.orderCount))
        }
    }

    /// Bytes held by the index's columns.
    public var byteCount: Int { lock.reading { storage.byteCount } }

    /// The most common values of a city/country-like string field or of `tags`, most frequent first, at most
    /// `limit` (lower-cased, as the index compares them); empty for other fields.
    public func knownValues(of field: Field, limit: Int) -> [String] {
        lock.reading {
            var counts: [(value: String, count: Int)] = []
            if field == .tags {
                for code in 1..<max(1, storage.tags.postings.count) where !storage.tags.postings[code].isEmpty {
                    counts.append((storage.tags.dictionary.string(UInt32(code)), storage.tags.postings[code].count))
                }
            } else if let column = StringColumn(field) {
                var perCode = [Int](repeating: 0, count: storage.strings[column.rawValue].count + 1)
                for (row, code) in storage.stringCodes[column.rawValue].enumerated()
                where code != 0 && storage.alive[row] {
                    perCode[Int(code)] += 1
                }
                for code in 1..<perCode.count where perCode[code] > 0 {
                    counts.append((storage.strings[column.rawValue].string(UInt32(code)), perCode[code]))
                }
            }
            counts.sort { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
            return counts.prefix(limit).map(\.value)
        }
    }

    /// The attribute keys some customer has, sorted.
    public var attributeKeys: [String] { lock.reading { storage.attributes.keys.sorted() } }

    /// How many customers match `rule` at `asOf`.
    public func count(_ rule: Rule, asOf: Timestamp) -> Int {
        lock.reading { storage.evaluate(rule, asOf: asOf).population }
    }

    /// The count and up to `sampleSize` matching customer ids (the first in index order); the same question at
    /// the same index version is answered from the cache.
    public func preview(_ rule: Rule, asOf: Timestamp, sampleSize: Int) -> (count: Int, sample: [String]) {
        // Day fields depend on the moment asked about; other rules do not.
        let moment = rule.conditions.contains { $0.field.dayBase != nil } ? asOf.microseconds : 0
        let key = PreviewCache.Key(fingerprint: rule.fingerprint, asOf: moment, sampleSize: sampleSize)
        return lock.reading {
            if let hit = previews.withLock({ $0.answer(key, version: version) }) { return hit }
            let answer = evaluatePreview(rule, asOf: asOf, sampleSize: sampleSize)
            previews.withLock { $0.store(answer, for: key, version: version) }
            return answer
        }
    }

    /// How many previews the cache answered and how many it could not, since start.
    public var previewCacheHits: (hits: Int, misses: Int) { previews.withLock { ($0.hits, $0.misses) } }

    /// Call with `lock` held.
    private func evaluatePreview(_ rule: Rule, asOf: Timestamp, sampleSize: Int) -> (count: Int, sample: [String]) {
        let matches = storage.evaluate(rule, asOf: asOf)
        var sample: [String] = []
        if sampleSize > 0 {
            matches.forEach { row in
                sample.append(storage.ids.string(UInt32(row + 1)))
                return sample.count < sampleSize
            }
        }
        return (matches.population, sample)
    }

    /// One page of matching customer ids in ascending byte order of id, after `cursor` (exclusive).
    /// `next` is the cursor of the following page, nil on the last page.
    public func members(_ rule: Rule, asOf: Timestamp, after cursor: String?, limit: Int) -> (
        ids: [String], next: String?
    ) {
        precondition(limit > 0, "a page holds at least one member")
        let (ids, more): ([String], Bool) = lock.reading {
            let matches = storage.evaluate(rule, asOf: asOf)
            let floor = cursor.map { Array($0.utf8) }
            // Keep the `limit + 1` smallest ids above the cursor: sorted insertion into a short array.
            var page: [[UInt8]] = []
            matches.forEach { row in
                storage.ids.withBytes(UInt32(row + 1)) { bytes in
                    if let floor, !floor.lexicographicallyPrecedes(bytes) { return }
                    if page.count > limit, let last = page.last, !bytes.lexicographicallyPrecedes(last) { return }
                    let id = Array(bytes)
                    let position = page.partitioningIndex { id.lexicographicallyPrecedes($0) }
                    page.insert(id, at: position)
                    if page.count > limit + 1 { page.removeLast() }
                }
                return true
            }
            let more = page.count > limit
            return (page.prefix(limit).map { String(decoding: $0, as: UTF8.self) }, more)
        }
        return (ids, more ? ids.last : nil)
    }

    /// Every matching customer id in ascending byte order (for exports).
    public func allMembers(_ rule: Rule, asOf: Timestamp) -> [String] {
        lock.reading {
            var ids: [[UInt8]] = []
            storage.evaluate(rule, asOf: asOf).forEach { row in
                ids.append(storage.ids.withBytes(UInt32(row + 1)) { Array($0) })
                return true
            }
            ids.sort { $0.lexicographicallyPrecedes($1) }
            return ids.map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

extension Array {
    /// The first index whose element satisfies `belongsAfter`, for an array partitioned by it.
    fileprivate func partitioningIndex(where belongsAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// The columns themselves. Row `r` is the customer whose id has code `r + 1` in `ids`.
struct IndexStorage {
    var ids = StringDictionary()
    var alive = Bitset(count: 0)
    var strings = [StringDictionary](repeating: StringDictionary(), count: StringColumn.allCases.count)
    var stringCodes = [[UInt32]](repeating: [], count: StringColumn.allCases.count)
    var numbers = [[Int64]](repeating: [], count: NumericColumn.allCases.count)
    /// One-byte codes of `numbers`, column by column, for range conditions.
    var buckets = [ValueBuckets](repeating: ValueBuckets(), count: NumericColumn.allCases.count)
    /// Rows when the buckets' edges were last chosen: they are chosen again once the rows have grown fourfold.
    private var bucketedRows = 0
    /// Numeric columns whose edges are to be chosen again (`takeColumnsNeedingEdges`): every one once the rows have
    /// grown fourfold, and one of whose codes has filled up; `crowdedColumns` of them for the latter reason.
    private var columnsNeedingEdges: [Int] = []
    private var crowdedColumns = 0
    /// While an index is built from the store, rows are not coded one by one: every column is coded once at the
    /// end (`finishBuild`), on every core.
    var buildingFromStore = false
    var tags = TagColumn()
    /// Attribute columns by key.
    var attributes: [String: AttributeColumn] = [:]

    var rowCount: Int { ids.count }

    /// Rows the columns have room for (`reserveCapacity`): beyond them, appending a row reallocates them.
    var reservedRows = 0

    mutating func reserveCapacity(_ rows: Int) {
        for part in growingParts(rows: rows) { part.grow(&self) }
        reservedRows = rows
    }

    /// A part of the storage that grows with the rows, and how to make room in it: in place (`grow`), or in a copy
    /// made aside whose closure swaps it in, handing the old part out to be freed when the closure is
    /// (`grownCopy`): a live index makes room outside its lock part by part, holding one part twice at a time.
    struct GrowingPart {
        let grow: (inout IndexStorage) -> Void
        let grownCopy: (IndexStorage) -> (inout IndexStorage) -> Void

        init<Part>(_ path: WritableKeyPath<IndexStorage, Part>, _ reserve: @escaping (inout Part) -> Void) {
            grow = { reserve(&$0[keyPath: path]) }
            grownCopy = { storage in
                var part = storage[keyPath: path]
                reserve(&part)
                return { swap(&$0[keyPath: path], &part) }
            }
        }
    }

    /// The fewest rows any per-row column has room for.
    var leastRowCapacity: Int {
        var least = min(alive.rowCapacity, tags.start.capacity, tags.count.capacity)
        for column in stringCodes { least = min(least, column.capacity) }
        for column in numbers { least = min(least, column.capacity) }
        for column in buckets { least = min(least, column.codes.capacity) }
        for column in attributes.values { least = min(least, column.codes.capacity) }
        return least
    }

    /// Every part that grows with the rows, with room for `rows` rows: what a row of every column takes, and what
    /// grows with the rows it is spread over (a column of one value per customer, e-mail, as fast as the rows, a
    /// column of cities hardly; the tags' arena with the tags per row).
    func growingParts(rows: Int) -> [GrowingPart] {
        var parts = [
            GrowingPart(\.ids) { $0.reserveCapacity(rows) },
            GrowingPart(\.alive) { $0.reserveCapacity(rows) },
            GrowingPart(\.tags.start) { $0.reserveCapacity(rows) },
            GrowingPart(\.tags.count) { $0.reserveCapacity(rows) },
        ]
        for column in stringCodes.indices {
            parts.append(GrowingPart(\.stringCodes[column]) { $0.reserveCapacity(rows) })
        }
        for column in numbers.indices { parts.append(GrowingPart(\.numbers[column]) { $0.reserveCapacity(rows) }) }
        for column in buckets.indices { parts.append(GrowingPart(\.buckets[column]) { $0.reserveCapacity(rows) }) }
        for key in attributes.keys {
            parts.append(GrowingPart(\.attributes[key]!.codes) { $0.reserveCapacity(rows) })
        }
        if rowCount > 0 {
            for column in strings.indices {
                let entries = strings[column].count * rows / rowCount + 1
                parts.append(GrowingPart(\.strings[column]) { $0.reserveCapacity(entries) })
            }
            let tagged = tags.arena.count * rows / rowCount + 1
            parts.append(GrowingPart(\.tags.arena) { $0.reserveCapacity(tagged) })
        }
        return parts
    }

    mutating func upsert(_ customer: CustomerState) {
        let row: Int
        if let code = ids.code(of: customer.customerID) {
            row = Int(code) - 1
        } else {
            row = Int(ids.intern(customer.customerID)) - 1
            alive.grow(to: row + 1)
            for column in stringCodes.indices { stringCodes[column].append(0) }
            for column in numbers.indices { numbers[column].append(missingValue) }
            for column in buckets.indices { buckets[column].appendMissing() }
            if !buildingFromStore && rowCount >= max(64, 4 * bucketedRows) {
                bucketedRows = rowCount
                columnsNeedingEdges = Array(buckets.indices)
            }
            // Mutated by key over a copy of the keys: walking the dictionary while changing it would copy it whole.
            for key in Array(attributes.keys) { attributes[key]!.codes.append(0) }
            tags.appendRow()
        }
        if customer.isErased {
            alive[row] = false
            tags.set([], row: row)
            for key in Array(attributes.keys) { attributes[key]!.set(nil, row: row) }
            for column in StringColumn.allCases { stringCodes[column.rawValue][row] = 0 }
            for column in NumericColumn.allCases {
                numbers[column.rawValue][row] = missingValue
                _ = buckets[column.rawValue].set(missingValue, at: row)
            }
            return
        }
        alive[row] = true
        for column in StringColumn.allCases {
            stringCodes[column.rawValue][row] =
                column.value(of: customer).map {
                    strings[column.rawValue].intern($0.indexFolded)
                } ?? 0
        }
        for column in NumericColumn.allCases {
            let value = column.value(of: customer)
            numbers[column.rawValue][row] = value
            if !buildingFromStore && buckets[column.rawValue].set(value, at: row)
                && !columnsNeedingEdges.contains(column.rawValue)
            {
                // One code holds far more than its share (new times beyond the last edge): new edges will split it.
                columnsNeedingEdges.append(column.rawValue)
                crowdedColumns += 1
            }
        }
        tags.set(customer.tags, row: row)
        // Columns the customer has no value for are cleared; when the customer has every column, none is.
        if attributes.count != customer.attributes.count
            || customer.attributes.keys.contains(where: { attributes[$0] == nil })
        {
            for name in Array(attributes.keys) where customer.attributes[name] == nil {
                attributes[name]!.set(nil, row: row)
            }
        }
        for (name, value) in customer.attributes {
            if attributes[name] == nil { attributes[name] = AttributeColumn(rows: rowCount, capacity: reservedRows) }
            attributes[name]!.set(AttributeCell(value), row: row)
        }
    }

    /// The edges of `columns` chosen from `numbers` and every row coded with them, the columns spread over the
    /// cores; with room for `rows` rows (`reservedRows`), so that the next new row does not grow them under the lock.
    static func chooseEdges(of columns: [Int], from numbers: [[Int64]], rows: Int) -> [ValueBuckets] {
        var chosen = [ValueBuckets](repeating: ValueBuckets(), count: columns.count)
        chosen.withUnsafeMutableBufferPointer { chosen in
            // Each thread writes only the buckets of its own column.
            let shared = UncheckedSendable(chosen)
            DispatchQueue.concurrentPerform(iterations: columns.count) { place in
                shared.value[place].reserveCapacity(rows)
                numbers[columns[place]].withUnsafeBufferPointer { shared.value[place].choose(from: $0) }
            }
        }
        return chosen
    }

    /// The numeric columns whose edges are to be chosen again, and how many of them because a code filled up;
    /// forgets them.
    mutating func takeColumnsNeedingEdges() -> (columns: [Int], crowded: Int) {
        defer {
            columnsNeedingEdges.removeAll()
            crowdedColumns = 0
        }
        return (columnsNeedingEdges, crowdedColumns)
    }

    /// Ends a build from the store: codes every column.
    mutating func finishBuild() {
        buildingFromStore = false
        let columns = Array(buckets.indices)
        buckets = []  // the build's placeholder codes go before the chosen ones are made
        buckets = Self.chooseEdges(of: columns, from: numbers, rows: reservedRows)
        bucketedRows = rowCount
    }

    var byteCount: Int {
        ids.byteCount + alive.byteCount + strings.reduce(0) { $0 + $1.byteCount }
            + stringCodes.reduce(0) { $0 + $1.capacity * 4 } + numbers.reduce(0) { $0 + $1.capacity * 8 }
            + buckets.reduce(0) { $0 + $1.byteCount }
            + tags.byteCount + attributes.values.reduce(0) { $0 + $1.byteCount }
    }
}

/// Recent previews of one index version, by rule, moment and sample size; emptied when the version moves on and
/// when it holds `capacity` answers.
struct PreviewCache {
    struct Key: Hashable {
        let fingerprint: String
        let asOf: Int64
        let sampleSize: Int
    }

    static let capacity = 256
    private var version: UInt64 = 0
    private var answers: [Key: (count: Int, sample: [String])] = [:]
    private(set) var hits = 0
    private(set) var misses = 0

    mutating func answer(_ key: Key, version: UInt64) -> (count: Int, sample: [String])? {
        guard version == self.version, let answer = answers[key] else {
            misses += 1
            return nil
        }
        hits += 1
        return answer
    }

    mutating func store(_ answer: (count: Int, sample: [String]), for key: Key, version: UInt64) {
        if version != self.version || answers.count >= Self.capacity {
            answers.removeAll(keepingCapacity: true)
            self.version = version
        }
        answers[key] = answer
    }
}
