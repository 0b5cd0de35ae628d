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
    // Optional so a resumed run can tell the flags given from the defaults (`overrides`).
    @Option(name: .long, help: "Epochs to train; a resumed run continues up to this count (default 5).") var epochs: Int?
    @Option(name: [.customLong("batch-size"), .customShort("b")], help: "Samples per batch (default 128).") var batchSize: Int?
    @Option(name: .long, help: "Learning rate (default 0.001).") var lr: Float?
    @Option(name: .long, help: "Optimizer: adam, adamw or sgd (default adam).") var optimizer: String?
    @Option(name: .long, help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(name: .long, help: "Weight decay (L2 for adam/sgd, decoupled for adamw; default 0).") var weightDecay: Float?
    @Option(name: .long, help: "Learning-rate schedule: constant, step:K[:GAMMA], cosine[:T[:MIN]], warmup:W[+...].") var schedule: String?
    @Option(name: .long, help: "Clip gradients to this global L2 norm.") var clipNorm: Float?
    @Option(name: .long, help: "Reconstruction loss: mse, l1, rmse, bce, bce-logits (default mse).") var loss: String?
    @Option(name: .long, help: "Seed for weights, shuffling and noise (default 0).") var seed: UInt64?
    @Option(name: .long, help: "Fraction of the training data held out for validation (default 0).") var validation: Double?
    @Option(name: .long, help: "Early stopping: epochs without validation improvement (holds out 10% if --validation is 0).") var patience: Int?

    func config() throws -> TrainingConfig {
        var c = TrainingConfig()
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let lr { c.learningRate = lr }
        if let optimizer { c.optimizer = optimizer.lowercased() }
        if let momentum { c.momentum = momentum }
        if let weightDecay { c.weightDecay = weightDecay }
        c.schedule = try schedule.map { try LearningRateSchedule(parsing: $0) }
        c.clipNorm = clipNorm
        if let loss {
            guard let l = LossKind(rawValue: loss.lowercased()) else {
                throw BottleneckError("--loss must be one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(loss)'")
            }
            c.loss = l
        }
        if let seed { c.seed = seed }
        let v = validation ?? 0
        c.validationFraction = patience != nil && v == 0 ? 0.1 : v
        c.patience = patience
        try c.validate()
        return c
    }

    /// The settings given on the command line (a resumed run applies these only).
    var overrides: Set<TrainingSetting> {
        let given: [(TrainingSetting, Bool)] = [
            (.epochs, epochs != nil), (.batchSize, batchSize != nil), (.learningRate, lr != nil), (.optimizer, optimizer != nil),
            (.momentum, momentum != nil), (.weightDecay, weightDecay != nil), (.schedule, schedule != nil), (.clipNorm, clipNorm != nil),
            (.loss, loss != nil), (.seed, seed != nil), (.validationFraction, validation != nil || patience != nil), (.patience, patience != nil),
        ]
        return Set(given.filter(\.1).map(\.0))
    }

    /// The flag that sets each setting, for messages.
    static let flags: [TrainingSetting: String] = [
        .epochs: "--epochs", .batchSize: "--batch-size", .learningRate: "--lr", .optimizer: "--optimizer", .momentum: "--momentum",
        .weightDecay: "--weight-decay", .schedule: "--schedule", .clipNorm: "--clip-norm", .loss: "--loss", .seed: "--seed",
        .validationFraction: "--validation", .patience: "--patience", .architecture: "--preset/--arch", .variant: "--variant",
        .scaling: "--scaling", .classes: "--classes",
    ]
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
        let raw = try DataSource.load(try dataOptions.request(), split: .train)
        // On resume the architecture comes from the checkpoint unless a flag asks for one.
        let asksForVariant = try variant.spec(default: nil) != nil
        let asksForModel = model.preset != nil || model.arch != nil || model.codeSize != nil || model.linearCode || asksForVariant
        var spec: ArchitectureSpec?
        if !resume || asksForModel {
            var s = try model.spec(for: raw.sampleShape)
            if let v = try variant.spec(default: s.variant) {
                if model.arch == nil { s = Variants.adapt(s, to: v) } else { s.variant = v }
            }
            spec = s
        }
        var request = TrainingRequest(outputPath: output, architecture: spec, config: config)
        request.overrides = training.overrides
        request.scaling = try scaling.map { name in
            guard let kind = Scaler.Kind(rawValue: name) else {
                throw BottleneckError("--scaling must be one of \(Scaler.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
            }
            return kind
        }
        request.classes = try classes.map { try parseClassList($0, flag: "--classes") }
        request.logPath = log
        request.resume = resume
        let session: TrainingSession
        do { session = try TrainingSession(request, data: raw) } catch let e as ResumeConflict {
            throw BottleneckError(e.message(naming: TrainingOptions.flags[e.setting] ?? e.setting.rawValue))
        }
        let m = session.trainer.model
        print("training \(m.spec.name) (\(m.parameterCount) parameters, code \(formatShape(m.codeShape))) on \(session.train.count) samples of \(formatShape(session.train.sampleShape))"
              + (session.validation.map { ", validating on \($0.count)" } ?? "")
              + (resume ? ", resuming after epoch \(session.trainer.epochsDone)" : ""))
        var progress = ProgressPrinter()
        session.trainer.onBatch = { progress.batch($0) }
        session.trainer.onEpoch = { progress.epoch($0) }
        try session.run()
        print("saved \(output) (best epoch by \(session.validation == nil ? "training" : "validation") loss)")
    }
}
