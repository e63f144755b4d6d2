import Curl
import Events
import Foundation
import Logging
import Synchronization

/// Where the language model is and how much one request may cost. The key is kept out of every description,
/// log line and error message.
public struct LLMSettings: Sendable, CustomStringConvertible {
    /// The OpenAI-compatible API root, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    public var baseURL: String
    public var model: String
    /// Sent as `Authorization: Bearer …` when not empty (Ollama and llama.cpp need none).
    public var apiKey: String
    /// Deadline of one HTTP exchange.
    public var timeoutMs: Int
    /// Retries after a 429, a 5xx, a timeout or a refused connection.
    public var retries: Int
    /// The most a provider may ask us to wait (`Retry-After`) before we give up and fall back.
    public var retryAfterMaxSeconds: Int
    /// The token budget of one answer (`max_tokens`).
    public var maxTokens: Int
    /// Whether sample customers' first names and cities may be sent (off: only aggregates and names of fields).
    public var shareSamples: Bool
    /// Requests to the model at once; past it a helper answers offline at once instead of queueing.
    public var inFlightMax: Int

    public init(
        baseURL: String, model: String, apiKey: String = "", timeoutMs: Int = 20_000, retries: Int = 2,
        retryAfterMaxSeconds: Int = 20, maxTokens: Int = 1_000, shareSamples: Bool = false, inFlightMax: Int = 16
    ) {
        self.inFlightMax = inFlightMax
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.timeoutMs = timeoutMs
        self.retries = retries
        self.retryAfterMaxSeconds = retryAfterMaxSeconds
        self.maxTokens = maxTokens
        self.shareSamples = shareSamples
    }

    public var description: String {
        "\(model) at \(baseURL) (key \(apiKey.isEmpty ? "none" : "set"), timeout \(timeoutMs) ms, "
            + "\(retries) retries, max_tokens \(maxTokens))"
    }
}

/// One exchange with the model, for metrics: which helper asked, how it ended, how long it took, what it cost.
public struct LLMExchange: Sendable {
    public let helper: String
    /// `ok`, `refused`, `truncated`, `invalid` or `unavailable`.
    public let outcome: String
    public let seconds: Double
    public let attempts: Int
    public let promptTokens: Int
    public let completionTokens: Int
}

/// A client for the OpenAI-compatible chat-completions API (OpenAI, Gemini's compatible endpoint, Groq, Ollama,
/// llama.cpp's server). It asks for strict structured output (`response_format: json_schema`) and, when a server
/// rejects that, falls back for good to plain JSON with the schema in the prompt. Answers come back as parsed JSON
/// objects; everything else becomes an `AssistError`.
public final class ChatClient: Sendable {
    public let settings: LLMSettings
    private let logger: Logger
    private let observe: @Sendable (LLMExchange) -> Void
    /// Cleared the first time the server rejects `response_format: json_schema`.
    private let structuredOutput = Atomic<Bool>(true)
    /// Requests under way (each holds a thread while it waits on the network).
    private let inFlight = Atomic<Int>(0)

    public init(settings: LLMSettings, logger: Logger, observe: @escaping @Sendable (LLMExchange) -> Void = { _ in }) {
        self.settings = settings
        self.logger = logger
        self.observe = observe
    }

    /// What the caller asks: a system and a user message and the JSON schema of the answer.
    public struct Request: Sendable {
        public var helper: String
        public var system: String
        public var user: String
        public var schemaName: String
        public var schema: JSONValue

        public init(helper: String, system: String, user: String, schemaName: String, schema: JSONValue) {
            self.helper = helper
            self.system = system
            self.user = user
            self.schemaName = schemaName
            self.schema = schema
        }
    }

