import Foundation
import Bottleneck
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `bottleneck serve`: the models of a folder behind HTTP. Runs until SIGTERM or SIGINT, then
/// stops accepting connections, finishes the requests in flight and returns.
///
/// ```swift
/// var config = ServerConfiguration(modelsDirectory: "models")
/// config.port = 0
/// let server = try ModelServer(config)
/// try await server.run { port in print("listening on \(port)") }
/// ```
public final class ModelServer: Sendable {
    public let configuration: ServerConfiguration
    public let service: ModelService
    public let metrics = ServerMetrics()
    let tokens: BearerTokens?
    let logger: Logger

    public init(_ configuration: ServerConfiguration, logger: Logger = Logger(label: "bottleneck.serve")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        tokens = try configuration.tokenFile.map { try BearerTokens(file: $0) }
        let registry = try ModelRegistry(directory: configuration.modelsDirectory, memoryLimit: configuration.memoryLimit)
        let queue = InferenceQueue(policy: configuration.batching)
        service = ModelService(registry: registry, queue: queue, limits: configuration.limits)
        queue.onBatch = { [metrics] model, op, rows in metrics.batch(model: model, operation: op.rawValue, rows: rows) }
    }

    /// Loads the folder once (what `readyz` waits for); logs and counts what changed.
    @discardableResult
    public func reload() -> ModelRegistry.Changes {
        let c = service.registry.reload()
        for n in c.loaded { metrics.reload(model: n, outcome: "loaded"); logger.info("loaded model \(n)") }
        for n in c.replaced { metrics.reload(model: n, outcome: "replaced"); logger.info("reloaded model \(n): its file changed") }
        for n in c.removed { metrics.reload(model: n, outcome: "removed"); logger.info("removed model \(n): its file is gone") }
        for (n, e) in c.failed.sorted(by: { $0.key < $1.key }) {
            metrics.reload(model: n, outcome: "failed")
            logger.error("model \(n) not loaded: \(e)")
        }
        return c
    }

    /// Serves until a shutdown signal (or the task is cancelled); `onListening` gets the bound port.
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        reload()
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics, registry: service.registry))
        router.add(middleware: ErrorMiddleware())
        if let tokens { router.add(middleware: BearerMiddleware(tokens: tokens)) }
        Routes(service: service, metrics: metrics, authenticated: tokens != nil).add(to: router)

        let idle = TimeAmount.nanoseconds(Int64(max(InferenceQueue.seconds(configuration.batching.requestTimeout), 10) * 1e9))
        let app = Application(
            router: router,
            // A connection idle (or trickling a body) for longer than the request timeout (10 s at
            // least) is closed, after what it was sent has been written.
            server: .http1(configuration: .init(additionalChannelHandlers: [FlushBeforeClose(limit: idle)], idleTimeout: idle)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "bottleneck"),
            services: [ReloadService(server: self)],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        defer { service.queue.shutdown() }
        try await app.runService(gracefulShutdownSignals: gracefulShutdownSignals)
    }
}

/// Checks the models folder every `reloadInterval` until shutdown.
struct ReloadService: Service {
    let server: ModelServer

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: server.configuration.reloadInterval)
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { break }
            server.reload()
        }
    }
}
