/* pool2d.c - the pooling layers, forward next to backward, and their rows
 * of the kind table: maxpool2d, avgpool2d (window KHxKW moved by a
 * stride) and global_avgpool (the mean of each channel over H and W).
 *
 * Layout (layers/layer.h): x (B, H, W, C) channels-last, y (B, OH, OW, C).
 * The windows cover the input without padding (the kernels could pad, but
 * neither lm_net_add_* nor the model record asks for it), so average
 * pooling divides by the window's size. Max pooling's training forward keeps the
 * winner of each output (int32) for its backward. No parameters. */
#include "layers/layer.h"
#include "kernels/conv.h"

#include <limits.h>

/* Largest window side and stride a layer (and a model file) may hold. */
#define MAX_SIDE 4096

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

static lm_status pool_infer(lm__layer *L, int index)
{
    const lm__layer_cfg *c = &L->cfg;
    const char *name = L->kind->name;
    char a[48];
    if (c->kh < 1 || c->kw < 1 || c->kh > MAX_SIDE || c->kw > MAX_SIDE)
        return lm__err(LM_EINVAL, "layer %d (%s): window %dx%d is out of range 1..%d", index, name,
                       c->kh, c->kw, MAX_SIDE);
    if (c->stride < 1 || c->stride > MAX_SIDE)
        return lm__err(LM_EINVAL, "layer %d (%s): stride %d is out of range 1..%d", index, name,
                       c->stride, MAX_SIDE);
    int pad = c->pad == LM_PAD_VALID ? 0 : c->pad, oh, ow, pt, pl;
    if (c->pad < LM_PAD_VALID || (pad >= 0 && (pad >= c->kh || pad >= c->kw)))
        return lm__err(LM_EINVAL, "layer %d (%s): padding %d must be smaller than the window %dx%d",
                       index, name, c->pad, c->kh, c->kw);
    if (lm_conv_geometry(L->in.h, c->kh, c->stride, pad, &oh, &pt) ||
        lm_conv_geometry(L->in.w, c->kw, c->stride, pad, &ow, &pl))
        return lm__err(LM_EINVAL, "layer %d (%s): window %dx%d is larger than its input %s", index,
                       name, c->kh, c->kw, lm__shape_str(L->in, a));
    L->out = (lm__shape){L->in.c, oh, ow};
    L->n_par = 0;
    return LM_OK;
}

/* Max pooling keeps one int32 winner per output; SIZE_MAX when a batch
 * of rows would not fit. */
static size_t maxpool_workspace(const lm__layer *L, size_t rows, size_t *tmp)
{
    size_t n;
    *tmp = 0;
    /* the winner is an index inside one image: it must fit an int32 */
    if ((size_t)L->n_in > (size_t)INT32_MAX || !lm__mul_ok(rows, (size_t)L->n_out, &n))
        return SIZE_MAX;
    return n; /* sizeof(int32_t) == sizeof(float) */
}

static void maxpool_fwd(const lm__layer *L, const lm__fwd *a)
{
    lm_conv_shape s = shape_of(L, a->n);
    /* only a training forward is followed by a backward */
    int32_t *arg = a->mode && a->mode->training ? (int32_t *)(void *)a->saved : NULL;
    lm_maxpool_forward(&s, a->in, a->out, arg, a->pool);
}

static void maxpool_bwd(const lm__layer *L, const lm__bwd *a)
{
    if (!a->din) return;
    lm_conv_shape s = shape_of(L, a->n);
    lm_maxpool_backward(&s, a->dz, (const int32_t *)(const void *)a->saved, a->din, a->pool);
}

static void avgpool_fwd(const lm__layer *L, const lm__fwd *a)
{
    lm_conv_shape s = shape_of(L, a->n);
    lm_avgpool_forward(&s, a->in, a->out, a->pool);
}

static void avgpool_bwd(const lm__layer *L, const lm__bwd *a)
{
    if (!a->din) return;
    lm_conv_shape s = shape_of(L, a->n);
    lm_avgpool_backward(&s, a->dz, a->din, a->pool);
}

static int no_regions(const lm__layer *L, lm__region *r) { return 0; }

/* Record (docs/FORMAT.md): size; stride. The square window without
 * padding is all lm_net_add_*pool2d can build (the kernels could do more). */
static void pool_put(const lm__layer_cfg *c, uint32_t *w)
{
    w[0] = (uint32_t)c->kh;
    w[1] = (uint32_t)c->stride;
}

static lm_status pool_get(const char *name, lm__layer_cfg *c, const uint32_t *w, int index)
{
    if (w[0] < 1 || w[0] > MAX_SIDE || w[1] < 1 || w[1] > MAX_SIDE)
        return lm__err(LM_EFORMAT, "layer %d (%s): window %u stride %u is out of range 1..%d",
                       index, name, w[0], w[1], MAX_SIDE);
    c->kh = c->kw = (int)w[0];
    c->stride = (int)w[1];
    c->pad = 0;
    return LM_OK;
}

/* The record's reader for each kind, so that its messages name the kind. */
static lm_status maxpool_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    return pool_get(lm__kind_maxpool2d.name, c, w, index);
}

static lm_status avgpool_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    return pool_get(lm__kind_avgpool2d.name, c, w, index);
}

const lm__kind lm__kind_maxpool2d = {
    .name = "maxpool2d",
    .id = LM_LAYER_MAXPOOL2D,
    .infer = pool_infer,
    .forward = maxpool_fwd,
    .backward = maxpool_bwd,
    .workspace = maxpool_workspace,
    .regions = no_regions,
    .n_words = 2,
    .put = pool_put,
    .get = maxpool_get,
};

const lm__kind lm__kind_avgpool2d = {
    .name = "avgpool2d",
    .id = LM_LAYER_AVGPOOL2D,
    .infer = pool_infer,
    .forward = avgpool_fwd,
    .backward = avgpool_bwd,
    .regions = no_regions,
    .n_words = 2,
    .put = pool_put,
    .get = avgpool_get,
};

/* ---------------------------------------------------- global_avgpool */

static lm_status gavg_infer(lm__layer *L, int index)
{
    L->out = (lm__shape){L->in.c, 1, 1};
    L->n_par = 0;
    return LM_OK;
}

static void gavg_fwd(const lm__layer *L, const lm__fwd *a)
{
    lm_gavgpool_forward((int)a->n, L->in.h * L->in.w, L->in.c, a->in, a->out);
}

static void gavg_bwd(const lm__layer *L, const lm__bwd *a)
{
    if (a->din) lm_gavgpool_backward((int)a->n, L->in.h * L->in.w, L->in.c, a->dz, a->din);
}

/* Record: no words. */
static void gavg_put(const lm__layer_cfg *c, uint32_t *w) {}
static lm_status gavg_get(lm__layer_cfg *c, const uint32_t *w, int index) { return LM_OK; }

const lm__kind lm__kind_global_avgpool = {
    .name = "global_avgpool",
    .id = LM_LAYER_GLOBAL_AVGPOOL,
    .infer = gavg_infer,
    .forward = gavg_fwd,
    .backward = gavg_bwd,
    .regions = no_regions,
    .n_words = 0,
    .put = gavg_put,
    .get = gavg_get,
};
