import BottleneckCore
/// Limited-memory BFGS (Nocedal 1980): the direction is -H g, where H approximates the inverse
/// Hessian from the last `memory` steps s and gradient changes y, by the two-loop recursion,
/// starting from a diagonal H0: s'y / y'y of the newest pair, computed per block of the vector
/// when blocks are given (a model's parameter tensors, whose curvatures can differ by orders of
/// magnitude: an encoder's weights beside a decoder's). A pair with s'y <= eps y'y (no positive
/// curvature) is skipped, which keeps H positive definite.
public final class LBFGSRule: DirectionRule {
    public let memory: Int
    public let curvature = 0.9
    public let dimension: Int
    /// Ranges of the vector scaled separately in H0 (one block: the whole vector).
    public let blocks: [Range<Int>]
    /// The pairs, oldest first, in single precision (a checkpoint holds them exactly); the
    /// recursion reads them into double arithmetic.
    private var steps: [Tensor] = [], changes: [Tensor] = []
    private var alphas: [Double]
    private let q: UnsafeMutableBufferPointer<Double>

    public init(dimension: Int, memory: Int = 10, blocks: [Range<Int>]? = nil) {
        precondition(memory >= 1, "L-BFGS needs a memory of at least 1")
        self.dimension = dimension
        self.blocks = blocks ?? [0..<dimension]
        self.memory = memory
        alphas = [Double](repeating: 0, count: memory)
        q = .allocate(capacity: dimension)
        q.initialize(repeating: 0)
    }

    deinit { q.deallocate() }

    public func direction(gradient g: UnsafeBufferPointer<Double>, value f: Double, into d: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = dimension
        guard !steps.isEmpty else {
            var norm = 0.0
            for i in 0..<n { d[i] = -g[i]; norm += g[i] * g[i] }
            return min(1, 1 / norm.squareRoot())
        }
        for i in 0..<n { q[i] = g[i] }
        for k in stride(from: steps.count - 1, through: 0, by: -1) {
            let (sy, a) = (dot(steps[k], changes[k]), dot(steps[k], q))
            alphas[k] = a / sy
            axpy(-alphas[k], changes[k], q)
        }
        let newest = steps.count - 1
        let s = steps[newest].data, y = changes[newest].data
        let overall = dot(steps[newest], changes[newest]) / dot(changes[newest], changes[newest])
        for block in blocks {
            var sy = 0.0, yy = 0.0
            for i in block { sy += Double(s[i]) * Double(y[i]); yy += Double(y[i]) * Double(y[i]) }
            let gamma = sy > 0 && yy > 0 ? sy / yy : overall
            for i in block { q[i] *= gamma }
        }
        for k in 0..<steps.count {
            let beta = dot(changes[k], q) / dot(steps[k], changes[k])
            axpy(alphas[k] - beta, steps[k], q)
        }
        for i in 0..<n { d[i] = -q[i] }
        return 1
    }

    public func accept(step s: UnsafeBufferPointer<Double>, direction d: UnsafeBufferPointer<Double>, oldGradient: UnsafeBufferPointer<Double>,
                       newGradient: UnsafeBufferPointer<Double>, oldValue: Double, newValue: Double) {
        let n = dimension
        let step = Tensor(shape: [n], zeroed: false), change = Tensor(shape: [n], zeroed: false)
        for i in 0..<n {
            step.data[i] = Float(s[i])
            change.data[i] = Float(newGradient[i] - oldGradient[i])
        }
        let sy = dot(step, change), yy = dot(change, change)
        guard sy > 2.2e-16 * yy, sy.isFinite, yy > 0 else { return }
        if steps.count == memory { steps.removeFirst(); changes.removeFirst() }
        steps.append(step)
        changes.append(change)
    }

    public func reset() { steps.removeAll(); changes.removeAll() }

    /// `s.K` and `y.K`, oldest pair first.
    public var stateTensors: [(String, Tensor)] {
        steps.enumerated().map { ("s.\($0.offset)", $0.element) } + changes.enumerated().map { ("y.\($0.offset)", $0.element) }
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var s: [Tensor] = [], y: [Tensor] = []
        while let a = state["s.\(s.count)"] {
            guard let b = state["y.\(s.count)"] else { throw BottleneckError("optimizer state: 's.\(s.count)' has no 'y.\(s.count)'") }
            for (name, t) in [("s.\(s.count)", a), ("y.\(s.count)", b)] where t.shape != [dimension] {
                throw BottleneckError("optimizer state: '\(name)' has shape \(formatShape(t.shape)), expected [\(dimension)]")
            }
            s.append(a.copy())
            y.append(b.copy())
        }
        guard s.count <= memory else { throw BottleneckError("optimizer state: \(s.count) L-BFGS pairs, more than the memory of \(memory)") }
        (steps, changes) = (s, y)
    }
}

/// Sums in double precision over single-precision vectors: the rules' memory is float, the
/// arithmetic double.
func dot(_ a: Tensor, _ b: Tensor) -> Double {
    var s = 0.0
    let x = a.data, y = b.data
    for i in 0..<a.count { s += Double(x[i]) * Double(y[i]) }
    return s
}

func dot(_ a: Tensor, _ b: UnsafeMutableBufferPointer<Double>) -> Double {
    var s = 0.0
    let x = a.data
    for i in 0..<a.count { s += Double(x[i]) * b[i] }
    return s
}

/// y += alpha * x, x single precision.
func axpy(_ alpha: Double, _ x: Tensor, _ y: UnsafeMutableBufferPointer<Double>) {
    let v = x.data
    for i in 0..<x.count { y[i] += alpha * Double(v[i]) }
}
