@testable import API
import Curl
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import Testing
import TestSupport

/// A coordinator (`node.shards`) built by `buildApplication`, asking two shards over real sockets. The shards are
/// small loopback servers answering as shards do, so that what they say (their counts, how far behind they are)
/// can be set; the end-to-end test with real shards is `ScaleOutTests` in the CLI suite.
@Suite("coordinator")
struct CoordinatorTests {
    /// A shard's answers: its preview count and sample, the lag it reports, and the requests it received.
    final class FakeShard: Sendable {
        struct State {
            var count = 0
            var sample: [String] = []
            var lag = 0
            var bodies: [String] = []
        }
        let state = Mutex(State())
        let port: Int
        private let task: Task<Void, any Error>
        var url: String { "http://127.0.0.1:\(port)" }

        init(port: Int, task: Task<Void, any Error>) {
            self.port = port
            self.task = task
        }

        static func start() async throws -> FakeShard {
            try await LoopbackServer.start(
                label: "fake-shard",
                routes: { router, shard in
                    router.post("/api/v1/segments/preview") { request, _ -> Response in
                        let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
                        let state = shard().state.withLock {
                            $0.bodies.append(body)
                            return $0
                        }
                        let sample = state.sample.map { "\"\($0)\"" }.joined(separator: ",")
                        return Response(
                            status: .ok,
                            headers: [.contentType: "application/json", HTTPField.Name("Cohort-Lag")!: "\(state.lag)"],
                            body: .init(
                                byteBuffer: ByteBuffer(
                                    string: #"{"count":\#(state.count),"sample":[\#(sample)],"took_ms":0.5}"#)))
                    }
                },
                make: { port, task in FakeShard(port: port, task: task) })
        }

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    static let rule = #"{"rules":{"field":"total_spend","op":"gte","value":5000},"sample":3}"#

    @Test("counts add up over the shards, one as_of for all; a shard too far behind or down is a 503 naming it")
    func countsAndRefusals() async throws {
        let shards = [try await FakeShard.start(), try await FakeShard.start()]
        shards[0].state.withLock {
            $0.count = 5
            $0.sample = ["a", "b"]
        }
        shards[1].state.withLock {
            $0.count = 7
            $0.sample = ["c", "d"]
            $0.lag = 10
        }
        let node = try InProcessNode {
            $0.nodeShards = shards.map(\.url)
            $0.shardLagMax = 100
        }
        var options = NodeOptions()
        options.role = .query
        try await node.run(options: options) { client in
            let merged = try await client.request(.post, "/api/v1/segments/preview", as: .read, json: Self.rule)
            #expect(merged.status == 200, "\(merged.text)")
            #expect(merged.json["count"] as? Int == 12)
            #expect(merged.json["sample"] as? [String] == ["a", "b", "c"])
            #expect(merged.json["shards"] as? Int == 2)
            // Both shards were asked about the same moment.
            let asked = shards.map { $0.state.withLock { $0.bodies.last ?? "" } }
            let moments = asked.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["as_of"] as? String
            }
            #expect(moments.count == 2 && moments[0] == moments[1], "\(asked)")

            shards[1].state.withLock { $0.lag = 101 }
            let behind = try await client.request(.post, "/api/v1/segments/preview", as: .read, json: Self.rule)
            #expect(behind.status == 503)
            #expect(behind.detail.contains("shard \(shards[1].url) is 101 records behind"), "\(behind.detail)")
            #expect(behind.detail.contains("no partial answer"))

            await shards[0].stop()
            shards[1].state.withLock { $0.lag = 0 }
            let down = try await client.request(.post, "/api/v1/segments/preview", as: .read, json: Self.rule)
            #expect(down.status == 503)
            #expect(down.detail.contains("shard \(shards[0].url) is down"), "\(down.detail)")
            #expect(down.headers[.retryAfter] == "1")

            // Reads a coordinator does not fan out are misdirected.
            #expect(try await client.request(.get, "/api/v1/campaigns", as: .read).status == 421)
        }
        await shards[1].stop()
    }

    @Test("export rows are split where a line ends outside quotes, and the first field is read unquoted")
    func exportRows() {
        let csv = Array("customer_id,name\r\n\"c,1\",\"A \"\"B\"\"\r\nsecond line\"\r\nc2,Z\r\n".utf8)
        let rows = CSVRows.split(csv)
        #expect(rows.count == 3)
        #expect(rows.map { String(decoding: CSVRows.firstField($0), as: UTF8.self) } == ["customer_id", "c,1", "c2"])
        #expect(String(decoding: rows[1], as: UTF8.self) == "\"c,1\",\"A \"\"B\"\"\r\nsecond line\"\r\n")
    }

    @Test("an answer over the limit a coordinator holds ends the exchange with its own error, not a truncated body")
    func shardAnswerLimit() async throws {
        let shard = try await FakeShard.start()
        shard.state.withLock { $0.sample = (0..<100).map { "customer-\($0)" } }
        let url = shard.url + "/api/v1/segments/preview"
        let small = try await CurlClient.exchange { client throws(CurlError) in
            client.responseBytesMax = 100_000
            return try client.post(url, headers: [], body: Array(Self.rule.utf8), timeoutMs: 5_000)
        }
        #expect(small.status == 200 && small.body.count > 1_000)
        await #expect {
            _ = try await CurlClient.exchange { client throws(CurlError) in
                client.responseBytesMax = 1_000
                return try client.post(url, headers: [], body: Array(Self.rule.utf8), timeoutMs: 5_000)
            }
        } throws: { error in
            (error as? CurlError)?.code == CurlError.responseTooLarge
        }
        await shard.stop()
    }
}
