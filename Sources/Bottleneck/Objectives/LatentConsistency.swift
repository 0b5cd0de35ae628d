/// Latent consistency, for any variant: re-encode the reconstruction with the same encoder and add
/// weight * MSE(f(g(h)), h). The first code is the target (no gradient through it), so the term
/// asks the decoder's output to encode back to where it came from, not the codes to shrink.
public final class LatentConsistencyObjective: Objective {
    public let base: Objective
    public let weight: Float

    public init(base: Objective, weight: Float) {
        self.base = base
        self.weight = weight
    }

    public var name: String { base.name + " + latent consistency (\(weight))" }
    public var extraState: [(String, Tensor)] { base.extraState }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        var terms = base.loss(model: model, input: input, rng: rng)
        guard let code = terms.code, let reconstruction = terms.reconstruction else { return terms }
        let distance = mseLoss(model.encode(reconstruction), code.detached())
        terms.total = terms.total + distance * weight
        terms.parts.append(("consistency", distance.item))
        return terms
    }

    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) {
        base.afterStep(model: model, input: input, rng: rng)
    }
}
