/* test_class_weights.c - lm_fit_opts.class_weights (Keras' class_weight):
 * a row of class c counts w[c] times in training, the batch's loss and
 * gradient being the mean over its rows of w[c_i] * loss_i. Checked
 * against the same sums in double precision (PyTorch's
 * CrossEntropyLoss(weight=w, reduction='none').mean() is this sum);
 * weights of 1 give the bits of no weights; the array is copied;
 * evaluation stays unweighted; misuse is LM_EINVAL with a message.
 * The data-parallel case is in test_shards.c, finite differences in
 * test_grad.c. */
#include "harness.h"

#include <lamina.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NX = 4, ROWS = 9 };
static float X[ROWS * NX];
static int32_t LAB[ROWS];

static void make_data(int classes)
{
    lm_rng rng = lm_rng_seed(21);
    for (int i = 0; i < ROWS * NX; i++) X[i] = 2 * lm_rng_uniform(&rng) - 1;
    for (int r = 0; r < ROWS; r++) LAB[r] = (int32_t)lm_rng_below(&rng, (uint64_t)classes);
}

/* One dense layer nx -> n_out (softmax, or sigmoid for one output). */
static lm_net *make_net(int n_out)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(4);
    lm_net_new(&net, NX);
    lm_net_add_dense(net, n_out, n_out == 1 ? LM_SIGMOID : LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    float *p = lm_net_params(net);
    for (size_t i = 0; i < lm_net_n_params(net); i++) p[i] += 0.1f * (float)(i % 5) - 0.2f;
    lm_net_set_threads(net, 1);
    return net;
}

/* The weighted loss and its gradient in double, for the one-layer net:
 * weights W (NX, n_out) then bias (n_out) in the flat buffer. */
static double reference(const float *p, int n_out, const float *cw, double *grad)
{
    int w = n_out;
    size_t np = (size_t)NX * w + w;
    memset(grad, 0, np * sizeof *grad);
    double loss = 0;
    for (int r = 0; r < ROWS; r++) {
        double z[8], dz[8];
        for (int j = 0; j < w; j++) {
            z[j] = p[NX * w + j];
            for (int k = 0; k < NX; k++) z[j] += (double)X[r * NX + k] * p[k * w + j];
        }
        double wr = cw[LAB[r]];
        if (w == 1) { /* binary: p = s(z), class 1's probability */
            double t = LAB[r], s = 1 / (1 + exp(-z[0]));
            loss += wr * -(t * log(s) + (1 - t) * log(1 - s));
            dz[0] = wr * (s - t);
        } else {
            double mx = z[0], se = 0;
            for (int j = 1; j < w; j++) mx = fmax(mx, z[j]);
            for (int j = 0; j < w; j++) se += exp(z[j] - mx);
            loss += wr * (mx + log(se) - z[LAB[r]]);
            for (int j = 0; j < w; j++) dz[j] = wr * (exp(z[j] - mx) / se - (j == LAB[r]));
        }
        for (int j = 0; j < w; j++) {
            for (int k = 0; k < NX; k++) grad[k * w + j] += X[r * NX + k] * dz[j] / ROWS;
            grad[NX * w + j] += dz[j] / ROWS;
        }
    }
    return loss / ROWS;
}

