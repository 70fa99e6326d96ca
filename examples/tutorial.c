/* tutorial.c - the classic "neural network from scratch" tutorial in a
 * page of C: 3 inputs -> 4 sigmoid -> 1 sigmoid, no biases, sum of
 * squared errors, plain gradient descent with rate 1 on the whole batch,
 * weights drawn uniform in [0,1), 1500 iterations. */
#include <lamina.h>
#include <stdio.h>

static const float X[4 * 3] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}; /* (4, 3) */
static const float Y[4] = {0, 1, 1, 0};                             /* (4, 1) */

static int print_loss(const lm_epoch_info *e, void *ctx)
{
    (void)ctx;
    if (e->epoch == 1 || e->epoch % 100 == 0) printf("iteration %4d  loss %.6f\n", e->epoch, e->train_loss);
    return 0; /* keep going */
}

int main(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(1);
    lm_status st = lm_net_new(&net, 3);
    if (st == LM_OK) st = lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS);
    if (st == LM_OK) st = lm_net_add_dense(net, 1, LM_SIGMOID, LM_NO_BIAS);
    if (st == LM_OK) st = lm_net_init(net, LM_INIT_UNIFORM01, &rng);

    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_SSE;     /* sum((y - yhat)^2) */
    o.optim.kind = LM_SGD;    /* W -= 1.0 * dL/dW */
    o.optim.lr = 1.0f;
    o.epochs = 1500;
    o.batch = 4;              /* the whole set each iteration */
    o.shuffle = 0;
    o.on_epoch = print_loss;
    lm_data d = {.n = 4, .nx = 3, .x = X, .y = Y, .ny = 1};
    if (st == LM_OK) st = lm_fit(net, &d, &o, &rng);

    float yhat[4];
    if (st == LM_OK) st = lm_net_predict(net, X, 4, yhat);
    if (st != LM_OK) {
        fprintf(stderr, "tutorial: %s\n", lm_errmsg());
        lm_net_free(net);
        return 1;
    }
    printf("\n  x          target  prediction\n");
    for (int i = 0; i < 4; i++)
        printf("  %g %g %g      %g      %.4f\n", X[3 * i], X[3 * i + 1], X[3 * i + 2], Y[i], yhat[i]);
    lm_net_free(net);
    return 0;
}
