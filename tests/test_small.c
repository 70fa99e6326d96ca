/* test_small.c - the fused small-net path (src/kernels/small_avx512.c)
 * gives exactly the general path's bits: the same nets trained and run
 * with it on and forced off must end with equal parameters, equal
 * per-epoch losses, equal gradients and equal predictions (memcmp), over
 * widths 1..16, batches of 1 to 300 rows (tiny and packed GEMM shapes,
 * one and several blocks), every activation, loss, optimizer and bias
 * setting (the fused path forced on for every batch size). Nets that are
 * not small, and other kernel variants, must not take it. Where the
 * AVX-512 kernels are not in use (no AVX-512, or LAMINA_ISA=avx2|ref)
 * there is nothing to compare: the cases then only check that the path
 * stays off. */
#include "harness.h"

#include "internal.h"
#include "kernels/cpu.h"

#include <lamina.h>

#define MAX_LAYERS 4
#define MAX_ROWS 300
#define MAX_PARAMS 2048

typedef struct net_spec {
    int n_in, n_layers;
    int widths[MAX_LAYERS];
    lm_act acts[MAX_LAYERS];
    int bias;
} net_spec;

typedef struct train_spec {
    lm_loss loss;
    int optim; /* 0 SGD, 1 SGD with momentum (Nesterov on odd seeds), 2 Adam, 3 AdamW */
    size_t batch, n;
    int sparse; /* inputs with all-zero columns and rows */
    int labels; /* targets as class labels (CE, BCE with one output) */
    uint64_t seed;
} train_spec;

/* What one run leaves behind, compared bit for bit. */
typedef struct outcome {
    lm_status st;
    size_t n_params;
    float params[MAX_PARAMS];
    float grads[MAX_PARAMS];
    float losses[8];
    float pred[MAX_ROWS * 16];
    float pred_ws[MAX_ROWS * 16];
    float eval_loss;
    int used_small; /* the fused path ran */
} outcome;

static int fused_available(void)
{
    return lm__variant_now()->small;
}

static lm_net *make_net(const net_spec *ns, uint64_t seed)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(seed);
    if (lm_net_new(&net, ns->n_in)) return NULL;
    for (int l = 0; l < ns->n_layers; l++)
        lm_net_add_dense(net, ns->widths[l], ns->acts[l], ns->bias ? LM_BIAS : LM_NO_BIAS);
    lm_net_init(net, seed & 1 ? LM_INIT_XAVIER : LM_INIT_HE, &rng);
    lm_net_set_threads(net, 1 + (int)(seed % 3)); /* the general path may thread */
    return net;
}

static float x_buf[MAX_ROWS * 16], y_buf[MAX_ROWS * 16];
static int32_t l_buf[MAX_ROWS];

/* Inputs and targets fitting the loss. */
static lm_data make_data(const net_spec *ns, const train_spec *ts)
{
    lm_rng r = lm_rng_seed(ts->seed * 7 + 1);
    int w = ns->widths[ns->n_layers - 1];
    for (size_t i = 0; i < ts->n; i++) {
        for (int j = 0; j < ns->n_in; j++) {
            float v = lm_rng_normal(&r);
            if (ts->sparse && (j % 3 == 0 || i % 4 == 1)) v = 0.0f;
            x_buf[i * ns->n_in + j] = v;
        }
        l_buf[i] = (int32_t)lm_rng_below(&r, w == 1 ? 2 : (uint64_t)w);
        for (int j = 0; j < w; j++) {
            float t = lm_rng_uniform(&r);
            if (ts->loss == LM_LOSS_CE) t = j == l_buf[i];
            if (ts->loss == LM_LOSS_BCE) t = t < 0.5f ? 0.0f : 1.0f;
            y_buf[i * w + j] = t;
        }
    }
    lm_data d = {.n = ts->n, .nx = ns->n_in, .x = x_buf};
    if (ts->labels) {
        d.labels = l_buf;
        d.n_classes = w == 1 ? 2 : w;
    } else {
        d.y = y_buf;
        d.ny = w;
    }
    return d;
}

