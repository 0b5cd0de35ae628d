import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The vector kernels and buffer reuse behind training speed: they must give what the plain
/// scalar code gives.
final class FastPathTests: XCTestCase {
    /// Arguments from -100 to 100, dense near 0, plus the edges of the clamped range.
    private var arguments: [Float] {
        var xs: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 88.3, -87.3, 88.38, -87.34, 100, -100]
        var x: Float = -100
        while x <= 100 { xs.append(x); x += 0.0137 }
        return xs
    }

    private func apply(_ xs: [Float], _ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        var out = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in f(src.baseAddress!, dst.baseAddress!, xs.count) }
        }
        return out
    }

    func testVectorExpMatchesLibm() {
        let xs = arguments.filter { $0 > -87 && $0 < 88 }
        for (x, y) in zip(xs, apply(xs, VectorMath.exp)) {
            let ref = Foundation.exp(Double(x))
            XCTAssertLessThanOrEqual(Swift.abs(Double(y) - ref) / ref, 3e-7, "exp(\(x)) = \(y), expected \(ref)")
        }
        // Outside the range the result saturates to finite values, as documented.
        let edges = apply([200, -200], VectorMath.exp)
        XCTAssertTrue(edges[0].isFinite && edges[0] > 1e38)
        XCTAssertTrue(edges[1] >= 0 && edges[1] < 1e-37)
    }

    /// The BCE-on-logits kernel uses the vector log1p(exp(-|x|)): its sum against Double libm.
    func testBCELogitsKernelMatchesLibm() {
        let xs = arguments, ts = xs.indices.map { Float($0 % 7) / 6 }
        for (x, t) in zip(xs, ts) {
            let term = VectorMath.bceLogitsSum([x], [t], 1)
            let dx = Double(x), ref = max(dx, 0) - dx * Double(t) + Foundation.log1p(Foundation.exp(-Swift.abs(dx)))
            XCTAssertEqual(term, ref, accuracy: 4e-7 * Swift.max(1, Swift.abs(ref)), "bce term at x \(x), t \(t)")
        }
        // Tiny terms keep their relative precision (log1p, not log(1 + y)).
        let far = VectorMath.bceLogitsSum([-30], [0], 1)
        XCTAssertEqual(far, Foundation.log1p(Foundation.exp(-30.0)), accuracy: 1e-6 * Foundation.exp(-30.0))
    }

    /// BCE on probabilities: PyTorch's clamp of each log at -100, at 0, 1, denormals and in between; NaN stays NaN.
    func testBCEKernelMatchesLibm() {
        var ps: [Float] = [0, 1, 1e-45, 1e-40, 1e-38, 3e-30, 1e-7, 0.5, 1 - 1e-7, 0.999_999_9]
        var p: Float = 1e-4
        while p < 1 { ps.append(p); p += 0.0173 }
        for (k, p) in ps.enumerated() {
            let t = Float(k % 5) / 4
            let term = VectorMath.bceSum([p], [t], 1)
            func clampedLog(_ v: Double) -> Double { Swift.max(Foundation.log(v), -100) }
            let ref = -(Double(t) * clampedLog(Double(p)) + (1 - Double(t)) * clampedLog(Double(1 - p)))
            XCTAssertEqual(term, ref, accuracy: 4e-7 * Swift.max(1, Swift.abs(ref)), "bce term at p \(p), t \(t)")
        }
        XCTAssertTrue(VectorMath.bceSum([.nan, 0.5], [1, 1], 2).isNaN)
    }

    func testVectorSigmoidMatchesScalar() {
        for (x, y) in zip(arguments, apply(arguments, VectorMath.sigmoid)) {
            let ref = 1 / (1 + Foundation.exp(-Double(x)))
            XCTAssertLessThanOrEqual(Swift.abs(Double(y) - ref), 5e-7 * ref + 1e-38, "sigmoid(\(x)) = \(y), expected \(ref)")
        }
    }

    /// Every length from 0 to 19 (whole vectors and partial tails), forward and backward, against
    /// the scalar definitions; a second backward accumulates.
    func testElementwiseOpsAtEveryTailLength() {
        let ops: [(String, (Tensor) -> Tensor, (Float) -> Float, (Float, Float) -> Float)] = [
            ("relu", { $0.relu() }, { $0 > 0 ? $0 : 0 }, { x, _ in x > 0 ? 1 : 0 }),
            ("leakyRelu", { $0.leakyRelu(0.2) }, { $0 > 0 ? $0 : 0.2 * $0 }, { x, _ in x > 0 ? 1 : 0.2 }),
            ("sigmoid", { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }, { _, y in y * (1 - y) }),
        ]
        for n in 0..<20 {
            for (name, op, f, df) in ops {
                let x = awayFromZero([n], seed: UInt64(n + 1))
                x.requiresGrad = true
                let g = randn([n], seed: 99)
                let y = op(x)
                (y * g).sum().backward()
                let once = x.gradient
                (op(x) * g).sum().backward()
                for i in 0..<n {
                    XCTAssertEqual(y.data[i], f(x.data[i]), accuracy: 1e-6, "\(name) forward, n \(n), i \(i)")
                    let d = g.data[i] * df(x.data[i], y.data[i])
                    XCTAssertEqual(once.data[i], d, accuracy: 1e-6, "\(name) backward, n \(n), i \(i)")
                    XCTAssertEqual(x.grad![i], 2 * d, accuracy: 2e-6, "\(name) accumulated backward, n \(n), i \(i)")
                }
            }
        }
    }

    func testLossesAtEveryTailLength() {
        for n in 1..<20 {
            let p = Tensor.uniform([n], low: 0.05, high: 0.95, rng: RandomGenerator(seed: UInt64(n)))
            let logits = randn([n], seed: UInt64(n) + 50)
            let t = Tensor.uniform([n], rng: RandomGenerator(seed: UInt64(n) + 100))
            p.requiresGrad = true
            logits.requiresGrad = true
            let mse = mseLoss(p, t)
            mse.backward()
            var acc = 0.0
            for i in 0..<n { acc += Double((p.data[i] - t.data[i]) * (p.data[i] - t.data[i])) }
            XCTAssertEqual(Double(mse.item), acc / Double(n), accuracy: 1e-6)
            for i in 0..<n { XCTAssertEqual(p.grad![i], 2 * (p.data[i] - t.data[i]) / Float(n), accuracy: 1e-6) }

            let bce = bceWithLogitsLoss(logits, t, reduction: .sum)
            bce.backward()
            acc = 0
            for i in 0..<n {
                let x = Double(logits.data[i]), tt = Double(t.data[i])
                acc += max(x, 0) - x * tt + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
                XCTAssertEqual(Double(logits.grad![i]), 1 / (1 + Foundation.exp(-x)) - tt, accuracy: 1e-6)
            }
            XCTAssertEqual(Double(bce.item), acc, accuracy: 1e-5 * Swift.max(1, acc))
        }
    }

    /// Adam's vector loop must give exactly what one value at a time gives.
    func testAdamMatchesScalarUpdateExactly() {
        for decay in [Float(0), 0.01] {
            let n = 21
            let w = randn([n], seed: 3)
            w.requiresGrad = true
            var ref = w.scalars, m = [Float](repeating: 0, count: n), v = m
            let adam = Adam(parameters: [w], learningRate: 0.01, weightDecay: decay)
            for step in 1...3 {
                let g = randn([n], seed: UInt64(10 + step))
                w.zeroGrad()
                w.gradBuffer().update(from: g.data, count: n)
                adam.step()
                // The optimizer raises the Float betas (not the decimal 0.9) to the step.
                let c1 = 1 - Float(Foundation.pow(Double(Float(0.9)), Double(step))), c2 = 1 - Float(Foundation.pow(Double(Float(0.999)), Double(step)))
                let stepSize = Float(0.01) / c1, c2root = c2.squareRoot()
                for i in 0..<n {
                    let gi = decay != 0 ? g.data[i] + decay * ref[i] : g.data[i]
                    m[i] = 0.9 * m[i] + (1 - 0.9) * gi
                    v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi
                    ref[i] -= stepSize * m[i] / (v[i].squareRoot() / c2root + 1e-8)
                }
                XCTAssertEqual(w.scalars, ref, "step \(step), weight decay \(decay)")
            }
        }
    }

    /// zeroGrad keeps the memory but forgets the values; the next backward starts from zero;
    /// without zeroGrad gradients accumulate (PyTorch's semantics).
    func testGradientMemoryIsReusedAndZeroGradForgets() {
        let w = randn([4, 3], seed: 5), x = randn([2, 3], seed: 6)
        w.requiresGrad = true
        x.linear(weight: w, bias: nil).sum().backward()
        let first = w.gradient, memory = w.grad
        x.linear(weight: w, bias: nil).sum().backward()
        for i in 0..<w.count { XCTAssertEqual(w.grad![i], 2 * first.data[i], accuracy: 1e-6) }
        w.zeroGrad()
        XCTAssertNil(w.grad)
        x.linear(weight: w, bias: nil).sum().backward()
        XCTAssertEqual(w.grad, memory, "the gradient memory is reused")
        XCTAssertEqual(w.gradient.scalars, first.scalars)
    }

    /// A reshape hands its gradient buffer on; a partial view still adds into the whole.
    func testReshapeAndRowViewGradients() {
        let x = randn([4, 6], seed: 8)
        x.requiresGrad = true
        let g = randn([2, 12], seed: 9)
        (x.reshaped([2, 12]) * g).sum().backward()
        XCTAssertEqual(x.gradient.scalars, g.scalars)
        x.zeroGrad()
        let r = randn([2, 6], seed: 10)
        ((x.rows(1, 2) * r).sum() + (x.reshaped([24]) * 2).sum()).backward()
        for i in 0..<24 {
            let inRows = i >= 6 && i < 18
            XCTAssertEqual(x.grad![i], 2 + (inRows ? r.data[i - 6] : 0), accuracy: 1e-6)
        }
    }
}
