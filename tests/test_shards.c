/* test_shards.c - the library's data-parallel contract without MPI:
 * threads stand in for processes. Each trains its own copy of a net with
 * lm_fit_opts.shards, and its gradient hook sums the copies' gradients in
 * a fixed order (what MPI_Allreduce does across processes), so the copies
 * stay bit-identical to each other and end within float tolerance of one
 * lm_fit over whole batches (the sums run in another order: see
 * docs/SCALING.md). Dropout draws the masks one process would; a shard
 * with no rows (a batch smaller than the shards) still joins each step.
 * Batch norm with a reduce hook (lm_fit_opts.on_reduce) that sums the
 * copies' statistics normalises by the whole batch: the copies match one
 * process, running statistics included; without it they do not.
 * Also: loss_grad + apply_grads is lm_train_step, a hook that does
 * nothing changes nothing, and a hook's error ends the fit. */
#include "harness.h"

#include <lamina.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { NX = 6, NY = 3, ROWS = 50, MAXS = 3, MAXR = 64 };
/* what a net has and how its shards train */
enum { DROPOUT = 1, BN = 2, SYNC = 4, WEIGHTED = 8 };
/* unequal class weights (lm_fit_opts.class_weights) for WEIGHTED runs */
static const float CW[NY] = {0.4f, 2.5f, 1.2f};
static float X[ROWS * NX];
static int32_t LAB[ROWS];

static void make_data(void)
{
    lm_rng rng = lm_rng_seed(11);
    for (int r = 0; r < ROWS; r++) {
        float s = 0;
        for (int j = 0; j < NX; j++) {
            X[r * NX + j] = (float)lm_rng_below(&rng, 1000) / 500.0f - 1.0f;
            s += X[r * NX + j] * (float)(j - 2);
        }
        LAB[r] = s < -0.5f ? 0 : s < 0.5f ? 1 : 2;
    }
}

static lm_net *make_net(int flags)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(5);
    lm_net_new(&net, NX);
    lm_net_add_dense(net, 12, LM_RELU, LM_BIAS);
    if (flags & BN) lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    if (flags & DROPOUT) lm_net_add_dropout(net, 0.3f);
    lm_net_add_dense(net, NY, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    lm_net_set_threads(net, 1);
    return net;
}

static lm_fit_opts base_opts(size_t batch, int flags)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.01f;
    o.epochs = 4;
    o.batch = batch;
    if (flags & WEIGHTED) {
        o.class_weights = CW;
        o.n_class_weights = NY;
    }
    return o;
}

/* The "processes": each one's gradient buffer is copied to its slot, and
 * all add the slots up in slot order. */
typedef struct group {
    int n;
    pthread_barrier_t bar;
    float *slot[MAXS];
    double sums[MAXS][2];
    size_t n_grads;
    float epoch_loss[MAXS][8];
    int epochs_seen[MAXS];
    int sync;                    /* members install reduce_hook */
    int flags;                   /* the run's flags (WEIGHTED) */
    double rslot[MAXS][MAXR];    /* reduce_hook's slots */
    unsigned long reduces[MAXS]; /* its calls, per member */
} group;

typedef struct member {
    group *g;
    int k;
    lm_net *net;
    lm_status st;
    size_t batch;
} member;

static lm_status sum_hook(lm_grads_info *gi, void *ctx)
{
    member *m = ctx;
    group *g = m->g;
    memcpy(g->slot[m->k], gi->grads, gi->n_grads * sizeof(float));
    g->sums[m->k][0] = gi->sums[0];
    g->sums[m->k][1] = gi->sums[1];
    pthread_barrier_wait(&g->bar);
    for (size_t i = 0; i < gi->n_grads; i++) {
        float s = 0;
        for (int k = 0; k < g->n; k++) s += g->slot[k][i];
        gi->grads[i] = s;
    }
    gi->sums[0] = gi->sums[1] = 0;
    for (int k = 0; k < g->n; k++) {
        gi->sums[0] += g->sums[k][0];
        gi->sums[1] += g->sums[k][1];
    }
    pthread_barrier_wait(&g->bar); /* nobody refills a slot still being read */
    return LM_OK;
}

