import ArgumentParser
import Bottleneck
import Foundation

struct ModelChoice: ParsableArguments {
    @Option(name: .long, help: "Preset architecture: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")) (default: conv for images, dense otherwise).")
    var preset: String?

    @Option(name: .long, help: "Architecture file (JSON) listing encoder and decoder layers, instead of a preset.")
    var arch: String?

    @Option(name: .long, help: "Size of the code (the bottleneck), for presets.")
    var codeSize: Int?

    @Flag(name: .long, help: "Drop the activation on a preset's code (better codes for search and compression).")
    var linearCode = false

    /// The spec for data of per-sample `shape`.
    func spec(for shape: [Int]) throws -> ArchitectureSpec {
        if preset != nil && arch != nil { throw BottleneckError("give --preset or --arch, not both") }
        if let codeSize, codeSize < 1 { throw BottleneckError("--code-size must be at least 1, got \(codeSize)") }
        if let arch {
            if linearCode { throw BottleneckError("--linear-code applies to presets; with --arch, remove the code's activation in \(arch)") }
            return try ArchitectureSpec.load(path: arch)
        }
        let name = preset ?? (shape.count == 3 ? "conv" : "dense")
        let spec = try Preset.named(name).spec(inputShape: shape, codeSize: codeSize)
        return linearCode ? spec.withLinearCode() : spec
    }
}

struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: "Epochs to train (a resumed run continues up to this count).") var epochs = 5
    @Option(name: [.customLong("batch-size"), .customShort("b")], help: "Samples per batch.") var batchSize = 128
    @Option(name: .long, help: "Learning rate.") var lr: Float = 1e-3
    @Option(name: .long, help: "Optimizer: adam, adamw or sgd.") var optimizer = "adam"
    @Option(name: .long, help: "SGD momentum.") var momentum: Float = 0.9
    @Option(name: .long, help: "Weight decay (L2 for adam/sgd, decoupled for adamw).") var weightDecay: Float = 0
    @Option(name: .long, help: "Learning-rate schedule: constant, step:K[:GAMMA], cosine[:T[:MIN]], warmup:W[+...].") var schedule: String?
    @Option(name: .long, help: "Clip gradients to this global L2 norm.") var clipNorm: Float?
    @Option(name: .long, help: "Reconstruction loss: mse, l1, rmse, bce, bce-logits.") var loss = "mse"
    @Option(name: .long, help: "Seed for weights, shuffling and noise.") var seed: UInt64 = 0
    @Option(name: .long, help: "Fraction of the training data held out for validation.") var validation = 0.0
    @Option(name: .long, help: "Early stopping: epochs without validation improvement (holds out 10% if --validation is 0).") var patience: Int?

    func config() throws -> TrainingConfig {
        var c = TrainingConfig()
        c.epochs = epochs
        c.batchSize = batchSize
        c.learningRate = lr
        c.optimizer = optimizer.lowercased()
        c.momentum = momentum
        c.weightDecay = weightDecay
        c.schedule = try schedule.map { try LearningRateSchedule(parsing: $0) }
        c.clipNorm = clipNorm
        guard let l = LossKind(rawValue: loss.lowercased()) else {
            throw BottleneckError("--loss must be one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(loss)'")
        }
        c.loss = l
        c.seed = seed
        c.validationFraction = patience != nil && validation == 0 ? 0.1 : validation
        c.patience = patience
        try c.validate()
        return c
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an autoencoder and save it as a safetensors model file.",
        discussion: """
        Examples:
          bottleneck train --preset dense --epochs 5 --output dense.safetensors
          bottleneck train --preset conv --data images/ --image-size 32x32 --color --output faces.safetensors
          bottleneck train --arch my-model.json --data table.csv --label-column class --scaling standard
          bottleneck train --output dense.safetensors --epochs 10 --resume    # continue a run
          bottleneck train --preset conv --variant denoising --noise gaussian:0.3 -o denoise.safetensors
          bottleneck train --arch vae.json --variant vae --beta 1 --loss bce
          bottleneck train --preset dense --variant sparse --sparsity kl --rate 0.05
          bottleneck train --classes 1 --epochs 10 -o trouser.safetensors   # one class, for detect

        Writes the model (best epoch), a checkpoint beside it (<model>.checkpoint.safetensors, for
        --resume) and a JSONL log of per-epoch metrics.
        """)

    @OptionGroup var model: ModelChoice
    @OptionGroup var variant: VariantOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var dataOptions: DataOptions

    @Option(name: .long, help: "Scaling of the data, stored with the model: unit (min-max to [0,1]), standard, none. Default: unit.")
    var scaling: String?

    @Option(name: .long, help: "Train only on samples with these labels, e.g. 1 or 0,6 (one-class models for `detect`).")
    var classes: String?

    @Option(name: [.short, .long], help: "Model file to write.") var output = "model.safetensors"
    @Option(name: .long, help: "JSONL log of per-epoch metrics (default: <output>.log.jsonl).") var log: String?
    @Flag(name: .long, help: "Continue from the checkpoint beside --output.") var resume = false

    func run() throws {
        let config = try training.config()
        let classSet = try classes.map { try parseClassList($0, flag: "--classes") }
        var raw = try DataSource.load(try dataOptions.request(), split: .train)
        if let classSet { raw = try raw.restricted(toClasses: classSet) }
        let (data, scaler) = try prepareTrainingData(raw, scaling: scaling,
                                                     resumeFrom: resume ? TrainingSession.checkpointPath(for: output) : nil)
        var spec = try model.spec(for: data.sampleShape)
        if let v = try variant.spec(default: spec.variant) { spec = model.arch == nil ? Variants.adapt(spec, to: v) : withVariant(spec, v) }
        var documents = ["scaling": try jsonString(scaler)]
        if let classSet { documents["classes"] = try jsonString(classSet.sorted()) }  // detect's default normal classes
        let session = try TrainingSession(spec: spec, inputShape: data.sampleShape, config: config, documents: documents,
                                          outputPath: output, logPath: log ?? output + ".log.jsonl", resume: resume) { model, config, rng in
            try Variants.objective(model.spec.variant, model: model, loss: config.loss, rng: rng)
        }
        let (train, validation) = config.validationFraction > 0
            ? data.split(validationFraction: config.validationFraction, rng: RandomGenerator(seed: config.seed ^ 0x5A17)) : (data, nil)
        let m = session.trainer.model
        print("training \(m.spec.name) (\(m.parameterCount) parameters, code \(formatShape(m.codeShape))) on \(train.count) samples of \(formatShape(train.sampleShape))"
              + (validation.map { ", validating on \($0.count)" } ?? "")
              + (resume ? ", resuming after epoch \(session.trainer.epochsDone)" : ""))
        var progress = ProgressPrinter()
        session.trainer.onBatch = { progress.batch($0) }
        session.trainer.onEpoch = { progress.epoch($0) }
        try session.run(train: train, validation: validation)
        print("saved \(output) (best epoch by \(validation == nil ? "training" : "validation") loss)")
    }
}

