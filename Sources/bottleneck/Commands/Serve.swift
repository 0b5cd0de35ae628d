import ArgumentParser
import Bottleneck
import BottleneckServe
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the models of a folder over HTTP: score, encode, reconstruct, decode, generate, denoise, inpaint, colorize, unwatermark.",
        discussion: """
        Every NAME.safetensors in --models is served under /v1/models/NAME; a file replaced on disk
        (written to a temporary name and renamed) is picked up within --reload-interval, requests
        in flight finishing on the old model. Bodies: JSON {"rows": [...]}, NPY (application/x-npy),
        PNG/JPEG for image models. GET /openapi.json describes every endpoint; GET /metrics is
        Prometheus text. SIGTERM or SIGINT stops accepting, finishes the requests in flight, exits 0.

        Off loopback, --token-file is required: clients send Authorization: Bearer <token>.

        Examples:
          bottleneck train --classes 1 --epochs 5 -o models/trouser.safetensors
          bottleneck detect --model models/trouser.safetensors --fit --percentile 99
          bottleneck serve --models models --port 8080
          curl -s localhost:8080/v1/models/trouser
          curl -s -H 'Content-Type: application/x-npy' --data-binary @rows.npy localhost:8080/v1/models/trouser/score
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Folder of model files (NAME.safetensors is served as NAME).") var models: String
    @Option(name: .long, help: "Address to listen on (not loopback: --token-file required).") var host = "127.0.0.1"
    @Option(name: .long, help: "Port (0: any free port, printed when listening).") var port = 8080
    @Option(name: .long, help: "File of bearer tokens, one per line (# comments); required off loopback.") var tokenFile: String?
    @Option(name: .long, help: "Largest request body, e.g. 16MiB.") var maxBodySize = ByteCount(16 << 20)
    @Option(name: .long, help: "Most samples in one request.") var maxRows = 4096
    @Option(name: .customLong("max-json-depth"), help: "Deepest nesting of a JSON body.") var maxJSONDepth = 32
    @Option(name: .long, help: "Longest a request may wait for its forward pass, and a connection may idle, e.g. 30s.")
    var requestTimeout = DurationArgument(.seconds(30))
    @Option(name: .long, help: "Most requests waiting; beyond, 503 with Retry-After.") var queueDepth = 256
    @Option(name: .long, help: "Most samples in one batched forward pass.") var maxBatch = 256
    @Option(name: .long, help: "How long a request waits for others to share its forward pass, e.g. 2ms.")
    var batchDelay = DurationArgument(.milliseconds(2))
    @Flag(name: .long, help: "One forward pass per request.") var noBatching = false
    @Option(name: .long, help: "How often the models folder is checked for changed files, e.g. 1s.") var reloadInterval = DurationArgument(.seconds(1))

    func run() throws {
        var config = ServerConfiguration(modelsDirectory: models)
        config.host = host
        config.port = port
        config.tokenFile = tokenFile
        config.memoryLimit = memory.maxModelMemory
        config.limits.maxBodyBytes = maxBodySize.bytes
        config.limits.maxRows = maxRows
        config.limits.maxJSONDepth = maxJSONDepth
        config.batching.requestTimeout = requestTimeout.duration
        config.batching.maxQueuedRequests = queueDepth
        config.batching.maxBatchRows = maxBatch
        config.batching.maxDelay = batchDelay.duration
        config.batching.enabled = !noBatching
        config.reloadInterval = reloadInterval.duration
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let server = try ModelServer(config)
        let (host, models) = (self.host, self.models)
        let failure = LockedBox<Error?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { port in
                    let names = server.service.registry.all.map(\.name)
                    print("bottleneck serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port) with \(names.count) model(s) from \(models): \(names.joined(separator: ", "))")
                    fflush(stdout)
                }
            } catch {
                failure.value = error
            }
            done.signal()
        }
        done.wait()
        if let e = failure.value { throw BottleneckError("serve: \(e)") }
    }
}

/// A value written by one thread and read by another after a semaphore.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
