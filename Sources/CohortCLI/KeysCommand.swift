import API
import ArgumentParser
import CohortConfig
import CommandSupport
import EventLog
import Events
import Foundation
import Logging

/// `cohort keys`: API keys for the HTTP API, kept as records in the log so that every node sees them. Only a
/// SHA-256 of each key is stored.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys (records in the log's cohort.keys topic, hashed).",
        discussion: """
            Works on the configured log (--data for the embedded one, --brokers for Kafka), also while nodes run: \
            they follow the topic and see a new or revoked key within a second.
            """,
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self])

    /// Opens the configured log and its keys, runs `body`, closes the log.
    static func withKeys<Result>(
        _ options: ConfigOptions, _ body: (APIKeyStore) async throws -> Result
    ) async throws -> Result {
        let configuration = try options.load()
        let logger = LoggingSetup.logger("cohort.keys", level: configuration.logLevel)
        let log = try await NodeWiring.openLog(configuration, logger: logger)
        do {
            let result = try await body(try await NodeWiring.keys(configuration, log: log, logger: logger))
            await log.close()
            return result
        } catch {
            await log.close()
            throw error
        }
    }

    static var now: Timestamp { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6)) }
}

struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key and print it once on stdout.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Comma-separated scopes: ingest, read, campaigns, admin.") var scope: String
    @Option(help: "A name to recognise the key by.") var name = ""

    func scopes() throws -> Set<Scope> {
        var scopes: Set<Scope> = []
        for part in scope.split(separator: ",") {
            guard let parsed = Scope(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError(
                    "unknown scope \"\(part)\"; expected \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scopes.insert(parsed)
        }
        guard !scopes.isEmpty else { throw ValidationError("--scope needs at least one scope") }
        return scopes
    }

    func validate() throws {
        _ = try scopes()
        guard name.utf8.count <= 200 else { throw ValidationError("--name is at most 200 bytes") }
    }

    func run() async throws {
        let scopes = try scopes()
        let (secret, record) = try await KeysCommand.withKeys(options) { keys in
            try await keys.create(name: name, scopes: scopes, now: KeysCommand.now)
        }
        Output.error(
            "keys: created \(record.id) with scopes \(record.scopes.sorted().map(\.rawValue).joined(separator: ",")); "
                + "it is shown only now")
        Output.line(secret)
    }
}

struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (ids, never secrets).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        for record in try await KeysCommand.withKeys(options, { $0.list() }) {
            Output.line(
                "\(record.id)\t\(record.scopes.sorted().map(\.rawValue).joined(separator: ","))\t"
                    + "\(record.createdAt)\t\(record.name)")
        }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key by its id.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The key id shown by `cohort keys list`.") var id: String

    func run() async throws {
        guard try await KeysCommand.withKeys(options, { try await $0.revoke(id: id, now: KeysCommand.now) }) else {
            Output.error("keys: no key \"\(id)\"")
            throw ExitCode(1)
        }
        Output.error("keys: revoked \(id)")
    }
}
