import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builds the objective of a `VariantSpec` and adapts architectures to variants.
///
/// Variant kinds and their options (all optional unless said):
/// - `plain`
/// - `denoising`: `noise` ("gaussian:0.3", "salt-pepper:0.1", "mask:0.25", "occlusion:0.2-0.5"; default gaussian:0.3)
/// - `sparse`: `penalty` ("l1" or "kl"), `weight` (λ or β; default 1e-4 for l1, 0.01 for kl), `rate` (ρ, default 0.05)
/// - `contractive`: `weight` (default 0.002), `method` ("auto", "exact", "stochastic"), `sigma` (default 0.01)
///
/// Default weights suit the mean-per-value reconstruction losses on Fashion-MNIST-sized inputs
/// (measured: see the README's variant section).
/// - `vae`: `beta` (1), `warmup_steps` (0), `likelihood` ("bernoulli" or "gaussian")
/// - `aae`: `prior` ("gaussian" or "mixture:K"), `hidden` (discriminator width, 64), `lr` (discriminator, 2e-4),
///   `weight` (of the generator term, 0.05), `discriminator_steps` (1). These defaults matched an
///   8-code dense model to N(0, I) within 0.2 per dimension in 8 epochs; a wider or faster
///   discriminator overpowered the encoder and left the codes off (measured).
/// - `colorize`: gray copy in, colour out, on RGB images; `keep_luma` (true: the output keeps the input's luma)
/// - `unwatermark`: watermarked in, clean out; `text` ("SAMPLE", built-in 5x7 font), `opacity` ("0.3-0.7"),
///   `scale` (1: font pixels per image pixel), `value` (1: white ink)
/// - any kind: `consistency` (weight of the latent-consistency term; off when absent)
public enum Variants {
    public static let kinds = ["plain", "denoising", "sparse", "contractive", "vae", "aae", "colorize", "unwatermark"]

