import API
import ArgumentParser
import CommandSupport
import Events
import Foundation

/// `cohort keys`: API keys for the HTTP API. Only a SHA-256 of each key is stored.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys (stored hashed in <data.dir>/api-keys.json).",
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self])
}

struct KeysCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key and print it once on stdout.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Comma-separated scopes: ingest, read, campaigns, admin.") var scope: String
    @Option(help: "A name to recognise the key by.") var name = ""

    func run() throws {
        let configuration = try options.load()
        var scopes: Set<Scope> = []
        for part in scope.split(separator: ",") {
            guard let parsed = Scope(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError(
                    "unknown scope \"\(part)\"; expected \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scopes.insert(parsed)
        }
        guard !scopes.isEmpty else { throw ValidationError("--scope needs at least one scope") }
        let store = try APIKeyStore(path: NodeWiring.keysPath(configuration))
        let now = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1e6))
        let (secret, record) = try store.create(name: name, scopes: scopes, now: now)
        Output.error(
            "keys: created \(record.id) with scopes \(record.scopes.sorted().map(\.rawValue).joined(separator: ",")); "
                + "it is shown only now")
        Output.line(secret)
    }
}

struct KeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (ids, never secrets).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try options.load()
        for record in try APIKeyStore(path: NodeWiring.keysPath(configuration)).list() {
            Output.line(
                "\(record.id)\t\(record.scopes.sorted().map(\.rawValue).joined(separator: ","))\t"
                    + "\(record.createdAt)\t\(record.name)")
        }
    }
}

struct KeysRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key by its id.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The key id shown by `cohort keys list`.") var id: String

    func run() throws {
        let configuration = try options.load()
        guard try APIKeyStore(path: NodeWiring.keysPath(configuration)).revoke(id: id) else {
            Output.error("keys: no key \"\(id)\"")
            throw ExitCode(1)
        }
        Output.error("keys: revoked \(id)")
    }
}
