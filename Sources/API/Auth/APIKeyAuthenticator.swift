import Hummingbird

/// API keys sent as `Authorization: Bearer ck_…`, checked against the hashed keys of an `APIKeyStore`.
public struct APIKeyAuthenticator: Authenticator {
    /// The hashed, scoped keys it checks against.
    public let keys: APIKeyStore

    /// An authenticator over `keys`.
    public init(keys: APIKeyStore) { self.keys = keys }

    public var name: String { "api-keys" }

    public var instructions: String { "send an API key as `Authorization: Bearer <key>`" }

    /// Claims every bearer token that is not a JSON Web Token (those carry two dots and belong to an ID-token
    /// authenticator): an unknown key is refused here rather than passed on.
    public func authenticate(_ request: Request) async throws -> Principal? {
        guard let token = request.bearerToken, token.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count != 2 else {
            return nil
        }
        guard let key = keys.authenticate(token) else {
            throw Problem(
                .unauthorized, "Unauthorized", detail: "the API key is not valid", headers: Problem.bearerChallenge)
        }
        return Principal(kind: .apiKey, id: key.id, scopes: key.scopes)
    }
}
