import XCTest
@testable import Bottleneck

/// The code and combined anomaly scores: the Gaussian of training codes (Ledoit-Wolf shrinkage,
/// Mahalanobis distances), the log scales that combine it with reconstruction, and the CLI's
/// default score stored with the detector.
final class CodeScoreTests: XCTestCase {
    /// Codes of a correlated Gaussian: z = A u, u standard normal.
    func codes(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
        let rng = RandomGenerator(seed: seed)
        let a = (0..<(d * d)).map { i in (i % (d + 1) == 0 ? 1.5 : 0) + 0.6 * rng.normal() }
        let t = Tensor(shape: [n, d])
        for r in 0..<n {
            let u = (0..<d).map { _ in rng.normal() }
            for i in 0..<d { t.data[r * d + i] = (0..<d).reduce(Float(0)) { $0 + a[i * d + $1] * u[$1] } + 0.5 }
        }
        return t
    }

    /// Solves S x = b in Double (Gaussian elimination with partial pivoting).
    func solve(_ s: [[Double]], _ b: [Double]) -> [Double] {
        var m = s, x = b
        let d = b.count
        for c in 0..<d {
            let p = (c..<d).max { abs(m[$0][c]) < abs(m[$1][c]) }!
            m.swapAt(c, p); x.swapAt(c, p)
            for r in (c + 1)..<d {
                let f = m[r][c] / m[c][c]
                for k in c..<d { m[r][k] -= f * m[c][k] }
                x[r] -= f * x[c]
            }
        }
        for c in stride(from: d - 1, through: 0, by: -1) {
            x[c] = (x[c] - ((c + 1)..<d).reduce(0) { $0 + m[c][$1] * x[$1] }) / m[c][c]
        }
        return x
    }

    func testDistancesAreTheMahalanobisDistancesOfTheShrunkCovariance() throws {
        let (n, d) = (60, 5)
        let z = codes(n, d, seed: 3)
        let cal = try CodeGaussian.calibration(codes: z, reconstructionScores: (0..<n).map { Float($0 + 1) })
        // The reference in Double: mean, covariance (1/n), Ledoit-Wolf shrinkage towards mu I.
        let rows = (0..<n).map { r in (0..<d).map { Double(z.data[r * d + $0]) } }
        let mean = (0..<d).map { j in rows.reduce(0) { $0 + $1[j] } / Double(n) }
        let x = rows.map { r in zip(r, mean).map { $0 - $1 } }
        var s = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for r in x { for i in 0..<d { for j in 0..<d { s[i][j] += r[i] * r[j] / Double(n) } } }
        let mu = (0..<d).reduce(0) { $0 + s[$1][$1] } / Double(d)
        var delta = 0.0, beta = 0.0
        for i in 0..<d { for j in 0..<d { let v = s[i][j] - (i == j ? mu : 0); delta += v * v } }
        for r in x { for i in 0..<d { for j in 0..<d { let v = r[i] * r[j] - s[i][j]; beta += v * v } } }
        beta /= Double(n * n)
        let shrinkage = min(beta, delta) / delta
        XCTAssertEqual(cal.shrinkage, shrinkage, accuracy: 1e-4)
        XCTAssertGreaterThan(cal.shrinkage, 0)
        XCTAssertLessThan(cal.shrinkage, 0.5, "60 samples of 5 values: little shrinkage")
        for i in 0..<d { for j in 0..<d { s[i][j] = (1 - shrinkage) * s[i][j] + (i == j ? shrinkage * mu : 0) } }
        for (k, value) in zip(mean, cal.codeMean) { XCTAssertEqual(Double(value), k, accuracy: 1e-5) }

        let probe = codes(8, d, seed: 4)
        probe.data[0] += 10  // far along one axis
        let got = CodeGaussian.distances(probe, cal)
        for r in 0..<8 {
            let v = (0..<d).map { Double(probe.data[r * d + $0]) - mean[$0] }
            let expected = zip(v, solve(s, v)).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(Double(got[r]), expected, accuracy: 1e-3 * max(expected, 1), "row \(r)")
        }
        XCTAssertGreaterThan(got[0], got[1...].max()!, "the shifted code is the farthest")
    }

