import BottleneckCore
import BottleneckNN
import BottleneckData
/// Contractive autoencoder: reconstruction plus weight * ||dh/dx||_F^2, which makes the code
/// insensitive to small changes of the input.
///
/// For an encoder that is one dense layer and an elementwise activation the penalty is exact in
/// closed form: sum_j s'(a_j)^2 sum_i W_ji^2, trainable with first-order autodiff. For any other
/// encoder it is estimated as E ||f(x + e) - f(x)||^2 / sigma^2 with e ~ N(0, sigma^2 I), which
/// equals ||J||_F^2 to first order and also needs no second derivatives.
public final class ContractiveObjective: Objective {
    public let weight: Float
    public let sigma: Float
    public let lossKind: LossKind
    public let forceStochastic: Bool

    public init(weight: Float, sigma: Float = 0.01, forceStochastic: Bool = false, loss: LossKind = .mse) {
        self.weight = weight
        self.sigma = sigma
        self.forceStochastic = forceStochastic
        lossKind = loss
    }
    public var name: String { "contractive (weight \(weight))" }
    public var randomness: String? {
        forceStochastic ? "the stochastic contractive penalty draws noise (use the exact method, with a one-layer dense encoder)" : nil
    }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(input)
        let (recon, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        let penalty = (forceStochastic ? nil : exactJacobianPenalty(model, input)) ?? stochasticJacobianPenalty(model, input, code: code, rng: rng)
        let term = penalty * weight
        return LossTerms(total: recon + term, parts: [("reconstruction", recon.item), ("jacobian", penalty.item)], code: code, reconstruction: r)
    }

    /// Mean over the batch of ||J||_F^2 in closed form, or nil when the encoder is not a single
    /// dense layer plus an elementwise activation (Flatten allowed in front).
    public func exactJacobianPenalty(_ model: Autoencoder, _ x: Tensor) -> Tensor? {
        let layers = model.encoder.layers.filter { !($0 is Flatten) }
        guard !model.isVariational, layers.count == 2, let dense = layers[0] as? Linear else { return nil }
        let flat = x.reshaped([x.shape[0], -1])
        let a = dense(flat)
        let derivative: Tensor
        switch layers[1] {
        case is Sigmoid: let h = a.sigmoid(); derivative = h * (1 - h)
        case is Tanh: let h = a.tanh(); derivative = 1 - h.square()
        case is ReLU: derivative = a.detached().map(forward: { $0 > 0 ? 1 : 0 }, derivative: { _, _ in 0 })
        case let l as LeakyReLU: let s = l.slope; derivative = a.detached().map(forward: { $0 > 0 ? 1 : s }, derivative: { _, _ in 0 })
        case is Softplus: derivative = a.sigmoid()
        default: return nil
        }
        let rowNorms = dense.weight.square().sum(axis: 1)          // sum_i W_ji^2, [k]
        return (derivative.square() * rowNorms).sum(axis: 1).mean()
    }

    public func stochasticJacobianPenalty(_ model: Autoencoder, _ x: Tensor, code: Tensor, rng: RandomGenerator) -> Tensor {
        let eps = Tensor.normal(x.shape, std: sigma, rng: rng)
        let moved = model.encode(x.detached() + eps)
        let d = (moved - code).reshaped([x.shape[0], -1])
        return d.square().sum(axis: 1).mean() * (1 / (sigma * sigma))
    }
}

/// Mean over samples of the encoder's Jacobian Frobenius norm ||dh/dx||_F, by central finite
/// differences (the measurement for contractive models, independent of how they were trained).
public func meanJacobianNorm(_ model: Autoencoder, _ x: Tensor, step: Float = 1e-2) -> Double {
    model.eval()
    let n = x.shape[0], d = x.count / max(n, 1)
    var sq = [Double](repeating: 0, count: n)
    withoutGradients {
        let probe = x.copy()
        for i in 0..<d {
            for s in 0..<n { probe.data[s * d + i] += step }
            let up = model.encode(probe)
            for s in 0..<n { probe.data[s * d + i] -= 2 * step }
            let down = model.encode(probe)
            for s in 0..<n { probe.data[s * d + i] += step }
            let k = up.count / n
            for s in 0..<n { for j in 0..<k {
                let g = Double(up.data[s * k + j] - down.data[s * k + j]) / Double(2 * step)
                sq[s] += g * g
            } }
        }
    }
    return sq.reduce(0) { $0 + $1.squareRoot() } / Double(max(n, 1))
}
