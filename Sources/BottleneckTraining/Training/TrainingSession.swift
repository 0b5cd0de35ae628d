import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
#if canImport(Glibc)
import Glibc
#endif

extension ConfigField {
    /// Settings a resumed run may change: they steer the rest of the run without invalidating
    /// what was done (more epochs, a new learning rate or schedule, another clip norm or patience).
    /// The others (batches, seed, optimizer, loss, split, model, scaling, classes) would make the
    /// resumed run a different run from the one checkpointed, so a change is refused.
    public static let changeableOnResume: Set<ConfigField> = [.epochs, .learningRate, .schedule, .clipNorm, .patience]
}

/// What a training run is asked to do.
public struct TrainingRequest {
    /// Model file to write (the best epoch). The checkpoint, lock and default log sit beside it.
    public var outputPath: String
    /// The architecture. Needed for a fresh run; on resume, when given, it must be the checkpoint's.
    public var architecture: ArchitectureSpec?
    /// The configuration. On resume only the settings in `overrides` are taken from it.
    public var config: TrainingConfig
    /// On resume: the settings of `config` chosen by the caller (the others come from the
    /// checkpoint). Changeable ones are honoured, others must equal the checkpoint's.
    public var overrides: Set<ConfigField> = [.epochs]
    /// Scaling of the inputs, fitted on the training part only. Nil: unit (images keep their fixed
    /// [0, 1] range); on resume, the checkpoint's.
    public var scaling: Scaler.Kind?
    /// Train only on samples with these labels. On resume nil means the checkpoint's classes.
    public var classes: Set<Int>?
    /// JSONL log of per-epoch metrics (with timings); nil for `<output>.log.jsonl`.
    public var logPath: String?
    /// Continue from the checkpoint beside `outputPath`.
    public var resume = false
    /// The most memory the model may need (parameters and one sample's activations).
    public var memoryLimit = ModelMemory.defaultLimit
    /// Seconds between saves: the checkpoint, the best model and the log are written after the
    /// first epoch, then after any epoch at least this long after the last save, and when the run
    /// ends or fails. Runs of many short epochs (small tables) would otherwise spend most of their
    /// time rewriting a history that grows each epoch. An interrupted run loses at most this long.
    public var saveInterval = 1.0
    /// What `architecture` and `config` took from the data (`DataDefaults`), stored with the model.
    /// On resume, the checkpoint's.
    public var dataDefaults: DataDefaults?

    /// A fresh run of `architecture` with `config` (set `resume` and `overrides` to continue one).
    public init(outputPath: String, architecture: ArchitectureSpec?, config: TrainingConfig = TrainingConfig()) {
        self.outputPath = outputPath
        self.architecture = architecture
        self.config = config
    }
}

/// A resumed run was asked to change a setting that cannot change mid-run: the error names the
/// field and both values.
func resumeConflict(_ field: ConfigField, checkpoint: String, saved: String, requested: String) -> BottleneckError {
    .invalid(field, "is \(saved) in the checkpoint \(checkpoint), \(requested) was asked for; a resumed run keeps it (start a fresh run to change it)")
}

/// A training run tied to files, owning its policy: the data checks (finite values, feature
/// names), the class restriction, the validation split (seeded by the run's seed), the scaling
/// (fitted on the training part only), the output checks (folder writable, one run per output at
/// a time through a lock), resume (from the checkpoint beside the model, giving the same weights
/// as an uninterrupted run) and a fresh log for a fresh run.
///
/// Files: the model (`TrainedModel`, best epoch so far), `<model>.checkpoint.safetensors` (the
/// last completed epoch: weights, optimizer, generator, history), the JSONL log, and
/// `<model>.lock` while the session is prepared or running.
public final class TrainingSession {
    /// The trainer (model, optimizer, history); set `onBatch`/`onEpoch` on it for progress.
    public let trainer: Trainer
    /// The bundle written to `outputPath`; its history grows each epoch.
    public private(set) var bundle: TrainedModel
    /// The training part of the data, checked and scaled.
    public let train: Dataset
    /// The validation part, when the configuration holds one out.
    public let validation: Dataset?
    /// The model file written after each best epoch.
    public let outputPath: String
    /// The JSONL log, one line per epoch (with timings).
    public let logPath: String
    /// Whether this session continues a checkpoint.
    public let resumed: Bool
    /// Choices of a fresh run known to train a poor model (none on resume: the run was warned
    /// about when it started).
    public let warnings: [TrainingWarning]
    /// Called after each save (as `saveInterval` paces them, and at the end) with the saved
    /// model's path: what watches a run (a live report) refreshes here.
    public var onSave: (() throws -> Void)?
    /// Held from `init` until `run()` ends (or the session is dropped unrun).
    private var lock: OutputLock?
    private let saveInterval: Double
    private var lastSave = Date.distantPast
    /// The last epoch's checkpoint when it is not written yet: copies of the tensors and the state.
    private var unsavedCheckpoint: (tensors: [(String, Tensor)], state: TrainerState)?
    /// The best epoch's weights and history length when they are not written yet.
    private var unsavedBest: (tensors: [(String, Tensor)], epochs: Int)?
    /// Log lines of epochs not written yet.
    private var unsavedLog: [String] = []

