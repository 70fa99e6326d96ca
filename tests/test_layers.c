/* test_layers.c - the layer interface: kind names, shapes reported per
 * layer, the input shape, the add functions' checks and messages, and a
 * net built through the kind table behaving as the dense layers did. */
#include "harness.h"

#include <lamina.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

/* The test's files go in a folder of its own (made in main), so that two
 * runs at once (make test in two checkouts, tools/valgrind.sh) do not
 * overwrite or remove each other's. */
static char g_dir[64];

/* g_dir/name in buf (one of a call's few paths). */
static const char *tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
    return buf;
}

/* Layer i's description (kind zero-filled on failure). */
static lm_layer_desc desc(const lm_net *net, int i)
{
    lm_layer_desc d = {.size = sizeof d};
    CHECK_OK(lm_net_layer_desc(net, i, &d));
    return d;
}

static void kind_names(void)
{
    static const char *const want[] = {"dense", "conv2d", "maxpool2d", "avgpool2d",
                                       "global_avgpool", "dropout", "batchnorm", "activation"};
    CHECK(LM_LAYER_KIND_COUNT == 8);
    for (int k = 0; k < LM_LAYER_KIND_COUNT; k++)
        CHECKF(strcmp(lm_layer_kind_name((lm_layer_kind)k), want[k]) == 0, "kind %d is %s", k,
               lm_layer_kind_name((lm_layer_kind)k));
    CHECK(strcmp(lm_layer_kind_name(LM_LAYER_KIND_COUNT), "?") == 0);
    CHECK(strcmp(lm_layer_kind_name((lm_layer_kind)-1), "?") == 0);
}

static void input_shape(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 784));
    CHECK(lm_net_set_input_shape(net, 1, 28, 27) == LM_EINVAL && strstr(lm_errmsg(), "(1, 28, 27)") &&
          strstr(lm_errmsg(), "784"));
    CHECK(lm_net_set_input_shape(net, 0, 28, 28) == LM_EINVAL);
    CHECK_OK(lm_net_set_input_shape(net, 1, 28, 28));
    CHECK_OK(lm_net_add_dense(net, 10, LM_SOFTMAX, LM_BIAS));
    lm_layer_info li;
    CHECK_OK(lm_net_layer(net, 0, &li));
    lm_layer_desc d = desc(net, 0);
    CHECK(d.kind == LM_LAYER_DENSE && d.in_c == 1 && d.in_h == 28 && d.in_w == 28 && d.units == 10);
    CHECK(d.out_c == 10 && d.out_h == 1 && d.out_w == 1 && li.n_in == 784 && li.n_out == 10);
    CHECK(d.n_params == 7850 && d.p_offset == 0 && li.w_offset == 0 && li.b_offset == 7840);
    /* a caller compiled with a shorter layout gets its fields only */
    lm_layer_desc small;
    memset(&small, 0x5a, sizeof small);
    small.size = offsetof(lm_layer_desc, in_c);
    CHECK_OK(lm_net_layer_desc(net, 0, &small));
    CHECK(small.size == offsetof(lm_layer_desc, in_c) && small.kind == LM_LAYER_DENSE && small.in_c == 0x5a5a5a5a);
    small.size = 4;
    CHECK(lm_net_layer_desc(net, 0, &small) == LM_EINVAL && strstr(lm_errmsg(), "size"));
    CHECK(lm_net_layer_desc(net, 1, &d) == LM_EINVAL);
    /* too late once a layer is there */
    CHECK(lm_net_set_input_shape(net, 784, 1, 1) == LM_EINVAL && strstr(lm_errmsg(), "before"));
    lm_net_free(net);
}

static void dense_info_offsets(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS));
    CHECK_OK(lm_net_add_dense(net, 2, LM_RELU, LM_BIAS));
    lm_layer_info a, b;
    CHECK_OK(lm_net_layer(net, 0, &a));
    CHECK_OK(lm_net_layer(net, 1, &b));
    lm_layer_desc da = desc(net, 0), db = desc(net, 1);
    CHECK(a.w_offset == 0 && a.b_offset == (size_t)-1 && da.n_params == 12 && !a.has_bias && !da.has_bias);
    CHECK(da.in_c == 3 && da.in_h == 1 && da.out_c == 4);
    CHECK(b.w_offset == 12 && b.b_offset == 20 && db.p_offset == 12 && db.n_params == 10 && db.in_c == 4 &&
          db.out_c == 2 && db.act == LM_RELU);
    CHECK(lm_net_n_params(net) == 22);
    lm_net_free(net);
}

/* Kinds whose rows are not in the table yet fail with a message naming
 * the layer and the kind, and leave the net as it was. */
