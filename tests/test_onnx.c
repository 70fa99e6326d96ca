/* test_onnx.c - ONNX export and import: a net of every layer kind and
 * activation goes to ONNX and back bit for bit; PyTorch-made models
 * (tests/fixtures/onnx/, made by make_onnx_fixtures.py) import and
 * predict as PyTorch did within 1e-5; malformed and foreign files are
 * refused with a message, never a crash. Running an export in ONNX
 * Runtime is tests/cli/test_onnx.sh's. */
#include "harness.h"
#include "fixture.h"
#include "lamina.h"
#include "onnx/onnx.h"

#include <stdint.h>
#include <unistd.h>

#define FIXDIR "tests/fixtures/onnx/"

static char tmp_path[64];

static const char *tmp_file(void)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/lamina-onnx-%ld.onnx", (long)getpid());
    return tmp_path;
}

/* Parameters and batch-norm statistics away from their defaults. */
static void randomise(lm_net *net, uint64_t seed)
{
    lm_rng rng = lm_rng_seed(seed);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    float *p = lm_net_params(net), *s = lm_net_state(net);
    for (int i = 0; i < lm_net_n_layers(net); i++) {
        lm_layer_desc d = {.size = sizeof d};
        lm_net_layer_desc(net, i, &d);
        if (d.kind == LM_LAYER_BATCHNORM) {
            for (size_t j = 0; j < d.n_params; j++) p[d.p_offset + j] = lm_rng_uniform(&rng) + 0.5f;
            for (size_t j = 0; j < d.n_state / 2; j++) {
                s[d.s_offset + j] = lm_rng_normal(&rng);
                s[d.s_offset + d.n_state / 2 + j] = lm_rng_uniform(&rng) + 0.5f;
            }
        } else {
            /* biases too: xavier leaves them zero */
            for (size_t j = 0; j < d.n_params; j++) p[d.p_offset + j] += 0.1f * lm_rng_normal(&rng);
        }
    }
}

static void set_norm(lm_net *net, uint64_t seed)
{
    int n = lm_net_n_in(net);
    float *m = malloc((size_t)n * 2 * sizeof *m);
    lm_rng rng = lm_rng_seed(seed);
    for (int i = 0; i < n; i++) {
        m[i] = lm_rng_normal(&rng);
        m[n + i] = lm_rng_uniform(&rng) + 0.5f;
    }
    lm_net_set_norm(net, m, m + n);
    free(m);
}

/* Every layer kind, every activation, SAME, VALID and numeric padding,
 * with and without bias, a dense layer after an image (its rows permuted
 * to ONNX's order), normalisation and class names. */
static lm_net *net_all_kinds(void)
{
    lm_net *net;
    lm_net_new(&net, 72);
    lm_net_set_input_shape(net, 2, 6, 6);
    lm_net_add_conv2d(net, 4, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    lm_net_add_maxpool2d(net, 2, 2);
    lm_net_add_conv2d(net, 3, 2, 2, 1, 1, LM_LEAKY_RELU, LM_NO_BIAS);
    lm_net_add_avgpool2d(net, 2, 1);
    lm_net_add_dropout(net, 0.3f);
    lm_net_add_dense(net, 7, LM_SIGMOID, LM_BIAS);
    lm_net_add_batchnorm(net, 0.2f, 1e-3f);
    lm_net_add_dense(net, 5, LM_TANH, LM_NO_BIAS);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    randomise(net, 1);
    set_norm(net, 2);
    const char *names[3] = {"cat", "dog", "émeu"};
    lm_net_set_class_names(net, 3, names);
    lm_net_set_meta(net, "note", "round trip");
    return net;
}

/* Strided VALID convolution, global pooling and a regression output
 * with target standardisation. */
static lm_net *net_gap_regression(void)
{
    lm_net *net;
    lm_net_new(&net, 75);
    lm_net_set_input_shape(net, 3, 5, 5);
    lm_net_add_conv2d(net, 4, 3, 3, 2, LM_PAD_VALID, LM_SIGMOID, LM_BIAS);
    lm_net_add_global_avgpool(net);
    lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS);
    randomise(net, 3);
    float mean[2] = {3.5f, -20.0f}, sd[2] = {2.0f, 0.25f};
    lm_net_set_target_norm(net, mean, sd);
    return net;
}

/* Two classes as one sigmoid output (the probability of class 1): two
 * class names for one output. */
static lm_net *net_binary(void)
{
    lm_net *net;
    lm_net_new(&net, 5);
    lm_net_add_dense(net, 3, LM_RELU, LM_BIAS);
    lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
    randomise(net, 6);
    const char *names[2] = {"no", "yes"};
    lm_net_set_class_names(net, 2, names);
    return net;
}

/* Ends on an image with several channels (the output goes back to
 * channels-last rows) and has a batch norm on flat features. */
static lm_net *net_image_out(void)
{
    lm_net *net;
    lm_net_new(&net, 16);
    lm_net_set_input_shape(net, 1, 4, 4);
    lm_net_add_conv2d(net, 2, 3, 3, 1, LM_PAD_SAME, LM_IDENTITY, LM_BIAS);
    randomise(net, 4);
    return net;
}

static lm_net *net_flat_bn(void)
{
    lm_net *net;
    lm_net_new(&net, 4);
    lm_net_add_dense(net, 3, LM_IDENTITY, LM_BIAS);
    lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    randomise(net, 5);
    return net;
}

/* A dropout on the input image, before any spatial layer, then a dense
 * layer after a pool: the export's Reshape to an image must come before
 * the Dropout, where the importer takes it. */
