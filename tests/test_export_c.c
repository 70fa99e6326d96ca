/* test_export_c.c - the library side of the C source export
 * (lm_net_export_c, lm_net_quantize_int8): what it refuses, that a
 * refused call writes nothing, the int8 round trip's scheme (per output
 * channel, symmetric, max |w| kept exactly, zero channels stay zero), and
 * that the header states the workspace the shapes need. Compiling and
 * running the generated code is tests/cli/test_export_c.sh's part. */
#include "harness.h"
#include "lamina.h"

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static lm_net *small_cnn(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(7);
    if (lm_net_new(&net, 2 * 4 * 4) != LM_OK) return NULL;
    lm_net_set_input_shape(net, 2, 4, 4);
    lm_net_add_conv2d(net, 3, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    lm_net_add_maxpool2d(net, 2, 2);
    lm_net_add_dense(net, 5, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    return net;
}

static int exists(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void refuses_bad_arguments(void)
{
    lm_net *net = small_cnn(), *empty;
    char p[128];
    CHECK(net != NULL);
    snprintf(p, sizeof p, "%s/m.c", dir);
    const char *bad[] = {"", "9lives", "_m", "my-model", "int", "while",
                         "a_name_that_is_longer_than_forty_characters_x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lm_status st = lm_net_export_c(net, p, bad[i], 0);
        CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "not a usable C name"), "name '%s': %s %s",
               bad[i], lm_status_name(st), lm_errmsg());
    }
    snprintf(p, sizeof p, "%s/m.txt", dir);
    CHECK(lm_net_export_c(net, p, "m", 0) == LM_EINVAL && strstr(lm_errmsg(), "ending in .c"));
    snprintf(p, sizeof p, "%s/.c", dir);
    CHECK(lm_net_export_c(net, p, "m", 0) == LM_EINVAL);
    /* the .c file includes the header by its file name, in quotes: a name
     * C cannot say there would make a file that does not compile */
    const char *odd[] = {"we\"ird.c", "back\\slash.c", "it's.c", "new\nline.c", "tab\t.c"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, odd[i]);
        lm_status st = lm_net_export_c(net, p, "m", 0);
        CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "#include"), "file '%s': %s %s", odd[i],
               lm_status_name(st), lm_errmsg());
    }
    snprintf(p, sizeof p, "%s/9 lives-v2.c", dir); /* spaces, dashes, a digit first: fine */
    CHECK_OK(lm_net_export_c(net, p, "m", 0));
    CHECK(exists("9 lives-v2.c") && exists("9 lives-v2.h"));
    snprintf(p, sizeof p, "%s/9 lives-v2.c", dir);
    remove(p);
    p[strlen(p) - 1] = 'h';
    remove(p);
    snprintf(p, sizeof p, "%s/m.c", dir);
    CHECK(lm_net_export_c(net, p, "m", 2u) == LM_EINVAL && strstr(lm_errmsg(), "flags"));
    /* a weight that is not finite never reaches a file */
    float keep = lm_net_params(net)[3];
    lm_net_params(net)[3] = NAN;
    CHECK(lm_net_export_c(net, p, "m", 0) == LM_EINVAL && strstr(lm_errmsg(), "parameter 3"));
    lm_net_params(net)[3] = keep;
    CHECK_OK(lm_net_new(&empty, 3));
    CHECK(lm_net_export_c(empty, p, "m", 0) == LM_EINVAL && strstr(lm_errmsg(), "no layers"));
    CHECK(!exists("m.c") && !exists("m.h") && !exists("m.txt") && !exists("we\"ird.h") &&
          !exists("it's.h"));
    /* an unwritable folder is LM_EIO and leaves nothing */
    CHECK(lm_net_export_c(net, "/nonexistent-lamina-dir/m.c", "m", 0) == LM_EIO);
    lm_net_free(empty);
    lm_net_free(net);
}

static void writes_both_files(void)
{
    lm_net *net = small_cnn();
    char p[128], buf[4096];
    snprintf(p, sizeof p, "%s/cnn.c", dir);
    CHECK_OK(lm_net_export_c(net, p, "cnn", LM_EXPORT_INT8));
    CHECK(exists("cnn.c") && exists("cnn.h"));
    snprintf(p, sizeof p, "%s/cnn.h", dir);
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    /* the conv writes (3, 4, 4) = 48 floats, the pool (3, 2, 2) = 12 into
     * the input's buffer (32 floats): 48 + 32 */
    CHECKF(strstr(buf, "#define CNN_WORKSPACE_FLOATS 80\n") && strstr(buf, "#define CNN_N_IN 32\n") &&
               strstr(buf, "void cnn_predict(const float *x, float *y);") &&
               strstr(buf, "void cnn_predict_ws(const float *x, float *y, float *ws);") &&
               strstr(buf, "(320 bytes)"),
           "header:\n%s", buf);
    lm_net_free(net);
}

