// conv_bench.c: oneDNN 2.6 convolutions vs im2col + OpenBLAS sgemm on conv_wiki's conv shapes.
//
// Batch 128, NCHW float32, 3x3 kernel, stride 1, padding 1, with bias. For each shape, three passes:
// forward, backward-data, backward-weights (+ bias gradient). Implementations:
//   im2col_openblas          im2col over a group of G images -> [Cin*9, G*H*W] columns, sgemm, scatter back (the
//                            Swift toolkit's scheme; G as in its ConvBatching, columns always <= ~5 MB).
//   im2col_openblas_adjoint  only where Cout < Cin (64->1): the Swift code runs such a layer as the transposed
//                            convolution of the flipped kernel, whose columns have Cout*9 rows instead of Cin*9.
//   onednn_blocked           oneDNN primitives on the layouts oneDNN chose (format_tag any); the data is put in
//                            those layouts beforehand, untimed.
//   onednn_with_reorders     the same, plus the reorders from/to NCHW / OIHW user memory in every timed iteration.
// All im2col runs happen before any oneDNN run (with a pause in between), so OpenBLAS and oneDNN threads never
// compete. Results are checked: im2col against a naive direct convolution, oneDNN against im2col
// (error = max |a - b| / max |b| over each tensor; must be <= 1e-3). Exit status 1 on a mismatch.
//
// Environment: ITER (timed iterations, default 15), WARMUP (default 3), CHECK_NAIVE (default 1).
// Threads: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (run.sh sets both to 2).
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#define N 128
#define KS 3
#define TAPS (KS * KS)
#define TOL 1e-3

typedef struct {
    const char *name;
    int cin, cout, h, w;
    int count;          // times the shape occurs in one conv_wiki training step
    int needs_bwd_data; // 0 for the first layer: its input needs no gradient
} Shape;

static const Shape shapes[] = {
    {"1->64@28x28", 1, 64, 28, 28, 1, 0},
    {"64->64@14x14", 64, 64, 14, 14, 2, 1}, // encoder and decoder block: counts twice
    {"64->64@7x7", 64, 64, 7, 7, 1, 1},
    {"64->1@28x28", 64, 1, 28, 28, 1, 1},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

enum { IMPL_IM2COL, IMPL_ADJOINT, IMPL_DNNL_BLOCKED, IMPL_DNNL_REORDERS, NIMPL };
static const char *impl_names[NIMPL] = {"im2col_openblas", "im2col_openblas_adjoint", "onednn_blocked",
                                        "onednn_with_reorders"};

static int iters = 15, warmup = 3;

// ---------------------------------------------------------------------------------------------------------------
// utilities

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Median wall time in ms of fn(ctx) over `iters` runs after `warmup` untimed ones.
static double time_median(void (*fn)(void *), void *ctx) {
    for (int i = 0; i < warmup; i++) fn(ctx);
    double *t = malloc(sizeof(double) * iters);
    for (int i = 0; i < iters; i++) {
        double t0 = now_ms();
        fn(ctx);
        t[i] = now_ms() - t0;
    }
    qsort(t, iters, sizeof(double), cmp_double);
    double m = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    free(t);
    return m;
}

static float *falloc(size_t n) {
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float))) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { // uniform in [-1, 1)
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}
static void fill(float *p, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) p[i] = scale * frand();
}

// max |a - b| / max |b|
static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e; // NaN sticks
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return m > 0 ? d / m : d;
}

// ---------------------------------------------------------------------------------------------------------------
// im2col + OpenBLAS

// columns [C*9, images*HW]: row (c, ky, kx), column (image, y, x) = image pixel (c, y+ky-1, x+kx-1) or 0.
static void im2col(const float *x, int images, int c_, int h, int w, float *cols) {
    const int hw = h * w, wide = images * hw;
    for (int c = 0; c < c_; c++)
        for (int ky = 0; ky < KS; ky++)
            for (int kx = 0; kx < KS; kx++) {
                float *row = cols + (size_t)((c * KS + ky) * KS + kx) * wide;
                const int dy = ky - 1, dx = kx - 1;
                const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
                for (int g = 0; g < images; g++) {
                    const float *img = x + ((size_t)g * c_ + c) * hw;
                    float *dst = row + (size_t)g * hw;
                    for (int y = 0; y < h; y++) {
                        float *d = dst + y * w;
                        const int iy = y + dy;
                        if (iy < 0 || iy >= h) {
                            memset(d, 0, sizeof(float) * w);
                            continue;
                        }
                        const float *s = img + iy * w + dx;
                        for (int xx = 0; xx < x0; xx++) d[xx] = 0;
                        for (int xx = x0; xx < x1; xx++) d[xx] = s[xx];
                        for (int xx = x1; xx < w; xx++) d[xx] = 0;
                    }
                }
            }
}

