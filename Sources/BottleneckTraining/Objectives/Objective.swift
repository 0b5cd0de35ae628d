import BottleneckCore
import BottleneckNN
import BottleneckData
/// The loss of one batch, with named parts for the log (e.g. reconstruction and KL), and the
/// code and reconstruction it computed, so wrappers (latent consistency) can reuse them.
public struct LossTerms {
    public var total: Tensor
    public var parts: [(String, Float)]
    public var code: Tensor?
    public var reconstruction: Tensor?

    public init(total: Tensor, parts: [(String, Float)] = [], code: Tensor? = nil, reconstruction: Tensor? = nil) {
        self.total = total
        self.parts = parts
        self.code = code
        self.reconstruction = reconstruction
    }
}

/// What an autoencoder variant contributes to the one training loop: its loss for a batch and,
/// if it has one, a second optimisation step of its own (the adversarial discriminator).
/// A new variant is a new Objective, never a new training loop.
public protocol Objective: AnyObject {
    var name: String { get }
    /// The batch's loss. `input` is the clean batch; the objective corrupts it if it denoises.
    func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms
    /// Runs after the main optimizer step (e.g. a discriminator update). Default: nothing.
    func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator)
    /// Extra trained state saved in checkpoints (modules and optimizers of its own).
    var extraState: [(String, Tensor)] { get }
}

extension Objective {
    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) {}
    public var extraState: [(String, Tensor)] { [] }
}

/// The plain (undercomplete) autoencoder: reconstruction loss only.
public final class ReconstructionObjective: Objective {
    public let lossKind: LossKind
    public init(loss: LossKind = .mse) { lossKind = loss }
    public var name: String { "reconstruction (\(lossKind.rawValue))" }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let code = model.encode(input)
        let (loss, r) = model.reconstructionLoss(lossKind, code: code, target: input)
        return LossTerms(total: loss, code: code, reconstruction: r)
    }
}
