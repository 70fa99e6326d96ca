/* test_cnn_torch.c - lamina replays small CNNs that PyTorch ran
 * (tests/fixtures/cnn_*.txt, written by tests/gen_cnn_fixture.py): the
 * output and the gradient at the start, the loss before each Adam step and
 * the parameters after the last, through conv2d ('same' with asymmetric
 * padding, 'valid', a number; strides 1 and 2; square and rectangular
 * kernels; with and without bias), maxpool2d, avgpool2d, global_avgpool,
 * batchnorm after a conv and after a dense layer, and dense layers reading
 * a spatial map (the flatten order). The
 * generator writes the data channels-last, lamina's layout. Run from the
 * repository root. */
#include "lamina.h"
#include "harness.h"

#include <glob.h>
#include <stdint.h>

#include "fixture.h"

#define FIXTURES "tests/fixtures/cnn_*.txt"
#define MIN_FIXTURES 3 /* as many as the generator writes */

/* Tolerances: float32 against torch's float32, which sums in another
 * order (im2col GEMM against oneDNN's direct convolution); the generator
 * writes torch's own float32-vs-float64 differences into each file. */
#define OUT_ATOL 1e-6
#define OUT_RTOL 1e-4
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define LOSS_ATOL 1e-6
#define LOSS_RTOL 1e-5
#define PARAM_ATOL 1e-5
#define PARAM_RTOL 1e-4

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* The fixtures' names for lamina's enums (the generator's own words). */
static const char *const ACT_NAMES[] = {"identity", "sigmoid",    "tanh",
                                        "relu",     "leaky_relu", "softmax"};
static const lm_act ACT_ENUM[] = {LM_IDENTITY, LM_SIGMOID,    LM_TANH,
                                  LM_RELU,     LM_LEAKY_RELU, LM_SOFTMAX};

/* Builds the fixture's net from its layer lines (NULL and a FAIL on any
 * mismatch). */
static lm_net *build_net(const fx_file *f)
{
    lm_net *net = NULL;
    int c = 0, h = 0, w = 0;
    const char *shape = fx_str(f, "input_shape");
    CHECKF(shape && sscanf(shape, "%d %d %d", &c, &h, &w) == 3, "bad input_shape");
    if (th_case_failed) return NULL;
    CHECK_OK(lm_net_new(&net, c * h * w));
    CHECK_OK(lm_net_set_input_shape(net, c, h, w));
    for (int i = 0; i < f->n_o && !th_case_failed; i++) {
        if (strcmp(f->o[i].key, "layer") != 0) continue;
        const char *v = f->o[i].val;
        char kind[16] = "", act[32] = "", pad[16] = "";
        int a = 0, b = 0, k = 0, s = 0, bias = 0, n = 0;
        sscanf(v, "%15s", kind);
        int ok = 1, ai = 0;
        if (!strcmp(kind, "conv")) {
            ok = sscanf(v, "%*s %d %d %d %d %15s %31s %d", &n, &a, &b, &s, pad, act, &bias) == 7;
            ai = name_index(act, ACT_NAMES, 6);
            int p = !strcmp(pad, "same") ? LM_PAD_SAME : !strcmp(pad, "valid") ? LM_PAD_VALID : atoi(pad);
            if (ok && ai >= 0)
                CHECK_OK(lm_net_add_conv2d(net, n, a, b, s, p, ACT_ENUM[ai], bias ? LM_BIAS : LM_NO_BIAS));
        } else if (!strcmp(kind, "maxpool") || !strcmp(kind, "avgpool")) {
            ok = sscanf(v, "%*s %d %d", &k, &s) == 2;
            if (ok && kind[0] == 'm') CHECK_OK(lm_net_add_maxpool2d(net, k, s));
            if (ok && kind[0] == 'a') CHECK_OK(lm_net_add_avgpool2d(net, k, s));
        } else if (!strcmp(kind, "gavgpool")) {
            CHECK_OK(lm_net_add_global_avgpool(net));
        } else if (!strcmp(kind, "batchnorm")) {
            CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f)); /* torch's defaults */
        } else if (!strcmp(kind, "dense")) {
            ok = sscanf(v, "%*s %d %31s %d", &n, act, &bias) == 3;
            ai = name_index(act, ACT_NAMES, 6);
            if (ok && ai >= 0) CHECK_OK(lm_net_add_dense(net, n, ACT_ENUM[ai], bias ? LM_BIAS : LM_NO_BIAS));
        } else {
            ok = 0;
        }
        CHECKF(ok && ai >= 0, "bad layer line '%s'", v);
    }
    if (th_case_failed) {
        lm_net_free(net);
        return NULL;
    }
    return net;
}

/* Compares got with want (n) and fails with the worst element, its ratio
 * to the tolerance and the largest relative difference overall. */
