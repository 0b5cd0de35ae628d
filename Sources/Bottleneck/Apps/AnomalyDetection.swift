import Foundation

/// Anomaly detection by reconstruction: a model trained on normal data reconstructs normal samples
/// well and anomalies badly, so the reconstruction error (or a VAE's negative ELBO) is the score,
/// and samples scoring above a threshold fitted on training scores are flagged.
public enum AnomalyScore: String, Codable, CaseIterable, Sendable {
    /// Mean squared reconstruction error per sample.
    case mse
    /// Mean absolute reconstruction error per sample.
    case l1
    /// A VAE's negative ELBO per sample: reconstruction negative log-likelihood summed over values
    /// plus KL(q(z|x) || N(0, I)), averaged over latent samples.
    case elbo

    public static func named(_ name: String) throws -> AnomalyScore {
        guard let s = AnomalyScore(rawValue: name.lowercased()) else {
            throw BottleneckError("--score must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        return s
    }
}

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
            throw BottleneckError("--score elbo needs a VAE, model '\(model.spec.name)' is a \(model.spec.variant?.kind.name ?? "plain") autoencoder (use mse or l1)")
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
        guard case .vae(_, _, let likelihood)? = model.spec.variant?.kind else { return .bernoulli }
        return likelihood
    }

    /// The `count` features with the largest errors in row `row` of `featureErrors`, largest first.
    public static func topFeatures(_ featureErrors: Tensor, row: Int, count: Int) -> [(feature: Int, error: Float)] {
        let f = featureErrors.shape[1], base = featureErrors.data + row * f
        let order = (0..<f).sorted { (a: Int, b: Int) -> Bool in base[a] > base[b] || (base[a] == base[b] && a < b) }
        return order.prefix(count).map { (feature: $0, error: base[$0]) }
    }
}

/// How the threshold is chosen from the training scores. A sample is flagged when its score is
/// strictly above the threshold.
public enum ThresholdRule: Equatable, CustomStringConvertible {
    /// This fraction of the training scores lies above the threshold (percentile 100 (1 - f)).
    case contamination(Double)
    /// The P-th percentile of the training scores (linear interpolation, as numpy).
    case percentile(Double)
    /// Mean + k standard deviations (population) of the training scores.
    case sigma(Double)
    /// The largest training score: no training sample is flagged.
    case max
    /// A value given by the user.
    case value(Double)

    public var description: String {
        switch self {
        case .contamination(let f): return "contamination \(f)"
        case .percentile(let p): return "percentile \(p)"
        case .sigma(let k): return "mean + \(k) std"
        case .max: return "max training score"
        case .value(let v): return "explicit value \(v)"
        }
    }

    /// Whether the rule needs training scores (all but an explicit value).
    public var needsScores: Bool { if case .value = self { return false } else { return true } }

    /// Throws a one-line error naming the flag when the rule's parameter is out of range.
    public func validate() throws {
        switch self {
        case .contamination(let f):
            guard f > 0, f < 1 else { throw BottleneckError("--contamination must be a fraction in (0, 1), got \(f)") }
        case .percentile(let p):
            guard p >= 0, p <= 100 else { throw BottleneckError("--percentile must be in [0, 100], got \(p)") }
        case .sigma(let k):
            guard k.isFinite, k >= 0 else { throw BottleneckError("--sigma must be a non-negative number of standard deviations, got \(k)") }
        case .value(let v):
            guard v.isFinite else { throw BottleneckError("--threshold must be a finite number, got \(v)") }
        case .max: break
        }
    }

    /// The threshold for `scores` (training scores; unused for an explicit value).
    public func threshold(for scores: [Float]) throws -> Double {
        try validate()
        if case .value(let v) = self { return v }
        guard !scores.isEmpty else { throw BottleneckError("fitting a threshold (\(self)) needs at least one training score") }
        let stats = ScoreStatistics(scores)
        switch self {
        case .contamination(let f): return ScoreStatistics.percentile(sorted: stats.sorted, 100 * (1 - f))
        case .percentile(let p): return ScoreStatistics.percentile(sorted: stats.sorted, p)
        case .sigma(let k): return stats.mean + k * stats.std
        case .max: return stats.max
        case .value(let v): return v
        }
    }
}

extension ThresholdRule: Codable {
    private enum CodingKeys: String, CodingKey { case rule, parameter }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .rule)
        let p = try c.decodeIfPresent(Double.self, forKey: .parameter)
        func parameter() throws -> Double {
            guard let p else { throw BottleneckError("threshold rule '\(name)' needs a parameter") }
            return p
        }
        switch name {
        case "contamination": self = .contamination(try parameter())
        case "percentile": self = .percentile(try parameter())
        case "sigma": self = .sigma(try parameter())
        case "max": self = .max
        case "value": self = .value(try parameter())
        default: throw BottleneckError("unknown threshold rule '\(name)' (known: contamination, percentile, sigma, max, value)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .contamination(let f): try c.encode("contamination", forKey: .rule); try c.encode(f, forKey: .parameter)
        case .percentile(let p): try c.encode("percentile", forKey: .rule); try c.encode(p, forKey: .parameter)
        case .sigma(let k): try c.encode("sigma", forKey: .rule); try c.encode(k, forKey: .parameter)
        case .max: try c.encode("max", forKey: .rule)
        case .value(let v): try c.encode("value", forKey: .rule); try c.encode(v, forKey: .parameter)
        }
    }
}

