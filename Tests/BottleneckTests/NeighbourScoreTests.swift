import XCTest
@testable import Bottleneck

/// The knn score: mean distance to the k nearest training codes, checked against a brute-force
/// Double reference; training codes are left out of their own neighbours.
final class NeighbourScoreTests: XCTestCase {
    func codes(_ rows: Int, _ d: Int, seed: UInt64) -> Tensor {
        let rng = RandomGenerator(seed: seed), t = Tensor(shape: [rows, d])
        for i in 0..<t.count { t.data[i] = rng.normal() }
        return t
    }

    func reference(_ x: [Double], _ refs: [[Double]], k: Int, skip: Int?) -> Double {
        let d = refs.enumerated().filter { $0.offset != skip }.map { r in
            zip(x, r.element).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        }.sorted()
        return d.prefix(k).reduce(0, +) / Double(k)
    }

    func testScoresAreTheMeanDistancesToTheNearestTrainingCodes() throws {
        let train = codes(40, 3, seed: 1), test = codes(7, 3, seed: 2)
        let fitted = try CodeNeighbours.fit(codes: train)
        XCTAssertEqual(fitted.k, CodeNeighbours.defaultK)
        let rows = (0..<40).map { r in (0..<3).map { Double(train.data[r * 3 + $0]) } }
        for (i, s) in CodeNeighbours.scores(test, fitted).enumerated() {
            let x = (0..<3).map { Double(test.data[i * 3 + $0]) }
            XCTAssertEqual(Double(s), reference(x, rows, k: 5, skip: nil), accuracy: 1e-5)
        }
        // The training scale comes from left-out scores: a training code's own distance (0) is not among them.
        let leftOut = (0..<40).map { Float(reference(rows[$0], rows, k: 5, skip: $0)) }
        let expected = LogScale(fitting: leftOut)
        XCTAssertEqual(fitted.scale.mean, expected.mean, accuracy: 1e-5)
        XCTAssertEqual(fitted.scale.std, expected.std, accuracy: 1e-5)
        // A code far from all training codes scores far higher than a training code does.
        let far = Tensor(shape: [1, 3]); for j in 0..<3 { far.data[j] = 20 }
        XCTAssertGreaterThan(CodeNeighbours.scores(far, fitted)[0], 10 * leftOut.max()!)
    }

    func testLargeTrainingSetsAreSubsampledEvenlyAndTinyOnesShrinkK() throws {
        let big = try CodeNeighbours.fit(codes: codes(NeighbourCodes.maximumCount * 2 + 1, 2, seed: 3))
        XCTAssertEqual(big.count, NeighbourCodes.maximumCount)
        let tiny = try CodeNeighbours.fit(codes: codes(3, 2, seed: 4))
        XCTAssertEqual(tiny.k, 2)  // 3 codes, one left out
        XCTAssertThrowsError(try CodeNeighbours.fit(codes: codes(1, 2, seed: 5)))
    }

    func testCorruptStoredNeighboursAreRefusedOnDecode() throws {
        let fitted = try CodeNeighbours.fit(codes: codes(10, 2, seed: 6))
        var bad = fitted; bad.k = 50
        XCTAssertThrowsError(try JSONDecoder().decode(NeighbourCodes.self, from: try JSONEncoder().encode(bad)))
        bad = fitted; bad.codes[0] = .nan
        XCTAssertThrowsError(try JSONDecoder().decode(NeighbourCodes.self, from: try JSONEncoder().encode(bad)))
        XCTAssertEqual(try JSONDecoder().decode(NeighbourCodes.self, from: try JSONEncoder().encode(fitted)), fitted)
    }

    /// A calibration stored before the knn score (no training codes): knn asks for a refit in
    /// one line, combined falls back to its two other parts, and `detect` refits on its own.
    func testACalibrationWithoutTrainingCodesAsksForARefitForKnnOnly() throws {
        let data = DataDefaultsTests.rows(80, features: 6)
        let spec = try Preset.dense.spec(inputShape: [6], codeSize: 2)
        let model = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 0))
        var old = try AnomalyScorer.calibrate(model, on: data)
        old.neighbours = nil
        XCTAssertThrowsError(try AnomalyScorer(model: model, score: .knn, calibration: old)) { e in
            let message = (e as? BottleneckError)?.message ?? "\(e)"
            XCTAssertEqual(message, "score knn: the stored calibration has no training codes (written by an older version): refit with --fit")
        }
        let combined = try AnomalyScorer(model: model, score: .combined, calibration: old).scores(data)
        let reconScale = old.reconstruction, codeScale = old.code
        let recon = try AnomalyScorer(model: model, score: .mse).scores(data)
        let code = try AnomalyScorer(model: model, score: .code, calibration: old).scores(data)
        XCTAssertEqual(combined.count, 80)
        for i in [0, 17, 79] {
            let twoPart = (reconScale.standardized(recon[i]) + codeScale.standardized(code[i])) / 2
            XCTAssertEqual(Double(combined[i]), twoPart, accuracy: 1e-4, "the mean of recon and code alone")
        }
        // The command line refits what a knn score needs, so an old model file still scores.
        let dir = NSTemporaryDirectory() + "bn-knn-old-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bundle = TrainedModel(model: model, scaler: Scaler(.none))
        bundle.detector = Detector(score: .combined, rule: .contamination(0.05), threshold: 0, calibration: old)
        try bundle.save(to: dir + "/old.safetensors")
        try CSV.write(header: (1...6).map { "x\($0)" }, rows: (0..<80).map { r in (0..<6).map { data.inputs.data[r * 6 + $0].description } }, to: dir + "/rows.csv")
        let r = try runCLI(["detect", "--model", "old.safetensors", "--data", "rows.csv", "--score", "knn", "--json"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("\"score\" : \"knn\""), r.out)
    }
}
