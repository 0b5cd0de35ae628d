import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Anomaly detection: metrics against hand-computed cases, threshold rules, the stored detector,
/// one-class Fashion-MNIST, a synthetic multivariate time series with injected anomalies, and the
/// `detect` command's errors.
final class AnomalyTests: XCTestCase {
    typealias M = DetectionMetrics

    // MARK: Metrics

    func testAUROCOrderings() throws {
        let labels = [false, false, true, true]
        XCTAssertEqual(try M.auroc(scores: [0.1, 0.2, 0.8, 0.9], anomalies: labels), 1)
        XCTAssertEqual(try M.auroc(scores: [0.9, 0.8, 0.2, 0.1], anomalies: labels), 0)
        XCTAssertEqual(try M.auroc(scores: [0.5, 0.5, 0.5, 0.5], anomalies: labels), 0.5)
        // scikit-learn's documented example.
        XCTAssertEqual(try M.auroc(scores: [0.1, 0.4, 0.35, 0.8], anomalies: labels), 0.75, accuracy: 1e-12)
        // Ties across classes count one half: the anomaly at 0.5 beats 0.1, ties the two 0.5s,
        // the anomaly at 0.9 beats all three normal samples: (3 + 1 + 0.5 + 0.5) / 6.
        XCTAssertEqual(try M.auroc(scores: [0.5, 0.5, 0.5, 0.9, 0.1], anomalies: [true, false, false, true, false]), 5.0 / 6, accuracy: 1e-12)
    }

    func testAUROCMatchesPairCountingAndRandomIsChance() throws {
        // Coarse scores: many ties. The rank formula must equal counting every pair.
        let rng = RandomGenerator(seed: 3)
        let scores = (0..<300).map { _ in Float(rng.int(below: 12)) }
        let labels = scores.map { s in rng.uniform() < 0.2 + 0.04 * s }
        var wins = 0.0, pairs = 0.0
        for i in scores.indices where labels[i] {
            for j in scores.indices where !labels[j] {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
            }
        }
        XCTAssertEqual(try M.auroc(scores: scores, anomalies: labels), wins / pairs, accuracy: 1e-12)
        // Scores unrelated to the labels: chance.
        let random = (0..<20000).map { _ in rng.uniform() }
        let randomLabels = (0..<20000).map { _ in rng.uniform() < 0.3 }
        XCTAssertEqual(try M.auroc(scores: random, anomalies: randomLabels), 0.5, accuracy: 0.02)
    }

    func testAveragePrecision() throws {
        let labels = [false, false, true, true]
        XCTAssertEqual(try M.averagePrecision(scores: [0.1, 0.2, 0.8, 0.9], anomalies: labels), 1)
        // Highest first: 0.9 (n), 0.8 (n), 0.2 (a): P 1/3 at R 0.5; 0.1 (a): P 1/2 at R 1.
        XCTAssertEqual(try M.averagePrecision(scores: [0.9, 0.8, 0.2, 0.1], anomalies: labels), 0.5 / 3 + 0.25, accuracy: 1e-12)
        XCTAssertEqual(try M.averagePrecision(scores: [0.1, 0.4, 0.35, 0.8], anomalies: labels), 5.0 / 6, accuracy: 1e-12)
        // A tied group is one threshold: 0.9 (a) P 1 R 0.5; the 0.5s (a, n, n) P 2/4 R 1.
        XCTAssertEqual(try M.averagePrecision(scores: [0.5, 0.5, 0.5, 0.9, 0.1], anomalies: [true, false, false, true, false]), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try M.averagePrecision(scores: [1, 1, 1, 1, 1], anomalies: [true, false, false, true, false]), 0.4, accuracy: 1e-12)
    }