static void unbuilt_kinds_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 16));
    CHECK_OK(lm_net_set_input_shape(net, 1, 4, 4));
    lm_status st = lm_net_add_conv2d(net, 2, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    if (st != LM_OK) CHECK(st == LM_EINVAL && strstr(lm_errmsg(), "layer 1") && strstr(lm_errmsg(), "conv2d"));
    lm_net_free(net);
    CHECK_OK(lm_net_new(&net, 16));
    CHECK(lm_net_add_dense(net, 0, LM_RELU, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 4, LM_ACT_COUNT, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 4, LM_RELU, 7) == LM_EINVAL);
    CHECK(lm_net_n_layers(net) == 0 && lm_net_n_params(net) == 0);
    lm_net_free(net);
    /* the new functions refuse a NULL net */
    CHECK(lm_net_set_input_shape(NULL, 1, 1, 1) == LM_EINVAL);
    CHECK(lm_net_add_dropout(NULL, 0.1f) == LM_EINVAL && lm_net_add_batchnorm(NULL, 0.1f, 1e-5f) == LM_EINVAL);
    CHECK(lm_net_add_conv2d(NULL, 1, 1, 1, 1, 0, LM_RELU, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_maxpool2d(NULL, 2, 2) == LM_EINVAL && lm_net_add_avgpool2d(NULL, 2, 2) == LM_EINVAL);
    CHECK(lm_net_add_global_avgpool(NULL) == LM_EINVAL);
    CHECK(lm_net_add_activation(NULL, LM_RELU) == LM_EINVAL);
    CHECK(lm_net_n_state(NULL) == 0 && lm_net_state(NULL) == NULL);
}

/* A clone goes through the table too: same layers, same parameters, same
 * predictions. */
static void clone_through_table(void)
{
    lm_net *a, *b = NULL;
    CHECK_OK(lm_net_new(&a, 6));
    CHECK_OK(lm_net_set_input_shape(a, 2, 1, 3));
    CHECK_OK(lm_net_add_dense(a, 5, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_dense(a, 3, LM_SOFTMAX, LM_NO_BIAS));
    lm_rng rng = lm_rng_seed(7);
    CHECK_OK(lm_net_init(a, LM_INIT_XAVIER, &rng));
    CHECK_OK(lm_net_clone(&b, a));
    if (!b) return;
    lm_layer_desc x = desc(b, 0);
    CHECK(x.in_c == 2 && x.in_h == 1 && x.in_w == 3);
    float in[12] = {1, -2, 3, 0.5f, 0, 1, 2, 2, -1, 0, 3, 1}, ya[6], yb[6];
    CHECK_OK(lm_net_predict(a, in, 2, ya));
    CHECK_OK(lm_net_predict(b, in, 2, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    lm_net_free(a);
    lm_net_free(b);
}


/* ------------------------------------------------ gradient checks */

/* Checks every parameter's gradient of net (built, not initialised)
 * against central finite differences of the MSE loss over batch rows, in
 * training mode (lm_train_loss_grad: the same step, so the same dropout
 * masks, every call). Returns how many gradients are clearly non-zero, -1
 * after a failure. */
static int fd_check(lm_net *net, size_t batch, uint64_t seed, const char *what)
{
    lm_rng rng = lm_rng_seed(seed);
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    size_t np = lm_net_n_params(net);
    float *p = lm_net_params(net);
    /* move gamma off 1 and beta and biases off 0, so every path matters */
    for (size_t i = 0; i < np; i++)
        if (p[i] == 0.0f || p[i] == 1.0f) p[i] += 0.5f * (lm_rng_uniform(&rng) - 0.5f);
    int nx = lm_net_n_in(net), ny = lm_net_n_out(net);
    float *x = malloc(batch * (size_t)nx * sizeof *x), *y = malloc(batch * (size_t)ny * sizeof *y);
    for (size_t i = 0; i < batch * (size_t)nx; i++) x[i] = 2 * lm_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < batch * (size_t)ny; i++) y[i] = 2 * lm_rng_uniform(&rng) - 1;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_SSE;
    o.batch = batch;
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float loss, lp, lmi;
    CHECK_OK(lm_train_loss_grad(t, x, y, NULL, batch, &loss));
    float *ana = malloc(np * sizeof *ana);
    memcpy(ana, lm_net_grads(net), np * sizeof *ana);
    int nonzero = 0, bad = 0;
    double worst = 0;
    size_t worst_i = 0;
    const float h = 1e-3f;
    for (size_t i = 0; i < np; i++) {
        float keep = p[i];
        p[i] = keep + h;
        lm_train_loss_grad(t, x, y, NULL, batch, &lp);
        p[i] = keep - h;
        lm_train_loss_grad(t, x, y, NULL, batch, &lmi);
        p[i] = keep;
        double num = ((double)lp - lmi) / (2.0 * h);
        double err = fabs(num - ana[i]) / (3e-3 + 2e-2 * fabs(num));
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
        if (err > 1) bad++;
        if (fabs(ana[i]) > 1e-4) nonzero++;
    }
    CHECKF(bad == 0, "%s: %d of %zu gradients differ; worst param %zu analytic %g (err ratio %.2f)", what,
           bad, np, worst_i, ana[worst_i], worst);
    free(ana);
    free(x);
    free(y);
    lm_train_free(t);
    return bad ? -1 : nonzero;
}

static void grad_dropout(void)
{
    for (int k = 0; k < 3; k++) {
        lm_net *net;
        CHECK_OK(lm_net_new(&net, 5));
        CHECK_OK(lm_net_add_dense(net, 8, LM_TANH, LM_BIAS));
        CHECK_OK(lm_net_add_dropout(net, k == 0 ? 0.0f : k == 1 ? 0.3f : 0.75f));
        CHECK_OK(lm_net_add_dense(net, 3, LM_IDENTITY, LM_BIAS));
        int nz = fd_check(net, 6, 40 + (uint64_t)k, "dropout");
        CHECKF(nz < 0 || nz > 20, "dropout %d: only %d clearly non-zero gradients", k, nz);
        lm_net_free(net);
    }
}

static void grad_batchnorm(void)
{
    /* after a dense layer (each unit a channel), then before a dense one */
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 4));
    CHECK_OK(lm_net_add_dense(net, 6, LM_IDENTITY, LM_NO_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 5, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.5f, 1e-3f));
    CHECK_OK(lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS));
    int nz = fd_check(net, 7, 51, "dense batchnorm");
    CHECKF(nz < 0 || nz > 40, "only %d clearly non-zero gradients", nz);
    lm_net_free(net);
    /* per channel of a (3, 2, 2) input: 4 positions a row, the last axis
     * the channel; two in a row so the first's input gradient is checked
     * through the second's */
    CHECK_OK(lm_net_new(&net, 12));
    CHECK_OK(lm_net_set_input_shape(net, 3, 2, 2));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SIGMOID, LM_BIAS));
    lm_layer_desc li = desc(net, 0);
    CHECK(li.kind == LM_LAYER_BATCHNORM && li.n_params == 6 && li.out_c == 3 && li.out_h == 2 && li.out_w == 2);
    CHECK(li.n_state == 6 && li.s_offset == 0 && desc(net, 1).s_offset == 6 && li.momentum == 0.1f);
    CHECK(lm_net_n_state(net) == 12);
    nz = fd_check(net, 3, 52, "spatial batchnorm");
    CHECKF(nz < 0 || nz > 20, "only %d clearly non-zero gradients", nz);
    lm_net_free(net);
}