    func testFewSamplesShrinkHardAndStayFinite() throws {
        // 6 codes of 16 values: the sample covariance is singular, the shrunk one is not.
        let z = codes(6, 16, seed: 5)
        let cal = try CodeGaussian.calibration(codes: z, reconstructionScores: [1, 2, 3, 4, 5, 6])
        XCTAssertGreaterThan(cal.shrinkage, 0.3)
        XCTAssertLessThanOrEqual(cal.shrinkage, 1)
        XCTAssertTrue(CodeGaussian.distances(codes(20, 16, seed: 6), cal).allSatisfy { $0.isFinite && $0 >= 0 })
        // Constant codes (a dead ReLU code): a floor keeps the Gaussian finite.
        let dead = try CodeGaussian.calibration(codes: Tensor(shape: [10, 3]), reconstructionScores: [Float](repeating: 1, count: 10))
        XCTAssertEqual(CodeGaussian.distances(Tensor(shape: [1, 3]), dead), [0])
        XCTAssertThrowsError(try CodeGaussian.calibration(codes: Tensor(shape: [1, 3]), reconstructionScores: [1]))
    }

    func testCombinedIsTheMeanOfTheStandardisedLogScores() throws {
        let n = 200
        let recon = (0..<n).map { Float(exp(0.3 * sin(Double($0)))) }
        let cal = try CodeGaussian.calibration(codes: codes(n, 4, seed: 7), reconstructionScores: recon)
        let logs = recon.map { log(Double($0) + cal.reconstruction.floor) }
        let m = logs.reduce(0, +) / Double(n)
        XCTAssertEqual(cal.reconstruction.mean, m, accuracy: 1e-9)
        let zs = recon.map { cal.reconstruction.standardized($0) }
        XCTAssertEqual(zs.map { $0 * $0 }.reduce(0, +) / Double(n), 1, accuracy: 1e-6, "unit spread on the training scores")
        let c = Float(7.5), r = Float(3)
        XCTAssertEqual(Double(cal.combined(reconstruction: r, code: c)),
                       (cal.reconstruction.standardized(r) + cal.code.standardized(c)) / 2, accuracy: 1e-6)
        // Monotone in each part.
        XCTAssertGreaterThan(cal.combined(reconstruction: 2 * r, code: c), cal.combined(reconstruction: r, code: c))
        XCTAssertGreaterThan(cal.combined(reconstruction: r, code: 2 * c), cal.combined(reconstruction: r, code: c))
    }

