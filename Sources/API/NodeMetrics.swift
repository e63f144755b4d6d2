import CoreMetrics
import Foundation
import Prometheus

/// The node's metrics, recorded through swift-metrics (`Counter`, `Timer`, `Gauge`) into a factory that is
/// Prometheus by default and exposed at `/metrics`; an embedding program may hand in another backend (StatsD,
/// OpenTelemetry) and then has no registry to expose.
public final class NodeMetrics: Sendable {
    /// Where recordings go.
    public let factory: any MetricsFactory
    /// The Prometheus registry behind `factory`, when it is Prometheus: what `/metrics` renders.
    public let registry: PrometheusCollectorRegistry?

    /// Latency buckets, from 100 µs to 10 s.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
    ]

    /// Metrics in a Prometheus registry of their own (every node and every in-process test has one).
    public convenience init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.init(factory: factory, registry: registry)
    }

    /// Metrics recorded into `factory`; `registry` is what `/metrics` renders, nil when another backend exports.
    public init(factory: any MetricsFactory, registry: PrometheusCollectorRegistry?) {
        self.factory = factory
        self.registry = registry
    }

    /// Adds `amount` to the counter `name` with `dimensions`.
    public func increment(_ name: String, dimensions: [(String, String)] = [], by amount: Int64 = 1) {
        Counter(label: name, dimensions: dimensions, factory: factory).increment(by: amount)
    }

    /// Records a duration in the histogram `name` with `dimensions`.
    public func observe(_ name: String, dimensions: [(String, String)] = [], since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Timer(label: name, dimensions: dimensions, factory: factory).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// Records a duration measured elsewhere in the histogram `name` with `dimensions`.
    public func record(_ name: String, dimensions: [(String, String)] = [], seconds: Double) {
        Timer(label: name, dimensions: dimensions, factory: factory).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Sets the gauge `name` with `dimensions` (sampled at scrape time by the caller).
    public func set(_ name: String, dimensions: [(String, String)] = [], to value: Double) {
        Gauge(label: name, dimensions: dimensions, factory: factory).record(value)
    }

    /// The Prometheus exposition text, nil when another backend exports the metrics.
    public func render() -> String? { registry?.emitToString() }
}
