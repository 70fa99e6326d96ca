/* test_rprop.c - the RPROP optimizer (iRprop-, LM_RPROP): lamina replays
 * full-batch runs of torch.optim.Rprop (tests/fixtures/rprop_*.txt,
 * written by tests/gen_rprop_fixture.py) step by step, both from its own
 * gradients and from torch's (where the optimizer's arithmetic alone must
 * give torch's bits); the same bits on 1 and 2 threads; a checkpoint
 * resumed mid-run gives the bits of the run never stopped; bad settings
 * are refused; RPROP learns XOR. Run from the repository root. */
#include "lamina.h"
#include "harness.h"

#include <glob.h>
#include <stdint.h>
#include <unistd.h>

#include "fixture.h"

#define FIXTURES "tests/fixtures/rprop_*.txt"
#define MIN_FIXTURES 2 /* as many as the generator writes */

/* From lamina's own gradient, which sums in another order than torch's,
 * the parameters after every step are within float32 rounding of
 * torch's: RPROP moves by whole steps that only the gradient's sign
 * chooses, and the generator keeps every nonzero gradient of its runs
 * above 1e-5 of its step's largest, so the signs agree (measured: every
 * parameter of every step bit for bit on x86-64; the tolerance leaves
 * room for another compiler's rounding). */
#define PARAM_ATOL 1e-6
#define PARAM_RTOL 1e-6
#define LOSS_ATOL 1e-6
#define LOSS_RTOL 1e-5

/* The fixture's net (NULL and a FAIL on a bad layer line). */
static lm_net *build_net(const fx_file *f)
{
    lm_net *net = NULL;
    CHECK_OK(lm_net_new(&net, (int)fx_num(f, "input")));
    for (int i = 0; net && i < f->n_o && !th_case_failed; i++) {
        if (strcmp(f->o[i].key, "layer") != 0) continue;
        int n_out = 0, bias = 0;
        char act[32] = "";
        int a = -1;
        if (sscanf(f->o[i].val, "%d %31s %d", &n_out, act, &bias) == 3) a = lm_act_from_name(act);
        CHECKF(a >= 0, "bad layer line '%s'", f->o[i].val);
        if (a >= 0) CHECK_OK(lm_net_add_dense(net, n_out, (lm_act)a, bias ? LM_BIAS : LM_NO_BIAS));
    }
    if (th_case_failed) {
        lm_net_free(net);
        return NULL;
    }
    return net;
}

static lm_fit_opts fit_opts(const fx_file *f)
{
    lm_fit_opts o = lm_fit_defaults();
    const char *loss = fx_str(f, "loss");
    o.loss = loss && !strcmp(loss, "ce") ? LM_LOSS_CE : LM_LOSS_MSE;
    o.optim.kind = LM_RPROP;
    o.optim.lr = (float)fx_num(f, "lr");
    o.optim.eta_minus = (float)fx_num(f, "eta_minus");
    o.optim.eta_plus = (float)fx_num(f, "eta_plus");
    o.optim.step_min = (float)fx_num(f, "step_min");
    o.optim.step_max = (float)fx_num(f, "step_max");
    o.optim.weight_decay = (float)fx_num(f, "weight_decay");
    o.batch = (size_t)fx_num(f, "batch");
    o.shuffle = 0;
    o.epochs = 1;
    return o;
}

/* Replays one fixture; with torch_grads each step takes torch's gradient
 * (lm_train_apply_grads) and must give torch's parameters bit for bit,
 * else lamina's own (lm_train_step) within the tolerances. */
