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
/// `term(p, t)` is the elementwise loss, `dp`/`dt` its partial derivatives.
func elementwiseLoss(_ p: Tensor, _ t: Tensor, _ reduction: Reduction, name: String,
                     term: @escaping (Float, Float) -> Float,
                     dp: @escaping (Float, Float) -> Float,
                     dt: ((Float, Float) -> Float)? = nil) -> Tensor {
    precondition(p.shape == t.shape, "\(name): prediction \(p.shape) and target \(t.shape) differ")
    let scale = reductionScale(p, reduction)
    let out = Tensor.result(shape: [], parents: [p, t]) { out in
        let g = out.grad![0] * scale
        if p.requiresGrad { let d = p.gradBuffer(); for i in 0..<p.count { d[i] += g * dp(p.data[i], t.data[i]) } }
        if t.requiresGrad, let dt { let d = t.gradBuffer(); for i in 0..<t.count { d[i] += g * dt(p.data[i], t.data[i]) } }
    }
    var acc: Double = 0
    for i in 0..<p.count { acc += Double(term(p.data[i], t.data[i])) }
    out.data[0] = Float(acc) * scale
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

/// The loops of the mean squared error, eight values at a time.
enum MSEKernel {
    /// The sum of (p - t)^2, each Float square added in Double (eight Double lanes).
    static func sum(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count n: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        while i + 8 <= n {
            let d = load8(p + i) - load8(t + i)
            acc += SIMD8<Double>(d * d)
            i += 8
        }
        var total = acc.sum()
        while i < n {
            let d = p[i] - t[i]
            total += Double(d * d)
            i += 1
        }
        return total
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

public func l1Loss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    elementwiseLoss(prediction, target, reduction, name: "l1",
                    term: { p, t in Swift.abs(p - t) },
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
    var acc: Double = 0
    for i in 0..<mu.count {
        let m = mu.data[i], lv = logvar.data[i]
        acc += Double(-0.5 * (1 + lv - m * m - exp(lv)))
    }
    out.data[0] = Float(acc / Double(batch))
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

/// Per-sample reconstruction error (mean over each sample's features), no gradient: anomaly
/// scores and evaluation.
public func reconstructionError(_ prediction: Tensor, _ target: Tensor, kind: LossKind = .mse) -> [Float] {
    precondition(prediction.count == target.count, "reconstructionError: \(prediction.shape) vs \(target.shape)")
    let n = prediction.shape.first ?? 1, d = prediction.count / max(n, 1)
    return (0..<n).map { r in
        var acc: Double = 0
        for j in 0..<d {
            let p = prediction.data[r * d + j], t = target.data[r * d + j]
            switch kind {
            case .mse, .rmse: acc += Double((p - t) * (p - t))
            case .l1: acc += Double(Swift.abs(p - t))
            case .bce:
                acc += Double(-(t * max(log(p), -100) + (1 - t) * max(log(1 - p), -100)))
            case .bceLogits:
                acc += Double(max(p, 0) - p * t + log1p(exp(-Swift.abs(p))))
            }
        }
        let m = acc / Double(d)
        return Float(kind == .rmse ? m.squareRoot() : m)
    }
}
