import EventLog
import LMDB
import Testing

@testable import Projections
import TestSupport

@Suite("offset store")
struct OffsetStoreTests {
    @Test("offsets survive a reopen; a later store replaces only the partitions it names")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/delivery"
        let first = TopicPartition(topic: "crm.deliveries", partition: 0)
        let second = TopicPartition(topic: "crm.deliveries", partition: 1)
        do {
            let store = try OffsetStore(path: path)
            #expect(try store.stored().isEmpty)
            try store.store([first: 10, second: 3])
            try store.store([first: 25])
        }
        let reopened = try OffsetStore(path: path)
        #expect(try reopened.stored() == [first: 25, second: 3])
    }

    @Test("a node upgraded in place finds the worker's progress where it used to be kept")
    func legacyOffsets() throws {
        let directory = TemporaryDirectory()
        let partition = TopicPartition(topic: "crm.deliveries", partition: 2)
        let store = try ReadModelStore(path: directory.path + "/readmodels")
        #expect(try store.legacyDeliveryWorkerOffsets().isEmpty)
        try store.environment.write { txn in
            try ReadModelStore.writeOffsets([partition: 42], to: store.workerOffsets, in: txn)
        }
        #expect(try store.legacyDeliveryWorkerOffsets() == [partition: 42])
    }
}
