/// An OpenID Connect issuer this deployment trusts, and who may sign in through it with which scopes.
public struct OIDCSettings: Sendable {
    /// The issuer URL exactly as its tokens name it (`https://accounts.google.com`).
    public var issuer: String
    public var clientID: String
    /// From the environment (`COHORT_AUTH_OIDC_CLIENT_SECRET`); never logged.
    public var clientSecret: String
    /// E-mail domains allowed to sign in (lower-case). For Google the token's `hd` claim must name the domain.
    public var allowedDomains: [String]
    /// E-mail addresses allowed to sign in whatever their domain (lower-case).
    public var allowedUsers: [String]
    /// E-mail addresses that get every scope (lower-case); they are allowed to sign in too.
    public var admins: [String]
    /// The scopes of everyone else who is allowed in.
    public var defaultScopes: [String]
    /// How far `exp`, `iat` and `nbf` may be off.
    public var clockSkewSeconds: Int
    /// The shortest time between two key-set fetches caused by unknown `kid`s.
    public var refetchIntervalSeconds: Double
    /// Deadline of one request to the issuer.
    public var timeoutMs: Int

    public init(
        issuer: String, clientID: String, clientSecret: String, allowedDomains: [String] = [],
        allowedUsers: [String] = [], admins: [String] = [], defaultScopes: [String] = ["campaigns", "read"],
        clockSkewSeconds: Int = 60, refetchIntervalSeconds: Double = 10, timeoutMs: Int = 10_000
    ) {
        self.issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.allowedDomains = allowedDomains.map { $0.lowercased() }
        self.allowedUsers = allowedUsers.map { $0.lowercased() }
        self.admins = admins.map { $0.lowercased() }
        self.defaultScopes = defaultScopes
        self.clockSkewSeconds = clockSkewSeconds
        self.refetchIntervalSeconds = refetchIntervalSeconds
        self.timeoutMs = timeoutMs
    }

    /// Google's issuer, whose tokens carry the hosted domain in `hd`.
    public var isGoogle: Bool { issuer == "https://accounts.google.com" || issuer == "accounts.google.com" }
}

/// Who signed in, after every check, with the scopes the deployment gives them.
public struct SignedInUser: Sendable, Equatable {
    public let subject: String
    public let email: String
    public let name: String?
    public let scopes: [String]

    public init(subject: String, email: String, name: String?, scopes: [String]) {
        self.subject = subject
        self.email = email
        self.name = name
        self.scopes = scopes
    }
}
