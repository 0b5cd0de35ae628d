import BottleneckCore
import BottleneckNN
import BottleneckData
/// Latent consistency, for any variant: re-encode the reconstruction with the same encoder and add
/// weight * ||f(g(h)) - h||^2 / ||h||^2 (batch totals). The first code is the target (no gradient
/// through it), so the term asks the decoder's output to encode back to where it came from; the
/// normalisation makes it independent of the code's scale, so it cannot be lowered by growing or
/// shrinking the codes and its weight means the same for every model.
public final class LatentConsistencyObjective: Objective {
    public let base: Objective
    public let weight: Float

    public init(base: Objective, weight: Float) {
        self.base = base
        self.weight = weight
    }

    public var name: String { base.name + " + latent consistency (\(weight))" }
    public var extraState: [(String, Tensor)] { base.extraState }
    public var extraOptimizers: [(String, Optimizer)] { base.extraOptimizers }
    public var randomness: String? { base.randomness }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        var terms = base.loss(model: model, input: input, rng: rng)
        guard let code = terms.code, let reconstruction = terms.reconstruction else { return terms }
        let target = code.detached()
        let scale = max(target.square().mean().item, 1e-12)
        let distance = mseLoss(model.encode(reconstruction), target) * (1 / scale)
        terms.total = terms.total + distance * weight
        terms.parts.append(("consistency", distance.item))
        return terms
    }

    public func extraSteps(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> [ObjectiveStep] {
        base.extraSteps(model: model, input: input, rng: rng)
    }

    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) {
        base.afterStep(model: model, input: input, rng: rng)
    }
}
