/* entry.h - the entry points shared by the fuzz targets (fuzz/fuzz_*.c)
 * and the regression replay (tests/test_regress.c), so a crash input is
 * replayed through exactly the code that found it.
 *
 * Each entry takes the raw fuzz input and returns the library's status.
 * A property the library promises but broke (a saved model that does not
 * load back, a label out of range ...) returns FZ_BROKEN with the reason
 * in fz_why; the fuzz targets abort on it, the replay test fails. */
#ifndef LM_FUZZ_ENTRY_H
#define LM_FUZZ_ENTRY_H

/* memfd_create: an in-memory file (a file under /tmp on a disk costs a
 * millisecond per rewrite, a hundred times the parse). Include this
 * header first. */
#ifdef __linux__
#define _GNU_SOURCE
#include <sys/mman.h>
#endif

#include "lamina.h"
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FZ_BROKEN 100

static char fz_why[256];

static inline int fz_broken(const char *why)
{
    snprintf(fz_why, sizeof fz_why, "%s", why);
    return FZ_BROKEN;
}

/* Whether st is an orderly outcome: LM_OK, or a failure with a message. */
static inline int fz_clean_status(int st)
{
    if (st == LM_OK) return 1;
    if (st != LM_EINVAL && st != LM_ENOMEM && st != LM_EIO && st != LM_EFORMAT) return 0;
    return lm_errmsg()[0] != '\0';
}

/* ------------------------------------------------------- temp files */

/* The readers take paths, so inputs go through files: two anonymous
 * files per process (created once, memfd or unlinked at once, rewritten
 * for each input) reached as /proc/self/fd/N. */
typedef struct fz_file {
    int fd;
    char path[64];
} fz_file;

static fz_file fz_files[2] = {{-1, ""}, {-1, ""}};

/* Rewrites temp file i with n bytes; returns its path or NULL. */
static inline const char *fz_put(int i, const void *p, size_t n)
{
    fz_file *f = &fz_files[i];
    if (f->fd < 0) {
#ifdef MFD_CLOEXEC
        f->fd = memfd_create("lamina-fuzz", MFD_CLOEXEC);
#endif
        if (f->fd < 0) {
            char name[] = "/tmp/lamina-fuzz-XXXXXX";
            f->fd = mkstemp(name);
            if (f->fd < 0) return NULL;
            unlink(name);
        }
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
    }
    if (ftruncate(f->fd, 0) != 0) return NULL;
    const unsigned char *b = p;
    for (size_t off = 0; off < n;) {
        ssize_t w = pwrite(f->fd, b + off, n - off, (off_t)off);
        if (w <= 0) return NULL;
        off += (size_t)w;
    }
    return f->path;
}

