/* test_shard_step.c - the sharded training step inside one process
 * (src/train.c, SHARDS): a batch with enough arithmetic (rows times
 * multiply-adds a row per parameter, at least 64 rows) is split into two
 * fixed row halves whose gradients are summed, g0 + g1. The split never
 * depends on the thread count, so the bits are the same on 1 thread
 * (halves one after the other), 2 and 3 (halves side by side) and 4
 * (one after the other, each op on all the threads); within float
 * tolerance of one step over the whole batch (the plain step, which a
 * gradient hook selects), but not its bits (so the halves did run). Not
 * sharded, so the plain step's very bits: a net with batch norm, an MLP
 * at batch 64. Checkpoints resume exactly; loss_grad + apply_grads is
 * lm_train_step; a non-finite gradient in one half changes no
 * parameter. */
#include "harness.h"

#include <lamina.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROWS = 384, BATCH = 64, MLP_BATCH = 320, CNN_ROWS = 160, CLASSES = 4, SIDE = 8, MAXP = 1 << 14 };

/* Inputs (SIDE x SIDE images, flat) whose class shows in them. */
static float X[ROWS * SIDE * SIDE];
static int32_t LAB[ROWS];

static void make_data(void)
{
    lm_rng r = lm_rng_seed(17);
    for (int i = 0; i < ROWS; i++) {
        int c = (int)lm_rng_below(&r, CLASSES);
        LAB[i] = c;
        for (int j = 0; j < SIDE * SIDE; j++)
            X[i * SIDE * SIDE + j] = lm_rng_normal(&r) * 0.5f + ((j / SIDE) % CLASSES == c ? 1.0f : 0.0f);
    }
}

typedef enum { MLP, CNN, BN, MLP64 } kind;

/* An MLP wider than the fused small-net path (batch 320, or 64: too
 * little arithmetic to shard), a CNN with dropout (the halves must draw
 * the whole batch's masks), or an MLP with batch norm. */
static lm_net *make_net(kind k, int threads)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(5);
    CHECK_OK(lm_net_new(&net, SIDE * SIDE));
    if (!net) return NULL;
    if (k == CNN) {
        CHECK_OK(lm_net_set_input_shape(net, 1, SIDE, SIDE));
        CHECK_OK(lm_net_add_conv2d(net, 8, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
        CHECK_OK(lm_net_add_conv2d(net, 8, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS)); /* Winograd */
        CHECK_OK(lm_net_add_maxpool2d(net, 2, 2));
        CHECK_OK(lm_net_add_dropout(net, 0.25f));
    } else {
        CHECK_OK(lm_net_add_dense(net, 48, LM_RELU, LM_BIAS));
        if (k == BN) CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
        CHECK_OK(lm_net_add_dense(net, 24, LM_TANH, LM_BIAS));
    }
    CHECK_OK(lm_net_add_dense(net, CLASSES, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_HE, &rng));
    CHECK_OK(lm_net_set_threads(net, threads));
    CHECK(lm_net_n_params(net) <= MAXP);
    return net;
}

/* A gradient hook that changes nothing: it selects the plain step over
 * whole batches (a data-parallel run's rows are its shard). */
static lm_status keep_grads(lm_grads_info *g, void *ctx)
{
    (void)g;
    (void)ctx;
    return LM_OK;
}

static lm_fit_opts opts(kind k, int plain)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = k == CNN ? LM_ADAM : LM_SGD;
    o.optim.lr = k == CNN ? 0.003f : 0.05f;
    o.optim.momentum = k == CNN ? 0.0f : 0.9f;
    o.batch = k == MLP ? MLP_BATCH : BATCH;
    if (plain) o.on_grads = keep_grads;
    return o;
}

/* The rows a kind trains on: the CNN's fewer (valgrind runs every test;
 * 160 rows are two sharded batches and a plain one of 32). */
static size_t rows_of(kind k) { return k == CNN ? CNN_ROWS : ROWS; }

/* The parameters after `epochs` epochs (the last batch of each, 64 or 32
 * rows, is a plain step), into p; the last epoch's train loss. */