static void check_against_reference(int n_out, const float *cw, int n_cw)
{
    make_data(n_out == 1 ? 2 : n_out);
    lm_net *net = make_net(n_out);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = ROWS;
    o.class_weights = cw;
    o.n_class_weights = n_cw;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float loss = NAN;
    CHECK_OK(lm_train_loss_grad(t, X, NULL, LAB, ROWS, &loss));
    size_t np = lm_net_n_params(net);
    double g[64];
    double want = reference(lm_net_params(net), n_out, cw, g);
    CHECKF(fabs(loss - want) <= 1e-6 * (1 + fabs(want)), "%d outputs: loss %.9g, reference %.9g", n_out,
           loss, want);
    const float *got = lm_net_grads(net);
    double worst = 0;
    for (size_t i = 0; i < np; i++) { /* (not fmax: gcc 12's aarch64 vectoriser fails on it) */
        double d = fabs(got[i] - g[i]) / (1 + fabs(g[i]));
        if (d > worst) worst = d;
    }
    CHECKF(worst <= 1e-6, "%d outputs: gradients differ from the reference by %g", n_out, worst);
    /* and the weights matter: the unweighted loss is another number */
    double g1[64];
    const float one[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(fabs(reference(lm_net_params(net), n_out, one, g1) - want) > 1e-3);
    lm_train_free(t);
    lm_net_free(net);
}

static void weighted_softmax_matches_reference(void)
{
    const float cw[4] = {0.25f, 3.0f, 0.0f, 1.5f};
    check_against_reference(4, cw, 4);
}

static void weighted_binary_matches_reference(void)
{
    const float cw[2] = {0.3f, 4.0f}; /* classes 0 and 1 of one sigmoid output */
    check_against_reference(1, cw, 2);
}

/* A batch large enough for the trainer to split into row shards (a conv
 * net, 128 rows: train.c's SHARDS rule) weighs each shard's rows: its
 * loss is the weighted mean of -log p over the predicted probabilities. */
static void weighted_sharded_batch_matches_reference(void)
{
    enum { N = 128, IN = 64, K = 3 };
    lm_net *net;
    lm_rng rng = lm_rng_seed(8);
    CHECK_OK(lm_net_new(&net, IN));
    CHECK_OK(lm_net_set_input_shape(net, 1, 8, 8));
    CHECK_OK(lm_net_add_conv2d(net, 4, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dense(net, K, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_HE, &rng));
    static float x[N * IN], p[N * K];
    int32_t lab[N];
    for (int i = 0; i < N * IN; i++) x[i] = lm_rng_uniform(&rng);
    for (int r = 0; r < N; r++) lab[r] = (int32_t)lm_rng_below(&rng, K);
    const float cw[K] = {0.5f, 3.0f, 1.25f};
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = N;
    o.class_weights = cw;
    o.n_class_weights = K;
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float loss = NAN;
    CHECK_OK(lm_train_loss_grad(t, x, NULL, lab, N, &loss));
    CHECK_OK(lm_net_predict(net, x, N, p));
    double want = 0;
    for (int r = 0; r < N; r++) want += cw[lab[r]] * -log((double)p[r * K + lab[r]]);
    want /= N;
    CHECKF(fabs(loss - want) <= 1e-5 * (1 + fabs(want)), "loss %.9g, reference %.9g", loss, want);
    lm_train_free(t);
    lm_net_free(net);
}

/* Trains with cw (NULL: none) for 3 epochs; the parameters into p. */
static void fit_params(const float *cw, int n_cw, int n_out, float *p, float *val_loss, float *train_loss)
{
    make_data(n_out == 1 ? 2 : n_out);
    lm_net *net = make_net(n_out);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.epochs = 3;
    o.batch = 4;
    o.class_weights = cw;
    o.n_class_weights = n_cw;
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB};
    o.val = &d;
    lm_rng rng = lm_rng_seed(9);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_epoch_info e = {0};
    for (int i = 0; i < 3; i++) CHECK_OK(lm_train_epoch(t, &d, &e));
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    lm_train_free(t);
    /* evaluation is unweighted: the validation loss is lm_evaluate's */
    float ev = NAN;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, &ev, NULL));
    CHECKF(ev == e.val_loss, "val loss %.9g, lm_evaluate %.9g", e.val_loss, ev);
    if (val_loss) *val_loss = e.val_loss;
    if (train_loss) *train_loss = e.train_loss;
    lm_net_free(net);
}

/* Weights of 1 are no weights, to the bit (the fast path without them is
 * the one every other test checks); other weights change the result. */
static void unit_weights_are_unweighted(void)
{
    float a[64], b[64], c[64];
    const float ones[3] = {1, 1, 1}, cw[3] = {0.2f, 1, 5};
    fit_params(NULL, 0, 3, a, NULL, NULL);
    fit_params(ones, 3, 3, b, NULL, NULL);
    fit_params(cw, 3, 3, c, NULL, NULL);
    size_t np = (size_t)NX * 3 + 3;
    CHECK(memcmp(a, b, np * sizeof *a) == 0);
    CHECK(memcmp(a, c, np * sizeof *a) != 0);
    const float twos[2] = {1, 1};
    fit_params(NULL, 0, 1, a, NULL, NULL);
    fit_params(twos, 2, 1, b, NULL, NULL);
    CHECK(memcmp(a, b, (NX + 1) * sizeof *a) == 0);
}