static int record_loss(const lm_epoch_info *e, void *ctx)
{
    outcome *o = ctx;
    if (e->epoch >= 1 && e->epoch <= 8) o->losses[e->epoch - 1] = e->train_loss;
    return 0;
}

/* Trains a net of ns as ts says with the fused path on or off, and runs
 * it forward and backward once more, into *o. */
static void run(const net_spec *ns, const train_spec *ts, int small, outcome *o)
{
    memset(o, 0, sizeof *o);
    lm__small_enable(small ? LM_SMALL_ALWAYS : LM_SMALL_OFF);
    lm_net *net = make_net(ns, ts->seed);
    lm_data d = make_data(ns, ts);
    lm_fit_opts f = lm_fit_defaults();
    f.loss = ts->loss;
    f.optim.kind = ts->optim >= 2 ? (ts->optim == 2 ? LM_ADAM : LM_ADAMW) : LM_SGD;
    f.optim.lr = ts->optim >= 2 ? 0.01f : 0.05f;
    f.optim.momentum = ts->optim == 1 ? 0.9f : 0.0f;
    f.optim.nesterov = ts->optim == 1 && (ts->seed & 1);
    f.optim.weight_decay = ts->optim == 3 ? 0.01f : 0.0f;
    f.epochs = 3;
    f.batch = ts->batch;
    f.on_epoch = record_loss;
    f.ctx = o;
    lm_rng rng = lm_rng_seed(ts->seed + 100);
    o->st = lm_fit(net, &d, &f, &rng);
    o->n_params = lm_net_n_params(net);
    memcpy(o->params, lm_net_params(net), o->n_params * sizeof(float));

    /* one more forward and backward on the first batch, for the raw
     * gradients (the optimizer may hide a difference in the update) */
    lm_train *t;
    size_t rows = ts->batch < ts->n ? ts->batch : ts->n;
    if (lm_train_new(&t, net, &f, &rng) == LM_OK) {
        float loss;
        lm_train_loss_grad(t, x_buf, d.y, d.labels, rows, &loss);
        memcpy(o->grads, lm_net_grads(net), o->n_params * sizeof(float));
        lm_train_free(t);
    }
    lm_net_predict(net, x_buf, ts->n, o->pred);
    lm_ws *ws;
    if (lm_ws_new(&ws, net, 7) == LM_OK) { /* several workspace loads */
        lm_net_predict_ws(net, ws, x_buf, ts->n, o->pred_ws);
        o->used_small = lm__small_use(net, ws, 1) && ws->fused;
        lm_ws_free(ws);
    }
    float acc;
    lm_evaluate(net, &d, ts->loss, &o->eval_loss, &acc);
    lm_net_free(net);
    lm__small_enable(LM_SMALL_AUTO);
}

static int compared, mismatched, trained; /* in the current case */

