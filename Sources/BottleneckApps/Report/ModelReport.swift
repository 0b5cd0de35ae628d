import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// What `ModelReport` computes beyond the model card.
public struct ReportOptions {
    /// Codes drawn in the code-space maps (evenly spaced through the data).
    public var mapSamples = 1000
    /// Whether to compute a t-SNE map beside the PCA map (seconds for a thousand codes).
    public var tsne = true
    /// Images: sweep the codes' bits and JPEG's qualities for a rate-distortion curve (on the
    /// first `rateDistortionSamples` images).
    public var rateDistortion = false
    public var rateDistortionSamples = 500
    /// Images in each strip of reconstructions (random, best, worst) and of top anomalies.
    public var strip = 12
    /// Rows of the top-anomalies table.
    public var topAnomalies = 10
    /// The page of a run in progress: it asks the browser to reload itself.
    public var live = false
    public init() {}
}

/// Everything the report page shows about one model, computed from its bundle and, when given,
/// data scaled as the model was trained (`TrainedModel.prepare`). Every figure comes from the
/// same library function as the command that prints it (`summary`, `eval`, `detect`).
public struct ModelReport {
    public var card: ModelCard
    public var training: TrainingCurves?
    public var reconstruction: ReconstructionSection?
    public var codes: CodeSpace?
    public var detection: DetectionSection?
    public var generation: GenerationSection?
    public var rateDistortion: [RatePoint]?
    /// Why a section is missing or what it is based on, one line each.
    public var notes: [String] = []
    public var live: Bool

    /// `history`: the full per-epoch history when it is longer than the file's (a run in
    /// progress, or a checkpoint beside the file); `modelPath` fills the card's file facts.
    /// `anomalies`: which samples are anomalies, where the data's labels do not say it sample by
    /// sample (windows take their rows' labels); nil: from the labels and the detector's classes.
    public init(bundle: TrainedModel, modelPath: String?, data: Dataset?, history: [EpochSummary]? = nil,
                anomalies: [Bool]? = nil, options: ReportOptions = ReportOptions()) throws {
        live = options.live
        card = try ModelCard(bundle: bundle, path: modelPath)
        let fullHistory = history ?? modelPath.flatMap { Self.checkpointHistory(besides: $0, model: bundle) } ?? bundle.history
        if !fullHistory.isEmpty {
            training = TrainingCurves(history: fullHistory, bestEpoch: bundle.history.count > 0 ? bundle.history.count : nil)
        } else {
            notes.append("training: the model file holds no history (it was not made by `bottleneck train`)")
        }
        guard let data else {
            notes.append("data: none given, so no reconstructions, codes or scores (give --data)")
            return
        }
        try bundle.model.checkInput(data.sampleShape, source: data.source)
        reconstruction = try ReconstructionSection(bundle: bundle, data: data, strip: options.strip)
        codes = try CodeSpace(model: bundle.model, data: data, samples: options.mapSamples, tsne: options.tsne)
        if bundle.detector != nil {
            detection = try DetectionSection(bundle: bundle, data: data, anomalies: anomalies, top: options.topAnomalies, strip: options.strip)
        } else {
            notes.append("detector: none stored (bottleneck detect --model M --fit stores one)")
        }
        if (try? Generation.prior(of: bundle.model)) != nil, data.sampleShape.count == 3 {
            generation = try GenerationSection(bundle: bundle, data: data, count: options.strip)
        }
        if options.rateDistortion {
            guard data.sampleShape.count == 3 else { throw BottleneckError("the rate-distortion curve compares with JPEG: it needs image data, got samples of \(formatShape(data.sampleShape))") }
            let n = Swift.min(options.rateDistortionSamples, data.count)
            let images = try bundle.scaler.inverseTransform(data.subset(Array(0..<n)).inputs)
            rateDistortion = try AutoencoderCodec(model: bundle.model, scaler: bundle.scaler).rateDistortionSweep(images)
        }
    }

