/// Every matrix product of the library goes through `sgemm`, which runs it on the backend
/// `GEMMBackend.active` names: the faster one on this machine, by measurement (see
/// `KernelCalibration`), unless `BOTTLENECK_GEMM` or `GEMMBackend.force` names one.

import Foundation

/// A library that runs single-precision matrix products.
public enum GEMMBackend: String, CaseIterable, Codable, Sendable {
    case openBLAS = "openblas"
    /// oneDNN's own GEMM (`dnnl_sgemm`): its AVX-512 kernels run about twice as fast as the
    /// Haswell kernels OpenBLAS 0.3.21 falls back to on Zen 5.
    case oneDNN = "onednn"

    /// The backend `sgemm` uses now. The first read decides: the `BOTTLENECK_GEMM` environment
    /// variable if set, else the choice cached for this machine and thread count, else a
    /// calibration of a few tens of milliseconds (then cached).
    public static var active: GEMMBackend {
        // Under a lock: a server's first requests may make their first products at once.
        lock.lock()
        defer { lock.unlock() }
        if let chosen = current { return chosen }
        let chosen = forcedByEnvironment ?? KernelCalibration.gemmChoice(threads: ComputeThreads.current).backend
        current = chosen
        return chosen
    }

    /// Makes every later product run on `backend` (nil: choose again as on first use).
    public static func force(_ backend: GEMMBackend?) {
        lock.lock()
        current = backend
        lock.unlock()
    }

    /// `BOTTLENECK_GEMM`'s backend; nil when unset or `auto`.
    public static var forcedByEnvironment: GEMMBackend? { environment.forced }

    /// One line naming the variable and what is wrong with it, or nil (the CLI refuses to start).
    public static var environmentProblem: String? { environment.problem }

    private static let environment = KernelOverride<GEMMBackend>(variable: "BOTTLENECK_GEMM")

    nonisolated(unsafe) private static var current: GEMMBackend?
    private static let lock = NSLock()

    @inline(__always)
    func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
             b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch self {
        case .openBLAS:
            openBLASSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c, ldc: ldc)
        case .oneDNN:
            oneDNNSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: c, ldc: ldc)
        }
    }
}

/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major, on the active backend.
@inline(__always)
package func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                   alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, on backend: GEMMBackend? = nil) {
    if m == 0 || n == 0 { return }
    // An empty sum only scales C: OpenBLAS's documented behaviour, the same on either backend.
    (k == 0 ? .openBLAS : backend ?? GEMMBackend.active)
        .run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc)
}
