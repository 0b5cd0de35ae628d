import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Batch norm (op and layers) and dropout: gradients, PyTorch parity, running statistics, bad input.
final class NormalizationTests: XCTestCase {
    let shapes: [[Int]] = [[4, 3], [8, 6], [2, 3, 4], [2, 3, 4, 5], [3, 2, 3, 3], [1, 2, 3, 3]]

    func testBatchNormTrainingGradients() {
        for (k, s) in shapes.enumerated() {
            let c = s[1], seed = UInt64(k + 1)
            gradCheck([randn(s, seed: seed), randn([c], seed: seed + 10), randn([c], seed: seed + 20)]) {
                $0[0].batchNormTraining(weight: $0[1], bias: $0[2]).output
            }
        }
    }

    func testBatchNormInferenceGradients() {
        for (k, s) in shapes.enumerated() {
            let c = s[1], seed = UInt64(k + 1)
            let mean = randn([c], seed: 30), variance = randn([c], seed: 40).abs() + 0.5
            gradCheck([randn(s, seed: seed), randn([c], seed: seed + 10), randn([c], seed: seed + 20)]) {
                $0[0].batchNormInference(weight: $0[1], bias: $0[2], runningMean: mean, runningVariance: variance)
            }
        }
    }

    func testBatchNormStatisticsAndNormalisedOutput() {
        let x = randn([16, 3, 4, 4], seed: 5) * 3 + 2
        let (y, stats) = x.batchNormTraining(weight: .full([3], 1), bias: .zeros([3]))
        XCTAssertEqual(stats.valuesPerChannel, 256)
        for c in 0..<3 {
            let yc = y.narrow(axis: 1, start: c, length: 1)
            XCTAssertEqual(yc.mean().item, 0, accuracy: 1e-5)
            XCTAssertEqual(yc.square().mean().item, 1, accuracy: 1e-3)
            XCTAssertEqual(stats.unbiasedVariance[c], stats.variance[c] * 256 / 255, accuracy: 1e-5)
        }
    }

    /// Loads a fixture's parameters into the layer, runs it, checks output and gradients.
    private func checkBatchNorm(_ file: String, _ layer: BatchNorm) throws -> ParityCase {
        let c = try ParityCase(file)
        layer.weight.assign(c["weight"]); layer.bias.assign(c["bias"])
        if let m = c.tensors["running_mean"], c.config["mode"] as? String == "eval" {
            layer.runningMean.assign(m); layer.runningVariance.assign(c["running_var"])
            layer.eval()
        }
        let x = c["input"].copy(); x.requiresGrad = true
        let y = layer(x)
        assertClose(y, c["output"], "\(file) output")
        y.backward(seed: c["grad_output"])
        assertClose(x.gradient, c["grad_input"], "\(file) grad_input")
        assertClose(layer.weight.gradient, c["grad_weight"], "\(file) grad_weight")
        assertClose(layer.bias.gradient, c["grad_bias"], "\(file) grad_bias")
        assertClose(layer.runningMean, c["after_running_mean"], "\(file) running_mean")
        assertClose(layer.runningVariance, c["after_running_var"], "\(file) running_var")
        return c
    }

    func testBatchNorm1DMatchesPyTorch() throws {
        let layer = BatchNorm1D(6)
        _ = try checkBatchNorm("batchnorm1d_train.safetensors", layer)
        XCTAssertEqual(layer.batchesTracked.item, 1)
    }

    func testBatchNorm2DMatchesPyTorch() throws {
        let layer = BatchNorm2D(3)
        _ = try checkBatchNorm("batchnorm2d_train.safetensors", layer)
        XCTAssertEqual(layer.batchesTracked.item, 1)
        // The eval fixture was made with the same module right after the training case (its running
        // statistics are the training case's `after_running_*`) and without zeroing gradients: its
        // grad_weight/grad_bias are the sums of both cases. Reproduce that: same layer, grads kept.
        _ = try checkBatchNorm("batchnorm2d_eval.safetensors", layer)
        XCTAssertEqual(layer.batchesTracked.item, 1, "eval mode leaves the running statistics alone")
    }