/* Batch norm's sums, added up over the "processes" as the gradients are. */
static void reduce_hook(double *v, size_t n, void *ctx)
{
    member *m = ctx;
    group *g = m->g;
    g->reduces[m->k]++;
    if (n > MAXR) abort(); /* the test's nets need a few */
    memcpy(g->rslot[m->k], v, n * sizeof *v);
    pthread_barrier_wait(&g->bar);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < g->n; k++) s += g->rslot[k][i];
        v[i] = s;
    }
    pthread_barrier_wait(&g->bar);
}

static int on_epoch(const lm_epoch_info *e, void *ctx)
{
    member *m = ctx;
    if (e->epoch <= 8) m->g->epoch_loss[m->k][e->epoch - 1] = e->train_loss;
    m->g->epochs_seen[m->k]++;
    return 0;
}

static void *member_run(void *arg)
{
    member *m = arg;
    lm_fit_opts o = base_opts(m->batch, m->g->flags);
    o.shards = m->g->n;
    o.shard = m->k;
    o.on_grads = sum_hook;
    o.grads_ctx = m;
    o.on_epoch = on_epoch;
    o.ctx = m;
    if (m->g->sync) {
        o.on_reduce = reduce_hook;
        o.reduce_ctx = m;
    }
    lm_rng rng = lm_rng_seed(3);
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB, .n_classes = NY};
    m->st = lm_fit(m->net, &d, &o, &rng);
    return NULL;
}

/* The largest |a - b| / (1 + |a|) over n values (the harness's ratio with
 * a as the reference). */
static double scaled_diff(const float *a, const float *b, size_t n) { return th_close_ratio(b, a, n, 1, 1, NULL); }

/* n shards against one process; returns how far the parameters and
 * state end from it (the scaled difference), checked only with check. */
static double shards_against_one_process(int n, size_t batch, int flags, int check)
{
    make_data();
    /* one process, whole batches */
    lm_net *ref = make_net(flags);
    lm_fit_opts o = base_opts(batch, flags);
    group g = {0};
    member one = {&g, 0, ref, LM_OK, batch};
    o.on_epoch = on_epoch;
    o.ctx = &one;
    lm_rng rng = lm_rng_seed(3);
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB, .n_classes = NY};
    CHECK_OK(lm_fit(ref, &d, &o, &rng));
    float ref_loss[8];
    memcpy(ref_loss, g.epoch_loss[0], sizeof ref_loss);

    memset(&g, 0, sizeof g);
    g.n = n;
    g.sync = !!(flags & SYNC);
    g.flags = flags;
    pthread_barrier_init(&g.bar, NULL, (unsigned)n);
    member m[MAXS];
    pthread_t th[MAXS];
    for (int k = 0; k < n; k++) {
        m[k] = (member){&g, k, make_net(flags), LM_OK, batch};
        g.n_grads = lm_net_n_params(m[k].net);
        g.slot[k] = calloc(g.n_grads, sizeof(float));
    }
    for (int k = 0; k < n; k++) pthread_create(&th[k], NULL, member_run, &m[k]);
    for (int k = 0; k < n; k++) pthread_join(th[k], NULL);
    size_t np = lm_net_n_params(ref), ns = lm_net_n_state(ref);
    for (int k = 0; k < n && check; k++) {
        CHECK_OK(m[k].st);
        CHECK(g.epochs_seen[k] == 4);
        /* every copy took the same steps: the same bits (batch norm's
         * running statistics too, when they are synchronised) */
        CHECK(memcmp(lm_net_params(m[k].net), lm_net_params(m[0].net), np * sizeof(float)) == 0);
        if (g.sync) {
            if (ns) CHECK(memcmp(lm_net_state(m[k].net), lm_net_state(m[0].net), ns * sizeof(float)) == 0);
            /* 2 calls a batch norm layer forward, 1 backward, every step */
            unsigned long want = flags & BN ? 3ul * 4 * ((ROWS + batch - 1) / batch) : 0;
            CHECKF(g.reduces[k] == want, "member %d: %lu reduces, not %lu", k, g.reduces[k], want);
        }
        for (int e = 0; e < 4; e++)
            CHECKF(fabs(g.epoch_loss[k][e] - ref_loss[e]) <= 1e-5 * (1 + fabs(ref_loss[e])),
                   "%d shards, batch %zu: epoch %d loss %.9g, one process %.9g", n, batch, e + 1,
                   g.epoch_loss[k][e], ref_loss[e]);
    }
    double diff = scaled_diff(lm_net_params(ref), lm_net_params(m[0].net), np);
    double sdiff = ns ? scaled_diff(lm_net_state(ref), lm_net_state(m[0].net), ns) : 0;
    if (sdiff > diff) diff = sdiff;
    if (check)
        CHECKF(diff <= 1e-5, "%d shards, batch %zu, flags %d: parameters (or state) differ by %g", n,
               batch, flags, diff);
    /* and not by accident: the shards did split the batches (a shard that
     * trained on whole batches alone would be far off) */
    for (int k = 0; k < n; k++) {
        lm_net_free(m[k].net);
        free(g.slot[k]);
    }
    pthread_barrier_destroy(&g.bar);
    lm_net_free(ref);
    return diff;
}

