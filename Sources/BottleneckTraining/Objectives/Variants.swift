import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builds the objective of a `VariantSpec` and adapts architectures to variants. The settings
/// and their defaults are `VariantKind`'s; the checks here are those that need the model (a VAE
/// needs an encoder ending in mean and log-variance, an AAE a flat code, colorize colour images).
public enum Variants {
    /// The variant names, for help texts.
    public static var kinds: [String] { VariantKind.names }

    public static func objective(_ variant: VariantSpec?, model: Autoencoder, loss: LossKind, rng: RandomGenerator) throws -> Objective {
        let v = variant ?? .plain
        try v.validate()
        let base: Objective
        switch v.kind {
        case .plain: base = ReconstructionObjective(loss: loss)
        case .denoising(let noise): base = DenoisingObjective(noise: noise, loss: loss)
        case .sparse(let penalty): base = SparseObjective(penalty: penalty, loss: loss)
        case let .contractive(weight, sigma, method):
            let c = ContractiveObjective(weight: weight, sigma: sigma, forceStochastic: method == .stochastic, loss: loss)
            if method == .exact && c.exactJacobianPenalty(model, Tensor.zeros([1] + model.inputShape)) == nil {
                throw BottleneckError.invalid(.variant, "contractive: the exact penalty needs an encoder of one dense layer and an elementwise activation")
            }
            base = c
        case let .vae(beta, warmupSteps, likelihood):
            guard model.isVariational else { throw BottleneckError.invalid(.variant, "vae needs an encoder ending in mean and log-variance") }
            base = VariationalObjective(beta: beta, warmupSteps: warmupSteps, likelihood: likelihood)
        case .aae(let a):
            guard model.codeShape.count == 1 else { throw BottleneckError.invalid(.variant, "aae needs a flat code, got \(formatShape(model.codeShape))") }
            base = AdversarialObjective(codeSize: model.codeShape[0], prior: a.prior, hidden: a.hidden, learningRate: a.learningRate,
                                        adversarialWeight: a.weight, discriminatorSteps: a.discriminatorSteps, loss: loss, rng: rng)
        case .colorize(let keepLuma):
            guard model.inputShape.count == 3, model.inputShape[0] == 3 else {
                throw BottleneckError.invalid(.variant, "colorize needs colour images [3, H, W] (load the data in colour), got samples of \(formatShape(model.inputShape))")
            }
            base = try PairedObjective("colorize", transform: GrayscaleTransform(), loss: loss,
                                       restore: keepLuma ? { Colorization.keepingLuma($0, input: $1) } : nil)
        case .unwatermark(let settings):
            base = try PairedObjective("unwatermark", transform: try Watermark(settings), loss: loss)
        }
        if let weight = v.consistency { return LatentConsistencyObjective(base: base, weight: weight) }
        return base
    }

    /// Adapts a preset's architecture to a variant: a VAE's encoder ends in a linear layer of
    /// twice the code size (mean and log-variance); VAE and AAE codes have no activation (they
    /// must reach any real value); a KL-sparse code ends in a sigmoid (activations in (0, 1)).
    public static func adapt(_ spec: ArchitectureSpec, to variant: VariantSpec) -> ArchitectureSpec {
        var s = spec
        s.variant = variant
        let activations = ArchitectureSpec.activationTypes
        switch variant.kind {
        case .vae, .aae:
            if let last = s.encoder.last, activations.contains(last.type) { s.encoder.removeLast() }
            if variant.isVariational, let i = s.encoder.lastIndex(where: { $0.type == "linear" }), case .number(let k)? = s.encoder[i].args["out"] {
                s.encoder[i].args["out"] = .number(2 * k)
            }
        case .sparse(.kl):
            if let last = s.encoder.last, activations.contains(last.type) { s.encoder.removeLast() }
            s.encoder.append(LayerSpec("sigmoid"))
        default: break
        }
        return s
    }

    /// The watermark of an `unwatermark` variant, or the default watermark for any other model.
    public static func watermark(_ v: VariantSpec?) throws -> Watermark {
        guard case .unwatermark(let settings)? = v?.kind else { return try Watermark() }
        return try Watermark(settings)
    }
}