    func testBatchNormRunningStatisticsFollowMomentum() {
        let layer = BatchNorm1D(2, momentum: 0.5)
        let x = Tensor(shape: [4, 2], values: [1, 10, 2, 10, 3, 10, 4, 10])
        _ = layer(x); _ = layer(x)
        // mean: 0 -> 1.25 -> 1.875 (channel 0); unbiased variance of 1,2,3,4 is 5/3: 1 -> 4/3 -> 3/2
        XCTAssertEqual(layer.runningMean.scalars[0], 1.875, accuracy: 1e-6)
        XCTAssertEqual(layer.runningMean.scalars[1], 7.5, accuracy: 1e-6)
        XCTAssertEqual(layer.runningVariance.scalars[0], 1.5, accuracy: 1e-5)
        XCTAssertEqual(layer.runningVariance.scalars[1], 0.25, accuracy: 1e-6)
        XCTAssertEqual(layer.batchesTracked.item, 2)
        XCTAssertEqual(layer.stateDict().map(\.0), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(layer.parameters.count, 2)
    }

    func testBatchNormRejectsWrongChannelCount() throws {
        XCTAssertEqual(try BatchNorm1D(6).outputShape(for: [6]), [6])
        XCTAssertEqual(try BatchNorm1D(6).outputShape(for: [6, 10]), [6, 10])
        XCTAssertEqual(try BatchNorm2D(3).outputShape(for: [3, 5, 5]), [3, 5, 5])
        for (layer, input) in [(BatchNorm1D(6) as BatchNorm, [5]), (BatchNorm1D(6), [6, 2, 2]), (BatchNorm2D(3), [4, 5, 5]), (BatchNorm2D(3), [3, 5])] {
            XCTAssertThrowsError(try layer.outputShape(for: input)) { error in
                let message = (error as? BottleneckError)?.message ?? ""
                XCTAssertTrue(message.hasPrefix("\(layer.typeName)(\(layer.features))"), message)
                XCTAssertTrue(message.contains(formatShape(input)), message)
            }
        }
        XCTAssertThrowsError(try Sequential(Flatten(), BatchNorm1D(10)).outputShape(for: [1, 3, 3])) { error in
            XCTAssertEqual((error as? BottleneckError)?.message, "layer 1 BatchNorm1D(10): expects input [10] or [10, L], got [9]")
        }
    }

    // MARK: dropout

    func testDropoutGradientIsMaskTimesScale() {
        let p: Float = 0.3, scale = 1 / (1 - p)
        let x = awayFromZero([200]); x.requiresGrad = true
        let y = x.dropout(p: p, rng: RandomGenerator(seed: 3))
        let w = randn([200], seed: 9)
        (y * w).sum().backward()
        let g = x.gradient
        var zeroed = 0
        for i in 0..<200 {
            if y.data[i] == 0 {
                zeroed += 1
                XCTAssertEqual(g.data[i], 0)
            } else {
                XCTAssertEqual(y.data[i], x.data[i] * scale, accuracy: 1e-6)
                XCTAssertEqual(g.data[i], w.data[i] * scale, accuracy: 1e-6)
            }
        }
        XCTAssertGreaterThan(zeroed, 30); XCTAssertLessThan(zeroed, 90)
        // The same seed draws the same mask on every call, so finite differences see one function.
        gradCheck([randn([3, 7])]) { $0[0].dropout(p: 0.4, rng: RandomGenerator(seed: 11)) }
    }

    func testDropoutStatistics() {
        let p: Float = 0.3
        let layer = Dropout(p, rng: RandomGenerator(seed: 1))
        let y = layer(Tensor.full([200_000], 1))
        let zeroed = Float(y.scalars.filter { $0 == 0 }.count) / 200_000
        XCTAssertEqual(zeroed, p, accuracy: 0.005)
        XCTAssertEqual(y.mean().item, 1, accuracy: 0.01)
    }

    func testDropoutIsDeterministicAndUsesTheGivenGenerator() {
        let x = randn([4, 50])
        let a = Dropout(0.5, rng: RandomGenerator(seed: 42))(x), b = Dropout(0.5, rng: RandomGenerator(seed: 42))(x)
        XCTAssertEqual(a.scalars, b.scalars)
        let shared = RandomGenerator(seed: 42), layer = Dropout(0.5, rng: shared)
        let before = shared.snapshot
        let first = layer(x), second = layer(x)
        XCTAssertNotEqual(shared.snapshot, before, "the layer draws from the generator it was given")
        XCTAssertEqual(first.scalars, a.scalars)
        XCTAssertNotEqual(first.scalars, second.scalars, "each call draws a new mask")
    }

    func testDropoutEvalModeAndEdgeRates() {
        let x = randn([3, 5])
        let layer = Dropout(0.9, rng: RandomGenerator(seed: 1))
        layer.eval()
        XCTAssertTrue(layer(x) === x)
        XCTAssertEqual(x.dropout(p: 0, rng: RandomGenerator(seed: 1)).scalars, x.scalars)
        XCTAssertEqual(x.dropout(p: 1, rng: RandomGenerator(seed: 1)).scalars, [Float](repeating: 0, count: 15))
        XCTAssertEqual(try layer.outputShape(for: [3, 5]), [3, 5])
    }
}
