#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread read-write lock: many shared holders or one exclusive holder. With `preferringWriters` (glibc), a
/// waiting writer goes before new readers, so that a steady stream of readers cannot hold a writer off.
public final class ReadWriteLock: @unchecked Sendable {
    // @unchecked Sendable: pthread_rwlock_t is designed for cross-thread use; the pointer never escapes.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init(preferringWriters: Bool = false) {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            if preferringWriters {
                pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
            }
        #endif
        precondition(pthread_rwlock_init(lock, &attributes) == 0, "pthread_rwlock_init failed")
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public func lockShared() { precondition(pthread_rwlock_rdlock(lock) == 0) }
    public func lockExclusive() { precondition(pthread_rwlock_wrlock(lock) == 0) }
    public func unlock() { precondition(pthread_rwlock_unlock(lock) == 0) }

    /// `body` with the lock held shared.
    public func reading<Value>(_ body: () throws -> Value) rethrows -> Value {
        lockShared()
        defer { unlock() }
        return try body()
    }

    /// `body` with the lock held exclusively.
    public func writing<Value>(_ body: () throws -> Value) rethrows -> Value {
        lockExclusive()
        defer { unlock() }
        return try body()
    }
}