static lm_net *net_image_dropout_first(void)
{
    lm_net *net;
    lm_net_new(&net, 32);
    lm_net_set_input_shape(net, 2, 4, 4);
    lm_net_add_dropout(net, 0.2f);
    lm_net_add_conv2d(net, 3, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    lm_net_add_dropout(net, 0.1f);
    lm_net_add_maxpool2d(net, 2, 2);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    randomise(net, 6);
    return net;
}

/* Only a dropout before a dense layer: the image is flattened again. */
static lm_net *net_image_dropout_dense(void)
{
    lm_net *net;
    lm_net_new(&net, 18);
    lm_net_set_input_shape(net, 2, 3, 3);
    lm_net_add_dropout(net, 0.5f);
    lm_net_add_dense(net, 3, LM_TANH, LM_BIAS);
    randomise(net, 7);
    set_norm(net, 8);
    return net;
}

/* An image straight into a dense layer: the graph's input is the flat
 * row, and the image shape comes back from the metadata. */
static lm_net *net_image_dense_first(void)
{
    lm_net *net;
    lm_net_new(&net, 48);
    lm_net_set_input_shape(net, 3, 4, 4);
    lm_net_add_dense(net, 5, LM_RELU, LM_BIAS);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    randomise(net, 10);
    return net;
}

/* Batch norms with the momenta people write (Keras' 0.99 and 0.999 are
 * lamina's 0.01 and 0.001): ONNX keeps 1 - momentum as a float, and the
 * import must find the very momentum again. */
static lm_net *net_bn_momenta(void)
{
    static const float mom[] = {0.01f, 0.001f, 0.05f, 0.25f, 0.003f, 0.0f, 0.99f};
    lm_net *net;
    lm_net_new(&net, 3);
    for (size_t i = 0; i < sizeof mom / sizeof mom[0]; i++) {
        lm_net_add_dense(net, 3, LM_IDENTITY, LM_BIAS);
        lm_net_add_batchnorm(net, mom[i], 1e-5f);
    }
    randomise(net, 9);
    return net;
}

/* Standalone activations where no layer before can take them, so the
 * importer keeps them standalone: after a batch norm following an
 * activated conv (PyTorch's conv -> ReLU -> BN -> Tanh), after a max pool
 * (a sigmoid cannot move before it), first on an image, after an
 * activated dense layer, after a batch norm on the input. */
static lm_net *net_standalone_acts(void)
{
    lm_net *net;
    lm_net_new(&net, 72);
    lm_net_set_input_shape(net, 2, 6, 6);
    lm_net_add_activation(net, LM_LEAKY_RELU);
    lm_net_add_conv2d(net, 4, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    lm_net_add_activation(net, LM_TANH);
    lm_net_add_maxpool2d(net, 2, 2);
    lm_net_add_activation(net, LM_SIGMOID);
    lm_net_add_dense(net, 7, LM_SIGMOID, LM_BIAS);
    lm_net_add_activation(net, LM_RELU);
    lm_net_add_batchnorm(net, 0.2f, 1e-3f);
    lm_net_add_activation(net, LM_LEAKY_RELU);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    randomise(net, 11);
    return net;
}

static lm_net *net_flat_bn_act(void)
{
    lm_net *net;
    lm_net_new(&net, 5);
    lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    lm_net_add_activation(net, LM_RELU);
    lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
    lm_net_add_activation(net, LM_TANH);
    randomise(net, 12);
    return net;
}

static void check_same(lm_net *a, lm_net *b)
{
    CHECK(lm_net_n_in(a) == lm_net_n_in(b) && lm_net_n_out(a) == lm_net_n_out(b));
    CHECKF(lm_net_n_layers(a) == lm_net_n_layers(b), "%d layers, %d back", lm_net_n_layers(a),
           lm_net_n_layers(b));
    if (lm_net_n_layers(a) != lm_net_n_layers(b)) return;
    for (int i = 0; i < lm_net_n_layers(a); i++) {
        lm_layer_desc x = {.size = sizeof x}, y = {.size = sizeof y};
        lm_net_layer_desc(a, i, &x);
        lm_net_layer_desc(b, i, &y);
        CHECKF(x.kind == y.kind && x.act == y.act && x.has_bias == y.has_bias && x.in_c == y.in_c &&
                   x.in_h == y.in_h && x.in_w == y.in_w && x.out_c == y.out_c && x.out_h == y.out_h &&
                   x.out_w == y.out_w && x.units == y.units && x.kh == y.kh && x.kw == y.kw &&
                   x.stride == y.stride && x.pad == y.pad && x.rate == y.rate && x.eps == y.eps &&
                   x.momentum == y.momentum && x.n_params == y.n_params && x.n_state == y.n_state,
               "layer %d (%s) differs after the round trip", i + 1, lm_layer_kind_name(x.kind));
    }
    size_t np = lm_net_n_params(a), ns = lm_net_n_state(a);
    CHECK(np == lm_net_n_params(b) && ns == lm_net_n_state(b));
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), np * sizeof(float)) == 0);
    if (ns) CHECK(memcmp(lm_net_state(a), lm_net_state(b), ns * sizeof(float)) == 0);
    int n = lm_net_n_in(a), k = lm_net_n_out(a);
    float *na = calloc((size_t)n * 4, sizeof(float)), *nb = na + 2 * n;
    int ha = lm_net_get_norm(a, na, na + n), hb = lm_net_get_norm(b, nb, nb + n);
    CHECK(ha == hb && (!ha || memcmp(na, nb, 2 * (size_t)n * sizeof(float)) == 0));
    float ta[2 * 16], tb[2 * 16];
    if (k <= 16) {
        ha = lm_net_get_target_norm(a, ta, ta + k);
        hb = lm_net_get_target_norm(b, tb, tb + k);
        CHECK(ha == hb && (!ha || memcmp(ta, tb, 2 * (size_t)k * sizeof(float)) == 0));
    }
    for (int i = 0; i <= k; i++) { // k + 1: a one-output net has two classes
        const char *ca = lm_net_class_name(a, i), *cb = lm_net_class_name(b, i);
        CHECK((!ca && !cb) || (ca && cb && !strcmp(ca, cb)));
    }
    /* the same arithmetic on the same bits: the same outputs */
    enum { ROWS = 9 };
    float *x = malloc((size_t)ROWS * n * sizeof *x), *ya = malloc((size_t)ROWS * k * sizeof *ya),
          *yb = malloc((size_t)ROWS * k * sizeof *yb);
    lm_rng rng = lm_rng_seed(9);
    for (int i = 0; i < ROWS * n; i++) x[i] = 2 * lm_rng_normal(&rng);
    CHECK_OK(lm_net_predict(a, x, ROWS, ya));
    CHECK_OK(lm_net_predict(b, x, ROWS, yb));
    CHECK(memcmp(ya, yb, (size_t)ROWS * k * sizeof *ya) == 0);
    free(x);
    free(ya);
    free(yb);
    free(na);
}

static void round_trip(lm_net *(*make)(void), int opset)
{
    lm_net *a = make(), *b = NULL;
    CHECK_OK(lm_net_save_onnx(a, tmp_file(), opset));
    CHECK_OK(lm_net_load_onnx(&b, tmp_file()));
    if (b) check_same(a, b);
    lm_net_free(a);
    lm_net_free(b);
    remove(tmp_file());
}

static void onnx_round_trip_all_kinds(void) { round_trip(net_all_kinds, 0); }
static void onnx_round_trip_gap_regression(void) { round_trip(net_gap_regression, 17); }
static void onnx_round_trip_binary(void) { round_trip(net_binary, 13); }
static void onnx_round_trip_image_output(void) { round_trip(net_image_out, 13); }

/* What the importer refuses is not exported either (as lm_net_save
 * refuses it): a NaN weight, a batch norm variance below 0. The file
 * already there stays as it was. */
static void onnx_export_refuses_bad_values(void)
{
    lm_net *net;
    lm_net_new(&net, 3);
    lm_net_add_dense(net, 2, LM_TANH, LM_BIAS);
    lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    randomise(net, 5);
    CHECK_OK(lm_net_save_onnx(net, tmp_file(), 0));
    FILE *f = fopen(tmp_file(), "rb");
    long before = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) before = ftell(f);
    if (f) fclose(f);
    float *st = lm_net_state(net), *p = lm_net_params(net);
    st[3] = -0.5f; /* channel 1's running variance */
    lm_status s = lm_net_save_onnx(net, tmp_file(), 0);
    CHECKF(s == LM_EINVAL && strstr(lm_errmsg(), "channel 1"), "%s: %s", lm_status_name(s), lm_errmsg());
    st[3] = 0.5f;
    p[1] = NAN;
    s = lm_net_save_onnx(net, tmp_file(), 0);
    CHECKF(s == LM_ENUMERIC && strstr(lm_errmsg(), "ONNX file is not written"), "%s: %s",
           lm_status_name(s), lm_errmsg());
    f = fopen(tmp_file(), "rb");
    long after = -2;
    if (f && fseek(f, 0, SEEK_END) == 0) after = ftell(f);
    if (f) fclose(f);
    CHECK(before > 0 && after == before);
    lm_net *back = NULL;
    CHECK_OK(lm_net_load_onnx(&back, tmp_file()));
    lm_net_free(back);
    lm_net_free(net);
    remove(tmp_file());
}

/* Class names with newlines (a quoted CSV field can hold one) and
 * backslashes, next to a name that looks escaped: all come back as they
 * were (they were dropped before, the list being one a line). */
