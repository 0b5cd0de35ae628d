import Foundation
import BottleneckCore

/// Reconstruction quality outside the autodiff graph: per-sample and per-feature errors, the
/// Gaussian KL, PSNR. Evaluation, anomaly scoring, the benchmark, restoration, compression and the
/// PCA comparison all compute their figures here.
///
/// The elementwise terms are the training losses' own kernels (`mseLoss`, `l1Loss`, `bceLoss`,
/// `bceWithLogitsLoss`): each term in Float, added in Double. So BCE has one clamping rule, the
/// training loss's (each log clamped at -100, as PyTorch), and a metric equals the training loss
/// on the same values. The one sigmoid-folding rule (a final sigmoid folded into BCE from logits)
/// is `Autoencoder.decodeForLoss`: callers pass the output and loss kind it gives.
///
/// Units: an error is a mean per value (RMSE: the root of the mean squared error), a sum is over
/// a sample's values (nats for BCE), a KL is in nats per sample, a PSNR in dB for peak value 1.
public enum SampleMetrics {
    /// The sum over `count` values of the elementwise term of `kind`: (p - t)^2 for mse and rmse,
    /// |p - t| for l1, -(t log p + (1 - t) log(1 - p)) with each log clamped at -100 for bce, and
    /// max(x, 0) - x t + log(1 + e^-|x|) for bce-logits (`prediction` holds logits).
    public static func termSum(_ kind: LossKind, _ prediction: UnsafePointer<Float>, _ target: UnsafePointer<Float>, count: Int) -> Double {
        switch kind {
        case .mse, .rmse: return MSEKernel.sum(prediction, target, count: count)
        case .l1: return L1Kernel.sum(prediction, target, count: count)
        case .bce: return VectorMath.bceSum(prediction, target, count)
        case .bceLogits: return VectorMath.bceLogitsSum(prediction, target, count)
        }
    }

