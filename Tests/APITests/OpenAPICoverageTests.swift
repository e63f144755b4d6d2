import API
import CohortConfig
import EventLog
import Foundation
import Logging
import Projections
import Segments
import Testing
import TestSupport

/// `schemas/openapi.yaml` and the router describe the same API: every route is in the spec, every operation of the
/// spec is routed, and their scopes agree.
@Suite("OpenAPI coverage")
struct OpenAPICoverageTests {
    /// `(METHOD path)` of every operation in the YAML, read from its `paths` block (two-space indented paths,
    /// four-space indented methods), with the scope its description names.
    static func specOperations() throws -> [String: String?] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("schemas/openapi.yaml"), encoding: .utf8)
        var operations: [String: String?] = [:]
        var inPaths = false
        var path = ""
        var operation = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                operation = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased() + " " + path
                operations[operation] = .some(nil)
            } else if line.hasPrefix("      description: "), let range = line.range(of: "Scope: ") {
                let scope = line[range.upperBound...].prefix { $0.isLetter }
                operations[operation] = .some(String(scope))
            }
        }
        return operations
    }

    @Test("every route is in openapi.yaml and every operation there is routed, with the same scope")
    func routesMatchSpec() async throws {
        let directory = TemporaryDirectory("cohort-api")
        var configuration = CohortConfiguration()
        configuration.dataDirectory = directory.path
        let log = try EmbeddedLog(
            configuration: EmbeddedLog.Configuration(path: directory.path + "/log"), logger: Logger(label: "test"))
        let store = try ReadModelStore(path: directory.path + "/readmodels")
        let index = try CustomerIndex.build(from: store)
        let projector = Projector(
            log: log, store: store,
            configuration: Projector.Configuration(topics: ["crm.customers"], deadLetterTopic: nil, currency: "INR"))
        let api = CohortAPI(
            APIDependencies(
                log: log, store: store, index: index, projector: projector, authenticator: nil, configuration: configuration,
                metrics: NodeMetrics(), logger: Logger(label: "test")))
        var routed: [String: String?] = [:]
        for route in api.routes { routed["\(route.method.rawValue) \(route.path)"] = .some(route.scope?.rawValue) }
        let spec = try Self.specOperations()
        #expect(spec.count >= 20, "the YAML parse found too few operations: \(spec.keys.sorted())")
        #expect(Set(routed.keys).subtracting(spec.keys).isEmpty, "routes missing from the spec")
        #expect(Set(spec.keys).subtracting(routed.keys).isEmpty, "spec operations without a route")
        for (operation, scope) in routed { #expect(spec[operation] == scope, "scope of \(operation)") }
        await log.close()
    }
}
