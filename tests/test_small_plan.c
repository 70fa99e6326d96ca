/* test_small_plan.c - the fused small-net path split in two: kernels
 * that take widths and plain arrays (src/kernels/small.h) and the plan a
 * workspace owns (src/small_plan.c), which hands a net's buffers to them.
 *  - the kernels, driven with arrays and no net, give the general path's
 *    bits (forward output, weight and bias gradients);
 *  - a workspace that serves several nets of its widths in turn
 *    (lm_net_predict_ws) runs each with its own weights, biases and
 *    activations: the plan's cached description of the layers follows
 *    the net it is given, and a net of its widths that is no chain of
 *    matrix layers takes the general path.
 * test_small.c compares the two paths over many shapes and trainings. */
#include "harness.h"

#include "internal.h"
#include "kernels/cpu.h"
#include "small_plan.h"

#include <lamina.h>
#include <stdlib.h>

static lm_net *make_net(int bias, lm_act a0, lm_act a1, uint64_t seed)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(seed);
    if (lm_net_new(&net, 3)) return NULL;
    lm_net_add_dense(net, 5, a0, bias ? LM_BIAS : LM_NO_BIAS);
    lm_net_add_dense(net, 2, a1, bias ? LM_BIAS : LM_NO_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_net_set_threads(net, 1);
    if (bias) /* non-zero biases, so that a lost bias shows */
        for (int l = 0; l < 2; l++) {
            lm_layer_info li;
            lm_net_layer(net, l, &li);
            for (int j = 0; j < li.n_out; j++) lm_net_params(net)[li.b_offset + j] = 0.1f * (float)(j + l + 1);
        }
    return net;
}

enum { ROWS = 8 };
static float X[ROWS * 3];

static void fill_x(void)
{
    lm_rng r = lm_rng_seed(5);
    for (int i = 0; i < ROWS * 3; i++) X[i] = lm_rng_normal(&r);
}

/* One workspace, three nets of its widths in turn, each twice: every
 * prediction is the one the net gives through its own workspace. */
static void one_workspace_many_nets(void)
{
    if (!lm__variant_now()->small) SKIP("the AVX-512 kernels are not in use here");
    lm_net *net[3] = {make_net(0, LM_SIGMOID, LM_SIGMOID, 1), make_net(1, LM_TANH, LM_IDENTITY, 2),
                      make_net(1, LM_RELU, LM_SOFTMAX, 3)};
    float want[3][ROWS * 2], got[ROWS * 2];
    for (int i = 0; i < 3; i++) CHECK_OK(lm_net_predict(net[i], X, ROWS, want[i]));
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, net[0], ROWS));
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++) {
            memset(got, 0, sizeof got);
            CHECK_OK(lm_net_predict_ws(net[i], ws, X, ROWS, got));
            CHECKF(ws->fused, "net %d did not take the fused path", i);
            CHECKF(!memcmp(got, want[i], sizeof got), "net %d (round %d) through another net's workspace", i,
                   round);
        }
    lm_ws_free(ws);
    for (int i = 0; i < 3; i++) lm_net_free(net[i]);
}

/* A net of the workspace's widths that is not a chain of matrix layers
 * (a 1x1 average pooling keeps its width) goes the general path through
 * it, with its own results. */
static void other_kinds_same_widths(void)
{
    if (!lm__variant_now()->small) SKIP("the AVX-512 kernels are not in use here");
    lm_net *dense = make_net(1, LM_TANH, LM_SIGMOID, 4), *pool;
    CHECK_OK(lm_net_new(&pool, 3));
    CHECK_OK(lm_net_set_input_shape(pool, 3, 1, 1));
    CHECK_OK(lm_net_add_dense(pool, 5, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_avgpool2d(pool, 1, 1));
    CHECK_OK(lm_net_set_threads(pool, 1));
    lm_rng rng = lm_rng_seed(4);
    CHECK_OK(lm_net_init(pool, LM_INIT_HE, &rng));
    lm_net *fits;
    CHECK_OK(lm_net_new(&fits, 3)); /* the pooling net's widths in dense layers: 3-5-5 */
    CHECK_OK(lm_net_add_dense(fits, 5, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dense(fits, 5, LM_IDENTITY, LM_BIAS));
    float want[ROWS * 5], got[ROWS * 5];
    CHECK_OK(lm_net_predict(pool, X, ROWS, want));
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, fits, ROWS));
    CHECK(ws->small != NULL);
    CHECK_OK(lm_net_predict_ws(pool, ws, X, ROWS, got));
    CHECK(!ws->fused && !lm__small_use(pool, ws, 1));
    CHECK(!memcmp(got, want, sizeof got));
    CHECK(lm__small_use(fits, ws, 1)); /* and the net it was made for still takes it */
    lm_ws_free(ws);
    lm_net_free(fits);
    lm_net_free(pool);
    lm_net_free(dense);
}

/* The kernels with arrays of the caller's, no net: the same bits as the
 * general path of a net holding those arrays. */
