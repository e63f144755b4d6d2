import Foundation
import LMDB
import Testing

@testable import Projections

/// The timeline in an environment of its own: a store of an earlier version, with the timeline among the other
/// databases, has it moved on opening and its file copied without the pages that frees.
@Suite("timeline environment")
struct TimelineEnvironmentTests {
    @Test("a store of an earlier version has its timeline moved and its file compacted: same content, same digest")
    func earlierVersionMoved() async throws {
        let world = try await ProjectorTests.World()
        try await InMemorySpanTests.richLog(world)
        let path = world.directory.path + "/store"
        let (digest, customers): (String, [String])
        do {
            let store = try ReadModelStore(path: path)
            _ = try await world.project(into: store)
            digest = try store.digest()
            customers = try store.customers(after: nil, limit: 20, where: { _ in true }).customers.map(\.customerID)
            try store.close()
        }
        let timelines = try {
            let store = try ReadModelStore(path: path)
            return try customers.map { try store.timeline(ofCustomer: $0, limit: 1000) }
        }()
        #expect(timelines.contains { !$0.isEmpty })

        // What an earlier version stored: the timeline's rows among the others, no timeline environment.
        do {
            let earlier = try Environment(path: path, options: ReadModelStore.options(syncEachCommit: true))
            let timeline = try Environment(path: path + "/timeline")
            let (from, to) = (try timeline.database("timeline"), try earlier.database("timeline"))
            try earlier.write { txn in
                try timeline.read { stored in
                    try stored.forEach(from) { key, value in
                        try txn.put(to, key: key, value: value)
                        return true
                    }
                }
            }
        }
        try FileManager.default.removeItem(atPath: path + "/timeline")
        let size = { try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int ?? 0 }
        let before = try size()

        let moved = try ReadModelStore(path: path)
        #expect(try moved.digest() == digest)
        #expect(try customers.map { try moved.timeline(ofCustomer: $0, limit: 1000) } == timelines)
        let left = try moved.environment.database("timeline")
        #expect(try moved.environment.read { try $0.count(left) } == 0)
        #expect(try size() < before, "copied without the pages the timeline's rows took")
        #expect(!FileManager.default.fileExists(atPath: path + "/compacted"))
        await world.log.close()
    }
}
