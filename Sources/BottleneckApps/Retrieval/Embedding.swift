import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining
/// The hash that names a trained model: SHA-256 of its architecture, weights and data scaling.
/// Codes are only comparable between inputs encoded by the same model; files holding codes
/// (a search index, a compressed file) record it, and refuse a query or decoder with another.
public func modelHash(_ model: Autoencoder, scaler: Scaler) throws -> String {
    var h = SHA256()
    h.update("bottleneck-model-hash/1\n")
    h.update(try jsonString(model.spec))
    h.update(try scaler.jsonString())
    for (name, t) in model.stateDict() {
        h.update(name)
        h.update(tensor: t)
    }
    return SHA256.hex(h.finalize())
}

/// What turns samples into vectors to compare: an autoencoder's encoder (on scaled data), PCA
/// projections, or the raw values (a baseline).
public enum Embedder {
    case model(Autoencoder, Scaler)
    case pca(PCA)
    case raw(sampleShape: [Int])

    public var kind: String {
        switch self {
        case .model: return "model"
        case .pca: return "pca"
        case .raw: return "raw"
        }
    }

    /// Per-sample shape of the inputs it takes.
    public var inputShape: [Int] {
        switch self {
        case .model(let m, _): return m.inputShape
        case .pca(let p): return [p.dimension]
        case .raw(let s): return s
        }
    }

    /// Length of the vectors it produces.
    public var dimension: Int {
        switch self {
        case .model(let m, _): return m.codeShape.reduce(1, *)
        case .pca(let p): return p.componentCount
        case .raw(let s): return s.reduce(1, *)
        }
    }

    /// Identifies the embedding: the model hash, a hash of the PCA basis, or the raw shape.
    public func fingerprint() throws -> String {
        switch self {
        case .model(let m, let s): return try modelHash(m, scaler: s)
        case .pca(let p):
            var h = SHA256()
            h.update("pca\n")
            h.update(tensor: p.mean)
            h.update(tensor: p.components)
            return SHA256.hex(h.finalize())
        case .raw(let s): return "raw" + formatShape(s)
        }
    }

    /// Vectors [N, dimension] for samples [N, input shape...] (in the units the data was loaded in:
    /// the model's scaling is applied here). Checks the per-sample shape.
    public func embed(_ samples: Tensor, source: String = "queries", batchSize: Int = 1000) throws -> Tensor {
        let n = samples.shape.first ?? 0
        let perSample = Array(samples.shape.dropFirst())
        switch self {
        case .model(let m, let scaler):
            try m.checkInput(perSample, source: source)
            m.eval()
            let scaled = Dataset(inputs: try scaler.transform(samples), source: source)
            return mapBatches(scaled, batchSize: batchSize) { m.encode($0) }.reshaped([n, dimension])
        case .pca(let p):
            guard perSample.reduce(1, *) == p.dimension else {
                throw BottleneckError("\(source): samples have \(perSample.reduce(1, *)) values, the PCA was fitted to \(p.dimension)")
            }
            return p.encode(samples.reshaped([n, p.dimension]))
        case .raw(let s):
            guard perSample.reduce(1, *) == s.reduce(1, *) else {
                throw BottleneckError("\(source): samples of shape \(formatShape(perSample)) do not match the indexed samples \(formatShape(s))")
            }
            return samples.reshaped([n, dimension]).copy()
        }
    }
}