// The adjoint of im2col: adds every column entry onto the pixel it was read from.
static void col2im(const float *cols, int images, int c_, int h, int w, float *x) {
    const int hw = h * w, wide = images * hw;
    for (int c = 0; c < c_; c++)
        for (int ky = 0; ky < KS; ky++)
            for (int kx = 0; kx < KS; kx++) {
                const float *row = cols + (size_t)((c * KS + ky) * KS + kx) * wide;
                const int dy = ky - 1, dx = kx - 1;
                const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
                for (int g = 0; g < images; g++) {
                    float *img = x + ((size_t)g * c_ + c) * hw;
                    const float *src = row + (size_t)g * hw;
                    for (int y = 0; y < h; y++) {
                        const int iy = y + dy;
                        if (iy < 0 || iy >= h) continue;
                        const float *s = src + y * w;
                        float *d = img + iy * w + dx;
                        for (int xx = x0; xx < x1; xx++) d[xx] += s[xx];
                    }
                }
            }
}

// NCHW images [G, C, HW] -> [C, G*HW]
static void channels_first(const float *src, int images, int c_, int hw, float *dst) {
    for (int g = 0; g < images; g++)
        for (int c = 0; c < c_; c++)
            memcpy(dst + (size_t)c * images * hw + (size_t)g * hw, src + ((size_t)g * c_ + c) * hw, sizeof(float) * hw);
}

// [C, G*HW] (+ bias) -> NCHW images [G, C, HW]
static void images_first(const float *src, int images, int c_, int hw, const float *bias, float *dst) {
    for (int g = 0; g < images; g++)
        for (int c = 0; c < c_; c++) {
            const float *s = src + (size_t)c * images * hw + (size_t)g * hw;
            float *d = dst + ((size_t)g * c_ + c) * hw;
            const float b = bias ? bias[c] : 0.0f;
            for (int i = 0; i < hw; i++) d[i] = s[i] + b;
        }
}

// As the Swift ConvBatching: maps of >= 512 positions get one GEMM per image; smaller ones are grouped to about
// 2048 columns per GEMM. For these shapes the columns stay <= 576 * 2156 floats (~5 MB).
static int group_size(int hw) {
    int g = hw >= 512 ? 1 : (2048 + hw - 1) / hw;
    return g < 1 ? 1 : g > N ? N : g;
}

typedef struct {
    const Shape *s;
    int G, hw, rows;
    const float *x, *wt, *bias, *gy; // inputs
    float *y, *dx, *dw, *db;         // outputs
    float *cols, *gathered;          // scratch
    float *wf, *dwf;                 // adjoint path: flipped kernel [Cin, Cout, 3, 3] and its gradient
} Im2colCtx;

static void bias_grad(const float *gy, int cout, int hw, float *db) {
    for (int c = 0; c < cout; c++) db[c] = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < cout; c++) {
            const float *p = gy + ((size_t)n * cout + c) * hw;
            float s = 0;
            for (int i = 0; i < hw; i++) s += p[i];
            db[c] += s;
        }
}

static void i2c_fwd(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = c->rows;
    for (int start = 0; start < N; start += c->G) {
        const int cnt = start + c->G <= N ? c->G : N - start, wide = cnt * hw;
        im2col(c->x + (size_t)start * cin * hw, cnt, cin, c->s->h, c->s->w, c->cols);
        float *dst = c->y + (size_t)start * cout * hw;
        if (c->G > 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, wide, rows, 1.0f, c->wt, rows, c->cols, wide,
                        0.0f, c->gathered, wide);
            images_first(c->gathered, cnt, cout, hw, c->bias, dst);
        } else {
            for (int o = 0; o < cout; o++)
                for (int i = 0; i < hw; i++) dst[(size_t)o * hw + i] = c->bias[o];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, hw, rows, 1.0f, c->wt, rows, c->cols, hw,
                        1.0f, dst, hw);
        }
    }
}

static void i2c_bwd_data(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = c->rows;
    memset(c->dx, 0, sizeof(float) * (size_t)N * cin * hw);
    for (int start = 0; start < N; start += c->G) {
        const int cnt = start + c->G <= N ? c->G : N - start, wide = cnt * hw;
        const float *g = c->gy + (size_t)start * cout * hw;
        if (c->G > 1) {
            channels_first(g, cnt, cout, hw, c->gathered);
            g = c->gathered;
        }
        // dcols = W^T [rows, Cout] x dOut [Cout, wide], then scatter-add
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, wide, cout, 1.0f, c->wt, rows, g, wide, 0.0f,
                    c->cols, wide);
        col2im(c->cols, cnt, cin, c->s->h, c->s->w, c->dx + (size_t)start * cin * hw);
    }
}

