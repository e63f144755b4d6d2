import CohortConfig
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OIDC
import Synchronization

/// Browser sign-in for a node: the OIDC flow when an issuer is configured, one-time sign-in links, and the
/// session cookie both produce. Sessions are sealed with the deployment's session keys, so any node with the same
/// keys accepts them (several query nodes behind one load balancer) and nothing about them is kept server-side.
public final class SignIn: Sendable {
    public let provider: OIDCProvider?
    let codec: SessionCodec
    let publicURL: String
    let sessionLifetime: TimeInterval
    let logger: Logger
    /// Ids of sign-in states and links already used, with when they expire: a replay is refused.
    private let used = Mutex<[String: Double]>([:])

    static let sessionCookie = "cohort_session"
    static let stateCookie = "cohort_signin"
    static let stateLifetime: TimeInterval = 600
    static let linkLifetime: TimeInterval = 900

    /// A signed-in browser: who, with which scopes, and the token its writes must echo (CSRF).
    public struct Session: Codable, Sendable, Equatable {
        public let subject: String
        public let email: String
        public let name: String?
        public let scopes: [String]
        public let csrf: String
    }

    struct State: Codable, Sendable {
        let request: AuthorizationRequest
        let returnTo: String
    }

    struct Link: Codable, Sendable {
        let id: String
        let email: String
        let scopes: [String]
    }

