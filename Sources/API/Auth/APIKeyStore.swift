import Crypto
import EventLog
import Events
import Foundation
import Logging

/// What an API key may do.
public enum Scope: String, Sendable, CaseIterable, Comparable {
    case ingest, read, campaigns, admin

    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One stored key: only the SHA-256 of the secret is kept, never the secret.
public struct APIKeyRecord: Sendable, Equatable {
    /// A public handle for listing and revoking (the first characters after the prefix).
    public let id: String
    public let name: String
    public let sha256: String
    public let scopes: Set<Scope>
    public let createdAt: Timestamp
}

/// Why a key cannot be created, revoked or imported.
public struct APIKeyFileError: Error, CustomStringConvertible {
    public let description: String
}

/// API keys as records in the log (topic `cohort.keys`, prefixed like every topic), so that every node of a
/// deployment sees the same keys: `created` carries a key's id, name, scopes and the SHA-256 of its secret (never the
/// secret), `revoked` its id. Each node reads the topic from the start when it opens, then follows it (`follow`), so
/// a key created or revoked by `cohort keys` on any machine takes effect on every node within a poll. The topic also
/// carries `spent` records of one-time sign-in tokens (`spendOnce`), so that a link is used once per deployment,
/// not once per node. Malformed records are counted and skipped.
public final class APIKeyStore: @unchecked Sendable {
    // @unchecked Sendable: `keys`, `positions` and the counters are guarded by `lock`.

    /// The topic's name before `topics.prefix`.
    public static let defaultTopic = "cohort.keys"
    /// At most this many live keys; `created` records beyond are skipped.
    public static let keysMax = 10_000
    static let prefix = "ck_"
    /// A record is a few hundred bytes; anything far larger is not one of ours.
    static let recordBytesMax = 64 << 10

    private let log: any EventLog
    private let topic: String
    private let logger: Logger
    private let lock = NSLock()
    /// Live keys by the SHA-256 of their secret.
    private var keys: [String: APIKeyRecord] = [:]
    /// Ids revoked so far: a `created` record for one of them (a redelivery, an old import) stays revoked.
    private var revoked: Set<String> = []
    /// One-time tokens spent (sign-in links, sign-in states): the position of the first `spent` record of each id,
    /// kept until the token would have expired.
    private var spent: [String: (position: RecordPosition, until: Double)] = [:]
    private var positions: [TopicPartition: Int64] = [:]
    private var skippedRecords = 0

    /// The keys of `log`, read from the start of `topic` up to its end now.
    public init(log: any EventLog, topic: String, logger: Logger = Logger(label: "cohort.keys")) async throws {
        self.log = log
        self.topic = topic
        self.logger = logger
        positions = try await log.allPartitions(of: [topic])
        try await catchUp()
    }

    /// Records skipped as malformed so far.
    public var skipped: Int { lock.withLock { skippedRecords } }

    /// All live keys, by id.
    public func list() -> [APIKeyRecord] {
        lock.withLock { keys.values.sorted { $0.id < $1.id } }
    }

    /// Creates a key with `scopes`, appends its record (durable when this returns) and returns the secret, which is
    /// shown once and stored nowhere.
    public func create(name: String, scopes: Set<Scope>, now: Timestamp) async throws -> (
        secret: String, record: APIKeyRecord
    ) {
        guard lock.withLock({ keys.count }) < Self.keysMax else {
            throw APIKeyFileError(description: "at most \(Self.keysMax) keys")
        }
        let (secret, record) = Self.newKey(name: name, scopes: scopes, now: now)
        _ = try await log.append([Self.createdRecord(record, topic: topic)])
        lock.withLock { applyLocked(.created(record), at: nil) }
        return (secret, record)
    }

    /// Appends the revocation of the key with `id`; returns whether there was one.
    public func revoke(id: String, now: Timestamp) async throws -> Bool {
        guard lock.withLock({ keys.values.contains { $0.id == id } }) else { return false }
        let value = JSONValue.object(
            JSONObject([("type", .string("revoked")), ("id", .string(id)), ("at", .string(now.description))]))
        _ = try await log.append([OutgoingRecord(topic: topic, key: Array(id.utf8), value: Array(value.serialized()))])
        lock.withLock { applyLocked(.revoked(id), at: nil) }
        return true
    }

