import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// How two vectors are compared.
public enum DistanceMetric: String, CaseIterable, Codable {
    /// 1 - cos(angle): scale-free, in [0, 2].
    case cosine
    /// Euclidean distance.
    case l2

    public static func named(_ name: String) throws -> DistanceMetric {
        guard let m = DistanceMetric(rawValue: name.lowercased()) else {
            throw BottleneckError.invalid(.metric, "must be cosine or l2, got '\(name)'")
        }
        return m
    }
}

/// One search hit: the row of the indexed item and its distance to the query.
public struct Neighbor: Equatable, Codable {
    public var index: Int
    public var distance: Float
}

/// Exact k-nearest-neighbour search over a fixed set of vectors. The items are prepared once
/// (unit rows for cosine, squared norms for L2); a batch of queries is then scored against every
/// item by GEMM in tiles that stay in cache, and each query keeps its k best as it goes.
public struct ExactSearch {
    public let metric: DistanceMetric
    public let dimension: Int
    public let count: Int
    /// Items [count, dimension], unit-normalised for cosine.
    private let items: Tensor
    /// |item|^2 for L2.
    private let squaredNorms: [Float]

    /// Queries per GEMM and items per tile: a 128 x 4096 score block is 2 MB.
    static let queryBlock = 128, itemTile = 4096

    public init(items: Tensor, metric: DistanceMetric) throws {
        guard items.rank == 2 else { throw BottleneckError("search: items must be a [count, dimension] matrix, got \(formatShape(items.shape))") }
        self.metric = metric
        count = items.shape[0]
        dimension = items.shape[1]
        (self.items, squaredNorms) = Self.prepare(items, metric: metric)
    }

    /// A copy of the rows [n, d] with each row's squared norm; for cosine the rows are made unit
    /// length (items once when the searcher is made, queries on each search).
    private static func prepare(_ rows: Tensor, metric: DistanceMetric) -> (Tensor, [Float]) {
        let prepared = rows.copy(), n = rows.shape[0], d = rows.shape[1]
        var norms = [Float](repeating: 0, count: n)
        for r in 0..<n {
            let row = prepared.data + r * d
            var s: Float = 0
            for j in 0..<d { s += row[j] * row[j] }
            norms[r] = s
            if metric == .cosine { normalize(row, d, squaredNorm: s) }
        }
        return (prepared, norms)
    }

    /// The k nearest items of each query row [q, dimension], nearest first; ties go to the lower row.
    public func search(_ queries: Tensor, k: Int) throws -> [[Neighbor]] {
        guard queries.rank == 2, queries.shape[1] == dimension else {
            let got = queries.rank == 2 ? "\(queries.shape[1]) values each" : "shape \(formatShape(queries.shape))"
            throw BottleneckError("search: queries have \(got), the index holds vectors of \(dimension)")
        }
        guard k >= 1 else { throw BottleneckError("search: k must be at least 1, got \(k)") }
        let q = queries.shape[0], d = dimension, kk = min(k, count)
        if q == 0 || kk == 0 { return Array(repeating: [], count: q) }
        let (prepared, queryNorms) = Self.prepare(queries, metric: metric)
        // Scores to minimise: -cos for cosine; |c|^2 - 2 q.c for L2 (|q|^2 added back at the end).
        let qb = min(q, Self.queryBlock), tile = min(count, Self.itemTile)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: qb * tile)
        defer { block.deallocate() }
        var best = [TopK](repeating: TopK(k: kk), count: q)
        withExtendedLifetime(items) {
            for q0 in stride(from: 0, to: q, by: qb) {
                let rows = min(qb, q - q0)
                for i0 in stride(from: 0, to: count, by: tile) {
                    let cols = min(tile, count - i0)
                    if metric == .l2 {
                        for r in 0..<rows { squaredNorms.withUnsafeBufferPointer { (block + r * cols).update(from: $0.baseAddress! + i0, count: cols) } }
                    }
                    sgemm(transB: true, m: rows, n: cols, k: d, alpha: metric == .cosine ? -1 : -2, a: prepared.data + q0 * d, lda: d,
                          b: items.data + i0 * d, ldb: d, beta: metric == .cosine ? 0 : 1, c: block, ldc: cols)
                    for r in 0..<rows { best[q0 + r].consider(block + r * cols, count: cols, offset: i0) }
                }
            }
        }
        return best.enumerated().map { r, top in
            top.sorted().map { n in
                let dist = metric == .cosine ? 1 + n.distance : max(0, n.distance + queryNorms[r]).squareRoot()
                return Neighbor(index: n.index, distance: dist)
            }
        }
    }
}

