/* test_train.c - training end to end: XOR learned to 100%, same seed same
 * bits (whatever the thread count), an interrupted run resumed from a
 * checkpoint ends where an uninterrupted one does, NaN stops training
 * with the parameters intact, early stopping, callbacks, evaluation,
 * u8 data equal to the same data as floats, concurrent inference. */
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include "harness.h"

#include <lamina.h>
#include <pthread.h>
#include <unistd.h>

static const float XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int32_t XOR_L[4] = {0, 1, 1, 0};

static lm_net *xor_net(uint64_t seed)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(seed);
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 8, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    return net;
}

static lm_fit_opts xor_opts(void)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.05f;
    o.epochs = 300;
    o.batch = 2;
    return o;
}

static void xor_reaches_full_accuracy(void)
{
    lm_net *net = xor_net(3);
    lm_fit_opts o = xor_opts();
    lm_rng rng = lm_rng_seed(5);
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    float loss, acc;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, &loss, &acc));
    CHECKF(acc == 1.0f && loss < 0.05f, "accuracy %g loss %g", acc, loss);
    lm_net_free(net);
}

static void xor_sigmoid_bce(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(11);
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 6, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_fit_opts o = xor_opts();
    o.loss = LM_LOSS_BCE;
    o.epochs = 500;
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    float loss, acc, y[4];
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_BCE, &loss, &acc));
    CHECK_OK(lm_net_predict(net, XOR_X, 4, y));
    CHECKF(acc == 1.0f, "accuracy %g loss %g preds %g %g %g %g", acc, loss, y[0], y[1], y[2], y[3]);
    lm_net_free(net);
}

/* A noisy 2-class problem big enough for several batches and threads. */
static void blobs(float *x, int32_t *lab, size_t n, uint64_t seed)
{
    lm_rng r = lm_rng_seed(seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        lab[i] = c;
        for (int j = 0; j < 10; j++) x[i * 10 + j] = lm_rng_normal(&r) + (j % 3 == c ? 1.5f : 0.0f);
    }
}

static float *train_blobs(int threads, int epochs_a, int epochs_b, const char *ckpt)
{
    enum { N = 600 };
    static float x[N * 10];
    static int32_t lab[N];
    blobs(x, lab, N, 42);
    lm_net *net;
    lm_rng rng = lm_rng_seed(9);
    lm_net_new(&net, 10);
    lm_net_add_dense(net, 32, LM_RELU, LM_BIAS);
    lm_net_add_dense(net, 16, LM_LEAKY_RELU, LM_BIAS);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    lm_net_set_threads(net, threads);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAMW;
    o.optim.lr = 0.01f;
    o.optim.weight_decay = 0.01f;
    o.batch = 50;
    o.epochs = 6;
    o.lr_schedule = LM_LR_COSINE; /* resuming must follow the same curve */
    lm_data d = {.n = N, .nx = 10, .x = x, .labels = lab, .n_classes = 3};
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    for (int e = 0; e < epochs_a; e++) CHECK_OK(lm_train_epoch(t, &d, NULL));
    if (ckpt) {
        /* stop, save, throw everything away, and resume in a new trainer */
        CHECK_OK(lm_train_save(t, ckpt));
        lm_train_free(t);
        lm_net_free(net);
        CHECK_OK(lm_net_load(&net, ckpt));
        lm_net_set_threads(net, threads);
        lm_rng other = lm_rng_seed(12345); /* must be replaced by the saved one */
        CHECK_OK(lm_train_new(&t, net, &o, &other));
        CHECK_OK(lm_train_resume(t, ckpt));
        CHECK(lm_train_epochs_done(t) == epochs_a);
    }
    for (int e = 0; e < epochs_b; e++) CHECK_OK(lm_train_epoch(t, &d, NULL));
    float *p = malloc(lm_net_n_params(net) * sizeof *p);
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    float loss, acc;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, &loss, &acc));
    CHECKF(acc > 0.8f, "blobs accuracy %g", acc);
    lm_train_free(t);
    lm_net_free(net);
    return p;
}

static const size_t BLOB_PARAMS = 10 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3;

