import COpenBLAS

/// Thin Swift wrappers over OpenBLAS's single-precision GEMM, row-major.
/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C
@inline(__always)
package func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// OpenBLAS's thread count for this process (the machine has two cores; we keep it at most 2).
public enum BLASThreads {
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}

/// The dot product of two double vectors: the line-search optimizers keep their iterate,
/// gradient and direction in double precision.
@inline(__always)
package func ddot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
    n == 0 ? 0 : cblas_ddot(Int32(n), x, 1, y, 1)
}
