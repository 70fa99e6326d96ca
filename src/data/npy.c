/* npy.c - reads NumPy's own files: .npy (np.save) and .npz (np.savez,
 * np.savez_compressed: a zip archive of .npy members, through zip.c).
 *
 * A .npy file is the magic "\x93NUMPY", a version (1.0, 2.0 or 3.0), the
 * header's length (2 bytes little-endian in 1.0, 4 in 2.0 and 3.0), then
 * the header: a Python dict literal with exactly the keys 'descr' (a
 * dtype string such as '<f4'), 'fortran_order' (True or False) and
 * 'shape' (a tuple of integers), in any order, padded with spaces and
 * ended by a newline; then the array's bytes. The header is parsed as
 * that grammar, nothing more: lamina never evaluates Python and never
 * unpickles (object arrays are refused). The shape is untrusted: its
 * product is checked for overflow and the data must be exactly as long
 * as it says. Values are converted to float32 (finite and in range, or
 * refused naming the element); u1 features stay bytes (LM_U8) as IDX
 * images do. Rows are numpy's first axis; the other axes are flattened
 * in C order (a Fortran-ordered array is transposed on the way), and a 3-
 * or 4-axis array is read as images (N, H, W) or (N, H, W, C), lamina's
 * channels-last layout, as IDX files are. */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_DIMS 32
#define NPY_MAX_CLASSES 65536
#define NPY_NAME 320

/* One array's bytes in memory and the name that messages give it. */
typedef struct npy_src {
    char name[NPY_NAME];       /* "x.npy", or "d.npz, array 'x'" */
    const unsigned char *b;    /* (len) the .npy bytes */
    size_t len;
    unsigned char *owned;      /* an extracted zip member, or NULL */
} npy_src;

/* A parsed .npy header, its data in the source's bytes. */
typedef struct npy_arr {
    const char *name;
    char kind; /* 'f', 'i', 'u' or 'b' */
    int size;  /* bytes per value */
    int big;   /* big-endian values */
    int fortran;
    int ndim;
    size_t dims[NPY_MAX_DIMS];
    size_t count;
    const unsigned char *data; /* (count * size) */
} npy_arr;

/* ------------------------------------------------------------ header */

typedef struct hcur {
    const char *p, *end;
} hcur;

