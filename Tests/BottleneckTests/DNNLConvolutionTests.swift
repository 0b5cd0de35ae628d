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

    override func tearDown() { ConvolutionChoice.force(nil) }

    func testTransposedMatchesIm2colOutputAndGradients() {
        // (input shape, Cout, kernel, stride, padding, output padding, dilation, bias): the conv
        // preset's decoder layers, stride 1, output padding beyond the padding, dilation.
        let cases: [([Int], Int, Size2D, Size2D, Size2D, Size2D, Size2D, Bool)] = [
            ([4, 32, 7, 7], 16, 3, 2, 1, 1, 1, true),
            ([4, 16, 14, 14], 1, 3, 2, 1, 1, 1, true),
            ([3, 8, 5, 6], 12, 3, 1, 1, 0, 1, false),
            ([2, 6, 4, 5], 5, Size2D(2, 3), Size2D(2, 3), 0, Size2D(1, 2), 1, true),   // output padding > padding
            ([2, 5, 6, 6], 7, 3, 1, 2, 0, 2, true),                                    // dilation
            ([2, 4, 5, 5], 3, 4, 3, Size2D(1, 0), Size2D(2, 1), 1, false),
        ]
        for (shape, cout, k, s, p, op, d, hasBias) in cases {
            let what = "\(shape) -> \(cout), kernel \(k), stride \(s), padding \(p), output padding \(op), dilation \(d)"
            func leaves() -> (Tensor, Tensor, Tensor?) {
                let x = randn(shape, seed: 21), w = randn([shape[1], cout, k.h, k.w], seed: 22)
                let b: Tensor? = hasBias ? randn([cout], seed: 23) : nil
                for t in [x, w] + (b.map { [$0] } ?? []) { t.requiresGrad = true }
                return (x, w, b)
            }
            let (x0, w0, b0) = leaves()
            let reference = x0.convTranspose2d(weight: w0, bias: b0, stride: s, padding: p, outputPadding: op, dilation: d)
            let seed = randn(reference.shape, seed: 24)
            reference.backward(seed: seed)

            guard let conv = DNNLConvolution(transposedInput: shape, outChannels: cout, kernel: k, stride: s, padding: p,
                                             outputPadding: op, dilation: d) else { XCTFail("no oneDNN convolution for \(what)"); continue }
            let (x1, w1, b1) = leaves()
            let y = x1.convTranspose2d(weight: w1, bias: b1, using: conv)
            y.backward(seed: seed)
            assertRelativelyClose(y, reference, "output \(what)")
            assertRelativelyClose(x1.gradient, x0.gradient, "dx \(what)")
            assertRelativelyClose(w1.gradient, w0.gradient, "dw \(what)")
            if let b0, let b1 { assertRelativelyClose(b1.gradient, b0.gradient, "db \(what)") }
            // A second pass adds onto the gradients, as every op does.
            x1.convTranspose2d(weight: w1, bias: b1, using: conv).backward(seed: seed)
            assertRelativelyClose(w1.gradient, w0.gradient * 2, "dw twice \(what)")
        }
    }

    func testTransposedFiniteDifferences() {
        let x = randn([2, 3, 3, 4], seed: 1), w = randn([3, 2, 3, 3], seed: 2), b = randn([2], seed: 3)
        let conv = DNNLConvolution(transposedInput: x.shape, outChannels: 2, kernel: 3, stride: 2, padding: 1,
                                   outputPadding: 1, dilation: 1)!
        gradCheck([x, w, b]) { $0[0].convTranspose2d(weight: $0[1], bias: $0[2], using: conv) }
    }

    func testStridedFiniteDifferences() {
        let x = randn([2, 2, 7, 6], seed: 4), w = randn([3, 2, 3, 3], seed: 5), b = randn([3], seed: 6)
        let conv = DNNLConvolution(input: x.shape, outChannels: 3, kernel: 3, stride: 2, padBefore: 1, padAfter: 1,
                                   dilation: 1, bias: true)!
        gradCheck([x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], using: conv) }
    }

    func testTransposedGeometryOneDNNCannotRunIsRefused() {
        // Output padding 2 with stride 1 (allowed by dilation 3): no padding after gives H windows.
        XCTAssertNil(DNNLConvolution(transposedInput: [1, 2, 4, 4], outChannels: 2, kernel: 3, stride: 1, padding: 0,
                                     outputPadding: 2, dilation: 3))
        let layer = ConvTranspose2D(2, 2, 3, stride: 1, outputPadding: 2, dilation: 3, rng: RandomGenerator(seed: 1))
        ConvolutionChoice.force(.oneDNN)
        let x = randn([1, 2, 4, 4], seed: 2)
        let y = layer(x)   // falls back to im2col
        assertRelativelyClose(y, x.convTranspose2d(weight: layer.weight, bias: layer.bias, outputPadding: 2, dilation: 3), "fallback")
        XCTAssertEqual(layer.dnnlConvolutions.entries.count, 1)
        XCTAssertNil(layer.dnnlConvolutions.entries.first?.conv)
    }

    /// Forced to oneDNN, every layer of the conv preset (stride-2 convolutions and transposed
    /// convolutions) runs on it with the im2col path's results; forced to im2col, none builds one.
    func testLayersFollowTheForcedPath() {
        let rng = RandomGenerator(seed: 5)
        let down = Conv2D(1, 16, 3, stride: 2, padding: 1, rng: rng)
        let up = ConvTranspose2D(32, 16, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng)
        let x = randn([3, 1, 28, 28], seed: 6), h = randn([3, 32, 7, 7], seed: 7)
        ConvolutionChoice.force(.im2col)
        let downIm2col = down(x), upIm2col = up(h)
        XCTAssertTrue(down.dnnlConvolutions.entries.isEmpty && up.dnnlConvolutions.entries.isEmpty)
        ConvolutionChoice.force(.oneDNN)
        assertRelativelyClose(down(x), downIm2col, "stride-2 conv")
        assertRelativelyClose(up(h), upIm2col, "transposed conv")
        XCTAssertNotNil(down.dnnlConvolutions.entries.first?.conv)
        XCTAssertNotNil(up.dnnlConvolutions.entries.first?.conv)
        // One decision per geometry, reused for a geometry seen before; inference is another geometry.
        _ = down(randn([2, 1, 28, 28], seed: 8))
        _ = down(x)
        XCTAssertEqual(down.dnnlConvolutions.entries.count, 2)
        XCTAssertTrue(down.dnnlConvolutions.entries.last!.geometry.hasPrefix("conv2d x=[3, 1, 28, 28]"))
        _ = withoutGradients { down(x) }
        XCTAssertEqual(down.dnnlConvolutions.entries.count, 2, "two kept, the oldest dropped")
        XCTAssertTrue(down.dnnlConvolutions.entries.first!.geometry.hasPrefix("conv2d x=[3, 1, 28, 28]"))
        XCTAssertTrue(down.dnnlConvolutions.entries.last!.geometry.hasSuffix("inference"))
    }

    /// A large inference batch runs in near-equal chunks (memory bounded by the chunk) with the
    /// whole batch's results; a training batch runs whole.
    func testLargeInferenceBatchesRunInChunks() {
        let rng = RandomGenerator(seed: 3)
        let down = Conv2D(1, 8, 3, stride: 2, padding: 1, rng: rng)
        let up = ConvTranspose2D(8, 1, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng)
        let x = randn([300, 1, 12, 12], seed: 4)
        ConvolutionChoice.force(.oneDNN)
        let h = withoutGradients { down(x) }, y = withoutGradients { up(h) }
        assertRelativelyClose(h, x.conv2d(weight: down.weight, bias: down.bias, stride: 2, padding: 1), "chunked conv")
        assertRelativelyClose(y, h.convTranspose2d(weight: up.weight, bias: up.bias, stride: 2, padding: 1, outputPadding: 1),
                              "chunked transposed conv")
        // 300 images: three chunks of 100, one geometry.
        XCTAssertEqual(down.dnnlConvolutions.entries.map { $0.geometry.hasPrefix("conv2d x=[100, 1, 12, 12]") }, [true])
        XCTAssertEqual(up.dnnlConvolutions.entries.count, 1)
        _ = down(x)  // training (the weight needs a gradient): whole
        XCTAssertTrue(down.dnnlConvolutions.entries.last!.geometry.hasPrefix("conv2d x=[300, 1, 12, 12]"))
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