/* Runs both paths and requires the same bits; label names the case. */
static void compare(const net_spec *ns, const train_spec *ts)
{
    static outcome a, b;
    run(ns, ts, 1, &a);
    run(ns, ts, 0, &b);
    compared++;
    trained += a.st == LM_OK;
    int w = ns->widths[ns->n_layers - 1];
    size_t np = a.n_params;
    int same = a.st == b.st && a.n_params == b.n_params && !b.used_small &&
               a.used_small == fused_available() &&
               !memcmp(a.params, b.params, np * sizeof(float)) &&
               !memcmp(a.grads, b.grads, np * sizeof(float)) &&
               !memcmp(a.losses, b.losses, sizeof a.losses) &&
               !memcmp(a.pred, b.pred, ts->n * w * sizeof(float)) &&
               !memcmp(a.pred_ws, b.pred_ws, ts->n * w * sizeof(float)) &&
               !memcmp(&a.eval_loss, &b.eval_loss, sizeof(float));
    if (!same && mismatched++ < 5) {
        char arch[128];
        int p = snprintf(arch, sizeof arch, "%d", ns->n_in);
        for (int l = 0; l < ns->n_layers; l++)
            p += snprintf(arch + p, sizeof arch - (size_t)p, "-%d%s", ns->widths[l], lm_act_name(ns->acts[l]));
        CHECKF(same, "%s bias %d loss %s optim %d batch %zu n %zu sparse %d labels %d: "
               "status %d/%d used %d/%d params %d grads %d losses %d pred %d pred_ws %d eval %d",
               arch, ns->bias, lm_loss_name(ts->loss), ts->optim, ts->batch, ts->n, ts->sparse,
               ts->labels, a.st, b.st, a.used_small, b.used_small,
               memcmp(a.params, b.params, np * sizeof(float)) != 0,
               memcmp(a.grads, b.grads, np * sizeof(float)) != 0,
               memcmp(a.losses, b.losses, sizeof a.losses) != 0,
               memcmp(a.pred, b.pred, ts->n * w * sizeof(float)) != 0,
               memcmp(a.pred_ws, b.pred_ws, ts->n * w * sizeof(float)) != 0,
               memcmp(&a.eval_loss, &b.eval_loss, sizeof(float)) != 0);
    }
}

static const lm_act ACTS[] = {LM_IDENTITY, LM_SIGMOID, LM_TANH, LM_RELU, LM_LEAKY_RELU};
enum { N_ACTS = sizeof ACTS / sizeof ACTS[0] };
static const size_t ROWS[] = {1, 3, 4, 17, 64};
enum { N_ROWS = sizeof ROWS / sizeof ROWS[0] };

/* A loss and target form that suit the output act (CE needs softmax or
 * sigmoid outputs, one output a sigmoid). */
static train_spec pick_training(lm_act last, int w, int k, size_t batch, uint64_t seed)
{
    train_spec ts = {LM_LOSS_MSE, k % 4, batch, batch * 2 + 1, k % 5 == 2, 0, seed};
    static const lm_loss losses[] = {LM_LOSS_SSE, LM_LOSS_MSE, LM_LOSS_BCE, LM_LOSS_CE};
    ts.loss = losses[k % 4];
    if (ts.loss == LM_LOSS_CE && last != LM_SOFTMAX && last != LM_SIGMOID && w > 1) ts.loss = LM_LOSS_SSE;
    if (ts.loss == LM_LOSS_CE && last != LM_SIGMOID && w == 1) ts.loss = LM_LOSS_SSE;
    if (ts.loss == LM_LOSS_BCE && last != LM_SIGMOID && last != LM_SOFTMAX) ts.loss = LM_LOSS_MSE;
    ts.labels = (ts.loss == LM_LOSS_CE || (ts.loss == LM_LOSS_BCE && w == 1)) && (k & 4);
    if (ts.n > MAX_ROWS) ts.n = MAX_ROWS;
    return ts;
}

/* The verdict on a grid of cases run through compare(): no case may
 * differ, and most must have trained (a comparison of runs that stopped
 * at once would prove little). */
static void grid_verdict(void)
{
    CHECKF(mismatched == 0, "%d of %d cases differ", mismatched, compared);
    CHECKF(trained >= compared * 9 / 10, "only %d of %d cases trained", trained, compared);
    printf("# %d cases\n", compared);
}

/* Every width 1..16 as input, hidden and output width, over the batch
 * sizes, activations and settings taken in turn. */
static void widths_grid(void)
{
    compared = mismatched = trained = 0;
    int k = 0;
    for (int w = 1; w <= 16; w++)
        for (int r = 0; r < N_ROWS; r++, k++) {
            lm_act last = k % 6 == 5 ? LM_SOFTMAX : ACTS[(k + 2) % N_ACTS];
            net_spec ns = {w, 2, {17 - w, w}, {ACTS[k % N_ACTS], last}, k % 2};
            train_spec ts = pick_training(last, w, k, ROWS[r], (uint64_t)k);
            compare(&ns, &ts);
        }
    grid_verdict();
}

