/* test_cnn_layers.c - the conv2d, maxpool2d, avgpool2d and global_avgpool
 * kinds through the net: every parameter's gradient (lm_train_loss_grad)
 * against central finite differences of the loss, in nets where each kind
 * also passes gradients back to an earlier layer; shapes reported per
 * layer; bad specs refused with a message naming the layer and shapes;
 * the same bits on 1, 2 and 3 threads; a model file round trip. Batch
 * norm and dropout join them in the gradient checks. */
#include "harness.h"

#include <lamina.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

/* A layer of a test net. */
typedef struct spec {
    lm_layer_kind kind;
    int units, kh, kw, stride, pad;
    lm_act act;
    int bias;
} spec;

#define CONV(f, kh, kw, s, p, act, b) {LM_LAYER_CONV2D, f, kh, kw, s, p, act, b}
#define MAXP(k, s) {LM_LAYER_MAXPOOL2D, 0, k, k, s, 0, LM_IDENTITY, 0}
#define AVGP(k, s) {LM_LAYER_AVGPOOL2D, 0, k, k, s, 0, LM_IDENTITY, 0}
#define GAVG {LM_LAYER_GLOBAL_AVGPOOL, 0, 0, 0, 0, 0, LM_IDENTITY, 0}
#define DENSE(n, act, b) {LM_LAYER_DENSE, n, 0, 0, 0, 0, act, b}
#define DROP(pct) {LM_LAYER_DROPOUT, pct, 0, 0, 0, 0, LM_IDENTITY, 0}
#define BN {LM_LAYER_BATCHNORM, 0, 0, 0, 0, 0, LM_IDENTITY, 0}

typedef struct netcase {
    const char *name;
    int c, h, w;
    int n_layers;
    spec layers[8];
    lm_loss loss;
    int has_max; /* max pooling: a step of h may cross a tie, see grad_case */
} netcase;

static lm_status add_layer(lm_net *net, const spec *s)
{
    int flags = s->bias ? LM_BIAS : LM_NO_BIAS;
    switch (s->kind) {
    case LM_LAYER_CONV2D:
        return lm_net_add_conv2d(net, s->units, s->kh, s->kw, s->stride, s->pad, s->act, flags);
    case LM_LAYER_MAXPOOL2D: return lm_net_add_maxpool2d(net, s->kh, s->stride);
    case LM_LAYER_AVGPOOL2D: return lm_net_add_avgpool2d(net, s->kh, s->stride);
    case LM_LAYER_GLOBAL_AVGPOOL: return lm_net_add_global_avgpool(net);
    case LM_LAYER_DROPOUT: return lm_net_add_dropout(net, (float)s->units / 100);
    case LM_LAYER_BATCHNORM: return lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    default: return lm_net_add_dense(net, s->units, s->act, flags);
    }
}

static lm_net *build(const netcase *c, uint64_t seed)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(seed);
    CHECK_OK(lm_net_new(&net, c->c * c->h * c->w));
    CHECK_OK(lm_net_set_input_shape(net, c->c, c->h, c->w));
    for (int l = 0; l < c->n_layers; l++) CHECK_OK(add_layer(net, &c->layers[l]));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    /* non-zero biases so the bias path matters */
    float *p = lm_net_params(net);
    for (size_t i = 0; i < lm_net_n_params(net); i++)
        if (p[i] == 0.0f) p[i] = 0.5f * (lm_rng_uniform(&rng) - 0.5f);
    return net;
}

