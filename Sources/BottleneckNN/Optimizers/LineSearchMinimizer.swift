import Foundation
import BottleneckCore
/// A function of a flat vector of doubles, with its gradient.
public protocol DifferentiableFunction: AnyObject {
    var dimension: Int { get }
    /// f(x), writing the gradient into `gradient`. It may round `x` in place to the values it
    /// can hold (float parameters), so that the point evaluated is the point the minimizer keeps.
    func evaluate(_ x: UnsafeMutableBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>) throws -> Double
}

/// How a line-search method turns the gradient into a search direction, and what it remembers
/// between iterations: L-BFGS's curvature pairs, or conjugate gradients' previous direction.
/// Its memory is kept in single precision so that a checkpoint holds it exactly.
public protocol DirectionRule: AnyObject {
    /// c2 of the strong Wolfe conditions suited to the rule.
    var curvature: Double { get }
    /// Writes the direction at a point with gradient `g` and value `f` into `d` and returns the
    /// first step length to try; the minimizer falls back to steepest descent if `d` is not a
    /// descent direction.
    func direction(gradient g: UnsafeBufferPointer<Double>, value f: Double, into d: UnsafeMutableBufferPointer<Double>) -> Double
    /// Called after an accepted step `s` (new point minus old), with the gradients at both ends.
    func accept(step s: UnsafeBufferPointer<Double>, direction d: UnsafeBufferPointer<Double>, oldGradient: UnsafeBufferPointer<Double>,
                newGradient: UnsafeBufferPointer<Double>, oldValue: Double, newValue: Double)
    /// Forgets the memory (the next direction is steepest descent).
    func reset()
    var stateTensors: [(String, Tensor)] { get }
    func loadState(_ state: [String: Tensor]) throws
}

/// Why a minimization stopped.
public enum MinimizationStop: Equatable, Sendable, CustomStringConvertible {
    /// The largest gradient entry is at most the gradient tolerance.
    case gradient(Double)
    /// The largest entry of the last step is at most the step tolerance.
    case step(Double)
    /// No step lowered the value although every trial was finite and the values differed only
    /// in the last digits: the optimum within the arithmetic's precision.
    case precision

    public var description: String {
        switch self {
        case .gradient(let g): return "converged: the largest gradient entry is \(shortNumber(g))"
        case .step(let s): return "converged: the largest step entry is \(shortNumber(s))"
        case .precision: return "converged: no lower value within float precision"
        }
    }
}

/// What one iteration did.
public struct IterationReport: Equatable, Sendable {
    /// The value at the new point (at the old one when `stop` is set before a step).
    public var value: Double
    /// The largest gradient entry at the new point.
    public var gradientMax: Double
    /// The accepted step length along the direction (0 when no step was taken).
    public var stepLength: Double
    /// Function evaluations the iteration made.
    public var evaluations: Int
    /// Set when the minimization has converged.
    public var stop: MinimizationStop?
}

/// Stopping tolerances of the line-search optimizers.
public struct Tolerances: Equatable, Sendable, Codable {
    /// Stop when the largest gradient entry is at most this.
    public var gradient: Double
    /// Stop when the largest entry of a step is at most this.
    public var step: Double

    public init(gradient: Double = 1e-7, step: Double = 1e-9) {
        self.gradient = gradient
        self.step = step
    }
}

/// A line search failed; the point is left where it was before the iteration.
public struct LineSearchFailure: Error, Equatable, CustomStringConvertible {
    public var description: String
}

/// Minimizes a `DifferentiableFunction` by iterations of "direction, then strong-Wolfe line
/// search": L-BFGS or nonlinear conjugate gradients, depending on the `DirectionRule`. The
/// iterate, gradient and direction are doubles; `x` is the current point.
public final class LineSearchMinimizer {
    public let rule: DirectionRule
    public var tolerances: Tolerances
    /// Scales every first trial step (torch's `lr` of LBFGS; 1 is the natural value).
    public var stepScale: Double
    public let dimension: Int
    public private(set) var iterations = 0
    /// The current point; set it, then call `invalidate()`, to start elsewhere.
    public let x: UnsafeMutableBufferPointer<Double>
    private let g, d, trialX, trialG: UnsafeMutableBufferPointer<Double>
    /// The value at `x` with its gradient in `g`, when they are known for the current function.
    private var value: Double?

