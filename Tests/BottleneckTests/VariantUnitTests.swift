import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Fast checks of each variant's machinery (the trained-on-real-data properties are in VariantTests).
final class VariantUnitTests: XCTestCase {
    func testNoiseModels() throws {
        let x = Tensor.full([4, 1, 20, 20], 0.5), rng = RandomGenerator(seed: 1)
        let g = NoiseModel.gaussian(sigma: 0.3).apply(x, rng: rng)
        let d = (g - x)
        XCTAssertEqual(Double(d.mean().item), 0, accuracy: 0.03)
        XCTAssertEqual(Double(d.square().mean().item).squareRoot(), 0.28, accuracy: 0.04, "sigma, a little reduced by clipping")
        XCTAssertGreaterThanOrEqual(g.minValue, 0)
        XCTAssertLessThanOrEqual(g.maxValue, 1)
        let sp = NoiseModel.saltAndPepper(fraction: 0.2).apply(x, rng: rng).scalars
        XCTAssertEqual(Double(sp.filter { $0 != 0.5 }.count) / 1600, 0.2, accuracy: 0.04)
        let m = NoiseModel.masking(fraction: 0.25).apply(x, rng: rng).scalars
        XCTAssertEqual(Double(m.filter { $0 == 0 }.count) / 1600, 0.25, accuracy: 0.04)
        let o = NoiseModel.occlusion(minSide: 0.25, maxSide: 0.5).apply(x, rng: rng)
        for s in 0..<4 {
            let zeros = (0..<400).filter { o.data[s * 400 + $0] == 0 }.count
            XCTAssertTrue((25...100).contains(zeros), "one rectangle of 5..10 px sides, got \(zeros) zeros")
        }
        XCTAssertEqual(x.scalars.allSatisfy { $0 == 0.5 }, true, "the clean input is untouched")
        XCTAssertEqual(try NoiseModel(parsing: "occlusion:0.2-0.5"), .occlusion(minSide: 0.2, maxSide: 0.5))
        XCTAssertThrowsError(try NoiseModel(parsing: "gauss:0.3"))
        XCTAssertThrowsError(try NoiseModel(parsing: "mask:1.5"))
    }

    /// The closed-form contractive penalty equals ||J||_F^2 from a finite-difference Jacobian,
    /// and the stochastic estimate agrees with it on average.
    func testContractivePenaltyMatchesFiniteDifferenceJacobian() throws {
        for activation in ["sigmoid", "tanh", "softplus"] {
            let spec = ArchitectureSpec(name: "c", encoder: [LayerSpec("linear", ["out": .number(5)]), LayerSpec(activation)],
                                        decoder: [LayerSpec("linear", ["out": .number(7)])])
            let model = try Autoencoder(spec: spec, inputShape: [7], rng: RandomGenerator(seed: 2))
            let x = randn([3, 7], seed: 4)
            let objective = ContractiveObjective(weight: 1, sigma: 1e-3)
            let exact = Double(try XCTUnwrap(objective.exactJacobianPenalty(model, x)).item)
            // Finite-difference ||J||_F^2 per sample, averaged.
            var fd = 0.0
            let h: Float = 1e-2
            for s in 0..<3 { for i in 0..<7 {
                let up = x.copy(), down = x.copy()
                up.data[s * 7 + i] += h; down.data[s * 7 + i] -= h
                let a = withoutGradients { model.encode(up) }, b = withoutGradients { model.encode(down) }
                for j in 0..<5 { let g = Double(a.data[s * 5 + j] - b.data[s * 5 + j]) / Double(2 * h); fd += g * g }
            } }
            fd /= 3
            XCTAssertEqual(exact, fd, accuracy: 1e-3 * max(1, fd), activation)
            let rng = RandomGenerator(seed: 5)
            let code = withoutGradients { model.encode(x) }
            let estimate = (0..<400).reduce(0.0) { acc, _ in
                acc + Double(withoutGradients { objective.stochasticJacobianPenalty(model, x, code: code, rng: rng) }.item)
            } / 400
            XCTAssertEqual(estimate, fd, accuracy: 0.1 * fd, "\(activation) stochastic estimate")
            // meanJacobianNorm is the mean of per-sample norms: at most sqrt(mean of squares).
            let norm = meanJacobianNorm(model, x)
            XCTAssertGreaterThan(norm, 0)
            XCTAssertLessThanOrEqual(norm, fd.squareRoot() * 1.001)
        }
    }

