import Foundation
import BottleneckCore

/// The metadata keys of a model file and of a training checkpoint, named once. Each key except
/// `format` and `formatVersion` holds one JSON document (sorted keys, so the bytes depend only on
/// the content).
public enum ModelFileKey: String, CaseIterable, Sendable {
    /// `ModelFile.formatName` or `ModelFile.checkpointFormatName`.
    case format
    /// `ModelFile.formatVersion`.
    case formatVersion = "format_version"
    /// The architecture (layers, input shape, variant).
    case architecture
    /// The data scaling the model was trained with.
    case scaling
    /// Names of the input features (the columns of a CSV header), when the data had them.
    case features
    /// The labels the model was trained on, when training was restricted to some classes.
    case classes
    /// A fitted anomaly detector (score, rule, threshold).
    case detector
    /// The training configuration.
    case training
    /// The model and settings chosen from the data, when the run named no architecture.
    case defaults
    /// Per-epoch losses and learning rates (no timings: those go to the log).
    case history
    /// Checkpoints only: the trainer's state (generator, history, best loss).
    case trainer
}

/// A Bottleneck model file or checkpoint as stored: one safetensors file whose tensors are the
/// model's state_dict (PyTorch names; checkpoints add `optimizer.` and `objective.` tensors) and
/// whose metadata holds JSON documents under `ModelFileKey`s. This type knows the layout only;
/// `TrainedModel` gives the documents their types. PyTorch reads the file with
/// `safetensors.torch.load_file` and `safe_open(...).metadata()`.
public struct ModelFile {
    /// The `format` of a model file.
    public static let formatName = "bottleneck-model"
    /// The `format` of a training checkpoint.
    public static let checkpointFormatName = "bottleneck-checkpoint"
    /// The layout version written; files without one (or with "1") are read.
    public static let formatVersion = "1"

    /// `formatName` or `checkpointFormatName`.
    public var format: String
    /// JSON documents by key (`format` and `formatVersion` are not among them).
    public var documents: [ModelFileKey: String]
    /// Tensors in file order.
    public var tensors: [(String, Tensor)]

    /// A file of `format` holding `documents` and `tensors`.
    public init(format: String = formatName, documents: [ModelFileKey: String] = [:], tensors: [(String, Tensor)] = []) {
        self.format = format
        self.documents = documents
        self.tensors = tensors
    }

    /// Reads `path`, which must be a file of `format`; metadata keys this program does not know are dropped.
    public static func read(_ path: String, format: String = formatName) throws -> ModelFile {
        try decode(try SafeTensors.read(path), source: path, format: format)
    }

    /// Decodes a file's bytes (a model sent over the network, say); `source` names it in errors.
    public static func decode(_ data: Data, source: String, format: String = formatName) throws -> ModelFile {
        try decode(try SafeTensors.decode(data, source: source), source: source, format: format)
    }

    private static func decode(_ file: SafeTensors, source path: String, format: String) throws -> ModelFile {
        let m = file.metadata
        guard m[ModelFileKey.format.rawValue] == format, m[ModelFileKey.architecture.rawValue] != nil else {
            let what = format == checkpointFormatName ? "a Bottleneck checkpoint" : "a Bottleneck model file"
            throw BottleneckError.file(path, "not \(what) (no architecture in its metadata)")
        }
        if let v = m[ModelFileKey.formatVersion.rawValue], v != formatVersion {
            throw BottleneckError.file(path, "format version \(v), this program reads \(formatVersion)")
        }
        var documents: [ModelFileKey: String] = [:]
        for key in ModelFileKey.allCases where key != .format && key != .formatVersion {
            documents[key] = m[key.rawValue]
        }
        return ModelFile(format: format, documents: documents, tensors: file.names.map { ($0, file.tensors[$0]!) })
    }

    /// Writes atomically (temporary name, then rename). The safetensors header is written with
    /// sorted keys, so equal content gives equal bytes.
    public func write(to path: String) throws {
        var metadata = [ModelFileKey.format.rawValue: format, ModelFileKey.formatVersion.rawValue: Self.formatVersion]
        for (key, text) in documents { metadata[key.rawValue] = text }
        try SafeTensors(tensors: tensors, metadata: metadata).write(to: path)
    }
}

/// Tensors stored beside the model's own: optimizer and objective state in checkpoints, extras
/// such as a VAE prior or a detector's statistics.
package func isAuxiliaryTensor(_ name: String) -> Bool {
    name.hasPrefix("optimizer.") || name.hasPrefix("objective.") || name.hasPrefix("extra.")
}
