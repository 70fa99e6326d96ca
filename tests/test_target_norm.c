/* test_target_norm.c - regression target standardisation: predict undoes
 * it, training and evaluation fit the standardised targets, it survives a
 * model file and a clone, and a bad one changes nothing. */
#include "harness.h"
#include "lamina.h"

#include <unistd.h>

/* A 1-input identity net y = w x + b with w = 2, b = 0.5 (raw outputs). */
static lm_net *line_net(void)
{
    lm_net *net;
    if (lm_net_new(&net, 1) != LM_OK) return NULL;
    if (lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS) != LM_OK) {
        lm_net_free(net);
        return NULL;
    }
    float *p = lm_net_params(net);
    p[0] = 2.0f;
    p[1] = 0.5f;
    return net;
}

static void test_predict_undoes(void)
{
    lm_net *net = line_net();
    if (!net) return;
    const float x[3] = {0, 1, -2};
    float y[3], mean = 100, sd = 10;
    CHECK(lm_net_get_target_norm(net, NULL, NULL) == 0);
    CHECK_OK(lm_net_set_target_norm(net, &mean, &sd));
    CHECK_OK(lm_net_predict(net, x, 3, y));
    for (int i = 0; i < 3; i++)
        CHECKF(fabsf(y[i] - ((2 * x[i] + 0.5f) * 10 + 100)) < 1e-4f, "y[%d] = %g", i, y[i]);
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, net, 4));
    float y2[3];
    CHECK_OK(lm_net_predict_ws(net, ws, x, 3, y2));
    CHECK(memcmp(y, y2, sizeof y) == 0);
    lm_ws_free(ws);
    /* A bad one is refused and the old one stays. */
    float zero = 0, nan = NAN, m2 = 5;
    CHECK(lm_net_set_target_norm(net, &m2, &zero) == LM_EINVAL);
    CHECK(lm_net_set_target_norm(net, &nan, &sd) == LM_EINVAL);
    float gm = 0, gs = 0;
    CHECK(lm_net_get_target_norm(net, &gm, &gs) == 1 && gm == 100 && gs == 10);
    /* Both NULL removes it. */
    CHECK_OK(lm_net_set_target_norm(net, NULL, NULL));
    CHECK_OK(lm_net_predict(net, x, 1, y));
    CHECK(y[0] == 0.5f);
    lm_net_free(net);
}

static void test_file_and_clone(void)
{
    lm_net *net = line_net(), *back = NULL, *c = NULL;
    if (!net) return;
    float mean = -3, sd = 0.25f, x = 1.5f, a, b, cy;
    CHECK_OK(lm_net_set_target_norm(net, &mean, &sd));
    char path[64];
    snprintf(path, sizeof path, "/tmp/lamina-tnorm-%d.lmn", (int)getpid());
    CHECK_OK(lm_net_save(net, path));
    CHECK_OK(lm_net_load(&back, path));
    CHECK_OK(lm_net_clone(&c, net));
    if (back && c) {
        CHECK_OK(lm_net_predict(net, &x, 1, &a));
        CHECK_OK(lm_net_predict(back, &x, 1, &b));
        CHECK_OK(lm_net_predict(c, &x, 1, &cy));
        CHECKF(a == b && a == cy, "%g, loaded %g, clone %g", a, b, cy);
        CHECK(fabsf(a - ((2 * x + 0.5f) * 0.25f - 3)) < 1e-5f);
    }
    unlink(path);
    lm_net_free(back);
    lm_net_free(c);
    lm_net_free(net);
}

/* lm_train_resume restores the file's target standardisation, and none
 * where the checkpoint holds none (as it does the input normalisation):
 * a net that had one would otherwise predict in units its parameters
 * were never trained for. */
static void test_resume_takes_the_files(void)
{
    lm_net *plain = line_net(), *scaled = line_net();
    if (!plain || !scaled) return;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_MSE;
    o.batch = 4;
    lm_rng rng = lm_rng_seed(2);
    lm_train *tp = NULL, *ts = NULL;
    CHECK_OK(lm_train_new(&tp, plain, &o, &rng));
    char path[64];
    snprintf(path, sizeof path, "/tmp/lamina-tnorm-ck-%d.lmn", (int)getpid());
    CHECK_OK(lm_train_save(tp, path));
    float mean = 7, sd = 3, gm, gs;
    CHECK_OK(lm_net_set_target_norm(scaled, &mean, &sd));
    CHECK_OK(lm_train_new(&ts, scaled, &o, &rng));
    CHECK_OK(lm_train_resume(ts, path));
    CHECK(lm_net_get_target_norm(scaled, NULL, NULL) == 0);
    /* and the other way: a checkpoint with one gives it to a net without */
    lm_train_free(ts);
    ts = NULL;
    CHECK_OK(lm_net_set_target_norm(scaled, &mean, &sd));
    CHECK_OK(lm_train_new(&ts, scaled, &o, &rng));
    CHECK_OK(lm_train_save(ts, path));
    CHECK_OK(lm_train_resume(tp, path));
    CHECK(lm_net_get_target_norm(plain, &gm, &gs) == 1 && gm == 7 && gs == 3);
    unlink(path);
    lm_train_free(tp);
    lm_train_free(ts);
    lm_net_free(plain);
    lm_net_free(scaled);
}

/* lm_evaluate and lm_fit see standardised targets: a net that outputs 0
 * has MSE 1 (the targets' variance after standardising), and training
 * on targets around 1000 converges from the default settings. */
static void test_fit_standardised(void)
{
    enum { N = 64 };
    float x[N], y[N];
    double mu = 0, var = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / N - 0.5f;
        y[i] = 1000 + 400 * x[i];
        mu += y[i];
    }
    mu /= N;
    for (int i = 0; i < N; i++) var += (y[i] - mu) * (y[i] - mu);
    float mean = (float)mu, sd = (float)sqrt(var / N);
    lm_net *net = line_net();
    if (!net) return;
    float *p = lm_net_params(net);
    p[0] = p[1] = 0;
    CHECK_OK(lm_net_set_target_norm(net, &mean, &sd));
    lm_data d = {.n = N, .nx = 1, .x = x, .y = y, .ny = 1};
    float loss = -1, acc;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_MSE, &loss, &acc));
    CHECKF(fabsf(loss - 1) < 1e-4f, "MSE of a zero output %g, want 1", loss);
    lm_rng rng = lm_rng_seed(1);
    lm_fit_opts o = lm_fit_defaults();
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.05f;
    o.epochs = 30;
    o.batch = 8;
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    float pred;
    const float x0 = 0.25f;
    CHECK_OK(lm_net_predict(net, &x0, 1, &pred));
    CHECKF(fabsf(pred - 1100) < 10, "prediction %g at x = 0.25, want 1100", pred);
    lm_net_free(net);
}

int main(void)
{
    RUN(test_predict_undoes);
    RUN(test_file_and_clone);
    RUN(test_resume_takes_the_files);
    RUN(test_fit_standardised);
    TEST_MAIN_END();
}
