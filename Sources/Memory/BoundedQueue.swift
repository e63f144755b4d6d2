import Foundation

/// A bounded first-in, first-out queue between producer threads and one consuming thread: producers wait while
/// `capacity` elements wait, so a fast producer cannot fill memory ahead of a slow consumer.
///
/// The consumer `pop`s until nil (every producer has called `producerFinished` and the queue is empty). A consumer
/// that gives up calls `cancel`: producers drop what they push from then on and should stop early
/// (`isCancelled`).
public final class BoundedQueue<Element>: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `condition`; elements cross threads by design.
    private let condition = NSCondition()
    /// Few (at most `capacity`): taking the first moves the rest, which costs nothing next to a wait.
    private var elements: [Element] = []
    private let capacity: Int
    private var producersLeft: Int
    private var cancelled = false

    /// A queue holding at most `capacity` elements, fed by `producers` producers.
    public init(capacity: Int, producers: Int) {
        precondition(capacity > 0 && producers > 0, "BoundedQueue needs room and a producer")
        self.capacity = capacity
        producersLeft = producers
    }

    /// Waits for room, then adds `element`; drops it when the consumer has given up.
    public func push(_ element: Element) {
        condition.lock()
        defer { condition.unlock() }
        while elements.count >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return }
        elements.append(element)
        condition.broadcast()
    }

    /// One producer will push no more.
    public func producerFinished() {
        condition.lock()
        producersLeft -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The next element; nil once every producer has finished and every element was taken.
    public func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while elements.isEmpty && producersLeft > 0 && !cancelled { condition.wait() }
        guard !elements.isEmpty else { return nil }
        let element = elements.removeFirst()
        condition.broadcast()
        return element
    }

    /// The consumer gave up: what waits is dropped, and producers drop what they push from now on.
    public func cancel() {
        condition.lock()
        cancelled = true
        elements.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the consumer gave up.
    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}