static void grad_activation(void)
{
    /* dense -> batch norm -> activation, each elementwise kind, then a
     * spatial conv -> batch norm -> tanh (smooth: a relu's kink near a
     * batch-normalised zero would fool the differences; relu's conv
     * gradients are activation_same_bits_as_fused's) */
    static const lm_act acts[] = {LM_SIGMOID, LM_TANH, LM_RELU, LM_LEAKY_RELU};
    for (int k = 0; k < 4; k++) {
        lm_net *net;
        CHECK_OK(lm_net_new(&net, 4));
        CHECK_OK(lm_net_add_dense(net, 6, LM_IDENTITY, LM_BIAS));
        CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
        CHECK_OK(lm_net_add_activation(net, acts[k]));
        CHECK_OK(lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS));
        lm_layer_desc d = desc(net, 2);
        CHECK(d.kind == LM_LAYER_ACTIVATION && d.act == acts[k] && d.n_params == 0 && d.n_state == 0 &&
              d.out_c == 6 && d.out_h == 1 && d.out_w == 1);
        int nz = fd_check(net, 7, 60 + (uint64_t)k, lm_act_name(acts[k]));
        CHECKF(nz < 0 || nz > 20, "%s: only %d clearly non-zero gradients", lm_act_name(acts[k]), nz);
        lm_net_free(net);
    }
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 2 * 4 * 4));
    CHECK_OK(lm_net_set_input_shape(net, 2, 4, 4));
    CHECK_OK(lm_net_add_conv2d(net, 3, 3, 3, 1, LM_PAD_SAME, LM_IDENTITY, LM_NO_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_activation(net, LM_TANH));
    CHECK_OK(lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS));
    lm_layer_desc d = desc(net, 2);
    CHECK(d.out_c == 3 && d.out_h == 4 && d.out_w == 4);
    int nz = fd_check(net, 3, 64, "conv batchnorm tanh");
    CHECKF(nz < 0 || nz > 20, "only %d clearly non-zero gradients", nz);
    lm_net_free(net);
}

/* Net f has act fused on a layer, net s the same layer with identity and
 * a standalone act after it: the same parameters give the same bits,
 * outputs, loss and gradients. */
static void same_bits(lm_net *f, lm_net *s, lm_loss loss, size_t batch, const char *what)
{
    lm_rng r1 = lm_rng_seed(9), r2 = lm_rng_seed(9);
    CHECK_OK(lm_net_init(f, LM_INIT_XAVIER, &r1));
    CHECK_OK(lm_net_init(s, LM_INIT_XAVIER, &r2));
    size_t np = lm_net_n_params(f);
    CHECK(np == lm_net_n_params(s) && memcmp(lm_net_params(f), lm_net_params(s), np * sizeof(float)) == 0);
    int nx = lm_net_n_in(f), ny = lm_net_n_out(f);
    float *x = malloc(batch * (size_t)nx * sizeof *x), *y = calloc(batch * (size_t)ny, sizeof *y);
    float *pf = malloc(batch * (size_t)ny * sizeof *pf), *ps = malloc(batch * (size_t)ny * sizeof *ps);
    for (size_t i = 0; i < batch * (size_t)nx; i++) x[i] = 4 * lm_rng_uniform(&r1) - 2;
    for (size_t i = 0; i < batch; i++) y[i * (size_t)ny + i % (size_t)ny] = 1; /* one-hot, or 0/1 */
    CHECK_OK(lm_net_predict(f, x, batch, pf));
    CHECK_OK(lm_net_predict(s, x, batch, ps));
    CHECKF(memcmp(pf, ps, batch * (size_t)ny * sizeof *pf) == 0, "%s: predictions differ", what);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = loss;
    o.batch = batch;
    lm_train *tf = NULL, *ts = NULL;
    CHECK_OK(lm_train_new(&tf, f, &o, &r1));
    CHECK_OK(lm_train_new(&ts, s, &o, &r2));
    float lf = 0, ls = 1;
    if (tf && ts) {
        CHECK_OK(lm_train_loss_grad(tf, x, y, NULL, batch, &lf));
        CHECK_OK(lm_train_loss_grad(ts, x, y, NULL, batch, &ls));
    }
    CHECKF(memcmp(&lf, &ls, sizeof lf) == 0, "%s: loss %.9g vs %.9g", what, (double)lf, (double)ls);
    CHECKF(memcmp(lm_net_grads(f), lm_net_grads(s), np * sizeof(float)) == 0, "%s: gradients differ", what);
    lm_train_free(tf);
    lm_train_free(ts);
    free(x);
    free(y);
    free(pf);
    free(ps);
}

static void activation_same_bits_as_fused(void)
{
    static const lm_act acts[] = {LM_SIGMOID, LM_TANH, LM_RELU, LM_LEAKY_RELU};
    char what[64];
    for (int k = 0; k < 4; k++) {
        /* 12 units: the fused net takes the small-net path; 40: the general one */
        for (int wide = 0; wide < 2; wide++) {
            int units = wide ? 40 : 12;
            lm_net *f, *s;
            CHECK_OK(lm_net_new(&f, 5));
            CHECK_OK(lm_net_new(&s, 5));
            CHECK_OK(lm_net_add_dense(f, units, acts[k], LM_BIAS));
            CHECK_OK(lm_net_add_dense(s, units, LM_IDENTITY, LM_BIAS));
            CHECK_OK(lm_net_add_activation(s, acts[k]));
            CHECK_OK(lm_net_add_dense(f, 3, LM_SOFTMAX, LM_BIAS));
            CHECK_OK(lm_net_add_dense(s, 3, LM_SOFTMAX, LM_BIAS));
            snprintf(what, sizeof what, "dense %d:%s", units, lm_act_name(acts[k]));
            same_bits(f, s, LM_LOSS_CE, 37, what);
            lm_net_free(f);
            lm_net_free(s);
        }
        /* conv (im2col and Winograd 3x3) */
        for (int wino = 0; wino < 2; wino++) {
            lm_net *f, *s;
            int kk = wino ? 3 : 2;
            CHECK_OK(lm_net_new(&f, 3 * 8 * 8));
            CHECK_OK(lm_net_new(&s, 3 * 8 * 8));
            CHECK_OK(lm_net_set_input_shape(f, 3, 8, 8));
            CHECK_OK(lm_net_set_input_shape(s, 3, 8, 8));
            CHECK_OK(lm_net_add_conv2d(f, 8, kk, kk, 1, LM_PAD_SAME, acts[k], LM_BIAS));
            CHECK_OK(lm_net_add_conv2d(s, 8, kk, kk, 1, LM_PAD_SAME, LM_IDENTITY, LM_BIAS));
            CHECK_OK(lm_net_add_activation(s, acts[k]));
            CHECK_OK(lm_net_add_dense(f, 4, LM_SOFTMAX, LM_BIAS));
            CHECK_OK(lm_net_add_dense(s, 4, LM_SOFTMAX, LM_BIAS));
            snprintf(what, sizeof what, "conv %dx%d:%s", kk, kk, lm_act_name(acts[k]));
            same_bits(f, s, LM_LOSS_CE, 9, what);
            lm_net_free(f);
            lm_net_free(s);
        }
    }
    /* a net ending in a standalone sigmoid is a sigmoid output: BCE (and
     * CE over one output) fuse with it as with 1:sigmoid */
    for (int ce = 0; ce < 2; ce++) {
        lm_net *f, *s;
        CHECK_OK(lm_net_new(&f, 5));
        CHECK_OK(lm_net_new(&s, 5));
        CHECK_OK(lm_net_add_dense(f, 20, LM_TANH, LM_BIAS));
        CHECK_OK(lm_net_add_dense(s, 20, LM_TANH, LM_BIAS));
        CHECK_OK(lm_net_add_dense(f, 1, LM_SIGMOID, LM_BIAS));
        CHECK_OK(lm_net_add_dense(s, 1, LM_IDENTITY, LM_BIAS));
        CHECK_OK(lm_net_add_activation(s, LM_SIGMOID));
        same_bits(f, s, ce ? LM_LOSS_CE : LM_LOSS_BCE, 23, ce ? "sigmoid last, ce" : "sigmoid last, bce");
        lm_net_free(f);
        lm_net_free(s);
    }
    /* and a standalone relu last is no probability: BCE is refused, as
     * after 1:relu */
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 5));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_add_activation(net, LM_RELU));
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_BCE;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t = NULL;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
    lm_train_free(t);
    lm_net_free(net);
}