/* The trainer copies the weights: the caller's array may change or go. */
static void weights_are_copied(void)
{
    make_data(3);
    lm_net *net = make_net(3);
    float *cw = malloc(3 * sizeof *cw);
    cw[0] = 0.5f, cw[1] = 2, cw[2] = 1;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = ROWS;
    o.class_weights = cw;
    o.n_class_weights = 3;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float before = NAN, after = NAN;
    CHECK_OK(lm_train_loss_grad(t, X, NULL, LAB, ROWS, &before));
    cw[0] = cw[1] = cw[2] = 100;
    free(cw);
    CHECK_OK(lm_train_loss_grad(t, X, NULL, LAB, ROWS, &after));
    CHECK(before == after);
    lm_train_free(t);
    lm_net_free(net);
}

static lm_status try_opts(lm_net *net, lm_loss loss, const float *cw, int n)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = loss;
    o.class_weights = cw;
    o.n_class_weights = n;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t = NULL;
    lm_status st = lm_train_new(&t, net, &o, &rng);
    lm_train_free(t);
    return st;
}

#define REFUSED(call, text)                                                                  \
    do {                                                                                     \
        lm_status s_ = (call);                                                               \
        CHECKF(s_ == LM_EINVAL && strstr(lm_errmsg(), text), "%s -> %s: '%s' (wanted '%s')", \
               #call, lm_status_name(s_), lm_errmsg(), text);                                \
    } while (0)

static void misuse_refused(void)
{
    lm_net *net = make_net(3), *bin = make_net(1);
    const float ok[3] = {1, 2, 3}, neg[3] = {1, -0.5f, 1}, zero[3] = {0, 0, 0};
    const float nan_[3] = {1, NAN, 1}, inf[3] = {INFINITY, 1, 1};
    REFUSED(try_opts(net, LM_LOSS_MSE, ok, 3), "classification loss");
    REFUSED(try_opts(net, LM_LOSS_SSE, ok, 3), "not sse");
    REFUSED(try_opts(net, LM_LOSS_CE, ok, 2), "2 class weights for 3 classes");
    REFUSED(try_opts(net, LM_LOSS_CE, ok, 0), "0 class weights for 3 classes");
    REFUSED(try_opts(bin, LM_LOSS_CE, ok, 1), "classes 0 and 1");
    REFUSED(try_opts(net, LM_LOSS_CE, NULL, 3), "class_weights is NULL");
    REFUSED(try_opts(net, LM_LOSS_CE, neg, 3), "class weight 1 is -0.5");
    REFUSED(try_opts(net, LM_LOSS_CE, nan_, 3), "finite");
    REFUSED(try_opts(net, LM_LOSS_CE, inf, 3), "class weight 0 is inf");
    REFUSED(try_opts(net, LM_LOSS_CE, zero, 3), "all 0");
    CHECK_OK(try_opts(net, LM_LOSS_CE, ok, 3));
    CHECK_OK(try_opts(net, LM_LOSS_BCE, ok, 3));
    CHECK_OK(try_opts(bin, LM_LOSS_BCE, ok, 2));

    /* targets as y: the weights need labels */
    make_data(3);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = ROWS;
    o.class_weights = ok;
    o.n_class_weights = 3;
    float y[ROWS * 3] = {0};
    for (int r = 0; r < ROWS; r++) y[r * 3 + LAB[r]] = 1;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float before[64];
    memcpy(before, lm_net_params(net), lm_net_n_params(net) * sizeof(float));
    REFUSED(lm_train_step(t, X, y, NULL, ROWS, NULL), "lm_train_step: class weights need targets as labels");
    lm_data dy = {.n = ROWS, .nx = NX, .x = X, .ny = 3, .y = y};
    REFUSED(lm_train_epoch(t, &dy, NULL), "training set's targets as labels");
    CHECK(memcmp(before, lm_net_params(net), lm_net_n_params(net) * sizeof(float)) == 0);
    lm_train_free(t);
    REFUSED(lm_fit(net, &dy, &o, &rng), "as labels");
    lm_net_free(net);
    lm_net_free(bin);
}

int main(void)
{
    RUN(weighted_softmax_matches_reference);
    RUN(weighted_binary_matches_reference);
    RUN(weighted_sharded_batch_matches_reference);
    RUN(unit_weights_are_unweighted);
    RUN(weights_are_copied);
    RUN(misuse_refused);
    TEST_MAIN_END();
}
