import Events
import Foundation
import HTTPTypes
import Hummingbird
import OIDC

/// Browser sign-in (SPEC §8): the OpenID Connect authorization-code flow with PKCE, one-time sign-in links, sign-out
/// and "who am I". Open routes by nature: each checks what it is given itself.
extension CohortAPI {
    var signInRoutes: [Route] {
        [
            Route(
                method: .get, path: "/auth/login", scope: nil,
                summary: "Start signing in with the configured OIDC issuer (a redirect to it)",
                handler: { request, _ in try await login(request) }),
            Route(
                method: .get, path: "/auth/callback", scope: nil,
                summary: "The issuer's redirect back: checks state, exchanges the code, starts a session",
                handler: { request, _ in try await callback(request) }),
            Route(
                method: .get, path: "/auth/link", scope: nil,
                summary: "Sign in with a one-time link (cohort serve --sign-in-link)",
                handler: { request, _ in try await link(request) }),
            Route(
                method: .post, path: "/auth/logout", scope: nil, summary: "End the browser session",
                handler: { request, _ in try await logout(request) }),
            Route(
                method: .get, path: "/auth/me", scope: nil,
                summary: "Who is calling: the signed-in user or API key, its scopes, the session's CSRF token",
                handler: { request, _ in try await me(request) }),
        ]
    }

    private var signIn: SignIn {
        get throws {
            guard let signIn = dependencies.signIn else {
                throw Problem.notFound("sign-in is not enabled on this node (it runs with --auth none)")
            }
            return signIn
        }
    }

    private func login(_ request: Request) async throws -> Response {
        let signIn = try signIn
        guard let provider = signIn.provider else {
            throw Problem.notFound(
                "no OIDC issuer is configured (auth.oidc.issuer); sign in with a one-time link from the operator")
        }
        let returnTo = Self.localPath(request.uri.queryParameters["return_to"].map(String.init))
        let authorization = AuthorizationRequest.make()
        let url: String
        do {
            url = try await provider.authorizationURL(
                for: authorization, redirectURI: signIn.baseURL(request) + "/auth/callback")
        } catch { throw Problem.signIn(error) }
        var headers: HTTPFields = [.location: url, .cacheControl: "no-store"]
        headers.append(
            HTTPField(
                name: .setCookie,
                value: signIn.stateCookie(SignIn.State(request: authorization, returnTo: returnTo), request: request)))
        return Response(status: .found, headers: headers)
    }

    private func callback(_ request: Request) async throws -> Response {
        let signIn = try signIn
        guard let provider = signIn.provider else { throw Problem.notFound("no OIDC issuer is configured") }
        let query = request.uri.queryParameters
        if let error = query["error"] {
            throw Problem.signIn(.invalid("the issuer did not sign you in: \(String(error).prefix(200))"))
        }
        guard let state = signIn.openState(request) else {
            throw Problem.signIn(.invalid("this sign-in has no valid state cookie (expired, or started elsewhere)"))
        }
        guard let returned = query["state"], String(returned) == state.request.state else {
            throw Problem.signIn(.invalid("the state parameter does not match this browser's sign-in"))
        }
        guard try await spendOnce("state:" + state.request.state, lifetime: SignIn.stateLifetime) else {
            throw Problem.signIn(.invalid("this sign-in was already completed (replayed state)"))
        }
        guard let code = query["code"], !code.isEmpty else {
            throw Problem.signIn(.invalid("the callback has no authorization code"))
        }
        let user: SignedInUser
        do {
            user = try await provider.signIn(
                code: String(code), request: state.request, redirectURI: signIn.baseURL(request) + "/auth/callback")
        } catch {
            dependencies.logger.notice("sign-in refused", metadata: ["reason": "\(error)"])
            throw Problem.signIn(error)
        }
        dependencies.logger.info("signed in", metadata: ["user": "\(user.email)", "scopes": "\(user.scopes)"])
        var headers: HTTPFields = [.location: state.returnTo, .cacheControl: "no-store"]
        headers.append(
            HTTPField(
                name: .setCookie,
                value: signIn.startSession(
                    subject: user.subject, email: user.email, name: user.name, scopes: user.scopes, request: request)))
        headers.append(
            HTTPField(name: .setCookie, value: signIn.clearing(SignIn.stateCookie, path: "/auth", request: request)))
        return Response(status: .found, headers: headers)
    }

