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
        let handler: @Sendable (Request, CohortRequestContext) async throws -> Response
    }

    var pages: [Page] {
        [
            Page(path: "/", handler: { request, _ in try home(request) }),
            Page(path: "/customers", handler: { request, _ in try app(request, .customers) }),
            Page(path: "/customers/{id}", handler: { request, context in try app(request, .customer, context) }),
            Page(path: "/segments", handler: { request, _ in try app(request, .segments) }),
            Page(path: "/segments/new", handler: { request, _ in try app(request, .builder) }),
            Page(path: "/segments/{id}", handler: { request, context in try app(request, .builder, context) }),
            Page(path: "/campaigns", handler: { request, _ in try app(request, .campaigns) }),
            Page(path: "/campaigns/new", handler: { request, _ in try app(request, .newCampaign) }),
            Page(path: "/campaigns/{id}", handler: { request, context in try app(request, .campaign, context) }),
            Page(path: "/admin", handler: { request, _ in try admin(request) }),
            Page(path: "/assist", handler: { request, _ in try assist(request) }),
            Page(path: "/assets/{name}", handler: { _, context in try asset(try context.parameters.require("name")) }),
            Page(
                path: "/assets/vendor/{name}",
                handler: { _, context in try vendor(try context.parameters.require("name")) }),
        ]
    }

    /// Files of Debian's libjs-* packages the pages load, under `dashboard.js_dir`.
    static let vendorFiles: [String: (path: String, type: String)] = [
        "bootstrap.min.css": ("bootstrap5/css/bootstrap.min.css", "text/css"),
        "chart.min.js": ("chart.js/chart.min.js", "text/javascript; charset=utf-8"),
        "Sortable.min.js": ("sortable/Sortable.min.js", "text/javascript; charset=utf-8"),
    ]

    private func vendor(_ name: String) throws -> Response {
        guard let file = Self.vendorFiles[name] else { throw Problem.notFound("no vendor file \(name)") }
        let path = dependencies.configuration.dashboardScriptsDir + "/" + file.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem.notFound("\(path) is missing (scripts/setup installs the libjs-* packages)")
        }
        return Response(
            status: .ok, headers: [.contentType: file.type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    /// One of the page scripts or stylesheets shipped in the bundle (`Resources/assets`): plain ES modules.
    private func asset(_ name: String) throws -> Response {
        let parts = name.split(separator: ".")
        guard parts.count == 2, ["js", "css"].contains(parts[1]),
            parts[0].allSatisfy({ $0.isLetter || $0 == "-" }),
            let url = Bundle.module.url(
                forResource: String(parts[0]), withExtension: String(parts[1]),
                subdirectory: "assets"),
            let data = try? Data(contentsOf: url)
        else { throw Problem.notFound("no asset \(name)") }
        let type = parts[1] == "js" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    static let securityHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    private func render(
        _ status: HTTPResponse.Status = .ok, title: String, body: String, head: String = ""
    ) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Cohort</title>
            <link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/vendor/bootstrap.min.css"><link rel="stylesheet" href="/assets/cohort.css">\(head)</head>
            <body class="bg-light"><main class="container py-4">\(body)</main></body></html>
            """
        return Response(
            status: status, headers: Self.securityHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The sign-in page for visitors; the overview for a signed-in browser (and on a node without authentication).
    private func home(_ request: Request) throws -> Response {
        var session: SignIn.Session?
        if let signIn = dependencies.signIn {
            guard let found = signIn.session(from: request) else { return signInPage(signIn) }
            session = found
        }
        let scopes = Set(session?.scopes.compactMap(Scope.init) ?? Scope.allCases)
        let reads = scopes.contains(.read) || scopes.contains(.admin)
        var body = header(session, active: "/")
        guard reads else {
            return render(title: "Home", body: body + "<p id=\"no-reads\">Your role cannot read customer data.</p>")
        }
        body += "<div class=\"row g-3 my-1\">"
        let figures = [
            ("Customers", dependencies.index.customerCount),
            ("Saved segments", (try? dependencies.store.savedSegments().count) ?? 0),
            ("Campaigns", (try? dependencies.store.allCampaigns().count) ?? 0),
        ]
        for (label, value) in figures {
            body += "<div class=\"col-6 col-md-4\"><div class=\"card\"><div class=\"card-body\">"
            body += "<div class=\"text-muted small\">\(HTML.escape(label))</div>"
            let shown = value.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
            body += "<div class=\"fs-3\" data-figure=\"\(HTML.escape(label))\">\(shown)</div></div></div></div>"
        }
        body +=
            "</div><div id=\"app\" data-page=\"overview\" data-currency=\""
            + HTML.escape(dependencies.configuration.currency) + "\">" + Self.overviewShell + "</div>"
        body += recentActivity()
        let head =
            "<script src=\"/assets/vendor/chart.min.js\"></script>"
            + "<script type=\"module\" src=\"/assets/overview.js\"></script>"
        return render(title: "Overview", body: body, head: head)
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
        var body = header(session, active: "/assist")
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

    /// The navigation bar: the pages the role may use, who is signed in, their role and the sign-out form (its
    /// CSRF token as a hidden field). Without sign-in on the node (`--auth none`) it says so.
    private func header(_ session: SignIn.Session?, active: String = "") -> String {
        let scopes = Set(session?.scopes.compactMap(Scope.init) ?? Scope.allCases)
        func may(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }
        var links: [(String, String)] = []
        if may(.read) {
            links += [
                ("/", "Overview"), ("/customers", "Customers"), ("/segments", "Segments"), ("/campaigns", "Campaigns"),
                ("/assist", "AI assist"),
            ]
        }
        if may(.admin) { links.append(("/admin", "Admin")) }
        links.append(("/docs", "API"))
        var nav = "<nav aria-label=\"Main\"><ul class=\"nav nav-pills flex-wrap small\">"
        for (href, label) in links {
            let current = href == active ? " active\" aria-current=\"page" : ""
            nav +=
                "<li class=\"nav-item\"><a class=\"nav-link\(current)\" href=\"\(href)\">\(HTML.escape(label))</a></li>"
        }
        nav += "</ul></nav>"
        guard let session else {
            return """
                <header class="mb-3"><div class="d-flex flex-wrap justify-content-between align-items-center gap-2">
                <h1 class="h3 mb-0">Cohort</h1><span class="badge text-bg-warning" id="role">no authentication</span>
                </div>\(nav)</header>
                """
        }
        let who =
            session.name.map { "\(HTML.escape($0)) &lt;\(HTML.escape(session.email))&gt;" }
            ?? HTML.escape(session.email)
        let role = HTML.escape(session.scopes.sorted().joined(separator: ", "))
        return """
            <header class="mb-3"><div class="d-flex flex-wrap justify-content-between align-items-center gap-2">
            <h1 class="h3 mb-0">Cohort</h1>
            <div class="small"><span id="signed-in-as">Signed in as \(who)</span>
            <span class="badge text-bg-secondary" id="role">\(role)</span>
            <form method="post" action="/auth/logout" class="d-inline ms-2">
            <input type="hidden" name="csrf" value="\(HTML.escape(session.csrf))">
            <button type="submit" class="btn btn-sm btn-outline-secondary" id="sign-out">Sign out</button></form></div>
            </div>\(nav)</header>
            """
    }

    /// The dashboard's working pages: a server-rendered shell (navigation, headings, empty regions) and the page's
    /// ES module, which fills it from the `/api/v1` JSON API with the browser's session.
    enum AppPage {
        case customers, customer, segments, builder, campaigns, newCampaign, campaign

        var script: String {
            switch self {
            case .customers: "customers"
            case .customer: "customer"
            case .segments: "segments"
            case .builder: "builder"
            case .campaigns: "campaigns"
            case .newCampaign: "campaign-new"
            case .campaign: "campaign"
            }
        }

        var section: String {
            switch self {
            case .customers, .customer: "/customers"
            case .segments, .builder: "/segments"
            case .campaigns, .newCampaign, .campaign: "/campaigns"
            }
        }

        /// Libraries from Debian's libjs-* packages the page loads before its module.
        var vendor: [String] {
            switch self {
            case .builder: ["Sortable.min.js"]
            case .campaign: ["chart.min.js"]
            default: []
            }
        }
    }

    /// The signed-in session for a page, or the answer that sends the browser to sign in; nil session on a node
    /// without authentication.
    private func pageSession(_ request: Request) -> (session: SignIn.Session?, redirect: Response?) {
        guard let signIn = dependencies.signIn else { return (nil, nil) }
        guard let session = signIn.session(from: request) else {
            let target = request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"
            return (nil, Response(status: .found, headers: [.location: "/auth/login?return_to=\(target)"]))
        }
        return (session, nil)
    }

    private func app(_ request: Request, _ page: AppPage, _ context: CohortRequestContext? = nil) throws -> Response {
        let (session, redirect) = pageSession(request)
        if let redirect { return redirect }
        let id = context?.parameters.get("id")
        let scopes = Set(session?.scopes.compactMap(Scope.init) ?? Scope.allCases)
        let writes = scopes.contains(.campaigns) || scopes.contains(.admin)
        if page == .newCampaign, !writes {
            return render(
                .forbidden, title: "Not allowed",
                body: header(session, active: page.section)
                    + "<div class=\"alert alert-warning\" id=\"refused\">Your role cannot use this page: it needs "
                    + "campaigns.</div>")
        }
        var body = header(session, active: page.section)
        body +=
            "<div id=\"app\" data-page=\"\(page.script)\" data-id=\"\(HTML.escape(id ?? ""))\" "
            + "data-writes=\"\(writes)\" data-currency=\"\(HTML.escape(dependencies.configuration.currency))\">"
            + Self.shell(page) + "</div>"
        var head = "<meta name=\"csrf-token\" content=\"\(HTML.escape(session?.csrf ?? ""))\">"
        for file in page.vendor { head += "<script src=\"/assets/vendor/\(file)\"></script>" }
        head += "<script type=\"module\" src=\"/assets/\(page.script).js\"></script>"
        return render(title: Self.title(page), body: body, head: head)
    }

    static func title(_ page: AppPage) -> String {
        switch page {
        case .customers: "Customers"
        case .customer: "Customer"
        case .segments: "Segments"
        case .builder: "Segment builder"
        case .campaigns: "Campaigns"
        case .newCampaign: "New campaign"
        case .campaign: "Campaign"
        }
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
                body: header(session, active: "/admin")
                    + "<div class=\"alert alert-warning\" id=\"refused\">Your role ("
                    + HTML.escape(session.scopes.sorted().joined(separator: ", "))
                    + ") cannot use this page: it needs admin.</div><a href=\"/\">Home</a>")
        }
        let keys = dependencies.keys?.list() ?? []
        var rows = ""
        for key in keys {
            rows += "<tr><td><code>\(HTML.escape(key.id))</code></td><td>\(HTML.escape(key.name))</td>"
            rows += "<td>\(HTML.escape(key.scopes.map(\.rawValue).sorted().joined(separator: ", ")))</td>"
            rows += "<td>\(HTML.escape(key.createdAt.description))</td></tr>"
        }
        return render(
            title: "Admin",
            body: header(session, active: "/admin")
                + "<h2 class=\"h5\">API keys</h2><div class=\"table-responsive\"><table class=\"table\" id=\"keys\"><thead><tr>"
                + "<th>id</th><th>name</th><th>scopes</th><th>created</th></tr></thead><tbody>\(rows)</tbody></table></div>"
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
