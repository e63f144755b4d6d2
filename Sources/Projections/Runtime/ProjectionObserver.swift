/// Something kept in step with the read models, such as an in-memory index: told of every batch right after it
/// commits, on the projector's write thread, before the next batch is applied.
public protocol ProjectionObserver: Sendable {
    func didCommit(_ changes: BatchChanges)
}
