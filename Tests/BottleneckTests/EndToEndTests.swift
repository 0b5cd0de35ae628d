import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The tiny end-to-end check of the core on real data.
final class EndToEndTests: XCTestCase {
    static func denseModel(_ rng: RandomGenerator) -> (Sequential, Linear, Linear) {
        let encoder = Linear(784, 32, rng: rng), decoder = Linear(32, 784, rng: rng)
        return (Sequential(Flatten(), encoder, ReLU(), decoder, Sigmoid(), Unflatten([1, 28, 28])), encoder, decoder)
    }

    static func testMSE(_ model: Module, _ test: Dataset) -> Double {
        model.eval()
        return withoutGradients {
            test.sequentialBatches(size: 1000).reduce(0.0) { $0 + Double(mseLoss(model($1), $1, reduction: .sum).item) }
        } / Double(test.inputs.count)
    }

    /// From PyTorch's own initial weights and batch order (a fixture made by
    /// scripts/fixtures/make_dense_trajectory.py), one epoch of our Adam + MSE training follows
    /// PyTorch's loss curve and reaches its test MSE (0.0292, below the 0.030 target).
    func testDenseOneEpochReproducesPyTorchTrajectory() throws {
        let fx = try SafeTensors.read(fixturesDirectory.appendingPathComponent("torch-trajectory/dense_seed0.safetensors").path)
        let train = try FashionMNIST.load(.train), test = try FashionMNIST.load(.test)
        let (model, encoder, decoder) = Self.denseModel(RandomGenerator(seed: 0))
        encoder.weight.assign(fx["model.0.weight"]!); encoder.bias!.assign(fx["model.0.bias"]!)
        decoder.weight.assign(fx["model.2.weight"]!); decoder.bias!.assign(fx["model.2.bias"]!)
        let perm = fx["perm"]!.scalars.map { Int($0) }
        let torchLosses = fx["losses"]!
        let opt = Adam(parameters: model.parameters, learningRate: 1e-3)
        for b in 0..<469 {
            let x = train.batch(Array(perm[(b * 128)..<min(60_000, (b + 1) * 128)]))
            let loss = mseLoss(model(x), x)
            XCTAssertEqual(loss.item, torchLosses.data[b], accuracy: 1e-4 * max(1, torchLosses.data[b]), "loss of batch \(b)")
            opt.zeroGrad(); loss.backward(); opt.step()
        }
        let mse = Self.testMSE(model, test)
        XCTAssertEqual(mse, Double(fx["test_mse"]!.item), accuracy: 2e-5)
        XCTAssertLessThan(mse, 0.030)
    }

    /// With our own seeded initialisation and shuffling, one epoch lands in PyTorch's seed-to-seed
    /// range (0.0292-0.0317 over torch seeds 0-3 on this machine).
    func testDenseOneEpochFromOwnSeed() throws {
        let train = try FashionMNIST.load(.train), test = try FashionMNIST.load(.test)
        let rng = RandomGenerator(seed: 0)
        let (model, _, _) = Self.denseModel(rng)
        let opt = Adam(parameters: model.parameters, learningRate: 1e-3)
        for idx in train.batchIndices(batchSize: 128, shuffle: rng) {
            let x = train.batch(idx)
            let loss = mseLoss(model(x), x)
            opt.zeroGrad(); loss.backward(); opt.step()
        }
        XCTAssertLessThan(Self.testMSE(model, test), 0.0335)
    }
}
