import BottleneckCore
import BottleneckNN
import BottleneckData
/// Which autoencoder variant a model is trained as, with its settings, stored in the model file's
/// architecture. Written in JSON as `{"kind": "vae", "options": {"beta": 4, "warmup_steps": 1000}}`:
/// options left out take their defaults, and an unknown kind, option or value is an error naming it.
///
/// The options of each kind (defaults in `VariantKind`):
/// - `plain`: none
/// - `denoising`: `noise` ("gaussian:0.3", "salt-pepper:0.1", "mask:0.25", "occlusion:0.2-0.5")
/// - `sparse`: `penalty` ("l1" or "kl"), `weight` (λ or β: 1e-4 for l1, 0.01 for kl), `rate` (ρ, kl only: 0.05)
/// - `contractive`: `weight` (0.002), `sigma` (0.01), `method` ("auto", "exact", "stochastic")
/// - `vae`: `beta` (1), `warmup_steps` (0), `likelihood` ("bernoulli" or "gaussian")
/// - `aae`: `prior` ("gaussian" or "mixture:K"), `hidden` (64), `lr` (2e-4), `weight` (0.05), `discriminator_steps` (1)
/// - `colorize`: `keep_luma` (true)
/// - `unwatermark`: `text` ("SAMPLE"), `opacity` ("0.3-0.7"), `scale` (1), `value` (1)
/// - every kind: `consistency` (weight of the latent-consistency term; off when absent)
///
/// Default weights suit the mean-per-value reconstruction losses on Fashion-MNIST-sized inputs
/// (measured: see the README's variant section).
public struct VariantSpec: Equatable, Sendable {
    public var kind: VariantKind
    /// Weight of the latent-consistency term, which can be added to any variant (off when nil).
    public var consistency: Float?

    public init(_ kind: VariantKind = .plain, consistency: Float? = nil) {
        self.kind = kind
        self.consistency = consistency
    }

    public static let plain = VariantSpec()

    /// Whether the encoder gives a distribution (mean and log-variance) rather than a code.
    public var isVariational: Bool {
        if case .vae = kind { return true }
        return false
    }

    /// Throws naming the first setting out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ problem: String) throws {
            if !ok { throw BottleneckError.invalid(.variantOption(key), problem) }
        }
        if let c = consistency { try check(c >= 0 && c.isFinite, "consistency", "must be zero or positive, got \(c)") }
        switch kind {
        case .plain, .denoising, .colorize: break
        case .sparse(.l1(let weight)):
            try check(weight >= 0 && weight.isFinite, "weight", "must be zero or positive, got \(weight)")
        case let .sparse(.kl(rate, weight)):
            try check(rate > 0 && rate < 1, "rate", "must be in (0, 1), got \(rate)")
            try check(weight >= 0 && weight.isFinite, "weight", "must be zero or positive, got \(weight)")
        case let .contractive(weight, sigma, _):
            try check(weight >= 0 && weight.isFinite, "weight", "must be zero or positive, got \(weight)")
            try check(sigma > 0 && sigma.isFinite, "sigma", "must be a positive number, got \(sigma)")
        case let .vae(beta, warmupSteps, _):
            try check(beta >= 0 && beta.isFinite, "beta", "must be zero or positive, got \(beta)")
            try check(warmupSteps >= 0, "warmup_steps", "must be zero or positive, got \(warmupSteps)")
        case .aae(let a):
            if case .mixture(let k) = a.prior { try check(k >= 2, "prior", "mixture needs at least 2 components, got \(k)") }
            try check(a.hidden >= 1, "hidden", "must be at least 1, got \(a.hidden)")
            try check(a.learningRate > 0 && a.learningRate.isFinite, "lr", "must be a positive number, got \(a.learningRate)")
            try check(a.weight >= 0 && a.weight.isFinite, "weight", "must be zero or positive, got \(a.weight)")
            try check(a.discriminatorSteps >= 1, "discriminator_steps", "must be at least 1, got \(a.discriminatorSteps)")
        case .unwatermark(let w):
            try check(!w.text.isEmpty, "text", "must not be empty")
            try check(w.opacity.lowerBound >= 0 && w.opacity.upperBound <= 1, "opacity", "must lie in [0, 1], got \(w.opacityText)")
            try check(w.scale >= 1, "scale", "must be at least 1, got \(w.scale)")
            try check((0...1).contains(w.value), "value", "must lie in [0, 1], got \(w.value)")
        }
    }
}