static const netcase CASES[] = {
    {"conv-max-conv-dense", 2, 7, 6, 4,
     {CONV(3, 3, 3, 1, LM_PAD_SAME, LM_TANH, 1), MAXP(2, 2),
      CONV(4, 2, 2, 1, LM_PAD_VALID, LM_LEAKY_RELU, 0), DENSE(3, LM_SOFTMAX, 1)},
     LM_LOSS_CE, 1},
    {"conv-s2-avg-conv1x1-gavg", 1, 9, 8, 5,
     {CONV(3, 3, 3, 2, 1, LM_SIGMOID, 1), AVGP(2, 1), CONV(2, 1, 1, 1, 0, LM_IDENTITY, 1), GAVG,
      DENSE(2, LM_IDENTITY, 1)},
     LM_LOSS_MSE, 0},
    {"conv-rect-avg-1x1same", 3, 5, 5, 4,
     {CONV(2, 3, 2, 1, LM_PAD_VALID, LM_TANH, 1), AVGP(2, 2), CONV(3, 1, 1, 1, LM_PAD_SAME, LM_IDENTITY, 0),
      DENSE(2, LM_IDENTITY, 0)},
     LM_LOSS_MSE, 0},
    {"conv-s2-same-max-s1", 4, 7, 7, 4,
     {CONV(3, 3, 3, 2, LM_PAD_SAME, LM_TANH, 1), MAXP(2, 1), GAVG, DENSE(3, LM_SOFTMAX, 1)},
     LM_LOSS_CE, 1},
    /* the second conv (3x3, stride 1, 8 channels in and out) runs Winograd
     * (src/kernels/winograd.c): odd width, a tile past the edge */
    {"conv-winograd", 2, 6, 5, 3,
     {CONV(8, 3, 3, 1, LM_PAD_SAME, LM_TANH, 1), CONV(8, 3, 3, 1, 1, LM_TANH, 1),
      DENSE(3, LM_SOFTMAX, 1)},
     LM_LOSS_CE, 0},
    /* batch norm and dropout among the spatial kinds: after a padded
     * stride-2 conv, before overlapping max pooling; batch norm first (no
     * input gradient), between a 'same' even conv and average pooling,
     * after a dense layer; and at one row, where a channel's statistics
     * are over the H*W positions alone */
    {"conv-s2-pad1-bn-drop-max", 2, 7, 6, 5,
     {CONV(4, 3, 3, 2, 1, LM_TANH, 1), BN, DROP(30), MAXP(2, 1), DENSE(3, LM_SOFTMAX, 1)},
     LM_LOSS_CE, 1},
    {"bn-conv-avg-bn-dense-bn", 3, 6, 5, 7,
     {BN, CONV(3, 2, 2, 1, LM_PAD_SAME, LM_SIGMOID, 0), AVGP(2, 1), BN, DENSE(4, LM_TANH, 1), BN,
      DENSE(2, LM_IDENTITY, 1)},
     LM_LOSS_MSE, 0},
};
#define N_CASES (int)(sizeof CASES / sizeof CASES[0])
/* run at one row (before batch norm, gap would give beta alone there) */
static const netcase ONE_ROW = {"drop-conv-bn-dense-1row", 1, 5, 5, 4,
                                {DROP(20), CONV(3, 3, 3, 1, 1, LM_TANH, 1), BN, DENSE(2, LM_IDENTITY, 1)},
                                LM_LOSS_MSE, 0};

/* Every parameter's analytic gradient against (L(p+h) - L(p-h)) / 2h.
 * Nets with max pooling may have a window whose two largest inputs lie
 * within a step of each other, where the difference quotient is wrong,
 * so they may miss on at most 1% of the parameters. */
static void grad_case(const netcase *c, uint64_t seed, size_t B)
{
    lm_net *net = build(c, seed);
    if (!net) return;
    lm_rng rng = lm_rng_seed(seed + 1);
    int n_in = lm_net_n_in(net), n_out = lm_net_n_out(net);
    float *x = malloc(B * n_in * sizeof *x), *y = malloc(B * n_out * sizeof *y);
    int32_t lab[5] = {0};
    for (size_t i = 0; i < B * (size_t)n_in; i++) x[i] = 2 * lm_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < B * (size_t)n_out; i++) y[i] = 2 * lm_rng_uniform(&rng) - 1;
    for (size_t r = 0; r < B; r++) lab[r] = (int32_t)lm_rng_below(&rng, (uint64_t)n_out);
    int ce = c->loss == LM_LOSS_CE;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = c->loss;
    o.batch = B;
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    size_t np = lm_net_n_params(net);
    float *p = lm_net_params(net), *ana = malloc(np * sizeof *ana), loss, lp, lm_;
    CHECK_OK(lm_train_loss_grad(t, x, ce ? NULL : y, ce ? lab : NULL, B, &loss));
    memcpy(ana, lm_net_grads(net), np * sizeof *ana);
    const float h = 1e-3f;
    int bad = 0, nonzero = 0;
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < np; i++) {
        float keep = p[i];
        p[i] = keep + h;
        lm_train_loss_grad(t, x, ce ? NULL : y, ce ? lab : NULL, B, &lp);
        p[i] = keep - h;
        lm_train_loss_grad(t, x, ce ? NULL : y, ce ? lab : NULL, B, &lm_);
        p[i] = keep;
        double num = ((double)lp - lm_) / (2.0 * h);
        double err = fabs(num - ana[i]) / (2e-3 + 2e-2 * fabs(num));
        if (err > worst) worst = err, worst_i = i;
        if (err > 1) bad++;
        if (fabs(ana[i]) > 1e-4) nonzero++;
    }
    size_t allowed = c->has_max ? np / 100 : 0;
    CHECKF((size_t)bad <= allowed, "%s: %d of %zu gradients differ; worst param %zu analytic %g (ratio %.2f)",
           c->name, bad, np, worst_i, ana[worst_i], worst);
    /* the guard: a backward writing zeros must not pass */
    CHECKF(nonzero * 3 > (int)np * 2, "%s: only %d of %zu gradients clearly non-zero", c->name,
           nonzero, np);
    free(x), free(y), free(ana);
    lm_train_free(t);
    lm_net_free(net);
}

