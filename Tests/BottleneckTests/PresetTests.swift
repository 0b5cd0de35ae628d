import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

final class PresetTests: XCTestCase {
    /// Parameter counts equal the PyTorch reference models' (shared/peers/README.md).
    func testParameterCountsMatchReference() throws {
        let expected: [(Preset, Int)] = [(.dense, 50_992), (.deepDense, 222_384), (.conv, 412_673), (.convBN, 112_513)]
        for (preset, count) in expected {
            let m = try Autoencoder(spec: try preset.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
            // BatchNorm's running statistics are buffers, not parameters, as in PyTorch.
            XCTAssertEqual(m.parameterCount, count, preset.rawValue)
        }
        let vae = Variants.adapt(ArchitectureSpec(name: "vae",
            encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(400)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(20)])],
            decoder: [LayerSpec("linear", ["out": .number(400)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(784)]), LayerSpec("sigmoid")]),
            to: VariantSpec(.vae()))
        XCTAssertEqual(try Autoencoder(spec: vae, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0)).parameterCount, 652_824)
    }

    /// Our `conv` preset is PyTorch's conv model: with its weights (state_dict names mapped to
    /// ours) it gives the same output, loss and every gradient.
    func testConvPresetReproducesPyTorchModel() throws {
        let c = try ParityCase("model_conv_autoencoder.safetensors")
        let model = try Autoencoder(spec: try Preset.conv.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        let ours = ["encoder.0": "encoder.0", "encoder.2": "encoder.2", "fc.0": "encoder.5", "fc.2": "decoder.0",
                    "decoder.0": "decoder.3", "decoder.2": "decoder.5"]
        var state: [String: Tensor] = [:]
        for (torch, mine) in ours { for p in ["weight", "bias"] { state["\(mine).\(p)"] = c["\(torch).\(p)"] } }
        try model.load(stateDict: state, from: "fixture")
        let x = c["input"]
        let y = model(x)
        assertClose(y, c["output"], "output")
        let loss = mseLoss(y, x)
        assertClose(loss.reshaped([1]), c["loss"], "loss")
        loss.backward()
        let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
        for (torch, mine) in ours { for p in ["weight", "bias"] {
            assertClose(params["\(mine).\(p)"]!.gradient, c["grad_\(torch).\(p)"], "\(torch).\(p)")
        } }
    }

    /// A decoder ending in sigmoid + unflatten: the BCE loss is taken from the logits (the
    /// reshape commutes with the sigmoid), with the same value and gradients as BCE on the output.
    func testBCEFoldsTheSigmoidPastTheUnflatten() throws {
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8), inputShape: [1, 28, 28],
                                    rng: RandomGenerator(seed: 4))
        XCTAssertTrue(model.decoder.layers.last is Unflatten)
        let x = FMNIST.test.inputs.rows(0, 16)
        func lossAndGradient(_ fused: Bool) -> (Float, [Float], [Float]) {
            for p in model.parameters { p.zeroGrad() }
            let code = model.encode(x)
            let (loss, r) = fused ? model.reconstructionLoss(.bce, code: code, target: x) : { let r = model.decode(code); return (bceLoss(r, x), r) }()
            XCTAssertEqual(r.shape, x.shape)
            loss.backward()
            let w = model.parameters
            return (loss.item, Array(UnsafeBufferPointer(start: w[0].grad!, count: w[0].count)), Array(UnsafeBufferPointer(start: w[2].grad!, count: w[2].count)))
        }
        let (fusedLoss, fusedEncoder, fusedDecoder) = lossAndGradient(true)
        let (plainLoss, plainEncoder, plainDecoder) = lossAndGradient(false)
        XCTAssertEqual(fusedLoss, plainLoss, accuracy: 1e-5 * plainLoss)
        for (a, b) in zip(fusedEncoder + fusedDecoder, plainEncoder + plainDecoder) { XCTAssertEqual(a, b, accuracy: 1e-4 * Swift.max(1e-3, Swift.abs(b))) }
    }

    func testPresetsFitOtherImageSizes() throws {
        for shape in [[1, 32, 32], [3, 30, 22], [1, 9, 13]] {
            let m = try Autoencoder(spec: try Preset.conv.spec(inputShape: shape), inputShape: shape, rng: RandomGenerator(seed: 0))
            XCTAssertEqual(withoutGradients { m(Tensor.zeros([2] + shape)) }.shape, [2] + shape)
        }
        XCTAssertThrowsError(try Preset.convBN.spec(inputShape: [1, 30, 30])) { XCTAssertTrue("\($0)".contains("multiples of 4")) }
        XCTAssertThrowsError(try Preset.conv.spec(inputShape: [784])) { XCTAssertTrue("\($0)".contains("needs image data")) }
        let seq = try Autoencoder(spec: try Preset.lstm.spec(inputShape: [12, 3]), inputShape: [12, 3], rng: RandomGenerator(seed: 0))
        XCTAssertEqual(withoutGradients { seq(Tensor.zeros([2, 12, 3])) }.shape, [2, 12, 3])
    }
}

final class ResidualBlockTests: XCTestCase {
    /// The block's gradient (input and every parameter), with and without the projection
    /// shortcut. Its ops are each checked in training mode elsewhere; here BatchNorm is in eval
    /// mode (an affine map), because in training mode on a tiny batch the normalised values sit
    /// near ReLU's kink and finite differences step across it.
    func testResidualBlockGradients() {
        for (cin, cout, stride) in [(2, 2, 1), (2, 3, 2)] {
            let block = ResidualBlock(cin, cout, stride: stride, rng: RandomGenerator(seed: 4))
            block.eval()
            let x = randn([2, cin, 5, 6], seed: 3)
            gradCheck([x] + block.parameters, step: 1e-3) { inputs in block(inputs[0]) }
        }
    }

    /// The resnet preset builds for Fashion-MNIST, keeps the shapes, and learns on a small slice.
    func testResNetPresetTrains() throws {
        let small = FMNIST.train.subset(Array(0..<512))
        let spec = try Preset.resnet.spec(inputShape: [1, 28, 28], codeSize: 32)
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        XCTAssertEqual(model.codeShape, [32])
        let before = try evaluateReconstruction(model, on: small).mse
        let (trained, _, _) = try trainVariant(spec, variant: nil, epochs: 4, train: small, lr: 2e-3, batchSize: 32)
        let after = try evaluateReconstruction(trained, on: small).mse
        XCTAssertLessThan(after, before * 0.6, "training lowers the error: \(before) -> \(after)")
    }
}
