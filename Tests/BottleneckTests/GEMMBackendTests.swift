import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining

/// The matrix-product backends: each one against a double-precision product on every layout the
/// library uses, the same bytes from call to call, the calibration's cache, and the environment
/// variable that forces a backend (the parity suites run once per backend that way: `make test`).
final class GEMMBackendTests: XCTestCase {
    override func tearDown() { GEMMBackend.force(nil) }

    /// C = alpha op(A) op(B) + beta C in Double, row-major: the reference.
    private func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                           b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Double] {
        var out = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j])
            }
        }
        return out
    }

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        let rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in rng.uniform(-1, 1) }
    }

    /// Every layout and scaling the library calls with, odd sizes and padded leading dimensions
    /// included, on each backend.
    func testEachBackendMatchesADoubleProduct() {
        // (m, n, k, transA, transB, alpha, beta, extra columns in each leading dimension)
        let cases: [(Int, Int, Int, Bool, Bool, Float, Float, Int)] = [
            (7, 5, 3, false, false, 1, 0, 0), (33, 17, 65, false, true, 1, 0, 0), (17, 40, 9, true, false, 1, 1, 0),
            (12, 13, 14, true, true, 0.5, -2, 0), (128, 32, 100, false, true, 1, 1, 3), (5, 300, 1, false, false, 2, 0, 1),
            (1, 1, 257, true, false, 1, 0, 2),
        ]
        for backend in GEMMBackend.allCases {
            for (i, (m, n, k, ta, tb, alpha, beta, pad)) in cases.enumerated() {
                let lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad
                let a = values((ta ? k : m) * lda, seed: UInt64(i) * 3 + 1), b = values((tb ? n : k) * ldb, seed: UInt64(i) * 3 + 2)
                var c = values(m * ldc, seed: UInt64(i) * 3 + 3)
                let want = reference(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                     beta: beta, c: c, ldc: ldc)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                                  b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc, on: backend)
                        }
                    }
                }
                var worst = 0.0
                for r in 0..<m {
                    for col in 0..<n { worst = max(worst, abs(Double(c[r * ldc + col]) - want[r * ldc + col])) }
                    // Padding columns of C are never written.
                    for col in n..<ldc { XCTAssertEqual(Double(c[r * ldc + col]), want[r * ldc + col], "\(backend) case \(i): padding") }
                }
                XCTAssertLessThan(worst, 1e-5 * Double(k + 4), "\(backend) case \(i) (\(m)x\(n)x\(k), tA \(ta), tB \(tb))")
            }
        }
    }

    /// The LSTM's products: per-step rows picked out of [N, T, 4H] by large leading dimensions,
    /// k as small as the input's 2 features, accumulation into the gate buffer.
    func testStridedProductsOfTheLSTM() {
        let (n, t, h, f) = (32, 24, 64, 2), g4 = 4 * h
        // (m, n, k, transA, transB, beta, lda, ldb, ldc)
        let cases: [(Int, Int, Int, Bool, Bool, Float, Int, Int, Int)] = [
            (n * t, g4, f, false, true, 1, f, f, g4), (n, g4, h, false, true, 1, t * h, h, t * g4),
            (n, h, g4, false, false, 0, t * g4, h, h), (n * t, f, g4, false, false, 1, g4, f, f),
            (g4, f, n * t, true, false, 1, g4, f, f), (g4, h, n * t, true, false, 1, g4, h, h),
        ]
        for backend in GEMMBackend.allCases {
            for (i, (m, nn, k, ta, tb, beta, lda, ldb, ldc)) in cases.enumerated() {
                let a = values((ta ? k : m) * lda, seed: UInt64(i) + 40), b = values((tb ? nn : k) * ldb, seed: UInt64(i) + 50)
                var c = values(m * ldc, seed: UInt64(i) + 60)
                let want = reference(transA: ta, transB: tb, m: m, n: nn, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                                     beta: beta, c: c, ldc: ldc)
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(transA: ta, transB: tb, m: m, n: nn, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                          c: cp.baseAddress!, ldc: ldc, on: backend)
                }
                let worst = zip(c, want).map { abs(Double($0) - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-5 * Double(k + 4), "\(backend) LSTM case \(i) (\(m)x\(nn)x\(k), lda \(lda), ldc \(ldc))")
            }
        }
    }

    /// k = 0 only scales C by beta, on either backend.
    func testEmptySumScalesC() {
        for backend in GEMMBackend.allCases {
            var c: [Float] = [1, 2, 3, 4]
            let a: [Float] = [0], b: [Float] = [0]
            c.withUnsafeMutableBufferPointer { cp in
                sgemm(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: 0.5, c: cp.baseAddress!, ldc: 2, on: backend)
            }
            XCTAssertEqual(c, [0.5, 1, 1.5, 2], "\(backend)")
        }
    }

    /// The same product twice gives the same bytes (the training determinism rests on it), on
    /// a shape large enough to be split between threads.
    func testRepeatedProductsGiveTheSameBytes() {
        let m = 192, n = 160, k = 300
        let a = values(m * k, seed: 11), b = values(k * n, seed: 12)
        for backend in GEMMBackend.allCases {
            var first = [Float](repeating: 0, count: m * n), second = first
            for out in [0, 1] {
                let run = { (c: UnsafeMutablePointer<Float>) in
                    sgemm(transB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, on: backend)
                }
                if out == 0 { first.withUnsafeMutableBufferPointer { run($0.baseAddress!) } } else {
                    second.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
                }
            }
            XCTAssertEqual(first, second, "\(backend)")
        }
    }

    /// `force` decides what `active` (and so every layer) uses; under `BOTTLENECK_GEMM` the
    /// variable's backend is the active one, which is what the per-backend parity runs rely on.
    func testForceAndEnvironmentDecideTheActiveBackend() {
        if let forced = GEMMBackend.forcedByEnvironment {
            GEMMBackend.force(nil)
            XCTAssertEqual(GEMMBackend.active, forced)
        }
        for backend in GEMMBackend.allCases {
            GEMMBackend.force(backend)
            XCTAssertEqual(GEMMBackend.active, backend)
        }
    }

    /// A calibration is written to the cache folder and read back by the next lookup; a cache
    /// from another machine, or a damaged one, is measured again and replaced.
    func testCalibrationIsCachedPerMachine() throws {
        let dir = NSTemporaryDirectory() + "bottleneck-calibration-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        setenv("BOTTLENECK_CACHE_DIR", dir, 1)
        defer { unsetenv("BOTTLENECK_CACHE_DIR"); try? FileManager.default.removeItem(atPath: dir) }

        let measured = KernelCalibration.calibrate(threads: 1)
        let path = try XCTUnwrap(KernelCalibration.cacheFile(threads: 1))
        XCTAssertTrue(path.hasPrefix(dir + "/"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(KernelCalibration.gemmChoice(threads: 1), measured, "the cached choice is the one measured")
        XCTAssertEqual(Set(measured.gflops.keys), Set(GEMMBackend.allCases.map(\.rawValue)))
        XCTAssertTrue(measured.gflops.values.allSatisfy { $0 > 0 && $0.isFinite })

        // Another machine's figures: ignored, measured again, overwritten.
        var foreign = measured
        foreign.machine = "another CPU [000000000000]"
        foreign.measured = "2000-01-01T00:00:00Z"
        try JSONEncoder().encode(foreign).write(to: URL(fileURLWithPath: path))
        let again = KernelCalibration.gemmChoice(threads: 1)
        XCTAssertEqual(again.machine, KernelCalibration.machineIdentity)
        XCTAssertNotEqual(again.measured, foreign.measured)

        // A damaged file: measured again, not a crash.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(KernelCalibration.gemmChoice(threads: 1).machine, KernelCalibration.machineIdentity)
        let reread = try JSONDecoder().decode(KernelCalibration.GEMMChoice.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(reread.machine, KernelCalibration.machineIdentity, "the damaged cache was replaced")
    }

    /// The choice follows the measurement: oneDNN only when it wins by the margin.
    func testChoiceRule() {
        XCTAssertEqual(KernelCalibration.choose(openBLASSeconds: 1.0, oneDNNSeconds: 0.5), .oneDNN)
        XCTAssertEqual(KernelCalibration.choose(openBLASSeconds: 1.0, oneDNNSeconds: 0.99), .openBLAS, "a near tie keeps OpenBLAS")
        XCTAssertEqual(KernelCalibration.choose(openBLASSeconds: 0.5, oneDNNSeconds: 1.0), .openBLAS)
    }

    /// Training on real data gives the same weights run after run on each backend; the two
    /// backends agree to rounding (they sum in different orders, so not to the bit).
    func testTrainingIsDeterministicOnEachBackend() throws {
        let train = try FashionMNIST.load(.train).subset(Array(0..<1024))
        func trainedWeights(_ backend: GEMMBackend) throws -> [Float] {
            GEMMBackend.force(backend)
            var config = TrainingConfig()
            config.epochs = 1
            config.batchSize = 128
            let spec = try Preset.conv.spec(inputShape: [1, 28, 28])
            let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 3))
            let trainer = try Trainer(model: model, objective: ReconstructionObjective(), config: config, rng: RandomGenerator(seed: 3))
            try trainer.fit(train: train)
            return model.parameters.flatMap { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
        }
        var byBackend: [[Float]] = []
        for backend in GEMMBackend.allCases {
            let first = try trainedWeights(backend), second = try trainedWeights(backend)
            XCTAssertEqual(first, second, "\(backend): the same seed and data give the same weights")
            byBackend.append(first)
        }
        let diff = zip(byBackend[0], byBackend[1]).map { Double(abs($0 - $1)) }.max() ?? 0
        let largest = byBackend[0].map { Double(abs($0)) }.max() ?? 1
        XCTAssertLessThan(diff, 1e-3 * largest, "OpenBLAS and oneDNN train the same model to rounding")
    }

    /// An unknown `BOTTLENECK_GEMM` is refused by the CLI in one line, before any work.
    func testUnknownBackendVariableIsRefused() throws {
        let dir = NSTemporaryDirectory()
        let r = try runCLI(["summary", "--preset", "dense"], in: dir, environment: ["BOTTLENECK_GEMM": "fastest"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("BOTTLENECK_GEMM: unknown value 'fastest'") && r.err.contains("openblas, onednn"), r.err)
        let ok = try runCLI(["summary", "--preset", "dense"], in: dir, environment: ["BOTTLENECK_GEMM": "openblas"])
        XCTAssertEqual(ok.status, 0, ok.err)
    }
}
