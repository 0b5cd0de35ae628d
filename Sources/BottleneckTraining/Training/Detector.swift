import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

// The detector stored in a model bundle: which score, which threshold rule, the threshold and
// the statistics it was fitted on. Value types only; scoring lives in Apps (AnomalyScorer).

public enum AnomalyScore: String, Codable, CaseIterable, Sendable {
    /// Mean squared reconstruction error per sample.
    case mse
    /// Mean absolute reconstruction error per sample.
    case l1
    /// A VAE's negative ELBO per sample: reconstruction negative log-likelihood summed over values
    /// plus KL(q(z|x) || N(0, I)), averaged over latent samples.
    case elbo
    /// The squared Mahalanobis distance of the sample's code (a VAE's mean code) from a Gaussian
    /// fitted on the training codes: it sees anomalies the decoder happens to rebuild well.
    case code
    /// The mean distance from the sample's code to its nearest training codes: sees anomalies
    /// between the modes of normal data, which one Gaussian covers.
    case knn
    /// Reconstruction (mse), code and knn scores, each standardised on the logarithms of the
    /// training scores, averaged.
    case combined

    /// `recon` names the reconstruction error (mse).
    public static func named(_ name: String) throws -> AnomalyScore {
        let lower = name.lowercased()
        guard let s = lower == "recon" ? .mse : AnomalyScore(rawValue: lower) else {
            throw BottleneckError.invalid(.score, "must be one of recon, \(allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        return s
    }

    /// Whether the score needs a `ScoreCalibration` fitted on training data.
    public var needsCalibration: Bool { self == .code || self == .knn || self == .combined }
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
            guard f > 0, f < 1 else { throw BottleneckError.invalid(.contamination, "must be a fraction in (0, 1), got \(f)") }
        case .percentile(let p):
            guard p >= 0, p <= 100 else { throw BottleneckError.invalid(.percentile, "must be in [0, 100], got \(p)") }
        case .sigma(let k):
            guard k.isFinite, k >= 0 else { throw BottleneckError.invalid(.sigma, "must be a non-negative number of standard deviations, got \(k)") }
        case .value(let v):
            guard v.isFinite else { throw BottleneckError.invalid(.threshold, "must be a finite number, got \(v)") }
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
/// scores it came from. Stored in a model bundle (`TrainedModel.detector`).
public struct Detector: Codable, Equatable {
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
    /// Code and combined scores: the training codes' Gaussian and the parts' normalisation.
    public var calibration: ScoreCalibration?

    public init(score: AnomalyScore, rule: ThresholdRule, threshold: Double, training: ScoreStatistics? = nil,
                fittedOn: String? = nil, normalClasses: [Int]? = nil, elboSamples: Int? = nil, calibration: ScoreCalibration? = nil) {
        self.score = score
        self.rule = rule
        self.threshold = threshold
        self.training = training
        self.fittedOn = fittedOn
        self.normalClasses = normalClasses
        self.elboSamples = elboSamples
        self.calibration = calibration
    }

    /// Fits the threshold of `rule` on `trainingScores` (ignored for an explicit value).
    public static func fit(score: AnomalyScore, rule: ThresholdRule, trainingScores: [Float], fittedOn: String? = nil,
                           normalClasses: [Int]? = nil, elboSamples: Int? = nil, calibration: ScoreCalibration? = nil) throws -> Detector {
        if score.needsCalibration && calibration == nil { throw BottleneckError("a \(score.rawValue) detector needs a calibration fitted on training codes") }
        let t = try rule.threshold(for: trainingScores)
        return Detector(score: score, rule: rule, threshold: t, training: trainingScores.isEmpty ? nil : ScoreStatistics(trainingScores),
                        fittedOn: fittedOn, normalClasses: normalClasses, elboSamples: score == .elbo ? elboSamples : nil,
                        calibration: score.needsCalibration ? calibration : nil)
    }

    public func isAnomaly(_ score: Float) -> Bool { Double(score) > threshold }
    public func flags(_ scores: [Float]) -> [Bool] { scores.map(isAnomaly) }

    /// Writes this detector into the model file at `path` atomically, keeping its weights and
    /// other documents byte for byte.
    public func store(inModelAt path: String) throws {
        var file = try ModelFile.read(path)
        file.documents[.detector] = try jsonString(self)
        try file.write(to: path)
    }
}
