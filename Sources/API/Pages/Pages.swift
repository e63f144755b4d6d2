import Events
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Projections

/// The browser pages a node serves: sign-in, the signed-in home page and the admin page. Server-rendered with every
/// value escaped, no inline script, a Content-Security-Policy, styled with Debian's Bootstrap when installed. The
/// dashboard's working pages build on this shell.
extension CohortAPI {
    struct Page: Sendable {
        let path: String
        let handler: @Sendable (Request) async throws -> Response
    }

    var pages: [Page] {
        [
            Page(path: "/", handler: { request in try home(request) }),
            Page(path: "/admin", handler: { request in try admin(request) }),
            Page(path: "/assets/bootstrap.min.css", handler: { _ in try bootstrap() }),
        ]
    }

    /// Debian's libjs-bootstrap5 stylesheet (`scripts/setup` installs it).
    static let bootstrapPath = "/usr/share/javascript/bootstrap5/css/bootstrap.min.css"

    static let securityHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    private func bootstrap() throws -> Response {
        guard let data = FileManager.default.contents(atPath: Self.bootstrapPath) else {
            throw Problem.notFound("libjs-bootstrap5 is not installed (scripts/setup installs it)")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/css", .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func render(_ status: HTTPResponse.Status = .ok, title: String, body: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Cohort</title>
            <link rel="stylesheet" href="/assets/bootstrap.min.css"></head>
            <body class="bg-light"><main class="container py-4">\(body)</main></body></html>
            """
        return Response(
            status: status, headers: Self.securityHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The sign-in page for visitors; the home page for a signed-in browser.
    private func home(_ request: Request) throws -> Response {
        guard let signIn = dependencies.signIn else {
            return render(
                title: "Cohort",
                body: "<h1>Cohort</h1><p>This node runs without authentication (--auth none). "
                    + "The API is described at <a href=\"/docs\">/docs</a>.</p>")
        }
        guard let session = signIn.session(from: request) else { return signInPage(signIn) }
        let scopes = Set(session.scopes.compactMap(Scope.init))
        func may(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }
        var links: [(String, String)] = []
        if may(.read) { links.append(("/docs", "API reference")) }
        if may(.admin) { links.append(("/admin", "Admin: API keys")) }
        var body = header(session)
        body += "<div class=\"row g-3 my-2\">"
        if may(.read) {
            let figures = [
                ("Customers", dependencies.index.customerCount),
                ("Saved segments", (try? dependencies.store.savedSegments().count) ?? 0),
                ("Campaigns", (try? dependencies.store.allCampaigns().count) ?? 0),
            ]
            for (label, value) in figures {
                body += "<div class=\"col-sm-4\"><div class=\"card\"><div class=\"card-body\">"
                body += "<div class=\"text-muted small\">\(HTML.escape(label))</div>"
                body += "<div class=\"fs-3\" data-figure=\"\(HTML.escape(label))\">\(value)</div></div></div></div>"
            }
        }
        body += "</div><nav><ul class=\"nav\">"
        for (href, label) in links {
            body += "<li class=\"nav-item\"><a class=\"nav-link\" href=\"\(href)\">\(HTML.escape(label))</a></li>"
        }
        body += "</ul></nav>"
        return render(title: "Home", body: body)
    }

    private func signInPage(_ signIn: SignIn) -> Response {
        var body = "<h1 class=\"mb-3\">Cohort</h1>"
        if let provider = signIn.provider {
            let host = URL(string: provider.settings.issuer)?.host ?? provider.settings.issuer
            body +=
                "<p><a class=\"btn btn-primary\" id=\"sign-in\" href=\"/auth/login\">Sign in with "
                + "\(HTML.escape(host))</a></p>"
        } else {
            body +=
                "<p id=\"sign-in-help\">Sign-in with an identity provider is not configured here. Ask your "
                + "operator for a one-time sign-in link (<code>cohort serve --sign-in-link EMAIL</code>).</p>"
        }
        return render(title: "Sign in", body: body)
    }

    /// Who is signed in, their role, and the sign-out form (its CSRF token as a hidden field).
    private func header(_ session: SignIn.Session) -> String {
        let who =
            session.name.map { "\(HTML.escape($0)) &lt;\(HTML.escape(session.email))&gt;" }
            ?? HTML.escape(session.email)
        let role = HTML.escape(session.scopes.sorted().joined(separator: ", "))
        return """
            <header class="d-flex justify-content-between align-items-center mb-3"><h1 class="h3 mb-0">Cohort</h1>
            <div><span id="signed-in-as">Signed in as \(who)</span>
            <span class="badge text-bg-secondary" id="role">\(role)</span>
            <form method="post" action="/auth/logout" class="d-inline ms-2">
            <input type="hidden" name="csrf" value="\(HTML.escape(session.csrf))">
            <button type="submit" class="btn btn-sm btn-outline-secondary" id="sign-out">Sign out</button></form></div>
            </header>
            """
    }

    /// Admins only: the API keys (never their secrets).
    private func admin(_ request: Request) throws -> Response {
        guard let signIn = dependencies.signIn else { throw Problem.notFound("no sign-in on this node") }
        guard let session = signIn.session(from: request) else {
            return Response(status: .found, headers: [.location: "/auth/login?return_to=/admin"])
        }
        guard session.scopes.contains(Scope.admin.rawValue) else {
            return render(
                .forbidden, title: "Not allowed",
                body: header(session) + "<div class=\"alert alert-warning\" id=\"refused\">Your role ("
                    + HTML.escape(session.scopes.sorted().joined(separator: ", "))
                    + ") cannot use this page: it needs admin.</div><a href=\"/\">Home</a>")
        }
        let keys = (try? APIKeyStore(path: NodeWiring.keysPath(dependencies.configuration)).list()) ?? []
        var rows = ""
        for key in keys {
            rows += "<tr><td><code>\(HTML.escape(key.id))</code></td><td>\(HTML.escape(key.name))</td>"
            rows += "<td>\(HTML.escape(key.scopes.map(\.rawValue).sorted().joined(separator: ", ")))</td>"
            rows += "<td>\(HTML.escape(key.createdAt.description))</td></tr>"
        }
        return render(
            title: "Admin",
            body: header(session) + "<h2 class=\"h5\">API keys</h2><table class=\"table\" id=\"keys\"><thead><tr>"
                + "<th>id</th><th>name</th><th>scopes</th><th>created</th></tr></thead><tbody>\(rows)</tbody></table>"
                + "<p class=\"text-muted\">Create and revoke keys with <code>cohort keys</code>.</p>"
                + "<a href=\"/\">Home</a>")
    }
}

/// Escaping for text and attribute values in HTML.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
