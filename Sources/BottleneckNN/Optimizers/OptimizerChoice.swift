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
    /// L-BFGS with `memory` curvature pairs and a strong-Wolfe line search: for full-batch or
    /// large fixed-batch training of deterministic objectives. The learning rate scales the first
    /// trial step of each line search (1 is the natural value).
    case lbfgs(memory: Int = 10, tolerances: Tolerances = Tolerances())
    /// Nonlinear conjugate gradients (Polak-Ribiere+, restarts) with the same line search.
    case cg(tolerances: Tolerances = Tolerances())

    /// The optimizers by name, as written in model files and on the command line.
    public enum Name: String, CaseIterable, Sendable {
        case adam, adamw, sgd, lbfgs, cg
        /// Optimizers that evaluate the loss themselves in a line search.
        public var searchesLine: Bool { self == .lbfgs || self == .cg }
    }

    public var name: Name {
        switch self {
        case .adam: return .adam
        case .adamw: return .adamw
        case .sgd: return .sgd
        case .lbfgs: return .lbfgs
        case .cg: return .cg
        }
    }

    public var weightDecay: Float {
        switch self {
        case .adam(let d), .adamw(let d), .sgd(_, _, let d): return d
        case .lbfgs, .cg: return 0
        }
    }

    /// The stopping tolerances of a line-search optimizer, nil for the others.
    public var tolerances: Tolerances? {
        switch self {
        case .lbfgs(_, let t), .cg(let t): return t
        default: return nil
        }
    }

    /// The named optimizer with its defaults except for the settings given; a setting that does
    /// not belong to the optimizer (momentum for Adam) throws naming it.
    public init(_ name: Name, momentum: Float? = nil, nesterov: Bool? = nil, weightDecay: Float? = nil,
                historySize: Int? = nil, gradientTolerance: Double? = nil, stepTolerance: Double? = nil) throws {
        if name != .sgd {
            if momentum != nil { throw BottleneckError.invalid(.momentum, "applies to sgd only, not \(name.rawValue)") }
            if nesterov != nil { throw BottleneckError.invalid(.nesterov, "applies to sgd only, not \(name.rawValue)") }
        }
        if name.searchesLine {
            if weightDecay != nil { throw BottleneckError.invalid(.weightDecay, "applies to adam, adamw and sgd, not \(name.rawValue)") }
        } else {
            if gradientTolerance != nil { throw BottleneckError.invalid(.gradientTolerance, "applies to lbfgs and cg, not \(name.rawValue)") }
            if stepTolerance != nil { throw BottleneckError.invalid(.stepTolerance, "applies to lbfgs and cg, not \(name.rawValue)") }
        }
        if name != .lbfgs, historySize != nil { throw BottleneckError.invalid(.historySize, "applies to lbfgs only, not \(name.rawValue)") }
        let defaults = Tolerances()
        let tolerances = Tolerances(gradient: gradientTolerance ?? defaults.gradient, step: stepTolerance ?? defaults.step)
        switch name {
        case .adam: self = .adam(weightDecay: weightDecay ?? 0)
        case .adamw: self = .adamw(weightDecay: weightDecay ?? 0)
        case .sgd: self = .sgd(momentum: momentum ?? 0.9, nesterov: nesterov ?? false, weightDecay: weightDecay ?? 0)
        case .lbfgs: self = .lbfgs(memory: historySize ?? 10, tolerances: tolerances)
        case .cg: self = .cg(tolerances: tolerances)
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
        if case let .lbfgs(memory, _) = self, !(1...1000).contains(memory) {
            throw BottleneckError.invalid(.historySize, "must be in 1...1000, got \(memory)")
        }
        if let t = tolerances {
            guard t.gradient >= 0, t.gradient.isFinite else { throw BottleneckError.invalid(.gradientTolerance, "must be zero or positive, got \(t.gradient)") }
            guard t.step >= 0, t.step.isFinite else { throw BottleneckError.invalid(.stepTolerance, "must be zero or positive, got \(t.step)") }
        }
    }

    /// The optimizer over `parameters`, starting at `learningRate`.
    public func make(_ parameters: [Tensor], learningRate: Float) -> Optimizer {
        switch self {
        case .adam(let decay): return Adam(parameters: parameters, learningRate: learningRate, weightDecay: decay)
        case .adamw(let decay): return AdamW(parameters: parameters, learningRate: learningRate, weightDecay: decay)
        case let .sgd(momentum, nesterov, decay):
            return SGD(parameters: parameters, learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: decay)
        case let .lbfgs(memory, tolerances):
            return LineSearchOptimizer(parameters: parameters, rule: { LBFGSRule(dimension: $0, memory: memory, blocks: blocks(of: parameters)) },
                                       tolerances: tolerances, stepScale: learningRate)
        case .cg(let tolerances):
            return LineSearchOptimizer(parameters: parameters, rule: { PolakRibiereRule(dimension: $0) }, tolerances: tolerances, stepScale: learningRate)
        }
    }
}

/// Each parameter's range in the flattened vector of all of them.
func blocks(of parameters: [Tensor]) -> [Range<Int>] {
    var offset = 0
    return parameters.map { p in defer { offset += p.count }; return offset..<(offset + p.count) }
}
