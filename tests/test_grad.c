/* test_grad.c - every activation, every loss and the dense layer with and
 * without bias checked against central finite differences, in several
 * shapes. Analytic gradients come from lm_train_loss_grad; numeric ones
 * from the loss at params +- h. A guard makes sure the gradients are not
 * all (near) zero, which would pass any comparison. */
#include "harness.h"

#include <lamina.h>

typedef struct gcase {
    int n_in, hidden, n_out;
    lm_act hidden_act, out_act;
    int hidden_bias, out_bias;
    lm_loss loss;
    int use_labels;
    size_t batch;
} gcase;

/* Unequal class weights, one of them 0 (that class's rows drop out). */
static const float class_weights[8] = {0.3f, 2.5f, 0.0f, 1.7f, 1.0f, 0.6f, 3.0f, 0.9f};

/* Fills targets that suit the loss: probabilities for CE/BCE, anything
 * for squared losses. */
static void make_targets(const gcase *c, lm_rng *rng, float *y, int32_t *lab)
{
    for (size_t r = 0; r < c->batch; r++) {
        if (c->use_labels) {
            lab[r] = (int32_t)lm_rng_below(rng, c->n_out == 1 ? 2 : (uint64_t)c->n_out);
            continue;
        }
        float sum = 0;
        for (int j = 0; j < c->n_out; j++) {
            float v = lm_rng_uniform(rng);
            y[r * c->n_out + j] = c->loss == LM_LOSS_SSE || c->loss == LM_LOSS_MSE ? 2 * v - 1 : v;
            sum += v;
        }
        if (c->loss == LM_LOSS_CE)
            for (int j = 0; j < c->n_out; j++) y[r * c->n_out + j] /= sum;
    }
}

/* Returns the number of parameters checked with a clearly non-zero
 * gradient, or -1 after recording a failure. */