static unsigned char *slurp(const char *path, size_t *len);

/* Softmax and identity are refused as standalone layers, saying why; a
 * file holding them, or an unknown activation, is refused by the reader
 * (the CRC rewritten, so that the record's check is the one reached). */
static void activation_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 4));
    CHECK_OK(lm_net_add_dense(net, 3, LM_IDENTITY, LM_BIAS));
    CHECKF(lm_net_add_activation(net, LM_SOFTMAX) == LM_EINVAL &&
               strstr(lm_errmsg(), "layer 2 (activation) on (3, 1, 1): softmax") &&
               strstr(lm_errmsg(), "last dense layer"), "%s", lm_errmsg());
    CHECKF(lm_net_add_activation(net, LM_IDENTITY) == LM_EINVAL &&
               strstr(lm_errmsg(), "layer 2 (activation)") && strstr(lm_errmsg(), "identity"), "%s", lm_errmsg());
    CHECK(lm_net_add_activation(net, LM_ACT_COUNT) == LM_EINVAL);
    CHECK(lm_net_add_activation(net, (lm_act)-1) == LM_EINVAL);
    CHECK(lm_net_n_layers(net) == 1);
    /* a file: the kind's record is its number (7), one word, the act */
    CHECK_OK(lm_net_add_activation(net, LM_TANH));
    char pb[128];
    const char *p = tmp_path(pb, sizeof pb, "act.lmn");
    CHECK_OK(lm_net_save(net, p));
    lm_net *b = NULL;
    CHECK_OK(lm_net_load(&b, p));
    CHECK(b && lm_net_n_layers(b) == 2 && desc(b, 1).kind == LM_LAYER_ACTIVATION && desc(b, 1).act == LM_TANH);
    lm_net_free(b);
    size_t len;
    unsigned char *buf = slurp(p, &len);
    static const unsigned char rec[12] = {7, 0, 0, 0, 1, 0, 0, 0, LM_TANH, 0, 0, 0};
    size_t at = 0;
    int found = 0;
    for (size_t i = 0; buf && i + sizeof rec <= len; i++)
        if (memcmp(buf + i, rec, sizeof rec) == 0) at = i, found++;
    CHECK(found == 1);
    static const unsigned char bad[] = {LM_IDENTITY, LM_SOFTMAX, LM_ACT_COUNT, 200};
    for (size_t k = 0; found == 1 && k < sizeof bad; k++) {
        buf[at + 8] = bad[k];
        uLong crc = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
        for (int i = 0; i < 4; i++) buf[len - 4 + i] = (unsigned char)(crc >> (8 * i));
        b = NULL;
        CHECKF(lm_net_load_mem(&b, buf, len) == LM_EFORMAT && !b && strstr(lm_errmsg(), "layer 2 (activation)"),
               "activation %u: %s", bad[k], lm_errmsg());
        lm_net_free(b);
    }
    free(buf);
    remove(p);
    lm_net_free(net);
}

/* ---------------------------------------- training versus inference */

/* The weight gradient of dense(N -> 1) after dropout on ones is the mask
 * times the output gradient: it shows which values were dropped. */
static void dropout_masks(void)
{
    enum { N = 2000 };
    lm_net *net;
    CHECK_OK(lm_net_new(&net, N));
    CHECK_OK(lm_net_add_dropout(net, 0.3f));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_NO_BIAS));
    float *w = lm_net_params(net), *x = malloc(N * sizeof *x), y = 5, yhat, g0[N], g1[N];
    for (int i = 0; i < N; i++) w[i] = x[i] = 1;
    /* inference: the identity, so the output is the plain sum */
    CHECK_OK(lm_net_predict(net, x, 1, &yhat));
    CHECK(yhat == (float)N);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_SSE;
    o.batch = 1;
    lm_rng rng = lm_rng_seed(3);
    lm_train *t;
    float loss;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK_OK(lm_train_loss_grad(t, x, &y, NULL, 1, &loss));
    memcpy(g0, lm_net_grads(net), sizeof g0);
    int dropped = 0;
    float kept = 0;
    for (int i = 0; i < N; i++) {
        if (g0[i] == 0) dropped++;
        else if (kept == 0) kept = g0[i];
        else CHECK(g0[i] == kept);
    }
    CHECKF(dropped > N * 0.25 && dropped < N * 0.35, "%d of %d dropped at rate 0.3", dropped, N);
    /* the kept ones are scaled by 1/(1 - rate): the output is their sum */
    float scaled = (float)(N - dropped) / 0.7f, dz = 2 * (scaled - y);
    CHECKF(fabsf(kept - dz / 0.7f) < 1e-2f * fabsf(kept), "kept gradient %g, expected %g", kept, dz / 0.7f);
    /* the same step draws the same mask, whatever the thread count (a
     * trainer fixes the count: a second one from the same RNG) */
    lm_train_free(t);
    CHECK_OK(lm_net_set_threads(net, 2));
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK_OK(lm_train_loss_grad(t, x, &y, NULL, 1, &loss));
    CHECK(memcmp(g0, lm_net_grads(net), sizeof g0) == 0);
    /* the next step another */
    CHECK_OK(lm_train_step(t, x, &y, NULL, 1, &loss));
    for (int i = 0; i < N; i++) w[i] = 1;
    CHECK_OK(lm_train_loss_grad(t, x, &y, NULL, 1, &loss));
    memcpy(g1, lm_net_grads(net), sizeof g1);
    int differ = 0;
    for (int i = 0; i < N; i++) differ += (g0[i] == 0) != (g1[i] == 0);
    CHECKF(differ > N / 5, "only %d of %d mask values changed between steps", differ, N);
    lm_train_free(t);
    free(x);
    lm_net_free(net);
}