static void same_seed_same_bits(void)
{
    float *a = train_blobs(1, 5, 0, NULL), *b = train_blobs(1, 5, 0, NULL);
    CHECK(memcmp(a, b, BLOB_PARAMS * sizeof(float)) == 0);
    free(a);
    free(b);
}

static void thread_count_same_bits(void)
{
    float *a = train_blobs(1, 4, 0, NULL), *b = train_blobs(2, 4, 0, NULL), *c = train_blobs(3, 4, 0, NULL);
    CHECK(memcmp(a, b, BLOB_PARAMS * sizeof(float)) == 0);
    CHECK(memcmp(a, c, BLOB_PARAMS * sizeof(float)) == 0);
    free(a);
    free(b);
    free(c);
}

/* A net big enough that the optimizer update and the batch gather are
 * shared between threads too (over 65536 parameters, wide batches). */
static float *train_wide(int threads, lm_optim_kind kind)
{
    enum { N = 256, NX = 300 };
    static uint8_t x[N * NX];
    static int32_t lab[N];
    lm_rng r = lm_rng_seed(21);
    for (int i = 0; i < N * NX; i++) x[i] = (uint8_t)lm_rng_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = (int32_t)lm_rng_below(&r, 10);
    lm_net *net;
    lm_rng rng = lm_rng_seed(4);
    lm_net_new(&net, NX);
    lm_net_add_dense(net, 256, LM_RELU, LM_BIAS);
    lm_net_add_dense(net, 10, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    lm_net_set_threads(net, threads);
    float mean[NX], scale[NX];
    for (int j = 0; j < NX; j++) mean[j] = 128, scale[j] = 1.0f / 64;
    lm_net_set_norm(net, mean, scale);
    lm_data d = {.n = N, .nx = NX, .x_type = LM_U8, .x = x, .labels = lab, .n_classes = 10};
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = kind;
    o.optim.momentum = kind == LM_SGD ? 0.9f : 0.0f;
    o.optim.lr = 0.01f;
    o.batch = 64;
    o.epochs = 2;
    CHECK(lm_net_n_params(net) > 65536);
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    float *p = malloc(lm_net_n_params(net) * sizeof *p);
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    lm_net_free(net);
    return p;
}

static void wide_thread_count_same_bits(void)
{
    size_t n = 300 * 256 + 256 + 256 * 10 + 10;
    for (int k = 0; k < 2; k++) { /* SGD with momentum, and Adam */
        lm_optim_kind kind = k ? LM_ADAM : LM_SGD;
        float *a = train_wide(1, kind), *b = train_wide(2, kind), *c = train_wide(3, kind);
        CHECKF(memcmp(a, b, n * sizeof(float)) == 0, "%s: 1 and 2 threads differ", lm_optim_name(kind));
        CHECKF(memcmp(a, c, n * sizeof(float)) == 0, "%s: 1 and 3 threads differ", lm_optim_name(kind));
        free(a);
        free(b);
        free(c);
    }
}

static void resume_matches_uninterrupted(void)
{
    char path[] = "/tmp/lm_ckpt_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    float *a = train_blobs(1, 6, 0, NULL), *b = train_blobs(1, 2, 4, path);
    CHECK(memcmp(a, b, BLOB_PARAMS * sizeof(float)) == 0);
    unlink(path);
    free(a);
    free(b);
}

static void nan_stops_with_params_intact(void)
{
    lm_net *net = xor_net(3);
    lm_fit_opts o = xor_opts();
    o.batch = 4;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float x[8];
    memcpy(x, XOR_X, sizeof x);
    x[3] = NAN;
    size_t np = lm_net_n_params(net);
    float *before = malloc(np * sizeof *before);
    memcpy(before, lm_net_params(net), np * sizeof *before);
    float loss;
    CHECK(lm_train_step(t, x, NULL, XOR_L, 4, &loss) == LM_ENUMERIC);
    CHECK(memcmp(before, lm_net_params(net), np * sizeof *before) == 0);
    /* through an epoch the message names the epoch and the batch */
    lm_data d = {.n = 4, .nx = 2, .x = x, .labels = XOR_L, .n_classes = 2};
    CHECK(lm_train_epoch(t, &d, NULL) == LM_ENUMERIC);
    CHECKF(strstr(lm_errmsg(), "epoch 1") && strstr(lm_errmsg(), "batch 1"), "message: %s", lm_errmsg());
    CHECK(memcmp(before, lm_net_params(net), np * sizeof *before) == 0);
    free(before);
    lm_train_free(t);
    lm_net_free(net);
}

static int stop_at_3(const lm_epoch_info *e, void *ctx)
{
    *(int *)ctx = e->epoch;
    return e->epoch == 3;
}

static void callback_stops_and_counts(void)
{
    lm_net *net = xor_net(3);
    lm_fit_opts o = xor_opts();
    int last = 0;
    o.on_epoch = stop_at_3;
    o.ctx = &last;
    lm_rng rng = lm_rng_seed(1);
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    CHECK(last == 3);
    lm_net_free(net);
}

/* lm_fit_opts.stop: a set flag stops after the batch it was seen in
 * (LM_ESTOPPED from lm_train_epoch, one step taken, the epoch not counted;
 * lm_fit returns LM_OK); a clear one changes nothing. */
static void stop_flag_stops_after_a_batch(void)
{
    lm_net *net = xor_net(3);
    lm_fit_opts o = xor_opts();
    o.batch = 1;
    volatile int flag = 1;
    o.stop = &flag;
    lm_rng rng = lm_rng_seed(1);
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK(lm_train_epoch(t, &d, NULL) == LM_ESTOPPED);
    CHECK(lm_train_steps(t) == 1 && lm_train_epochs_done(t) == 0);
    flag = 0;
    CHECK_OK(lm_train_epoch(t, &d, NULL));
    CHECK(lm_train_steps(t) == 5 && lm_train_epochs_done(t) == 1);
    lm_train_free(t);
    flag = 1;
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    lm_net_free(net);
}

static int record_val(const lm_epoch_info *e, void *ctx)
{
    float *v = ctx;
    v[e->epoch - 1] = e->val_loss;
    return 0;
}

static void early_stop_restores_best(void)
{
    /* Train on one set, validate on a set with the opposite labels: the
     * validation loss rises, so early stopping must end the run early and
     * restore the parameters of the best validation epoch. */
    enum { N = 60 };
    float x[N * 10], vals[200];
    int32_t lab[N], flipped[N];
    blobs(x, lab, N, 3);
    for (int i = 0; i < N; i++) flipped[i] = (lab[i] + 1) % 3;
    lm_net *net;
    lm_rng rng = lm_rng_seed(2);
    lm_net_new(&net, 10);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_data d = {.n = N, .nx = 10, .x = x, .labels = lab, .n_classes = 3};
    lm_data v = {.n = N, .nx = 10, .x = x, .labels = flipped, .n_classes = 3};
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.lr = 0.1f;
    o.epochs = 200;
    o.val = &v;
    o.early_stop = 3;
    o.on_epoch = record_val;
    o.ctx = vals;
    for (int i = 0; i < 200; i++) vals[i] = NAN;
    float first;
    CHECK_OK(lm_evaluate(net, &v, LM_LOSS_CE, &first, NULL));
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    int ran = 0;
    while (ran < 200 && !isnan(vals[ran])) ran++;
    CHECKF(ran < 20, "ran %d epochs", ran);
    float best = vals[0], now;
    for (int i = 1; i < ran; i++) best = vals[i] < best ? vals[i] : best;
    CHECK_OK(lm_evaluate(net, &v, LM_LOSS_CE, &now, NULL));
    CHECKF(fabsf(now - best) < 1e-6f, "restored val loss %g, best %g", now, best);
    lm_net_free(net);
}

/* The same run driven epoch by epoch, as the CLI does: lm_train_should_stop
 * says when, lm_train_best names the best epoch with its val loss, and
 * lm_train_restore_best puts its parameters back. */
static void early_stop_epoch_api(void)
{
    enum { N = 60 };
    float x[N * 10], vals[200];
    int32_t lab[N], flipped[N];
    blobs(x, lab, N, 3);
    for (int i = 0; i < N; i++) flipped[i] = (lab[i] + 1) % 3;
    lm_net *net;
    lm_rng rng = lm_rng_seed(2);
    lm_net_new(&net, 10);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_data d = {.n = N, .nx = 10, .x = x, .labels = lab, .n_classes = 3};
    lm_data v = {.n = N, .nx = 10, .x = x, .labels = flipped, .n_classes = 3};
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.lr = 0.1f;
    o.epochs = 200;
    o.val = &v;
    o.early_stop = 3;
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK(lm_train_best(t, NULL) == 0 && !lm_train_should_stop(t));
    int ran = 0;
    while (ran < 200 && !lm_train_should_stop(t)) {
        lm_epoch_info e;
        CHECK_OK(lm_train_epoch(t, &d, &e));
        vals[ran++] = e.val_loss;
    }
    int best_i = 0;
    for (int i = 1; i < ran; i++) best_i = vals[i] < vals[best_i] ? i : best_i;
    lm_epoch_info b;
    int be = lm_train_best(t, &b);
    CHECKF(ran < 20 && be == best_i + 1 && ran - be == 3, "ran %d, best epoch %d, want %d", ran, be,
           best_i + 1);
    CHECKF(b.epoch == be && b.val_loss == vals[best_i], "best info epoch %d val %g", b.epoch, b.val_loss);
    CHECK(lm_train_restore_best(t) == be);
    float now;
    CHECK_OK(lm_evaluate(net, &v, LM_LOSS_CE, &now, NULL));
    CHECKF(fabsf(now - vals[best_i]) < 1e-6f, "restored val loss %g, best %g", now, vals[best_i]);
    lm_train_free(t);
    /* off: no best, never stops */
    o.early_stop = 0;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_epoch_info e;
    CHECK_OK(lm_train_epoch(t, &d, &e));
    CHECK(lm_train_best(t, NULL) == 0 && !lm_train_should_stop(t) && lm_train_restore_best(t) == 0);
    lm_train_free(t);
    lm_net_free(net);
}

static int record_lr(const lm_epoch_info *e, void *ctx)
{
    ((float *)ctx)[e->epoch - 1] = e->lr;
    return 0;
}

static void lr_schedules(void)
{
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    float lr[8];
    for (int k = 0; k < 3; k++) {
        lm_net *net = xor_net(3);
        lm_fit_opts o = xor_opts();
        o.optim.lr = 0.1f;
        o.epochs = 8;
        o.lr_schedule = (lm_lr_schedule)k;
        o.lr_min = 0.02f;
        o.lr_step = 3;
        o.lr_gamma = 0.5f;
        o.on_epoch = record_lr;
        o.ctx = lr;
        lm_rng rng = lm_rng_seed(1);
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        for (int e = 0; e < 8; e++) {
            double want = k == 0 ? 0.1 : k == 1 ? 0.02 + 0.08 * 0.5 * (1 + cos(M_PI * e / 8.0))
                                             : 0.1 * pow(0.5, e / 3);
            CHECKF(fabs(lr[e] - want) < 1e-7, "schedule %d epoch %d: lr %g, want %g", k, e + 1, lr[e], want);
        }
        lm_net_free(net);
    }
    lm_net *net = xor_net(3);
    lm_fit_opts o = xor_opts();
    o.lr_schedule = LM_LR_STEP;
    o.lr_gamma = 0;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
    lm_net_free(net);
}

static void u8_equals_float(void)
{
    enum { N = 40, NX = 6 };
    uint8_t xb[N * NX];
    float xf[N * NX];
    int32_t lab[N];
    lm_rng r = lm_rng_seed(4);
    for (int i = 0; i < N * NX; i++) xf[i] = xb[i] = (uint8_t)lm_rng_below(&r, 256);
    for (int i = 0; i < N; i++) lab[i] = i % 2;
    float *res[2];
    for (int k = 0; k < 2; k++) {
        lm_net *net;
        lm_rng rng = lm_rng_seed(8);
        lm_net_new(&net, NX);
        lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
        lm_net_init(net, LM_INIT_XAVIER, &rng);
        float mean[NX] = {0}, scale[NX];
        for (int j = 0; j < NX; j++) scale[j] = 1.0f / 255;
        lm_net_set_norm(net, mean, scale);
        lm_data d = {.n = N, .nx = NX, .x_type = k ? LM_U8 : LM_F32, .x = k ? (void *)xb : (void *)xf,
                     .labels = lab, .n_classes = 2};
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        o.batch = 8;
        o.epochs = 3;
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        res[k] = malloc(lm_net_n_params(net) * sizeof(float));
        memcpy(res[k], lm_net_params(net), lm_net_n_params(net) * sizeof(float));
        lm_net_free(net);
    }
    CHECK(memcmp(res[0], res[1], (NX * 2 + 2) * sizeof(float)) == 0);
    free(res[0]);
    free(res[1]);
}

/* Rows taken in order (no shuffle) are read in place of a gather: a fit
 * must end with the bits of the same batches stepped one by one through
 * lm_train_step, for float and u8 inputs, with and without normalisation,
 * with float targets and labels, and a short last batch. */
static float *fit_in_order(int x_u8, int norm, int labels, int by_steps, int epochs)
{
    enum { N = 10, NX = 3, NO = 2, BATCH = 4 };
    static const float mean[NX] = {100, 50, 0}, scale[NX] = {0.01f, 0.02f, 0.005f};
    uint8_t xb[N * NX];
    float xf[N * NX], y[N * NO];
    int32_t lab[N];
    lm_rng r = lm_rng_seed(31);
    for (int i = 0; i < N * NX; i++) xf[i] = xb[i] = (uint8_t)lm_rng_below(&r, 256);
    for (int i = 0; i < N * NO; i++) y[i] = lm_rng_uniform(&r);
    for (int i = 0; i < N; i++) lab[i] = (int32_t)lm_rng_below(&r, NO);
    lm_net *net;
    lm_rng rng = lm_rng_seed(32);
    lm_net_new(&net, NX);
    lm_net_add_dense(net, 5, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, NO, LM_SIGMOID, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    if (norm) lm_net_set_norm(net, mean, scale);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_MSE;
    o.optim.momentum = 0.5f;
    o.optim.lr = 0.5f;
    o.batch = BATCH;
    o.epochs = epochs;
    o.shuffle = 0;
    lm_data d = {.n = N, .nx = NX, .x_type = x_u8 ? LM_U8 : LM_F32, .x = x_u8 ? (void *)xb : (void *)xf};
    if (labels) d.labels = lab, d.n_classes = NO;
    else d.y = y, d.ny = NO;
    if (!by_steps) {
        CHECK_OK(lm_fit(net, &d, &o, &rng));
    } else {
        lm_train *t;
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        for (int e = 0; e < epochs; e++)
            for (size_t b = 0; b < N; b += BATCH) {
                size_t m = N - b < BATCH ? N - b : BATCH;
                CHECK_OK(lm_train_step(t, xf + b * NX, labels ? NULL : y + b * NO, labels ? lab + b : NULL, m, NULL));
            }
        lm_train_free(t);
    }
    float *p = malloc(lm_net_n_params(net) * sizeof *p);
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    lm_net_free(net);
    return p;
}

static void in_order_fit_matches_steps(void)
{
    size_t np = 3 * 5 + 5 + 5 * 2 + 2;
    for (int k = 0; k < 8; k++) {
        int x_u8 = k & 1, norm = (k >> 1) & 1, labels = (k >> 2) & 1;
        float *a = fit_in_order(x_u8, norm, labels, 0, 3), *b = fit_in_order(x_u8, norm, labels, 1, 3);
        CHECKF(memcmp(a, b, np * sizeof(float)) == 0, "u8 %d, norm %d, labels %d: fit and steps differ",
               x_u8, norm, labels);
        /* both trained: two untouched nets would be equal too */
        float *c = fit_in_order(x_u8, norm, labels, 0, 0);
        CHECKF(memcmp(a, c, np * sizeof(float)) != 0, "u8 %d, norm %d, labels %d: the fit changed nothing",
               x_u8, norm, labels);
        free(a);
        free(b);
        free(c);
    }
}

/* Cross-entropy over one output: the output is p(class 1), and the loss
 * is the binary cross-entropy. It was -t log p alone, which left every
 * row of class 0 out of the loss and its gradient: trained, such a net
 * called everything class 1. CE and BCE now give the same loss and the
 * same trained bits; other single outputs are refused. lm_evaluate
 * refuses an empty set, as training does, instead of a NaN loss. */
static void ce_one_output_is_binary(void)
{
    float x[8] = {1, 0, 2, 0, 0, 3, 0, 4};
    int32_t lab[4] = {0, 0, 1, 1};
    lm_data d = {.n = 4, .nx = 2, .x = x, .labels = lab, .n_classes = 2};
    float params[2][16], loss[2], acc[2];
    for (int k = 0; k < 2; k++) {
        lm_net *net;
        lm_rng rng = lm_rng_seed(3);
        CHECK_OK(lm_net_new(&net, 2));
        CHECK_OK(lm_net_add_dense(net, 3, LM_TANH, LM_BIAS));
        CHECK_OK(lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS));
        CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
        lm_fit_opts o = lm_fit_defaults();
        o.loss = k ? LM_LOSS_BCE : LM_LOSS_CE;
        o.optim.kind = LM_SGD;
        o.optim.lr = 0.5f;
        o.epochs = 200;
        o.batch = 4;
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        CHECK_OK(lm_evaluate(net, &d, o.loss, &loss[k], &acc[k]));
        CHECK(lm_net_n_params(net) == 13);
        memcpy(params[k], lm_net_params(net), 13 * sizeof(float));
        lm_data empty = d;
        empty.n = 0;
        CHECK(lm_evaluate(net, &empty, o.loss, &loss[k], NULL) == LM_EINVAL &&
              strstr(lm_errmsg(), "empty"));
        lm_net_free(net);
    }
    CHECKF(loss[0] == loss[1] && acc[0] == 1.0f, "CE %g (accuracy %g), BCE %g", loss[0], acc[0], loss[1]);
    CHECK(memcmp(params[0], params[1], 13 * sizeof(float)) == 0);
    static const lm_act bad[] = {LM_IDENTITY, LM_TANH, LM_RELU, LM_SOFTMAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lm_net *net;
        lm_rng rng = lm_rng_seed(1);
        CHECK_OK(lm_net_new(&net, 2));
        CHECK_OK(lm_net_add_dense(net, 1, bad[i], LM_BIAS));
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        lm_train *t = NULL;
        lm_status st = lm_train_new(&t, net, &o, &rng);
        CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "one sigmoid output"), "%s: %s: %s",
               lm_act_name(bad[i]), lm_status_name(st), lm_errmsg());
        lm_train_free(t);
        lm_net_free(net);
    }
}

