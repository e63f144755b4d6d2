import Events
import Foundation
import Hummingbird
import Projections

/// Health, readiness, metrics and the API description.
extension CohortAPI {
    var opsRoutes: [Route] {
        [
            Route(
                method: .get, path: "/healthz", scope: nil, summary: "Liveness; says loudly when auth is off",
                handler: { _, _ in health() }),
            Route(
                method: .get, path: "/readyz", scope: nil,
                summary: "Ready once the projections have caught up with the log (503 with the lag before)",
                handler: { _, _ in readiness() }),
            Route(
                method: .get, path: "/metrics", scope: .read, summary: "Prometheus metrics",
                handler: { _, _ in try metricsText() }),
            Route(
                method: .get, path: "/openapi.yaml", scope: nil, summary: "This API described in OpenAPI 3.1",
                handler: { _, _ in try openAPI() }),
            Route(
                method: .get, path: "/docs", scope: nil, summary: "Every endpoint, for a person",
                handler: { _, _ in docs() }),
        ]
    }

    private func health() -> Response {
        var members: [(String, JSONValue)] = [("status", .string("ok")), ("role", .string(dependencies.role.rawValue))]
        if let count = dependencies.shardPartitionCount {
            let partitions = dependencies.configuration.nodePartitions.map { JSONValue.number(JSONNumber(Int64($0))) }
            members.append(
                (
                    "shard",
                    .object(
                        JSONObject([("partitions", .array(partitions)), ("of", .number(JSONNumber(Int64(count))))]))
                ))
        }
        if !dependencies.configuration.nodeShards.isEmpty {
            members.append(("shards", .array(dependencies.configuration.nodeShards.map { .string($0) })))
        }
        if let authenticator = dependencies.authenticator {
            members.append(("auth", .string(authenticator.name)))
        } else {
            members.append(("auth", .string("none")))
            members.append(
                (
                    "warning",
                    .string("authentication is OFF (--auth none): anyone who can reach this port has full access")
                ))
        }
        return Self.json(.object(JSONObject(members)))
    }

    private func readiness() -> Response {
        // An ingest node has nothing to catch up with: it is ready once it serves.
        guard let projector = dependencies.projector else {
            return Self.json(.object(JSONObject([("ready", .bool(true)), ("lag", .number(JSONNumber(0)))])))
        }
        let lag = projector.lag()
        let behind = lag.values.reduce(0, +)
        let ready = !lag.isEmpty && behind == 0
        let body = JSONValue.object(JSONObject([("ready", .bool(ready)), ("lag", .number(JSONNumber(behind)))]))
        return Self.json(body, status: ready ? .ok : .serviceUnavailable)
    }

    /// Samples the gauges, then renders every metric; 404 when another backend than Prometheus exports them.
    private func metricsText() throws -> Response {
        let metrics = dependencies.metrics
        for (partition, lag) in dependencies.projector?.lag() ?? [:] {
            metrics.set(
                "cohort_projector_lag_records",
                dimensions: [("topic", partition.topic), ("partition", String(partition.partition))], to: Double(lag))
        }
        metrics.set("cohort_dead_letters", to: Double(try dependencies.store.counter(.deadLetters)))
        metrics.set("cohort_events_folded", to: Double(try dependencies.store.counter(.events)))
        metrics.set("cohort_receipts_unmatched", to: Double(try dependencies.store.counter(.unmatchedReceipts)))
        metrics.set("cohort_index_customers", to: Double(dependencies.index.customerCount))
        guard let text = metrics.render() else {
            throw Problem.notFound("metrics are exported by the configured metrics backend, not served here")
        }
        return Self.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    private func openAPI() throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw Problem(.internalServerError, "Missing resource", detail: "openapi.yaml is not installed") }
        return Self.text(text, contentType: "application/yaml")
    }

    private func docs() -> Response {
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cohort API</title>
            <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
            td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #ddd}code{font-size:.95em}</style>
            </head><body><h1>Cohort API</h1>
            <p>Send an API key as <code>Authorization: Bearer &lt;key&gt;</code> (create one with
            <code>cohort keys create --scope read,ingest</code>). Errors are RFC 9457 problem+json.
            The machine-readable description is <a href="/openapi.yaml">/openapi.yaml</a>.</p>
            <table><tr><th>method</th><th>path</th><th>scope</th><th>what it does</th></tr>
            """
        for route in routes {
            html += "<tr><td>\(route.method.rawValue)</td><td><code>\(HTML.escape(route.path))</code></td>"
            html += "<td>\(route.scope?.rawValue ?? "none")</td><td>\(HTML.escape(route.summary))</td></tr>\n"
        }
        html += "</table></body></html>\n"
        return Self.text(html, contentType: "text/html; charset=utf-8")
    }
}