/* The tutorial's 3-4-1 shape with every hidden and output activation,
 * loss, bias setting and optimizer. */
static void tutorial_shape_grid(void)
{
    compared = mismatched = trained = 0;
    int k = 0;
    for (int h = 0; h < N_ACTS; h++)
        for (int o = 0; o <= N_ACTS; o++)
            for (int loss = 0; loss < LM_LOSS_COUNT; loss++)
                for (int bias = 0; bias < 2; bias++)
                    for (int opt = 0; opt < 4; opt++, k++) {
                        lm_act last = o == N_ACTS ? LM_SOFTMAX : ACTS[o];
                        int w = loss == LM_LOSS_CE && last != LM_SOFTMAX && last != LM_SIGMOID ? 1 : (k % 3 ? 1 : 2);
                        net_spec ns = {3, 2, {4, w}, {ACTS[h], last}, bias};
                        train_spec ts = {(lm_loss)loss, opt, 4, 4, 0, (loss == LM_LOSS_CE) && (k & 1), (uint64_t)k};
                        if (ts.loss == LM_LOSS_BCE && last != LM_SIGMOID && last != LM_SOFTMAX) ts.loss = LM_LOSS_SSE;
                        if (ts.loss == LM_LOSS_CE && last != LM_SIGMOID && w == 1) ts.loss = LM_LOSS_SSE;
                        compare(&ns, &ts);
                    }
    grid_verdict();
}

/* Deeper nets, the 16-wide edges, non-power-of-two widths, softmax with
 * CE and with MSE, and batches past 256 rows (the general path's weight
 * gradient then sums in K blocks). */
static void shapes(void)
{
    compared = mismatched = trained = 0;
    static const net_spec nets[] = {
        {16, 2, {16, 16}, {LM_RELU, LM_SOFTMAX}, 1},
        {16, 3, {16, 16, 16}, {LM_TANH, LM_LEAKY_RELU, LM_IDENTITY}, 1},
        {1, 2, {16, 1}, {LM_SIGMOID, LM_SIGMOID}, 0},
        {16, 1, {1}, {LM_IDENTITY}, 1},
        {1, 1, {1}, {LM_SIGMOID}, 0},
        {5, 3, {7, 3, 9}, {LM_RELU, LM_TANH, LM_SOFTMAX}, 1},
        {2, 4, {9, 13, 6, 2}, {LM_LEAKY_RELU, LM_SIGMOID, LM_RELU, LM_SOFTMAX}, 0},
        {8, 4, {8, 8, 8, 8}, {LM_TANH, LM_TANH, LM_RELU, LM_IDENTITY}, 1},
        {10, 3, {16, 12, 3}, {LM_RELU, LM_LEAKY_RELU, LM_SOFTMAX}, 1},
        {3, 2, {4, 1}, {LM_SIGMOID, LM_SIGMOID}, 0},
    };
    static const size_t batches[] = {1, 4, 17, 64, 300};
    int k = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            for (int loss = 0; loss < LM_LOSS_COUNT; loss++, k++) {
                const net_spec *ns = &nets[i];
                lm_act last = ns->acts[ns->n_layers - 1];
                int w = ns->widths[ns->n_layers - 1];
                if (loss == LM_LOSS_CE && last != LM_SOFTMAX && last != LM_SIGMOID && w > 1) continue;
                if (loss == LM_LOSS_CE && last != LM_SIGMOID && w == 1) continue;
                train_spec ts = {(lm_loss)loss, k % 4, batches[b], batches[b] == 300 ? 300 : batches[b] * 3 + 2,
                                 k % 3 == 1, loss == LM_LOSS_CE && (k & 1), (uint64_t)k + 1000};
                if (ts.n > MAX_ROWS) ts.n = MAX_ROWS;
                compare(ns, &ts);
            }
    grid_verdict();
}

/* Nets that are not small keep the general path; so does every variant
 * but AVX-512. */
