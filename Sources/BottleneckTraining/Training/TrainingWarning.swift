import BottleneckCore
import BottleneckData

/// A choice known to train a poor model, found before training starts. The run goes ahead (the
/// user may mean it); `train` prints each as one line.
public enum TrainingWarning: Equatable, Sendable, CustomStringConvertible {
    /// A code at least as large as the input, with no objective that stops it learning the
    /// identity (sparse, denoising, contractive, variational and adversarial ones do).
    case overcompleteCode(code: Int, inputs: Int)
    /// Too few optimizer steps for a model to learn much.
    case fewSteps(steps: Int, epochs: Int, batchesPerEpoch: Int)
    /// A sigmoid output trained on standardised data, which it cannot reach (values outside (0, 1)).
    case sigmoidOnStandardScaling

    /// Steps below which a run is warned about.
    public static let fewStepsLimit = 300

    public var description: String {
        switch self {
        case let .overcompleteCode(code, inputs):
            return "the code has \(code) values for \(inputs) inputs, so it can learn to copy them: choose a smaller code, or a sparse or denoising variant"
        case let .fewSteps(steps, epochs, batches):
            return "\(epochs) epochs of \(batches) batches are \(steps) optimizer steps, fewer than \(Self.fewStepsLimit): train for more epochs or with smaller batches"
        case .sigmoidOnStandardScaling:
            return "the model ends in a sigmoid, whose outputs lie in (0, 1), but standard scaling gives values outside it: scale to unit range or end in a linear layer"
        }
    }

    /// The warnings for training `spec` (built, with code of `codeShape`) on `rows` training rows
    /// scaled by `scaler` under `config`.
    public static func check(spec: ArchitectureSpec, codeShape: [Int], inputShape: [Int], rows: Int,
                             scaler: Scaler, config: TrainingConfig) -> [TrainingWarning] {
        var warnings: [TrainingWarning] = []
        let code = codeShape.reduce(1, *), inputs = inputShape.reduce(1, *)
        if code >= inputs && !(spec.variant?.kind.preventsIdentity ?? false) {
            warnings.append(.overcompleteCode(code: code, inputs: inputs))
        }
        // The line-search optimizers take one full step per batch and stop on their own tolerances.
        if !config.optimizer.name.searchesLine {
            let batches = (rows + config.batchSize - 1) / config.batchSize
            if batches * config.epochs < fewStepsLimit {
                warnings.append(.fewSteps(steps: batches * config.epochs, epochs: config.epochs, batchesPerEpoch: batches))
            }
        }
        if scaler.kind == .standard && spec.decoder.last?.type == "sigmoid" {
            warnings.append(.sigmoidOnStandardScaling)
        }
        return warnings
    }
}

extension VariantKind {
    /// Whether the objective keeps even a code as large as the input from learning the identity
    /// (by a penalty, or by a target that differs from the input).
    var preventsIdentity: Bool {
        switch self {
        case .denoising, .sparse, .contractive, .vae, .aae, .colorize, .unwatermark: return true
        case .plain: return false
        }
    }
}
