/* fann_data.c - reads FANN's training data files (what fann_save_train
 * writes and fann_read_train_from_file reads): a first line
 * "num_pairs num_inputs num_outputs", then for each pair its inputs and
 * its outputs as numbers.
 *
 * FANN reads the numbers with fscanf, so a line end is white space like
 * any other: so does this reader, which counts lines only to name them
 * in its messages. The header's counts are untrusted: their product is
 * checked for overflow and against the numbers the file can hold (each
 * takes at least two bytes) before anything is allocated. A number that
 * is not one, NaN, an infinity, one beyond float's range, a file that
 * ends early and numbers past the last pair are refused naming the line. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reader's place in the text. */
typedef struct fd_cur {
    const char *name;
    const char *p, *end;
    size_t line; /* 1-based line of p */
} fd_cur;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips white space; 1 if a token follows (at c->p), 0 at the end. */
static int next_token(fd_cur *c)
{
    while (c->p < c->end && is_blank(*c->p)) {
        if (*c->p == '\n') c->line++;
        c->p++;
    }
    return c->p < c->end;
}

static size_t token_len(const fd_cur *c)
{
    const char *q = c->p;
    while (q < c->end && !is_blank(*q)) q++;
    return (size_t)(q - c->p);
}

/* The token at c->p shown in a message (its first 40 bytes). */
static const char *shown(const fd_cur *c, size_t len, char *buf, size_t size)
{
    size_t n = len < 40 ? len : 40;
    if (n >= size) n = size - 1;
    for (size_t i = 0; i < n; i++) buf[i] = isprint((unsigned char)c->p[i]) ? c->p[i] : '?';
    snprintf(buf + n, size - n, "%s", len > n ? "..." : "");
    return buf;
}

/* Reads an unsigned decimal count of the header. */
static lm_status read_count(fd_cur *c, const char *what, uint64_t *out)
{
    char b[64];
    if (!next_token(c))
        return lm__err(LM_EFORMAT, "%s:%zu: the header ends before %s (it is \"num_pairs "
                       "num_inputs num_outputs\")", c->name, c->line, what);
    size_t len = token_len(c);
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return lm__err(LM_EFORMAT, "%s:%zu: %s: expected a count, found '%s'", c->name,
                           c->line, what, shown(c, len, b, sizeof b));
        if (v > (UINT64_MAX - 9) / 10)
            return lm__err(LM_EFORMAT, "%s:%zu: %s %s is too large", c->name, c->line, what,
                           shown(c, len, b, sizeof b));
        v = v * 10 + (uint64_t)(c->p[i] - '0');
    }
    c->p += len;
    *out = v;
    return LM_OK;
}

/* Reads one number into *out. */
static lm_status read_number(fd_cur *c, size_t pair, int is_out, size_t k, float *out)
{
    char b[64];
    if (!next_token(c))
        return lm__err(LM_EFORMAT, "%s:%zu: the file ends in pair %zu, before its %s %zu "
                       "(the header claims more pairs than the file holds)", c->name, c->line,
                       pair + 1, is_out ? "output" : "input", k + 1);
    size_t len = token_len(c);
    char tmp[128], *endp;
    double v = 0;
    int ok = len < sizeof tmp;
    if (ok) {
        memcpy(tmp, c->p, len);
        tmp[len] = '\0';
        // strtod also takes "nan" and "inf" (as fscanf does): refused below
        errno = 0;
        v = strtod(tmp, &endp);
        ok = endp == tmp + len;
    }
    if (!ok)
        return lm__err(LM_EFORMAT, "%s:%zu: pair %zu, %s %zu: expected a number, found '%s'",
                       c->name, c->line, pair + 1, is_out ? "output" : "input", k + 1,
                       shown(c, len, b, sizeof b));
    if (!isfinite(v) || fabs(v) > (double)FLT_MAX)
        return lm__err(LM_EFORMAT, "%s:%zu: pair %zu, %s %zu: %s is not a finite float",
                       c->name, c->line, pair + 1, is_out ? "output" : "input", k + 1,
                       shown(c, len, b, sizeof b));
    c->p += len;
    *out = (float)v;
    return LM_OK;
}

