import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// A trained model as one typed bundle: the built autoencoder (weights loaded, eval mode) and
/// everything needed to use it the way it was trained — the data scaling, the names of the input
/// features, the classes it was trained on, a fitted anomaly detector, the training configuration
/// and the per-epoch history. A model file loads into it and saves from it; no caller needs to
/// know how the file stores these.
///
/// ```swift
/// let bundle = try TrainedModel.load("model.safetensors")
/// let data = try bundle.prepare(try DataSource.load(DataRequest(path: "test.csv"), split: .test))
/// let codes = bundle.model.encode(data.inputs)
/// ```
public struct TrainedModel {
    /// The autoencoder, weights loaded.
    public let model: Autoencoder
    /// How inputs were scaled for training; `prepare` applies it.
    public var scaler: Scaler
    /// The input feature names (a CSV header's columns), when the training data had them.
    public var featureNames: [String]?
    /// The labels training was restricted to (sorted), e.g. the normal classes of a one-class model.
    public var classes: [Int]?
    /// The anomaly detector fitted for this model, if any.
    public var detector: Detector?
    /// The configuration the model was trained with.
    public var training: TrainingConfig?
    /// What was chosen from the data, when training named no architecture.
    public var dataDefaults: DataDefaults?
    /// Losses and learning rate per epoch.
    public var history: [EpochSummary]

    /// The architecture, with its input shape.
    public var architecture: ArchitectureSpec { model.spec }

    /// A bundle around a built model; the other fields default to "unknown" (no scaling).
    public init(model: Autoencoder, scaler: Scaler = Scaler(.none), featureNames: [String]? = nil, classes: [Int]? = nil,
                detector: Detector? = nil, training: TrainingConfig? = nil, history: [EpochSummary] = []) {
        self.model = model
        self.scaler = scaler
        self.featureNames = featureNames
        self.classes = classes
        self.detector = detector
        self.training = training
        self.history = history
    }

    /// Reads a model file (format version 1) and builds its model in eval mode; a model needing
    /// more than `memoryLimit` is refused before it is allocated, one with a non-finite weight
    /// after it is read.
    public static func load(_ path: String, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws -> TrainedModel {
        try TrainedModel(file: try ModelFile.read(path), source: path, memoryLimit: memoryLimit)
    }

    /// A model file's bytes, checked as `load` checks a file; `source` names them in errors.
    public static func decode(_ data: Data, source: String, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws -> TrainedModel {
        try TrainedModel(file: try ModelFile.decode(data, source: source), source: source, memoryLimit: memoryLimit)
    }

    /// Writes the model file atomically. Its bytes depend only on the bundle's content.
    public func save(to path: String) throws {
        try file(format: ModelFile.formatName, tensors: model.stateDict()).write(to: path)
    }

    /// Builds the model a file describes and loads its weights (`source` names the file in errors).
    init(file: ModelFile, source: String, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws {
        let docs = try ModelDocuments(file, source: source)
        guard let inputShape = docs.architecture.inputShape else { throw BottleneckError.file(source, "architecture has no input shape") }
        let model: Autoencoder
        do {
            model = try Autoencoder(spec: docs.architecture, inputShape: inputShape, rng: RandomGenerator(seed: 0), memoryLimit: memoryLimit)
        } catch let e as BottleneckError {
            // The architecture came from the file: name it.
            if let field = e.field { throw BottleneckError.invalid(field, "\(e.problem) (model file \(source))") }
            throw e.message.hasPrefix(source) ? e : BottleneckError.file(source, e.message)
        }
        try model.load(stateDict: Dictionary(file.tensors.filter { !isAuxiliaryTensor($0.0) }, uniquingKeysWith: { a, _ in a }), from: source)
        model.eval()
        self.init(model: model, scaler: docs.scaler, featureNames: docs.featureNames, classes: docs.classes,
                  detector: docs.detector, training: docs.training, history: docs.history)
        dataDefaults = docs.dataDefaults
    }

    /// The stored form: this bundle's documents and `tensors`.
    func file(format: String, tensors: [(String, Tensor)]) throws -> ModelFile {
        var docs = ModelDocuments(architecture: model.spec, scaler: scaler, featureNames: featureNames, classes: classes,
                                  detector: detector, training: training, history: history)
        docs.dataDefaults = dataDefaults
        return ModelFile(format: format, documents: try docs.encoded(), tensors: tensors)
    }

    /// Checks `data` against the model (finite values, sample shape, feature names) and scales
    /// it as the model was trained.
    public func prepare(_ data: Dataset) throws -> Dataset {
        try check(data)
        return try scaler.transform(data)
    }

    /// Checks `data` against the model (finite values, sample shape, feature names) without scaling it.
    public func check(_ data: Dataset) throws {
        try validateFinite(data)
        try model.checkInput(data.sampleShape, source: data.source)
        try checkFeatures(data)
    }

    /// Throws one line naming `data`'s source and the columns when the data names its features
    /// and they are not the model's, in the model's order (reordered or renamed columns would feed
    /// the wrong numbers to every input).
    public func checkFeatures(_ data: Dataset) throws {
        try Self.checkFeatures(data, expected: featureNames, owner: "the model")
    }

    static func checkFeatures(_ data: Dataset, expected: [String]?, owner: String) throws {
        guard let expected, let got = data.featureNames, got != expected else { return }
        func list(_ names: [String]) -> String {
            names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ... (\(names.count) columns)" : "")
        }
        let missing = expected.filter { !got.contains($0) }, extra = got.filter { !expected.contains($0) }
        guard missing.isEmpty && extra.isEmpty && got.count == expected.count else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(list(missing))") }
            if !extra.isEmpty { parts.append("not in \(owner): \(list(extra))") }
            if parts.isEmpty { parts.append("\(got.count) columns for \(owner)'s \(expected.count): a column is repeated") }
            throw BottleneckError.file(data.source, "columns do not match \(owner)'s (\(parts.joined(separator: "; "))); \(owner) was trained on \(list(expected))")
        }
        let i = got.indices.first { got[$0] != expected[$0] }!  // same columns, another order
        throw BottleneckError.file(data.source, "has \(owner)'s columns in another order: column \(i + 1) is '\(got[i])' where \(owner) has '\(expected[i])'")
    }
}

/// One epoch of the history kept in a model file: losses and learning rate, without the timings
/// (those go to the training log, so equal runs give equal model files).
public struct EpochSummary: Codable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var learningRate: Float
    /// Named loss parts averaged over the epoch (reconstruction, kl, ...).
    public var parts: [String: Double]

    /// The summary of a log record.
    public init(_ record: EpochRecord) {
        epoch = record.epoch
        trainLoss = record.trainLoss
        validationLoss = record.validationLoss
        learningRate = record.learningRate
        parts = record.parts
    }
}

/// The typed documents of a model file or checkpoint (everything but the tensors).
struct ModelDocuments {
    var architecture: ArchitectureSpec
    var scaler: Scaler
    var featureNames: [String]?
    var classes: [Int]?
    var detector: Detector?
    var training: TrainingConfig?
    var dataDefaults: DataDefaults?
    var history: [EpochSummary]

