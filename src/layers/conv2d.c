/* conv2d.c - the 2-D convolution layer y = act(conv(x, W) + b), forward
 * next to backward, and its row of the kind table.
 *
 * Layout (see layers/layer.h): x (B, H, W, C) channels-last, W
 * (KH, KW, C, F) row-major = a (KH*KW*C, F) matrix, then b (F), y
 * (B, OH, OW, F). The work is im2col and one packed GEMM with the bias
 * and activation fused (src/kernels/conv.c), or for a 3x3 stride-1
 * window with 8 channels or more, Winograd F(2x2, 3x3), 2.25x fewer
 * multiply-adds (src/kernels/winograd.c; lm_conv_algo chooses, from the
 * shape alone). On im2col the training forward keeps its im2col matrix
 * for the backward (the weight gradient is col^T dz), so the backward
 * does not build it again, and the scratch holds dcol; Winograd keeps its
 * transformed filters and works in the scratch. */
#include "layers/layer.h"
#include "kernels/conv.h"

#include <limits.h>
#include <stdio.h>

/* Largest kernel side and stride a layer (and a model file) may hold. */
#define MAX_SIDE 4096

/* The kernels' geometry for rows images (the layer's settings are
 * already checked, so the geometry exists). */
static lm_conv_shape shape_of(const lm__layer *L, size_t rows)
{
    const lm__layer_cfg *c = &L->cfg;
    int pad = c->pad == LM_PAD_VALID ? 0 : c->pad;
    lm_conv_shape s = {(int)rows, L->in.h, L->in.w, L->in.c, c->kh, c->kw, c->stride, c->stride,
                       0, 0, 0, 0};
    lm_conv_geometry(s.H, s.KH, s.SH, pad, &s.OH, &s.PT);
    lm_conv_geometry(s.W, s.KW, s.SW, pad, &s.OW, &s.PL);
    return s;
}

/* The padding as people write it. */
static const char *pad_str(int pad, char *buf)
{
    if (pad == LM_PAD_SAME) return "same";
    if (pad == LM_PAD_VALID || pad == 0) return "valid";
    snprintf(buf, 16, "%d", pad);
    return buf;
}

static lm_status conv_infer(lm__layer *L, int index)
{
    const lm__layer_cfg *c = &L->cfg;
    char a[48], pb[16];
    if (c->units < 1 || c->units > LM_MAX_WIDTH)
        return lm__err(LM_EINVAL, "layer %d (conv2d): %d filters is out of range 1..%d", index,
                       c->units, LM_MAX_WIDTH);
    if (c->kh < 1 || c->kw < 1 || c->kh > MAX_SIDE || c->kw > MAX_SIDE)
        return lm__err(LM_EINVAL, "layer %d (conv2d): kernel %dx%d is out of range 1..%d", index,
                       c->kh, c->kw, MAX_SIDE);
    if (c->stride < 1 || c->stride > MAX_SIDE)
        return lm__err(LM_EINVAL, "layer %d (conv2d): stride %d is out of range 1..%d", index,
                       c->stride, MAX_SIDE);
    if (c->pad < LM_PAD_VALID)
        return lm__err(LM_EINVAL, "layer %d (conv2d): unknown padding %d", index, c->pad);
    if (c->act == LM_SOFTMAX)
        return lm__err(LM_EINVAL, "layer %d (conv2d): softmax is not an elementwise activation",
                       index);
    int pad = c->pad == LM_PAD_VALID ? 0 : c->pad, oh, ow, pt, pl;
    if (pad >= 0 && (pad >= c->kh || pad >= c->kw))
        return lm__err(LM_EINVAL,
                       "layer %d (conv2d): padding %d must be smaller than the kernel %dx%d",
                       index, pad, c->kh, c->kw);
    if (lm_conv_geometry(L->in.h, c->kh, c->stride, pad, &oh, &pt) ||
        lm_conv_geometry(L->in.w, c->kw, c->stride, pad, &ow, &pl))
        return lm__err(LM_EINVAL,
                       "layer %d (conv2d): kernel %dx%d (padding %s) is larger than its input %s",
                       index, c->kh, c->kw, pad_str(c->pad, pb), lm__shape_str(L->in, a));
    size_t k = (size_t)c->kh * (size_t)c->kw * (size_t)L->in.c, nw;
    if (!lm__mul_ok(k, (size_t)c->units, &nw) || nw + (size_t)c->units < nw ||
        k > (size_t)INT_MAX)
        return lm__err(LM_ENOMEM, "layer %d (conv2d): %zu x %d weights are too many", index, k,
                       c->units);
    int bias = c->flags != LM_NO_BIAS;
    L->out = (lm__shape){c->units, oh, ow};
    L->has_bias = bias;
    L->n_par = nw + (bias ? (size_t)c->units : 0);
    return LM_OK;
}

static void conv_init(const lm__layer *L, float *p, float *state, lm_init init, lm_rng *rng)
{
    /* fans as Keras and PyTorch count them: the receptive field times the
     * input (fan in) or output (fan out) channels */
    int F = L->cfg.units, area = L->cfg.kh * L->cfg.kw;
    size_t nw = (size_t)area * L->in.c * F;
    lm__init_weights(p, nw, area * L->in.c, area * F, init, rng);
    if (L->has_bias)
        for (int j = 0; j < F; j++) p[nw + j] = init == LM_INIT_UNIFORM01 ? lm_rng_uniform(rng) : 0.0f;
}

/* Floats of the im2col matrix for rows images, or SIZE_MAX when its row
 * count would not fit the GEMM's int sizes. */