    /// Sends `request` and returns the model's answer after `validate` accepted it: what a helper rejects counts
    /// (in metrics and the log) as an invalid answer, like one that is not JSON.
    public func complete<Answer>(
        _ request: Request, validate: (JSONObject) throws(AssistError) -> Answer
    ) async throws(AssistError) -> Answer {
        let started = ContinuousClock.now
        var attempts = 0
        var tokens = (prompt: 0, completion: 0)
        func finish(_ outcome: String) {
            let elapsed = ContinuousClock.now - started
            observe(
                LLMExchange(
                    helper: request.helper, outcome: outcome,
                    seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                    attempts: attempts, promptTokens: tokens.prompt, completionTokens: tokens.completion))
        }
        do throws(AssistError) {
            guard inFlight.add(1, ordering: .relaxed).newValue <= settings.inFlightMax else {
                inFlight.subtract(1, ordering: .relaxed)
                throw AssistError.unavailable("\(settings.inFlightMax) requests to the model are already under way")
            }
            defer { inFlight.subtract(1, ordering: .relaxed) }
            let answer = try validate(try await exchange(request, attempts: &attempts, tokens: &tokens))
            finish("ok")
            return answer
        } catch {
            switch error {
            case .refused: finish("refused")
            case .truncated: finish("truncated")
            case .invalidOutput: finish("invalid")
            case .unavailable: finish("unavailable")
            }
            logger.notice(
                "language model answer not used; answering offline",
                metadata: ["helper": "\(request.helper)", "reason": "\(error)", "attempts": "\(attempts)"])
            throw error
        }
    }

    /// Logs a summary whose numbers are not the computed figures (the deterministic summary is used instead).
    func logMismatch(_ numbers: [Decimal]) {
        logger.warning(
            "language model summary stated numbers that are not figures",
            metadata: ["numbers": "\(numbers.map(\.description).joined(separator: ", "))"])
    }

    private func exchange(
        _ request: Request, attempts: inout Int, tokens: inout (prompt: Int, completion: Int)
    ) async throws(AssistError) -> JSONObject {
        var retriesLeft = settings.retries
        while true {
            attempts += 1
            let structured = structuredOutput.load(ordering: .relaxed)
            let response: CurlClient.Response
            do {
                response = try await post(body(request, structured: structured))
            } catch {
                guard retriesLeft > 0 else { throw .unavailable(error.description) }
                logger.debug("retrying the language model", metadata: ["reason": "\(error)", "attempt": "\(attempts)"])
                retriesLeft -= 1
                try await pause(seconds: backoff(attempts))
                continue
            }
            switch response.status {
            case 200..<300:
                return try answer(response.body, tokens: &tokens)
            case 400 where structured, 422 where structured:
                // Servers without structured output reject response_format; plain JSON from now on.
                structuredOutput.store(false, ordering: .relaxed)
                logger.notice(
                    "the model endpoint rejected structured output; using plain JSON",
                    metadata: ["status": "\(response.status)"])
                continue
            case 429, 500...599:
                let wait = response.retryAfterSeconds.map(Double.init) ?? backoff(attempts)
                guard retriesLeft > 0 else { throw .unavailable("HTTP \(response.status) after \(attempts) attempts") }
                guard wait <= Double(settings.retryAfterMaxSeconds) else {
                    throw .unavailable("HTTP \(response.status), asked to retry after \(Int(wait)) s")
                }
                logger.debug(
                    "retrying the language model",
                    metadata: ["status": "\(response.status)", "attempt": "\(attempts)", "wait_s": "\(wait)"])
                retriesLeft -= 1
                try await pause(seconds: wait)
            default:
                throw .unavailable("HTTP \(response.status): \(Self.errorMessage(response.body))")
            }
        }
    }

    private func backoff(_ attempt: Int) -> Double { min(8, 0.25 * Double(1 << min(attempt, 5))) }

    private func pause(seconds: Double) async throws(AssistError) {
        do { try await Task.sleep(for: .milliseconds(Int(seconds * 1_000))) } catch {
            throw .unavailable("cancelled")
        }
    }

