import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// A searchable collection: the codes of every item, their ids and labels, and what made the codes
/// (an autoencoder, identified by its hash; a PCA basis, stored here; or raw values). Saved as a
/// safetensors file: tensors `codes` [N, k], `labels` [N] (optional), `pca.mean`/`pca.components`
/// (PCA indexes); metadata `format`, `embedding`, `fingerprint`, `sample_shape`, `metric`, `ids`, ...
public struct SearchIndex {
    public static let formatName = "bottleneck-index"
    public static let formatVersion = "1"

    public var codes: Tensor
    /// Item names (file names of an image folder); nil: items are named by their row number.
    public var ids: [String]?
    public var labels: [Int]?
    public var classNames: [String]?
    /// "model", "pca" or "raw".
    public var embedding: String
    /// The model hash (or PCA basis hash, or raw shape) that queries must match.
    public var fingerprint: String
    public var sampleShape: [Int]
    /// The metric searches use unless told otherwise.
    public var metric: DistanceMetric
    /// Where the items came from and which model encoded them, for messages.
    public var source: String
    public var modelName: String?
    public var pca: PCA?

    public var count: Int { codes.shape[0] }
    public var dimension: Int { codes.shape[1] }

    /// Encodes every sample of `data` (unscaled, as loaded) with `embedder`.
    public static func build(_ embedder: Embedder, data: Dataset, ids: [String]? = nil, classNames: [String]? = nil,
                             metric: DistanceMetric = .cosine) throws -> SearchIndex {
        if let ids, ids.count != data.count { throw BottleneckError("index: \(ids.count) ids for \(data.count) samples") }
        guard data.count > 0 else { throw BottleneckError("\(data.source): no samples to index") }
        let codes = try embedder.embed(data.inputs, source: data.source)
        try validateFinite(codes, source: "codes of \(data.source)")
        var modelName: String?, pca: PCA?
        switch embedder {
        case .model(let m, _): modelName = m.spec.name
        case .pca(let p): pca = p
        case .raw: break
        }
        return SearchIndex(codes: codes, ids: ids, labels: data.labels, classNames: classNames, embedding: embedder.kind,
                           fingerprint: try embedder.fingerprint(), sampleShape: data.sampleShape, metric: metric,
                           source: data.source, modelName: modelName, pca: pca)
    }

    /// The name of item `row`.
    public func id(_ row: Int) -> String { ids?[row] ?? String(row) }

    /// The label of item `row` as text: its class name when known.
    public func labelText(_ label: Int) -> String {
        if let names = classNames, names.indices.contains(label) { return "\(label) \(names[label])" }
        return String(label)
    }

    /// The search structure over the codes.
    public func searcher(metric: DistanceMetric? = nil) throws -> ExactSearch {
        try ExactSearch(items: codes, metric: metric ?? self.metric)
    }

    /// The embedder that makes queries comparable to the indexed codes. A model index needs the
    /// very model (same hash) that built it; PCA and raw indexes carry what they need.
    public func embedder(model: (Autoencoder, Scaler, path: String)?, source: String) throws -> Embedder {
        switch embedding {
        case "model":
            guard let (m, scaler, path) = model else {
                throw BottleneckError.file(source, "holds codes of model '\(modelName ?? "?")' (hash \(fingerprint.prefix(12))): give that model")
            }
            let hash = try modelHash(m, scaler: scaler)
            guard hash == fingerprint else {
                throw BottleneckError.file(source, "was built by another model (hash \(fingerprint.prefix(12)), '\(modelName ?? "?")'); \(path) has hash \(hash.prefix(12)): encode queries with the model that built the index")
            }
            return .model(m, scaler)
        case "pca":
            if let model { throw BottleneckError.file(source, "holds PCA codes and needs no model, but model \(model.path) was given") }
            guard let pca else { throw BottleneckError.file(source, "PCA index without its PCA basis") }
            return .pca(pca)
        default:
            if let model { throw BottleneckError.file(source, "holds raw values and needs no model, but model \(model.path) was given") }
            return .raw(sampleShape: sampleShape)
        }
    }

