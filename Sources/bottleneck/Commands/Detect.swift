import ArgumentParser
import Bottleneck
import Foundation

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flag anomalies by reconstruction error; fit and store the threshold with --fit.",
        discussion: """
        A model trained on normal data reconstructs normal samples well: the
        reconstruction error (mse or l1; the negative ELBO for a VAE) is an
        anomaly score, and scores above the threshold are flagged. The code
        score is the Mahalanobis distance of a sample's code from a Gaussian
        fitted on the training codes, knn the mean distance to the 5 nearest
        training codes; combined averages the three, each standardised on the
        training scores. The default is combined, or recon for a model whose
        size train chose from the data (tables), as measured best for each.
        The Gaussian and the codes are fitted on the same data as the
        threshold and stored with it by --fit.

        The threshold comes from, in order: a threshold option given here; the
        detector stored in the model file; a rule fitted now (the stored rule
        when the stored detector is for another score, else contamination 0.05).
        Rules are fitted on training scores: Fashion-MNIST's training split
        (normal classes only) by default, --train-data when given, else the
        scored data itself. --fit stores the detector (score, rule, threshold,
        training statistics) in the model file; without a threshold option it
        refits the stored rule.

        One-class Fashion-MNIST (trousers normal, the other classes anomalies):
          bottleneck train --classes 1 --epochs 10 -o trouser.safetensors
          bottleneck detect --model trouser.safetensors --fit --percentile 99
          bottleneck detect --model trouser.safetensors -o results.csv \\
              --roc roc.svg --histogram hist.svg
        A table (label 1 = anomaly; results name each row's top-3 columns):
          bottleneck detect --model t.safetensors --data test.csv \\
              --label-column anomaly --train-data train.csv --sigma 3 -o r.csv
        Time-series windows (a window is anomalous when any of its rows is):
          bottleneck detect --model s.safetensors --data series.csv --window 32 \\
              --label-column anomaly --train-data normal.csv --percentile 99.5
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .customLong("model"), help: "Model file; several (--model A --model B ..., e.g. from `train --ensemble`) are an ensemble whose standardised scores are averaged.")
    var models: [String] = []
    var model: String { models[0] }
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split to score when no --data is given: train or test.") var split = "test"
    @Option(name: .long, help: "Score: recon (= mse), l1, elbo (VAE models), code (Mahalanobis distance of the code from the training codes' Gaussian), knn (mean distance to the 5 nearest training codes), combined (recon, code and knn, standardised). Default: the stored detector's, else recon for models sized from the data, combined otherwise.") var score: String?
    @Option(name: .long, help: "ELBO score: latent samples averaged per input.") var elboSamples: Int?

    @Option(name: .long, help: "Threshold rule: flag this fraction of the training scores, in (0, 1).") var contamination: Double?
    @Option(name: .long, help: "Threshold rule: this percentile (0-100) of the training scores.") var percentile: Double?
    @Option(name: .long, help: "Threshold rule: mean + K standard deviations of the training scores.") var sigma: Double?
    @Flag(name: .customLong("max"), help: "Threshold rule: the largest training score.") var maxScore = false
    @Option(name: .long, help: "Threshold: this explicit value.") var threshold: Double?
    @Flag(name: .long, help: "Store the detector (score, rule, threshold) in the model file, keeping weights and other documents.") var fit = false

    @Option(name: .long, help: "Data to fit the threshold on (default: Fashion-MNIST's training split, or the scored data for other data).") var trainData: String?
    @Option(name: .long, help: "Labels file for --train-data (IDX or NPY).") var trainLabels: String?
    @Option(name: .long, help: "Labels that are normal, e.g. 0 or 0,6 (others are anomalies). Default: the stored detector's or the classes the model was trained on; else a 0/1 label is 1 = anomaly.")
    var normalClasses: String?

    @Option(name: [.short, .long], help: "Per-sample results CSV: index, score, flag, label, anomaly, top-3 features for tables.") var output: String?
    @Option(name: .long, help: "ROC curve SVG (needs labels).") var roc: String?
    @Option(name: .long, help: "Score histogram SVG with the threshold marked.") var histogram: String?
    @Flag(name: .long, help: "Print a JSON summary instead of text.") var json = false

    func validate() throws {
        if models.isEmpty { throw ValidationError("Missing expected argument '--model <model>'") }
        if models.count > 1 && fit { throw ValidationError("--fit stores one model's detector; an ensemble's threshold is fitted on each run (or give --threshold)") }
    }

    func run() throws {
        let rule = try thresholdRule()
        guard let dataSplit = FashionMNIST.Split(rawValue: split) else { throw BottleneckError("--split must be train or test, got '\(split)'") }
        try checkOutputName(output, ".csv", "-o/--output")
        try checkOutputName(roc, ".svg", "--roc")
        try checkOutputName(histogram, ".svg", "--histogram")
        if models.count > 1 { return try runEnsemble(rule: rule, split: dataSplit) }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let explicitNormal = try normalClasses.map { try parseClassList($0, field: .normalClasses) }
        let policy = DetectionPolicy(bundle: loaded, score: try score.map(AnomalyScore.named), elboSamples: elboSamples, normalClasses: explicitNormal,
                                     defaultScore: DetectionPolicy.fittingDefault(for: loaded))
        let (kind, normal) = (policy.score, policy.normalClasses)

        // The scored data and its ground truth.
        let data = try loaded.data(dataOptions, split: dataSplit)
        let table = output != nil || dataOptions.window != nil ? try dataOptions.csvTable() : nil
        let anomalies = try dataOptions.groundTruth(data, table: table, normal: normal, explicit: explicitNormal != nil)

        var report: [String] = []
        let detector: Detector, scorer: AnomalyScorer
        switch policy.choose(rule: rule, refit: fit) {
        case .stored(let stored):
            detector = stored
            scorer = try policy.scorer()
            report.append("threshold \(fmt(stored.threshold)) (\(stored.rule), stored in the model file"
                          + (stored.fittedOn.map { "; fitted on \(kind.rawValue) scores of \($0)" } ?? "") + ")")
        case .fit(let chosen, let why):
            var trainingScores: [Float] = [], fittedOn: String? = nil, calibration: ScoreCalibration? = nil
            if chosen.needsScores || kind.needsCalibration {
                let (fitRaw, what) = try fittingData(scored: data, split: dataSplit, normal: normal)
                let fitData = try fitRaw.map { try loaded.prepare($0) } ?? data
                // A fit refits the code's Gaussian too: it belongs to the data the threshold is fitted on.
                if kind.needsCalibration { calibration = try AnomalyScorer.calibrate(loaded.model, on: fitData) }
                scorer = try policy.scorer(calibration: calibration)
                if chosen.needsScores { trainingScores = try scorer.scores(fitData) }
                fittedOn = what
            } else {
                scorer = try policy.scorer()
            }
            detector = try policy.fit(chosen, trainingScores: trainingScores, fittedOn: fittedOn, calibration: calibration)
            report.append("threshold \(fmt(detector.threshold)) (\(chosen)" + (fittedOn.map { ", fitted now on \(kind.rawValue) scores of \($0)" } ?? "") + ")"
                          + (why.isEmpty ? "" : " (\(why))"))
            if fit {
                try detector.store(inModelAt: model)
                report.append("stored the detector in \(model)")
            } else if loaded.detector == nil {
                report.append("(store it in the model file with --fit)")
            }
        }

        // Per-feature errors explain flags of tables and windows (not of images' pixels).
        let scores: [Float], featureErrors: Tensor?
        if output != nil && data.sampleShape.count <= 2 {
            (scores, featureErrors) = try scorer.scoresAndFeatureErrors(data)
        } else {
            (scores, featureErrors) = (try scorer.scores(data), nil)
        }
        let flags = detector.flags(scores)
        let summary = try policy.summary(scores: scores, detector: detector, anomalies: anomalies, model: model)

        if let output {
            try writeResults(output, data: data, scores: scores, flags: flags, anomalies: anomalies, featureErrors: featureErrors,
                             featureNames: table?.featureNames)
            report.append("wrote \(output)")
        }
        report += try writePlots(scores: scores, anomalies: anomalies, threshold: detector.threshold, auroc: summary.auroc,
                                 rocTitle: "ROC, \(kind.rawValue) score", scoreName: "\(kind.rawValue) score")

        if json { print(try prettyJSON(summary)); return }
        print("model \(loaded.model.spec.name), \(kind.rawValue) scores of \(data.count) samples of \(data.source)")
        report.filter { !$0.hasPrefix("wrote") }.forEach { print($0) }
        print(String(format: "flagged %d of %d (%.2f%%)", summary.flagged, summary.samples, 100 * Double(summary.flagged) / Double(max(summary.samples, 1))))
        if let a = summary.anomalies {
            print("ground truth: \(a) anomalies, \(summary.samples - a) normal" + (normal.map { " (normal classes \($0.sorted().map(String.init).joined(separator: ",")))" } ?? " (label 1 = anomaly)"))
            if let auroc = summary.auroc, let auprc = summary.auprc { print(String(format: "AUROC %.4f  AUPRC %.4f", auroc, auprc)) }
            print(String(format: "at the threshold: precision %.4f  recall %.4f  F1 %.4f  false-positive rate %.4f",
                         summary.precision!, summary.recall!, summary.f1!, summary.falsePositiveRate!))
        } else if data.labels != nil {
            print("labels are classes: give --normal-classes to measure AUROC, AUPRC and F1")
        }
        report.filter { $0.hasPrefix("wrote") }.forEach { print($0) }
    }

    /// The one threshold rule given on the command line, if any.
    func thresholdRule() throws -> ThresholdRule? {
        var rules: [ThresholdRule] = []
        if let contamination { rules.append(.contamination(contamination)) }
        if let percentile { rules.append(.percentile(percentile)) }
        if let sigma { rules.append(.sigma(sigma)) }
        if maxScore { rules.append(.max) }
        if let threshold { rules.append(.value(threshold)) }
        guard rules.count <= 1 else { throw BottleneckError("give one threshold option of --contamination, --percentile, --sigma, --max, --threshold") }
        try rules.first?.validate()
        return rules.first
    }

    /// The data to fit a threshold rule on (unscaled; nil: the scored data itself), and a
    /// description of it.
    func fittingData(scored: Dataset, split: FashionMNIST.Split, normal: Set<Int>?) throws -> (Dataset?, String) {
        var d: Dataset
        if let trainData {
            var o = dataOptions
            o.data = trainData
            o.labels = trainLabels
            // Training tables often have no label column: use it only where the file has it.
            if let column = o.labelColumn, [".csv", ".tsv"].contains(where: { trainData.lowercased().hasSuffix($0) }),
               !(try CSV.read(trainData).featureNames.contains(column)) {
                o.labelColumn = nil
            }
            d = try DataSource.load(try o.request(), split: .train)
        } else if dataOptions.data == nil || dataOptions.data == "fashion-mnist" {
            d = try DataSource.load(try dataOptions.request(), split: .train)
        } else {
            return (nil, "the scored data itself (\(scored.count) samples; give --train-data to fit on training data)")
        }
        var what = "\(d.source)"
        if let normal, d.labels != nil {
            d = try d.restricted(toClasses: normal, field: .normalClasses)
            what += ", classes \(normal.sorted().map(String.init).joined(separator: ","))"
        }
        return (d, "\(d.count) training samples of \(what)")
    }

    /// Several models: each member's score standardised on the fitting data and averaged, the
    /// threshold fitted on the averaged training scores.
    func runEnsemble(rule: ThresholdRule?, split: FashionMNIST.Split) throws {
        let bundles = try models.map { try TrainedModel.load($0, memoryLimit: memory.maxModelMemory) }
        let explicitNormal = try normalClasses.map { try parseClassList($0, field: .normalClasses) }
        let normal = explicitNormal ?? bundles[0].detector?.normalClasses.map(Set.init) ?? bundles[0].classes.map(Set.init)
        let raw = try DataSource.load(try dataOptions.request(), split: split)
        let table = output != nil || dataOptions.window != nil ? try dataOptions.csvTable() : nil
        let anomalies = try dataOptions.groundTruth(raw, table: table, normal: normal, explicit: explicitNormal != nil)
        let (fitRaw, what) = try fittingData(scored: raw, split: split, normal: normal)
        let ensemble = try EnsembleScorer(bundles: bundles, score: try score.map(AnomalyScore.named), elboSamples: elboSamples ?? 8, fitting: fitRaw ?? raw)
        let chosen = rule ?? .contamination(0.05)
        let threshold = try chosen.threshold(for: ensemble.fittingScores)
        let scores = try ensemble.scores(raw)
        let kind = ensemble.members[0].scorer.score
        let detector = Detector(score: kind, rule: chosen, threshold: threshold, training: ScoreStatistics(ensemble.fittingScores), fittedOn: what)
        var summary = try DetectionPolicy(bundle: bundles[0], score: kind).summary(scores: scores, detector: detector, anomalies: anomalies,
                                                                                  model: models.joined(separator: ","))
        summary.score = "ensemble of \(models.count) (\(ensemble.scoreName))"
        let flags = detector.flags(scores)
        if let output {
            try writeResults(output, data: raw, scores: scores, flags: flags, anomalies: anomalies, featureErrors: nil, featureNames: table?.featureNames)
        }
        _ = try writePlots(scores: scores, anomalies: anomalies, threshold: threshold, auroc: summary.auroc,
                           rocTitle: "ROC, \(summary.score)", scoreName: "\(summary.score) score")
        if json { print(try prettyJSON(summary)); return }
        print("\(summary.score): mean standardised scores of \(raw.count) samples of \(raw.source)")
        print("threshold \(fmt(threshold)) (\(chosen), fitted now on \(what))")
        print(String(format: "flagged %d of %d (%.2f%%)", summary.flagged, summary.samples, 100 * Double(summary.flagged) / Double(max(summary.samples, 1))))
        if let auroc = summary.auroc, let auprc = summary.auprc { print(String(format: "AUROC %.4f  AUPRC %.4f", auroc, auprc)) }
        for path in [output, roc, histogram].compactMap({ $0 }) { print("wrote \(path)") }
    }

    /// The --roc and --histogram SVGs, when asked; returns a "wrote" line for each.
    func writePlots(scores: [Float], anomalies: [Bool]?, threshold: Double, auroc: Double?, rocTitle: String, scoreName: String) throws -> [String] {
        var wrote: [String] = []
        if let roc {
            guard let anomalies else { throw BottleneckError("--roc needs labels telling anomalies apart (--labels/--label-column, and --normal-classes for class labels)") }
            let curve = try DetectionMetrics.rocCurve(scores: scores, anomalies: anomalies)
            try writeText(Charts.rocCurve(curve, auroc: auroc, title: rocTitle), to: roc)
            wrote.append("wrote \(roc)")
        }
        if let histogram {
            try writeText(Charts.scoreHistogram(scores: scores, anomalies: anomalies, threshold: threshold,
                                                      scoreName: scoreName, title: "Anomaly scores"), to: histogram)
            wrote.append("wrote \(histogram)")
        }
        return wrote
    }

    func writeResults(_ path: String, data: Dataset, scores: [Float], flags: [Bool], anomalies: [Bool]?,
                      featureErrors: Tensor?, featureNames: [String]?) throws {
        var header = ["index"]
        let windowed = dataOptions.window != nil
        if windowed { header.append("first_row") }
        header += ["score", "flag"]
        if data.labels != nil { header.append("label") }
        if anomalies != nil { header.append("anomaly") }
        let top = featureErrors.map { min(3, $0.shape[1]) } ?? 0
        for k in 0..<top { header += ["feature_\(k + 1)", "error_\(k + 1)"] }
        var rows: [[String]] = []
        rows.reserveCapacity(scores.count)
        for i in 0..<scores.count {
            var row = [String(i)]
            if windowed { row.append(String(i * dataOptions.stride)) }
            row += [scores[i].description, flags[i] ? "1" : "0"]
            if let labels = data.labels { row.append(String(labels[i])) }
            if let anomalies { row.append(anomalies[i] ? "1" : "0") }
            if let featureErrors {
                for (f, e) in AnomalyScorer.topFeatures(featureErrors, row: i, count: top) {
                    row += [featureNames.map { f < $0.count ? $0[f] : "x\(f)" } ?? "x\(f)", e.description]
                }
            }
            rows.append(row)
        }
        try CSV.write(header: header, rows: rows, to: path)
    }

    func checkOutputName(_ path: String?, _ suffix: String, _ flag: String) throws {
        if let path, !path.lowercased().hasSuffix(suffix) { throw BottleneckError("\(flag) \(path): use a \(suffix) file name") }
    }

    func fmt(_ v: Double) -> String { String(format: "%.6g", v) }
}
