// Elementwise loops that Swift cannot vectorise well: its SIMD square root is a libm call per
// lane, and it targets baseline x86-64 (SSE2). Compiled twice, for AVX2 and for any x86-64
// (target_clones picks one at load time); both clones do the same arithmetic (no FMA), so
// results do not depend on the machine.
#ifndef BN_KERNELS_H
#define BN_KERNELS_H

#include <stddef.h>

/// y = 1 / (1 + e^-x).
void bn_sigmoid(const float *x, float *y, ptrdiff_t n);

/// y = e^x.
void bn_exp(const float *x, float *y, ptrdiff_t n);

/// The sum, in double, of the binary cross-entropy on logits: max(x, 0) - x t + log(1 + e^-|x|).
double bn_bce_logits_sum(const float *x, const float *t, ptrdiff_t n);

/// d = scale * (sigmoid(x) - t), or d += that when `accumulate`.
void bn_bce_logits_grad(const float *x, const float *t, float *d, ptrdiff_t n, float scale, int accumulate);

/// The sum, in double, of the binary cross-entropy on probabilities, each log clamped at -100 as
/// PyTorch does: -(t max(log p, -100) + (1 - t) max(log(1 - p), -100)). A NaN p gives NaN.
double bn_bce_sum(const float *p, const float *t, ptrdiff_t n);

/// d = scale * (p - t) / max((1 - p) p, 1e-12), or d += that when `accumulate`.
void bn_bce_grad(const float *p, const float *t, float *d, ptrdiff_t n, float scale, int accumulate);

/// One Adam update of n weights, in torch.optim.Adam's arithmetic:
/// g' = g + decay w;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g' g';
/// w -= step_size m / (sqrt(v) / c2_root + eps).
void bn_adam(float *w, const float *g, float *m, float *v, ptrdiff_t n, float b1, float b2, float step_size,
             float c2_root, float eps, float decay);

/// Tunes glibc's malloc to keep freed tensor memory for reuse (see bn_memory.c). Returns 1 if done.
int bn_keep_freed_memory(void);

#endif
