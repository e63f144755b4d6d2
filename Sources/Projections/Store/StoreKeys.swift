import Crypto
import Foundation
import EventLog
import Events

/// Key layouts of the read-model databases. Ids are length-prefixed so that a prefix scan over one
/// customer's entries can never run into another customer whose id merely starts the same way.
enum StoreKeys {
    static func id(_ value: String) -> [UInt8] { Array(value.utf8) }

    /// LMDB's default key order (bytes, then length) with `memcmp`, not the generic `lexicographicallyPrecedes`,
    /// which goes element by element: every key comparison of a batch's sort comes here.
    static func precedes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        let common = min(x.count, y.count)
        let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
        return order != 0 ? order < 0 : x.count < y.count
    }

    /// `precedes` for keys held in arrays.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in precedes(x, y) } }
    }

    /// The order of `id(a)` and `id(b)`, without building them.
    static func idPrecedes(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        return a.withUTF8 { x in b.withUTF8 { y in precedes(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) } }
    }

    /// The order of `prefix(a)` and `prefix(b)` (length first), without building them.
    static func prefixPrecedes(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.utf8.count, b.utf8.count)
        return x != y ? x < y : idPrecedes(a, b)
    }

    /// Whether `id` can be a key at all: LMDB takes 1…511 bytes. Lookups of anything else find nothing (instead
    /// of failing), whatever a client sends.
    static func isStorable(_ id: String) -> Bool { (1...400).contains(id.utf8.count) }

    /// `len(id) (UInt16 BE) ‖ id`: the prefix of everything filed under one entity.
    static func prefix(_ value: String) -> [UInt8] {
        let bytes = Array(value.utf8)
        return [UInt8(truncatingIfNeeded: bytes.count >> 8), UInt8(truncatingIfNeeded: bytes.count)] + bytes
    }

    static func order(customerID: String, orderID: String) -> [UInt8] { prefix(customerID) + Array(orderID.utf8) }

    /// `order(…)` written into `key`, reusing its storage.
    static func order(customerID: String, orderID: String, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        appendPrefix(customerID, to: &key)
        key.append(contentsOf: orderID.utf8)
    }

    static func customerMessage(customerID: String, messageID: String) -> [UInt8] {
        prefix(customerID) + Array(messageID.utf8)
    }

    /// `prefix(customer) ‖ time ‖ position`: a customer's timeline in time order, ties broken by log position.
    static func timeline(customerID: String, time: Timestamp, position: RecordPosition) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(customerID.utf8.count + position.topic.utf8.count + 16)
        timeline(customerID: customerID, time: time, position: position, into: &key)
        return key
    }

    /// `timeline(…)` written into `key`, reusing its storage (the fold builds one per event).
    static func timeline(customerID: String, time: Timestamp, position: RecordPosition, into key: inout [UInt8]) {
        timeline(
            customerID: customerID, time: time.microseconds, topic: position.topic, partition: position.partition,
            offset: position.offset, into: &key)
    }

    /// `timeline(…)` from the parts of the position, with the time in microseconds.
    static func timeline(
        customerID: String, time: Int64, topic: String, partition: Int32, offset: Int64, into key: inout [UInt8]
    ) {
        key.removeAll(keepingCapacity: true)
        appendPrefix(customerID, to: &key)
        append(UInt64(bitPattern: time) ^ (1 << 63), to: &key)  // sign flip: byte order = time order
        appendPrefix(topic, to: &key)
        append(UInt32(bitPattern: partition), to: &key)
        append(UInt64(offset), to: &key)
    }

    static func appendPrefix(_ value: String, to key: inout [UInt8]) {
        let utf8 = value.utf8
        key.append(UInt8(truncatingIfNeeded: utf8.count >> 8))
        key.append(UInt8(truncatingIfNeeded: utf8.count))
        key.append(contentsOf: utf8)
    }

    static func position(_ position: RecordPosition) -> [UInt8] {
        var key = prefix(position.topic)
        append(UInt32(bitPattern: position.partition), to: &key)
        append(UInt64(position.offset), to: &key)
        return key
    }

    static func partition(_ partition: TopicPartition) -> [UInt8] {
        var key = prefix(partition.topic)
        append(UInt32(bitPattern: partition.partition), to: &key)
        return key
    }

    static func decodePartition(_ bytes: UnsafeRawBufferPointer) -> TopicPartition? {
        guard bytes.count >= 2 else { return nil }
        let length = Int(bytes[0]) << 8 | Int(bytes[1])
        guard bytes.count == 2 + length + 4 else { return nil }
        let topic = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[2..<2 + length]), as: UTF8.self)
        let partition = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 2 + length, as: UInt32.self))
        return TopicPartition(topic: topic, partition: Int32(bitPattern: partition))
    }

    static func append<T: FixedWidthInteger>(_ value: T, to key: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { key.append(contentsOf: $0) }
    }

    static func int64(_ value: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return bytes
    }

    static func readInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count == 8 else { return nil }
        return Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
    }
}

/// One entry of a customer's timeline: which event, when, and where it is in the log (the full event is there).
///
/// Time and position live in the key; the value is only the type's index and the event id, keeping the many
/// timeline pages small.
public struct TimelineEntry: Sendable, Equatable {
    public let time: Timestamp
    public let type: EventType
    public let eventID: String
    public let position: RecordPosition

