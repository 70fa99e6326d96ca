/* test_model.c - model files: a bit-exact round trip, and every damaged
 * form refused with LM_EFORMAT and a message: truncation at every byte, a
 * flipped byte anywhere, a wrong magic, a newer version, absurd counts. */
#include "harness.h"

#include <lamina.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[64];

static lm_net *make_net(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(7);
    lm_net_new(&net, 5);
    lm_net_add_dense(net, 8, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 6, LM_RELU, LM_NO_BIAS);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    float mean[5] = {1, 2, 3, 4, 5}, scale[5] = {0.5f, 1, 2, 4, 8};
    lm_net_set_norm(net, mean, scale);
    const char *names[3] = {"setosa", "versicolor", "virginica"};
    lm_net_set_class_names(net, 3, names);
    lm_net_set_meta(net, "data", "iris.csv");
    lm_net_set_meta(net, "epochs", "12");
    return net;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static void path_of(char *out, const char *name) { snprintf(out, 256, "%s/%s", tmpdir, name); }

static void round_trip_bit_exact(void)
{
    lm_net *a = make_net(), *b = NULL;
    char p[256], q[256];
    path_of(p, "a.lmn");
    path_of(q, "b.lmn");
    CHECK_OK(lm_net_save(a, p));
    CHECK_OK(lm_net_load(&b, p));
    if (!b) return;
    CHECK(lm_net_n_params(a) == lm_net_n_params(b));
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
    CHECK(lm_net_n_layers(b) == 3 && lm_net_n_in(b) == 5 && lm_net_n_out(b) == 3);
    for (int l = 0; l < 3; l++) {
        lm_layer_info x, y;
        lm_net_layer(a, l, &x);
        lm_net_layer(b, l, &y);
        CHECK(x.n_out == y.n_out && x.act == y.act && x.has_bias == y.has_bias);
    }
    float m[5], s[5];
    CHECK(lm_net_get_norm(b, m, s) && m[4] == 5 && s[4] == 8);
    CHECK(strcmp(lm_net_class_name(b, 2), "virginica") == 0);
    CHECK(lm_net_get_meta(b, "data") && strcmp(lm_net_get_meta(b, "data"), "iris.csv") == 0);
    /* saving the loaded net gives the same bytes */
    CHECK_OK(lm_net_save(b, q));
    size_t la, lb;
    unsigned char *ba = slurp(p, &la), *bb = slurp(q, &lb);
    CHECK(la == lb && la > 0 && memcmp(ba, bb, la) == 0);
    /* predictions agree bit for bit */
    float x[10] = {1, 2, 3, 4, 5, -1, 0, 2, 9, 1}, ya[6], yb[6];
    CHECK_OK(lm_net_predict(a, x, 2, ya));
    CHECK_OK(lm_net_predict(b, x, 2, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    free(ba);
    free(bb);
    lm_net_free(a);
    lm_net_free(b);
}

static void truncated_at_every_byte(void)
{
    lm_net *a = make_net(), *b;
    char p[256];
    path_of(p, "t.lmn");
    CHECK_OK(lm_net_save(a, p));
    size_t len;
    unsigned char *buf = slurp(p, &len);
    int refused = 0;
    for (size_t n = 0; n < len; n++) {
        lm_status st = lm_net_load_mem(&b, buf, n);
        if (st == LM_EFORMAT && b == NULL && lm_errmsg()[0]) refused++;
        else lm_net_free(b);
    }
    CHECKF(refused == (int)len, "%d of %zu truncations refused", refused, len);
    free(buf);
    lm_net_free(a);
}

static void flipped_byte_anywhere(void)
{
    lm_net *a = make_net(), *b;
    char p[256];
    path_of(p, "f.lmn");
    CHECK_OK(lm_net_save(a, p));
    size_t len;
    unsigned char *buf = slurp(p, &len);
    int refused = 0;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x40;
        lm_status st = lm_net_load_mem(&b, buf, len);
        if (st == LM_EFORMAT && !b) refused++;
        else lm_net_free(b);
        buf[i] ^= 0x40;
    }
    CHECKF(refused == (int)len, "%d of %zu flipped bytes refused", refused, len);
    free(buf);
    lm_net_free(a);
}

/* Rewrites the CRC after an edit, so the test reaches the check behind it. */
static void fix_crc(unsigned char *buf, size_t len)
{
    uLong crc = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
    for (int i = 0; i < 4; i++) buf[len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void wrong_magic_version_counts(void)
{
    lm_net *a = make_net(), *b;
    char p[256];
    path_of(p, "m.lmn");
    CHECK_OK(lm_net_save(a, p));
    size_t len;
    unsigned char *buf = slurp(p, &len), *w = malloc(len);

    memcpy(w, buf, len);
    w[1] = 'X';
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT && strstr(lm_errmsg(), "magic"));

    memcpy(w, buf, len);
    put32(w + 8, 3); /* a newer version (2 is the layer kinds) */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT && strstr(lm_errmsg(), "version"));

    memcpy(w, buf, len);
    put32(w + 12, 1000000); /* absurd section count */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT);

    /* ARCH body starts at 16 + 16: n_in, n_layers, then per layer kind,n_out,act,bias */
    memcpy(w, buf, len);
    put32(w + 32, 0x7fffffff); /* absurd input width */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT);

    memcpy(w, buf, len);
    put32(w + 36, 0xffffffff); /* absurd layer count */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT);

    memcpy(w, buf, len);
    put32(w + 44, 1 << 24); /* a huge layer: refused before allocating */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT);

    memcpy(w, buf, len);
    put32(w + 48, 99); /* unknown activation */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT && strstr(lm_errmsg(), "activation"));

    memcpy(w, buf, len);
    put32(w + 24, 0xfffffff0); /* ARCH section length beyond the file */
    fix_crc(w, len);
    CHECK(lm_net_load_mem(&b, w, len) == LM_EFORMAT && strstr(lm_errmsg(), "truncated"));

    /* a text file and an empty file */
    const char *txt = "layers=3\nweights=0.1 0.2\n";
    CHECK(lm_net_load_mem(&b, txt, strlen(txt)) == LM_EFORMAT);
    CHECK(lm_net_load_mem(&b, "", 0) == LM_EFORMAT);
    /* a missing file is an I/O error naming the file */
    CHECK(lm_net_load(&b, "/nonexistent/x.lmn") == LM_EIO && strstr(lm_errmsg(), "/nonexistent/x.lmn"));
    free(w);
    free(buf);
    lm_net_free(a);
}

