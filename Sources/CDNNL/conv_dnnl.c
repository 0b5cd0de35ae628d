// oneDNN convolution shim (see include/conv_dnnl.h). Each pass (forward, backward data, backward
// weights) is a primitive on the layouts oneDNN chose (format_tag any), with reorders from the
// caller's NCHW / OIHW buffers into blocked buffers it owns and back. The caller's buffers are
// bound per call with dnnl_memory_set_data_handle, so a run allocates nothing.
#include "conv_dnnl.h"

#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#define MAX_SLOTS 4

typedef struct {
    dnnl_primitive_t prim; // NULL when the caller's layout is the primitive's: no copy needed
    dnnl_memory_t from, to;
} reorder;

// One primitive with its arguments. Slot i is a memory in the caller's layout whose data handle
// is the i-th pointer of a run; inputs are reordered from it before the primitive, outputs after.
typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[MAX_SLOTS + 1];
    int nargs;
    dnnl_memory_t user[MAX_SLOTS];
    int nslots;
    reorder in[MAX_SLOTS], out[MAX_SLOTS];
    int nin, nout;
    dnnl_memory_t owned[MAX_SLOTS + 1]; // blocked buffers and the scratchpad
    int nowned;
} pass;

struct conv_dnnl {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int with_bias, cout, out_h, out_w;
    float *unused_diff_bias; // bound when the caller wants no bias gradient
    pass fwd, bwd_data, bwd_weights;
};

#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        if ((call) != dnnl_success) goto fail;                                                                         \
    } while (0)

// Adds argument `arg`, which the primitive wants in layout `md`, bound to a caller buffer in layout `user_md`.
static int add_arg(conv_dnnl *c, pass *p, int arg, const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *user_md,
                   int is_input) {
    dnnl_memory_t user = NULL, inner = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    TRY(dnnl_memory_create(&user, user_md, c->engine, DNNL_MEMORY_NONE));
    p->user[p->nslots++] = user;
    if (dnnl_memory_desc_equal(md, user_md)) {
        p->args[p->nargs++] = (dnnl_exec_arg_t){arg, user};
        return 0;
    }
    TRY(dnnl_memory_create(&inner, md, c->engine, DNNL_MEMORY_ALLOCATE));
    p->owned[p->nowned++] = inner;
    p->args[p->nargs++] = (dnnl_exec_arg_t){arg, inner};
    reorder *r = is_input ? &p->in[p->nin++] : &p->out[p->nout++];
    r->from = is_input ? user : inner;
    r->to = is_input ? inner : user;
    TRY(dnnl_reorder_primitive_desc_create(&rpd, is_input ? user_md : md, c->engine, is_input ? md : user_md,
                                           c->engine, NULL));
    dnnl_status_t st = dnnl_primitive_create(&r->prim, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return st == dnnl_success ? 0 : -1;
fail:
    return -1;
}

// Creates the primitive and its scratchpad (the attribute asked for a user-owned one).
static int finish_pass(conv_dnnl *c, pass *p, dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd && dnnl_memory_desc_get_size(smd) > 0) {
        dnnl_memory_t s = NULL;
        TRY(dnnl_memory_create(&s, smd, c->engine, DNNL_MEMORY_ALLOCATE));
        p->owned[p->nowned++] = s;
        p->args[p->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s};
    }
    TRY(dnnl_primitive_create(&p->prim, pd));
    return 0;
fail:
    return -1;
}

static void free_pass(pass *p) {
    if (p->prim) dnnl_primitive_destroy(p->prim);
    for (int i = 0; i < p->nin; i++)
        if (p->in[i].prim) dnnl_primitive_destroy(p->in[i].prim);
    for (int i = 0; i < p->nout; i++)
        if (p->out[i].prim) dnnl_primitive_destroy(p->out[i].prim);
    for (int i = 0; i < p->nslots; i++) dnnl_memory_destroy(p->user[i]);
    for (int i = 0; i < p->nowned; i++) dnnl_memory_destroy(p->owned[i]);
}

