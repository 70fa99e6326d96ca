/* batchnorm.c - batch normalisation per channel, forward next to
 * backward, and its row of the kind table. Channels are the last axis of
 * the channels-last layout, so a batch of n rows of (C, H, W) is a
 * (n*H*W, C) matrix whose columns are normalised: after a dense layer
 * each unit is a channel. Parameters gamma (C) then beta (C); state the
 * running mean (C) then the running variance (C).
 *
 * Sums run in double over the rows in order, on one thread: the result
 * depends on the shapes alone, never on the thread count.
 *
 * Synchronised across processes (lm__mode.reduce, data-parallel
 * training): each process holds some rows of the batch, and the
 * per-channel sums are summed over the processes before they are used,
 * so every process normalises by the whole batch's mean and variance,
 * updates the running statistics alike, and its backward gives the input
 * gradient one process would. The variance stays two-pass (the mean's
 * sums reduced first, then the squared deviations from it), not one pass
 * of sum and sum of squares: that would lose digits to cancellation
 * where the mean is large against the spread, and it keeps the
 * one-process arithmetic exactly. A row count travels with the sums, so
 * a layer needs no word of how the batch was split. */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

static lm_status bn_infer(lm__layer *L, int index)
{
    char a[48];
    float m = L->cfg.momentum, e = L->cfg.eps;
    if (!(m >= 0.0f && m <= 1.0f))
        return lm__err(LM_EINVAL, "layer %d (batchnorm) on %s: momentum %g is outside [0, 1]", index,
                       lm__shape_str(L->in, a), (double)m);
    if (!(e > 0.0f) || !isfinite(e))
        return lm__err(LM_EINVAL, "layer %d (batchnorm) on %s: eps %g must be positive", index,
                       lm__shape_str(L->in, a), (double)e);
    L->out = L->in;
    L->n_par = 2 * (size_t)L->in.c;
    L->n_state = 2 * (size_t)L->in.c;
    return LM_OK;
}

static void bn_start(const lm__layer *L, float *p, float *state)
{
    int C = L->in.c;
    for (int c = 0; c < C; c++) {
        if (p) {
            p[c] = 1.0f;     /* gamma */
            p[C + c] = 0.0f; /* beta */
        }
        state[c] = 0.0f;     /* running mean */
        state[C + c] = 1.0f; /* running variance */
    }
}

static void bn_init(const lm__layer *L, float *p, float *state, lm_init init, lm_rng *rng)
{
    bn_start(L, p, state);
}

static size_t bn_ws(const lm__layer *L, size_t rows, size_t *tmp)
{
    /* saved: the batch's mean and 1/sqrt(var + eps) per channel; scratch:
     * two double sums per channel and a row count */
    *tmp = 2 * (2 * (size_t)L->in.c + 1);
    return 2 * (size_t)L->in.c;
}