static void onnx_class_names_with_newlines(void)
{
    lm_net *a, *b = NULL;
    lm_net_new(&a, 3);
    lm_net_add_dense(a, 4, LM_SOFTMAX, LM_BIAS);
    randomise(a, 2);
    const char *names[4] = {"line\none", "back\\slash\\n", "\n", "plain"};
    CHECK_OK(lm_net_set_class_names(a, 4, names));
    CHECK_OK(lm_net_save_onnx(a, tmp_file(), 0));
    CHECK_OK(lm_net_load_onnx(&b, tmp_file()));
    for (int i = 0; b && i < 4; i++) {
        const char *c = lm_net_class_name(b, i);
        CHECKF(c && !strcmp(c, names[i]), "class %d: '%s' back as '%s'", i, names[i], c ? c : "(none)");
    }
    if (b) check_same(a, b);
    lm_net_free(a);
    lm_net_free(b);
    remove(tmp_file());
}
/* Names that are not UTF-8 (a Latin-1 CSV's "Caf\xe9"): ONNX's strings
 * must be, and ONNX Runtime's Python API refused the file lamina wrote
 * with the raw bytes. Each byte that starts no valid sequence is written
 * as its Latin-1 character, so the import gives UTF-8 back; valid UTF-8
 * (2 and 4 bytes) is kept as it is; an overlong form and a surrogate are
 * not valid, byte by byte. */
static void onnx_names_not_utf8(void)
{
    lm_net *a, *b = NULL;
    lm_net_new(&a, 3);
    lm_net_add_dense(a, 5, LM_SOFTMAX, LM_BIAS);
    randomise(a, 3);
    const char *names[5] = {"Caf\xe9", "na\xc3\xafve", "\xf0\x9f\x98\x80", "\xc0\xaf",
                            "\xed\xa0\x80"};
    const char *want[5] = {"Caf\xc3\xa9", "na\xc3\xafve", "\xf0\x9f\x98\x80",
                           "\xc3\x80\xc2\xaf", "\xc3\xad\xc2\xa0\xc2\x80"};
    CHECK_OK(lm_net_set_class_names(a, 5, names));
    CHECK_OK(lm_net_set_meta(a, "features", "a,Caf\xe9 col"));
    CHECK_OK(lm_net_set_meta(a, "k\xe9y", "v"));
    CHECK_OK(lm_net_save_onnx(a, tmp_file(), 0));
    CHECK_OK(lm_net_load_onnx(&b, tmp_file()));
    for (int i = 0; b && i < 5; i++) {
        const char *c = lm_net_class_name(b, i);
        CHECKF(c && !strcmp(c, want[i]), "class %d back as '%s'", i, c ? c : "(none)");
    }
    const char *f = b ? lm_net_get_meta(b, "features") : NULL;
    CHECKF(f && !strcmp(f, "a,Caf\xc3\xa9 col"), "features back as '%s'", f ? f : "(none)");
    CHECK(b && lm_net_get_meta(b, "k\xc3\xa9y") && !strcmp(lm_net_get_meta(b, "k\xc3\xa9y"), "v"));
    CHECK(b && lm_net_n_params(a) == lm_net_n_params(b) &&
          !memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)));
    lm_net_free(a);
    lm_net_free(b);
    remove(tmp_file());
}
static void onnx_round_trip_flat_batchnorm(void) { round_trip(net_flat_bn, 15); }
static void onnx_round_trip_image_dropout_first(void) { round_trip(net_image_dropout_first, 13); }
static void onnx_round_trip_image_dropout_dense(void) { round_trip(net_image_dropout_dense, 13); }
static void onnx_round_trip_bn_momenta(void) { round_trip(net_bn_momenta, 13); }
static void onnx_round_trip_image_dense_first(void) { round_trip(net_image_dense_first, 13); }
static void onnx_round_trip_standalone_acts(void)
{
    round_trip(net_standalone_acts, 13);
    round_trip(net_flat_bn_act, 17);
}

/* Where the layer before can take it, the importer folds a standalone
 * activation into it, as it always did with Gemm -> Relu: a dense
 * identity -> relu comes back as one dense relu layer, with the same
 * bits out; softmax stays refused where nothing takes it. */
static void onnx_standalone_act_folded(void)
{
    lm_net *a, *b = NULL;
    lm_net_new(&a, 5);
    lm_net_add_dense(a, 20, LM_IDENTITY, LM_BIAS);
    lm_net_add_activation(a, LM_RELU);
    lm_net_add_dense(a, 3, LM_SOFTMAX, LM_BIAS);
    randomise(a, 13);
    CHECK_OK(lm_net_save_onnx(a, tmp_file(), 13));
    CHECK_OK(lm_net_load_onnx(&b, tmp_file()));
    if (b) {
        lm_layer_desc d = {.size = sizeof d};
        CHECK(lm_net_n_layers(b) == 2 && lm_net_layer_desc(b, 0, &d) == LM_OK && d.kind == LM_LAYER_DENSE &&
              d.act == LM_RELU);
        CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
        float x[4 * 5], ya[4 * 3], yb[4 * 3];
        for (int i = 0; i < 20; i++) x[i] = (float)(i % 7) - 3.0f;
        CHECK_OK(lm_net_predict(a, x, 4, ya));
        CHECK_OK(lm_net_predict(b, x, 4, yb));
        CHECK(memcmp(ya, yb, sizeof ya) == 0);
    }
    lm_net_free(a);
    lm_net_free(b);
    remove(tmp_file());
}

static void onnx_export_refuses(void)
{
    lm_net *net;
    lm_net_new(&net, 4);
    CHECK(lm_net_save_onnx(net, tmp_file(), 0) == LM_EINVAL); /* no layers */
    lm_net_add_dense(net, 2, LM_RELU, LM_BIAS);
    CHECK(lm_net_save_onnx(net, tmp_file(), 12) == LM_EINVAL);
    CHECK(strstr(lm_errmsg(), "opset") != NULL);
    lm_net_free(net);
    remove(tmp_file());
}

/* A PyTorch export imports and predicts as PyTorch did. */
static void torch_fixture(const char *name)
{
    char path[128], err[256];
    snprintf(path, sizeof path, FIXDIR "%s.txt", name);
    fx_file fx;
    if (fx_read(&fx, path, err, sizeof err)) {
        CHECKF(0, "%s", err);
        return;
    }
    const fx_table *x = fx_get(&fx, "x", 0, 0), *y = fx_get(&fx, "y", 0, 0);
    snprintf(path, sizeof path, FIXDIR "%s.onnx", name);
    lm_net *net = NULL;
    CHECK(x && y);
    CHECK_OK(lm_net_load_onnx(&net, path));
    if (net && x && y) {
        CHECK((size_t)lm_net_n_in(net) == x->cols && (size_t)lm_net_n_out(net) == y->cols);
        size_t n = x->rows, k = y->cols;
        float *xf = malloc(n * x->cols * sizeof *xf), *yf = malloc(n * k * sizeof *yf);
        for (size_t i = 0; i < n * x->cols; i++) xf[i] = (float)x->v[i];
        if ((size_t)lm_net_n_in(net) == x->cols && (size_t)lm_net_n_out(net) == k) {
            CHECK_OK(lm_net_predict(net, xf, n, yf));
            double worst = 0;
            // a NaN is the worst (fmax would pass over it; gcc 12 for
            // aarch64 also failed vectorising that reduction here)
            for (size_t i = 0; i < n * k; i++) {
                double e = fabs(yf[i] - y->v[i]);
                if (!(e <= worst)) worst = e;
            }
            printf("# %s: max |lamina - torch| = %.3g over %zu outputs\n", name, worst, n * k);
            CHECKF(worst <= 1e-5, "%s: max difference %g", name, worst);
        }
        free(xf);
        free(yf);
    }
    lm_net_free(net);
    fx_free(&fx);
}