/* Training normalises with the batch's statistics and moves the running
 * ones by momentum; inference uses the running ones. */
static void batchnorm_modes(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_batchnorm(net, 0.25f, 1e-3f));
    float *st = lm_net_state(net), *p = lm_net_params(net);
    CHECK(lm_net_n_state(net) == 4 && st[0] == 0 && st[1] == 0 && st[2] == 1 && st[3] == 1);
    CHECK(lm_net_n_params(net) == 4 && p[0] == 1 && p[1] == 1 && p[2] == 0 && p[3] == 0);
    p[0] = 2; p[1] = 0.5f; p[2] = 1; p[3] = -1; /* gamma, beta */
    st[0] = 1; st[1] = -2; st[2] = 4; st[3] = 0.25f; /* running mean, variance */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    CHECK_OK(lm_net_predict(net, x, 4, y));
    for (int r = 0; r < 4; r++) {
        float e0 = 2 * (x[2 * r] - 1) / sqrtf(4 + 1e-3f) + 1, e1 = 0.5f * (x[2 * r + 1] + 2) / sqrtf(0.25f + 1e-3f) - 1;
        CHECKF(fabsf(y[2 * r] - e0) < 1e-5f * fabsf(e0) + 1e-6f && fabsf(y[2 * r + 1] - e1) < 1e-5f * fabsf(e1) + 1e-6f,
               "row %d: %g %g, expected %g %g", r, y[2 * r], y[2 * r + 1], e0, e1);
    }
    /* a training pass: column 0 is 1,3,5,7 (mean 4, unbiased var 20/3),
     * column 1 is 2,4,6,8 (mean 5, the same variance) */
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    float loss, tgt[8] = {0};
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK_OK(lm_train_loss_grad(t, x, tgt, NULL, 4, &loss));
    CHECKF(fabsf(st[0] - (0.75f * 1 + 0.25f * 4)) < 1e-6f && fabsf(st[1] - (0.75f * -2 + 0.25f * 5)) < 1e-6f,
           "running means %g %g", st[0], st[1]);
    CHECKF(fabsf(st[2] - (0.75f * 4 + 0.25f * 20 / 3.0f)) < 1e-5f &&
           fabsf(st[3] - (0.75f * 0.25f + 0.25f * 20 / 3.0f)) < 1e-5f, "running variances %g %g", st[2], st[3]);
    /* the batch's own statistics: the loss of gamma xhat + beta against 0 */
    double want = 0;
    for (int r = 0; r < 4; r++) {
        double xh = (x[2 * r] - 4) / sqrt(5 + 1e-3), yh = (x[2 * r + 1] - 5) / sqrt(5 + 1e-3);
        want += pow(2 * xh + 1, 2) + pow(0.5 * yh - 1, 2);
    }
    want /= 8; /* MSE over batch and outputs */
    CHECKF(fabs(loss - want) < 1e-5 * want, "training loss %g, expected %g", loss, want);
    lm_train_free(t);
    lm_net_free(net);
}

/* A training batch with one value per channel (one row after a dense
 * layer) has no variance: PyTorch refuses it. It used to count as
 * variance 0, so a last batch of one row (33 rows in batches of 32)
 * pulled the running variance toward 0 every epoch, to half the data's
 * after 100 epochs, and inference scaled by sqrt(2). It now leaves the
 * running statistics as they were; two rows move them. */
static void batchnorm_one_row_keeps_running_stats(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    float *st = lm_net_state(net);
    st[0] = 1; st[1] = -2; st[2] = 4; st[3] = 0.25f;
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 2;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    float x[4] = {3, 5, 7, 9}, tgt[4] = {0}, loss;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    CHECK_OK(lm_train_loss_grad(t, x, tgt, NULL, 1, &loss));
    CHECKF(st[0] == 1 && st[1] == -2 && st[2] == 4 && st[3] == 0.25f,
           "one row moved the running statistics to %g %g %g %g", st[0], st[1], st[2], st[3]);
    CHECK_OK(lm_train_loss_grad(t, x, tgt, NULL, 2, &loss));
    /* columns 3, 7 and 5, 9: means 5 and 7, unbiased variances 8 */
    CHECKF(fabsf(st[0] - (0.9f * 1 + 0.1f * 5)) < 1e-6f && fabsf(st[1] - (0.9f * -2 + 0.1f * 7)) < 1e-6f &&
               fabsf(st[2] - (0.9f * 4 + 0.1f * 8)) < 1e-5f && fabsf(st[3] - (0.9f * 0.25f + 0.1f * 8)) < 1e-5f,
           "two rows: running statistics %g %g %g %g", st[0], st[1], st[2], st[3]);
    lm_train_free(t);
    /* a whole fit whose last batch has one row keeps the data's variance */
    enum { N = 33 };
    lm_net *fit;
    CHECK_OK(lm_net_new(&fit, 1));
    CHECK_OK(lm_net_add_batchnorm(fit, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(fit, 1, LM_IDENTITY, LM_BIAS));
    float xs[N], ys[N] = {0};
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++) mean += xs[i] = 3 * lm_rng_normal(&rng) + 5;
    mean /= N;
    for (int i = 0; i < N; i++) var += (xs[i] - mean) * (xs[i] - mean);
    var /= N - 1;
    lm_data d = {.n = N, .nx = 1, .x = xs, .y = ys, .ny = 1};
    o.batch = 32;
    o.epochs = 100;
    o.optim.lr = 1e-9f;
    CHECK_OK(lm_fit(fit, &d, &o, &rng));
    float rv = lm_net_state(fit)[1];
    CHECKF(fabs(rv - var) < 0.25 * var, "running variance %g, the data's %g", rv, var);
    lm_net_free(fit);
    lm_net_free(net);
}

/* Batches of one row give a batch norm after a dense layer nothing to
 * normalise by at every step (its output is beta alone): the trainer is
 * refused, naming the layer, where it used to train a net whose inference
 * used statistics that never moved (accuracy below chance on
 * Fashion-MNIST). Two rows, or one image of several positions, train. */
static void batchnorm_batch_of_one_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 4));
    CHECK_OK(lm_net_add_dense(net, 3, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 1;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t = NULL;
    lm_status st = lm_train_new(&t, net, &o, &rng);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "layer 2 (batchnorm) on (3, 1, 1): a batch of 1 row") &&
               strstr(lm_errmsg(), "batches of 2 rows or more"),
           "%s: %s", lm_status_name(st), lm_errmsg());
    CHECK(t == NULL);
    o.batch = 2;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_train_free(t);
    lm_net_free(net);
    /* per channel of a (2, 2, 2) image: 4 values a channel in one row */
    CHECK_OK(lm_net_new(&net, 8));
    CHECK_OK(lm_net_set_input_shape(net, 2, 2, 2));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    o.batch = 1;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_train_free(t);
    lm_net_free(net);
}

