import COpenBLAS

/// The eigen-decomposition of a symmetric matrix through LAPACK's `ssyevd`: what PCA and the
/// Gaussian of an anomaly detector's code score both stand on.
public struct SymmetricEigen {
    /// Eigenvalues, ascending.
    public let values: [Float]
    /// Eigenvectors [d, d], row i the unit eigenvector of `values[i]`.
    public let vectors: Tensor

    /// Decomposes the symmetric [d, d] matrix `a` (left unchanged).
    public init(_ a: Tensor) throws {
        precondition(a.shape.count == 2 && a.shape[0] == a.shape[1], "SymmetricEigen: a square matrix, got \(a.shape)")
        let d = a.shape[0]
        let v = Tensor(shape: [d, d], zeroed: false)
        v.data.update(from: a.data, count: d * d)
        // ssyevd works column-major; a is symmetric so the layout does not matter for the input.
        // On return column j (column-major) = row j of our row-major buffer = eigenvector j.
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        var n = Int32(d), lda = Int32(d), info: Int32 = 0
        var w = [Float](repeating: 0, count: d)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var wq: Float = 0, iwq: Int32 = 0
        ssyevd_(&jobz, &uplo, &n, v.data, &lda, &w, &wq, &lwork, &iwq, &liwork, &info)
        lwork = Int32(wq); liwork = iwq
        var work = [Float](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &n, v.data, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw BottleneckError("LAPACK ssyevd failed (info \(info)) on a \(d)x\(d) matrix") }
        values = w
        vectors = v
    }
}