static void i2c_bwd_weights(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = c->rows;
    memset(c->dw, 0, sizeof(float) * (size_t)cout * rows);
    for (int start = 0; start < N; start += c->G) {
        const int cnt = start + c->G <= N ? c->G : N - start, wide = cnt * hw;
        im2col(c->x + (size_t)start * cin * hw, cnt, cin, c->s->h, c->s->w, c->cols);
        const float *g = c->gy + (size_t)start * cout * hw;
        if (c->G > 1) {
            channels_first(g, cnt, cout, hw, c->gathered);
            g = c->gathered;
        }
        // dW += dOut [Cout, wide] x cols^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout, rows, wide, 1.0f, g, wide, c->cols, wide, 1.0f,
                    c->dw, rows);
    }
    bias_grad(c->gy, cout, hw, c->db);
}

// Adjoint path (the Swift code's choice when Cout < Cin): y = convTranspose(x, flip(W)), columns [Cout*9, wide].
// Implemented for G == 1 (maps >= 512 positions), which is what the Swift code uses for 64->1@28x28.
static void flip_kernel(const float *w, int cout, int cin, float *wf) { // [Cout,Cin,3,3] -> [Cin,Cout,3,3] turned
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++)
            for (int t = 0; t < TAPS; t++) wf[((size_t)i * cout + o) * TAPS + t] = w[((size_t)o * cin + i) * TAPS + TAPS - 1 - t];
}

static void adj_fwd(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = cout * TAPS;
    flip_kernel(c->wt, cout, cin, c->wf);
    for (int n = 0; n < N; n++) {
        float *dst = c->y + (size_t)n * cout * hw;
        for (int o = 0; o < cout; o++)
            for (int i = 0; i < hw; i++) dst[(size_t)o * hw + i] = c->bias[o];
        // cols = Wf^T [rows, Cin] x x [Cin, HW]; y += col2im(cols)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, hw, cin, 1.0f, c->wf, rows,
                    c->x + (size_t)n * cin * hw, hw, 0.0f, c->cols, hw);
        col2im(c->cols, 1, cout, c->s->h, c->s->w, dst);
    }
}

static void adj_bwd_data(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = cout * TAPS;
    flip_kernel(c->wt, cout, cin, c->wf);
    for (int n = 0; n < N; n++) {
        im2col(c->gy + (size_t)n * cout * hw, 1, cout, c->s->h, c->s->w, c->cols);
        // dx = Wf [Cin, rows] x cols [rows, HW]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cin, hw, rows, 1.0f, c->wf, rows, c->cols, hw, 0.0f,
                    c->dx + (size_t)n * cin * hw, hw);
    }
}

static void adj_bwd_weights(void *p) {
    Im2colCtx *c = p;
    const int cin = c->s->cin, cout = c->s->cout, hw = c->hw, rows = cout * TAPS;
    memset(c->dwf, 0, sizeof(float) * (size_t)cin * rows);
    for (int n = 0; n < N; n++) {
        im2col(c->gy + (size_t)n * cout * hw, 1, cout, c->s->h, c->s->w, c->cols);
        // dWf += x [Cin, HW] x cols^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cin, rows, hw, 1.0f, c->x + (size_t)n * cin * hw, hw,
                    c->cols, hw, 1.0f, c->dwf, rows);
    }
    // dW[o][i][t] = dWf[i][o][8 - t]
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++)
            for (int t = 0; t < TAPS; t++) c->dw[((size_t)o * cin + i) * TAPS + t] = c->dwf[((size_t)i * cout + o) * TAPS + TAPS - 1 - t];
    bias_grad(c->gy, cout, hw, c->db);
}

// ---------------------------------------------------------------------------------------------------------------
// naive direct convolution (reference for the im2col results)

static void naive_all(const Shape *s, const float *x, const float *wt, const float *bias, const float *gy, float *y,
                      float *dx, float *dw, float *db) {
    const int cin = s->cin, cout = s->cout, h = s->h, w = s->w, hw = h * w;
    memset(dx, 0, sizeof(float) * (size_t)N * cin * hw);
    memset(dw, 0, sizeof(float) * (size_t)cout * cin * TAPS);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < cout; o++) {
            float *yo = y + ((size_t)n * cout + o) * hw;
            const float *go = gy + ((size_t)n * cout + o) * hw;
            for (int i = 0; i < hw; i++) yo[i] = bias[o];
            for (int ci = 0; ci < cin; ci++) {
                const float *xi = x + ((size_t)n * cin + ci) * hw;
                float *dxi = dx + ((size_t)n * cin + ci) * hw;
                for (int ky = 0; ky < KS; ky++)
                    for (int kx = 0; kx < KS; kx++) {
                        const size_t widx = (((size_t)o * cin + ci) * KS + ky) * KS + kx;
                        const float wv = wt[widx];
                        float acc = 0;
                        for (int yy = 0; yy < h; yy++) {
                            const int iy = yy + ky - 1;
                            if (iy < 0 || iy >= h) continue;
                            for (int xx = 0; xx < w; xx++) {
                                const int ix = xx + kx - 1;
                                if (ix < 0 || ix >= w) continue;
                                yo[yy * w + xx] += wv * xi[iy * w + ix];
                                dxi[iy * w + ix] += wv * go[yy * w + xx];
                                acc += go[yy * w + xx] * xi[iy * w + ix];
                            }
                        }
                        dw[widx] += acc;
                    }
            }
        }
    bias_grad(gy, cout, hw, db);
}