static void onnx_torch_mlp(void) { torch_fixture("mlp"); }
static void onnx_torch_cnn(void) { torch_fixture("cnn"); }
static void onnx_torch_cnn_gap(void) { torch_fixture("cnn_gap"); }
/* Keras' layout: an (N, H, W, C) input, a Transpose to NCHW, and back to
 * NHWC before the Flatten; the input shape must come out (3, 4, 6). */
static void onnx_torch_cnn_nhwc(void)
{
    torch_fixture("cnn_nhwc");
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "cnn_nhwc.onnx"));
    lm_layer_desc d = {.size = sizeof d};
    if (net) CHECK_OK(lm_net_layer_desc(net, 0, &d));
    CHECKF(d.in_c == 3 && d.in_h == 4 && d.in_w == 6, "input (%d, %d, %d)", d.in_c, d.in_h, d.in_w);
    CHECK(!net || !lm_net_get_meta(net, "onnx_input_layout")); /* its Transpose said it */
    lm_net_free(net);
}
/* A Keras MLP on images through tf2onnx: an (N, H, W, C) input flattened
 * by a Reshape with nothing to tell its layout. Its rows are the input as
 * it is (lamina's own channels-last rows), and the input shape comes out
 * (C, H, W) = (3, 5, 6) and (1, 6, 5), not 5 or 6 channels. */
static void onnx_keras_mlp_nhwc(void)
{
    static const struct { const char *name; int c, h, w; } cases[] = {
        {"mlp_nhwc", 3, 5, 6}, {"mlp_nhwc_grey", 1, 6, 5}};
    for (int i = 0; i < 2; i++) {
        torch_fixture(cases[i].name);
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", cases[i].name);
        lm_net *net = NULL;
        CHECK_OK(lm_net_load_onnx(&net, path));
        lm_layer_desc d = {.size = sizeof d};
        if (net) CHECK_OK(lm_net_layer_desc(net, 0, &d));
        CHECKF(d.in_c == cases[i].c && d.in_h == cases[i].h && d.in_w == cases[i].w,
               "%s: input (%d, %d, %d)", cases[i].name, d.in_c, d.in_h, d.in_w);
        /* the layout was a guess from the sides, and the model says so */
        const char *g = net ? lm_net_get_meta(net, "onnx_input_layout") : NULL;
        CHECKF(g && strcmp(g, "(N, H, W, C), guessed from its sides") == 0, "%s: guess '%s'",
               cases[i].name, g ? g : "(none)");
        lm_net_free(net);
    }
}
/* A Keras CNN through tf2onnx: Rescaling (Mul, Add of single values) on
 * the (N, H, W, C) input, GlobalAveragePooling2D as ReduceMean over axes
 * 1 and 2 (keepdims 0, or 1 and a Reshape): the input normalisation and a
 * global average pool. */
static void onnx_keras_cnn_rescaling_gap(void)
{
    static const char *const names[] = {"cnn_keras_gap", "cnn_keras_gap_keep"};
    for (int i = 0; i < 2; i++) {
        torch_fixture(names[i]);
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", names[i]);
        lm_net *net = NULL;
        CHECK_OK(lm_net_load_onnx(&net, path));
        lm_layer_desc d = {.size = sizeof d};
        if (net) CHECK_OK(lm_net_layer_desc(net, 1, &d));
        CHECKF(net && lm_net_n_layers(net) == 3 && d.kind == LM_LAYER_GLOBAL_AVGPOOL,
               "%s: %d layers, layer 2 %s", names[i], net ? lm_net_n_layers(net) : 0,
               lm_layer_kind_name(d.kind));
        float mean[108], scale[108];
        CHECK(net && lm_net_get_norm(net, mean, scale) == 1 && fabsf(mean[0] - 127.5f) < 1e-3f &&
              fabsf(scale[107] - 1 / 255.0f) < 1e-9f);
        lm_net_free(net);
    }
}
/* An elementwise activation of the (N, H, W, C) input before the Transpose
 * to NCHW (Tanh, Transpose, Conv; after Rescaling's Mul and Add too)
 * commutes with it: it was refused ("only NHWC <-> NCHW transposes of
 * images are supported"); the input comes out (3, 4, 6), the activation
 * a layer of its own before the convolution. */
static void onnx_act_before_input_transpose(void)
{
    static const char *const names[] = {"cnn_act_first", "cnn_act_first_rescale"};
    for (int i = 0; i < 2; i++) {
        torch_fixture(names[i]);
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", names[i]);
        lm_net *net = NULL;
        CHECK_OK(lm_net_load_onnx(&net, path));
        lm_layer_desc d = {.size = sizeof d}, c = {.size = sizeof c};
        if (net) CHECK_OK(lm_net_layer_desc(net, 0, &d));
        if (net) CHECK_OK(lm_net_layer_desc(net, 1, &c));
        CHECKF(d.kind == LM_LAYER_ACTIVATION && c.kind == LM_LAYER_CONV2D && d.in_c == 3 &&
               d.in_h == 4 && d.in_w == 6, "%s: %s, %s, input (%d, %d, %d)", names[i],
               lm_layer_kind_name(d.kind), lm_layer_kind_name(c.kind), d.in_c, d.in_h, d.in_w);
        lm_net_free(net);
    }
    /* a second (0, 3, 1, 2) Transpose after the input's and an activation
     * transposes an NCHW image: still refused */
    lm_net *net = NULL;
    CHECK(lm_net_load_onnx(&net, FIXDIR "act_transpose_twice.onnx") == LM_EFORMAT && !net);
    CHECKF(strstr(lm_errmsg(), "'again' (Transpose)") != NULL, "message: %s", lm_errmsg());
}
/* Keras' Normalization through tf2onnx: (x - mean) / max(sqrt(var), eps)
 * per feature, as Sub then Div (or Mul by the reciprocal) of constants,
 * was refused ("Div: lamina has no layer for this op"; on an image, the
 * per-channel Sub too). It is the input normalisation: per column of a
 * flat input, per channel of an (N, H, W, C) one (every pixel of the
 * channel), after Rescaling too; PyTorch's (x - mean) / std of an
 * (N, C, H, W) input by (1, C, 1, 1) constants likewise, its channels
 * going to lamina's channels-last rows. */
static void onnx_keras_normalization(void)
{
    static const char *const names[] = {"mlp_keras_norm", "mlp_keras_norm_mul", "cnn_keras_norm",
                                        "cnn_keras_norm_rescale", "cnn_keras_norm_after",
                                        "cnn_torch_norm"};
    for (int i = 0; i < 6; i++) torch_fixture(names[i]);
    lm_net *net = NULL;
    float mean[108], scale[108];
    /* the tabular one: the means as they were, 1 / divisor each column */
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "mlp_keras_norm.onnx"));
    CHECK(net && lm_net_n_in(net) == 5 && lm_net_n_layers(net) == 2 &&
          lm_net_get_norm(net, mean, scale) == 1);
    CHECKF(net && fabsf(mean[3] - 50000) < 2000 && scale[3] > 1e-4f && scale[3] < 2e-4f &&
           fabsf(mean[1] + 5) < 0.01f && scale[1] > 80 && scale[1] < 120,
           "column 3 (%g, %g), column 1 (%g, %g)", (double)mean[3], (double)scale[3],
           (double)mean[1], (double)scale[1]);
    lm_net_free(net);
    /* the image: channel c's mean at every pixel's value c (120, 80, 200) */
    static const char *const images[] = {"cnn_keras_norm", "cnn_keras_norm_after"};
    for (int k = 0; k < 2; k++) {
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", images[k]);
        net = NULL;
        CHECK_OK(lm_net_load_onnx(&net, path));
        int ok = net && lm_net_n_in(net) == 108 && lm_net_get_norm(net, mean, scale) == 1;
        for (int j = 0; ok && j < 108; j++)
            ok = mean[j] == (float[]){120, 80, 200}[j % 3] &&
                 fabsf(scale[j] * (float[]){50, 30, 70}[j % 3] - 1) < 1e-6f;
        CHECKF(ok, "%s: a channel's mean or scale is not at every pixel of the channel", images[k]);
        lm_net_free(net);
    }
}

