import BottleneckCore
/// Rescales the gradients of `parameters` so that their global L2 norm (over all of them as one
/// vector) is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_: when the norm exceeds
/// `maxNorm`, every gradient is multiplied by maxNorm / (norm + 1e-6). Parameters without a
/// gradient are skipped. Returns the norm before clipping (infinite or NaN if a gradient is;
/// the gradients are then scaled by NaN or 0, as in torch, so the caller should check it).
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var sumOfSquares: Double = 0  // Double: millions of squares summed in Float lose digits
    for p in parameters {
        guard let g = p.grad else { continue }
        for i in 0..<p.count { sumOfSquares += Double(g[i]) * Double(g[i]) }
    }
    let norm = Float(sumOfSquares.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    if !(scale >= 1) {  // also true for a NaN norm, which torch propagates into the gradients
        for p in parameters {
            guard let g = p.grad else { continue }
            for i in 0..<p.count { g[i] *= scale }
        }
    }
    return norm
}
