/* gen_seeds.c - writes the seed corpora under fuzz/corpus/<target>/: a
 * few valid inputs of each format and a few broken ones, each small. The
 * committed files came from this program; rerun it after a format change:
 *
 *   cc -std=c11 -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L -o /tmp/gen_seeds \
 *      fuzz/gen_seeds.c build/liblamina.a -lz -lm -pthread && /tmp/gen_seeds
 *
 * Inputs carry the small headers fuzz/entry.h expects (a mode byte for
 * csv, a mode byte and a length for idx). */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static void die(const char *what)
{
    fprintf(stderr, "gen_seeds: %s: %s\n", what, lm_errmsg());
    exit(1);
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    mkdir("fuzz/corpus", 0755);
    snprintf(path, sizeof path, "fuzz/corpus/%s", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die(path);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    static unsigned char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

/* Saves net (or a checkpoint of t) and writes the bytes as seeds for both
 * model targets, plus damaged variants when damage is set. */
static void model_seed(const char *name, lm_net *net, lm_train *t, int damage)
{
    const char *tmp = "/tmp/lamina-gen-seed.lmn";
    if ((t ? lm_train_save(t, tmp) : lm_net_save(net, tmp)) != LM_OK) die("save");
    size_t n;
    unsigned char *b = slurp(tmp, &n);
    remove(tmp);
    char nm[128];
    snprintf(nm, sizeof nm, "%s.model", name);
    put("model", nm, b, n);
    put("model_crc", nm, b, n);
    if (!damage) return;
    snprintf(nm, sizeof nm, "%s_truncated.model", name);
    put("model", nm, b, n / 2);
    put("model_crc", nm, b, n / 2);
    b[n / 3] ^= 0x40;
    snprintf(nm, sizeof nm, "%s_flipped.model", name);
    put("model", nm, b, n);
    b[n / 3] ^= 0x40;
    b[0] = 'X';
    snprintf(nm, sizeof nm, "%s_badmagic.model", name);
    put("model", nm, b, n);
}

static void models(void)
{
    lm_rng rng = lm_rng_seed(7);
    lm_net *net;
    /* the tutorial's net */
    if (lm_net_new(&net, 3) || lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS) ||
        lm_net_add_dense(net, 1, LM_SIGMOID, LM_NO_BIAS) || lm_net_init(net, LM_INIT_UNIFORM01, &rng))
        die("tutorial net");
    model_seed("tutorial", net, NULL, 1);
    lm_net_free(net);

    /* every optional section: normalisation, class names, metadata */
    if (lm_net_new(&net, 2) || lm_net_add_dense(net, 3, LM_RELU, LM_BIAS) ||
        lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS) || lm_net_init(net, LM_INIT_XAVIER, &rng))
        die("classifier net");
    float mean[2] = {0.5f, -1.0f}, scale[2] = {2.0f, 0.25f};
    const char *names[3] = {"setosa", "versicolor", "virginica"};
    if (lm_net_set_norm(net, mean, scale) || lm_net_set_class_names(net, 3, names) ||
        lm_net_set_meta(net, "features", "a,b") || lm_net_set_meta(net, "loss", "ce"))
        die("classifier extras");
    model_seed("classifier", net, NULL, 1);

    /* checkpoints: Adam (m and v) and SGD with momentum (m only) */
    for (int k = 0; k < 2; k++) {
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        o.batch = 2;
        o.optim.kind = k ? LM_SGD : LM_ADAM;
        o.optim.momentum = k ? 0.9f : 0.0f;
        lm_train *t;
        if (lm_train_new(&t, net, &o, &rng)) die("trainer");
        float x[4] = {0, 1, 1, 0};
        int32_t lab[2] = {0, 2};
        float loss;
        if (lm_train_step(t, x, NULL, lab, 2, &loss)) die("step");
        model_seed(k ? "ckpt_sgd_momentum" : "ckpt_adam", net, t, k == 0);
        lm_train_free(t);
    }
    lm_net_free(net);

    /* version 2: an input shape, batch norm (the STAT section), dropout,
     * as a model and as an Adam checkpoint */
    if (lm_net_new(&net, 12) || lm_net_set_input_shape(net, 3, 2, 2) || lm_net_add_batchnorm(net, 0.1f, 1e-5f) ||
        lm_net_add_dense(net, 4, LM_RELU, LM_BIAS) || lm_net_add_dropout(net, 0.5f) ||
        lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS) || lm_net_init(net, LM_INIT_HE, &rng))
        die("layer kinds net");
    model_seed("kinds_v2", net, NULL, 1);
    {
        lm_fit_opts o = lm_fit_defaults();
        o.loss = LM_LOSS_CE;
        o.batch = 2;
        o.optim.kind = LM_ADAM;
        lm_train *t;
        if (lm_train_new(&t, net, &o, &rng)) die("trainer");
        float x[24] = {0, 1, 1, 0, 2, 3, 1, 0, 0, 1, 2, 2, 1, 1, 0, 0, 3, 2, 1, 0, 1, 2, 0, 1};
        int32_t lab[2] = {0, 1};
        float loss;
        if (lm_train_step(t, x, NULL, lab, 2, &loss)) die("step");
        model_seed("ckpt_kinds_v2", net, t, 0);
        lm_train_free(t);
    }
    lm_net_free(net);

    /* version 2: conv2d (same, numeric padding, stride 2, no bias), max,
     * average and global average pooling */
    if (lm_net_new(&net, 48) || lm_net_set_input_shape(net, 3, 4, 4) ||
        lm_net_add_conv2d(net, 4, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS) ||
        lm_net_add_maxpool2d(net, 2, 1) || lm_net_add_conv2d(net, 3, 2, 3, 2, 1, LM_TANH, LM_NO_BIAS) ||
        lm_net_add_avgpool2d(net, 2, 1) || lm_net_add_global_avgpool(net) ||
        lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS) || lm_net_init(net, LM_INIT_HE, &rng))
        die("cnn net");
    model_seed("cnn_v2", net, NULL, 1);
    lm_net_free(net);
    put("model", "empty.model", "", 0);
    put("model", "magic_only.model", "\x89LMN\r\n\x1a\n", 8);
}