/* PyTorch's (x - mean) / std with the constants written inline
 * (torch.tensor(...) in forward) exports Constant, Sub, Constant, Div: the
 * Constant between the two ended the input's normalisation, so the Div's
 * per-channel values were put in channels-last order early and then again
 * at the end, the channels' divisors mixed up without a word (max
 * difference about 1 against PyTorch). A node beside the chain leaves it
 * at the input. */
static void onnx_torch_normalization_constants_between(void)
{
    torch_fixture("cnn_torch_norm_inline");
}

/* hand-made: Sub, Identity, Div of (1, C, 1, 1) constants on an (N, C, H,
 * W) input. The Identity ended the input's normalisation as the Constant
 * above did: the channels' divisors came out mixed up, without a word. */
static void onnx_normalization_identity_between(void) { torch_fixture("norm_identity"); }
/* likewise a Pad that adds nothing (the identity) between them */
static void onnx_normalization_pad_between(void) { torch_fixture("norm_pad"); }

/* Linear, BatchNorm1d, ReLU: the batch norm folded into the dense layer */
static void onnx_torch_bn_relu_folded(void)
{
    torch_fixture("mlp_bn_relu");
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "mlp_bn_relu.onnx"));
    CHECK(net && lm_net_n_layers(net) == 2);
    lm_net_free(net);
}
/* PyTorch's x.view(x.size(0), -1) with dynamic axes: Shape, Gather,
 * Unsqueeze, Concat into the Reshape's shape (opset 13), and the older
 * x.view(-1, C * H * W) by Mul of sizes (opset 9, Unsqueeze's axes an
 * attribute), were refused ("node '/Shape' (Shape): lamina has no layer
 * for this op"). The shape is evaluated: (N, -1), a flatten keeping the
 * batch, with nothing to note. */
static void onnx_torch_view_shape_arithmetic(void)
{
    static const char *const names[] = {"torch_view", "torch_view_sizes"};
    for (int i = 0; i < 2; i++) {
        torch_fixture(names[i]);
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", names[i]);
        lm_net *net = NULL;
        CHECK_OK(lm_net_load_onnx(&net, path));
        CHECKF(net && lm_net_n_layers(net) == 3 && !lm_net_get_meta(net, "onnx_batch") &&
               !lm_net_get_meta(net, "onnx_output"), "%s", names[i]);
        lm_net_free(net);
    }
}
/* The same net exported without dynamic axes (torch.onnx.export's
 * default) from a batch of 2: its Reshape's shape is the constant (2, -1),
 * which was refused ("a fixed batch size in the shape is not supported").
 * The 2 is the input's fixed batch: read as the batch, and said. */
static void onnx_torch_view_fixed_batch(void)
{
    torch_fixture("torch_view_fixed");
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "torch_view_fixed.onnx"));
    const char *b = net ? lm_net_get_meta(net, "onnx_batch") : NULL;
    CHECKF(b && strcmp(b, "the input's batch is fixed at 2 and Reshape '/Reshape' has the shape "
                          "(2, -1): its 2 read as the batch") == 0, "note '%s'", b ? b : "(none)");
    lm_net_free(net);
}
/* F.log_softmax ending the net (PyTorch's MNIST example) was refused
 * ("LogSoftmax: lamina has no layer for this op"): it is lamina's
 * softmax, its outputs the probabilities (the fixture's y is exp of
 * torch's), and the model says so. */
static void onnx_torch_log_softmax(void)
{
    torch_fixture("torch_view_log_softmax");
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "torch_view_log_softmax.onnx"));
    const char *o = net ? lm_net_get_meta(net, "onnx_output") : NULL;
    CHECKF(o && strstr(o, "softmax probabilities where the graph's LogSoftmax '/LogSoftmax' "
                          "outputs their logarithms"), "note '%s'", o ? o : "(none)");
    lm_net_free(net);
}
/* The import's notes (onnx_input_layout, onnx_batch, onnx_output) say
 * how it read a graph. lamina's export of the imported model carried them
 * in its metadata, and importing that export gave them back, so lamina
 * import said of lamina's own flat-input, Softmax-ending graph that its
 * layout was guessed from a Reshape or that its LogSoftmax gives
 * logarithms. The export's graph says nothing of the kind: no note. */
static void onnx_notes_not_restored_from_export(void)
{
    static const struct { const char *name, *key; } cases[] = {
        {"mlp_nhwc", "onnx_input_layout"}, {"torch_view_fixed", "onnx_batch"},
        {"torch_view_log_softmax", "onnx_output"}};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", cases[i].name);
        lm_net *a = NULL, *b = NULL;
        CHECK_OK(lm_net_load_onnx(&a, path));
        CHECKF(a && lm_net_get_meta(a, cases[i].key), "%s: no %s", cases[i].name, cases[i].key);
        if (a) CHECK_OK(lm_net_save_onnx(a, tmp_file(), 0));
        if (a) CHECK_OK(lm_net_load_onnx(&b, tmp_file()));
        CHECKF(b && !lm_net_get_meta(b, cases[i].key), "%s: %s '%s' came back", cases[i].name,
               cases[i].key, b ? lm_net_get_meta(b, cases[i].key) : "");
        remove(tmp_file());
        lm_net_free(a);
        lm_net_free(b);
    }
}
/* ... and the export does not write them: its metadata_props held
 * lamina.meta.onnx_output ("softmax probabilities where the graph's
 * LogSoftmax outputs their logarithms") of a graph ending in lamina's own
 * Softmax, false for that file in any other reader (ONNX Runtime's
 * custom_metadata_map). The model's other metadata is kept. */
static void onnx_export_leaves_out_import_notes(void)
{
    static const struct { const char *name, *key; } cases[] = {
        {"mlp_nhwc", "lamina.meta.onnx_input_layout"},
        {"torch_view_fixed", "lamina.meta.onnx_batch"},
        {"torch_view_log_softmax", "lamina.meta.onnx_output"}};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, FIXDIR "%s.onnx", cases[i].name);
        lm_net *a = NULL;
        unsigned char *buf = NULL;
        size_t len = 0;
        ox_model m;
        CHECK_OK(lm_net_load_onnx(&a, path));
        if (a) CHECK_OK(lm_net_set_meta(a, "source", "a test"));
        if (a) CHECK_OK(lm_net_save_onnx(a, tmp_file(), 0));
        if (!a || lm__read_file(tmp_file(), &buf, &len) || ox_parse(buf, len, &m)) {
            CHECKF(0, "%s: no export to read", cases[i].name);
            free(buf);
            lm_net_free(a);
            continue;
        }
        int note = 0, kept = 0;
        for (int k = 0; k < m.n_meta; k++) {
            note |= ox_is(m.meta_keys[k], cases[i].key);
            kept |= ox_is(m.meta_keys[k], "lamina.meta.source");
        }
        CHECKF(!note && kept, "%s: %s %s, source %s", cases[i].name, cases[i].key,
               note ? "written" : "left out", kept ? "kept" : "lost");
        ox_model_free(&m);
        free(buf);
        remove(tmp_file());
        lm_net_free(a);
    }
}
/* hand-made: Conv, Add of a (1, F, 1, 1) bias, Relu, Transpose to NHWC */
static void onnx_conv_add_bias(void) { torch_fixture("conv_add"); }

