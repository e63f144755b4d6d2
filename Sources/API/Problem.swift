import Events
import Hummingbird
import NIOCore

/// An RFC 9457 problem: every error the API answers with, as `application/problem+json`.
///
/// `errors` carries one entry per problem found, each with a JSON pointer into the request (or an item index for
/// batches), so a client can show every mistake at once.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    public var errors: [(pointer: String, message: String)]
    /// Extra response headers, such as `Retry-After` or `WWW-Authenticate`.
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, _ title: String, detail: String,
        errors: [(pointer: String, message: String)] = [], headers: HTTPFields = [:]
    ) {
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    /// The body as a JSON value (also used by tests and logs).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("type", .string("about:blank")), ("title", .string(title)),
            ("status", .number(JSONNumber(Int64(status.code)))),
            ("detail", .string(detail)),
        ]
        if !errors.isEmpty {
            members.append(
                (
                    "errors",
                    .array(
                        errors.map {
                            .object(JSONObject([("pointer", .string($0.pointer)), ("detail", .string($0.message))]))
                        })
                ))
        }
        return .object(JSONObject(members))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
    }
}

extension Problem {
    /// The `WWW-Authenticate` challenge of every 401.
    static let bearerChallenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"cohort\""]

    static func badRequest(_ detail: String, errors: [(pointer: String, message: String)] = []) -> Problem {
        Problem(.badRequest, "Bad request", detail: detail, errors: errors)
    }

    static func unprocessable(_ detail: String, errors: [(pointer: String, message: String)] = []) -> Problem {
        Problem(.unprocessableContent, "Unprocessable content", detail: detail, errors: errors)
    }

    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "Not found", detail: detail) }

    static func tooLarge(_ detail: String) -> Problem { Problem(.contentTooLarge, "Content too large", detail: detail) }

    static func unavailable(_ detail: String, retryAfterSeconds: Int) -> Problem {
        Problem(
            .serviceUnavailable, "Service unavailable", detail: detail,
            headers: [.retryAfter: String(retryAfterSeconds)])
    }
}