    /// `<model>.checkpoint.safetensors` beside the model file.
    public static func checkpointPath(for output: String) -> String {
        let stem = output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output
        return stem + ".checkpoint.safetensors"
    }

    /// Member `member` (from 1) of an ensemble written for `output`: `<stem>-<member>.safetensors`.
    public static func ensembleMemberPath(for output: String, member: Int) -> String {
        let stem = output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output
        return "\(stem)-\(member).safetensors"
    }

    /// This run's checkpoint.
    public var checkpointPath: String { Self.checkpointPath(for: outputPath) }

    /// Prepares a run on `data` (unscaled, as loaded): checks and locks the output, reads the
    /// checkpoint on resume, restricts, splits and scales the data, builds the model and trainer.
    /// Nothing is trained and no old file is changed until `run()`.
    public init(_ request: TrainingRequest, data: Dataset,
                makeObjective: (Autoencoder, TrainingConfig, RandomGenerator) throws -> Objective = { model, config, rng in
                    try Variants.objective(model.spec.variant, model: model, loss: config.loss, rng: rng)
                }) throws {
        outputPath = request.outputPath
        logPath = request.logPath ?? request.outputPath + ".log.jsonl"
        resumed = request.resume
        saveInterval = request.saveInterval
        lock = try OutputLock(for: request.outputPath)
        try checkFolderWritable(of: logPath)
        let ckptPath = Self.checkpointPath(for: outputPath)

        // The run's settings: the request's, or on resume the checkpoint's with allowed changes.
        var spec: ArchitectureSpec, config = request.config, scaler: Scaler?, classes = request.classes.map { $0.sorted() }
        var saved: (ModelFile, TrainerState)?, restoredRateChanged = false, dataDefaults = request.dataDefaults
        if request.resume {
            guard FileManager.default.fileExists(atPath: ckptPath) else {
                throw BottleneckError.file(ckptPath, "no checkpoint to resume from (train without resuming first)")
            }
            let file = try ModelFile.read(ckptPath, format: ModelFile.checkpointFormatName)
            let docs = try ModelDocuments(file, source: ckptPath)
            guard let stateText = file.documents[.trainer], let savedConfig = docs.training else {
                throw BottleneckError.file(ckptPath, "not a Bottleneck checkpoint (no trainer state)")
            }
            let state = try decodeJSON(TrainerState.self, stateText, source: "\(ckptPath) (trainer)")
            config = try Self.resumedConfig(savedConfig, request: request.config, overrides: request.overrides,
                                            epochsDone: state.history.count, checkpoint: ckptPath)
            if let asked = request.architecture {
                try Self.checkSameArchitecture(saved: docs.architecture, asked: asked, inputShape: data.sampleShape, checkpoint: ckptPath, memoryLimit: request.memoryLimit)
            }
            if let kind = request.scaling, !Self.sameScalingKind(docs.scaler, kind, data: data) {
                throw resumeConflict(.scaling, checkpoint: ckptPath, saved: docs.scaler.kind.rawValue, requested: kind.rawValue)
            }
            if let asked = classes, asked != docs.classes {
                throw resumeConflict(.classes, checkpoint: ckptPath, saved: Self.describe(docs.classes), requested: Self.describe(asked))
            }
            try TrainedModel.checkFeatures(data, expected: docs.featureNames, owner: "the checkpoint")
            (spec, scaler, classes, dataDefaults) = (docs.architecture, docs.scaler, docs.classes, docs.dataDefaults)
            saved = (file, state)
            restoredRateChanged = config.learningRate != savedConfig.learningRate
        } else {
            guard let asked = request.architecture else { throw BottleneckError("a fresh training run needs an architecture") }
            spec = asked
            try config.validate()
        }

        // The data: checked, restricted, split, then scaled by statistics of the training part.
        try validateFinite(data)
        var data = data
        if let classes { data = try data.restricted(toClasses: Set(classes)) }
        var (train, validation): (Dataset, Dataset?) = config.validationFraction > 0
            ? data.split(validationFraction: config.validationFraction, rng: RandomGenerator(seed: config.seed ^ 0x5A17)) : (data, nil)
        let fitted = try scaler ?? Self.defaultScaler(for: train, kind: request.scaling ?? .unit)
        train = try fitted.transform(train)
        validation = try validation.map { try fitted.transform($0) }
        (self.train, self.validation) = (train, validation)

        let rng = RandomGenerator(seed: config.seed)
        let model = try Autoencoder(spec: spec, inputShape: data.sampleShape, rng: rng, memoryLimit: request.memoryLimit)
        trainer = try Trainer(model: model, objective: try makeObjective(model, config, rng), config: config, rng: rng)
        if let (file, state) = saved {
            try trainer.restore(tensors: Dictionary(file.tensors, uniquingKeysWith: { a, _ in a }), state: state, source: ckptPath)
            // The restored rate is the checkpoint's; a new base rate applies from here on (a
            // schedule recomputes the rate from the base at every step anyway).
            if restoredRateChanged && config.schedule == nil { trainer.optimizer.learningRate = config.learningRate }
        }
        bundle = TrainedModel(model: model, scaler: fitted, featureNames: data.featureNames, classes: classes,
                              training: config, history: trainer.history.map(EpochSummary.init))
        bundle.dataDefaults = dataDefaults
        warnings = request.resume ? [] : TrainingWarning.check(spec: model.spec, codeShape: model.codeShape, inputShape: data.sampleShape,
                                                               rows: train.count, scaler: fitted, config: config)
        trainer.onCheckpoint = { [unowned self] _, isBest in try self.epochDone(isBest: isBest) }
    }

