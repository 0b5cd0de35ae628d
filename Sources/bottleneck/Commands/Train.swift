import ArgumentParser
import Bottleneck
import Foundation

struct ModelChoice: ParsableArguments {
    @Option(name: .long, help: "Preset architecture: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")) (default: conv for images, dense for sequences; rows of features get a model sized from the data, printed when training starts).",
            transform: { try Preset.named($0) })
    var preset: Preset?

    @Option(name: .long, help: "Architecture file (JSON) listing encoder and decoder layers, instead of a preset.")
    var arch: String?

    @Option(name: .long, help: "Size of the code (the bottleneck), for presets.")
    var codeSize: Int?

    @Flag(name: .long, help: "Drop the activation on a preset's code (better codes for search and compression).")
    var linearCode = false

    func validate() throws {
        if preset != nil && arch != nil { throw ValidationError("give --preset or --arch, not both") }
        if let codeSize, codeSize < 1 { throw ValidationError("--code-size must be at least 1, got \(codeSize)") }
        if let arch, linearCode { throw ValidationError("--linear-code applies to presets; with --arch, remove the code's activation in \(arch)") }
    }

    /// The spec for data of per-sample `shape`.
    func spec(for shape: [Int]) throws -> ArchitectureSpec {
        if let arch { return try ArchitectureSpec.load(path: arch) }
        let spec = try (preset ?? (shape.count == 3 ? .conv : .dense)).spec(inputShape: shape, codeSize: codeSize)
        return linearCode ? spec.withLinearCode() : spec
    }
}