    /// The history in the training checkpoint beside `path` when it continues the file's own
    /// (epochs after the best one, which the model file does not keep).
    static func checkpointHistory(besides path: String, model: TrainedModel) -> [EpochSummary]? {
        let checkpoint = TrainingSession.checkpointPath(for: path)
        guard let file = try? ModelFile.read(checkpoint, format: ModelFile.checkpointFormatName),
              let text = file.documents[.history],
              let history = try? JSONDecoder().decode([EpochSummary].self, from: Data(text.utf8)),
              history.count > model.history.count, Array(history.prefix(model.history.count)) == model.history else { return nil }
        return history
    }
}

/// The model card: the architecture table, sizes, scaling, training configuration and file.
public struct ModelCard {
    public var name: String
    public var variant: String
    public var layers: [LayerRow]
    public var parameters: Int, encoderParameters: Int, decoderParameters: Int
    public var inputShape: [Int], codeShape: [Int]
    public var compressionRatio: Double
    public var scaling: String
    public var featureNames: [String]?
    public var classes: [Int]?
    /// The training configuration as (setting, value) rows, in the file's JSON field order.
    public var training: [(String, String)]
    public var dataDefaults: String?
    public var detector: String?
    public var path: String?, bytes: Int?, sha256: String?, modified: Date?
    public var version = BottleneckVersion.current

    init(bundle: TrainedModel, path: String?) throws {
        let m = bundle.model
        name = m.spec.name
        variant = m.spec.variant?.kind.name ?? "plain"
        layers = try m.layerRows()
        (parameters, encoderParameters, decoderParameters) = (m.parameterCount, m.encoder.parameterCount, m.decoder.parameterCount)
        (inputShape, codeShape, compressionRatio) = (m.inputShape, m.codeShape, m.compressionRatio)
        scaling = bundle.scaler.kind.rawValue
        featureNames = bundle.featureNames
        classes = bundle.classes
        training = try bundle.training.map(Self.rows) ?? []
        dataDefaults = bundle.dataDefaults?.summary
        detector = bundle.detector.map { "\($0.score.rawValue) score, threshold \(String(format: "%.6g", $0.threshold)) (\($0.rule))" }
        if let path {
            self.path = path
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes = data.count
            sha256 = SHA256.hexDigest(data)
            modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
    }

    /// A configuration's fields as they are stored, nested values as compact JSON.
    static func rows(_ config: TrainingConfig) throws -> [(String, String)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let object = try JSONSerialization.jsonObject(with: try encoder.encode(config)) as? [String: Any] else { return [] }
        return object.keys.sorted().map { key in
            let value = object[key]!
            if let s = value as? String { return (key, s) }
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
               let text = String(data: data, encoding: .utf8) { return (key, text) }
            return (key, "\(value)")
        }
    }
}

/// Loss per epoch, the learning rate, and the variant's terms.
public struct TrainingCurves {
    public var history: [EpochSummary]
    /// The epoch whose weights the file holds (its history's length); nil when unknown.
    public var bestEpoch: Int?
}

/// Reconstruction quality on the data, per-sample errors and example strips.
public struct ReconstructionSection {
    /// As `eval` prints them.
    public var metrics: ReconstructionMetrics
    public var source: String
    /// Each sample's MSE (scaled units).
    public var sampleErrors: [Double]
    /// Images: PNG strips of originals over reconstructions.
    public var random: Data?, best: Data?, worst: Data?
    public var bestIndices: [Int] = [], worstIndices: [Int] = []
    /// Tables: each feature's mean squared error over the rows, in scaled units.
    public var featureErrors: [(name: String, mse: Double)]?