static lm_status parse(lm_data *out, fd_cur *c)
{
    uint64_t n, nx, ny;
    lm_status st;
    if ((st = read_count(c, "num_pairs", &n)) || (st = read_count(c, "num_inputs", &nx)) ||
        (st = read_count(c, "num_outputs", &ny)))
        return st;
    size_t hline = c->line;
    if (n == 0) return lm__err(LM_EFORMAT, "%s:%zu: the header claims no pairs", c->name, hline);
    if (nx == 0 || ny == 0)
        return lm__err(LM_EFORMAT, "%s:%zu: the header claims %llu inputs and %llu outputs; "
                       "lamina needs at least one of each", c->name, hline,
                       (unsigned long long)nx, (unsigned long long)ny);
    if (nx > LM_MAX_WIDTH || ny > LM_MAX_WIDTH)
        return lm__err(LM_EFORMAT, "%s:%zu: %llu %s is over lamina's limit of %d", c->name,
                       hline, (unsigned long long)(nx > LM_MAX_WIDTH ? nx : ny),
                       nx > LM_MAX_WIDTH ? "inputs" : "outputs", LM_MAX_WIDTH);
    // Each number takes at least two bytes (a digit and white space, the
    // last one one): a claim the rest of the file cannot hold is refused
    // before anything is allocated.
    size_t left = (size_t)(c->end - c->p), total;
    if (n > SIZE_MAX / (size_t)(nx + ny) || (total = (size_t)n * (size_t)(nx + ny)) > left / 2 + 1)
        return lm__err(LM_EFORMAT, "%s:%zu: the header claims %llu pairs of %llu numbers, "
                       "more than the file's %zu remaining bytes can hold", c->name, hline,
                       (unsigned long long)n, (unsigned long long)(nx + ny), left);
    lm_data d = {0};
    d.n = (size_t)n;
    d.nx = (int)nx;
    d.ny = (int)ny;
    float *x = lm__alloc_big(d.n, (size_t)nx * sizeof(float), "FANN data inputs");
    float *y = x ? lm__alloc_big(d.n, (size_t)ny * sizeof(float), "FANN data outputs") : NULL;
    if (!x || !y) {
        free(x);
        return LM_ENOMEM;
    }
    for (size_t r = 0; r < d.n && !st; r++) {
        for (size_t k = 0; k < nx && !st; k++) st = read_number(c, r, 0, k, &x[r * nx + k]);
        for (size_t k = 0; k < ny && !st; k++) st = read_number(c, r, 1, k, &y[r * ny + k]);
    }
    if (!st && next_token(c)) {
        char b[64];
        st = lm__err(LM_EFORMAT, "%s:%zu: '%s' follows the last of the %llu pairs the header "
                     "(line %zu) claims", c->name, c->line, shown(c, token_len(c), b, sizeof b),
                     (unsigned long long)n, hline);
    }
    d.x = x;
    d.y = y;
    d.x_type = LM_F32;
    if (st) {
        lm__data_discard(&d);
        return st;
    }
    if ((st = lm__data_adopt(&d)) != LM_OK) return st;
    *out = d;
    return LM_OK;
}

lm_status lm_fann_data_read_mem(lm_data *out, const char *name, const void *text, size_t len)
{
    LM_NONNULL(out);
    memset(out, 0, sizeof *out);
    if (!text && len) return lm__err(LM_EINVAL, "lm_fann_data_read_mem: text is NULL");
    if (!name) name = "FANN data";
    if (len == 0) return lm__err(LM_EFORMAT, "%s: empty file", name);
    if (memchr(text, '\0', len)) return lm__err(LM_EFORMAT, "%s: not a text file (byte 0x00)", name);
    fd_cur c = {.name = name, .p = text, .end = (const char *)text + len, .line = 1};
    /* strtod follows LC_NUMERIC; parse under the C locale in this thread
     * only, as FANN's files are written. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    lm_status st = parse(out, &c);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    return st;
}

lm_status lm_fann_data_read(lm_data *out, const char *path)
{
    LM_NONNULL(out);
    memset(out, 0, sizeof *out);
    LM_NONNULL(path);
    char *buf;
    size_t len;
    lm_status st = lm__src_slurp(path, NULL, NULL, &buf, &len); /* plain or gzip */
    if (st) return st;
    st = lm_fann_data_read_mem(out, path, buf, len);
    free(buf);
    return st;
}

/* Counts the white-space separated fields of the line at p (up to end);
 * *bad is set when one does not look like a number. */
static size_t line_fields(const char *p, const char *end, const char **next, int *bad)
{
    size_t n = 0;
    while (p < end && *p != '\n') {
        while (p < end && is_blank(*p) && *p != '\n') p++;
        if (p >= end || *p == '\n') break;
        const char *q = p;
        while (q < end && !is_blank(*q)) q++;
        // a number's characters, one digit at least (locale-free: a guess only)
        int digit = 0;
        for (const char *r = p; r < q; r++) {
            digit |= *r >= '0' && *r <= '9';
            if (!strchr("0123456789+-.eE", *r)) *bad = 1;
        }
        if (!digit) *bad = 1;
        n++;
        p = q;
    }
    *next = p < end ? p + 1 : end;
    return n;
}

int lm_fann_data_detect(const void *text, size_t len)
{
    if (!text) return 0;
    const char *p = text, *end = p + len;
    // The header: three unsigned integers separated by blanks, nothing else.
    unsigned long long v[3];
    for (int i = 0; i < 3; i++) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p >= end || *p < '0' || *p > '9') return 0;
        v[i] = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (v[i] > 1000000000000ull) return 0;
            v[i] = v[i] * 10 + (unsigned long long)(*p - '0');
        }
        if (i < 2 && (p >= end || (*p != ' ' && *p != '\t'))) return 0;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    if (p >= end || *p != '\n') return 0;
    p++;
    // The first pair's inputs, on their own line as fann_save_train writes
    // them (a CSV of three integer columns has three fields there).
    int bad = 0;
    const char *next;
    size_t k = line_fields(p, end, &next, &bad);
    if (bad || v[1] == 0) return 0;
    if (k == v[1]) {
        // and its outputs on the next
        size_t m = line_fields(next, end, &next, &bad);
        return !bad && m == v[2];
    }
    // Or a pair a line, as FANN's fscanf reads too: every line holds
    // num_inputs + num_outputs numbers, and there are no more lines than
    // pairs. A CSV has as many fields on each line as on its first, three,
    // so only one of three number columns whose first row reads "N 2 1" or
    // "N 1 2" and which has at most N rows more passes.
    unsigned long long w = v[1] + v[2], lines = 0;
    if (v[2] == 0) return 0;
    for (; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        bad = 0;
        k = line_fields(p, end, &next, &bad);
        if (!eol) { // the last line, maybe cut short by the caller: checked if it is the only one
            if (lines == 0 && (bad || k != w)) return 0;
            lines += lines == 0;
            break;
        }
        if (k == 0) { // blank lines only at the end
            for (; p < end; p++)
                if (!is_blank(*p)) return 0;
            break;
        }
        if (bad || k != w || ++lines > v[0]) return 0;
    }
    return lines > 0;
}