/* Binary cross-entropy reads its outputs as probabilities: after a tanh,
 * relu or identity output they leave [0, 1], the loss went negative
 * (-log 3 for an output of 3 with target 1) and the gradients reached
 * 1e12, silently. PyTorch refuses such inputs; so do lm_train_new and
 * lm_evaluate, before anything runs. */
static void bce_needs_probabilities(void)
{
    static const lm_act bad[] = {LM_IDENTITY, LM_TANH, LM_RELU, LM_LEAKY_RELU};
    static const lm_act good[] = {LM_SIGMOID, LM_SOFTMAX};
    float x[4] = {0, 1, 1, 0};
    int32_t lab[2] = {1, 0};
    lm_rng rng = lm_rng_seed(1);
    for (int w = 1; w <= 2; w++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            lm_net *net;
            CHECK_OK(lm_net_new(&net, 2));
            CHECK_OK(lm_net_add_dense(net, 3, LM_TANH, LM_BIAS));
            CHECK_OK(lm_net_add_dense(net, w, bad[i], LM_BIAS));
            lm_fit_opts o = lm_fit_defaults();
            o.loss = LM_LOSS_BCE;
            lm_train *t = NULL;
            lm_status st = lm_train_new(&t, net, &o, &rng);
            CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "binary cross-entropy") &&
                       strstr(lm_errmsg(), lm_act_name(bad[i])),
                   "%d %s outputs: %s: %s", w, lm_act_name(bad[i]), lm_status_name(st), lm_errmsg());
            CHECK(t == NULL);
            lm_data d = {.n = 2, .nx = 2, .x = x, .labels = lab, .n_classes = 2};
            float loss = 0;
            if (w == 1) CHECK(lm_evaluate(net, &d, LM_LOSS_BCE, &loss, NULL) == LM_EINVAL);
            lm_train_free(t);
            lm_net_free(net);
        }
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            lm_net *net;
            CHECK_OK(lm_net_new(&net, 2));
            CHECK_OK(lm_net_add_dense(net, w, good[i], LM_BIAS));
            lm_fit_opts o = lm_fit_defaults();
            o.loss = LM_LOSS_BCE;
            lm_train *t = NULL;
            CHECK_OK(lm_train_new(&t, net, &o, &rng));
            lm_train_free(t);
            lm_net_free(net);
        }
    }
}