/* n bytes as a gzip stream into a new buffer (*out, *out_len). */
static inline int fz_gzip(const void *p, size_t n, unsigned char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* ------------------------------------------------------------ model */

/* A loaded net must run, clone, and survive an encode/decode round trip
 * with its parameters bit-identical. */
static inline int fz_check_net(lm_net *net)
{
    int in = lm_net_n_in(net), out = lm_net_n_out(net);
    float *x = calloc((size_t)in * 2, sizeof *x), *y = calloc((size_t)out * 2, sizeof *y);
    int rc = 0;
    if (!x || !y) rc = fz_broken("out of memory in the harness");
    if (!rc && lm_net_predict(net, x, 2, y) != LM_OK) rc = fz_broken("a loaded net does not predict");
    lm_net *copy = NULL;
    if (!rc && lm_net_clone(&copy, net) != LM_OK) rc = fz_broken("a loaded net does not clone");
    lm_net_free(copy);
    unsigned char *buf = NULL;
    size_t len = 0;
    if (!rc && lm__model_encode(net, NULL, &buf, &len) != LM_OK) rc = fz_broken("a loaded net does not encode");
    lm_net *back = NULL;
    if (!rc && lm_net_load_mem(&back, buf, len) != LM_OK) rc = fz_broken("a re-encoded net does not load");
    if (!rc && (lm_net_n_params(back) != lm_net_n_params(net) ||
                memcmp(lm_net_params_const(back), lm_net_params_const(net),
                       lm_net_n_params(net) * sizeof(float)) != 0))
        rc = fz_broken("parameters changed in an encode/decode round trip");
    lm_net_free(back);
    free(buf);
    free(x);
    free(y);
    return rc;
}

/* The model loader on the raw bytes (the CRC stops most mutations early;
 * fz_model_crc goes past it). */
static inline int fz_model(const uint8_t *d, size_t n)
{
    lm_net *net = NULL;
    lm_status st = lm_net_load_mem(&net, d, n);
    if (st != LM_OK) return net ? fz_broken("a failed load returned a net") : (int)st;
    int rc = fz_check_net(net);
    lm_net_free(net);
    return rc;
}

/* The model loader past its checksum: the last 4 bytes are replaced by the
 * CRC32 of the rest, so every mutation reaches the section parser. Also
 * reads the training state (as lm_train_resume does). */
static inline int fz_model_crc(const uint8_t *d, size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    if (!b) return fz_broken("out of memory in the harness");
    if (n) memcpy(b, d, n);
    if (n >= 4) {
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, b, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) b[n - 4 + i] = (unsigned char)(crc >> (8 * i));
    }
    lm_net *net = NULL;
    lm__train_state ts;
    memset(&ts, 0, sizeof ts);
    int has_ts = 0;
    lm_status st = lm__model_decode(b, n, &net, &ts, &has_ts);
    free(b);
    if (st != LM_OK) {
        if (net || has_ts) return fz_broken("a failed decode returned a net or a state");
        return (int)st;
    }
    int rc = 0;
    if (has_ts && (ts.n != lm_net_n_params(net)))
        rc = fz_broken("the training state does not cover the parameters");
    if (!rc) rc = fz_check_net(net);
    free(ts.m);
    free(ts.v);
    lm_net_free(net);
    return rc;
}

/* The ONNX importer on the raw bytes: a model it takes must be a net
 * every check passes. */
static inline int fz_onnx(const uint8_t *d, size_t n)
{
    lm_net *net = NULL;
    lm_status st = lm_net_load_onnx_mem(&net, d, n);
    if (st != LM_OK) return net ? fz_broken("a failed ONNX import returned a net") : (int)st;
    int rc = fz_check_net(net);
    lm_net_free(net);
    return rc;
}

/* FANN's files: byte 0 even, the rest is a FANN net (lm_net_load_fann_mem:
 * a net it takes must pass every check); odd, FANN training data
 * (lm_fann_data_read_mem, and lm_fann_data_detect on the same bytes). */
static inline int fz_check_data(const lm_data *d);
static inline int fz_fann(const uint8_t *d, size_t n)
{
    if (n < 1) return LM_OK;
    int data = d[0] & 1;
    d++;
    n--;
    if (!data) {
        lm_net *net = NULL;
        lm_status st = lm_net_load_fann_mem(&net, d, n);
        if (st != LM_OK) return net ? fz_broken("a failed FANN import returned a net") : (int)st;
        int rc = fz_check_net(net);
        lm_net_free(net);
        return rc;
    }
    (void)lm_fann_data_detect(d, n);
    lm_data data_set;
    lm_status st = lm_fann_data_read_mem(&data_set, "fuzz.data", d, n);
    if (st != LM_OK) return data_set.x ? fz_broken("a failed FANN data read kept rows") : (int)st;
    int rc = data_set.y && data_set.ny >= 1 && !data_set.labels ? fz_check_data(&data_set)
                                                                : fz_broken("FANN data without outputs");
    lm_data_free(&data_set);
    return rc;
}

/* ------------------------------------------------------------- data */

/* What every successfully read data set must satisfy, and what the rest
 * of the library must be able to do with it. */
