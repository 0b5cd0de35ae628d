import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Defaults from the data (issue 19): the rule for tabular rows, the warnings about known-poor
/// choices, and the throttled saving that makes runs of many short epochs fast.
final class DataDefaultsTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-defaults" }

    /// `rows` rows of `features` columns on a 3-dimensional subspace plus a little noise.
    static func rows(_ rows: Int, features: Int, seed: UInt64 = 1) -> Dataset {
        let rng = RandomGenerator(seed: seed)
        let basis = (0..<3).map { _ in (0..<features).map { _ in rng.normal() } }
        var values: [Float] = []
        for _ in 0..<rows {
            let z = (0..<3).map { _ in rng.normal() }
            for j in 0..<features { values.append(z[0] * basis[0][j] + z[1] * basis[1][j] + z[2] * basis[2][j] + 0.05 * rng.normal()) }
        }
        return Dataset(inputs: Tensor(shape: [rows, features], values: values), source: "rows.csv")
    }

    func testSmallTablesGetAQuarterCodeAndAboutThreeThousandSteps() throws {
        let d = DataDefaults(rows: 214, features: 30, scaling: .unit, config: TrainingConfig(), given: [])
        XCTAssertEqual([d.codeSize, d.hiddenUnits, d.batchSize, d.epochs], [8, 32, 32, 429], "ceil(3000 / 7 batches) epochs")
        XCTAssertEqual(d.validationFraction, 0)
        XCTAssertNil(d.patience, "below 1000 rows every row trains")
        XCTAssertEqual(d.output, "sigmoid")
        let model = try Autoencoder(spec: d.architecture, inputShape: [30], rng: RandomGenerator(seed: 0))
        XCTAssertEqual(model.codeShape, [8])
        XCTAssertEqual(d.architecture.decoder.last?.type, "sigmoid")
        let config = d.applied(to: TrainingConfig())
        XCTAssertEqual([config.epochs, config.batchSize], [429, 32])
        XCTAssertTrue(d.summary.contains("429 epochs of batch 32 = 3003 optimizer steps on 214 rows"), d.summary)
        // Narrow tables: at least 2, never as many as the inputs.
        for (features, code) in [(1, 1), (2, 1), (3, 2), (9, 2), (10, 3), (64, 16)] {
            XCTAssertEqual(DataDefaults(rows: 100, features: features, scaling: .unit, config: TrainingConfig(), given: []).codeSize, code, "\(features) features")
        }
    }

    func testLargeTablesHoldOutAValidationSplitAndStandardScalingGetsALinearOutput() throws {
        let d = DataDefaults(rows: 5000, features: 100, scaling: .standard, config: TrainingConfig(), given: [])
        XCTAssertEqual([d.codeSize, d.hiddenUnits], [25, 50])
        XCTAssertEqual(d.validationFraction, 0.1)
        XCTAssertEqual(d.epochs, 22, "4500 training rows are 141 batches; ceil(3000 / 141)")
        XCTAssertEqual(d.patience, 5)
        XCTAssertEqual(d.output, "linear")
        XCTAssertEqual(d.architecture.decoder.last?.type, "linear")
        XCTAssertTrue(d.summary.contains("10% held out to stop after 5 epochs without improvement"), d.summary)
    }

    func testTheUsersSettingsAreKeptAndTheRestFittedAroundThem() throws {
        var config = TrainingConfig()
        config.batchSize = 64
        let batch = DataDefaults(rows: 214, features: 30, scaling: .unit, config: config, given: [.batchSize])
        XCTAssertEqual([batch.batchSize, batch.epochs], [64, 750], "4 batches of 64: ceil(3000 / 4) epochs")
        config = TrainingConfig()
        config.epochs = 7
        config.validationFraction = 0.2
        let kept = DataDefaults(rows: 5000, features: 30, scaling: .unit, codeSize: 40, config: config, given: [.epochs, .validationFraction])
        XCTAssertEqual([kept.codeSize, kept.epochs], [40, 7])
        XCTAssertEqual(kept.validationFraction, 0.2)
        XCTAssertNil(kept.patience, "no early stopping the user did not ask for")
        XCTAssertEqual(kept.kept, ["codeSize", "epochs", "validationFraction"])
        XCTAssertTrue(kept.summary.hasSuffix("kept your codeSize, epochs, validationFraction"), kept.summary)
        // Classes restrict the rows the rule counts.
        let labelled = Dataset(inputs: Self.rows(300, features: 8).inputs, labels: (0..<300).map { $0 % 3 })
        XCTAssertEqual(DataDefaults(data: labelled, classes: [1], scaling: .unit, config: TrainingConfig(), given: []).rows, 100)
    }

    /// The session trains the chosen model, stores the choice in the model file and warns about nothing.
    func testTheChoiceIsStoredWithTheModelAndDrawsNoWarning() throws {
        let data = Self.rows(120, features: 12)
        let d = DataDefaults(data: data, classes: nil, scaling: .standard, config: TrainingConfig(), given: [])
        var request = TrainingRequest(outputPath: dir + "/m.safetensors", architecture: d.architecture, config: d.applied(to: TrainingConfig()))
        request.scaling = .standard
        request.dataDefaults = d
        let session = try TrainingSession(request, data: data)
        XCTAssertEqual(session.warnings, [])
        try session.run()
        let loaded = try TrainedModel.load(dir + "/m.safetensors")
        XCTAssertEqual(loaded.dataDefaults, d)
        XCTAssertEqual(session.trainer.history.count, d.epochs)
        XCTAssertLessThanOrEqual(loaded.history.count, d.epochs, "the best epoch's model")
        // 3000 steps learn the 3-dimensional structure: far below the data's unit variance.
        XCTAssertLessThan(loaded.history.map(\.trainLoss).min()!, 0.05)
    }

    func session(_ spec: ArchitectureSpec, _ data: Dataset, scaling: Scaler.Kind = .unit, configure: (inout TrainingConfig) -> Void = { _ in }) throws -> TrainingSession {
        var config = TrainingConfig()
        config.epochs = 200
        config.batchSize = 16
        configure(&config)
        var request = TrainingRequest(outputPath: dir + "/w.safetensors", architecture: spec, config: config)
        request.scaling = scaling
        return try TrainingSession(request, data: data)
    }

    func testAnOvercompleteCodeIsWarnedAboutUnlessTheObjectivePreventsCopying() throws {
        let data = Self.rows(64, features: 30)
        let dense = try Preset.dense.spec(inputShape: [30])
        XCTAssertEqual(try session(dense, data).warnings, [.overcompleteCode(code: 32, inputs: 30)])
        XCTAssertEqual(try session(try Preset.dense.spec(inputShape: [30], codeSize: 30), data).warnings, [.overcompleteCode(code: 30, inputs: 30)])
        XCTAssertEqual(try session(try Preset.dense.spec(inputShape: [30], codeSize: 29), data).warnings, [])
        for kind in [VariantKind.denoising(), .sparse(), .contractive()] {
            XCTAssertEqual(try session(Variants.adapt(dense, to: VariantSpec(kind)), data).warnings, [], "\(kind.name)")
        }
        XCTAssertTrue(TrainingWarning.overcompleteCode(code: 32, inputs: 30).description.contains("32 values for 30 inputs"))
    }

    func testFewOptimizerStepsAreWarnedAbout() throws {
        let data = Self.rows(214, features: 30)
        let spec = try Preset.dense.spec(inputShape: [30], codeSize: 8)
        // The dense preset's defaults on a few hundred rows: 5 epochs of 2 batches.
        XCTAssertEqual(try session(spec, data) { $0.epochs = 5; $0.batchSize = 128 }.warnings, [.fewSteps(steps: 10, epochs: 5, batchesPerEpoch: 2)])
        XCTAssertEqual(try session(spec, data) { $0.epochs = 20; $0.batchSize = 14 }.warnings, [], "20 epochs of 16 batches are 320 steps")
        XCTAssertEqual(try session(spec, data) { $0.epochs = 5; $0.batchSize = 214; $0.optimizer = .lbfgs(); $0.learningRate = 1 }.warnings, [],
                       "line-search optimizers stop on their tolerances")
    }

    func testASigmoidOutputOnStandardisedDataIsWarnedAbout() throws {
        let data = Self.rows(64, features: 30)
        let spec = try Preset.dense.spec(inputShape: [30], codeSize: 8)
        XCTAssertEqual(try session(spec, data, scaling: .standard).warnings, [.sigmoidOnStandardScaling])
        XCTAssertEqual(try session(spec, data, scaling: .unit).warnings, [])
        XCTAssertEqual(try session(try Preset.linear.spec(inputShape: [30], codeSize: 8), data, scaling: .standard).warnings, [])
    }

    /// Saving at most once a second gives the same model file, log and final checkpoint as
    /// saving after every epoch.
    func testThrottledSavingWritesWhatSavingEveryEpochWrites() throws {
        let data = Self.rows(96, features: 10)
        func train(_ name: String, interval: Double) throws -> (model: Data, log: Int, resumable: Int) {
            var config = TrainingConfig()
            (config.epochs, config.batchSize, config.validationFraction) = (40, 32, 0.25)
            var request = TrainingRequest(outputPath: dir + "/\(name).safetensors", architecture: try Preset.dense.spec(inputShape: [10], codeSize: 4), config: config)
            request.saveInterval = interval
            try TrainingSession(request, data: data).run()
            var resume = request
            (resume.resume, resume.config.epochs) = (true, 41)
            let next = try TrainingSession(resume, data: data)
            let log = try String(contentsOfFile: dir + "/\(name).safetensors.log.jsonl", encoding: .utf8)
            return (try Data(contentsOf: URL(fileURLWithPath: dir + "/\(name).safetensors")), log.split(separator: "\n").count, next.trainer.epochsDone)
        }
        let every = try train("every", interval: 0), once = try train("once", interval: 1e9)
        XCTAssertEqual(every.model, once.model, "the best epoch's weights and history, whenever written")
        XCTAssertEqual([every.log, every.resumable], [40, 40])
        XCTAssertEqual([once.log, once.resumable], [40, 40], "the last epochs are saved when the run ends")
    }

    /// The target, as a new user runs it: `train` with no flags but the data, then
    /// `detect`, on each tabular fixture; the default detector at most 0.03 below scikit-learn's
    /// IsolationForest on any dataset and at or above it on average (baselines.json, made by
    /// scripts/tabular_datasets.py).
    func testTheDefaultDetectorMatchesIsolationForestOnTheTabularFixtures() throws {
        let fixtures = fixturesDirectory.appendingPathComponent("tabular").path
        let baselines = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/baselines.json"))) as! [String: Any]
        let datasets = baselines["datasets"] as! [String: [String: Any]]
        XCTAssertGreaterThanOrEqual(datasets.count, 5)
        var ours: [Double] = [], theirs: [Double] = []
        for (name, baseline) in datasets.sorted(by: { $0.key < $1.key }) {
            let train = "\(fixtures)/\(name)/train.csv", model = "\(dir!)/\(name).safetensors"
            let trained = try runCLI(["train", "--data", train, "--label-column", "anomaly", "-o", model], in: dir)
            XCTAssertEqual(trained.status, 0, trained.err)
            let features = baseline["features"] as! Int
            XCTAssertTrue(trained.out.contains("defaults from the data: code \(max(1, min(max(2, Int((Double(features) / 4).rounded())), features - 1))) of \(features) inputs"), trained.out)
            XCTAssertFalse(trained.err.contains("warning"), trained.err)
            XCTAssertEqual(try TrainedModel.load(model).dataDefaults?.features, features, "the choice is stored in the model file")
            let summary = try runCLI(["summary", "--model", model], in: dir)
            XCTAssertTrue(summary.out.contains("chosen by train: defaults from the data: code"), summary.out)
            let detected = try runCLI(["detect", "--model", model, "--data", "\(fixtures)/\(name)/test.csv", "--label-column", "anomaly",
                                       "--train-data", train, "--json"], in: dir)
            XCTAssertEqual(detected.status, 0, detected.err)
            let report = try JSONSerialization.jsonObject(with: Data(detected.out.utf8)) as! [String: Any]
            XCTAssertEqual(report["score"] as? String, AnomalyScore.mse.rawValue, "reconstruction is the default score of a model sized from the data")
            let auroc = (report["auroc"] as! NSNumber).doubleValue, forest = (baseline["isolation_forest_auroc"] as! NSNumber).doubleValue
            XCTAssertGreaterThanOrEqual(auroc, forest - 0.03, "\(name): ours \(auroc), IsolationForest \(forest)")
            (ours, theirs) = (ours + [auroc], theirs + [forest])
        }
        XCTAssertGreaterThanOrEqual(ours.reduce(0, +) / Double(ours.count), theirs.reduce(0, +) / Double(theirs.count))
    }

    /// The first example: the dense preset with its defaults on standardised rows draws
    /// all three warnings, one line each, and still trains.
    func testTrainPrintsEachWarningAsOneLine() throws {
        let train = fixturesDirectory.appendingPathComponent("tabular/breast_cancer/train.csv").path
        let r = try runCLI(["train", "--data", train, "--label-column", "anomaly", "--preset", "dense", "--scaling", "standard", "-o", dir + "/d.safetensors"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        let warnings = r.err.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        XCTAssertEqual(warnings.count, 3, r.err)
        XCTAssertTrue(warnings[0].contains("the code has 32 values for 30 inputs"))
        XCTAssertTrue(warnings[1].contains("5 epochs of 2 batches are 10 optimizer steps"))
        XCTAssertTrue(warnings[2].contains("sigmoid"))
        XCTAssertFalse(r.out.contains("defaults from the data"), "a named preset is the user's choice")
        XCTAssertNil(try TrainedModel.load(dir + "/d.safetensors").dataDefaults)
    }
}
