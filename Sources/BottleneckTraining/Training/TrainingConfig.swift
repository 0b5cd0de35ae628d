import BottleneckCore
import BottleneckNN
import BottleneckData
/// Everything that decides a training run; stored in the model file so a run can be repeated
/// and resumed.
public struct TrainingConfig: Codable, Equatable {
    public var epochs = 5
    public var batchSize = 128
    public var learningRate: Float = 1e-3
    /// "adam", "adamw" or "sgd".
    public var optimizer = "adam"
    public var momentum: Float = 0.9
    public var weightDecay: Float = 0
    /// Learning-rate schedule over the run (constant when nil).
    public var schedule: LearningRateSchedule?
    /// Clip gradients to this global L2 norm (none when nil).
    public var clipNorm: Float?
    public var seed: UInt64 = 0
    /// Fraction of the training data held out for validation (0: none).
    public var validationFraction = 0.0
    /// Stop when the validation loss has not improved for this many epochs.
    public var patience: Int?
    public var loss: LossKind = .mse

    public init() {}

    public func validate() throws {
        guard epochs >= 1 else { throw BottleneckError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw BottleneckError("--batch-size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw BottleneckError("--lr must be a positive number, got \(learningRate)") }
        guard (0..<1).contains(validationFraction) else { throw BottleneckError("--validation must be in [0, 1), got \(validationFraction)") }
        guard ["adam", "adamw", "sgd"].contains(optimizer) else { throw BottleneckError("--optimizer must be adam, adamw or sgd, got '\(optimizer)'") }
        if let p = patience, p < 1 { throw BottleneckError("--patience must be at least 1, got \(p)") }
        if let c = clipNorm, !(c > 0) { throw BottleneckError("--clip-norm must be positive, got \(c)") }
    }

    public func makeOptimizer(_ parameters: [Tensor]) -> Optimizer {
        switch optimizer {
        case "adamw": return Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
        case "sgd": return SGD(parameters: parameters, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        default: return Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
        }
    }
}

/// One line of the training log (JSONL).
public struct EpochRecord: Codable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var seconds: Double
    public var samplesPerSecond: Double
    public var learningRate: Float
    /// Named loss parts averaged over the epoch (reconstruction, kl, ...).
    public var parts: [String: Double]
}

/// Reported after every batch, for progress bars.
public struct BatchProgress {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var loss: Double
    public var samplesPerSecond: Double
    public var elapsed: Double
}
