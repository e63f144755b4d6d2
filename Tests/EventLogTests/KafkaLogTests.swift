import EventLog
import Kafka
import Testing

@Suite("Kafka log failures")
struct KafkaLogTests {
    @Test("an append to an unreachable cluster fails as retriable 'unavailable' in bounded time, never hangs")
    func unreachableClusterIsUnavailable() async throws {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.messageTimeoutMs = 1_500
        configuration.requestTimeoutMs = 1_000
        let log = try KafkaLog(configuration: configuration)
        let started = ContinuousClock.now
        await #expect {
            _ = try await log.append([OutgoingRecord(topic: "crm.orders", key: Array("c".utf8), value: Array("v".utf8))]
            )
        } throws: { error in
            guard let logError = error as? EventLogError, case .unavailable = logError else { return false }
            return logError.isRetriable
        }
        await #expect(throws: EventLogError.self) { _ = try await log.partitionCount(topic: "crm.orders") }
        #expect(ContinuousClock.now - started < .seconds(30), "bounded: an error, not a hang")
        await log.close()
    }
}
