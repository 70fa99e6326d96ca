/* conv.h - the spatial kernels behind conv2d and the pooling layers:
 * im2col/col2im (a convolution becomes one packed GEMM), the conv pair
 * built on them, and max, average and global average pooling; and the
 * Winograd F(2x2, 3x3) conv pair (winograd.c), declared at the end.
 *
 * Layout: activations are channels-last, (B, H, W, C) row-major, so the C
 * values of one pixel are contiguous and one kernel row of one output
 * pixel is one contiguous run of the input. Conv weights are
 * (KH, KW, C, F) row-major, which is a (KH*KW*C, F) matrix; bias is (F).
 * An im2col row is (kh, kw, c), matching the weights' rows.
 *
 * These kernels know arrays and sizes, never layers. They trust their
 * shape (the layer checks sizes and overflow when the net is built).
 *
 * Determinism: every output is computed by one task, and every sum runs
 * in an order fixed by the shape alone, so results are bit-identical
 * whatever the thread count (the GEMMs promise the same, kernels.h).
 */
#ifndef LM_CONV_H
#define LM_CONV_H

#include "kernels.h"

/* The geometry of one convolution or pooling window sweep. */
typedef struct lm_conv_shape {
    int B, H, W, C; /* input (B, H, W, C) */
    int KH, KW;     /* window */
    int SH, SW;     /* stride */
    int PT, PL;     /* zero padding before the first row / column (the
                       padding after is whatever OH, OW imply) */
    int OH, OW;     /* output rows and columns */
} lm_conv_shape;

/* Padding modes for lm_conv_geometry: a number >= 0 pads that many on
 * both sides (0 is 'valid'); LM_PAD_SAME is TensorFlow's 'same' (the
 * same value as lamina.h's, where the layer API defines it). */
#ifndef LM_PAD_SAME
#define LM_PAD_SAME (-1)
#endif

/* One axis's geometry: from input size n, window k and stride s, the
 * output size and the padding before. 'same': out = ceil(n / s), total
 * padding max((out-1)*s + k - n, 0), before = total / 2 (the odd one goes
 * after, as TensorFlow does). A number p: out = (n + 2p - k) / s + 1.
 * Returns 0, or -1 when no output exists (window larger than the padded
 * input, nonpositive sizes, p >= k so a window could hold only padding). */
int lm_conv_geometry(int n, int k, int s, int pad, int *out, int *before);

/* Floats of the im2col matrix: (B*OH*OW, KH*KW*C). */
size_t lm_conv_col_size(const lm_conv_shape *s);

/* Whether the im2col matrix is the input itself (1x1 window, stride 1,
 * no padding): then no workspace is needed and none is touched. */
int lm_conv_col_is_input(const lm_conv_shape *s);

/* col (B*OH*OW, KH*KW*C) from x (B, H, W, C); zeros where the window
 * covers padding. */
void lm_im2col(const lm_conv_shape *s, const float *x, float *col, lm_pool *pool);

/* dx (B, H, W, C) = the adjoint of im2col applied to dcol: each input
 * element the sum of the col entries that copied it (overwritten; each
 * sum in the order kh, then ow, then kw, fixed by the shape). */
void lm_col2im(const lm_conv_shape *s, const float *dcol, float *dx, lm_pool *pool);

/* y (B, OH, OW, F) = act(conv(x, w) + b). w (KH*KW*C, F), b (F) or NULL,
 * act elementwise (never softmax). col is workspace of
 * lm_conv_col_size floats (may be NULL when lm_conv_col_is_input). */
void lm_conv2d_forward(const lm_conv_shape *s, int F, const float *x, const float *w,
                       const float *b, lm_act act, float *y, float *col, lm_pool *pool);

/* From dz (B*OH*OW, F), the gradient of the pre-activation, and the col
 * matrix the forward built (still in `col`; or x itself when
 * lm_conv_col_is_input): dw (KH*KW*C, F) = col^T dz, db (F) = column sums
 * of dz, dx (B, H, W, C) = col2im(dz w^T). All overwritten; db, dx may be
 * NULL. dcol is workspace of lm_conv_col_size floats (unused when
 * lm_conv_col_is_input; may be NULL when dx is, and then dw is one GEMM
 * rather than a sum of per-image parts, with other rounding). */
