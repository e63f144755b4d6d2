import Foundation

/// A thread of its own that runs jobs one at a time, in the order they were handed over; also a `TaskExecutor`, so
/// that a task can prefer it (`withTaskExecutorPreference`) and run every step of its own there.
///
/// A projector has two. Its writing thread: LMDB write transactions belong to one thread, and every batch, span and
/// index update runs there in order; a serving node runs it below the priority of the requests it answers
/// (`Projector.Configuration.writeNiceness`). Its reading thread: the loop that polls the log, decodes and hands
/// batches over runs there, so that its blocking steps (reading the log's map, waiting for the decoding threads)
/// never hold a thread that answers requests. Threads rather than dispatch queues, because a thread's priority, once
/// lowered, cannot be raised again without privileges: shared threads must keep theirs (as with `DecodeThreads`).
final class SerialThread: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    /// Starts the thread, `niceness` steps below normal priority (0: normal).
    init(name: String, niceness: Int32 = 0) {
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

    /// Runs a step of a task that prefers this thread.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Ends the thread once the jobs handed over so far have run; returns at once. Nothing may be handed over after.
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
