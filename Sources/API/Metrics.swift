import Foundation

/// Counters and latency histograms in Prometheus text format (version 0.0.4). Small on purpose: a fixed set of
/// series, labels given as already-escaped text, one lock.
public final class Metrics: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is guarded by `lock`.

    private let lock = NSLock()
    private var counters: [String: [String: Double]] = [:]
    private var histograms: [String: [String: Histogram]] = [:]
    private var help: [String: (kind: String, text: String)] = [:]
    /// Upper bounds in seconds, from 100 µs to 10 s.
    static let bucketsSeconds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    struct Histogram {
        var counts = [UInt64](repeating: 0, count: Metrics.bucketsSeconds.count)
        var sum = 0.0
        var count: UInt64 = 0
    }

    public init() {}

    /// Declares a series with its help text (`kind` is `counter` or `histogram`).
    public func describe(_ name: String, kind: String, _ text: String) {
        lock.withLock { help[name] = (kind, text) }
    }

    public func increment(_ name: String, labels: String = "", by amount: Double = 1) {
        lock.withLock { counters[name, default: [:]][labels, default: 0] += amount }
    }

    public func observe(_ name: String, labels: String = "", seconds: Double) {
        lock.withLock {
            var histogram = histograms[name, default: [:]][labels] ?? Histogram()
            for (index, bound) in Self.bucketsSeconds.enumerated() where seconds <= bound {
                histogram.counts[index] += 1
            }
            histogram.sum += seconds
            histogram.count += 1
            histograms[name, default: [:]][labels] = histogram
        }
    }

    /// The exposition text; `gauges` are sampled by the caller at scrape time (name, labels, value).
    public func render(gauges: [(name: String, labels: String, value: Double)] = []) -> String {
        lock.withLock {
            var out = ""
            func header(_ name: String, _ fallbackKind: String) {
                let entry = help[name]
                out += "# HELP \(name) \(entry?.text ?? name)\n# TYPE \(name) \(entry?.kind ?? fallbackKind)\n"
            }
            func braces(_ labels: String, _ extra: String = "") -> String {
                let all = [labels, extra].filter { !$0.isEmpty }.joined(separator: ",")
                return all.isEmpty ? "" : "{\(all)}"
            }
            for name in counters.keys.sorted() {
                header(name, "counter")
                for (labels, value) in counters[name]!.sorted(by: { $0.key < $1.key }) {
                    out += "\(name)\(braces(labels)) \(Self.format(value))\n"
                }
            }
            for name in histograms.keys.sorted() {
                header(name, "histogram")
                for (labels, histogram) in histograms[name]!.sorted(by: { $0.key < $1.key }) {
                    for (index, bound) in Self.bucketsSeconds.enumerated() {
                        out += "\(name)_bucket\(braces(labels, "le=\"\(bound)\"")) \(histogram.counts[index])\n"
                    }
                    out += "\(name)_bucket\(braces(labels, "le=\"+Inf\"")) \(histogram.count)\n"
                    out += "\(name)_sum\(braces(labels)) \(histogram.sum)\n"
                    out += "\(name)_count\(braces(labels)) \(histogram.count)\n"
                }
            }
            var gaugeNames: [String] = []
            for gauge in gauges where !gaugeNames.contains(gauge.name) { gaugeNames.append(gauge.name) }
            for name in gaugeNames {
                header(name, "gauge")
                for gauge in gauges where gauge.name == name {
                    out += "\(name)\(braces(gauge.labels)) \(Self.format(gauge.value))\n"
                }
            }
            return out
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