// ---------------------------------------------------------------------------------------------------------------
// oneDNN

#define CHK(call)                                                                                                      \
    do {                                                                                                               \
        dnnl_status_t st_ = (call);                                                                                    \
        if (st_ != dnnl_success) {                                                                                     \
            fprintf(stderr, "oneDNN error %s at %s:%d: %s\n", dnnl_status2str(st_), __FILE__, __LINE__, #call);       \
            exit(2);                                                                                                   \
        }                                                                                                              \
    } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;

// oneDNN-style name of a blocked layout, e.g. "aBcd8b" (outer dims by decreasing stride, blocked ones upper-case).
static void fmt_str(const dnnl_memory_desc_t *md, char *out) {
    if (md->format_kind != dnnl_blocked) {
        strcpy(out, "non-blocked");
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], nd = md->ndims, blocked[DNNL_MAX_NDIMS] = {0};
    for (int i = 0; i < nd; i++) order[i] = i;
    for (int i = 0; i < nd; i++) // stable sort by stride, descending
        for (int j = i + 1; j < nd; j++)
            if (b->strides[order[j]] > b->strides[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    for (int i = 0; i < b->inner_nblks; i++) blocked[b->inner_idxs[i]] = 1;
    int k = 0;
    for (int i = 0; i < nd; i++) out[k++] = (char)((blocked[order[i]] ? 'A' : 'a') + order[i]);
    for (int i = 0; i < b->inner_nblks; i++) k += sprintf(out + k, "%lld%c", (long long)b->inner_blks[i], (char)('a' + b->inner_idxs[i]));
    out[k] = 0;
}

typedef struct {
    dnnl_primitive_t prim; // NULL when the layouts are equal
    dnnl_memory_t from, to;
} Reorder;

// Memory in the primitive's layout `md` for user memory `user`: `user` itself when the layouts match.
static dnnl_memory_t internal_mem(const dnnl_memory_desc_t *md, dnnl_memory_t user) {
    const dnnl_memory_desc_t *umd;
    CHK(dnnl_memory_get_memory_desc(user, &umd));
    if (dnnl_memory_desc_equal(md, umd)) return user;
    dnnl_memory_t m;
    CHK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    return m;
}

static Reorder make_reorder(dnnl_memory_t from, dnnl_memory_t to) {
    Reorder r = {NULL, from, to};
    if (from == to) return r;
    const dnnl_memory_desc_t *fmd, *tmd;
    CHK(dnnl_memory_get_memory_desc(from, &fmd));
    CHK(dnnl_memory_get_memory_desc(to, &tmd));
    dnnl_primitive_desc_t pd;
    CHK(dnnl_reorder_primitive_desc_create(&pd, fmd, eng, tmd, eng, NULL));
    CHK(dnnl_primitive_create(&r.prim, pd));
    CHK(dnnl_primitive_desc_destroy(pd));
    return r;
}

static void run_reorder(const Reorder *r) {
    if (!r->prim) return;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, r->from}, {DNNL_ARG_TO, r->to}};
    CHK(dnnl_primitive_execute(r->prim, strm, 2, args));
}

static void free_reorder(Reorder *r) {
    if (r->prim) CHK(dnnl_primitive_destroy(r->prim));
}

#define MAXR 3
typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[4];
    int nargs;
    Reorder in[MAXR], out[MAXR];
    int nin, nout;
    dnnl_memory_t owned[8]; // internal memories to free
    int nowned;
    char impl[128], fmts[192];
} DnnlPass;

static void pass_blocked(void *p) {
    DnnlPass *d = p;
    CHK(dnnl_primitive_execute(d->prim, strm, d->nargs, d->args));
    CHK(dnnl_stream_wait(strm));
}

