/// A step length along a descent direction that satisfies the strong Wolfe conditions
///
///     phi(t) <= phi(0) + c1 * t * phi'(0)        (sufficient decrease)
///     |phi'(t)| <= c2 * |phi'(0)|                (curvature)
///
/// found by bracketing and zooming with cubic interpolation (Nocedal & Wright, Numerical
/// Optimization, algorithms 3.5 and 3.6; the same scheme as SciPy's `scalar_search_wolfe2`).
/// A non-finite value counts as "too far": the step is cut back instead of failing.
public struct StrongWolfeLineSearch: Equatable, Sendable {
    /// c1 of the sufficient-decrease condition.
    public var sufficientDecrease = 1e-4
    /// c2 of the curvature condition: 0.9 suits quasi-Newton directions, smaller values
    /// (0.1-0.4) conjugate gradients.
    public var curvature = 0.9
    /// Evaluations of phi per search, bracketing and zoom together.
    public var maxEvaluations = 25
    /// The bracketing phase doubles the step up to this length.
    public var maxStep = 1e10

    public init(sufficientDecrease: Double = 1e-4, curvature: Double = 0.9, maxEvaluations: Int = 25) {
        self.sufficientDecrease = sufficientDecrease
        self.curvature = curvature
        self.maxEvaluations = maxEvaluations
    }

    /// phi and its derivative at one step length.
    public struct Point: Equatable, Sendable {
        public var step: Double, value: Double, slope: Double
        public init(step: Double, value: Double, slope: Double) { (self.step, self.value, self.slope) = (step, value, slope) }
        var isFinite: Bool { value.isFinite && slope.isFinite }
    }

    public enum Outcome: Equatable, Sendable {
        /// The point satisfies both conditions; it was the last one evaluated.
        case accepted(Point, evaluations: Int)
        /// No point within the evaluation budget; `lowest` is the lowest finite value seen.
        case failed(lowest: Point?, evaluations: Int)
    }

    /// Searches from `start` (step 0, its slope negative) with a first trial of `initialStep`.
    /// `phi(t)` evaluates the function at step t along the direction.
    public func search(start: Point, initialStep: Double, _ phi: (Double) throws -> Point) rethrows -> Outcome {
        precondition(start.slope < 0, "line search needs a descent direction")
        var evaluations = 0
        var lowest: Point?
        func evaluate(_ t: Double) throws -> Point {
            evaluations += 1
            let p = try phi(t)
            if p.isFinite, p.value < (lowest?.value ?? .infinity) { lowest = p }
            return p
        }
        let c1 = sufficientDecrease, c2 = curvature
        func decreasesEnough(_ p: Point) -> Bool { p.value.isFinite && p.value <= start.value + c1 * p.step * start.slope }
        func curvatureHolds(_ p: Point) -> Bool { abs(p.slope) <= -c2 * start.slope }

        /// Algorithm 3.6: lo satisfies sufficient decrease and has the lowest value so far; the
        /// interval between lo and hi holds points satisfying both conditions.
        func zoom(_ lo0: Point, _ hi0: Point) throws -> Outcome {
            var lo = lo0, hi = hi0
            var previous: Point?  // the point replaced last, for the cubic through three values
            var round = 0
            while evaluations < maxEvaluations {
                let width = hi.step - lo.step
                let a = min(lo.step, hi.step), b = max(lo.step, hi.step)
                if b - a <= 1e-14 * max(1, b) { break }
                var t: Double?
                if round > 0, let r = previous, hi.value.isFinite {
                    t = Self.cubicMinimum(lo, hi, r).flatMap { $0 > a + 0.2 * abs(width) && $0 < b - 0.2 * abs(width) ? $0 : nil }
                }
                if t == nil, hi.value.isFinite {
                    t = Self.quadraticMinimum(lo, hi).flatMap { $0 > a + 0.1 * abs(width) && $0 < b - 0.1 * abs(width) ? $0 : nil }
                }
                let p = try evaluate(t ?? lo.step + 0.5 * width)
                round += 1
                if !decreasesEnough(p) || p.value >= lo.value || !p.isFinite {
                    previous = hi
                    hi = p
                } else {
                    if curvatureHolds(p) { return .accepted(p, evaluations: evaluations) }
                    if p.slope * (hi.step - lo.step) >= 0 {
                        previous = hi
                        hi = lo
                    } else {
                        previous = lo
                    }
                    lo = p
                }
            }
            return .failed(lowest: lowest, evaluations: evaluations)
        }

        // Algorithm 3.5: grow the step until an interval brackets acceptable points.
        var previous = start
        var t = min(initialStep, maxStep)
        while evaluations < maxEvaluations {
            let p = try evaluate(t)
            if !decreasesEnough(p) || (evaluations > 1 && p.value >= previous.value) {
                return try zoom(previous, p)
            }
            if curvatureHolds(p) { return .accepted(p, evaluations: evaluations) }
            if p.slope >= 0 { return try zoom(p, previous) }
            guard t < maxStep else { break }
            previous = p
            t = min(2 * t, maxStep)
        }
        return .failed(lowest: lowest, evaluations: evaluations)
    }

    /// The minimiser of the cubic through a (value and slope), b and c (values), or nil.
    static func cubicMinimum(_ a: Point, _ b: Point, _ c: Point) -> Double? {
        let db = b.step - a.step, dc = c.step - a.step
        let denominator = (db * dc) * (db * dc) * (db - dc)
        guard denominator != 0, c.value.isFinite else { return nil }
        let rb = b.value - a.value - a.slope * db, rc = c.value - a.value - a.slope * dc
        let p = (dc * dc * rb - db * db * rc) / denominator
        let q = (-dc * dc * dc * rb + db * db * db * rc) / denominator
        let radical = q * q - 3 * p * a.slope
        guard radical >= 0, p != 0 else { return nil }
        let t = a.step + (-q + radical.squareRoot()) / (3 * p)
        return t.isFinite ? t : nil
    }

    /// The minimiser of the quadratic through a (value and slope) and b (value), or nil.
    static func quadraticMinimum(_ a: Point, _ b: Point) -> Double? {
        let d = b.step - a.step
        let curvature = (b.value - a.value - a.slope * d) / (d * d)
        guard curvature > 0 else { return nil }
        let t = a.step - a.slope / (2 * curvature)
        return t.isFinite ? t : nil
    }
}
