/* csv.c - reads a CSV file of numeric features and one target column into
 * an lm_data.
 *
 * The file is read whole (its size checked against the allocation limit)
 * and parsed in memory in two passes: a quick byte scan that refuses
 * binary data and counts records (an upper bound on the rows, so x is
 * allocated once), then the real parse. Fields follow RFC 4180: quoted
 * fields may hold separators, newlines and "" for a quote; a quote inside
 * an unquoted field is an error, which keeps both passes' record counts in
 * agreement. CRLF or LF line ends, a UTF-8 BOM, a missing final newline
 * and blank lines are accepted. Numbers use the C locale's syntax whatever
 * the process locale is. */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An integer target column with at most this many distinct values, and
 * at least two rows per value on average, is read as classes when the
 * kind is detected: labels like 0/1 or 0..9 are classes, while a count or
 * price column with many distinct values stays numeric. */
#define CSV_MAX_AUTO_CLASSES 20

lm_csv_opts lm__csv_defaults(void)
{
    lm_csv_opts o = {.header = -1, .sep = 0, .target = NULL, .target_kind = -1,
                     .no_target = 0};
    return o;
}

/* ------------------------------------------------------------ reading */

static lm_status read_whole(const char *path, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lm__err(LM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int e = fstat(fileno(f), &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
    if (e) {
        fclose(f);
        return lm__err(LM_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    /* A regular file is read in one go; a pipe grows the buffer. */
    uint64_t limit = lm_alloc_limit();
    size_t cap = 65536;
    if (S_ISREG(sb.st_mode) && sb.st_size > 0)
        cap = (uint64_t)sb.st_size >= limit || (uint64_t)sb.st_size >= SIZE_MAX
                  ? SIZE_MAX
                  : (size_t)sb.st_size + 1;
    char *buf = lm__alloc(cap, 1, "csv file");
    if (!buf) {
        fclose(f);
        lm__err_prefix("%s", path);
        return LM_ENOMEM;
    }
    size_t len = 0;
    lm_status st = LM_OK;
    for (;;) {
        size_t want = cap - 1 - len, got = fread(buf + len, 1, want, f);
        len += got;
        int ch = got < want || ferror(f) ? EOF : fgetc(f);
        if (ferror(f)) {
            st = lm__err(LM_EIO, "%s: read error: %s", path, strerror(errno));
            break;
        }
        if (ch == EOF) break;
        if (cap > SIZE_MAX / 2 || (uint64_t)cap * 2 > limit) {
            st = lm__err(LM_ENOMEM, "%s: larger than the allocation limit (%llu bytes)",
                         path, (unsigned long long)limit);
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            st = lm__err(LM_ENOMEM, "%s: out of memory reading the file", path);
            break;
        }
        buf = nb;
        cap *= 2;
        buf[len++] = (char)ch;
    }
    fclose(f);
    if (st != LM_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return LM_OK;
}

/* Refuses bytes no text file holds and counts records: line ends outside
 * quotes, plus one. Blank lines count too, so this bounds the data rows. */
static lm_status scan_text(const char *path, const char *buf, size_t len, size_t *records)
{
    size_t recs = 1, line = 1;
    int inq = 0;
    for (size_t i = 0; i < len;) {
        /* Most 32-byte blocks hold only printable bytes: test them without
         * branches (this vectorises) and step over. */
        if (len - i >= 32) {
            int special = 0;
            for (size_t k = 0; k < 32; k++) {
                unsigned char ch = (unsigned char)buf[i + k];
                special |= (ch < 0x20) | (ch == '"');
            }
            if (!special) {
                i += 32;
                continue;
            }
        }
        size_t stop = len - i >= 32 ? i + 32 : len;
        for (; i < stop; i++) {
            unsigned char ch = (unsigned char)buf[i];
            if (ch >= 0x20) {
                if (ch == '"') inq ^= 1;
                continue;
            }
            if (ch == '\n' || (ch == '\r' && (i + 1 == len || buf[i + 1] != '\n'))) {
                line++;
                recs += !inq;
            } else if (ch != '\t' && ch != '\r') {
                return lm__err(LM_EFORMAT, "%s:%zu: not a text file (byte 0x%02x)", path,
                               line, ch);
            }
        }
    }
    *records = recs;
    return LM_OK;
}

/* ----------------------------------------------------------- tokenizer */

typedef struct csv_ctx {
    const char *path;
    char *p, *end; /* cursor and end of the text; *end == '\0' */
    size_t line;   /* 1-based line at p */
    char sep;
} csv_ctx;

typedef struct csv_field {
    char *s;     /* content (inside the quotes if quoted) */
    size_t len;
    size_t line; /* where the field starts */
    int quoted, escapes; /* escapes: holds "" pairs still to undo */
} csv_field;

static int is_blank(char c, char sep) { return (c == ' ' || c == '\t') && c != sep; }
static int is_eol(char c) { return c == '\n' || c == '\r'; }

/* Line ends in [p, e): "\r\n", "\n" or a lone "\r" each count once. */
static size_t count_lines(const char *p, const char *e)
{
    size_t n = 0;
    for (; p < e; p++)
        n += *p == '\n' || (*p == '\r' && (p + 1 == e || p[1] != '\n'));
    return n;
}

/* Skips blank lines; returns 1 at the end of the text. */
static int skip_blank_lines(csv_ctx *c)
{
    for (;;) {
        char *p = c->p;
        while (p < c->end && is_blank(*p, c->sep)) p++;
        if (p == c->end) {
            c->p = p;
            return 1;
        }
        if (!is_eol(*p)) return 0;
        if (*p == '\r' && p + 1 < c->end && p[1] == '\n') p++;
        c->p = p + 1;
        c->line++;
    }
}

/* Reads the field at the cursor (column col, 0-based, for messages) and
 * consumes its terminator; *eor is set when that ended the record. */
static lm_status read_field(csv_ctx *c, int col, csv_field *f, int *eor)
{
    char *p = c->p, *end = c->end;
    while (p < end && is_blank(*p, c->sep)) p++;
    f->line = c->line;
    f->quoted = f->escapes = 0;
    if (p < end && *p == '"') {
        char *s = ++p;
        for (;;) {
            char *q = memchr(p, '"', (size_t)(end - p));
            if (!q)
                return lm__err(LM_EFORMAT, "%s:%zu:%d: unterminated quoted field", c->path,
                               f->line, col + 1);
            if (q + 1 < end && q[1] == '"') {
                f->escapes = 1;
                p = q + 2;
                continue;
            }
            f->s = s;
            f->len = (size_t)(q - s);
            p = q + 1;
            break;
        }
        f->quoted = 1;
        c->line += count_lines(f->s, f->s + f->len);
        while (p < end && is_blank(*p, c->sep)) p++;
        if (p < end && *p != c->sep && !is_eol(*p))
            return lm__err(LM_EFORMAT, "%s:%zu:%d: unexpected '%c' after a closing quote",
                           c->path, c->line, col + 1, *p);
    } else {
        char *s = p, sep = c->sep;
        while (p < end && *p != sep && !is_eol(*p) && *p != '"') p++;
        char *e = p;
        while (e > s && is_blank(e[-1], sep)) e--;
        f->s = s;
        f->len = (size_t)(e - s);
        if (p < end && *p == '"')
            return lm__err(LM_EFORMAT,
                           "%s:%zu:%d: a quote inside an unquoted field (quote the whole "
                           "field and double the quote)",
                           c->path, f->line, col + 1);
    }
    if (p < end && *p == c->sep) {
        c->p = p + 1;
        *eor = 0;
        return LM_OK;
    }
    *eor = 1;
    if (p < end) { /* a line end */
        if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
        p++;
        c->line++;
    }
    c->p = p;
    return LM_OK;
}

/* Undoes "" pairs in place (each field is unquoted at most once). */
static void unquote(csv_field *f)
{
    if (!f->escapes) return;
    char *w = f->s;
    for (size_t i = 0; i < f->len; i++) {
        *w++ = f->s[i];
        if (f->s[i] == '"') i++;
    }
    f->len = (size_t)(w - f->s);
    f->escapes = 0;
}

/* ------------------------------------------------------------- numbers */

typedef enum num_res { NUM_OK, NUM_BAD, NUM_RANGE } num_res;

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses s[0..len) as [+-]digits[.digits][(e|E)[+-]digits] (at least one
 * mantissa digit), nothing else: no hex, inf, nan or decimal commas. The
 * character after the field never continues a number (it is a separator,
 * line end, quote or the final NUL), so strtod stops exactly at len. */
static num_res parse_num(const char *s, size_t len, double *out)
{
    const char *p = s, *e = s + len;
    int neg = 0, sig = 0, frac = 0, digits = 0;
    uint64_t m = 0;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    for (int in_frac = 0;; p++) {
        if (p < e && *p >= '0' && *p <= '9') {
            digits++;
            frac += in_frac;
            if (m || *p != '0') { /* significant digits only */
                if (++sig <= 19) m = m * 10 + (uint64_t)(*p - '0');
            }
        } else if (p < e && *p == '.' && !in_frac) {
            in_frac = 1;
        } else {
            break;
        }
    }
    if (!digits) return NUM_BAD;
    int has_exp = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        has_exp = 1;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        const char *d0 = p;
        while (p < e && *p >= '0' && *p <= '9') p++;
        if (p == d0) return NUM_BAD;
    }
    if (p != e) return NUM_BAD;
    double v;
    if (!has_exp && sig <= 15 && frac <= 22) {
        /* m < 2^53 and 10^frac are exact, so one division rounds
         * correctly: the same double strtod gives, much faster. */
        v = frac ? (double)m / pow10_tab[frac] : (double)m;
        if (neg) v = -v;
    } else {
        char *endp;
        errno = 0;
        v = strtod(s, &endp);
        if (endp != e) return NUM_BAD;
        (void)errno; /* ERANGE on underflow is fine: the value is 0 or tiny */
    }
    /* Below this, rounding to float32 stays finite (FLT_MAX's midpoint
     * with 2^128). */
    if (!(fabs(v) < ldexp(1.0, 128) - ldexp(1.0, 103))) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

static int field_is_num(const csv_field *f)
{
    double v;
    return !f->escapes && parse_num(f->s, f->len, &v) == NUM_OK;
}

/* The error for a field that should be a number. */
static lm_status num_error(const char *path, size_t line, int col, const char *s, size_t len,
                           num_res r)
{
    int show = len > 40 ? 40 : (int)len;
    const char *more = len > 40 ? "..." : "";
    if (r == NUM_RANGE)
        return lm__err(LM_EFORMAT, "%s:%zu:%d: %.*s%s is out of float32 range", path, line,
                       col + 1, show, s, more);
    return lm__err(LM_EFORMAT, "%s:%zu:%d: expected a number, found '%.*s%s'", path, line,
                   col + 1, show, s, more);
}

/* The common field, fused: a plain unquoted [-]digits[.digits] with at
 * most 15 digits, ended by the separator, a line end or the end of text.
 * Stores it and consumes the terminator, or returns 0 having moved
 * nothing (the general path then handles the field, errors included).
 * Same result as parse_num: m < 10^15 and 10^frac are exact. */
static inline int fast_number(csv_ctx *c, float *out, int *eor)
{
    const char *p = c->p, *end = c->end;
    int neg = p < end && *p == '-';
    p += neg;
    uint64_t m = 0;
    int digits = 0, frac = 0;
    while (p < end && (unsigned)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0'), digits++;
    if (p < end && *p == '.') {
        p++;
        while (p < end && (unsigned)(*p - '0') < 10)
            m = m * 10 + (uint64_t)(*p++ - '0'), digits++, frac++;
    }
    if (digits == 0 || digits > 15) return 0;
    if (p < end && *p != c->sep && !is_eol(*p)) return 0;
    double v = frac ? (double)m / pow10_tab[frac] : (double)m;
    *out = (float)(neg ? -v : v);
    if (p < end && *p == c->sep) {
        c->p = (char *)p + 1;
        *eor = 0;
        return 1;
    }
    *eor = 1;
    if (p < end) {
        if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
        p++;
        c->line++;
    }
    c->p = (char *)p;
    return 1;
}

/* ------------------------------------------------------------- layout */

/* Separator counts outside quotes over one record from p; returns where
 * the next record starts. */
static const char *count_seps(const char *p, const char *end, size_t counts[3])
{
    static const char cand[3] = {'\t', ';', ','};
    int inq = 0;
    counts[0] = counts[1] = counts[2] = 0;
    for (; p < end; p++) {
        if (*p == '"') inq ^= 1;
        if (inq) continue;
        if (is_eol(*p)) {
            if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
            return p + 1;
        }
        for (int k = 0; k < 3; k++) counts[k] += *p == cand[k];
    }
    return end;
}

/* The first of tab, ';', ',' present in the first record whose count the
 * second record repeats; else the first present; else ','. Semicolons win
 * over commas because semicolon files often hold decimal commas. */
static char detect_sep(const char *p, const char *end)
{
    static const char cand[3] = {'\t', ';', ','};
    size_t c1[3], c2[3];
    const char *next = count_seps(p, end, c1);
    int have2 = next < end;
    if (have2) count_seps(next, end, c2);
    for (int k = 0; k < 3; k++)
        if (c1[k] && (!have2 || c2[k] == c1[k])) return cand[k];
    for (int k = 0; k < 3; k++)
        if (c1[k]) return cand[k];
    return ',';
}

typedef struct field_vec {
    csv_field *v;
    int n, cap;
} field_vec;

/* Reads one whole record into fv. */
static lm_status read_record(csv_ctx *c, field_vec *fv)
{
    int eor = 0;
    fv->n = 0;
    while (!eor) {
        if (fv->n == fv->cap) {
            if (fv->cap > (1 << 28))
                return lm__err(LM_EFORMAT, "%s:%zu: too many columns", c->path, c->line);
            int cap = fv->cap ? 2 * fv->cap : 64;
            csv_field *nv = realloc(fv->v, (size_t)cap * sizeof *nv);
            if (!nv) return lm__err(LM_ENOMEM, "%s: out of memory", c->path);
            fv->v = nv;
            fv->cap = cap;
        }
        lm_status st = read_field(c, fv->n, &fv->v[fv->n], &eor);
        if (st != LM_OK) return st;
        fv->n++;
    }
    return LM_OK;
}

/* Header rule: the first record is a header if some column is not a number
 * there but is one in the second record; with a single record, if no field
 * of it is a number. */
static int detect_header(const field_vec *r1, const field_vec *r2, int have2)
{
    if (!have2) {
        for (int j = 0; j < r1->n; j++)
            if (field_is_num(&r1->v[j])) return 0;
        return 1;
    }
    for (int j = 0; j < r1->n && j < r2->n; j++)
        if (!field_is_num(&r1->v[j]) && field_is_num(&r2->v[j])) return 1;
    return 0;
}

static int span_eq(const char *a, size_t na, const char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* The target column from its name or 0-based index (NULL: the last). */
static lm_status find_target(const char *path, const char *target, const field_vec *names,
                             int ncols, int *tcol)
{
    if (!target) {
        *tcol = ncols - 1;
        return LM_OK;
    }
    size_t tl = strlen(target);
    for (int j = 0; names && j < names->n; j++)
        if (span_eq(names->v[j].s, names->v[j].len, target, tl)) {
            *tcol = j;
            return LM_OK;
        }
    int digits = tl > 0 && tl < 10;
    for (size_t i = 0; i < tl; i++) digits &= target[i] >= '0' && target[i] <= '9';
    if (digits) {
        long k = strtol(target, NULL, 10);
        if (k >= ncols)
            return lm__err(LM_EFORMAT, "%s: target column %ld is out of range (%d columns)",
                           path, k, ncols);
        *tcol = (int)k;
        return LM_OK;
    }
    if (!names)
        return lm__err(LM_EFORMAT,
                       "%s: no header, so the target '%s' must be a 0-based column index",
                       path, target);
    char list[256];
    size_t at = 0;
    list[0] = '\0';
    for (int j = 0; j < names->n && at + 8 < sizeof list; j++) {
        int w = snprintf(list + at, sizeof list - at, "%s'%.*s'", j ? ", " : "",
                         (int)(names->v[j].len > 40 ? 40 : names->v[j].len), names->v[j].s);
        if (w < 0) break;
        at += (size_t)w;
    }
    return lm__err(LM_EFORMAT, "%s: no column named '%s' (columns: %s)", path, target, list);
}

/* ------------------------------------------------------------- targets */

typedef struct tgt_span {
    char *s;
    size_t len;
    size_t line;
} tgt_span;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Labels from text values, classes numbered in order of first appearance. */
static lm_status classes_from_text(const char *path, const tgt_span *t, size_t n,
                                   int32_t *labels, char ***names, int *n_classes)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    int32_t *tab = lm__alloc(cap, sizeof *tab, "csv classes");
    size_t *first = lm__alloc(n, sizeof *first, "csv classes"); // row of each class
    lm_status st = LM_ENOMEM;
    if (!tab || !first) goto done;
    memset(tab, 0xff, cap * sizeof *tab); /* -1: empty */
    int k = 0;
    for (size_t r = 0; r < n; r++) {
        size_t h = (size_t)hash_bytes(t[r].s, t[r].len) & (cap - 1);
        while (tab[h] >= 0 && !span_eq(t[first[tab[h]]].s, t[first[tab[h]]].len, t[r].s,
                                       t[r].len))
            h = (h + 1) & (cap - 1);
        if (tab[h] < 0) {
            if (k == INT32_MAX) {
                st = lm__err(LM_EFORMAT, "%s: too many classes", path);
                goto done;
            }
            tab[h] = k;
            first[k++] = r;
        }
        labels[r] = tab[h];
    }
    size_t *len = lm__alloc((size_t)k, sizeof *len, "csv classes");
    const char **sp = lm__alloc((size_t)k, sizeof *sp, "csv classes");
    if (!len || !sp) {
        free(len);
        free(sp);
        goto done;
    }
    for (int c = 0; c < k; c++) {
        sp[c] = t[first[c]].s;
        len[c] = t[first[c]].len;
    }
    *names = lm__names_pack(k, sp, len);
    free(sp);
    free(len);
    if (!*names) goto done;
    *n_classes = k;
    st = LM_OK;
done:
    free(tab);
    free(first);
    return st;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values of v (n) sorted into u; returns their count. */
static size_t sorted_unique(const float *v, size_t n, int64_t *u)
{
    for (size_t i = 0; i < n; i++) u[i] = (int64_t)v[i];
    qsort(u, n, sizeof *u, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || u[k - 1] != u[i]) u[k++] = u[i];
    return k;
}

/* Labels from integer values: class c is the c-th smallest value, so
 * labels 0..k-1 in the file keep their numbers. u: (k) sorted values. */
static lm_status classes_from_ints(const float *v, size_t n, const int64_t *u, size_t k,
                                   int32_t *labels, char ***names)
{
    for (size_t r = 0; r < n; r++) {
        int64_t x = (int64_t)v[r];
        size_t lo = 0, hi = k;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (u[mid] <= x) lo = mid;
            else hi = mid;
        }
        labels[r] = (int32_t)lo;
    }
    char *text = lm__alloc(k, 24, "csv classes");
    const char **sp = lm__alloc(k, sizeof *sp, "csv classes");
    size_t *len = lm__alloc(k, sizeof *len, "csv classes");
    if (text && sp && len) {
        for (size_t c = 0; c < k; c++) {
            sp[c] = text + 24 * c;
            len[c] = (size_t)snprintf(text + 24 * c, 24, "%lld", (long long)u[c]);
        }
        *names = lm__names_pack((int)k, sp, len);
    }
    free(text);
    free(sp);
    free(len);
    return *names ? LM_OK : LM_ENOMEM;
}

/* Turns the target column's text into y or labels, per kind (-1 detect,
 * 0 numeric, 1 classes). tcol is for messages. */
static lm_status build_target(const char *path, tgt_span *t, size_t n, int kind, int tcol,
                              lm_data *d)
{
    float *y = lm__alloc(n, sizeof *y, "csv targets");
    if (!y) return LM_ENOMEM;
    size_t bad = SIZE_MAX, range_bad = SIZE_MAX; /* first rows that are not numbers */
    int all_int = 1;
    for (size_t r = 0; r < n; r++) {
        double v;
        num_res res = parse_num(t[r].s, t[r].len, &v);
        if (res != NUM_OK) {
            if (bad == SIZE_MAX) bad = r;
            if (res == NUM_RANGE && range_bad == SIZE_MAX) range_bad = r;
            y[r] = 0;
            continue;
        }
        y[r] = (float)v;
        all_int &= v == floor(v) && fabs(v) <= 16777216.0; /* exact in y */
    }
    /* Numeric targets, and numbers mixed with text where the numbers are
     * fractional or out of range (a regression target with a stray "NA"),
     * must all be numbers. */
    if (kind != 1 && range_bad != SIZE_MAX) bad = range_bad;
    if (bad != SIZE_MAX && kind != 1 && (kind == 0 || !all_int || range_bad != SIZE_MAX)) {
        free(y);
        return num_error(path, t[bad].line, tcol, t[bad].s, t[bad].len,
                         bad == range_bad ? NUM_RANGE : NUM_BAD);
    }
    if (bad == SIZE_MAX && (kind == 0 || (kind == -1 && !all_int))) {
        d->y = y;
        d->ny = 1;
        return LM_OK;
    }
    int32_t *labels = lm__alloc(n, sizeof *labels, "csv labels");
    if (!labels) {
        free(y);
        return LM_ENOMEM;
    }
    lm_status st = LM_OK;
    if (bad == SIZE_MAX && all_int) {
        int64_t *u = lm__alloc(n, sizeof *u, "csv classes");
        if (!u) st = LM_ENOMEM;
        size_t k = u ? sorted_unique(y, n, u) : 0;
        if (u && kind == -1 && !(k <= CSV_MAX_AUTO_CLASSES && 2 * k <= n)) {
            free(u); /* too many distinct values: numeric after all */
            free(labels);
            d->y = y;
            d->ny = 1;
            return LM_OK;
        }
        if (u) st = classes_from_ints(y, n, u, k, labels, &d->class_names);
        if (st == LM_OK) d->n_classes = (int)k;
        free(u);
    } else {
        st = classes_from_text(path, t, n, labels, &d->class_names, &d->n_classes);
    }
    free(y);
    if (st != LM_OK) {
        free(labels);
        return st;
    }
    d->labels = labels;
    return LM_OK;
}

/* ---------------------------------------------------------------- read */

typedef struct csv_job {
    const char *path;
    const lm_csv_opts *o;
    csv_ctx c;
    size_t max_rows;
    field_vec names; /* the header's fields (unquoted) */
    int header, ncols, tcol, nx;
} csv_job;

/* Separator, header, column count and target column from the first two
 * records; leaves the cursor on the first data record. */
static lm_status read_layout(csv_job *j)
{
    csv_ctx *c = &j->c;
    field_vec r2 = {0};
    lm_status st;
    if (skip_blank_lines(c)) return lm__err(LM_EFORMAT, "%s: empty file", j->path);
    c->sep = j->o->sep ? j->o->sep : detect_sep(c->p, c->end);
    csv_ctx start = *c;
    if ((st = read_record(c, &j->names)) != LM_OK) return st;
    csv_ctx after1 = *c;
    int have2 = !skip_blank_lines(c);
    if (have2 && (st = read_record(c, &r2)) != LM_OK) {
        free(r2.v);
        return st;
    }
    j->header = j->o->header >= 0 ? j->o->header : detect_header(&j->names, &r2, have2);
    free(r2.v);
    j->ncols = j->names.n;
    *c = j->header ? after1 : start;
    if (j->header)
        for (int k = 0; k < j->names.n; k++) unquote(&j->names.v[k]);
    j->tcol = -1;
    if (!j->o->no_target) {
        st = find_target(j->path, j->o->target, j->header ? &j->names : NULL, j->ncols,
                         &j->tcol);
        if (st != LM_OK) return st;
    }
    j->nx = j->ncols - (j->tcol >= 0);
    if (j->nx == 0)
        return lm__err(LM_EFORMAT, "%s: no feature columns (only the target column)",
                       j->path);
    return LM_OK;
}

/* Parses every data record: features into x (max_rows, nx), target text
 * into t (max_rows) when there is a target. */
static lm_status read_rows(csv_job *j, float *x, tgt_span *t, size_t *n_rows)
{
    csv_ctx *c = &j->c;
    size_t r = 0, nx = (size_t)j->nx;
    while (!skip_blank_lines(c)) {
        if (r == j->max_rows) /* cannot happen: scan_text bounds the rows */
            return lm__err(LM_EFORMAT, "%s:%zu: more rows than records", j->path, c->line);
        float *xr = x + r * nx;
        size_t line = c->line;
        int col = 0, fi = 0, eor = 0;
        while (!eor) {
            if (col != j->tcol && col < j->ncols && fast_number(c, &xr[fi], &eor)) {
                fi++;
                col++;
                continue;
            }
            csv_field f;
            lm_status st = read_field(c, col, &f, &eor);
            if (st != LM_OK) return st;
            if (col == j->tcol) {
                unquote(&f);
                t[r] = (tgt_span){f.s, f.len, f.line};
            } else if (col < j->ncols) {
                double v;
                num_res res = f.escapes ? NUM_BAD : parse_num(f.s, f.len, &v);
                if (res != NUM_OK) return num_error(j->path, f.line, col, f.s, f.len, res);
                xr[fi++] = (float)v;
            }
            if (col == INT32_MAX - 1)
                return lm__err(LM_EFORMAT, "%s:%zu: too many columns", j->path, line);
            col++;
        }
        if (col != j->ncols)
            return lm__err(LM_EFORMAT, "%s:%zu: expected %d columns, found %d", j->path, line,
                           j->ncols, col);
        r++;
    }
    if (r == 0) return lm__err(LM_EFORMAT, "%s: no data rows", j->path);
    *n_rows = r;
    return LM_OK;
}

/* Feature names from the header (every column but the target). */
static lm_status feature_names(csv_job *j, lm_data *d)
{
    if (!j->header) return LM_OK;
    const char **s = lm__alloc((size_t)j->nx, sizeof *s, "csv names");
    size_t *len = lm__alloc((size_t)j->nx, sizeof *len, "csv names");
    if (s && len) {
        int fi = 0;
        for (int k = 0; k < j->ncols; k++) {
            if (k == j->tcol) continue;
            s[fi] = j->names.v[k].s;
            len[fi++] = j->names.v[k].len;
        }
        d->feature_names = lm__names_pack(j->nx, s, len);
    }
    free(s);
    free(len);
    return d->feature_names ? LM_OK : LM_ENOMEM;
}

static lm_status check_opts(const lm_csv_opts *o)
{
    if (o->header < -1 || o->header > 1)
        return lm__err(LM_EINVAL, "csv: header must be -1, 0 or 1, not %d", o->header);
    if (o->target_kind < -1 || o->target_kind > 1)
        return lm__err(LM_EINVAL, "csv: target_kind must be -1, 0 or 1, not %d",
                       o->target_kind);
    char s = o->sep;
    if (s && (strchr("\"\r\n.+-eE", s) || (s >= '0' && s <= '9') || (unsigned char)s >= 0x80))
        return lm__err(LM_EINVAL, "csv: '%c' cannot be a separator", s);
    return LM_OK;
}

static lm_status csv_parse(csv_job *j, char *buf, size_t len, lm_data *d)
{
    lm_status st = scan_text(j->path, buf, len, &j->max_rows);
    if (st != LM_OK) return st;
    char *p = buf;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 BOM */
    j->c = (csv_ctx){.path = j->path, .p = p, .end = buf + len, .line = 1};
    if ((st = read_layout(j)) != LM_OK) return st;
    size_t rows = j->max_rows - (size_t)j->header;
    float *x = lm__alloc(rows, (size_t)j->nx * sizeof(float), "csv features");
    d->x = x;
    tgt_span *t = j->tcol >= 0 ? lm__alloc(rows ? rows : 1, sizeof *t, "csv targets") : NULL;
    if (!x || (j->tcol >= 0 && !t)) {
        free(t);
        lm__err_prefix("%s", j->path);
        return LM_ENOMEM;
    }
    d->nx = j->nx;
    d->x_type = LM_F32;
    st = read_rows(j, x, t, &d->n);
    if (st == LM_OK && t) st = build_target(j->path, t, d->n, j->o->target_kind, j->tcol, d);
    free(t);
    if (st == LM_OK) st = feature_names(j, d);
    return st;
}

lm_status lm_csv_read(lm_data *out, const char *path, const lm_csv_opts *opts)
{
    LM_NONNULL(out);
    LM_NONNULL(path);
    memset(out, 0, sizeof *out);
    lm_csv_opts full; /* the caller's fields (none if NULL), defaults for the rest */
    if (lm__csv_opts_import(&full, opts)) return LM_EINVAL;
    const lm_csv_opts *o = &full;
    lm_status st = check_opts(o);
    if (st != LM_OK) return st;
    char *buf = NULL;
    size_t len = 0;
    if ((st = read_whole(path, &buf, &len)) != LM_OK) return st;
    /* strtod follows LC_NUMERIC; parse under the C locale in this thread
     * only, so "1.5" means the same whatever the program set. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    csv_job job = {.path = path, .o = o};
    lm_data d = {0};
    st = len == 0 ? lm__err(LM_EFORMAT, "%s: empty file", path) : csv_parse(&job, buf, len, &d);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    free(job.names.v);
    free(buf);
    if (st != LM_OK) {
        lm__data_discard(&d);
        return st;
    }
    if ((st = lm__data_adopt(&d)) != LM_OK) return st;
    *out = d;
    return LM_OK;
}