static void pass_with_reorders(void *p) {
    DnnlPass *d = p;
    for (int i = 0; i < d->nin; i++) run_reorder(&d->in[i]);
    CHK(dnnl_primitive_execute(d->prim, strm, d->nargs, d->args));
    for (int i = 0; i < d->nout; i++) run_reorder(&d->out[i]);
    CHK(dnnl_stream_wait(strm));
}

// Adds argument `arg` in layout `md` for user memory `user`; `input` says which way its reorder goes.
static void add_arg(DnnlPass *d, int arg, const dnnl_memory_desc_t *md, dnnl_memory_t user, int input, const char *label) {
    dnnl_memory_t m = internal_mem(md, user);
    if (m != user) d->owned[d->nowned++] = m;
    d->args[d->nargs++] = (dnnl_exec_arg_t){arg, m};
    if (input)
        d->in[d->nin++] = make_reorder(user, m);
    else
        d->out[d->nout++] = make_reorder(m, user);
    char f[32];
    fmt_str(md, f);
    size_t k = strlen(d->fmts);
    snprintf(d->fmts + k, sizeof d->fmts - k, "%s%s=%s", k ? " " : "", label, f);
}

static void finish_pass(DnnlPass *d, dnnl_primitive_desc_t pd) {
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(d->impl, sizeof d->impl, "%s", impl);
    CHK(dnnl_primitive_create(&d->prim, pd));
    // Put the inputs into the primitive's layouts once, for the "blocked" measurement.
    for (int i = 0; i < d->nin; i++) run_reorder(&d->in[i]);
    CHK(dnnl_stream_wait(strm));
}

static void free_pass(DnnlPass *d) {
    CHK(dnnl_primitive_destroy(d->prim));
    for (int i = 0; i < d->nin; i++) free_reorder(&d->in[i]);
    for (int i = 0; i < d->nout; i++) free_reorder(&d->out[i]);
    for (int i = 0; i < d->nowned; i++) CHK(dnnl_memory_destroy(d->owned[i]));
}

// ---------------------------------------------------------------------------------------------------------------

typedef struct {
    double ms[3]; // fwd, bwd_data, bwd_weights
    int valid;
} Timing;

typedef struct {
    const Shape *s;
    float *x, *wt, *bias, *gy;     // inputs
    float *ry, *rdx, *rdw, *rdb;   // im2col results (reference for oneDNN)
    Timing t[NIMPL];
    double err[NIMPL][4];          // vs reference: y, dx, dw, db
    char dnnl_impl[3][128], dnnl_fmts[3][192];
    int naive_checked;
} ShapeRun;

static int failed = 0;

static void print_line(const ShapeRun *r, int impl) {
    const Shape *s = r->s;
    const Timing *t = &r->t[impl];
    double step = t->ms[0] + t->ms[2] + (s->needs_bwd_data ? t->ms[1] : 0);
    printf("{\"shape\":\"%s\",\"impl\":\"%s\",\"fwd_ms\":%.3f,\"bwd_data_ms\":%.3f,\"bwd_weights_ms\":%.3f,"
           "\"total_ms\":%.3f,\"count_per_step\":%d,\"bwd_data_in_training\":%s,\"step_ms\":%.3f",
           s->name, impl_names[impl], t->ms[0], t->ms[1], t->ms[2], t->ms[0] + t->ms[1] + t->ms[2], s->count,
           s->needs_bwd_data ? "true" : "false", step * s->count);
    printf(",\"max_rel_err\":{\"fwd\":%.2e,\"bwd_data\":%.2e,\"bwd_weights\":%.2e,\"bwd_bias\":%.2e}", r->err[impl][0],
           r->err[impl][1], r->err[impl][2], r->err[impl][3]);
    if (impl == IMPL_IM2COL || impl == IMPL_ADJOINT) {
        printf(",\"group_size\":%d,\"err_vs\":\"%s\"", impl == IMPL_ADJOINT ? 1 : group_size(s->h * s->w),
               impl == IMPL_ADJOINT ? "im2col_openblas" : r->naive_checked ? "naive" : "none");
    } else {
        printf(",\"err_vs\":\"im2col_openblas\",\"onednn_impl\":[\"%s\",\"%s\",\"%s\"],\"formats\":[\"%s\",\"%s\",\"%s\"]",
               r->dnnl_impl[0], r->dnnl_impl[1], r->dnnl_impl[2], r->dnnl_fmts[0], r->dnnl_fmts[1], r->dnnl_fmts[2]);
    }
    printf("}\n");
    fflush(stdout);
}

