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
    /// Training codes for the neighbour score (absent in files written before it existed).
    public var neighbours: NeighbourCodes?

    public init(codeMean: [Float], whitening: [Float], shrinkage: Double, reconstruction: LogScale, code: LogScale,
                neighbours: NeighbourCodes? = nil) {
        precondition(whitening.count == codeMean.count * codeMean.count, "ScoreCalibration: W must be d x d")
        precondition(neighbours.map { $0.codeSize == codeMean.count } ?? true, "ScoreCalibration: neighbour codes of another size")
        (self.codeMean, self.whitening, self.shrinkage, self.reconstruction, self.code) = (codeMean, whitening, shrinkage, reconstruction, code)
        self.neighbours = neighbours
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
        let neighbours = try c.decodeIfPresent(NeighbourCodes.self, forKey: .neighbours)
        for scale in [r, k] + (neighbours.map { [$0.scale] } ?? []) where !scale.isValid {
            throw corrupt("a log scale needs a finite mean, a positive spread and a non-negative floor")
        }
        if let neighbours, neighbours.codeSize != mean.count {
            throw corrupt("neighbour codes of \(neighbours.codeSize) values, the Gaussian's of \(mean.count)")
        }
        self.init(codeMean: mean, whitening: w, shrinkage: shrinkage, reconstruction: r, code: k, neighbours: neighbours)
    }

    /// The combined score of a sample from its parts (the neighbour score where one is stored).
    public func combined(reconstruction r: Float, code c: Float, neighbour n: Float? = nil) -> Float {
        var sum = reconstruction.standardized(r) + code.standardized(c), parts = 2.0
        if let n, let neighbours { sum += neighbours.scale.standardized(n); parts += 1 }
        return Float(sum / parts)
    }
}

/// The neighbour score's reference: training codes (at most `NeighbourCodes.maximumCount`,
/// evenly spaced through the training data) and how many nearest of them a score averages.
public struct NeighbourCodes: Codable, Equatable {
    /// Codes [count, codeSize], row-major.
    public var codes: [Float]
    public var codeSize: Int
    /// Neighbours averaged (k).
    public var k: Int
    /// Log neighbour scores of the training data (each left out of its own reference).
    public var scale: LogScale

    /// Beyond this many, codes are subsampled: the file stays small and a score costs
    /// count x codeSize multiply-adds.
    public static let maximumCount = 2048

    public init(codes: [Float], codeSize: Int, k: Int, scale: LogScale) {
        precondition(codeSize >= 1 && codes.count % codeSize == 0 && k >= 1 && k <= codes.count / codeSize, "NeighbourCodes: bad sizes")
        (self.codes, self.codeSize, self.k, self.scale) = (codes, codeSize, k, scale)
    }

    public var count: Int { codes.count / codeSize }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let codes = try c.decode([Float].self, forKey: .codes), d = try c.decode(Int.self, forKey: .codeSize), k = try c.decode(Int.self, forKey: .k)
        let scale = try c.decode(LogScale.self, forKey: .scale)
        guard d >= 1, codes.count % d == 0, k >= 1, k <= codes.count / d, codes.count / d <= Self.maximumCount else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription:
                "neighbour codes: \(codes.count) values of size \(d) with k = \(k) (needs whole codes, 1 <= k <= count <= \(Self.maximumCount))"))
        }
        guard codes.allSatisfy(\.isFinite) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "neighbour codes: non-finite values"))
        }
        self.init(codes: codes, codeSize: d, k: k, scale: scale)
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

    var isValid: Bool { mean.isFinite && std.isFinite && std > 0 && floor.isFinite && floor >= 0 }

    public func standardized(_ score: Float) -> Double { (Foundation.log(max(Double(score), 0) + floor) - mean) / std }
}