    /// Trains to the configured epoch count (or early stop), saving as `saveInterval` says. A
    /// fresh run replaces an old log; a resumed one appends to it.
    public func run() throws {
        guard lock != nil else { throw BottleneckError.file(outputPath, "this session has run already; start a new one") }
        defer { lock = nil }
        if !resumed { try writeAtomically(Data(), to: logPath) }
        do {
            try trainer.fit(train: train, validation: validation)
        } catch {
            try? saveUnsaved()  // the epochs done before the failure are kept
            throw error
        }
        try saveUnsaved()
    }

    /// After each epoch: notes what is to be saved, and saves it when it is due.
    private func epochDone(isBest: Bool) throws {
        if let record = trainer.history.last { unsavedLog.append(try jsonString(record)) }
        let due = Date().timeIntervalSince(lastSave) >= saveInterval
        if isBest || (unsavedBest == nil && !FileManager.default.fileExists(atPath: outputPath)) {
            unsavedBest = (due ? trainer.model.stateDict() : trainer.model.stateDict().map { ($0.0, $0.1.copy()) }, trainer.history.count)
        }
        if due {
            unsavedCheckpoint = (trainer.checkpointTensors, trainer.checkpointState)
            try saveUnsaved()
        } else {
            unsavedCheckpoint = (trainer.checkpointTensors.map { ($0.0, $0.1.copy()) }, trainer.checkpointState)
        }
    }

    /// Checkpoint first (the resumable state), then the best model, then the log lines.
    private func saveUnsaved() throws {
        if let (tensors, state) = unsavedCheckpoint {
            bundle.history = state.history.map(EpochSummary.init)
            var checkpoint = try bundle.file(format: ModelFile.checkpointFormatName, tensors: tensors)
            checkpoint.documents[.trainer] = try jsonString(state)
            try checkpoint.write(to: checkpointPath)
            unsavedCheckpoint = nil
        }
        if let (tensors, epochs) = unsavedBest {
            bundle.history = trainer.history.prefix(epochs).map(EpochSummary.init)
            try bundle.file(format: ModelFile.formatName, tensors: tensors).write(to: outputPath)
            unsavedBest = nil
        }
        bundle.history = trainer.history.map(EpochSummary.init)
        for line in unsavedLog { try appendLine(line, to: logPath) }
        unsavedLog = []
        lastSave = Date()
        try onSave?()
    }

