/* idx.c - reads MNIST-style IDX files, plain or gzip-compressed.
 *
 * An IDX file is 0x00 0x00, a dtype byte, a dimension count, then each
 * dimension as a big-endian u32, then the data in row-major order, also
 * big-endian. The header's claim is untrusted: its size is checked for
 * overflow and against the allocation limit, a plain file's size must
 * match it exactly, and a gzip stream is inflated in bounded chunks into
 * a buffer that grows with the data actually present (never beyond the
 * claim), then must end exactly where the claim does. */
#include "internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDX_MAX_DIMS 8
#define IDX_MAX_CLASSES 65536

/* -------------------------------------------------------------- header */

typedef struct idx_head {
    int dtype;
    size_t elem; /* bytes per value */
    int ndims;
    uint32_t dims[IDX_MAX_DIMS];
    size_t count; /* product of dims */
    size_t bytes; /* count * elem */
    size_t head_bytes;
} idx_head;

static size_t dtype_size(int t)
{
    switch (t) {
    case 0x08: return 1; /* u8 */
    case 0x09: return 1; /* i8 */
    case 0x0B: return 2; /* i16 */
    case 0x0C: return 4; /* i32 */
    case 0x0D: return 4; /* f32 */
    case 0x0E: return 8; /* f64 */
    }
    return 0;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static lm_status read_head(lm__src *s, idx_head *h)
{
    unsigned char b[4 * IDX_MAX_DIMS];
    size_t got;
    lm_status st = lm__src_read(s, b, 4, &got);
    if (st != LM_OK) return st;
    if (got < 4)
        return lm__err(LM_EFORMAT, "%s: too short for an IDX file (%zu bytes)%s", s->path,
                       got, s->truncated ? " (truncated gzip stream)" : "");
    if (b[0] != 0 || b[1] != 0 || !dtype_size(b[2]))
        return lm__err(LM_EFORMAT,
                       "%s: not an IDX file (starts %02x %02x %02x %02x; expected 00 00, "
                       "then a data type 08, 09, 0b, 0c, 0d or 0e)",
                       s->path, b[0], b[1], b[2], b[3]);
    h->dtype = b[2];
    h->elem = dtype_size(b[2]);
    h->ndims = b[3];
    if (h->ndims < 1 || h->ndims > IDX_MAX_DIMS)
        return lm__err(LM_EFORMAT, "%s: %d dimensions (expected 1 to %d)", s->path, h->ndims,
                       IDX_MAX_DIMS);
    size_t need = 4 * (size_t)h->ndims;
    if ((st = lm__src_read(s, b, need, &got)) != LM_OK) return st;
    if (got < need)
        return lm__err(LM_EFORMAT, "%s: truncated header (%zu of %zu dimension bytes)",
                       s->path, got, need);
    h->head_bytes = 4 + need;
    h->count = 1;
    int overflow = 0;
    for (int i = 0; i < h->ndims; i++) {
        h->dims[i] = be32(b + 4 * i);
        overflow |= !lm__mul_ok(h->count, h->dims[i], &h->count);
    }
    if (overflow || !lm__mul_ok(h->count, h->elem, &h->bytes))
        return lm__err(LM_EFORMAT, "%s: dimensions overflow the address space", s->path);
    if ((uint64_t)h->bytes > lm_alloc_limit())
        return lm__err(LM_ENOMEM, "%s: the data would take %zu bytes, over the allocation "
                       "limit (%llu bytes)", s->path, h->bytes,
                       (unsigned long long)lm_alloc_limit());
    return LM_OK;
}

/* ---------------------------------------------------------------- data */

static lm_status count_error(const lm__src *s, const idx_head *h, uint64_t found)
{
    return lm__err(LM_EFORMAT, "%s: %sexpected %zu data bytes, found %llu", s->path,
                   s->truncated ? "truncated gzip stream (unexpected end of file): " : "",
                   h->bytes, (unsigned long long)found);
}

/* A plain regular file: its length must match the header exactly, checked
 * before allocating. */
static lm_status read_data_sized(lm__src *s, const idx_head *h, unsigned char *buf)
{
    size_t got;
    lm_status st = lm__src_read(s, buf, h->bytes, &got);
    if (st != LM_OK) return st;
    if (got < h->bytes) return count_error(s, h, got); /* shrank while reading */
    return LM_OK;
}

/* A stream of unknown length: grows the buffer with the data present,
 * never past the claim, then checks nothing follows. */
static lm_status read_data_stream(lm__src *s, const idx_head *h, unsigned char **buf)
{
    size_t cap = h->bytes < ((size_t)1 << 20) ? h->bytes : (size_t)1 << 20, have = 0;
    unsigned char *b = lm__alloc(cap ? cap : 1, 1, "idx data");
    if (!b) return LM_ENOMEM;
    lm_status st = LM_OK;
    for (;;) {
        size_t got;
        if ((st = lm__src_read(s, b + have, cap - have, &got)) != LM_OK) break;
        have += got;
        if (have < cap) {
            st = count_error(s, h, have);
            break;
        }
        if (cap == h->bytes) break;
        cap = h->bytes - cap < cap ? h->bytes : 2 * cap;
        unsigned char *nb = lm__realloc(b, cap, 1, s->path);
        if (!nb) {
            st = LM_ENOMEM;
            break;
        }
        b = nb;
    }
    if (st == LM_OK) {
        /* One more read: finds trailing bytes, and makes zlib check the
         * stream's CRC and length trailer. */
        unsigned char extra[64];
        size_t got;
        st = lm__src_read(s, extra, sizeof extra, &got);
        if (st == LM_OK && got > 0)
            st = lm__err(LM_EFORMAT, "%s: trailing bytes after the %zu data bytes", s->path,
                         h->bytes);
        else if (st == LM_OK && s->truncated)
            st = lm__err(LM_EFORMAT, "%s: truncated gzip stream (unexpected end of file)",
                         s->path);
    }
    if (st != LM_OK) {
        free(b);
        return st;
    }
    *buf = b;
    return LM_OK;
}

/* The data of an opened file whose header has been read. */
static lm_status read_data(lm__src *s, const idx_head *h, unsigned char **buf)
{
    if (!s->size_known) return read_data_stream(s, h, buf);
    uint64_t present = s->size - h->head_bytes;
    if (present < h->bytes) return count_error(s, h, present);
    if (present > h->bytes)
        return lm__err(LM_EFORMAT, "%s: %llu trailing bytes after the %zu data bytes",
                       s->path, (unsigned long long)(present - h->bytes), h->bytes);
    unsigned char *b = lm__alloc(h->bytes ? h->bytes : 1, 1, "idx data");
    if (!b) return LM_ENOMEM;
    lm_status st = read_data_sized(s, h, b);
    if (st != LM_OK) {
        free(b);
        return st;
    }
    *buf = b;
    return LM_OK;
}

/* Value i of raw big-endian data as a double. */
static double raw_value(int dtype, const unsigned char *raw, size_t i)
{
    switch (dtype) {
    case 0x08: return raw[i];
    case 0x09: return (int8_t)raw[i];
    case 0x0B: return (int16_t)(uint16_t)((unsigned)raw[2 * i] << 8 | raw[2 * i + 1]);
    case 0x0C: return (int32_t)be32(raw + 4 * i);
    case 0x0D: {
        uint32_t u = be32(raw + 4 * i);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default: {
        uint64_t u = (uint64_t)be32(raw + 8 * i) << 32 | be32(raw + 8 * i + 4);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    }
}

/* Converts count values of raw data to float32, refusing NaN, Inf and
 * values beyond float range. */
static lm_status to_float(const char *path, const idx_head *h, const unsigned char *raw,
                          float **out)
{
    float *x = lm__alloc(h->count, sizeof *x, "idx images");
    if (!x) return LM_ENOMEM;
    for (size_t i = 0; i < h->count; i++) {
        double v = raw_value(h->dtype, raw, i);
        if (!(fabs(v) <= FLT_MAX)) {
            free(x);
            return lm__err(LM_EFORMAT, "%s: value %g at index %zu is not a finite float32",
                           path, v, i);
        }
        x[i] = (float)v;
    }
    *out = x;
    return LM_OK;
}

/* -------------------------------------------------------------- public */

/* Opens path and reads its header. */
static lm_status open_head(lm__src *s, const char *path, idx_head *h)
{
    lm_status st = lm__src_open(s, path);
    if (st == LM_OK && (st = read_head(s, h)) != LM_OK) lm__src_close(s);
    return st;
}

static lm_status read_images(lm__src *s, const idx_head *h, lm_data *d)
{
    unsigned char *raw = NULL;
    lm_status st = read_data(s, h, &raw);
    if (st != LM_OK) return st;
    if (h->dtype == 0x08) {
        d->x = raw; /* u8 stays u8: a quarter of the memory */
        d->x_type = LM_U8;
        return LM_OK;
    }
    float *x = NULL;
    st = to_float(s->path, h, raw, &x);
    free(raw);
    d->x = x;
    d->x_type = LM_F32;
    return st;
}

static lm_status read_labels(lm__src *s, const idx_head *h, lm_data *d)
{
    unsigned char *raw = NULL;
    lm_status st = read_data(s, h, &raw);
    if (st != LM_OK) return st;
    int32_t *l = lm__alloc(h->count, sizeof *l, "idx labels");
    if (!l) {
        free(raw);
        return LM_ENOMEM;
    }
    double max = -1;
    for (size_t i = 0; i < h->count; i++) {
        double v = raw_value(h->dtype, raw, i);
        if (v < 0 || v >= IDX_MAX_CLASSES) {
            /* A bad label must not reach max: an int32 label of INT32_MAX
             * would overflow n_classes below. */
            st = lm__err(LM_EFORMAT, "%s: label %.0f at index %zu is not in [0, %d)", s->path,
                         v, i, IDX_MAX_CLASSES);
            break;
        }
        l[i] = (int32_t)v;
        if (v > max) max = v;
    }
    free(raw);
    d->labels = l;
    d->n_classes = (int)max + 1;
    return st;
}

static lm_status idx_read(lm_data *d, lm__src *si, lm__src *sl, const char *images,
                          const char *labels, int shape[3])
{
    idx_head hi, hl;
    lm_status st = open_head(si, images, &hi);
    if (st != LM_OK) return st;
    if (hi.dims[0] == 0) return lm__err(LM_EFORMAT, "%s: no images", images);
    size_t nx = hi.count / hi.dims[0];
    if (nx == 0 || nx > INT32_MAX)
        return lm__err(LM_EFORMAT, "%s: %zu values per image", images, nx);
    if (labels) {
        if ((st = open_head(sl, labels, &hl)) != LM_OK) return st;
        if (hl.dtype == 0x0D || hl.dtype == 0x0E)
            return lm__err(LM_EFORMAT, "%s: labels must be integers, not floats", labels);
        if (hl.ndims != 1)
            return lm__err(LM_EFORMAT, "%s: labels must be 1-D, found %d dimensions", labels,
                           hl.ndims);
        if (hl.dims[0] != hi.dims[0])
            return lm__err(LM_EFORMAT, "%s: %lu labels for %lu images", labels,
                           (unsigned long)hl.dims[0], (unsigned long)hi.dims[0]);
    }
    d->n = hi.dims[0];
    d->nx = (int)nx;
    /* images keep their shape: rows (H, W) of C values each, channels-last
     * (recorded once the data set is adopted) */
    if (hi.ndims == 3 || hi.ndims == 4) {
        shape[0] = hi.ndims == 4 ? (int)hi.dims[3] : 1;
        shape[1] = (int)hi.dims[1];
        shape[2] = (int)hi.dims[2];
    }
    if ((st = read_images(si, &hi, d)) != LM_OK) return st;
    if (labels) st = read_labels(sl, &hl, d);
    return st;
}

lm_status lm_idx_read(lm_data *out, const char *images, const char *labels)
{
    LM_NONNULL(out);
    LM_NONNULL(images);
    memset(out, 0, sizeof *out);
    lm__src si = {0}, sl = {0};
    lm_data d = {0};
    int shape[3] = {0, 0, 0};
    lm_status st = idx_read(&d, &si, &sl, images, labels, shape);
    lm__src_close(&si);
    lm__src_close(&sl);
    if (st != LM_OK) {
        lm__data_discard(&d);
        return st;
    }
    if ((st = lm__data_adopt(&d)) != LM_OK) return st;
    if (shape[0]) lm__data_set_shape(&d, shape[0], shape[1], shape[2]);
    *out = d;
    return LM_OK;
}