static inline int fz_check_data(const lm_data *d)
{
    if (d->nx < 1 || !d->x) return fz_broken("a data set without features");
    if (d->n == 0) return fz_broken("an empty data set read without error");
    if (d->x_type != LM_F32 && d->x_type != LM_U8) return fz_broken("an unknown x type");
    if (d->labels) {
        if (d->n_classes < 1) return fz_broken("labels without classes");
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] < 0 || d->labels[i] >= d->n_classes) return fz_broken("a label out of range");
        if (d->class_names)
            for (int c = 0; c < d->n_classes; c++)
                if (!d->class_names[c]) return fz_broken("a NULL class name");
    } else if (d->y && d->ny < 1) {
        return fz_broken("targets of width < 1");
    }
    if (d->feature_names)
        for (int j = 0; j < d->nx; j++)
            if (!d->feature_names[j]) return fz_broken("a NULL feature name");
    /* Touch every value: norm stats read all of x; a split copies it. */
    float *mean = malloc((size_t)d->nx * sizeof *mean), *scale = malloc((size_t)d->nx * sizeof *scale);
    int rc = 0;
    if (!mean || !scale) rc = fz_broken("out of memory in the harness");
    if (!rc && lm_data_norm_stats(d, mean, scale) != LM_OK) rc = fz_broken("norm stats failed on a read data set");
    free(mean);
    free(scale);
    lm_data a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    lm_rng rng = lm_rng_seed(1);
    float frac = d->n >= 2 ? 0.5f : 0.0f; /* one row cannot be split in two */
    if (!rc && lm_data_split(d, frac, &rng, &a, &b) != LM_OK) rc = fz_broken("a split failed on a read data set");
    lm_data_free(&a);
    lm_data_free(&b);
    return rc;
}

/* The reader's options from a mode byte: bits 0-1 header (detect, no,
 * yes), 2-3 separator (detect , ; tab), 4-5 target kind, 6 no target,
 * 7 target column "0". */
static inline lm_csv_opts fz_csv_opts(uint8_t m)
{
    static const char seps[4] = {0, ',', ';', '\t'};
    lm_csv_opts o = lm_csv_defaults();
    o.header = (int)(m & 3) % 3 - 1;
    o.sep = seps[(m >> 2) & 3];
    o.target_kind = (int)((m >> 4) & 3) % 3 - 1;
    o.no_target = (m >> 6) & 1;
    if (m >> 7) o.target = "0";
    return o;
}

/* CSV: the first byte chooses the reader's options, the rest is the file. */
static inline int fz_csv(const uint8_t *d, size_t n)
{
    if (n < 1) return LM_OK;
    lm_csv_opts o = fz_csv_opts(d[0]);
    const char *path = fz_put(0, d + 1, n - 1);
    if (!path) return fz_broken("cannot write the temp file");
    lm_data data;
    memset(&data, 0, sizeof data);
    lm_status st = lm_csv_read(&data, path, &o);
    int rc = st != LM_OK ? (int)st : fz_check_data(&data);
    lm_data_free(&data);
    return rc;
}

/* CSV with categorical columns and missing values (lm_csv_opts 1.4):
 * byte 0 as fz_csv; byte 1: bit 0 missing, bits 1-3 which columns are
 * categorical, bits 4-5 max_categories (0 = the default, else 1-3). Beyond
 * fz_check_data: every categorical block lies inside the row and holds
 * 0/1 inputs with at most one 1 (none exactly in the rows counted
 * missing), and reading the file again with the encoding the first read
 * gave (as eval and predict do with a model's) yields the same inputs,
 * bit for bit, with no unseen values. */