    init(time: Timestamp, type: EventType, eventID: String, position: RecordPosition) {
        self.time = time
        self.type = type
        self.eventID = eventID
        self.position = position
    }

    /// Each type's byte in a timeline value: its position in `EventType.allCases`. Found by comparing cases, a
    /// handful of byte compares: asked once per event of a replay, a dictionary's hashing cost more.
    static func typeCode(_ type: EventType) -> UInt8 {
        UInt8(typesByCode.firstIndex(of: type)!)
    }
    static let typesByCode = EventType.allCases

    func encodedValue() -> [UInt8] {
        var value: [UInt8] = []
        Self.encodeValue(type: type, eventID: eventID, into: &value)
        return value
    }

    /// The stored value of an entry written into `value`, reusing its storage.
    static func encodeValue(type: EventType, eventID: String, into value: inout [UInt8]) {
        value.removeAll(keepingCapacity: true)
        appendValue(type: type, eventID: eventID, to: &value)
    }

    /// The stored value of an entry appended to `value`.
    static func appendValue(type: EventType, eventID: String, to value: inout [UInt8]) {
        value.append(typeCode(type))
        value.append(contentsOf: eventID.utf8)
    }

    /// Rebuilds an entry from its key (`prefix(customer) ‖ time ‖ prefix(topic) ‖ partition ‖ offset`) and
    /// its value.
    init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        var cursor = 2 + (Int(key[0]) << 8 | Int(key[1]))
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard cursor + MemoryLayout<T>.size <= key.count else { throw BinaryReader.Corrupt() }
            defer { cursor += MemoryLayout<T>.size }
            return T(bigEndian: key.loadUnaligned(fromByteOffset: cursor, as: T.self))
        }
        let time = Int64(bitPattern: try read(UInt64.self) ^ (1 << 63))
        let topicLength = Int(try read(UInt16.self))
        guard cursor + topicLength <= key.count, let typeIndex = value.first, Int(typeIndex) < Self.typesByCode.count
        else { throw BinaryReader.Corrupt() }
        let topic = String(
            decoding: UnsafeRawBufferPointer(rebasing: key[cursor..<cursor + topicLength]), as: UTF8.self)
        cursor += topicLength
        let partition = Int32(bitPattern: try read(UInt32.self))
        let offset = Int64(try read(UInt64.self))
        self.init(
            time: Timestamp(microseconds: time), type: Self.typesByCode[Int(typeIndex)],
            eventID: String(decoding: value.dropFirst(), as: UTF8.self),
            position: RecordPosition(topic: topic, partition: partition, offset: offset))
    }
}

extension StoreKeys {
    /// The dedup key of an event id: the id itself, so that time-ordered ids (ULIDs, UUIDv7, sequences) insert
    /// next to each other instead of at random B-tree pages; a hash only for ids too long for an LMDB key.
    /// Written into `key`, reusing its storage.
    static func eventID(_ id: String, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        appendEventID(id, to: &key)
    }

    /// `eventID(…)` appended to `key`.
    static func appendEventID(_ id: String, to key: inout [UInt8]) {
        let utf8 = id.utf8
        if utf8.count <= eventIDBytesMax {
            key.append(0)
            key.append(contentsOf: utf8)
        } else {
            key.append(1)
            key.append(contentsOf: SHA256.hash(data: Array(utf8)))
        }
    }
}

extension StoreKeys {
    /// The longest event id kept as its own dedup key.
    static let eventIDBytesMax = 400

    /// `ByteTable.hash` of `order(customerID:orderID:)`, built on the stack.
    static func orderHash(customerID: String, orderID: String) -> UInt64 {
        let (customer, order) = (customerID.utf8.count, orderID.utf8.count)
        return withUnsafeTemporaryAllocation(byteCount: 2 + customer + order, alignment: 1) { key in
            key[0] = UInt8(truncatingIfNeeded: customer >> 8)
            key[1] = UInt8(truncatingIfNeeded: customer)
            UnsafeMutableRawBufferPointer(rebasing: key[2..<2 + customer]).copyBytes(from: customerID.utf8)
            UnsafeMutableRawBufferPointer(rebasing: key[(2 + customer)...]).copyBytes(from: orderID.utf8)
            return ByteTable.hash(UnsafeRawBufferPointer(key))
        }
    }

    /// `ByteTable.hash` of `eventID(id)`, built on the stack.
    static func eventIDHash(_ id: String) -> UInt64 {
        let count = id.utf8.count
        guard count <= eventIDBytesMax else {
            var key: [UInt8] = []
            eventID(id, into: &key)
            return key.withUnsafeBytes(ByteTable.hash)
        }
        return withUnsafeTemporaryAllocation(byteCount: count + 1, alignment: 1) { key in
            key[0] = 0
            UnsafeMutableRawBufferPointer(rebasing: key[1...]).copyBytes(from: id.utf8)
            return ByteTable.hash(UnsafeRawBufferPointer(key))
        }
    }
}

/// A record that could not be folded, as kept in the read model (the dead-letter topic has the bytes).
public struct DeadLetterEntry: Sendable, Equatable {
    public let position: RecordPosition
    public let reason: String

    /// The stored value of the entry for the record at `position`.
    static func encodedValue(position: RecordPosition, reason: String) -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(position.topic)
        writer.write(Int64(position.partition))
        writer.write(position.offset)
        writer.write(reason)
        return writer.bytes
    }
}
