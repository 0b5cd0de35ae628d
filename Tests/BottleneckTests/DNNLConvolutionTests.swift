import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The oneDNN convolution: the same output and gradients as the im2col path on every geometry it
/// takes, gradients added (not overwritten) when one exists, a finite-difference check, and the
/// layer's choice between the two paths.
final class DNNLConvolutionTests: XCTestCase {
    /// max |a - b| / max |b|: rounding differences scale with the largest value, not each one.
    private func assertRelativelyClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-4, _ what: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
        guard a.count == b.count else { return }
        var worst: Float = 0, largest: Float = 0
        for i in 0..<a.count {
            worst = Swift.max(worst, Swift.abs(a.data[i] - b.data[i]))
            largest = Swift.max(largest, Swift.abs(b.data[i]))
        }
        XCTAssertLessThanOrEqual(worst, tol * Swift.max(largest, 1e-30), "\(what): max error \(worst), max value \(largest)",
                                 file: file, line: line)
    }

    private func makeConv(_ input: [Int], _ cout: Int, _ k: Size2D, _ p: ConvPadding, _ d: Size2D, bias: Bool) -> DNNLConvolution {
        let pad = p.resolved(kernel: k, dilation: d)
        guard let conv = DNNLConvolution(input: input, outChannels: cout, kernel: k, stride: 1, padBefore: pad.before,
                                         padAfter: pad.after, dilation: d, bias: bias) else {
            fatalError("oneDNN could not build a convolution for \(input) -> \(cout)")
        }
        return conv
    }

    func testMatchesIm2colOutputAndGradients() {
        // (input shape, Cout, kernel, padding, dilation, bias)
        let cases: [([Int], Int, Size2D, ConvPadding, Size2D, Bool)] = [
            ([1, 16, 5, 5], 16, 3, 1, 1, true),
            ([3, 16, 7, 6], 24, 3, 0, 1, false),
            ([8, 32, 14, 14], 16, 3, 1, 1, true),
            ([3, 16, 14, 14], 16, 1, 0, 1, true),
            ([8, 16, 5, 5], 24, 1, 1, 1, false),
            ([1, 32, 7, 6], 16, 3, 0, 1, false),
            ([3, 16, 7, 7], 16, 2, .same, 1, true),   // even kernel: one more zero after than before
            ([3, 16, 9, 8], 16, 3, .same, 2, true),   // dilation
        ]
        for (shape, cout, k, p, d, hasBias) in cases {
            let what = "\(shape) -> \(cout), kernel \(k), padding \(p), dilation \(d)"
            func leaves() -> (Tensor, Tensor, Tensor?) {
                let x = randn(shape, seed: 11), w = randn([cout, shape[1], k.h, k.w], seed: 12)
                let b: Tensor? = hasBias ? randn([cout], seed: 13) : nil
                for t in [x, w] + (b.map { [$0] } ?? []) { t.requiresGrad = true }
                return (x, w, b)
            }
            let (x0, w0, b0) = leaves()
            let reference = x0.conv2d(weight: w0, bias: b0, padding: p, dilation: d)
            let seed = randn(reference.shape, seed: 14)
            reference.backward(seed: seed)

            let (x1, w1, b1) = leaves()
            let conv = makeConv(shape, cout, k, p, d, bias: hasBias)
            let y = x1.conv2d(weight: w1, bias: b1, using: conv)
            y.backward(seed: seed)
            assertRelativelyClose(y, reference, "output \(what)")
            assertRelativelyClose(x1.gradient, x0.gradient, "dx \(what)")
            assertRelativelyClose(w1.gradient, w0.gradient, "dw \(what)")
            if let b0, let b1 { assertRelativelyClose(b1.gradient, b0.gradient, "db \(what)") }
        }
    }

    func testGradientsAddToExistingOnes() {
        let x = randn([2, 16, 6, 6], seed: 1), w = randn([16, 16, 3, 3], seed: 2), b = randn([16], seed: 3)
        for t in [x, w, b] { t.requiresGrad = true }
        let conv = makeConv(x.shape, 16, 3, 1, 1, bias: true)
        let seed = randn([2, 16, 6, 6], seed: 4)
        x.conv2d(weight: w, bias: b, using: conv).backward(seed: seed)
        let once = [x.gradient, w.gradient, b.gradient]
        x.conv2d(weight: w, bias: b, using: conv).backward(seed: seed)
        for (t, g) in zip([x, w, b], once) { assertRelativelyClose(t.gradient, g * 2, "twice \(t.shape)") }

        // Only the bias trained: its gradient comes from channel sums.
        w.requiresGrad = false
        b.zeroGrad()
        x.conv2d(weight: w, bias: b, using: conv).backward(seed: seed)
        assertRelativelyClose(b.gradient, once[2], "bias alone")
    }

    func testFiniteDifferences() {
        let x = randn([2, 16, 4, 4], seed: 1), w = randn([16, 16, 3, 3], seed: 2), b = randn([16], seed: 3)
        let conv = makeConv(x.shape, 16, 3, 1, 1, bias: true)
        gradCheck([x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], using: conv) }
    }

    func testLayerUsesOneDNNOnlyForWideStrideOneConvolutions() {
        let rng = RandomGenerator(seed: 5)
        let wide = Conv2D(16, 24, 3, padding: 1, rng: rng)
        let narrowIn = Conv2D(1, 16, 3, padding: 1, rng: rng), narrowOut = Conv2D(16, 1, 3, padding: 1, rng: rng)
        let strided = Conv2D(16, 16, 3, stride: 2, padding: 1, rng: rng)
        let x16 = randn([2, 16, 8, 8], seed: 6)
        let y = wide(x16)
        assertRelativelyClose(y, x16.conv2d(weight: wide.weight, bias: wide.bias, padding: 1), "layer output")
        _ = narrowIn(randn([2, 1, 8, 8], seed: 7))
        _ = narrowOut(x16)
        _ = strided(x16)
        XCTAssertEqual(wide.dnnlConvolutions.count, 1)
        XCTAssertNotNil(wide.dnnlConvolutions.first?.conv)
        for layer in [narrowIn, narrowOut, strided] { XCTAssertTrue(layer.dnnlConvolutions.isEmpty) }
        // One oneDNN convolution per input shape, reused for a shape seen before.
        _ = wide(randn([3, 16, 8, 8], seed: 8))
        _ = wide(x16)
        XCTAssertEqual(wide.dnnlConvolutions.map(\.input), [[3, 16, 8, 8], [2, 16, 8, 8]])
    }

    /// Eval-mode calls from several threads at once (a scoring service) share the layer's cache and
    /// each oneDNN convolution's buffers: every result must equal the one-thread result.
    func testConcurrentInferenceGivesTheSameResults() {
        let layer = Conv2D(16, 16, 3, padding: 1, rng: RandomGenerator(seed: 9))
        let inputs = (0..<4).map { randn([$0 % 2 + 4, 16, 24, 24], seed: UInt64(20 + $0)) }
        let expected = withoutGradients { inputs.map { layer($0).copy() } }
        var mismatches = [Int](repeating: 0, count: 200)
        mismatches.withUnsafeMutableBufferPointer { counts in
            let slots = counts
            DispatchQueue.concurrentPerform(iterations: 200) { i in
                let k = i % inputs.count
                let y = withoutGradients { layer(inputs[k]) }
                slots[i] = (0..<y.count).filter { y.data[$0] != expected[k].data[$0] }.count
            }
        }
        XCTAssertEqual(mismatches.reduce(0, +), 0)
    }
}
