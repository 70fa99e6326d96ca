/* optim.c - optimizers as single loops over the flat parameter buffer:
 * SGD (momentum, Nesterov), Adam, AdamW, RPROP (iRprop-); L2 or decoupled
 * weight decay; clipping by global gradient norm. The arithmetic follows
 * torch.optim so fixtures from PyTorch match. */
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const optim_names[LM_OPTIM_COUNT] = {"sgd", "adam", "adamw", "rprop"};

const char *lm_optim_name(lm_optim_kind k)
{
    return (unsigned)k < LM_OPTIM_COUNT ? optim_names[k] : "?";
}

int lm_optim_from_name(const char *s)
{
    for (int i = 0; s && i < LM_OPTIM_COUNT; i++)
        if (strcmp(s, optim_names[i]) == 0) return i;
    return -1;
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
    if (o->kind != LM_RPROP) return LM_OK;
    if (!(o->eta_minus > 0 && o->eta_minus < 1) || !(o->eta_plus > 1) || !isfinite(o->eta_plus))
        return lm__err(LM_EINVAL, "RPROP etas (%g, %g) must be 0 < eta_minus < 1 < eta_plus, finite",
                       o->eta_minus, o->eta_plus);
    if (!(o->step_min >= 0) || !(o->step_min <= o->step_max) || !isfinite(o->step_max))
        return lm__err(LM_EINVAL, "RPROP step sizes (%g, %g) must be 0 <= step_min <= step_max, finite",
                       o->step_min, o->step_max);
    return LM_OK;
}

lm_status lm__optim_init(lm__optim *opt, const lm_optim_opts *o, const lm_net *net)
{
    memset(opt, 0, sizeof *opt);
    lm_status st = check_opts(o);
    if (st) return st;
    size_t n = net->n_params;
    opt->o = *o;
    opt->n = n;
    /* the layers' parameters as their kinds split them, in the buffer's order */
    opt->regions = lm__calloc((size_t)net->n_layers * LM__MAX_REGIONS + 1, sizeof *opt->regions,
                              "optimizer layout");
    if (!opt->regions) return LM_ENOMEM;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!L->n_par) continue;
        lm__region *r = opt->regions + opt->n_regions;
        int k = L->kind->regions(L, r);
        for (int i = 0; i < k; i++) r[i].off += L->p_off;
        opt->n_regions += k;
    }
    int need_m = o->kind != LM_SGD || o->momentum > 0, need_v = o->kind != LM_SGD;
    if (need_m) {
        /* m and v in one block */
        size_t per = n ? n : 1;
        if (!(opt->m = lm__alloc_big(per, (need_v ? 2 : 1) * sizeof(float), "optimizer state"))) {
            lm__optim_free(opt);
            return LM_ENOMEM;
        }
        if (need_v) opt->v = opt->m + per;
    }
    /* RPROP: m the previous gradient (zero, as calloc left it), v every
     * parameter's step size, lr at the start */
    for (size_t i = 0; o->kind == LM_RPROP && i < n; i++) opt->v[i] = o->lr;
    return LM_OK;
}

void lm__optim_free(lm__optim *opt)
{
    free(opt->m); /* and v after it */
    free(opt->regions);
    opt->m = opt->v = NULL;
    opt->regions = NULL;
    opt->n_regions = 0;
}

