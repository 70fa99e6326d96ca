/* optim.c - optimizers as single loops over the flat parameter buffer:
 * SGD (momentum, Nesterov), Adam, AdamW; L2 or decoupled weight decay;
 * clipping by global gradient norm. The arithmetic follows
 * torch.optim so fixtures from PyTorch match. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const optim_names[LM_OPTIM_COUNT] = {"sgd", "adam", "adamw"};

const char *lm_optim_name(lm_optim_kind k)
{
    return (unsigned)k < LM_OPTIM_COUNT ? optim_names[k] : "?";
}

static lm_status check_opts(const lm_optim_opts *o)
{
    if ((unsigned)o->kind >= LM_OPTIM_COUNT) return lm__err(LM_EINVAL, "unknown optimizer %d", (int)o->kind);
    if (!(o->lr > 0) || !isfinite(o->lr)) return lm__err(LM_EINVAL, "learning rate %g must be a positive number", o->lr);
    if (!(o->momentum >= 0 && o->momentum < 1)) return lm__err(LM_EINVAL, "momentum %g must be in [0, 1)", o->momentum);
    if (o->nesterov && !(o->momentum > 0)) return lm__err(LM_EINVAL, "Nesterov needs a momentum above 0");
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return lm__err(LM_EINVAL, "Adam betas (%g, %g) must be in [0, 1)", o->beta1, o->beta2);
    if (!(o->eps > 0) || !isfinite(o->eps)) return lm__err(LM_EINVAL, "Adam eps %g must be positive", o->eps);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return lm__err(LM_EINVAL, "weight decay %g must be a non-negative number", o->weight_decay);
    if (!(o->clip_norm >= 0) || !isfinite(o->clip_norm))
        return lm__err(LM_EINVAL, "gradient clip %g must be a non-negative number", o->clip_norm);
    return LM_OK;
}

lm_status lm__optim_init(lm__optim *opt, const lm_optim_opts *o, size_t n)
{
    memset(opt, 0, sizeof *opt);
    lm_status st = check_opts(o);
    if (st) return st;
    opt->o = *o;
    opt->n = n;
    int need_m = o->kind != LM_SGD || o->momentum > 0, need_v = o->kind != LM_SGD;
    if (need_m && !(opt->m = lm__calloc(n ? n : 1, sizeof(float), "optimizer state"))) return LM_ENOMEM;
    if (need_v && !(opt->v = lm__calloc(n ? n : 1, sizeof(float), "optimizer state"))) {
        free(opt->m);
        opt->m = NULL;
        return LM_ENOMEM;
    }
    return LM_OK;
}

void lm__optim_free(lm__optim *opt)
{
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

static void sgd(const lm_optim_opts *o, size_t n, float *p, const float *g, float *buf)
{
    float lr = o->lr, wd = o->weight_decay, mu = o->momentum;
    if (buf && !o->nesterov) { /* the common case, branch-free so it vectorises */
        for (size_t i = 0; i < n; i++) {
            buf[i] = mu * buf[i] + (g[i] + wd * p[i]);
            p[i] -= lr * buf[i];
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        if (buf) {
            buf[i] = mu * buf[i] + d;
            d = o->nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

static void adam(const lm_optim_opts *o, uint64_t t, size_t n, float *p, const float *g,
                 float *m, float *v)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    float l2 = o->kind == LM_ADAM ? o->weight_decay : 0.0f;
    float decay = o->kind == LM_ADAMW ? 1.0f - o->lr * o->weight_decay : 1.0f;
    float step = (float)(o->lr / (1.0 - pow(b1, (double)t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t));
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        p[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

/* The update is elementwise, so threads may share it out in chunks with
 * bit-identical results whatever their number. */
typedef struct update_job {
    lm__optim *opt;
    float *params, *grads;
    int tasks;
} update_job;

static void update_chunk(void *ctx, int i)
{
    const update_job *j = ctx;
    const lm__optim *opt = j->opt;
    size_t n = opt->n, lo = (n * (size_t)i / (size_t)j->tasks) & ~(size_t)15;
    size_t hi = i + 1 == j->tasks ? n : (n * (size_t)(i + 1) / (size_t)j->tasks) & ~(size_t)15;
    float *m = opt->m ? opt->m + lo : NULL, *v = opt->v ? opt->v + lo : NULL;
    if (opt->o.kind == LM_SGD) sgd(&opt->o, hi - lo, j->params + lo, j->grads + lo, m);
    else adam(&opt->o, opt->t, hi - lo, j->params + lo, j->grads + lo, m, v);
}

lm_status lm__optim_step(lm__optim *opt, float *params, float *grads, lm_pool *pool)
{
    if (!lm_vec_all_finite(grads, opt->n)) return lm__err(LM_ENUMERIC, "the gradient holds a NaN or Inf");
    if (opt->o.clip_norm > 0) {
        /* as torch.nn.utils.clip_grad_norm_ */
        double sq = 0;
        for (size_t i = 0; i < opt->n; i++) sq += (double)grads[i] * grads[i];
        if (!isfinite(sq)) return lm__err(LM_ENUMERIC, "the gradient norm overflows");
        double coef = opt->o.clip_norm / (sqrt(sq) + 1e-6);
        if (coef < 1)
            for (size_t i = 0; i < opt->n; i++) grads[i] *= (float)coef;
    }
    opt->t++;
    update_job job = {opt, params, grads, opt->n >= ((size_t)1 << 16) ? lm_pool_size(pool) : 1};
    if (job.tasks > 1) lm_pool_run(pool, job.tasks, update_chunk, &job);
    else update_chunk(&job, 0);
    /* A finite gradient can still overflow a parameter (a learning rate far
     * too high); stop here rather than train on, or save, an Inf. */
    if (!lm_vec_all_finite(params, opt->n))
        return lm__err(LM_ENUMERIC, "a parameter overflowed to Inf or NaN (is the learning rate too high?)");
    return LM_OK;
}
