import ArgumentParser
import Bottleneck

/// The flags that choose an autoencoder variant and its knobs.
struct VariantOptions: ParsableArguments {
    @Option(name: .long, help: "Variant: \(Variants.kinds.joined(separator: ", ")) (default plain, or the architecture file's).")
    var variant: String?

    @Option(name: .long, help: "Denoising noise: gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION, occlusion:MIN-MAX.")
    var noise: String?

    @Option(name: .long, help: "Sparse penalty: l1 or kl.") var sparsity: String?
    @Option(name: .long, help: "Sparse KL target rate (rho).") var rate: Double?
    @Option(name: .long, help: "Weight of the variant's penalty (sparse lambda/beta, contractive lambda).") var penaltyWeight: Double?
    @Option(name: .long, help: "Contractive penalty method: auto, exact, stochastic.") var contractiveMethod: String?
    @Option(name: .long, help: "VAE: weight of the KL term (beta-VAE).") var beta: Double?
    @Option(name: .long, help: "VAE: linear KL warm-up over this many steps.") var klWarmup: Int?
    @Option(name: .long, help: "VAE likelihood: bernoulli (BCE from logits) or gaussian.") var likelihood: String?
    @Option(name: .long, help: "AAE prior: gaussian or mixture:K.") var prior: String?
    @Option(name: .long, help: "Latent consistency: weight of the re-encoding distance (any variant).") var consistency: Double?
    @Option(name: .long, help: "Unwatermark: the watermark's text (built-in 5x7 font: A-Z, 0-9, space, - . ! ©; default SAMPLE).") var watermarkText: String?
    @Option(name: .long, help: "Unwatermark: watermark opacity, a number or a range like 0.3-0.7 (default).") var opacity: String?
    @Option(name: .long, help: "Unwatermark: image pixels per font pixel (default 1).") var watermarkScale: Int?

    /// The variant asked for, or nil when no flag names one.
    func spec(default fallback: VariantSpec?) throws -> VariantSpec? {
        let any = [noise, sparsity, contractiveMethod, likelihood, prior, watermarkText, opacity].contains { $0 != nil }
            || [rate, penaltyWeight, beta, consistency].contains { $0 != nil } || klWarmup != nil || watermarkScale != nil
        guard variant != nil || any else { return fallback }
        let kind = variant ?? fallback?.kind ?? "plain"
        guard Variants.kinds.contains(kind) else {
            throw BottleneckError("--variant must be one of \(Variants.kinds.joined(separator: ", ")), got '\(kind)'")
        }
        var o: [String: JSONValue] = variant == nil ? fallback?.options ?? [:] : [:]
        if let noise { o["noise"] = .string(noise) }
        if let sparsity { o["penalty"] = .string(sparsity) }
        if let rate { o["rate"] = .number(rate) }
        if let penaltyWeight { o["weight"] = .number(penaltyWeight) }
        if let contractiveMethod { o["method"] = .string(contractiveMethod) }
        if let beta { o["beta"] = .number(beta) }
        if let klWarmup { o["warmup_steps"] = .number(Double(klWarmup)) }
        if let likelihood { o["likelihood"] = .string(likelihood) }
        if let prior { o["prior"] = .string(prior) }
        if let consistency { o["consistency"] = .number(consistency) }
        if let watermarkText { o["text"] = .string(watermarkText) }
        if let opacity { o["opacity"] = .string(opacity) }
        if let watermarkScale { o["scale"] = .number(Double(watermarkScale)) }
        return VariantSpec(kind: kind, options: o)
    }
}
