import Hummingbird

/// The request context of every Cohort route: Hummingbird's core context, and who is calling once the route's
/// authenticator has said so (nil on open routes and on a node without authentication).
public struct CohortRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller, for audit records; set before the route's handler runs.
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
