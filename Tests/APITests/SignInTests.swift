import API
import CohortConfig
import Curl
import Foundation
import HTTPTypes
import Synchronization
import TestSupport
import Testing

/// Sign-in against a local OIDC issuer started by the test (loopback, its own RSA keys): the whole
/// authorization-code flow with PKCE, sessions with CSRF, bearer ID tokens, and every kind of bad token refused
/// with a clear problem and nothing changed.
@Suite("sign-in")
struct SignInTests {
    static let keyOne = Data((0..<32).map { UInt8($0) }).base64EncodedString()
    static let keyTwo = Data((0..<32).map { UInt8(200 - $0) }).base64EncodedString()
    static let client = "cohort-test"

    static func node(_ issuer: TestIssuer?, keys: String = keyOne) throws -> InProcessNode {
        try InProcessNode { configuration in
            if let issuer {
                configuration.oidcIssuer = issuer.issuer
                configuration.oidcClientID = client
                configuration.oidcClientSecret = "s3cret-client"
            }
            configuration.publicURL = "http://cohort.test"
            configuration.allowedDomains = "example.com"
            configuration.admins = "boss@other.org"
            configuration.sessionKeys = keys
        }
    }

    /// What a browser does: the node's login redirect, the issuer's page (which signs the scripted user in at
    /// once), back to the node's callback with the state cookie.
    struct Flow {
        let stateCookie: String
        let callbackPath: String
        let authorizeURL: String
    }

    static func startFlow(_ node: NodeClient) async throws -> Flow {
        let login = try await node.request(.get, "/auth/login?return_to=/campaigns")
        #expect(login.status == 302, "\(login.text)")
        let authorizeURL = try #require(login.headers[.location])
        let state = try #require(login.setCookies["cohort_signin"])
        #expect(state.attributes.contains("HttpOnly") && state.attributes.contains("SameSite=Lax"))
        let issuerAnswer = try await CurlClient.exchange { client throws(CurlError) in
            try client.get(authorizeURL, timeoutMs: 5_000)
        }
        #expect(issuerAnswer.status == 302)
        let back = try #require(issuerAnswer.headers["location"])
        #expect(back.hasPrefix("http://cohort.test/auth/callback?"), "\(back)")
        return Flow(
            stateCookie: "cohort_signin=\(state.value)",
            callbackPath: String(back.dropFirst("http://cohort.test".count)), authorizeURL: authorizeURL)
    }

    static func query(_ url: String, _ name: String) -> String? {
        URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
    }

