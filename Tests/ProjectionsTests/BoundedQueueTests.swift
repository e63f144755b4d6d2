import Dispatch
import Foundation
import Memory
import Synchronization
import Testing

/// The queue between a rebuild's row-building threads and its writer, and between the index's reader and builder.
@Suite("bounded queue")
struct BoundedQueueTests {
    @Test("every element arrives once, each producer's in order, and never more than the capacity wait")
    func orderAndBound() {
        let capacity = 3
        let producers = 4
        let perProducer = 2_000
        let queue = BoundedQueue<(producer: Int, number: Int)>(capacity: capacity, producers: producers)
        // Counted after `push` returns: never ahead of what was really pushed.
        let pushed = Atomic<Int>(0)
        let done = DispatchGroup()
        for producer in 0..<producers {
            done.enter()
            Thread.detachNewThread {
                for number in 0..<perProducer {
                    queue.push((producer, number))
                    pushed.add(1, ordering: .sequentiallyConsistent)
                }
                queue.producerFinished()
                done.leave()
            }
        }
        var next = [Int](repeating: 0, count: producers)
        var popped = 0
        var mostWaiting = 0
        while let element = queue.pop() {
            popped += 1
            mostWaiting = max(mostWaiting, pushed.load(ordering: .sequentiallyConsistent) - popped)
            #expect(element.number == next[element.producer])
            next[element.producer] = element.number + 1
        }
        done.wait()
        #expect(popped == producers * perProducer)
        #expect(next == [Int](repeating: perProducer, count: producers))
        #expect(mostWaiting <= capacity)
        #expect(queue.pop() == nil)
    }

    @Test("a consumer that gives up releases producers waiting for room, and they see it")
    func cancel() {
        let queue = BoundedQueue<Int>(capacity: 1, producers: 2)
        let done = DispatchGroup()
        let stoppedEarly = Atomic<Int>(0)
        for _ in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                for number in 0..<1_000_000 {
                    queue.push(number)
                    if queue.isCancelled {
                        stoppedEarly.add(1, ordering: .sequentiallyConsistent)
                        break
                    }
                }
                queue.producerFinished()
                done.leave()
            }
        }
        #expect(queue.pop() != nil)
        queue.cancel()
        #expect(queue.pop() == nil)
        done.wait()
        #expect(stoppedEarly.load(ordering: .sequentiallyConsistent) == 2)
    }
}
