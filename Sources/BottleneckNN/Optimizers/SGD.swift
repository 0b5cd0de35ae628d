import BottleneckCore
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay, exactly as torch.optim.SGD:
///
///     g = grad + weightDecay * w
///     buf = g                                  (a parameter's first step with a gradient)
///     buf = momentum * buf + (1 - dampening) * g   (later steps)
///     g = nesterov ? g + momentum * buf : buf   (only when momentum != 0)
///     w -= learningRate * g
public final class SGD: StepOptimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    /// Created on a parameter's first step with a gradient (torch initialises it to that gradient).
    private var momentumBuffers: [Tensor?]

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and zero dampening")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        momentumBuffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        stepCount += 1
        let lr = learningRate, mu = momentum, wd = weightDecay, keep = 1 - dampening
        for (k, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let w = p.data, n = p.count
            guard mu != 0 else {
                for i in 0..<n { w[i] -= lr * (g[i] + wd * w[i]) }
                continue
            }
            if let buffer = momentumBuffers[k] {
                let b = buffer.data
                for i in 0..<n {
                    let gi = g[i] + wd * w[i]
                    b[i] = mu * b[i] + keep * gi
                    w[i] -= lr * (nesterov ? gi + mu * b[i] : b[i])
                }
            } else {
                let buffer = Tensor(shape: p.shape, zeroed: false)
                let b = buffer.data
                for i in 0..<n {
                    let gi = g[i] + wd * w[i]
                    b[i] = gi
                    w[i] -= lr * (nesterov ? gi + mu * gi : gi)
                }
                momentumBuffers[k] = buffer
            }
        }
    }

    /// `step`, then `momentum_buffer.K` for each parameter K that has a buffer yet.
    public func stateTensors() -> [(String, Tensor)] {
        [("step", Tensor(scalar: Float(stepCount)))]
            + momentumBuffers.enumerated().compactMap { k, b in b.map { ("momentum_buffer.\(k)", $0) } }
    }

    /// Restores `stateTensors()`; a parameter without a `momentum_buffer.K` starts afresh, as in torch.
    /// Names that are not SGD state are ignored (the dictionary may hold a whole checkpoint).
    public func loadState(_ state: [String: Tensor]) throws {
        guard let s = state["step"], s.count == 1 else { throw BottleneckError("optimizer state: missing 'step'") }
        var buffers = [Tensor?](repeating: nil, count: parameters.count)
        for (name, t) in state where name.hasPrefix("momentum_buffer.") {
            guard let k = Int(name.dropFirst("momentum_buffer.".count)), parameters.indices.contains(k) else {
                throw BottleneckError("optimizer state: '\(name)' does not belong to any of the \(parameters.count) parameters")
            }
            guard t.shape == parameters[k].shape else {
                throw BottleneckError("optimizer state: '\(name)' has shape \(formatShape(t.shape)), expected \(formatShape(parameters[k].shape))")
            }
            buffers[k] = t.copy()
        }
        momentumBuffers = buffers
        stepCount = Int(s.item)
    }
}

/// AdamW (Loshchilov & Hutter) as torch.optim.AdamW: Adam with weight decay applied to the
/// weights directly rather than added to the gradient. torch's default decay is 0.01.
public func AdamW(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                  epsilon: Float = 1e-8, weightDecay: Float = 1e-2) -> Adam {
    Adam(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
         epsilon: epsilon, weightDecay: weightDecay, decoupledWeightDecay: true)
}
