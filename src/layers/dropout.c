/* dropout.c - inverted dropout, forward next to backward, and its row of
 * the kind table. In training each value is kept with probability
 * 1 - rate and scaled by 1/(1 - rate), so inference is the identity. The
 * mask of a value is a hash of the step's seed (from the trainer's RNG,
 * train.c), the layer's position and the value's place in the batch:
 * runs are bit-reproducible, resume exactly, and no thread count or
 * order of evaluation changes a mask. */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* splitmix64's finaliser: a good 64-bit mix of one counter. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The keep mask (0 or 1/(1 - rate)) of n values of a layer into mask,
 * the values from place first of the batch on. */
static void dropout_mask(float *mask, size_t n, float rate, uint64_t seed, int layer, size_t first)
{
    float scale = 1.0f / (1.0f - rate);
    /* keep when the top 24 bits, as a fraction in [0, 1), are >= rate */
    uint64_t key = mix64(seed ^ mix64((uint64_t)layer + 0x632be59bd9b4e019ull)) + first;
    for (size_t i = 0; i < n; i++) {
        float u = (float)(mix64(key + i) >> 40) * (1.0f / 16777216.0f);
        mask[i] = u >= rate ? scale : 0.0f;
    }
}

static lm_status dropout_infer(lm__layer *L, int index)
{
    float r = L->cfg.rate;
    if (!(r >= 0.0f && r < 1.0f)) {
        char a[48];
        return lm__err(LM_EINVAL, "layer %d (dropout) on %s: rate %g is outside [0, 1)", index,
                       lm__shape_str(L->in, a), (double)r);
    }
    L->out = L->in;
    return LM_OK;
}

static size_t dropout_ws(const lm__layer *L, size_t rows, size_t *tmp)
{
    /* the mask of the last training forward, (rows, n) */
    size_t n;
    *tmp = 0;
    return lm__mul_ok(rows, (size_t)L->n_in, &n) ? n : SIZE_MAX;
}

static void dropout_fwd(const lm__layer *L, const lm__fwd *a)
{
    /* out (n, N) = in (n, N) * mask (n, N) */
    size_t n = a->n * (size_t)L->n_in;
    if (!a->mode->training || L->cfg.rate == 0.0f) {
        if (a->out != a->in) memcpy(a->out, a->in, n * sizeof(float));
        if (a->mode->training)
            for (size_t i = 0; i < n; i++) a->saved[i] = 1.0f;
        return;
    }
    dropout_mask(a->saved, n, L->cfg.rate, a->mode->seed, a->index, a->mode->row0 * (size_t)L->n_in);
    for (size_t i = 0; i < n; i++) a->out[i] = a->in[i] * a->saved[i];
}

static void dropout_bwd(const lm__layer *L, const lm__bwd *a)
{
    /* din = dz * mask: the values dropped pass no gradient */
    if (!a->din) return;
    size_t n = a->n * (size_t)L->n_in;
    for (size_t i = 0; i < n; i++) a->din[i] = a->dz[i] * a->saved[i];
}

/* Record: the rate as f32 bits. */
static void dropout_put(const lm__layer_cfg *c, uint32_t *w) { memcpy(&w[0], &c->rate, 4); }

static lm_status dropout_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    memcpy(&c->rate, &w[0], 4);
    if (!(c->rate >= 0.0f && c->rate < 1.0f))
        return lm__err(LM_EFORMAT, "layer %d (dropout) has rate %g outside [0, 1)", index, (double)c->rate);
    return LM_OK;
}

const lm__kind lm__kind_dropout = {
    .name = "dropout",
    .id = LM_LAYER_DROPOUT,
    .flags = LM__KIND_RANDOM,
    .infer = dropout_infer,
    .forward = dropout_fwd,
    .backward = dropout_bwd,
    .workspace = dropout_ws,
    .n_words = 1,
    .put = dropout_put,
    .get = dropout_get,
};