    public init(configuration: CohortConfiguration, logger: Logger) throws {
        codec = try SessionCodec(configured: configuration.sessionKeys)
        if SessionCodec.isEphemeral(configuration.sessionKeys) {
            logger.notice(
                """
                auth.session_keys is empty: sessions use a key of this process only (they end when it stops and \
                are not accepted by other nodes)
                """)
        }
        publicURL =
            configuration.publicURL.hasSuffix("/")
            ? String(configuration.publicURL.dropLast()) : configuration.publicURL
        sessionLifetime = TimeInterval(configuration.sessionHours) * 3_600
        self.logger = logger
        if configuration.oidcIssuer.isEmpty {
            provider = nil
        } else {
            func list(_ text: String) -> [String] {
                text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            let settings = OIDCSettings(
                issuer: configuration.oidcIssuer, clientID: configuration.oidcClientID,
                clientSecret: configuration.oidcClientSecret, allowedDomains: list(configuration.allowedDomains),
                allowedUsers: list(configuration.allowedUsers), admins: list(configuration.admins),
                defaultScopes: list(configuration.defaultScopes))
            guard !settings.clientID.isEmpty else {
                throw ConfigurationProblem("auth.oidc.client_id is required with auth.oidc.issuer")
            }
            guard !(settings.allowedDomains.isEmpty && settings.allowedUsers.isEmpty && settings.admins.isEmpty) else {
                throw ConfigurationProblem(
                    "auth.oidc.issuer is set but nobody may sign in: set auth.allowed_domains, auth.allowed_users "
                        + "or auth.admins")
            }
            for scope in settings.defaultScopes where Scope(rawValue: scope) == nil {
                throw ConfigurationProblem(
                    "auth.default_scopes: unknown scope \"\(scope)\"; known: "
                        + Scope.allCases.map(\.rawValue).joined(separator: ", "))
            }
            provider = OIDCProvider(settings: settings, logger: logger)
        }
    }

    // MARK: Sessions

    /// The session the request's cookie carries, if it is valid.
    public func session(from request: Request) -> Session? {
        guard let value = Self.cookie(Self.sessionCookie, in: request) else { return nil }
        return codec.open(value, as: Session.self, purpose: .session)
    }

    /// A `Set-Cookie` value starting a session for `user`.
    func startSession(subject: String, email: String, name: String?, scopes: [String], request: Request) -> String {
        let session = Session(
            subject: subject, email: email, name: name, scopes: scopes, csrf: Base64URL.random(24))
        let value = codec.seal(session, purpose: .session, lifetime: sessionLifetime)
        return cookie(Self.sessionCookie, value, maxAge: Int(sessionLifetime), path: "/", request: request)
    }

    /// A `Set-Cookie` value that removes `name`.
    func clearing(_ name: String, path: String, request: Request) -> String {
        cookie(name, "", maxAge: 0, path: path, request: request)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int, path: String, request: Request) -> String {
        var text = "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if isSecure(request) { text += "; Secure" }
        return text
    }

    /// Behind TLS: the public URL is https, or a proxy says the request came over https.
    func isSecure(_ request: Request) -> Bool {
        publicURL.hasPrefix("https://")
            || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// The node's base URL: `auth.public_url`, else the request's Host.
    func baseURL(_ request: Request) -> String {
        if !publicURL.isEmpty { return publicURL }
        let host = request.head.authority ?? "127.0.0.1"
        return (isSecure(request) ? "https://" : "http://") + host
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    // MARK: The OIDC flow's state, and links

    /// A `Set-Cookie` value carrying a sign-in's state to the callback (under `/auth`, for ten minutes).
    func stateCookie(_ state: State, request: Request) -> String {
        let sealed = codec.seal(state, purpose: .signInState, lifetime: Self.stateLifetime)
        return cookie(Self.stateCookie, sealed, maxAge: Int(Self.stateLifetime), path: "/auth", request: request)
    }

    func openState(_ request: Request) -> State? {
        Self.cookie(Self.stateCookie, in: request).flatMap { codec.open($0, as: State.self, purpose: .signInState) }
    }

    /// A one-time sign-in link's token for `email` with `scopes`, valid for 15 minutes.
    public func linkToken(email: String, scopes: [String]) -> String {
        codec.seal(
            Link(id: Base64URL.random(16), email: email.lowercased(), scopes: scopes), purpose: .signInLink,
            lifetime: Self.linkLifetime)
    }

    func openLink(_ token: String) -> Link? { codec.open(token, as: Link.self, purpose: .signInLink) }

    /// Records `id` as used; false when it was used before (a replay).
    func useOnce(_ id: String, lifetime: TimeInterval) -> Bool {
        let now = Date().timeIntervalSince1970
        return used.withLock { used in
            if used.count > 10_000 { used = used.filter { $0.value > now } }
            guard used[id].map({ $0 <= now }) ?? true else { return false }
            used[id] = now + lifetime
            return true
        }
    }
}

/// Browser sessions: the `cohort_session` cookie, when the request carries no `Authorization` header. Writes must
/// echo the session's CSRF token in `X-CSRF-Token` (SameSite=Lax already keeps other sites' forms from sending the
/// cookie with a POST; the token also stops same-site attackers).
struct SessionAuthenticator: Authenticator {
    let signIn: SignIn

    var name: String { "session" }
    var instructions: String { "sign in at /auth/login" }

    func authenticate(_ request: Request) async throws -> Principal? {
        guard request.headers[.authorization] == nil, let session = signIn.session(from: request) else { return nil }
        if ![.get, .head, .options].contains(request.method) {
            guard let token = request.headers[HTTPField.Name("X-CSRF-Token")!], token == session.csrf else {
                throw Problem(
                    .forbidden, "Forbidden",
                    detail: "a signed-in browser's write needs its CSRF token in X-CSRF-Token (from GET /auth/me)")
            }
        }
        return Principal(kind: .user, id: session.email, scopes: Set(session.scopes.compactMap(Scope.init)))
    }
}

/// ID tokens of the configured issuer as bearer tokens (clients that signed in with the issuer themselves).
struct IDTokenAuthenticator: Authenticator {
    let provider: OIDCProvider

    var name: String { "oidc" }
    var instructions: String { "send an ID token of the configured issuer as a bearer token" }

    func authenticate(_ request: Request) async throws -> Principal? {
        guard let token = request.bearerToken, token.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count == 2 else {
            return nil
        }
        do {
            let user = try await provider.verify(token, nonce: nil)
            return Principal(kind: .user, id: user.email, scopes: Set(user.scopes.compactMap(Scope.init)))
        } catch {
            throw Problem.signIn(error)
        }
    }
}

extension Problem {
    /// A refused sign-in or ID token: 401 (with the bearer challenge), 403 or 503 by what failed.
    static func signIn(_ error: SignInError) -> Problem {
        switch error.kind {
        case .invalid:
            Problem(.unauthorized, "Unauthorized", detail: error.description, headers: Problem.bearerChallenge)
        case .notAllowed: Problem(.forbidden, "Forbidden", detail: error.description)
        case .unavailable: Problem(.serviceUnavailable, "Service Unavailable", detail: error.description)
        }
    }
}
