import Foundation
import LMDB
import Memory
import Synchronization

/// The timeline rows of one live batch, put into the timeline's environment on its own thread while the batch
/// folds, and committed before the batch's transaction is.
///
/// The timeline is the largest B-tree and each event adds a row at a random place of it: put on the folding thread,
/// its rows took half a live batch's time. On the timeline's thread they take the other core instead. Committed
/// first, the timeline is never behind the read models; after a crash between the two commits it is ahead, and
/// folding the batch again puts the same rows and drops the same customers again, which changes nothing.
final class TimelineBatch: @unchecked Sendable {
    // @unchecked Sendable: used by the batch's writing thread only; what the timeline's thread shares is `Shared`.
    private let shared = Shared()
    private var closed = false

    /// What the timeline's thread holds: not the batch itself, so that a batch abandoned by its fold is released,
    /// and closes its queue.
    private final class Shared: @unchecked Sendable {
        // @unchecked Sendable: `failure` is written before `finished` is signalled and read after waiting for it;
        // the queue and the flag are thread-safe.
        let queue = BoundedQueue<RowChunk>(capacity: 64, producers: 1)
        let finished = DispatchSemaphore(value: 0)
        /// Set by `commit` before the queue is closed: a batch closed without it is rolled back.
        let committing = Atomic<Bool>(false)
        var failure: (any Error)?
    }

    /// Chunks shipped this small reach the timeline's thread while the batch is still folding.
    static let chunkBytes = 64 << 10

    /// Starts the batch's transaction on the timeline's thread of `store`.
    init(store: ReadModelStore) {
        let shared = shared
        store.timelineThread.async {
            do {
                var received: [RowChunk] = []
                try store.timelineEnvironment.write { txn in
                    // Run again after the map grew: the rows taken so far first.
                    for chunk in received { try txn.apply(chunk, flags: []) }
                    while let chunk = shared.queue.pop() {
                        received.append(chunk)
                        try txn.apply(chunk, flags: [])
                    }
                    guard shared.committing.load(ordering: .acquiring) else { throw Abandoned() }
                }
            } catch {
                shared.failure = error
                shared.queue.cancel()
            }
            shared.finished.signal()
        }
    }

    private struct Abandoned: Error {}

    /// Hands `chunk` over; it is put after those before it.
    func send(_ chunk: RowChunk) { shared.queue.push(chunk) }

    /// Commits every row handed over, and returns once it is committed.
    func commit() throws {
        shared.committing.store(true, ordering: .releasing)
        try close()
    }

    private func close() throws {
        guard !closed else { return }
        closed = true
        shared.queue.producerFinished()
        shared.finished.wait()
        if let failure = shared.failure, !(failure is Abandoned) { throw failure }
    }

    /// A batch that was not committed (its fold threw, or its transaction is run again) rolls its rows back.
    deinit { try? close() }
}

/// A write of the timeline's environment under way on its thread (`ReadModelStore.writeTimeline`).
final class TimelineWrite: @unchecked Sendable {
    // @unchecked Sendable: `result` is written before `done` is signalled and read after waiting for it.
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Void, any Error>?

    func finish(_ result: Result<Void, any Error>) {
        self.result = result
        done.signal()
    }

    /// Returns once the write has committed, or throws why it did not; once only.
    func wait() throws {
        done.wait()
        try result?.get()
    }
}
