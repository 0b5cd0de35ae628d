import Foundation
import Bottleneck

/// The body formats the service reads and writes.
public enum BodyFormat: String, CaseIterable, Sendable {
    case json, npy, png, jpeg

    public var mediaType: String {
        switch self {
        case .json: return "application/json"
        case .npy: return "application/x-npy"
        case .png: return "image/png"
        case .jpeg: return "image/jpeg"
        }
    }

    /// The format of a Content-Type header ("application/json; charset=utf-8" is json).
    public init?(contentType: String) {
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let f = BodyFormat.allCases.first(where: { $0.mediaType == media }) ?? (media == "image/jpg" ? .jpeg : nil) else { return nil }
        self = f
    }
}

/// Per-request limits, beside the reader limits every file already has (InputLimits).
public struct RequestLimits: Equatable, Sendable {
    /// Largest request body accepted.
    public var maxBodyBytes = 16 << 20
    /// Most samples (rows, images, generated samples) in one request.
    public var maxRows = 4096
    /// Deepest nesting of arrays and objects in a JSON body.
    public var maxJSONDepth = 32

    public init() {}
}

/// Reads request bodies into tensors [N, sample shape...] in the data's own scale.
enum Payload {
    /// The JSON body of the row endpoints: `{"rows": [...]}`, each row an array of numbers (flat
    /// or nested as the sample shape) or an object keyed by the model's feature names.
    struct RowsBody: Decodable {
        var rows: [Row]
        private enum Keys: String, CodingKey { case rows, codes }
        /// `codes` is accepted for `rows` (what /decode takes).
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            if let r = try c.decodeIfPresent([Row].self, forKey: .rows) { rows = r } else { rows = try c.decode([Row].self, forKey: .codes) }
        }
    }

    enum Row: Decodable {
        case values([Double])
        case named([String: Double])

        init(from decoder: Decoder) throws {
            if let flat = try? decoder.singleValueContainer().decode([Double].self) { self = .values(flat); return }
            if let named = try? decoder.singleValueContainer().decode([String: Double].self) { self = .named(named); return }
            var out: [Double] = []
            try Row.flatten(try decoder.unkeyedContainer(), into: &out)
            self = .values(out)
        }

        /// Nested arrays of numbers, depth first (as numpy's C order).
        static func flatten(_ container: UnkeyedDecodingContainer, into out: inout [Double]) throws {
            var c = container
            while !c.isAtEnd {
                if let v = try? c.decode(Double.self) { out.append(v); continue }
                try flatten(try c.nestedUnkeyedContainer(), into: &out)
            }
        }
    }

    /// The samples of a body. `sampleShape` is what one sample must hold (the model's input, or
    /// its code for /decode); `anyImageSize` lets images of other sizes through (tiled restoration).
    static func samples(_ body: Data, format: BodyFormat, sampleShape: [Int], featureNames: [String]?,
                        limits: RequestLimits, anyImageSize: Bool = false, model: String) throws -> Tensor {
        let tensor: Tensor
        switch format {
        case .json: tensor = try jsonRows(body, sampleShape: sampleShape, featureNames: featureNames, limits: limits, model: model)
        case .npy: tensor = try npyRows(body, sampleShape: sampleShape, limits: limits, model: model)
        case .png, .jpeg: tensor = try image(body, format: format, sampleShape: sampleShape, anyImageSize: anyImageSize, model: model)
        }
        guard tensor.shape[0] >= 1 else { throw RequestError.unprocessable("the body holds no samples") }
        guard tensor.shape[0] <= limits.maxRows else {
            throw RequestError.tooLarge("the body holds \(tensor.shape[0]) samples, more than the \(limits.maxRows) a request may hold")
        }
        if let i = (0..<tensor.count).first(where: { !tensor.data[$0].isFinite }) {
            throw RequestError.unprocessable("sample \(i / max(1, tensor.count / tensor.shape[0])) holds a value that is not a finite number")
        }
        return tensor
    }

    static func checkJSON(_ body: Data, limits: RequestLimits) throws {
        if let problem = jsonStructureProblem(body, maxDepth: limits.maxJSONDepth) {
            throw RequestError.badRequest("the JSON body \(problem)")
        }
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ body: Data, limits: RequestLimits, expecting: String) throws -> T {
        try checkJSON(body, limits: limits)
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch DecodingError.keyNotFound {
            throw RequestError.badRequest("the JSON body lacks a field: expected \(expecting)")
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
            throw RequestError.badRequest("the JSON body's \(path(c.codingPath)) is not what it should be: expected \(expecting)")
        } catch {
            throw RequestError.badRequest("the body is not valid JSON (NaN and Infinity are not JSON numbers): expected \(expecting)")
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    static let rowsExpectation = "{\"rows\": [[numbers], ...]} or {\"rows\": [{\"column\": number, ...}, ...]}"

    static func jsonRows(_ body: Data, sampleShape: [Int], featureNames: [String]?, limits: RequestLimits, model: String) throws -> Tensor {
        let width = sampleShape.reduce(1, *)
        if let (values, lengths) = JSONRows.parse(body) {
            guard lengths.count <= limits.maxRows else {
                throw RequestError.tooLarge("the body holds \(lengths.count) rows, more than the \(limits.maxRows) a request may hold")
            }
            if let i = lengths.firstIndex(where: { $0 != width }) {
                throw RequestError.unprocessable("row \(i) has \(lengths[i]) values, model '\(model)' takes \(width) (\(formatShape(sampleShape)))")
            }
            return Tensor(shape: [lengths.count] + sampleShape, values: values)
        }
        let rows = try decodeJSON(RowsBody.self, body, limits: limits, expecting: rowsExpectation).rows
        guard rows.count <= limits.maxRows else {
            throw RequestError.tooLarge("the body holds \(rows.count) rows, more than the \(limits.maxRows) a request may hold")
        }
        var values = [Float]()
        values.reserveCapacity(rows.count * width)
        for (i, row) in rows.enumerated() {
            switch row {
            case .values(let v):
                guard v.count == width else {
                    throw RequestError.unprocessable("row \(i) has \(v.count) values, model '\(model)' takes \(width) (\(formatShape(sampleShape)))")
                }
                values += v.map { Float($0) }
            case .named(let named):
                guard let names = featureNames, sampleShape.count == 1 else {
                    throw RequestError.unprocessable("row \(i) is an object, but model '\(model)' has no column names: send rows as arrays of \(width) numbers")
                }
                let missing = names.filter { named[$0] == nil }, extra = named.keys.filter { !names.contains($0) }.sorted()
                guard missing.isEmpty, extra.isEmpty else {
                    var parts: [String] = []
                    if !missing.isEmpty { parts.append("missing \(missing.prefix(8).joined(separator: ", "))") }
                    if !extra.isEmpty { parts.append("not in the model: \(extra.prefix(8).joined(separator: ", "))") }
                    throw RequestError.unprocessable("row \(i): \(parts.joined(separator: "; "))")
                }
                values += names.map { Float(named[$0]!) }
            }
        }
        return Tensor(shape: [rows.count] + sampleShape, values: values)
    }

    static func npyRows(_ body: Data, sampleShape: [Int], limits: RequestLimits, model: String) throws -> Tensor {
        let array: NPYArray
        do { array = try NPYArray.decode(body, source: "the NPY body") } catch let e as BottleneckError {
            throw RequestError.badRequest(e.message)
        }
        let s = array.shape, width = sampleShape.reduce(1, *)
        let n: Int
        if Array(s.dropFirst()) == sampleShape || (s.count == 2 && s[1] == width) { n = s[0] }
        else if s == sampleShape { n = 1 }
        else {
            throw RequestError.unprocessable("the NPY array is \(formatShape(s)), model '\(model)' takes [N] + \(formatShape(sampleShape)) or [N, \(width)]")
        }
        return Tensor(shape: [n] + sampleShape, values: array.values)
    }

    static func image(_ body: Data, format: BodyFormat, sampleShape: [Int], anyImageSize: Bool, model: String) throws -> Tensor {
        guard sampleShape.count == 3, [1, 3].contains(sampleShape[0]) else {
            throw RequestError.unsupportedMediaType("model '\(model)' takes \(formatShape(sampleShape)) samples, not images: send JSON rows or NPY")
        }
        var image: Image
        do { image = try Image.decode(body, source: "the \(format == .png ? "PNG" : "JPEG") body") } catch let e as BottleneckError {
            throw RequestError.badRequest(e.message)
        }
        if image.channels == 3 && sampleShape[0] == 1 {
            throw RequestError.unprocessable("the image is in colour, model '\(model)' takes grayscale (1-channel) images")
        }
        image = image.converted(toChannels: sampleShape[0])
        if !anyImageSize && (image.height != sampleShape[1] || image.width != sampleShape[2]) {
            throw RequestError.unprocessable("the image is \(image.width)x\(image.height), model '\(model)' takes \(sampleShape[2])x\(sampleShape[1]) images")
        }
        let t = image.tensor()
        return t.reshaped([1] + t.shape)
    }
}