static void atomic_save_leaves_no_temp(void)
{
    lm_net *a = make_net();
    char p[256], cmd[512];
    path_of(p, "atomic.lmn");
    for (int i = 0; i < 3; i++) CHECK_OK(lm_net_save(a, p));
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp > /dev/null", tmpdir);
    CHECK(system(cmd) != 0); /* grep found no temporary file */
    /* saving into a folder that does not exist fails cleanly */
    CHECK(lm_net_save(a, "/nonexistent/dir/x.lmn") == LM_EIO);
    lm_net_free(a);
}

/* A save through a symbolic link replaces the link's target (as editors
 * do) and keeps the link, also through a chain of two relative links. */
static void save_through_symlink(void)
{
    lm_net *a = make_net(), *b;
    char target[256], link1[256], link2[256], got[256];
    path_of(target, "target.lmn");
    path_of(link1, "link1.lmn");
    path_of(link2, "link2.lmn");
    CHECK_OK(lm_net_save(a, target));
    CHECK(symlink("target.lmn", link1) == 0 && symlink("link1.lmn", link2) == 0);
    lm_net_set_meta(a, "epochs", "13");
    CHECK_OK(lm_net_save(a, link2));
    struct stat sb;
    ssize_t n = readlink(link2, got, sizeof got - 1);
    CHECK(lstat(link2, &sb) == 0 && S_ISLNK(sb.st_mode) && n == 9 && memcmp(got, "link1.lmn", 9) == 0);
    CHECK(lstat(link1, &sb) == 0 && S_ISLNK(sb.st_mode));
    CHECK_OK(lm_net_load(&b, target));
    CHECK(b && lm_net_get_meta(b, "epochs") && strcmp(lm_net_get_meta(b, "epochs"), "13") == 0);
    lm_net_free(b);
    lm_net_free(a);
}

/* A save replaces a regular file only: a pipe, a folder and an open
 * descriptor (/dev/fd/N, where a shell's redirection holds a file) are
 * refused with LM_EIO and left as they were, not renamed over. */
