import Curl
import Foundation
import JWTKit
import Logging

/// One trusted OpenID Connect issuer: its discovery document, its signing keys (cached as long as the JWKS response
/// allows, fetched again once when a token names an unknown `kid`), the authorization URL, the code exchange and
/// every check an ID token must pass before anyone is signed in with it.
public actor OIDCProvider {
    public nonisolated let settings: OIDCSettings
    private let logger: Logger

    /// What discovery tells.
    public struct Metadata: Sendable {
        public let authorizationEndpoint: String
        public let tokenEndpoint: String
        public let jwksURI: String
    }

    private var metadata: Metadata?
    private var keys = JWTKeyCollection()
    /// `kid` → `kty` of every key in the current set.
    private var keyTypes: [String: String] = [:]
    private var keysExpire: ContinuousClock.Instant?
    /// When an unknown `kid` last caused a fetch: more unknown kids soon after do not fetch again.
    private var lastUnknownKidFetch: ContinuousClock.Instant?

    /// The only algorithms accepted, with the key type each needs.
    static let algorithms = ["RS256": "RSA", "ES256": "EC"]

    public init(settings: OIDCSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    // MARK: Discovery and keys

    public func discover() async throws(SignInError) -> Metadata {
        if let metadata { return metadata }
        let object = try await fetchJSON(settings.issuer + "/.well-known/openid-configuration").object
        guard let issuer = object["issuer"] as? String, issuer == settings.issuer else {
            throw .unavailable(
                "the discovery document names issuer \"\(object["issuer"] ?? "none")\", not \(settings.issuer)")
        }
        guard let authorization = object["authorization_endpoint"] as? String,
            let token = object["token_endpoint"] as? String, let jwks = object["jwks_uri"] as? String
        else { throw .unavailable("the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri") }
        let found = Metadata(authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks)
        metadata = found
        return found
    }

    /// Fetches the key set, replacing the cached one.
    private func refreshKeys() async throws(SignInError) {
        let uri = try await discover().jwksURI
        let (object, headers) = try await fetchJSON(uri)
        guard let list = object["keys"] as? [[String: Any]] else { throw .unavailable("the JWKS has no keys") }
        var types: [String: String] = [:]
        let collection = JWTKeyCollection()
        for key in list {
            guard let kid = key["kid"] as? String, let kty = key["kty"] as? String, ["RSA", "EC"].contains(kty) else {
                continue
            }
            if let use = key["use"] as? String, use != "sig" { continue }
            guard let data = try? JSONSerialization.data(withJSONObject: key),
                let jwk = try? JSONDecoder().decode(JWK.self, from: data)
            else { continue }
            do {
                try await collection.add(jwk: jwk)
                types[kid] = kty
            } catch {
                logger.warning("skipping a key of the issuer's JWKS", metadata: ["kid": "\(kid)", "error": "\(error)"])
            }
        }
        keys = collection
        keyTypes = types
        keysExpire = .now + .seconds(Self.maxAge(headers["cache-control"]))
        logger.debug("fetched the issuer's keys", metadata: ["kids": "\(types.keys.sorted())"])
    }

    /// Seconds the key set may be cached: `max-age`, 0 for `no-store`/`no-cache`, else five minutes; at most a day.
    static func maxAge(_ cacheControl: String?) -> Int {
        guard let cacheControl = cacheControl?.lowercased() else { return 300 }
        if cacheControl.contains("no-store") || cacheControl.contains("no-cache") { return 0 }
        for part in cacheControl.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == "max-age", let seconds = Int(pair[1]) { return min(max(0, seconds), 86_400) }
        }
        return 300
    }

    /// The kid a token names; for a token without one, the issuer's only key (OpenID Connect allows leaving the kid
    /// out when the key set has a single key, and then only).
    private func keyID(named kid: String?) async throws(SignInError) -> String? {
        if let kid, !kid.isEmpty { return kid }
        if keysExpire.map({ ContinuousClock.now >= $0 }) ?? true { try await refreshKeys() }
        return keyTypes.count == 1 ? keyTypes.keys.first : nil
    }

    /// The key type for `kid`: from the cached set, fetched again when the set expired, and once when the kid is
    /// unknown (the issuer rotated its keys) — but not again for another unknown kid within
    /// `refetchIntervalSeconds`, so that tokens with made-up kids cannot make the node hammer the issuer.
    private func keyType(for kid: String) async throws(SignInError) -> String? {
        if keysExpire.map({ ContinuousClock.now >= $0 }) ?? true { try await refreshKeys() }
        if let type = keyTypes[kid] { return type }
        let interval = Duration.milliseconds(Int(settings.refetchIntervalSeconds * 1_000))
        guard lastUnknownKidFetch.map({ ContinuousClock.now - $0 >= interval }) ?? true else { return nil }
        lastUnknownKidFetch = .now
        try await refreshKeys()
        return keyTypes[kid]
    }

    // MARK: The flow

    /// Where to send the browser: the issuer's authorization endpoint with the code flow's parameters.
    public func authorizationURL(for request: AuthorizationRequest, redirectURI: String) async throws(SignInError)
        -> String
    {
        let endpoint = try await discover().authorizationEndpoint
        var parameters = [
            ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", redirectURI),
            ("scope", "openid email profile"), ("state", request.state), ("nonce", request.nonce),
            ("code_challenge", request.challenge), ("code_challenge_method", "S256"),
        ]
        if settings.isGoogle, settings.allowedDomains.count == 1 {
            parameters.append(("hd", settings.allowedDomains[0]))
        }
        return endpoint + (endpoint.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
    }

    /// Exchanges an authorization code (with its PKCE verifier) for an ID token, then checks the token.
    public func signIn(code: String, request: AuthorizationRequest, redirectURI: String, now: Date = Date())
        async throws(SignInError) -> SignedInUser
    {
        let endpoint = try await discover().tokenEndpoint
        let body = FormEncoding.encode([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("client_id", settings.clientID), ("client_secret", settings.clientSecret),
            ("code_verifier", request.verifier),
        ])
        let timeout = settings.timeoutMs
        let response: CurlClient.Response
        do {
            response = try await CurlClient.exchange { client throws(CurlError) in
                try client.post(
                    endpoint, headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json"],
                    body: Array(body.utf8), timeoutMs: timeout)
            }
        } catch { throw .unavailable("the token endpoint could not be reached: \(error)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        guard response.status == 200 else {
            let reason = (object["error_description"] as? String) ?? (object["error"] as? String) ?? "no reason given"
            throw .invalid("the issuer refused the code (HTTP \(response.status): \(reason.prefix(200)))")
        }
        guard let idToken = object["id_token"] as? String else { throw .invalid("the token response has no id_token") }
        return try await verify(idToken, nonce: request.nonce, now: now)
    }

    // MARK: ID tokens

    /// The claims Cohort reads; `email_verified` may come as a boolean or as the string "true".
    struct Claims: JWTPayload {
        let iss: String?
        let sub: String?
        let aud: AudienceClaim?
        let azp: String?
        let exp: Double?
        let iat: Double?
        let nbf: Double?
        let nonce: String?
        let email: String?
        let emailVerified: Bool?
        let hd: String?
        let name: String?

        enum CodingKeys: String, CodingKey {
            case iss, sub, aud, azp, exp, iat, nbf, nonce, email, hd, name
            case emailVerified = "email_verified"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            iss = try? container.decodeIfPresent(String.self, forKey: .iss)
            sub = try? container.decodeIfPresent(String.self, forKey: .sub)
            aud = try? container.decodeIfPresent(AudienceClaim.self, forKey: .aud)
            azp = try? container.decodeIfPresent(String.self, forKey: .azp)
            exp = try? container.decodeIfPresent(Double.self, forKey: .exp)
            iat = try? container.decodeIfPresent(Double.self, forKey: .iat)
            nbf = try? container.decodeIfPresent(Double.self, forKey: .nbf)
            nonce = try? container.decodeIfPresent(String.self, forKey: .nonce)
            email = try? container.decodeIfPresent(String.self, forKey: .email)
            hd = try? container.decodeIfPresent(String.self, forKey: .hd)
            name = try? container.decodeIfPresent(String.self, forKey: .name)
            if let flag = try? container.decodeIfPresent(Bool.self, forKey: .emailVerified) {
                emailVerified = flag
            } else {
                emailVerified = (try? container.decodeIfPresent(String.self, forKey: .emailVerified)) == "true"
            }
        }

        // Checked by `verify(_:nonce:now:)`, with messages that say which check failed.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Checks an ID token — algorithm, key, signature, issuer, audience, authorized party, times, nonce, verified
    /// e-mail, domain and allowed users — and returns who it names with their scopes. `nonce` is nil for bearer
    /// tokens sent to the API, which carry whatever nonce their own sign-in used.
    public func verify(_ token: String, nonce: String?, now: Date = Date()) async throws(SignInError) -> SignedInUser {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]),
            let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any]
        else { throw .invalid("not a JWT (header.payload.signature)") }
        let algorithm = header["alg"] as? String ?? "none"
        guard let expectedType = Self.algorithms[algorithm] else {
            throw .invalid("the token is signed with \(algorithm); only RS256 and ES256 are accepted")
        }
        guard let kid = try await keyID(named: header["kid"] as? String) else {
            throw .invalid("the token names no key (kid), and the issuer publishes more than one")
        }
        guard let storedType = try await keyType(for: kid) else {
            throw .invalid("the token names key \"\(kid.prefix(64))\", which the issuer does not publish")
        }
        guard storedType == expectedType else {
            throw .invalid("the token says \(algorithm) but key \"\(kid.prefix(64))\" is an \(storedType) key")
        }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch {
            throw .invalid("the token's signature does not verify")
        }
        return try check(claims, nonce: nonce, now: now.timeIntervalSince1970)
    }

    func check(_ claims: Claims, nonce: String?, now: Double) throws(SignInError) -> SignedInUser {
        let skew = Double(settings.clockSkewSeconds)
        // Google's tokens name their issuer with or without the scheme (its documentation allows both).
        let issuers = settings.isGoogle ? ["https://accounts.google.com", "accounts.google.com"] : [settings.issuer]
        guard let issuer = claims.iss, issuers.contains(issuer) else {
            throw .invalid("the token was issued by \"\(claims.iss ?? "nobody")\", not \(settings.issuer)")
        }
        let audiences = claims.aud?.value ?? []
        guard audiences.contains(settings.clientID) else {
            throw .invalid("the token is for \(audiences), not this client (\(settings.clientID))")
        }
        if let azp = claims.azp, azp != settings.clientID {
            throw .invalid("the token's authorized party is \"\(azp)\", not this client")
        }
        if audiences.count > 1, claims.azp == nil {
            throw .invalid("the token has several audiences and no authorized party (azp)")
        }
        guard let exp = claims.exp else { throw .invalid("the token has no expiry (exp)") }
        guard exp + skew > now else { throw .invalid("the token expired at \(Self.time(exp))") }
        guard let iat = claims.iat, iat - skew <= now else {
            throw .invalid("the token's issue time (iat) is missing or in the future")
        }
        if let nbf = claims.nbf, nbf - skew > now { throw .invalid("the token is not valid before \(Self.time(nbf))") }
        if let nonce, claims.nonce != nonce { throw .invalid("the token's nonce does not match this sign-in") }
        guard let subject = claims.sub, !subject.isEmpty else { throw .invalid("the token names no subject (sub)") }
        guard let email = claims.email?.lowercased(), email.contains("@") else {
            throw .notAllowed("the token carries no e-mail address")
        }
        guard claims.emailVerified == true else { throw .notAllowed("the e-mail address \(email) is not verified") }
        let domain = String(email[email.index(after: email.lastIndex(of: "@")!)...])
        let listed = settings.allowedUsers.contains(email) || settings.admins.contains(email)
        if !listed {
            guard settings.allowedDomains.contains(domain) else {
                throw .notAllowed("\(email) is not allowed to sign in here")
            }
            if settings.isGoogle, claims.hd?.lowercased() != domain {
                throw .notAllowed("\(email) is not an account of the \(domain) Google Workspace (hd claim)")
            }
        }
        let scopes = settings.admins.contains(email) ? ["admin"] : settings.defaultScopes
        return SignedInUser(subject: subject, email: email, name: claims.name, scopes: scopes)
    }

    static func time(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }

    // MARK: HTTP

    private func fetchJSON(_ url: String) async throws(SignInError) -> (
        object: [String: Any], headers: [String: String]
    ) {
        let timeout = settings.timeoutMs
        let response: CurlClient.Response
        do {
            response = try await CurlClient.exchange { client throws(CurlError) in
                try client.get(url, headers: ["Accept: application/json"], timeoutMs: timeout)
            }
        } catch { throw .unavailable("\(url) could not be reached: \(error)") }
        guard response.status == 200 else { throw .unavailable("\(url) answered HTTP \(response.status)") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
            throw .unavailable("\(url) did not answer a JSON object")
        }
        return (object, response.headers)
    }
}