/* weighted: train with class_weights (labels only). */
static int check_case(const gcase *c, uint64_t seed, int weighted)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(seed);
    CHECK_OK(lm_net_new(&net, c->n_in));
    if (c->hidden) CHECK_OK(lm_net_add_dense(net, c->hidden, c->hidden_act, c->hidden_bias ? LM_BIAS : LM_NO_BIAS));
    CHECK_OK(lm_net_add_dense(net, c->n_out, c->out_act, c->out_bias ? LM_BIAS : LM_NO_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    size_t np = lm_net_n_params(net);
    float *p = lm_net_params(net);
    /* Non-zero biases so the bias path matters. */
    for (size_t i = 0; i < np; i++)
        if (p[i] == 0.0f) p[i] = 0.5f * (lm_rng_uniform(&rng) - 0.5f);

    float x[64 * 16], y[64 * 8];
    int32_t lab[64];
    for (size_t i = 0; i < c->batch * (size_t)c->n_in; i++) x[i] = 2 * lm_rng_uniform(&rng) - 1;
    make_targets(c, &rng, y, lab);
    const float *yy = c->use_labels ? NULL : y;
    const int32_t *ll = c->use_labels ? lab : NULL;

    lm_fit_opts o = lm_fit_defaults();
    o.loss = c->loss;
    o.batch = c->batch;
    if (weighted) {
        o.class_weights = class_weights;
        o.n_class_weights = c->n_out == 1 ? 2 : c->n_out;
    }
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float loss, lp, lm_;
    CHECK_OK(lm_train_loss_grad(t, x, yy, ll, c->batch, &loss));
    float *ana = malloc(np * sizeof *ana);
    memcpy(ana, lm_net_grads(net), np * sizeof *ana);

    int nonzero = 0, bad = 0;
    double worst = 0;
    size_t worst_i = 0;
    /* small enough not to step over a relu kink, large enough that float
     * rounding of the loss (~1e-7 relative) stays far below atol */
    const float h = 1e-3f;
    for (size_t i = 0; i < np; i++) {
        float keep = p[i];
        p[i] = keep + h;
        lm_train_loss_grad(t, x, yy, ll, c->batch, &lp);
        p[i] = keep - h;
        lm_train_loss_grad(t, x, yy, ll, c->batch, &lm_);
        p[i] = keep;
        double num = ((double)lp - lm_) / (2.0 * h);
        double err = fabs(num - ana[i]) / (2e-3 + 2e-2 * fabs(num));
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
        if (err > 1) bad++;
        if (fabs(ana[i]) > 1e-4) nonzero++;
    }
    CHECKF(bad == 0, "%s/%s loss %s batch %zu: %d of %zu gradients differ; worst param %zu "
           "analytic %g (err ratio %.2f)", lm_act_name(c->hidden_act), lm_act_name(c->out_act),
           lm_loss_name(c->loss), c->batch, bad, np, worst_i, ana[worst_i], worst);
    free(ana);
    lm_train_free(t);
    lm_net_free(net);
    return bad ? -1 : nonzero;
}

static void run_cases_weighted(const gcase *cases, int n, int weighted)
{
    for (int i = 0; i < n; i++) {
        int nz = check_case(&cases[i], 100 + (uint64_t)i, weighted);
        if (nz < 0) return;
        /* The guard: a broken backward that writes zeros must not pass. */
        CHECKF(nz * 2 > (int)(cases[i].n_in * cases[i].hidden), "case %d: only %d clearly non-zero gradients", i, nz);
    }
}

static void run_cases(const gcase *cases, int n) { run_cases_weighted(cases, n, 0); }

static void grad_activations(void)
{
    const lm_act acts[] = {LM_IDENTITY, LM_SIGMOID, LM_TANH, LM_RELU, LM_LEAKY_RELU, LM_SOFTMAX};
    for (int a = 0; a < 6; a++) {
        gcase cs[] = {
            {3, 5, 2, acts[a], LM_IDENTITY, 1, 1, LM_LOSS_MSE, 0, 4},
            {4, 7, 3, acts[a], LM_TANH, 0, 1, LM_LOSS_SSE, 0, 1},
            {6, 4, 1, acts[a], LM_SIGMOID, 1, 0, LM_LOSS_MSE, 0, 9},
        };
        run_cases(cs, 3);
    }
}

static void grad_output_softmax_jacobian(void)
{
    /* softmax as an output under a non-fused loss uses the full Jacobian */
    gcase cs[] = {
        {4, 6, 3, LM_TANH, LM_SOFTMAX, 1, 1, LM_LOSS_MSE, 0, 5},
        {4, 6, 4, LM_SIGMOID, LM_SOFTMAX, 1, 0, LM_LOSS_SSE, 1, 3},
    };
    run_cases(cs, 2);
}

static void grad_losses(void)
{
    gcase cs[] = {
        {3, 5, 2, LM_TANH, LM_IDENTITY, 1, 1, LM_LOSS_SSE, 0, 4},
        {3, 5, 2, LM_TANH, LM_IDENTITY, 1, 1, LM_LOSS_MSE, 0, 6},
        {3, 5, 3, LM_TANH, LM_IDENTITY, 1, 1, LM_LOSS_MSE, 1, 6},   /* one-hot labels */
        {3, 5, 1, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_BCE, 0, 7},    /* fused */
        {3, 5, 1, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_BCE, 1, 7},    /* fused, labels */
        {3, 5, 3, LM_TANH, LM_SOFTMAX, 1, 1, LM_LOSS_BCE, 0, 5},    /* unfused */
        {3, 5, 4, LM_RELU, LM_SOFTMAX, 1, 1, LM_LOSS_CE, 1, 8},     /* fused, labels */
        {3, 5, 4, LM_TANH, LM_SOFTMAX, 1, 1, LM_LOSS_CE, 0, 8},     /* fused, soft targets */
        {3, 5, 3, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_CE, 0, 5},     /* unfused */
    };
    run_cases(cs, 9);
}

static void grad_class_weights(void)
{
    /* the weighted losses: each row's term and gradient w[class] times */
    gcase cs[] = {
        {3, 5, 1, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_BCE, 1, 7},  /* fused, two weights */
        {3, 5, 1, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_CE, 1, 9},   /* one output: binary CE */
        {3, 5, 3, LM_TANH, LM_SOFTMAX, 1, 1, LM_LOSS_BCE, 1, 6},  /* unfused, one-hot */
        {3, 5, 4, LM_RELU, LM_SOFTMAX, 1, 1, LM_LOSS_CE, 1, 8},   /* fused */
        {3, 5, 4, LM_TANH, LM_SIGMOID, 1, 1, LM_LOSS_CE, 1, 8},   /* unfused */
        {4, 6, 8, LM_TANH, LM_SOFTMAX, 1, 1, LM_LOSS_CE, 1, 33},  /* fused, 8 classes */
    };
    run_cases_weighted(cs, 6, 1);
}

static void grad_dense_shapes(void)
{
    gcase cs[] = {
        {1, 1, 1, LM_TANH, LM_IDENTITY, 0, 0, LM_LOSS_MSE, 0, 1},
        {1, 1, 1, LM_TANH, LM_IDENTITY, 1, 1, LM_LOSS_MSE, 0, 1},
        {16, 9, 5, LM_SIGMOID, LM_IDENTITY, 1, 1, LM_LOSS_SSE, 0, 17},
        {7, 13, 8, LM_TANH, LM_IDENTITY, 0, 0, LM_LOSS_MSE, 0, 33},
        {5, 3, 2, LM_TANH, LM_IDENTITY, 1, 0, LM_LOSS_MSE, 0, 64},
    };
    run_cases(cs, 5);
}

static void loss_large_logits_finite(void)
{
    /* softmax+CE and sigmoid+BCE on logits of +-1000 stay finite */
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 1));
    CHECK_OK(lm_net_add_dense(net, 3, LM_SOFTMAX, LM_NO_BIAS));
    float *p = lm_net_params(net);
    p[0] = 1000; p[1] = -1000; p[2] = 0;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = 2;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float x[2] = {1, 1}, loss;
    int32_t lab[2] = {0, 1};
    CHECK_OK(lm_train_loss_grad(t, x, NULL, lab, 2, &loss));
    /* row 0 is right (loss ~0), row 1 is off by 2000 nats */
    CHECKF(fabsf(loss - 1000.0f) < 1e-2f, "loss %g, expected 1000", loss);
    const float *g = lm_net_grads(net);
    for (int i = 0; i < 3; i++) CHECK(isfinite(g[i]));
    CHECKF(fabsf(g[0] - 0.5f) < 1e-6f && fabsf(g[1] + 0.5f) < 1e-6f, "grads %g %g %g", g[0], g[1], g[2]);
    lm_train_free(t);
    lm_net_free(net);
}

int main(void)
{
    RUN(grad_activations);
    RUN(grad_output_softmax_jacobian);
    RUN(grad_losses);
    RUN(grad_class_weights);
    RUN(grad_dense_shapes);
    RUN(loss_large_logits_finite);
    TEST_MAIN_END();
}