void lm_conv2d_backward(const lm_conv_shape *s, int F, const float *dz, const float *x,
                        const float *col, const float *w, float *dw, float *db, float *dx,
                        float *dcol, lm_pool *pool);

/* Max pooling: y (B, OH, OW, C), the max over each window's inputs
 * (padding ignored; the first maximum in (kh, kw) order wins; NaN
 * propagates). arg (B, OH, OW, C) int32 gets the winner's index inside
 * its image, (ih * W + iw) * C + c; may be NULL for inference. */
void lm_maxpool_forward(const lm_conv_shape *s, const float *x, float *y, int32_t *arg,
                        lm_pool *pool);
/* dx (B, H, W, C) = dy routed to the winners (overwritten). */
void lm_maxpool_backward(const lm_conv_shape *s, const float *dy, const int32_t *arg,
                         float *dx, lm_pool *pool);

/* Average pooling, padding excluded: each output is the mean of the
 * window's real inputs (PyTorch's count_include_pad=False, TensorFlow's
 * 'same'). y (B, OH, OW, C). */
void lm_avgpool_forward(const lm_conv_shape *s, const float *x, float *y, lm_pool *pool);
/* dx (B, H, W, C) from dy (B, OH, OW, C) (overwritten). */
void lm_avgpool_backward(const lm_conv_shape *s, const float *dy, float *dx, lm_pool *pool);

/* Global average pooling: y (B, C) = mean over the HW pixels of
 * x (B, HW, C); backward spreads dy / HW over every pixel. */
void lm_gavgpool_forward(int B, int HW, int C, const float *x, float *y);
void lm_gavgpool_backward(int B, int HW, int C, const float *dy, float *dx);

/* ---------------------------------------------------------- Winograd */

/* The algorithms for a convolution (src/kernels/winograd.c). */
enum { LM_CONV_AUTO = 0, LM_CONV_IM2COL = 1, LM_CONV_WINOGRAD = 2 };

/* Whether the shape suits Winograd F(2x2, 3x3): a 3x3 window, stride 1
 * (any padding). */
int lm_conv_winograd_fits(const lm_conv_shape *s);

/* The algorithm conv2d runs for s with F filters: LM_CONV_WINOGRAD where
 * it fits and both channel counts are at least 8, else LM_CONV_IM2COL. The
 * environment variable LAMINA_CONV=im2col|winograd (read once) forces one
 * where it fits, for tests and benchmarks; so does lm__conv_force (tests;
 * LM_CONV_AUTO, or -1 to go back to the environment's choice). The choice
 * depends on the shape alone, never on the thread count. */
int lm_conv_algo(const lm_conv_shape *s, int F);
void lm__conv_force(int algo);

/* Floats lm_wino_forward saves for lm_wino_backward, and the scratch
 * either needs. */
size_t lm_wino_saved_size(const lm_conv_shape *s, int F);
size_t lm_wino_tmp_size(const lm_conv_shape *s, int F);

/* y (B, OH, OW, F) = act(conv(x, w) + b), as lm_conv2d_forward, for a
 * shape lm_conv_winograd_fits. saved (lm_wino_saved_size) gets the
 * transformed filters; tmp is scratch (lm_wino_tmp_size). */
void lm_wino_forward(const lm_conv_shape *s, int F, const float *x, const float *w,
                     const float *b, lm_act act, float *y, float *saved, float *tmp,
                     lm_pool *pool);

/* From dz (B*OH*OW, F), the forward's input x and what it saved: dw
 * (3*3*C, F), db (F) or NULL, dx (B, H, W, C) or NULL, all overwritten, as
 * lm_conv2d_backward. tmp is scratch (lm_wino_tmp_size). */
void lm_wino_backward(const lm_conv_shape *s, int F, const float *dz, const float *x,
                      const float *saved, float *dw, float *db, float *dx, float *tmp,
                      lm_pool *pool);

#endif
