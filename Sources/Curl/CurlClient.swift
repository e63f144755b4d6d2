import CCurl
import Foundation

/// Why an HTTP exchange did not produce a response.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let description: String
    /// Timeouts and connection failures: worth retrying.
    public var isRetriable: Bool { true }
    /// The code of a response larger than `CurlClient.responseBytesMax` (not one of libcurl's).
    public static let responseTooLarge = -2
}

/// One libcurl easy handle: blocking GETs and POSTs that reuse the connection between calls. Not thread-safe: use one
/// per thread (the delivery worker runs a fixed number of them; `exchange` makes one per call).
public final class CurlClient: @unchecked Sendable {
    // @unchecked Sendable: the handle is used by one caller at a time (the worker gives each task its own client).
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?

    /// A response: status, headers (names lower-cased; a repeated header keeps its last value) and the body.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: [UInt8]

        /// `Retry-After` in seconds, when given as a number.
        public var retryAfterSeconds: Int? { headers["retry-after"].flatMap { Int($0) } }
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// The largest response body accepted; a larger one ends the exchange with an error.
    public var responseBytesMax = Int.max

    public init() {
        _ = Self.globalInit
        handle = curl_easy_init()
    }

    deinit {
        if let headerList { curl_slist_free_all(headerList) }
        curl_easy_cleanup(handle)
    }

    /// POSTs `body` to `url` with `headers` and waits at most `timeoutMs` for the whole exchange.
    public func post(_ url: String, headers: [String], body: [UInt8], timeoutMs: Int) throws(CurlError) -> Response {
        try perform(url, headers: headers, body: body, timeoutMs: timeoutMs)
    }

    /// GETs `url` with `headers` and waits at most `timeoutMs` for the whole exchange.
    public func get(_ url: String, headers: [String] = [], timeoutMs: Int) throws(CurlError) -> Response {
        try perform(url, headers: headers, body: nil, timeoutMs: timeoutMs)
    }

    private func perform(_ url: String, headers: [String], body: [UInt8]?, timeoutMs: Int) throws(CurlError) -> Response
    {
        final class Sink {
            var body: [UInt8] = []
            var headers: [String: String] = [:]
            var limit = Int.max
            var overflowed = false
        }
        let sink = Sink()
        sink.limit = responseBytesMax
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        for header in headers { headerList = curl_slist_append(headerList, header) }
        let code: CURLcode = url.withCString { urlPointer in
            (body ?? []).withUnsafeBufferPointer { bodyPointer in
                let unmanaged = Unmanaged.passUnretained(sink).toOpaque()
                cohort_curl_setopt_string(handle, CURLOPT_URL, urlPointer)
                if body != nil {
                    cohort_curl_setopt_long(handle, CURLOPT_POST, 1)
                    cohort_curl_setopt_pointer(
                        handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bodyPointer.baseAddress))
                    cohort_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bodyPointer.count)
                } else {
                    cohort_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                }
                cohort_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
                cohort_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMs)
                cohort_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                cohort_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged)
                cohort_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged)
                let write: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
                    data, size, count, context in
                    let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
                    guard sink.body.count + bytes.count <= sink.limit else {
                        sink.overflowed = true
                        return 0
                    }
                    sink.body.append(contentsOf: bytes)
                    return size * count
                }
                let header: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
                    data, size, count, context in
                    let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
                    if let colon = line.firstIndex(of: ":") {
                        let name = line[..<colon].lowercased()
                        sink.headers[name] = line[line.index(after: colon)...].trimmingCharacters(
                            in: .whitespacesAndNewlines)
                    }
                    return size * count
                }
                cohort_curl_setopt_pointer(
                    handle, CURLOPT_WRITEFUNCTION, unsafeBitCast(write, to: UnsafeMutableRawPointer.self))
                cohort_curl_setopt_pointer(
                    handle, CURLOPT_HEADERFUNCTION, unsafeBitCast(header, to: UnsafeMutableRawPointer.self))
                return curl_easy_perform(handle)
            }
        }
        if sink.overflowed {
            throw CurlError(code: CurlError.responseTooLarge, description: "a response over \(sink.limit) bytes")
        }
        guard code == CURLE_OK else {
            throw CurlError(code: Int(code.rawValue), description: String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        cohort_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, headers: sink.headers, body: sink.body)
    }
}

extension CurlClient {
    /// Runs one blocking exchange on a fresh client on a thread of its own, so that an async caller's executor never
    /// waits on the network. Not on Dispatch's global queue: on Linux it runs as many blocks at once as there are
    /// cores, so one slow server would hold back every other request.
    public static func exchange(
        _ body: @escaping @Sendable (CurlClient) throws(CurlError) -> Response
    ) async throws(CurlError) -> Response {
        let result: Result<Response, CurlError> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let client = CurlClient()
                continuation.resume(returning: Result { () throws(CurlError) in try body(client) })
            }
        }
        return try result.get()
    }
}