static void grad_every_kind(void)
{
    for (int i = 0; i < N_CASES; i++) grad_case(&CASES[i], 40 + (uint64_t)i, 5);
    grad_case(&ONE_ROW, 60, 1);
}

/* Shapes and parameter counts as lm_net_layer_desc reports them. */
static void shapes_reported(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 784));
    CHECK_OK(lm_net_set_input_shape(net, 1, 28, 28));
    CHECK_OK(lm_net_add_conv2d(net, 32, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_maxpool2d(net, 2, 2));
    CHECK_OK(lm_net_add_conv2d(net, 64, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_maxpool2d(net, 2, 2));
    CHECK_OK(lm_net_add_conv2d(net, 8, 3, 3, 2, LM_PAD_VALID, LM_RELU, LM_NO_BIAS));
    CHECK_OK(lm_net_add_avgpool2d(net, 2, 1));
    CHECK_OK(lm_net_add_global_avgpool(net));
    CHECK_OK(lm_net_add_dense(net, 10, LM_SOFTMAX, LM_BIAS));
    const int want[][7] = {/* out c, h, w, params, in c, h, w */
                           {32, 28, 28, 320, 1, 28, 28},  {32, 14, 14, 0, 32, 28, 28},
                           {64, 14, 14, 18496, 32, 14, 14}, {64, 7, 7, 0, 64, 14, 14},
                           {8, 3, 3, 4608, 64, 7, 7},     {8, 2, 2, 0, 8, 3, 3},
                           {8, 1, 1, 0, 8, 2, 2},         {10, 1, 1, 90, 8, 1, 1}};
    for (int l = 0; l < 8; l++) {
        lm_layer_desc li = {.size = sizeof li};
        CHECK_OK(lm_net_layer_desc(net, l, &li));
        CHECKF(li.out_c == want[l][0] && li.out_h == want[l][1] && li.out_w == want[l][2] &&
                   li.n_params == (size_t)want[l][3] && li.in_c == want[l][4] &&
                   li.in_h == want[l][5] && li.in_w == want[l][6],
               "layer %d: (%d, %d, %d) %zu params from (%d, %d, %d)", l, li.out_c, li.out_h,
               li.out_w, li.n_params, li.in_c, li.in_h, li.in_w);
    }
    CHECK(lm_net_n_params(net) == 320 + 18496 + 4608 + 90);
    /* lm_net_layer's offsets for a conv2d: W first, the bias its last
     * `filters` values ((size_t)-1 only without one; it was -1 with one) */
    const size_t at[][2] = {{0, 288}, {320, 320 + 18432}, {320 + 18496, (size_t)-1}};
    const int conv[3] = {0, 2, 4};
    for (int k = 0; k < 3; k++) {
        lm_layer_info f;
        CHECK_OK(lm_net_layer(net, conv[k], &f));
        CHECKF(f.w_offset == at[k][0] && f.b_offset == at[k][1] && f.has_bias == (k < 2),
               "conv layer %d: W at %zu, b at %zu (bias %d)", conv[k], f.w_offset, f.b_offset, f.has_bias);
    }
    lm_net_free(net);
}

/* Adds one layer after an input of shape (c, h, w) and expects LM_EINVAL
 * with every needle in the message. */
static void expect_refused(int c, int h, int w, const spec *s, const char *n1, const char *n2,
                           const char *n3)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, c * h * w));
    CHECK_OK(lm_net_set_input_shape(net, c, h, w));
    lm_status st = add_layer(net, s);
    const char *m = lm_errmsg();
    CHECKF(st == LM_EINVAL && strstr(m, n1) && strstr(m, n2) && (!n3 || strstr(m, n3)),
           "status %s, message '%s' (wanted %s, %s, %s)", lm_status_name(st), m, n1, n2,
           n3 ? n3 : "");
    CHECK(lm_net_n_layers(net) == 0 && lm_net_n_params(net) == 0);
    lm_net_free(net);
}

