import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

final class TrainingTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-train" }

    /// A small real slice of Fashion-MNIST keeps these tests quick.
    static let slice: Dataset = {
        let train = try! FashionMNIST.load(.train)
        return train.subset(Array(0..<1500))
    }()

    func session(_ out: String, epochs: Int, resume: Bool = false, preset: Preset = .dense, lr: Float = 1e-3) throws -> TrainingSession {
        var config = TrainingConfig()
        config.epochs = epochs
        config.batchSize = 64
        config.seed = 7
        config.learningRate = lr
        config.validationFraction = 0.1
        var request = TrainingRequest(outputPath: out, architecture: try preset.spec(inputShape: [1, 28, 28]), config: config)
        request.resume = resume
        return try TrainingSession(request, data: Self.slice) { _, c, _ in ReconstructionObjective(loss: c.loss) }
    }

    func split() -> (Dataset, Dataset) { Self.slice.split(validationFraction: 0.1, rng: RandomGenerator(seed: 1)) }

    func testSameSeedSameWeightsAndLosses() throws {
        let a = try session(dir + "/a.safetensors", epochs: 2), b = try session(dir + "/b.safetensors", epochs: 2)
        try a.run()
        try b.run()
        XCTAssertEqual(a.trainer.history.map(\.trainLoss), b.trainer.history.map(\.trainLoss))
        for ((n, x), (_, y)) in zip(a.trainer.model.stateDict(), b.trainer.model.stateDict()) {
            XCTAssertEqual(x.scalars, y.scalars, n)
        }
    }

    /// 2 epochs straight and 1 + 1 with a resume between give identical weights.
    func testResumeGivesIdenticalWeights() throws {
        let straight = try session(dir + "/straight.safetensors", epochs: 2)
        try straight.run()

        let first = try session(dir + "/resumed.safetensors", epochs: 1)
        try first.run()
        let second = try session(dir + "/resumed.safetensors", epochs: 2, resume: true)
        XCTAssertEqual(second.trainer.epochsDone, 1)
        try second.run()

        XCTAssertEqual(straight.trainer.history.map(\.trainLoss), second.trainer.history.map(\.trainLoss))
        for ((n, x), (_, y)) in zip(straight.trainer.model.stateDict(), second.trainer.model.stateDict()) {
            XCTAssertEqual(x.scalars, y.scalars, "\(n) differs after resume")
        }
        let log = try String(contentsOfFile: dir + "/resumed.safetensors.log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 2, "one JSONL line per epoch")
    }

    func testModelFileRoundTripGivesSameOutputs() throws {
        let s = try session(dir + "/m.safetensors", epochs: 1)
        try s.run()
        let loaded = try TrainedModel.load(dir + "/m.safetensors")
        XCTAssertEqual(loaded.architecture, s.trainer.model.spec)
        XCTAssertEqual(loaded.training, s.trainer.config)
        s.trainer.model.eval()
        let x = s.validation!.inputs.rows(0, 8)
        XCTAssertEqual(withoutGradients { loaded.model(x).scalars }, withoutGradients { s.trainer.model(x).scalars })
    }

    func testDivergenceStopsAndKeepsLastGoodCheckpoint() throws {
        let s = try session(dir + "/d.safetensors", epochs: 1)
        try s.run()
        let before = try Data(contentsOf: URL(fileURLWithPath: s.checkpointPath))
        let bad = try session(dir + "/d.safetensors", epochs: 3, resume: true)
        // Poison the output bias: the next forward pass gives a non-finite loss.
        bad.trainer.model.parameters.last!.data[0] = .nan
        XCTAssertThrowsError(try bad.run()) { e in
            XCTAssertTrue("\(e)".contains("diverged"), "\(e)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: s.checkpointPath)), before, "checkpoint untouched")
    }

    func testEarlyStoppingStopsBeforeEpochLimit() throws {
        let (train, val) = split()
        var config = TrainingConfig()
        config.epochs = 50
        config.patience = 1
        config.learningRate = 0.5   // too high to keep improving: validation stalls quickly
        config.batchSize = 256
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 1))
        let t = try Trainer(model: model, objective: ReconstructionObjective(), config: config, rng: RandomGenerator(seed: 1))
        try t.fit(train: train, validation: val)
        XCTAssertLessThan(t.epochsDone, 50)
        XCTAssertEqual(t.epochsSinceBest, 1)
    }

    func testGradientHookRunsBetweenBackwardAndStep() throws {
        let (train, _) = split()
        var config = TrainingConfig()
        config.epochs = 1
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 1))
        let before = model.parameters[0].copy()
        let t = try Trainer(model: model, objective: ReconstructionObjective(), config: config, rng: RandomGenerator(seed: 1))
        var calls = 0
        t.gradientHook = { params in
            calls += 1
            XCTAssertTrue(params.allSatisfy { $0.grad != nil }, "gradients are ready")
            for p in params { p.zeroGrad() }  // an all-reduce could rewrite them; here: drop them
        }
        try t.fit(train: train)
        XCTAssertEqual(calls, train.batchIndices(batchSize: 128, shuffle: nil).count)
        XCTAssertEqual(model.parameters[0].scalars, before.scalars, "no gradient left, so the step changed nothing")
    }

    func testModelRejectsDataOfAnotherShape() throws {
        let model = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 1))
        let t = try Trainer(model: model, objective: ReconstructionObjective(), config: TrainingConfig(), rng: RandomGenerator(seed: 1))
        let wrong = Dataset(inputs: Tensor.zeros([4, 1, 14, 14]), source: "small.npy")
        XCTAssertThrowsError(try t.fit(train: wrong)) { e in
            XCTAssertEqual("\(e)", "small.npy: samples of shape [1, 14, 14] do not fit model 'dense' (input [1, 28, 28])")
        }
    }

    func testArchitectureFileErrorsNameTheLayer() throws {
        let unknown = ArchitectureSpec(name: "x", encoder: [LayerSpec("flatten"), LayerSpec("lineer", ["out": .number(3)])], decoder: [LayerSpec("identity")])
        XCTAssertThrowsError(try Autoencoder(spec: unknown, inputShape: [4], rng: RandomGenerator(seed: 0))) { e in
            XCTAssertTrue("\(e)".hasPrefix("encoder layer 1: unknown layer type 'lineer'"), "\(e)")
        }
        let mismatch = ArchitectureSpec(name: "x", encoder: [LayerSpec("linear", ["in": .number(5), "out": .number(3)])], decoder: [LayerSpec("identity")])
        XCTAssertThrowsError(try Autoencoder(spec: mismatch, inputShape: [4], rng: RandomGenerator(seed: 0))) { e in
            XCTAssertTrue("\(e)".contains("encoder layer 0 (linear)"), "\(e)")
        }
        let badDecoder = ArchitectureSpec(name: "x", encoder: [LayerSpec("linear", ["out": .number(3)])], decoder: [LayerSpec("linear", ["out": .number(5)])])
        XCTAssertThrowsError(try Autoencoder(spec: badDecoder, inputShape: [4], rng: RandomGenerator(seed: 0))) { e in
            XCTAssertTrue("\(e)".contains("decoder output [5] does not match input [4]"), "\(e)")
        }
        XCTAssertThrowsError(try decodeJSON(ArchitectureSpec.self, #"{"name":"x","encoder":[{"out":3}],"decoder":[]}"#, source: "arch.json")) { e in
            XCTAssertTrue("\(e)".hasPrefix("arch.json:"), "\(e)")
        }
    }
}
