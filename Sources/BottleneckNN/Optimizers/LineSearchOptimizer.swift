import BottleneckCore
/// L-BFGS or conjugate gradients over a model's parameters: the float parameters are the
/// minimizer's point (rounded to float after every trial, so a checkpoint holds the point
/// exactly), and the caller's closure computes the loss and the parameters' gradients.
/// For deterministic objectives: the line search compares values of one function.
public final class LineSearchOptimizer: Optimizer {
    public let parameters: [Tensor]
    public let minimizer: LineSearchMinimizer
    public var learningRate: Float {
        get { Float(minimizer.stepScale) }
        set { minimizer.stepScale = Double(newValue) }
    }

    public init(parameters: [Tensor], rule: (_ dimension: Int) -> DirectionRule, tolerances: Tolerances = Tolerances(), stepScale: Float = 1) {
        self.parameters = parameters
        let n = parameters.reduce(0) { $0 + $1.count }
        minimizer = LineSearchMinimizer(dimension: n, rule: rule(n), tolerances: tolerances, stepScale: Double(stepScale))
    }

    /// One iteration. `loss()` must zero nothing and return the loss at the parameters' current
    /// values with their gradients accumulated from zero (the optimizer zeroes them first).
    /// `sameFunction`: the loss is the one of the previous call (full batch), so the value and
    /// gradient at the current point are reused.
    public func iterate(sameFunction: Bool, loss: @escaping () throws -> Double) throws -> IterationReport {
        var offset = 0
        let x = minimizer.x
        for p in parameters {
            for i in 0..<p.count { x[offset + i] = Double(p.data[i]) }
            offset += p.count
        }
        if !sameFunction { minimizer.invalidate() }
        return try minimizer.iterate(ParameterFunction(parameters, dimension: minimizer.dimension, loss: loss))
    }

    public func stateTensors() -> [(String, Tensor)] { minimizer.stateTensors }

    public func loadState(_ state: [String: Tensor]) throws { try minimizer.loadState(state) }
}

/// The loss as a function of the flattened parameters.
private final class ParameterFunction: DifferentiableFunction {
    let parameters: [Tensor]
    let dimension: Int
    let loss: () throws -> Double

    init(_ parameters: [Tensor], dimension: Int, loss: @escaping () throws -> Double) {
        (self.parameters, self.dimension, self.loss) = (parameters, dimension, loss)
    }

    func evaluate(_ x: UnsafeMutableBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>) throws -> Double {
        var offset = 0
        for p in parameters {
            let w = p.data
            for i in 0..<p.count {
                w[i] = Float(x[offset + i])
                x[offset + i] = Double(w[i])
            }
            p.zeroGrad()
            offset += p.count
        }
        let value = try loss()
        offset = 0
        for p in parameters {
            if let g = p.grad {
                for i in 0..<p.count { gradient[offset + i] = Double(g[i]) }
            } else {
                for i in 0..<p.count { gradient[offset + i] = 0 }
            }
            offset += p.count
        }
        return value
    }
}
