import BottleneckCore
import BottleneckNN
import BottleneckData
/// An autoencoder: encoder h = f(x) and decoder r = g(h), built from an `ArchitectureSpec` for
/// inputs of a given per-sample shape. Shapes are checked when it is built, so a model and data
/// that do not fit fail here with the layer named, never inside training.
public final class Autoencoder: Module {
    public let spec: ArchitectureSpec
    public let encoder: Sequential
    public let decoder: Sequential
    public let inputShape: [Int]
    /// The decoder's input: the code (for a VAE, the latent sample's shape).
    public let codeShape: [Int]
    /// A VAE's encoder emits [mean, log-variance] side by side: twice the code's size.
    public let isVariational: Bool

    /// What building the model counted: parameters and one sample's activations.
    public let memory: ModelMemory

    /// Builds the model, refusing one that needs more than `memoryLimit` (see `ModelMemory`)
    /// before allocating it.
    public init(spec: ArchitectureSpec, inputShape: [Int], rng: RandomGenerator, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw BottleneckError("model '\(spec.name)': invalid input shape \(formatShape(inputShape))")
        }
        guard !spec.encoder.isEmpty, !spec.decoder.isEmpty else {
            throw BottleneckError("model '\(spec.name)': the \(spec.encoder.isEmpty ? "encoder" : "decoder") has no layers")
        }
        var budget = ModelMemory(limit: memoryLimit)
        do { try budget.add(activations: inputShape, of: ModelMemory.inputName) } catch let e as BottleneckError where e.field == nil {
            throw BottleneckError("model '\(spec.name)': input shape: \(e.message)")
        }
        if let declared = spec.inputShape, declared != inputShape {
            throw BottleneckError("model '\(spec.name)' was built for inputs \(formatShape(declared)), the data has \(formatShape(inputShape))")
        }
        var spec = spec
        spec.inputShape = inputShape
        let encoderOutput: [Int]
        (encoder, encoderOutput) = try LayerFactory.sequential(spec.encoder, inputShape: inputShape, rng: rng, part: "encoder", budget: &budget)
        isVariational = spec.variant?.isVariational ?? false
        if isVariational {
            guard encoderOutput.count == 1, encoderOutput[0] % 2 == 0 else {
                throw BottleneckError("model '\(spec.name)': a VAE encoder must end in a flat layer of 2 x latent size (mean and log-variance), got \(formatShape(encoderOutput))")
            }
            codeShape = [encoderOutput[0] / 2]
        } else {
            codeShape = encoderOutput
        }
        var decoderSpecs = spec.decoder
        let encoderBudget = budget
        var (dec, outShape) = try LayerFactory.sequential(decoderSpecs, inputShape: codeShape, rng: rng, part: "decoder", budget: &budget)
        if outShape != inputShape && outShape.reduce(1, *) == inputShape.reduce(1, *) {
            // A flat decoder output for image-shaped input: restore the shape.
            decoderSpecs.append(LayerSpec("unflatten", ["shape": .array(inputShape.map { .number(Double($0)) })]))
            budget = encoderBudget
            (dec, outShape) = try LayerFactory.sequential(decoderSpecs, inputShape: codeShape, rng: rng, part: "decoder", budget: &budget)
        }
        guard outShape == inputShape else {
            throw BottleneckError("model '\(spec.name)': decoder output \(formatShape(outShape)) does not match input \(formatShape(inputShape))")
        }
        spec.decoder = decoderSpecs
        decoder = dec
        memory = budget
        self.spec = spec
        self.inputShape = inputShape
    }

    public override var children: [(String, Module)] { [("encoder", encoder), ("decoder", decoder)] }

    /// The code of `x`; for a VAE, the mean of its latent distribution.
    public func encode(_ x: Tensor) -> Tensor { isVariational ? encodeDistribution(x).mean : encoder(x) }
    public func decode(_ h: Tensor) -> Tensor { decoder(h) }
    /// Reconstruction through the code (a VAE decodes its mean: deterministic).
    public override func callAsFunction(_ x: Tensor) -> Tensor { decoder(encode(x)) }

    /// Log-variance is clamped to a range where exp() neither overflows nor underflows.
    public static let logVarianceRange: (Float, Float) = (-30, 20)

    /// A VAE encoder's mean and log-variance, [N, k] each.
    public func encodeDistribution(_ x: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        precondition(isVariational, "encodeDistribution needs a VAE")
        let both = encoder(x), k = codeShape[0]
        return (both.narrow(axis: 1, start: 0, length: k),
                both.narrow(axis: 1, start: k, length: k).clamp(Self.logVarianceRange.0, Self.logVarianceRange.1))
    }

    public override var typeName: String { "Autoencoder(\(spec.name))" }

    /// Checks a batch's per-sample shape against the model's input, naming both.
    public func checkInput(_ sampleShape: [Int], source: String) throws {
        guard sampleShape == inputShape else {
            throw BottleneckError("\(source): samples of shape \(formatShape(sampleShape)) do not fit model '\(spec.name)' (input \(formatShape(inputShape)))")
        }
    }
}

