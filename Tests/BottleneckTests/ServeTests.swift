import XCTest
import Foundation
@testable import BottleneckServe
@testable import Bottleneck

/// The model server over real HTTP on loopback: every endpoint and body type, the limits, bad
/// requests (each answered 4xx with a JSON error while the server keeps serving), auth, batching,
/// hot reload, metrics and the OpenAPI document.
final class ServeTests: XCTestCase {
    var server: RunningServer!

    override func setUp() async throws {
        var config = ServerConfiguration(modelsDirectory: ServeFixtures.models)
        config.limits.maxBodyBytes = 4 << 20
        config.limits.maxRows = 1000
        server = try await RunningServer(config)
    }

    override func tearDown() async throws { await server.stop() }

    func bundle(_ name: String) throws -> TrainedModel { try TrainedModel.load(ServeFixtures.models + "/\(name).safetensors") }

    func numbers(_ any: Any?) -> [Double] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
    func matrix(_ any: Any?) -> [[Double]] { (any as? [Any] ?? []).map(numbers) }

    /// The scores of the library's scorer on the same rows (scaled as the bundle says).
    /// The dense model's detector uses the combined score (standardised logs, of order 1): a
    /// batch of other size rounds its GEMMs differently, a few float ulps of the score.
    let scoreTolerance = 1e-5

    func libraryScores(_ name: String, _ x: Tensor) throws -> [Float] {
        let b = try bundle(name)
        return try DetectionPolicy(bundle: b).scorer().scores(Dataset(inputs: try b.scaler.transform(x)))
    }

    func testModelListAndInfoDescribeTheBundles() async throws {
        let list = try await server.send("GET", "/v1/models")
        XCTAssertEqual(list.status, 200)
        let names = (try list.json()["models"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["colorizer", "dense", "inpainter", "table", "unmarker", "vae"], "checkpoints and logs beside the models are not served")

        let dense = try await server.send("GET", "/v1/models/dense").json()
        let arch = try XCTUnwrap(dense["architecture"] as? [String: Any])
        XCTAssertEqual(arch["input_shape"] as? [Int], [1, 28, 28])
        XCTAssertEqual(arch["parameters"] as? Int, try bundle("dense").model.parameterCount)
        let detector = try XCTUnwrap(dense["detector"] as? [String: Any])
        // JSON's shortest printing of a Double may round the last digit (Foundation on Linux).
        XCTAssertEqual(try XCTUnwrap(detector["threshold"] as? Double), try XCTUnwrap(try bundle("dense").detector?.threshold), accuracy: 1e-12)
        XCTAssertEqual(dense["operations"] as? [String], ["score", "encode", "reconstruct", "decode"])
        XCTAssertNotNil((dense["training"] as? [String: Any])?["final_train_loss"] as? Double)

        let table = try await server.send("GET", "/v1/models/table").json()
        XCTAssertEqual(table["feature_names"] as? [String], ["a", "b", "c", "d"])
        XCTAssertEqual(table["scaling"] as? String, try bundle("table").scaler.kind.rawValue)
        for (name, op) in [("vae", "generate"), ("inpainter", "inpaint"), ("inpainter", "denoise"), ("colorizer", "colorize"), ("unmarker", "unwatermark")] {
            let ops = try await server.send("GET", "/v1/models/\(name)").json()["operations"] as? [String] ?? []
            XCTAssertTrue(ops.contains(op), "\(name) offers \(op): \(ops)")
        }
        let missing = try await server.send("GET", "/v1/models/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.errorMessage.contains("no model named 'nope'"), missing.errorMessage)
        let bad = try await server.send("GET", "/v1/models/a%20b")
        XCTAssertEqual(bad.status, 400, bad.text)
        XCTAssertTrue(bad.errorMessage.contains("not a model name"), bad.errorMessage)
    }

    /// JSON rows, NPY and PNG bodies give the library's scores, and flags by the stored threshold.
    func testScoreEqualsTheLibraryForEveryBodyType() async throws {
        let x = ServeFixtures.testImages.rows(0, 5).copy()
        let expected = try libraryScores("dense", x)
        let threshold = try XCTUnwrap(try bundle("dense").detector?.threshold)

        let json = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<5)])
        XCTAssertEqual(json.status, 200, json.text)
        let body = try json.json()
        let scores = numbers(body["scores"])
        XCTAssertEqual(scores.count, 5)
        for (a, b) in zip(scores, expected) { XCTAssertEqual(a, Double(b), accuracy: scoreTolerance) }
        XCTAssertEqual(body["flags"] as? [Bool], expected.map { Double($0) > threshold })
        XCTAssertEqual(try XCTUnwrap(body["threshold"] as? Double), threshold, accuracy: 1e-12)