static void int8_round_trip(void)
{
    lm_net *net = small_cnn(), *q;
    CHECK(net != NULL);
    float *w = lm_net_params(net);
    /* conv weights (3*3*2, 3): make filter 1 all zeros */
    for (int i = 0; i < 18; i++) w[i * 3 + 1] = 0.0f;
    CHECK_OK(lm_net_clone(&q, net));
    CHECK_OK(lm_net_quantize_int8(q));
    const float *a = lm_net_params_const(net), *b = lm_net_params_const(q);
    lm_layer_desc d = {.size = sizeof d};
    for (int l = 0; l < lm_net_n_layers(net); l++) {
        CHECK_OK(lm_net_layer_desc(net, l, &d));
        if (d.kind != LM_LAYER_CONV2D && d.kind != LM_LAYER_DENSE) continue;
        int cols = d.units;
        size_t rows = (d.n_params - (size_t)cols) / (size_t)cols;
        for (int j = 0; j < cols; j++) {
            float m = 0;
            for (size_t i = 0; i < rows; i++) m = fmaxf(m, fabsf(a[d.p_offset + i * cols + j]));
            float s = m / 127.0f;
            for (size_t i = 0; i < rows; i++) {
                float x = a[d.p_offset + i * cols + j], y = b[d.p_offset + i * cols + j];
                float k = s > 0 ? roundf(x / s) : 0.0f;
                CHECKF(y == k * s && fabsf(y - x) <= 0.5f * s * 1.0001f,
                       "layer %d w[%zu][%d] %g -> %g (scale %g)", l, i, j, x, y, s);
                if (fabsf(x) == m) CHECKF(fabsf(y) == 127.0f * s, "max of channel %d", j);
            }
            if (m == 0) CHECK(b[d.p_offset + j] == 0.0f);
        }
        /* biases untouched */
        for (int j = 0; j < cols; j++)
            CHECK(b[d.p_offset + rows * cols + j] == a[d.p_offset + rows * cols + j]);
    }
    lm_net_free(q);
    lm_net_free(net);
}

/* Numbers in the source do not follow the program's locale: under a
 * decimal comma the weight 0.25 was written "0,25.0f", two initialisers,
 * and the source compiled (with warnings) into wrong weights. */
static void numbers_ignore_the_locale(void)
{
    const char *loc = th_comma_locale(dir);
    if (!loc) SKIP("no locale with a decimal comma here");
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SIGMOID, LM_BIAS));
    float *p = lm_net_params(net);
    for (int i = 0; i < 6; i++) p[i] = 0.25f * (float)(i + 1);
    char path[128], buf[8192];
    snprintf(path, sizeof path, "%s/loc.c", dir);
    CHECK_OK(lm_net_export_c(net, path, "loc", 0));
    char t[16];
    snprintf(t, sizeof t, "%g", 0.5);
    CHECKF(strcmp(t, "0,5") == 0, "the program's locale was changed: 0.5 prints as %s", t);
    setlocale(LC_NUMERIC, "C");
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    CHECKF(strstr(buf, "0.25f, 0.5f, 0.75f, 1.0f,") && strstr(buf, "1.25f, 1.5f,") && !strstr(buf, "0,25"),
           "under %s the weights read:\n%s", loc, buf);
    lm_net_free(net);
}

/* A batch norm prints as its inference scale gamma / sqrt(var + eps) and
 * shift: a running variance below 0 (which lm_net_save and
 * lm_net_save_onnx refuse) made them NaN, a large gamma over a small
 * variance infinite, and the source held "-nan.0f" and "inf.0f", which
 * do not compile; the export said LM_OK. Refused now, naming the layer
 * and channel, with nothing written. */