static void shards_match_one_process(int n, size_t batch, int flags)
{
    shards_against_one_process(n, batch, flags, 1);
}

static void two_shards(void) { shards_match_one_process(2, 10, 0); }
static void three_shards_dropout(void) { shards_match_one_process(3, 10, DROPOUT); }
/* class weights: each shard weighs its rows and divides by the whole
 * batch's, so the shards add up to one process's weighted step */
static void class_weights_sharded(void)
{
    shards_match_one_process(2, 10, WEIGHTED);
    shards_match_one_process(3, 10, WEIGHTED | DROPOUT);
    shards_match_one_process(3, 2, WEIGHTED);
}
/* batch 2 on 3 shards: one shard has no rows in every step */
static void empty_shard(void) { shards_match_one_process(3, 2, DROPOUT); }

/* Synchronised batch norm: 5 or 3-4 rows a shard normalised by the
 * batch's 10; with batch 16 each epoch ends on a batch of 2 rows, so one
 * of 3 shards has none and must still join every reduce (it would hang
 * the others otherwise). Not batch 2 throughout: batch norm over 2-3 rows
 * is ill-conditioned (a channel's spread can be tiny, and its inverse
 * scales the gradient), so an ulp of summation order grows to 1e-3 -
 * 1e-2 within 4 epochs, as it would between any two summation orders. */
static void batchnorm_synced(void)
{
    shards_match_one_process(2, 10, BN | SYNC);
    shards_match_one_process(3, 10, BN | DROPOUT | SYNC);
    shards_match_one_process(3, 16, BN | SYNC);
    /* a reduce hook on a net without batch norm: never called, and the
     * empty shards' zero-row passes (the small-net path's too) are sound */
    shards_match_one_process(3, 2, SYNC);
}

/* Batch norm by each shard's own rows is another function: far off. */
static void batchnorm_unsynced_differs(void)
{
    double d = shards_against_one_process(2, 10, BN, 0);
    CHECKF(d > 1e-3, "per-shard batch norm ended %g from one process", d);
}

/* A lone shard's gradient is not the batch's: with the hook summing
 * nothing, 2 shards train differently from one process. */
static lm_status no_sum(lm_grads_info *gi, void *ctx) { return LM_OK; }

static void unsummed_shards_differ(void)
{
    make_data();
    lm_net *a = make_net(0), *b = make_net(0);
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB, .n_classes = NY};
    lm_fit_opts o = base_opts(10, 0);
    lm_rng r1 = lm_rng_seed(3), r2 = lm_rng_seed(3);
    CHECK_OK(lm_fit(a, &d, &o, &r1));
    o.shards = 2;
    o.on_grads = no_sum;
    CHECK_OK(lm_fit(b, &d, &o, &r2));
    CHECK(scaled_diff(lm_net_params(a), lm_net_params(b), lm_net_n_params(a)) > 1e-3);
    lm_net_free(a);
    lm_net_free(b);
}

