import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// conv2d and convTranspose2d: gradient checks, direct-loop references on shapes that take every
/// batching path, PyTorch parity of the layers and of the whole `conv` autoencoder, and shape errors.
final class ConvolutionTests: XCTestCase {
    // MARK: Gradient checks

    func testConv2dGradients() {
        // (input shape, Cout, kernel, stride, padding, dilation, bias)
        let cases: [([Int], Int, Size2D, Size2D, ConvPadding, Size2D, Bool)] = [
            ([1, 1, 5, 5], 2, 3, 1, 0, 1, true),
            ([2, 2, 6, 7], 3, 3, 1, 1, 1, true),
            ([2, 3, 7, 6], 2, 3, 2, 1, 1, false),
            ([3, 2, 8, 8], 2, 3, 2, 0, 1, true),
            ([2, 2, 7, 7], 2, 3, 1, 2, 2, true),
            ([1, 2, 9, 8], 3, 3, 2, 1, 2, false),
            ([2, 2, 5, 6], 2, [2, 3], [1, 2], [1, 0], 1, true),
            ([2, 2, 5, 5], 3, 3, 1, .same, 1, true),
            ([2, 1, 6, 5], 2, 4, 1, .same, 1, true),
            ([1, 2, 7, 6], 2, [2, 3], 1, .same, 2, false),
            ([2, 3, 4, 4], 4, 1, 1, 0, 1, true),
            // Narrowing stride-1 layers, computed as the transposed convolution of the flipped kernel.
            ([2, 4, 6, 5], 1, 3, 1, 1, 1, true),
            ([1, 3, 7, 7], 2, 3, 1, 2, 2, false),
            ([2, 3, 5, 6], 1, [2, 3], 1, [1, 1], 1, true),
            ([1, 3, 5, 5], 2, 2, 1, 0, 1, true),
            ([1, 3, 6, 6], 1, 2, 1, 2, 1, true),
        ]
        for (shape, cout, k, s, p, d, hasBias) in cases {
            let x = randn(shape, seed: 1), w = randn([cout, shape[1], k.h, k.w], seed: 2), b = randn([cout], seed: 3)
            if hasBias {
                gradCheck([x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: s, padding: p, dilation: d) }
            } else {
                gradCheck([x, w]) { $0[0].conv2d(weight: $0[1], stride: s, padding: p, dilation: d) }
            }
        }
    }

