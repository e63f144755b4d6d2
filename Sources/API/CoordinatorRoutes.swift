import Curl
import EventLog
import Events
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Segments

/// A coordinator (a query node with `node.shards`) holds no read models: it answers counts, member pages, CSV
/// exports and customer reads by asking the shards (query nodes with `node.partitions`, each folding its own share of
/// the customers) and merging their answers. Every shard must answer, and be at most `node.shard_lag_max` records
/// behind the log: otherwise the answer is a 503 naming the shard, never a partial count.
extension CohortAPI {
    /// The routes a coordinator answers itself, by method and path; the other query routes get 421.
    var coordinatorHandlers: [String: @Sendable (Request, CohortRequestContext) async throws -> Response] {
        let segments = Self.prefix + "/segments"
        return [
            "POST " + segments + "/preview": { request, _ in try await coordinatedPreview(request) },
            "GET " + segments + "/{id}/members": { request, context in
                try await coordinatedMembers(request, id: try context.parameters.require("id"))
            },
            "GET " + Self.prefix + "/customers/{id}": { request, context in
                try await coordinatedCustomer(request, id: try context.parameters.require("id"))
            },
            "GET " + Self.prefix + "/customers/{id}/events": { request, context in
                try await coordinatedCustomer(request, id: try context.parameters.require("id"))
            },
            "GET /readyz": { _, _ in try await coordinatedReadiness() },
        ]
    }

    /// The count is the sum of the shards' counts; the sample takes the shards' samples in shard order.
    private func coordinatedPreview(_ request: Request) async throws -> Response {
        var object = try await objectBody(request)
        _ = try rule(in: object)
        let sampleSize = try Self.sampleSize(object["sample"])
        // One moment for every shard, so that rules relative to now cut the same everywhere.
        if object["as_of"] == nil { object["as_of"] = .string(Self.now().description) }
        let replies = try await askAll(request, body: Array(JSONValue.object(object).serialized()))
        var count: Int64 = 0
        var sample: [JSONValue] = []
        var tookMs = 0.0
        for reply in replies {
            guard case .object(let answer) = try? JSONParser.parse(reply.body),
                let shardCount = Self.integer(answer["count"])
            else { throw Self.shardFailure(reply.shard, "answered a preview without a count") }
            count += shardCount
            if case .array(let ids)? = answer["sample"] {
                sample += ids.prefix(sampleSize - min(sampleSize, sample.count))
            }
            tookMs = max(
                tookMs, Self.integer(answer["took_ms"]).map(Double.init) ?? Self.decimal(answer["took_ms"]) ?? 0)
        }
        var merged = JSONObject([
            ("count", .number(JSONNumber(count))), ("sample", .array(sample)),
            ("as_of", object["as_of"] ?? .null), ("took_ms", .number(JSONNumber(lexeme: String(tookMs))!)),
            ("shards", .number(JSONNumber(Int64(replies.count)))),
        ])
        if case .object(let first) = try? JSONParser.parse(replies[0].body), let english = first["english"] {
            merged["english"] = english
        }
        return Self.json(.object(merged))
    }

    /// A page merges the shards' pages (each the smallest ids above the cursor) by id; an export merges their
    /// CSV rows by id.
    private func coordinatedMembers(_ request: Request, id: String) async throws -> Response {
        let query = request.uri.queryParameters
        let asOf = query["as_of"].map(String.init) ?? Self.now().description
        var parameters = ["as_of=" + Self.queryEscaped(asOf)]
        if query["format"] == "csv" {
            parameters.append("format=csv")
            let path =
                Self.prefix + "/segments/" + Self.pathEscaped(id) + "/members?" + parameters.joined(separator: "&")
            let replies = try await askAll(request, path: path)
            return try Self.mergedCSV(replies, segment: id)
        }
        let limit = try pageSize(request)
        parameters.append("limit=\(limit)")
        if let cursor = query["cursor"] { parameters.append("cursor=" + Self.queryEscaped(String(cursor))) }
        let path = Self.prefix + "/segments/" + Self.pathEscaped(id) + "/members?" + parameters.joined(separator: "&")
        var ids: [[UInt8]] = []
        var more = false
        for reply in try await askAll(request, path: path) {
            guard case .object(let page) = try? JSONParser.parse(reply.body),
                case .array(let members)? = page["members"]
            else { throw Self.shardFailure(reply.shard, "answered a member page without members") }
            ids += members.compactMap { $0.stringValue.map { Array($0.utf8) } }
            if page["next"]?.stringValue != nil { more = true }
        }
        ids.sort { $0.lexicographicallyPrecedes($1) }
        if ids.count > limit { more = true }
        let page = ids.prefix(limit).map { String(decoding: $0, as: UTF8.self) }
        return Self.json(
            .object(
                JSONObject([
                    ("members", .array(page.map { .string($0) })),
                    ("next", more && !page.isEmpty ? .string(page.last!) : .null),
                ])))
    }

