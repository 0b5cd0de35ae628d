import XCTest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import BottleneckServe
@testable import Bottleneck
import Logging

/// A `ModelServer` on an ephemeral loopback port inside the test process, spoken to over real
/// HTTP (URLSession, libcurl underneath).
final class RunningServer {
    let server: ModelServer
    let port: Int
    private let task: Task<Void, Error>

    init(_ config: ServerConfiguration) async throws {
        var config = config
        config.host = "127.0.0.1"
        config.port = 0
        var quiet = Logger(label: "test-server")
        quiet.logLevel = .critical  // stopping by cancellation logs errors that are expected here
        server = try ModelServer(config, logger: quiet)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let s = server
        task = Task { try await s.run(gracefulShutdownSignals: []) { continuation.yield($0) } }
        var it = ports.makeAsyncIterator()
        guard let p = await it.next() else { throw BottleneckError("the test server did not start") }
        port = p
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(text.prefix(300))")
        }
        /// The message of a JSON error answer.
        var errorMessage: String {
            ((try? json())?["error"] as? [String: Any])?["message"] as? String ?? "(no JSON error: \(text.prefix(200)))"
        }
    }

    func send(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        r.httpBody = body
        r.timeoutInterval = 60
        if let contentType { r.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = try XCTUnwrap(response as? HTTPURLResponse)
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: h, body: data)
    }

    func post(_ path: String, json: Any, headers: [String: String] = [:]) async throws -> Reply {
        try await send("POST", path, body: try JSONSerialization.data(withJSONObject: json), contentType: "application/json", headers: headers)
    }
}

/// The models the serving tests use, written once per test run: a dense Fashion-MNIST model and a
/// table model trained by the CLI with fitted detectors, and untrained models of the other kinds
/// (what is served does not depend on how well they are trained).
enum ServeFixtures {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "bn-serve-models-\(UUID().uuidString)"
        for sub in ["/models", "/train"] { try! FileManager.default.createDirectory(atPath: dir + sub, withIntermediateDirectories: true) }
        try! build(dir)
        XCTestObservationCenter.shared.addTestObserver(RemoveWhenDone(path: dir))
        return dir
    }()
    static var models: String { directory + "/models" }

    /// Removes the models when the test run ends.
    final class RemoveWhenDone: NSObject, XCTestObservation {
        let path: String
        init(path: String) { self.path = path }
        func testBundleDidFinish(_ testBundle: Bundle) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Rows of a 4-column table: two correlated pairs, so an autoencoder with a 2-unit code fits them.
    static func tableRows(_ n: Int, seed: UInt64) -> [[Double]] {
        let rng = RandomGenerator(seed: seed)
        return (0..<n).map { _ in
            let a = Double(rng.normal()), b = Double(rng.normal())
            return [a, 2 * a + 0.1 * Double(rng.normal()), b, -b + 0.1 * Double(rng.normal())]
        }
    }

    static func writeTable(_ rows: [[Double]], to path: String) throws {
        try CSV.write(header: ["a", "b", "c", "d"], rows: rows.map { $0.map { String($0) } }, to: path)
    }

    static func build(_ dir: String) throws {
        func cli(_ args: [String]) throws {
            let r = try runCLI(args, in: dir)
            guard r.status == 0 else { throw BottleneckError("\(args.joined(separator: " ")): \(r.err)") }
        }
        try cli(["train", "--preset", "dense", "--epochs", "1", "-o", "train/dense.safetensors"])
        try cli(["detect", "--model", "train/dense.safetensors", "--fit", "--percentile", "99"])
        try writeTable(tableRows(400, seed: 1), to: dir + "/table.csv")
        try cli(["train", "--data", "table.csv", "--preset", "dense", "--code-size", "2", "--epochs", "20", "--batch-size", "32", "-o", "train/table.safetensors"])
        try cli(["detect", "--model", "train/table.safetensors", "--data", "table.csv", "--score", "recon", "--fit", "--percentile", "95"])
        for name in ["dense", "table"] {
            try FileManager.default.moveItem(atPath: "\(dir)/train/\(name).safetensors", toPath: "\(dir)/models/\(name).safetensors")
        }
        func untrained(_ name: String, preset: Preset, shape: [Int], variant: VariantKind, code: Int? = nil) throws {
            var spec = try preset.spec(inputShape: shape, codeSize: code)
            spec.variant = VariantSpec(variant)
            let model = try Autoencoder(spec: spec, inputShape: shape, rng: RandomGenerator(seed: 5))
            model.eval()
            try TrainedModel(model: model).save(to: "\(dir)/models/\(name).safetensors")
        }
        try untrained("vae", preset: .dense, shape: [1, 28, 28], variant: .vae(), code: 8)
        try untrained("inpainter", preset: .conv, shape: [1, 28, 28], variant: .denoising(noise: .occlusion(minSide: 0.2, maxSide: 0.5)))
        try untrained("colorizer", preset: .conv, shape: [3, 28, 28], variant: .colorize())
        try untrained("unmarker", preset: .conv, shape: [1, 28, 28], variant: .unwatermark())
    }

    /// The first `n` Fashion-MNIST test images as rows of 784 values in [0, 1].
    static let testImages: Tensor = try! FashionMNIST.load(.test).inputs.rows(0, 64).copy()
    static func imageRows(_ range: Range<Int>) -> [[Double]] {
        range.map { i in (0..<784).map { Double(testImages.data[i * 784 + $0]) } }
    }
}
