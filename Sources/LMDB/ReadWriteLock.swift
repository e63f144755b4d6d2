#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread read-write lock: many shared holders or one exclusive holder.
final class ReadWriteLock: @unchecked Sendable {
    // @unchecked Sendable: pthread_rwlock_t is designed for cross-thread use; the pointer never escapes.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func lockShared() { precondition(pthread_rwlock_rdlock(lock) == 0) }
    func lockExclusive() { precondition(pthread_rwlock_wrlock(lock) == 0) }
    func unlock() { precondition(pthread_rwlock_unlock(lock) == 0) }
}