/* BCE's targets are probabilities: y = 2 (or -1, or NaN) made a loss that
 * falls below 0 without bound, which lm_fit and lm_train_step minimised
 * without a word (and lm_evaluate reported). Refused, naming the row and
 * value; 0, 1 and 0.3 train and evaluate. */
static void bce_targets_in_unit_interval(void)
{
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, xv[2] = {0, 1};
    float good[4] = {0, 1, 0.3f, 0}, bad[3] = {2.0f, -1.0f, NAN}, yv[1] = {0.5f};
    for (int w = 1; w <= 2; w++) {
        lm_rng rng = lm_rng_seed(1);
        lm_net *net;
        CHECK_OK(lm_net_new(&net, 2));
        CHECK_OK(lm_net_add_dense(net, w, LM_SIGMOID, LM_BIAS));
        CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_BCE;
        o.epochs = 1;
        o.batch = 4;
        float y[8];
        for (int i = 0; i < 4 * w; i++) y[i] = good[i % 4];
        lm_data d = {.n = 4, .nx = 2, .x = x, .y = y, .ny = w};
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        float good_loss = NAN;
        CHECK_OK(lm_evaluate(net, &d, LM_LOSS_BCE, &good_loss, NULL));
        CHECKF(good_loss > 0, "w %d: evaluate's loss %g", w, (double)good_loss);
        for (size_t b = 0; b < 3; b++) {
            y[4 * w - 1] = bad[b]; /* the last row's last output */
            lm_status st = lm_fit(net, &d, &o, &rng);
            char want[64];
            snprintf(want, sizeof want, "training set row 4: target %g", (double)bad[b]);
            CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), want) && strstr(lm_errmsg(), "[0, 1]"),
                   "w %d y %g: %s: %s", w, (double)bad[b], lm_status_name(st), lm_errmsg());
            float loss = 123.0f;
            st = lm_evaluate(net, &d, LM_LOSS_BCE, &loss, NULL);
            snprintf(want, sizeof want, "evaluation set row 4: target %g", (double)bad[b]);
            CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), want) && strstr(lm_errmsg(), "[0, 1]") &&
                       loss == 123.0f,
                   "w %d y %g evaluate: %s: %s (loss %g)", w, (double)bad[b], lm_status_name(st),
                   lm_errmsg(), (double)loss);
            lm_train *t = NULL;
            CHECK_OK(lm_train_new(&t, net, &o, &rng));
            st = lm_train_step(t, x, y, NULL, 4, NULL);
            CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "lm_train_step: y row 4") &&
                       strstr(lm_errmsg(), "[0, 1]"),
                   "w %d y %g step: %s: %s", w, (double)bad[b], lm_status_name(st), lm_errmsg());
            lm_train_free(t);
        }
        y[4 * w - 1] = 0;
        /* the validation set's too */
        float yvw[2] = {yv[0], 3.0f};
        lm_data v = {.n = 1, .nx = 2, .x = xv, .y = w == 1 ? (float[]){3.0f} : yvw, .ny = w};
        o.val = &v;
        lm_status st = lm_fit(net, &d, &o, &rng);
        CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "validation set row 1: target 3"), "w %d val: %s: %s",
               w, lm_status_name(st), lm_errmsg());
        lm_net_free(net);
    }
}

