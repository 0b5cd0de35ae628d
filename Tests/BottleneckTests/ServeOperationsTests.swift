import XCTest
import Foundation
@testable import BottleneckServe
@testable import Bottleneck

/// Running a server: bearer tokens, a full queue answered 503 with Retry-After, hot reload of a
/// replaced model file, and the configuration checks.
final class ServeOperationsTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-serve-ops" }

    func copyModels(_ names: [String]) throws -> String {
        let models = dir + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        for n in names { try FileManager.default.copyItem(atPath: ServeFixtures.models + "/\(n).safetensors", toPath: models + "/\(n).safetensors") }
        return models
    }

    func testBearerTokensGuardEverythingButProbes() async throws {
        let tokens = dir + "/tokens"
        try "# service tokens\n0123456789abcdef0123\n\nsecond-token-abcdefgh\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        var config = ServerConfiguration(modelsDirectory: try copyModels(["dense"]))
        config.tokenFile = tokens
        let server = try await RunningServer(config)
        let body = ["rows": ServeFixtures.imageRows(0..<1)]
        let none = try await server.post("/v1/models/dense/score", json: body)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer")
        let wrong = try await server.post("/v1/models/dense/score", json: body, headers: ["Authorization": "Bearer 0123456789abcdef0124"])
        XCTAssertEqual(wrong.status, 401)
        XCTAssertTrue(wrong.errorMessage.contains("not one this server accepts"))
        let prefix = try await server.post("/v1/models/dense/score", json: body, headers: ["Authorization": "Bearer 0123456789abcdef012"])
        XCTAssertEqual(prefix.status, 401, "a prefix of a token is not the token")
        for token in ["0123456789abcdef0123", "second-token-abcdefgh"] {
            let ok = try await server.post("/v1/models/dense/score", json: body, headers: ["Authorization": "Bearer \(token)"])
            XCTAssertEqual(ok.status, 200, ok.text)
        }
        let metrics = try await server.send("GET", "/metrics")
        XCTAssertEqual(metrics.status, 401)
        let models = try await server.send("GET", "/v1/models")
        XCTAssertEqual(models.status, 401)
        for open in ["/healthz", "/readyz", "/openapi.json"] {
            let r = try await server.send("GET", open)
            XCTAssertEqual(r.status, 200, open)
        }
        let doc = try await server.send("GET", "/openapi.json").json()
        XCTAssertNotNil(((doc["components"] as? [String: Any])?["securitySchemes"] as? [String: Any])?["bearer"])
        await server.stop()
    }

    func testConfigurationIsCheckedBeforeListening() throws {
        var config = ServerConfiguration(modelsDirectory: dir)
        config.host = "0.0.0.0"
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? BottleneckError)?.field, .tokenFile) }
        config.host = "127.0.0.1"
        config.limits.maxRows = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? BottleneckError)?.field, .maxRows) }
        config.limits.maxRows = 10
        config.port = 70000
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? BottleneckError)?.field, .port) }
        try "short\n".write(toFile: dir + "/t", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BearerTokens(file: dir + "/t")) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
        try "# only a comment\n".write(toFile: dir + "/t", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BearerTokens(file: dir + "/t")) { XCTAssertTrue("\($0)".contains("no token"), "\($0)") }
        XCTAssertThrowsError(try ModelServer(ServerConfiguration(modelsDirectory: dir + "/missing"))) {
            XCTAssertEqual(($0 as? BottleneckError)?.field, .models)
        }
        XCTAssertFalse(ModelRegistry.isValidName("../etc"))
        XCTAssertFalse(ModelRegistry.isValidName(".hidden"))
        XCTAssertFalse(ModelRegistry.isValidName("a/b"))
        XCTAssertTrue(ModelRegistry.isValidName("trouser-v2.1_final"))
    }

    /// With room for one waiting request, a burst of slow ones gets 503 + Retry-After for some and
    /// 200 for the rest; none is lost and the server answers afterwards.
    func testAFullQueueAnswers503WithRetryAfter() async throws {
        var config = ServerConfiguration(modelsDirectory: try copyModels(["vae", "dense"]))
        config.batching.maxQueuedRequests = 1
        let server = try await RunningServer(config)
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let r = try await server.post("/v1/models/vae/generate", json: ["count": 3000])
                    return (r.status, r.headers["retry-after"])
                }
            }
            var out: [(Int, String?)] = []
            for try await s in group { out.append(s) }
            return out
        }
        XCTAssertEqual(statuses.count, 12)
        XCTAssertTrue(statuses.allSatisfy { $0.0 == 200 || $0.0 == 503 }, "\(statuses)")
        XCTAssertTrue(statuses.contains { $0.0 == 200 })
        let refused = statuses.filter { $0.0 == 503 }
        XCTAssertFalse(refused.isEmpty, "12 slow requests against a queue of 1")
        XCTAssertTrue(refused.allSatisfy { $0.1 == "1" }, "Retry-After on every 503: \(refused)")
        let after = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)])
        XCTAssertEqual(after.status, 200)
        await server.stop()
    }

    /// A request that waits longer than the request timeout is answered 503, not run late.
    func testRequestsPastTheTimeoutAre503() async throws {
        var config = ServerConfiguration(modelsDirectory: try copyModels(["vae"]))
        config.batching.requestTimeout = .milliseconds(20)
        let server = try await RunningServer(config)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 { group.addTask { try await server.post("/v1/models/vae/generate", json: ["count": 3000]).status } }
            var out: [Int] = []
            for try await s in group { out.append(s) }
            return out
        }
        XCTAssertTrue(statuses.contains(503), "\(statuses)")
        XCTAssertTrue(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
        await server.stop()
    }

    /// A model file replaced on disk (a new file renamed over it) is served within the reload
    /// interval; one that fails to load leaves the old model serving; a removed file is dropped.
    func testHotReloadReplacesAndRemovesModels() async throws {
        let models = try copyModels(["dense"])
        var config = ServerConfiguration(modelsDirectory: models)
        config.reloadInterval = .milliseconds(100)
        let server = try await RunningServer(config)
        let body = ["rows": ServeFixtures.imageRows(0..<1)]
        let before = try await server.post("/v1/models/dense/score", json: body).json()["scores"] as? [Double]

        // In flight across the swap: a burst of requests while the file is replaced.
        let burst = Task { () -> [Int] in
            var out: [Int] = []
            for _ in 0..<30 { out.append(try await server.post("/v1/models/dense/score", json: body).status) }
            return out
        }
        let other = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 16), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 11))
        try TrainedModel(model: other).save(to: models + "/.incoming")
        XCTAssertEqual(rename(models + "/.incoming", models + "/dense.safetensors"), 0)
        let statuses = try await burst.value
        XCTAssertEqual(statuses, Array(repeating: 200, count: 30), "no request fails across the swap")
        try await waitFor { try await server.send("GET", "/v1/models/dense").json()["architecture"].flatMap { ($0 as? [String: Any])?["code_shape"] as? [Int] } == [16] }
        let after = try await server.post("/v1/models/dense/score", json: body).json()
        XCTAssertNotEqual(after["scores"] as? [Double], before, "the new model answers")
        XCTAssertTrue(after["threshold"] is NSNull, "the new file stores no detector")

        try Data("not a model".utf8).write(to: URL(fileURLWithPath: models + "/.bad"))
        XCTAssertEqual(rename(models + "/.bad", models + "/dense.safetensors"), 0)
        try await waitFor { try await server.send("GET", "/metrics").text.contains("bottleneck_model_loads_total{model=\"dense\",outcome=\"failed\"} 1") }
        let still = try await server.post("/v1/models/dense/score", json: body)
        XCTAssertEqual(still.status, 200, "a file that fails to load leaves the loaded model serving")

        try FileManager.default.removeItem(atPath: models + "/dense.safetensors")
        try await waitFor { try await server.send("GET", "/v1/models/dense").status == 404 }
        await server.stop()
    }

    func waitFor(_ condition: () async throws -> Bool, seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("not within \(seconds) s", file: file, line: line)
    }
}