    /// A customer's profile or timeline comes from the shard that folds its partition.
    private func coordinatedCustomer(_ request: Request, id: String) async throws -> Response {
        let shard = try await shardFolding(customer: id)
        let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let reply = try await ask(shard, request, method: "GET", path: path, body: nil)
        return Self.forwarded(reply)
    }

    /// Ready when every shard is.
    private func coordinatedReadiness() async throws -> Response {
        var behind: Int64 = 0
        for shard in dependencies.configuration.nodeShards {
            let reply = try await ask(shard, nil, method: "GET", path: "/readyz", body: nil, checkLag: false)
            guard case .object(let answer) = try? JSONParser.parse(reply.body) else {
                throw Self.shardFailure(shard, "answered /readyz with something else")
            }
            let lag = Self.integer(answer["lag"]) ?? 0
            guard reply.status == 200 else {
                throw Problem(
                    .serviceUnavailable, "Shard not ready",
                    detail: "shard \(shard) is not ready: \(lag) records behind the log")
            }
            behind += lag
        }
        return Self.json(.object(JSONObject([("ready", .bool(true)), ("lag", .number(JSONNumber(behind)))])))
    }

    // MARK: Asking the shards

    /// One shard's answer.
    struct ShardReply: Sendable {
        let shard: String
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
    }

