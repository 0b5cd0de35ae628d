import BottleneckCore
/// Inverted dropout: in training mode each element is zeroed with probability p and the rest are
/// scaled by 1/(1-p), so the expected value is unchanged; the identity in eval mode.
public final class Dropout: Module {
    public let p: Float
    /// The run's one seeded generator (a reference, not a copy): masks follow the seed.
    public let rng: RandomGenerator

    public init(_ p: Float = 0.5, rng: RandomGenerator) {
        precondition(p >= 0 && p <= 1, "Dropout: p must lie in [0, 1], got \(p)")
        self.p = p
        self.rng = rng
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        isTraining ? x.dropout(p: p, rng: rng) : x
    }

    public override var details: String { "p \(p)" }
}

extension Tensor {
    /// Zeroes each element with probability `p` (one uniform draw per element, in order) and
    /// scales the others by 1/(1-p).
    public func dropout(p: Float, rng: RandomGenerator) -> Tensor {
        precondition(p >= 0 && p <= 1, "dropout: p must lie in [0, 1], got \(p)")
        if p == 0 { return self }
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        let mask = Tensor(shape: shape, zeroed: false)
        let m = mask.data
        for i in 0..<count { m[i] = rng.uniform() < p ? 0 : scale }
        return multiplied(byConstant: mask)
    }

    /// self * mask elementwise, where `mask` (same shape) takes no gradient: the dropout product.
    func multiplied(byConstant mask: Tensor) -> Tensor {
        precondition(mask.shape == shape, "mask \(mask.shape) does not fit \(shape)")
        let x = self
        let out = Tensor.result(shape: shape, parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer(), m = mask.data
            for i in 0..<out.count { dx[i] += g[i] * m[i] }
        }
        let o = out.data, xv = data, m = mask.data
        for i in 0..<count { o[i] = xv[i] * m[i] }
        return out
    }
}
