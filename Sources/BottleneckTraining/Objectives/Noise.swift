import BottleneckCore
import BottleneckNN
import BottleneckData
/// The corruptions themselves, drawing fresh noise from the run's generator on every call, so
/// every batch sees new noise and a seed fixes all of it (`NoiseModel` is declared with the
/// variant settings in Models/VariantSettings.swift).
extension NoiseModel {
    /// A corrupted copy of `x` (no gradient: the corruption is data, not model).
    public func apply(_ x: Tensor, rng: RandomGenerator) -> Tensor {
        let out = x.detached().copy()
        let p = out.data
        switch self {
        case .gaussian(let sigma, let low, let high):
            for i in 0..<out.count { p[i] = min(max(p[i] + sigma * rng.normal(), low), high) }
        case .saltAndPepper(let fraction, let low, let high):
            for i in 0..<out.count where rng.uniform() < fraction { p[i] = rng.uniform() < 0.5 ? low : high }
        case .masking(let fraction):
            for i in 0..<out.count where rng.uniform() < fraction { p[i] = 0 }
        case .occlusion(let minSide, let maxSide):
            let n = x.shape[0]
            let (c, h, w) = x.rank == 4 ? (x.shape[1], x.shape[2], x.shape[3]) : (1, 1, x.count / max(n, 1))
            for s in 0..<n {
                let rh = max(1, Int((Float(h) * rng.uniform(minSide, maxSide)).rounded()))
                let rw = max(1, Int((Float(w) * rng.uniform(minSide, maxSide)).rounded()))
                let top = rng.int(below: h - min(rh, h) + 1), left = rng.int(below: w - min(rw, w) + 1)
                for ch in 0..<c { for y in top..<min(h, top + rh) { for xx in left..<min(w, left + rw) {
                    p[((s * c + ch) * h + y) * w + xx] = 0
                } } }
            }
        }
        return out
    }
}

/// Denoising: the model sees a corrupted input and is trained to give back the clean one.
public final class DenoisingObjective: Objective {
    public let noise: NoiseModel
    public let lossKind: LossKind
    public init(noise: NoiseModel, loss: LossKind = .mse) {
        self.noise = noise
        lossKind = loss
    }
    public var name: String { "denoising (\(noise), \(lossKind.rawValue))" }
    public var randomness: String? { "denoising draws fresh noise for every batch" }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(noise.apply(input, rng: rng))
        let (loss, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        return LossTerms(total: loss, code: code, reconstruction: r)
    }
}