/* Inputs whose variance is past the float range (std above 1.8e19) give
 * a finite loss and gradient but an infinite running variance, which no
 * model file may hold: the step is refused there, naming the layer, with
 * the parameters and the running statistics as they were, so the net
 * trained so far still saves. The data-parallel path (a gradient hook,
 * and a reduce hook as the CLI's MPI sets) once skipped that check: the
 * running variance became Inf and only the save at the end refused the
 * net. There the check comes after the gradient hook, which every process
 * reaches (the state is then the same on all), so they refuse the step
 * together: the hook is called once. */
static int g_hook_calls;
static lm_status count_grads(lm_grads_info *g, void *ctx)
{
    (void)g, (void)ctx;
    g_hook_calls++;
    return LM_OK;
}
static void sum_nothing(double *v, size_t n, void *ctx) { (void)v, (void)n, (void)ctx; }

static void batchnorm_state_overflow_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS));
    lm_rng rng = lm_rng_seed(3);
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    for (int hook = 0; hook < 3; hook++) { /* none; on_grads; on_grads and on_reduce */
        lm_fit_opts o = lm_fit_defaults();
        o.batch = 4;
        if (hook) o.on_grads = count_grads;
        if (hook == 2) o.on_reduce = sum_nothing;
        lm_train *t;
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        float small[8] = {1, 2, -1, 0, 3, -2, 0.5f, 1}, y[4] = {1, 0, -1, 2}, loss;
        float big[8] = {3e19f, -3e19f, -3e19f, 3e19f, 2e19f, 1e19f, -1e19f, -2e19f};
        CHECK_OK(lm_train_step(t, small, y, NULL, 4, &loss));
        size_t np = lm_net_n_params(net), ns = lm_net_n_state(net);
        float p0[16], s0[4];
        CHECK(np <= 16 && ns == 4);
        memcpy(p0, lm_net_params(net), np * sizeof *p0);
        memcpy(s0, lm_net_state(net), ns * sizeof *s0);
        g_hook_calls = 0;
        lm_status st = lm_train_step(t, big, y, NULL, 4, &loss);
        CHECKF(st == LM_ENUMERIC && strstr(lm_errmsg(), "layer 2") && strstr(lm_errmsg(), "running statistics"),
               "hook %d: status %s: %s", hook, lm_status_name(st), lm_errmsg());
        CHECKF(g_hook_calls == (hook > 0), "hook %d: the hook was called %d times", hook, g_hook_calls);
        CHECK(memcmp(p0, lm_net_params(net), np * sizeof *p0) == 0);
        CHECK(memcmp(s0, lm_net_state(net), ns * sizeof *s0) == 0);
        char pb[96];
        const char *path = tmp_path(pb, sizeof pb, "bn_overflow.lmn");
        CHECK_OK(lm_net_save(net, path));
        remove(path);
        lm_train_free(t);
    }
    lm_net_free(net);
}

/* Training a net with dropout and batch norm gives the same bits on one
 * and two threads, and twice from the same seed. */
static void train_bits_threads(void)
{
    enum { N = 96, IN = 40 };
    float *x = malloc(N * IN * sizeof *x);
    int32_t lab[N];
    lm_rng r0 = lm_rng_seed(9);
    for (int i = 0; i < N * IN; i++) x[i] = lm_rng_uniform(&r0);
    for (int i = 0; i < N; i++) lab[i] = (int32_t)lm_rng_below(&r0, 4);
    lm_data d = {.n = N, .nx = IN, .x = x, .labels = lab, .n_classes = 4};
    float *params[3] = {0};
    size_t np = 0;
    for (int k = 0; k < 3; k++) {
        lm_net *net;
        CHECK_OK(lm_net_new(&net, IN));
        CHECK_OK(lm_net_add_dense(net, 64, LM_RELU, LM_BIAS));
        CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
        CHECK_OK(lm_net_add_dropout(net, 0.4f));
        CHECK_OK(lm_net_add_dense(net, 4, LM_SOFTMAX, LM_BIAS));
        CHECK_OK(lm_net_set_threads(net, k == 1 ? 2 : 1));
        lm_rng rng = lm_rng_seed(5);
        CHECK_OK(lm_net_init(net, LM_INIT_HE, &rng));
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        o.optim.kind = LM_ADAM;
        o.optim.lr = 0.01f;
        o.epochs = 3;
        o.batch = 16;
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        np = lm_net_n_params(net) + lm_net_n_state(net);
        params[k] = malloc(np * sizeof(float));
        memcpy(params[k], lm_net_params(net), lm_net_n_params(net) * sizeof(float));
        memcpy(params[k] + lm_net_n_params(net), lm_net_state(net), lm_net_n_state(net) * sizeof(float));
        lm_net_free(net);
    }
    CHECK(memcmp(params[0], params[1], np * sizeof(float)) == 0);
    CHECK(memcmp(params[0], params[2], np * sizeof(float)) == 0);
    for (int k = 0; k < 3; k++) free(params[k]);
    free(x);
}

/* ------------------------------------------------------ model files */

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

/* A file written by lamina before the layer table (format version 1)
 * still loads, and a dense net on a flat input is written back as the
 * same version-1 bytes: the same parameters, bit for bit. */
static void v1_file_loads(void)
{
    const char *path = "tests/fixtures/v1_model.lmn";
    lm_net *net = NULL;
    CHECK_OK(lm_net_load(&net, path));
    if (!net) return;
    CHECK(lm_net_n_layers(net) == 3 && lm_net_n_in(net) == 2 && lm_net_n_out(net) == 3);
    lm_layer_desc li = desc(net, 1);
    CHECK(li.kind == LM_LAYER_DENSE && li.act == LM_RELU && !li.has_bias && li.in_c == 6 && li.out_c == 5);
    size_t la, lb;
    unsigned char *a = slurp(path, &la), *b = NULL;
    CHECK(a && la > 20 && a[8] == 1);
    char v1[128];
    tmp_path(v1, sizeof v1, "v1.lmn");
    CHECK_OK(lm_net_save(net, v1));
    b = slurp(v1, &lb);
    /* the fixture is a CLI checkpoint: its sections, then TRAI (which
     * lm_net_save leaves out), so all but the section count and the tail
     * must be the same bytes */
    CHECK(b && la > lb && lb > 20 && memcmp(a, b, 12) == 0 && a[12] == b[12] + 1 &&
          memcmp(a + 16, b + 16, lb - 20) == 0);
    remove(v1);
    free(a);
    free(b);
    lm_net_free(net);
}

