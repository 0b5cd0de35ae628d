import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

// Anomaly detection by reconstruction: a model trained on normal data reconstructs normal samples
// well and anomalies badly, so the reconstruction error (or a VAE's negative ELBO) is the score,
// and samples scoring above a threshold fitted on training scores are flagged. The code score
// adds what the encoder sees: how far a sample's code lies from the training codes.

/// Computes anomaly scores (and per-feature errors that explain them) with a trained model.
public struct AnomalyScorer {
    public let model: Autoencoder
    public let score: AnomalyScore
    /// ELBO: latent samples averaged per input (drawn from a generator of `seed`: repeatable).
    public let elboSamples: Int
    public let seed: UInt64
    /// Code and combined scores: the Gaussian of the training codes (`calibrate`).
    public let calibration: ScoreCalibration?
    public var batchSize = 500

    public init(model: Autoencoder, score: AnomalyScore, elboSamples: Int = 8, seed: UInt64 = 0, calibration: ScoreCalibration? = nil) throws {
        if score == .elbo && !model.isVariational {
            throw BottleneckError.invalid(.score, "elbo needs a VAE, model '\(model.spec.name)' is a \(model.spec.variant?.kind.name ?? "plain") autoencoder (use mse or l1)")
        }
        guard elboSamples >= 1 else { throw BottleneckError.invalid(.elboSamples, "must be at least 1, got \(elboSamples)") }
        if score.needsCalibration {
            guard let calibration else { throw BottleneckError("score \(score.rawValue) needs the Gaussian of the training codes: fit it with `detect --fit`") }
            let d = model.codeShape.reduce(1, *)
            guard calibration.codeSize == d else {
                throw BottleneckError("score \(score.rawValue): the stored Gaussian is of \(calibration.codeSize) code values, model '\(model.spec.name)' has \(d) (refit with --fit)")
            }
            if score == .knn && calibration.neighbours == nil {
                throw BottleneckError("score knn: the stored calibration has no training codes (written by an older version): refit with --fit")
            }
        }
        self.model = model
        self.score = score
        self.elboSamples = elboSamples
        self.seed = seed
        self.calibration = score.needsCalibration ? calibration : nil
    }

    /// Fits the code and combined scores' calibration on `data` (training data, normal only).
    public static func calibrate(_ model: Autoencoder, on data: Dataset, batchSize: Int = 500) throws -> ScoreCalibration {
        try model.checkInput(data.sampleShape, source: data.source)
        model.eval()
        var reconstruction: [Float] = [], codes: [Tensor] = []
        withoutGradients {
            for x in data.sequentialBatches(size: batchSize) {
                let h = model.encode(x)
                reconstruction += SampleMetrics.perSample(.mse, model.decode(h), x).map { Float($0) }
                codes.append(h.reshaped([h.shape[0], h.count / max(h.shape[0], 1)]))
            }
        }
        let all = codes.count == 1 ? codes[0] : Tensor.concat(codes, axis: 0)
        var calibration = try CodeGaussian.calibration(codes: all, reconstructionScores: reconstruction)
        calibration.neighbours = try CodeNeighbours.fit(codes: all)
        return calibration
    }

    /// One score per sample of `data` (eval mode, no gradients).
    public func scores(_ data: Dataset) throws -> [Float] {
        try scoresAndFeatureErrors(data, featureErrors: false).scores
    }

    /// Scores, and each sample's error per feature [N, F]: F is a sample's last axis (the columns
    /// of a table or of a time-series window), the error averaged over the other axes. The error is
    /// absolute for `l1`, squared otherwise (for `elbo`, of the reconstruction from the mean code).
    public func scoresAndFeatureErrors(_ data: Dataset) throws -> (scores: [Float], featureErrors: Tensor) {
        let r = try scoresAndFeatureErrors(data, featureErrors: true)
        return (r.scores, r.featureErrors!)
    }