static int run_reorder(conv_dnnl *c, const reorder *r) {
    if (!r->prim) return 0;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, r->from}, {DNNL_ARG_TO, r->to}};
    return dnnl_primitive_execute(r->prim, c->stream, 2, args) == dnnl_success ? 0 : -1;
}

// Binds the caller's buffers to the slots (in the order they were added), then runs the pass.
static int run_pass(conv_dnnl *c, pass *p, void *const *buffers) {
    for (int i = 0; i < p->nslots; i++)
        if (dnnl_memory_set_data_handle(p->user[i], buffers[i]) != dnnl_success) return -1;
    for (int i = 0; i < p->nin; i++)
        if (run_reorder(c, &p->in[i])) return -1;
    if (dnnl_primitive_execute(p->prim, c->stream, p->nargs, p->args) != dnnl_success) return -1;
    for (int i = 0; i < p->nout; i++)
        if (run_reorder(c, &p->out[i])) return -1;
    return dnnl_stream_wait(c->stream) == dnnl_success ? 0 : -1;
}

conv_dnnl *conv_dnnl_create(int n, int cin, int h, int w, int cout, int kh, int kw, int stride_h, int stride_w,
                            int pad_top, int pad_left, int pad_bottom, int pad_right, int dilation_h, int dilation_w,
                            int with_bias) {
    if (n < 1 || cin < 1 || h < 1 || w < 1 || cout < 1 || kh < 1 || kw < 1 || stride_h < 1 || stride_w < 1 ||
        dilation_h < 1 || dilation_w < 1 || pad_top < 0 || pad_left < 0 || pad_bottom < 0 || pad_right < 0)
        return NULL;
    const int out_h = (h + pad_top + pad_bottom - dilation_h * (kh - 1) - 1) / stride_h + 1;
    const int out_w = (w + pad_left + pad_right - dilation_w * (kw - 1) - 1) / stride_w + 1;
    if (h + pad_top + pad_bottom < dilation_h * (kh - 1) + 1 || w + pad_left + pad_right < dilation_w * (kw - 1) + 1)
        return NULL;

    conv_dnnl *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->with_bias = with_bias;
    c->cout = cout;
    c->out_h = out_h;
    c->out_w = out_w;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    TRY(dnnl_engine_create(&c->engine, dnnl_cpu, 0));
    TRY(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (with_bias && !(c->unused_diff_bias = malloc(sizeof(float) * (size_t)cout))) goto fail;

    dnnl_dims_t src_d = {n, cin, h, w}, wei_d = {cout, cin, kh, kw}, bia_d = {cout}, dst_d = {n, cout, out_h, out_w};
    dnnl_dims_t strides = {stride_h, stride_w}, dilates = {dilation_h - 1, dilation_w - 1};
    dnnl_dims_t pad_l = {pad_top, pad_left}, pad_r = {pad_bottom, pad_right};
    dnnl_memory_desc_t src_any, wei_any, dst_any, bia_md, src_u, wei_u, dst_u;
    TRY(dnnl_memory_desc_init_by_tag(&src_any, 4, src_d, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&wei_any, 4, wei_d, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_d, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&bia_md, 1, bia_d, dnnl_f32, dnnl_x));
    TRY(dnnl_memory_desc_init_by_tag(&src_u, 4, src_d, dnnl_f32, dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&wei_u, 4, wei_d, dnnl_f32, dnnl_oihw));
    TRY(dnnl_memory_desc_init_by_tag(&dst_u, 4, dst_d, dnnl_f32, dnnl_nchw));
    const dnnl_memory_desc_t *bias_or_null = with_bias ? &bia_md : NULL;

    // forward: slots src, weights, [bias], dst
    dnnl_convolution_desc_t fd, dd, wd;
    TRY(dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_any,
                                                   &wei_any, bias_or_null, &dst_any, strides, dilates, pad_l, pad_r));
    TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, c->engine, NULL));
    if (add_arg(c, &c->fwd, DNNL_ARG_SRC, dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0), &src_u, 1) ||
        add_arg(c, &c->fwd, DNNL_ARG_WEIGHTS, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), &wei_u, 1) ||
        (with_bias && add_arg(c, &c->fwd, DNNL_ARG_BIAS, &bia_md, &bia_md, 1)) ||
        add_arg(c, &c->fwd, DNNL_ARG_DST, dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0), &dst_u, 0) ||
        finish_pass(c, &c->fwd, fpd))
        goto fail;

    // backward data: slots diff_dst, weights, diff_src
    TRY(dnnl_dilated_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &src_any, &wei_any, &dst_any,
                                                         strides, dilates, pad_l, pad_r));
    TRY(dnnl_primitive_desc_create(&dpd, &dd, attr, c->engine, fpd));
    if (add_arg(c, &c->bwd_data, DNNL_ARG_DIFF_DST, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_dst_md, 0), &dst_u,
                1) ||
        add_arg(c, &c->bwd_data, DNNL_ARG_WEIGHTS, dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), &wei_u,
                1) ||
        add_arg(c, &c->bwd_data, DNNL_ARG_DIFF_SRC, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_src_md, 0),
                &src_u, 0) ||
        finish_pass(c, &c->bwd_data, dpd))
        goto fail;

    // backward weights: slots src, diff_dst, diff_weights, [diff_bias]
    TRY(dnnl_dilated_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &src_any, &wei_any,
                                                            bias_or_null, &dst_any, strides, dilates, pad_l, pad_r));
    TRY(dnnl_primitive_desc_create(&wpd, &wd, attr, c->engine, fpd));
    if (add_arg(c, &c->bwd_weights, DNNL_ARG_SRC, dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0), &src_u, 1) ||
        add_arg(c, &c->bwd_weights, DNNL_ARG_DIFF_DST, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0),
                &dst_u, 1) ||
        add_arg(c, &c->bwd_weights, DNNL_ARG_DIFF_WEIGHTS,
                dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), &wei_u, 0) ||
        (with_bias && add_arg(c, &c->bwd_weights, DNNL_ARG_DIFF_BIAS, &bia_md, &bia_md, 0)) ||
        finish_pass(c, &c->bwd_weights, wpd))
        goto fail;

    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_desc_destroy(dpd);
    dnnl_primitive_desc_destroy(wpd);
    dnnl_primitive_attr_destroy(attr);
    return c;
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    conv_dnnl_destroy(c);
    return NULL;
}

