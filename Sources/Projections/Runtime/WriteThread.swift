import Foundation

/// The projector's one writing thread: LMDB write transactions belong to one thread, and every batch, span and
/// index update runs here in the order it was handed over. A thread of its own rather than a dispatch queue, so
/// that a serving node can run its folding below the priority of the requests it answers
/// (`Projector.Configuration.writeNiceness`): a thread's priority, once lowered, cannot be raised again without
/// privileges, so the shared dispatch threads must keep theirs (as with `DecodeThreads`).
final class WriteThread: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    /// Starts the thread, `niceness` steps below normal priority (0: normal).
    init(name: String, niceness: Int32) {
        Thread.detachNewThread { [self] in
            Thread.current.name = name
            // On Linux a thread's nice value is its own (`PRIO_PROCESS` with 0: the calling thread).
            if niceness > 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
            serve()
        }
    }

    /// Runs `job` after every job handed over before it.
    func async(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        jobs.append(job)
        condition.signal()
    }

    /// Ends the thread once the jobs handed over so far have run; returns at once.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.signal()
    }

    private func serve() {
        condition.lock()
        while true {
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty { break }
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in taken { job() }
            condition.lock()
        }
        condition.unlock()
    }
}