@inline(__always) private func normalize(_ row: UnsafeMutablePointer<Float>, _ n: Int, squaredNorm: Float) {
    // A zero vector stays zero: its cosine similarity to everything is 0.
    guard squaredNorm > 0 else { return }
    let inv = 1 / squaredNorm.squareRoot()
    for j in 0..<n { row[j] *= inv }
}

/// The k smallest scores seen so far, kept sorted (k is small: insertion is cheaper than a heap).
struct TopK {
    let k: Int
    var scores: [Float] = []
    var indices: [Int] = []

    init(k: Int) {
        self.k = k
        scores.reserveCapacity(k)
        indices.reserveCapacity(k)
    }

    mutating func consider(_ row: UnsafePointer<Float>, count: Int, offset: Int) {
        var worst = scores.count == k ? scores[k - 1] : Float.infinity
        for j in 0..<count {
            let s = row[j]
            // Strictly better than the worst kept: equal scores keep the earlier (lower) row.
            guard s < worst else { continue }  // NaN never enters
            var pos = scores.count
            while pos > 0 && scores[pos - 1] > s { pos -= 1 }
            if scores.count == k { scores.removeLast(); indices.removeLast() }
            scores.insert(s, at: pos)
            indices.insert(offset + j, at: pos)
            if scores.count == k { worst = scores[k - 1] }
        }
    }

    func sorted() -> [Neighbor] { zip(indices, scores).map { Neighbor(index: $0, distance: $1) } }
}

/// Precision@k of a search: for each labelled query, the fraction of its k neighbours that share
/// its label, averaged over queries; and how often the nearest one does (1-NN accuracy).
public struct RetrievalQuality: Codable, Equatable {
    public var queries: Int
    public var k: Int
    public var precisionAtK: Double
    public var nearestNeighbourAccuracy: Double
}

public enum Retrieval {
    /// Scores the neighbours of labelled queries against the items' labels.
    public static func quality(neighbours: [[Neighbor]], queryLabels: [Int], itemLabels: [Int], k: Int) -> RetrievalQuality {
        precondition(neighbours.count == queryLabels.count)
        var hits = 0.0, top1 = 0.0
        for (hs, label) in zip(neighbours, queryLabels) {
            let kept = hs.prefix(k)
            hits += Double(kept.filter { itemLabels[$0.index] == label }.count) / Double(max(k, 1))
            if let first = hs.first, itemLabels[first.index] == label { top1 += 1 }
        }
        let n = Double(max(queryLabels.count, 1))
        return RetrievalQuality(queries: queryLabels.count, k: k, precisionAtK: hits / n, nearestNeighbourAccuracy: top1 / n)
    }

    /// Precision@k of `queries` (vectors with labels) searched in `search` whose items have `itemLabels`,
    /// in batches so the neighbour lists of a large query set are never all held at once.
    public static func evaluate(_ search: ExactSearch, queries: Tensor, queryLabels: [Int], itemLabels: [Int], k: Int,
                                batchSize: Int = 1024) throws -> RetrievalQuality {
        guard queryLabels.count == queries.shape[0] else { throw BottleneckError("evaluate: \(queryLabels.count) labels for \(queries.shape[0]) queries") }
        guard itemLabels.count == search.count else { throw BottleneckError("evaluate: the index has \(search.count) items but \(itemLabels.count) labels") }
        var precision = 0.0, top1 = 0.0
        let n = queries.shape[0]
        for start in stride(from: 0, to: n, by: batchSize) {
            let len = min(batchSize, n - start)
            let hits = try search.search(queries.rows(start, len), k: k)
            let q = quality(neighbours: hits, queryLabels: Array(queryLabels[start..<(start + len)]), itemLabels: itemLabels, k: k)
            precision += q.precisionAtK * Double(len)
            top1 += q.nearestNeighbourAccuracy * Double(len)
        }
        return RetrievalQuality(queries: n, k: k, precisionAtK: precision / Double(max(n, 1)), nearestNeighbourAccuracy: top1 / Double(max(n, 1)))
    }
}