static void bad_specs_refused(void)
{
    /* kernel larger than its input */
    spec big = CONV(2, 5, 5, 1, LM_PAD_VALID, LM_RELU, 1);
    expect_refused(1, 4, 4, &big, "layer 1 (conv2d)", "5x5", "(1, 4, 4)");
    spec tall = CONV(2, 3, 1, 1, LM_PAD_VALID, LM_RELU, 1);
    expect_refused(3, 2, 9, &tall, "layer 1 (conv2d)", "3x1", "(3, 2, 9)");
    spec mp = MAXP(3, 1);
    expect_refused(4, 2, 2, &mp, "layer 1 (maxpool2d)", "3x3", "(4, 2, 2)");
    spec ap = AVGP(2, 2);
    expect_refused(5, 1, 1, &ap, "layer 1 (avgpool2d)", "2x2", "(5, 1, 1)");
    /* settings out of range */
    spec nof = CONV(0, 3, 3, 1, LM_PAD_SAME, LM_RELU, 1);
    expect_refused(1, 4, 4, &nof, "layer 1 (conv2d)", "0 filters", NULL);
    spec s0 = CONV(2, 3, 3, 0, LM_PAD_SAME, LM_RELU, 1);
    expect_refused(1, 4, 4, &s0, "layer 1 (conv2d)", "stride 0", NULL);
    spec k0 = CONV(2, 0, 3, 1, LM_PAD_SAME, LM_RELU, 1);
    expect_refused(1, 4, 4, &k0, "layer 1 (conv2d)", "0x3", NULL);
    spec pbig = CONV(2, 3, 3, 1, 3, LM_RELU, 1);
    expect_refused(1, 4, 4, &pbig, "layer 1 (conv2d)", "padding 3", NULL);
    spec pbad = CONV(2, 3, 3, 1, -7, LM_RELU, 1);
    expect_refused(1, 4, 4, &pbad, "layer 1 (conv2d)", "padding -7", NULL);
    spec sm = CONV(2, 3, 3, 1, LM_PAD_SAME, LM_SOFTMAX, 1);
    expect_refused(1, 4, 4, &sm, "layer 1 (conv2d)", "softmax", NULL);
    spec ps0 = MAXP(2, 0);
    expect_refused(1, 4, 4, &ps0, "layer 1 (maxpool2d)", "stride 0", NULL);
    /* the second layer's input is the first's output: a pool that shrinks
     * a (2, 3, 3) map to (2, 1, 1) leaves no room for a 2x2 kernel */
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 18));
    CHECK_OK(lm_net_set_input_shape(net, 2, 3, 3));
    CHECK_OK(lm_net_add_maxpool2d(net, 2, 2));
    lm_status st = lm_net_add_conv2d(net, 4, 2, 2, 1, LM_PAD_VALID, LM_RELU, LM_BIAS);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "layer 2 (conv2d)") &&
               strstr(lm_errmsg(), "(2, 1, 1)"),
           "'%s'", lm_errmsg());
    CHECK(lm_net_n_layers(net) == 1);
    lm_net_free(net);
}

/* A batch whose im2col matrix would pass the GEMM's int sizes is refused
 * when the trainer sizes its workspace, before any allocation, even with
 * the allocation limit lifted (which alone would let it through). */
