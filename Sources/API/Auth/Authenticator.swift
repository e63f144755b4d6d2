import Hummingbird

/// Who made a request, as an authenticator established it.
public struct Principal: Sendable, Equatable {
    /// What proved the identity.
    public enum Kind: String, Sendable {
        case apiKey = "api-key"
        case user
    }

    public let kind: Kind
    /// A stable handle for audit records: the key id, or the user's subject.
    public let id: String
    /// What the principal may do; `admin` implies every other scope.
    public let scopes: Set<Scope>

    /// A principal of `kind` named `id` with `scopes`.
    public init(kind: Kind, id: String, scopes: Set<Scope>) {
        self.kind = kind
        self.id = id
        self.scopes = scopes
    }

    /// Whether the principal may call a route that needs `scope`.
    public func may(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }
}

/// Turns a request's credentials into a principal. Routes never look at credentials themselves: every route names
/// the scope it needs, and `CohortAPI` asks its authenticator who is calling.
public protocol Authenticator: Sendable {
    /// A short name for `/healthz` and logs, e.g. `api-keys`.
    var name: String { get }
    /// What a refused caller should send, for the 401's detail.
    var instructions: String { get }
    /// The principal the request's credentials prove; nil when it carries none of the kind this authenticator
    /// reads. Credentials of its kind that do not hold are a `Problem` (401), never nil.
    func authenticate(_ request: Request) async throws -> Principal?
}

/// Several authenticators asked in turn (API keys, then ID tokens, then a session cookie…): the first that
/// recognises the request's credentials decides.
public struct AuthenticatorChain: Authenticator {
    /// The authenticators, in the order they are asked.
    public let members: [any Authenticator]

    /// A chain asking `members` in order.
    public init(_ members: [any Authenticator]) { self.members = members }

    public var name: String { members.map(\.name).joined(separator: "+") }

    public var instructions: String { members.map(\.instructions).joined(separator: "; or ") }

    public func authenticate(_ request: Request) async throws -> Principal? {
        for member in members {
            if let principal = try await member.authenticate(request) { return principal }
        }
        return nil
    }
}

extension Request {
    /// The token of an `Authorization: Bearer <token>` header, if there is one. Plain byte checks: this runs on
    /// every request.
    public var bearerToken: String? {
        headers[.authorization].flatMap { value -> String? in
            let utf8 = value.utf8
            guard utf8.count > 7, utf8.prefix(7).map({ $0 | 0x20 }).elementsEqual("bearer ".utf8) else { return nil }
            let token = utf8.dropFirst(7).drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
            return String(decoding: token, as: UTF8.self)
        }
    }
}
