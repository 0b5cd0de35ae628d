import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The model bundle: every field survives save and load, files written by earlier versions
/// still load, equal runs give equal bytes, and data with other columns is refused.
final class TrainedModelTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-bundle" }

    func tableModel(features: Int = 3, seed: UInt64 = 1) throws -> Autoencoder {
        try Autoencoder(spec: try Preset.dense.spec(inputShape: [features], codeSize: 2), inputShape: [features], rng: RandomGenerator(seed: seed))
    }

    func record(_ epoch: Int, loss: Double) -> EpochRecord {
        EpochRecord(epoch: epoch, trainLoss: loss, validationLoss: loss * 1.5, seconds: 3.25, samplesPerSecond: 1234,
                    learningRate: 0.01, parts: ["reconstruction": loss])
    }

    func testEveryFieldRoundTripsThroughTheModelFile() throws {
        let model = try tableModel()
        let data = Tensor(shape: [4, 3], values: [1, 2, 3, 4, 5, 6, 7, 8, 10, -1, 0, 2])
        var config = TrainingConfig()
        config.epochs = 9
        config.batchSize = 17
        config.learningRate = 0.02
        config.clipNorm = 2
        config.patience = 3
        config.validationFraction = 0.2
        let detector = try Detector.fit(score: .l1, rule: .percentile(97), trainingScores: [0.1, 0.4, 0.3], fittedOn: "train.csv", normalClasses: [0, 3])
        let bundle = TrainedModel(model: model, scaler: try Scaler.fitted(.standard, to: data), featureNames: ["a", "b", "c"],
                                  classes: [0, 3], detector: detector, training: config,
                                  history: [EpochSummary(record(1, loss: 0.5)), EpochSummary(record(2, loss: 0.25))])
        try bundle.save(to: dir + "/m.safetensors")
        let back = try TrainedModel.load(dir + "/m.safetensors")

        XCTAssertEqual(back.architecture, bundle.architecture)
        XCTAssertEqual(back.scaler, bundle.scaler)
        XCTAssertEqual(back.featureNames, ["a", "b", "c"])
        XCTAssertEqual(back.classes, [0, 3])
        XCTAssertEqual(back.detector, detector)
        XCTAssertEqual(back.training, config)
        XCTAssertEqual(back.history, bundle.history)
        XCTAssertEqual(back.history.map(\.validationLoss), [0.75, 0.375])
        for ((n, a), (_, b)) in zip(model.stateDict(), back.model.stateDict()) { XCTAssertEqual(a.scalars, b.scalars, n) }
        XCTAssertFalse(back.model.isTraining, "loaded in eval mode")
        // Saving what was loaded gives the same bytes.
        try back.save(to: dir + "/again.safetensors")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/again.safetensors")))
    }

    func testTimingsStayOutOfTheModelFile() throws {
        let bundle = TrainedModel(model: try tableModel(), history: [EpochSummary(record(1, loss: 0.5))])
        try bundle.save(to: dir + "/m.safetensors")
        let history = try XCTUnwrap(try ModelFile.read(dir + "/m.safetensors").documents[.history])
        XCTAssertTrue(history.contains("trainLoss"), history)
        XCTAssertFalse(history.contains("seconds") || history.contains("samplesPerSecond"), history)
    }

    /// A file as the format-version-1 writer before the bundle made it: metadata keys by hand,
    /// history records with timings, no feature names.
    func testReadsFormatVersion1FilesOfEarlierVersions() throws {
        let model = try tableModel()
        let scaler = Scaler.fixedRange(min: 0, max: 4)
        let oldHistory = #"[{"epoch":1,"learningRate":0.001,"parts":{},"samplesPerSecond":5000,"seconds":1.5,"trainLoss":0.125}]"#
        let meta = ["format": "bottleneck-model", "format_version": "1", "architecture": try jsonString(model.spec),
                    "scaling": try jsonString(scaler), "training": try jsonString(TrainingConfig()), "history": oldHistory,
                    "classes": "[1]", "detector": try jsonString(Detector(score: .mse, rule: .max, threshold: 0.5))]
        try SafeTensors(tensors: model.stateDict(), metadata: meta).write(to: dir + "/old.safetensors")
        let back = try TrainedModel.load(dir + "/old.safetensors")
        XCTAssertEqual(back.scaler, scaler)
        XCTAssertEqual(back.classes, [1])
        XCTAssertEqual(back.detector?.threshold, 0.5)
        XCTAssertEqual(back.training, TrainingConfig())
        XCTAssertEqual(back.history.map(\.trainLoss), [0.125])
        XCTAssertNil(back.featureNames)
        // The oldest files hold no scaling: the model was trained on raw values.
        try SafeTensors(tensors: model.stateDict(), metadata: ["format": "bottleneck-model", "architecture": try jsonString(model.spec)])
            .write(to: dir + "/oldest.safetensors")
        XCTAssertEqual(try TrainedModel.load(dir + "/oldest.safetensors").scaler, Scaler(.none))
        // A later layout is refused, not misread.
        try SafeTensors(tensors: model.stateDict(), metadata: ["format": "bottleneck-model", "format_version": "2",
                                                                "architecture": try jsonString(model.spec)]).write(to: dir + "/new.safetensors")
        XCTAssertThrowsError(try TrainedModel.load(dir + "/new.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("new.safetensors") && "\(e)".contains("format version 2"), "\(e)")
        }
    }

    func testColumnsReorderedOrRenamedAreRefused() throws {
        let bundle = TrainedModel(model: try tableModel(), featureNames: ["a", "b", "c"])
        let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        XCTAssertNoThrow(try bundle.prepare(Dataset(inputs: x, source: "same.csv", featureNames: ["a", "b", "c"])))
        XCTAssertNoThrow(try bundle.prepare(Dataset(inputs: x, source: "unnamed.npy")), "data without names cannot be checked")
        let cases: [([String], [String])] = [
            (["a", "c", "b"], ["t.csv", "column 2 is 'c' where the model has 'b'", "another order"]),
            (["a", "b", "z"], ["t.csv", "missing c", "not in the model: z", "trained on a, b, c"]),
            (["a", "b", "b"], ["t.csv", "missing c"]),
        ]
        for (names, fragments) in cases {
            XCTAssertThrowsError(try bundle.prepare(Dataset(inputs: x, source: "t.csv", featureNames: names))) { e in
                for f in fragments { XCTAssertTrue("\(e)".contains(f), "'\(f)' not in: \(e)") }
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
        let wide = TrainedModel(model: try tableModel(features: 4), featureNames: ["a", "b", "c", "d"])
        XCTAssertThrowsError(try wide.checkFeatures(Dataset(inputs: x, source: "t.csv", featureNames: ["a", "b", "c"]))) { e in
            XCTAssertTrue("\(e)".contains("missing d") && "\(e)".contains("trained on a, b, c, d"), "\(e)")
        }
    }

    /// Two runs with the same seed and data write byte-identical model files (and checkpoints);
    /// the timings are in the logs only.
    func testSameRunGivesTheSameModelFileBytes() throws {
        let data = TrainingTests.slice.subset(Array(0..<300))
        var digests: [String] = []
        for name in ["a", "b"] {
            var config = TrainingConfig()
            config.epochs = 2
            config.batchSize = 50
            config.seed = 3
            config.validationFraction = 0.2
            let request = TrainingRequest(outputPath: dir + "/\(name).safetensors", architecture: try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8),
                                          config: config)
            try TrainingSession(request, data: data).run()
            digests.append(SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: dir + "/\(name).safetensors"))))
            let log = try String(contentsOfFile: dir + "/\(name).safetensors.log.jsonl", encoding: .utf8)
            XCTAssertTrue(log.contains("samplesPerSecond"), "timings go to the log")
        }
        XCTAssertEqual(digests[0], digests[1])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.checkpoint.safetensors")).count,
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/b.checkpoint.safetensors")).count)
    }

    /// Detection's defaults come from the bundle: the stored detector when it fits the request,
    /// else a rule (asked, stored, or contamination 0.05); normal classes asked, stored, or trained on.
    func testDetectionPolicyPrefersWhatWasAskedThenWhatIsStored() throws {
        var bundle = TrainedModel(model: try tableModel(), classes: [2])
        XCTAssertEqual(DetectionPolicy(bundle: bundle).choose(rule: nil, refit: false),
                       .fit(.contamination(0.05), why: "no threshold given or stored: the default rule"))
        XCTAssertEqual(DetectionPolicy(bundle: bundle).normalClasses, [2], "the classes the model was trained on")
        let stored = Detector(score: .l1, rule: .sigma(3), threshold: 0.7, normalClasses: [4])
        bundle.detector = stored
        let policy = DetectionPolicy(bundle: bundle)
        XCTAssertEqual(policy.score, .l1)
        XCTAssertEqual(policy.normalClasses, [4])
        XCTAssertEqual(DetectionPolicy(bundle: bundle, normalClasses: [0, 1]).normalClasses, [0, 1])
        XCTAssertEqual(policy.choose(rule: nil, refit: false), .stored(stored))
        XCTAssertEqual(policy.choose(rule: .max, refit: false), .fit(.max, why: ""))
        XCTAssertEqual(policy.choose(rule: nil, refit: true), .fit(.sigma(3), why: "the stored rule"))
        XCTAssertEqual(DetectionPolicy(bundle: bundle, score: .mse).choose(rule: nil, refit: false), .fit(.sigma(3), why: "the stored rule"),
                       "a detector for another score is refitted")
        let fitted = try policy.fit(.max, trainingScores: [0.5, 2, 1], fittedOn: "train")
        XCTAssertEqual(fitted.threshold, 2)
        XCTAssertEqual(fitted.normalClasses, [4])
        let summary = try policy.summary(scores: [0.1, 3, 0.2, 5], detector: fitted, anomalies: [false, true, false, false], model: "m")
        XCTAssertEqual(summary.flagged, 2)
        XCTAssertEqual(summary.precision, 0.5)
        XCTAssertEqual(summary.recall, 1)
    }
}