static void check(ShapeRun *r, int impl, const float *y, const float *dx, const float *dw, const float *db,
                  const float *ry, const float *rdx, const float *rdw, const float *rdb) {
    const Shape *s = r->s;
    const size_t hw = (size_t)s->h * s->w;
    double *e = r->err[impl];
    e[0] = rel_err(y, ry, (size_t)N * s->cout * hw);
    e[1] = rel_err(dx, rdx, (size_t)N * s->cin * hw);
    e[2] = rel_err(dw, rdw, (size_t)s->cout * s->cin * TAPS);
    e[3] = rel_err(db, rdb, (size_t)s->cout);
    static const char *pass[4] = {"fwd", "bwd_data", "bwd_weights", "bwd_bias"};
    for (int i = 0; i < 4; i++)
        if (!(e[i] <= TOL)) {
            fprintf(stderr, "MISMATCH %s %s %s: max rel err %.3e > %.0e\n", s->name, impl_names[impl], pass[i], e[i], TOL);
            failed = 1;
        }
}

static void run_im2col(ShapeRun *r, int adjoint, int check_naive) {
    const Shape *s = r->s;
    const int hw = s->h * s->w, cin = s->cin, cout = s->cout;
    Im2colCtx c = {.s = s, .hw = hw, .x = r->x, .wt = r->wt, .bias = r->bias, .gy = r->gy};
    c.G = adjoint ? 1 : group_size(hw);
    c.rows = cin * TAPS;
    const int colrows = adjoint ? cout * TAPS : cin * TAPS;
    c.cols = falloc((size_t)colrows * c.G * hw);
    c.gathered = c.G > 1 ? falloc((size_t)(cin > cout ? cin : cout) * c.G * hw) : NULL;
    c.wf = falloc((size_t)cin * cout * TAPS);
    c.dwf = falloc((size_t)cin * cout * TAPS);
    float *y = falloc((size_t)N * cout * hw), *dx = falloc((size_t)N * cin * hw);
    float *dw = falloc((size_t)cout * cin * TAPS), *db = falloc(cout);
    c.y = y, c.dx = dx, c.dw = dw, c.db = db;

    Timing *t = &r->t[adjoint ? IMPL_ADJOINT : IMPL_IM2COL];
    t->ms[0] = time_median(adjoint ? adj_fwd : i2c_fwd, &c);
    t->ms[1] = time_median(adjoint ? adj_bwd_data : i2c_bwd_data, &c);
    t->ms[2] = time_median(adjoint ? adj_bwd_weights : i2c_bwd_weights, &c);
    t->valid = 1;

    if (!adjoint) { // keep as the reference for the other implementations
        r->ry = y, r->rdx = dx, r->rdw = dw, r->rdb = db;
        if (check_naive) {
            float *ny = falloc((size_t)N * cout * hw), *ndx = falloc((size_t)N * cin * hw);
            float *ndw = falloc((size_t)cout * cin * TAPS), *ndb = falloc(cout);
            naive_all(s, r->x, r->wt, r->bias, r->gy, ny, ndx, ndw, ndb);
            check(r, IMPL_IM2COL, y, dx, dw, db, ny, ndx, ndw, ndb);
            r->naive_checked = 1;
            free(ny), free(ndx), free(ndw), free(ndb);
        }
    } else {
        check(r, IMPL_ADJOINT, y, dx, dw, db, r->ry, r->rdx, r->rdw, r->rdb);
        free(y), free(dx), free(dw), free(db);
    }
    free(c.cols), free(c.gathered), free(c.wf), free(c.dwf);
}