static void bad_arguments_refused(void)
{
    lm_net *net;
    CHECK(lm_net_new(&net, 0) == LM_EINVAL && net == NULL);
    CHECK_OK(lm_net_new(&net, 2));
    CHECK(lm_net_add_dense(net, 0, LM_RELU, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 3, (lm_act)99, LM_BIAS) == LM_EINVAL);
    lm_fit_opts o = lm_fit_defaults();
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL); /* no layers */
    CHECK_OK(lm_net_add_dense(net, 2, LM_RELU, LM_BIAS));
    o.loss = LM_LOSS_CE;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL && strstr(lm_errmsg(), "softmax"));
    o = lm_fit_defaults();
    o.optim.lr = NAN;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
    o = lm_fit_defaults();
    o.batch = 0;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
    o = lm_fit_defaults();
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float x[6] = {0};
    int32_t bad[3] = {0, 5, 1};
    lm_data d = {.n = 3, .nx = 2, .x = x, .labels = bad, .n_classes = 6};
    CHECK(lm_train_epoch(t, &d, NULL) == LM_EINVAL && strstr(lm_errmsg(), "row 2"));
    lm_data d3 = {.n = 2, .nx = 3, .x = x, .labels = bad};
    CHECK(lm_train_epoch(t, &d3, NULL) == LM_EINVAL && strstr(lm_errmsg(), "features"));
    lm_train_free(t);
    /* a workspace made for a net of the same depth but other widths */
    lm_net *wide;
    lm_ws *ws;
    CHECK_OK(lm_net_new(&wide, 2));
    CHECK_OK(lm_net_add_dense(wide, 64, LM_RELU, LM_BIAS));
    CHECK_OK(lm_ws_new(&ws, net, 4));
    float y[64];
    CHECK(lm_net_predict_ws(wide, ws, x, 1, y) == LM_EINVAL && strstr(lm_errmsg(), "shape"));
    lm_ws_free(ws);
    lm_net_free(wide);
    lm_net_free(net);
}

