import Foundation

/// The prior an adversarial autoencoder matches its codes to.
public enum LatentPrior: Equatable, CustomStringConvertible {
    /// N(0, I).
    case gaussian
    /// Equal mixture of `components` Gaussians (std 0.5) whose means sit on a circle of radius 2
    /// in the first two dimensions.
    case mixture(components: Int)

    public init(parsing text: String) throws {
        if text == "gaussian" { self = .gaussian; return }
        let p = text.split(separator: ":")
        guard p.count == 2, p[0] == "mixture", let k = Int(p[1]), k >= 2 else {
            throw BottleneckError("--prior '\(text)': expected gaussian or mixture:K (K >= 2)")
        }
        self = .mixture(components: k)
    }

    public var description: String {
        switch self {
        case .gaussian: return "gaussian"
        case .mixture(let k): return "mixture:\(k)"
        }
    }

    public func sample(_ n: Int, _ dim: Int, rng: RandomGenerator) -> Tensor {
        let z = Tensor.normal([n, dim], rng: rng)
        if case .mixture(let k) = self {
            for s in 0..<n {
                let c = rng.int(below: k), angle = 2 * Double.pi * Double(c) / Double(k)
                for j in 0..<dim { z.data[s * dim + j] *= 0.5 }
                z.data[s * dim] += Float(2 * cos(angle))
                if dim > 1 { z.data[s * dim + 1] += Float(2 * sin(angle)) }
            }
        }
        return z
    }
}

/// Adversarial autoencoder (Makhzani et al.): a discriminator learns to tell encoder codes from
/// prior samples while the encoder learns to fool it, so the codes take the prior's shape and
/// decoding prior samples generates data. Each batch: the reconstruction step (the trainer's
/// optimizer), then a discriminator step and a generator (encoder) step with optimizers of their own.
public final class AdversarialObjective: Objective {
    public let prior: LatentPrior
    public let lossKind: LossKind
    public let discriminator: Sequential
    let discriminatorOptimizer: Adam
    let encoderOptimizer: Adam
    let codeSize: Int
    public private(set) var lastDiscriminatorLoss: Float = 0

    public init(encoder: Module, codeSize: Int, prior: LatentPrior = .gaussian, hidden: Int = 256, learningRate: Float = 1e-3,
                loss: LossKind = .mse, rng: RandomGenerator) {
        self.prior = prior
        self.codeSize = codeSize
        encoderOptimizer = Adam(parameters: encoder.parameters, learningRate: learningRate, beta1: 0.5)
        lossKind = loss
        discriminator = Sequential(Linear(codeSize, hidden, rng: rng), LeakyReLU(0.2), Linear(hidden, hidden, rng: rng), LeakyReLU(0.2),
                                   Linear(hidden, 1, rng: rng))
        discriminatorOptimizer = Adam(parameters: discriminator.parameters, learningRate: learningRate, beta1: 0.5)
    }

    public var name: String { "adversarial (prior \(prior))" }

    public var extraState: [(String, Tensor)] {
        discriminator.namedParameters(prefix: "discriminator.")
            + discriminatorOptimizer.stateTensors().map { ("discriminator_optimizer." + $0.0, $0.1) }
            + encoderOptimizer.stateTensors().map { ("encoder_optimizer." + $0.0, $0.1) }
    }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(input)
        let (recon, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        return LossTerms(total: recon, parts: [("reconstruction", recon.item), ("discriminator", lastDiscriminatorLoss)],
                         code: code, reconstruction: r)
    }

    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) {
        let n = input.shape[0]
        let ones = Tensor.full([n, 1], 1), zeros = Tensor.zeros([n, 1])
        // Discriminator: prior samples are "real", codes are "fake".
        let fake = model.encode(input).detached().reshaped([n, codeSize])
        let real = prior.sample(n, codeSize, rng: rng)
        let dLoss = bceWithLogitsLoss(discriminator(real), ones) + bceWithLogitsLoss(discriminator(fake), zeros)
        discriminatorOptimizer.zeroGrad()
        dLoss.backward()
        discriminatorOptimizer.step()
        lastDiscriminatorLoss = dLoss.item
        // Generator: move the encoder so its codes are taken for prior samples.
        let gLoss = bceWithLogitsLoss(discriminator(model.encode(input).reshaped([n, codeSize])), ones)
        encoderOptimizer.zeroGrad()
        gLoss.backward()
        encoderOptimizer.step()
        discriminatorOptimizer.zeroGrad()
        encoderOptimizer.zeroGrad()
    }
}