static void run_dnnl(ShapeRun *r) {
    const Shape *s = r->s;
    const int hw = s->h * s->w, cin = s->cin, cout = s->cout;
    dnnl_dims_t src_d = {N, cin, s->h, s->w}, wei_d = {cout, cin, KS, KS}, bia_d = {cout}, dst_d = {N, cout, s->h, s->w};
    dnnl_dims_t strides = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t src_any, wei_any, dst_any, bia_md, src_u, wei_u, dst_u;
    CHK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_d, dnnl_f32, dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_tag(&wei_any, 4, wei_d, dnnl_f32, dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_d, dnnl_f32, dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_tag(&bia_md, 1, bia_d, dnnl_f32, dnnl_x));
    CHK(dnnl_memory_desc_init_by_tag(&src_u, 4, src_d, dnnl_f32, dnnl_nchw));
    CHK(dnnl_memory_desc_init_by_tag(&wei_u, 4, wei_d, dnnl_f32, dnnl_oihw));
    CHK(dnnl_memory_desc_init_by_tag(&dst_u, 4, dst_d, dnnl_f32, dnnl_nchw));

    // user memories (NCHW / OIHW / x) on our buffers
    float *y = falloc((size_t)N * cout * hw), *dx = falloc((size_t)N * cin * hw);
    float *dw = falloc((size_t)cout * cin * TAPS), *db = falloc(cout);
    dnnl_memory_t m_x, m_w, m_b, m_gy, m_y, m_dx, m_dw, m_db;
    CHK(dnnl_memory_create(&m_x, &src_u, eng, r->x));
    CHK(dnnl_memory_create(&m_w, &wei_u, eng, r->wt));
    CHK(dnnl_memory_create(&m_b, &bia_md, eng, r->bias));
    CHK(dnnl_memory_create(&m_gy, &dst_u, eng, r->gy));
    CHK(dnnl_memory_create(&m_y, &dst_u, eng, y));
    CHK(dnnl_memory_create(&m_dx, &src_u, eng, dx));
    CHK(dnnl_memory_create(&m_dw, &wei_u, eng, dw));
    CHK(dnnl_memory_create(&m_db, &bia_md, eng, db));

    // forward (training)
    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd, bdpd, bwpd;
    CHK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_any, &wei_any,
                                           &bia_md, &dst_any, strides, pad, pad));
    CHK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DnnlPass f = {0};
    add_arg(&f, DNNL_ARG_SRC, dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0), m_x, 1, "src");
    add_arg(&f, DNNL_ARG_WEIGHTS, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), m_w, 1, "wei");
    f.args[f.nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m_b};
    add_arg(&f, DNNL_ARG_DST, dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0), m_y, 0, "dst");
    finish_pass(&f, fpd);

    // backward data
    CHK(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src_any, &wei_any, &dst_any, strides,
                                                 pad, pad));
    CHK(dnnl_primitive_desc_create(&bdpd, &bdd, NULL, eng, fpd));
    DnnlPass bd = {0};
    add_arg(&bd, DNNL_ARG_DIFF_DST, dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_dst_md, 0), m_gy, 1, "ddst");
    add_arg(&bd, DNNL_ARG_WEIGHTS, dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0), m_w, 1, "wei");
    add_arg(&bd, DNNL_ARG_DIFF_SRC, dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_src_md, 0), m_dx, 0, "dsrc");
    finish_pass(&bd, bdpd);

    // backward weights (+ bias)
    CHK(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src_any, &wei_any, &bia_md,
                                                    &dst_any, strides, pad, pad));
    CHK(dnnl_primitive_desc_create(&bwpd, &bwd, NULL, eng, fpd));
    DnnlPass bw = {0};
    add_arg(&bw, DNNL_ARG_SRC, dnnl_primitive_desc_query_md(bwpd, dnnl_query_src_md, 0), m_x, 1, "src");
    add_arg(&bw, DNNL_ARG_DIFF_DST, dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_dst_md, 0), m_gy, 1, "ddst");
    add_arg(&bw, DNNL_ARG_DIFF_WEIGHTS, dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0), m_dw, 0,
            "dwei");
    bw.args[bw.nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, m_db};
    finish_pass(&bw, bwpd);

    DnnlPass *passes[3] = {&f, &bd, &bw};
    for (int i = 0; i < 3; i++) {
        snprintf(r->dnnl_impl[i], sizeof r->dnnl_impl[i], "%s", passes[i]->impl);
        snprintf(r->dnnl_fmts[i], sizeof r->dnnl_fmts[i], "%s", passes[i]->fmts);
    }
    for (int i = 0; i < 3; i++) r->t[IMPL_DNNL_BLOCKED].ms[i] = time_median(pass_blocked, passes[i]);
    for (int i = 0; i < 3; i++) r->t[IMPL_DNNL_REORDERS].ms[i] = time_median(pass_with_reorders, passes[i]);
    r->t[IMPL_DNNL_BLOCKED].valid = r->t[IMPL_DNNL_REORDERS].valid = 1;

    // The last runs included the output reorders, so y, dx, dw, db hold the results in NCHW / OIHW.
    check(r, IMPL_DNNL_REORDERS, y, dx, dw, db, r->ry, r->rdx, r->rdw, r->rdb);
    memcpy(r->err[IMPL_DNNL_BLOCKED], r->err[IMPL_DNNL_REORDERS], sizeof r->err[0]); // same primitives, same results

    for (int i = 0; i < 3; i++) free_pass(passes[i]);
    CHK(dnnl_primitive_desc_destroy(fpd));
    CHK(dnnl_primitive_desc_destroy(bdpd));
    CHK(dnnl_primitive_desc_destroy(bwpd));
    dnnl_memory_t ms[] = {m_x, m_w, m_b, m_gy, m_y, m_dx, m_dw, m_db};
    for (int i = 0; i < 8; i++) CHK(dnnl_memory_destroy(ms[i]));
    free(y), free(dx), free(dw), free(db);
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

