import Foundation

// Anomaly detection by reconstruction: a model trained on normal data reconstructs normal samples
// well and anomalies badly, so the reconstruction error (or a VAE's negative ELBO) is the score,
// and samples scoring above a threshold fitted on training scores are flagged.

/// Computes anomaly scores (and per-feature errors that explain them) with a trained model.
public struct AnomalyScorer {
    public let model: Autoencoder
    public let score: AnomalyScore
    /// ELBO: latent samples averaged per input (drawn from a generator of `seed`: repeatable).
    public let elboSamples: Int
    public let seed: UInt64
    public var batchSize = 500

    public init(model: Autoencoder, score: AnomalyScore, elboSamples: Int = 8, seed: UInt64 = 0) throws {
        if score == .elbo && !model.isVariational {
            throw BottleneckError("--score elbo needs a VAE, model '\(model.spec.name)' is a \(model.spec.variant?.kind ?? "plain") autoencoder (use mse or l1)")
        }
        guard elboSamples >= 1 else { throw BottleneckError("--elbo-samples must be at least 1, got \(elboSamples)") }
        self.model = model
        self.score = score
        self.elboSamples = elboSamples
        self.seed = seed
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
        let features = data.sampleShape.last ?? 1, perSample = data.featureCount
        let featureErrors = wanted ? Tensor(shape: [data.count, features]) : nil
        var scores: [Float] = []
        scores.reserveCapacity(data.count)
        let rng = RandomGenerator(seed: seed)
        withoutGradients {
            var row0 = 0
            for x in data.sequentialBatches(size: batchSize) {
                let n = x.shape[0]
                if score == .elbo {
                    scores += negativeELBO(x, rng: rng)
                }
                if score != .elbo || featureErrors != nil {
                    let r = model(x)
                    let absolute = score == .l1
                    withExtendedLifetime(r) {
                        for i in 0..<n {
                            let p = r.data + i * perSample, t = x.data + i * perSample
                            var acc: Double = 0
                            for j in 0..<perSample {
                                let d = p[j] - t[j]
                                acc += Double(absolute ? Swift.abs(d) : d * d)
                            }
                            if score != .elbo { scores.append(Float(acc / Double(perSample))) }
                            if let fe = featureErrors?.data.advanced(by: (row0 + i) * features) {
                                // Rows of `features` values: the last axis of the sample.
                                for s in stride(from: 0, to: perSample, by: features) {
                                    for j in 0..<features {
                                        let d = p[s + j] - t[s + j]
                                        fe[j] += absolute ? Swift.abs(d) : d * d
                                    }
                                }
                            }
                        }
                    }
                }
                row0 += n
            }
        }
        if let featureErrors, perSample > features {
            let scale = Float(features) / Float(perSample)
            for i in 0..<featureErrors.count { featureErrors.data[i] *= scale }
        }
        return (scores, featureErrors)
    }

    /// Per-sample negative ELBO of one batch, with the likelihood the model was trained with.
    private func negativeELBO(_ x: Tensor, rng: RandomGenerator) -> [Float] {
        let n = x.shape[0], d = x.count / max(n, 1)
        let (mean, logVariance) = model.encodeDistribution(x)
        let k = mean.shape[1]
        var total = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var kl = 0.0
            for j in 0..<k {
                let m = mean.data[i * k + j], lv = logVariance.data[i * k + j]
                kl += Double(-0.5 * (1 + lv - m * m - Foundation.exp(lv)))
            }
            total[i] = kl
        }
        let gaussian = likelihood == .gaussian
        let last = model.decoder.layers.last
        let logitsOut = !gaussian && last is Sigmoid
        let std = (logVariance * 0.5).exp()
        for _ in 0..<elboSamples {
            let z = mean + std * Tensor.normal(mean.shape, rng: rng)
            let out = logitsOut ? model.decoder.layers.dropLast().reduce(z) { $1($0) } : model.decode(z)
            withExtendedLifetime(out) {
                for i in 0..<n {
                    let p = out.data + i * d, t = x.data + i * d
                    var acc: Double = 0
                    for j in 0..<d {
                        let v = p[j], y = t[j]
                        if gaussian {
                            acc += Double(0.5 * (v - y) * (v - y))
                        } else if logitsOut {
                            acc += Double(max(v, 0) - v * y + log1p(Foundation.exp(-Swift.abs(v))))
                        } else {
                            acc += Double(-(y * max(Foundation.log(v), -100) + (1 - y) * max(Foundation.log(1 - v), -100)))
                        }
                    }
                    total[i] += acc / Double(elboSamples)
                }
            }
        }
        return total.map { Float($0) }
    }

    private var likelihood: VariationalObjective.Likelihood {
        guard let v = model.spec.variant, let s = Variants.Options(v).stringOrNil("likelihood") else { return .bernoulli }
        return VariationalObjective.Likelihood(rawValue: s) ?? .bernoulli
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
public func parseClassList(_ text: String, flag: String) throws -> Set<Int> {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    var classes = Set<Int>()
    for p in parts {
        guard let c = Int(p), c >= 0 else {
            throw BottleneckError("\(flag) must list non-negative class labels separated by commas, e.g. 0,1; got '\(text)'")
        }
        classes.insert(c)
    }
    return classes
}