    func testConvTranspose2dGradients() {
        // (input shape, Cout, kernel, stride, padding, output padding, dilation)
        let cases: [([Int], Int, Size2D, Size2D, Size2D, Size2D, Size2D)] = [
            ([1, 2, 4, 4], 3, 3, 1, 0, 0, 1),
            ([2, 3, 4, 5], 2, 3, 1, 1, 0, 1),
            ([2, 2, 3, 4], 2, 3, 2, 1, 1, 1),
            ([2, 2, 4, 3], 3, 3, 2, 0, 0, 1),
            ([1, 3, 3, 3], 2, 4, 2, 1, 0, 1),
            ([2, 2, 3, 3], 2, 3, 2, 1, 1, 2),
            ([2, 2, 3, 4], 2, [2, 3], [2, 1], [0, 1], [1, 0], 1),
        ]
        for (shape, cout, k, s, p, op, d) in cases {
            let x = randn(shape, seed: 1), w = randn([shape[1], cout, k.h, k.w], seed: 2), b = randn([cout], seed: 3)
            gradCheck([x, w, b]) { $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: s, padding: p, outputPadding: op, dilation: d) }
            gradCheck([x, w]) { $0[0].convTranspose2d(weight: $0[1], stride: s, padding: p, outputPadding: op, dilation: d) }
        }
    }

    // MARK: Direct-loop references (one image per GEMM, several, and a partial last group)

    func testConv2dMatchesDirectLoopsOnEveryBatchingPath() {
        let cases: [([Int], Int, Int, Int, ConvPadding, Int)] = [
            ([3, 2, 50, 50], 4, 3, 1, 1, 1),   // 2500 positions: one image per GEMM
            ([5, 2, 30, 31], 3, 3, 1, 1, 1),   // groups of 3 images, the last one partial
            ([4, 3, 12, 12], 5, 3, 2, 1, 1),   // the whole batch in one GEMM
            ([3, 2, 48, 47], 3, 4, 1, .same, 2),
            ([3, 8, 30, 30], 1, 3, 1, 1, 1),   // narrowing: the flipped-kernel path, one image per GEMM
            ([5, 6, 12, 12], 2, 3, 1, 1, 1),   // narrowing, grouped
            ([2, 3, 9, 9], 4, 3, 1, 3, 1),     // padding wider than the kernel reach
        ]
        for (shape, cout, k, s, p, d) in cases {
            let x = randn(shape, seed: 4), w = randn([cout, shape[1], k, k], seed: 5), b = randn([cout], seed: 6)
            for input in [x, w, b] { input.requiresGrad = true; input.zeroGrad() }
            let y = x.conv2d(weight: w, bias: b, stride: Size2D(s), padding: p, dilation: Size2D(d))
            let pad = p.resolved(kernel: Size2D(k), dilation: Size2D(d)).before
            let ref = DirectConv(x: x, w: w, b: b, stride: s, pad: pad.h, dilation: d, outH: y.shape[2], outW: y.shape[3])
            assertClose(y, ref.forward(), "output \(shape)")
            let g = randn(y.shape, seed: 7)
            y.backward(seed: g)
            let (dx, dw, db) = ref.backward(g)
            assertClose(x.gradient, dx, "dx \(shape)")
            assertClose(w.gradient, dw, "dw \(shape)")
            assertClose(b.gradient, db, "db \(shape)")
        }
    }

    /// convTranspose2d is the adjoint of conv2d: <convT(x), y> = <x, conv2d(y)> for the same weight;
    /// its gradients follow from the same identity: dx = conv2d(dOut).
    func testConvTransposeIsTheAdjointOfConv() {
        let cases: [([Int], Int, Int, Int, Int, Int)] = [
            ([2, 3, 25, 25], 2, 3, 2, 1, 1),   // output 50x50: one image per GEMM backward
            ([5, 2, 30, 30], 3, 3, 1, 1, 0),   // grouped, partial last group
            ([4, 4, 7, 7], 2, 3, 2, 1, 1),
        ]
        for (shape, cout, k, s, p, op) in cases {
            let x = randn(shape, seed: 8), w = randn([shape[1], cout, k, k], seed: 9)
            x.requiresGrad = true
            let out = x.convTranspose2d(weight: w, stride: Size2D(s), padding: Size2D(p), outputPadding: Size2D(op))
            let y = randn(out.shape, seed: 10)
            let conv = y.conv2d(weight: w, stride: Size2D(s), padding: .explicit(Size2D(p)))
            XCTAssertEqual(conv.shape, shape)
            let lhs = (out * y).sum().item, rhs = (x.detached() * conv).sum().item
            XCTAssertEqual(lhs, rhs, accuracy: 1e-3 * max(1, abs(rhs)), "adjoint \(shape)")
            out.backward(seed: y)
            assertClose(x.gradient, conv, "convTranspose2d dx \(shape)")
        }
    }

    // MARK: PyTorch parity

    func testConv2dMatchesPyTorch() throws {
        for k in 0...5 {
            let c = try ParityCase("conv2d_\(k).safetensors")
            let layer = Conv2D(c.int("in_channels"), c.int("out_channels"), Size2D(c.int("kernel")), stride: Size2D(c.int("stride")),
                               padding: .explicit(Size2D(c.int("padding"))), dilation: Size2D(c.int("dilation")), rng: RandomGenerator(seed: 0))
            try checkLayer(layer, c, "conv2d_\(k)")
        }
    }

    func testConvTranspose2dMatchesPyTorch() throws {
        for k in 0...3 {
            let c = try ParityCase("conv_transpose2d_\(k).safetensors")
            let layer = ConvTranspose2D(c.int("in_channels"), c.int("out_channels"), Size2D(c.int("kernel")),
                                        stride: Size2D(c.int("stride")), padding: Size2D(c.int("padding")),
                                        outputPadding: Size2D(c.int("output_padding")), rng: RandomGenerator(seed: 0))
            try checkLayer(layer, c, "conv_transpose2d_\(k)")
        }
    }

    private func checkLayer(_ layer: Module, _ c: ParityCase, _ name: String) throws {
        try layer.load(stateDict: ["weight": c["weight"], "bias": c["bias"]])
        let x = c["input"].copy()
        x.requiresGrad = true
        let y = layer(x)
        XCTAssertEqual(try layer.outputShape(for: Array(x.shape.dropFirst())), Array(y.shape.dropFirst()), name)
        assertClose(y, c["output"], "\(name) output")
        y.backward(seed: c["grad_output"])
        let params = Dictionary(uniqueKeysWithValues: layer.namedParameters())
        assertClose(x.gradient, c["grad_input"], "\(name) grad_input")
        assertClose(params["weight"]!.gradient, c["grad_weight"], "\(name) grad_weight")
        assertClose(params["bias"]!.gradient, c["grad_bias"], "\(name) grad_bias")
    }

    func testConvAutoencoderMatchesPyTorch() throws {
        let c = try ParityCase("model_conv_autoencoder.safetensors")
        let model = ReferenceConvAutoencoder(rng: RandomGenerator(seed: 0))
        let names = Set(model.stateDict().map(\.0))
        try model.load(stateDict: c.tensors.tensors.filter { names.contains($0.key) })
        XCTAssertEqual(try model.outputShape(for: [1, 28, 28]), [1, 28, 28])
        let x = c["input"]
        let y = model(x)
        assertClose(y, c["output"], "output")
        let loss = mseLoss(y, x)
        assertClose(loss.reshaped([1]), c["loss"], "loss")
        loss.backward()
        for (name, p) in model.namedParameters() {
            assertClose(p.gradient, c["grad_\(name)"], "grad_\(name)")
        }
        XCTAssertEqual(model.namedParameters().count, 12)
    }

    // MARK: Layers

    func testLayerInitialisationFollowsPyTorch() {
        let rng = RandomGenerator(seed: 1)
        let conv = Conv2D(4, 8, 3, rng: rng)
        XCTAssertEqual(conv.weight.shape, [8, 4, 3, 3])
        let bound = 1 / Float(4 * 9).squareRoot()
        XCTAssertLessThanOrEqual(conv.weight.scalars.map(abs).max()!, bound)
        XCTAssertGreaterThan(conv.weight.scalars.map(abs).max()!, bound * 0.9)
        XCTAssertLessThanOrEqual(conv.bias!.scalars.map(abs).max()!, bound)
        // ConvTranspose2d: PyTorch's fan-in is weight.size(1) * kh * kw = outChannels * kh * kw.
        let deconv = ConvTranspose2D(32, 2, 3, rng: rng)
        XCTAssertEqual(deconv.weight.shape, [32, 2, 3, 3])
        let tBound = 1 / Float(2 * 9).squareRoot()
        XCTAssertLessThanOrEqual(deconv.weight.scalars.map(abs).max()!, tBound)
        XCTAssertGreaterThan(deconv.weight.scalars.map(abs).max()!, tBound * 0.9)
        XCTAssertEqual(Conv2D(1, 2, 3, bias: false, rng: rng).namedParameters().map(\.0), ["weight"])
        XCTAssertEqual(conv.namedParameters().map(\.0), ["weight", "bias"])
    }

    func testLayerOutputShapes() throws {
        let rng = RandomGenerator(seed: 1)
        XCTAssertEqual(try Conv2D(1, 16, 3, stride: 2, padding: 1, rng: rng).outputShape(for: [1, 28, 28]), [16, 14, 14])
        XCTAssertEqual(try Conv2D(2, 4, 4, padding: .same, rng: rng).outputShape(for: [2, 9, 10]), [4, 9, 10])
        XCTAssertEqual(try Conv2D(2, 4, [3, 5], padding: .same, dilation: 2, rng: rng).outputShape(for: [2, 9, 10]), [4, 9, 10])
        XCTAssertEqual(try Conv2D(2, 4, 3, dilation: 2, rng: rng).outputShape(for: [2, 9, 10]), [4, 5, 6])
        XCTAssertEqual(try ConvTranspose2D(32, 16, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng).outputShape(for: [32, 7, 7]), [16, 14, 14])
        XCTAssertEqual(try ConvTranspose2D(2, 3, 4, stride: 2, padding: 1, rng: rng).outputShape(for: [2, 4, 5]), [3, 8, 10])
        let same = Conv2D(2, 3, 4, padding: .same, rng: rng)
        XCTAssertEqual(same(randn([2, 2, 9, 10])).shape, [2, 3, 9, 10])
        XCTAssertEqual(Conv2D(1, 16, 3, stride: 2, padding: 1, rng: rng).details, "1 -> 16, kernel 3x3, stride 2, padding 1")
        XCTAssertEqual(ConvTranspose2D(32, 16, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng).details,
                       "32 -> 16, kernel 3x3, stride 2, padding 1, output padding 1")
    }

    func testWrongInputsThrowNamingTheLayer() {
        let rng = RandomGenerator(seed: 1)
        XCTAssertThrowsError(try Conv2D(1, 16, 3, stride: 2, padding: 1, rng: rng).outputShape(for: [3, 28, 28])) { error in
            XCTAssertEqual((error as? BottleneckError)?.message, "Conv2D(1 -> 16, 3x3, stride 2): expects input [1, H, W], got [3, 28, 28]")
        }
        XCTAssertThrowsError(try Conv2D(16, 32, 5, rng: rng).outputShape(for: [16, 3, 4])) { error in
            XCTAssertEqual((error as? BottleneckError)?.message,
                           "Conv2D(16 -> 32, 5x5): input [16, 3, 4] is smaller than the kernel, the output [32, 0, 0] would be empty")
        }
        XCTAssertThrowsError(try Conv2D(1, 16, 3, rng: rng).outputShape(for: [784])) { error in
            XCTAssertTrue("\(error)".contains("Conv2D(1 -> 16, 3x3): expects input [1, H, W], got [784]"), "\(error)")
        }
        XCTAssertThrowsError(try ConvTranspose2D(32, 16, 3, stride: 2, rng: rng).outputShape(for: [16, 7, 7])) { error in
            XCTAssertEqual("\(error)", "ConvTranspose2D(32 -> 16, 3x3, stride 2): expects input [32, H, W], got [16, 7, 7]")
        }
        // A wrong layer inside a model names its position too.
        let model = Sequential(Conv2D(1, 8, 3, rng: rng), ReLU(), Conv2D(4, 8, 3, rng: rng))
        XCTAssertThrowsError(try model.outputShape(for: [1, 28, 28])) { error in
            XCTAssertEqual("\(error)", "layer 2 Conv2D(4 -> 8, 3x3): expects input [4, H, W], got [8, 26, 26]")
        }
    }
}