/* A net with the new kinds and an input shape is written as version 2
 * and reads back with the same layers, shapes, parameters, state and
 * predictions; saving it again gives the same bytes. */
static void v2_round_trip(void)
{
    lm_net *a, *b = NULL;
    CHECK_OK(lm_net_new(&a, 12));
    CHECK_OK(lm_net_set_input_shape(a, 3, 2, 2));
    CHECK_OK(lm_net_add_batchnorm(a, 0.2f, 1e-4f));
    CHECK_OK(lm_net_add_dense(a, 7, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dropout(a, 0.25f));
    CHECK_OK(lm_net_add_dense(a, 3, LM_SOFTMAX, LM_NO_BIAS));
    lm_rng rng = lm_rng_seed(2);
    CHECK_OK(lm_net_init(a, LM_INIT_HE, &rng));
    float *st = lm_net_state(a);
    for (size_t i = 0; i < lm_net_n_state(a); i++) st[i] = 0.5f + (float)i;
    unsigned char *buf;
    size_t len, len2;
    char pb[128], qb[128];
    const char *p = tmp_path(pb, sizeof pb, "v2.lmn"), *q = tmp_path(qb, sizeof qb, "v2b.lmn");
    CHECK_OK(lm_net_save(a, p));
    CHECK_OK(lm_net_load(&b, p));
    if (!b) return;
    buf = slurp(p, &len);
    CHECK(buf && buf[8] == 2);
    CHECK(lm_net_n_layers(b) == 4 && lm_net_n_params(b) == lm_net_n_params(a) && lm_net_n_state(b) == 6);
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
    CHECK(memcmp(lm_net_state(a), lm_net_state(b), 6 * sizeof(float)) == 0);
    for (int l = 0; l < 4; l++) {
        lm_layer_desc x = desc(a, l), y = desc(b, l);
        CHECK(x.kind == y.kind && x.act == y.act && x.has_bias == y.has_bias && x.in_c == y.in_c && x.in_h == y.in_h &&
              x.in_w == y.in_w && x.out_c == y.out_c && x.out_h == y.out_h && x.out_w == y.out_w && x.units == y.units &&
              x.rate == y.rate && x.momentum == y.momentum && x.eps == y.eps && x.p_offset == y.p_offset &&
              x.n_params == y.n_params && x.s_offset == y.s_offset && x.n_state == y.n_state);
    }
    float x[24], ya[6], yb[6];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 7) - 3;
    CHECK_OK(lm_net_predict(a, x, 2, ya));
    CHECK_OK(lm_net_predict(b, x, 2, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    CHECK_OK(lm_net_save(b, q));
    unsigned char *buf2 = slurp(q, &len2);
    CHECK(buf2 && len == len2 && memcmp(buf, buf2, len) == 0);
    /* every truncation is refused, never a crash */
    for (size_t cut = 0; cut < len; cut++) {
        lm_net *c = NULL;
        CHECKF(lm_net_load_mem(&c, buf, cut) == LM_EFORMAT && !c, "a file cut at %zu bytes loaded", cut);
        lm_net_free(c);
    }
    remove(p);
    remove(q);
    free(buf);
    free(buf2);
    lm_net_free(a);
    lm_net_free(b);
}

/* Bad specs name the layer and the shapes. */
static void bad_specs_named(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 12));
    CHECK_OK(lm_net_set_input_shape(net, 3, 2, 2));
    CHECK(lm_net_add_dropout(net, 1.0f) == LM_EINVAL && strstr(lm_errmsg(), "layer 1 (dropout)") &&
          strstr(lm_errmsg(), "(3, 2, 2)") && strstr(lm_errmsg(), "[0, 1)"));
    CHECK(lm_net_add_dropout(net, -0.1f) == LM_EINVAL);
    CHECK(lm_net_add_dropout(net, NAN) == LM_EINVAL);
    CHECK(lm_net_add_batchnorm(net, 1.5f, 1e-5f) == LM_EINVAL && strstr(lm_errmsg(), "layer 1 (batchnorm)"));
    CHECK(lm_net_add_batchnorm(net, 0.1f, 0.0f) == LM_EINVAL && strstr(lm_errmsg(), "eps"));
    CHECK_OK(lm_net_add_dense(net, 4, LM_RELU, LM_BIAS));
    CHECK(lm_net_add_dropout(net, 2.0f) == LM_EINVAL && strstr(lm_errmsg(), "layer 2 (dropout)") &&
          strstr(lm_errmsg(), "(4, 1, 1)"));
    CHECK(lm_net_n_layers(net) == 1);
    lm_net_free(net);
}