    private func scoresAndFeatureErrors(_ data: Dataset, featureErrors wanted: Bool) throws -> (scores: [Float], featureErrors: Tensor?) {
        try model.checkInput(data.sampleShape, source: data.source)
        model.eval()
        let vae = score == .elbo ? try variationalObjective(of: model) : nil
        if score == .elbo && vae == nil {
            throw BottleneckError("score elbo: model '\(model.spec.name)' has no variational objective to measure it with")
        }
        // The error behind the scores and feature errors (for elbo, of the mean code's reconstruction).
        let kind: LossKind = score == .l1 ? .l1 : .mse
        var scores: [Float] = [], featureRows: [Tensor] = []
        scores.reserveCapacity(data.count)
        let rng = RandomGenerator(seed: seed)
        withoutGradients {
            for x in data.sequentialBatches(size: batchSize) {
                if let vae {
                    scores += vae.negativeELBOPerSample(model, x, rng: rng, latentSamples: elboSamples).total.map { Float($0) }
                }
                guard score != .elbo || wanted else { continue }
                let h = model.encode(x)
                // The code scores alone need no reconstruction unless feature errors are asked for.
                let r = (score == .code || score == .knn) && !wanted ? nil : model.decode(h)
                if let calibration {
                    let flat = h.reshaped([h.shape[0], h.count / max(h.shape[0], 1)])
                    let neighbourScores = score == .knn || score == .combined ? calibration.neighbours.map { CodeNeighbours.scores(flat, $0) } : nil
                    if score == .knn {
                        scores += neighbourScores ?? []  // init checked they are stored
                    } else if score == .code {
                        scores += CodeGaussian.distances(flat, calibration)
                    } else if let r {
                        let recon = SampleMetrics.perSample(.mse, r, x), codeScores = CodeGaussian.distances(flat, calibration)
                        scores += (0..<recon.count).map { i in
                            calibration.combined(reconstruction: Float(recon[i]), code: codeScores[i], neighbour: neighbourScores?[i])
                        }
                    }
                } else if score != .elbo, let r {
                    scores += SampleMetrics.perSample(kind, r, x).map { Float($0) }
                }
                if wanted, let r { featureRows.append(SampleMetrics.perFeature(kind, r, x)) }
            }
        }
        guard wanted else { return (scores, nil) }
        let features = data.sampleShape.last ?? 1
        return (scores, featureRows.isEmpty ? Tensor(shape: [0, features]) : featureRows.count == 1 ? featureRows[0] : Tensor.concat(featureRows, axis: 0))
    }

    /// The `count` features with the largest errors in row `row` of `featureErrors`, largest first.
    public static func topFeatures(_ featureErrors: Tensor, row: Int, count: Int) -> [(feature: Int, error: Float)] {
        let f = featureErrors.shape[1], base = featureErrors.data + row * f
        let order = (0..<f).sorted { (a: Int, b: Int) -> Bool in base[a] > base[b] || (base[a] == base[b] && a < b) }
        return order.prefix(count).map { (feature: $0, error: base[$0]) }
    }
}

/// Ground truth for detection: which samples are anomalies.
public enum AnomalyLabels {
    /// Anomaly flags from class labels: with `normalClasses`, labels outside the set are anomalies;
    /// without, labels must be 0 (normal) or 1 (anomaly), else nil (the labels are classes and it is
    /// not known which are normal).
    public static func anomalies(labels: [Int], normalClasses: Set<Int>?) -> [Bool]? {
        if let normalClasses { return labels.map { !normalClasses.contains($0) } }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { return nil }
        return labels.map { $0 == 1 }
    }

    /// Window labels from row labels: a window of `length` rows every `stride` rows is anomalous
    /// when any of its rows is (windows as `TimeSeries.windows` cuts them).
    public static func windows(rowAnomalies rows: [Bool], length: Int, stride: Int) -> [Bool] {
        guard rows.count >= length, length >= 1, stride >= 1 else { return [] }
        // Prefix counts make each window O(1).
        var prefix = [0]
        prefix.reserveCapacity(rows.count + 1)
        for r in rows { prefix.append(prefix.last! + (r ? 1 : 0)) }
        return (0...(rows.count - length) / stride).map { w in prefix[w * stride + length] - prefix[w * stride] > 0 }
    }
}

/// Parses a list of class labels such as "0,1,7"; `flag` names the option in messages.
public func parseClassList(_ text: String, field: ConfigField) throws -> Set<Int> {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    var classes = Set<Int>()
    for p in parts {
        guard let c = Int(p), c >= 0 else {
            throw BottleneckError.invalid(field, "must list non-negative class labels separated by commas, e.g. 0,1; got '\(text)'")
        }
        classes.insert(c)
    }
    return classes
}
