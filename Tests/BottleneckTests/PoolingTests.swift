import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Max/average pooling and up-sampling: gradient checks, PyTorch parity, shapes and errors.
final class PoolingTests: XCTestCase {
    /// Distinct values at least 0.1 apart, so no finite-difference step changes a window's maximum.
    func untied(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
        let count = shape.reduce(1, *)
        let order = RandomGenerator(seed: seed).permutation(count)
        return Tensor(shape: shape, values: order.map { Float($0 - count / 2) * 0.1 })
    }

    func testPoolingGradients() {
        let cases: [([Int], Size2D, Size2D, Size2D)] = [
            ([2, 2, 6, 6], 2, 2, 0), ([1, 2, 4, 10], 2, 2, 0), ([1, 3, 7, 7], 3, 2, 1), ([2, 1, 5, 8], [2, 3], [1, 2], [1, 1]), ([1, 2, 4, 5], 3, 1, 1),
        ]
        for (shape, k, s, p) in cases {
            gradCheck([untied(shape)]) { $0[0].maxPool2d(kernel: k, stride: s, padding: p) }
            gradCheck([randn(shape)]) { $0[0].avgPool2d(kernel: k, stride: s, padding: p) }
            gradCheck([randn(shape)]) { $0[0].avgPool2d(kernel: k, stride: s, padding: p, countIncludePad: false) }
        }
    }

    func testUpsampleGradients() {
        for (shape, scale) in [([2, 2, 3, 4], Size2D(2)), ([1, 3, 4, 3], Size2D(3)), ([1, 1, 1, 2], Size2D(2, 3))] {
            gradCheck([randn(shape)]) { $0[0].upsampleNearest2d(scale: scale) }
            gradCheck([randn(shape)]) { $0[0].upsampleBilinear2d(scale: scale) }
            gradCheck([randn(shape)]) { $0[0].upsampleBilinear2d(scale: scale, alignCorners: true) }
        }
    }