static void general_path_kept(void)
{
    static const net_spec big[] = {
        {17, 1, {4}, {LM_SIGMOID}, 1},                    /* input too wide */
        {3, 2, {17, 1}, {LM_RELU, LM_SIGMOID}, 1},        /* hidden too wide */
        {3, 2, {4, 17}, {LM_RELU, LM_SOFTMAX}, 1},        /* output too wide */
        {3, 2, {4, 2}, {LM_SOFTMAX, LM_SIGMOID}, 1},      /* hidden softmax */
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        lm_net *net = make_net(&big[i], 3);
        lm_ws *ws;
        CHECK_OK(lm_ws_new(&ws, net, 4));
        CHECK(!lm__small_net(net) && !ws->small && !lm__small_use(net, ws, 1));
        lm_ws_free(ws);
        lm_net_free(net);
    }
    net_spec ns = {3, 2, {4, 1}, {LM_SIGMOID, LM_SIGMOID}, 0};
    lm_net *net = make_net(&ns, 3);
    lm_ws *ws;
    CHECK_OK(lm_ws_new(&ws, net, 4));
    CHECK(lm__small_net(net) && (ws->small != NULL) == (lm__small_built && lm__variant_has("avx512")));
    CHECK(lm__small_use(net, ws, 1) == fused_available());
    static const char *const others[] = {"avx2", "neon", "ref"};
    for (int v = 0; v < 3; v++) {
        if (!lm__variant_force(others[v])) continue;
        CHECKF(!lm__small_use(net, ws, 1), "fused path on with the %s kernels", others[v]);
        lm__variant_force(NULL);
    }
    lm__small_enable(LM_SMALL_OFF);
    CHECK(!lm__small_use(net, ws, 1));
    lm__small_enable(LM_SMALL_AUTO);
    lm_ws_free(ws);
    lm_net_free(net);
}

/* By default the fused path runs only where a forward's products are
 * few (LM_SMALL_MAX_MACS); forced, it runs for any rows. */
static void rows_threshold(void)
{
    if (!fused_available()) SKIP("the AVX-512 kernels are not in use here");
    net_spec tut = {3, 2, {4, 1}, {LM_SIGMOID, LM_SIGMOID}, 0};
    net_spec wide = {16, 3, {16, 16, 16}, {LM_RELU, LM_TANH, LM_IDENTITY}, 1};
    lm_net *a = make_net(&tut, 1), *b = make_net(&wide, 1);
    lm_ws *wa, *wb;
    CHECK_OK(lm_ws_new(&wa, a, 64));
    CHECK_OK(lm_ws_new(&wb, b, 64));
    CHECK(lm__small_use(a, wa, 4) && lm__small_use(a, wa, 64)); /* 16 multiply-adds a row */
    CHECK(lm__small_use(b, wb, 1) && !lm__small_use(b, wb, 64)); /* 768 a row */
    lm__small_enable(LM_SMALL_ALWAYS);
    CHECK(lm__small_use(b, wb, 64));
    /* a big workspace holds the fused path's buffers for
     * LM_SMALL_MAX_ROWS rows only */
    lm_ws *big;
    CHECK_OK(lm_ws_new(&big, a, 4 * LM_SMALL_MAX_ROWS));
    CHECK(big->small_rows == LM_SMALL_MAX_ROWS);
    CHECK(lm__small_use(a, big, LM_SMALL_MAX_ROWS) && !lm__small_use(a, big, LM_SMALL_MAX_ROWS + 1));
    lm_ws_free(big);
    lm__small_enable(LM_SMALL_AUTO);
    lm_ws_free(wa);
    lm_ws_free(wb);
    lm_net_free(a);
    lm_net_free(b);
}

int main(void)
{
    if (!fused_available())
        printf("# the AVX-512 kernels are not in use here: the fused path is only checked to stay off\n");
    RUN(widths_grid);
    RUN(tutorial_shape_grid);
    RUN(shapes);
    RUN(general_path_kept);
    RUN(rows_threshold);
    TEST_MAIN_END();
}