/* A hook that leaves everything as it is changes no bit; one that fails
 * ends the fit with its status. */
static lm_status fail_hook(lm_grads_info *gi, void *ctx)
{
    (*(int *)ctx)++;
    return LM_EIO;
}

static void hook_identity_and_error(void)
{
    make_data();
    lm_net *a = make_net(1), *b = make_net(1), *c = make_net(1);
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB, .n_classes = NY};
    lm_fit_opts o = base_opts(8, 0);
    lm_rng r1 = lm_rng_seed(3), r2 = lm_rng_seed(3), r3 = lm_rng_seed(3);
    CHECK_OK(lm_fit(a, &d, &o, &r1));
    o.on_grads = no_sum;
    CHECK_OK(lm_fit(b, &d, &o, &r2));
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
    int calls = 0;
    o.on_grads = fail_hook;
    o.grads_ctx = &calls;
    float before = lm_net_params(c)[0];
    CHECK(lm_fit(c, &d, &o, &r3) == LM_EIO);
    CHECK(calls == 1 && lm_net_params(c)[0] == before);
    CHECK(strstr(lm_errmsg(), "gradient hook") != NULL);
    /* lm_train_step too, leaving *loss as it was (it wrote an
     * uninitialised float there) */
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, c, &o, &r3));
    float loss = 123;
    if (t) CHECK(lm_train_step(t, X, NULL, LAB, 8, &loss) == LM_EIO && loss == 123 && calls == 2);
    CHECK(lm_net_params(c)[0] == before && lm_train_steps(t) == 0);
    lm_train_free(t);
    /* shards without a hook to sum them, or a shard out of range */
    o.on_grads = NULL;
    o.shards = 2;
    CHECK(lm_fit(c, &d, &o, &r3) == LM_EINVAL);
    o.on_grads = no_sum;
    o.shard = 2;
    CHECK(lm_fit(c, &d, &o, &r3) == LM_EINVAL);
    lm_net_free(a);
    lm_net_free(b);
    lm_net_free(c);
}

/* lm_train_loss_grad then lm_train_apply_grads is lm_train_step. */
static void apply_grads_is_step(void)
{
    make_data();
    lm_net *a = make_net(0), *b = make_net(0);
    lm_fit_opts o = base_opts(10, 0);
    lm_rng rng = lm_rng_seed(3);
    lm_train *ta, *tb;
    CHECK_OK(lm_train_new(&ta, a, &o, &rng));
    CHECK_OK(lm_train_new(&tb, b, &o, &rng));
    for (int s = 0; s < 5; s++) {
        float la, lb;
        CHECK_OK(lm_train_step(ta, X + s * 10 * NX, NULL, LAB + s * 10, 10, &la));
        CHECK_OK(lm_train_loss_grad(tb, X + s * 10 * NX, NULL, LAB + s * 10, 10, &lb));
        CHECK_OK(lm_train_apply_grads(tb));
        CHECK(la == lb);
    }
    CHECK(lm_train_steps(tb) == 5);
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
    lm_net_grads(b)[0] = NAN;
    float before = lm_net_params(b)[0];
    CHECK(lm_train_apply_grads(tb) == LM_ENUMERIC);
    CHECK(lm_net_params(b)[0] == before);
    lm_train_free(ta);
    lm_train_free(tb);
    lm_net_free(a);
    lm_net_free(b);
}

int main(void)
{
    RUN(two_shards);
    RUN(three_shards_dropout);
    RUN(empty_shard);
    RUN(class_weights_sharded);
    RUN(batchnorm_synced);
    RUN(batchnorm_unsynced_differs);
    RUN(unsummed_shards_differ);
    RUN(hook_identity_and_error);
    RUN(apply_grads_is_step);
    TEST_MAIN_END();
}