    @Test("the code flow with PKCE, state and nonce starts a session; CSRF guards writes; the role is enforced")
    func codeFlow() async throws {
        let issuer = try await TestIssuer.start()
        defer { Task { await issuer.stop() } }
        try await Self.node(issuer).run { node in
            let flow = try await Self.startFlow(node)
            #expect(flow.authorizeURL.hasPrefix(issuer.issuer + "/authorize?"))
            #expect(Self.query(flow.authorizeURL, "code_challenge_method") == "S256")
            #expect(Self.query(flow.authorizeURL, "client_id") == Self.client)
            #expect(Self.query(flow.authorizeURL, "nonce")?.count ?? 0 >= 40)
            #expect(Self.query(flow.authorizeURL, "redirect_uri") == "http://cohort.test/auth/callback")

            let callback = try await node.request(.get, flow.callbackPath, headers: [.cookie: flow.stateCookie])
            #expect(callback.status == 302, "\(callback.text)")
            #expect(callback.headers[.location] == "/campaigns")
            let session = try #require(callback.setCookies["cohort_session"])
            #expect(session.attributes.contains("HttpOnly") && session.attributes.contains("SameSite=Lax"))
            #expect(!session.attributes.contains("Secure"), "plain http: no Secure flag")
            #expect(callback.setCookies["cohort_signin"]?.attributes.contains("Max-Age=0") == true)
            let exchange = try #require(issuer.tokenRequests.last)
            #expect(exchange.contains("code_verifier=") && exchange.contains("client_secret=s3cret-client"))

            let cookie: HTTPFields = [.cookie: "cohort_session=\(session.value)"]
            let me = try await node.request(.get, "/auth/me", headers: cookie)
            #expect(me.status == 200 && me.json["email"] as? String == "ana@example.com", "\(me.text)")
            #expect(me.json["scopes"] as? [String] == ["campaigns", "read"])
            let csrf = try #require(me.json["csrf"] as? String)

            let rule = #"{"segment_id":"s1","name":"Pune","rules":{"field":"city","op":"eq","value":"Pune"}}"#
            let noToken = try await node.request(.post, "/api/v1/segments", json: rule, headers: cookie)
            #expect(noToken.status == 403 && noToken.detail.contains("CSRF"), "\(noToken.text)")
            var withToken = cookie
            withToken[HTTPField.Name("X-CSRF-Token")!] = csrf
            let saved = try await node.request(.post, "/api/v1/segments", json: rule, headers: withToken)
            #expect(saved.status == 202, "\(saved.text)")
            #expect(
                try await node.eventually {
                    try await node.request(.get, "/api/v1/segments/s1", headers: cookie).json["saved_by"] as? String
                        == "ana@example.com"
                }, "the audit trail names who saved the segment")
            let ingest = try await node.request(.post, "/api/v1/customers", json: #"{"id":"x"}"#, headers: withToken)
            #expect(ingest.status == 403 && ingest.detail.contains("ingest"), "the role has no ingest scope")

            let replay = try await node.request(.get, flow.callbackPath, headers: [.cookie: flow.stateCookie])
            #expect(replay.status == 401 && replay.detail.contains("already completed"), "\(replay.text)")

            let refused = try await node.request(.post, "/auth/logout", headers: cookie)
            #expect(refused.status == 403)
            var form = cookie
            form[.contentType] = "application/x-www-form-urlencoded"
            let out = try await node.client.execute(
                uri: "/auth/logout", method: .post, headers: form, body: .init(string: "csrf=\(csrf)"))
            #expect(out.status.code == 303)
            #expect(
                out.headers[values: .setCookie].contains {
                    $0.hasPrefix("cohort_session=;") && $0.contains("Max-Age=0")
                })
        }
    }

    @Test("a wrong nonce, an injected code (PKCE), a user outside the domain, an issuer error: refused, no session")
    func flowFaults() async throws {
        let issuer = try await TestIssuer.start()
        defer { Task { await issuer.stop() } }
        try await Self.node(issuer).run { node in
            var user = TestIssuer.User(subject: "u-2", email: "ana@example.com")
            user.nonceOverride = "someone-elses-nonce"
            issuer.signInAs(user)
            let wrongNonce = try await Self.startFlow(node)
            let nonce = try await node.request(
                .get, wrongNonce.callbackPath, headers: [.cookie: wrongNonce.stateCookie])
            #expect(nonce.status == 401 && nonce.detail.contains("nonce"), "\(nonce.text)")
            #expect(nonce.setCookies["cohort_session"] == nil)

            // An attacker's code (issued for the attacker's own PKCE challenge) injected into the victim's callback:
            // the node redeems it with the victim's verifier, which the issuer refuses.
            issuer.signInAs(TestIssuer.User(subject: "u-3", email: "ana@example.com"))
            let victim = try await Self.startFlow(node)
            let attackerURL =
                issuer.issuer + "/authorize?client_id=\(Self.client)"
                + "&redirect_uri=http://cohort.test/auth/callback&code_challenge_method=S256"
                + "&code_challenge=\(AuthorizationChallenge.other)&state=x"
            let attacker = try await CurlClient.exchange { client throws(CurlError) in
                try client.get(attackerURL, timeoutMs: 5_000)
            }
            let attackerCode = try #require(Self.query(attacker.headers["location"] ?? "", "code"))
            let victimState = try #require(Self.query("http://x" + victim.callbackPath, "state"))
            let injected = try await node.request(
                .get, "/auth/callback?code=\(attackerCode)&state=\(victimState)", headers: [.cookie: victim.stateCookie]
            )
            #expect(injected.status == 401 && injected.detail.contains("PKCE"), "\(injected.text)")

            issuer.signInAs(TestIssuer.User(subject: "u-4", email: "eve@elsewhere.net"))
            let outsider = try await Self.startFlow(node)
            let refused = try await node.request(.get, outsider.callbackPath, headers: [.cookie: outsider.stateCookie])
            #expect(refused.status == 403 && refused.detail.contains("not allowed"), "\(refused.text)")

            let denied = try await node.request(.get, "/auth/callback?error=access_denied&state=x")
            #expect(denied.status == 401 && denied.detail.contains("access_denied"))
            let noState = try await node.request(.get, "/auth/callback?code=abc&state=x")
            #expect(noState.status == 401 && noState.detail.contains("state"))
        }
    }

    @Test(
        "bearer ID tokens: each bad one is refused with the check it failed, and changes nothing",
        arguments: [
            ("expired", 401, "expired"), ("not yet valid", 401, "not valid before"),
            ("wrong aud", 401, "not this client"),
            ("wrong iss", 401, "issued by"), ("bad signature", 401, "signature"),
            ("unknown kid", 401, "does not publish"),
            ("alg none", 401, "signed with none"), ("HS256 with the public key", 401, "signed with HS256"),
            ("unverified e-mail", 403, "not verified"), ("domain not allowed", 403, "not allowed"),
            ("wrong azp", 401, "authorized party"), ("future iat", 401, "issue time"),
        ])
    func badTokens(kind: String, status: Int, detail: String) async throws {
        let issuer = try await TestIssuer.start()
        defer { Task { await issuer.stop() } }
        let now = Date().timeIntervalSince1970
        let token: String
        switch kind {
        case "expired": token = try await issuer.mint(audience: Self.client, overrides: ["exp": now - 3_600])
        case "not yet valid": token = try await issuer.mint(audience: Self.client, overrides: ["nbf": now + 3_600])
        case "wrong aud": token = try await issuer.mint(audience: "another-app")
        case "wrong iss":
            token = try await issuer.mint(audience: Self.client, overrides: ["iss": "https://evil.example"])
        case "bad signature": token = try await issuer.mint(audience: Self.client, foreignKey: true)
        case "unknown kid": token = try await issuer.mint(audience: Self.client, kid: "key-404", foreignKey: true)
        case "alg none": token = try issuer.unsigned(audience: Self.client)
        case "HS256 with the public key": token = try issuer.hmacWithPublicKey(audience: Self.client)
        case "unverified e-mail":
            var user = TestIssuer.User(subject: "u", email: "ana@example.com")
            user.emailVerified = false
            issuer.signInAs(user)
            token = try await issuer.mint(audience: Self.client)
        case "domain not allowed":
            issuer.signInAs(TestIssuer.User(subject: "u", email: "eve@elsewhere.net"))
            token = try await issuer.mint(audience: Self.client)
        case "wrong azp": token = try await issuer.mint(audience: Self.client, overrides: ["azp": "another-app"])
        default: token = try await issuer.mint(audience: Self.client, overrides: ["iat": now + 3_600])
        }
        try await Self.node(issuer).run { node in
            let bearer: HTTPFields = [.authorization: "Bearer \(token)"]
            let me = try await node.request(.get, "/auth/me", headers: bearer)
            #expect(me.status == status && me.isProblem, "\(kind): \(me.text)")
            #expect(me.detail.contains(detail), "\(kind): \(me.detail)")
            let write = try await node.request(
                .post, "/api/v1/segments",
                json: #"{"segment_id":"bad","name":"x","rules":{"field":"city","op":"exists"}}"#,
                headers: bearer)
            #expect(write.status == status, "\(kind): \(write.text)")
            let segments = try await node.request(.get, "/api/v1/segments", as: .read)
            #expect((segments.json["segments"] as? [Any])?.isEmpty == true, "nothing changed")
        }
    }

    @Test("a valid ID token is a bearer credential; a rotated key is fetched once; the JWKS cache is honoured")
    func rotation() async throws {
        let issuer = try await TestIssuer.start()
        defer { Task { await issuer.stop() } }
        try await Self.node(issuer).run { node in
            let valid = try await issuer.mint(audience: Self.client)
            let me = try await node.request(.get, "/auth/me", headers: [.authorization: "Bearer \(valid)"])
            #expect(
                me.status == 200 && me.json["kind"] as? String == "user"
                    && me.json["id"] as? String == "ana@example.com")
            let again = try await node.request(.get, "/auth/me", headers: [.authorization: "Bearer \(valid)"])
            #expect(again.status == 200)
            #expect(issuer.jwksFetches == 1, "max-age=3600: fetched once")
            let kid = try issuer.rotate()
            let rotated = try await issuer.mint(audience: Self.client, kid: kid)
            let after = try await node.request(.get, "/auth/me", headers: [.authorization: "Bearer \(rotated)"])
            #expect(after.status == 200, "\(after.text)")
            #expect(issuer.jwksFetches == 2, "the unknown kid caused one fetch")
            let admin = TestIssuer.User(subject: "b", email: "boss@other.org")
            issuer.signInAs(admin)
            let boss = try await issuer.mint(audience: Self.client)
            let bossMe = try await node.request(.get, "/auth/me", headers: [.authorization: "Bearer \(boss)"])
            #expect(
                bossMe.json["scopes"] as? [String] == ["admin"], "listed admins get every scope, whatever the domain")
        }
    }

    @Test("sessions work on every node with the same keys, across a rotation; links are one-time")
    func sessionsAcrossNodes() async throws {
        let link = Mutex<String?>(nil)
        var options = NodeOptions()
        options.signInLinkEmail = "admin@example.com"
        options.onSignInLink = { path in link.withLock { $0 = path } }
        let cookie = try await Self.node(nil).run(options: options) { node in
            let path = try #require(link.withLock { $0 })
            let signedIn = try await node.request(.get, path)
            #expect(signedIn.status == 302)
            let again = try await node.request(.get, path)
            #expect(again.status == 401 && again.detail.contains("already used"))
            let forged = try await node.request(.get, "/auth/link?token=abc")
            #expect(forged.status == 401)
            return "cohort_session=" + (signedIn.setCookies["cohort_session"]?.value ?? "")
        }
        for (keys, expected) in [(Self.keyOne, 200), (Self.keyTwo + "," + Self.keyOne, 200), (Self.keyTwo, 401)] {
            try await Self.node(nil, keys: keys).run { other in
                let me = try await other.request(.get, "/auth/me", headers: [.cookie: cookie])
                #expect(me.status == expected, "keys \(keys): \(me.text)")
                if expected == 200 { #expect(me.json["scopes"] as? [String] == ["admin"]) }
            }
        }
    }
}