    public static func objective(_ variant: VariantSpec?, model: Autoencoder, loss: LossKind, rng: RandomGenerator) throws -> Objective {
        let v = variant ?? .plain
        let o = Options(v)
        let base: Objective
        switch v.kind {
        case "plain": base = ReconstructionObjective(loss: loss)
        case "denoising":
            base = DenoisingObjective(noise: try NoiseModel(parsing: try o.string("noise", "gaussian:0.3")), loss: loss)
        case "sparse":
            switch try o.string("penalty", "l1") {
            case "l1": base = SparseObjective(penalty: .l1(weight: try o.float("weight", 1e-4)), loss: loss)
            case "kl":
                let rate = try o.float("rate", 0.05)
                guard rate > 0, rate < 1 else { throw BottleneckError("variant sparse: rate must be in (0, 1), got \(rate)") }
                base = SparseObjective(penalty: .kl(rate: rate, weight: try o.float("weight", 0.01)), loss: loss)
            case let p: throw BottleneckError("variant sparse: penalty must be l1 or kl, got '\(p)'")
            }
        case "contractive":
            let method = try o.string("method", "auto")
            guard ["auto", "exact", "stochastic"].contains(method) else { throw BottleneckError("variant contractive: method must be auto, exact or stochastic") }
            let c = ContractiveObjective(weight: try o.float("weight", 0.002), sigma: try o.float("sigma", 0.01),
                                         forceStochastic: method == "stochastic", loss: loss)
            if method == "exact" && c.exactJacobianPenalty(model, Tensor.zeros([1] + model.inputShape)) == nil {
                throw BottleneckError("variant contractive: the exact penalty needs an encoder of one dense layer and an elementwise activation")
            }
            base = c
        case "vae":
            guard model.isVariational else { throw BottleneckError("variant vae needs an encoder ending in mean and log-variance") }
            guard let likelihood = VariationalObjective.Likelihood(rawValue: try o.string("likelihood", "bernoulli")) else {
                throw BottleneckError("variant vae: likelihood must be bernoulli or gaussian")
            }
            base = VariationalObjective(beta: try o.float("beta", 1), warmupSteps: Int(try o.float("warmup_steps", 0)), likelihood: likelihood)
        case "aae":
            guard model.codeShape.count == 1 else { throw BottleneckError("variant aae needs a flat code, got \(formatShape(model.codeShape))") }
            base = AdversarialObjective(codeSize: model.codeShape[0], prior: try LatentPrior(parsing: try o.string("prior", "gaussian")),
                                        hidden: Int(try o.float("hidden", 64)), learningRate: try o.float("lr", 2e-4),
                                        adversarialWeight: try o.float("weight", 0.05),
                                        discriminatorSteps: max(1, Int(try o.float("discriminator_steps", 1))), loss: loss, rng: rng)
        case "colorize":
            guard model.inputShape.count == 3, model.inputShape[0] == 3 else {
                throw BottleneckError("variant colorize needs colour images [3, H, W] (load them with --color), got samples of \(formatShape(model.inputShape))")
            }
            let keepLuma = try o.bool("keep_luma", true)
            base = try PairedObjective("colorize", transform: GrayscaleTransform(), loss: loss,
                                       restore: keepLuma ? { Colorization.keepingLuma($0, input: $1) } : nil)
        case "unwatermark":
            base = try PairedObjective("unwatermark", transform: try watermark(v), loss: loss)
        default:
            throw BottleneckError("unknown variant '\(v.kind)' (known: \(kinds.joined(separator: ", ")))")
        }
        if let w = v.options["consistency"] {
            guard case .number(let weight) = w, weight >= 0 else { throw BottleneckError("variant option consistency must be a non-negative number") }
            return LatentConsistencyObjective(base: base, weight: Float(weight))
        }
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
        case "vae", "aae":
            if let last = s.encoder.last, activations.contains(last.type) { s.encoder.removeLast() }
            if variant.kind == "vae", let i = s.encoder.lastIndex(where: { $0.type == "linear" }), case .number(let k)? = s.encoder[i].args["out"] {
                s.encoder[i].args["out"] = .number(2 * k)
            }
        case "sparse" where Options(variant).stringOrNil("penalty") == "kl":
            if let last = s.encoder.last, activations.contains(last.type) { s.encoder.removeLast() }
            s.encoder.append(LayerSpec("sigmoid"))
        default: break
        }
        return s
    }

    /// The watermark of an `unwatermark` variant's options.
    public static func watermark(_ v: VariantSpec) throws -> Watermark {
        let o = Options(v)
        return try Watermark(text: try o.string("text", "SAMPLE"), opacity: try Watermark.opacity(parsing: try o.string("opacity", "0.3-0.7")),
                             scale: Int(try o.float("scale", 1)), value: try o.float("value", 1))
    }

    package struct Options {
        let v: VariantSpec
        package init(_ v: VariantSpec) { self.v = v }
        func string(_ k: String, _ d: String) throws -> String {
            switch v.options[k] {
            case nil: return d
            case .string(let s)?: return s
            case let other?: throw BottleneckError("variant \(v.kind): option '\(k)' must be a string, got \(other)")
            }
        }
        func bool(_ k: String, _ d: Bool) throws -> Bool {
            switch v.options[k] {
            case nil: return d
            case .bool(let b)?: return b
            case let other?: throw BottleneckError("variant \(v.kind): option '\(k)' must be true or false, got \(other)")
            }
        }
        package func stringOrNil(_ k: String) -> String? { if case .string(let s)? = v.options[k] { return s }; return nil }
        func float(_ k: String, _ d: Float) throws -> Float {
            switch v.options[k] {
            case nil: return d
            case .number(let n)? where n.isFinite && n >= 0: return Float(n)
            case let other?: throw BottleneckError("variant \(v.kind): option '\(k)' must be a non-negative number, got \(other)")
            }
        }
    }
}
