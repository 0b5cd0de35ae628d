import Foundation
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
            XCTAssertEqual((e as? BottleneckError)?.field, .components, "\(e)")
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

/// `pca --compare` reports PCA's error and the model's in one unit (the model's scaled data).
final class PCAComparisonTests: XCTestCase {
    /// Correlated columns of very different scales (1 to 1000): standard scaling changes the errors a lot.
    static func table(rows: Int, seed: UInt64) -> Tensor {
        let rng = RandomGenerator(seed: seed)
        let mixed = Tensor.normal([rows, 3], rng: rng).matmul(Tensor.normal([3, 6], rng: rng)) + Tensor.normal([rows, 6], rng: rng) * 0.3
        let scales: [Float] = [1, 1000, 10, 0.1, 300, 3]
        for r in 0..<rows { for j in 0..<6 { mixed.data[r * 6 + j] = mixed.data[r * 6 + j] * scales[j] + 50 } }
        return mixed
    }

    /// The mean squared error of `r` against `x`, written out.
    func directMSE(_ r: Tensor, _ x: Tensor) -> Double {
        (0..<x.count).reduce(0.0) { $0 + (Double(r.data[$1]) - Double(x.data[$1])) * (Double(r.data[$1]) - Double(x.data[$1])) } / Double(x.count)
    }

    func testBothErrorsInTheModelsScaledUnits() throws {
        let train = Dataset(inputs: Self.table(rows: 300, seed: 1)), test = Dataset(inputs: Self.table(rows: 100, seed: 2))
        let scaler = try Scaler.fitted(.standard, to: train.inputs)
        let model = try Autoencoder(spec: try Preset.linear.spec(inputShape: [6], codeSize: 2), inputShape: [6], rng: RandomGenerator(seed: 0))
        let b = try PCABaseline(components: 2, train: train, test: test, scaler: scaler, model: model)
        XCTAssertEqual(b.scaling, .standard)
        let scaledTrain = try scaler.transform(train.inputs), scaledTest = try scaler.transform(test.inputs)
        let pca = try PCA.fit(scaledTrain, components: 2)
        let pcaMSE = directMSE(pca.decode(pca.encode(scaledTest)), scaledTest)
        let modelMSE = directMSE(withoutGradients { model(scaledTest) }, scaledTest)
        XCTAssertEqual(b.testMSE, pcaMSE, accuracy: 1e-5 * pcaMSE)
        XCTAssertEqual(try XCTUnwrap(b.modelTestMSE), modelMSE, accuracy: 1e-5 * modelMSE)
        XCTAssertEqual(try XCTUnwrap(b.modelToPCARatio), modelMSE / pcaMSE, accuracy: 1e-5 * modelMSE / pcaMSE)
        // Raw units would be off by orders of magnitude: mixing them is what the ratio must avoid.
        let raw = try PCA.fit(train.inputs, components: 2).reconstructionMSE(test.inputs)
        XCTAssertGreaterThan(raw / pcaMSE, 100)
        XCTAssertGreaterThan(b.explainedVarianceFraction, 0.5)
        XCTAssertLessThanOrEqual(b.explainedVarianceFraction, 1)
    }

    /// The command prints the two errors and their ratio in one unit, and says which.
    func testCommandOnCSVWithStandardScaling() throws {
        let dir = NSTemporaryDirectory() + "bn-pca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func csv(_ t: Tensor, _ name: String) throws {
            var lines = ["a,b,c,d,e,f"]
            for r in 0..<t.shape[0] { lines.append((0..<6).map { "\(t.data[r * 6 + $0])" }.joined(separator: ",")) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let trainTable = Self.table(rows: 300, seed: 1), testTable = Self.table(rows: 100, seed: 2)
        try csv(trainTable, "train.csv")
        try csv(testTable, "test.csv")
        // The CSV's text round trip: measure on what the command reads.
        let train = try DataSource.load(DataRequest(path: dir + "/train.csv"), split: .train)
        let test = try DataSource.load(DataRequest(path: dir + "/test.csv"), split: .test)
        let scaler = try Scaler.fitted(.standard, to: train.inputs)
        let model = try Autoencoder(spec: try Preset.linear.spec(inputShape: [6], codeSize: 2), inputShape: [6], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: model, scaler: scaler).save(to: dir + "/m.safetensors")
        let r = try runCLI(["pca", "--data", "train.csv", "--test-data", "test.csv", "-k", "2", "--compare", "m.safetensors"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("standard-scaled units"), r.out)
        func number(after prefix: String, in line: Substring) -> Double? {
            guard let range = line.range(of: prefix) else { return nil }
            return Double(line[range.upperBound...].prefix { "0123456789.e-".contains($0) })
        }
        let lines = r.out.split(separator: "\n")
        let pcaMSE = try XCTUnwrap(lines.first { $0.hasPrefix("PCA") }.flatMap { number(after: "test MSE ", in: $0) })
        let modelLine = try XCTUnwrap(lines.first { $0.hasPrefix("model") })
        let modelMSE = try XCTUnwrap(number(after: "test MSE ", in: modelLine))
        let percent = try XCTUnwrap(number(after: "(", in: modelLine[modelLine.range(of: "units")!.upperBound...]))
        let scaledTest = try scaler.transform(test.inputs)
        let pca = try PCA.fit(try scaler.transform(train.inputs), components: 2)
        let directPCA = directMSE(pca.decode(pca.encode(scaledTest)), scaledTest)
        let directModel = directMSE(withoutGradients { model(scaledTest) }, scaledTest)
        XCTAssertEqual(pcaMSE, directPCA, accuracy: 1e-6 + 1e-5 * directPCA)
        XCTAssertEqual(modelMSE, directModel, accuracy: 1e-6 + 1e-5 * directModel)
        XCTAssertEqual(percent, 100 * directModel / directPCA, accuracy: 0.06 + 1e-4 * 100 * directModel / directPCA)
    }
}
