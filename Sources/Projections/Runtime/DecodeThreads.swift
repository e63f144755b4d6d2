import Foundation

/// A projector's own threads for decoding records, running a notch below normal scheduling priority.
///
/// A projector keeps more threads busy than there are cores: decoders on every core, and the one thread that folds
/// (or writes) batches in order, which is what a replay waits for. Given equal priority, the kernel shares the
/// cores out evenly, holding the folding thread to two thirds of a core on two cores while it had work to do.
/// Lowered, decoders take what the folding thread leaves. Threads of their own, because a thread's priority,
/// once lowered, cannot be raised again without privileges: the shared dispatch threads must keep theirs.
final class DecodeThreads: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var work: ((Int) -> Void)?
    private var chunks = 0
    private var nextChunk = 0
    private var unfinished = 0
    private var running = 0
    private var stopping = false

    /// How far below normal the threads run (a nice value: each step is about a tenth less CPU in a contest).
    static let niceness: Int32 = 10

    /// Starts `count` threads; `stop()` ends them.
    init(count: Int) {
        running = count
        for _ in 0..<count {
            Thread.detachNewThread { [self] in serve() }
        }
    }

    /// Calls `body` with each chunk number in `0..<chunks`, spread over the threads, and returns once every call
    /// has returned. One caller at a time (a projector's read loop).
    func perform(chunks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            condition.lock()
            defer { condition.unlock() }
            precondition(work == nil && !stopping, "DecodeThreads.perform: one caller at a time, before stop()")
            work = body
            self.chunks = chunks
            nextChunk = 0
            unfinished = chunks
            condition.broadcast()
            while unfinished > 0 { condition.wait() }
            work = nil
        }
    }

    /// Ends the threads once they have finished what they are doing.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
    }

    private func serve() {
        Thread.current.name = "cohort.decode"
        // On Linux a thread's nice value is its own (`PRIO_PROCESS` with 0: the calling thread).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        condition.lock()
        defer { condition.unlock() }
        while true {
            while !stopping && (work == nil || nextChunk >= chunks) { condition.wait() }
            guard !stopping, let body = work else { break }
            let chunk = nextChunk
            nextChunk += 1
            condition.unlock()
            body(chunk)
            condition.lock()
            unfinished -= 1
            if unfinished == 0 { condition.broadcast() }
        }
        running -= 1
        condition.broadcast()
    }
}