static void bn_fwd(const lm__layer *L, const lm__fwd *a)
{
    /* in, out (m, C) with m = n*H*W */
    size_t C = (size_t)L->in.c, m = a->n * (size_t)L->in.h * (size_t)L->in.w;
    const float *gamma = a->p, *beta = a->p + C, *x = a->in;
    float *rmean = a->state, *rvar = a->state + C, *y = a->out;
    if (!a->mode->training) {
        for (size_t c = 0; c < C; c++) {
            float s = gamma[c] / sqrtf(rvar[c] + L->cfg.eps);
            a->tmp[c] = s;
            a->tmp[C + c] = beta[c] - rmean[c] * s;
        }
        for (size_t r = 0; r < m; r++)
            for (size_t c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * a->tmp[c] + a->tmp[C + c];
        return;
    }
    /* sum (C) then the rows (1), sq (C): the batch's rows are M, m here */
    double *sum = (double *)a->tmp, *sq = sum + C + 1, M = (double)m;
    float *mean = a->saved, *inv = a->saved + C;
    for (size_t c = 0; c < C; c++) sum[c] = sq[c] = 0;
    for (size_t r = 0; r < m; r++)
        for (size_t c = 0; c < C; c++) sum[c] += x[r * C + c];
    if (a->mode->reduce) {
        sum[C] = M;
        a->mode->reduce(sum, C + 1, a->mode->reduce_ctx);
        M = sum[C];
    }
    for (size_t c = 0; c < C; c++) mean[c] = (float)(sum[c] / M);
    for (size_t r = 0; r < m; r++)
        for (size_t c = 0; c < C; c++) {
            double d = (double)x[r * C + c] - mean[c];
            sq[c] += d * d;
        }
    if (a->mode->reduce) a->mode->reduce(sq, C, a->mode->reduce_ctx);
    /* The running variance is unbiased, as PyTorch keeps it. One value
     * per channel (a last batch of one row after a dense layer) has none:
     * PyTorch refuses such a batch, and taking its variance as 0 pulled
     * the running variance toward 0 every epoch, so the statistics stay
     * as they were. */
    float mom = L->cfg.momentum;
    for (size_t c = 0; c < C; c++) {
        double var = sq[c] / M;
        inv[c] = (float)(1.0 / sqrt(var + L->cfg.eps));
        if (M > 1) {
            rmean[c] = (1.0f - mom) * rmean[c] + mom * mean[c];
            rvar[c] = (1.0f - mom) * rvar[c] + mom * (float)(sq[c] / (M - 1));
        }
    }
    for (size_t r = 0; r < m; r++)
        for (size_t c = 0; c < C; c++)
            y[r * C + c] = gamma[c] * ((x[r * C + c] - mean[c]) * inv[c]) + beta[c];
}

static void bn_bwd(const lm__layer *L, const lm__bwd *a)
{
    /* With xhat = (x - mean) inv: dbeta = sum dy, dgamma = sum dy xhat,
     * dx = gamma inv / M (M dy - dbeta - xhat dgamma), the sums over the
     * batch's M rows. */
    size_t C = (size_t)L->in.c, m = a->n * (size_t)L->in.h * (size_t)L->in.w;
    const float *gamma = a->p, *x = a->in, *dy = a->dz, *mean = a->saved, *inv = a->saved + C;
    double *db = (double *)a->tmp, *dg = db + C, M = (double)m;
    for (size_t c = 0; c < C; c++) db[c] = dg[c] = 0;
    for (size_t r = 0; r < m; r++)
        for (size_t c = 0; c < C; c++) {
            double d = dy[r * C + c];
            db[c] += d;
            dg[c] += d * (double)((x[r * C + c] - mean[c]) * inv[c]);
        }
    /* this process's rows' parameter gradients: the gradient hook sums
     * them with all the others */
    for (size_t c = 0; c < C; c++) {
        a->g[c] = (float)dg[c];
        a->g[C + c] = (float)db[c];
    }
    if (!a->din) return; /* the first layer on every process alike: no call */
    if (a->reduce) {
        dg[C] = M;
        a->reduce(db, 2 * C + 1, a->reduce_ctx);
        M = dg[C];
    }
    for (size_t r = 0; r < m; r++)
        for (size_t c = 0; c < C; c++) {
            float xhat = (x[r * C + c] - mean[c]) * inv[c];
            double v = M * dy[r * C + c] - db[c] - (double)xhat * dg[c];
            a->din[r * C + c] = (float)((double)gamma[c] * inv[c] / M * v);
        }
}

static int bn_regions(const lm__layer *L, lm__region *r)
{
    r[0] = (lm__region){0, 1, L->in.c};
    r[1] = (lm__region){(size_t)L->in.c, 1, L->in.c};
    return 2;
}

/* Record: momentum and eps as f32 bits. */
static void bn_put(const lm__layer_cfg *c, uint32_t *w)
{
    memcpy(&w[0], &c->momentum, 4);
    memcpy(&w[1], &c->eps, 4);
}

static lm_status bn_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    memcpy(&c->momentum, &w[0], 4);
    memcpy(&c->eps, &w[1], 4);
    if (!(c->momentum >= 0.0f && c->momentum <= 1.0f) || !(c->eps > 0.0f) || !isfinite(c->eps))
        return lm__err(LM_EFORMAT, "layer %d (batchnorm) has momentum %g, eps %g", index,
                       (double)c->momentum, (double)c->eps);
    return LM_OK;
}

/* A running variance below 0 makes sqrt(var + eps) NaN, and with it every
 * prediction; training never leaves one (an unbiased variance, mixed with
 * a weight in [0, 1]), a file or a caller writing lm_net_state may. */
static lm_status bn_check_state(const lm__layer *L, const float *state, int index, lm_status code)
{
    size_t C = (size_t)L->in.c;
    for (size_t c = 0; c < C; c++)
        if (!(state[C + c] >= 0.0f))
            return lm__err(code, "layer %d (batchnorm): the running variance of channel %zu is %g, "
                           "below 0", index, c, (double)state[C + c]);
    return LM_OK;
}

const lm__kind lm__kind_batchnorm = {
    .name = "batchnorm",
    .id = LM_LAYER_BATCHNORM,
    .flags = LM__KIND_BATCH, /* batch statistics: no row shards (train.c) */
    .infer = bn_infer,
    .start = bn_start,
    .init = bn_init,
    .forward = bn_fwd,
    .backward = bn_bwd,
    .workspace = bn_ws,
    .regions = bn_regions,
    .n_words = 2,
    .put = bn_put,
    .get = bn_get,
    .check_state = bn_check_state,
};