    /// The checkpoint's configuration with the request's `overrides` applied: changeable ones
    /// honoured, others refused when they differ.
    static func resumedConfig(_ saved: TrainingConfig, request: TrainingConfig, overrides: Set<ConfigField>,
                              epochsDone: Int, checkpoint: String) throws -> TrainingConfig {
        var c = saved
        /// `fields` are the flags that set `path` (the optimizer's settings all live in `optimizer`).
        func take<T: Equatable>(_ fields: [ConfigField], _ path: WritableKeyPath<TrainingConfig, T>) throws {
            guard let field = fields.first(where: overrides.contains), request[keyPath: path] != saved[keyPath: path] else { return }
            guard ConfigField.changeableOnResume.contains(field) else {
                throw resumeConflict(field, checkpoint: checkpoint, saved: describe(saved[keyPath: path]),
                                     requested: describe(request[keyPath: path]))
            }
            c[keyPath: path] = request[keyPath: path]
        }
        try take([.epochs], \.epochs)
        try take([.batchSize], \.batchSize)
        try take([.learningRate], \.learningRate)
        try take([.optimizer, .momentum, .nesterov, .weightDecay, .historySize, .gradientTolerance, .stepTolerance], \.optimizer)
        try take([.schedule], \.schedule)
        try take([.clipNorm], \.clipNorm)
        try take([.loss], \.loss)
        try take([.seed], \.seed)
        try take([.validationFraction], \.validationFraction)
        try take([.patience], \.patience)
        if overrides.contains(.epochs), c.epochs <= epochsDone {
            throw BottleneckError.file(checkpoint, "has \(epochsDone) epochs done already; ask for more than \(epochsDone) epochs to continue")
        }
        try c.validate()
        return c
    }

    static func checkSameArchitecture(saved: ArchitectureSpec, asked: ArchitectureSpec, inputShape: [Int], checkpoint: String, memoryLimit: ByteCount) throws {
        // Build the asked-for model the way the run would, so defaults filled in at build time compare equal.
        let built = try Autoencoder(spec: asked, inputShape: inputShape, rng: RandomGenerator(seed: 0), memoryLimit: memoryLimit).spec
        guard built != saved else { return }
        var savedLayers = saved, builtLayers = built
        (savedLayers.variant, builtLayers.variant) = (nil, nil)
        if savedLayers == builtLayers {
            throw resumeConflict(.variant, checkpoint: checkpoint, saved: describe(saved.variant), requested: describe(built.variant))
        }
        throw resumeConflict(.architecture, checkpoint: checkpoint, saved: "'\(saved.name)'", requested: "'\(built.name)'"
                             + (saved.name == built.name ? " with other layers" : ""))
    }

    /// Whether the checkpoint's scaler is what `kind` would fit (unit scaling of images is a fixed range).
    static func sameScalingKind(_ scaler: Scaler, _ kind: Scaler.Kind, data: Dataset) -> Bool {
        scaler.kind == kind || (kind == .unit && scaler.kind == .fixedRange && data.sampleShape.count == 3)
    }

    /// Image data arrives in [0, 1] already (bytes / 255): its unit scaling is kept fixed so every
    /// image set maps the same way. Tabular data is fitted on the training part.
    public static func defaultScaler(for data: Dataset, kind: Scaler.Kind) throws -> Scaler {
        if kind == .unit && data.sampleShape.count == 3 { return .fixedRange(min: 0, max: 1) }
        return try Scaler.fitted(kind, to: data.inputs, source: data.source)
    }

    static func describe<T>(_ value: T?) -> String {
        guard let value else { return "none" }
        guard let e = value as? Encodable, let s = try? jsonString(e) else { return "\(value)" }
        return s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
    }
}

/// Throws one line when no file can be created in `path`'s folder (tried for real: permissions,
/// read-only mounts and non-folders all fail the same way, also for root).
public func checkFolderWritable(of path: String) throws {
    let dir = folder(of: path)
    let probe = dir + "/.bottleneck-write-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw unwritableFolder(dir, for: path) }
    close(fd)
    unlink(probe)
}

func folder(of path: String) -> String {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    return dir.isEmpty ? "." : dir
}

func unwritableFolder(_ dir: String, for path: String) -> BottleneckError {
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) { return .file(path, "its folder \(dir) does not exist") }
    if !isDir.boolValue { return .file(path, "\(dir) is a file, not a folder") }
    return .file(path, "its folder \(dir) cannot be written (\(String(cString: strerror(errno))))")
}

/// An exclusive lock on `<output>.lock`, held while a session lives. It is an flock, so the
/// kernel releases it when the process ends, however it ends; a second run fails at once.
final class OutputLock {
    let path: String
    private let fd: Int32

    init(for output: String) throws {
        path = output + ".lock"
        let dir = folder(of: output)
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw unwritableFolder(dir, for: output) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                throw BottleneckError.file(output, "another training run is writing it (locked through \(path)); wait for it or choose another output")
            }
            // The holder before us may have removed the file after we opened it: lock the file
            // that is at the path now, or two runs could hold locks on different files.
            var opened = stat(), current = stat()
            if fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino, opened.st_dev == current.st_dev {
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    deinit {
        unlink(path)
        close(fd)
    }
}

/// Appends one line to a text file, creating it if needed.
public func appendLine(_ line: String, to path: String) throws {
    let data = Data((line + "\n").utf8)
    if let h = FileHandle(forWritingAtPath: path) {
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: data)
    } else {
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw BottleneckError.file(path, "cannot be written") }
    }
}
