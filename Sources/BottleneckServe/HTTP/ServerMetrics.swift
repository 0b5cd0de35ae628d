import Foundation
import Prometheus

/// The server's Prometheus metrics: requests and latency per model and endpoint, forward-pass
/// batch sizes, queue depth and model reloads. Model labels only ever name loaded models, so a
/// client cannot grow the label set by asking for made-up names.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let queueDepth: Gauge
    private let modelsLoaded: Gauge

    static let latencyBuckets: [Duration] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10].map {
        .nanoseconds(Int64($0 * 1e9))
    }
    static let requests = MetricNameDescriptor(namespace: "bottleneck", metricName: "requests", unitName: "total", helpText: "HTTP requests answered")
    static let latency = MetricNameDescriptor(namespace: "bottleneck", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to response")
    static let batchSize = MetricNameDescriptor(namespace: "bottleneck", metricName: "batch", unitName: "size", helpText: "Samples per forward pass")
    static let loads = MetricNameDescriptor(namespace: "bottleneck", metricName: "model_loads", unitName: "total", helpText: "Model files loaded (outcome: loaded, replaced, removed, failed)")
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    public init() {
        queueDepth = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "bottleneck", metricName: "queue", unitName: "depth", helpText: "Requests waiting for a forward pass"))
        modelsLoaded = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "bottleneck", metricName: "models", unitName: "loaded", helpText: "Models being served"))
    }

    public func request(model: String, endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("model", model), ("endpoint", endpoint), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("model", model), ("endpoint", endpoint)], buckets: Self.latencyBuckets).record(duration)
    }

    public func batch(model: String, operation: String, rows: Int) {
        registry.makeValueHistogram(descriptor: Self.batchSize, labels: [("model", model), ("endpoint", operation)], buckets: Self.batchBuckets).record(Double(rows))
    }

    public func reload(model: String, outcome: String) {
        registry.makeCounter(descriptor: Self.loads, labels: [("model", model), ("outcome", outcome)]).increment()
    }

    /// The text exposition, with the gauges read now.
    public func exposition(queueDepth depth: Int, models: Int) -> [UInt8] {
        queueDepth.set(Double(depth))
        modelsLoaded.set(Double(models))
        return registry.emitToBuffer()
    }
}