/* This step's constants, as torch.optim computes them. */
static lm_update step_constants(const lm__optim *opt, uint64_t t)
{
    const lm_optim_opts *o = &opt->o;
    lm_update u = {.kind = LM_UPD_SGD, .lr = o->lr, .wd = o->weight_decay, .mu = o->momentum,
                   .decay = 1, .bc2_sqrt = 1};
    if (o->kind == LM_SGD) {
        if (opt->m) u.kind = o->nesterov ? LM_UPD_NESTEROV : LM_UPD_MOMENTUM;
        return u;
    }
    if (o->kind == LM_RPROP) {
        u.kind = LM_UPD_RPROP;
        u.eta_minus = o->eta_minus;
        u.eta_plus = o->eta_plus;
        u.step_min = o->step_min;
        u.step_max = o->step_max;
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

/* The step is elementwise, so threads share it out with bit-identical
 * results whatever their number. Each task first checks its share of the
 * gradient; only when every share is finite does a second round update,
 * checking the new parameters as it writes them.
 *
 * The shares follow the layers: thread t of T takes rows [t/T, (t+1)/T)
 * of every layer's weights (in units of 8 rows), the rows the GEMMs of
 * the same thread read and wrote (task t runs on thread t, see pool.c):
 * lm_gemm_tn gives thread t those rows of the weight gradient (on two
 * threads give or take the few panels its balancing moves), and the
 * first layer's forward pass its slice of the weights (gemm.c). The
 * update is memory-bound, and on these machines a line another core
 * holds costs several times one of its own: sharing the flat buffer out
 * in plain chunks made the two-thread update no faster than one thread.
 * Each thread's share is cut into CHUNKS tasks, so that a thread slowed
 * by the machine's other work leaves some of its chunks to the other. */
enum { MAX_TASKS = 64, PARALLEL_MIN = 1 << 15 /* parameters worth threads */, CHUNKS = 4 };
typedef struct update_job {
    lm__optim *opt;
    lm_update u;
    float *params, *grads;
    const float *extra; /* added into grads (see lm__optim_step_sum), or NULL */
    int fused;          /* extra is added in the update round, not the check */
    int tasks, threads;
    int ok[MAX_TASKS];
} update_job;

/* Fills j (ok[] is written by the tasks). */
static void make_job(update_job *j, lm__optim *opt, float *params, float *grads,
                     const float *extra, lm_pool *pool)
{
    int T = lm_pool_size(pool), tasks = 1;
    if (opt->n >= PARALLEL_MIN && T > 1) tasks = T * CHUNKS <= MAX_TASKS ? T * CHUNKS : T;
    j->opt = opt;
    j->u = step_constants(opt, opt->t + 1);
    j->params = params;
    j->grads = grads;
    j->extra = extra;
    j->tasks = tasks < MAX_TASKS ? tasks : MAX_TASKS;
    j->threads = T;
}

/* Task i's values [lo, hi) of region r: chunk i / T of thread i mod T's
 * rows, the threads' shares in order. */
static void task_range(const update_job *j, const lm__region *r, int i, size_t *lo, size_t *hi)
{
    int T = j->threads, per = j->tasks / T > 1 ? j->tasks / T : 1;
    int part = (i % T) * per + i / T;
    size_t units = ((size_t)r->rows + 7) / 8;
    size_t r0 = 8 * (units * (size_t)part / (size_t)j->tasks);
    size_t r1 = 8 * (units * (size_t)(part + 1) / (size_t)j->tasks);
    if (r0 > (size_t)r->rows) r0 = (size_t)r->rows;
    if (r1 > (size_t)r->rows) r1 = (size_t)r->rows;
    *lo = r->off + r0 * (size_t)r->cols;
    *hi = r->off + r1 * (size_t)r->cols;
}

/* g[0..n) += e[0..n): the shards' gradients summed in a fixed order,
 * then checked while the sum is still in the cache. */
static void add_into(float *restrict g, const float *restrict e, size_t n)
{
    for (size_t i = 0; i < n; i++) g[i] += e[i];
}

static void check_task(void *ctx, int i)
{
    update_job *j = ctx;
    int ok = 1;
    for (int r = 0; r < j->opt->n_regions; r++) {
        size_t lo, hi;
        task_range(j, &j->opt->regions[r], i, &lo, &hi);
        if (j->extra) add_into(j->grads + lo, j->extra + lo, hi - lo);
        ok &= lm_vec_all_finite(j->grads + lo, hi - lo);
    }
    j->ok[i] = ok;
}

/* The update of values [lo, hi); with extra, first added into grads a
 * piece at a time, so that the sum is still in L1 when the update reads
 * it (one pass over memory, not two). */
static int update_range(const lm__optim *opt, const lm_update *u, float *params, float *grads,
                        const float *extra, size_t lo, size_t hi)
{
    enum { PIECE = 2048 };
    int ok = 1;
    for (size_t a = lo; a < hi;) {
        size_t b = extra && hi - a > PIECE ? a + PIECE : hi;
        if (extra) add_into(grads + a, extra + a, b - a);
        ok &= lm_vec_update(u, b - a, params + a, grads + a, opt->m ? opt->m + a : NULL,
                            opt->v ? opt->v + a : NULL);
        a = b;
    }
    return ok;
}

static void update_task(void *ctx, int i)
{
    update_job *j = ctx;
    const lm__optim *opt = j->opt;
    int ok = 1;
    for (int r = 0; r < opt->n_regions; r++) {
        size_t lo, hi;
        task_range(j, &opt->regions[r], i, &lo, &hi);
        if (hi > lo)
            ok &= update_range(opt, &j->u, j->params, j->grads, j->fused ? j->extra : NULL, lo, hi);
    }
    j->ok[i] = ok;
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

/* step_serial on grads + extra; fused: as lm__optim_step_sum says. */
static lm_status step_serial_sum(lm__optim *opt, float *params, float *grads, const float *extra,
                                 int fused)
{
    if (!fused) {
        add_into(grads, extra, opt->n);
        return step_serial(opt, params, grads);
    }
    opt->t++;
    lm_update u = step_constants(opt, opt->t);
    return update_range(opt, &u, params, grads, extra, 0, opt->n) ? LM_OK : overflowed();
}

lm_status lm__optim_step(lm__optim *opt, float *params, float *grads, lm_pool *pool)
{
    /* (apart from lm__optim_step_sum: the tutorial's step takes 0.1 us) */
    if (opt->n < PARALLEL_MIN || lm_pool_size(pool) <= 1) return step_serial(opt, params, grads);
    return lm__optim_step_sum(opt, params, grads, NULL, 0, pool);
}

lm_status lm__optim_step_sum(lm__optim *opt, float *params, float *grads, const float *extra,
                             int finite, lm_pool *pool)
{
    /* clipping needs the whole sum's norm before any update */
    int fused = extra && finite && !(opt->o.clip_norm > 0);
    if (opt->n < PARALLEL_MIN || lm_pool_size(pool) <= 1)
        return extra ? step_serial_sum(opt, params, grads, extra, fused) : step_serial(opt, params, grads);
    update_job job;
    make_job(&job, opt, params, grads, extra, pool);
    job.fused = fused;
    if (!fused && !run_all(&job, check_task, pool)) return bad_gradient();
    lm_status st = opt->o.clip_norm > 0 ? clip(opt, grads) : LM_OK;
    if (st) return st;
    opt->t++;
    return run_all(&job, update_task, pool) ? LM_OK : overflowed();
}