    func testCodeScoresNeedAFittedGaussianOfTheModelsCodeSize() throws {
        let spec = try Preset.dense.spec(inputShape: [6], codeSize: 3)
        let model = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 0))
        XCTAssertThrowsError(try AnomalyScorer(model: model, score: .code)) { XCTAssertTrue("\($0)".contains("--fit"), "\($0)") }
        let other = try CodeGaussian.calibration(codes: codes(10, 4, seed: 1), reconstructionScores: [Float](repeating: 1, count: 10))
        XCTAssertThrowsError(try AnomalyScorer(model: model, score: .combined, calibration: other)) { XCTAssertTrue("\($0)".contains("4 code values"), "\($0)") }
        XCTAssertThrowsError(try Detector.fit(score: .combined, rule: .max, trainingScores: [1], fittedOn: nil))
        XCTAssertEqual(try AnomalyScore.named("recon"), .mse)
    }

    func testAStoredCalibrationThatDoesNotFitIsRefusedOnLoad() throws {
        let spec = try Preset.dense.spec(inputShape: [6], codeSize: 3)
        let model = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 0))
        let cal = try CodeGaussian.calibration(codes: codes(10, 3, seed: 1), reconstructionScores: [Float](repeating: 1, count: 10))
        let good = try jsonString(Detector(score: .combined, rule: .max, threshold: 1, calibration: cal))
        let path = dir + "/m.safetensors"
        for (bad, fragment) in [("\"whitening\":[", "whitening matrix of 8 values"), ("\"std\":", "positive spread")] {
            // Drop the first value of the whitening matrix, or make a spread negative.
            var text = good
            let at = text.range(of: bad)!.upperBound
            let end = text[at...].firstIndex { $0 == "," || $0 == "}" }!
            if bad.hasPrefix("\"std") { text.replaceSubrange(at..<end, with: "-1") } else { text.replaceSubrange(at...end, with: "") }
            try SafeTensors(tensors: model.stateDict(), metadata: ["format": "bottleneck-model", "format_version": "1",
                                                                    "architecture": try jsonString(model.spec), "detector": text]).write(to: path)
            XCTAssertThrowsError(try TrainedModel.load(path)) { XCTAssertTrue("\($0)".contains("m.safetensors") && "\($0)".contains(fragment), "\($0)") }
        }
        try SafeTensors(tensors: model.stateDict(), metadata: ["format": "bottleneck-model", "format_version": "1",
                                                                "architecture": try jsonString(model.spec), "detector": good]).write(to: path)
        XCTAssertEqual(try TrainedModel.load(path).detector?.calibration, cal)
    }

    // MARK: The CLI's default score

    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bn-codescore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testDetectFitsAndStoresTheCombinedScoreByDefault() throws {
        // Normal rows on a plane; the first 20 test rows lie on it too but far out along it (their
        // codes are unusual, their reconstructions fine), the next 20 leave it (bad reconstructions).
        func table(_ n: Int, seed: UInt64, label: Bool) -> String {
            let rng = RandomGenerator(seed: seed)
            var s = "c0,c1,c2,c3" + (label ? ",anomaly\n" : "\n")
            for i in 0..<n {
                var a = rng.normal(), b = rng.normal()
                let far = label && i < 20, off = label && i >= 20 && i < 40
                if far { (a, b) = (a * 0.3 + 5, b * 0.3 - 5) }
                let row = [a, b, a + b + (off ? 4 : 0), a - b].map { $0 + 0.2 * rng.normal() }
                s += row.map(\.description).joined(separator: ",") + (label ? ",\(far || off ? 1 : 0)\n" : "\n")
            }
            return s
        }
        try table(400, seed: 1, label: false).write(toFile: dir + "/train.csv", atomically: true, encoding: .utf8)
        try table(200, seed: 2, label: true).write(toFile: dir + "/test.csv", atomically: true, encoding: .utf8)
        let t = try runCLI(["train", "--data", "train.csv", "--preset", "linear", "--code-size", "2", "--epochs", "100", "--batch-size", "32",
                            "--lr", "0.01", "--scaling", "standard", "-o", "t.safetensors"], in: dir)
        XCTAssertEqual(t.status, 0, t.err)
        func auroc(_ score: String?) throws -> Double {
            let r = try runCLI(["detect", "--model", "t.safetensors", "--data", "test.csv", "--label-column", "anomaly", "--train-data", "train.csv",
                                "--json"] + (score.map { ["--score", $0] } ?? []), in: dir)
            XCTAssertEqual(r.status, 0, r.err)
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            XCTAssertEqual(json?["score"] as? String, score.map { $0 == "recon" ? "mse" : $0 } ?? "combined", r.out)
            return (json?["auroc"] as? NSNumber)?.doubleValue ?? 0
        }
        let (recon, code, combined) = (try auroc("recon"), try auroc("code"), try auroc(nil))
        XCTAssertLessThan(recon, 0.95, "reconstruction misses the far codes")
        XCTAssertLessThan(code, 0.95, "the code misses the rows off the plane")
        XCTAssertGreaterThan(combined, max(recon, code) + 0.02, "recon \(recon), code \(code), combined \(combined)")

        let fit = try runCLI(["detect", "--model", "t.safetensors", "--data", "test.csv", "--label-column", "anomaly", "--train-data", "train.csv",
                              "--fit", "--contamination", "0.05", "-o", "fitted.csv"], in: dir)
        XCTAssertEqual(fit.status, 0, fit.err)
        XCTAssertTrue(fit.out.contains("combined scores of 400 training samples"), fit.out)
        let bundle = try TrainedModel.load(dir + "/t.safetensors")
        let detector = try XCTUnwrap(bundle.detector)
        XCTAssertEqual(detector.score, .combined)
        XCTAssertEqual(detector.calibration?.codeSize, 2, "the Gaussian is stored with the detector")
        // The stored detector scores alone (no training data) with the same numbers as the library.
        let again = try runCLI(["detect", "--model", "t.safetensors", "--data", "test.csv", "--label-column", "anomaly", "-o", "stored.csv"], in: dir)
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.out.contains("stored in the model file"), again.out)
        func scores(_ file: String) throws -> [Double] {
            try String(contentsOfFile: dir + "/" + file, encoding: .utf8).split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[1])! }
        }
        XCTAssertEqual(try scores("stored.csv"), try scores("fitted.csv"))
        var request = DataRequest(path: dir + "/test.csv")
        request.labelColumn = "anomaly"
        let test = try DataSource.load(request, split: .test)
        let library = try DetectionPolicy(bundle: bundle).scorer().scores(try bundle.scaler.transform(test))
        for (a, b) in zip(try scores("stored.csv"), library) { XCTAssertEqual(a, Double(b), accuracy: 1e-4 * max(1, abs(a))) }
    }
}