        let npy = try await server.send("POST", "/v1/models/dense/score", body: NPYArray.encoded(x), contentType: "application/x-npy")
        XCTAssertEqual(numbers(try npy.json()["scores"]), scores, "NPY body")
        let nested = try await server.post("/v1/models/dense/score", json: ["rows": [(0..<28).map { r in (0..<28).map { ServeFixtures.imageRows(0..<1)[0][r * 28 + $0] } }]])
        XCTAssertEqual(numbers(try nested.json()["scores"]).first ?? .nan, scores[0], accuracy: scoreTolerance, "rows nested as the sample shape")

        let png = try Image(tensor: x.rows(0, 1).reshaped([1, 28, 28])).pngData()
        let fromPNG = try await server.send("POST", "/v1/models/dense/score", body: png, contentType: "image/png")
        XCTAssertEqual(fromPNG.status, 200, fromPNG.text)
        // A PNG holds 8-bit pixels: the same score as the row quantized to 1/255.
        let quantized = try libraryScores("dense", Image(tensor: x.rows(0, 1).reshaped([1, 28, 28])).tensor().reshaped([1, 1, 28, 28]))
        XCTAssertEqual(numbers(try fromPNG.json()["scores"]).first ?? .nan, Double(quantized[0]), accuracy: scoreTolerance)
        let jpeg = try Image(tensor: x.rows(0, 1).reshaped([1, 28, 28])).jpegData(quality: 100)
        let fromJPEG = try await server.send("POST", "/v1/models/dense/score", body: jpeg, contentType: "image/jpeg")
        XCTAssertEqual(fromJPEG.status, 200, fromJPEG.text)
        let decoded = try Image.decode(jpeg, source: "jpeg").tensor().reshaped([1, 1, 28, 28])
        XCTAssertEqual(numbers(try fromJPEG.json()["scores"]).first ?? .nan, Double(try libraryScores("dense", decoded)[0]), accuracy: scoreTolerance)
    }

    func testTableRowsByColumnNameAndPerFeatureErrors() async throws {
        let rows = ServeFixtures.tableRows(3, seed: 9)
        let arrays = try await server.post("/v1/models/table/score", json: ["rows": rows]).json()
        let objects = try await server.post("/v1/models/table/score", json: ["rows": rows.map { ["d": $0[3], "b": $0[1], "a": $0[0], "c": $0[2]] }]).json()
        XCTAssertEqual(numbers(arrays["scores"]), numbers(objects["scores"]), "columns are matched by name, not order")
        let x = Tensor(shape: [3, 4], values: rows.flatMap { $0.map(Float.init) })
        for (a, b) in zip(numbers(arrays["scores"]), try libraryScores("table", x)) { XCTAssertEqual(a, Double(b), accuracy: 1e-6) }
        let errors = matrix(arrays["feature_errors"])
        XCTAssertEqual(errors.count, 3)
        XCTAssertEqual(errors[0].count, 4)
        // mse: the score is the mean of the per-feature squared errors.
        XCTAssertEqual(errors[0].reduce(0, +) / 4, numbers(arrays["scores"])[0], accuracy: 1e-5)
        XCTAssertEqual(arrays["features"] as? [String], ["a", "b", "c", "d"])

        let missing = try await server.post("/v1/models/table/score", json: ["rows": [["a": 1, "b": 2, "c": 3]]])
        XCTAssertEqual(missing.status, 422)
        XCTAssertTrue(missing.errorMessage.contains("missing d"), missing.errorMessage)
        let extra = try await server.post("/v1/models/table/score", json: ["rows": [["a": 1, "b": 2, "c": 3, "d": 4, "e": 5]]])
        XCTAssertEqual(extra.status, 422)
        XCTAssertTrue(extra.errorMessage.contains("not in the model: e"), extra.errorMessage)
        let imageObjects = try await server.post("/v1/models/dense/score", json: ["rows": [["a": 1]]])
        XCTAssertEqual(imageObjects.status, 422)
    }

    func testEncodeDecodeAndReconstructInTheDataScale() async throws {
        let x = ServeFixtures.testImages.rows(0, 2).copy()
        let b = try bundle("dense")
        let codes = try await server.post("/v1/models/dense/encode", json: ["rows": ServeFixtures.imageRows(0..<2)]).json()
        XCTAssertEqual(codes["shape"] as? [Int], [2, 32])
        let expected = withoutGradients { b.model.encode(try! b.scaler.transform(x)) }
        for (a, e) in zip(matrix(codes["codes"]).flatMap { $0 }, expected.scalars) { XCTAssertEqual(a, Double(e), accuracy: 1e-5) }

        let decoded = try await server.post("/v1/models/dense/decode", json: ["codes": matrix(codes["codes"])]).json()
        let reconstructed = try await server.post("/v1/models/dense/reconstruct", json: ["rows": ServeFixtures.imageRows(0..<2)]).json()
        XCTAssertEqual(decoded["shape"] as? [Int], [2, 1, 28, 28])
        for (a, r) in zip(matrix(decoded["rows"]).flatMap { $0 }, matrix(reconstructed["rows"]).flatMap { $0 }) { XCTAssertEqual(a, r, accuracy: 1e-5) }

        let asNPY = try await server.send("POST", "/v1/models/dense/reconstruct", body: NPYArray.encoded(x), contentType: "application/x-npy")
        XCTAssertEqual(asNPY.headers["content-type"], "application/x-npy")
        let array = try NPYArray.decode(asNPY.body, source: "answer")
        XCTAssertEqual(array.shape, [2, 1, 28, 28])
        for (a, r) in zip(array.values, matrix(reconstructed["rows"]).flatMap { $0 }) { XCTAssertEqual(Double(a), r, accuracy: 1e-6) }

        let png = try Image(tensor: x.rows(0, 1).reshaped([1, 28, 28])).pngData()
        let image = try await server.send("POST", "/v1/models/dense/reconstruct", body: png, contentType: "image/png")
        XCTAssertEqual(image.headers["content-type"], "image/png")
        let back = try Image.decode(image.body, source: "answer")
        XCTAssertEqual([back.width, back.height, back.channels], [28, 28, 1])
        let asJSON = try await server.send("POST", "/v1/models/dense/reconstruct", body: png, contentType: "image/png", headers: ["Accept": "application/json"])
        XCTAssertEqual(asJSON.headers["content-type"], "application/json", "Accept chooses the answer's format")
    }

    func testGenerateIsSeededAndOnlyForGenerativeModels() async throws {
        let a = try await server.post("/v1/models/vae/generate", json: ["count": 3, "seed": 7]).json()
        let b = try await server.post("/v1/models/vae/generate", json: ["count": 3, "seed": 7]).json()
        let c = try await server.post("/v1/models/vae/generate", json: ["count": 3, "seed": 8]).json()
        XCTAssertEqual(a["shape"] as? [Int], [3, 1, 28, 28])
        XCTAssertEqual(matrix(a["rows"]), matrix(b["rows"]))
        XCTAssertNotEqual(matrix(a["rows"]), matrix(c["rows"]))
        let one = try await server.send("POST", "/v1/models/vae/generate", body: Data(), headers: ["Accept": "image/png"])
        XCTAssertEqual(one.headers["content-type"], "image/png", one.text)
        let many = try await server.send("POST", "/v1/models/vae/generate", body: Data("{\"count\": 2}".utf8), contentType: "application/json", headers: ["Accept": "image/png"])
        XCTAssertEqual(many.status, 406)
        let notOffered = try await server.post("/v1/models/dense/generate", json: ["count": 1])
        XCTAssertEqual(notOffered.status, 404)
        XCTAssertTrue(notOffered.errorMessage.contains("does not offer generate"), notOffered.errorMessage)
        let tooMany = try await server.post("/v1/models/vae/generate", json: ["count": 100_000])
        XCTAssertEqual(tooMany.status, 413)
        let zero = try await server.post("/v1/models/vae/generate", json: ["count": 0])
        XCTAssertEqual(zero.status, 422)
    }

    /// Restoration endpoints take images of any size (tiled), answer PNG, and equal the library.
    func testRestorationEndpoints() async throws {
        var pixels = [UInt8](repeating: 0, count: 40 * 36)
        for i in pixels.indices { pixels[i] = UInt8((i * 37) % 256) }
        let photo = Image(width: 40, height: 36, channels: 1, pixels: pixels)
        let png = try photo.pngData()

        let denoised = try await server.send("POST", "/v1/models/inpainter/denoise", body: png, contentType: "image/png")
        XCTAssertEqual(denoised.status, 200, denoised.text)
        let d = try Image.decode(denoised.body, source: "answer")
        XCTAssertEqual([d.width, d.height, d.channels], [40, 36, 1])
        let m = try bundle("inpainter").model
        let expected = try Image(tensor: try Restoration.applyAnySize(m, to: photo.tensor().reshaped([1, 1, 36, 40])).clamp(0, 1).reshaped([1, 36, 40]))
        XCTAssertEqual(d.pixels, expected.pixels, "the same as the library's tiled restoration")

        let noRect = try await server.send("POST", "/v1/models/inpainter/inpaint", body: png, contentType: "image/png")
        XCTAssertEqual(noRect.status, 400)
        XCTAssertTrue(noRect.errorMessage.contains("rect"), noRect.errorMessage)
        let outside = try await server.send("POST", "/v1/models/inpainter/inpaint?rect=30,30,20,20", body: png, contentType: "image/png")
        XCTAssertEqual(outside.status, 422)
        let filled = try await server.send("POST", "/v1/models/inpainter/inpaint?rect=4,5,10,8", body: png, contentType: "image/png")
        XCTAssertEqual(filled.status, 200, filled.text)
        let f = try Image.decode(filled.body, source: "answer")
        for y in 0..<36 { for x in 0..<40 where !(4..<14).contains(x) || !(5..<13).contains(y) {
            XCTAssertEqual(f.pixels[y * 40 + x], pixels[y * 40 + x], "known pixels are kept (\(x), \(y))")
        } }

        let colored = try await server.send("POST", "/v1/models/colorizer/colorize", body: png, contentType: "image/png")
        XCTAssertEqual(colored.status, 200, colored.text)
        XCTAssertEqual(try Image.decode(colored.body, source: "answer").channels, 3)
        let unmarked = try await server.send("POST", "/v1/models/unmarker/unwatermark", body: png, contentType: "image/png")
        XCTAssertEqual(unmarked.status, 200, unmarked.text)
        let notThisKind = try await server.send("POST", "/v1/models/dense/denoise", body: png, contentType: "image/png")
        XCTAssertEqual(notThisKind.status, 404)
        let colourForGray = try await server.send("POST", "/v1/models/inpainter/denoise",
                                                  body: try Image(width: 8, height: 8, channels: 3, pixels: [UInt8](repeating: 9, count: 192)).pngData(), contentType: "image/png")
        XCTAssertEqual(colourForGray.status, 422)
    }

    /// Each bad request gets its 4xx and a JSON error naming the problem; the next good request
    /// gets the same answer as before.
    func testBadRequestsGet4xxAndTheServerKeepsServing() async throws {
        let good = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)])
        XCTAssertEqual(good.status, 200)
        let row = ServeFixtures.imageRows(0..<1)[0].map { String($0) }.joined(separator: ",")
        func raw(_ text: String, _ type: String = "application/json") -> (Data, String) { (Data(text.utf8), type) }
        let cases: [(String, String, (Data, String), Int, String)] = [
            ("truncated JSON", "score", raw("{\"rows\": [[0.1, 0.2"), 400, "not valid JSON"),
            ("NaN", "score", raw("{\"rows\": [[NaN]]}"), 400, "not valid JSON"),
            ("a huge number", "score", raw("{\"rows\": [[1e999" + String(repeating: ",0", count: 783) + "]]}"), 422, "not a finite number"),
            ("wrong width", "score", raw("{\"rows\": [[1, 2, 3]]}"), 422, "row 0 has 3 values"),
            ("no rows", "score", raw("{\"rows\": []}"), 422, "no samples"),
            ("not an object", "score", raw("[1, 2]"), 400, "expected"),
            ("strings", "score", raw("{\"rows\": [[\"a\"]]}"), 400, "expected"),
            ("a duplicate key", "score", raw("{\"rows\": [[\(row)]], \"rows\": [[\(row)]]}"), 400, "rows"),
            ("deep nesting", "score", raw("{\"rows\": " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"), 400, "deep"),
            ("too many rows", "table", raw("{\"rows\": [" + Array(repeating: "[1, 2, 3, 4]", count: 1001).joined(separator: ",") + "]}"), 413, "1001 rows"),
            ("wrong content type", "score", raw("rows", "text/plain"), 415, "Content-Type"),
            ("garbage NPY", "score", raw("not numpy", "application/x-npy"), 400, "NPY"),
            ("NPY of the wrong shape", "score", (NPYArray.encoded(Tensor(shape: [2, 5], values: [Float](repeating: 0, count: 10))), "application/x-npy"), 422, "[2, 5]"),
            ("NPY holding NaN", "score", (NPYArray.encoded(Tensor(shape: [1, 784], values: [Float](repeating: .nan, count: 784))), "application/x-npy"), 422, "finite"),
            ("garbage PNG", "score", raw("\u{89}PNG not really", "image/png"), 400, "PNG"),
            ("a PNG of the wrong size", "score", (try Image(width: 30, height: 30, channels: 1, pixels: [UInt8](repeating: 1, count: 900)).pngData(), "image/png"), 422, "30x30"),
            ("an image for a table model", "table", (try Image(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4]).pngData(), "image/png"), 415, "not images"),
            ("an unknown operation", "explode", raw("{}"), 404, "no operation"),
        ]
        for (what, op, (body, type), status, fragment) in cases {
            let model = op == "table" ? "table" : "dense"
            let path = "/v1/models/\(model)/\(op == "table" ? "score" : op)"
            let r = try await server.send("POST", path, body: body, contentType: type)
            XCTAssertEqual(r.status, status, "\(what): \(r.text.prefix(300))")
            XCTAssertEqual(r.headers["content-type"], "application/json", what)
            XCTAssertTrue(r.errorMessage.contains(fragment), "\(what): '\(fragment)' not in '\(r.errorMessage)'")
            let again = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)])
            XCTAssertEqual(again.status, 200, "after \(what)")
            XCTAssertEqual(numbers(try again.json()["scores"]), numbers(try good.json()["scores"]), "after \(what)")
        }
        let accept = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)], headers: ["Accept": "image/png"])
        XCTAssertEqual(accept.status, 406)
        let endpoint = try await server.send("GET", "/v2/nothing")
        XCTAssertEqual(endpoint.status, 404)
        XCTAssertTrue(endpoint.errorMessage.contains("no such endpoint"))
    }

    /// A body over the limit is refused with 413 before it is read: by its Content-Length (a
    /// 100 MB upload announced) or, without one, as it streams in.
    func testBodiesOverTheLimitAre413() async throws {
        let big = Data(count: 5 << 20)
        let r = try await server.send("POST", "/v1/models/dense/score", body: big, contentType: "application/json")
        XCTAssertEqual(r.status, 413, r.text)
        // 100 MB announced on a raw socket: the answer comes without the body being sent.
        let answer = try rawExchange("POST /v1/models/dense/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 413"), answer)
        let after = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)])
        XCTAssertEqual(after.status, 200)
    }

    func rawExchange(_ request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(server.port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw BottleneckError("connect failed") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    /// Concurrent requests share forward passes, and each gets the answer it would get alone.
    func testConcurrentRequestsShareForwardPassesWithTheirOwnAnswers() async throws {
        let rows = ServeFixtures.imageRows(0..<32)
        var alone: [Double] = []
        for r in rows { alone.append(numbers(try await server.post("/v1/models/dense/score", json: ["rows": [r]]).json()["scores"])[0]) }
        let passesBefore = batchCount(try await server.send("GET", "/metrics").text)
        let together = try await withThrowingTaskGroup(of: (Int, Double).self) { group in
            for (i, r) in rows.enumerated() {
                group.addTask { (i, self.numbers(try await self.server.post("/v1/models/dense/score", json: ["rows": [r]]).json()["scores"])[0]) }
            }
            var out = [Double](repeating: .nan, count: rows.count)
            for try await (i, s) in group { out[i] = s }
            return out
        }
        for (a, b) in zip(together, alone) { XCTAssertEqual(a, b, accuracy: scoreTolerance) }
        let passes = batchCount(try await server.send("GET", "/metrics").text) - passesBefore
        XCTAssertLessThan(passes, 32, "32 concurrent requests ran in \(passes) forward passes")
    }

    func batchCount(_ metrics: String) -> Int {
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("bottleneck_batch_size_count{model=\"dense\",endpoint=\"score\"}") }
        return line.flatMap { Int(Double($0.split(separator: " ").last ?? "") ?? 0) } ?? 0
    }

    func testMetricsHealthAndReadiness() async throws {
        _ = try await server.post("/v1/models/dense/score", json: ["rows": ServeFixtures.imageRows(0..<1)])
        _ = try await server.post("/v1/models/dense/score", json: ["rows": [[1]]])
        _ = try await server.post("/v1/models/made-up/score", json: ["rows": [[1]]])
        let metrics = try await server.send("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let text = metrics.text
        for needle in ["bottleneck_requests_total{model=\"dense\",endpoint=\"score\",status=\"200\"}",
                       "bottleneck_requests_total{model=\"dense\",endpoint=\"score\",status=\"422\"}",
                       "bottleneck_request_duration_seconds_bucket{model=\"dense\",endpoint=\"score\"",
                       "bottleneck_batch_size_count{model=\"dense\",endpoint=\"score\"}", "bottleneck_queue_depth 0", "bottleneck_models_loaded 6",
                       "bottleneck_model_loads_total{model=\"dense\",outcome=\"loaded\"} 1"] {
            XCTAssertTrue(text.contains(needle), "\(needle) not in /metrics")
        }
        XCTAssertFalse(text.contains("made-up"), "unknown names never become labels")
        let health = try await server.send("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        let ready = try await server.send("GET", "/readyz")
        XCTAssertEqual(try ready.json()["models"] as? Int, 6)

        let empty = NSTemporaryDirectory() + "bn-serve-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let idle = try await RunningServer(ServerConfiguration(modelsDirectory: empty))
        let notReady = try await idle.send("GET", "/readyz")
        await idle.stop()
        XCTAssertEqual(notReady.status, 503)
    }

    /// Every operation of the document is routed, every answer's status is one it lists, and the
    /// model names it offers are the loaded ones.
    func testOpenAPIDocumentMatchesTheRoutes() async throws {
        let doc = try await server.send("GET", "/openapi.json").json()
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        XCTAssertEqual(Set(paths.keys), Set(["/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/models", "/v1/models/{name}"]
            + ModelOperation.allCases.map { "/v1/models/{name}/\($0.rawValue)" }))
        for (path, methods) in paths {
            for (method, value) in methods {
                let op = try XCTUnwrap(value as? [String: Any])
                let statuses = Set((op["responses"] as? [String: Any] ?? [:]).keys)
                let concrete = path.replacingOccurrences(of: "{name}", with: "dense")
                let r = try await server.send(method.uppercased(), concrete + (path.hasSuffix("inpaint") ? "?rect=0,0,1,1" : ""),
                                              body: method == "post" ? Data("{\"rows\": [[1]]}".utf8) : nil, contentType: method == "post" ? "application/json" : nil)
                XCTAssertTrue(statuses.contains(String(r.status)), "\(method) \(path) answered \(r.status), documented \(statuses.sorted())")
            }
        }
        let name = try XCTUnwrap((paths["/v1/models/{name}"]?["get"] as? [String: Any])?["parameters"] as? [[String: Any]]).first
        XCTAssertEqual((name?["schema"] as? [String: Any])?["enum"] as? [String], ["colorizer", "dense", "inpainter", "table", "unmarker", "vae"])
    }
}
