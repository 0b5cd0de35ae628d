import BottleneckCore
import BottleneckNN
import BottleneckData
/// The settings of the autoencoder variants, as plain values (stored in architecture and model
/// files through `VariantSpec`). What they do lives with the objectives (Objectives/).

/// Corruptions for denoising autoencoders (applied by `apply(_:rng:)` in Objectives/Noise.swift).
public enum NoiseModel: Equatable, Sendable, CustomStringConvertible {
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
            guard let v = Float(s), v.isFinite, v >= 0 else { throw BottleneckError.invalid(.noise, "'\(text)': '\(s)' is not a non-negative number") }
            return v
        }
        func fraction(_ s: String) throws -> Float {
            let v = try number(s)
            guard v <= 1 else { throw BottleneckError.invalid(.noise, "'\(text)': the fraction must be in [0, 1]") }
            return v
        }
        switch (parts.first ?? "", parts.count) {
        case ("gaussian", 2): self = .gaussian(sigma: try number(parts[1]))
        case ("salt-pepper", 2): self = .saltAndPepper(fraction: try fraction(parts[1]))
        case ("mask", 2): self = .masking(fraction: try fraction(parts[1]))
        case ("occlusion", 2):
            let r = parts[1].split(separator: "-").map(String.init)
            guard r.count == 2 else { throw BottleneckError.invalid(.noise, "'\(text)': occlusion needs a side range like 0.2-0.5") }
            let lo = try fraction(r[0]), hi = try fraction(r[1])
            guard lo <= hi, hi > 0 else { throw BottleneckError.invalid(.noise, "'\(text)': occlusion range must be increasing and positive") }
            self = .occlusion(minSide: lo, maxSide: hi)
        default:
            throw BottleneckError.invalid(.noise, "'\(text)': expected gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION or occlusion:MIN-MAX")
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
}

/// The prior an adversarial autoencoder matches its codes to.
public enum LatentPrior: Equatable, Sendable, CustomStringConvertible {
    /// N(0, I).
    case gaussian
    /// Equal mixture of `components` Gaussians (std 0.5) whose means sit on a circle of radius 2
    /// in the first two dimensions.
    case mixture(components: Int)

    /// Parses "gaussian" or "mixture:K".
    public init(parsing text: String) throws {
        if text == "gaussian" { self = .gaussian; return }
        let p = text.split(separator: ":")
        guard p.count == 2, p[0] == "mixture", let k = Int(p[1]), k >= 2 else {
            throw BottleneckError.invalid(.prior, "'\(text)': expected gaussian or mixture:K (K >= 2)")
        }
        self = .mixture(components: k)
    }

    public var description: String {
        switch self {
        case .gaussian: return "gaussian"
        case .mixture(let k): return "mixture:\(k)"
        }
    }
}

/// The sparse autoencoder's penalty on the code.
public enum SparsePenalty: Equatable, Sendable {
    /// weight * mean over the batch of sum_j |h_j|.
    case l1(weight: Float = 1e-4)
    /// weight * sum_j KL(rate || mean activation of unit j over the batch); the code must lie
    /// in (0, 1), e.g. after a sigmoid.
    case kl(rate: Float = 0.05, weight: Float = 0.01)

    /// The penalties by name ("l1", "kl").
    public enum Name: String, CaseIterable, Sendable { case l1, kl }

    public var name: Name {
        switch self {
        case .l1: return .l1
        case .kl: return .kl
        }
    }
}

/// How a contractive autoencoder computes its Jacobian penalty.
public enum ContractiveMethod: String, CaseIterable, Sendable {
    /// Exact when the encoder allows (one dense layer and an elementwise activation), else stochastic.
    case auto
    /// The closed form; an encoder that does not allow it is an error.
    case exact
    /// The stochastic estimate E ||f(x + e) - f(x)||^2 / sigma^2, for any encoder.
    case stochastic
}

/// A VAE decoder's likelihood p(x|z).
public enum VAELikelihood: String, Codable, CaseIterable, Sendable {
    /// Bernoulli: binary cross-entropy from the decoder's logits (data in [0, 1]).
    case bernoulli
    /// Gaussian with unit variance: half the summed squared error.
    case gaussian
}

/// The adversarial autoencoder's discriminator and how hard it pulls. These defaults matched an
/// 8-value dense code to N(0, I) within 0.2 per dimension in 8 epochs; a wider or faster
/// discriminator overpowered the encoder and left the codes off (measured).
public struct AdversarialSettings: Equatable, Sendable {
    public var prior: LatentPrior
    /// Width of the discriminator's two hidden layers.
    public var hidden: Int
    /// The discriminator's learning rate (Adam, beta1 0.5).
    public var learningRate: Float
    /// Weight of the generator term in the encoder's loss.
    public var weight: Float
    /// Discriminator updates per batch.
    public var discriminatorSteps: Int

    public init(prior: LatentPrior = .gaussian, hidden: Int = 64, learningRate: Float = 2e-4, weight: Float = 0.05, discriminatorSteps: Int = 1) {
        self.prior = prior
        self.hidden = hidden
        self.learningRate = learningRate
        self.weight = weight
        self.discriminatorSteps = discriminatorSteps
    }
}

/// The watermark an unwatermark model learns to remove: `text` in the built-in 5x7 font, each
/// font pixel `scale` x `scale` image pixels, blended with an opacity drawn from `opacity`
/// towards `value` (1: white ink).
public struct WatermarkSettings: Equatable, Sendable {
    public var text: String
    public var opacity: ClosedRange<Float>
    public var scale: Int
    public var value: Float

    public init(text: String = "SAMPLE", opacity: ClosedRange<Float> = 0.3...0.7, scale: Int = 1, value: Float = 1) {
        self.text = text
        self.opacity = opacity
        self.scale = scale
        self.value = value
    }

    /// Parses an opacity "0.5" or a range "0.3-0.7" (within [0, 1]).
    public static func opacity(parsing s: String) throws -> ClosedRange<Float> {
        let parts = s.split(separator: "-").map { Float($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil && (0...1).contains($0!) }) else {
            throw BottleneckError.invalid(.variantOption("opacity"), "'\(s)': expected a number in [0, 1] or a range like 0.3-0.7")
        }
        let lo = parts[0]!, hi = parts.last!!
        guard lo <= hi else { throw BottleneckError.invalid(.variantOption("opacity"), "'\(s)': the range must be increasing") }
        return lo...hi
    }

    /// The opacity as `opacity(parsing:)` reads it.
    public var opacityText: String { opacity.lowerBound == opacity.upperBound ? "\(opacity.lowerBound)" : "\(opacity.lowerBound)-\(opacity.upperBound)" }
}
