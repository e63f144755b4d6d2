import Crypto
import CryptoExtras
import Foundation
import Hummingbird
import Logging
import NIOCore
import OIDC
import Synchronization

/// A local OpenID Connect issuer for sign-in tests, on loopback with its own RSA keys: discovery, a JWKS (its
/// `Cache-Control` chosen by the test), an authorization endpoint that signs in a scripted user at once (302 back
/// with a code), and a token endpoint that checks the PKCE verifier. It also mints tokens to order — expired,
/// for another audience, with another key or algorithm — for tests that present them directly.
public final class TestIssuer: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    /// The user the authorization endpoint signs in, and the claims of their next ID token.
    public struct User: Sendable {
        public var subject: String
        public var email: String
        public var emailVerified: Bool = true
        public var name: String? = "Test User"
        public var hd: String?
        /// Replaces the nonce of the tokens issued by the code exchange (a wrong nonce).
        public var nonceOverride: String?

        public init(subject: String, email: String) {
            self.subject = subject
            self.email = email
        }
    }

    struct Grant {
        let user: User
        let nonce: String?
        let challenge: String?
        let clientID: String
    }

    private struct Key {
        let kid: String
        let privateKey: _RSA.Signing.PrivateKey
    }

    private struct State {
        var keys: [Key]
        var user = User(subject: "u-1", email: "ana@example.com")
        var grants: [String: Grant] = [:]
        var jwksCacheControl = "public, max-age=3600"
        var jwksFetches = 0
        var tokenRequests: [String] = []
    }

    private let state: Mutex<State>

    public var issuer: String { "http://127.0.0.1:\(port)" }

    public static func start() async throws -> TestIssuer {
        let keys = [try Self.newKey(kid: "key-1")]
        return try await LoopbackServer.start(
            label: "test-issuer",
            routes: { router, issuer in
                router.get("/.well-known/openid-configuration") { _, _ -> Response in issuer().discovery() }
                router.get("/jwks") { _, _ -> Response in issuer().jwks() }
                router.get("/authorize") { request, _ -> Response in issuer().authorize(request) }
                router.post("/token") { request, _ -> Response in
                    let body = try await request.body.collect(upTo: 65_536)
                    return try await issuer().token(String(buffer: body))
                }
            },
            make: { port, task in TestIssuer(task: task, port: port, keys: keys) })
    }

    private init(task: Task<Void, any Error>, port: Int, keys: [Key]) {
        self.task = task
        self.port = port
        state = Mutex(State(keys: keys))
    }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    private static func newKey(kid: String) throws -> Key {
        Key(kid: kid, privateKey: try _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    // MARK: Test controls

    /// The user the next sign-in is for.
    public func signInAs(_ user: User) { state.withLock { $0.user = user } }

    /// Adds a new signing key (published in the JWKS from now on) and signs with it; returns its kid.
    @discardableResult
    public func rotate() throws -> String {
        let kid = "key-\(state.withLock { $0.keys.count } + 1)"
        let key = try Self.newKey(kid: kid)
        state.withLock { $0.keys.append(key) }
        return kid
    }

    public func setJWKSCacheControl(_ value: String) { state.withLock { $0.jwksCacheControl = value } }
    public var jwksFetches: Int { state.withLock { $0.jwksFetches } }
    /// The bodies of token requests received.
    public var tokenRequests: [String] { state.withLock { $0.tokenRequests } }

    /// The public key of the current signing key, PEM, as an attacker would take it from the JWKS.
    public var publicKeyPEM: String { state.withLock { $0.keys.last!.privateKey.publicKey.pemRepresentation } }

    /// An ID token signed with the current key (or `kid`'s, or a key the JWKS does not have when `foreignKey`), the
    /// standard claims filled in and `overrides` applied (a nil value removes the claim).
    public func mint(
        audience: String, overrides: [String: (any Sendable)?] = [:], kid: String? = nil, foreignKey: Bool = false
    ) async throws -> String {
        let (user, keys) = state.withLock { ($0.user, $0.keys) }
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = [
            "iss": issuer, "sub": user.subject, "aud": audience, "exp": now + 600, "iat": now, "email": user.email,
            "email_verified": user.emailVerified,
        ]
        if let name = user.name { claims["name"] = name }
        if let hd = user.hd { claims["hd"] = hd }
        for (key, value) in overrides { claims[key] = value }
        let signingKey =
            foreignKey ? try Self.newKey(kid: kid ?? keys.last!.kid) : keys.first { $0.kid == (kid ?? keys.last!.kid) }!
        return try Self.sign(claims, with: signingKey.privateKey, kid: kid ?? keys.last!.kid)
    }

    /// A token in the form `alg: none` (no signature).
    public func unsigned(audience: String) throws -> String {
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT","kid":"key-1"}"#.utf8))
        return header + "." + (try Self.claimsPart(standardClaims(audience: audience))) + "."
    }

    /// HS256 with the issuer's public key as the HMAC secret: the algorithm-confusion attack.
    public func hmacWithPublicKey(audience: String) throws -> String {
        let kid = state.withLock { $0.keys.last!.kid }
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"\#(kid)"}"#.utf8))
        let input = header + "." + (try Self.claimsPart(standardClaims(audience: audience)))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(input.utf8), using: SymmetricKey(data: Array(publicKeyPEM.utf8)))
        return input + "." + Base64URL.encode(Array(mac))
    }

    private func standardClaims(audience: String) -> [String: Any] {
        let user = state.withLock { $0.user }
        let now = Date().timeIntervalSince1970
        return [
            "iss": issuer, "sub": user.subject, "aud": audience, "exp": now + 600, "iat": now, "email": user.email,
            "email_verified": true,
        ]
    }

    private static func claimsPart(_ claims: [String: Any]) throws -> String {
        Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
    }

    private static func sign(_ claims: [String: Any], with key: _RSA.Signing.PrivateKey, kid: String) throws -> String {
        let header = Base64URL.encode(Array(#"{"alg":"RS256","typ":"JWT","kid":"\#(kid)"}"#.utf8))
        let input = header + "." + (try claimsPart(claims))
        let signature = try key.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(Array(signature.rawRepresentation))
    }

    // MARK: Endpoints

    private func json(_ object: Any, status: HTTPResponse.Status = .ok, cacheControl: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let cacheControl { headers[.cacheControl] = cacheControl }
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func discovery() -> Response {
        json([
            "issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks", "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        ])
    }

    private func jwks() -> Response {
        let (keys, cacheControl) = state.withLock { state -> ([Key], String) in
            state.jwksFetches += 1
            return (state.keys, state.jwksCacheControl)
        }
        let list: [[String: String]] = keys.compactMap { key in
            guard let primitives = try? key.privateKey.publicKey.getKeyPrimitives() else { return nil }
            return [
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid,
                "n": Base64URL.encode(Array(primitives.modulus)),
                "e": Base64URL.encode(Array(primitives.publicExponent)),
            ]
        }
        return json(["keys": list], cacheControl: cacheControl)
    }

    /// Signs the scripted user in at once and sends the browser back with a code (or an error).
    private func authorize(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        guard let redirect = query["redirect_uri"], let clientID = query["client_id"] else {
            return json(["error": "invalid_request"], status: .badRequest)
        }
        let code = Base64URL.random(16)
        let user = state.withLock { $0.user }
        state.withLock {
            $0.grants[code] = Grant(
                user: user, nonce: query["nonce"].map(String.init),
                challenge: query["code_challenge_method"] == "S256" ? query["code_challenge"].map(String.init) : nil,
                clientID: String(clientID))
        }
        let state = query["state"].map { "&state=" + FormEncoding.escape(String($0)) } ?? ""
        return Response(status: .found, headers: [.location: "\(redirect)?code=\(code)\(state)"])
    }

    /// Exchanges a code once, only with the verifier whose S256 is the code's challenge.
    private func token(_ body: String) async throws -> Response {
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            form[String(parts[0])] = String(parts[1]).removingPercentEncoding
        }
        let grant = state.withLock { state -> Grant? in
            state.tokenRequests.append(body)
            return form["code"].flatMap { state.grants.removeValue(forKey: $0) }
        }
        guard let grant else {
            return json(["error": "invalid_grant", "error_description": "unknown code"], status: .badRequest)
        }
        if let challenge = grant.challenge {
            let verifier = form["code_verifier"] ?? ""
            guard Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) == challenge else {
                return json(
                    ["error": "invalid_grant", "error_description": "PKCE verifier missing or wrong"],
                    status: .badRequest)
            }
        }
        var overrides: [String: (any Sendable)?] = [:]
        if let nonce = grant.user.nonceOverride ?? grant.nonce { overrides["nonce"] = nonce }
        let idToken = try await mintFor(grant.user, audience: grant.clientID, overrides: overrides)
        return json(["access_token": "at-" + Base64URL.random(8), "token_type": "Bearer", "id_token": idToken])
    }

    private func mintFor(_ user: User, audience: String, overrides: [String: (any Sendable)?]) async throws -> String {
        let previous = state.withLock { state -> User in
            let previous = state.user
            state.user = user
            return previous
        }
        defer { state.withLock { $0.user = previous } }
        return try await mint(audience: audience, overrides: overrides)
    }
}