    public func write(to path: String) throws {
        var tensors: [(String, Tensor)] = [("codes", codes)]
        if let labels { tensors.append(("labels", Tensor(shape: [labels.count], values: labels.map(Float.init)))) }
        if let pca { tensors += [("pca.mean", pca.mean), ("pca.components", pca.components)] }
        var meta = ["format": Self.formatName, "format_version": Self.formatVersion, "embedding": embedding,
                    "fingerprint": fingerprint, "sample_shape": try jsonString(sampleShape), "metric": metric.rawValue, "source": source]
        if let ids { meta["ids"] = try jsonString(ids) }
        if let classNames { meta["class_names"] = try jsonString(classNames) }
        if let modelName { meta["model_name"] = modelName }
        try SafeTensors(tensors: tensors, metadata: meta).write(to: path)
    }

    public static func read(_ path: String) throws -> SearchIndex {
        try decode(try SafeTensors.read(path), source: path)
    }

    /// An index's bytes; `source` names them in errors.
    public static func decode(_ data: Data, source: String) throws -> SearchIndex {
        try decode(try SafeTensors.decode(data, source: source), source: source)
    }

    private static func decode(_ file: SafeTensors, source path: String) throws -> SearchIndex {
        let m = file.metadata
        func fail(_ why: String) -> BottleneckError { .file(path, "not a valid search index: \(why)") }
        guard m["format"] == formatName else {
            throw BottleneckError.file(path, m["format"] == ModelFile.formatName ? "is a model file, not a search index (build one with `bottleneck index`)"
                                             : "not a search index (build one with `bottleneck index`)")
        }
        guard m["format_version"] == formatVersion else { throw fail("format version \(m["format_version"] ?? "?"), this program reads \(formatVersion)") }
        guard let codes = file["codes"], codes.rank == 2 else { throw fail("no [N, k] tensor 'codes'") }
        guard let embedding = m["embedding"], ["model", "pca", "raw"].contains(embedding), let fingerprint = m["fingerprint"],
              let shapeText = m["sample_shape"], let metricName = m["metric"], let metric = DistanceMetric(rawValue: metricName) else {
            throw fail("metadata lacks embedding, fingerprint, sample_shape or metric")
        }
        let sampleShape = try decodeJSON([Int].self, shapeText, source: "\(path) (sample_shape)")
        let n = codes.shape[0]
        var labels: [Int]?
        if let l = file["labels"] {
            guard l.count == n else { throw fail("\(l.count) labels for \(n) codes") }
            if let k = l.scalars.firstIndex(where: { !($0 >= 0 && $0 < 16_777_216 && $0 == $0.rounded()) }) {
                throw fail("label \(l.scalars[k]) at row \(k) is not a class number")
            }
            labels = l.scalars.map { Int($0) }
        }
        if let k = (0..<codes.count).first(where: { !codes.data[$0].isFinite }) {
            throw fail("code value \(codes.data[k]) at row \(k / max(codes.shape[1], 1)) is not finite")
        }
        let ids = try m["ids"].map { try decodeJSON([String].self, $0, source: "\(path) (ids)") }
        if let ids, ids.count != n { throw fail("\(ids.count) ids for \(n) codes") }
        let classNames = try m["class_names"].map { try decodeJSON([String].self, $0, source: "\(path) (class_names)") }
        var pca: PCA?
        if embedding == "pca" {
            guard let mean = file["pca.mean"], let comps = file["pca.components"], comps.rank == 2,
                  comps.shape[1] == mean.count, comps.shape[0] == codes.shape[1] else { throw fail("PCA basis missing or of the wrong shape") }
            pca = PCA(mean: mean, components: comps, explainedVariance: [])
        }
        let index = SearchIndex(codes: codes, ids: ids, labels: labels, classNames: classNames, embedding: embedding,
                                fingerprint: fingerprint, sampleShape: sampleShape, metric: metric,
                                source: m["source"] ?? path, modelName: m["model_name"], pca: pca)
        if let pca, try Embedder.pca(pca).fingerprint() != fingerprint { throw fail("the PCA basis does not match its fingerprint (modified?)") }
        return index
    }
}
