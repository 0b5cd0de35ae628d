import COpenBLAS
import CDNNL

/// The threads of both runtimes that run our kernels: OpenBLAS's pthread pool and the OpenMP pool
/// oneDNN runs on. They are set together so that neither oversubscribes the cores the other uses.
public enum ComputeThreads {
    public static func set(_ n: Int) {
        openblas_set_num_threads(Int32(n))
        gemm_dnnl_set_threads(Int32(n))
    }
    public static var current: Int { Int(openblas_get_num_threads()) }
}

/// OpenBLAS's single-precision GEMM, row-major: C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C.
@inline(__always)
func openBLASSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// oneDNN's own single-precision GEMM, same contract as `openBLASSgemm`.
@inline(__always)
func oneDNNSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let status = gemm_dnnl_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    if status != 0 { fatalError("oneDNN sgemm failed (status \(status)) on \(m)x\(n)x\(k)") }
}

/// The dot product of two double vectors: the line-search optimizers keep their iterate,
/// gradient and direction in double precision.
@inline(__always)
package func ddot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
    n == 0 ? 0 : cblas_ddot(Int32(n), x, 1, y, 1)
}
