/* test_rows.c - a row's prediction depends on that row alone, never on
 * how many rows are predicted with it: every row of 300 predicted alone
 * has the bits it has in calls of 1..300 rows (lm_net_predict, and
 * lm_net_predict_ws through a workspace of a few rows), for small nets
 * (the fused small-net path and the tiny GEMM loops: a layer of fewer
 * than 512 multiply-adds a row is tiny alone and packed in a batch) and
 * wide ones, every hidden activation and a softmax output, small
 * convolutional nets, on every kernel variant this CPU and build have. `lamina predict` works in
 * chunks, so without this a row's printed digits could depend on the
 * length of the file. */
#include "harness.h"

#include "kernels/cpu.h"

#include <lamina.h>

#define ROWS 300
#define MAX_LAYERS 4

typedef struct net_spec {
    int n_in, n_layers;
    int widths[MAX_LAYERS];
    lm_act hidden, out;
    int bias;
    int side, filters; /* side > 0: n_in is a (1, side, side) image, first
                          a 3x3 convolution with filters channels, a batch
                          norm and 2x2 max pooling */
} net_spec;

static const net_spec NETS[] = {
    {3, 2, {5, 2}, LM_IDENTITY, LM_IDENTITY, 1, 0, 0}, /* the reported 3-5-2 */
    {3, 2, {4, 1}, LM_SIGMOID, LM_SIGMOID, 0, 0, 0}, /* the tutorial's */
    {16, 2, {16, 4}, LM_TANH, LM_IDENTITY, 1, 0, 0}, /* the widest small net */
    {2, 3, {8, 8, 3}, LM_RELU, LM_SOFTMAX, 1, 0, 0},
    {5, 4, {16, 16, 16, 1}, LM_LEAKY_RELU, LM_SIGMOID, 1, 0, 0},
    {20, 2, {20, 1}, LM_TANH, LM_IDENTITY, 1, 0, 0}, /* not small: a narrow output */
    {30, 2, {40, 3}, LM_RELU, LM_SOFTMAX, 1, 0, 0},
    {100, 1, {4}, LM_SIGMOID, LM_SIGMOID, 1, 0, 0},
    {32, 2, {100, 10}, LM_TANH, LM_SOFTMAX, 1, 0, 0}, /* every product packed */
    {16, 1, {3}, LM_RELU, LM_SOFTMAX, 1, 4, 2},
    {64, 2, {10, 3}, LM_TANH, LM_SOFTMAX, 1, 8, 4},
};
#define N_NETS (sizeof NETS / sizeof NETS[0])

static lm_net *make_net(const net_spec *ns, lm_rng *rng)
{
    lm_net *net;
    if (lm_net_new(&net, ns->n_in) != LM_OK) return NULL;
    if (ns->side && (lm_net_set_input_shape(net, 1, ns->side, ns->side) != LM_OK ||
                     lm_net_add_conv2d(net, ns->filters, 3, 3, 1, 1, ns->hidden, LM_BIAS) != LM_OK ||
                     lm_net_add_batchnorm(net, 0.1f, 1e-5f) != LM_OK ||
                     lm_net_add_maxpool2d(net, 2, 2) != LM_OK)) {
        lm_net_free(net);
        return NULL;
    }
    for (int l = 0; l < ns->n_layers; l++) {
        lm_act act = l == ns->n_layers - 1 ? ns->out : ns->hidden;
        if (lm_net_add_dense(net, ns->widths[l], act, ns->bias ? LM_BIAS : LM_NO_BIAS) != LM_OK) {
            lm_net_free(net);
            return NULL;
        }
    }
    if (lm_net_init(net, LM_INIT_XAVIER, rng) != LM_OK || lm_net_set_threads(net, 1) != LM_OK) {
        lm_net_free(net);
        return NULL;
    }
    return net;
}

/* The call size after n: every one, or under valgrind (tools/valgrind.sh
 * sets LM_TEST_VALGRIND, and memory checks need each path once, not each
 * size) every one up to 32, then doubling, then ROWS itself: a tenth of
 * the calls, the same kernel paths (the gcc and sanitizer runs take every
 * size). */
static int next_size(int n)
{
    static int quick = -1;
    if (quick < 0) quick = getenv("LM_TEST_VALGRIND") != NULL;
    if (!quick || n < 32) return n + 1;
    return n == ROWS ? ROWS + 1 : n * 2 > ROWS ? ROWS : n * 2;
}

/* The first row of y (ROWS, w) that differs from alone, or -1. */
static int first_diff(const float *alone, const float *y, int w)
{
    for (int r = 0; r < ROWS; r++)
        if (memcmp(alone + (size_t)r * w, y + (size_t)r * w, (size_t)w * sizeof *y)) return r;
    return -1;
}

static void check_net(const net_spec *ns, const char *variant)
{
    lm_rng rng = lm_rng_seed(11);
    lm_net *net = make_net(ns, &rng);
    CHECK(net != NULL);
    if (!net) return;
    int nin = ns->n_in, w = lm_net_n_out(net);
    float *x = malloc(sizeof(float) * ROWS * (size_t)nin);
    float *alone = malloc(sizeof(float) * ROWS * (size_t)w), *y = malloc(sizeof(float) * ROWS * (size_t)w);
    lm_ws *ws = NULL;
    CHECK_OK(lm_ws_new(&ws, net, 7)); /* predict_ws then works in chunks of 7 rows */
    for (int i = 0; i < ROWS * nin; i++) x[i] = 2.0f * lm_rng_normal(&rng);
    for (int r = 0; r < ROWS; r++)
        CHECK_OK(lm_net_predict(net, x + (size_t)r * nin, 1, alone + (size_t)r * w));
    /* calls of n rows, one after the other over all the rows */
    for (int n = 1; n <= ROWS && !th_case_failed; n = next_size(n)) {
        for (int r = 0; r < ROWS; r += n) {
            int m = ROWS - r < n ? ROWS - r : n;
            CHECK_OK(lm_net_predict(net, x + (size_t)r * nin, (size_t)m, y + (size_t)r * w));
        }
        int d = first_diff(alone, y, w);
        CHECKF(d < 0, "%s, net %d-%d..%d (%d layers): row %d predicted in calls of %d rows differs from alone",
               variant, nin, ns->widths[0], w, ns->n_layers, d, n);
    }
    CHECK_OK(lm_net_predict_ws(net, ws, x, ROWS, y));
    int d = first_diff(alone, y, w);
    CHECKF(d < 0, "%s, net %d-%d..%d: row %d through a 7-row workspace differs from alone", variant, nin,
           ns->widths[0], w, d);
    lm_ws_free(ws);
    lm_net_free(net);
    free(x);
    free(alone);
    free(y);
}

static void check_variant(const char *variant)
{
    const char *pinned = strcmp(variant, "ref") ? th_variant_pinned_away(variant) : NULL;
    if (pinned) SKIP("%s (%s)", pinned, variant);
    if (!lm__variant_force(variant)) SKIP("this CPU or build has no %s variant", variant);
    for (size_t i = 0; i < N_NETS && !th_case_failed; i++) check_net(&NETS[i], variant);
    lm__variant_force(NULL);
}

static void rows_alone_ref(void) { check_variant("ref"); }
static void rows_alone_avx2(void) { check_variant("avx2"); }
static void rows_alone_avx512(void) { check_variant("avx512"); }
static void rows_alone_neon(void) { check_variant("neon"); }

int main(void)
{
    RUN(rows_alone_ref);
    RUN(rows_alone_avx2);
    RUN(rows_alone_avx512);
    RUN(rows_alone_neon);
    TEST_MAIN_END();
}