/* ------------------------------------------------------------- idx */

static size_t be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* An IDX header: dtype, dims; returns its length. */
static size_t idx_head(unsigned char *p, int dtype, int nd, const uint32_t *dims)
{
    size_t n = 0;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = (unsigned char)dtype;
    p[n++] = (unsigned char)nd;
    for (int i = 0; i < nd; i++) n += be32(p + n, dims[i]);
    return n;
}

/* mode byte, images length (LE u16), images, labels */
static void idx_seed(const char *name, int mode, const unsigned char *im, size_t ni,
                     const unsigned char *lb, size_t nl)
{
    unsigned char buf[4096];
    buf[0] = (unsigned char)mode;
    buf[1] = (unsigned char)ni;
    buf[2] = (unsigned char)(ni >> 8);
    memcpy(buf + 3, im, ni);
    if (nl) memcpy(buf + 3 + ni, lb, nl);
    put("idx", name, buf, 3 + ni + nl);
}

static void idxs(void)
{
    unsigned char im[1024], lb[64];
    uint32_t dims[3] = {4, 2, 3};
    size_t ni = idx_head(im, 0x08, 3, dims);
    for (int i = 0; i < 24; i++) im[ni++] = (unsigned char)(i * 10);
    uint32_t ld[1] = {4};
    size_t nl = idx_head(lb, 0x08, 1, ld);
    for (int i = 0; i < 4; i++) lb[nl++] = (unsigned char)(i % 3);
    idx_seed("u8_labels.bin", 2, im, ni, lb, nl);
    idx_seed("u8_labels_gz.bin", 7, im, ni, lb, nl);
    idx_seed("u8_nolabels.bin", 0, im, ni, NULL, 0);
    idx_seed("u8_truncated.bin", 2, im, ni - 5, lb, nl);
    lb[nl - 1] = 200;
    idx_seed("u8_biglabel.bin", 2, im, ni, lb, nl);
    ld[0] = 3;
    idx_seed("labels_count_mismatch.bin", 2, im, ni, lb, idx_head(lb, 0x08, 1, ld) + 3);

    /* float32 images, 3 rows of 2 */
    uint32_t fd[2] = {3, 2};
    ni = idx_head(im, 0x0D, 2, fd);
    for (int i = 0; i < 6; i++) {
        float f = (float)i * 0.5f - 1.0f;
        uint32_t u;
        memcpy(&u, &f, 4);
        ni += be32(im + ni, u);
    }
    idx_seed("f32.bin", 1, im, ni, NULL, 0);
    /* int16 images and int32 labels */
    uint32_t sd[2] = {2, 2};
    ni = idx_head(im, 0x0B, 2, sd);
    for (int i = 0; i < 4; i++) {
        im[ni++] = 0xff;
        im[ni++] = (unsigned char)i;
    }
    ld[0] = 2;
    nl = idx_head(lb, 0x0C, 1, ld);
    nl += be32(lb + nl, 1);
    nl += be32(lb + nl, 0);
    idx_seed("i16_i32labels.bin", 2, im, ni, lb, nl);
    /* a huge claim in a tiny file */
    uint32_t hd[3] = {0x7fffffff, 28, 28};
    ni = idx_head(im, 0x08, 3, hd);
    idx_seed("huge_claim.bin", 0, im, ni, NULL, 0);
    idx_seed("huge_claim_gz.bin", 1, im, ni, NULL, 0);
}

