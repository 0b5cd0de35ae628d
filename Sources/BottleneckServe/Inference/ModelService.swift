import Foundation
import Bottleneck

/// A request to a model, as the HTTP layer hands it over: no HTTP types, so the service can be
/// driven (and tested) without a socket.
public struct ServiceRequest: Sendable {
    public var model: String
    public var operation: ModelOperation
    public var body: Data
    public var contentType: String?
    public var accept: String?
    public var query: [String: String]

    public init(model: String, operation: ModelOperation, body: Data, contentType: String? = nil, accept: String? = nil,
                query: [String: String] = [:]) {
        (self.model, self.operation, self.body, self.contentType, self.accept, self.query) = (model, operation, body, contentType, accept, query)
    }
}

public struct ServiceResponse: Sendable {
    public var contentType: String
    public var body: Data
}

/// Runs the operations of the served models: reads the body, checks it against the model, queues
/// the forward pass (batched with others where it can be) and writes the answer.
public final class ModelService: @unchecked Sendable {
    public let registry: ModelRegistry
    public let queue: InferenceQueue
    public let limits: RequestLimits

    public init(registry: ModelRegistry, queue: InferenceQueue, limits: RequestLimits) {
        (self.registry, self.queue, self.limits) = (registry, queue, limits)
    }

    public func handle(_ r: ServiceRequest) async throws -> ServiceResponse {
        let m = try registry.model(named: r.model)
        guard m.operations.contains(r.operation) else {
            throw RequestError.notFound("model '\(m.name)' does not offer \(r.operation.rawValue) (it offers \(m.operations.map(\.rawValue).joined(separator: ", ")))")
        }
        guard r.body.count <= limits.maxBodyBytes else {
            throw RequestError.tooLarge("the body has \(r.body.count) bytes, more than the \(limits.maxBodyBytes) a request may hold")
        }
        if r.operation == .generate { return try await generate(m, r) }

        guard let type = r.contentType, let format = BodyFormat(contentType: type) else {
            throw RequestError.unsupportedMediaType("Content-Type \(r.contentType.map { "'\($0)'" } ?? "missing"): send \(BodyFormat.allCases.map(\.mediaType).joined(separator: ", "))")
        }
        let sampleShape = r.operation == .decode ? m.model.codeShape : m.sampleShape
        // Row operations share forward passes; ELBO scores draw latent samples, so a pass of its
        // own keeps each request's scores independent of its neighbours. Announced before the body
        // is read, so a batch being formed waits for this request rather than leaving without it.
        let batchable = r.operation.isBatchable && !(r.operation == .score && m.score == .elbo)
        let key = batchable ? InferenceQueue.BatchKey(model: ObjectIdentifier(m), operation: r.operation, sampleShape: sampleShape) : nil
        if let key { queue.announce(key) }
        var submitted = false
        defer { if let key, !submitted { queue.withdraw(key) } }
        let anySize = [.denoise, .unwatermark, .colorize, .inpaint].contains(r.operation)
        let input = try Payload.samples(r.body, format: format, sampleShape: sampleShape, featureNames: r.operation == .decode ? nil : m.bundle.featureNames,
                                        limits: limits, anyImageSize: anySize, model: m.name)
        let output = try ResponseFormat.choose(for: r.operation, accept: r.accept, request: format, model: m)

        let compute: (Tensor) throws -> [Tensor]
        switch r.operation {
        case .score: compute = m.scores
        case .encode: compute = m.encode
        case .reconstruct: compute = m.reconstruct
        case .decode: compute = m.decode
        case .denoise, .unwatermark: compute = m.restore
        case .colorize: compute = m.colorize
        case .inpaint:
            guard let rect = r.query["rect"] else { throw RequestError.badRequest("inpaint needs the hole: ?rect=x,y,width,height in pixels") }
            let hole = try HoleRectangle(parsing: rect)
            guard hole.x + hole.width <= input.shape[3], hole.y + hole.height <= input.shape[2] else {
                throw RequestError.unprocessable("rect \(rect) reaches outside the \(input.shape[3])x\(input.shape[2]) image")
            }
            compute = { try m.inpaint($0, hole: hole) }
        case .generate: fatalError("handled above")
        }
        submitted = true
        let outputs = try await run(InferenceQueue.Work(key: key, model: m.name, operation: r.operation, input: input, compute: compute),
                                    announced: key != nil)

        switch r.operation {
        case .score:
            return ServiceResponse(contentType: BodyFormat.json.mediaType, body: ResponseWriter.scores(m, outputs))
        case .encode:
            return try ResponseWriter.tensor(outputs[0], as: output, key: "codes", model: m)
        default:
            return try ResponseWriter.tensor(outputs[0], as: output, key: "rows", model: m)
        }
    }