int main(void) {
    iters = env_int("ITER", 15);
    warmup = env_int("WARMUP", 3);
    const int check_naive = env_int("CHECK_NAIVE", 1);
    if (iters < 1) iters = 1;
    if (warmup < 0) warmup = 0;
    const dnnl_version_t *v = dnnl_version();
    fprintf(stderr, "conv_bench: N=%d, ITER=%d, WARMUP=%d, OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s, oneDNN %d.%d.%d, %s\n", N,
            iters, warmup, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)",
            getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "(unset)", v->major, v->minor, v->patch,
            openblas_get_config());

    ShapeRun runs[NSHAPES];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < NSHAPES; i++) {
        const Shape *s = &shapes[i];
        ShapeRun *r = &runs[i];
        const size_t hw = (size_t)s->h * s->w;
        r->s = s;
        r->x = falloc(N * s->cin * hw);
        r->wt = falloc((size_t)s->cout * s->cin * TAPS);
        r->bias = falloc(s->cout);
        r->gy = falloc(N * s->cout * hw);
        fill(r->x, N * s->cin * hw, 1.0f);
        fill(r->wt, (size_t)s->cout * s->cin * TAPS, 1.0f / sqrtf((float)(s->cin * TAPS)));
        fill(r->bias, s->cout, 0.1f);
        fill(r->gy, N * s->cout * hw, 1.0f);
    }

    // Phase 1: OpenBLAS only.
    for (int i = 0; i < NSHAPES; i++) {
        run_im2col(&runs[i], 0, check_naive);
        print_line(&runs[i], IMPL_IM2COL);
        if (shapes[i].cout < shapes[i].cin) {
            run_im2col(&runs[i], 1, 0);
            print_line(&runs[i], IMPL_ADJOINT);
        }
    }
    // Let OpenBLAS's worker threads stop spinning before oneDNN's OpenMP threads start.
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);

    // Phase 2: oneDNN only.
    CHK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    for (int i = 0; i < NSHAPES; i++) {
        run_dnnl(&runs[i]);
        print_line(&runs[i], IMPL_DNNL_BLOCKED);
        print_line(&runs[i], IMPL_DNNL_REORDERS);
    }

    // Summary: one conv_wiki training step's convolutions (64->64@14x14 twice; no backward-data for 1->64).
    double tot[NIMPL] = {0};
    for (int k = 0; k < NIMPL; k++)
        for (int i = 0; i < NSHAPES; i++) {
            const Shape *s = &shapes[i];
            int impl = k;
            if (k == IMPL_ADJOINT) impl = s->cout < s->cin ? IMPL_ADJOINT : IMPL_IM2COL; // the Swift code's path
            const Timing *t = &runs[i].t[impl];
            tot[k] += s->count * (t->ms[0] + t->ms[2] + (s->needs_bwd_data ? t->ms[1] : 0));
        }
    const double best_blas = tot[IMPL_ADJOINT] < tot[IMPL_IM2COL] ? tot[IMPL_ADJOINT] : tot[IMPL_IM2COL];
    printf("{\"summary\":\"conv_wiki training step, convolutions only (64->64@14x14 counted twice; 1->64 without "
           "bwd_data)\",\"im2col_openblas_ms\":%.3f,\"im2col_openblas_swift_path_ms\":%.3f,\"onednn_blocked_ms\":%.3f,"
           "\"onednn_with_reorders_ms\":%.3f,\"ratio_im2col_over_onednn_blocked\":%.3f,"
           "\"ratio_im2col_over_onednn_with_reorders\":%.3f,\"ratio_swift_path_over_onednn_blocked\":%.3f,"
           "\"ratio_swift_path_over_onednn_with_reorders\":%.3f,\"onednn_faster\":%s,\"iter\":%d,\"correct\":%s}\n",
           tot[IMPL_IM2COL], tot[IMPL_ADJOINT], tot[IMPL_DNNL_BLOCKED], tot[IMPL_DNNL_REORDERS],
           tot[IMPL_IM2COL] / tot[IMPL_DNNL_BLOCKED], tot[IMPL_IM2COL] / tot[IMPL_DNNL_REORDERS],
           tot[IMPL_ADJOINT] / tot[IMPL_DNNL_BLOCKED], tot[IMPL_ADJOINT] / tot[IMPL_DNNL_REORDERS],
           tot[IMPL_DNNL_REORDERS] < best_blas ? "true" : "false", iters, failed ? "false" : "true");

    CHK(dnnl_stream_destroy(strm));
    CHK(dnnl_engine_destroy(eng));
    for (int i = 0; i < NSHAPES; i++) {
        ShapeRun *r = &runs[i];
        free(r->x), free(r->wt), free(r->bias), free(r->gy), free(r->ry), free(r->rdx), free(r->rdw), free(r->rdb);
    }
    if (failed) fprintf(stderr, "conv_bench: correctness check FAILED\n");
    return failed ? 1 : 0;
}
