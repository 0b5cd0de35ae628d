import Foundation
import BottleneckCore

/// How a loss reduces its elementwise terms to a scalar.
public enum Reduction: String, Codable, Sendable {
    /// Mean over every element (PyTorch's default).
    case mean
    /// Sum over every element.
    case sum
    /// Sum over each sample's elements, averaged over the batch (the VAE's per-image loss).
    case batchMean
}

/// The reconstruction losses an autoencoder is trained with.
public enum LossKind: String, Codable, CaseIterable, Sendable {
    case mse, l1, rmse, bce, bceLogits = "bce-logits"
}

/// Fused elementwise loss: forward and backward in one pass each, no graph of intermediate ops.
/// `sum(p, t, n)` is the sum of the elementwise terms (a kernel `SampleMetrics` shares), `dp`/`dt`
/// the terms' partial derivatives.
func elementwiseLoss(_ p: Tensor, _ t: Tensor, _ reduction: Reduction, name: String,
                     sum: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Double,
                     dp: @escaping (Float, Float) -> Float,
                     dt: ((Float, Float) -> Float)? = nil) -> Tensor {
    precondition(p.shape == t.shape, "\(name): prediction \(p.shape) and target \(t.shape) differ")
    let scale = reductionScale(p, reduction)
    let out = Tensor.result(shape: [], parents: [p, t]) { out in
        let g = out.grad![0] * scale
        if p.requiresGrad { let d = p.gradBuffer(); for i in 0..<p.count { d[i] += g * dp(p.data[i], t.data[i]) } }
        if t.requiresGrad, let dt { let d = t.gradBuffer(); for i in 0..<t.count { d[i] += g * dt(p.data[i], t.data[i]) } }
    }
    out.data[0] = Float(sum(p.data, t.data, p.count)) * scale
    return out
}

private func reductionScale(_ p: Tensor, _ reduction: Reduction) -> Float {
    switch reduction {
    case .mean: return 1 / Float(max(p.count, 1))
    case .sum: return 1
    case .batchMean: return 1 / Float(max(p.shape.first ?? 1, 1))
    }
}

public func mseLoss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    let p = prediction, t = target
    precondition(p.shape == t.shape, "mse: prediction \(p.shape) and target \(t.shape) differ")
    let scale = reductionScale(p, reduction)
    let out = Tensor.result(shape: [], parents: [p, t]) { out in
        let g = out.grad![0] * scale
        if p.requiresGrad {
            let (d, accumulate) = p.gradDestination()
            MSEKernel.gradient(p.data, t.data, into: d, scale: g, accumulate: accumulate, count: p.count)
        }
        if t.requiresGrad {
            let (d, accumulate) = t.gradDestination()
            MSEKernel.gradient(t.data, p.data, into: d, scale: g, accumulate: accumulate, count: t.count)
        }
    }
    out.data[0] = Float(MSEKernel.sum(p.data, t.data, count: p.count)) * scale
    return out
}

/// The sum of term(p - t) over `n` values, each Float term added in Double (eight Double lanes):
/// the loop of the mean squared and absolute errors. The tail goes through the same arithmetic.
@inline(__always)
func differenceTermSum(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count n: Int, _ term: (Float8) -> Float8) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    while i + 8 <= n {
        acc += SIMD8<Double>(term(load8(p + i) - load8(t + i)))
        i += 8
    }
    var total = acc.sum()
    if i < n {
        let last = term(loadPartial(p + i, n - i) - loadPartial(t + i, n - i))
        for k in 0..<(n - i) { total += Double(last[k]) }
    }
    return total
}

/// The loops of the mean squared error, eight values at a time.
enum MSEKernel {
    /// The sum of (p - t)^2, each Float square added in Double.
    static func sum(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count n: Int) -> Double {
        differenceTermSum(p, t, count: n) { $0 * $0 }
    }

    /// dp (+)= scale * 2 (p - t): the gradient with respect to p (swap the arguments for t's).
    static func gradient(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>, scale g: Float,
                         accumulate: Bool, count n: Int) {
        var i = 0
        if accumulate {
            while i + 8 <= n {
                store8(load8(d + i) + g * (2 * (load8(p + i) - load8(t + i))), d + i)
                i += 8
            }
            while i < n { d[i] += g * (2 * (p[i] - t[i])); i += 1 }
        } else {
            while i + 8 <= n {
                store8(g * (2 * (load8(p + i) - load8(t + i))), d + i)
                i += 8
            }
            while i < n { d[i] = g * (2 * (p[i] - t[i])); i += 1 }
        }
    }
}

