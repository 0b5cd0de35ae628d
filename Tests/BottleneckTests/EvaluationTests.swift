import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The evaluation metrics equal the training losses on the same batch, in eval mode.
final class EvaluationTests: XCTestCase {
    /// A small model on [1, 4, 4]: flatten, linear 16 -> 6, tanh; linear 6 -> 16 (then `output`,
    /// and the unflatten the model adds, so a sigmoid is followed by a reshape).
    func model(output: [LayerSpec], variant: VariantSpec? = nil, code: Int = 6, seed: UInt64 = 3) throws -> Autoencoder {
        let encoder = [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(Double(code))])] + (variant == nil ? [LayerSpec("tanh")] : [])
        let spec = ArchitectureSpec(name: "small", encoder: encoder, decoder: [LayerSpec("linear", ["out": .number(16)])] + output, variant: variant)
        let m = try Autoencoder(spec: spec, inputShape: [1, 4, 4], rng: RandomGenerator(seed: seed))
        m.eval()
        return m
    }

    /// 37 binary images: targets 0 and 1 make a saturated sigmoid expensive.
    let data: Dataset = {
        let u = Tensor.uniform([37, 1, 4, 4], low: 0, high: 1, rng: RandomGenerator(seed: 21))
        for i in 0..<u.count { u.data[i] = u.data[i] < 0.5 ? 0 : 1 }
        return Dataset(inputs: u)
    }()

    func trainingLoss(_ kind: LossKind, _ model: Autoencoder) -> Double {
        Double(ReconstructionObjective(loss: kind).loss(model: model, input: data.inputs, rng: RandomGenerator(seed: 0)).total.item)
    }

    func testMetricEqualsTrainingLossForEachKind() throws {
        let withSigmoid = try model(output: [LayerSpec("sigmoid")])
        // Logits of about +-40: the sigmoid gives exactly 0 or 1 in Float, so BCE on its output
        // would clamp at 100 nats where BCE from the logits is exact.
        let last = withSigmoid.decoder.layers[0] as! Linear
        for i in 0..<last.weight.count { last.weight.data[i] *= 60 }
        let logitsOut = try model(output: [])
        for (kind, m) in [(LossKind.mse, withSigmoid), (.l1, withSigmoid), (.rmse, withSigmoid), (.bce, withSigmoid), (.bceLogits, logitsOut)] {
            let loss = trainingLoss(kind, m)
            for batchSize in [1000, 10] {
                let metric = try evaluateReconstructionLoss(kind, of: m, on: data, batchSize: batchSize)
                XCTAssertEqual(metric, loss, accuracy: 1e-5 * max(1, loss), "\(kind), batches of \(batchSize)")
            }
            let metrics = try evaluateReconstruction(m, on: data)
            switch kind {
            case .mse: XCTAssertEqual(metrics.mse, loss, accuracy: 1e-6 * max(1, loss))
            case .l1: XCTAssertEqual(metrics.l1, loss, accuracy: 1e-6 * max(1, loss))
            case .rmse: XCTAssertEqual(metrics.rmse, loss, accuracy: 1e-6 * max(1, loss))
            case .bce: XCTAssertEqual(try XCTUnwrap(metrics.bce), loss, accuracy: 1e-5 * max(1, loss))
            case .bceLogits: break
            }
        }
        // The fold matters here: BCE of the saturated probabilities is far from the loss.
        let probabilities = withoutGradients { withSigmoid(data.inputs) }
        XCTAssertGreaterThan(Swift.abs(SampleMetrics.mean(.bce, probabilities, data.inputs) - trainingLoss(.bce, withSigmoid)), 1)
    }

    /// A VAE's test negative ELBO equals its objective's loss (beta 1) on the same batch and latent draw.
    func testNegativeELBOEqualsVariationalLoss() throws {
        for likelihood in ["bernoulli", "gaussian"] {
            let m = try model(output: [LayerSpec("sigmoid")], variant: VariantSpec(kind: "vae", options: ["likelihood": .string(likelihood)]))
            let objective = try XCTUnwrap(try variationalObjective(of: m))
            XCTAssertEqual(objective.likelihood.rawValue, likelihood)
            let loss = objective.loss(model: m, input: data.inputs, rng: RandomGenerator(seed: 1234))
            let metrics = try evaluateReconstruction(m, on: data)
            let total = Double(loss.total.item)
            XCTAssertEqual(try XCTUnwrap(metrics.negativeELBO), total, accuracy: 1e-5 * total, likelihood)
            let kl = try XCTUnwrap(loss.parts.first { $0.0 == "kl" }?.1)
            XCTAssertEqual(try XCTUnwrap(metrics.kl), Double(kl), accuracy: 1e-5 * max(1, Double(kl)), likelihood)
            // Per sample: the scorer's numbers average to the same figure.
            let perSample = objective.negativeELBOPerSample(m, data.inputs, rng: RandomGenerator(seed: 1234))
            XCTAssertEqual(perSample.total.reduce(0, +) / 37, total, accuracy: 1e-5 * total)
        }
    }
}