void conv_dnnl_destroy(conv_dnnl *c) {
    if (!c) return;
    free_pass(&c->fwd);
    free_pass(&c->bwd_data);
    free_pass(&c->bwd_weights);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
    free(c->unused_diff_bias);
    free(c);
}

int conv_dnnl_out_h(const conv_dnnl *c) { return c->out_h; }
int conv_dnnl_out_w(const conv_dnnl *c) { return c->out_w; }

int conv_dnnl_forward(conv_dnnl *c, const float *src, const float *weights, const float *bias, float *dst) {
    if (!bias != !c->with_bias) return -1;
    void *with_bias[4] = {(void *)src, (void *)weights, (void *)bias, dst}, *without[3] = {(void *)src, (void *)weights, dst};
    return run_pass(c, &c->fwd, c->with_bias ? with_bias : without);
}

int conv_dnnl_backward_data(conv_dnnl *c, const float *diff_dst, const float *weights, float *diff_src) {
    void *buffers[3] = {(void *)diff_dst, (void *)weights, diff_src};
    return run_pass(c, &c->bwd_data, buffers);
}

int conv_dnnl_backward_weights(conv_dnnl *c, const float *src, const float *diff_dst, float *diff_weights,
                               float *diff_bias) {
    if (diff_bias && !c->with_bias) return -1;
    void *buffers[4] = {(void *)src, (void *)diff_dst, diff_weights, diff_bias ? diff_bias : c->unused_diff_bias};
    return run_pass(c, &c->bwd_weights, buffers);
}
