// See include/gemm_dnnl.h. The OpenMP entry points are looked up at run time: libgomp is loaded
// as libdnnl's dependency, but the toolchain's linker has no libgomp.so to link against directly.
#define _GNU_SOURCE
#include "gemm_dnnl.h"

#include <dlfcn.h>

#include <oneapi/dnnl/dnnl.h>

int gemm_dnnl_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return st == dnnl_success ? 0 : (int)st;
}

void gemm_dnnl_set_threads(int n) {
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set && n > 0) set(n);
}