static void expect_refused(const char *path, const char *words)
{
    lm_net *net = (lm_net *)1;
    lm_status st = lm_net_load_onnx(&net, path);
    CHECKF(st == LM_EFORMAT && net == NULL && strstr(lm_errmsg(), words),
           "%s: %s, '%s' (wanted '%s')", path, lm_status_name(st), lm_errmsg(), words);
}

/* A flatten size computed as ReduceProd of Shape's sides after the batch
 * (tf2onnx, older PyTorch, hand-written graphs), keeping its axis or not
 * (then Unsqueeze), was refused as "it does not read the output of the
 * node before it": the ReduceProd is shape arithmetic, evaluated as Mul
 * is. One whose product takes in the batch size mixes rows: refused so. */
static void onnx_shape_reduce_prod(void)
{
    torch_fixture("shape_reduce_prod");
    torch_fixture("shape_reduce_prod_scalar");
    expect_refused(FIXDIR "shape_reduce_prod_batch.onnx",
                   "node 'prod' (ReduceProd): it multiplies the batch size by 64");
}

/* Keras' Normalization exported without constant folding computes its
 * divisor in the graph: Sqrt of the variance, Max with epsilon, beside the
 * chain (before the Sub and between it and the Div). Both were refused
 * ("it does not read the output of the node before it"); they are folded
 * into constants, and the model predicts as the graph does, column 4's
 * zero variance giving way to epsilon as Max says. A variance below 0 has
 * no square root: refused so. */
static void onnx_keras_normalization_unfolded(void)
{
    torch_fixture("mlp_keras_norm_unfolded");
    lm_net *net = NULL;
    float mean[5], scale[5];
    CHECK_OK(lm_net_load_onnx(&net, FIXDIR "mlp_keras_norm_unfolded.onnx"));
    CHECK(net && lm_net_n_layers(net) == 2 && lm_net_get_norm(net, mean, scale) == 1);
    CHECKF(net && mean[4] == 7 && fabsf(scale[4] * 1e-7f - 1) < 1e-6f, "column 4 (%g, %g)",
           (double)mean[4], (double)scale[4]);
    lm_net_free(net);
    expect_refused(FIXDIR "keras_norm_unfolded_negative.onnx",
                   "node 'normalization/Sqrt' (Sqrt): the square root of a negative value");
}

static void onnx_refuses_unsupported_op(void)
{
    expect_refused(FIXDIR "unsupported.onnx", "node '/1/Elu' (Elu)");
    /* a BatchNorm1d after a Flatten normalises each pixel of each channel:
     * the refusal says that, not that its input is no vector */
    expect_refused(FIXDIR "bn_after_flatten.onnx",
                   "(BatchNormalization): it normalises a flattened image's values one by one");
}

/* a (F) bias broadcasts along W in ONNX, not along the channels */
static void onnx_refuses_misaligned_bias(void)
{
    expect_refused(FIXDIR "conv_add_w.onnx", "node 'bias' (Add)");
}

/* a mean over the channels is no global average pool */
static void onnx_refuses_reduce_mean_over_channels(void)
{
    expect_refused(FIXDIR "keras_reduce_channels.onnx",
                   "node 'gap' (ReduceMean): only a mean over an image's height and width");
}

static void onnx_refuses_wrong_initializer(void)
{
    expect_refused(FIXDIR "bad_init.onnx", "holds 66 values (data for 60)");
}

/* Shapes that would mix rows, and a LogSoftmax something reads after */
static void onnx_refuses_views_mixing_rows(void)
{
    expect_refused(FIXDIR "torch_view_batch_mul.onnx",
                   "node '/Mul' (Mul): it multiplies the batch size by 4");
    expect_refused(FIXDIR "torch_view_other_batch.onnx",
                   "node '/Reshape' (Reshape): its shape (4, -1) starts with 4, but the input's "
                   "batch is fixed at 2");
    expect_refused(FIXDIR "torch_view_log_softmax_scaled.onnx",
                   "node '/Mul' (Mul): a LogSoftmax, imported as lamina's softmax, must end the graph");
}

static void expect_mem_refused(const unsigned char *b, size_t n, const char *words)
{
    lm_net *net = NULL;
    lm_status st = lm_net_load_onnx_mem(&net, b, n);
    CHECKF(st == LM_EFORMAT && !net && strstr(lm_errmsg(), words), "%s: '%s' (wanted '%s')",
           lm_status_name(st), lm_errmsg(), words);
    lm_net_free(net);
}

/* The raw float data of the initializer named by input k of the first
 * node whose op is op, in buf (a parsed ONNX file): a pointer into buf,
 * and its count in *n; NULL when absent. */
static unsigned char *init_raw(unsigned char *buf, size_t len, const char *op, int k, size_t *n)
{
    ox_model m;
    unsigned char *p = NULL;
    if (ox_parse(buf, len, &m) != LM_OK) return NULL;
    for (int i = 0; i < m.n_nodes && !p; i++) {
        if (!ox_is(m.nodes[i].op, op) || m.nodes[i].n_in <= k) continue;
        for (int j = 0; j < m.n_inits && !p; j++)
            if (ox_eq(m.inits[j].name, m.nodes[i].in[k]) && m.inits[j].raw) {
                p = buf + (m.inits[j].raw - buf);
                *n = m.inits[j].raw_len / 4;
            }
    }
    ox_model_free(&m);
    return p;
}

static void set_floats(unsigned char *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) memcpy(p + 4 * i, &v, 4);
}

/* A batch norm of finite numbers whose fold into the layer before it
 * overflows float (gamma 3e38 over a zero variance; a mean of -3e38
 * against a bias): refused with the node named, never a net holding
 * infinities (found by fuzz_onnx, which checks that an imported net
 * saves). */
static void onnx_refuses_overflowing_fold(void)
{
    FILE *f = fopen(FIXDIR "mlp_bn_relu.onnx", "rb");
    unsigned char *buf = malloc(1 << 20);
    size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    CHECK(len > 100);
    for (int variant = 0; variant < 2; variant++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        size_t ng = 0, nm = 0, nv = 0;
        unsigned char *gamma = init_raw(copy, len, "BatchNormalization", 1, &ng);
        unsigned char *mean = init_raw(copy, len, "BatchNormalization", 3, &nm);
        unsigned char *var = init_raw(copy, len, "BatchNormalization", 4, &nv);
        CHECK(gamma && mean && var && ng > 1 && nm == ng && nv == ng);
        if (!(gamma && mean && var)) {
            free(copy);
            break;
        }
        if (variant == 0) {
            set_floats(gamma + 4, 1, 3e38f); /* unit 1's weights */
            set_floats(var + 4, 1, 0.0f);
        } else {
            set_floats(gamma + 4, 1, 1e6f); /* unit 1's bias: (b + 3e38) * 1e6 / sqrt(1 + eps) */
            set_floats(mean + 4, 1, -3e38f);
            set_floats(var + 4, 1, 1.0f);
        }
        expect_mem_refused(copy, len, "gives unit 1 a weight or bias beyond the float range");
        free(copy);
    }
    free(buf);
}

/* What lamina does not take of an input's Sub and Div is refused, the
 * node named: a mean for another axis (a (5, 1) constant on an (N, 5)
 * input), a Div by the input (no constant), and divisors of 0, below 0,
 * NaN or so small that their reciprocal leaves the float range. */