    init(architecture: ArchitectureSpec, scaler: Scaler, featureNames: [String]?, classes: [Int]?,
         detector: Detector?, training: TrainingConfig?, history: [EpochSummary]) {
        (self.architecture, self.scaler, self.featureNames, self.classes) = (architecture, scaler, featureNames, classes)
        (self.detector, self.training, self.history) = (detector, training, history)
    }

    init(_ file: ModelFile, source: String) throws {
        func decode<T: Decodable>(_ key: ModelFileKey, as type: T.Type) throws -> T? {
            try file.documents[key].map { try decodeJSON(type, $0, source: "\(source) (\(key.rawValue))") }
        }
        // Format-1 files stored every variant flag whatever the variant: knobs of another variant are dropped.
        guard let architecture = try file.documents[.architecture].map({
            try decodeJSON(ArchitectureSpec.self, $0, source: "\(source) (architecture)", userInfo: [VariantSpec.formatOneOptions: true])
        }) else {
            throw BottleneckError.file(source, "no architecture in its metadata")
        }
        self.architecture = architecture
        // Files written before scaling was stored hold unscaled models.
        scaler = try file.documents[.scaling].map { try Scaler.fromJSON($0, source: "\(source) (scaling)") } ?? Scaler(.none)
        featureNames = try decode(.features, as: [String].self)
        classes = try decode(.classes, as: [Int].self)
        detector = try decode(.detector, as: Detector.self)
        training = try decode(.training, as: TrainingConfig.self)
        dataDefaults = try decode(.defaults, as: DataDefaults.self)
        history = try decode(.history, as: [EpochSummary].self) ?? []
    }

    func encoded() throws -> [ModelFileKey: String] {
        var d: [ModelFileKey: String] = [.architecture: try jsonString(architecture), .scaling: try jsonString(scaler)]
        d[.features] = try featureNames.map { try jsonString($0) }
        d[.classes] = try classes.map { try jsonString($0.sorted()) }
        d[.detector] = try detector.map { try jsonString($0) }
        d[.training] = try training.map { try jsonString($0) }
        d[.defaults] = try dataDefaults.map { try jsonString($0) }
        if !history.isEmpty { d[.history] = try jsonString(history) }
        return d
    }
}
