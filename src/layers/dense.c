/* dense.c - the dense layer y = act(x W + b), forward next to backward,
 * and its row of the kind table. W is (IN, OUT) row-major, as in the
 * tutorial's X W1; the input row is read flat whatever its shape (the
 * implicit flatten: (H, W, C) order, see layer.h). */
#include "layers/layer.h"
#include "layers/dense.h"

void lm_dense_forward(float *out, const float *in, const float *w, const float *b,
                      size_t B, int IN, int OUT, lm_act act, int skip_act, lm_pool *pool)
{
    /* out (B, OUT), in (B, IN), w (IN, OUT), b (OUT) or NULL */
    lm_act fused = (skip_act || act == LM_SOFTMAX) ? LM_IDENTITY : act;
    lm_epilogue ep = {b, fused};
    lm_gemm_nn((int)B, OUT, IN, in, IN, w, OUT, out, OUT, &ep, pool);
    if (!skip_act && act == LM_SOFTMAX) lm__act_forward(LM_SOFTMAX, out, B, OUT);
}

void lm_dense_backward(float *din, float *dw, float *db, const float *dz, const float *in,
                       const float *w, size_t B, int IN, int OUT, lm_pool *pool)
{
    /* din (B, IN) or NULL, dw (IN, OUT), db (OUT) or NULL,
     * dz (B, OUT) gradient of the pre-activation, in (B, IN), w (IN, OUT) */
    lm_gemm_tn(IN, OUT, (int)B, in, IN, dz, OUT, dw, OUT, pool);
    if (db) lm_colsum((int)B, OUT, dz, OUT, db);
    if (din) lm_gemm_nt((int)B, IN, OUT, dz, OUT, w, OUT, din, IN, pool);
}

/* ------------------------------------------------------ the kind row */

/* W and b relative to the layer's parameters (w_off and b_off are where
 * they lie in the whole buffer once the layer is added) */
static size_t w_at(const lm__layer *L) { return L->w_off - L->p_off; }
static size_t b_at(const lm__layer *L) { return L->b_off - L->p_off; }

static lm_status dense_infer(lm__layer *L, int index)
{
    int n_out = L->cfg.units;
    if (n_out < 1 || n_out > LM_MAX_WIDTH)
        return lm__err(LM_EINVAL, "layer %d (dense): width %d is out of range 1..%d", index, n_out,
                       LM_MAX_WIDTH);
    size_t nw;
    int bias = L->cfg.flags != LM_NO_BIAS;
    if (!lm__mul_ok((size_t)L->n_in, (size_t)n_out, &nw) || nw + (size_t)n_out < nw)
        return lm__err(LM_ENOMEM, "layer %d x %d is too large", L->n_in, n_out);
    L->out = (lm__shape){n_out, 1, 1};
    L->has_bias = bias;
    L->n_par = nw + (bias ? (size_t)n_out : 0);
    L->w_off = 0;
    L->b_off = bias ? nw : SIZE_MAX;
    return LM_OK;
}

static void dense_init(const lm__layer *L, float *p, float *state, lm_init init, lm_rng *rng)
{
    /* weights row-major, then the bias: the order model files and the
     * tutorial's fixtures draw in */
    lm__init_weights(p, (size_t)L->n_in * (size_t)L->n_out, L->n_in, L->n_out, init, rng);
    if (L->has_bias)
        for (int j = 0; j < L->n_out; j++)
            p[b_at(L) + j] = init == LM_INIT_UNIFORM01 ? lm_rng_uniform(rng) : 0.0f;
}

static void dense_fwd(const lm__layer *L, const lm__fwd *a)
{
    lm_dense_forward(a->out, a->in, a->p + w_at(L), L->has_bias ? a->p + b_at(L) : NULL, a->n,
                     L->n_in, L->n_out, L->act, a->skip_act, a->pool);
}

static void dense_bwd(const lm__layer *L, const lm__bwd *a)
{
    lm_dense_backward(a->din, a->g + w_at(L), L->has_bias ? a->g + b_at(L) : NULL, a->dz, a->in,
                      a->p + w_at(L), a->n, L->n_in, L->n_out, a->pool);
}

static int dense_regions(const lm__layer *L, lm__region *r)
{
    /* the weights split by rows, as lm_gemm_tn shares them (optim.c) */
    r[0] = (lm__region){w_at(L), L->n_in, L->n_out};
    if (!L->has_bias) return 1;
    r[1] = (lm__region){b_at(L), 1, L->n_out};
    return 2;
}

/* Record: units, activation, bias (0/1): version 1's dense record. */
static void dense_put(const lm__layer_cfg *c, uint32_t *w)
{
    w[0] = (uint32_t)c->units;
    w[1] = (uint32_t)c->act;
    w[2] = c->flags == LM_NO_BIAS ? 0u : 1u;
}

static lm_status dense_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    if (w[1] >= LM_ACT_COUNT) return lm__err(LM_EFORMAT, "layer %d has unknown activation %u", index, w[1]);
    if (w[2] > 1) return lm__err(LM_EFORMAT, "layer %d has a bad bias flag %u", index, w[2]);
    if (w[0] < 1 || w[0] > LM_MAX_WIDTH) return lm__err(LM_EFORMAT, "layer %d width %u is out of range", index, w[0]);
    c->units = (int)w[0];
    c->act = (lm_act)w[1];
    c->flags = w[2] ? LM_BIAS : LM_NO_BIAS;
    return LM_OK;
}

const lm__kind lm__kind_dense = {
    .name = "dense",
    .id = LM_LAYER_DENSE,
    .flags = LM__KIND_MATMUL,
    .infer = dense_infer,
    .init = dense_init,
    .forward = dense_fwd,
    .backward = dense_bwd,
    .regions = dense_regions,
    .n_words = 3,
    .put = dense_put,
    .get = dense_get,
};