static void save_refuses_non_regular(void)
{
    lm_net *a = make_net();
    char fifo[256], dir[256], file[256], fdpath[64], got[8] = {0};
    struct stat sb, before;
    path_of(fifo, "fifo.lmn");
    path_of(dir, "dir.lmn");
    path_of(file, "held.txt");
    CHECK(mkfifo(fifo, 0600) == 0 && mkdir(dir, 0700) == 0);
    CHECK(lm_net_save(a, fifo) == LM_EIO && strstr(lm_errmsg(), "not a regular file"));
    CHECK(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    CHECK(lm_net_save(a, dir) == LM_EIO && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    FILE *f = fopen(file, "w+");
    CHECK(f && fputs("kept", f) >= 0 && fflush(f) == 0 && stat(file, &before) == 0);
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", f ? fileno(f) : 0);
    if (f && stat("/dev/fd", &sb) == 0) {
        CHECK(lm_net_save(a, fdpath) == LM_EIO && strstr(lm_errmsg(), "descriptor"));
        CHECK(stat(file, &sb) == 0 && sb.st_ino == before.st_ino);
        rewind(f);
        CHECK(fread(got, 1, 4, f) == 4 && memcmp(got, "kept", 4) == 0);
    }
    if (f) fclose(f);
    lm_net_free(a);
}

/* lm_train_state_info tells a checkpoint from a plain model file. */
static void training_state_info(void)
{
    lm_net *a = make_net();
    char plain[256], ckpt[256];
    path_of(plain, "plain.lmn");
    path_of(ckpt, "ckpt.lmn");
    CHECK_OK(lm_net_save(a, plain));
    int has = -1, epochs = -1;
    uint64_t steps = 1;
    CHECK_OK(lm_train_state_info(plain, &has, &epochs, &steps));
    CHECK(has == 0 && epochs == 0 && steps == 0);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.batch = 2;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    CHECK_OK(lm_train_new(&t, a, &o, &rng));
    float x[10] = {0};
    int32_t lab[2] = {0, 2};
    lm_data d = {.n = 2, .nx = 5, .x = x, .labels = lab, .n_classes = 3};
    lm_epoch_info e;
    for (int i = 0; i < 3; i++) CHECK_OK(lm_train_epoch(t, &d, &e));
    CHECK_OK(lm_train_save(t, ckpt));
    CHECK_OK(lm_train_state_info(ckpt, &has, &epochs, &steps));
    CHECKF(has == 1 && epochs == 3 && steps == 3, "has %d epochs %d steps %llu", has, epochs,
           (unsigned long long)steps);
    CHECK(lm_train_state_info("/nonexistent/x.lmn", &has, NULL, NULL) == LM_EIO && has == 0);
    lm_train_free(t);
    lm_net_free(a);
}

/* What a setter accepts, a model file holds: no sequence of calls that
 * succeed may leave a net that lm_net_save writes and lm_net_load then
 * refuses. Class names and a target standardisation set before a layer
 * that changes the output width used to be saved stale (and read past by
 * lm_net_clone). */
static void setters_keep_the_net_loadable(void)
{
    char p[256];
    path_of(p, "setters.lmn");
    lm_net *net = NULL, *back = NULL;
    const char *two[2] = {"no", "yes"};
    float mean = 5, sd = 2;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_set_class_names(net, 2, two));
    CHECK(lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "class names") != NULL, "message: %s", lm_errmsg());
    CHECK(lm_net_n_layers(net) == 1 && lm_net_n_params(net) == 8);
    CHECK_OK(lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS)); /* 2 names fit one sigmoid */
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    CHECK_OK(lm_net_set_class_names(net, 0, NULL));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_set_target_norm(net, &mean, &sd));
    CHECK(lm_net_add_dense(net, 4, LM_IDENTITY, LM_BIAS) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "target standardisation") != NULL, "message: %s", lm_errmsg());
    CHECK(lm_net_n_layers(net) == 4 && lm_net_n_out(net) == 1);
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS)); /* same width: still fits */
    lm_net *c = NULL;
    CHECK_OK(lm_net_clone(&c, net));
    lm_net_free(c);
    CHECK_OK(lm_net_save(net, p));
    CHECK_OK(lm_net_load(&back, p));
    if (back) CHECK(lm_net_n_out(back) == 1 && lm_net_get_target_norm(back, NULL, NULL) == 1);
    lm_net_free(back);
    lm_net_free(net);
}

/* A 4097th metadata key was taken, saved, and refused on load. */
static void meta_count_fits_the_file(void)
{
    char p[256];
    path_of(p, "meta.lmn");
    lm_net *net = NULL, *back = NULL;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS));
    char key[32];
    lm_status st = LM_OK;
    int i;
    for (i = 0; i < 5000 && st == LM_OK; i++) {
        snprintf(key, sizeof key, "k%d", i);
        st = lm_net_set_meta(net, key, "v");
    }
    CHECKF(st == LM_EINVAL && i == 4097, "the %dth key: %s", i, lm_status_name(st));
    CHECK(lm_net_n_meta(net) == 4096 && lm_net_get_meta(net, "k4096") == NULL);
    CHECK_OK(lm_net_set_meta(net, "k0", "replaced")); /* replacing still works */
    CHECK_OK(lm_net_save(net, p));
    CHECK_OK(lm_net_load(&back, p));
    if (back) CHECK(lm_net_n_meta(back) == 4096 && strcmp(lm_net_get_meta(back, "k0"), "replaced") == 0);
    lm_net_free(back);
    lm_net_free(net);
}

