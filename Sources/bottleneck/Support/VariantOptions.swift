import ArgumentParser
import Bottleneck

/// The flags that choose an autoencoder variant and its knobs. They become the variant's JSON
/// options and go through the library's one reader (`VariantSpec(kind:options:)`), so a flag that
/// does not apply to the variant, or a value out of range, is refused naming the flag.
struct VariantOptions: ParsableArguments {
    @Option(name: .long, help: "Variant: \(VariantKind.names.joined(separator: ", ")) (default plain, or the architecture file's).",
            transform: { name in
                guard VariantKind.names.contains(name) else { throw BottleneckError.invalid(.variant, "'\(name)' is not known (known: \(VariantKind.names.joined(separator: ", ")))") }
                return name
            })
    var variant: String?

    @Option(name: .long, help: "Denoising noise: gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION, occlusion:MIN-MAX.",
            transform: { try NoiseModel(parsing: $0) })
    var noise: NoiseModel?

    @Option(name: .long, help: "Sparse penalty.") var sparsity: SparsePenalty.Name?
    @Option(name: .long, help: "Sparse KL target rate (rho).") var rate: Double?
    @Option(name: .long, help: "Weight of the variant's penalty (sparse lambda/beta, contractive lambda, AAE generator term).") var penaltyWeight: Double?
    @Option(name: .long, help: "Contractive penalty method.") var contractiveMethod: ContractiveMethod?
    @Option(name: .long, help: "VAE: weight of the KL term (beta-VAE).") var beta: Double?
    @Option(name: .long, help: "VAE: linear KL warm-up over this many steps.") var klWarmup: Int?
    @Option(name: .long, help: "VAE likelihood: bernoulli (BCE from logits) or gaussian.") var likelihood: VAELikelihood?
    @Option(name: .long, help: "AAE prior: gaussian or mixture:K.", transform: { try LatentPrior(parsing: $0) }) var prior: LatentPrior?
    @Option(name: .long, help: "Latent consistency: weight of the re-encoding distance (any variant).") var consistency: Double?
    @Option(name: .long, help: "Unwatermark: the watermark's text (built-in 5x7 font: A-Z, 0-9, space, - . ! ©; default SAMPLE).") var watermarkText: String?
    @Option(name: .long, help: "Unwatermark: watermark opacity, a number or a range like 0.3-0.7 (default).") var opacity: String?
    @Option(name: .long, help: "Unwatermark: image pixels per font pixel (default 1).") var watermarkScale: Int?

    /// The options the flags give, by the variant's option keys.
    private var flagOptions: [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        if let noise { o["noise"] = .string(noise.description) }
        if let sparsity { o["penalty"] = .string(sparsity.rawValue) }
        if let rate { o["rate"] = .number(rate) }
        if let penaltyWeight { o["weight"] = .number(penaltyWeight) }
        if let contractiveMethod { o["method"] = .string(contractiveMethod.rawValue) }
        if let beta { o["beta"] = .number(beta) }
        if let klWarmup { o["warmup_steps"] = .number(Double(klWarmup)) }
        if let likelihood { o["likelihood"] = .string(likelihood.rawValue) }
        if let prior { o["prior"] = .string(prior.description) }
        if let consistency { o["consistency"] = .number(consistency) }
        if let watermarkText { o["text"] = .string(watermarkText) }
        if let opacity { o["opacity"] = .string(opacity) }
        if let watermarkScale { o["scale"] = .number(Double(watermarkScale)) }
        return o
    }

    /// The variant asked for, or `fallback` (the architecture file's) when no flag names one.
    /// Without --variant the flags adjust the fallback's settings; with it they start afresh.
    func spec(default fallback: VariantSpec?) throws -> VariantSpec? {
        let given = flagOptions
        guard variant != nil || !given.isEmpty else { return fallback }
        var options: [String: JSONValue] = [:]
        if variant == nil, let fallback {
            options = fallback.options
            // A new sparse penalty does not inherit the old one's rate and weight.
            if given["penalty"] != nil && given["penalty"] != options["penalty"] { options["rate"] = nil; options["weight"] = nil }
        }
        options.merge(given) { _, flag in flag }
        return try VariantSpec(kind: variant ?? fallback?.kind.name ?? "plain", options: options)
    }
}