/// PyTorch's `conv` preset: a strided-convolution encoder, a dense bottleneck and a transposed-
/// convolution decoder, with PyTorch's module names.
final class ReferenceConvAutoencoder: Module {
    let encoder: Sequential, fc: Sequential, decoder: Sequential
    let flatten = Flatten(), unflatten = Unflatten([32, 7, 7])

    init(rng: RandomGenerator) {
        encoder = Sequential(Conv2D(1, 16, 3, stride: 2, padding: 1, rng: rng), ReLU(),
                             Conv2D(16, 32, 3, stride: 2, padding: 1, rng: rng), ReLU())
        fc = Sequential(Linear(1568, 128, rng: rng), ReLU(), Linear(128, 1568, rng: rng), ReLU())
        decoder = Sequential(ConvTranspose2D(32, 16, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng), ReLU(),
                             ConvTranspose2D(16, 1, 3, stride: 2, padding: 1, outputPadding: 1, rng: rng), Sigmoid())
    }

    override var children: [(String, Module)] { [("encoder", encoder), ("fc", fc), ("decoder", decoder)] }

    override func callAsFunction(_ x: Tensor) -> Tensor { decoder(unflatten(fc(flatten(encoder(x))))) }

    override func outputShape(for input: [Int]) throws -> [Int] {
        try decoder.outputShape(for: unflatten.outputShape(for: fc.outputShape(for: flatten.outputShape(for: encoder.outputShape(for: input)))))
    }
}

