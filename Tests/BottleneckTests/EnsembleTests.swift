import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Ensembles (issue 19): `train --ensemble K` trains K seeds (in child processes, as many at a
/// time as there are cores), `detect --model A --model B ...` averages their standardised scores.
final class EnsembleTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-ensemble" }

    /// Two small trained models on the same rows, seeds 0 and 1.
    func members(_ data: Dataset) throws -> [TrainedModel] {
        try (0..<2).map { seed in
            let d = DataDefaults(data: data, classes: nil, scaling: .unit, config: TrainingConfig(), given: [])
            var config = d.applied(to: TrainingConfig())
            (config.epochs, config.seed) = (60, UInt64(seed))
            var request = TrainingRequest(outputPath: dir + "/m\(seed).safetensors", architecture: d.architecture, config: config)
            request.dataDefaults = d
            try TrainingSession(request, data: data).run()
            return try TrainedModel.load(dir + "/m\(seed).safetensors")
        }
    }

    func testTheEnsembleScoreIsTheMeanOfTheMembersStandardisedScores() throws {
        let train = DataDefaultsTests.rows(120, features: 12), test = DataDefaultsTests.rows(40, features: 12, seed: 9)
        let bundles = try members(train)
        for score in [AnomalyScore.mse, .combined] {
            let ensemble = try EnsembleScorer(bundles: bundles, score: score, fitting: train)
            XCTAssertEqual(ensemble.scoreName, score.rawValue)
            // By hand: each member's scores on the training rows fix its standardisation.
            var expected = [Double](repeating: 0, count: test.count)
            for b in bundles {
                let calibration = score.needsCalibration ? try AnomalyScorer.calibrate(b.model, on: try b.prepare(train)) : nil
                let scorer = try AnomalyScorer(model: b.model, score: score, calibration: calibration)
                let fit = try scorer.scores(try b.prepare(train)).map(Double.init)
                let mean = fit.reduce(0, +) / Double(fit.count)
                let std = (fit.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(fit.count)).squareRoot()
                let scale = LogScale(fitting: fit.map(Float.init))
                for (i, s) in try scorer.scores(try b.prepare(test)).enumerated() {
                    expected[i] += (score == .combined ? (Double(s) - mean) / std : scale.standardized(s)) / Double(bundles.count)
                }
            }
            let got = try ensemble.scores(test)
            for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g), e, accuracy: 1e-4 * max(1, abs(e)), "\(score)") }
            // The fitting scores are the ensemble's scores of the fitting data, centred on zero.
            XCTAssertEqual(try ensemble.scores(train), ensemble.fittingScores)
            if score == .combined {
                XCTAssertEqual(Double(ensemble.fittingScores.reduce(0, +)) / Double(train.count), 0, accuracy: 1e-5)
            }
        }
        XCTAssertThrowsError(try EnsembleScorer(bundles: [bundles[0]], score: nil, fitting: train))
    }

    /// On wine (71 training rows), where one seed's model falls far below the others, the
    /// ensemble beats the members' mean AUROC and the worst member by far.
    func testTrainEnsembleThenDetectWithAllMembers() throws {
        let fixtures = fixturesDirectory.appendingPathComponent("tabular/wine").path
        let train = fixtures + "/train.csv", test = fixtures + "/test.csv"
        let r = try runCLI(["train", "--data", train, "--label-column", "anomaly", "--ensemble", "3", "--seed", "0", "-o", dir + "/w.safetensors"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        let paths = (1...3).map { dir + "/w-\($0).safetensors" }
        XCTAssertEqual(try paths.map { try TrainedModel.load($0).training?.seed }, [0, 1, 2])
        XCTAssertTrue(r.out.contains("detect --model \(paths[0]) --model \(paths[1]) --model \(paths[2])"), r.out)
        // Each member (trained side by side in child processes where there are cores) is the
        // model a plain run with its seed gives, byte for byte.
        let alone = try runCLI(["train", "--data", train, "--label-column", "anomaly", "--seed", "1", "-o", dir + "/alone.safetensors"], in: dir)
        XCTAssertEqual(alone.status, 0, alone.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/alone.safetensors")), try Data(contentsOf: URL(fileURLWithPath: paths[1])))
        func auroc(_ models: [String]) throws -> (Double, String) {
            let d = try runCLI(["detect"] + models.flatMap { ["--model", $0] } + ["--data", test, "--label-column", "anomaly", "--train-data", train, "--json"], in: dir)
            XCTAssertEqual(d.status, 0, d.err)
            let report = try JSONSerialization.jsonObject(with: Data(d.out.utf8)) as! [String: Any]
            return ((report["auroc"] as! NSNumber).doubleValue, report["score"] as! String)
        }
        let single = try paths.map { try auroc([$0]).0 }
        let (together, name) = try auroc(paths)
        XCTAssertEqual(name, "ensemble of 3 (mse)")
        XCTAssertGreaterThan(together, single.reduce(0, +) / 3, "members \(single), ensemble \(together)")
        XCTAssertGreaterThan(together, single.min()!)
        try expectCLIError(["detect", "--model", paths[0], "--model", paths[1], "--fit"], in: dir, ["--fit stores one model's detector"])
        try expectCLIError(["train", "--data", train, "--ensemble", "1"], in: dir, ["--ensemble must be at least 2"])
        try expectCLIError(["train", "--data", train, "--ensemble", "2", "--log", "x.jsonl"], in: dir, ["--log names one log"])
        try expectCLIError(["train", "--data", train, "--ensemble-member", "1"], in: dir, ["--ensemble-member must be in 1...--ensemble"])
    }
}