/// Validates and scales training data. A resumed run reuses the checkpoint's scaling so the
/// numbers the model sees do not change.
func prepareTrainingData(_ data: Dataset, scaling: String?, resumeFrom checkpoint: String?) throws -> (Dataset, Scaler) {
    try validateFinite(data)
    var scaler: Scaler
    if let checkpoint, FileManager.default.fileExists(atPath: checkpoint),
       let saved = try SafeTensors.read(checkpoint).metadata["scaling"] {
        scaler = try decodeJSON(Scaler.self, saved, source: "\(checkpoint) (scaling)")
    } else {
        let kindName = scaling ?? "unit"
        guard let kind = Scaler.Kind(rawValue: kindName) else {
            throw BottleneckError("--scaling must be one of \(Scaler.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(kindName)'")
        }
        scaler = try defaultScaler(for: data, kind: kind)
    }
    var scaled = data
    scaled.inputs = try scaler.transform(data.inputs)
    return (scaled, scaler)
}

/// Image data arrives in [0, 1] already (bytes / 255): its unit scaling is kept fixed so every
/// image set maps the same way. Tabular data is fitted on the training set.
func defaultScaler(for data: Dataset, kind: Scaler.Kind) throws -> Scaler {
    if kind == .unit && data.sampleShape.count == 3 { return .fixedRange(min: 0, max: 1) }
    return try Scaler.fitted(kind, to: data.inputs, source: data.source)
}

func withVariant(_ spec: ArchitectureSpec, _ v: VariantSpec) -> ArchitectureSpec {
    var s = spec
    s.variant = v
    return s
}
