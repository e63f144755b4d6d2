/// What a node runs (SPEC §14, `serve --role`, `node.role`): any number of nodes of each role work against one
/// Kafka cluster, every one with its own data directory.
public enum NodeRole: String, Sendable, CaseIterable {
    /// Everything on one machine: ingest, the projector with reads, segments and campaigns, delivery.
    case all
    /// The ingest API (events and vendor receipts) only: appends to the log and folds nothing.
    case ingest
    /// The projector into this node's own read models, the segment index, every read, segments and campaigns; no
    /// ingest API and no delivery.
    case query
    /// The delivery worker, with the projector it reads campaigns and messages from; health and metrics only.
    case worker

    /// Whether the node folds the log into its read models.
    public var runsProjector: Bool { self != .ingest }
    /// Whether the node keeps the segment index in memory (counts, members, campaign audiences).
    public var keepsIndex: Bool { self == .all || self == .query }
    /// Whether the node hands queued messages to the vendor (when `vendor.url` is set).
    public var delivers: Bool { self == .all || self == .worker }

    /// Whether the node answers routes of `duty`.
    func serves(_ duty: RouteDuty) -> Bool {
        switch (self, duty) {
        case (_, .ops), (.all, _), (.ingest, .ingest), (.query, .query): true
        default: false
        }
    }

    /// The roles that answer routes of `duty`, for the error a node of another role gives.
    static func serving(_ duty: RouteDuty) -> [NodeRole] {
        allCases.filter { $0 != .all && $0.serves(duty) } + [.all]
    }
}

/// What a route is for, which decides the roles that answer it.
enum RouteDuty: Sendable {
    /// Appends what upstream systems and the vendor send: events, receipts.
    case ingest
    /// Reads the read models or the index, and the writes that need them (segments, campaigns), and the pages.
    case query
    /// Health, readiness, metrics and the API description: every node.
    case ops
}