    init(bundle: TrainedModel, data: Dataset, strip: Int) throws {
        let model = bundle.model
        metrics = try evaluateReconstruction(model, on: data)
        source = data.source
        let errors = try reconstructionErrorsPerSample(model, on: data).mse
        var featureSums: [Double]? = data.sampleShape.count == 1 ? [Double](repeating: 0, count: data.featureCount) : nil
        if featureSums != nil {
            withoutGradients {
                for x in data.sequentialBatches(size: 500) {
                    let f = SampleMetrics.perFeature(.mse, model.decode(model.encode(x)), x)
                    let k = f.shape[1]
                    for i in 0..<f.shape[0] { for j in 0..<k { featureSums![j] += Double(f.data[i * k + j]) } }
                }
            }
        }
        sampleErrors = errors
        if let featureSums {
            let names = bundle.featureNames ?? data.featureNames ?? (0..<featureSums.count).map { "feature \($0)" }
            featureErrors = zip(names, featureSums).map { ($0, $1 / Double(max(data.count, 1))) }
        }
        guard data.sampleShape.count == 3 else { return }
        let order = errors.indices.sorted { (errors[$0], $0) < (errors[$1], $1) }
        let n = Swift.min(strip, data.count)
        bestIndices = Array(order.prefix(n))
        worstIndices = Array(order.suffix(n).reversed())
        let step = Swift.max(data.count / Swift.max(n, 1), 1)
        random = try Self.strip(bundle, data, Array(stride(from: 0, to: step * n, by: step)))
        best = try Self.strip(bundle, data, bestIndices)
        worst = try Self.strip(bundle, data, worstIndices)
    }

    /// Originals (top row) over their reconstructions, in the data's own units, as PNG.
    static func strip(_ bundle: TrainedModel, _ data: Dataset, _ indices: [Int]) throws -> Data {
        let x = data.batch(indices)
        let r = withoutGradients { bundle.model.decode(bundle.model.encode(x)) }
        let images = Tensor.concat([try bundle.scaler.inverseTransform(x), try bundle.scaler.inverseTransform(r)], axis: 0)
        return try imageGrid(images, columns: indices.count).pngData()
    }
}

/// Where the codes fall: 2-D maps and each code unit's spread.
public struct CodeSpace {
    public var codeSize: Int
    /// The mapped samples' indices into the data.
    public var indices: [Int]
    /// The first two principal components of the mapped codes, and the variance share each explains.
    public var pca: [(Double, Double)]
    public var explained: [Double]
    public var tsne: [(Double, Double)]?
    public var labels: [Int]?
    public var labelNames: [String]
    /// Each code unit's standard deviation over all samples.
    public var unitSpread: [Double]
    /// Units whose value is the same for every sample (dead).
    public var deadUnits: [Int]

    init(model: Autoencoder, data: Dataset, samples: Int, tsne wantTSNE: Bool) throws {
        model.eval()
        let codes = withoutGradients { Tensor.concat(data.sequentialBatches(size: 500).map { model.encode($0) }, axis: 0) }
        let n = data.count
        codeSize = codes.count / Swift.max(n, 1)
        let flat = codes.reshaped([n, codeSize])
        var mean = [Double](repeating: 0, count: codeSize), square = mean
        var low = [Float](repeating: .infinity, count: codeSize), high = [Float](repeating: -.infinity, count: codeSize)
        for i in 0..<n {
            for j in 0..<codeSize {
                let v = flat.data[i * codeSize + j]
                mean[j] += Double(v); square[j] += Double(v) * Double(v)
                low[j] = Swift.min(low[j], v); high[j] = Swift.max(high[j], v)
            }
        }
        unitSpread = (0..<codeSize).map { j in
            let m = mean[j] / Double(n)
            return sqrt(Swift.max(square[j] / Double(n) - m * m, 0))
        }
        deadUnits = (0..<codeSize).filter { low[$0] == high[$0] }
        let count = Swift.min(samples, n)
        indices = (0..<count).map { $0 * n / count }
        let mapped = flat.gather(rows: indices)
        let picked = indices
        let mappedLabels = data.labels.map { l in picked.map { l[$0] } }
        labels = mappedLabels
        let known = data.source.lowercased().contains("fashion") && (mappedLabels ?? []).allSatisfy { (0..<10).contains($0) }
        let distinct = Set(mappedLabels ?? []).sorted()
        labelNames = known ? FashionMNIST.classNames : (0...(distinct.last ?? 0)).map { "class \($0)" }
        if codeSize == 1 {
            pca = (0..<count).map { (Double(mapped.data[$0]), 0) }
            explained = [1]
            return
        }
        let fitted = try PCA.fit(mapped, components: 2)
        let projected = fitted.encode(mapped)
        pca = (0..<count).map { (Double(projected.data[2 * $0]), Double(projected.data[2 * $0 + 1])) }
        var total = 0.0
        for j in 0..<codeSize {
            var m = 0.0, q = 0.0
            for i in 0..<count { let v = Double(mapped.data[i * codeSize + j]); m += v; q += v * v }
            total += (q - m * m / Double(count)) / Double(Swift.max(count - 1, 1))
        }
        explained = fitted.explainedVariance.map { total > 0 ? Double($0) / total : 0 }
        if wantTSNE && count >= 4 && codeSize > 2 { tsne = try TSNE().embed(mapped) }
    }
}

/// The stored detector applied to the data, as `detect --model M` does.
public struct DetectionSection {
    public var summary: DetectionSummary
    public var scoreName: String
    public var scores: [Float]
    public var anomalies: [Bool]?
    public var roc: ROCCurve?
    public var precisionRecall: PrecisionRecallCurve?
    public var top: [TopAnomaly]
    /// Images: the top anomalies over their reconstructions, as PNG.
    public var topImages: Data?

