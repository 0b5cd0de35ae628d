// oneDNN's own single-precision GEMM, row-major like cblas_sgemm, and the thread count of the
// OpenMP runtime oneDNN runs on (Debian's libdnnl is built with GNU OpenMP).
#ifndef GEMM_DNNL_H
#define GEMM_DNNL_H

#ifdef __cplusplus
extern "C" {
#endif

/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C; returns 0 on success.
int gemm_dnnl_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc);

/// OpenMP's thread count for parallel regions that follow (omp_set_num_threads); no-op when no
/// OpenMP runtime is loaded.
void gemm_dnnl_set_threads(int n);

#ifdef __cplusplus
}
#endif

#endif
