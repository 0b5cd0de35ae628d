import COpenBLAS
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Principal component analysis through LAPACK: the covariance matrix by one GEMM, its
/// eigen-decomposition by `ssyevd`. The k leading components give the best k-dimensional linear
/// reconstruction, the optimum a linear autoencoder can reach.
public struct PCA {
    public let mean: Tensor          // [d]
    public let components: Tensor    // [k, d], rows orthonormal, largest variance first
    public let explainedVariance: [Float]

    public var dimension: Int { mean.count }
    public var componentCount: Int { components.shape[0] }

    /// Fits k components to the rows of `data` ([N, ...] is flattened per sample).
    public static func fit(_ data: Tensor, components k: Int) throws -> PCA {
        let n = data.shape[0], d = data.count / max(n, 1)
        guard k >= 1, k <= d else { throw BottleneckError("PCA: --components must be in 1...\(d), got \(k)") }
        guard n >= 2 else { throw BottleneckError("PCA needs at least 2 samples, got \(n)") }
        let mean = Tensor(shape: [d])
        var acc = [Double](repeating: 0, count: d)
        for r in 0..<n { let row = data.data + r * d; for j in 0..<d { acc[j] += Double(row[j]) } }
        for j in 0..<d { mean.data[j] = Float(acc[j] / Double(n)) }
        let centered = Tensor(shape: [n, d], zeroed: false)
        for r in 0..<n { for j in 0..<d { centered.data[r * d + j] = data.data[r * d + j] - mean.data[j] } }
        // Covariance C = X^T X / (n - 1), [d, d], symmetric.
        let cov = Tensor(shape: [d, d])
        sgemm(transA: true, m: d, n: d, k: n, alpha: 1 / Float(n - 1), a: centered.data, lda: d, b: centered.data, ldb: d, c: cov.data, ldc: d)
        // ssyevd works column-major; C is symmetric so the layout does not matter for the input.
        // On return column j (column-major) = row j of our row-major buffer = eigenvector j, ascending.
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        var nn = Int32(d), lda = Int32(d), info: Int32 = 0
        var w = [Float](repeating: 0, count: d)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var wq: Float = 0, iwq: Int32 = 0
        ssyevd_(&jobz, &uplo, &nn, cov.data, &lda, &w, &wq, &lwork, &iwq, &liwork, &info)
        lwork = Int32(wq); liwork = iwq
        var work = [Float](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &nn, cov.data, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw BottleneckError("PCA: LAPACK ssyevd failed (info \(info))") }
        let comps = Tensor(shape: [k, d], zeroed: false)
        for c in 0..<k { (comps.data + c * d).update(from: cov.data + (d - 1 - c) * d, count: d) }
        return PCA(mean: mean, components: comps, explainedVariance: (0..<k).map { w[d - 1 - $0] })
    }

    /// Codes [N, k] = (x - mean) V^T.
    public func encode(_ data: Tensor) -> Tensor {
        let n = data.shape[0], d = dimension
        let centered = Tensor(shape: [n, d], zeroed: false)
        for r in 0..<n { for j in 0..<d { centered.data[r * d + j] = data.data[r * d + j] - mean.data[j] } }
        return withoutGradients { centered.matmul(components.transposed()) }
    }

    /// Reconstructions [N, d] = codes V + mean.
    public func decode(_ codes: Tensor) -> Tensor {
        withoutGradients { codes.matmul(components) + mean }
    }

    /// Mean squared reconstruction error over every value of `data`.
    public func reconstructionMSE(_ data: Tensor) -> Double {
        let flat = data.reshaped([data.shape[0], dimension])
        let r = decode(encode(flat))
        var se = 0.0
        for i in 0..<r.count { let e = Double(r.data[i] - flat.data[i]); se += e * e }
        return se / Double(r.count)
    }
}