static inline int fz_csv_cat(const uint8_t *d, size_t n)
{
    if (n < 2) return LM_OK;
    static const char *const cats[8] = {"0", "1", "0,1", "2", "a", "b", "0,2,3", "1,a"};
    uint8_t c = d[1];
    lm_csv_opts o = fz_csv_opts(d[0]);
    o.missing = c & 1;
    o.categorical = cats[(c >> 1) & 7];
    o.max_categories = (c >> 4) & 3;
    const char *path = fz_put(0, d + 2, n - 2);
    if (!path) return fz_broken("cannot write the temp file");
    lm_data data, again;
    memset(&data, 0, sizeof data);
    memset(&again, 0, sizeof again);
    lm_status st = lm_csv_read(&data, path, &o);
    if (st != LM_OK) return (int)st;
    int rc = fz_check_data(&data);
    const float *x = data.x;
    int end = 0; /* the end of the previous block: blocks are in order */
    for (int k = 0; !rc && lm_data_category(&data, k, NULL, NULL, NULL, NULL, NULL, NULL); k++) {
        const char *name = NULL;
        int first = -1, nv = -1;
        size_t n_miss = 0, n_unseen = 0;
        lm_data_category(&data, k, &name, &first, &nv, &n_miss, &n_unseen, NULL);
        if (!name || first < end || nv < 1 || first > data.nx - nv) {
            rc = fz_broken("a categorical block out of place");
            break;
        }
        if (n_unseen != 0) rc = fz_broken("unseen values in the file the categories came from");
        if (n_miss && !o.missing) rc = fz_broken("missing cells counted without missing");
        end = first + nv;
        size_t zero_rows = 0;
        for (size_t i = 0; !rc && i < data.n; i++) {
            int ones = 0;
            for (int j = first; j < end; j++) {
                float v = x[i * (size_t)data.nx + (size_t)j];
                if (v != 0.0f && v != 1.0f) rc = fz_broken("a one-hot input neither 0 nor 1");
                ones += v == 1.0f;
            }
            if (ones > 1) rc = fz_broken("two ones in a one-hot block");
            zero_rows += ones == 0;
        }
        if (!rc && zero_rows != n_miss) rc = fz_broken("all-zero one-hot rows other than the missing ones");
    }
    const char *enc = lm_data_categories(&data);
    if (!rc && enc) {
        lm_csv_opts o2 = o;
        o2.categorical = NULL;
        o2.categories = enc;
        st = lm_csv_read(&again, path, &o2);
        if (st != LM_OK)
            rc = fz_broken("the file does not read back with its own categories");
        else if (again.n != data.n || again.nx != data.nx ||
                 memcmp(again.x, data.x, data.n * (size_t)data.nx * sizeof(float)) != 0)
            rc = fz_broken("the file's own categories encode it differently");
        else if (!lm_data_categories(&again) || strcmp(lm_data_categories(&again), enc) != 0)
            rc = fz_broken("categories changed in a round trip");
        for (int k = 0; !rc && k < 64; k++) {
            size_t n_unseen = 0;
            if (!lm_data_category(&again, k, NULL, NULL, NULL, NULL, &n_unseen, NULL)) break;
            if (n_unseen) rc = fz_broken("values unseen in the file the categories came from");
        }
    }
    lm_data_free(&again);
    lm_data_free(&data);
    return rc;
}

/* IDX: byte 0 says what to do (bit 0: gzip the images, bit 1: read a
 * labels file, bit 2: gzip the labels); bytes 1-2 (little-endian) are
 * the images part's length, the labels part is what follows it. */
static inline int fz_idx(const uint8_t *d, size_t n)
{
    if (n < 3) return LM_OK;
    uint8_t m = d[0];
    size_t k = (size_t)d[1] | (size_t)d[2] << 8;
    d += 3;
    n -= 3;
    if (k > n) k = n;
    const uint8_t *part[2] = {d, d + k};
    size_t len[2] = {k, n - k};
    const char *path[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !(m & 2)) break;
        unsigned char *z = NULL;
        size_t zlen = 0;
        int gz = i == 0 ? (m & 1) : (m & 4);
        if (gz && fz_gzip(part[i], len[i], &z, &zlen) != 0) return fz_broken("gzip failed in the harness");
        path[i] = gz ? fz_put(i, z, zlen) : fz_put(i, part[i], len[i]);
        free(z);
        if (!path[i]) return fz_broken("cannot write the temp file");
    }
    lm_data data;
    memset(&data, 0, sizeof data);
    lm_status st = lm_idx_read(&data, path[0], path[1]);
    int rc = st != LM_OK ? (int)st : fz_check_data(&data);
    lm_data_free(&data);
    return rc;
}

/* ------------------------------------------------------------- npy */

/* Bytes 0-1 (LE): the length of the features part (.npy or .npz); then
 * the features, then the targets (.npy or .npz; none when empty). */
static inline int fz_npy(const uint8_t *d, size_t n)
{
    if (n < 2) return LM_OK;
    size_t k = (size_t)d[0] | (size_t)d[1] << 8;
    d += 2;
    n -= 2;
    if (k > n) k = n;
    lm_data data;
    lm_status st = lm_npy_read_mem(&data, "x.npy", d, k, "y.npy", n > k ? d + k : NULL, n - k);
    if (st != LM_OK) return data.x ? fz_broken("a failed npy read kept rows") : (int)st;
    int rc = fz_check_data(&data);
    int c, h, w;
    if (rc == LM_OK && lm_data_shape(&data, &c, &h, &w) && (size_t)c * h * w != (size_t)data.nx)
        rc = fz_broken("an npy image shape that is not the row's width");
    lm_data_free(&data);
    return rc;
}

#endif
