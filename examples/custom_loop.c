/* custom_loop.c - a training loop the caller drives, step by step, over
 * its own arrays (lm_fit does all of this for you; this is for when you
 * want the loop in your hands):
 *
 *     custom_loop [CHECKPOINT [EPOCHS]]   (custom_loop.ckpt, 100 epochs a half)
 *
 * It fits y = sin(x) on [-pi, pi] with a small tanh net: its own
 * minibatches (lm_train_step), gradients clipped to a global norm,
 * a checkpoint half-way (lm_train_save), then - as a new process would -
 * the net and the optimizer state loaded back (lm_train_resume) and the
 * learning rate lowered for the second half, where each step goes through
 * the low-level pair lm_train_loss_grad + lm_train_apply_grads to look at
 * the gradient between the two, and lowered once more (lm_train_set_lr)
 * for its last quarter. */
#include <lamina.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 512          /* training rows */
#define N_TEST 201     /* test rows, a grid over [-pi, pi] */
#define BATCH 32       /* rows per step */
#define PI 3.14159265358979f

/* The caller's own batch order for epoch e: a permutation drawn from a
 * seed made of e, so that a resumed run draws the same order as an
 * uninterrupted one would (the trainer's own RNG, saved in checkpoints,
 * only serves lm_train_epoch and dropout). */
static void epoch_order(int e, int *order)
{
    lm_rng r = lm_rng_seed(1000 + (uint64_t)e);
    for (int i = 0; i < N; i++) order[i] = i;
    for (int i = N - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)lm_rng_below(&r, (uint64_t)i + 1), k = order[i];
        order[i] = order[j];
        order[j] = k;
    }
}

/* Options shared by both halves; the learning rate is the caller's. */
static lm_fit_opts options(float lr)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_MSE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = lr;
    o.optim.clip_norm = 1.0f; /* every step: scale the gradient down to norm 1 if above */
    o.batch = BATCH;          /* the most rows one step may take */
    return o;
}

/* The test rows' mean squared error: lm_evaluate over a view of the
 * caller's arrays (an lm_data filled by hand owns nothing). */
static lm_status test_mse(lm_net *net, const float *x, const float *y, float *mse)
{
    lm_data test = {.n = N_TEST, .nx = 1, .x = x, .y = y, .ny = 1};
    return lm_evaluate(net, &test, LM_LOSS_MSE, mse, NULL);
}