    /// The sum of the terms of `kind` over every value of two tensors of one size.
    public static func termSum(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> Double {
        precondition(prediction.count == target.count, "\(kind.rawValue): prediction \(formatShape(prediction.shape)) and target \(formatShape(target.shape)) differ")
        return withExtendedLifetime((prediction, target)) { termSum(kind, prediction.data, target.data, count: prediction.count) }
    }

    /// The figure of `kind` from the mean of its terms: the root for rmse, the mean itself otherwise.
    public static func figure(_ kind: LossKind, meanOfTerms: Double) -> Double {
        kind == .rmse ? meanOfTerms.squareRoot() : meanOfTerms
    }

    /// The loss of `kind` over every value (what `reconstructionLoss(kind, prediction, target)`
    /// gives, in Double; RMSE without the loss's 1e-12 that keeps its gradient finite).
    public static func mean(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> Double {
        figure(kind, meanOfTerms: termSum(kind, prediction, target) / Double(max(prediction.count, 1)))
    }

    /// Each sample's sum of the terms of `kind` (samples along axis 0): for bce or bce-logits, the
    /// negative log-likelihood of a Bernoulli decoder in nats; for mse, twice a unit Gaussian's.
    public static func perSampleSum(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> [Double] {
        let (n, d) = rows(prediction, target, kind)
        return withExtendedLifetime((prediction, target)) {
            (0..<n).map { termSum(kind, prediction.data + $0 * d, target.data + $0 * d, count: d) }
        }
    }

    /// Each sample's error of `kind`: the mean of its terms over the sample's values (rmse: the root
    /// of the sample's mean squared error).
    public static func perSample(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> [Double] {
        let d = Double(max(rows(prediction, target, kind).valuesPerSample, 1))
        return perSampleSum(kind, prediction, target).map { figure(kind, meanOfTerms: $0 / d) }
    }

    /// Each sample's error of `kind` per feature, [N, F]: F is the last axis of a sample (the
    /// columns of a table or of a time-series window); the terms are averaged over the other axes
    /// (rmse: the root of that mean). For mse and l1 the mean over features is the sample's error.
    public static func perFeature(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> Tensor {
        let (n, d) = rows(prediction, target, kind)
        let features = prediction.rank >= 2 ? prediction.shape[prediction.rank - 1] : 1
        let out = Tensor(shape: [n, features])
        let steps = d / max(features, 1)
        withExtendedLifetime((prediction, target)) {
            for i in 0..<n {
                let p = prediction.data + i * d, t = target.data + i * d, row = out.data + i * features
                for j in 0..<features {
                    var sum = 0.0
                    // Feature j of step s sits at s * features + j: one term at a time.
                    for s in 0..<steps { sum += termSum(kind, p + s * features + j, t + s * features + j, count: 1) }
                    row[j] = Float(figure(kind, meanOfTerms: sum / Double(max(steps, 1))))
                }
            }
        }
        return out
    }

    /// KL(N(mean, exp(logVariance)) || N(0, I)) of each sample, summed over its latent units:
    /// -0.5 sum(1 + lv - m^2 - e^lv), the term of the training loss `gaussianKL`.
    public static func gaussianKL(mean: Tensor, logVariance: Tensor) -> [Double] {
        precondition(mean.shape == logVariance.shape, "gaussianKL: mean \(formatShape(mean.shape)) and log-variance \(formatShape(logVariance.shape)) differ")
        let n = mean.shape.first ?? 1, k = mean.count / max(n, 1)
        return withExtendedLifetime((mean, logVariance)) {
            (0..<n).map { GaussianKLKernel.sum(mean.data + $0 * k, logVariance.data + $0 * k, count: k) }
        }
    }

    /// Each sample's negative ELBO for one latent draw, in nats: `scale` times the sum of the
    /// terms of `kind` over the sample's values (the decoder's negative log-likelihood: bce or
    /// bce-logits with scale 1 for a Bernoulli decoder, mse with scale 0.5 for a unit Gaussian,
    /// constants left out as the training loss leaves them), plus the sample's KL.
    public static func negativeELBO(_ kind: LossKind, scale: Double = 1, prediction: Tensor, target: Tensor, kl: [Double]) -> [Double] {
        let nll = perSampleSum(kind, prediction, target)
        precondition(nll.count == kl.count, "negativeELBO: \(nll.count) samples and \(kl.count) KL values")
        return zip(nll, kl).map { scale * $0 + $1 }
    }

    /// The sum of (a - b)^2 over the values where `mask` is true (`mask.count` values from each).
    public static func squaredErrorSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, where mask: [Bool]) -> (sum: Double, count: Int) {
        var sum = 0.0, count = 0
        for (j, selected) in mask.enumerated() where selected {
            sum += termSum(.mse, a + j, b + j, count: 1)
            count += 1
        }
        return (sum, count)
    }

    /// The sum of (a - b)^2 over 8-bit values, in units of 1/255 (data in [0, 1]).
    public static func squaredErrorSum(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        precondition(a.count == b.count, "squaredErrorSum: \(a.count) and \(b.count) values")
        var sum = 0
        for i in 0..<a.count { let d = Int(a[i]) - Int(b[i]); sum += d * d }
        return Double(sum) / (255 * 255)
    }

    /// Peak signal-to-noise ratio in dB of a mean squared error, for data of peak value 1:
    /// 10 log10(1 / mse). The error is floored at 1e-12, so identical data give 120 dB, a finite
    /// figure that JSON can hold.
    public static func psnr(mse: Double) -> Double { 10 * log10(1 / max(mse, 1e-12)) }

    /// The mean squared error of a PSNR in dB (peak value 1): `psnr(mse:)`'s inverse above its floor.
    public static func mse(psnr: Double) -> Double { pow(10, -psnr / 10) }

    /// [N, values per sample] of two tensors of one size, samples along axis 0.
    private static func rows(_ prediction: Tensor, _ target: Tensor, _ kind: LossKind) -> (samples: Int, valuesPerSample: Int) {
        precondition(prediction.count == target.count, "\(kind.rawValue): prediction \(formatShape(prediction.shape)) and target \(formatShape(target.shape)) differ")
        let n = prediction.shape.first ?? 1
        return (n, n == 0 ? 0 : prediction.count / n)
    }
}

/// The mean squared error over every value of two tensors of one size.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Double { SampleMetrics.mean(.mse, a, b) }

/// Peak signal-to-noise ratio in dB for data with peak value 1 (`SampleMetrics.psnr(mse:)`).
public func psnr(mse: Double) -> Double { SampleMetrics.psnr(mse: mse) }

/// PSNR of `a` against `b` over all their values, for data with peak value 1.
public func psnr(_ a: Tensor, _ b: Tensor) -> Double { SampleMetrics.psnr(mse: meanSquaredError(a, b)) }

/// Per-sample reconstruction error of `kind` (`SampleMetrics.perSample`), in Float: anomaly scores.
public func reconstructionError(_ prediction: Tensor, _ target: Tensor, kind: LossKind = .mse) -> [Float] {
    SampleMetrics.perSample(kind, prediction, target).map { Float($0) }
}