/// The variants and their settings; defaults are those the README's figures were measured with.
public enum VariantKind: Equatable, Sendable {
    /// Reconstruction only (the undercomplete autoencoder).
    case plain
    /// Learns to undo `noise`, drawn fresh for every batch.
    case denoising(noise: NoiseModel = .gaussian(sigma: 0.3))
    /// Reconstruction plus a penalty keeping most code units inactive.
    case sparse(SparsePenalty = .l1())
    /// Reconstruction plus weight * ||dh/dx||_F^2, the stochastic estimate using noise of std `sigma`.
    case contractive(weight: Float = 0.002, sigma: Float = 0.01, method: ContractiveMethod = .auto)
    /// Variational: negative ELBO with the KL weighted by `beta`, warmed up over `warmupSteps` steps.
    case vae(beta: Float = 1, warmupSteps: Int = 0, likelihood: VAELikelihood = .bernoulli)
    /// Adversarial: a discriminator pulls the codes to a prior.
    case aae(AdversarialSettings = AdversarialSettings())
    /// Gray copy in, colour out (RGB images); `keepLuma`: the output keeps the input's luma.
    case colorize(keepLuma: Bool = true)
    /// Watermarked copy in, clean image out.
    case unwatermark(WatermarkSettings = WatermarkSettings())

    /// The variant names, as in `"kind"` and on the command line.
    public static let names = ["plain", "denoising", "sparse", "contractive", "vae", "aae", "colorize", "unwatermark"]

    /// The option keys each variant reads (every variant also takes `consistency`).
    public static let optionKeys: [String: [String]] = [
        "plain": [], "denoising": ["noise"], "sparse": ["penalty", "weight", "rate"],
        "contractive": ["weight", "sigma", "method"], "vae": ["beta", "warmup_steps", "likelihood"],
        "aae": ["prior", "hidden", "lr", "weight", "discriminator_steps"], "colorize": ["keep_luma"],
        "unwatermark": ["text", "opacity", "scale", "value"],
    ]

    public var name: String {
        switch self {
        case .plain: return "plain"
        case .denoising: return "denoising"
        case .sparse: return "sparse"
        case .contractive: return "contractive"
        case .vae: return "vae"
        case .aae: return "aae"
        case .colorize: return "colorize"
        case .unwatermark: return "unwatermark"
        }
    }
}

extension VariantSpec {
    /// The variant named `kind` with `options` (the JSON form): every key must be one the variant
    /// reads and every value of the right type and in range; keys left out take their defaults.
    public init(kind name: String, options: [String: JSONValue] = [:]) throws {
        guard let keys = VariantKind.optionKeys[name] else {
            throw BottleneckError.invalid(.variant, "'\(name)' is not known (known: \(VariantKind.names.joined(separator: ", ")))")
        }
        let known = keys + ["consistency"]
        if let key = firstUnknownKey(options.keys, known: known) {
            throw BottleneckError.invalid(.variantOption(key), "is not known for \(name) (known: \(known.joined(separator: ", ")))")
        }
        let o = VariantOptionReader(options: options)
        switch name {
        case "plain": kind = .plain
        case "denoising":
            kind = .denoising(noise: try o.string("noise").map { try NoiseModel(parsing: $0) } ?? .gaussian(sigma: 0.3))
        case "sparse":
            switch try o.choice("penalty", SparsePenalty.Name.self) ?? .l1 {
            case .l1:
                if options["rate"] != nil { throw BottleneckError.invalid(.variantOption("rate"), "applies to the kl penalty only") }
                kind = .sparse(.l1(weight: try o.float("weight") ?? 1e-4))
            case .kl: kind = .sparse(.kl(rate: try o.float("rate") ?? 0.05, weight: try o.float("weight") ?? 0.01))
            }
        case "contractive":
            kind = .contractive(weight: try o.float("weight") ?? 0.002, sigma: try o.float("sigma") ?? 0.01,
                                method: try o.choice("method", ContractiveMethod.self) ?? .auto)
        case "vae":
            kind = .vae(beta: try o.float("beta") ?? 1, warmupSteps: try o.int("warmup_steps") ?? 0,
                        likelihood: try o.choice("likelihood", VAELikelihood.self) ?? .bernoulli)
        case "aae":
            let d = AdversarialSettings()
            kind = .aae(AdversarialSettings(prior: try o.string("prior").map { try LatentPrior(parsing: $0) } ?? d.prior,
                                            hidden: try o.int("hidden") ?? d.hidden, learningRate: try o.float("lr") ?? d.learningRate,
                                            weight: try o.float("weight") ?? d.weight,
                                            discriminatorSteps: try o.int("discriminator_steps") ?? d.discriminatorSteps))
        case "colorize": kind = .colorize(keepLuma: try o.bool("keep_luma") ?? true)
        default:  // "unwatermark"
            let d = WatermarkSettings()
            kind = .unwatermark(WatermarkSettings(text: try o.string("text") ?? d.text,
                                                  opacity: try o.string("opacity").map { try WatermarkSettings.opacity(parsing: $0) } ?? d.opacity,
                                                  scale: try o.int("scale") ?? d.scale, value: try o.float("value") ?? d.value))
        }
        consistency = try o.float("consistency")
        try validate()
    }

