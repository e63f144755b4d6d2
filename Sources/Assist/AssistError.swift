/// Why a helper could not use a model's answer. Every case has a message fit to show the user beside the offline
/// answer it falls back to.
public enum AssistError: Error, Sendable, CustomStringConvertible {
    /// No usable answer from the provider after the retries the budget allows (status, timeout, connection).
    case unavailable(String)
    /// The model declined to answer.
    case refused(String)
    /// The answer hit the token budget before it was complete.
    case truncated
    /// The answer was not what was asked for: not JSON, wrong shape, an invalid rule or template, a wrong number.
    case invalidOutput(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "the language model is unavailable (\(why))"
        case .refused(let why): "the language model declined: \(why)"
        case .truncated: "the language model's answer was cut off at the token budget"
        case .invalidOutput(let why): "the language model's answer was not usable: \(why)"
        }
    }
}
