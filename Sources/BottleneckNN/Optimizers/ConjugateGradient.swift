import BottleneckCore
/// Nonlinear conjugate gradients, Polak-Ribiere+ (Nocedal & Wright 5.45):
///
///     beta = max(0, g'(g - g_prev) / g_prev'g_prev),   d = -g + beta * d_prev
///
/// which restarts by itself (beta = 0) when the gradients stop being conjugate, as SciPy's CG
/// does; there is no periodic restart. The first trial step follows from the last decrease of
/// the value (N&W 3.60, as SciPy).
public final class PolakRibiereRule: DirectionRule {
    /// SciPy's `fmin_cg` uses 0.4; a looser curvature condition than L-BFGS's would lose conjugacy.
    public let curvature = 0.4
    public let dimension: Int
    /// The previous gradient and direction, single precision (exact in a checkpoint), and the
    /// change of the value on the last step; nil before the first step and after a reset.
    private var previousGradient: Tensor?, previousDirection: Tensor?
    private var previousDecrease: Float?

    public init(dimension: Int) { self.dimension = dimension }

    public func direction(gradient g: UnsafeBufferPointer<Double>, value f: Double, into d: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = dimension
        var gg = 0.0
        for i in 0..<n { gg += g[i] * g[i] }
        guard let gp = previousGradient, let dp = previousDirection, let decrease = previousDecrease else {
            for i in 0..<n { d[i] = -g[i] }
            // SciPy's first guess: as if the value had dropped by |g| / 2 on the previous step.
            return min(1, 1.01 / gg.squareRoot())
        }
        var num = 0.0, den = 0.0
        let p = gp.data, q = dp.data
        for i in 0..<n {
            num += g[i] * (g[i] - Double(p[i]))
            den += Double(p[i]) * Double(p[i])
        }
        let beta = den > 0 ? max(0, num / den) : 0
        var slope = 0.0
        for i in 0..<n { d[i] = -g[i] + beta * Double(q[i]); slope += d[i] * g[i] }
        guard slope < 0 else { return 1 }
        return min(1, 1.01 * 2 * Double(decrease) / slope)
    }

    public func accept(step s: UnsafeBufferPointer<Double>, direction d: UnsafeBufferPointer<Double>, oldGradient: UnsafeBufferPointer<Double>,
                       newGradient: UnsafeBufferPointer<Double>, oldValue: Double, newValue: Double) {
        let n = dimension
        let gp = Tensor(shape: [n], zeroed: false), dp = Tensor(shape: [n], zeroed: false)
        // beta compares the gradient at the next point with this one: keep the old gradient.
        for i in 0..<n { gp.data[i] = Float(oldGradient[i]); dp.data[i] = Float(d[i]) }
        (previousGradient, previousDirection) = (gp, dp)
        previousDecrease = Float(newValue - oldValue)
    }

    public func reset() {
        (previousGradient, previousDirection, previousDecrease) = (nil, nil, nil)
    }

    public var stateTensors: [(String, Tensor)] {
        guard let gp = previousGradient, let dp = previousDirection, let decrease = previousDecrease else { return [] }
        return [("previous_gradient", gp), ("previous_direction", dp), ("previous_decrease", Tensor(scalar: decrease))]
    }

    public func loadState(_ state: [String: Tensor]) throws {
        guard let gp = state["previous_gradient"] else { reset(); return }
        guard let dp = state["previous_direction"], let decrease = state["previous_decrease"] else {
            throw BottleneckError("optimizer state: 'previous_gradient' without 'previous_direction' and 'previous_decrease'")
        }
        for (name, t) in [("previous_gradient", gp), ("previous_direction", dp)] where t.shape != [dimension] {
            throw BottleneckError("optimizer state: '\(name)' has shape \(formatShape(t.shape)), expected [\(dimension)]")
        }
        (previousGradient, previousDirection, previousDecrease) = (gp.copy(), dp.copy(), decrease.item)
    }
}