int main(int argc, char **argv)
{
    const char *ckpt = argc > 1 ? argv[1] : "custom_loop.ckpt";
    /* epochs at lr 0.01, then a checkpoint; as many at lr 0.001 after it */
    int half = argc > 2 ? atoi(argv[2]) : 100;
    if (half < 1) {
        fprintf(stderr, "custom_loop: EPOCHS must be a number >= 1\n");
        return 2;
    }
    static float x[N], y[N], xt[N_TEST], yt[N_TEST], xb[BATCH], yb[BATCH];
    static int order[N];
    lm_rng rng = lm_rng_seed(7);
    for (int i = 0; i < N; i++) {
        x[i] = (2 * lm_rng_uniform(&rng) - 1) * PI;
        y[i] = sinf(x[i]);
    }
    for (int i = 0; i < N_TEST; i++) {
        xt[i] = -PI + 2 * PI * (float)i / (N_TEST - 1);
        yt[i] = sinf(xt[i]);
    }

    lm_net *net = NULL;
    lm_train *t = NULL;
    lm_status st = lm_net_new(&net, 1);
    if (st == LM_OK) st = lm_net_add_dense(net, 32, LM_TANH, LM_BIAS);
    if (st == LM_OK) st = lm_net_add_dense(net, 32, LM_TANH, LM_BIAS);
    if (st == LM_OK) st = lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS);
    if (st == LM_OK) st = lm_net_init(net, LM_INIT_XAVIER, &rng);

    /* A trainer holds the optimizer state and every buffer a step needs:
     * no step allocates. The net's shape is frozen while it exists. */
    lm_fit_opts o1 = options(0.01f);
    if (st == LM_OK) st = lm_train_new(&t, net, &o1, &rng);

    /* ---- first half: the plain step, one call per minibatch */
    float mse;
    for (int e = 0; st == LM_OK && e < half; e++) {
        epoch_order(e, order);
        double sum = 0;
        for (int b = 0; st == LM_OK && b < N; b += BATCH) {
            for (int i = 0; i < BATCH; i++) { /* gather the batch's rows */
                xb[i] = x[order[b + i]];
                yb[i] = y[order[b + i]];
            }
            float loss = 0; /* the batch's loss before the step */
            st = lm_train_step(t, xb, yb, NULL, BATCH, &loss);
            sum += loss;
        }
        if (st == LM_OK && (e + 1) % 25 == 0) {
            st = test_mse(net, xt, yt, &mse);
            printf("epoch %3d  lr %-6g train mse %.5f  test mse %.5f\n", e + 1, (double)lm_train_lr(t),
                   sum / (N / BATCH), mse);
        }
    }
    /* The checkpoint: the net, Adam's moments, the step count, the
     * trainer's RNG, written atomically (a temporary file, then rename). */
    if (st == LM_OK) st = lm_train_save(t, ckpt);
    if (st != LM_OK) goto fail; /* lm_errmsg() first: a later call may replace it */
    lm_train_free(t); /* the trainer before its net */
    lm_net_free(net);
    t = NULL;
    net = NULL;

    /* ---- second half, as a new process would start it */
    int has_state = 0;
    uint64_t steps = 0;
    st = lm_train_state_info(ckpt, &has_state, NULL, &steps);
    if (st != LM_OK) goto fail;
    printf("checkpoint %s: %s, %llu steps\n", ckpt, has_state ? "training state" : "no training state",
           (unsigned long long)steps);
    /* lm_net_load reads the checkpoint's net (architecture and parameters);
     * a trainer made with the new options takes the optimizer state from
     * the file. The learning rate is the new trainer's: 10 times lower. */
    lm_fit_opts o2 = options(0.001f);
    st = lm_net_load(&net, ckpt);
    if (st == LM_OK) st = lm_train_new(&t, net, &o2, &rng);
    if (st == LM_OK) st = lm_train_resume(t, ckpt);
    if (st != LM_OK) goto fail;

    int n_steps_epoch = N / BATCH, first = (int)(lm_train_steps(t) / (uint64_t)n_steps_epoch);
    float *g = lm_net_grads(net); /* the net's gradient buffer, (n_params) */
    size_t n_par = lm_net_n_params(net);
    double max_norm = 0;
    for (int e = first; st == LM_OK && e < 2 * half; e++) {
        /* the caller's own schedule: a step down for the last quarter */
        if (e == half + half / 2) st = lm_train_set_lr(t, 0.0003f);
        epoch_order(e, order);
        double sum = 0;
        for (int b = 0; st == LM_OK && b < N; b += BATCH) {
            for (int i = 0; i < BATCH; i++) {
                xb[i] = x[order[b + i]];
                yb[i] = y[order[b + i]];
            }
            /* forward and backward: the gradient lands in lm_net_grads */
            float loss = 0;
            st = lm_train_loss_grad(t, xb, yb, NULL, BATCH, &loss);
            if (st != LM_OK) break;
            sum += loss;
            /* Here the caller may read or change the gradient (sum it over
             * machines, clip it its own way...); this one measures it. */
            double sq = 0;
            for (size_t i = 0; i < n_par; i++) sq += (double)g[i] * g[i];
            if (sqrt(sq) > max_norm) max_norm = sqrt(sq);
            /* the optimizer step on the gradient as it is now (clipped to
             * o2.optim.clip_norm first) */
            st = lm_train_apply_grads(t);
        }
        if (st == LM_OK && (e + 1) % 25 == 0) {
            st = test_mse(net, xt, yt, &mse);
            printf("epoch %3d  lr %-6g train mse %.5f  test mse %.5f\n", e + 1, (double)lm_train_lr(t),
                   sum / n_steps_epoch, mse);
        }
    }
    if (st != LM_OK) goto fail;

    /* The end: the test error, and one prediction. */
    float yhat, x1 = 1.0f;
    st = test_mse(net, xt, yt, &mse);
    if (st == LM_OK) st = lm_net_predict(net, &x1, 1, &yhat);
    if (st != LM_OK) goto fail;
    printf("largest gradient norm after the resume %.4f (clip_norm scales any above 1 down)\n", max_norm);
    printf("sin(1) = %.4f, the net says %.4f; test mse %.6f after %llu steps\n", sinf(1.0f), yhat, mse,
           (unsigned long long)lm_train_steps(t));
    lm_train_free(t);
    lm_net_free(net);
    return 0;

fail:
    fprintf(stderr, "custom_loop: %s (%s)\n", lm_errmsg(), lm_status_name(st));
    lm_train_free(t);
    lm_net_free(net);
    return 1;
}
