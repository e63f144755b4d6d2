/// What one committed batch changed.
public struct BatchChanges: Sendable {
    /// The final state of every customer the batch touched (erased ones as tombstones).
    public var customers: [CustomerState]
}
