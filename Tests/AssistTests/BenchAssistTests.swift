import Foundation
import TestSupport
import Testing

@Suite("cohort bench assist")
struct BenchAssistTests {
    /// Waits for the child without blocking a cooperative thread for long (the model server shares the pool).
    static func exitStatus(_ child: ChildProcess, timeout: Double) async throws -> Int32? {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if let status = child.waitForExit(timeout: 0.02) { return status }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("offline rate on the bundled set, and the LLM path through the node's client against a model server")
    func benchAssist() async throws {
        let server = try await FakeModelServer.start()
        defer { Task { await server.stop() } }
        // One fixed rule for every phrasing: right for exactly one of them.
        server.answerUnscripted(
            with: .content(
                #"{"rules": {"and": [{"field": "city", "op": "in", "value": ["Mumbai", "Pune"]}, "#
                    + #"{"field": "tags", "op": "contains", "value": "vip"}]}, "assumptions": [], "unsupported": []}"#))
        let child = try ChildProcess.cohort(
            ["bench", "assist", "--llm", server.baseURL, "--model", "fake-model"],
            environment: ["COHORT_ASSIST_LLM_API_KEY": "sk-bench"])
        #expect(try await Self.exitStatus(child, timeout: 120) == 0, "\(child.errorOutput)")
        let lines = child.outputLines
        let total = try PhraseEvaluationTotals.bundledCount()
        let offline = try #require(lines.first { $0.hasPrefix("offline: ") })
        let right = Int(offline.dropFirst("offline: ".count).split(separator: "/").first ?? "") ?? 0
        #expect(right * 10 >= total * 9, "\(offline)")
        #expect(lines.contains { $0.hasPrefix("llm fake-model: 1/\(total) exact") }, "\(lines)")
        #expect(server.received.count == total)
        #expect(server.received.allSatisfy { $0.authorization == "Bearer sk-bench" })
    }
}

enum PhraseEvaluationTotals {
    static func bundledCount() throws -> Int {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Assist/Resources/phrasings.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        return ((object["cases"] as? [Any])?.count ?? 0) + ((object["partial"] as? [Any])?.count ?? 0)
    }
}
