import BottleneckCore
import BottleneckNN
import BottleneckData
/// Corruptions for denoising autoencoders. Each draws fresh noise from the run's generator on
/// every call, so every batch sees new noise and a seed fixes all of it.
public enum NoiseModel: Equatable, CustomStringConvertible {
    /// x + N(0, sigma^2), clipped to [low, high] (the data's range).
    case gaussian(sigma: Float, low: Float = 0, high: Float = 1)
    /// A fraction of values set to low or high with equal chance.
    case saltAndPepper(fraction: Float, low: Float = 0, high: Float = 1)
    /// A fraction of values zeroed (masking / dropout noise).
    case masking(fraction: Float)
    /// One random rectangle per image zeroed, its sides a random fraction in [minSide, maxSide]
    /// of the image's (for inpainting).
    case occlusion(minSide: Float, maxSide: Float)

    /// Parses "gaussian:0.3", "salt-pepper:0.1", "mask:0.25", "occlusion:0.2-0.5".
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        func number(_ s: String) throws -> Float {
            guard let v = Float(s), v.isFinite, v >= 0 else { throw BottleneckError("--noise '\(text)': '\(s)' is not a non-negative number") }
            return v
        }
        func fraction(_ s: String) throws -> Float {
            let v = try number(s)
            guard v <= 1 else { throw BottleneckError("--noise '\(text)': the fraction must be in [0, 1]") }
            return v
        }
        switch (parts.first ?? "", parts.count) {
        case ("gaussian", 2): self = .gaussian(sigma: try number(parts[1]))
        case ("salt-pepper", 2): self = .saltAndPepper(fraction: try fraction(parts[1]))
        case ("mask", 2): self = .masking(fraction: try fraction(parts[1]))
        case ("occlusion", 2):
            let r = parts[1].split(separator: "-").map(String.init)
            guard r.count == 2 else { throw BottleneckError("--noise '\(text)': occlusion needs a side range like 0.2-0.5") }
            let lo = try fraction(r[0]), hi = try fraction(r[1])
            guard lo <= hi, hi > 0 else { throw BottleneckError("--noise '\(text)': occlusion range must be increasing and positive") }
            self = .occlusion(minSide: lo, maxSide: hi)
        default:
            throw BottleneckError("--noise '\(text)': expected gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION or occlusion:MIN-MAX")
        }
    }

    public var description: String {
        switch self {
        case .gaussian(let s, _, _): return "gaussian:\(s)"
        case .saltAndPepper(let f, _, _): return "salt-pepper:\(f)"
        case .masking(let f): return "mask:\(f)"
        case .occlusion(let a, let b): return "occlusion:\(a)-\(b)"
        }
    }

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

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(noise.apply(input, rng: rng))
        let (loss, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        return LossTerms(total: loss, code: code, reconstruction: r)
    }
}