/// A decoder's output as a loss of some kind is computed on it: `output` is either the decoded
/// values or, when a final sigmoid was folded into BCE, the logits before it (`kind` .bceLogits).
public struct DecodedForLoss {
    /// The tensor the loss is computed on.
    public let output: Tensor
    /// The loss kind to compute on `output`.
    public let kind: LossKind
    /// True when `output` holds the logits of a final sigmoid that was folded into the loss.
    public let foldedSigmoid: Bool

    /// The reconstruction: the sigmoid of the logits when one was folded (computed on each call),
    /// `output` itself otherwise.
    public var reconstruction: Tensor { foldedSigmoid ? output.sigmoid() : output }
}

extension Autoencoder {
    /// Decodes `code` for a loss of `kind`, with the one sigmoid-folding rule that training losses
    /// and evaluation metrics share: for BCE with a decoder whose last layer, reshapes aside, is a
    /// Sigmoid, the loss is BCE from the logits before it (stabler, and it skips the sigmoid's
    /// backward); otherwise the decoded output with `kind` itself.
    public func decodeForLoss(_ kind: LossKind, code: Tensor) -> DecodedForLoss {
        // Reshaping after the sigmoid commutes with it.
        let layers = decoder.layers
        let shapeOnly = layers.reversed().prefix { $0 is Unflatten || $0 is Flatten }.count
        if kind == .bce, layers.count > shapeOnly, layers[layers.count - 1 - shapeOnly] is Sigmoid {
            let beforeSigmoid = layers[..<(layers.count - 1 - shapeOnly)], after = layers.suffix(shapeOnly)
            let logits = after.reduce(beforeSigmoid.reduce(code) { $1($0) }) { $1($0) }
            return DecodedForLoss(output: logits, kind: .bceLogits, foldedSigmoid: true)
        }
        return DecodedForLoss(output: decode(code), kind: kind, foldedSigmoid: false)
    }

    /// The reconstruction loss of decoding `code` against `target` (`decodeForLoss`'s rule), and
    /// the reconstruction (for a folded sigmoid, the sigmoid of the logits).
    public func reconstructionLoss(_ kind: LossKind, code: Tensor, target: Tensor, reduction: Reduction = .mean) -> (Tensor, Tensor) {
        let decoded = decodeForLoss(kind, code: code)
        let out = decoded.output
        let loss: Tensor
        switch decoded.kind {
        case .mse: loss = mseLoss(out, target, reduction: reduction)
        case .l1: loss = l1Loss(out, target, reduction: reduction)
        case .bce: loss = bceLoss(out, target, reduction: reduction)
        case .bceLogits: loss = bceWithLogitsLoss(out, target, reduction: reduction)
        case .rmse: loss = rmseLoss(out, target)
        }
        return (loss, decoded.reconstruction)
    }
}