/* ------------------------------------------------------------- csv */

static void csv_seed(const char *name, int mode, const char *text)
{
    size_t n = strlen(text);
    unsigned char *b = malloc(n + 1);
    if (!b) die("malloc");
    b[0] = (unsigned char)mode;
    memcpy(b + 1, text, n);
    put("csv", name, b, n + 1);
    free(b);
}

static void csvs(void)
{
    const int detect = 0; /* header -1, sep detect, kind detect */
    csv_seed("iris.csv", detect,
             "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n"
             "4.9,3.0,setosa\n");
    csv_seed("regression.csv", detect, "x1,x2,y\n0.5,1e-3,2.25\n-1,2,0\n3,4,-7.5\n");
    csv_seed("semicolon_crlf.csv", detect, "a;b;label\r\n1;2;0\r\n3;4;1\r\n5;6;0\r\n");
    csv_seed("tabs_noheader.csv", 1 | (3 << 2), "1\t2\t3\n4\t5\t6\n");
    csv_seed("quoted.csv", detect, "\"name, with comma\",v,\"cls\"\n1,2,\"a \"\"b\"\"\"\n3,4,c\n");
    csv_seed("bom_blank_lines.csv", detect, "\xef\xbb\xbfx,y\n\n1,2\n\n3,4\n");
    csv_seed("no_final_newline.csv", detect, "x,y\n1,2\n3,4");
    csv_seed("ragged.csv", detect, "a,b,c\n1,2,3\n4,5\n");
    csv_seed("not_a_number.csv", detect, "a,b\n1,abc\n2,3\n");
    csv_seed("nan_inf.csv", detect, "a,b\nnan,1\ninf,2\n");
    csv_seed("binary.csv", detect, "a,b\n1,\x01\x02\x00\n");
    csv_seed("target_first_classes.csv", 2 | (2 << 4) | 0x80, "label,f1,f2\n0,1,2\n1,3,4\n0,5,6\n");
    csv_seed("no_target.csv", 0x40, "1,2,3\n4,5,6\n");
    csv_seed("header_only.csv", 2, "a,b,c\n");
    csv_seed("unterminated_quote.csv", detect, "a,b\n\"1,2\n");
    csv_seed("trailing_separator.csv", detect, "a,b,y,\n1,2,x,\n3,4,z,\n5,6,x,\n");
}

/* csv_cat: byte 1 picks missing, the categorical columns and the limit
 * (fz_csv_cat in entry.h). */
