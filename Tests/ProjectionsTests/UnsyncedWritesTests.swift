import Foundation
import TestSupport
import Testing

@testable import Projections

/// Read models committed without syncing: a marker of this process while it may hold unsynced commits, and read
/// models discarded when a marker names another boot (the machine went down while a process wrote).
@Suite("unsynced read-model commits")
struct UnsyncedWritesTests {
    private func markers(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("unsynced-") }.sorted()
    }

    /// A store holding one customer row.
    private func storeWithContent(_ path: String) throws -> ReadModelStore {
        let store = try ReadModelStore(path: path)
        try store.environment.write { txn in try txn.put(store.customers, key: Array("c-1".utf8), value: [1]) }
        return store
    }

    @Test("a writer's marker names this boot while it is open and is gone once it has closed")
    func markerWhileOpen() throws {
        let directory = TemporaryDirectory("unsynced")
        let bootID = try #require(UnsyncedWrites.bootID, "this machine has a boot id")
        let store = try storeWithContent(directory.path)
        let marker = try #require(try markers(directory.path).first)
        #expect(try markers(directory.path).count == 1)
        #expect(marker.hasPrefix("unsynced-\(getpid())-"))
        let text = try String(contentsOfFile: directory.path + "/" + marker, encoding: .utf8)
        #expect(text == bootID + "\n")
        // Each store opened has its own marker: one closing leaves the other's.
        let second = try ReadModelStore(path: directory.path)
        #expect(try markers(directory.path).count == 2)
        try second.close()
        #expect(try markers(directory.path) == [marker])
        try store.close()
        #expect(try markers(directory.path).isEmpty)
        // After closing, commits are synced one by one: no marker is needed for them.
        try store.environment.write { txn in try txn.put(store.customers, key: Array("c-2".utf8), value: [2]) }
        #expect(try markers(directory.path).isEmpty)
        #expect(try store.customerEntryCount() == 2)

        // Synced on every commit: no marker at all.
        let synced = try ReadModelStore(path: directory.path, options: ReadModelStore.options(syncEachCommit: true))
        #expect(try markers(directory.path).isEmpty)
        #expect(!synced.discardedAfterMachineCrash)
        #expect(try synced.customerEntryCount() == 2)
    }

    @Test("read models marked by a process of another boot are discarded; by a dead process of this boot, kept")
    func markersOfOtherBootsDiscard() throws {
        let directory = TemporaryDirectory("unsynced")
        try storeWithContent(directory.path).close()

        // A process of this boot that died: its commits are in the page cache, the read models are whole.
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let bootID = try #require(UnsyncedWrites.bootID)
        try Data((bootID + "\n").utf8).write(
            to: URL(fileURLWithPath: directory.path + "/unsynced-\(dead.processIdentifier)-1"))
        let kept = try ReadModelStore(path: directory.path)
        #expect(!kept.discardedAfterMachineCrash)
        #expect(try kept.customerEntryCount() == 1)
        try kept.close()
        #expect(try markers(directory.path).isEmpty, "the sync at a clean stop covers what the dead process wrote")

        // A process of an earlier boot that never closed: whatever the file holds may be half written.
        try Data("0d4c1f2e-earlier-boot\n".utf8).write(to: URL(fileURLWithPath: directory.path + "/unsynced-4242"))
        let discarded = try ReadModelStore(path: directory.path)
        #expect(discarded.discardedAfterMachineCrash)
        #expect(try discarded.isEmpty())
        #expect(try markers(directory.path).count == 1)
        try discarded.close()
        let reopened = try ReadModelStore(path: directory.path)
        #expect(!reopened.discardedAfterMachineCrash)
    }
}