    public struct TopAnomaly {
        public var index: Int
        public var score: Float
        public var label: Int?
        public var anomaly: Bool?
        /// Tables and windows: the features with the largest errors.
        public var features: [(name: String, error: Float)]
    }

    init(bundle: TrainedModel, data: Dataset, anomalies truth: [Bool]?, top count: Int, strip: Int) throws {
        let policy = DetectionPolicy(bundle: bundle)
        let detector = bundle.detector!
        let scorer = try policy.scorer()
        let featureErrors: Tensor?
        if data.sampleShape.count <= 2 { (scores, featureErrors) = try scorer.scoresAndFeatureErrors(data) }
        else { (scores, featureErrors) = (try scorer.scores(data), nil) }
        if let truth, truth.count != data.count { throw BottleneckError("\(truth.count) anomaly labels for \(data.count) samples of \(data.source)") }
        anomalies = truth ?? data.labels.flatMap { AnomalyLabels.anomalies(labels: $0, normalClasses: policy.normalClasses) }
        summary = try policy.summary(scores: scores, detector: detector, anomalies: anomalies, model: bundle.model.spec.name)
        scoreName = policy.score.rawValue
        if let anomalies, summary.auroc != nil {
            roc = try DetectionMetrics.rocCurve(scores: scores, anomalies: anomalies)
            precisionRecall = try DetectionMetrics.precisionRecallCurve(scores: scores, anomalies: anomalies)
        }
        let all = scores, truth = anomalies
        let order = all.indices.sorted { (all[$0], -$0) > (all[$1], -$1) }.prefix(count)
        let names = bundle.featureNames ?? data.featureNames
        top = order.map { i in
            let features = featureErrors.map { e in
                AnomalyScorer.topFeatures(e, row: i, count: 3).map { (names?[$0.feature] ?? "feature \($0.feature)", $0.error) }
            } ?? []
            return TopAnomaly(index: i, score: all[i], label: data.labels?[i], anomaly: truth?[i], features: features)
        }
        if data.sampleShape.count == 3 {
            topImages = try ReconstructionSection.strip(bundle, data, Array(order.prefix(strip)))
        }
    }
}

/// Samples from a VAE's or AAE's prior and a walk between two codes.
public struct GenerationSection {
    public var prior: Data
    public var interpolation: Data
    /// The two samples the walk joins.
    public var endpoints: (Int, Int)

    init(bundle: TrainedModel, data: Dataset, count: Int) throws {
        let samples = try Generation.sample(bundle.model, count: count * 2, rng: RandomGenerator(seed: 0))
        prior = try imageGrid(try bundle.scaler.inverseTransform(samples), columns: count).pngData()
        // The walk joins the first sample and the first of another class (or the last sample).
        let other = data.labels.flatMap { l in l.indices.first { l[$0] != l[0] } } ?? data.count - 1
        endpoints = (0, other)
        let walk = Generation.interpolate(bundle.model, from: data.batch([0]), to: data.batch([other]), steps: count)
        interpolation = try imageGrid(try bundle.scaler.inverseTransform(walk), columns: count).pngData()
    }
}