    struct GenerateBody: Decodable { var count: Int?; var seed: UInt64? }

    private func generate(_ m: ServedModel, _ r: ServiceRequest) async throws -> ServiceResponse {
        var body = GenerateBody()
        if !r.body.isEmpty {
            guard let type = r.contentType, BodyFormat(contentType: type) == .json else {
                throw RequestError.unsupportedMediaType("generate takes a JSON body {\"count\": N, \"seed\": S} (Content-Type application/json)")
            }
            body = try Payload.decodeJSON(GenerateBody.self, r.body, limits: limits, expecting: "{\"count\": N, \"seed\": S}")
        }
        let count = body.count ?? 1
        guard count >= 1 else { throw RequestError.unprocessable("count must be at least 1, got \(count)") }
        guard count <= limits.maxRows else { throw RequestError.tooLarge("count \(count) is more than the \(limits.maxRows) samples a request may ask for") }
        let output = try ResponseFormat.choose(for: .generate, accept: r.accept, request: .json, model: m)
        if output == .png && count != 1 { throw ResponseWriter.onePNG(count) }
        let seed = body.seed ?? 0
        let outputs = try await run(InferenceQueue.Work(key: nil, model: m.name, operation: .generate, input: Tensor(shape: [count], values: [Float](repeating: 0, count: count))) { _ in
            try m.generate(count: count, seed: seed)
        })
        return try ResponseWriter.tensor(outputs[0], as: output, key: "rows", model: m)
    }

    /// Library errors from a forward pass (a shape the model cannot take) are the request's fault.
    private func run(_ work: InferenceQueue.Work, announced: Bool = false) async throws -> [Tensor] {
        do { return try await queue.run(work, announced: announced) } catch let e as BottleneckError {
            throw RequestError.unprocessable(e.message)
        }
    }

    // MARK: Model descriptions

    public func listJSON() -> Data {
        ResponseWriter.json(ModelList(models: registry.all.map(ModelInfo.init)))
    }

    public func infoJSON(_ name: String) throws -> Data {
        ResponseWriter.json(ModelInfo(try registry.model(named: name)))
    }
}

/// The output format of a response: the one `Accept` asks for, else the request's own.
enum ResponseFormat {
    case json, npy, png

    static func choose(for op: ModelOperation, accept: String?, request: BodyFormat, model: ServedModel) throws -> ResponseFormat {
        let imageOut = ![ModelOperation.score, .encode].contains(op) && (op == .decode || op == .generate ? model.isImageModel : model.isImageModel || op == .colorize)
        var offered: [ResponseFormat] = op == .score ? [.json] : [.json, .npy]
        if imageOut { offered.append(.png) }
        let natural: ResponseFormat
        switch request {
        case .npy: natural = .npy
        case .png, .jpeg: natural = imageOut ? .png : .json
        case .json: natural = .json
        }
        guard let accept, !accept.isEmpty else { return offered.contains(natural) ? natural : .json }
        let types = accept.split(separator: ",").map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        for t in types {
            switch t {
            case "*/*", "application/*": return offered.contains(natural) ? natural : .json
            case "image/*" where imageOut: return offered.contains(natural) ? natural : .json
            case "application/json": return .json
            case "application/x-npy" where offered.contains(.npy): return .npy
            case "image/png" where offered.contains(.png): return .png
            default: continue
            }
        }
        let names = offered.map { f -> String in
            switch f { case .json: return "application/json"; case .npy: return "application/x-npy"; case .png: return "image/png" }
        }
        throw RequestError.notAcceptable("Accept '\(accept.prefix(100))': \(op.rawValue) answers \(names.joined(separator: ", "))")
    }
}