/// The loop of the mean absolute error.
enum L1Kernel {
    /// The sum of |p - t|, each Float term added in Double.
    static func sum(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count n: Int) -> Double {
        differenceTermSum(p, t, count: n) { $0.replacing(with: -$0, where: $0 .< 0) }
    }
}

public func l1Loss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    elementwiseLoss(prediction, target, reduction, name: "l1",
                    sum: { L1Kernel.sum($0, $1, count: $2) },
                    dp: { p, t in p > t ? 1 : (p < t ? -1 : 0) }, dt: { p, t in p > t ? -1 : (p < t ? 1 : 0) })
}

/// sqrt(mean squared error); a small epsilon keeps the gradient finite at a perfect fit.
public func rmseLoss(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    (mseLoss(prediction, target) + 1e-12).sqrt()
}

/// Binary cross-entropy on probabilities in [0, 1]. As PyTorch does, each log is clamped at -100
/// so a saturated prediction gives a large finite loss instead of infinity.
public func bceLoss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    kernelLoss(prediction, target, reduction, name: "bce", sum: VectorMath.bceSum, gradient: VectorMath.bceGradient)
}

/// Binary cross-entropy on logits, computed stably: max(x,0) - x t + log(1 + e^-|x|).
public func bceWithLogitsLoss(_ logits: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    kernelLoss(logits, target, reduction, name: "bce-logits", sum: VectorMath.bceLogitsSum, gradient: VectorMath.bceLogitsGradient)
}

/// A loss whose sum and gradient with respect to the prediction are vector kernels (the target
/// gets no gradient).
private func kernelLoss(_ p: Tensor, _ t: Tensor, _ reduction: Reduction, name: String,
                        sum: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Double,
                        gradient: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Bool) -> Void) -> Tensor {
    precondition(p.shape == t.shape, "\(name): prediction \(p.shape) and target \(t.shape) differ")
    let scale = reductionScale(p, reduction)
    let out = Tensor.result(shape: [], parents: [p, t]) { out in
        guard p.requiresGrad else { return }
        let (d, accumulate) = p.gradDestination()
        gradient(p.data, t.data, d, p.count, out.grad![0] * scale, accumulate)
    }
    out.data[0] = Float(sum(p.data, t.data, p.count)) * scale
    return out
}

/// The sum of -0.5 (1 + lv - m^2 - e^lv), each Float term added in Double.
enum GaussianKLKernel {
    static func sum(_ mean: UnsafePointer<Float>, _ logVariance: UnsafePointer<Float>, count n: Int) -> Double {
        var total = 0.0
        for i in 0..<n {
            let m = mean[i], lv = logVariance[i]
            total += Double(-0.5 * (1 + lv - m * m - Foundation.exp(lv)))
        }
        return total
    }
}

/// KL divergence of N(mu, exp(logvar)) from N(0, I), summed over latent units and averaged over
/// the batch: -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) / batch.
public func gaussianKL(mu: Tensor, logvar: Tensor) -> Tensor {
    precondition(mu.shape == logvar.shape, "gaussianKL: mu \(mu.shape) and logvar \(logvar.shape) differ")
    let batch = Float(max(mu.shape.first ?? 1, 1))
    let out = Tensor.result(shape: [], parents: [mu, logvar]) { out in
        let g = out.grad![0] / batch
        if mu.requiresGrad { let d = mu.gradBuffer(); for i in 0..<mu.count { d[i] += g * mu.data[i] } }
        if logvar.requiresGrad { let d = logvar.gradBuffer(); for i in 0..<mu.count { d[i] += g * 0.5 * (exp(logvar.data[i]) - 1) } }
    }
    out.data[0] = Float(GaussianKLKernel.sum(mu.data, logvar.data, count: mu.count) / Double(batch))
    return out
}

/// The reconstruction loss of `kind`, with `.mean` reduction (BCE variants too).
public func reconstructionLoss(_ kind: LossKind, _ prediction: Tensor, _ target: Tensor) -> Tensor {
    switch kind {
    case .mse: return mseLoss(prediction, target)
    case .l1: return l1Loss(prediction, target)
    case .rmse: return rmseLoss(prediction, target)
    case .bce: return bceLoss(prediction, target)
    case .bceLogits: return bceWithLogitsLoss(prediction, target)
    }
}