static float train(kind k, int threads, int plain, int epochs, float *p)
{
    lm_net *net = make_net(k, threads);
    if (!net) return NAN;
    lm_fit_opts o = opts(k, plain);
    lm_rng rng = lm_rng_seed(8);
    lm_data d = {.n = rows_of(k), .nx = SIDE * SIDE, .x = X, .labels = LAB, .n_classes = CLASSES};
    lm_train *t = NULL;
    lm_epoch_info e = {0};
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    for (int i = 0; t && i < epochs; i++) CHECK_OK(lm_train_epoch(t, &d, &e));
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    lm_train_free(t);
    lm_net_free(net);
    return e.train_loss;
}

static size_t n_params(kind k)
{
    lm_net *net = make_net(k, 1);
    size_t n = net ? lm_net_n_params(net) : 0;
    lm_net_free(net);
    return n;
}

/* The largest |a - b| / (1 + |a|) over n values (the harness's ratio with
 * a as the reference). */
static double scaled_diff(const float *a, const float *b, size_t n) { return th_close_ratio(b, a, n, 1, 1, NULL); }

static float ref[MAXP], got[MAXP], plain[MAXP];

static void same_bits_any_threads(kind k, const char *name)
{
    make_data();
    size_t np = n_params(k);
    /* the CNN fewer epochs and no 3 threads (run as 2 are): valgrind */
    int epochs = k == CNN ? 2 : 3;
    float l1 = train(k, 1, 0, epochs, ref);
    for (int th = 2; th <= 4; th += k == CNN ? 2 : 1) {
        float l = train(k, th, 0, epochs, got);
        CHECKF(!memcmp(ref, got, np * sizeof *ref), "%s: 1 and %d threads differ (scaled %g)", name, th,
               scaled_diff(ref, got, np));
        CHECKF(!memcmp(&l, &l1, sizeof l), "%s: loss %g on 1 thread, %g on %d", name, l1, l, th);
    }
    /* the plain step over whole batches: the same training to float
     * tolerance, other bits (the halves' sums round otherwise) */
    float lp = train(k, 1, 1, epochs, plain);
    double diff = scaled_diff(plain, ref, np);
    CHECKF(diff < 1e-3, "%s: sharded and plain steps differ by %g", name, diff);
    CHECKF(memcmp(plain, ref, np * sizeof *ref) != 0, "%s: the sharded step has the plain step's bits", name);
    CHECKF(fabsf(lp - l1) < 1e-3f * (1 + fabsf(lp)), "%s: loss %g sharded, %g plain", name, l1, lp);
}

static void mlp_same_bits_any_threads(void) { same_bits_any_threads(MLP, "mlp"); }
static void cnn_same_bits_any_threads(void) { same_bits_any_threads(CNN, "cnn"); }

/* Too little arithmetic a row for its parameters: the plain step. */
static void mlp_batch64_not_sharded(void)
{
    make_data();
    size_t np = n_params(MLP64);
    float l1 = train(MLP64, 1, 0, 2, ref), l2 = train(MLP64, 2, 0, 2, got), lp = train(MLP64, 1, 1, 2, plain);
    CHECK(!memcmp(ref, got, np * sizeof *ref));
    CHECK(!memcmp(ref, plain, np * sizeof *ref));
    CHECK(l1 == l2 && l1 == lp);
}

/* Batch norm couples the rows: no shards, the plain step's very bits,
 * and it trains. */
static void batchnorm_not_sharded(void)
{
    make_data();
    size_t np = n_params(BN);
    float first = 0;
    lm_net *net = make_net(BN, 1);
    lm_data d = {.n = ROWS, .nx = SIDE * SIDE, .x = X, .labels = LAB, .n_classes = CLASSES};
    if (net) CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, &first, NULL));
    lm_net_free(net);
    float l1 = train(BN, 1, 0, 4, ref), l2 = train(BN, 2, 0, 4, got), lp = train(BN, 1, 1, 4, plain);
    CHECK(!memcmp(ref, got, np * sizeof *ref));
    CHECK(!memcmp(ref, plain, np * sizeof *ref));
    CHECK(l1 == l2 && l1 == lp);
    CHECKF(l1 < 0.5f * first, "batch norm net: loss %g after 4 epochs, %g before", l1, first);
}

