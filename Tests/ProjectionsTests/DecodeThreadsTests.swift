import Foundation
import Synchronization
import Testing

@testable import Projections

@Suite("decode threads")
struct DecodeThreadsTests {
    @Test("every chunk is decoded exactly once, on the pool's own threads, below normal priority")
    func everyChunkOnce() {
        let threads = DecodeThreads(count: 3)
        defer { threads.stop() }
        for chunks in [1, 2, 7, 500] {
            let calls = Mutex([Int](repeating: 0, count: chunks))
            let niceness = Mutex(Set<Int32>())
            let callers = Mutex(Set<UInt>())
            threads.perform(chunks: chunks) { chunk in
                calls.withLock { $0[chunk] += 1 }
                let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                niceness.withLock { _ = $0.insert(nice) }
                callers.withLock { _ = $0.insert(UInt(pthread_self())) }
            }
            #expect(calls.withLock { $0 } == [Int](repeating: 1, count: chunks), "chunks: \(chunks)")
            #expect(niceness.withLock { $0 } == [DecodeThreads.niceness])
            #expect(!callers.withLock { $0 }.contains(UInt(pthread_self())), "not on the calling thread")
            #expect(callers.withLock { $0.count } <= 3)
        }
    }

    @Test("stop returns once every thread has ended, also right after starting")
    func stopEnds() {
        for count in [1, 4] {
            let threads = DecodeThreads(count: count)
            threads.stop()
        }
    }
}