/* A checkpoint keeps the batch-norm state, and resuming restores it. */
static void checkpoint_keeps_state(void)
{
    enum { N = 32, IN = 5 };
    float x[N * IN], y[N];
    lm_rng r0 = lm_rng_seed(4);
    for (int i = 0; i < N * IN; i++) x[i] = lm_rng_uniform(&r0) * 4 - 1;
    for (int i = 0; i < N; i++) y[i] = x[i * IN] - x[i * IN + 1];
    lm_data d = {.n = N, .nx = IN, .x = x, .y = y, .ny = 1};
    lm_net *nets[2];
    lm_train *tr[2];
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 8;
    o.optim.kind = LM_ADAM;
    for (int k = 0; k < 2; k++) {
        CHECK_OK(lm_net_new(&nets[k], IN));
        CHECK_OK(lm_net_add_dense(nets[k], 6, LM_IDENTITY, LM_BIAS));
        CHECK_OK(lm_net_add_batchnorm(nets[k], 0.1f, 1e-5f));
        CHECK_OK(lm_net_add_dropout(nets[k], 0.2f));
        CHECK_OK(lm_net_add_dense(nets[k], 1, LM_IDENTITY, LM_BIAS));
        lm_rng rng = lm_rng_seed(8);
        CHECK_OK(lm_net_init(nets[k], LM_INIT_XAVIER, &rng));
        CHECK_OK(lm_train_new(&tr[k], nets[k], &o, &rng));
    }
    /* run 0 trains 4 epochs straight; run 1 trains 2, saves, resumes in a
     * fresh trainer over a fresh net and trains 2 more */
    for (int e = 0; e < 4; e++) CHECK_OK(lm_train_epoch(tr[0], &d, NULL));
    for (int e = 0; e < 2; e++) CHECK_OK(lm_train_epoch(tr[1], &d, NULL));
    char pb[128];
    const char *p = tmp_path(pb, sizeof pb, "ck.lmn");
    CHECK_OK(lm_train_save(tr[1], p));
    lm_train_free(tr[1]);
    lm_net_free(nets[1]);
    CHECK_OK(lm_net_new(&nets[1], IN));
    CHECK_OK(lm_net_add_dense(nets[1], 6, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(nets[1], 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dropout(nets[1], 0.2f));
    CHECK_OK(lm_net_add_dense(nets[1], 1, LM_IDENTITY, LM_BIAS));
    lm_rng rng = lm_rng_seed(99);
    CHECK_OK(lm_train_new(&tr[1], nets[1], &o, &rng));
    CHECK_OK(lm_train_resume(tr[1], p));
    for (int e = 0; e < 2; e++) CHECK_OK(lm_train_epoch(tr[1], &d, NULL));
    CHECK(lm_net_state(nets[0])[0] != 0);
    CHECK(memcmp(lm_net_params(nets[0]), lm_net_params(nets[1]), lm_net_n_params(nets[0]) * sizeof(float)) == 0);
    CHECK(memcmp(lm_net_state(nets[0]), lm_net_state(nets[1]), lm_net_n_state(nets[0]) * sizeof(float)) == 0);
    /* a net of another shape is refused */
    lm_net *other;
    lm_train *to;
    CHECK_OK(lm_net_new(&other, IN));
    CHECK_OK(lm_net_add_dense(other, 6, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(other, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dropout(other, 0.3f));
    CHECK_OK(lm_net_add_dense(other, 1, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_train_new(&to, other, &o, &rng));
    CHECK(lm_train_resume(to, p) == LM_EINVAL && strstr(lm_errmsg(), "architecture"));
    lm_train_free(to);
    lm_net_free(other);
    remove(p);
    for (int k = 0; k < 2; k++) {
        lm_train_free(tr[k]);
        lm_net_free(nets[k]);
    }
}

/* A workspace fits only nets whose layers need the same buffers, not
 * just the same widths. */
static void ws_other_kinds_refused(void)
{
    lm_net *a, *b;
    CHECK_OK(lm_net_new(&a, 3));
    CHECK_OK(lm_net_add_dense(a, 4, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dropout(a, 0.5f));
    CHECK_OK(lm_net_add_dense(a, 2, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_new(&b, 3));
    CHECK_OK(lm_net_add_dense(b, 4, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(b, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(b, 2, LM_IDENTITY, LM_BIAS));
    lm_ws *ws;
    float x[6] = {1, 2, 3, 4, 5, 6}, y[4], z[4];
    CHECK_OK(lm_ws_new(&ws, a, 2));
    CHECK_OK(lm_net_predict_ws(a, ws, x, 2, y));
    CHECK(lm_net_predict_ws(b, ws, x, 2, y) == LM_EINVAL);
    lm_ws_free(ws);
    CHECK_OK(lm_ws_new(&ws, b, 2));
    CHECK_OK(lm_net_predict_ws(b, ws, x, 2, y));
    CHECK_OK(lm_net_predict(b, x, 2, z));
    CHECK(memcmp(y, z, sizeof y) == 0);
    lm_ws_free(ws);
    lm_net_free(a);
    lm_net_free(b);
}

/* IDX images keep their shape through lm_idx_read and lm_data_split; a
 * view built by hand has none. */
static void idx_shape(void)
{
    char ib[128], lbuf[128];
    const char *pi = tmp_path(ib, sizeof ib, "i.idx"), *pl = tmp_path(lbuf, sizeof lbuf, "l.idx");
    unsigned char img[16 + 4 * 12], lab[8 + 4];
    memset(img, 0, sizeof img);
    memset(lab, 0, sizeof lab);
    img[2] = 0x08, img[3] = 3, img[7] = 4, img[11] = 3, img[15] = 4; /* u8, 4 x 3 x 4 */
    for (int i = 0; i < 48; i++) img[16 + i] = (unsigned char)(i * 5);
    lab[2] = 0x08, lab[3] = 1, lab[7] = 4;
    for (int i = 0; i < 4; i++) lab[8 + i] = (unsigned char)(i % 2);
    FILE *f = fopen(pi, "wb");
    if (f) fwrite(img, 1, sizeof img, f), fclose(f);
    f = fopen(pl, "wb");
    if (f) fwrite(lab, 1, sizeof lab, f), fclose(f);
    lm_data d = {0}, a = {0}, b = {0};
    CHECK_OK(lm_idx_read(&d, pi, pl));
    int c = 0, h = 0, w = 0;
    CHECK(lm_data_shape(&d, &c, &h, &w) == 1 && c == 1 && h == 3 && w == 4 && d.nx == 12);
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_data_split(&d, 0.5f, &rng, &a, &b));
    c = h = w = 0;
    CHECK(lm_data_shape(&a, &c, &h, &w) == 1 && c == 1 && h == 3 && w == 4);
    lm_data view = {.n = 4, .nx = 12, .x_type = LM_U8, .x = d.x, .labels = d.labels, .n_classes = 2};
    CHECK(lm_data_shape(&view, &c, &h, &w) == 0 && lm_data_shape(NULL, NULL, NULL, NULL) == 0);
    lm_data_free(&a);
    lm_data_free(&b);
    lm_data_free(&d);
    remove(pi);
    remove(pl);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/lm_layers_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("test_layers: mkdtemp");
        return 1;
    }
    RUN(kind_names);
    RUN(input_shape);
    RUN(dense_info_offsets);
    RUN(unbuilt_kinds_refused);
    RUN(clone_through_table);
    RUN(grad_dropout);
    RUN(grad_batchnorm);
    RUN(grad_activation);
    RUN(activation_same_bits_as_fused);
    RUN(activation_refused);
    RUN(dropout_masks);
    RUN(batchnorm_modes);
    RUN(batchnorm_one_row_keeps_running_stats);
    RUN(batchnorm_batch_of_one_refused);
    RUN(batchnorm_state_overflow_refused);
    RUN(train_bits_threads);
    RUN(v1_file_loads);
    RUN(v2_round_trip);
    RUN(bad_specs_named);
    RUN(checkpoint_keeps_state);
    RUN(ws_other_kinds_refused);
    RUN(idx_shape);
    /* the folder, with whatever a failed case left (as test_checkpoint) */
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "test_layers: could not remove %s\n", g_dir);
    TEST_MAIN_END();
}
