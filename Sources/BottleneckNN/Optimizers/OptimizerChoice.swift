import BottleneckCore
/// Which optimizer trains a model, with the settings that belong to it (momentum only exists for
/// SGD). `make` builds it for a list of parameters.
public enum OptimizerChoice: Equatable, Sendable {
    /// Adam (torch.optim.Adam); `weightDecay` is added to the gradient (L2).
    case adam(weightDecay: Float = 0)
    /// AdamW (torch.optim.AdamW): the decay is applied to the weights directly.
    case adamw(weightDecay: Float = 0)
    /// Stochastic gradient descent (torch.optim.SGD) with momentum, optionally Nesterov's.
    case sgd(momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 0)

    /// The optimizers by name, as written in model files and on the command line.
    public enum Name: String, CaseIterable, Sendable { case adam, adamw, sgd }

    public var name: Name {
        switch self {
        case .adam: return .adam
        case .adamw: return .adamw
        case .sgd: return .sgd
        }
    }

    public var weightDecay: Float {
        switch self {
        case .adam(let d), .adamw(let d), .sgd(_, _, let d): return d
        }
    }

    /// The named optimizer with its defaults except for the settings given; a setting that does
    /// not belong to the optimizer (momentum for Adam) throws naming it.
    public init(_ name: Name, momentum: Float? = nil, nesterov: Bool? = nil, weightDecay: Float? = nil) throws {
        if name != .sgd {
            if momentum != nil { throw BottleneckError.invalid(.momentum, "applies to sgd only, not \(name.rawValue)") }
            if nesterov != nil { throw BottleneckError.invalid(.nesterov, "applies to sgd only, not \(name.rawValue)") }
        }
        switch name {
        case .adam: self = .adam(weightDecay: weightDecay ?? 0)
        case .adamw: self = .adamw(weightDecay: weightDecay ?? 0)
        case .sgd: self = .sgd(momentum: momentum ?? 0.9, nesterov: nesterov ?? false, weightDecay: weightDecay ?? 0)
        }
    }

    /// Throws naming the setting that is out of range.
    public func validate() throws {
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw BottleneckError.invalid(.weightDecay, "must be zero or positive, got \(weightDecay)")
        }
        if case let .sgd(momentum, nesterov, _) = self {
            guard momentum >= 0, momentum.isFinite else { throw BottleneckError.invalid(.momentum, "must be zero or positive, got \(momentum)") }
            if nesterov && momentum == 0 { throw BottleneckError.invalid(.nesterov, "needs a momentum above 0") }
        }
    }

    /// The optimizer over `parameters`, starting at `learningRate`.
    public func make(_ parameters: [Tensor], learningRate: Float) -> Optimizer {
        switch self {
        case .adam(let decay): return Adam(parameters: parameters, learningRate: learningRate, weightDecay: decay)
        case .adamw(let decay): return AdamW(parameters: parameters, learningRate: learningRate, weightDecay: decay)
        case let .sgd(momentum, nesterov, decay):
            return SGD(parameters: parameters, learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: decay)
        }
    }
}
