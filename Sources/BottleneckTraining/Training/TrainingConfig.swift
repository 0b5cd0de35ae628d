import BottleneckCore
import BottleneckNN
import BottleneckData
/// Everything that decides a training run; stored in the model file so a run can be repeated
/// and resumed. The defaults here are the library's (and the command line's) defaults.
///
/// Stored as one flat JSON object, as since format version 1: `{"optimizer": "sgd", "momentum": 0.9,
/// "weightDecay": 0, "learningRate": 0.001, ...}`. Reading rejects unknown keys and values with a
/// message naming them, instead of falling back to a default.
public struct TrainingConfig: Equatable, Sendable {
    public var epochs = 5
    public var batchSize = 128
    public var learningRate: Float = 1e-3
    /// The optimizer and its own settings (momentum, weight decay).
    public var optimizer: OptimizerChoice = .adam()
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

    /// Throws naming the first field out of range.
    public func validate() throws {
        guard epochs >= 1 else { throw BottleneckError.invalid(.epochs, "must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw BottleneckError.invalid(.batchSize, "must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw BottleneckError.invalid(.learningRate, "must be a positive number, got \(learningRate)") }
        guard (0..<1).contains(validationFraction) else { throw BottleneckError.invalid(.validationFraction, "must be in [0, 1), got \(validationFraction)") }
        if let p = patience, p < 1 { throw BottleneckError.invalid(.patience, "must be at least 1, got \(p)") }
        if let c = clipNorm, !(c > 0 && c.isFinite) { throw BottleneckError.invalid(.clipNorm, "must be a positive number, got \(c)") }
        try optimizer.validate()
        if optimizer.name.searchesLine {
            let reason = "applies to adam, adamw and sgd; \(optimizer.name.rawValue) chooses every step by line search"
            if schedule != nil { throw BottleneckError.invalid(.schedule, reason) }
            if clipNorm != nil { throw BottleneckError.invalid(.clipNorm, reason) }
        }
    }

    /// The learning rate the command line uses when none is given: Adam's and SGD's 1e-3, or 1
    /// for the line-search optimizers (the full first trial step).
    public static func defaultLearningRate(for optimizer: OptimizerChoice.Name) -> Float {
        optimizer.searchesLine ? 1 : 1e-3
    }

    /// The configured optimizer over `parameters`, at the base learning rate.
    public func makeOptimizer(_ parameters: [Tensor]) -> Optimizer {
        optimizer.make(parameters, learningRate: learningRate)
    }
}

extension TrainingConfig: Codable {
    private static let keys = ["epochs", "batchSize", "learningRate", "optimizer", "momentum", "nesterov", "weightDecay",
                               "historySize", "gradientTolerance", "stepTolerance", "schedule", "clipNorm", "seed", "validationFraction",
                               "patience", "loss"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        if let key = firstUnknownKey(c.allKeys.map(\.stringValue), known: Self.keys) {
            throw BottleneckError("training configuration key '\(key)' is not known (known: \(Self.keys.joined(separator: ", ")))")
        }
        func value<T: Decodable>(_ key: String, _ type: T.Type) throws -> T? { try c.decodeIfPresent(type, forKey: AnyCodingKey(key)) }
        let defaults = TrainingConfig()
        epochs = try value("epochs", Int.self) ?? defaults.epochs
        batchSize = try value("batchSize", Int.self) ?? defaults.batchSize
        learningRate = try value("learningRate", Float.self) ?? defaults.learningRate
        let optimizerName = try value("optimizer", String.self) ?? defaults.optimizer.name.rawValue
        guard let name = OptimizerChoice.Name(rawValue: optimizerName) else {
            throw BottleneckError.invalid(.optimizer, "'\(optimizerName)' is not known (known: \(OptimizerChoice.Name.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // Files of format 1 store a momentum for every optimizer; it only means something for SGD.
        let momentum = try value("momentum", Float.self)
        // Format 1 stores a weight decay for every optimizer too; the line-search ones have none.
        let decay = try value("weightDecay", Float.self)
        optimizer = try OptimizerChoice(name, momentum: name == .sgd ? momentum : nil, nesterov: try value("nesterov", Bool.self),
                                        weightDecay: name.searchesLine && decay == 0 ? nil : decay,
                                        historySize: try value("historySize", Int.self),
                                        gradientTolerance: try value("gradientTolerance", Double.self), stepTolerance: try value("stepTolerance", Double.self))
        schedule = try value("schedule", LearningRateSchedule.self)
        clipNorm = try value("clipNorm", Float.self)
        seed = try value("seed", UInt64.self) ?? defaults.seed
        validationFraction = try value("validationFraction", Double.self) ?? defaults.validationFraction
        patience = try value("patience", Int.self)
        let lossName = try value("loss", String.self) ?? defaults.loss.rawValue
        guard let loss = LossKind(rawValue: lossName) else {
            throw BottleneckError.invalid(.loss, "'\(lossName)' is not known (known: \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.loss = loss
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        func put<T: Encodable>(_ key: String, _ v: T?) throws { try c.encodeIfPresent(v, forKey: AnyCodingKey(key)) }
        try put("epochs", epochs)
        try put("batchSize", batchSize)
        try put("learningRate", learningRate)
        try put("optimizer", optimizer.name.rawValue)
        if case let .sgd(momentum, nesterov, _) = optimizer {
            try put("momentum", momentum)
            try put("nesterov", nesterov)
        }
        if !optimizer.name.searchesLine { try put("weightDecay", optimizer.weightDecay) }
        if case .lbfgs(let memory, _) = optimizer { try put("historySize", memory) }
        try put("gradientTolerance", optimizer.tolerances?.gradient)
        try put("stepTolerance", optimizer.tolerances?.step)
        try put("schedule", schedule)
        try put("clipNorm", clipNorm)
        try put("seed", seed)
        try put("validationFraction", validationFraction)
        try put("patience", patience)
        try put("loss", loss.rawValue)
    }
}

/// One line of the training log (JSONL).
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var seconds: Double
    public var samplesPerSecond: Double
    public var learningRate: Float
    /// Named loss parts averaged over the epoch (reconstruction, kl, ...).
    public var parts: [String: Double]
    /// Line-search optimizers: evaluations of the loss over a batch in the epoch (each is a
    /// forward and backward pass; Adam and SGD make one per batch).
    public var evaluations: Int?

    public init(epoch: Int, trainLoss: Double, validationLoss: Double?, seconds: Double, samplesPerSecond: Double,
                learningRate: Float, parts: [String: Double], evaluations: Int? = nil) {
        (self.epoch, self.trainLoss, self.validationLoss, self.seconds) = (epoch, trainLoss, validationLoss, seconds)
        (self.samplesPerSecond, self.learningRate, self.parts, self.evaluations) = (samplesPerSecond, learningRate, parts, evaluations)
    }
}

/// Reported after every batch, for progress bars.
public struct BatchProgress {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var loss: Double
    public var samplesPerSecond: Double
    public var elapsed: Double
}
