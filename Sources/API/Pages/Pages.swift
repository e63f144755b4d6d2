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
            Page(path: "/assist", handler: { request in try assist(request) }),
            Page(path: "/assets/bootstrap.min.css", handler: { _ in try bootstrap() }),
            Page(path: "/assets/assist.js", handler: { _ in try script("assist") }),
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

    /// One of the page scripts shipped in the bundle (`Resources/assets`), plain ES modules.
    private func script(_ name: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: name, withExtension: "js", subdirectory: "assets"),
            let data = try? Data(contentsOf: url)
        else { throw Problem.notFound("no script \(name)") }
        return Response(
            status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func render(
        _ status: HTTPResponse.Status = .ok, title: String, body: String, head: String = ""
    ) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Cohort</title>
            <link rel="stylesheet" href="/assets/bootstrap.min.css">\(head)</head>
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
        if may(.read) { links.append(("/assist", "AI assist")) }
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
                let shown = value.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
                body += "<div class=\"fs-3\" data-figure=\"\(HTML.escape(label))\">\(shown)</div></div></div></div>"
            }
        }
        body += "</div><nav><ul class=\"nav\">"
        for (href, label) in links {
            body += "<li class=\"nav-item\"><a class=\"nav-link\" href=\"\(href)\">\(HTML.escape(label))</a></li>"
        }
        body += "</ul></nav>"
        if may(.read) { body += recentActivity() }
        return render(title: "Home", body: body)
    }

    /// The audit trail's latest entries: who saved segments and steered campaigns.
    private func recentActivity() -> String {
        var entries: [(at: Timestamp, text: String)] = []
        for segment in (try? dependencies.store.savedSegments()) ?? [] {
            if let actor = segment.savedBy {
                entries.append((segment.savedAt, "\(actor) saved segment \(segment.name)"))
            }
        }
        for campaign in (try? dependencies.store.allCampaigns()) ?? [] {
            for entry in campaign.audit {
                entries.append((entry.at, "\(entry.actor) \(entry.action) campaign \(campaign.name)"))
            }
        }
        guard !entries.isEmpty else { return "" }
        var html = "<h2 class=\"h5 mt-4\">Recent activity</h2><ul class=\"list-group\" id=\"activity\">"
        for entry in entries.sorted(by: { $0.at.microseconds > $1.at.microseconds }).prefix(10) {
            html +=
                "<li class=\"list-group-item\"><span class=\"text-muted small\">"
                + "\(HTML.escape(entry.at.description))</span> \(HTML.escape(entry.text))</li>"
        }
        return html + "</ul>"
    }

    /// The AI helpers in the browser: the natural-language box with the live count, message suggestions and
    /// campaign summaries (`assets/assist.js` calls the same API as any client).
    private func assist(_ request: Request) throws -> Response {
        guard let signIn = dependencies.signIn else { throw Problem.notFound("no sign-in on this node") }
        guard let session = signIn.session(from: request) else {
            return Response(status: .found, headers: [.location: "/auth/login?return_to=/assist"])
        }
        let scopes = Set(session.scopes.compactMap(Scope.init))
        let campaigns = scopes.contains(.campaigns) || scopes.contains(.admin)
        var options = ""
        for campaign in (try? dependencies.store.allCampaigns()) ?? [] {
            options += "<option value=\"\(HTML.escape(campaign.campaignID))\">\(HTML.escape(campaign.name))</option>"
        }
        var body = header(session)
        body += """
            <h2 class="h5">Describe an audience</h2>
            <div class="mb-2"><textarea class="form-control" id="nl-text" rows="2" maxlength="2000"
            placeholder="Mumbai or Pune VIPs who haven't ordered in 3 months"></textarea></div>
            <button class="btn btn-primary btn-sm" id="nl-parse">Find them</button>
            <div class="my-3" id="nl-result" aria-live="polite"></div>
            """
        if campaigns {
            body += """
                <h2 class="h5 mt-4">Suggest a message</h2>
                <div class="row g-2 mb-2"><div class="col-sm-8"><input class="form-control" id="msg-objective"
                maxlength="500" placeholder="win back inactive customers"></div>
                <div class="col-sm-4"><select class="form-select" id="msg-channel"><option>sms</option>
                <option>email</option><option>whatsapp</option></select></div></div>
                <button class="btn btn-primary btn-sm" id="msg-suggest">Suggest</button>
                <div class="my-3" id="msg-result" aria-live="polite"></div>
                """
        } else {
            body +=
                "<button hidden id=\"msg-suggest\"></button><div hidden id=\"msg-result\"></div>"
                + "<input hidden id=\"msg-objective\"><select hidden id=\"msg-channel\"></select>"
        }
        body += """
            <h2 class="h5 mt-4">Campaign summary</h2>
            <div class="row g-2 mb-2"><div class="col-sm-8"><select class="form-select" id="summary-campaign">
            \(options)</select></div></div>
            <button class="btn btn-primary btn-sm" id="summary-show">Summarise</button>
            <div class="my-3" id="summary-result" aria-live="polite"></div>
            <a href="/">Home</a>
            """
        let head =
            "<meta name=\"csrf-token\" content=\"\(HTML.escape(session.csrf))\">"
            + "<script type=\"module\" src=\"/assets/assist.js\"></script>"
        return render(title: "AI assist", body: body, head: head)
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
