import API
import EventLog
import Events
import Foundation
import Testing
import TestSupport

/// The API keys' topic as a node's `APIKeyStore` reads it: one-time tokens spent once, whatever the concurrency.
@Suite("key store")
struct KeyStoreTests {
    @Test("a token is spent once: the first claim wins, concurrent claims through two stores agree, each answers fast")
    func spendOnce() async throws {
        let directory = TemporaryDirectory("cohort-keystore")
        let log = try EmbeddedLog(configuration: EmbeddedLog.Configuration(path: directory.path))
        try await log.createTopic("cohort.keys", partitions: 4)
        // Two nodes' views of one log, each following it as a node does.
        let stores = [
            try await APIKeyStore(log: log, topic: "cohort.keys"),
            try await APIKeyStore(log: log, topic: "cohort.keys"),
        ]
        let followers = stores.map { store in Task { await store.follow() } }
        let until = Date().timeIntervalSince1970 + 60
        let started = ContinuousClock.now
        for token in 0..<50 {
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for claim in 0..<4 {
                    group.addTask { try await stores[claim % 2].spendOnce("link:\(token)", until: until) }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1, "token \(token): \(results)")
        }
        let seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        #expect(seconds < 30, "200 claims took \(seconds) s")
        for store in stores { #expect(try await store.spendOnce("link:7", until: until) == false) }
        for follower in followers { follower.cancel() }
        for follower in followers { await follower.value }
        await log.close()
    }
}