@Suite("sign-in configuration")
struct SignInConfigurationTests {
    @Test("an issuer without a client id, or with nobody allowed, or bad keys or scopes: the node does not start")
    func refused() async throws {
        let cases: [(String, (inout CohortConfiguration) -> Void)] = [
            ("client_id is required", { $0.oidcIssuer = "http://127.0.0.1:1" }),
            (
                "nobody may sign in",
                {
                    $0.oidcIssuer = "http://127.0.0.1:1"; $0.oidcClientID = "c"
                }
            ),
            ("not base64 of 32 bytes", { $0.sessionKeys = "abc" }),
            (
                "unknown scope \"write\"",
                {
                    $0.oidcIssuer = "http://127.0.0.1:1"
                    $0.oidcClientID = "c"
                    $0.allowedDomains = "example.com"
                    $0.defaultScopes = "read,write"
                }
            ),
        ]
        for (message, configure) in cases {
            let node = try InProcessNode(configure: configure)
            do {
                try await node.run { _ in }
                Issue.record("the node started despite: \(message)")
            } catch let problem as ConfigurationProblem {
                #expect(problem.description.contains(message), "\(problem)")
            }
        }
    }
}

@Suite("sealed sessions")
struct SessionCodecTests {
    @Test("a sealed value opens only unexpired, untouched, for its purpose and under one of the keys")
    func sealing() throws {
        let codec = try SessionCodec(configured: SignInTests.keyOne)
        let sealed = codec.seal("ana", purpose: .session, lifetime: 60)
        #expect(codec.open(sealed, as: String.self, purpose: .session) == "ana")
        #expect(codec.open(sealed, as: String.self, purpose: .signInLink) == nil, "another purpose")
        #expect(
            codec.open(codec.seal("ana", purpose: .session, lifetime: -1), as: String.self, purpose: .session) == nil)
        var bytes = Array(sealed.utf8)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(codec.open(String(decoding: bytes, as: UTF8.self), as: String.self, purpose: .session) == nil)
        let other = try SessionCodec(configured: SignInTests.keyTwo)
        #expect(other.open(sealed, as: String.self, purpose: .session) == nil, "another key")
        let rotated = try SessionCodec(configured: SignInTests.keyTwo + "," + SignInTests.keyOne)
        #expect(rotated.open(sealed, as: String.self, purpose: .session) == "ana", "the previous key still opens")
        #expect(throws: ConfigurationProblem.self) { _ = try SessionCodec(configured: "c2hvcnQ=") }
    }
}

