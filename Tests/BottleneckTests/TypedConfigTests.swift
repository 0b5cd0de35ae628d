import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Typed configuration: optimizer, loss, schedule and variant are decoded once into enums, and an
/// unknown key or value is an error naming it (and the file) instead of a silent default. Library
/// errors carry the field, which the command line names by its flag.
final class TypedConfigTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-config" }

    func write(_ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    // MARK: Training configuration

    func testUnknownOptimizerIsRefusedWhenDecoding() {
        let text = #"{"epochs": 3, "optimizer": "rmsprop"}"#
        assertBottleneckError(["m.safetensors (training)", "optimizer 'rmsprop' is not known", "adam, adamw, sgd"]) {
            _ = try decodeJSON(TrainingConfig.self, text, source: "m.safetensors (training)")
        }
        assertBottleneckError(["training configuration key 'lerningRate' is not known", "learningRate"]) {
            _ = try decodeJSON(TrainingConfig.self, #"{"lerningRate": 0.1}"#, source: "t")
        }
        assertBottleneckError(["loss 'hinge' is not known", "bce-logits"]) {
            _ = try decodeJSON(TrainingConfig.self, #"{"loss": "hinge"}"#, source: "t")
        }
        assertBottleneckError(["nesterov applies to sgd only"]) {
            _ = try decodeJSON(TrainingConfig.self, #"{"optimizer": "adam", "nesterov": true}"#, source: "t")
        }
    }

    /// A training document as format version 1 wrote it (every key, a momentum even for Adam)
    /// still loads, to the same run.
    func testFormatOneTrainingDocumentsStillLoad() throws {
        let adam = try decodeJSON(TrainingConfig.self, #"{"batchSize":64,"epochs":3,"learningRate":0.003,"loss":"bce","momentum":0.9,"optimizer":"adam","schedule":"cosine","seed":7,"validationFraction":0.1,"weightDecay":0}"#, source: "t")
        var expected = TrainingConfig()
        expected.batchSize = 64
        expected.epochs = 3
        expected.learningRate = 0.003
        expected.loss = .bce
        expected.schedule = .cosine(period: nil, minimum: 0)
        expected.seed = 7
        expected.validationFraction = 0.1
        XCTAssertEqual(adam, expected)
        let sgd = try decodeJSON(TrainingConfig.self, #"{"batchSize":128,"epochs":5,"learningRate":0.1,"loss":"mse","momentum":0.5,"optimizer":"sgd","seed":0,"validationFraction":0,"weightDecay":0.01,"clipNorm":1}"#, source: "t")
        XCTAssertEqual(sgd.optimizer, .sgd(momentum: 0.5, nesterov: false, weightDecay: 0.01))
        XCTAssertEqual(sgd.clipNorm, 1)
    }

    func testTrainingConfigRoundTripsThroughJSON() throws {
        let optimizers: [OptimizerChoice] = [.adam(), .adam(weightDecay: 1e-4), .adamw(weightDecay: 0.01),
                                             .sgd(), .sgd(momentum: 0.8, nesterov: true, weightDecay: 5e-4)]
        for optimizer in optimizers {
            var c = TrainingConfig()
            c.optimizer = optimizer
            c.schedule = .warmup(steps: 100, then: .cosine(period: 20, minimum: 1e-5))
            c.clipNorm = 2.5
            c.patience = 3
            c.loss = .bceLogits
            c.seed = UInt64.max - 3
            let text = try jsonString(c)
            XCTAssertEqual(try decodeJSON(TrainingConfig.self, text, source: "t"), c, text)
        }
        // Momentum is written only where it means something.
        XCTAssertFalse(try jsonString(TrainingConfig()).contains("momentum"))
    }

    func testOptimizerChoiceBuildsItsOptimizer() throws {
        let p = [Tensor.zeros([3])]
        let sgd = try XCTUnwrap(OptimizerChoice.sgd(momentum: 0.7, nesterov: true, weightDecay: 0.1).make(p, learningRate: 0.5) as? SGD)
        XCTAssertEqual([sgd.momentum, sgd.weightDecay, sgd.learningRate], [0.7, 0.1, 0.5])
        XCTAssertTrue(sgd.nesterov)
        let adamw = try XCTUnwrap(OptimizerChoice.adamw(weightDecay: 0.02).make(p, learningRate: 1e-3) as? Adam)
        XCTAssertTrue(adamw.decoupledWeightDecay)
        XCTAssertEqual(adamw.weightDecay, 0.02)
        let adam = try XCTUnwrap(OptimizerChoice.adam(weightDecay: 0.03).make(p, learningRate: 1e-3) as? Adam)
        XCTAssertFalse(adam.decoupledWeightDecay)
        XCTAssertThrowsError(try OptimizerChoice(.adam, momentum: 0.5)) { XCTAssertEqual(($0 as? BottleneckError)?.field, .momentum) }
        XCTAssertThrowsError(try OptimizerChoice.sgd(momentum: 0, nesterov: true).validate()) {
            XCTAssertEqual(($0 as? BottleneckError)?.field, .nesterov)
        }
    }

    /// A library error names the field; a front end renames it (the CLI passes its flag names).
    func testErrorsCarryTheirField() {
        var c = TrainingConfig()
        c.learningRate = -1
        XCTAssertThrowsError(try c.validate()) { error in
            let e = error as! BottleneckError
            XCTAssertEqual(e.field, .learningRate)
            XCTAssertEqual(e.message, "learningRate must be a positive number, got -1.0")
            XCTAssertEqual(e.message(naming: { $0 == .learningRate ? "--lr" : "?" }), "--lr must be a positive number, got -1.0")
        }
        c = TrainingConfig()
        c.batchSize = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssertEqual(($0 as? BottleneckError)?.field, .batchSize) }
        XCTAssertThrowsError(try LearningRateSchedule(parsing: "cosine:x")) { XCTAssertEqual(($0 as? BottleneckError)?.field, .schedule) }
        XCTAssertThrowsError(try NoiseModel(parsing: "gaussian:-1")) { XCTAssertEqual(($0 as? BottleneckError)?.field, .noise) }
        XCTAssertThrowsError(try LatentPrior(parsing: "mixture:1")) { XCTAssertEqual(($0 as? BottleneckError)?.field, .prior) }
        // An error that is not about a field reads the same for everyone.
        XCTAssertEqual(BottleneckError("x.csv: row 2").message(naming: { _ in "--nope" }), "x.csv: row 2")
    }

    // MARK: Architecture files

    func testUnknownLayerKeyIsRefusedNamingLayerKeyAndFile() {
        let path = write("bad.json", #"{"name": "b", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 8, "bais": false}], "decoder": [{"type": "linear", "out": 784}]}"#)
        assertBottleneckError([path, "encoder layer 1 (linear)", "unknown key 'bais'", "known: in, out, bias"]) {
            _ = try ArchitectureSpec.load(path: path)
        }
        let dec = write("dec.json", #"{"name": "b", "encoder": [{"type": "flatten"}], "decoder": [{"type": "unflatten", "shape": [1, 28, 28]}, {"type": "relu", "slope": 0.1}]}"#)
        assertBottleneckError([dec, "decoder layer 1 (relu)", "unknown key 'slope'", "it takes none"]) {
            _ = try ArchitectureSpec.load(path: dec)
        }
        let top = write("top.json", #"{"name": "b", "encoder": [], "decodr": []}"#)
        assertBottleneckError([top, "architecture key 'decodr' is not known"]) { _ = try ArchitectureSpec.load(path: top) }
    }

    /// A spec made in Swift is checked too, when the model is built.
    func testUnknownLayerKeyIsRefusedWhenBuilding() {
        let spec = ArchitectureSpec(name: "s", encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(4), "outt": .number(3)])],
                                    decoder: [LayerSpec("linear", ["out": .number(6)])])
        assertBottleneckError(["encoder layer 1 (linear)", "unknown key 'outt'"]) {
            _ = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 0))
        }
    }

    /// Every preset, adapted to every variant, and the README's example use only keys the
    /// factory knows, so existing architecture and model files keep loading.
    func testPresetsAndReadmeExampleUseOnlyKnownKeys() throws {
        let shapes: [Preset: [Int]] = [.lstm: [24, 3], .resnet: [3, 32, 32]]
        let variants: [VariantSpec] = [.plain, VariantSpec(.vae()), VariantSpec(.aae()), VariantSpec(.sparse(.kl()))]
        for preset in Preset.allCases {
            let spec = try preset.spec(inputShape: shapes[preset] ?? [1, 28, 28])
            for v in variants {
                let adapted = Variants.adapt(spec, to: v)
                XCTAssertEqual(try decodeJSON(ArchitectureSpec.self, try jsonString(adapted), source: "\(preset)"), adapted, "\(preset) \(v.kind.name)")
            }
        }
        let readme = write("small-conv.json", """
            {"name": "small-conv",
             "encoder": [{"type": "conv2d", "out": 8, "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
                         {"type": "flatten"}, {"type": "linear", "out": 16}],
             "decoder": [{"type": "linear", "out": 1568}, {"type": "relu"}, {"type": "unflatten", "shape": [8, 14, 14]},
                         {"type": "conv_transpose2d", "out": 1, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
                         {"type": "sigmoid"}]}
            """)
        let model = try Autoencoder(spec: try ArchitectureSpec.load(path: readme), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        XCTAssertEqual(model.codeShape, [16])
    }

    // MARK: Variants

    func testUnknownVariantOptionIsRefusedNamingKeyAndFile() {
        let arch = #"{"name": "v", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 8}], "decoder": [{"type": "linear", "out": 784}], "variant": "#
        let path = write("my.json", arch + #"{"kind": "vae", "options": {"betta": 2}}}"#)
        assertBottleneckError([path + ": variant option 'betta' is not known for vae (known: beta, warmup_steps, likelihood, consistency)"]) {
            _ = try ArchitectureSpec.load(path: path)
        }
        let value = write("value.json", arch + #"{"kind": "vae", "options": {"likelihood": "poisson"}}}"#)
        assertBottleneckError([value, "'likelihood'", "bernoulli or gaussian", "'poisson'"]) { _ = try ArchitectureSpec.load(path: value) }
        let kind = write("kind.json", arch + #"{"kind": "vea"}}"#)
        assertBottleneckError([kind, "variant 'vea' is not known", "vae"]) { _ = try ArchitectureSpec.load(path: kind) }
        let range = write("range.json", arch + #"{"kind": "sparse", "options": {"penalty": "kl", "rate": 1.5}}}"#)
        assertBottleneckError([range, "variant option 'rate' must be in (0, 1), got 1.5"]) { _ = try ArchitectureSpec.load(path: range) }
        let noise = write("noise.json", arch + #"{"kind": "denoising", "options": {"noise": "gaussian:abc"}}}"#)
        assertBottleneckError([noise, "gaussian:abc"]) { _ = try ArchitectureSpec.load(path: noise) }
        // A knob of another variant is refused rather than ignored.
        XCTAssertThrowsError(try VariantSpec(kind: "denoising", options: ["beta": .number(2)])) {
            XCTAssertEqual(($0 as? BottleneckError)?.field, .variantOption("beta"))
        }
    }

    func testEveryVariantRoundTripsThroughJSON() throws {
        let variants: [VariantSpec] = [
            .plain, VariantSpec(.plain, consistency: 0.02),
            VariantSpec(.denoising(noise: .gaussian(sigma: 0.25))), VariantSpec(.denoising(noise: .saltAndPepper(fraction: 0.1))),
            VariantSpec(.denoising(noise: .masking(fraction: 0.3))), VariantSpec(.denoising(noise: .occlusion(minSide: 0.2, maxSide: 0.5))),
            VariantSpec(.sparse(.l1(weight: 3e-4))), VariantSpec(.sparse(.kl(rate: 0.1, weight: 0.02)), consistency: 0.5),
            VariantSpec(.contractive(weight: 0.01, sigma: 0.05, method: .stochastic)),
            VariantSpec(.vae(beta: 4, warmupSteps: 1000, likelihood: .gaussian)),
            VariantSpec(.aae(AdversarialSettings(prior: .mixture(components: 5), hidden: 32, learningRate: 1e-4, weight: 0.1, discriminatorSteps: 2))),
            VariantSpec(.colorize(keepLuma: false)),
            VariantSpec(.unwatermark(WatermarkSettings(text: "DRAFT", opacity: 0.5...0.5, scale: 2, value: 0))),
        ]
        for v in variants {
            let text = try jsonString(v)
            XCTAssertEqual(try decodeJSON(VariantSpec.self, text, source: "t"), v, text)
            XCTAssertEqual(try VariantSpec(kind: v.kind.name, options: v.options), v, text)
        }
    }

    /// Variant documents as format 1 wrote them (only the options the user gave) still load,
    /// with the same defaults as before.
    func testFormatOneVariantDocumentsStillLoad() throws {
        func decode(_ text: String) throws -> VariantSpec { try decodeJSON(VariantSpec.self, text, source: "t") }
        XCTAssertEqual(try decode(#"{"kind":"sparse","options":{"penalty":"kl"}}"#), VariantSpec(.sparse(.kl(rate: 0.05, weight: 0.01))))
        XCTAssertEqual(try decode(#"{"kind":"sparse","options":{}}"#), VariantSpec(.sparse(.l1(weight: 1e-4))))
        XCTAssertEqual(try decode(#"{"kind":"aae","options":{"prior":"mixture:4"}}"#),
                       VariantSpec(.aae(AdversarialSettings(prior: .mixture(components: 4), hidden: 64, learningRate: 2e-4, weight: 0.05, discriminatorSteps: 1))))
        XCTAssertEqual(try decode(#"{"kind":"denoising","options":{}}"#), VariantSpec(.denoising(noise: .gaussian(sigma: 0.3))))
        XCTAssertEqual(try decode(#"{"kind":"plain","options":{"consistency":0.5}}"#), VariantSpec(.plain, consistency: 0.5))
        XCTAssertEqual(try decode(#"{"kind":"unwatermark","options":{"opacity":"0.3-0.7","text":"SAMPLE"}}"#), VariantSpec(.unwatermark()))
    }

    /// Format-1 model files stored every variant flag given, whatever the variant; those knobs
    /// (ignored then) are dropped when a model file is read, while architecture files stay strict
    /// and names no variant reads stay errors everywhere.
    func testModelFilesWithAnotherVariantsKnobStillLoad() throws {
        let formatOne: [CodingUserInfoKey: Any] = [VariantSpec.formatOneOptions: true]
        let stale = #"{"kind":"denoising","options":{"noise":"mask:0.2","beta":2,"weight":0.1}}"#
        XCTAssertEqual(try decodeJSON(VariantSpec.self, stale, source: "m", userInfo: formatOne), VariantSpec(.denoising(noise: .masking(fraction: 0.2))))
        XCTAssertThrowsError(try decodeJSON(VariantSpec.self, stale, source: "m"))
        XCTAssertEqual(try decodeJSON(VariantSpec.self, #"{"kind":"sparse","options":{"rate":0.1,"weight":0.001}}"#, source: "m", userInfo: formatOne),
                       VariantSpec(.sparse(.l1(weight: 0.001))))
        assertBottleneckError(["m: variant option 'betta' is not known"]) {
            _ = try decodeJSON(VariantSpec.self, #"{"kind":"vae","options":{"betta":2}}"#, source: "m", userInfo: formatOne)
        }
        // Through TrainedModel.load, which reads model files that way.
        let spec = ArchitectureSpec(name: "d", encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(4)])],
                                    decoder: [LayerSpec("linear", ["out": .number(6)])], variant: VariantSpec(.denoising()))
        let model = try Autoencoder(spec: spec, inputShape: [6], rng: RandomGenerator(seed: 0))
        let path = dir + "/stale.safetensors"
        try TrainedModel(model: model).save(to: path)
        let file = try SafeTensors.read(path)
        var meta = file.metadata
        meta["architecture"] = try XCTUnwrap(meta["architecture"]).replacingOccurrences(of: #""noise":"gaussian:0.3""#, with: #""noise":"gaussian:0.3","beta":2"#)
        XCTAssertTrue(meta["architecture"]!.contains("beta"))
        try SafeTensors(tensors: file.names.map { ($0, file.tensors[$0]!) }, metadata: meta).write(to: path)
        XCTAssertEqual(try TrainedModel.load(path).architecture.variant, VariantSpec(.denoising()))
    }

    // MARK: Every optimizer step goes through the trainer

    /// A small AAE on random data: 64 samples of 6 values, code of 2.
    func aae(discriminatorSteps: Int, config: TrainingConfig) throws -> (Trainer, AdversarialObjective, Dataset) {
        let rng = RandomGenerator(seed: 3)
        let spec = ArchitectureSpec(name: "aae", encoder: [LayerSpec("linear", ["out": .number(2)])],
                                    decoder: [LayerSpec("linear", ["out": .number(6)]), LayerSpec("sigmoid")],
                                    variant: VariantSpec(.aae(AdversarialSettings(hidden: 8, discriminatorSteps: discriminatorSteps))))
        let model = try Autoencoder(spec: spec, inputShape: [6], rng: rng)
        let objective = try XCTUnwrap(try Variants.objective(spec.variant, model: model, loss: .mse, rng: rng) as? AdversarialObjective)
        let trainer = try Trainer(model: model, objective: objective, config: config, rng: rng)
        return (trainer, objective, Dataset(inputs: Tensor.uniform([64, 6], rng: RandomGenerator(seed: 4))))
    }

    func globalNorm(_ parameters: [Tensor]) -> Double {
        parameters.compactMap { p in p.grad.map { g in (0..<p.count).reduce(0.0) { $0 + Double(g[$1]) * Double(g[$1]) } } }.reduce(0, +).squareRoot()
    }

    func ids(_ parameters: [Tensor]) -> [ObjectIdentifier] { parameters.map(ObjectIdentifier.init) }

    /// The gradient hook sees the discriminator's parameters at each of its steps, as it sees
    /// the model's (where distributed training all-reduces), and clipping applies to both.
    func testAdversarialDiscriminatorStepsGoThroughHookAndClipping() throws {
        var config = TrainingConfig()
        config.epochs = 1
        config.batchSize = 16
        config.clipNorm = 0.01
        let (trainer, objective, data) = try aae(discriminatorSteps: 2, config: config)
        let modelIDs = ids(trainer.model.parameters), discriminatorIDs = ids(objective.discriminator.parameters)
        var calls: [String] = [], largestBeforeClipping: [String: Double] = [:]
        trainer.gradientHook = { parameters in
            let name = self.ids(parameters) == modelIDs ? "model" : self.ids(parameters) == discriminatorIDs ? "discriminator" : "other"
            calls.append(name)
            largestBeforeClipping[name] = max(largestBeforeClipping[name] ?? 0, self.globalNorm(parameters))
        }
        try trainer.fit(train: data)
        // 4 batches, each: the model's step, then two discriminator steps.
        XCTAssertEqual(calls, Array(repeating: ["model", "discriminator", "discriminator"], count: 4).flatMap { $0 })
        // The hook saw gradients larger than the clip norm; the last steps' gradients were clipped.
        XCTAssertGreaterThan(largestBeforeClipping["model"]!, 0.01)
        XCTAssertGreaterThan(largestBeforeClipping["discriminator"]!, 0.01)
        XCTAssertLessThanOrEqual(globalNorm(trainer.model.parameters), 0.01 * 1.0001)
        XCTAssertLessThanOrEqual(globalNorm(objective.discriminator.parameters), 0.01 * 1.0001)
    }

    /// The learning-rate schedule scales the discriminator's own base rate (2e-4) too.
    func testScheduleAppliesToDiscriminator() throws {
        var config = TrainingConfig()
        config.epochs = 1
        config.batchSize = 64
        config.schedule = .warmup(steps: 10, then: .constant)
        let (trainer, objective, data) = try aae(discriminatorSteps: 1, config: config)
        try trainer.fit(train: data)  // one batch: step 0 of the warm-up, rate x 1/10
        XCTAssertEqual(trainer.optimizer.learningRate, 1e-4, accuracy: 1e-9)
        XCTAssertEqual(objective.discriminatorOptimizer.learningRate, 2e-5, accuracy: 1e-10)
    }

    /// A resumed AAE run (weights, discriminator and its optimizer, generator) gives the same
    /// bits as an uninterrupted one.
    func testAdversarialResumeGivesTheSameWeights() throws {
        var config = TrainingConfig()
        config.epochs = 2
        config.batchSize = 16
        let (whole, wholeObjective, data) = try aae(discriminatorSteps: 2, config: config)
        try whole.fit(train: data)
        var first = config
        first.epochs = 1
        let (half, _, _) = try aae(discriminatorSteps: 2, config: first)
        try half.fit(train: data)
        let tensors = Dictionary(uniqueKeysWithValues: half.checkpointTensors.map { ($0.0, $0.1.copy()) })
        let (resumed, resumedObjective, _) = try aae(discriminatorSteps: 2, config: config)
        try resumed.restore(tensors: tensors, state: half.checkpointState, source: "checkpoint")
        try resumed.fit(train: data)
        for ((name, a), (_, b)) in zip(whole.checkpointTensors, resumed.checkpointTensors) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(wholeObjective.discriminator.parameters.flatMap(\.scalars), resumedObjective.discriminator.parameters.flatMap(\.scalars))
    }
}