/* A NULL value removes a key (a resumed run drops a setting it did not
 * use): the others keep their order, the file holds no trace, and a key
 * not there is no error. */
static void meta_removed(void)
{
    char p[256];
    path_of(p, "meta_rm.lmn");
    lm_net *net = NULL, *back = NULL;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS));
    CHECK_OK(lm_net_set_meta(net, "a", "1"));
    CHECK_OK(lm_net_set_meta(net, "b", "2"));
    CHECK_OK(lm_net_set_meta(net, "c", "3"));
    CHECK_OK(lm_net_set_meta(net, "b", NULL));
    CHECK_OK(lm_net_set_meta(net, "nope", NULL));
    const char *k0 = NULL, *k1 = NULL, *v1 = NULL;
    CHECK(lm_net_n_meta(net) == 2 && lm_net_get_meta(net, "b") == NULL);
    lm_net_meta_at(net, 0, &k0, NULL);
    lm_net_meta_at(net, 1, &k1, &v1);
    CHECK(k0 && k1 && v1 && !strcmp(k0, "a") && !strcmp(k1, "c") && !strcmp(v1, "3"));
    CHECK_OK(lm_net_set_meta(net, "b", "again")); /* and may come back, last */
    CHECK_OK(lm_net_save(net, p));
    CHECK_OK(lm_net_load(&back, p));
    if (back) {
        CHECK(lm_net_n_meta(back) == 3 && !strcmp(lm_net_get_meta(back, "b"), "again"));
        CHECK_OK(lm_net_set_meta(back, "a", NULL));
        CHECK_OK(lm_net_set_meta(back, "b", NULL));
        CHECK_OK(lm_net_set_meta(back, "c", NULL));
        CHECK(lm_net_n_meta(back) == 0);
    }
    lm_net_free(back);
    lm_net_free(net);
}

/* A batch norm's running variance below 0 makes every prediction NaN
 * (sqrt(var + eps)): a file holding one is refused naming the layer and
 * the channel, and lm_net_save does not write one (a caller can put it
 * there through lm_net_state). */
static void batchnorm_negative_variance_refused(void)
{
    char p[256];
    path_of(p, "bnvar.lmn");
    lm_net *net = NULL, *back = NULL;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 2, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_batchnorm(net, 0.1f, 1e-5f));
    CHECK_OK(lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS));
    lm_rng rng = lm_rng_seed(4);
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    float *st = lm_net_state(net); /* mean (2), variance (2) */
    st[0] = 0.25f, st[1] = -0.5f, st[2] = 2.0f, st[3] = 0.5f;
    CHECK_OK(lm_net_save(net, p));
    size_t len;
    unsigned char *buf = slurp(p, &len);
    /* the variance 0.5 of channel 1, as the file holds it, becomes -0.5 */
    unsigned char half[4] = {0, 0, 0, 0x3f}, *at = NULL;
    for (size_t i = 0; buf && i + 4 <= len; i++)
        if (!memcmp(buf + i, half, 4)) at = buf + i;
    CHECK(at != NULL);
    if (at) {
        at[3] = 0xbf;
        fix_crc(buf, len);
        lm_status s = lm_net_load_mem(&back, buf, len);
        CHECKF(s == LM_EFORMAT && !back && strstr(lm_errmsg(), "layer 2 (batchnorm)") &&
                   strstr(lm_errmsg(), "channel 1"),
               "%s: %s", lm_status_name(s), lm_errmsg());
        lm_net_free(back);
    }
    st[3] = -0.5f;
    CHECK(lm_net_save(net, p) == LM_EINVAL && strstr(lm_errmsg(), "channel 1"));
    CHECK_OK(lm_net_load(&back, p)); /* the file saved before is kept */
    lm_net_free(back);
    free(buf);
    lm_net_free(net);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lm_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(round_trip_bit_exact);
    RUN(truncated_at_every_byte);
    RUN(flipped_byte_anywhere);
    RUN(wrong_magic_version_counts);
    RUN(atomic_save_leaves_no_temp);
    RUN(save_through_symlink);
    RUN(save_refuses_non_regular);
    RUN(training_state_info);
    RUN(setters_keep_the_net_loadable);
    RUN(meta_count_fits_the_file);
    RUN(meta_removed);
    RUN(batchnorm_negative_variance_refused);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