    func testROCCurveAndConfusion() throws {
        let c = try M.rocCurve(scores: [0.1, 0.4, 0.35, 0.8], anomalies: [false, false, true, true])
        XCTAssertEqual(c.thresholds, [.infinity] + [Float(0.8), 0.4, 0.35, 0.1].map(Double.init))
        XCTAssertEqual(c.falsePositiveRates, [0, 0, 0.5, 0.5, 1])
        XCTAssertEqual(c.truePositiveRates, [0, 0.5, 0.5, 1, 1])
        let k = M.confusion(flags: [true, true, false, false, true], anomalies: [true, false, true, false, true])
        XCTAssertEqual([k.truePositives, k.falsePositives, k.falseNegatives, k.trueNegatives], [2, 1, 1, 1])
        XCTAssertEqual(k.precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(k.recall, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(k.f1, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(k.falsePositiveRate, 0.5)
        let none = M.confusion(flags: [false, false], anomalies: [true, false])
        XCTAssertEqual([none.precision, none.recall, none.f1], [0, 0, 0])
        XCTAssertThrowsError(try M.auroc(scores: [1, 2], anomalies: [false, false])) {
            XCTAssertTrue(($0 as? BottleneckError)?.message.contains("needs both normal and anomalous") == true, "\($0)")
        }
    }

    // MARK: Thresholds and the stored detector

    func testThresholdRulesOnKnownScores() throws {
        let scores = (1...100).map(Float.init)
        XCTAssertEqual(try ThresholdRule.contamination(0.1).threshold(for: scores), 90.1, accuracy: 1e-9)
        XCTAssertEqual(try ThresholdRule.percentile(95).threshold(for: scores), 95.05, accuracy: 1e-9)
        XCTAssertEqual(try ThresholdRule.percentile(50).threshold(for: scores), 50.5, accuracy: 1e-9)
        let std = ((100.0 * 100 - 1) / 12).squareRoot()  // population std of 1...100
        XCTAssertEqual(try ThresholdRule.sigma(2).threshold(for: scores), 50.5 + 2 * std, accuracy: 1e-9)
        XCTAssertEqual(try ThresholdRule.max.threshold(for: scores), 100)
        XCTAssertEqual(try ThresholdRule.value(7).threshold(for: []), 7)
        let d = try Detector.fit(score: .mse, rule: .contamination(0.1), trainingScores: scores)
        XCTAssertEqual(d.flags(scores).filter { $0 }.count, 10, "contamination 0.1 flags 10% of the training scores")
        XCTAssertEqual(try Detector.fit(score: .mse, rule: .max, trainingScores: scores).flags(scores).filter { $0 }.count, 0)
        XCTAssertEqual(d.training?.median ?? 0, 50.5, accuracy: 1e-9)
        for (rule, field) in [(ThresholdRule.contamination(0), ConfigField.contamination), (.contamination(1), .contamination),
                              (.percentile(101), .percentile), (.sigma(-1), .sigma), (.value(.nan), .threshold)] {
            XCTAssertThrowsError(try rule.threshold(for: scores)) { XCTAssertEqual(($0 as? BottleneckError)?.field, field, "\($0)") }
        }
        XCTAssertThrowsError(try ThresholdRule.max.threshold(for: []))
    }

    func testDetectorJSONRoundTripAndStorageInModelFile() throws {
        for rule in [ThresholdRule.contamination(0.05), .percentile(99), .sigma(3), .max, .value(0.25)] {
            let d = try Detector.fit(score: .l1, rule: rule, trainingScores: [0.1, 0.3, 0.2, 0.7], fittedOn: "x", normalClasses: [1])
            XCTAssertEqual(try decodeJSON(Detector.self, try jsonString(d), source: "t"), d)
        }
        XCTAssertTrue(try jsonString(ThresholdRule.sigma(3)).contains(#""rule":"sigma""#))

        let path = NSTemporaryDirectory() + "bn-anomaly-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [6], codeSize: 2), inputShape: [6], rng: RandomGenerator(seed: 1))
        var file = try TrainedModel(model: model, scaler: .fixedRange(min: 0, max: 2)).file(format: ModelFile.formatName, tensors: model.stateDict())
        file.tensors.append(("extra.prior", Tensor([1, 2])))
        try file.write(to: path)
        let detector = try Detector.fit(score: .mse, rule: .percentile(99), trainingScores: [1, 2, 3], normalClasses: [0])
        try detector.store(inModelAt: path)
        let reloaded = try TrainedModel.load(path)
        XCTAssertEqual(reloaded.detector, detector)
        XCTAssertEqual(reloaded.scaler, .fixedRange(min: 0, max: 2), "other documents kept")
        XCTAssertEqual(try ModelFile.read(path).tensors.first { $0.0 == "extra.prior" }?.1.scalars, [1, 2], "other tensors kept")
        for ((n, a), (_, b)) in zip(model.stateDict(), reloaded.model.stateDict()) { XCTAssertEqual(a.scalars, b.scalars, n) }
        let plain = NSTemporaryDirectory() + "bn-anomaly-plain-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: plain) }
        try SafeTensors(tensors: [("w", Tensor.zeros([2]))]).write(to: plain)
        XCTAssertThrowsError(try detector.store(inModelAt: plain)) { XCTAssertTrue("\($0)".contains("not a Bottleneck model")) }
    }

    func testFeatureErrorsExplainScoresAndLabelsHelpers() throws {
        let rng = RandomGenerator(seed: 2)
        for shape in [[5], [4, 3]] {
            let model = try Autoencoder(spec: try Preset.linear.spec(inputShape: shape, codeSize: 2), inputShape: shape, rng: rng)
            let data = Dataset(inputs: Tensor.normal([7] + shape, rng: rng))
            for kind in [AnomalyScore.mse, .l1] {
                var scorer = try AnomalyScorer(model: model, score: kind)
                scorer.batchSize = 3
                let (scores, fe) = try scorer.scoresAndFeatureErrors(data)
                XCTAssertEqual(fe.shape, [7, shape.last!])
                XCTAssertEqual(try scorer.scores(data), scores)
                // All rows at once, not in batches of 3: oneDNN's GEMM may round a row differently
                // with another row count (OpenBLAS does not), so equal to rounding, not to the bit.
                let r = withoutGradients { model(data.inputs) }
                let whole = reconstructionError(r, data.inputs, kind: kind == .mse ? .mse : .l1)
                XCTAssertEqual(scores.count, whole.count)
                for (a, b) in zip(scores, whole) { XCTAssertEqual(a, b, accuracy: 1e-6 * Swift.max(1, Swift.abs(b))) }
                for i in 0..<7 {
                    let meanOfFeatures = (0..<fe.shape[1]).map { fe.data[i * fe.shape[1] + $0] }.reduce(0, +) / Float(fe.shape[1])
                    XCTAssertEqual(meanOfFeatures, scores[i], accuracy: 1e-5 * max(1, scores[i]))
                    let top = AnomalyScorer.topFeatures(fe, row: i, count: 2)
                    XCTAssertEqual(top[0].error, (0..<fe.shape[1]).map { fe.data[i * fe.shape[1] + $0] }.max())
                    XCTAssertGreaterThanOrEqual(top[0].error, top[1].error)
                }
            }
        }
        XCTAssertEqual(AnomalyLabels.windows(rowAnomalies: [false, false, true, false, false, false], length: 2, stride: 1),
                       [false, true, true, false, false])
        XCTAssertEqual(AnomalyLabels.windows(rowAnomalies: [false, false, true, false, false, false], length: 2, stride: 2), [false, true, false])
        XCTAssertEqual(AnomalyLabels.anomalies(labels: [0, 3, 1], normalClasses: [0, 1]), [false, true, false])
        XCTAssertEqual(AnomalyLabels.anomalies(labels: [0, 1, 1], normalClasses: nil), [false, true, true])
        XCTAssertNil(AnomalyLabels.anomalies(labels: [0, 2], normalClasses: nil))
        let d = Dataset(inputs: Tensor.zeros([4, 2]), labels: [0, 1, 2, 1])
        XCTAssertEqual(try d.restricted(toClasses: [1]).labels, [1, 1])
        XCTAssertThrowsError(try d.restricted(toClasses: [7])) { XCTAssertTrue("\($0)".contains("labels present: 0, 1, 2"), "\($0)") }
        XCTAssertThrowsError(try Dataset(inputs: Tensor.zeros([2, 2])).restricted(toClasses: [1])) { XCTAssertTrue("\($0)".contains("needs labels")) }
        XCTAssertEqual(try parseClassList("0, 6", field: .classes), [0, 6])
        XCTAssertThrowsError(try parseClassList("a", field: .classes))
    }

    /// The ELBO score's mean agrees with the variational objective's negative ELBO on the same data.
    func testELBOScoreMatchesObjective() throws {
        let spec = Variants.adapt(ArchitectureSpec(name: "vae",
            encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(64)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(8)])],
            decoder: [LayerSpec("linear", ["out": .number(64)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(784)]), LayerSpec("sigmoid")]),
            to: VariantSpec(.vae()))
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 4))
        let data = FMNIST.test.subset(Array(0..<500))
        let scores = try AnomalyScorer(model: model, score: .elbo, elboSamples: 16).scores(data)
        let objective = VariationalObjective()
        let reference = objective.negativeELBO(model, on: data, rng: RandomGenerator(seed: 9)).total
        let mean = Double(scores.reduce(0, +)) / Double(scores.count)
        XCTAssertEqual(mean, reference, accuracy: 0.01 * reference)
        XCTAssertThrowsError(try AnomalyScorer(model: try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28],
                                                                      rng: RandomGenerator(seed: 0)), score: .elbo)) {
            XCTAssertTrue("\($0)".contains("needs a VAE"), "\($0)")
        }
    }

    // MARK: Detection quality

    /// One-class Fashion-MNIST: a conv model trained on trousers only, two epochs; the other
    /// nine classes of the test set are the anomalies. Measured (seed 0): AUROC 0.965 after one
    /// epoch, 0.974 after three.
    func testOneClassFashionMNISTTrousers() throws {
        let start = Date()
        let train = try FMNIST.train.restricted(toClasses: [1])
        let (model, _, _) = try trainVariant(try Preset.conv.spec(inputShape: [1, 28, 28]), variant: nil, epochs: 2, train: train)
        let scorer = try AnomalyScorer(model: model, score: .mse)
        let scores = try scorer.scores(FMNIST.test)
        let anomalies = FMNIST.test.labels!.map { $0 != 1 }
        let auroc = try M.auroc(scores: scores, anomalies: anomalies)
        let detector = try Detector.fit(score: .mse, rule: .contamination(0.05), trainingScores: try scorer.scores(train))
        let c = M.confusion(flags: detector.flags(scores), anomalies: anomalies)
        print(String(format: "one-class trouser: AUROC %.4f, AUPRC %.4f, at contamination 0.05: F1 %.3f, FPR %.3f, recall %.3f (%.1fs)",
                     auroc, try M.averagePrecision(scores: scores, anomalies: anomalies), c.f1, c.falsePositiveRate, c.recall, Date().timeIntervalSince(start)))
        XCTAssertGreaterThanOrEqual(auroc, 0.9)
        XCTAssertLessThan(c.falsePositiveRate, 0.15)
        XCTAssertGreaterThan(c.f1, 0.8)
    }

    /// A 4-channel series mixing three sines (+ noise), with 8 spikes, 6 level shifts and 6
    /// frequency changes injected in a test stretch of 3000 steps. A dense autoencoder on 32-step
    /// windows, trained on an anomaly-free stretch of 6000 steps before it; the threshold is the
    /// 99.5th percentile of the training windows' scores.
    /// (Measured over seeds 1-6: every event found each time; window FPR 0.06-1.7%. With only 3000
    /// training steps and the 99th percentile, FPR reached 8.8%: the test stretch holds phase
    /// combinations the training stretch never showed.)
    func testTimeSeriesInjectedAnomalies() throws { try timeSeries(seed: 11, trainSteps: 6000, percentile: 99.5) }

    func timeSeries(seed: UInt64, trainSteps: Int, percentile: Double) throws {
        let start = Date()
        let rng = RandomGenerator(seed: seed)
        let steps = 3000, window = 32
        let events = SyntheticSeries.events(steps: steps, rng: rng)
        let trainSeries = SyntheticSeries.make(steps: trainSteps, firstStep: 0, events: [], rng: rng)
        let testSeries = SyntheticSeries.make(steps: steps, firstStep: trainSteps, events: events, rng: rng)
        let scaler = try Scaler.fitted(.standard, to: trainSeries)
        let train = try TimeSeries.windows(try scaler.transform(trainSeries), length: window, stride: 1)
        let test = try TimeSeries.windows(try scaler.transform(testSeries), length: window, stride: 1)

        let spec = ArchitectureSpec(name: "windows",
            encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(64)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(8)])],
            decoder: [LayerSpec("linear", ["out": .number(64)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(Double(window * 4))])])
        let model = try Autoencoder(spec: spec, inputShape: [window, 4], rng: RandomGenerator(seed: 0))
        var config = TrainingConfig()
        config.epochs = 40
        config.batchSize = 64
        try Trainer(model: model, objective: ReconstructionObjective(), config: config, rng: RandomGenerator(seed: 0)).fit(train: train)

        let scorer = try AnomalyScorer(model: model, score: .mse)
        let detector = try Detector.fit(score: .mse, rule: .percentile(percentile), trainingScores: try scorer.scores(train))
        let scores = try scorer.scores(test)
        let flags = detector.flags(scores)
        var rowAnomalies = [Bool](repeating: false, count: steps)
        for e in events { for t in e.rows { rowAnomalies[t] = true } }
        let windowAnomalies = AnomalyLabels.windows(rowAnomalies: rowAnomalies, length: window, stride: 1)
        // An event is found when a flagged window overlaps it.
        let found = events.filter { e in flags.indices.contains { flags[$0] && $0 < e.rows.upperBound && $0 + window > e.rows.lowerBound } }
        let coverage = Double(found.count) / Double(events.count)
        let c = M.confusion(flags: flags, anomalies: windowAnomalies)
        let missed = events.filter { e in !found.contains { $0.rows == e.rows } }.map { "\($0.kind)@\($0.rows.lowerBound)" }
        print(String(format: "time series: %d/%d events found (%.0f%%), window FPR %.4f, window AUROC %.4f, recall %.3f (%.1fs) missed: %@",
                     found.count, events.count, 100 * coverage, c.falsePositiveRate, try M.auroc(scores: scores, anomalies: windowAnomalies),
                     c.recall, Date().timeIntervalSince(start), missed.joined(separator: " ")))
        XCTAssertGreaterThanOrEqual(coverage, 0.9)
        XCTAssertLessThan(c.falsePositiveRate, 0.05)
    }

    // MARK: The detect command

    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bn-detect-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testDetectCommandOnATable() throws {
        // Normal rows lie near a plane; the first 20 test rows leave it along column c2. (Trained
        // to convergence, the linear model projects orthogonally, and c2 explains their errors.)
        func table(_ n: Int, anomalies: Int, seed: UInt64, label: Bool) -> String {
            let rng = RandomGenerator(seed: seed)
            var s = "c0,c1,c2,c3" + (label ? ",anomaly\n" : "\n")
            for i in 0..<n {
                let a = rng.normal(), b = rng.normal(), bad = i < anomalies
                let row = [a, b, a + b + (bad ? 4 : 0), a - b].map { $0 + 0.2 * rng.normal() }
                s += row.map(\.description).joined(separator: ",") + (label ? ",\(bad ? 1 : 0)\n" : "\n")
            }
            return s
        }
        try table(400, anomalies: 0, seed: 1, label: false).write(toFile: dir + "/train.csv", atomically: true, encoding: .utf8)
        try table(200, anomalies: 20, seed: 2, label: true).write(toFile: dir + "/test.csv", atomically: true, encoding: .utf8)
        let t = try runCLI(["train", "--data", "train.csv", "--preset", "linear", "--code-size", "2", "--epochs", "200", "--batch-size", "32",
                            "--lr", "0.01", "--scaling", "standard", "-o", "t.safetensors"])
        XCTAssertEqual(t.status, 0, t.err)
        let d = try runCLI(["detect", "--model", "t.safetensors", "--data", "test.csv", "--label-column", "anomaly", "--train-data", "train.csv",
                            "--score", "recon", "--sigma", "4", "--fit", "-o", "r.csv", "--roc", "roc.svg", "--histogram", "h.svg"])
        XCTAssertEqual(d.status, 0, d.err)
        XCTAssertTrue(d.out.contains("mean + 4.0 std") && d.out.contains("stored the detector") && d.out.contains("mse scores"), d.out)
        XCTAssertTrue(d.out.contains("AUROC 1.0000"), d.out)
        let rows = try String(contentsOfFile: dir + "/r.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "index,score,flag,label,anomaly,feature_1,error_1,feature_2,error_2,feature_3,error_3")
        XCTAssertEqual(rows.count, 201)
        let explainedByC2 = rows[1...20].filter { $0.split(separator: ",")[5] == "c2" }.count
        XCTAssertGreaterThanOrEqual(explainedByC2, 18, "the broken column explains the flags: \(rows[1...20])")
        for svg in ["roc.svg", "h.svg"] {
            XCTAssertTrue(try String(contentsOfFile: dir + "/" + svg, encoding: .utf8).hasPrefix("<svg"), svg)
        }
        let bundle = try TrainedModel.load(dir + "/t.safetensors")
        XCTAssertEqual(bundle.detector?.rule, .sigma(4))
        XCTAssertNotEqual(bundle.scaler, Scaler(.none), "the trained scaling is kept")
        // Next time the stored threshold is used.
        let again = try runCLI(["detect", "--model", "t.safetensors", "--data", "test.csv", "--label-column", "anomaly", "--json"])
        XCTAssertEqual(again.status, 0, again.err)
        let summary = try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any]
        XCTAssertEqual(summary?["rule"] as? String, "mean + 4.0 std", again.out)
        XCTAssertGreaterThan((summary?["f1"] as? NSNumber)?.doubleValue ?? 0, 0.9, again.out)
    }

    func testDetectBadInput() throws {
        let spec = try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8)
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: model, scaler: .fixedRange(min: 0, max: 1)).save(to: dir + "/m.safetensors")
        try expectCLIError(["detect", "--model", "m.safetensors", "--contamination", "1.5"], ["--contamination", "1.5"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--percentile", "120"], ["--percentile", "120"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--sigma", "2", "--max"], ["one threshold option"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--score", "hinge"], ["--score", "hinge", "mse, l1, elbo"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--score", "elbo"], ["needs a VAE"])
        FileManager.default.createFile(atPath: dir + "/t.csv", contents: Data("a,b\n1,2\n3,4\n".utf8))
        try expectCLIError(["detect", "--model", "m.safetensors", "--data", "t.csv"], ["t.csv", "[2]", "[1, 28, 28]"])
        var idx = Data([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
        idx.append(contentsOf: [UInt8](repeating: 3, count: 2 * 784))
        FileManager.default.createFile(atPath: dir + "/x-ubyte", contents: idx)
        try expectCLIError(["detect", "--model", "m.safetensors", "--data", "x-ubyte", "--normal-classes", "0"], ["--normal-classes needs labels", "x-ubyte"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--data", "x-ubyte", "--normal-classes", "a,b"], ["--normal-classes", "'a,b'"])
        try expectCLIError(["detect", "--model", "m.safetensors", "--data", "x-ubyte", "--roc", "roc.png"], ["--roc", ".svg"])
        try expectCLIError(["train", "--classes", "12", "--epochs", "1", "-o", "c.safetensors"], ["--classes 12", "no sample", "0, 1, 2"])
    }

    func runCLI(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try BottleneckTests.runCLI(args, in: dir) }

    func expectCLIError(_ args: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try BottleneckTests.expectCLIError(args, in: dir, fragments, file: file, line: line)
    }
}

/// The synthetic series of the time-series test: channels mix three sines (so they are
/// correlated, as sensors of one system are), plus Gaussian noise of std 0.1.
enum SyntheticSeries {
    struct Event { var kind: String; var rows: Range<Int>; var channel: Int; var magnitude: Float }

    static let periods: [Float] = [24, 61, 37]
    static let mixing: [[Float]] = [[1.0, 0.5, 0.0], [0.6, 0.0, 0.8], [0.0, 1.0, 0.5], [0.7, -0.6, 0.3]]

    /// 8 spikes (one step, +-1.5..2.5), 6 level shifts (40-80 steps, +-0.6..1.0) and 6 frequency
    /// changes (60-100 steps: a channel's main sine at 0.5x or 1.8x its period), one per slot of
    /// steps / 20 rows, in shuffled order.
    static func events(steps: Int, rng: RandomGenerator) -> [Event] {
        let kinds = (Array(repeating: "spike", count: 8) + Array(repeating: "shift", count: 6) + Array(repeating: "frequency", count: 6))
        let order = rng.permutation(kinds.count), slot = steps / kinds.count
        return order.enumerated().map { i, k in
            let kind = kinds[k], channel = rng.int(below: 4), sign: Float = rng.uniform() < 0.5 ? -1 : 1
            let length: Int, magnitude: Float
            switch kind {
            case "spike": length = 1; magnitude = sign * rng.uniform(1.5, 2.5)
            case "shift": length = 40 + rng.int(below: 41); magnitude = sign * rng.uniform(0.6, 1.0)
            default: length = 60 + rng.int(below: 41); magnitude = rng.uniform() < 0.5 ? 0.5 : 1.8
            }
            let first = i * slot + 10 + rng.int(below: max(1, slot - length - 20))
            return Event(kind: kind, rows: first..<(first + length), channel: channel, magnitude: magnitude)
        }
    }

    /// Steps firstStep ..< firstStep + steps of the series, [steps, 4], with `events` (rows relative
    /// to firstStep) injected.
    static func make(steps: Int, firstStep: Int, events: [Event], rng: RandomGenerator) -> Tensor {
        let x = Tensor(shape: [steps, 4])
        func wave(_ j: Int, _ t: Int, periodScale: Float = 1) -> Float { sin(2 * Float.pi * Float(t) / (periods[j] * periodScale)) }
        for r in 0..<steps {
            for c in 0..<4 { x.data[r * 4 + c] = (0..<3).reduce(0) { $0 + mixing[c][$1] * wave($1, firstStep + r) } }
        }
        for e in events {
            let main = (0..<3).max { abs(mixing[e.channel][$0]) < abs(mixing[e.channel][$1]) }!
            for r in e.rows {
                let v = x.data + r * 4 + e.channel
                switch e.kind {
                case "spike", "shift": v.pointee += e.magnitude
                default: v.pointee += mixing[e.channel][main] * (wave(main, firstStep + r, periodScale: e.magnitude) - wave(main, firstStep + r))
                }
            }
        }
        for i in 0..<x.count { x.data[i] += 0.1 * rng.normal() }
        return x
    }
}