/* Several threads predict through one shared net, each with its own
 * workspace; all must agree with a single-threaded predict. */
typedef struct job {
    const lm_net *net;
    const float *x;
    float y[64 * 3];
    int ok;
} job;

static void *predict_job(void *arg)
{
    job *j = arg;
    lm_ws *ws;
    j->ok = lm_ws_new(&ws, j->net, 16) == LM_OK;
    for (int rep = 0; j->ok && rep < 50; rep++) j->ok = lm_net_predict_ws(j->net, ws, j->x, 64, j->y) == LM_OK;
    lm_ws_free(ws);
    return NULL;
}

static void concurrent_predict(void)
{
    enum { N = 64 };
    float x[N * 10], ref[N * 3];
    int32_t lab[N];
    blobs(x, lab, N, 5);
    lm_net *net;
    lm_rng rng = lm_rng_seed(2);
    lm_net_new(&net, 10);
    lm_net_add_dense(net, 16, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_net_set_threads(net, 1);
    CHECK_OK(lm_net_predict(net, x, N, ref));
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){.net = net, .x = x};
        pthread_create(&th[i], NULL, predict_job, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
        CHECK(memcmp(jobs[i].y, ref, sizeof ref) == 0);
    }
    lm_net_free(net);
}

int main(void)
{
    RUN(xor_reaches_full_accuracy);
    RUN(xor_sigmoid_bce);
    RUN(same_seed_same_bits);
    RUN(thread_count_same_bits);
    RUN(wide_thread_count_same_bits);
    RUN(resume_matches_uninterrupted);
    RUN(nan_stops_with_params_intact);
    RUN(callback_stops_and_counts);
    RUN(stop_flag_stops_after_a_batch);
    RUN(early_stop_restores_best);
    RUN(early_stop_epoch_api);
    RUN(lr_schedules);
    RUN(u8_equals_float);
    RUN(in_order_fit_matches_steps);
    RUN(bad_arguments_refused);
    RUN(bce_needs_probabilities);
    RUN(bce_targets_in_unit_interval);
    RUN(ce_one_output_is_binary);
    RUN(concurrent_predict);
    TEST_MAIN_END();
}