    public init(dimension: Int, rule: DirectionRule, tolerances: Tolerances = Tolerances(), stepScale: Double = 1) {
        self.dimension = dimension
        self.rule = rule
        self.tolerances = tolerances
        self.stepScale = stepScale
        func buffer() -> UnsafeMutableBufferPointer<Double> {
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: dimension)
            b.initialize(repeating: 0)
            return b
        }
        (x, g, d, trialX, trialG) = (buffer(), buffer(), buffer(), buffer(), buffer())
    }

    deinit { for b in [x, g, d, trialX, trialG] { b.deallocate() } }

    /// Forgets the value and gradient at `x` (the point moved, or the function changed, e.g. a
    /// new batch); the next iteration evaluates them first.
    public func invalidate() { value = nil }

    /// One iteration on `f`. Throws `LineSearchFailure` if no acceptable step exists (every trial
    /// non-finite, or no decrease along steepest descent), with `x` unchanged.
    public func iterate(_ f: DifferentiableFunction) throws -> IterationReport {
        precondition(f.dimension == dimension, "minimizer of dimension \(dimension) given a function of dimension \(f.dimension)")
        let n = dimension
        var evaluations = 0
        let f0: Double
        if let v = value { f0 = v } else {
            f0 = try f.evaluate(x, gradient: g)
            evaluations += 1
            guard f0.isFinite else { throw LineSearchFailure(description: "the value at the current point is \(f0)") }
            value = f0
        }
        let gMax = maxAbs(g)
        if gMax <= tolerances.gradient {
            return IterationReport(value: f0, gradientMax: gMax, stepLength: 0, evaluations: evaluations, stop: .gradient(gMax))
        }
        iterations += 1
        var firstStep = rule.direction(gradient: UnsafeBufferPointer(g), value: f0, into: d)
        var slope = ddot(n, d.baseAddress!, g.baseAddress!)
        var steepest = false
        func useSteepestDescent() {
            rule.reset()
            for i in 0..<n { d[i] = -g[i] }
            slope = -ddot(n, g.baseAddress!, g.baseAddress!)
            firstStep = min(1, 1 / (-slope).squareRoot())
            steepest = true
        }
        if !(slope < 0) || !slope.isFinite { useSteepestDescent() }

        let search = StrongWolfeLineSearch(curvature: rule.curvature)
        while true {
            let outcome = try search.search(start: .init(step: 0, value: f0, slope: slope), initialStep: firstStep * stepScale) { t in
                try self.evaluateTrial(f, step: t)
            }
            switch outcome {
            case let .accepted(p, used):
                evaluations += used
                return accept(p, oldValue: f0, evaluations: evaluations)
            case let .failed(lowest, used):
                evaluations += used
                if !steepest {
                    useSteepestDescent()
                    continue
                }
                guard let lowest else {
                    try restore(f)
                    throw LineSearchFailure(description: "every trial step gave a non-finite value")
                }
                if lowest.value < f0 {
                    // Sufficient decrease without the curvature condition: take the step, but
                    // learn no curvature from it.
                    _ = try evaluateTrial(f, step: lowest.step)
                    evaluations += 1
                    rule.reset()
                    return accept(lowest, oldValue: f0, evaluations: evaluations, learn: false)
                }
                try restore(f)
                evaluations += 1
                if abs(lowest.value - f0) <= 1e-6 * max(abs(f0), 1e-30) {
                    return IterationReport(value: f0, gradientMax: gMax, stepLength: 0, evaluations: evaluations, stop: .precision)
                }
                throw LineSearchFailure(description: "no step along the steepest-descent direction lowered the value \(shortNumber(f0)) (largest gradient entry \(shortNumber(gMax)))")
            }
        }
    }

    /// The value and slope at x + t d; the trial point and its gradient stay in trialX/trialG.
    private func evaluateTrial(_ f: DifferentiableFunction, step t: Double) throws -> StrongWolfeLineSearch.Point {
        let n = dimension
        for i in 0..<n { trialX[i] = x[i] + t * d[i] }
        let v = try f.evaluate(trialX, gradient: trialG)
        return .init(step: t, value: v, slope: ddot(n, d.baseAddress!, trialG.baseAddress!))
    }

    /// Moves to the trial point of `p` (the last one evaluated).
    private func accept(_ p: StrongWolfeLineSearch.Point, oldValue: Double, evaluations: Int, learn: Bool = true) -> IterationReport {
        let n = dimension
        var stepMax = 0.0
        for i in 0..<n {
            let s = trialX[i] - x[i]
            stepMax = max(stepMax, abs(s))
            x[i] = s  // x holds the step until the rule has seen it
        }
        if learn {
            rule.accept(step: UnsafeBufferPointer(x), direction: UnsafeBufferPointer(d), oldGradient: UnsafeBufferPointer(g),
                        newGradient: UnsafeBufferPointer(trialG), oldValue: oldValue, newValue: p.value)
        }
        for i in 0..<n { x[i] = trialX[i]; g[i] = trialG[i] }
        value = p.value
        let gMax = maxAbs(g)
        let stop: MinimizationStop? = gMax <= tolerances.gradient ? .gradient(gMax) : stepMax <= tolerances.step ? .step(stepMax) : nil
        return IterationReport(value: p.value, gradientMax: gMax, stepLength: p.step, evaluations: evaluations, stop: stop)
    }

    /// Evaluates at `x` again, so that a function holding state (model parameters) is back there.
    private func restore(_ f: DifferentiableFunction) throws {
        value = try f.evaluate(x, gradient: g)
    }

    private func maxAbs(_ v: UnsafeMutableBufferPointer<Double>) -> Double {
        var m = 0.0
        for i in 0..<dimension { m = max(m, abs(v[i])) }
        return m
    }

    /// The rule's memory and the iteration count, for checkpoints.
    public var stateTensors: [(String, Tensor)] {
        [("iterations", Tensor(scalar: Float(iterations)))] + rule.stateTensors
    }

    public func loadState(_ state: [String: Tensor]) throws {
        guard let i = state["iterations"], i.count == 1 else { throw BottleneckError("optimizer state: missing 'iterations'") }
        try rule.loadState(state)
        iterations = Int(i.item)
        invalidate()
    }
}

/// A number in four significant digits, for messages.
func shortNumber(_ v: Double) -> String { String(format: "%.4g", v) }