static void workspace_too_large_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 1 << 20));
    CHECK_OK(lm_net_set_input_shape(net, 1, 1024, 1024));
    CHECK_OK(lm_net_add_conv2d(net, 1, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    lm_rng rng = lm_rng_seed(1);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = 256; /* 256 * 1024 * 1024 * 9 floats of im2col > INT_MAX */
    lm_train *t = NULL;
    uint64_t limit = lm_alloc_limit();
    lm_set_alloc_limit(UINT64_MAX);
    lm_status st = lm_train_new(&t, net, &o, &rng);
    lm_set_alloc_limit(limit);
    /* the message names the layer and its input */
    CHECKF(st == LM_ENOMEM && strstr(lm_errmsg(), "256 rows is too large") &&
               strstr(lm_errmsg(), "layer 1 (conv2d) on (1, 1024, 1024)") &&
               strstr(lm_errmsg(), "a smaller batch may fit"),
           "%s: %s", lm_status_name(st), lm_errmsg());
    lm_train_free(t);
    lm_net_free(net);
}

/* A layer whose parameters would pass the allocation limit is refused
 * naming it, its input and its count (it said only "parameters and
 * gradients: N x 4 bytes is over the allocation limit"), and the net
 * keeps its layers. */
static void too_many_params_named(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 64 * 64));
    CHECK_OK(lm_net_set_input_shape(net, 1, 64, 64));
    CHECK_OK(lm_net_add_conv2d(net, 64, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS));
    lm_status st = lm_net_add_dense(net, 100000, LM_RELU, LM_BIAS); /* 2.6e10 weights */
    CHECKF(st == LM_ENOMEM && strstr(lm_errmsg(), "layer 2 (dense) on (64, 64, 64), 26214500000 parameters") &&
               strstr(lm_errmsg(), "over the allocation limit"),
           "%s: %s", lm_status_name(st), lm_errmsg());
    CHECK(lm_net_n_layers(net) == 1 && lm_net_n_params(net) == 640);
    lm_net_free(net);
}

/* One training step's gradients and predictions are the same bits on 1,
 * 2 and 3 threads, at a batch big enough that the kernels split. */
static void threads_same_bits(void)
{
    static const netcase c = {"threads", 3, 15, 14, 5,
                              {CONV(16, 3, 3, 1, LM_PAD_SAME, LM_RELU, 1), MAXP(2, 2),
                               CONV(24, 3, 3, 1, LM_PAD_SAME, LM_RELU, 1), AVGP(2, 2),
                               DENSE(5, LM_SOFTMAX, 1)},
                              LM_LOSS_CE, 1};
    const size_t B = 24;
    float *ref = NULL, *pref = NULL;
    for (int th = 1; th <= 3; th++) {
        lm_net *net = build(&c, 9);
        if (!net) return;
        CHECK_OK(lm_net_set_threads(net, th));
        lm_rng rng = lm_rng_seed(3);
        int n_in = lm_net_n_in(net);
        float *x = malloc(B * n_in * sizeof *x), *pred = malloc(B * 5 * sizeof *pred), loss;
        int32_t lab[24];
        for (size_t i = 0; i < B * (size_t)n_in; i++) x[i] = 2 * lm_rng_uniform(&rng) - 1;
        for (size_t r = 0; r < B; r++) lab[r] = (int32_t)lm_rng_below(&rng, 5);
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        o.batch = B;
        lm_train *t;
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        CHECK_OK(lm_train_loss_grad(t, x, NULL, lab, B, &loss));
        CHECK_OK(lm_net_predict(net, x, B, pred));
        size_t np = lm_net_n_params(net);
        if (th == 1) {
            ref = malloc(np * sizeof *ref);
            pref = malloc(B * 5 * sizeof *pref);
            memcpy(ref, lm_net_grads(net), np * sizeof *ref);
            memcpy(pref, pred, B * 5 * sizeof *pref);
        } else {
            CHECKF(!memcmp(ref, lm_net_grads(net), np * sizeof *ref), "gradients differ on %d threads", th);
            CHECKF(!memcmp(pref, pred, B * 5 * sizeof *pref), "predictions differ on %d threads", th);
        }
        lm_train_free(t);
        lm_net_free(net);
        free(x), free(pred);
    }
    free(ref), free(pref);
}

