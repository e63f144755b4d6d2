import Foundation
import Logging
import Testing

@testable import OIDC

/// The claim checks on their own, for what the loopback issuer cannot be: Google (whose tokens name the Workspace
/// domain in `hd`), and the cache lifetime read from a JWKS response.
@Suite("ID-token claim checks")
struct ClaimChecksTests {
    static func claims(_ members: [String: Any]) throws -> OIDCProvider.Claims {
        try JSONDecoder().decode(OIDCProvider.Claims.self, from: JSONSerialization.data(withJSONObject: members))
    }

    static let now = Date().timeIntervalSince1970

    static func google(_ extra: [String: Any]) throws -> OIDCProvider.Claims {
        var members: [String: Any] = [
            "iss": "https://accounts.google.com", "aud": "client-1", "sub": "1", "exp": now + 600, "iat": now,
            "email_verified": true,
        ]
        for (key, value) in extra { members[key] = value }
        return try claims(members)
    }

    static let provider = OIDCProvider(
        settings: OIDCSettings(
            issuer: "https://accounts.google.com", clientID: "client-1", clientSecret: "x",
            allowedDomains: ["example.com"], allowedUsers: ["guest@gmail.com"]),
        logger: Logger(label: "test"))

    @Test("Google: the hd claim must name the allowed domain; allowed users need none")
    func googleHostedDomain() async throws {
        let provider = Self.provider
        await #expect(
            throws: SignInError.notAllowed(
                "ana@example.com is not an account of the example.com Google Workspace (hd claim)")
        ) {
            _ = try await provider.check(try Self.google(["email": "ana@example.com"]), nonce: nil, now: Self.now)
        }
        await #expect(throws: SignInError.self) {
            _ = try await provider.check(
                try Self.google(["email": "ana@example.com", "hd": "evil.com"]), nonce: nil, now: Self.now)
        }
        let member = try await provider.check(
            try Self.google(["email": "Ana@Example.com", "hd": "example.com"]), nonce: nil, now: Self.now)
        #expect(member.email == "ana@example.com" && member.scopes == ["campaigns", "read"])
        let guest = try await provider.check(try Self.google(["email": "guest@gmail.com"]), nonce: nil, now: Self.now)
        #expect(guest.email == "guest@gmail.com")
        let stringly = try await provider.check(
            try Self.google(["email": "ana@example.com", "hd": "example.com", "email_verified": "true"]), nonce: nil,
            now: Self.now)
        #expect(stringly.subject == "1", "email_verified as the string \"true\" is accepted")
        let schemeless = try await provider.check(
            try Self.google(["email": "ana@example.com", "hd": "example.com", "iss": "accounts.google.com"]),
            nonce: nil, now: Self.now)
        #expect(schemeless.subject == "1", "Google's issuer without its scheme is Google too")
        await #expect(throws: SignInError.self) {
            _ = try await provider.check(
                try Self.google(["email": "ana@example.com", "hd": "example.com", "iss": "https://evil.example"]),
                nonce: nil, now: Self.now)
        }
    }

    @Test("clock skew: a minute either way is tolerated, more is not")
    func skew() async throws {
        let provider = Self.provider
        let base: [String: Any] = ["email": "ana@example.com", "hd": "example.com"]
        var expired = base
        expired["exp"] = Self.now - 30
        _ = try await provider.check(try Self.google(expired), nonce: nil, now: Self.now)
        expired["exp"] = Self.now - 90
        await #expect(throws: SignInError.self) {
            _ = try await provider.check(try Self.google(expired), nonce: nil, now: Self.now)
        }
        var early = base
        early["iat"] = Self.now + 30
        _ = try await provider.check(try Self.google(early), nonce: nil, now: Self.now)
    }

    @Test("the JWKS cache lifetime comes from Cache-Control")
    func cacheLifetime() {
        #expect(OIDCProvider.maxAge("public, max-age=19862, must-revalidate, no-transform") == 19_862)
        #expect(OIDCProvider.maxAge("no-store") == 0)
        #expect(OIDCProvider.maxAge(nil) == 300)
        #expect(OIDCProvider.maxAge("max-age=9999999") == 86_400)
    }

    @Test("PKCE: S256 of the verifier, as RFC 7636's example gives it")
    func pkce() {
        let request = AuthorizationRequest(
            state: "s", nonce: "n", verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(request.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }
}