static void replay(const char *path, int torch_grads)
{
    fx_file f;
    char err[256];
    if (fx_read(&f, path, err, sizeof err) != 0) {
        CHECKF(0, "%s", err);
        return;
    }
    lm_net *net = build_net(&f);
    lm_train *t = NULL;
    lm_fit_opts o = fit_opts(&f);
    size_t rows = o.batch, p = net ? lm_net_n_params(net) : 0;
    size_t steps = (size_t)fx_num(&f, "steps");
    float *x = NULL, *y = NULL, *p0 = NULL, *g = NULL, *want_loss = NULL, *want = NULL;
    int32_t *labels = NULL;
    if (!net || th_case_failed) goto done;
    x = fx_floats(&f, "x", rows, (size_t)lm_net_n_in(net));
    if (o.loss == LM_LOSS_CE) {
        float *l = fx_floats(&f, "labels", rows, 1);
        labels = l ? malloc(rows * sizeof *labels) : NULL;
        for (size_t i = 0; labels && i < rows; i++) labels[i] = (int32_t)l[i];
        free(l);
    } else {
        y = fx_floats(&f, "y", rows, (size_t)lm_net_n_out(net));
    }
    p0 = fx_floats(&f, "params_init", p, 1);
    g = fx_floats(&f, "grads", steps, p);
    want_loss = fx_floats(&f, "loss", steps, 1);
    want = fx_floats(&f, "params", steps, p);
    if (th_case_failed) goto done;
    memcpy(lm_net_params(net), p0, p * sizeof *p0);
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    size_t exact = 0;
    for (size_t s = 0; s < steps && !th_case_failed; s++) {
        const float *w = want + s * p, *got = lm_net_params(net);
        float loss = NAN;
        if (torch_grads) {
            memcpy(lm_net_grads(net), g + s * p, p * sizeof *g);
            CHECK_OK(lm_train_apply_grads(t));
            for (size_t i = 0; i < p && !th_case_failed; i++)
                CHECKF(memcmp(&got[i], &w[i], sizeof *got) == 0,
                       "step %zu: param[%zu] = %.9g, torch %.9g (not the same bits)", s + 1, i,
                       (double)got[i], (double)w[i]);
            continue;
        }
        CHECK_OK(lm_train_step(t, x, y, labels, rows, &loss));
        size_t worst;
        double r = th_close_ratio(&loss, &want_loss[s], 1, LOSS_ATOL, LOSS_RTOL, NULL);
        CHECKF(r <= 1, "step %zu: loss %.9g, torch %.9g", s + 1, (double)loss, (double)want_loss[s]);
        r = th_close_ratio(got, w, p, PARAM_ATOL, PARAM_RTOL, &worst);
        CHECKF(r <= 1, "step %zu: param[%zu] = %.9g, torch %.9g (%.3g times the tolerance)", s + 1,
               worst, (double)got[worst], (double)w[worst], r);
        exact += memcmp(got, w, p * sizeof *got) == 0;
    }
    if (!torch_grads && getenv("LM_TEST_VERBOSE"))
        printf("# %s: %zu of %zu steps bit for bit\n", path, exact, steps);
done:
    lm_train_free(t);
    lm_net_free(net);
    float *bufs[] = {x, y, p0, g, want_loss, want};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(labels);
    fx_free(&f);
}

static void each_fixture(int torch_grads)
{
    glob_t gl;
    int rc = glob(FIXTURES, 0, NULL, &gl);
    size_t n = rc == 0 ? gl.gl_pathc : 0;
    CHECKF(n >= MIN_FIXTURES, "%zu files match %s (run from the repo root)", n, FIXTURES);
    for (size_t i = 0; i < n && !th_case_failed; i++) {
        replay(gl.gl_pathv[i], torch_grads);
        if (th_case_failed) printf("# in %s\n", gl.gl_pathv[i]);
    }
    if (rc == 0) globfree(&gl);
}

/* The optimizer's arithmetic alone: torch's gradients in, torch's bits out. */
static void rprop_torch_bits(void) { each_fixture(1); }
/* The whole step: lamina's forward, loss and gradient, then RPROP. */
static void rprop_torch_replay(void) { each_fixture(0); }

/* ---- gradient-free checks ---- */

/* Rows x (n, nx) in [-1, 1) and labels in [0, k) from a seed. */
static void make_data(float *x, int32_t *lab, size_t n, int nx, int k, uint64_t seed)
{
    lm_rng r = lm_rng_seed(seed);
    for (size_t i = 0; i < n * (size_t)nx; i++) x[i] = 2.0f * lm_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < n; i++) lab[i] = (int32_t)lm_rng_below(&r, (uint64_t)k);
}

/* A 64-512-10 net (38410 parameters: above the count the optimizer
 * shares out between threads), trained full batch with RPROP for `epochs`
 * on `threads`; with ckpt, stopped after `stop` epochs, saved, and resumed
 * in a new net and trainer. Returns the parameters (caller frees). */
