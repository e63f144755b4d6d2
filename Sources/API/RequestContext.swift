import Hummingbird

/// The request context of every Cohort route: Hummingbird's core context, and who is calling once the route's
/// authenticator has said so (nil on open routes and on a node without authentication).
public struct CohortRequestContext: RequestContext {
    /// Hummingbird's per-request state (logger, parameters, allocator).
    public var coreContext: CoreRequestContextStorage
    /// The caller, for audit records; set before the route's handler runs.
    public var principal: Principal?

    /// The caller as the audit trail names it: a signed-in user's e-mail, `key:<id>` of an API key; nil without
    /// authentication.
    public var actor: String? {
        principal.map { $0.kind == .apiKey ? "key:" + $0.id : $0.id }
    }

    /// A context for a request arriving through `source`, its caller not yet known.
    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
