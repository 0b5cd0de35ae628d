import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// A training run tied to files: the model file (best weights so far), a checkpoint beside it
/// (the last completed epoch: weights, optimizer, generator, history) and a JSONL log.
/// `resume: true` continues from the checkpoint and gives the same weights as an uninterrupted run.
public final class TrainingSession {
    public let trainer: Trainer
    public private(set) var modelFile: ModelFile
    public let outputPath: String
    public let logPath: String?

    /// `<model>.checkpoint.safetensors` beside the model file.
    public static func checkpointPath(for output: String) -> String {
        let stem = output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output
        return stem + ".checkpoint.safetensors"
    }

    public var checkpointPath: String { Self.checkpointPath(for: outputPath) }

    /// Builds the model and trainer for a new run, or restores them from the checkpoint.
    public init(spec: ArchitectureSpec, inputShape: [Int], config: TrainingConfig, documents: [String: String],
                outputPath: String, logPath: String?, resume: Bool,
                makeObjective: (Autoencoder, TrainingConfig, RandomGenerator) throws -> Objective) throws {
        self.outputPath = outputPath
        self.logPath = logPath
        try Self.checkWritable(outputPath)
        let ckptPath = Self.checkpointPath(for: outputPath)
        var spec = spec, config = config, documents = documents
        var saved: (SafeTensors, TrainerState)?
        if resume {
            guard FileManager.default.fileExists(atPath: ckptPath) else {
                throw BottleneckError.file(ckptPath, "no checkpoint to resume from (train without --resume first)")
            }
            let file = try SafeTensors.read(ckptPath)
            guard let arch = file.metadata["architecture"], let stateText = file.metadata["trainer"],
                  let configText = file.metadata["training"] else {
                throw BottleneckError.file(ckptPath, "not a Bottleneck checkpoint")
            }
            spec = try decodeJSON(ArchitectureSpec.self, arch, source: "\(ckptPath) (architecture)")
            let savedConfig = try decodeJSON(TrainingConfig.self, configText, source: "\(ckptPath) (training)")
            var wanted = savedConfig
            wanted.epochs = config.epochs  // a resumed run may be extended; everything else must stay
            config = wanted
            for (k, v) in file.metadata where !["architecture", "trainer", "training", "format", "format_version"].contains(k) {
                documents[k] = v
            }
            saved = (file, try decodeJSON(TrainerState.self, stateText, source: "\(ckptPath) (trainer)"))
        }
        let rng = RandomGenerator(seed: config.seed)
        let model = try Autoencoder(spec: spec, inputShape: inputShape, rng: rng)
        trainer = try Trainer(model: model, objective: try makeObjective(model, config, rng), config: config, rng: rng)
        if let (file, state) = saved { try trainer.restore(tensors: file.tensors, state: state, source: ckptPath) }
        modelFile = ModelFile(architecture: model.spec, documents: documents)
        try modelFile.setDocument("training", config)
        trainer.onCheckpoint = { [unowned self] trainer, isBest in try self.saveCheckpoint(isBest: isBest) }
    }

    public func run(train: Dataset, validation: Dataset?) throws {
        try trainer.fit(train: train, validation: validation)
    }

    /// Checkpoint first (the resumable state), then the best model, then the log line.
    private func saveCheckpoint(isBest: Bool) throws {
        var meta = modelFile.documents
        meta["format"] = "bottleneck-checkpoint"
        meta["architecture"] = try jsonString(modelFile.architecture)
        meta["trainer"] = try jsonString(trainer.checkpointState)
        try SafeTensors(tensors: trainer.checkpointTensors, metadata: meta).write(to: checkpointPath)
        try modelFile.setDocument("history", trainer.history)
        if isBest || !FileManager.default.fileExists(atPath: outputPath) {
            try modelFile.save(model: trainer.model, to: outputPath)
        }
        if let logPath, let record = trainer.history.last {
            try appendLine(try jsonString(record), to: logPath)
        }
    }

    static func checkWritable(_ path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw BottleneckError.file(path, "its folder \(dir) does not exist")
        }
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