static void refuses_batchnorm_beyond_float(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(3);
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 2, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    float *p = lm_net_params(net), *st = lm_net_state(net); /* gamma p[8..9]; mean, var */
    char path[128];
    snprintf(path, sizeof path, "%s/bn.c", dir);
    st[3] = -0.5f; /* channel 1's running variance */
    lm_status s = lm_net_export_c(net, path, "bn", 0);
    CHECKF(s == LM_EINVAL && strstr(lm_errmsg(), "channel 1") && strstr(lm_errmsg(), "below 0"),
           "%s: %s", lm_status_name(s), lm_errmsg());
    st[3] = 1.0f;
    p[8] = 3e38f; /* over sqrt(0 + 1e-5): past FLT_MAX */
    st[2] = 0.0f;
    s = lm_net_export_c(net, path, "bn", 0);
    CHECKF(s == LM_EINVAL && strstr(lm_errmsg(), "layer 2 (batchnorm): channel 0") &&
               strstr(lm_errmsg(), "finite"),
           "%s: %s", lm_status_name(s), lm_errmsg());
    CHECK(!exists("bn.c") && !exists("bn.h"));
    p[8] = 1.0f;
    CHECK_OK(lm_net_export_c(net, path, "bn", 0));
    CHECK(exists("bn.c") && exists("bn.h"));
    lm_net_free(net);
}

/* The whole of file name in dir into buf (size bytes, NUL-terminated);
 * its length, or -1 if it cannot be read. */
static long read_back(const char *name, char *buf, size_t size)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

/* The .c and .h are a pair: the header sizes the caller's x, y and
 * workspace for the source beside it. An export that fails part way (a
 * full disk) must leave the old pair as it was, not a new header beside
 * the old source, which compiles and overflows the workspace it sizes. */
static void a_failed_write_keeps_the_old_pair(void)
{
    lm_net *big, *small;
    lm_rng rng = lm_rng_seed(3);
    CHECK_OK(lm_net_new(&big, 8));
    CHECK_OK(lm_net_add_dense(big, 400, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dense(big, 3, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_init(big, LM_INIT_HE, &rng));
    CHECK_OK(lm_net_new(&small, 8));
    CHECK_OK(lm_net_add_dense(small, 4, LM_RELU, LM_BIAS));
    CHECK_OK(lm_net_add_dense(small, 3, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_init(small, LM_INIT_HE, &rng));
    char p[128];
    static char old_c[100000], old_h[4096], now_c[100000], now_h[4096];
    snprintf(p, sizeof p, "%s/pair.c", dir);
    CHECK_OK(lm_net_export_c(big, p, "pair", 0));
    long nc = read_back("pair.c", old_c, sizeof old_c), nh = read_back("pair.h", old_h, sizeof old_h);
    CHECK(nc > 4096 && nh > 0 && nh < 2048);
    /* a file size limit as a full disk: the new header (about 1.2 KB)
     * fits, the new source (about 3 KB) does not */
    struct rlimit keep, lim;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(getrlimit(RLIMIT_FSIZE, &keep) == 0);
    lim = keep;
    lim.rlim_cur = 2048;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    lm_status st = lm_net_export_c(small, p, "pair", 0);
    setrlimit(RLIMIT_FSIZE, &keep);
    signal(SIGXFSZ, was);
    CHECKF(st == LM_EIO && strstr(lm_errmsg(), "pair.c: write failed"), "%s: %s",
           lm_status_name(st), lm_errmsg());
    CHECKF(read_back("pair.h", now_h, sizeof now_h) == nh && strcmp(now_h, old_h) == 0,
           "the failed export replaced the header:\n%s", now_h);
    CHECK(read_back("pair.c", now_c, sizeof now_c) == nc && strcmp(now_c, old_c) == 0);
    /* no temporary file is left behind */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        CHECKF(strstr(e->d_name, ".tmp.") == NULL, "left behind: %s", e->d_name);
    if (d) closedir(d);
    /* a .c that is a folder: refused before the header is written */
    snprintf(p, sizeof p, "%s/folder.c", dir);
    CHECK(mkdir(p, 0700) == 0);
    CHECK(lm_net_export_c(small, p, "folder", 0) == LM_EIO && strstr(lm_errmsg(), "folder"));
    CHECK(!exists("folder.h"));
    rmdir(p);
    lm_net_free(big);
    lm_net_free(small);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lm_export_c_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(refuses_bad_arguments);
    RUN(writes_both_files);
    RUN(int8_round_trip);
    RUN(numbers_ignore_the_locale);
    RUN(refuses_batchnorm_beyond_float);
    RUN(a_failed_write_keeps_the_old_pair);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
