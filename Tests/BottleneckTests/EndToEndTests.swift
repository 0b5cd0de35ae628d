import XCTest
@testable import Bottleneck

/// The tiny end-to-end check of the core: a 784-32-784 autoencoder trained for one epoch on
/// Fashion-MNIST with Adam reaches a test MSE below 0.030 (PyTorch's reference: 0.0292).
final class EndToEndTests: XCTestCase {
    func testDenseAutoencoderOneEpochOnFashionMNIST() throws {
        let train = try FashionMNIST.load(.train), test = try FashionMNIST.load(.test)
        let rng = RandomGenerator(seed: UInt64(ProcessInfo.processInfo.environment["SEED"] ?? "0")!)
        let model = Sequential(Flatten(), Linear(784, 32, rng: rng), ReLU(), Linear(32, 784, rng: rng), Sigmoid(), Unflatten([1, 28, 28]))
        let opt = Adam(parameters: model.parameters, learningRate: 1e-3)
        var firstLoss: Float = 0
        for (k, idx) in train.batchIndices(batchSize: 128, shuffle: rng).enumerated() {
            let x = train.batch(idx)
            let loss = mseLoss(model(x), x)
            if k == 0 { firstLoss = loss.item }
            opt.zeroGrad()
            loss.backward()
            opt.step()
        }
        model.eval()
        var se: Double = 0
        withoutGradients {
            for x in test.sequentialBatches(size: 1000) { se += Double(mseLoss(model(x), x, reduction: .sum).item) }
        }
        let testMSE = se / Double(test.inputs.count)
        print("MSE", testMSE); XCTAssertLessThan(testMSE, 0.030, "test MSE after one epoch")
        XCTAssertLessThan(Float(testMSE), firstLoss / 3)
    }
}