    /// The exact penalty trains: its gradient with respect to the encoder's weight and bias
    /// matches finite differences of the objective's own penalty.
    func testContractivePenaltyGradient() throws {
        for activation in ["sigmoid", "tanh"] {
            let spec = ArchitectureSpec(name: "c", encoder: [LayerSpec("linear", ["out": .number(4)]), LayerSpec(activation)],
                                        decoder: [LayerSpec("linear", ["out": .number(6)])])
            let model = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 3))
            let objective = ContractiveObjective(weight: 1)
            let x = randn([2, 6], seed: 9)
            let linear = model.encoder.layers[0] as! Linear
            gradCheck([linear.weight, linear.bias!]) { _ in objective.exactJacobianPenalty(model, x)! }
        }
    }

    /// The VAE's KL term reaches the encoder's gradient: without it (beta 0) the gradient differs.
    func testVAEKLTermContributesToGradient() throws {
        let spec = Variants.adapt(denseSpec(code: 4, activation: "relu"), to: VariantSpec(.vae()))
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 1))
        let x = FMNIST.test.inputs.rows(0, 16)
        func encoderGradient(beta: Float) -> [Float] {
            model.zeroGrad()
            VariationalObjective(beta: beta).loss(model: model, input: x, rng: RandomGenerator(seed: 3)).total.backward()
            return model.encoder.parameters[0].gradient.scalars
        }
        let with = encoderGradient(beta: 1), without = encoderGradient(beta: 0)
        let diff = zip(with, without).map { Swift.abs($0 - $1) }.max()!
        XCTAssertGreaterThan(diff, 1e-4, "the KL term changes the encoder's gradient")
        let terms = VariationalObjective(beta: 1).loss(model: model, input: x, rng: RandomGenerator(seed: 3))
        XCTAssertGreaterThan(terms.parts.first { $0.0 == "kl" }!.1, 0)
        XCTAssertEqual(model.codeShape, [4])
    }

    func testKLWarmupRampsBeta() {
        let o = VariationalObjective(beta: 2, warmupSteps: 10)
        XCTAssertEqual(o.currentBeta, 0)
        for _ in 0..<5 { o.stepCounter.data[0] += 1 }
        XCTAssertEqual(o.currentBeta, 1)
        for _ in 0..<10 { o.stepCounter.data[0] += 1 }
        XCTAssertEqual(o.currentBeta, 2)
    }

    /// Every variant saves and loads through the model file and gives the same outputs.
    func testEveryVariantRoundTripsThroughModelFile() throws {
        let dir = NSTemporaryDirectory() + "bn-variants-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let small = FMNIST.train.subset(Array(0..<256))
        let variants: [VariantSpec] = [
            .plain, VariantSpec(.denoising(noise: .masking(fraction: 0.3))),
            VariantSpec(.sparse(.kl())), VariantSpec(.contractive()),
            VariantSpec(.vae()), VariantSpec(.aae()), VariantSpec(.plain, consistency: 0.5),
        ]
        for v in variants {
            let (model, _, _) = try trainVariant(Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8), variant: v, epochs: 1, train: small)
            let path = dir + "/\(v.kind.name)-\(v.consistency ?? 0).safetensors"
            try TrainedModel(model: model).save(to: path)
            let loaded = try TrainedModel.load(path).model
            XCTAssertEqual(loaded.spec.variant, v)
            let x = FMNIST.test.inputs.rows(0, 8)
            XCTAssertEqual(withoutGradients { loaded(x).scalars }, withoutGradients { model(x).scalars }, v.kind.name)
            XCTAssertEqual(withoutGradients { loaded.encode(x).scalars }, withoutGradients { model.encode(x).scalars }, v.kind.name)
        }
    }

    func testVariantOptionErrors() throws {
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [4]), inputShape: [4], rng: RandomGenerator(seed: 0))
        XCTAssertThrowsError(try Variants.objective(VariantSpec(.vae()), model: model, loss: .mse, rng: RandomGenerator(seed: 0)))
        XCTAssertThrowsError(try VariantSpec(kind: "sparse", options: ["penalty": .string("l2")])) {
            XCTAssertTrue("\($0)".contains("'penalty' must be l1 or kl, got 'l2'"), "\($0)")
        }
        XCTAssertThrowsError(try VariantSpec(kind: "magic")) {
            XCTAssertTrue("\($0)".contains("variant 'magic' is not known"), "\($0)")
        }
        XCTAssertThrowsError(try Generation.sample(model, count: 2, rng: RandomGenerator(seed: 0))) {
            XCTAssertTrue("\($0)".contains("needs a vae or aae"))
        }
    }
}
