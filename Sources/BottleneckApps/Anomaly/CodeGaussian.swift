import Foundation
import BottleneckCore
import BottleneckTraining

/// The Gaussian of a model's training codes behind the `code` anomaly score. The covariance is
/// shrunk towards a multiple of the identity by the Ledoit-Wolf estimate (scikit-learn's
/// `LedoitWolf`): codes of 128 units fitted on a few hundred samples, or with units a ReLU never
/// opens, would otherwise give a singular matrix.
public enum CodeGaussian {
    /// Fits the Gaussian on `codes` [N, d] (N >= 2), and the log scales of the training code and
    /// reconstruction scores that the combined score standardises with.
    public static func calibration(codes: Tensor, reconstructionScores: [Float]) throws -> ScoreCalibration {
        let n = codes.shape[0], d = codes.count / max(n, 1)
        guard n >= 2 else { throw BottleneckError("the code score's Gaussian needs at least 2 training samples, got \(n)") }
        guard codes.count == n * d, d >= 1 else { throw BottleneckError("the code score needs codes of at least one value") }
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { let row = codes.data + r * d; for j in 0..<d { mean[j] += Double(row[j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        let centered = Tensor(shape: [n, d], zeroed: false)
        var fourthMoments = 0.0  // sum over samples of |x_i|^4, for the shrinkage estimate
        for r in 0..<n {
            var norm = 0.0
            for j in 0..<d {
                let v = Float(Double(codes.data[r * d + j]) - mean[j])
                centered.data[r * d + j] = v
                norm += Double(v) * Double(v)
            }
            fourthMoments += norm * norm
        }
        let covariance = Tensor(shape: [d, d])
        sgemm(transA: true, m: d, n: d, k: n, alpha: 1 / Float(n), a: centered.data, lda: d, b: centered.data, ldb: d, c: covariance.data, ldc: d)
        let s = covariance.data
        var trace = 0.0, squares = 0.0
        for i in 0..<d { trace += Double(s[i * d + i]) }
        for i in 0..<(d * d) { squares += Double(s[i]) * Double(s[i]) }
        // Ledoit-Wolf (2004): shrink towards mu I by beta^2 / delta^2, where delta^2 = |S - mu I|_F^2
        // and beta^2 = (1/n^2) sum_i |x_i x_i^T - S|_F^2 = (sum_i |x_i|^4 / n - |S|_F^2) / n.
        let mu = trace / Double(d)
        let delta = squares - Double(d) * mu * mu
        let beta = max((fourthMoments / Double(n) - squares) / Double(n), 0)
        let shrinkage = delta > 0 ? min(beta, delta) / delta : 1
        for i in 0..<(d * d) { s[i] = Float((1 - shrinkage) * Double(s[i])) }
        for i in 0..<d { s[i * d + i] += Float(shrinkage * mu) }
        let eigen = try SymmetricEigen(covariance)
        // Directions with (numerically) no variance: a floor keeps W finite; a code that moves
        // along them is far from every training code, as it should be.
        let floor = Float(max(mu * 1e-6, 1e-12))
        var whitening = [Float](repeating: 0, count: d * d)
        for i in 0..<d {
            let scale = 1 / max(eigen.values[i], floor).squareRoot()
            for j in 0..<d { whitening[i * d + j] = eigen.vectors.data[i * d + j] * scale }
        }
        let partial = ScoreCalibration(codeMean: mean.map { Float($0) }, whitening: whitening, shrinkage: shrinkage,
                                       reconstruction: LogScale(fitting: reconstructionScores), code: LogScale(mean: 0, std: 1, floor: 0))
        var fitted = partial
        fitted.code = LogScale(fitting: distances(codes, partial))
        return fitted
    }

    /// Squared Mahalanobis distances of `codes` [N, d] under `calibration`'s Gaussian. Row by row
    /// in a fixed order, not one GEMM: a sample's score must not depend on the batch it came in
    /// (a server groups requests), and d x d per sample is small beside the model's forward pass.
    public static func distances(_ codes: Tensor, _ calibration: ScoreCalibration) -> [Float] {
        let d = calibration.codeSize, n = codes.count / max(d, 1)
        precondition(codes.count == n * d, "code score: codes of \(codes.count / max(codes.shape.first ?? 1, 1)) values, the Gaussian has \(d)")
        var centered = [Float](repeating: 0, count: d)
        return calibration.whitening.withUnsafeBufferPointer { w in
            (0..<n).map { r in
                let row = codes.data + r * d
                for j in 0..<d { centered[j] = row[j] - calibration.codeMean[j] }
                var sum: Float = 0
                for i in 0..<d {
                    var v: Float = 0
                    for j in 0..<d { v += w[i * d + j] * centered[j] }
                    sum += v * v
                }
                return sum
            }
        }
    }
}