    /// The request body: strict JSON schema output, or plain JSON with the schema spelled out in the prompt.
    func body(_ request: Request, structured: Bool) -> [UInt8] {
        var system = request.system
        if !structured {
            system += "\n\nAnswer with one JSON object only, no prose and no code fence, valid against this JSON "
            system += "schema:\n" + request.schema.jsonText
        }
        var members: [(String, JSONValue)] = [
            ("model", .string(settings.model)),
            (
                "messages",
                .array([
                    .object(JSONObject([("role", .string("system")), ("content", .string(system))])),
                    .object(JSONObject([("role", .string("user")), ("content", .string(request.user))])),
                ])
            ),
            ("temperature", .number(JSONNumber(0))),
            ("max_tokens", .number(JSONNumber(Int64(settings.maxTokens)))),
        ]
        if structured {
            members.append(
                (
                    "response_format",
                    .object(
                        JSONObject([
                            ("type", .string("json_schema")),
                            (
                                "json_schema",
                                .object(
                                    JSONObject([
                                        ("name", .string(request.schemaName)), ("strict", .bool(true)),
                                        ("schema", request.schema),
                                    ]))
                            ),
                        ]))
                ))
        } else {
            members.append(("response_format", .object(JSONObject([("type", .string("json_object"))]))))
        }
        return JSONValue.object(JSONObject(members)).serialized()
    }

    /// The model's answer out of a chat-completions response.
    private func answer(_ body: [UInt8], tokens: inout (prompt: Int, completion: Int)) throws(AssistError) -> JSONObject
    {
        guard let response = (try? JSONParser.parse(body))?.objectValue else {
            throw .invalidOutput("the response is not JSON")
        }
        if let usage = response["usage"]?.objectValue {
            tokens.prompt = Self.integer(usage["prompt_tokens"])
            tokens.completion = Self.integer(usage["completion_tokens"])
        }
        guard case .array(let choices)? = response["choices"], let choice = choices.first?.objectValue,
            let message = choice["message"]?.objectValue
        else { throw .invalidOutput("the response has no choices[0].message") }
        if let refusal = message["refusal"]?.stringValue, !refusal.isEmpty { throw .refused(refusal) }
        if choice["finish_reason"]?.stringValue == "length" { throw .truncated }
        guard let content = message["content"]?.stringValue else {
            throw .invalidOutput("the message has no content")
        }
        guard let object = (try? JSONParser.parse(Self.unfenced(content)))?.objectValue else {
            throw .invalidOutput("the answer is not a JSON object")
        }
        return object
    }

    /// Content without a Markdown code fence around it, as some servers send in plain JSON mode.
    static func unfenced(_ content: String) -> String {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("```") else { return text }
        text = String(text.drop(while: { $0 != "\n" }))
        if text.hasSuffix("```") { text = String(text.dropLast(3)) }
        return text
    }

    private static func integer(_ value: JSONValue?) -> Int {
        if case .number(let number)? = value, let integer = number.int64Value { return Int(integer) }
        return 0
    }

    /// The provider's error message, if its body says one, cut short.
    private static func errorMessage(_ body: [UInt8]) -> String {
        let object = (try? JSONParser.parse(body))?.objectValue
        let message = object?["error"]?.objectValue?["message"]?.stringValue ?? object?["error"]?.stringValue
        return String((message ?? "no message").prefix(200))
    }

    /// One POST, off the caller's executor (`CurlClient.exchange`).
    private func post(_ body: [UInt8]) async throws(CurlError) -> CurlClient.Response {
        let headers =
            // "Expect:" stops libcurl from waiting for a 100 Continue that servers rarely send.
            ["Content-Type: application/json", "Accept: application/json", "Expect:"]
            + (settings.apiKey.isEmpty ? [] : ["Authorization: Bearer " + settings.apiKey])
        let url =
            settings.baseURL.hasSuffix("/")
            ? settings.baseURL + "chat/completions"
            : settings.baseURL + "/chat/completions"
        let timeout = settings.timeoutMs
        return try await CurlClient.exchange { client throws(CurlError) in
            try client.post(url, headers: headers, body: body, timeoutMs: timeout)
        }
    }
}