/* A checkpoint in the middle resumes to the same bits. */
static void resume_exact(void)
{
    make_data();
    char path[] = "/tmp/lm_shard_ckpt_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    size_t np = n_params(CNN);
    train(CNN, 2, 0, 2, ref);
    lm_data d = {.n = CNN_ROWS, .nx = SIDE * SIDE, .x = X, .labels = LAB, .n_classes = CLASSES};
    lm_net *net = make_net(CNN, 1);
    lm_fit_opts o = opts(CNN, 0);
    lm_rng rng = lm_rng_seed(8);
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK_OK(lm_train_epoch(t, &d, NULL));
    CHECK_OK(lm_train_save(t, path));
    lm_train_free(t);
    lm_net_free(net);
    net = NULL;
    CHECK_OK(lm_net_load(&net, path));
    if (!net) return;
    CHECK_OK(lm_net_set_threads(net, 2));
    lm_rng other = lm_rng_seed(999);
    CHECK_OK(lm_train_new(&t, net, &o, &other));
    CHECK_OK(lm_train_resume(t, path));
    CHECK_OK(lm_train_epoch(t, &d, NULL));
    CHECK(!memcmp(ref, lm_net_params(net), np * sizeof *ref));
    lm_train_free(t);
    lm_net_free(net);
    unlink(path);
}

/* lm_train_loss_grad leaves g0 + g1 in lm_net_grads, so that
 * lm_train_apply_grads after it is lm_train_step. */
static void loss_grad_then_apply_is_step(void)
{
    make_data();
    size_t np = n_params(CNN);
    for (int th = 1; th <= 2; th++) {
        float la, lb;
        lm_net *a = make_net(CNN, th), *b = make_net(CNN, th);
        lm_fit_opts o = opts(CNN, 0);
        lm_rng rng = lm_rng_seed(8);
        lm_train *ta = NULL, *tb = NULL;
        CHECK_OK(lm_train_new(&ta, a, &o, &rng));
        CHECK_OK(lm_train_new(&tb, b, &o, &rng));
        for (int s = 0; ta && tb && s < 2; s++) {
            CHECK_OK(lm_train_step(ta, X + s * 8, NULL, LAB + s, BATCH, &la));
            CHECK_OK(lm_train_loss_grad(tb, X + s * 8, NULL, LAB + s, BATCH, &lb));
            CHECK_OK(lm_train_apply_grads(tb));
            CHECK(!memcmp(&la, &lb, sizeof la));
        }
        CHECKF(!memcmp(lm_net_params(a), lm_net_params(b), np * sizeof(float)), "%d threads", th);
        lm_train_free(ta);
        lm_train_free(tb);
        lm_net_free(a);
        lm_net_free(b);
    }
}

/* A NaN in the second half's rows: LM_ENUMERIC, no parameter changed. */
static void nan_in_one_half_changes_nothing(void)
{
    make_data();
    size_t np = n_params(CNN);
    static float x[BATCH * SIDE * SIDE];
    memcpy(x, X, sizeof x);
    x[(BATCH - 3) * SIDE * SIDE + 5] = NAN;
    for (int th = 1; th <= 2; th++) {
        lm_net *net = make_net(CNN, th);
        lm_fit_opts o = opts(CNN, 0);
        lm_rng rng = lm_rng_seed(8);
        lm_train *t = NULL;
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        memcpy(ref, lm_net_params(net), np * sizeof *ref);
        float l;
        CHECK(lm_train_step(t, x, NULL, LAB, BATCH, &l) == LM_ENUMERIC);
        CHECKF(!memcmp(ref, lm_net_params(net), np * sizeof *ref), "%d threads", th);
        CHECK(lm_train_steps(t) == 0);
        lm_train_free(t);
        lm_net_free(net);
    }
}

int main(void)
{
    RUN(mlp_same_bits_any_threads);
    RUN(cnn_same_bits_any_threads);
    RUN(mlp_batch64_not_sharded);
    RUN(batchnorm_not_sharded);
    RUN(resume_exact);
    RUN(loss_grad_then_apply_is_step);
    RUN(nan_in_one_half_changes_nothing);
    TEST_MAIN_END();
}