/// conv2d written as plain loops over every output and tap: the reference for the im2col + GEMM code.
private struct DirectConv {
    let x: Tensor, w: Tensor, b: Tensor
    let stride: Int, pad: Int, dilation: Int, outH: Int, outW: Int

    /// Calls `body(outIndex, xIndex, wIndex)` for every product of the convolution.
    func forEachTap(_ body: (Int, Int, Int) -> Void) {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        for i in 0..<n { for co in 0..<cout { for oy in 0..<outH { for ox in 0..<outW {
            let o = ((i * cout + co) * outH + oy) * outW + ox
            for ci in 0..<cin { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride - pad + ky * dilation, ix = ox * stride - pad + kx * dilation
                if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                body(o, ((i * cin + ci) * h + iy) * wd + ix, ((co * cin + ci) * kh + ky) * kw + kx)
            } } }
        } } } }
    }

    // Sums in Double: the reference must be more exact than the code it checks.
    func forward() -> Tensor {
        let cout = w.shape[0], area = outH * outW, n = x.shape[0]
        var y = (0..<(n * cout * area)).map { Double(b.data[($0 / area) % cout]) }
        forEachTap { o, xi, wi in y[o] += Double(x.data[xi]) * Double(w.data[wi]) }
        return Tensor(shape: [n, cout, outH, outW], values: y.map(Float.init))
    }

    func backward(_ g: Tensor) -> (Tensor, Tensor, Tensor) {
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: b.count)
        let cout = w.shape[0], area = outH * outW
        forEachTap { o, xi, wi in
            dx[xi] += Double(g.data[o]) * Double(w.data[wi])
            dw[wi] += Double(g.data[o]) * Double(x.data[xi])
        }
        for i in 0..<g.count { db[(i / area) % cout] += Double(g.data[i]) }
        return (Tensor(shape: x.shape, values: dx.map(Float.init)), Tensor(shape: w.shape, values: dw.map(Float.init)),
                Tensor(shape: b.shape, values: db.map(Float.init)))
    }
}
