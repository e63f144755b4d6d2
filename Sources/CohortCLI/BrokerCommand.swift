import API
import ArgumentParser
import CohortConfig
import CommandSupport
import Events
import Foundation
import Kafka

/// `cohort broker`: a development Kafka-protocol broker (librdkafka's mock cluster) in this process.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a development Kafka-protocol broker (librdkafka's mock cluster) until SIGTERM.",
        discussion: """
            Prints the bootstrap address as the first line on stdout. In memory only: each partition keeps about \
            5 MiB or 100k batches, topics are not created by clients (only here), transactions are not faithful.
            """)

    @Option(help: "Number of brokers in the mock cluster.")
    var brokers: Int32 = 1

    @Option(help: "Partitions of each topic created.")
    var partitions: Int32 = 8

    @Option(name: .customLong("topic"), help: "Another topic to create (repeatable), besides the crm.* topics.")
    var extraTopics: [String] = []

    @Option(help: "Prefix for the crm.* topic names (topics.prefix).")
    var prefix: String = ""

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16") }
        guard (1...1024).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 1024") }
    }

    func run() async throws {
        let logger = LoggingSetup.logger("cohort.broker", level: "warning")
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        let topics =
            EventStream.allCases.map { prefix + $0.defaultTopic } + [prefix + APIKeyStore.defaultTopic] + extraTopics
        for topic in topics {
            try cluster.createTopic(topic, partitions: partitions)
        }
        Output.line(cluster.bootstrapServers)
        Output.error(
            "cohort broker: \(brokers) broker(s) at \(cluster.bootstrapServers), "
                + "topics \(topics.joined(separator: ", ")) with \(partitions) partitions; SIGTERM stops it"
        )
        let received = await SignalWaiter.waitForTermination()
        Output.error("cohort broker: stopping on signal \(received)")
        withExtendedLifetime(cluster) {}
    }
}

/// Waits for SIGTERM or SIGINT without blocking a thread.
enum SignalWaiter {
    /// Kept for the life of the process: a released source stops delivering its signal.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let once = NSLock()
            nonisolated(unsafe) var resumed = false
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    let first = once.withLock {
                        defer { resumed = true }
                        return !resumed
                    }
                    if first { continuation.resume(returning: signalNumber) }
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
