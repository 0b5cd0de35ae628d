import Foundation
import BottleneckCore
import BottleneckTraining

/// The neighbour anomaly score: the mean Euclidean distance from a sample's code to its k nearest
/// training codes. Where normal data has several modes (digits 1-9, a garment class's styles) a
/// single Gaussian of the codes covers the gaps between them; nearest neighbours do not.
public enum CodeNeighbours {
    /// Neighbours averaged: 5, as measured on the tabular fixtures (1 is noisier, 10 blurs small modes).
    public static let defaultK = 5

    /// The reference from training `codes` [N, d]: every code, or `NeighbourCodes.maximumCount`
    /// of them evenly spaced; the log scale is fitted on the training codes' own scores, each code
    /// left out of its own neighbours.
    public static func fit(codes: Tensor, k: Int = defaultK) throws -> NeighbourCodes {
        let n = codes.shape[0], d = codes.count / max(n, 1)
        guard n >= 2, d >= 1, codes.count == n * d else { throw BottleneckError("the neighbour score needs at least 2 training codes, got \(n)") }
        let m = min(n, NeighbourCodes.maximumCount)
        // Row i of the reference is training code picked[i]: strides through the data, in order.
        let picked = (0..<m).map { $0 * n / m }
        var reference = [Float](repeating: 0, count: m * d)
        for (i, r) in picked.enumerated() { for j in 0..<d { reference[i * d + j] = codes.data[r * d + j] } }
        let kept = min(k, m - 1)
        var partial = NeighbourCodes(codes: reference, codeSize: d, k: kept, scale: LogScale(mean: 0, std: 1, floor: 0))
        var referenceIndex = [Int: Int]()
        for (i, r) in picked.enumerated() { referenceIndex[r] = i }
        let training = (0..<n).map { r in score(codes.data + r * d, partial, excluding: referenceIndex[r]) }
        partial.scale = LogScale(fitting: training)
        return partial
    }

    /// Neighbour scores of `codes` [N, d], row by row (so a score does not depend on its batch).
    public static func scores(_ codes: Tensor, _ reference: NeighbourCodes) -> [Float] {
        let d = reference.codeSize, n = codes.count / max(d, 1)
        precondition(codes.count == n * d, "neighbour score: codes of another size than the reference's \(d)")
        return (0..<n).map { score(codes.data + $0 * d, reference, excluding: nil) }
    }

    /// Mean distance from `code` to its k nearest reference codes, skipping reference row `excluding`.
    static func score(_ code: UnsafeMutablePointer<Float>, _ reference: NeighbourCodes, excluding: Int?) -> Float {
        let d = reference.codeSize, k = reference.k
        // The k smallest squared distances so far, ascending (k is small: insertion is cheapest).
        var nearest = [Float](repeating: .infinity, count: k)
        reference.codes.withUnsafeBufferPointer { ref in
            for i in 0..<reference.count where i != excluding {
                let row = ref.baseAddress! + i * d
                var s: Float = 0
                for j in 0..<d { let t = code[j] - row[j]; s += t * t }
                guard s < nearest[k - 1] else { continue }
                var p = k - 1
                while p > 0 && nearest[p - 1] > s { nearest[p] = nearest[p - 1]; p -= 1 }
                nearest[p] = s
            }
        }
        return nearest.reduce(0) { $0 + $1.squareRoot() } / Float(k)
    }
}
