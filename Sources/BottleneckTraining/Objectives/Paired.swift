import BottleneckCore
import BottleneckNN
import BottleneckData
/// A degradation that turns a clean batch into a model input: noise, a gray copy, a watermark.
/// Drawing from the run's generator, it gives every batch fresh randomness.
public protocol InputTransform: CustomStringConvertible {
    func apply(_ clean: Tensor, rng: RandomGenerator) -> Tensor
    /// Whether `apply` draws from the generator.
    var isRandom: Bool { get }
}

extension InputTransform {
    public var isRandom: Bool { true }
}

extension NoiseModel: InputTransform {}
extension Watermark: InputTransform {}

/// RGB images [N, 3, H, W] to their luma copied to all three channels.
public struct GrayscaleTransform: InputTransform {
    public init() {}
    public var description: String { "grayscale" }
    public var isRandom: Bool { false }
    public func apply(_ clean: Tensor, rng: RandomGenerator) -> Tensor { Colorization.grayInput(clean) }
}

/// Training on (input, target) pairs where the input is derived from the clean batch: the model
/// sees `transform(x)` and is trained to give back x. Colorisation (gray in, colour out) and
/// watermark removal use it; the one training loop stays as it is. `restore`, when given, maps the
/// raw output and the input to the final output inside the loss (colorisation keeps the input's luma).
public final class PairedObjective: Objective {
    public let transform: InputTransform
    public let lossKind: LossKind
    public let label: String
    public let restore: ((_ output: Tensor, _ input: Tensor) -> Tensor)?

    public init(_ label: String, transform: InputTransform, loss: LossKind = .mse,
                restore: ((_ output: Tensor, _ input: Tensor) -> Tensor)? = nil) throws {
        if restore != nil && (loss == .bce || loss == .bceLogits) {
            throw BottleneckError.invalid(.loss, "must be mse, l1 or rmse for variant \(label) (its output is adjusted after the decoder), not \(loss.rawValue)")
        }
        self.label = label
        self.transform = transform
        lossKind = loss
        self.restore = restore
    }

    public var name: String { "\(label) (\(transform), \(lossKind.rawValue))" }
    public var randomness: String? { transform.isRandom ? "\(label) draws a fresh \(transform) for every batch" : nil }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let degraded = transform.apply(input, rng: rng)
        let code = model.encode(degraded)
        guard let restore else {
            let (loss, r) = model.reconstructionLoss(lossKind, code: code, target: input)
            return LossTerms(total: loss, code: code, reconstruction: r)
        }
        let r = restore(model.decode(code), degraded)
        return LossTerms(total: reconstructionLoss(lossKind, r, input), code: code, reconstruction: r)
    }
}
