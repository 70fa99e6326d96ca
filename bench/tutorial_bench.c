/* tutorial_bench.c - the tutorial's 2-layer network through lamina's
 * public API: 3-4-1 sigmoid, no biases, SSE, SGD lr 1, batch 4, 1500
 * iterations. Prints ms (the best run of the whole 1500, of as many runs
 * as fit in 0.1 s, at least 5: about the time the numpy peer's five runs
 * take, so both get the same chance to find the machine quiet) and the
 * final loss as key=value pairs. */
#include "lamina.h"

#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    static const float X[12] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1};
    static const float Y[4] = {0, 1, 1, 0};
    lm_data d = {.n = 4, .nx = 3, .x = X, .ny = 1, .y = Y};
    double best = 1e9, start = now();
    float loss = 0;
    for (int rep = 0; rep < 5 || now() - start < 0.1; rep++) {
        lm_net *net;
        lm_rng rng = lm_rng_seed(1);
        if (lm_net_new(&net, 3) || lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS) ||
            lm_net_add_dense(net, 1, LM_SIGMOID, LM_NO_BIAS) ||
            lm_net_init(net, LM_INIT_UNIFORM01, &rng) || lm_net_set_threads(net, 1)) {
            fprintf(stderr, "tutorial_bench: %s\n", lm_errmsg());
            return 1;
        }
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_SSE;
        o.optim.kind = LM_SGD;
        o.optim.lr = 1.0f;
        o.epochs = 1500;
        o.batch = 4;
        o.shuffle = 0;
        double t0 = now();
        if (lm_fit(net, &d, &o, &rng) != LM_OK) {
            fprintf(stderr, "tutorial_bench: %s\n", lm_errmsg());
            return 1;
        }
        double ms = (now() - t0) * 1e3;
        if (ms < best) best = ms;
        float acc;
        lm_evaluate(net, &d, LM_LOSS_SSE, &loss, &acc);
        lm_net_free(net);
    }
    printf("ms=%.3f final_loss=%.6f\n", best, loss);
    return 0;
}