/// A PKCE challenge that is not the node's.
enum AuthorizationChallenge {
    static let other = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
}

@Suite("pages")
struct PageTests {
    @Test(
        "sign-in page; home with the user escaped and the role's links; admin refused to others; CSP, no inline script"
    )
    func pages() async throws {
        let issuer = try await TestIssuer.start()
        defer { Task { await issuer.stop() } }
        var user = TestIssuer.User(subject: "u-x", email: "ana@example.com")
        user.name = "<img src=x onerror=alert(1)>"
        issuer.signInAs(user)
        try await SignInTests.node(issuer).run { node in
            let anonymous = try await node.request(.get, "/")
            #expect(anonymous.status == 200 && anonymous.text.contains("href=\"/auth/login\""))
            let policy = try #require(anonymous.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(!anonymous.text.contains("<script"), "no inline script")
            for page in ["/admin", "/assist"] {
                let anonymousPage = try await node.request(.get, page)
                #expect(anonymousPage.status == 302, "\(page) sends a visitor to sign in")
                #expect(anonymousPage.headers[.location] == "/auth/login?return_to=\(page)")
            }

            let flow = try await SignInTests.startFlow(node)
            let callback = try await node.request(.get, flow.callbackPath, headers: [.cookie: flow.stateCookie])
            let cookie: HTTPFields = [.cookie: "cohort_session=" + (callback.setCookies["cohort_session"]?.value ?? "")]
            let home = try await node.request(.get, "/", headers: cookie)
            #expect(home.status == 200)
            #expect(home.text.contains("&lt;img src=x onerror=alert(1)&gt;"), "the name is shown as text")
            #expect(!home.text.contains("<img src=x"), "never as markup")
            #expect(home.text.contains("campaigns, read") && !home.text.contains("href=\"/admin\""), "no admin link")
            #expect(home.text.contains("name=\"csrf\""), "sign-out carries the CSRF token")
            let refused = try await node.request(.get, "/admin", headers: cookie)
            #expect(refused.status == 403 && refused.text.contains("cannot use this page"))
        }
        let link = Mutex<String?>(nil)
        var options = NodeOptions()
        options.signInLinkEmail = "root@example.com"
        options.onSignInLink = { path in link.withLock { $0 = path } }
        try await SignInTests.node(nil).run(options: options) { node in
            let signedIn = try await node.request(
                .get, try #require(link.withLock { $0 }), headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(signedIn.setCookies["cohort_session"]?.attributes.contains("Secure") == true, "behind TLS: Secure")
            let cookie: HTTPFields = [.cookie: "cohort_session=" + (signedIn.setCookies["cohort_session"]?.value ?? "")]
            let home = try await node.request(.get, "/", headers: cookie)
            #expect(home.text.contains("href=\"/admin\""))
            let admin = try await node.request(.get, "/admin", headers: cookie)
            #expect(admin.status == 200 && admin.text.contains("test-admin"), "the keys are listed by name")
            let anonymous = try await node.request(.get, "/")
            #expect(anonymous.text.contains("sign-in link"), "no issuer: the page says how to get in")
        }
    }
}