    /// Asks every shard at once; a shard that fails or is too far behind makes the whole answer a 503 naming it, and
    /// a refusal (4xx: a bad rule, a missing key) is passed on as the first shard gave it.
    private func askAll(_ request: Request, path: String? = nil, body: [UInt8]? = nil) async throws -> [ShardReply] {
        let shards = dependencies.configuration.nodeShards
        let method = request.method.rawValue
        let target = path ?? request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let outcomes = await withTaskGroup(of: (Int, Result<ShardReply, any Error>).self) { group in
            for (index, shard) in shards.enumerated() {
                group.addTask {
                    do {
                        return (
                            index, .success(try await ask(shard, request, method: method, path: target, body: body))
                        )
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes: [(Int, Result<ShardReply, any Error>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return try outcomes.map { try $0.get() }
    }

    /// Asks one shard, forwarding the caller's credentials; throws a 503 naming the shard when it cannot answer,
    /// answers 5xx or is behind, and the shard's own problem when it refuses (4xx).
    private func ask(
        _ shard: String, _ request: Request?, method: String, path: String, body: [UInt8]?, checkLag: Bool = true
    ) async throws -> ShardReply {
        var headers: [String] = []
        if let request {
            for name in [HTTPField.Name.authorization, .cookie, .contentType] {
                if let value = request.headers[name] { headers.append("\(name.rawName): \(value)") }
            }
        }
        if body != nil, !headers.contains(where: { $0.lowercased().hasPrefix("content-type:") }) {
            headers.append("Content-Type: application/json")
        }
        let url = shard + path
        let timeoutMs = 30_000
        let sent = headers
        let response: CurlClient.Response
        do {
            response = try await CurlClient.exchange { client throws(CurlError) in
                // The coordinator holds each shard's answer while it merges them: an export beyond this is refused.
                client.responseBytesMax = Self.shardReplyBytesMax
                return method == "POST"
                    ? try client.post(url, headers: sent, body: body ?? [], timeoutMs: timeoutMs)
                    : try client.get(url, headers: sent, timeoutMs: timeoutMs)
            }
        } catch {
            guard error.code != CurlError.responseTooLarge else {
                throw Self.shardFailure(
                    shard,
                    "answered more than \(Self.shardReplyBytesMax >> 20) MiB, more than a coordinator merges: "
                        + "export from each shard, or page through the members")
            }
            throw Self.shardFailure(shard, "is down (\(error.description))")
        }
        let reply = ShardReply(shard: shard, status: response.status, headers: response.headers, body: response.body)
        if response.status >= 500 {
            throw Self.shardFailure(shard, "answered \(response.status)")
        }
        if (400..<500).contains(response.status) {
            throw ForwardedRefusal(response: Self.forwarded(reply))
        }
        if checkLag, let lag = response.headers["cohort-lag"].flatMap(Int64.init),
            lag > Int64(dependencies.configuration.shardLagMax)
        {
            throw Self.shardFailure(
                shard, "is \(lag) records behind the log (node.shard_lag_max \(dependencies.configuration.shardLagMax))"
            )
        }
        return reply
    }

    /// The shard whose partitions hold customer `id`, from the shards' `/healthz` (cached for ten seconds).
    private func shardFolding(customer id: String) async throws -> String {
        let map = try await dependencies.shardMap.current { shard in
            let reply = try await ask(shard, nil, method: "GET", path: "/healthz", body: nil, checkLag: false)
            guard case .object(let health) = try? JSONParser.parse(reply.body),
                case .object(let owned)? = health["shard"], case .array(let partitions)? = owned["partitions"],
                let of = Self.integer(owned["of"]).map(Int32.init)
            else { throw Self.shardFailure(shard, "is not a shard (its /healthz names no partitions)") }
            return (partitions.compactMap { Self.integer($0).map(Int32.init) }, of)
        }
        let partition = Partitioner.partition(forKey: Array(id.utf8), partitionCount: map.partitionCount)
        guard let shard = map.owners[partition] else {
            throw Problem(
                .serviceUnavailable, "No shard",
                detail: "no shard folds partition \(partition) of \(map.partitionCount), which holds customer \(id)")
        }
        return shard
    }

    /// The largest answer taken from one shard (a CSV export is the large one).
    static let shardReplyBytesMax = 256 << 20

    static func shardFailure(_ shard: String, _ what: String) -> Problem {
        Problem(
            .serviceUnavailable, "Shard unavailable", detail: "shard \(shard) \(what); no partial answer is given",
            headers: [.retryAfter: "1"])
    }

    /// A shard's answer passed on: status, body and content type.
    static func forwarded(_ reply: ShardReply) -> Response {
        var headers: HTTPFields = [:]
        if let type = reply.headers["content-type"] { headers[.contentType] = type }
        return Response(
            status: HTTPResponse.Status(code: reply.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }

    /// The shards' exports, each a header line and rows in id order, merged into one in id order.
    static func mergedCSV(_ replies: [ShardReply], segment: String) throws -> Response {
        var rows: [(id: [UInt8], row: ArraySlice<UInt8>)] = []
        var header: ArraySlice<UInt8> = []
        for reply in replies {
            let lines = CSVRows.split(reply.body)
            guard let first = lines.first else { throw shardFailure(reply.shard, "answered an empty export") }
            header = first
            for line in lines.dropFirst() { rows.append((CSVRows.firstField(line), line)) }
        }
        rows.sort { $0.id.lexicographicallyPrecedes($1.id) }
        var body: [UInt8] = Array(header)
        for row in rows { body += row.row }
        return Response(
            status: .ok, headers: exportHeaders(segment: segment), body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        guard case .number(let number)? = value else { return nil }
        return Int64(number.lexeme)
    }

    static func decimal(_ value: JSONValue?) -> Double? {
        guard case .number(let number)? = value else { return nil }
        return Double(number.lexeme)
    }

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    static func pathEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? text
    }
}

/// A shard's refusal (4xx), passed on to the caller as it is.
struct ForwardedRefusal: Error {
    let response: Response
}

/// Which shard folds which partition, as the shards' `/healthz` say; asked again after ten seconds.
final class ShardMap: @unchecked Sendable {
    // @unchecked Sendable: `known` and `fetched` are guarded by `lock`.
    struct Map: Sendable {
        let owners: [Int32: String]
        let partitionCount: Int32
    }

    private let shards: [String]
    private let lock = NSLock()
    private var known: Map?
    private var fetched: ContinuousClock.Instant?

    init(shards: [String]) { self.shards = shards }

    /// The map, asking every shard (`partitions(shard)` → its partitions and the partition count) when it is older
    /// than ten seconds.
    func current(_ partitions: @Sendable (String) async throws -> ([Int32], Int32)) async throws -> Map {
        if let known = lock.withLock({ fetched.map { ContinuousClock.now - $0 < .seconds(10) } == true ? known : nil })
        {
            return known
        }
        var owners: [Int32: String] = [:]
        var count: Int32 = 0
        for shard in shards {
            let (owned, of) = try await partitions(shard)
            count = max(count, of)
            for partition in owned { owners[partition] = shard }
        }
        let map = Map(owners: owners, partitionCount: max(1, count))
        lock.withLock {
            known = map
            fetched = ContinuousClock.now
        }
        return map
    }
}

/// RFC 4180 rows of an export: split where a line ends outside quotes; the first field unquoted.
enum CSVRows {
    /// Each row with its line ending.
    static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var rows: [ArraySlice<UInt8>] = []
        var start = 0
        var quoted = false
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "\""): quoted.toggle()
            case 0x0A where !quoted:
                rows.append(bytes[start...index])
                start = index + 1
            default: break
            }
        }
        if start < bytes.count { rows.append(bytes[start...]) }
        return rows
    }

    /// The row's first field, without its quotes.
    static func firstField(_ row: ArraySlice<UInt8>) -> [UInt8] {
        var field: [UInt8] = []
        var index = row.startIndex
        guard index < row.endIndex else { return field }
        if row[index] == UInt8(ascii: "\"") {
            index += 1
            while index < row.endIndex {
                if row[index] == UInt8(ascii: "\"") {
                    if index + 1 < row.endIndex && row[index + 1] == UInt8(ascii: "\"") {
                        field.append(UInt8(ascii: "\""))
                        index += 2
                        continue
                    }
                    break
                }
                field.append(row[index])
                index += 1
            }
            return field
        }
        while index < row.endIndex, row[index] != UInt8(ascii: ","), row[index] != 0x0D, row[index] != 0x0A {
            field.append(row[index])
            index += 1
        }
        return field
    }
}