static float *train_big(int threads, int epochs, int stop, const char *ckpt)
{
    enum { N = 200, NX = 64, K = 10 };
    static float x[N * NX];
    static int32_t lab[N];
    make_data(x, lab, N, NX, K, 5);
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(3);
    CHECK_OK(lm_net_new(&net, NX));
    CHECK_OK(lm_net_add_dense(net, 512, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_dense(net, K, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    CHECK_OK(lm_net_set_threads(net, threads));
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_RPROP;
    o.optim.weight_decay = 1e-4f;
    o.batch = N;
    lm_data d = {.n = N, .nx = NX, .x = x, .labels = lab, .n_classes = K};
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    for (int e = 0; e < epochs && !th_case_failed; e++) {
        if (ckpt && e == stop) {
            CHECK_OK(lm_train_save(t, ckpt));
            lm_train_free(t);
            lm_net_free(net);
            t = NULL;
            net = NULL;
            CHECK_OK(lm_net_load(&net, ckpt));
            if (!net) break;
            CHECK_OK(lm_net_set_threads(net, threads));
            lm_rng other = lm_rng_seed(999); /* the file's replaces it */
            CHECK_OK(lm_train_new(&t, net, &o, &other));
            CHECK_OK(lm_train_resume(t, ckpt));
            CHECK(lm_train_epochs_done(t) == stop && lm_train_steps(t) == (uint64_t)stop);
        }
        CHECK_OK(lm_train_epoch(t, &d, NULL));
    }
    float *p = NULL;
    if (net && !th_case_failed) {
        float loss;
        CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, &loss, NULL));
        CHECKF(loss < 1.0f, "RPROP did not fit the random labels: loss %g", (double)loss);
        p = malloc(lm_net_n_params(net) * sizeof *p);
        memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    }
    lm_train_free(t);
    lm_net_free(net);
    return p;
}

enum { BIG_PARAMS = 64 * 512 + 512 + 512 * 10 + 10, BIG_EPOCHS = 12 };

static void rprop_threads_same_bits(void)
{
    float *a = train_big(1, BIG_EPOCHS, 0, NULL), *b = train_big(2, BIG_EPOCHS, 0, NULL);
    CHECK(a && b);
    if (a && b) CHECKF(memcmp(a, b, BIG_PARAMS * sizeof *a) == 0, "1 and 2 threads differ");
    free(a);
    free(b);
}

static void rprop_resume_same_bits(void)
{
    char dir[] = "/tmp/lm_rprop_XXXXXX", ckpt[64];
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(ckpt, sizeof ckpt, "%s/c.lmn", dir);
    float *a = train_big(2, BIG_EPOCHS, 0, NULL), *b = train_big(2, BIG_EPOCHS, 5, ckpt);
    CHECK(a && b);
    if (a && b) CHECKF(memcmp(a, b, BIG_PARAMS * sizeof *a) == 0, "the resumed run differs");
    free(a);
    free(b);
    unlink(ckpt);
    rmdir(dir);
}

/* lm_train_new's status for the defaults changed by set. */
static lm_status try_opts(void (*set)(lm_fit_opts *))
{
    lm_net *net = NULL;
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
    lm_fit_opts o = lm_fit_defaults();
    o.optim.kind = LM_RPROP;
    set(&o);
    lm_rng rng = lm_rng_seed(1);
    lm_train *t = NULL;
    lm_status st = lm_train_new(&t, net, &o, &rng);
    lm_train_free(t);
    lm_net_free(net);
    return st;
}

static void ok_defaults(lm_fit_opts *o) { (void)o; }
static void eta_minus_0(lm_fit_opts *o) { o->optim.eta_minus = 0; }
static void eta_minus_1(lm_fit_opts *o) { o->optim.eta_minus = 1; }
static void eta_minus_nan(lm_fit_opts *o) { o->optim.eta_minus = NAN; }
static void eta_plus_1(lm_fit_opts *o) { o->optim.eta_plus = 1; }
static void eta_plus_inf(lm_fit_opts *o) { o->optim.eta_plus = INFINITY; }
static void step_min_neg(lm_fit_opts *o) { o->optim.step_min = -1e-6f; }
static void step_min_above_max(lm_fit_opts *o) { o->optim.step_min = 2, o->optim.step_max = 1; }
static void step_max_inf(lm_fit_opts *o) { o->optim.step_max = INFINITY; }
static void step_max_nan(lm_fit_opts *o) { o->optim.step_max = NAN; }
static void lr_zero(lm_fit_opts *o) { o->optim.lr = 0; }
static void cosine(lm_fit_opts *o) { o->lr_schedule = LM_LR_COSINE; }
static void step_sched(lm_fit_opts *o) { o->lr_schedule = LM_LR_STEP; }
static void ok_step_min_zero(lm_fit_opts *o) { o->optim.step_min = 0, o->optim.step_max = 0; }

#define EXPECT_EINVAL(set, words)                                                             \
    do {                                                                                      \
        lm_status st_ = try_opts(set);                                                        \
        CHECKF(st_ == LM_EINVAL && strstr(lm_errmsg(), words), "%s -> %s: %s", #set,          \
               lm_status_name(st_), lm_errmsg());                                             \
    } while (0)

static void rprop_bad_options_refused(void)
{
    lm_fit_opts d = lm_fit_defaults();
    CHECK(d.optim.eta_minus == 0.5f && d.optim.eta_plus == 1.2f && d.optim.step_min == 1e-6f &&
          d.optim.step_max == 50.0f);
    CHECK(LM_RPROP == 3 && !strcmp(lm_optim_name(LM_RPROP), "rprop") && lm_optim_from_name("rprop") == LM_RPROP);
    CHECK_OK(try_opts(ok_defaults));
    CHECK_OK(try_opts(ok_step_min_zero));
    EXPECT_EINVAL(eta_minus_0, "RPROP etas (0, 1.2)");
    EXPECT_EINVAL(eta_minus_1, "RPROP etas");
    EXPECT_EINVAL(eta_minus_nan, "RPROP etas");
    EXPECT_EINVAL(eta_plus_1, "RPROP etas");
    EXPECT_EINVAL(eta_plus_inf, "RPROP etas");
    EXPECT_EINVAL(step_min_neg, "RPROP step sizes");
    EXPECT_EINVAL(step_min_above_max, "RPROP step sizes (2, 1)");
    EXPECT_EINVAL(step_max_inf, "RPROP step sizes");
    EXPECT_EINVAL(step_max_nan, "RPROP step sizes");
    EXPECT_EINVAL(lr_zero, "learning rate");
    EXPECT_EINVAL(cosine, "schedule (cosine)");
    EXPECT_EINVAL(step_sched, "schedule (step)");
}

/* Another optimizer's checkpoint does not resume an RPROP run, nor the
 * other way round. */
static void rprop_resume_other_optimizer_refused(void)
{
    char dir[] = "/tmp/lm_rprop_XXXXXX", ckpt[64];
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(ckpt, sizeof ckpt, "%s/c.lmn", dir);
    lm_optim_kind kinds[2][2] = {{LM_RPROP, LM_ADAM}, {LM_ADAM, LM_RPROP}};
    for (int k = 0; k < 2; k++) {
        lm_net *net = NULL;
        lm_net_new(&net, 2);
        lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
        lm_fit_opts o = lm_fit_defaults();
        o.optim.kind = kinds[k][0];
        lm_rng rng = lm_rng_seed(1);
        lm_train *t = NULL;
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        CHECK_OK(lm_train_save(t, ckpt));
        lm_train_free(t);
        o.optim.kind = kinds[k][1];
        CHECK_OK(lm_train_new(&t, net, &o, &rng));
        lm_status st = lm_train_resume(t, ckpt);
        CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "does not match"), "%s -> %s: %s",
               lm_optim_name(kinds[k][0]), lm_status_name(st), lm_errmsg());
        lm_train_free(t);
        lm_net_free(net);
    }
    unlink(ckpt);
    rmdir(dir);
}

/* FANN's demo: XOR, full batch, RPROP's defaults. */
static void rprop_learns_xor(void)
{
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(7);
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_dense(net, 4, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    lm_fit_opts o = lm_fit_defaults();
    o.optim.kind = LM_RPROP;
    o.batch = 4;
    o.epochs = 200;
    lm_data d = {.n = 4, .nx = 2, .x = x, .ny = 1, .y = y};
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    float loss = NAN;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_MSE, &loss, NULL));
    CHECKF(loss < 1e-3f, "XOR mse after 200 RPROP epochs: %g", (double)loss);
    lm_net_free(net);
}

int main(void)
{
    RUN(rprop_torch_bits);
    RUN(rprop_torch_replay);
    RUN(rprop_threads_same_bits);
    RUN(rprop_resume_same_bits);
    RUN(rprop_bad_options_refused);
    RUN(rprop_resume_other_optimizer_refused);
    RUN(rprop_learns_xor);
    TEST_MAIN_END();
}
