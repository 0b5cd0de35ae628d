import BottleneckCore
/// An optimizer updates a fixed list of parameters in place. Its state (moments, step count,
/// curvature pairs) can be saved by name and restored, so a run resumes exactly.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    /// The step size: Adam's and SGD's rate, or the scale of a line search's first trial step.
    var learningRate: Float { get set }
    /// Named state tensors, for checkpoints.
    func stateTensors() -> [(String, Tensor)]
    func loadState(_ state: [String: Tensor]) throws
}

/// An optimizer that updates from the gradients already computed, one step per batch (Adam,
/// SGD); the line-search optimizers instead evaluate the loss themselves (`LineSearchOptimizer`).
public protocol StepOptimizer: Optimizer {
    /// One update from the current gradients; parameters without a gradient are left alone.
    func step()
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Adam (Kingma & Ba) with bias correction, as torch.optim.Adam; with `decoupledWeightDecay`
/// it is AdamW (decay applied to the weights directly), else weight decay is added to the gradient.
public final class Adam: StepOptimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private var m: [Tensor], v: [Tensor]

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        m = parameters.map { Tensor(shape: $0.shape) }
        v = parameters.map { Tensor(shape: $0.shape) }
    }

    public func step() {
        stepCount += 1
        let b1 = beta1, b2 = beta2, lr = learningRate, eps = epsilon, wd = weightDecay
        let c1 = 1 - Float(Foundation.pow(Double(b1), Double(stepCount)))
        let c2 = 1 - Float(Foundation.pow(Double(b2), Double(stepCount)))
        let stepSize = lr / c1, c2root = c2.squareRoot()
        for (k, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let w = p.data, mk = m[k].data, vk = v[k].data
            if decoupledWeightDecay && wd != 0 { let f = 1 - lr * wd; for i in 0..<p.count { w[i] *= f } }
            bn_adam(w, g, mk, vk, p.count, b1, b2, stepSize, c2root, eps, decoupledWeightDecay ? 0 : wd)
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        [("step", Tensor(scalar: Float(stepCount)))]
            + m.enumerated().map { ("exp_avg.\($0.offset)", $0.element) }
            + v.enumerated().map { ("exp_avg_sq.\($0.offset)", $0.element) }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        guard let s = state["step"] else { throw BottleneckError("optimizer state: missing 'step'") }
        for (name, t) in stateTensors() where name != "step" {
            guard let src = state[name] else { throw BottleneckError("optimizer state: missing '\(name)'") }
            guard src.shape == t.shape else {
                throw BottleneckError("optimizer state: '\(name)' has shape \(formatShape(src.shape)), expected \(formatShape(t.shape))")
            }
            t.assign(src)
        }
        stepCount = Int(s.item)
    }
}

import CKernels
import Foundation
