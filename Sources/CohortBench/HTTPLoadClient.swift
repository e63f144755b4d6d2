import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One keep-alive HTTP/1.1 connection over a blocking socket, for load generation: a thread per connection, no
/// event loop, so the benchmark measures the server rather than a client framework.
final class HTTPLoadConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let socket: Int32
    private let host: String
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var pending: [UInt8] = []

    /// Connects to `host:port` (IPv4 literal or name resolved by getaddrinfo).
    init(host: String, port: Int) throws {
        self.host = host
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        socket = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard socket >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        guard connect(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            close(socket)
            throw Failure(description: "cannot connect to \(host):\(port): errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(socket) }

    /// A request's bytes, built once and sent many times.
    static func request(
        method: String, path: String, host: String, body: [UInt8], contentType: String = "application/json",
        authorization: String? = nil
    ) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Sends `request` and reads the whole response; returns the status and the body.
    func exchange(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        try request.withUnsafeBytes { bytes in
            var sent = 0
            while sent < bytes.count {
                let count = send(socket, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                guard count > 0 else { throw Failure(description: "send failed: errno \(errno)") }
                sent += count
            }
        }
        // Headers, then exactly Content-Length bytes of body (the server answers with a length).
        var headerEnd: Int?
        while true {
            if let end = Self.find(pending, [0x0D, 0x0A, 0x0D, 0x0A]) {
                headerEnd = end
                break
            }
            try fill()
        }
        let head = pending[..<headerEnd!]
        guard head.count >= 12,
            let status = Int(String(decoding: head[head.startIndex + 9..<head.startIndex + 12], as: UTF8.self))
        else { throw Failure(description: "malformed status line") }
        var length = 0
        let name = Array("\r\ncontent-length:".utf8)
        if let at = Self.find(head.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, name) {
            var index = head.startIndex + at + name.count
            while index < head.endIndex, head[index] == 0x20 { index += 1 }
            while index < head.endIndex, head[index] >= 0x30, head[index] <= 0x39 {
                length = length * 10 + Int(head[index] - 0x30)
                index += 1
            }
        }
        let bodyStart = headerEnd! + 4
        while pending.count < bodyStart + length { try fill() }
        let body = Array(pending[bodyStart..<bodyStart + length])
        pending.removeFirst(bodyStart + length)
        return (status, body)
    }

    private func fill() throws {
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: "connection closed (recv \(count), errno \(errno))") }
        pending.append(contentsOf: buffer[0..<count])
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return start }
        }
        return nil
    }
}