    /// Spends the one-time token `id` (valid until `until`, seconds since 1970) for the whole deployment: true for
    /// the first spender, false when any node spent it before. The claim is a record in the log; the first one for
    /// the id wins, so two nodes claiming at once agree on one of them.
    public func spendOnce(_ id: String, until: Double) async throws -> Bool {
        if lock.withLock({ spent[id] }) != nil { return false }
        let value = JSONValue.object(
            JSONObject([
                ("type", .string("spent")), ("id", .string(id)),
                ("until", .number(JSONNumber(lexeme: String(Int64(until.rounded(.up))))!)),
            ]))
        let appended = try await log.append([
            OutgoingRecord(topic: topic, key: Array(id.utf8), value: Array(value.serialized()))
        ])
        guard let mine = appended.first else { return false }
        let partition = TopicPartition(topic: mine.topic, partition: mine.partition)
        // Read up to this claim: an earlier claim of the same id (same key, same partition) is then known.
        while lock.withLock({ positions[partition, default: 0] }) <= mine.offset { try await catchUp() }
        return lock.withLock { spent[id]?.position == mine }
    }

    /// The key whose secret is `secret`, if any.
    public func authenticate(_ secret: String) -> APIKeyRecord? {
        guard secret.hasPrefix(Self.prefix), secret.utf8.count <= 256 else { return nil }
        return lock.withLock { keys[Self.hash(secret)] }
    }