static void compare(const char *what, const float *got, const float *want, size_t n,
                    double atol, double rtol)
{
    size_t w = 0;
    double r = th_close_ratio(got, want, n, atol, rtol, &w), maxrel = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(fabs((double)want[i]), 1e-30);
        if (!(d <= maxrel)) maxrel = d;
    }
    if (getenv("LM_TEST_VERBOSE"))
        printf("# %s %s: worst %.3g of tolerance at [%zu], largest relative diff %.3g\n",
               th_case, what, r, w, maxrel);
    CHECKF(r <= 1.0,
           "%s[%zu] = %.9g, torch %.9g (%.3g times the tolerance atol %g rtol %g); "
           "largest relative difference %.3g",
           what, w, (double)got[w], (double)want[w], r, atol, rtol, maxrel);
}

static void replay(const char *path)
{
    fx_file f;
    char err[256];
    if (fx_read(&f, path, err, sizeof err) != 0) {
        CHECKF(0, "%s", err);
        return;
    }
    lm_net *net = build_net(&f);
    lm_train *t = NULL;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = (float)fx_num(&f, "lr");
    o.optim.beta1 = (float)fx_num(&f, "beta1");
    o.optim.beta2 = (float)fx_num(&f, "beta2");
    o.optim.eps = (float)fx_num(&f, "eps");
    o.optim.weight_decay = 0;
    o.batch = (size_t)fx_num(&f, "batch");
    o.shuffle = 0;
    o.epochs = 1;
    size_t rows = o.batch, p = net ? lm_net_n_params(net) : 0;
    int steps = (int)fx_num(&f, "steps");
    float *x = NULL, *p0 = NULL, *g0 = NULL, *out0 = NULL, *want_loss = NULL, *p1 = NULL;
    float *loss = NULL, *out = NULL;
    int32_t *labels = NULL;
    CHECKF(steps >= 1 && steps <= 1000 && rows >= 1 && rows <= 1000, "bad steps %d or batch %zu",
           steps, rows);
    if (!net || th_case_failed) goto done;
    size_t n_out = (size_t)lm_net_n_out(net);
    x = fx_floats(&f, "x", rows, (size_t)lm_net_n_in(net));
    const fx_table *lt = fx_get(&f, "labels", rows, 1);
    CHECKF(lt != NULL, "fixture has no table 'labels %zu 1'", rows);
    labels = malloc(rows * sizeof *labels);
    for (size_t i = 0; lt && i < rows; i++) labels[i] = (int32_t)lt->v[i];
    p0 = fx_floats(&f, "params_init", p, 1);
    out0 = fx_floats(&f, "out_init", rows, n_out);
    g0 = fx_floats(&f, "grad_init", p, 1);
    want_loss = fx_floats(&f, "loss", (size_t)steps, 1);
    p1 = fx_floats(&f, "params_final", p, 1);
    loss = malloc((size_t)steps * sizeof *loss);
    out = malloc(rows * n_out * sizeof *out);
    if (th_case_failed) goto done;

    memcpy(lm_net_params(net), p0, p * sizeof *p0);
    /* forward, then backward, then the optimizer: a mismatch is placed */
    CHECK_OK(lm_net_predict(net, x, rows, out));
    if (!th_case_failed) compare("out_init", out, out0, rows * n_out, OUT_ATOL, OUT_RTOL);
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    if (th_case_failed) goto done;
    float l0 = NAN;
    CHECK_OK(lm_train_loss_grad(t, x, NULL, labels, rows, &l0));
    if (!th_case_failed) {
        compare("loss_init", &l0, want_loss, 1, LOSS_ATOL, LOSS_RTOL);
        compare("grad_init", lm_net_grads(net), g0, p, GRAD_ATOL, GRAD_RTOL);
    }
    for (int i = 0; i < steps && !th_case_failed; i++)
        CHECK_OK(lm_train_step(t, x, NULL, labels, rows, &loss[i]));
    if (!th_case_failed) {
        compare("loss", loss, want_loss, (size_t)steps, LOSS_ATOL, LOSS_RTOL);
        compare("params_final", lm_net_params(net), p1, p, PARAM_ATOL, PARAM_RTOL);
    }
done:
    lm_train_free(t);
    lm_net_free(net);
    float *bufs[] = {x, p0, g0, out0, want_loss, p1, loss, out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(labels);
    fx_free(&f);
}

int main(void)
{
    glob_t g;
    int rc = glob(FIXTURES, 0, NULL, &g);
    size_t n = rc == 0 ? g.gl_pathc : 0;
    th_case = "cnn_fixtures_found";
    th_case_failed = 0;
    CHECKF(n >= MIN_FIXTURES, "%zu files match %s (run from the repo root)", n, FIXTURES);
    if (th_case_failed) th_failed_cases++;
    else printf("ok cnn_fixtures_found\n");
    for (size_t i = 0; i < n; i++) {
        /* One case per file, named after it: cnn_flatten ... */
        static char name[128];
        const char *base = strrchr(g.gl_pathv[i], '/');
        snprintf(name, sizeof name, "%s", base ? base + 1 : g.gl_pathv[i]);
        char *dot = strrchr(name, '.');
        if (dot) *dot = '\0';
        th_case = name;
        th_case_failed = 0;
        replay(g.gl_pathv[i]);
        if (th_case_failed) th_failed_cases++;
        else printf("ok %s\n", name);
        fflush(stdout);
    }
    if (rc == 0) globfree(&g);
    TEST_MAIN_END();
}