/* Save and load keep every kind's settings, shapes and predictions. */
static void model_file_round_trip(void)
{
    static const netcase c = {"file", 2, 9, 8, 7,
                              {CONV(3, 3, 2, 2, LM_PAD_SAME, LM_RELU, 1), MAXP(2, 1),
                               CONV(4, 2, 2, 1, 1, LM_TANH, 0), AVGP(2, 2),
                               CONV(2, 1, 1, 1, LM_PAD_VALID, LM_IDENTITY, 1), GAVG,
                               DENSE(3, LM_SOFTMAX, 1)},
                              LM_LOSS_CE, 1};
    lm_net *a = build(&c, 5), *b = NULL;
    if (!a) return;
    char path[] = "/tmp/lamina_cnn_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK_OK(lm_net_save(a, path));
    CHECK_OK(lm_net_load(&b, path));
    unlink(path);
    if (!b) {
        lm_net_free(a);
        return;
    }
    CHECK(lm_net_n_layers(b) == 7 && lm_net_n_params(b) == lm_net_n_params(a));
    for (int l = 0; l < 7; l++) {
        lm_layer_desc x = {.size = sizeof x}, y = {.size = sizeof y};
        CHECK_OK(lm_net_layer_desc(a, l, &x));
        CHECK_OK(lm_net_layer_desc(b, l, &y));
        CHECKF(x.kind == y.kind && x.out_c == y.out_c && x.out_h == y.out_h && x.out_w == y.out_w &&
                   x.act == y.act && x.has_bias == y.has_bias && x.n_params == y.n_params &&
                   x.units == y.units && x.kh == y.kh && x.kw == y.kw && x.stride == y.stride &&
                   x.pad == y.pad,
               "layer %d differs after loading", l);
    }
    float x[3 * 144], ya[9], yb[9];
    lm_rng rng = lm_rng_seed(1);
    for (int i = 0; i < 3 * 144; i++) x[i] = lm_rng_uniform(&rng);
    CHECK_OK(lm_net_predict(a, x, 3, ya));
    CHECK_OK(lm_net_predict(b, x, 3, yb));
    CHECK(!memcmp(ya, yb, sizeof ya));
    lm_net_free(a);
    lm_net_free(b);
}

/* A pool record with a bad window: the message names the kind (it once
 * said "pooling" for both). ARCH version 2 (docs/FORMAT.md): its body at
 * 32 (n_in, C, H, W, n_layers), then per layer kind, n_words, the words
 * (size, stride for a pool) and the output's C, H, W: 28 bytes a pool. */
static void bad_pool_record_names_kind(void)
{
    lm_net *a = NULL, *b = NULL;
    CHECK_OK(lm_net_new(&a, 16));
    CHECK_OK(lm_net_set_input_shape(a, 1, 4, 4));
    CHECK_OK(lm_net_add_maxpool2d(a, 2, 2));
    CHECK_OK(lm_net_add_avgpool2d(a, 2, 2));
    CHECK_OK(lm_net_add_dense(a, 1, LM_IDENTITY, LM_BIAS));
    char path[] = "/tmp/lamina_pool_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK_OK(lm_net_save(a, path));
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    unlink(path);
    static const struct { size_t at; uint32_t kind; const char *name; } rec[] = {
        {52, 2, "layer 1 (maxpool2d): window 0 stride 2"},
        {80, 3, "layer 2 (avgpool2d): window 0 stride 2"},
    };
    for (int i = 0; i < 2; i++) {
        const unsigned char *k = buf + rec[i].at;
        CHECKF(len > 120 && k[0] == rec[i].kind && k[4] == 2, "record %d is not where expected", i);
        if (len <= 120) break;
        unsigned char w[4096];
        memcpy(w, buf, len);
        memset(w + rec[i].at + 8, 0, 4); /* window 0 */
        uLong crc = crc32(crc32(0L, Z_NULL, 0), w, (uInt)(len - 4));
        for (int j = 0; j < 4; j++) w[len - 4 + j] = (unsigned char)(crc >> (8 * j));
        CHECKF(lm_net_load_mem(&b, w, len) == LM_EFORMAT && strstr(lm_errmsg(), rec[i].name),
               "got: %s", lm_errmsg());
    }
    lm_net_free(a);
}

int main(void)
{
    RUN(grad_every_kind);
    RUN(shapes_reported);
    RUN(bad_specs_refused);
    RUN(workspace_too_large_refused);
    RUN(too_many_params_named);
    RUN(threads_same_bits);
    RUN(model_file_round_trip);
    RUN(bad_pool_record_names_kind);
    TEST_MAIN_END();
}
