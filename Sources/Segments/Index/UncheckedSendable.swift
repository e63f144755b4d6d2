/// A value handed to other threads that Swift cannot prove safe to share: the code that makes one says why it is.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