static void onnx_refuses_bad_normalization(void)
{
    expect_refused(FIXDIR "keras_norm_axis.onnx",
                   "node 'normalization/sub' (Sub): its constant (5, 1) does not broadcast over "
                   "its input (N, 5)");
    expect_refused(FIXDIR "keras_norm_div_input.onnx",
                   "node 'normalization/truediv' (Div): its input 2 is not an initializer");
    FILE *f = fopen(FIXDIR "mlp_keras_norm.onnx", "rb");
    unsigned char *buf = malloc(1 << 20);
    size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    CHECK(len > 100);
    static const struct { float v; const char *words; } bad[] = {
        {0.0f, "(Div): its constant divides by 0 or a negative number: 0 at input 2 (from 0)"},
        {-1.5f, "(Div): its constant divides by 0 or a negative number: -1.5 at input 2"},
        {NAN, "(Div): constant 'D' holds a NaN or infinite value at 2"},
        {1e-40f, "(Div): its constant takes the input normalisation beyond the float range: "}};
    for (int k = 0; k < 4 && len > 100; k++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        size_t n = 0;
        unsigned char *d = init_raw(copy, len, "Div", 1, &n);
        CHECK(d && n == 5);
        if (d && n == 5) {
            set_floats(d + 8, 1, bad[k].v);
            expect_mem_refused(copy, len, bad[k].words);
        }
        free(copy);
    }
    free(buf);
}

/* A float value_info (N, dims...) named name as field of graph g. */
static void put_value(pb_buf *g, uint32_t field, const char *name, const int64_t *dims, int nd)
{
    pb_buf dn = {0}, sh = {0}, tt = {0}, ty = {0}, vi = {0};
    pb_put_str(&dn, OX_DIM_PARAM, "N");
    pb_put_msg(&sh, OX_SHAPE_DIM, &dn);
    for (int i = 0; i < nd; i++) {
        pb_buf d = {0};
        pb_put_int(&d, OX_DIM_VALUE, dims[i]);
        pb_put_msg(&sh, OX_SHAPE_DIM, &d);
        pb_buf_free(&d);
    }
    pb_put_int(&tt, OX_TT_ELEM, OX_FLOAT);
    pb_put_msg(&tt, OX_TT_SHAPE, &sh);
    pb_put_msg(&ty, OX_TYPE_TENSOR, &tt);
    pb_put_str(&vi, OX_VI_NAME, name);
    pb_put_msg(&vi, OX_VI_TYPE, &ty);
    pb_put_msg(g, field, &vi);
    pb_buf *all[] = {&dn, &sh, &tt, &ty, &vi};
    for (int i = 0; i < 5; i++) pb_buf_free(all[i]);
}

/* Model m: IR 7, opset 13, graph g. */
static void put_model(pb_buf *m, const pb_buf *g)
{
    pb_buf op = {0};
    pb_put_int(m, OX_MODEL_IR_VERSION, 7);
    pb_put_str(&op, OX_OPSET_DOMAIN, "");
    pb_put_int(&op, OX_OPSET_VERSION, 13);
    pb_put_msg(m, OX_MODEL_OPSET, &op);
    pb_put_msg(m, OX_MODEL_GRAPH, g);
    pb_buf_free(&op);
}

/* y = Gemm(x, w) over (N, 2) with transB written once, or twice (0,
 * then 1), as a model of its own, built field by field. */
static void gemm_model(pb_buf *m, int twice)
{
    pb_buf node = {0}, a0 = {0}, a1 = {0}, w = {0}, g = {0};
    pb_put_str(&node, OX_NODE_INPUT, "x");
    pb_put_str(&node, OX_NODE_INPUT, "w");
    pb_put_str(&node, OX_NODE_OUTPUT, "y");
    pb_put_str(&node, OX_NODE_NAME, "gemm");
    pb_put_str(&node, OX_NODE_OP, "Gemm");
    pb_put_str(&a0, OX_ATTR_NAME, "transB");
    pb_put_int(&a0, OX_ATTR_TYPE, OX_AT_INT);
    pb_put_int(&a0, OX_ATTR_I, 0);
    pb_put_msg(&node, OX_NODE_ATTR, &a0);
    pb_put_str(&a1, OX_ATTR_NAME, "transB");
    pb_put_int(&a1, OX_ATTR_TYPE, OX_AT_INT);
    pb_put_int(&a1, OX_ATTR_I, 1);
    if (twice) pb_put_msg(&node, OX_NODE_ATTR, &a1);
    pb_put_msg(&g, OX_GRAPH_NODE, &node);
    const float wv[4] = {1, 2, 3, 4};
    unsigned char raw[16];
    for (int i = 0; i < 16; i++) {
        uint32_t u;
        memcpy(&u, &wv[i / 4], 4);
        raw[i] = (unsigned char)(u >> (8 * (i % 4)));
    }
    pb_put_int(&w, OX_T_DIMS, 2);
    pb_put_int(&w, OX_T_DIMS, 2);
    pb_put_int(&w, OX_T_TYPE, OX_FLOAT);
    pb_put_str(&w, OX_T_NAME, "w");
    pb_put_bytes(&w, OX_T_RAW, raw, sizeof raw);
    pb_put_msg(&g, OX_GRAPH_INIT, &w);
    const int64_t two = 2;
    put_value(&g, OX_GRAPH_INPUT, "x", &two, 1);
    put_value(&g, OX_GRAPH_OUTPUT, "y", &two, 1);
    put_model(m, &g);
    pb_buf *all[] = {&node, &a0, &a1, &w, &g};
    for (int i = 0; i < 5; i++) pb_buf_free(all[i]);
}

/* An attribute given twice (transB 0, then 1) was read as its first
 * value and imported without a word, where ONNX Runtime and onnx.checker
 * refuse the node ("Attribute 'transB' appeared multiple times"). */
static void onnx_refuses_repeated_attribute(void)
{
    pb_buf once = {0}, twice = {0};
    gemm_model(&once, 0);
    gemm_model(&twice, 1);
    CHECK(!once.err && !twice.err);
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx_mem(&net, once.p, once.n));
    float x[2] = {1, 1}, y[2] = {0, 0};
    if (net) CHECK_OK(lm_net_predict(net, x, 1, y));
    CHECKF(y[0] == 4 && y[1] == 6, "x W gave %g %g", (double)y[0], (double)y[1]);
    lm_net_free(net);
    expect_mem_refused(twice.p, twice.n, "node 'gemm' (Gemm): attribute transB is given more than once");
    pb_buf_free(&once);
    pb_buf_free(&twice);
}

/* PyTorch's nn.Flatten of an (N, C, H, W) input then a Gemm: a signal
 * of 2 channels as (2, 3, 1). The Keras rule (a last side of 1, 3 or 4
 * read as channels) took it as an (H, W, C) = (2, 3, 1) image and
 * kept the weights in (C, H, W) order: lamina's channels-last rows were
 * then scored with another pixel's weight, silently. A Flatten node is
 * PyTorch's, (C, H, W) as before; only tf2onnx's Reshape is read (H, W, C). */
