import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// Drawing from the prior (`LatentPrior` is declared with the variant settings in
/// Models/VariantSettings.swift).
extension LatentPrior {
    /// `n` samples of dimension `dim`.
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
/// decoding prior samples generates data.
///
/// The encoder's two goals share one update: the trainer's optimizer steps on reconstruction +
/// `adversarialWeight` * generator loss (codes labelled "prior" by the discriminator). Separate
/// reconstruction and generator steps with two optimizers pulled the encoder back and forth and
/// left the code means off by about 1 (measured); the joint loss settles. The discriminator then
/// takes its own steps with its own optimizer, through the trainer (`extraSteps`). The generator
/// term also leaves gradients on the discriminator; its steps zero them first.
public final class AdversarialObjective: Objective {
    public let prior: LatentPrior
    public let lossKind: LossKind
    public let discriminator: Sequential
    let discriminatorOptimizer: Adam
    let discriminatorLearningRate: Float
    let codeSize: Int
    public let adversarialWeight: Float
    public let discriminatorSteps: Int
    public private(set) var lastDiscriminatorLoss: Float = 0

    public init(codeSize: Int, prior: LatentPrior = .gaussian, hidden: Int = 64, learningRate: Float = 2e-4,
                adversarialWeight: Float = 0.05, discriminatorSteps: Int = 1, loss: LossKind = .mse, rng: RandomGenerator) {
        self.prior = prior
        self.codeSize = codeSize
        self.adversarialWeight = adversarialWeight
        self.discriminatorSteps = discriminatorSteps
        lossKind = loss
        discriminator = Sequential(Linear(codeSize, hidden, rng: rng), LeakyReLU(0.2), Linear(hidden, hidden, rng: rng), LeakyReLU(0.2),
                                   Linear(hidden, 1, rng: rng))
        discriminatorLearningRate = learningRate
        discriminatorOptimizer = Adam(parameters: discriminator.parameters, learningRate: learningRate, beta1: 0.5)
    }

    public var name: String { "adversarial (prior \(prior), weight \(adversarialWeight))" }

    public var extraState: [(String, Tensor)] { discriminator.namedParameters(prefix: "discriminator.") }
    public var randomness: String? { "the adversarial objective samples the prior and trains a discriminator beside the model" }
    public var extraOptimizers: [(String, Optimizer)] { [("discriminator_optimizer", discriminatorOptimizer)] }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let n = input.shape[0]
        let code = model.encode(input)
        let (recon, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        let fool = bceWithLogitsLoss(discriminator(code.reshaped([n, codeSize])), Tensor.full([n, 1], 1))
        return LossTerms(total: recon + fool * adversarialWeight,
                         parts: [("reconstruction", recon.item), ("generator", fool.item), ("discriminator", lastDiscriminatorLoss)],
                         code: code, reconstruction: r)
    }

    /// `discriminatorSteps` discriminator updates on this batch's codes (taken after the
    /// encoder's update, without gradients into it) against fresh prior samples.
    public func extraSteps(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> [ObjectiveStep] {
        let n = input.shape[0]
        let ones = Tensor.full([n, 1], 1), zeros = Tensor.zeros([n, 1])
        // Prior samples are "real", codes are "fake".
        let fake = withoutGradients { model.encode(input) }.reshaped([n, codeSize])
        return (0..<discriminatorSteps).map { _ in
            ObjectiveStep(name: "discriminator", optimizer: discriminatorOptimizer, baseLearningRate: discriminatorLearningRate) { [self] in
                let real = prior.sample(n, codeSize, rng: rng)
                let dLoss = bceWithLogitsLoss(discriminator(real), ones) + bceWithLogitsLoss(discriminator(fake), zeros)
                lastDiscriminatorLoss = dLoss.item
                return dLoss
            }
        }
    }
}