/// The training flags. Each is nil when not given, so a resumed run can tell the flags the user
/// gave from the library's defaults (`TrainingConfig()`), which apply to the rest.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: "Epochs to train (a resumed run continues up to this count; default 5, or about 3000 optimizer steps for rows of features without a preset).") var epochs: Int?
    @Option(name: [.customLong("batch-size"), .customShort("b")], help: "Samples per batch (default 128, or 32 for rows of features without a preset).") var batchSize: Int?
    @Option(name: .long, parsing: .unconditional, help: "Learning rate (default 0.001; for lbfgs and cg the scale of each line search's first trial step, default 1).") var lr: Float?
    @Option(name: .long, help: "Optimizer: adam (default), adamw, sgd, or lbfgs and cg for deterministic losses (full or large batches; one line-search iteration per batch).") var optimizer: OptimizerChoice.Name?
    @Option(name: .long, help: "L-BFGS: curvature pairs kept (default 10).") var historySize: Int?
    @Option(name: .long, parsing: .unconditional, help: "lbfgs/cg: stop when the largest gradient entry is at most this (default 1e-7).") var gradientTolerance: Double?
    @Option(name: .long, parsing: .unconditional, help: "lbfgs/cg: stop when the largest entry of a step is at most this (default 1e-9).") var stepTolerance: Double?
    @Option(name: .long, parsing: .unconditional, help: "SGD momentum (default 0.9).") var momentum: Float?
    @Flag(name: .long, help: "SGD: Nesterov momentum.") var nesterov = false
    @Option(name: .long, parsing: .unconditional, help: "Weight decay (L2 for adam/sgd, decoupled for adamw; default 0).") var weightDecay: Float?
    @Option(name: .long, help: "Learning-rate schedule: constant, step:K[:GAMMA], cosine[:T[:MIN]], warmup:W[+...].",
            transform: { try LearningRateSchedule(parsing: $0) }) var schedule: LearningRateSchedule?
    @Option(name: .long, parsing: .unconditional, help: "Clip gradients to this global L2 norm.") var clipNorm: Float?
    @Option(name: .long, help: "Reconstruction loss (default mse).") var loss: LossKind?
    @Option(name: .long, help: "Seed for weights, shuffling and noise (default 0).") var seed: UInt64?
    @Option(name: .long, parsing: .unconditional, help: "Fraction of the training data held out for validation (default 0).") var validation: Double?
    @Option(name: .long, help: "Early stopping: epochs without validation improvement (holds out 10% if --validation is not given).") var patience: Int?

    /// Range checks before anything runs: the library's, reported with the flag's name.
    func validate() throws {
        do { _ = try config() } catch let e as BottleneckError { throw ValidationError(commandLineMessage(e)) }
    }

    /// The configuration: the flags given, the library's defaults for the rest.
    func config() throws -> TrainingConfig {
        var c = TrainingConfig()
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if optimizer != nil || momentum != nil || nesterov || weightDecay != nil || historySize != nil || gradientTolerance != nil || stepTolerance != nil {
            c.optimizer = try OptimizerChoice(optimizer ?? c.optimizer.name, momentum: momentum, nesterov: nesterov ? true : nil, weightDecay: weightDecay,
                                              historySize: historySize, gradientTolerance: gradientTolerance, stepTolerance: stepTolerance)
        }
        c.learningRate = lr ?? TrainingConfig.defaultLearningRate(for: c.optimizer.name)
        if let schedule { c.schedule = schedule }
        if let clipNorm { c.clipNorm = clipNorm }
        if let loss { c.loss = loss }
        if let seed { c.seed = seed }
        if let validation { c.validationFraction = validation } else if patience != nil { c.validationFraction = 0.1 }
        if let patience { c.patience = patience }
        try c.validate()
        return c
    }

    /// The configuration fields the user gave a flag for (the rest are defaults).
    var givenFields: Set<ConfigField> {
        let given: [(ConfigField, Bool)] = [
            (.epochs, epochs != nil), (.batchSize, batchSize != nil), (.learningRate, lr != nil), (.optimizer, optimizer != nil),
            (.momentum, momentum != nil), (.nesterov, nesterov), (.weightDecay, weightDecay != nil), (.schedule, schedule != nil),
            (.historySize, historySize != nil), (.gradientTolerance, gradientTolerance != nil), (.stepTolerance, stepTolerance != nil),
            (.clipNorm, clipNorm != nil), (.loss, loss != nil), (.seed, seed != nil), (.validationFraction, validation != nil),
            (.patience, patience != nil),
        ]
        return Set(given.filter(\.1).map(\.0))
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
          bottleneck train --data normal.csv --ensemble 5 -o t.safetensors  # t-1 ... t-5.safetensors

        Writes the model (best epoch), a checkpoint beside it (<model>.checkpoint.safetensors, for
        --resume) and a JSONL log of per-epoch metrics.
        """)

    @OptionGroup var model: ModelChoice
    @OptionGroup var variant: VariantOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var memory: MemoryOptions

    @Option(name: .long, help: "Scaling of the data, stored with the model: unit (min-max to [0,1]), standard, none. Default: unit.")
    var scaling: Scaler.Kind?

    @Option(name: .long, help: "Train only on samples with these labels, e.g. 1 or 0,6 (one-class models for `detect`).")
    var classes: String?

    @Option(name: [.short, .long], help: "Model file to write.") var output = "model.safetensors"
    @Option(name: .long, help: "JSONL log of per-epoch metrics (default: <output>.log.jsonl).") var log: String?
    @Option(name: .long, help: "HTML report rewritten as training goes (after each save, at most once a second) and complete at the end; open it and reload.") var report: String?
    @Flag(name: .long, help: "Continue from the checkpoint beside --output.") var resume = false
    @Option(name: .long, help: "Train K models with seeds --seed, --seed + 1, ... to <output stem>-1.safetensors ... -K (for `detect --model A --model B ...`, which averages their standardised scores); as many at a time as there are cores, one thread each.")
    var ensemble: Int?
    @Option(name: .long, help: .hidden) var ensembleMember: Int?

    func validate() throws {
        if let ensemble, ensemble < 2 { throw ValidationError("--ensemble must be at least 2 models, got \(ensemble)") }
        if let ensembleMember, ensembleMember < 1 || ensembleMember > (ensemble ?? 0) { throw ValidationError("--ensemble-member must be in 1...--ensemble") }
        if ensemble != nil, log != nil { throw ValidationError("--log names one log; with --ensemble each member's log is <member>.log.jsonl") }
        if ensemble != nil, report != nil { throw ValidationError("--report follows one run; report each member afterwards with bottleneck report --model") }
        if let report, !report.lowercased().hasSuffix(".html") { throw ValidationError("--report \(report): use a .html file name") }
    }

    func run() throws {
        if let report { try checkWritable(report, flag: "--report") }
        var config = try training.config()
        let raw = try DataSource.load(try dataOptions.request(), split: .train)
        let classSet = try classes.map { try parseClassList($0, field: .classes) }
        // On resume the architecture comes from the checkpoint unless a flag asks for one.
        let asksForVariant = try variant.spec(default: nil) != nil
        let asksForModel = model.preset != nil || model.arch != nil || model.codeSize != nil || model.linearCode || asksForVariant
        var spec: ArchitectureSpec?, defaults: DataDefaults?
        if !resume || asksForModel {
            var s: ArchitectureSpec
            if model.preset == nil && model.arch == nil && DataDefaults.applies(to: raw.sampleShape) {
                let d = DataDefaults(data: raw, classes: classSet, scaling: scaling ?? .unit, codeSize: model.codeSize,
                                     config: config, given: training.givenFields)
                (s, config, defaults) = (d.architecture, d.applied(to: config), d)
            } else {
                s = try model.spec(for: raw.sampleShape)
            }
            if let v = try variant.spec(default: s.variant) {
                if model.arch == nil { s = Variants.adapt(s, to: v) } else { s.variant = v }
            }
            spec = s
        }
        if let defaults, !resume, ensembleMember == nil { print(defaults.summary + " (--preset or --arch to choose)") }
        guard let ensemble else {
            return try train(output: output, log: log, spec: spec, config: config, defaults: defaults, classes: classSet, data: raw)
        }
        // Members differ only in their seeds, so their average cancels what each learned by chance.
        let paths = (1...ensemble).map { TrainingSession.ensembleMemberPath(for: output, member: $0) }
        func memberConfig(_ i: Int) -> TrainingConfig {
            var c = config
            c.seed = config.seed &+ UInt64(i - 1)
            return c
        }
        if let i = ensembleMember {  // one member, run by the ensemble's parent process
            return try train(output: paths[i - 1], log: nil, spec: spec, config: memberConfig(i), defaults: defaults, classes: classSet, data: raw)
        }
        let jobs = min(ensemble, ProcessInfo.processInfo.activeProcessorCount)
        if jobs > 1 {
            try EnsembleJobs(members: ensemble, jobs: jobs, paths: paths).run { i in memberConfig(i).seed }
        } else {
            for (i, path) in zip(1..., paths) {
                print("member \(i) of \(ensemble), seed \(memberConfig(i).seed):")
                try train(output: path, log: nil, spec: spec, config: memberConfig(i), defaults: defaults, classes: classSet, data: raw)
            }
        }
        print("score them together: bottleneck detect " + paths.map { "--model \($0)" }.joined(separator: " "))
    }

    /// One training run to `output`.
    private func train(output: String, log: String?, spec: ArchitectureSpec?, config: TrainingConfig, defaults: DataDefaults?,
                       classes: Set<Int>?, data raw: Dataset) throws {
        var request = TrainingRequest(outputPath: output, architecture: spec, config: config)
        request.memoryLimit = memory.maxModelMemory
        request.overrides = training.givenFields
        request.scaling = scaling
        request.classes = classes
        request.logPath = log
        request.resume = resume
        request.dataDefaults = defaults
        let session = try TrainingSession(request, data: raw)
        for w in session.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        let m = session.trainer.model
        print("training \(m.spec.name) (\(m.parameterCount) parameters, code \(formatShape(m.codeShape))) on \(session.train.count) samples of \(formatShape(session.train.sampleShape))"
              + (session.validation.map { ", validating on \($0.count)" } ?? "")
              + (resume ? ", resuming after epoch \(session.trainer.epochsDone)" : ""))
        var progress = ProgressPrinter(epochs: session.trainer.config.epochs)
        session.trainer.onBatch = { progress.batch($0) }
        session.trainer.onEpoch = { progress.epoch($0) }
        let live = report.map { LiveReport(path: $0, session: session) }
        session.onSave = { try live?.write(final: false) }
        try session.run()
        try live?.write(final: true)
        if let stop = session.trainer.convergence { print("\(session.trainer.config.optimizer.name.rawValue) \(stop) after epoch \(session.trainer.epochsDone)") }
        else if let p = session.trainer.config.patience, session.trainer.epochsDone < session.trainer.config.epochs {
            print("stopped early after epoch \(session.trainer.epochsDone): no validation improvement for \(p) epochs")
        }
        print("saved \(output) (best epoch by \(session.validation == nil ? "training" : "validation") loss)")
    }
}