static void kernels_take_plain_arrays(void)
{
    static const int widths[3] = {3, 5, 2};
    size_t floats = lm_small_floats(2, ROWS);
    if (!floats || !lm__variant_now()->small) SKIP("the AVX-512 kernels are not in use here");
    lm_net *net = make_net(1, LM_TANH, LM_SIGMOID, 7);
    lm_layer_info li[2];
    CHECK_OK(lm_net_layer(net, 0, &li[0]));
    CHECK_OK(lm_net_layer(net, 1, &li[1]));
    /* the caller's copies: weights and biases each in their own array,
     * with the LM_SMALL_WIDTH spare floats small.h asks for */
    float *w[2], *b[2], *dw[2], *db[2];
    for (int l = 0; l < 2; l++) {
        size_t nw = (size_t)li[l].n_in * (size_t)li[l].n_out, nb = (size_t)li[l].n_out;
        w[l] = calloc(nw + LM_SMALL_WIDTH, sizeof(float));
        b[l] = calloc(nb + LM_SMALL_WIDTH, sizeof(float));
        dw[l] = calloc(nw, sizeof(float));
        db[l] = calloc(nb, sizeof(float));
        memcpy(w[l], lm_net_params(net) + li[l].w_offset, nw * sizeof(float));
        memcpy(b[l], lm_net_params(net) + li[l].b_offset, nb * sizeof(float));
    }
    float *pad = lm_big_alloc(floats * sizeof(float));
    lm_small *k = pad ? lm_small_new(2, widths, pad, ROWS) : NULL;
    CHECK(k != NULL);
    lm_small_layer layer[2] = {{LM_TANH, w[0], b[0], dw[0], db[0]}, {LM_SIGMOID, w[1], b[1], dw[1], db[1]}};
    float out[ROWS * 2], dout[ROWS * 2];
    for (int i = 0; i < ROWS * 2; i++) dout[i] = 0.25f * (float)(i % 5) - 0.5f;
    if (k) {
        lm_small_forward(k, layer, X, out, ROWS);
        lm_small_backward(k, layer, X, dout, ROWS);
    }

    /* the general path, forced, on the net */
    lm__small_enable(LM_SMALL_OFF);
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, net, ROWS));
    lm__net_load_input(net, ws, X, ROWS);
    lm__net_forward(net, ws, ROWS, 0, NULL, NULL);
    CHECK(!ws->fused);
    CHECK(!memcmp(out, ws->act[1], sizeof out));
    memcpy(ws->d0, dout, sizeof dout);
    lm__net_backward(net, ws, ROWS, 0, NULL);
    for (int l = 0; l < 2; l++) {
        CHECKF(!memcmp(dw[l], lm_net_grads(net) + li[l].w_offset, (size_t)li[l].n_in * li[l].n_out * sizeof(float)),
               "layer %d weight gradient", l);
        CHECKF(!memcmp(db[l], lm_net_grads(net) + li[l].b_offset, (size_t)li[l].n_out * sizeof(float)),
               "layer %d bias gradient", l);
    }
    lm__small_enable(LM_SMALL_AUTO);
    lm_ws_free(ws);
    lm_small_free(k);
    free(pad);
    for (int l = 0; l < 2; l++) free(w[l]), free(b[l]), free(dw[l]), free(db[l]);
    lm_net_free(net);
}

/* A new plan describes no net yet, whatever its memory held before: here
 * the freed blocks malloc hands back hold the net's own stamp in every
 * word, which made a plan left as malloc gave it skip describing the net
 * and run the kernels on garbage pointers (a crash seen in `lamina
 * train`). glibc reuses freed blocks of a size first; elsewhere the test
 * still checks the prediction. */
static void new_plan_describes_nothing_yet(void)
{
    if (!lm__variant_now()->small) SKIP("the AVX-512 kernels are not in use here");
    lm_net *net = make_net(1, LM_TANH, LM_SIGMOID, 6);
    float want[ROWS * 2], got[ROWS * 2];
    CHECK_OK(lm_net_predict(net, X, ROWS, want));
    size_t bytes = sizeof(lm__small_plan) + 2 * sizeof(lm_small_layer) + 3 * sizeof(int);
    enum { BLOCKS = 7 };
    void *blk[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blk[i] = malloc(bytes);
        CHECK(blk[i] != NULL);
        uint64_t *w = blk[i];
        for (size_t j = 0; j < bytes / sizeof *w; j++) w[j] = net->stamp;
    }
    for (int i = BLOCKS - 1; i >= 0; i--) free(blk[i]);
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, net, ROWS));
    memset(got, 0, sizeof got);
    CHECK_OK(lm_net_predict_ws(net, ws, X, ROWS, got));
    CHECK(ws->fused);
    CHECK(!memcmp(got, want, sizeof got));
    lm_ws_free(ws);
    lm_net_free(net);
}

int main(void)
{
    fill_x();
    RUN(one_workspace_many_nets);
    RUN(other_kinds_same_widths);
    RUN(kernels_take_plain_arrays);
    RUN(new_plan_describes_nothing_yet);
    TEST_MAIN_END();
}
