#include "bn_kernels.h"

// No FMA contraction, so the AVX2 and the plain x86-64 clones give the same bits.
#pragma clang fp contract(off)

#include <math.h>
#include <stdint.h>
#include <string.h>

// Helpers are forced inline so that every loop is one vectorisable body.
#define INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

// sqrt without errno (v >= 0 always), so the Adam loop vectorises.
INLINE float sqrt_noerrno(float x) { return __builtin_elementwise_sqrt(x); }

INLINE float from_bits(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
INLINE int32_t to_bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

// e^x as Cephes' expf (about 1 ulp): x = n ln2 + r, a degree-5 polynomial in r, times 2^n.
// Branch-free so loops vectorise; arguments clamped to [-87.34, 88.38] (finite, normal results).
INLINE float exp_approx(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    float shifted = x * 1.44269504f + magic;
    float n = shifted - magic;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t k = to_bits(shifted) - to_bits(magic);
    return y * from_bits((k + 127) << 23);
}

// log(x) for positive normal x, as Cephes' logf (about 1 ulp).
INLINE float log_approx(float x) {
    int32_t bits = to_bits(x);
    float e = (float)((bits >> 23) - 126);
    float m = from_bits((bits & 0x007FFFFF) | 0x3F000000);  // x = m 2^e, m in [0.5, 1)
    int small = m < 0.70710678f;
    e = small ? e - 1.0f : e;
    m = (small ? m + m : m) - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y = y + e * -2.12194440e-4f;
    y = y - 0.5f * z;
    return m + y + e * 0.693359375f;
}

// log(1 + x) for x >= 0, accurate for small x: log(u) x / (u - 1) with u = 1 + x rounded.
INLINE float log1p_approx(float x) {
    float u = x + 1.0f;
    float d = u - 1.0f;
    float l = log_approx(u) * (x / (d == 0.0f ? 1.0f : d));
    return d == 0.0f ? x : l;
}

// max(log(x), -100) for x in [0, 1] (denormals included); NaN stays NaN.
INLINE float log_clamped(float x) {
    int tiny = x < 1.17549435e-38f;
    float l = log_approx(tiny ? x * 8388608.0f : x) - (tiny ? 23.0f * 0.693147181f : 0.0f);
    l = l < -100.0f ? -100.0f : l;
    return x > 0 ? l : (x != x ? x : -100.0f);
}

INLINE float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

CLONES void bn_sigmoid(const float *restrict x, float *restrict y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = sigmoid_approx(x[i]);
}

CLONES void bn_exp(const float *restrict x, float *restrict y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = exp_approx(x[i]);
}

INLINE float bce_logits_term(float x, float t) {
    float a = x < 0 ? -x : x;
    return (x > 0 ? x : 0.0f) - x * t + log1p_approx(exp_approx(-a));
}

INLINE double sum_in_double(const float *x, ptrdiff_t n) {
#pragma clang fp reassociate(on)
    double sum = 0;
    for (ptrdiff_t k = 0; k < n; k++) sum += (double)x[k];
    return sum;
}

// The sum of term(a[i], b[i]): terms in float blocks, each added in double (a long float sum loses
// digits); the double additions may be reordered into vector lanes. Forced inline, so `term` is
// known at each call and the block loop vectorises.
INLINE double blocked_sum(float (*term)(float, float), const float *restrict a, const float *restrict b, ptrdiff_t n) {
    float terms[256];
    double total = 0;
    for (ptrdiff_t start = 0; start < n; start += 256) {
        ptrdiff_t len = n - start < 256 ? n - start : 256;
        for (ptrdiff_t k = 0; k < len; k++) terms[k] = term(a[start + k], b[start + k]);
        total += sum_in_double(terms, len);
    }
    return total;
}

CLONES double bn_bce_logits_sum(const float *restrict x, const float *restrict t, ptrdiff_t n) {
    return blocked_sum(bce_logits_term, x, t, n);
}

CLONES void bn_bce_logits_grad(const float *restrict x, const float *restrict t, float *restrict d, ptrdiff_t n,
                               float scale, int accumulate) {
    if (accumulate) {
        for (ptrdiff_t i = 0; i < n; i++) d[i] += scale * (sigmoid_approx(x[i]) - t[i]);
    } else {
        for (ptrdiff_t i = 0; i < n; i++) d[i] = scale * (sigmoid_approx(x[i]) - t[i]);
    }
}

INLINE float bce_term(float p, float t) {
    return -(t * log_clamped(p) + (1.0f - t) * log_clamped(1.0f - p));
}

CLONES double bn_bce_sum(const float *restrict p, const float *restrict t, ptrdiff_t n) {
    return blocked_sum(bce_term, p, t, n);
}

INLINE float bce_derivative(float p, float t) {
    float q = (1.0f - p) * p;
    return (p - t) / (q > 1e-12f ? q : 1e-12f);
}

CLONES void bn_bce_grad(const float *restrict p, const float *restrict t, float *restrict d, ptrdiff_t n, float scale,
                        int accumulate) {
    if (accumulate) {
        for (ptrdiff_t i = 0; i < n; i++) d[i] += scale * bce_derivative(p[i], t[i]);
    } else {
        for (ptrdiff_t i = 0; i < n; i++) d[i] = scale * bce_derivative(p[i], t[i]);
    }
}

CLONES void bn_adam(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, ptrdiff_t n,
                    float b1, float b2, float step_size, float c2_root, float eps, float decay) {
    const float a1 = 1 - b1, a2 = 1 - b2;
    if (decay != 0) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float gi = g[i] + decay * w[i];
            m[i] = b1 * m[i] + a1 * gi;
            v[i] = b2 * v[i] + a2 * gi * gi;
            w[i] -= step_size * m[i] / (sqrt_noerrno(v[i]) / c2_root + eps);
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            float gi = g[i];
            m[i] = b1 * m[i] + a1 * gi;
            v[i] = b2 * v[i] + a2 * gi * gi;
            w[i] -= step_size * m[i] / (sqrt_noerrno(v[i]) / c2_root + eps);
        }
    }
}
