import Foundation
import Kafka
import Testing
import TestSupport

@Suite("Kafka clients against cohort broker")
struct KafkaClientTests {
    private func producer(_ broker: DevBroker) throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
    }

    @Test("a producer pointed at a dead address fails with a typed, retriable error in bounded time")
    func deadAddressFailsInBoundedTime() async throws {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.messageTimeoutMs = 1_500
        configuration.requestTimeoutMs = 1_000
        let producer = try KafkaProducer(configuration: configuration)
        let started = ContinuousClock.now
        await #expect {
            _ = try await producer.send([
                ProducerMessage(topic: "crm.orders", key: Array("k".utf8), value: Array("v".utf8))
            ])
        } throws: { error in
            guard let kafkaError = error as? KafkaError else { return false }
            return kafkaError.isRetriable && kafkaError.name == "_MSG_TIMED_OUT"
        }
        #expect(throws: KafkaError.self) { _ = try producer.metadata() }
        #expect(ContinuousClock.now - started < .seconds(30), "bounded: an error, not a hang")
        producer.close(timeoutMs: 0)
    }

    @Test("librdkafka's own log lines reach swift-log with their facility")
    func logsAreBridged() async throws {
        let store = CapturingLogHandler.Store()
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.messageTimeoutMs = 1_000
        let producer = try KafkaProducer(configuration: configuration, logger: CapturingLogHandler.logger(store))
        _ = try? await producer.send([ProducerMessage(topic: "t", key: nil, value: [1])])
        producer.close(timeoutMs: 0)
        let bridged = store.records.filter { $0.metadata["kafka.facility"] != nil }
        #expect(!bridged.isEmpty)
        #expect(bridged.contains { $0.message.contains("127.0.0.1:1") })
    }

    @Test("invalid librdkafka properties are typed configuration errors")
    func badProperty() {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:9092")
        configuration.properties = ["no.such.property": "1"]
        #expect(throws: KafkaError.self) { _ = try KafkaProducer(configuration: configuration) }
    }

    @Test("sends resolve with partition and offset; metadata and watermarks agree")
    func sendAndWatermarks() async throws {
        let broker = try DevBroker(partitions: 3)
        let producer = try producer(broker)
        let reports = try await producer.send(
            (0..<30).map {
                ProducerMessage(topic: "crm.orders", partition: Int32($0 % 3), key: nil, value: Array("m\($0)".utf8))
            })
        #expect(reports.map(\.partition) == (0..<30).map { Int32($0 % 3) })
        #expect(reports.filter { $0.partition == 2 }.map(\.offset) == Array(0..<10))
        let topics = try producer.metadata()
        #expect(topics.first { $0.name == "crm.orders" }?.partitionCount == 3)
        let marks = try producer.watermarks(topic: "crm.orders", partition: 1)
        #expect(marks.low == 0 && marks.high == 10)
        producer.close()
        #expect(broker.stop() == 0)
    }

    @Test("a consumer group subscription receives everything; pause holds a partition back until resume")
    func groupSubscriptionAndPause() async throws {
        let broker = try DevBroker(partitions: 2)
        let producer = try producer(broker)
        _ = try await producer.send(
            (0..<20).map {
                ProducerMessage(
                    topic: "crm.activity", partition: Int32($0 % 2), key: Array("k\($0)".utf8),
                    value: Array("v\($0)".utf8),
                    headers: [("h", Array("x".utf8))])
            })
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), groupID: "test-group")
        try consumer.subscribe(["crm.activity"])
        var received: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(30)
        while received.count < 20 && Date() < deadline {
            received += try await consumer.poll(maxMessages: 100, timeoutMs: 500)
        }
        #expect(Set(received.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<20).map { "v\($0)" }))
        #expect(received.allSatisfy { $0.headers.first?.name == "h" })
        #expect(Set(try consumer.assignment().map(\.partition)) == [0, 1])
        try await consumer.commit(
            received.map {
                KafkaConsumer.PartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.offset + 1)
            })

        try consumer.pause([("crm.activity", 0)])
        _ = try await producer.send([
            ProducerMessage(topic: "crm.activity", partition: 0, key: nil, value: Array("held".utf8)),
            ProducerMessage(topic: "crm.activity", partition: 1, key: nil, value: Array("free".utf8)),
        ])
        var afterPause: [String] = []
        while !afterPause.contains("free") && Date() < deadline {
            afterPause += try await consumer.poll(maxMessages: 10, timeoutMs: 500).map {
                String(decoding: $0.value, as: UTF8.self)
            }
        }
        #expect(afterPause == ["free"])
        try consumer.resume([("crm.activity", 0)])
        var afterResume: [String] = []
        while afterResume.isEmpty && Date() < deadline {
            afterResume += try await consumer.poll(maxMessages: 10, timeoutMs: 500).map {
                String(decoding: $0.value, as: UTF8.self)
            }
        }
        #expect(afterResume == ["held"])
        await consumer.close()
        producer.close()
        #expect(broker.stop() == 0)
    }

    @Test("kcat, an independent Kafka client, produces into and consumes from the dev broker")
    func kcatInterop() async throws {
        let broker = try DevBroker(partitions: 2)
        // kcat → broker → our consumer.
        let kcatProducer = try ChildProcess(
            executable: "/usr/bin/kcat",
            arguments: ["-b", broker.bootstrapServers, "-P", "-t", "crm.customers", "-K", ":"],
            stdin: true)
        kcatProducer.write("alpha:from-kcat-1\nbeta:from-kcat-2\n")
        kcatProducer.closeStdin()
        #expect(kcatProducer.waitForExit(timeout: 30) == 0)
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), groupID: "interop")
        try consumer.assign([
            .init(topic: "crm.customers", partition: 0, offset: 0),
            .init(topic: "crm.customers", partition: 1, offset: 0),
        ])
        var received: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(30)
        while received.count < 2 && Date() < deadline {
            received += try await consumer.poll(maxMessages: 10, timeoutMs: 500)
        }
        #expect(
            Set(
                received.map {
                    String(decoding: $0.key ?? [], as: UTF8.self) + "=" + String(decoding: $0.value, as: UTF8.self)
                })
                == ["alpha=from-kcat-1", "beta=from-kcat-2"])
        await consumer.close()

        // Our producer → broker → kcat.
        let producer = try producer(broker)
        _ = try await producer.send([
            ProducerMessage(topic: "crm.orders", key: Array("c-1".utf8), value: Array("from-cohort".utf8))
        ])
        producer.close()
        let kcatConsumer = try ChildProcess(
            executable: "/usr/bin/kcat",
            arguments: [
                "-b", broker.bootstrapServers, "-C", "-t", "crm.orders", "-o", "beginning", "-e", "-q", "-f",
                "%k=%s\\n",
            ])
        #expect(kcatConsumer.waitForExit(timeout: 30) == 0)
        #expect(kcatConsumer.outputLines.contains("c-1=from-cohort"))
        #expect(broker.stop() == 0)
    }
}