    /// Spends a one-time sign-in token on this node and, through the log, on every node of the deployment.
    private func spendOnce(_ id: String, lifetime: TimeInterval) async throws -> Bool {
        guard try signIn.useOnce(id, lifetime: lifetime) else { return false }
        guard let keys = dependencies.keys else { return true }
        return try await keys.spendOnce(id, until: Date().timeIntervalSince1970 + lifetime)
    }

    private func link(_ request: Request) async throws -> Response {
        let signIn = try signIn
        guard let token = request.uri.queryParameters["token"], let link = signIn.openLink(String(token)) else {
            throw Problem.signIn(.invalid("this sign-in link is not valid or has expired"))
        }
        guard try await spendOnce("link:" + link.id, lifetime: SignIn.linkLifetime) else {
            throw Problem.signIn(.invalid("this sign-in link was already used"))
        }
        dependencies.logger.info("signed in with a one-time link", metadata: ["user": "\(link.email)"])
        var headers: HTTPFields = [.location: "/", .cacheControl: "no-store"]
        headers.append(
            HTTPField(
                name: .setCookie,
                value: signIn.startSession(
                    subject: link.email, email: link.email, name: nil, scopes: link.scopes, request: request)))
        return Response(status: .found, headers: headers)
    }

    private func logout(_ request: Request) async throws -> Response {
        let signIn = try signIn
        if let session = signIn.session(from: request) {
            // A form post carries the token as a field; scripts send the header.
            var token = request.headers[HTTPField.Name("X-CSRF-Token")!]
            if token == nil {
                let body = try await request.body.collect(upTo: 4_096)
                let form = String(buffer: body)
                for pair in form.split(separator: "&") where pair.hasPrefix("csrf=") {
                    token = String(pair.dropFirst(5)).removingPercentEncoding
                }
            }
            guard token == session.csrf else {
                throw Problem(.forbidden, "Forbidden", detail: "signing out needs the session's CSRF token")
            }
        }
        var headers: HTTPFields = [.location: "/", .cacheControl: "no-store"]
        headers.append(
            HTTPField(name: .setCookie, value: signIn.clearing(SignIn.sessionCookie, path: "/", request: request)))
        return Response(status: .seeOther, headers: headers)
    }

    private func me(_ request: Request) async throws -> Response {
        guard let authenticator = dependencies.authenticator else {
            return Self.json(.object(JSONObject([("kind", .string("anonymous")), ("auth", .string("none"))])))
        }
        guard let principal = try await authenticator.authenticate(request) else {
            throw Problem(
                .unauthorized, "Unauthorized", detail: authenticator.instructions, headers: Problem.bearerChallenge)
        }
        var members: [(String, JSONValue)] = [
            ("kind", .string(principal.kind.rawValue)), ("id", .string(principal.id)),
            ("scopes", .array(principal.scopes.map(\.rawValue).sorted().map { .string($0) })),
        ]
        if let session = dependencies.signIn?.session(from: request), request.headers[.authorization] == nil {
            members.append(("email", .string(session.email)))
            if let name = session.name { members.append(("name", .string(name))) }
            members.append(("csrf", .string(session.csrf)))
        }
        return Self.json(.object(JSONObject(members)))
    }

    /// A path on this node to return to after signing in: never another site.
    static func localPath(_ text: String?) -> String {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"),
            text.utf8.count <= 512, !text.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return "/" }
        return text
    }
}