static void skip_ws(hcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips white space, then takes the character ch if it is next. */
static int take(hcur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes into out (cap bytes). */
static int parse_str(hcur *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n' || n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

/* A word of letters (True, False) into out. */
static int parse_word(hcur *c, char *out, size_t cap)
{
    skip_ws(c);
    size_t n = 0;
    while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z'))) {
        if (n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

/* A tuple of non-negative integers: "()", "(3,)", "(3, 2)", "(3, 2,)";
 * Python 2's long suffix "3L" as old numpy wrote it. */
static lm_status parse_shape(const char *name, hcur *c, npy_arr *a)
{
    if (!take(c, '('))
        return lm__err(LM_EFORMAT, "%s: header: 'shape' is not a tuple", name);
    a->ndim = 0;
    if (take(c, ')')) return LM_OK;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return lm__err(LM_EFORMAT, "%s: header: 'shape' holds something other than "
                           "non-negative integers", name);
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (!lm__mul_ok(v, 10, &v) || v > SIZE_MAX - (size_t)(*c->p - '0'))
                return lm__err(LM_EFORMAT, "%s: header: a dimension in 'shape' overflows",
                               name);
            v += (size_t)(*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++;
        if (a->ndim == NPY_MAX_DIMS)
            return lm__err(LM_EFORMAT, "%s: header: more than %d dimensions", name,
                           NPY_MAX_DIMS);
        a->dims[a->ndim++] = v;
        int comma = take(c, ',');
        if (take(c, ')')) return LM_OK;
        if (!comma)
            return lm__err(LM_EFORMAT, "%s: header: 'shape' is not a tuple of integers", name);
    }
}

static const char *pickle_hint =
    "holds Python objects (dtype object), which numpy saves as a pickle; lamina never "
    "unpickles: loading a pickle runs whatever code the file says (the reason np.load "
    "refuses it unless allow_pickle=True). Save a numeric array, e.g. "
    "np.save(f, np.asarray(x, dtype=np.float32))";

/* A dtype string: byte order '<', '>', '|' (or '=' native), a kind, a size. */
static lm_status parse_descr(const char *name, const char *s, npy_arr *a)
{
    const uint16_t one = 1;
    int little_host = *(const unsigned char *)&one == 1;
    char o = s[0];
    if (o != '<' && o != '>' && o != '|' && o != '=') o = 0;
    const char *k = o ? s + 1 : s;
    char kind = k[0];
    if (!kind) return lm__err(LM_EFORMAT, "%s: dtype '%s' names no type", name, s);
    if (kind == 'O') return lm__err(LM_EFORMAT, "%s: %s", name, pickle_hint);
    if (kind == 'U' || kind == 'S' || kind == 'a')
        return lm__err(LM_EFORMAT, "%s: holds strings (dtype '%s'); lamina reads numbers: "
                       "encode them first (class names as integers 0..K-1)", name, s);
    int size = 0;
    const char *d = k + 1;
    if (*d >= '1' && *d <= '9' && (!d[1] || (d[1] >= '0' && d[1] <= '9' && !d[2])))
        size = atoi(d);
    int ok = (kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
             ((kind == 'i' || kind == 'u') &&
              (size == 1 || size == 2 || size == 4 || size == 8)) ||
             (kind == 'b' && size == 1);
    if (!ok || !o)
        return lm__err(LM_EFORMAT, "%s: dtype '%s' is not one lamina reads (float16, float32, "
                       "float64, signed and unsigned integers of 1 to 8 bytes, bool; "
                       "little- or big-endian)", name, s);
    a->kind = kind;
    a->size = size;
    a->big = size > 1 && (o == '>' || (o == '=' && !little_host));
    return LM_OK;
}

/* The dict: each of the three keys once, in any order. */
static lm_status parse_dict(const char *name, hcur *c, npy_arr *a)
{
    int seen[3] = {0, 0, 0};
    char key[32], val[64];
    if (!take(c, '{')) return lm__err(LM_EFORMAT, "%s: header is not a Python dict", name);
    lm_status st;
    while (!take(c, '}')) {
        if (!parse_str(c, key, sizeof key))
            return lm__err(LM_EFORMAT, "%s: header: expected a quoted key", name);
        if (!take(c, ':'))
            return lm__err(LM_EFORMAT, "%s: header: expected ':' after '%s'", name, key);
        int i = !strcmp(key, "descr") ? 0 : !strcmp(key, "fortran_order") ? 1
              : !strcmp(key, "shape") ? 2 : -1;
        if (i < 0)
            return lm__err(LM_EFORMAT, "%s: header: unknown key '%s' (a .npy header holds "
                           "'descr', 'fortran_order' and 'shape')", name, key);
        if (seen[i]++) return lm__err(LM_EFORMAT, "%s: header: key '%s' twice", name, key);
        if (i == 0) {
            if (take(c, '['))
                return lm__err(LM_EFORMAT, "%s: a structured dtype (record array); lamina "
                               "reads plain numeric arrays: save each field on its own, or "
                               "np.lib.recfunctions.structured_to_unstructured(a)", name);
            if (!parse_str(c, val, sizeof val))
                return lm__err(LM_EFORMAT, "%s: header: 'descr' is not a dtype string", name);
            if ((st = parse_descr(name, val, a)) != LM_OK) return st;
        } else if (i == 1) {
            if (!parse_word(c, val, sizeof val) || (strcmp(val, "True") && strcmp(val, "False")))
                return lm__err(LM_EFORMAT, "%s: header: 'fortran_order' is not True or False",
                               name);
            a->fortran = val[0] == 'T';
        } else if ((st = parse_shape(name, c, a)) != LM_OK) {
            return st;
        }
        if (!take(c, ',')) {
            if (take(c, '}')) break;
            return lm__err(LM_EFORMAT, "%s: header: expected ',' or '}' after '%s'", name, key);
        }
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return lm__err(LM_EFORMAT, "%s: header lacks '%s'", name,
                           i == 0 ? "descr" : i == 1 ? "fortran_order" : "shape");
    skip_ws(c);
    if (c->p != c->end)
        return lm__err(LM_EFORMAT, "%s: header: text after the dict", name);
    return LM_OK;
}

static void shape_text(const npy_arr *a, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < a->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%zu", i ? ", " : "", a->dims[i]);
    if (n < size) snprintf(buf + n, size - n, "%s)", a->ndim == 1 ? "," : "");
}

static lm_status npy_parse(const npy_src *s, npy_arr *a)
{
    memset(a, 0, sizeof *a);
    a->name = s->name;
    const unsigned char *b = s->b;
    size_t len = s->len;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return lm__err(LM_EFORMAT, "%s: not a .npy file (it starts with \\x93NUMPY)", s->name);
    int major = b[6], minor = b[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return lm__err(LM_EFORMAT, "%s: .npy format version %d.%d (lamina reads 1.0, 2.0 and "
                       "3.0)", s->name, major, minor);
    size_t at = major == 1 ? 10 : 12;
    if (len < at) return lm__err(LM_EFORMAT, "%s: truncated in its header", s->name);
    size_t hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                             : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
                                   (size_t)b[11] << 24;
    if (hlen > len - at)
        return lm__err(LM_EFORMAT, "%s: the header claims %zu bytes, the file holds %zu after "
                       "the magic (truncated?)", s->name, hlen, len - at);
    hcur c = {(const char *)b + at, (const char *)b + at + hlen};
    if (hlen == 0 || c.end[-1] != '\n')
        return lm__err(LM_EFORMAT, "%s: the header does not end in a newline", s->name);
    lm_status st = parse_dict(s->name, &c, a);
    if (st != LM_OK) return st;
    a->count = 1;
    for (int i = 0; i < a->ndim; i++)
        if (!lm__mul_ok(a->count, a->dims[i], &a->count))
            return lm__err(LM_EFORMAT, "%s: shape overflows the address space", s->name);
    size_t bytes, have = len - at - hlen;
    if (!lm__mul_ok(a->count, (size_t)a->size, &bytes))
        return lm__err(LM_EFORMAT, "%s: shape overflows the address space", s->name);
    char sh[256];
    shape_text(a, sh, sizeof sh);
    if (a->ndim == 0)
        return lm__err(LM_EFORMAT, "%s: a single value (shape ()), not an array of rows",
                       s->name);
    if (a->dims[0] == 0) return lm__err(LM_EFORMAT, "%s: no rows (shape %s)", s->name, sh);
    if (have < bytes) {
        size_t row = a->ndim && a->dims[0] ? bytes / a->dims[0] : bytes;
        return lm__err(LM_EFORMAT, "%s: truncated: shape %s needs %zu data bytes, the file "
                       "holds %zu (%zu bytes missing; %zu of %zu rows complete)", s->name, sh,
                       bytes, have, bytes - have, row ? have / row : 0,
                       a->ndim ? a->dims[0] : 1);
    }
    if (have > bytes)
        return lm__err(LM_EFORMAT, "%s: %zu bytes after the %zu data bytes of shape %s", s->name,
                       have - bytes, bytes, sh);
    a->data = b + at + hlen;
    return LM_OK;
}

/* ------------------------------------------------------------ values */

static double half_value(uint32_t h)
{
    int e = (int)(h >> 10 & 31);
    double m = h & 1023, v;
    if (e == 0) v = ldexp(m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp(m + 1024, e - 25);
    return h & 0x8000 ? -v : v;
}

/* Value at raw index i (in the file's order). */
static double npy_value(const npy_arr *a, size_t i)
{
    const unsigned char *p = a->data + i * (size_t)a->size;
    uint64_t u = 0;
    for (int k = 0; k < a->size; k++) u |= (uint64_t)p[a->big ? a->size - 1 - k : k] << (8 * k);
    switch (a->kind) {
    case 'b': return u != 0;
    case 'u': return (double)u;
    case 'i':
        if (a->size < 8 && (u >> (8 * a->size - 1) & 1)) u |= ~(uint64_t)0 << (8 * a->size);
        return (double)(int64_t)u;
    default:
        if (a->size == 2) return half_value((uint32_t)u);
        if (a->size == 4) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, sizeof f);
            return f;
        } else {
            double d;
            memcpy(&d, &u, sizeof d);
            return d;
        }
    }
}

/* Walks an array in C order, giving each element's raw index: itself, or
 * for a Fortran-ordered array (first axis fastest) its place there. */
typedef struct npy_iter {
    const npy_arr *a;
    size_t c; /* C-order index */
    size_t off;
    size_t idx[NPY_MAX_DIMS], stride[NPY_MAX_DIMS];
} npy_iter;

static void iter_start(npy_iter *it, const npy_arr *a)
{
    memset(it, 0, sizeof *it);
    it->a = a;
    size_t s = 1;
    for (int j = 0; j < a->ndim; j++) {
        it->stride[j] = s;
        s *= a->dims[j]; /* within count: checked */
    }
}

static size_t iter_next(npy_iter *it)
{
    const npy_arr *a = it->a;
    if (!a->fortran) return it->c++;
    size_t r = it->off;
    for (int j = a->ndim - 1; j >= 0; j--) {
        it->off += it->stride[j];
        if (++it->idx[j] < a->dims[j]) break;
        it->off -= a->dims[j] * it->stride[j];
        it->idx[j] = 0;
    }
    return r;
}

/* ---------------------------------------------------------- data set */

static lm_status read_x(const npy_arr *a, lm_data *d, int shape[3])
{
    size_t n = a->dims[0], nx = a->count / n;
    if (nx == 0 || nx > INT32_MAX)
        return lm__err(LM_EFORMAT, "%s: %zu values a row", a->name, nx);
    d->n = n;
    d->nx = (int)nx;
    if (a->ndim == 3 || a->ndim == 4) { /* images, channels-last as IDX */
        shape[0] = a->ndim == 4 ? (int)a->dims[3] : 1;
        shape[1] = (int)a->dims[1];
        shape[2] = (int)a->dims[2];
    }
    npy_iter it;
    iter_start(&it, a);
    if (a->kind == 'u' && a->size == 1) { /* bytes stay bytes: images */
        unsigned char *x = lm__alloc(a->count, 1, "npy features");
        if (!x) return LM_ENOMEM;
        if (!a->fortran) memcpy(x, a->data, a->count); /* C order: as they are */
        else
            for (size_t i = 0; i < a->count; i++) x[i] = a->data[iter_next(&it)];
        d->x = x;
        d->x_type = LM_U8;
        return LM_OK;
    }
    float *x = lm__alloc(a->count, sizeof *x, "npy features");
    if (!x) return LM_ENOMEM;
    d->x = x;
    d->x_type = LM_F32;
    const uint16_t one = 1;
    int host_big = *(const unsigned char *)&one == 0;
    /* float32 in C order and the host's byte order (np.save's usual):
     * copied as they are, then checked */
    int as_is = a->kind == 'f' && a->size == 4 && !a->fortran && a->big == host_big;
    if (as_is) memcpy(x, a->data, a->count * sizeof *x);
    for (size_t i = 0; i < a->count; i++) {
        if (as_is && isfinite(x[i])) continue;
        double v = as_is ? x[i] : npy_value(a, iter_next(&it));
        if (!(fabs(v) <= FLT_MAX))
            return lm__err(LM_EFORMAT, "%s: value %g at [%zu, %zu] (row, column; element %zu) "
                           "is not a finite float32", a->name, v, i / nx, i % nx, i);
        x[i] = (float)v;
    }
    return LM_OK;
}

/* Whether every value is a class, in [0, NPY_MAX_CLASSES). */
static int all_classes(const npy_arr *a)
{
    for (size_t i = 0; i < a->count; i++) {
        double v = npy_value(a, i);
        if (v < 0 || v >= NPY_MAX_CLASSES) return 0;
    }
    return 1;
}

static lm_status read_y(const npy_arr *a, lm_data *d)
{
    if (a->ndim > 2)
        return lm__err(LM_EFORMAT, "%s: targets have %d dimensions (expected (N,) labels or "
                       "values, or (N, K) values)", a->name, a->ndim);
    size_t n = a->dims[0], k = a->count / n;
    npy_iter it;
    iter_start(&it, a);
    /* integers: class labels; any outside [0, 65536) (a year, a price,
     * -1) makes them numbers, as a CSV column of such integers is */
    if (a->kind != 'f' && k == 1 && all_classes(a)) {
        int32_t *l = lm__alloc(n, sizeof *l, "npy labels");
        if (!l) return LM_ENOMEM;
        d->labels = l;
        double max = -1;
        for (size_t i = 0; i < n; i++) {
            double v = npy_value(a, iter_next(&it));
            l[i] = (int32_t)v;
            if (v > max) max = v;
        }
        d->n_classes = (int)max + 1;
        return LM_OK;
    }
    if (k == 0 || k > INT32_MAX)
        return lm__err(LM_EFORMAT, "%s: %zu targets a row", a->name, k);
    float *y = lm__alloc(a->count, sizeof *y, "npy targets");
    if (!y) return LM_ENOMEM;
    d->y = y;
    d->ny = (int)k;
    for (size_t i = 0; i < a->count; i++) {
        double v = npy_value(a, iter_next(&it));
        if (!(fabs(v) <= FLT_MAX))
            return lm__err(LM_EFORMAT, "%s: target %g at [%zu, %zu] (row, column; element %zu) "
                           "is not a finite float32", a->name, v, i / k, i % k, i);
        y[i] = (float)v;
    }
    return LM_OK;
}

/* ---------------------------------------------------------- sources */

static const char *const x_names[] = {"x", "X", "data", "images", "features", "inputs", NULL};
static const char *const y_names[] = {"y", "Y", "labels", "label", "target", "targets", NULL};

/* A member's array name: its file name without ".npy". */
static int member_is(const lm__zip_entry *z, const char *key)
{
    size_t k = strlen(key);
    return z->name_len == k + 4 && memcmp(z->name, key, k) == 0 &&
           memcmp(z->name + k, ".npy", 4) == 0;
}

/* The member named by one of names, -1 if none, -2 (said) if two are. */
static int find_member(const char *path, const lm__zip_entry *e, int n,
                       const char *const *names)
{
    int at = -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; names[j]; j++)
            if (member_is(&e[i], names[j])) {
                if (at >= 0) {
                    lm__err(LM_EFORMAT, "%s: holds both '%.*s' and '%.*s': which are meant?",
                            path, (int)e[at].name_len - 4, e[at].name,
                            (int)e[i].name_len - 4, e[i].name);
                    return -2;
                }
                at = i;
            }
    return at;
}

static void list_names(const lm__zip_entry *e, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && i < 8 && len < size; i++) {
        size_t m = e[i].name_len;
        if (m > 4 && memcmp(e[i].name + m - 4, ".npy", 4) == 0) m -= 4;
        len += (size_t)snprintf(buf + len, size - len, "%s'%.*s'", i ? ", " : "",
                                (int)(m > 60 ? 60 : m), e[i].name);
    }
    if (n > 8 && len < size) snprintf(buf + len, size - len, ", ... %d more", n - 8);
}

static lm_status extract_to(const char *path, const lm__zip_entry *z, npy_src *s)
{
    size_t m = z->name_len;
    if (m > 4 && memcmp(z->name + m - 4, ".npy", 4) == 0) m -= 4;
    snprintf(s->name, sizeof s->name, "%.200s, array '%.*s'", path, (int)(m > 60 ? 60 : m),
             z->name);
    lm_status st = lm__zip_extract(path, z, &s->owned, &s->len);
    s->b = s->owned;
    return st;
}

/* The arrays of a .npz file: features (into x, when x is not NULL) and
 * targets (into y) picked by name; for targets alone, a single member
 * whatever its name. */
static lm_status npz_open(const char *path, const unsigned char *b, size_t len, npy_src *x,
                          npy_src *y)
{
    lm__zip_entry *e = NULL;
    int n = 0;
    lm_status st = lm__zip_list(path, b, len, &e, &n);
    if (st != LM_OK) return st;
    int xi = x ? find_member(path, e, n, x_names) : -1;
    int yi = find_member(path, e, n, y_names);
    if (xi == -2 || yi == -2) st = LM_EFORMAT;
    else if (n == 0) st = lm__err(LM_EFORMAT, "%s: an empty .npz archive", path);
    else if (x && xi < 0 && n == 1 && yi < 0) xi = 0;
    else if (!x && yi < 0 && n == 1) yi = 0;
    if (st == LM_OK && ((x && xi < 0) || (!x && yi < 0))) {
        char names[600];
        list_names(e, n, names, sizeof names);
        st = lm__err(LM_EFORMAT, "%s: holds %s; lamina takes the %s from an array named %s: "
                     "save them so, e.g. np.savez(f, x=X, y=y)", path, names,
                     x ? "features" : "targets",
                     x ? "x, X, data, images, features or inputs"
                       : "y, Y, labels, label, target or targets");
    }
    if (st == LM_OK && xi >= 0) st = extract_to(path, &e[xi], x);
    if (st == LM_OK && yi >= 0) st = extract_to(path, &e[yi], y);
    free(e);
    return st;
}

/* Opens b (len bytes, from the file name) as .npy or .npz: into x (the
 * features, and targets too from a .npz) or, x NULL, into y alone. */
static lm_status src_open(const char *name, const unsigned char *b, size_t len, npy_src *x,
                          npy_src *y)
{
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) {
        npy_src *s = x ? x : y;
        snprintf(s->name, sizeof s->name, "%s", name);
        s->b = b;
        s->len = len;
        return LM_OK;
    }
    if (len >= 4 && b[0] == 'P' && b[1] == 'K' &&
        ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
        return npz_open(name, b, len, x, y);
    return lm__err(LM_EFORMAT, "%s: not a NumPy file (a .npy file starts with \\x93NUMPY, "
                   "a .npz file with PK)", name);
}

static lm_status npy_read(lm_data *d, const char *xn, const unsigned char *xb, size_t xl,
                          const char *yn, const unsigned char *yb, size_t yl, npy_src *xs,
                          npy_src *ys, int shape[3])
{
    lm_status st = src_open(xn, xb, xl, xs, ys);
    if (st != LM_OK) return st;
    if (yb && ys->b)
        return lm__err(LM_EINVAL, "%s: holds targets (%s) and targets were given too (%s): "
                       "give one", xn, ys->name, yn);
    if (yb && (st = src_open(yn, yb, yl, NULL, ys)) != LM_OK) return st;
    npy_arr xa, ya;
    if ((st = npy_parse(xs, &xa)) != LM_OK) return st;
    if (ys->b) {
        if ((st = npy_parse(ys, &ya)) != LM_OK) return st;
        if (ya.dims[0] != xa.dims[0])
            return lm__err(LM_EFORMAT, "%s holds %zu rows but %s holds %zu: the features and "
                           "the targets must have as many rows", xs->name, xa.dims[0], ys->name,
                           ya.dims[0]);
    }
    if ((st = read_x(&xa, d, shape)) != LM_OK) return st;
    return ys->b ? read_y(&ya, d) : LM_OK;
}

static lm_status npy_finish(lm_data *out, lm_data *d, lm_status st, const int shape[3])
{
    if (st != LM_OK) {
        lm__data_discard(d);
        return st;
    }
    if ((st = lm__data_adopt(d)) != LM_OK) return st;
    if (shape[0]) lm__data_set_shape(d, shape[0], shape[1], shape[2]);
    *out = *d;
    return LM_OK;
}

lm_status lm_npy_read_mem(lm_data *out, const char *x_name, const void *x, size_t x_len,
                          const char *y_name, const void *y, size_t y_len)
{
    LM_NONNULL(out);
    memset(out, 0, sizeof *out);
    LM_NONNULL(x);
    lm_data d = {0};
    npy_src xs = {0}, ys = {0};
    int shape[3] = {0, 0, 0};
    lm_status st = npy_read(&d, x_name ? x_name : "x.npy", x, x_len,
                            y_name ? y_name : "y.npy", y, y_len, &xs, &ys, shape);
    free(xs.owned);
    free(ys.owned);
    return npy_finish(out, &d, st, shape);
}

lm_status lm_npy_read(lm_data *out, const char *x_path, const char *y_path)
{
    LM_NONNULL(out);
    memset(out, 0, sizeof *out);
    LM_NONNULL(x_path);
    unsigned char *xb = NULL, *yb = NULL;
    size_t xl = 0, yl = 0;
    lm_status st = lm__read_file(x_path, &xb, &xl);
    if (st == LM_OK && y_path) st = lm__read_file(y_path, &yb, &yl);
    if (st == LM_OK) st = lm_npy_read_mem(out, x_path, xb, xl, y_path, yb, yl);
    free(xb);
    free(yb);
    return st;
}
