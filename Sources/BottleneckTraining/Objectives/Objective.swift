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

/// An optimisation step an objective asks for besides the model's, e.g. the adversarial
/// discriminator's. The trainer takes it like the model's step: zero the gradients, `loss()`,
/// backward, the gradient hook, clipping, the learning-rate schedule (applied to
/// `baseLearningRate`) and the optimizer's update.
public struct ObjectiveStep {
    /// What is stepped, for messages (e.g. "discriminator").
    public let name: String
    /// The optimizer of the step's parameters (it owns the list the hook and clipping see).
    public let optimizer: StepOptimizer
    /// The rate the schedule scales for this optimizer.
    public let baseLearningRate: Float
    /// The loss to minimise, evaluated when the step is taken.
    public let loss: () -> Tensor

    public init(name: String, optimizer: StepOptimizer, baseLearningRate: Float, loss: @escaping () -> Tensor) {
        self.name = name
        self.optimizer = optimizer
        self.baseLearningRate = baseLearningRate
        self.loss = loss
    }
}

/// What an autoencoder variant contributes to the one training loop: its loss for a batch and,
/// if it has any, optimisation steps of its own (the adversarial discriminator). Every
/// optimizer step goes through the trainer, so its gradient hook (where distributed training
/// all-reduces), clipping and schedule reach every parameter that is trained.
/// A new variant is a new Objective, never a new training loop.
public protocol Objective: AnyObject {
    var name: String { get }
    /// The batch's loss. `input` is the clean batch; the objective corrupts it if it denoises.
    func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms
    /// The objective's own steps for this batch, taken in order after the model's step.
    /// Default: none.
    func extraSteps(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> [ObjectiveStep]
    /// Runs once a batch's steps are all taken (e.g. counting steps); it must not update
    /// parameters (those updates belong in `extraSteps`). Default: nothing.
    func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator)
    /// Extra trained tensors saved in checkpoints (parameters of its own modules, counters).
    var extraState: [(String, Tensor)] { get }
    /// The optimizers of its own steps, by name; checkpoints save and restore their state
    /// (moments and step count) under "objective.<name>.".
    var extraOptimizers: [(String, Optimizer)] { get }
    /// Why the loss of a batch is random (it draws noise or samples), or nil when it is a
    /// deterministic function of the parameters: line-search optimizers need one.
    var randomness: String? { get }
}

extension Objective {
    public func extraSteps(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> [ObjectiveStep] { [] }
    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) {}
    public var extraState: [(String, Tensor)] { [] }
    public var extraOptimizers: [(String, Optimizer)] { [] }
    public var randomness: String? { nil }
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
