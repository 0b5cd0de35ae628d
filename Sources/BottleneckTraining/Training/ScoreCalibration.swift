import Foundation
import BottleneckCore

/// What the code and combined anomaly scores need beyond the model, fitted on training data
/// without labels and stored with the detector: a Gaussian of the training codes (its mean and a
/// whitening matrix W, so the squared Mahalanobis distance of a code z is |W (z - mean)|^2), and
/// the location and spread of the logarithms of both training scores, which put the two on one
/// scale for the combined score. Values only; `CodeGaussian` (Apps) fits it.
public struct ScoreCalibration: Codable, Equatable {
    /// The training codes' mean [d].
    public var codeMean: [Float]
    /// W [d, d] row-major: rows are the covariance's eigenvectors over the square roots of their
    /// eigenvalues (covariance shrunk towards a multiple of the identity, Ledoit-Wolf).
    public var whitening: [Float]
    /// The Ledoit-Wolf shrinkage used, in [0, 1].
    public var shrinkage: Double
    /// Log reconstruction (mse) scores of the training data.
    public var reconstruction: LogScale
    /// Log code scores of the training data.
    public var code: LogScale

    public init(codeMean: [Float], whitening: [Float], shrinkage: Double, reconstruction: LogScale, code: LogScale) {
        precondition(whitening.count == codeMean.count * codeMean.count, "ScoreCalibration: W must be d x d")
        (self.codeMean, self.whitening, self.shrinkage, self.reconstruction, self.code) = (codeMean, whitening, shrinkage, reconstruction, code)
    }

    public var codeSize: Int { codeMean.count }

    /// Decoding checks what scoring indexes and divides by: a model file is input like any other.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try c.decode([Float].self, forKey: .codeMean), w = try c.decode([Float].self, forKey: .whitening)
        let shrinkage = try c.decode(Double.self, forKey: .shrinkage)
        let (r, k) = (try c.decode(LogScale.self, forKey: .reconstruction), try c.decode(LogScale.self, forKey: .code))
        func corrupt(_ what: String) -> DecodingError { .dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "score calibration: \(what)")) }
        guard !mean.isEmpty, w.count == mean.count * mean.count else {
            throw corrupt("a whitening matrix of \(w.count) values for a code of \(mean.count) (needs \(mean.count * mean.count), at least 1)")
        }
        guard mean.allSatisfy(\.isFinite), w.allSatisfy(\.isFinite) else { throw corrupt("non-finite code mean or whitening values") }
        guard (0...1).contains(shrinkage) else { throw corrupt("shrinkage \(shrinkage) outside [0, 1]") }
        for scale in [r, k] where !(scale.mean.isFinite && scale.std.isFinite && scale.std > 0 && scale.floor.isFinite && scale.floor >= 0) {
            throw corrupt("a log scale needs a finite mean, a positive spread and a non-negative floor")
        }
        self.init(codeMean: mean, whitening: w, shrinkage: shrinkage, reconstruction: r, code: k)
    }

    /// The combined score of a sample from its two parts.
    public func combined(reconstruction r: Float, code c: Float) -> Float {
        Float((reconstruction.standardized(r) + code.standardized(c)) / 2)
    }
}

/// Location and spread of log(score + floor): scores are positive and skewed, their logarithms
/// close to symmetric, so standardised logs of two scores are comparable.
public struct LogScale: Codable, Equatable {
    public var mean: Double
    public var std: Double
    /// Added before the logarithm: a small fraction of the median score, so zero stays finite.
    public var floor: Double

    public init(mean: Double, std: Double, floor: Double) { (self.mean, self.std, self.floor) = (mean, std, floor) }

    /// Fits the scale on training scores.
    public init(fitting scores: [Float]) {
        let sorted = scores.map(Double.init).sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let f = max(median * 1e-3, 1e-12)
        let logs = sorted.map { Foundation.log(max($0, 0) + f) }
        let n = Double(max(logs.count, 1))
        let m = logs.reduce(0, +) / n
        let variance = logs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n
        (mean, std, floor) = (m, max(variance.squareRoot(), 1e-12), f)
    }

    public func standardized(_ score: Float) -> Double { (Foundation.log(max(Double(score), 0) + floor) - mean) / std }
}
