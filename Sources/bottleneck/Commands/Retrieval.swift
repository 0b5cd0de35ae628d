import ArgumentParser
import Bottleneck
import Foundation

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a collection into a search index (codes, ids, labels, the model's hash).",
        discussion: """
        The index is a safetensors file. Codes come from a model's encoder, from PCA fitted on the
        collection (--pca K), or are the raw values (--raw), the two baselines. A model index records
        the model's hash: `bottleneck search` refuses queries encoded by any other model.
        Examples:
          bottleneck train --preset conv --code-size 32 --epochs 15 -o conv32.safetensors
          bottleneck index --model conv32.safetensors -o conv32.index       # Fashion-MNIST train split
          bottleneck index --pca 32 -o pca32.index
          bottleneck index --raw -o raw.index
          bottleneck index --model faces.safetensors --data photos/ --image-size 64x64 --color -o photos.index
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file whose encoder makes the codes.") var model: String?
    @Option(name: .long, help: "Instead of a model: PCA codes with this many components, fitted on the collection.") var pca: Int?
    @Flag(name: .long, help: "Instead of a model: the raw values (a baseline).") var raw = false
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split when no --data is given: train or test.") var split = "train"
    @Option(name: .long, help: "Index only the first N samples.") var limit: Int?
    @Option(name: .long, help: "Default metric of searches in this index: cosine or l2.") var metric = "cosine"
    @Option(name: [.short, .long], help: "Index file to write.") var output = "index.safetensors"

    func run() throws {
        guard [model != nil, pca != nil, raw].filter({ $0 }).count == 1 else {
            throw BottleneckError("give exactly one of --model FILE, --pca K or --raw")
        }
        let m = try DistanceMetric.named(metric)
        let samples = try LoadedSamples(dataOptions, split: try parseSplit(split), limit: limit)
        let embedder: Embedder
        if let model {
            let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
            try loaded.checkFeatures(samples.data)
            embedder = .model(loaded.model, loaded.scaler)
        } else if let pca {
            embedder = .pca(try PCA.fit(samples.data.inputs.flattened(), components: pca))
        } else {
            embedder = .raw(sampleShape: samples.data.sampleShape)
        }
        let start = Date()
        let index = try SearchIndex.build(embedder, data: samples.data, ids: samples.ids, classNames: samples.classNames, metric: m)
        try index.write(to: output)
        print(String(format: "wrote %@: %d items, codes of %d (%@%@), %@%.1fs", output, index.count, index.dimension, index.embedding,
                     index.modelName.map { " '\($0)'" } ?? "", index.labels == nil ? "" : "with labels, ", Date().timeIntervalSince(start)))
        let d = index.dimension, codes = index.codes
        let dead = (0..<d).filter { j in (0..<index.count).allSatisfy { codes.data[$0 * d + j] == 0 } }.count
        if dead > 0 { print("note: \(dead) of the \(d) code values are 0 for every item (inactive units): the codes use \(d - dead) dimensions; a model trained with --linear-code has none") }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query an index by example: the k nearest items (ids, distances, labels), or precision@k.",
        discussion: """
        Queries are encoded with the index's model (give it with --model; a different model is
        refused) and compared by cosine or L2 distance, exactly (one GEMM per batch of queries).
        A query is an image file, a sample of a dataset (--query-index, e.g. a row of a CSV given
        with --data), or, with --evaluate, every sample of a labelled set, reporting precision@k.
        Examples:
          bottleneck search --index conv32.index --model conv32.safetensors --image shoe.png
          bottleneck search --index conv32.index --model conv32.safetensors --query-index 0,1,2   # test split
          bottleneck search --index table.index --model tab.safetensors --data rows.csv --query-index 4
          bottleneck search --index conv32.index --model conv32.safetensors --evaluate            # test split
          bottleneck search --index pca32.index --evaluate --metric l2
          bottleneck search --index conv32.index --model conv32.safetensors --query-index 0 --timing
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Index file (from `bottleneck index`).") var index: String
    @Option(name: .long, help: "The model that built the index (model indexes only).") var model: String?
    @Option(name: .long, help: "A query image (PNG or JPEG); repeat for several.") var image: [String] = []
    @Option(name: .long, help: "Query samples of the data, by number from 0: '5' or '0,7,12'.") var queryIndex: String?
    @Flag(name: .long, help: "Use every sample of the (labelled) data as a query and report precision@k.") var evaluate = false
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split of the queries when no --data is given.") var split = "test"
    @Option(name: .long, help: "With --evaluate: only the first N queries.") var limit: Int?
    @Option(name: .short, help: "Neighbours per query.") var k = 10
    @Option(name: .long, help: "cosine or l2 (default: the index's).") var metric: String?
    @Flag(name: .long, help: "Print the results as JSON.") var json = false
    @Flag(name: .long, help: "Also print one JSON line of timings: each query alone (encode + search), median and p90.") var timing = false

    func run() throws {
        guard k >= 1 else { throw BottleneckError("-k must be at least 1, got \(k)") }
        let sources = [!image.isEmpty, queryIndex != nil, evaluate].filter { $0 }.count
        guard sources == 1 else {
            throw BottleneckError(sources == 0 ? "give a query: --image FILE, --query-index N (into --data), or --evaluate"
                                                : "give one kind of query: --image, --query-index or --evaluate")
        }
        let loadStart = Date()
        let idx = try SearchIndex.read(index)
        let loaded = try model.map { try TrainedModel.load($0, memoryLimit: memory.maxModelMemory) }
        let embedder = try idx.embedder(model: loaded.map { ($0.model, $0.scaler, model!) }, source: index)
        let searcher = try idx.searcher(metric: try metric.map(DistanceMetric.named))
        let loadSeconds = Date().timeIntervalSince(loadStart)

        let queries: Tensor, labels: [Int]?, names: [String]
        if !image.isEmpty {
            queries = try loadImages(image, as: embedder.inputShape.count == 3 ? embedder.inputShape : idx.sampleShape)
            labels = nil
            names = image
        } else {
            let samples = try LoadedSamples(dataOptions, split: try parseSplit(split), limit: evaluate ? limit : nil)
            var data = samples.data
            try loaded?.checkFeatures(data)
            if let queryIndex {
                let rows = try parseIndexList(queryIndex, flag: "--query-index", count: data.count)
                data = data.subset(rows)
                let set = dataOptions.data.map { URL(fileURLWithPath: $0).lastPathComponent } ?? split
                names = rows.map { samples.ids?[$0] ?? "\(set) #\($0)" }
            } else {
                names = (0..<data.count).map { samples.ids?[$0] ?? "#\($0)" }
            }
            queries = data.inputs
            labels = data.labels
        }
        let codes = try embedder.embed(queries, source: image.first ?? "queries")

        if evaluate {
            guard let labels else { throw BottleneckError("--evaluate needs labelled queries (\(dataOptions.data ?? "the data") has no labels)") }
            guard let itemLabels = idx.labels else { throw BottleneckError.file(index, "has no labels: --evaluate needs a labelled index") }
            let start = Date()
            let q = try Retrieval.evaluate(searcher, queries: codes, queryLabels: labels, itemLabels: itemLabels, k: k)
            let report = EvaluationReport(index: index, embedding: idx.embedding, model: idx.modelName, items: idx.count, dimension: idx.dimension,
                                          metric: searcher.metric.rawValue, quality: q, searchSeconds: Date().timeIntervalSince(start))
            if json { print(try prettyJSON(report)) } else {
                print(String(format: "precision@%d %.4f  (1-NN accuracy %.4f) over %d queries; index %d items, codes of %d (%@%@), %@ distance, search %.2fs",
                             k, q.precisionAtK, q.nearestNeighbourAccuracy, q.queries, idx.count, idx.dimension, idx.embedding,
                             idx.modelName.map { " '\($0)'" } ?? "", searcher.metric.rawValue, report.searchSeconds))
            }
        } else {
            let hits = try searcher.search(codes, k: k)
            let results = hits.enumerated().map { qi, hs in
                QueryResult(query: names[qi], label: labels?[qi], neighbours: hs.enumerated().map { r, n in
                    NeighbourRow(rank: r + 1, id: idx.id(n.index), row: n.index, distance: n.distance, label: idx.labels?[n.index])
                })
            }
            if json { print(try prettyJSON(results)) } else { printResults(results, idx) }
        }
        if timing { try printTiming(queries: queries, embedder: embedder, searcher: searcher, loadSeconds: loadSeconds) }
    }

    func printResults(_ results: [QueryResult], _ idx: SearchIndex) {
        for r in results {
            print("query \(r.query)" + (r.label.map { " (label \(idx.labelText($0)))" } ?? ""))
            let idWidth = max(2, r.neighbours.map(\.id.count).max() ?? 2)
            print("  rank  " + "id".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  distance  label")
            for n in r.neighbours {
                print(String(format: "  %4d  ", n.rank) + n.id.padding(toLength: idWidth, withPad: " ", startingAt: 0)
                      + String(format: "  %8.5f  ", n.distance) + (n.label.map { idx.labelText($0) } ?? "-"))
            }
        }
    }

    /// Each query alone, as a user's request would run: encode one sample, search it.
    func printTiming(queries: Tensor, embedder: Embedder, searcher: ExactSearch, loadSeconds: Double) throws {
        let n = min(queries.shape[0], 200)
        var encode: [Double] = [], search: [Double] = [], total: [Double] = []
        for i in 0..<n + min(n, 5) {   // the first few are warm-up
            let x = queries.rows(i % n, 1)
            let t0 = Date()
            let code = try embedder.embed(x)
            let t1 = Date()
            _ = try searcher.search(code, k: k)
            let t2 = Date()
            guard i >= min(n, 5) else { continue }
            encode.append(t1.timeIntervalSince(t0) * 1000)
            search.append(t2.timeIntervalSince(t1) * 1000)
            total.append(t2.timeIntervalSince(t0) * 1000)
        }
        func pct(_ v: [Double], _ p: Double) -> Double { let s = v.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
        try printJSONLine(SearchTiming(bench: "search", index: index, items: searcher.count, dimension: searcher.dimension,
                                       metric: searcher.metric.rawValue, k: k, queries: n, threads: ComputeThreads.current,
                                       loadMS: loadSeconds * 1000, encodeMSMedian: pct(encode, 0.5), searchMSMedian: pct(search, 0.5),
                                       queryMSMedian: pct(total, 0.5), queryMSP90: pct(total, 0.9), queryMSMax: total.max() ?? 0))
    }
}

struct NeighbourRow: Codable {
    var rank: Int
    var id: String
    var row: Int
    var distance: Float
    var label: Int?
}

struct QueryResult: Codable {
    var query: String
    var label: Int?
    var neighbours: [NeighbourRow]
}

struct EvaluationReport: Codable {
    var index: String
    var embedding: String
    var model: String?
    var items: Int
    var dimension: Int
    var metric: String
    var quality: RetrievalQuality
    var searchSeconds: Double
}

struct SearchTiming: Codable {
    var bench: String
    var index: String
    var items: Int
    var dimension: Int
    var metric: String
    var k: Int
    var queries: Int
    var threads: Int
    var loadMS: Double
    var encodeMSMedian: Double
    var searchMSMedian: Double
    var queryMSMedian: Double
    var queryMSP90: Double
    var queryMSMax: Double

    enum CodingKeys: String, CodingKey {
        case bench, index, items, dimension, metric, k, queries, threads
        case loadMS = "load_ms", encodeMSMedian = "encode_ms_median", searchMSMedian = "search_ms_median"
        case queryMSMedian = "query_ms_median", queryMSP90 = "query_ms_p90", queryMSMax = "query_ms_max"
    }
}
