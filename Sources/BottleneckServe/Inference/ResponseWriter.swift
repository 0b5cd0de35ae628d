import Foundation
import Bottleneck

/// Writes response bodies. Tensors go out as JSON text built directly (shortest round-trip float
/// digits, as the CLI's CSV files), NPY, or PNG for one image.
enum ResponseWriter {
    static func json<T: Encodable>(_ value: T) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return (try? e.encode(value)) ?? Data("{}".utf8)
    }

    static func onePNG(_ count: Int) -> RequestError {
        RequestError.notAcceptable("a PNG holds one image and this answer has \(count): accept application/json or application/x-npy")
    }

    /// `{"model": ..., "shape": [N, ...], KEY: [[values of sample 0], ...]}`, or NPY, or a PNG.
    static func tensor(_ t: Tensor, as format: ResponseFormat, key: String, model: ServedModel) throws -> ServiceResponse {
        switch format {
        case .npy:
            return ServiceResponse(contentType: BodyFormat.npy.mediaType, body: NPYArray.encoded(t))
        case .png:
            guard t.shape[0] == 1 else { throw onePNG(t.shape[0]) }
            let image = try Image(tensor: withoutGradients { t.clamp(0, 1) }.reshaped(Array(t.shape.dropFirst())))
            return ServiceResponse(contentType: BodyFormat.png.mediaType, body: try image.pngData())
        case .json:
            var out = "{\"model\":" + quoted(model.name) + ",\"shape\":[" + t.shape.map(String.init).joined(separator: ",") + "],\"" + key + "\":"
            appendRows(t, to: &out)
            out += "}"
            return ServiceResponse(contentType: BodyFormat.json.mediaType, body: Data(out.utf8))
        }
    }

    static func scores(_ m: ServedModel, _ outputs: [Tensor]) -> Data {
        let scores = outputs[0]
        var out = "{\"model\":" + quoted(m.name) + ",\"score\":\"" + m.score.rawValue + "\",\"threshold\":"
        out += m.detector.map { number($0.threshold) } ?? "null"
        out += ",\"scores\":["
        for i in 0..<scores.count { if i > 0 { out += "," }; out += number(scores.data[i]) }
        out += "],\"flags\":"
        if let d = m.detector {
            out += "[" + (0..<scores.count).map { d.isAnomaly(scores.data[$0]) ? "true" : "false" }.joined(separator: ",") + "]"
        } else {
            out += "null"
        }
        if outputs.count > 1 {
            out += ",\"feature_errors\":"
            appendRows(outputs[1], to: &out)
            if let names = m.bundle.featureNames { out += ",\"features\":[" + names.map(quoted).joined(separator: ",") + "]" }
        }
        out += "}"
        return Data(out.utf8)
    }

    /// Samples as arrays of their values, flat (C order).
    static func appendRows(_ t: Tensor, to out: inout String) {
        let n = t.shape.first ?? 0, width = n == 0 ? 0 : t.count / n
        out += "["
        for i in 0..<n {
            out += i == 0 ? "[" : ",["
            for j in 0..<width { if j > 0 { out += "," }; out += number(t.data[i * width + j]) }
            out += "]"
        }
        out += "]"
    }

    static func number(_ v: Float) -> String { v.isFinite ? v.description : "null" }
    static func number(_ v: Double) -> String { v.isFinite ? v.description : "null" }

    private static let plainEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    static func quoted(_ s: String) -> String {
        String(data: (try? plainEncoder.encode(s)) ?? Data("\"\"".utf8), encoding: .utf8) ?? "\"\""
    }
}

/// What `GET /v1/models/{name}` says about a model (snake_case keys).
public struct ModelInfo: Codable, Equatable {
    public struct Architecture: Codable, Equatable {
        public var name: String
        public var variant: String
        public var inputShape: [Int]
        public var codeShape: [Int]
        public var parameters: Int
        public var encoder: [String]
        public var decoder: [String]
    }
    public struct DetectorInfo: Codable, Equatable {
        public var score: String
        public var rule: String
        public var threshold: Double
        public var fittedOn: String?
    }
    public struct TrainingInfo: Codable, Equatable {
        public var epochs: Int
        public var batchSize: Int
        public var learningRate: Float
        public var loss: String
        public var seed: UInt64
        public var finalTrainLoss: Double?
        public var finalValidationLoss: Double?
    }
    public var name: String
    public var file: String
    public var loadedAt: String
    public var architecture: Architecture
    public var featureNames: [String]?
    public var classes: [Int]?
    public var scaling: String
    public var score: String
    public var detector: DetectorInfo?
    public var training: TrainingInfo?
    public var operations: [String]

    init(_ m: ServedModel) {
        let spec = m.model.spec
        name = m.name
        file = (m.path as NSString).lastPathComponent
        loadedAt = ISO8601DateFormatter().string(from: m.loadedAt)
        architecture = Architecture(name: spec.name, variant: spec.variant?.kind.name ?? "plain", inputShape: m.sampleShape,
                                    codeShape: m.model.codeShape, parameters: m.model.parameterCount,
                                    encoder: spec.encoder.map(\.type), decoder: spec.decoder.map(\.type))
        featureNames = m.bundle.featureNames
        classes = m.bundle.classes
        scaling = m.bundle.scaler.kind.rawValue
        score = m.score.rawValue
        detector = m.detector.map { DetectorInfo(score: $0.score.rawValue, rule: $0.rule.description, threshold: $0.threshold, fittedOn: $0.fittedOn) }
        training = m.bundle.training.map {
            TrainingInfo(epochs: $0.epochs, batchSize: $0.batchSize, learningRate: $0.learningRate, loss: $0.loss.rawValue, seed: $0.seed,
                         finalTrainLoss: m.bundle.history.last?.trainLoss, finalValidationLoss: m.bundle.history.last?.validationLoss)
        }
        operations = m.operations.map(\.rawValue)
    }
}

struct ModelList: Codable { var models: [ModelInfo] }