    /// The JSON options, every setting written out (so a file says exactly what was trained).
    public var options: [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        switch kind {
        case .plain: break
        case .denoising(let noise): o["noise"] = .string(noise.description)
        case .sparse(.l1(let weight)): o = ["penalty": .string("l1"), "weight": .float(weight)]
        case let .sparse(.kl(rate, weight)): o = ["penalty": .string("kl"), "rate": .float(rate), "weight": .float(weight)]
        case let .contractive(weight, sigma, method): o = ["weight": .float(weight), "sigma": .float(sigma), "method": .string(method.rawValue)]
        case let .vae(beta, warmupSteps, likelihood):
            o = ["beta": .float(beta), "warmup_steps": .number(Double(warmupSteps)), "likelihood": .string(likelihood.rawValue)]
        case .aae(let a):
            o = ["prior": .string(a.prior.description), "hidden": .number(Double(a.hidden)), "lr": .float(a.learningRate),
                 "weight": .float(a.weight), "discriminator_steps": .number(Double(a.discriminatorSteps))]
        case .colorize(let keepLuma): o["keep_luma"] = .bool(keepLuma)
        case .unwatermark(let w):
            o = ["text": .string(w.text), "opacity": .string(w.opacityText), "scale": .number(Double(w.scale)), "value": .float(w.value)]
        }
        if let consistency { o["consistency"] = .float(consistency) }
        return o
    }
}

extension VariantSpec: Codable {
    /// Decoding option (`userInfo[formatOneOptions] = true`) for documents written by Bottleneck
    /// itself in format 1, which stored every variant flag given whatever the variant: an option
    /// that belongs to another variant (a `beta` on a denoising model, a `rate` with the l1
    /// penalty) is dropped, as it was ignored then. Names no variant reads stay errors, and so do
    /// bad values. Architecture files written by people are read strictly.
    public static let formatOneOptions = CodingUserInfoKey(rawValue: "bottleneck.variant.formatOneOptions")!

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        if let key = firstUnknownKey(c.allKeys.map(\.stringValue), known: ["kind", "options"]) {
            throw BottleneckError("variant key '\(key)' is not known (known: kind, options)")
        }
        let kind = try c.decode(String.self, forKey: AnyCodingKey("kind"))
        var options = try c.decodeIfPresent([String: JSONValue].self, forKey: AnyCodingKey("options")) ?? [:]
        if decoder.userInfo[Self.formatOneOptions] as? Bool == true, let own = VariantKind.optionKeys[kind] {
            let anyKind = Set(VariantKind.optionKeys.values.joined())
            options = options.filter { key, _ in own.contains(key) || key == "consistency" || !anyKind.contains(key) }
            if kind == "sparse", (options["penalty"] ?? .string("l1")) == .string("l1") { options["rate"] = nil }
        }
        try self.init(kind: kind, options: options)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encode(kind.name, forKey: AnyCodingKey("kind"))
        try c.encode(options, forKey: AnyCodingKey("options"))
    }
}

/// Typed reads of a variant's JSON options; a value of the wrong type throws naming its key.
private struct VariantOptionReader {
    let options: [String: JSONValue]

    func float(_ key: String) throws -> Float? {
        switch options[key] {
        case nil: return nil
        case .number(let n)? where n.isFinite: return Float(n)
        case let other?: throw BottleneckError.invalid(.variantOption(key), "must be a number, got \(other)")
        }
    }

    func int(_ key: String) throws -> Int? {
        switch options[key] {
        case nil: return nil
        case .number(let n)? where n == n.rounded() && Swift.abs(n) < 1e15: return Int(n)
        case let other?: throw BottleneckError.invalid(.variantOption(key), "must be a whole number, got \(other)")
        }
    }

    func string(_ key: String) throws -> String? {
        switch options[key] {
        case nil: return nil
        case .string(let s)?: return s
        case let other?: throw BottleneckError.invalid(.variantOption(key), "must be a string, got \(other)")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch options[key] {
        case nil: return nil
        case .bool(let b)?: return b
        case let other?: throw BottleneckError.invalid(.variantOption(key), "must be true or false, got \(other)")
        }
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _ type: Choice.Type) throws -> Choice? where Choice.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let c = Choice(rawValue: s) else {
            throw BottleneckError.invalid(.variantOption(key), "must be \(Choice.allCases.map(\.rawValue).joined(separator: " or ")), got '\(s)'")
        }
        return c
    }
}
