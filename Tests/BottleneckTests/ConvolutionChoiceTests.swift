import XCTest
@testable import BottleneckCore
@testable import BottleneckNN

/// The choice between im2col and oneDNN per convolution geometry: by measurement, the faster by
/// the margin, cached on disk per machine and thread count and reused, forced by the environment.
final class ConvolutionChoiceTests: XCTestCase {
    private var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "bottleneck-conv-choice-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        setenv("BOTTLENECK_CACHE_DIR", dir, 1)
        ConvolutionChoice.forgetMeasurements(threads: ComputeThreads.current)
    }

    override func tearDown() {
        ConvolutionChoice.forgetMeasurements(threads: ComputeThreads.current)
        unsetenv("BOTTLENECK_CACHE_DIR")
        try? FileManager.default.removeItem(atPath: dir)
        ConvolutionChoice.force(nil)
    }

    private func sleep(_ ms: Double) -> () -> Void { { usleep(useconds_t(ms * 1000)) } }

    func testFasterPathIsChosenMeasuredOnceAndCached() throws {
        var calls = 0
        let slow = { calls += 1; usleep(6000) }, fast = { calls += 1; usleep(1000) }
        let first = ConvolutionChoice.measurement(for: "geometry A", im2col: slow, oneDNN: fast)
        XCTAssertEqual(first.path, .oneDNN)
        XCTAssertGreaterThan(first.im2colMilliseconds, 5.5)
        XCTAssertLessThan(first.oneDNNMilliseconds, 5)
        XCTAssertGreaterThan(calls, 2)
        let measured = calls
        XCTAssertEqual(ConvolutionChoice.measurement(for: "geometry A", im2col: slow, oneDNN: fast), first)
        XCTAssertEqual(calls, measured, "a known geometry is not measured again")
        XCTAssertEqual(ConvolutionChoice.measurement(for: "geometry B", im2col: fast, oneDNN: slow).path, .im2col)

        // On disk: a new process (memory forgotten, file kept) reads both back without measuring.
        let path = try XCTUnwrap(ConvolutionChoice.cacheFile(threads: ComputeThreads.current))
        XCTAssertTrue(path.hasPrefix(dir + "/conv-"), path)
        let file = try JSONDecoder().decode(ConvolutionChoice.CacheFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(file.geometries["geometry A"], first)
        XCTAssertEqual(file.geometries.count, 2)
        XCTAssertEqual(file.machine, KernelCalibration.machineIdentity)
    }

    func testNearTieKeepsIm2col() {
        // Equal work on both paths: oneDNN must win by the margin, so im2col stays.
        XCTAssertEqual(ConvolutionChoice.measurement(for: "tie", im2col: sleep(3), oneDNN: sleep(3)).path, .im2col)
    }

    func testForgottenOrDamagedCacheIsMeasuredAgain() throws {
        var calls = 0
        _ = ConvolutionChoice.measurement(for: "g", im2col: { calls += 1 }, oneDNN: {})
        let path = try XCTUnwrap(ConvolutionChoice.cacheFile(threads: ComputeThreads.current))
        ConvolutionChoice.forgetMeasurements(threads: ComputeThreads.current)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{ damaged".utf8).write(to: URL(fileURLWithPath: path))
        calls = 0
        _ = ConvolutionChoice.measurement(for: "g", im2col: { calls += 1 }, oneDNN: {})
        XCTAssertGreaterThan(calls, 0, "measured again")
        let file = try JSONDecoder().decode(ConvolutionChoice.CacheFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertNotNil(file.geometries["g"], "the damaged file was replaced")
    }

    func testForcedPathSkipsMeasurement() {
        ConvolutionChoice.force(.oneDNN)
        var calls = 0
        XCTAssertEqual(ConvolutionChoice.path(for: "h", im2col: { calls += 1 }, oneDNN: { calls += 1 }), .oneDNN)
        XCTAssertEqual(calls, 0)
    }

    /// Training and inference, and which gradients a call needs, are different geometries: a
    /// path can win the forward pass and lose the backward one.
    func testMeasurementDescribesWhatTheCallNeeds() {
        let x = Tensor(shape: [2, 3, 4, 4]), w = Tensor(shape: [5, 3, 3, 3]), b = Tensor(shape: [5])
        w.requiresGrad = true
        b.requiresGrad = true
        XCTAssertEqual(ConvolutionMeasurement(x, w, b).description, "bias training(dw,db)")
        x.requiresGrad = true
        XCTAssertEqual(ConvolutionMeasurement(x, w, nil).description, "no-bias training(dx,dw)")
        XCTAssertEqual(withoutGradients { ConvolutionMeasurement(x, w, b).description }, "bias inference")
    }

    /// A layer measures its geometry on first use: the cache then names it, with both timings.
    func testLayerRecordsItsGeometry() throws {
        let layer = ConvTranspose2D(8, 4, 3, stride: 2, padding: 1, outputPadding: 1, rng: RandomGenerator(seed: 1))
        _ = withoutGradients { layer(Tensor(shape: [2, 8, 5, 5])) }
        let path = try XCTUnwrap(ConvolutionChoice.cacheFile(threads: ComputeThreads.current))
        let file = try JSONDecoder().decode(ConvolutionChoice.CacheFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let entry = try XCTUnwrap(file.geometries.first { $0.key.hasPrefix("conv_transpose2d x=[2, 8, 5, 5]") && $0.key.contains("inference") })
        XCTAssertTrue(entry.value.im2colMilliseconds > 0 && entry.value.oneDNNMilliseconds > 0)
    }

    /// An unknown `BOTTLENECK_CONV` is refused by the CLI in one line, before any work.
    func testUnknownPathVariableIsRefused() throws {
        let r = try runCLI(["summary", "--preset", "conv"], in: NSTemporaryDirectory(), environment: ["BOTTLENECK_CONV": "winograd"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("BOTTLENECK_CONV: unknown value 'winograd'") && r.err.contains("im2col, onednn"), r.err)
    }
}
