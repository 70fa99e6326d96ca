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

/* This step's constants, as torch.optim computes them. */
static lm_update step_constants(const lm__optim *opt, uint64_t t)
{
    const lm_optim_opts *o = &opt->o;
    lm_update u = {LM_UPD_SGD, o->lr, o->weight_decay, o->momentum, 0, 0, 0, 0, 1, 0, 1};
    if (o->kind == LM_SGD) {
        if (opt->m) u.kind = o->nesterov ? LM_UPD_NESTEROV : LM_UPD_MOMENTUM;
        return u;
    }
    u.kind = LM_UPD_ADAM;
    u.b1 = o->beta1;
    u.b2 = o->beta2;
    u.eps = o->eps;
    u.l2 = o->kind == LM_ADAM ? o->weight_decay : 0.0f;
    u.decay = o->kind == LM_ADAMW ? 1.0f - o->lr * o->weight_decay : 1.0f;
    u.step = (float)(o->lr / (1.0 - pow(o->beta1, (double)t)));
    u.bc2_sqrt = (float)sqrt(1.0 - pow(o->beta2, (double)t));
    return u;
}

/* The step is elementwise, so threads share it out in chunks (of whole
 * 64-byte lines) with bit-identical results whatever their number. Each
 * task first checks its share of the gradient; only when every share is
 * finite does a second round update, checking the new parameters as it
 * writes them. */
enum { MAX_TASKS = 64, PARALLEL_MIN = 1 << 15 /* parameters worth threads */, CHUNK_VALUES = 1 << 14 };
typedef struct update_job {
    lm__optim *opt;
    lm_update u;
    float *params, *grads;
    int tasks;
    int ok[MAX_TASKS];
} update_job;

/* Fills j (ok[] is written by the tasks). */
static void make_job(update_job *j, lm__optim *opt, float *params, float *grads, lm_pool *pool)
{
    /* Chunks of about 16K values, at least one a thread: a thread slowed
     * by the machine's other work takes fewer of them. */
    int T = lm_pool_size(pool), tasks = 1;
    if (opt->n >= PARALLEL_MIN && T > 1) {
        size_t by_size = opt->n / CHUNK_VALUES;
        tasks = by_size > (size_t)T ? (int)(by_size < MAX_TASKS ? by_size : MAX_TASKS) : T;
    }
    j->opt = opt;
    j->u = step_constants(opt, opt->t + 1);
    j->params = params;
    j->grads = grads;
    j->tasks = tasks < MAX_TASKS ? tasks : MAX_TASKS;
}

static void chunk(const update_job *j, int i, size_t *lo, size_t *hi)
{
    size_t n = j->opt->n;
    *lo = (n * (size_t)i / (size_t)j->tasks) & ~(size_t)15;
    *hi = i + 1 == j->tasks ? n : (n * (size_t)(i + 1) / (size_t)j->tasks) & ~(size_t)15;
}

static void check_task(void *ctx, int i)
{
    update_job *j = ctx;
    size_t lo, hi;
    chunk(j, i, &lo, &hi);
    j->ok[i] = lm_vec_all_finite(j->grads + lo, hi - lo);
}

static void update_task(void *ctx, int i)
{
    update_job *j = ctx;
    const lm__optim *opt = j->opt;
    size_t lo, hi;
    chunk(j, i, &lo, &hi);
    j->ok[i] = lm_vec_update(&j->u, hi - lo, j->params + lo, j->grads + lo,
                             opt->m ? opt->m + lo : NULL, opt->v ? opt->v + lo : NULL);
}

/* Runs fn over the job's tasks; whether every task reported ok. */
static int run_all(update_job *j, void (*fn)(void *, int), lm_pool *pool)
{
    if (j->tasks > 1) lm_pool_run(pool, j->tasks, fn, j);
    else fn(j, 0);
    int ok = 1;
    for (int i = 0; i < j->tasks; i++) ok &= j->ok[i];
    return ok;
}

/* Clips grads to the global norm opt->o.clip_norm, as
 * torch.nn.utils.clip_grad_norm_; LM_ENUMERIC if the norm overflows. */
static lm_status clip(const lm__optim *opt, float *grads)
{
    double sq = 0;
    for (size_t i = 0; i < opt->n; i++) sq += (double)grads[i] * grads[i];
    if (!isfinite(sq)) return lm__err(LM_ENUMERIC, "the gradient norm overflows");
    double coef = opt->o.clip_norm / (sqrt(sq) + 1e-6);
    if (coef < 1)
        for (size_t i = 0; i < opt->n; i++) grads[i] *= (float)coef;
    return LM_OK;
}

static lm_status bad_gradient(void) { return lm__err(LM_ENUMERIC, "the gradient holds a NaN or Inf"); }

/* A finite gradient can still overflow a parameter (a learning rate far
 * too high); stop there rather than train on, or save, an Inf. */
static lm_status overflowed(void)
{
    return lm__err(LM_ENUMERIC, "a parameter overflowed to Inf or NaN (is the learning rate too high?)");
}

/* The step of a small buffer in one task: the pool job's arithmetic
 * without its bookkeeping, which costs as much as a tiny net's update. */
static lm_status step_serial(lm__optim *opt, float *params, float *grads)
{
    if (!lm_vec_all_finite(grads, opt->n)) return bad_gradient();
    lm_status st = opt->o.clip_norm > 0 ? clip(opt, grads) : LM_OK;
    if (st) return st;
    opt->t++;
    lm_update u = step_constants(opt, opt->t);
    return lm_vec_update(&u, opt->n, params, grads, opt->m, opt->v) ? LM_OK : overflowed();
}

lm_status lm__optim_step(lm__optim *opt, float *params, float *grads, lm_pool *pool)
{
    if (opt->n < PARALLEL_MIN || lm_pool_size(pool) <= 1) return step_serial(opt, params, grads);
    update_job job;
    make_job(&job, opt, params, grads, pool);
    if (!run_all(&job, check_task, pool)) return bad_gradient();
    lm_status st = opt->o.clip_norm > 0 ? clip(opt, grads) : LM_OK;
    if (st) return st;
    opt->t++;
    return run_all(&job, update_task, pool) ? LM_OK : overflowed();
}
