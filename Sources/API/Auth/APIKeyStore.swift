import Crypto
import Events
import Foundation

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

/// Why a key file cannot be used.
public struct APIKeyFileError: Error, CustomStringConvertible {
    public let description: String
}

/// API keys in `<data.dir>/api-keys.json`, written atomically. A running server rereads the file when it changes,
/// so `cohort keys create` takes effect without a restart.
public final class APIKeyStore: @unchecked Sendable {
    // @unchecked Sendable: `keys` and `loadedModification` are guarded by `lock`.

    public let path: String
    private let lock = NSLock()
    private var keys: [String: APIKeyRecord] = [:]
    private var loadedModification: Date?
    private var lastChecked: ContinuousClock.Instant?
    /// At most this many keys: the file is read whole.
    public static let keysMax = 10_000
    static let prefix = "ck_"

    /// The store in `path`, creating nothing until a key is added.
    public init(path: String) throws {
        self.path = path
        try reloadIfChanged()
    }

    /// All keys, by id.
    public func list() throws -> [APIKeyRecord] {
        try reloadIfChanged()
        return lock.withLock { keys.values.sorted { $0.id < $1.id } }
    }

    /// Creates a key with `scopes`, stores its hash and returns the secret (shown once).
    public func create(name: String, scopes: Set<Scope>, now: Timestamp) throws -> (
        secret: String, record: APIKeyRecord
    ) {
        try reloadIfChanged()
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = Self.prefix + Self.hex(bytes)
        let record = APIKeyRecord(
            id: String(secret.dropFirst(Self.prefix.count).prefix(8)), name: name, sha256: Self.hash(secret),
            scopes: scopes, createdAt: now)
        try lock.withLock {
            guard keys.count < Self.keysMax else { throw APIKeyFileError(description: "at most \(Self.keysMax) keys") }
            keys[record.sha256] = record
            try write()
        }
        return (secret, record)
    }

    /// Removes the key with `id`; returns whether there was one.
    public func revoke(id: String) throws -> Bool {
        try reloadIfChanged()
        return try lock.withLock {
            guard let hash = keys.first(where: { $0.value.id == id })?.key else { return false }
            keys[hash] = nil
            try write()
            return true
        }
    }

    /// The key whose secret is `secret`, if any.
    public func authenticate(_ secret: String) -> APIKeyRecord? {
        try? reloadIfChanged()
        guard secret.hasPrefix(Self.prefix), secret.utf8.count <= 256 else { return nil }
        return lock.withLock { keys[Self.hash(secret)] }
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

    /// Looks at the file at most once a second: a key created or revoked takes effect within a second.
    private func reloadIfChanged() throws {
        let now = ContinuousClock.now
        let due = lock.withLock {
            guard lastChecked.map({ now - $0 < .seconds(1) }) != true else { return false }
            lastChecked = now
            return true
        }
        guard due else { return }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes?[.modificationDate] as? Date
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        let changed = lock.withLock { modified != loadedModification }
        guard changed else { return }
        guard let modified else {
            lock.withLock { keys = [:] }
            return
        }
        guard size <= 16 << 20, let data = FileManager.default.contents(atPath: path) else {
            throw APIKeyFileError(description: "\(path): unreadable or larger than 16 MiB")
        }
        let parsed = try Self.parse(data)
        lock.withLock {
            keys = parsed
            loadedModification = modified
        }
    }

    private static func parse(_ data: Data) throws -> [String: APIKeyRecord] {
        guard case .object(let root) = try? JSONParser.parse(Array(data)), case .array(let items) = root["keys"] else {
            throw APIKeyFileError(description: "api key file: expected {\"keys\": [...]}")
        }
        var result: [String: APIKeyRecord] = [:]
        for item in items {
            guard let object = item.objectValue, let id = object["id"]?.stringValue,
                let hash = object["sha256"]?.stringValue, case .array(let scopeValues) = object["scopes"],
                let created = object["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            else { throw APIKeyFileError(description: "api key file: malformed entry") }
            let scopes = Set(scopeValues.compactMap { $0.stringValue.flatMap(Scope.init(rawValue:)) })
            result[hash] = APIKeyRecord(
                id: id, name: object["name"]?.stringValue ?? "", sha256: hash, scopes: scopes, createdAt: created)
        }
        return result
    }

    /// Writes every key to a temporary file, then renames it over the old one (called with `lock` held).
    private func write() throws {
        let items: [JSONValue] = keys.values.sorted { $0.id < $1.id }.map { record in
            .object(
                JSONObject([
                    ("id", .string(record.id)), ("name", .string(record.name)), ("sha256", .string(record.sha256)),
                    ("scopes", .array(record.scopes.sorted().map { .string($0.rawValue) })),
                    ("created_at", .string(record.createdAt.description)),
                ]))
        }
        let text = JSONValue.object(JSONObject([("keys", .array(items))])).prettyText + "\n"
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        // Written and fsynced before the rename, so a crash leaves the old file or the new one, never half of one.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw APIKeyFileError(description: "cannot write \(temporary)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced else { throw APIKeyFileError(description: "cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else { throw APIKeyFileError(description: "cannot replace \(path)") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        loadedModification = attributes?[.modificationDate] as? Date
    }
}