    func testBilinearAlignCornersKeepsTheCorners() {
        let x = Tensor(shape: [1, 1, 2, 3], values: [0, 1, 2, 3, 4, 5])
        let y = x.upsampleBilinear2d(scale: 2, alignCorners: true)
        XCTAssertEqual(y.shape, [1, 1, 4, 6])
        // Rows at 0, 1/3, 2/3, 1 of the input's rows; columns at 0, 0.4, ..., 2.
        var expected: [Float] = []
        for oy in 0..<4 {
            for ox in 0..<6 { expected.append(Float(oy) + Float(2 * ox) / 5) }
        }
        for (a, b) in zip(y.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testMaxPoolTiesGoToTheFirstMaximum() {
        let x = Tensor(shape: [1, 1, 2, 4], values: [1, 3, 2, 2, 3, 0, 2, 2])
        x.requiresGrad = true
        let y = x.maxPool2d(kernel: 2)
        XCTAssertEqual(y.scalars, [3, 2])
        y.sum().backward()
        XCTAssertEqual(x.gradient.scalars, [0, 1, 1, 0, 0, 0, 0, 0])
        // Padding never wins, even over negative values.
        XCTAssertEqual(Tensor(shape: [1, 1, 2, 2], values: [-4, -3, -2, -1]).maxPool2d(kernel: 2, stride: 1, padding: 1).scalars,
                       [-4, -3, -3, -2, -1, -1, -2, -1, -1])
    }

    /// The 2x2 windows run four at a time in SIMD lanes: ties, NaN and -infinity there too.
    func testMaxPoolWideRowsFollowPyTorch() {
        var values = (0..<64).map { Float(($0 * 37) % 23) - 11 }
        for i in [2, 3, 18, 19] { values[i] = 7 }            // window 1: four-way tie
        values[4] = 5; values[21] = 5                        // window 2: top-left ties bottom-right
        values[8] = .nan; values[25] = .nan                  // window 4: two NaN, the later one wins
        for i in [10, 11, 26, 27] { values[i] = -.infinity }  // window 5: all -infinity
        let x = Tensor(shape: [1, 1, 4, 16], values: values)
        x.requiresGrad = true
        let y = x.maxPool2d(kernel: 2)
        // Reference: the first maximum of each window in row-major order; a NaN beats everything.
        var expected = [Float](), winners = [Int]()
        for oy in 0..<2 {
            for ox in 0..<8 {
                var best = -Float.infinity, at = 2 * oy * 16 + 2 * ox
                for k in [2 * oy * 16 + 2 * ox, 2 * oy * 16 + 2 * ox + 1, (2 * oy + 1) * 16 + 2 * ox, (2 * oy + 1) * 16 + 2 * ox + 1]
                    where values[k] > best || values[k].isNaN { best = values[k]; at = k }
                expected.append(best)
                winners.append(at)
            }
        }
        XCTAssertEqual(y.scalars.map { $0.isNaN ? 999 : $0 }, expected.map { $0.isNaN ? 999 : $0 })
        y.backward(seed: Tensor(shape: y.shape, values: (1...16).map(Float.init)))
        var grad = [Float](repeating: 0, count: 64)
        for (i, k) in winners.enumerated() { grad[k] += Float(i + 1) }
        XCTAssertEqual(x.gradient.scalars, grad)
        XCTAssertEqual(winners[1], 2)
        XCTAssertEqual(winners[4], 25)
    }

    func testAvgPoolPaddingDivisor() {
        let x = Tensor.full([1, 1, 2, 2], 1)
        XCTAssertEqual(x.avgPool2d(kernel: 2, stride: 1, padding: 1).scalars, [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25])
        XCTAssertEqual(x.avgPool2d(kernel: 2, stride: 1, padding: 1, countIncludePad: false).scalars, Array(repeating: 1, count: 9))
    }

    func testPoolingMatchesPyTorch() throws {
        for name in ["maxpool2d_0", "maxpool2d_1", "avgpool2d_0"] {
            let c = try ParityCase("\(name).safetensors")
            let k = Size2D(c.int("kernel")), s = Size2D(c.int("stride")), p = Size2D(c.int("padding"))
            let layer: Module = name.hasPrefix("max") ? MaxPool2D(k, stride: s, padding: p) : AvgPool2D(k, stride: s, padding: p)
            try check(layer, c, name)
        }
    }

    func testUpsampleMatchesPyTorch() throws {
        for mode in [Upsample2D.Mode.nearest, .bilinear] {
            let c = try ParityCase("upsample_\(mode.rawValue).safetensors")
            XCTAssertEqual(c.config["mode"] as? String, mode.rawValue)
            XCTAssertEqual(c.config["align_corners"] as? Bool ?? false, false)
            try check(Upsample2D(scale: Size2D(c.int("scale")), mode: mode), c, "upsample \(mode)")
        }
    }

    private func check(_ layer: Module, _ c: ParityCase, _ name: String) throws {
        let x = c["input"].copy()
        x.requiresGrad = true
        let y = layer(x)
        XCTAssertEqual(try layer.outputShape(for: Array(x.shape.dropFirst())), Array(y.shape.dropFirst()), name)
        assertClose(y, c["output"], "\(name) output")
        y.backward(seed: c["grad_output"])
        assertClose(x.gradient, c["grad_input"], "\(name) grad_input")
    }

    func testShapesAndErrors() {
        XCTAssertEqual(try MaxPool2D(2).outputShape(for: [3, 7, 7]), [3, 3, 3])
        XCTAssertEqual(try AvgPool2D(3, stride: 2, padding: 1).outputShape(for: [3, 7, 8]), [3, 4, 4])
        XCTAssertEqual(try Upsample2D(scale: 2, mode: .bilinear).outputShape(for: [1, 7, 5]), [1, 14, 10])
        XCTAssertThrowsError(try MaxPool2D(3).outputShape(for: [4, 2, 5])) { error in
            XCTAssertEqual("\(error)", "MaxPool2D(3x3): input [4, 2, 5] is smaller than the kernel, the output [4, 0, 1] would be empty")
        }
        XCTAssertThrowsError(try AvgPool2D(2).outputShape(for: [784])) { error in
            XCTAssertEqual("\(error)", "AvgPool2D(2x2): expects input [C, H, W], got [784]")
        }
        XCTAssertEqual(MaxPool2D(2).details, "kernel 2x2")
        XCTAssertEqual(AvgPool2D(3, stride: 2, padding: 1).details, "kernel 3x3, stride 2, padding 1")
        XCTAssertEqual(Upsample2D(scale: 2, mode: .bilinear).details, "scale 2, bilinear")
    }
}
