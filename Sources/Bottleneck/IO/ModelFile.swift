import Foundation

/// A Bottleneck model file: one safetensors file whose tensors are the model's state_dict
/// (PyTorch names) and whose metadata holds, as JSON strings, the architecture, the data scaling,
/// the training configuration and history, and an anomaly threshold when one was fitted.
/// PyTorch reads it with `safetensors.torch.load_file` and `safe_open(...).metadata()`.
public struct ModelFile {
    public static let formatName = "bottleneck-model"
    public static let formatVersion = "1"

    public var architecture: ArchitectureSpec
    /// Extra JSON documents by key: "scaling", "training", "history", "detector", ...
    public var documents: [String: String]

    public init(architecture: ArchitectureSpec, documents: [String: String] = [:]) {
        self.architecture = architecture
        self.documents = documents
    }

    public func document<T: Decodable>(_ key: String, as type: T.Type, source: String) throws -> T? {
        guard let text = documents[key] else { return nil }
        return try decodeJSON(type, text, source: "\(source) (\(key))")
    }

    public mutating func setDocument<T: Encodable>(_ key: String, _ value: T?) throws {
        documents[key] = try value.map { try jsonString($0) }
    }

    /// Writes the model's weights and this description atomically.
    public func save(model: Module, extraTensors: [(String, Tensor)] = [], to path: String) throws {
        var metadata = documents
        metadata["format"] = Self.formatName
        metadata["format_version"] = Self.formatVersion
        metadata["architecture"] = try jsonString(architecture)
        try SafeTensors(tensors: model.stateDict() + extraTensors, metadata: metadata).write(to: path)
    }

    /// Reads a model file and builds its model (weights loaded, eval mode).
    public static func load(_ path: String) throws -> (Autoencoder, ModelFile, SafeTensors) {
        let file = try SafeTensors.read(path)
        guard file.metadata["format"] == formatName, let archText = file.metadata["architecture"] else {
            throw BottleneckError.file(path, "not a Bottleneck model file (no architecture in its metadata)")
        }
        let arch = try decodeJSON(ArchitectureSpec.self, archText, source: "\(path) (architecture)", userInfo: [VariantSpec.formatOneOptions: true])
        guard let inputShape = arch.inputShape else { throw BottleneckError.file(path, "architecture has no input shape") }
        let model = try Autoencoder(spec: arch, inputShape: inputShape, rng: RandomGenerator(seed: 0))
        try model.load(stateDict: file.tensors.filter { !isAuxiliaryTensor($0.key) }, from: path)
        model.eval()
        var docs = file.metadata
        for k in ["format", "format_version", "architecture"] { docs.removeValue(forKey: k) }
        return (model, ModelFile(architecture: arch, documents: docs), file)
    }
}

/// Tensors stored beside the model's own: optimizer and objective state in checkpoints, extras
/// such as a VAE prior or a detector's statistics.
func isAuxiliaryTensor(_ name: String) -> Bool {
    name.hasPrefix("optimizer.") || name.hasPrefix("objective.") || name.hasPrefix("extra.")
}
