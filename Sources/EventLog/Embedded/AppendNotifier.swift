import Foundation

/// Wakes readers waiting for new records. A generation counter avoids lost wake-ups: a reader notes the
/// generation before it reads and waits only if no commit happened since.
final class AppendNotifier: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is guarded by `lock`.
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    /// Waiters whose timeout fired before they registered: they must not wait at all.
    private var expired: Set<UInt64> = []
    private var nextWaiterID: UInt64 = 0

    /// The current generation; read it before reading the log.
    var current: UInt64 { lock.withLock { generation } }

    /// Called after each commit, and on close so that no reader waits for a log that is gone.
    func notify() {
        let woken = lock.withLock {
            generation &+= 1
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns when the generation passes `seen`, or after `timeoutMs`, whichever comes first.
    func wait(after seen: UInt64, timeoutMs: Int) async {
        guard timeoutMs > 0 else { return }
        let id = lock.withLock {
            nextWaiterID &+= 1
            return nextWaiterID
        }
        let timer = Task { [weak self] in
            do {
                try await Task.sleep(for: .milliseconds(timeoutMs))
                self?.expire(id)
            } catch {
                // Cancelled: the waiter was woken by an append.
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let proceed = lock.withLock {
                if generation != seen || expired.remove(id) != nil { return true }
                waiters[id] = continuation
                return false
            }
            if proceed { continuation.resume() }
        }
        timer.cancel()
        _ = lock.withLock { expired.remove(id) }
    }

    private func expire(_ id: UInt64) {
        let waiter = lock.withLock {
            let waiter = waiters.removeValue(forKey: id)
            if waiter == nil { expired.insert(id) }
            return waiter
        }
        waiter?.resume()
    }
}
