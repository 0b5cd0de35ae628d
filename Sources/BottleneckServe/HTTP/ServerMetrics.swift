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
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    public init() {
        queueDepth = registry.makeGauge(name: "bottleneck_queue_depth", help: "Requests waiting for a forward pass")
        modelsLoaded = registry.makeGauge(name: "bottleneck_models_loaded", help: "Models being served")
    }

    public func request(model: String, endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(name: "bottleneck_requests_total", labels: [("model", model), ("endpoint", endpoint), ("status", String(status))],
                             help: "HTTP requests answered").increment()
        registry.makeDurationHistogram(name: "bottleneck_request_duration_seconds", labels: [("model", model), ("endpoint", endpoint)],
                                       buckets: Self.latencyBuckets, help: "Time from request to response").record(duration)
    }

    public func batch(model: String, operation: String, rows: Int) {
        registry.makeValueHistogram(name: "bottleneck_batch_size", labels: [("model", model), ("endpoint", operation)],
                                    buckets: Self.batchBuckets, help: "Samples per forward pass").record(Double(rows))
    }

    public func reload(model: String, outcome: String) {
        registry.makeCounter(name: "bottleneck_model_loads_total", labels: [("model", model), ("outcome", outcome)],
                             help: "Model files loaded (outcome: loaded, replaced, removed, failed)").increment()
    }

    /// The text exposition, with the gauges read now.
    public func exposition(queueDepth depth: Int, models: Int) -> [UInt8] {
        queueDepth.set(Double(depth))
        modelsLoaded.set(Double(models))
        return registry.emitToBuffer()
    }
}
