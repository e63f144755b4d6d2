import Hummingbird
import Logging
import Synchronization

/// A Hummingbird server for tests on a free loopback port, whose routes reach an object made once the port is
/// known (the object needs the port for its own URLs; the routes need the object).
public enum LoopbackServer {
    /// Starts `router` (built with a handle that yields the object) and returns the object `make` builds.
    public static func start<Object: Sendable>(
        label: String, routes: (Router<BasicRequestContext>, @escaping @Sendable () -> Object) -> Void,
        make: (_ port: Int, _ task: Task<Void, any Error>) throws -> Object
    ) async throws -> Object {
        let box = Mutex<Object?>(nil)
        let router = Router()
        routes(router) { box.withLock { $0 }! }
        var logger = Logger(label: label)
        logger.logLevel = .error
        let (port, task) = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<(Int, Task<Void, any Error>), any Error>) in
            let started = Mutex<Task<Void, any Error>?>(nil)
            let application = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in
                    // The task exists by now: the server runs inside it.
                    while started.withLock({ $0 }) == nil { await Task.yield() }
                    continuation.resume(returning: (channel.localAddress?.port ?? 0, started.withLock { $0 }!))
                },
                logger: logger)
            started.withLock { $0 = Task { try await application.runService(gracefulShutdownSignals: []) } }
        }
        let object = try make(port, task)
        box.withLock { $0 = object }
        return object
    }
}