static void csv_cat_seed(const char *name, int mode, int cat, const char *text)
{
    size_t n = strlen(text);
    unsigned char *b = malloc(n + 2);
    if (!b) die("malloc");
    b[0] = (unsigned char)mode;
    b[1] = (unsigned char)cat;
    memcpy(b + 2, text, n);
    put("csv_cat", name, b, n + 2);
    free(b);
}

static void csv_cats(void)
{
    enum { MISSING = 1, C0 = 0 << 1, C1 = 1 << 1, C01 = 2 << 1, CA = 4 << 1, C1A = 7 << 1 };
    csv_cat_seed("named_missing.csv", 0, MISSING | CA,
                 "a,b,y\nred,1,0\nblue,,1\nNA,3,0\ngreen,4,1\nred,?,0\n");
    csv_cat_seed("integers_noheader.csv", 1, C01, "1,x,2\n01,y,3\n2,x,4\n10,y,5\n");
    csv_cat_seed("over_limit.csv", 0, C0 | (1 << 4), "c,y\nu,1\nv,2\n");
    csv_cat_seed("trailing_separator.csv", 0, MISSING | CA, "a,b,y,\nred,1,0,\nblue,,1,\nred,3,0,\n");
    csv_cat_seed("escaped_names.csv", 0, C0,
                 "\"c,%;=:\",v,t\n\"x;y\",1,a\n\"p=q\",2,b\n\"\",3,a\n");
    csv_cat_seed("mixed_missing.csv", 0, MISSING | C1A,
                 "a,b,c,y\n1,n/a,x,0\n2,z,,1\n,z,None,0\n4,w,x,1\n");
    csv_cat_seed("empty_cell_no_missing.csv", 0, C1, "a,b,y\n1,,0\n2,q,1\n");
}

/* ------------------------------------------------------------- npy */

/* A features file and a targets file (or none) of tests/fixtures/npy/. */
static void npy_seed(const char *name, const char *x, const char *y)
{
    char path[256];
    size_t nx, ny = 0;
    snprintf(path, sizeof path, "tests/fixtures/npy/%s", x);
    unsigned char *b = slurp(path, &nx);
    unsigned char *buf = malloc(2 + nx + (1 << 16));
    if (!buf || nx > 65535) die("npy seed");
    buf[0] = (unsigned char)(nx & 255);
    buf[1] = (unsigned char)(nx >> 8);
    memcpy(buf + 2, b, nx);
    if (y) {
        snprintf(path, sizeof path, "tests/fixtures/npy/%s", y);
        b = slurp(path, &ny);
        if (ny > 65535) die("npy seed");
        memcpy(buf + 2 + nx, b, ny);
    }
    put("npy", name, buf, 2 + nx + ny);
    free(buf);
}

static void npys(void)
{
    npy_seed("f4_labels.bin", "f4.npy", "labels.npy");
    npy_seed("f8_be_targets.bin", "f8_be.npy", "targets.npy");
    npy_seed("f2.bin", "f2.npy", NULL);
    npy_seed("i8_be_u1labels.bin", "i8_be.npy", "labels_u1.npy");
    npy_seed("fortran.bin", "fortran.npy", NULL);
    npy_seed("img_nhwc_f.bin", "img_nhwc_f.npy", NULL);
    npy_seed("v3_target1.bin", "f4_v3.npy", "target1.npy");
    npy_seed("b1.bin", "b1.npy", NULL);
    npy_seed("xy_stored.bin", "xy.npz", NULL);
    npy_seed("xy_deflated.bin", "xy_z.npz", NULL);
    npy_seed("zip64.bin", "zip64.npz", NULL);
    npy_seed("only_npz_labels.bin", "only.npz", "xy.npz");
    npy_seed("rows_differ.bin", "f4.npy", "labels4.npy");
    npy_seed("object.bin", "object.npy", NULL);
}

int main(void)
{
    models();
    npys();
    idxs();
    csvs();
    csv_cats();
    return 0;
}
