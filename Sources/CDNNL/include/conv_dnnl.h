// A stride-1-or-not, groups = 1, float32 2-D convolution of one fixed geometry run by oneDNN.
// The caller's tensors stay in NCHW (data) and OIHW (weights); the handle reorders them into the
// blocked layouts oneDNN's kernels want and back. It owns everything it needs (engine, stream,
// primitives, reorders, blocked buffers, scratchpad), so the run functions allocate nothing.
// Every run function WRITES its outputs (never accumulates) and returns 0 on success.
#ifndef CONV_DNNL_H
#define CONV_DNNL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct conv_dnnl conv_dnnl;

/// Geometry: input [n, cin, h, w], weight [cout, cin, kh, kw], zeros padded before (top, left) and
/// after (bottom, right), dilation >= 1 (PyTorch's meaning). NULL when oneDNN cannot run it.
conv_dnnl *conv_dnnl_create(int n, int cin, int h, int w, int cout, int kh, int kw, int stride_h, int stride_w,
                            int pad_top, int pad_left, int pad_bottom, int pad_right, int dilation_h, int dilation_w,
                            int with_bias);
void conv_dnnl_destroy(conv_dnnl *conv);

/// Output height and width.
int conv_dnnl_out_h(const conv_dnnl *conv);
int conv_dnnl_out_w(const conv_dnnl *conv);

/// dst [n, cout, oh, ow] = conv(src, weights) (+ bias; bias must be given iff created with_bias).
int conv_dnnl_forward(conv_dnnl *conv, const float *src, const float *weights, const float *bias, float *dst);
/// diff_src [n, cin, h, w] from diff_dst and weights.
int conv_dnnl_backward_data(conv_dnnl *conv, const float *diff_dst, const float *weights, float *diff_src);
/// diff_weights [cout, cin, kh, kw] and, if not NULL (only with bias), diff_bias [cout].
int conv_dnnl_backward_weights(conv_dnnl *conv, const float *src, const float *diff_dst, float *diff_weights,
                               float *diff_bias);

#ifdef __cplusplus
}
#endif
#endif