/// Summary statistics of a set of scores (the training scores a threshold was fitted on).
public struct ScoreStatistics: Codable, Equatable {
    public var count: Int
    public var mean: Double
    /// Population standard deviation.
    public var std: Double
    public var min: Double
    public var max: Double
    public var median: Double
    public var p95: Double
    public var p99: Double

    /// The scores sorted ascending (not stored).
    var sorted: [Double] = []
    private enum CodingKeys: String, CodingKey { case count, mean, std, min, max, median, p95, p99 }

    public init(_ scores: [Float]) {
        sorted = scores.map(Double.init).sorted()
        count = sorted.count
        let m = sorted.reduce(0, +) / Double(Swift.max(count, 1))
        mean = m
        std = (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(Swift.max(count, 1))).squareRoot()
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        median = Self.percentile(sorted: sorted, 50)
        p95 = Self.percentile(sorted: sorted, 95)
        p99 = Self.percentile(sorted: sorted, 99)
    }

    public static func == (a: ScoreStatistics, b: ScoreStatistics) -> Bool {
        (a.count, a.mean, a.std, a.min, a.max) == (b.count, b.mean, b.std, b.min, b.max)
            && (a.median, a.p95, a.p99) == (b.median, b.p95, b.p99)
    }

    /// The p-th percentile (0...100) of ascending values, interpolating linearly between ranks.
    public static func percentile(sorted v: [Double], _ p: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let h = Double(v.count - 1) * Swift.min(Swift.max(p, 0), 100) / 100
        let lo = Int(h.rounded(.down)), hi = Swift.min(lo + 1, v.count - 1)
        return v[lo] + (h - Double(lo)) * (v[hi] - v[lo])
    }
}

/// A fitted anomaly detector: which score, which rule, the threshold it gave and the training
/// scores it came from. Stored in the model file as the JSON document "detector".
public struct Detector: Codable, Equatable {
    public static let documentKey = "detector"

    public var score: AnomalyScore
    public var rule: ThresholdRule
    public var threshold: Double
    /// Statistics of the training scores the threshold was fitted on (nil for an explicit value).
    public var training: ScoreStatistics?
    /// What the threshold was fitted on, for messages.
    public var fittedOn: String?
    /// Labels that count as normal (anomalies are the other classes), when known.
    public var normalClasses: [Int]?
    /// ELBO scores: latent samples per input.
    public var elboSamples: Int?

    public init(score: AnomalyScore, rule: ThresholdRule, threshold: Double, training: ScoreStatistics? = nil,
                fittedOn: String? = nil, normalClasses: [Int]? = nil, elboSamples: Int? = nil) {
        self.score = score
        self.rule = rule
        self.threshold = threshold
        self.training = training
        self.fittedOn = fittedOn
        self.normalClasses = normalClasses
        self.elboSamples = elboSamples
    }

    /// Fits the threshold of `rule` on `trainingScores` (ignored for an explicit value).
    public static func fit(score: AnomalyScore, rule: ThresholdRule, trainingScores: [Float], fittedOn: String? = nil,
                           normalClasses: [Int]? = nil, elboSamples: Int? = nil) throws -> Detector {
        let t = try rule.threshold(for: trainingScores)
        return Detector(score: score, rule: rule, threshold: t, training: trainingScores.isEmpty ? nil : ScoreStatistics(trainingScores),
                        fittedOn: fittedOn, normalClasses: normalClasses, elboSamples: score == .elbo ? elboSamples : nil)
    }

    public func isAnomaly(_ score: Float) -> Bool { Double(score) > threshold }
    public func flags(_ scores: [Float]) -> [Bool] { scores.map(isAnomaly) }

    /// The detector stored in a model file's documents, if any.
    public static func stored(in file: ModelFile, source: String) throws -> Detector? {
        try file.document(documentKey, as: Detector.self, source: source)
    }

    /// Writes this detector into the model file at `path` atomically, keeping its weights, other
    /// tensors and other documents as they are.
    public func store(inModelAt path: String) throws {
        var file = try SafeTensors.read(path)
        guard file.metadata["format"] == ModelFile.formatName else {
            throw BottleneckError.file(path, "not a Bottleneck model file (no architecture in its metadata)")
        }
        file.metadata[Self.documentKey] = try jsonString(self)
        try file.write(to: path)
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

extension Dataset {
    /// The samples whose label is in `classes` (one-class training, fitting on normal data).
    /// `flag` names the option in messages.
    public func restricted(toClasses classes: Set<Int>, flag: String = "--classes") throws -> Dataset {
        guard let labels else {
            throw BottleneckError("\(flag) needs labels, and \(source) has none (give --labels or --label-column)")
        }
        let keep = labels.indices.filter { classes.contains(labels[$0]) }
        guard !keep.isEmpty else {
            let present = Set(labels).sorted().map(String.init).joined(separator: ", ")
            throw BottleneckError("\(flag) \(classes.sorted().map(String.init).joined(separator: ",")): no sample of \(source) has such a label (labels present: \(present))")
        }
        return keep.count == count ? self : subset(keep)
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