    /// Reads the topic up to its end now.
    public func catchUp() async throws {
        var ends: [TopicPartition: Int64] = [:]
        for partition in lock.withLock({ Array(positions.keys) }) {
            ends[partition] = try await log.watermarks(partition).high
        }
        let start = lock.withLock { positions }
        guard ends.contains(where: { $0.value > start[$0.key, default: 0] }) else { return }
        let reader = try await log.makeReader(startingAt: start)
        do {
            while behind(ends) {
                let records = try await reader.poll(maxRecords: 1_000, timeoutMs: 1_000)
                if records.isEmpty { break }
                apply(records)
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
    }

    /// Whether any partition is short of its end in `ends`.
    private func behind(_ ends: [TopicPartition: Int64]) -> Bool {
        let read = lock.withLock { positions }
        return ends.contains { $0.value > read[$0.key, default: 0] }
    }

    /// Applies the topic's new records as they come, until the task is cancelled. A failing read (a broker outage)
    /// is logged and retried from where it stopped, a second later: the keys known so far stay in force meanwhile.
    public func follow(pollMs: Int = 250) async {
        while !Task.isCancelled {
            do {
                let reader = try await log.makeReader(startingAt: lock.withLock { positions })
                do {
                    while !Task.isCancelled { apply(try await reader.poll(maxRecords: 1_000, timeoutMs: pollMs)) }
                } catch {
                    await reader.close()
                    throw error
                }
                await reader.close()
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("reading the API keys failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Imports the keys of a `<data.dir>/api-keys.json` written by an earlier version: each key not yet in the log
    /// is appended as created, then the file is renamed to `api-keys.json.imported`. Returns how many were appended.
    public func importLegacyFile(_ path: String) async throws -> Int {
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard ((attributes?[.size] as? NSNumber)?.intValue ?? 0) <= 16 << 20,
            let data = FileManager.default.contents(atPath: path)
        else { throw APIKeyFileError(description: "\(path): unreadable or larger than 16 MiB") }
        let known = lock.withLock { Set(keys.values.map(\.id)).union(revoked) }
        let fresh = try Self.parseLegacy(data).filter { !known.contains($0.id) }
        if !fresh.isEmpty { _ = try await log.append(fresh.map { Self.createdRecord($0, topic: topic) }) }
        lock.withLock { for record in fresh { applyLocked(.created(record), at: nil) } }
        guard rename(path, path + ".imported") == 0 else {
            throw APIKeyFileError(description: "cannot rename \(path) after importing it")
        }
        return fresh.count
    }

    // MARK: Records

    /// A new secret and its record (id, name, scopes, hash, time); nothing is stored.
    public static func newKey(name: String, scopes: Set<Scope>, now: Timestamp) -> (
        secret: String, record: APIKeyRecord
    ) {
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = prefix + hex(bytes)
        let record = APIKeyRecord(
            id: String(secret.dropFirst(prefix.count).prefix(8)), name: name, sha256: hash(secret), scopes: scopes,
            createdAt: now)
        return (secret, record)
    }

    /// The log record saying `record` was created.
    public static func createdRecord(_ record: APIKeyRecord, topic: String) -> OutgoingRecord {
        let value = JSONValue.object(
            JSONObject([
                ("type", .string("created")), ("id", .string(record.id)), ("name", .string(record.name)),
                ("sha256", .string(record.sha256)),
                ("scopes", .array(record.scopes.sorted().map { .string($0.rawValue) })),
                ("created_at", .string(record.createdAt.description)),
            ]))
        return OutgoingRecord(topic: topic, key: Array(record.id.utf8), value: Array(value.serialized()))
    }

    /// What one record does.
    private enum Effect {
        case created(APIKeyRecord)
        case revoked(String)
        case spent(String, until: Double)
        case malformed
    }

    private static func effect(of record: LogRecord) -> Effect {
        guard record.value.count <= recordBytesMax, case .object(let object)? = try? JSONParser.parse(record.value),
            let id = object["id"]?.stringValue
        else { return .malformed }
        switch object["type"]?.stringValue {
        case "created":
            guard let hash = object["sha256"]?.stringValue, case .array(let scopeValues)? = object["scopes"],
                let created = object["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            else { return .malformed }
            let scopes = Set(scopeValues.compactMap { $0.stringValue.flatMap(Scope.init(rawValue:)) })
            return .created(
                APIKeyRecord(
                    id: id, name: object["name"]?.stringValue ?? "", sha256: hash, scopes: scopes, createdAt: created))
        case "revoked":
            return .revoked(id)
        case "spent":
            guard case .number(let number)? = object["until"], let until = Double(number.lexeme) else {
                return .malformed
            }
            return .spent(id, until: until)
        default:
            return .malformed
        }
    }

    private func apply(_ records: [LogRecord]) {
        for record in records {
            let effect = Self.effect(of: record)
            let partition = TopicPartition(topic: record.topic, partition: record.partition)
            // A record's effect and the position after it move together, so that a reader starting at a position
            // finds everything before it applied. Two readers may apply the same record (`follow`, a spend's
            // `catchUp`); applying it again changes nothing.
            lock.withLock {
                applyLocked(effect, at: record.position)
                positions[partition] = max(positions[partition, default: 0], record.offset + 1)
            }
        }
    }

    /// Applies `effect` (of the record at `position`, when it came from the log); called with `lock` held.
    private func applyLocked(_ effect: Effect, at position: RecordPosition?) {
        switch effect {
        case .created(let record):
            guard !revoked.contains(record.id), keys.count < Self.keysMax || keys[record.sha256] != nil else { return }
            keys[record.sha256] = record
        case .revoked(let id):
            revoked.insert(id)
            keys = keys.filter { $0.value.id != id }
        case .spent(let id, let until):
            // The earliest claim in the log wins, in whatever order readers apply claims (an id's claims share a
            // partition: the id is their key).
            guard let position else { return }
            if spent[id].map({ position.offset < $0.position.offset }) ?? true { spent[id] = (position, until) }
            if spent.count > 10_000 {
                let now = Date().timeIntervalSince1970
                spent = spent.filter { $0.value.until > now }
            }
        case .malformed:
            skippedRecords += 1
        }
    }

    static func hash(_ secret: String) -> String { hex(Array(SHA256.hash(data: Array(secret.utf8)))) }

    /// Lower-case hex; on the path of every request, so no `String(format:)`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The keys of an `api-keys.json` of an earlier version.
    private static func parseLegacy(_ data: Data) throws -> [APIKeyRecord] {
        guard case .object(let root) = try? JSONParser.parse(Array(data)), case .array(let items) = root["keys"] else {
            throw APIKeyFileError(description: "api key file: expected {\"keys\": [...]}")
        }
        return try items.map { item in
            guard let object = item.objectValue, let id = object["id"]?.stringValue,
                let hash = object["sha256"]?.stringValue, case .array(let scopeValues) = object["scopes"],
                let created = object["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            else { throw APIKeyFileError(description: "api key file: malformed entry") }
            let scopes = Set(scopeValues.compactMap { $0.stringValue.flatMap(Scope.init(rawValue:)) })
            return APIKeyRecord(
                id: id, name: object["name"]?.stringValue ?? "", sha256: hash, scopes: scopes, createdAt: created)
        }
    }
}
