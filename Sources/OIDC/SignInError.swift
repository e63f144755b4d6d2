/// Why a sign-in or an ID token was refused. The message is meant for the person signing in (and the log): it
/// names the check that failed, never a secret.
public struct SignInError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The token or the callback is not acceptable (answered 401).
        case invalid
        /// A valid identity that this deployment does not let in (answered 403).
        case notAllowed
        /// The issuer could not be reached or answered nonsense (answered 503).
        case unavailable
    }

    public let kind: Kind
    public let description: String

    public static func invalid(_ message: String) -> SignInError { SignInError(kind: .invalid, description: message) }
    public static func notAllowed(_ message: String) -> SignInError {
        SignInError(kind: .notAllowed, description: message)
    }
    public static func unavailable(_ message: String) -> SignInError {
        SignInError(kind: .unavailable, description: message)
    }
}