static void onnx_torch_flatten_of_chw_with_w1(void)
{
    pb_buf m = {0}, g = {0}, fl = {0}, gm = {0}, w = {0};
    pb_put_str(&fl, OX_NODE_INPUT, "x");
    pb_put_str(&fl, OX_NODE_OUTPUT, "f");
    pb_put_str(&fl, OX_NODE_NAME, "flat");
    pb_put_str(&fl, OX_NODE_OP, "Flatten");
    pb_put_msg(&g, OX_GRAPH_NODE, &fl);
    pb_put_str(&gm, OX_NODE_INPUT, "f");
    pb_put_str(&gm, OX_NODE_INPUT, "w");
    pb_put_str(&gm, OX_NODE_OUTPUT, "y");
    pb_put_str(&gm, OX_NODE_NAME, "gemm");
    pb_put_str(&gm, OX_NODE_OP, "Gemm");
    pb_put_msg(&g, OX_GRAPH_NODE, &gm);
    const float wv[6] = {1, 2, 3, 4, 5, 6}; /* (6, 1): weight of (c, h) at c * 3 + h */
    unsigned char raw[24];
    for (int i = 0; i < 24; i++) {
        uint32_t u;
        memcpy(&u, &wv[i / 4], 4);
        raw[i] = (unsigned char)(u >> (8 * (i % 4)));
    }
    pb_put_int(&w, OX_T_DIMS, 6);
    pb_put_int(&w, OX_T_DIMS, 1);
    pb_put_int(&w, OX_T_TYPE, OX_FLOAT);
    pb_put_str(&w, OX_T_NAME, "w");
    pb_put_bytes(&w, OX_T_RAW, raw, sizeof raw);
    pb_put_msg(&g, OX_GRAPH_INIT, &w);
    const int64_t in[3] = {2, 3, 1}, one = 1;
    put_value(&g, OX_GRAPH_INPUT, "x", in, 3);
    put_value(&g, OX_GRAPH_OUTPUT, "y", &one, 1);
    put_model(&m, &g);
    CHECK(!m.err);
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_onnx_mem(&net, m.p, m.n));
    lm_layer_desc d = {.size = sizeof d};
    if (net) CHECK_OK(lm_net_layer_desc(net, 0, &d));
    CHECKF(d.in_c == 2 && d.in_h == 3 && d.in_w == 1, "input (%d, %d, %d)", d.in_c, d.in_h, d.in_w);
    /* channels-last row (h * 2 + c): channel 1 of row 0 is weight c 1, h 0 */
    float x[6] = {0, 1, 0, 0, 0, 0}, y = 0;
    if (net) CHECK_OK(lm_net_predict(net, x, 1, &y));
    CHECKF(y == 4, "channel 1 of row 0 scored %g, not its weight 4", (double)y);
    lm_net_free(net);
    pb_buf *all[] = {&m, &g, &fl, &gm, &w};
    for (int i = 0; i < 5; i++) pb_buf_free(all[i]);
}

/* An (N, C, H, W) input of three sides of 2^24: their product, checked
 * against lamina's widest row, overflowed int64 (UB; in practice it
 * wrapped to 0, which passed, and lm_net_new said "input width 0 is out
 * of range"). */
static void onnx_refuses_huge_input_sides(void)
{
    const int64_t sides[][3] = {{1 << 24, 1 << 24, 1 << 24}, {1 << 22, 1 << 21, 1 << 21},
                                {1 << 24, 1 << 24, 1 << 16}, {1 << 12, 1 << 12, 2}};
    for (int k = 0; k < 4; k++) {
        pb_buf m = {0}, g = {0}, node = {0};
        pb_put_str(&node, OX_NODE_INPUT, "x");
        pb_put_str(&node, OX_NODE_OUTPUT, "y");
        pb_put_str(&node, OX_NODE_NAME, "flat");
        pb_put_str(&node, OX_NODE_OP, "Flatten");
        pb_put_msg(&g, OX_GRAPH_NODE, &node);
        put_value(&g, OX_GRAPH_INPUT, "x", sides[k], 3);
        put_value(&g, OX_GRAPH_OUTPUT, "y", sides[k], 1);
        put_model(&m, &g);
        CHECK(!m.err);
        expect_mem_refused(m.p, m.n, "inputs of known sizes, at most 16777216 values a row");
        pb_buf *all[] = {&m, &g, &node};
        for (int i = 0; i < 3; i++) pb_buf_free(all[i]);
    }
}

static void onnx_refuses_malformed(void)
{
    /* ir_version whose varint never ends */
    unsigned char v[12] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_mem_refused(v, sizeof v, "longer than");
    expect_mem_refused(v, 5, "cut short");
    /* a graph claiming 2^40 bytes */
    unsigned char h[8] = {0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00};
    expect_mem_refused(h, sizeof h, "claims");
    /* a group wire type */
    unsigned char g[2] = {0x0b, 0x00};
    expect_mem_refused(g, sizeof g, "wire type");
    expect_mem_refused(g, 0, "empty");
    /* not ONNX at all */
    expect_mem_refused((const unsigned char *)"hello, world", 12, "");
}

/* Every prefix of a real export is handled: no crash, no leak, and a
 * prefix that cuts the graph is refused. */
static void onnx_truncated(void)
{
    lm_net *a = net_all_kinds();
    CHECK_OK(lm_net_save_onnx(a, tmp_file(), 0));
    FILE *f = fopen(tmp_file(), "rb");
    unsigned char *buf = malloc(1 << 20);
    size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    remove(tmp_file());
    CHECK(len > 100);
    size_t refused = 0, step = len / 400 + 1;
    for (size_t n = 0; n < len; n += step) {
        lm_net *b = NULL;
        lm_status st = lm_net_load_onnx_mem(&b, buf, n);
        CHECKF(st == LM_EFORMAT || st == LM_OK, "prefix %zu: %s", n, lm_status_name(st));
        refused += st == LM_EFORMAT;
        lm_net_free(b);
    }
    /* the graph (all but the metadata at the end) is most of the file */
    CHECKF(refused * step > len / 2, "only %zu prefixes refused", refused);
    free(buf);
    lm_net_free(a);
}

int main(void)
{
    RUN(onnx_round_trip_all_kinds);
    RUN(onnx_round_trip_gap_regression);
    RUN(onnx_round_trip_binary);
    RUN(onnx_class_names_with_newlines);
    RUN(onnx_names_not_utf8);
    RUN(onnx_export_refuses_bad_values);
    RUN(onnx_round_trip_image_output);
    RUN(onnx_round_trip_flat_batchnorm);
    RUN(onnx_round_trip_image_dropout_first);
    RUN(onnx_round_trip_image_dropout_dense);
    RUN(onnx_round_trip_bn_momenta);
    RUN(onnx_round_trip_image_dense_first);
    RUN(onnx_round_trip_standalone_acts);
    RUN(onnx_standalone_act_folded);
    RUN(onnx_export_refuses);
    RUN(onnx_torch_mlp);
    RUN(onnx_torch_cnn);
    RUN(onnx_torch_cnn_gap);
    RUN(onnx_torch_cnn_nhwc);
    RUN(onnx_keras_mlp_nhwc);
    RUN(onnx_keras_cnn_rescaling_gap);
    RUN(onnx_act_before_input_transpose);
    RUN(onnx_keras_normalization);
    RUN(onnx_keras_normalization_unfolded);
    RUN(onnx_torch_normalization_constants_between);
    RUN(onnx_normalization_identity_between);
    RUN(onnx_normalization_pad_between);
    RUN(onnx_torch_flatten_of_chw_with_w1);
    RUN(onnx_torch_bn_relu_folded);
    RUN(onnx_conv_add_bias);
    RUN(onnx_torch_view_shape_arithmetic);
    RUN(onnx_shape_reduce_prod);
    RUN(onnx_torch_view_fixed_batch);
    RUN(onnx_torch_log_softmax);
    RUN(onnx_notes_not_restored_from_export);
    RUN(onnx_export_leaves_out_import_notes);
    RUN(onnx_refuses_views_mixing_rows);
    RUN(onnx_refuses_overflowing_fold);
    RUN(onnx_refuses_misaligned_bias);
    RUN(onnx_refuses_reduce_mean_over_channels);
    RUN(onnx_refuses_bad_normalization);
    RUN(onnx_refuses_unsupported_op);
    RUN(onnx_refuses_wrong_initializer);
    RUN(onnx_refuses_repeated_attribute);
    RUN(onnx_refuses_huge_input_sides);
    RUN(onnx_refuses_malformed);
    RUN(onnx_truncated);
    TEST_MAIN_END();
}