static size_t col_floats(const lm__layer *L, size_t rows)
{
    size_t k = (size_t)L->cfg.kh * L->cfg.kw * L->in.c, m, n;
    size_t wide = k > (size_t)L->cfg.units ? k : (size_t)L->cfg.units;
    if (!lm__mul_ok(rows, (size_t)L->out.h * L->out.w, &m) || !lm__mul_ok(m, wide, &n) ||
        n > (size_t)INT_MAX)
        return SIZE_MAX;
    return m * k;
}

static size_t conv_workspace(const lm__layer *L, size_t rows, size_t *tmp)
{
    size_t n = col_floats(L, rows);
    lm_conv_shape s = shape_of(L, 1);
    if (n != SIZE_MAX && lm_conv_col_is_input(&s)) n = 0; /* x is its own col */
    *tmp = n;
    if (n == SIZE_MAX || !lm_conv_winograd_fits(&s)) return n;
    /* Winograd's buffers too, whichever algorithm runs, so that forcing
     * one (tests, benchmarks) never outgrows the workspace. They are
     * within a small factor of col's, which col_floats checked. */
    s.B = (int)rows;
    size_t ws = lm_wino_saved_size(&s, L->cfg.units), wt = lm_wino_tmp_size(&s, L->cfg.units);
    if (wt > *tmp) *tmp = wt;
    return ws > n ? ws : n;
}

static void conv_fwd(const lm__layer *L, const lm__fwd *a)
{
    lm_conv_shape s = shape_of(L, a->n);
    int F = L->cfg.units;
    size_t nw = (size_t)s.KH * s.KW * s.C * F;
    lm_act act = a->skip_act ? LM_IDENTITY : L->act;
    const float *b = L->has_bias ? a->p + nw : NULL;
    if (lm_conv_algo(&s, F) == LM_CONV_WINOGRAD)
        lm_wino_forward(&s, F, a->in, a->p, b, act, a->out, a->saved, a->tmp, a->pool);
    else
        lm_conv2d_forward(&s, F, a->in, a->p, b, act, a->out, a->saved, a->pool);
}

static void conv_bwd(const lm__layer *L, const lm__bwd *a)
{
    lm_conv_shape s = shape_of(L, a->n);
    int F = L->cfg.units;
    size_t nw = (size_t)s.KH * s.KW * s.C * F;
    float *db = L->has_bias ? a->g + nw : NULL;
    if (lm_conv_algo(&s, F) == LM_CONV_WINOGRAD)
        lm_wino_backward(&s, F, a->dz, a->in, a->saved, a->g, db, a->din, a->tmp, a->pool);
    else
        lm_conv2d_backward(&s, F, a->dz, a->in, a->saved, a->p, a->g, db, a->din, a->tmp,
                           a->pool);
}

static int conv_regions(const lm__layer *L, lm__region *r)
{
    /* the weights split by rows, as lm_gemm_tn shares them (optim.c) */
    int k = L->cfg.kh * L->cfg.kw * L->in.c, F = L->cfg.units;
    r[0] = (lm__region){0, k, F};
    if (!L->has_bias) return 1;
    r[1] = (lm__region){(size_t)k * F, 1, F};
    return 2;
}

/* Record (docs/FORMAT.md): filters, kh, kw, stride, padding (int32:
 * -1 same, -2 valid, else the number), activation, bias (0/1). */
static void conv_put(const lm__layer_cfg *c, uint32_t *w)
{
    w[0] = (uint32_t)c->units;
    w[1] = (uint32_t)c->kh;
    w[2] = (uint32_t)c->kw;
    w[3] = (uint32_t)c->stride;
    w[4] = (uint32_t)(int32_t)c->pad;
    w[5] = (uint32_t)c->act;
    w[6] = c->flags == LM_NO_BIAS ? 0u : 1u;
}

static lm_status conv_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    int32_t pad = (int32_t)w[4];
    if (w[0] < 1 || w[0] > LM_MAX_WIDTH)
        return lm__err(LM_EFORMAT, "layer %d (conv2d): %u filters is out of range", index, w[0]);
    if (w[1] < 1 || w[1] > MAX_SIDE || w[2] < 1 || w[2] > MAX_SIDE || w[3] < 1 || w[3] > MAX_SIDE)
        return lm__err(LM_EFORMAT, "layer %d (conv2d): kernel %ux%u stride %u is out of range",
                       index, w[1], w[2], w[3]);
    if (pad < LM_PAD_VALID || pad >= MAX_SIDE)
        return lm__err(LM_EFORMAT, "layer %d (conv2d): bad padding %d", index, (int)pad);
    if (w[5] >= LM_ACT_COUNT || w[5] == LM_SOFTMAX)
        return lm__err(LM_EFORMAT, "layer %d (conv2d): bad activation %u", index, w[5]);
    if (w[6] > 1) return lm__err(LM_EFORMAT, "layer %d (conv2d): bad bias flag %u", index, w[6]);
    c->units = (int)w[0];
    c->kh = (int)w[1];
    c->kw = (int)w[2];
    c->stride = (int)w[3];
    c->pad = (int)pad;
    c->act = (lm_act)w[5];
    c->flags = w[6] ? LM_BIAS : LM_NO_BIAS;
    return LM_OK;
}

const lm__kind lm__kind_conv2d = {
    .name = "conv2d",
    .id = LM_LAYER_CONV2D,
    .infer = conv_infer,
    .init = conv_init,
    .forward = conv_fwd,
    .backward = conv_bwd,
    .workspace = conv_workspace,
    .regions = conv_regions,
    .n_words = 7,
    .put = conv_put,
    .get = conv_get,
};
