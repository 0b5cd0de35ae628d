import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Fashion-MNIST loaded once for all variant tests.
enum FMNIST {
    static let train: Dataset = try! FashionMNIST.load(.train)
    static let test: Dataset = try! FashionMNIST.load(.test)
}

/// Builds a model of `spec` (adapted to `variant`) for Fashion-MNIST, trains it, returns both.
func trainVariant(_ spec: ArchitectureSpec, variant: VariantSpec?, epochs: Int, train: Dataset = FMNIST.train,
                  lr: Float = 1e-3, loss: LossKind = .mse, seed: UInt64 = 0, batchSize: Int = 128) throws -> (Autoencoder, Objective, Trainer) {
    let s = variant.map { Variants.adapt(spec, to: $0) } ?? spec
    let rng = RandomGenerator(seed: seed)
    let model = try Autoencoder(spec: s, inputShape: train.sampleShape, rng: rng)
    var config = TrainingConfig()
    config.epochs = epochs
    config.learningRate = lr
    config.loss = loss
    config.batchSize = batchSize
    let objective = try Variants.objective(s.variant, model: model, loss: loss, rng: rng)
    let trainer = try Trainer(model: model, objective: objective, config: config, rng: rng)
    try trainer.fit(train: train)
    model.eval()
    return (model, objective, trainer)
}

/// A dense encoder/decoder with a given code activation (for sparse and contractive tests).
func denseSpec(code: Int, activation: String) -> ArchitectureSpec {
    ArchitectureSpec(name: "dense-\(activation)",
                     encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(Double(code))]), LayerSpec(activation)],
                     decoder: [LayerSpec("linear", ["out": .number(784)]), LayerSpec("sigmoid")])
}

/// Codes of `data` in eval mode, [N, k].
func codes(_ model: Autoencoder, _ data: Dataset) -> Tensor {
    model.eval()
    return mapBatches(data) { model.encode($0) }.reshaped([data.count, -1])
}

func testMSE(_ model: Autoencoder, _ data: Dataset = FMNIST.test) throws -> Double {
    try evaluateReconstruction(model, on: data).mse
}
