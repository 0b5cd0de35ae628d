import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

final class PCATests: XCTestCase {
    /// Data on a known 2-D subspace: two components reconstruct it exactly, one does not.
    func testRecoversKnownSubspace() throws {
        let rng = RandomGenerator(seed: 3)
        let basis = Tensor.normal([2, 6], rng: rng), coeff = Tensor.normal([200, 2], rng: rng)
        let data = coeff.matmul(basis) + Tensor([1, 2, 3, 4, 5, 6])
        let pca2 = try PCA.fit(data, components: 2)
        XCTAssertLessThan(pca2.reconstructionMSE(data), 1e-8)
        XCTAssertGreaterThan(try PCA.fit(data, components: 1).reconstructionMSE(data), 1e-3)
        let gram = pca2.components.matmul(pca2.components.transposed())
        assertClose(gram, Tensor(shape: [2, 2], values: [1, 0, 0, 1]), tol: 1e-4, "orthonormal components")
        XCTAssertGreaterThanOrEqual(pca2.explainedVariance[0], pca2.explainedVariance[1])
    }

    /// On Fashion-MNIST, PCA's test MSE matches the reference's numbers (shared/peers: k=16 0.0204).
    func testFashionMNISTMatchesReferencePCA() throws {
        let train = try FashionMNIST.load(.train), test = try FashionMNIST.load(.test)
        let pca = try PCA.fit(train.inputs.flattened(), components: 16)
        XCTAssertEqual(pca.reconstructionMSE(test.inputs.flattened()), 0.0204, accuracy: 0.0003)
    }

    func testRejectsBadComponentCount() {
        XCTAssertThrowsError(try PCA.fit(Tensor.zeros([5, 3]), components: 4)) { e in
            XCTAssertTrue("\(e)".contains("--components"))
        }
    }
}

final class LinearAutoencoderTests: XCTestCase {
    /// A linear autoencoder with a 16-value code reaches PCA's optimum (16 components) within 3%.
    func testLinearAutoencoderMatchesPCA() throws {
        let pca = try PCA.fit(FMNIST.train.inputs.flattened(), components: 16)
        let optimum = pca.reconstructionMSE(FMNIST.test.inputs.flattened())
        var config = TrainingConfig()
        config.epochs = 20
        config.learningRate = 3e-3
        config.schedule = .cosine(period: nil, minimum: 0)
        let rng = RandomGenerator(seed: 0)
        let model = try Autoencoder(spec: try Preset.linear.spec(inputShape: [1, 28, 28], codeSize: 16), inputShape: [1, 28, 28], rng: rng)
        try Trainer(model: model, objective: ReconstructionObjective(), config: config, rng: rng).fit(train: FMNIST.train)
        let mse = try evaluateReconstruction(model, on: FMNIST.test).mse
        print("[linear] test MSE \(mse), PCA k=16 \(optimum)")
        XCTAssertLessThanOrEqual(mse, optimum * 1.03)
        XCTAssertGreaterThanOrEqual(mse, optimum * 0.999, "PCA is the optimum")
    }
}
