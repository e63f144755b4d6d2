import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A local OpenAI-compatible chat-completions server for tests: it answers `POST /v1/chat/completions` from a
/// script of replies, in order, and records every request it receives. Faults are replies like any other.
public final class FakeModelServer: Sendable {
    /// One scripted answer.
    public enum Reply: Sendable {
        /// A 200 completion whose message content is `content`.
        case content(String, finishReason: String = "stop", promptTokens: Int = 120, completionTokens: Int = 40)
        /// A 200 completion whose message is a refusal.
        case refusal(String)
        /// Any status with a raw body; of headers, `Retry-After` is sent.
        case status(Int, headers: [String: String] = [:], body: String = "{\"error\":{\"message\":\"scripted\"}}")
        /// `reply`, after holding the request for `seconds` (longer than the client's timeout: a timeout).
        indirect case delayed(Double, Reply)
    }

    /// A request as it arrived.
    public struct Received: Sendable {
        public let authorization: String?
        public let body: String
        public let at: ContinuousClock.Instant

        /// The parsed body.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
        /// `response_format.type`, if any.
        public var responseFormat: String? { (json["response_format"] as? [String: Any])?["type"] as? String }
        /// The text of every message, joined.
        public var messagesText: String {
            ((json["messages"] as? [[String: Any]]) ?? []).compactMap { $0["content"] as? String }
                .joined(separator: "\n")
        }
    }

    private struct State {
        var script: [Reply] = []
        var received: [Received] = []
        var rejectsStructuredOutput = false
        var standing: Reply?
    }

    private let state = Mutex(State())
    private let task: Task<Void, any Error>
    public let port: Int

    /// The base URL to configure (`…/v1`).
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Starts the server on a free loopback port.
    public static func start() async throws -> FakeModelServer {
        try await LoopbackServer.start(
            label: "fake-model",
            routes: { router, server in
                router.post("/v1/chat/completions") { request, _ -> Response in
                    let body = try await request.body.collect(upTo: 4 << 20)
                    return try await server().answer(
                        authorization: request.headers[.authorization], body: String(buffer: body))
                }
            },
            make: { port, task in FakeModelServer(task: task, port: port) })
    }

    private init(task: Task<Void, any Error>, port: Int) {
        self.task = task
        self.port = port
    }

    /// Queues replies, answered in order; with the script empty a request gets the standing reply, else a 500.
    public func script(_ replies: Reply...) { state.withLock { $0.script.append(contentsOf: replies) } }

    /// Answers every request the script does not cover with `reply` (instead of a 500).
    public func answerUnscripted(with reply: Reply) { state.withLock { $0.standing = reply } }

    /// Makes the server refuse `response_format: json_schema` with a 400, as servers without structured output do.
    public func rejectStructuredOutput() { state.withLock { $0.rejectsStructuredOutput = true } }

    /// Every request so far, in arrival order.
    public var received: [Received] { state.withLock { $0.received } }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    private func answer(authorization: String?, body: String) async throws -> Response {
        let received = Received(authorization: authorization, body: body, at: .now)
        let (reply, rejects) = state.withLock { state -> (Reply?, Bool) in
            state.received.append(received)
            if state.rejectsStructuredOutput, received.responseFormat == "json_schema" { return (nil, true) }
            return (state.script.isEmpty ? state.standing : state.script.removeFirst(), false)
        }
        if rejects {
            return Self.response(400, [:], "{\"error\":{\"message\":\"response_format json_schema is not supported\"}}")
        }
        return try await render(reply ?? .status(500))
    }

    private func render(_ reply: Reply) async throws -> Response {
        switch reply {
        case .content(let content, let finishReason, let promptTokens, let completionTokens):
            let message: [String: Any] = ["role": "assistant", "content": content, "refusal": NSNull()]
            return Self.completion(message, finishReason: finishReason, usage: (promptTokens, completionTokens))
        case .refusal(let text):
            let message: [String: Any] = ["role": "assistant", "content": NSNull(), "refusal": text]
            return Self.completion(message, finishReason: "stop", usage: (20, 5))
        case .status(let code, let headers, let body):
            return Self.response(code, headers, body)
        case .delayed(let seconds, let then):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1_000)))
            return try await render(then)
        }
    }

    private static func completion(_ message: [String: Any], finishReason: String, usage: (Int, Int)) -> Response {
        let object: [String: Any] = [
            "id": "chatcmpl-test", "object": "chat.completion", "model": "fake",
            "choices": [["index": 0, "message": message, "finish_reason": finishReason]],
            "usage": ["prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return response(200, [:], String(decoding: data, as: UTF8.self))
    }

    private static func response(_ code: Int, _ headers: [String: String], _ body: String) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = headers["Retry-After"] { fields[.retryAfter] = retryAfter }
        return Response(
            status: HTTPResponse.Status(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
