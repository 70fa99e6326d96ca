/* csv.c - reads a CSV file of numeric features and one target column into
 * an lm_data.
 *
 * The file is read whole, plain or gzip-compressed (source.c; its size
 * checked against the allocation limit), and parsed in memory in two
 * passes: a quick byte scan that refuses binary data and counts records
 * (an upper bound on the rows, so x is allocated once), then the real
 * parse. Fields follow RFC 4180: quoted
 * fields may hold separators, newlines and "" for a quote; a quote inside
 * an unquoted field is an error, which keeps both passes' record counts in
 * agreement. CRLF or LF line ends, a UTF-8 BOM, a missing final newline
 * and blank lines are accepted (they count toward nothing). Numbers use
 * the C locale's syntax whatever the process locale is, or a decimal comma
 * when asked.
 *
 * Memory: every allocation sized by the input goes through the allocation
 * limit. Text with a NUL byte, or with no line end in its first
 * CSV_FIRST_LINE_MAX bytes, is refused as soon as it is read, and the
 * first record's fields are counted before its field array is allocated,
 * so a runaway line costs no more than its own bytes. */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest first line (the header, or the first row) a data file may
 * have: 16M columns of 4 bytes. Beyond it the file is not a CSV. */
#define CSV_FIRST_LINE_MAX ((size_t)64 << 20)
/* The most columns a record may have: the widest input a net takes. */
#define CSV_MAX_COLS LM_MAX_WIDTH

lm_csv_opts lm__csv_defaults(void)
{
    lm_csv_opts o = {.header = -1, .sep = 0, .target = NULL, .target_kind = -1,
                     .no_target = 0, .ignore = NULL, .decimal_comma = 0, .features = NULL,
                     .categorical = NULL, .categories = NULL, .max_categories = 0,
                     .missing = 0};
    return o;
}

/* ------------------------------------------------------------ reading */

/* The encoding, for iconv, of text holding a NUL byte that starts as
 * UTF-16 does (what Excel's "Unicode Text" and Windows tools write): a
 * byte-order mark, or a first character that is ASCII with a zero byte
 * beside it. NULL for other bytes. */
static const char *utf16_start(const unsigned char *b, size_t len)
{
    if (len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF)))
        return "UTF-16";
    if (len >= 4 && b[0] && b[0] < 0x80 && !b[1] && b[2] && b[2] < 0x80 && !b[3])
        return "UTF-16LE";
    if (len >= 4 && !b[0] && b[1] && b[1] < 0x80 && !b[2] && b[3] && b[3] < 0x80)
        return "UTF-16BE";
    return NULL;
}

/* What a file that is not CSV text is, by its first bytes, with the way
 * to a CSV file; NULL when the bytes are none of these. Users hand over
 * the file they have: a workbook, a pandas dump, a lamina model. */
static const char *not_csv_kind(const unsigned char *b, size_t len)
{
    static const struct {
        const char *magic;
        size_t n;
        const char *what;
    } kinds[] = {
        {"PK\003\004", 4,
         "a zip archive (an Excel .xlsx workbook, a NumPy .npz or a .zip), not CSV text: "
         "save the sheet as 'CSV UTF-8' (pandas: pd.read_excel(FILE).to_csv('data.csv', "
         "index=False)); a .npz is read by lm_npy_read (the lamina command does, given its "
         "path); unzip a .zip"},
        {"\320\317\021\340\241\261\032\341", 8,
         "an Excel 97-2003 workbook (.xls), not CSV text: save the sheet as 'CSV UTF-8' "
         "(pandas: pd.read_excel(FILE).to_csv('data.csv', index=False))"},
        {"PAR1", 4,
         "a Parquet file, not CSV text: pd.read_parquet(FILE).to_csv('data.csv', index=False) "
         "converts it"},
        {"\211HDF\r\n\032\n", 8,
         "an HDF5 file, not CSV text: pd.read_hdf(FILE).to_csv('data.csv', index=False) "
         "converts a pandas one"},
        {"ARROW1", 6,
         "an Arrow/Feather file, not CSV text: pd.read_feather(FILE).to_csv('data.csv', "
         "index=False) converts it"},
        {"SQLite format 3", 16,
         "an SQLite database, not CSV text: sqlite3 -header -csv FILE 'SELECT * FROM "
         "TABLE' > data.csv exports a table"},
        {"\223NUMPY", 6,
         "a NumPy .npy array, not CSV text: lm_npy_read reads it (the lamina command does, "
         "given its path)"},
        {"\211LMN\r\n\032\n", 8,
         "a lamina model file, not data: a model is the MODEL argument (lamina predict "
         "MODEL --data FILE)"},
        {"\177ELF", 4, "a program (ELF), not data"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (len >= kinds[i].n && memcmp(b, kinds[i].magic, kinds[i].n) == 0)
            return kinds[i].what;
    /* A pickle: protocol 2 or later opens with 0x80 and its number. */
    if (len >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        return "a Python pickle, not CSV text: pd.read_pickle(FILE).to_csv('data.csv', "
               "index=False) converts a pandas one (a pickle is never read: it can run code)";
    return NULL;
}

/* The index of the first byte at or after i that is not JSON white space. */
static size_t json_skip_ws(const char *b, size_t len, size_t i)
{
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    return i;
}

/* JSON (pandas' to_json, JSON lines): after a UTF-8 byte-order mark and
 * white space, an object ('{' then a quoted key or '}'), or an array of
 * objects or of arrays ('[' then such an object, or '[' then a value).
 * A CSV header cell such as {a} or [[a]] is none of these. */
static int json_start(const char *b, size_t len)
{
    size_t i = json_skip_ws(b, len, len >= 3 && memcmp(b, "\357\273\277", 3) == 0 ? 3 : 0);
    int arrays = 0;
    if (i < len && b[i] == '[') {
        i = json_skip_ws(b, len, i + 1);
        if (i >= len || (b[i] != '{' && b[i] != '[')) return 0;
        arrays = b[i] == '[';
    }
    if (i >= len || (b[i] != '{' && !arrays)) return 0;
    i = json_skip_ws(b, len, i + 1);
    if (i >= len) return 0;
    if (!arrays) return b[i] == '"' || b[i] == '}';
    /* an array's first value: a string, number, array, object, literal */
    return b[i] && strchr("\"-0123456789[]{tfn", b[i]) != NULL;
}

/* Checks bytes [from, len) just read: a NUL byte is never text, and a
 * first line longer than CSV_FIRST_LINE_MAX means this is no CSV file.
 * *eol_seen carries over between calls. */
static lm_status check_chunk(const char *path, const char *buf, size_t from, size_t len,
                             int *eol_seen)
{
    const char *z = memchr(buf + from, '\0', len - from);
    const char *enc = z ? utf16_start((const unsigned char *)buf, len) : NULL;
    if (enc)
        return lm__err(LM_EFORMAT,
                       "%s: UTF-16 text (as Excel's 'Unicode Text' saves it); lamina reads "
                       "UTF-8: save it as 'CSV UTF-8' or convert it (iconv -f %s -t UTF-8)",
                       path, enc);
    const char *kind = from == 0 ? not_csv_kind((const unsigned char *)buf, len) : NULL;
    if (kind && z) return lm__err(LM_EFORMAT, "%s: %s", path, kind);
    if (from == 0 && json_start(buf, len))
        return lm__err(LM_EFORMAT,
                       "%s: JSON, not CSV text: pd.read_json(FILE).to_csv('data.csv', "
                       "index=False) converts a table (lines=True for JSON lines)",
                       path);
    if (z) {
        size_t line = 1;
        for (const char *p = buf; p < z; p++) line += *p == '\n';
        return lm__err(LM_EFORMAT, "%s:%zu: not a text file (byte 0x00)", path, line);
    }
    if (!*eol_seen)
        *eol_seen = memchr(buf + from, '\n', len - from) || memchr(buf + from, '\r', len - from);
    if (!*eol_seen && len > CSV_FIRST_LINE_MAX)
        return lm__err(LM_EFORMAT, "%s: no line end in the first %zu MiB: not a CSV file", path,
                       CSV_FIRST_LINE_MAX >> 20);
    return LM_OK;
}

typedef struct chunk_ctx {
    const char *path;
    int eol_seen;
} chunk_ctx;

static lm_status check_read(void *ctx, const char *buf, size_t from, size_t to)
{
    chunk_ctx *c = ctx;
    return check_chunk(c->path, buf, from, to, &c->eol_seen);
}

/* The whole file, plain or gzip (source.c), checked as it arrives. */
static lm_status read_whole(const char *path, char **out, size_t *out_len)
{
    chunk_ctx c = {path, 0};
    return lm__src_slurp(path, check_read, &c, out, out_len);
}

/* Refuses bytes no text file holds and counts records: line ends outside
 * quotes that end a line holding something other than spaces. Blank lines
 * count toward nothing, so this bounds the data rows (a space or tab may
 * be the separator, so both count as something: an upper bound still). */
static lm_status scan_text(const char *path, const char *buf, size_t len, size_t *records)
{
    size_t recs = 0, line = 1;
    int inq = 0, content = 0;
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
                content = 1;
                i += 32;
                continue;
            }
        }
        size_t stop = len - i >= 32 ? i + 32 : len;
        for (; i < stop; i++) {
            unsigned char ch = (unsigned char)buf[i];
            if (ch >= 0x20) {
                if (ch == '"') inq ^= 1;
                content = 1;
                continue;
            }
            if (ch == '\n' || (ch == '\r' && (i + 1 == len || buf[i + 1] != '\n'))) {
                line++;
                if (!inq) {
                    recs += content;
                    content = 0;
                }
            } else if (ch == '\t') {
                content = 1;
            } else if (ch != '\r') {
                return lm__err(LM_EFORMAT, "%s:%zu: not a text file (byte 0x%02x)", path,
                               line, ch);
            }
        }
    }
    *records = recs + content;
    return LM_OK;
}

/* ----------------------------------------------------------- tokenizer */

typedef struct csv_ctx {
    const char *path;
    char *p, *end; /* cursor and end of the text; *end == '\0' */
    size_t line;   /* 1-based line at p */
    char sep;
    char dec;      /* the decimal point: '.' or ',' */
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
 * mantissa digit), nothing else: no hex, inf or nan. dec is the decimal
 * point ('.', or ',' for files written with decimal commas). The
 * character after the field never continues a number (it is a separator,
 * line end, quote or the final NUL), so strtod stops exactly at len. */
static num_res parse_num(const char *s, size_t len, char dec, double *out)
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
        } else if (p < e && *p == dec && !in_frac) {
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
        /* strtod reads '.' (the C locale); a decimal comma is copied over. */
        char tmp[512], *endp;
        const char *src = s;
        if (dec != '.') {
            if (len >= sizeof tmp) return NUM_BAD;
            for (size_t i = 0; i < len; i++) tmp[i] = s[i] == dec ? '.' : s[i];
            tmp[len] = '\0';
            src = tmp;
        }
        errno = 0;
        v = strtod(src, &endp);
        if (endp != src + len) return NUM_BAD;
        (void)errno; /* ERANGE on underflow is fine: the value is 0 or tiny */
    }
    /* Below this, rounding to float32 stays finite (FLT_MAX's midpoint
     * with 2^128). */
    if (!(fabs(v) < ldexp(1.0, 128) - ldexp(1.0, 103))) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

static int field_is_num(const csv_field *f, char dec)
{
    double v;
    return !f->escapes && parse_num(f->s, f->len, dec, &v) == NUM_OK;
}

/* The error for a field that should be a number; cname (cnl bytes, or
 * NULL without a header) names the column. */
static lm_status num_error(const char *path, size_t line, int col, const char *s, size_t len,
                           num_res r, const char *cname, size_t cnl, const char *hint)
{
    int show = len > 40 ? 40 : (int)len;
    const char *more = len > 40 ? "..." : "";
    char where[80];
    if (cname)
        snprintf(where, sizeof where, " (column '%.*s')", (int)(cnl > 40 ? 40 : cnl), cname);
    else
        snprintf(where, sizeof where, " (column %d)", col + 1);
    if (r == NUM_RANGE)
        return lm__err(LM_EFORMAT, "%s:%zu:%d: %.*s%s is out of float32 range%s", path, line,
                       col + 1, show, s, more, where);
    return lm__err(LM_EFORMAT, "%s:%zu:%d: expected a number, found '%.*s%s'%s%s", path, line,
                   col + 1, show, s, more, where, hint ? hint : "");
}

/* Whether a field is missing data: empty (or blanks), or one of the usual
 * markers, exactly so (pandas' defaults without the '#N/A' family). */
static int is_missing(const char *s, size_t len)
{
    static const char *const mark[] = {"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL",
                                       "None", "?", NULL};
    if (len == 0) return 1;
    for (int i = 0; mark[i]; i++)
        if (strlen(mark[i]) == len && memcmp(mark[i], s, len) == 0) return 1;
    return 0;
}

/* Whether s is a number written with thousands separators ("1,234",
 * "-12,345,678.5"; with decimal commas "1.234,5"): digits in groups of
 * three after the first one to three, then an optional decimal part. */
static int grouped_number(const char *s, size_t len, char dec)
{
    char sep = dec == ',' ? '.' : ',';
    size_t i = len && (s[0] == '-' || s[0] == '+'), lead = 0, groups = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++, lead++;
    if (lead < 1 || lead > 3) return 0;
    while (i + 3 < len + 1 && s[i] == sep) {
        size_t k = 1;
        while (k <= 3 && i + k < len && s[i + k] >= '0' && s[i + k] <= '9') k++;
        if (k != 4) return 0;
        i += 4;
        groups++;
    }
    if (groups && i < len && s[i] == dec) {
        size_t d = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return 0;
    }
    return groups > 0 && i == len;
}

/* Whether s is a number followed by a unit ("3 kg", "12%", "5.5cm"): the
 * length of the unit, at most 8 bytes without digits, else 0. */
static size_t unit_after_number(const char *s, size_t len, char dec)
{
    size_t i = len && (s[0] == '-' || s[0] == '+'), digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
    if (i < len && s[i] == dec)
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
    if (!digits) return 0;
    while (i < len && s[i] == ' ') i++;
    if (i == len || len - i > 8) return 0;
    for (size_t k = i; k < len; k++)
        if ((s[k] >= '0' && s[k] <= '9') || s[k] == dec || s[k] == ' ') return 0;
    return len - i;
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
    if (p < end && *p == c->dec) {
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

/* Fields in the record at p (separators outside quotes, plus one), up to
 * max + 1: counted before the field array is allocated. */
static size_t count_fields(const char *p, const char *end, char sep, size_t max)
{
    size_t n = 1;
    int inq = 0;
    for (; p < end && n <= max; p++) {
        if (*p == '"') inq ^= 1;
        else if (!inq && is_eol(*p)) break;
        else if (!inq && *p == sep) n++;
    }
    return n;
}

/* Reads one whole record into fv (allocated to its field count through
 * the allocation limit); fields past fv's capacity when fixed is set are
 * read and dropped (the caller only compares the first ones). */
static lm_status read_record(csv_ctx *c, field_vec *fv, int fixed)
{
    if (!fixed) {
        size_t n = count_fields(c->p, c->end, c->sep, CSV_MAX_COLS);
        if (n > CSV_MAX_COLS)
            return lm__err(LM_EFORMAT, "%s:%zu: more than %d columns: not a data file "
                           "(or a wrong separator)", c->path, c->line, CSV_MAX_COLS);
        fv->v = lm__alloc(n, sizeof *fv->v, "csv columns");
        if (!fv->v) {
            lm__err_prefix("%s", c->path);
            return LM_ENOMEM;
        }
        fv->cap = (int)n;
    }
    int eor = 0;
    fv->n = 0;
    csv_field spare;
    while (!eor) {
        csv_field *f = fv->n < fv->cap ? &fv->v[fv->n] : &spare;
        lm_status st = read_field(c, fv->n, f, &eor);
        if (st != LM_OK) return st;
        if (fv->n < fv->cap) fv->n++;
    }
    return LM_OK;
}

/* Whether field f is the integer k written plainly ("0", "12"). */
static int field_is_int(const csv_field *f, long k)
{
    if (f->len == 0 || f->len > 9 || f->quoted) return 0;
    long v = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->s[i] < '0' || f->s[i] > '9') return 0;
        v = v * 10 + (f->s[i] - '0');
    }
    return v == k;
}

/* Header rule (one rule, the same for every file): the first record is a
 * header when
 *  - some column holds text in it and a number in the second record, or a
 *    number in it and text in the second (it differs in kind from the
 *    column below it), or
 *  - it is the integers 0, 1, ..., n-1 with n >= 3 (what pandas writes
 *    for a frame without column names);
 * with a single record, when no field of it is a number. With missing
 * cells allowed (lm_csv_opts.missing), a missing cell says nothing about
 * its column's kind: one in the first record is passed over, and one in
 * the second gives way to the first cell below it that is not missing
 * (kind2: 1 a number, 0 text, -1 none found). */
static int detect_header(const field_vec *r1, const field_vec *r2, int have2, char dec,
                         const signed char *kind2)
{
    if (!have2) {
        for (int j = 0; j < r1->n; j++)
            if (field_is_num(&r1->v[j], dec)) return 0;
        return 1;
    }
    for (int j = 0; j < r1->n && j < r2->n; j++) {
        int below = kind2 ? kind2[j] : field_is_num(&r2->v[j], dec);
        if (kind2 && (below < 0 || is_missing(r1->v[j].s, r1->v[j].len))) continue;
        if (field_is_num(&r1->v[j], dec) != below) return 1;
    }
    int seq = r1->n >= 3;
    for (int j = 0; seq && j < r1->n; j++) seq = field_is_int(&r1->v[j], j);
    return seq;
}

static int span_eq(const char *a, size_t na, const char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

size_t lm_csv_list_next(const char **list, char *name, size_t size)
{
    const char *p = list ? *list : NULL;
    size_t len = 0;
    if (!p) {
        if (name && size) name[0] = '\0';
        return 0;
    }
    int quoted = *p == '"';
    for (p += quoted; *p && (quoted || *p != ','); p++) {
        if (quoted && *p == '"') {
            if (p[1] != '"') { // the closing quote: what follows up to the comma is kept
                quoted = 0;
                continue;
            }
            p++; // a quote written twice is one
        }
        if (name && len + 1 < size) name[len] = *p;
        len++;
    }
    if (name && size) name[len < size ? len : size - 1] = '\0';
    *list = *p == ',' ? p + 1 : NULL;
    return len;
}

/* ------------------------------------------------------------- columns */

enum { ROLE_SKIP = -1, ROLE_TARGET0 = -2 }; /* role <= -2: target -2 - role */

typedef struct csv_job {
    const char *path;
    const lm_csv_opts *o;
    csv_ctx c;
    size_t max_rows;
    field_vec names; /* the first record's fields (unquoted when a header) */
    int header, ncols, nx, nt;
    int trailing; /* the last column is a trailing separator's: no header
                     name, empty in the first row; skipped, a value in it
                     refused (unless the inputs are named) */
    int comma_dec; /* read with decimal points, the second record holds a
                      number only a decimal comma reads ("5,1") */
    int *role;  /* (ncols): feature index >= 0, ROLE_SKIP, or a target */
    int *tcols; /* (nt) the target columns, in the order given */
    const unsigned char *not_input; /* (ncols) while the inputs are found by name: a
                                       column ignored or a target, or NULL */
    /* Categorical columns (lm_csv_opts.categorical or .categories). */
    int ncat;
    int *cat_of;        /* (ncols) the column's slot in voc, or -1; NULL if ncat is 0 */
    struct cat_vocab *voc; /* (ncat) */
    char *enc;          /* the decoded copy of o->categories the vocabularies point into */
    char *enc_out;      /* the encoding made (lm_data_categories) */
    lm__cat_info *info; /* (ncat) in input order */
} csv_job;

/* One categorical column's values, in input order, and what became of its
 * cells. */
typedef struct cat_vocab {
    int col;            /* the file's column */
    int first;          /* the stored first input (given categories), or -1 */
    int k;
    const char **v;     /* (k) values, not NUL-terminated: see vl */
    size_t *vl;         /* (k) */
    size_t missing, unseen;
    const char *ex;     /* the first unseen value (ex_len bytes) */
    size_t ex_len;
} cat_vocab;

/* Column j's name (header only), for messages; NULL without a header. */
static const char *col_name(const csv_job *j, int col, size_t *len)
{
    if (!j->header || col < 0 || col >= j->names.n) return NULL;
    *len = j->names.v[col].len;
    return j->names.v[col].s;
}

/* How many header columns are named s[0..len). */
static int name_count(const csv_job *j, const char *s, size_t len)
{
    int n = 0;
    for (int k = 0; j->header && k < j->names.n; k++) n += span_eq(j->names.v[k].s, j->names.v[k].len, s, len);
    return n;
}

/* "'a', 'b', ..." of the header's names, for messages. */
static void name_list(const csv_job *j, char *list, size_t size)
{
    size_t at = 0;
    list[0] = '\0';
    for (int k = 0; k < j->names.n && at + 8 < size; k++) {
        int w = snprintf(list + at, size - at, "%s'%.*s'", k ? ", " : "",
                         (int)(j->names.v[k].len > 40 ? 40 : j->names.v[k].len),
                         j->names.v[k].s);
        if (w < 0) break;
        at += (size_t)w;
    }
    if (at + 8 >= size && size > 4) memcpy(list + size - 4, "...", 4);
}

/* The column named s (len bytes): by header name (which must be unique),
 * else as a 0-based index. what says what the column is for. */
static lm_status find_column(const csv_job *j, const char *s, size_t len, const char *what,
                             int *col)
{
    int found = -1, other = -1, kept = -1, n_kept = 0;
    for (int k = 0; j->header && k < j->names.n; k++)
        if (span_eq(j->names.v[k].s, j->names.v[k].len, s, len)) {
            if (found < 0) found = k;
            else if (other < 0) other = k;
            if (!j->not_input || !j->not_input[k]) kept = k, n_kept++;
        }
    /* An input's name shared with a column left out or a target (training
     * took it so): the one column of that name that is neither. */
    if (other >= 0 && n_kept == 1) found = kept, other = -1;
    if (other >= 0)
        return lm__err(LM_EFORMAT,
                       "%s: %s column '%.*s' is ambiguous: columns %d and %d have that "
                       "name (give a 0-based index)", j->path, what, (int)len, s, found, other);
    if (found >= 0) {
        *col = found;
        return LM_OK;
    }
    int digits = len > 0 && len < 10;
    for (size_t i = 0; i < len; i++) digits &= s[i] >= '0' && s[i] <= '9';
    if (digits) {
        long k = strtol(s, NULL, 10);
        if (k >= j->ncols)
            return lm__err(LM_EFORMAT, "%s: %s column %ld is out of range (%d columns)",
                           j->path, what, k, j->ncols);
        *col = (int)k;
        return LM_OK;
    }
    if (!j->header)
        return lm__err(LM_EFORMAT,
                       "%s: no header, so the %s column '%.*s' must be a 0-based column index",
                       j->path, what, (int)len, s);
    char list[256];
    name_list(j, list, sizeof list);
    /* "for the target", "for the ignored columns" */
    return lm__err(LM_EFORMAT, "%s: no column named '%.*s' for the %s%s (columns: %s)", j->path,
                   (int)len, s, what, strcmp(what, "target") ? " columns" : "", list);
}

/* Columns listed in spec ("a,b,3"): each a name or a 0-based index; the
 * whole of spec naming one column wins (a name may hold commas). cols has
 * room for ncols entries; a column listed twice is an error. */
static lm_status find_columns(const csv_job *j, const char *spec, const char *what, int *cols,
                              int *n)
{
    *n = 0;
    size_t sl = strlen(spec);
    for (int k = 0; j->header && k < j->names.n; k++)
        if (span_eq(j->names.v[k].s, j->names.v[k].len, spec, sl))
            return find_column(j, spec, sl, what, &cols[(*n)++]);
    char *name = lm__alloc(1, sl + 1, "a column list");
    if (!name) return LM_ENOMEM;
    lm_status st = LM_OK;
    for (const char *p = spec; p && st == LM_OK;) {
        size_t len = lm_csv_list_next(&p, name, sl + 1);
        int col;
        if ((st = find_column(j, name, len, what, &col)) != LM_OK) break;
        for (int i = 0; i < *n && st == LM_OK; i++)
            if (cols[i] == col)
                st = lm__err(LM_EFORMAT, "%s: %s column %d is listed twice", j->path, what, col);
        if (st == LM_OK && *n == j->ncols)
            st = lm__err(LM_EFORMAT, "%s: more %s columns than the file has", j->path, what);
        if (st == LM_OK) cols[(*n)++] = col;
    }
    free(name);
    return st;
}

/* The columns of spec, a column list as find_columns reads it, that the
 * file has: one it lacks (or cannot find) is passed over. */
static void find_present(const csv_job *j, const char *spec, int *cols, int *n)
{
    *n = 0;
    size_t sl = strlen(spec);
    char *name = malloc(sl + 1);
    for (const char *p = spec; name && p;) {
        size_t len = lm_csv_list_next(&p, name, sl + 1);
        int col, seen = 0;
        if (find_column(j, name, len, "ignored", &col) == LM_OK) {
            for (int i = 0; i < *n; i++) seen |= cols[i] == col;
            if (!seen && *n < j->ncols) cols[(*n)++] = col;
        }
    }
    free(name);
    lm__err_clear();
}

/* A piece of text (a column name, a class name) and where it came from:
 * sorted in byte order, equal texts by index. */
typedef struct text_ref {
    const char *s;
    size_t len;
    int idx;
} text_ref;

static int cmp_text_ref(const void *a, const void *b)
{
    const text_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Two feature columns with one name would be fed to the wrong inputs by
 * anything that matches columns by name (eval, predict): refused. */
static lm_status check_unique_features(const csv_job *j)
{
    if (!j->header) return LM_OK;
    text_ref *r = lm__alloc((size_t)j->nx, sizeof *r, "csv names");
    if (!r) return LM_ENOMEM;
    for (int k = 0; k < j->ncols; k++)
        if (j->role[k] >= 0)
            r[j->role[k]] = (text_ref){j->names.v[k].s, j->names.v[k].len, k};
    qsort(r, (size_t)j->nx, sizeof *r, cmp_text_ref);
    lm_status st = LM_OK;
    for (int k = 1; k < j->nx && st == LM_OK; k++)
        if (span_eq(r[k - 1].s, r[k - 1].len, r[k].s, r[k].len))
            st = lm__err(LM_EFORMAT,
                         "%s: columns %d and %d are both named '%.*s'; rename one or leave "
                         "one out (--ignore %d)", j->path, r[k - 1].idx, r[k].idx,
                         (int)(r[k].len > 40 ? 40 : r[k].len), r[k].s, r[k].idx);
    free(r);
    return st;
}

/* --------------------------------------------------------- categories */

#define CAT_MAX_DEFAULT 1000

/* Whether byte c is written %XX in an encoding (lm_data_categories). */
static int enc_escaped(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '%' || c == ',' || c == ';' || c == '=' || c == ':' ||
           c == '#';
}

static int hex_val(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes %XX in s[0..len) in place; returns the new length, or SIZE_MAX
 * for a bad escape. */
static size_t enc_decode(char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            s[w++] = s[i];
            continue;
        }
        if (len - i < 3 || hex_val(s[i + 1]) < 0 || hex_val(s[i + 2]) < 0) return SIZE_MAX;
        s[w++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
        i += 2;
    }
    return w;
}

static lm_status enc_bad(const csv_job *j, const char *why)
{
    return lm__err(LM_EINVAL, "%s: the categories given (an encoding from lm_data_categories) "
                   "are malformed: %s", j->path, why);
}

/* The column an encoding entry's NAME (s[0..len), still escaped) finds:
 * "#J" is the column at 0-based index J (a name the header does not
 * give uniquely); else a header name, or digits without a header. */
static lm_status enc_column(const csv_job *j, char *s, size_t len, int *col)
{
    if (len > 0 && s[0] == '#') {
        long k = 0;
        size_t i = 1;
        for (; i < len && i < 11 && s[i] >= '0' && s[i] <= '9'; i++) k = k * 10 + (s[i] - '0');
        if (i == 1 || i != len) return enc_bad(j, "a column index is not #NUMBER");
        if (k >= j->ncols)
            return lm__err(LM_EFORMAT, "%s: categorical column %ld is out of range (%d columns)",
                           j->path, k, j->ncols);
        *col = (int)k;
        return LM_OK;
    }
    size_t nl = enc_decode(s, len);
    if (nl == SIZE_MAX || nl == 0) return enc_bad(j, "a column name is empty or badly escaped");
    int index = nl < 10;
    for (size_t i = 0; i < nl; i++) index &= s[i] >= '0' && s[i] <= '9';
    if (!j->header && !index) /* the encoding names it: only a header can find it */
        return lm__err(LM_EFORMAT, "%s: no header, but the categories given (a model's "
                       "one-hot encoding) find column '%.*s' by its name: give the file "
                       "its header row, as the training data had", j->path,
                       (int)(nl > 40 ? 40 : nl), s);
    return find_column(j, s, nl, "categorical", col);
}

/* Reads o->categories into j->voc (j->ncat entries), each column found in
 * the file by name (or 0-based index). */
static lm_status parse_categories(csv_job *j)
{
    size_t tl = strlen(j->o->categories), nent = 1, nval = 0;
    for (size_t i = 0; i < tl; i++) {
        nent += j->o->categories[i] == ';';
        nval += j->o->categories[i] == ',';
    }
    nval += nent;
    if (nent > (size_t)j->ncols) return enc_bad(j, "more columns than the file has");
    j->enc = lm__alloc(tl + 1, 1, "csv categories");
    j->voc = lm__calloc(nent, sizeof *j->voc, "csv categories");
    const char **v = lm__alloc(nval, sizeof *v, "csv categories");
    size_t *vl = lm__alloc(nval, sizeof *vl, "csv categories");
    if (!j->enc || !j->voc || !v || !vl) {
        free(v);
        free(vl);
        return LM_ENOMEM;
    }
    memcpy(j->enc, j->o->categories, tl + 1);
    j->voc[0].v = v; /* the arrays' owner: freed with voc[0] */
    j->voc[0].vl = vl;
    char *p = j->enc, *end = j->enc + tl;
    for (size_t e = 0; e < nent; e++) {
        cat_vocab *c = &j->voc[e];
        char *stop = memchr(p, ';', (size_t)(end - p));
        if (!stop) stop = end;
        char *colon = memchr(p, ':', (size_t)(stop - p));
        char *eq = colon ? memchr(colon, '=', (size_t)(stop - colon)) : NULL;
        if (!colon || !eq || colon == p || colon - p > 9)
            return enc_bad(j, "an entry is not INPUT:NAME=VALUES");
        long first = 0;
        for (char *q = p; q < colon; q++) {
            if (*q < '0' || *q > '9') return enc_bad(j, "an input index is not a number");
            first = first * 10 + (*q - '0');
        }
        c->first = (int)first;
        lm_status st = enc_column(j, colon + 1, (size_t)(eq - colon - 1), &c->col);
        if (st != LM_OK) return st;
        for (size_t f = 0; f < e; f++)
            if (j->voc[f].col == c->col) return enc_bad(j, "a column is listed twice");
        c->v = v;
        c->vl = vl;
        for (char *q = eq + 1;;) {
            char *comma = memchr(q, ',', (size_t)(stop - q));
            char *ve = comma ? comma : stop;
            size_t len = enc_decode(q, (size_t)(ve - q));
            if (len == SIZE_MAX || len == 0) return enc_bad(j, "a value is empty or badly escaped");
            c->v[c->k] = q;
            c->vl[c->k++] = len;
            if (!comma) break;
            q = comma + 1;
        }
        v += c->k;
        vl += c->k;
        p = stop + 1;
    }
    j->ncat = (int)nent;
    return LM_OK;
}

/* Resolves the categorical columns (o->categorical or o->categories),
 * once the other roles are known: each must be a feature. */
static lm_status assign_categorical(csv_job *j)
{
    const lm_csv_opts *o = j->o;
    lm_status st = LM_OK;
    int *list = NULL, m = 0;
    if (o->categories) {
        if ((st = parse_categories(j)) != LM_OK) return st;
    } else {
        list = lm__alloc((size_t)j->ncols, sizeof *list, "csv columns");
        if (!list) return LM_ENOMEM;
        if ((st = find_columns(j, o->categorical, "categorical", list, &m)) != LM_OK) goto done;
        j->voc = lm__calloc((size_t)m, sizeof *j->voc, "csv categories");
        if (!j->voc) {
            st = LM_ENOMEM;
            goto done;
        }
        for (int k = 0; k < m; k++) j->voc[k] = (cat_vocab){.col = list[k], .first = -1};
        j->ncat = m;
    }
    j->cat_of = lm__alloc((size_t)j->ncols, sizeof *j->cat_of, "csv columns");
    if (!j->cat_of) {
        st = LM_ENOMEM;
        goto done;
    }
    for (int k = 0; k < j->ncols; k++) j->cat_of[k] = -1;
    for (int e = 0; e < j->ncat; e++) {
        int col = j->voc[e].col;
        size_t cnl = 0;
        const char *cn = col_name(j, col, &cnl);
        char what[80];
        if (cn) snprintf(what, sizeof what, "'%.*s'", (int)(cnl > 40 ? 40 : cnl), cn);
        else snprintf(what, sizeof what, "%d", col);
        if (j->role[col] <= ROLE_TARGET0) {
            st = lm__err(LM_EFORMAT, "%s: column %s is the target; it cannot also be "
                         "categorical (an input)", j->path, what);
            goto done;
        }
        if (j->role[col] < 0) {
            st = lm__err(LM_EFORMAT, "%s: categorical column %s is not an input (it is left "
                         "out)", j->path, what);
            goto done;
        }
        j->cat_of[col] = e;
    }
done:
    free(list);
    return st;
}

/* Gives every column its role: targets, columns left out, features. */
static lm_status assign_roles(csv_job *j)
{
    const lm_csv_opts *o = j->o;
    int n = j->ncols, *list;
    j->role = lm__alloc((size_t)n, sizeof *j->role, "csv columns");
    j->tcols = lm__alloc((size_t)n, sizeof *j->tcols, "csv columns");
    list = lm__alloc((size_t)n, sizeof *list, "csv columns");
    unsigned char *not_input = lm__alloc((size_t)n, 1, "csv columns");
    lm_status st = LM_OK;
    if (!j->role || !j->tcols || !list || !not_input) {
        st = LM_ENOMEM;
        goto done;
    }
    for (int k = 0; k < n; k++) j->role[k] = 0;
    int m = 0;
    if (o->ignore && *o->ignore) {
        /* With the inputs named in a header every other column is skipped:
         * an ignored column the file lacks (a test file without the
         * training file's ID column) is nothing to leave out. */
        if ((st = find_columns(j, o->ignore, "ignored", list, &m)) != LM_OK) {
            if (!(o->features && *o->features && j->header)) goto done;
            find_present(j, o->ignore, list, &m);
            st = LM_OK;
        }
        for (int k = 0; k < m; k++) j->role[list[k]] = ROLE_SKIP;
    }
    if (j->trailing && j->role[n - 1] == ROLE_SKIP) j->trailing = 0; /* --ignore'd */
    if (j->trailing) j->role[n - 1] = ROLE_SKIP;
    j->nt = 0;
    if (!o->no_target) {
        /* The default target is the last column not left out, nor named
         * an input (a header and features: a file whose columns come in
         * another order than training's keeps its target). */
        int last = n - 1, named = 0, no_target = 0;
        for (int k = 0; k < n; k++) not_input[k] = j->role[k] != 0; /* ignored */
        j->not_input = not_input;
        if (!o->target && o->features && *o->features && j->header &&
            find_columns(j, o->features, "input", list, &m) == LM_OK) {
            for (int k = 0; k < m; k++)
                if (j->role[list[k]] == 0) j->role[list[k]] = 1, named++;
            while (last > 0 && j->role[last] != 0) last--;
            if (j->role[last] != 0) last = n - 1, no_target = 1; /* every column an input */
            for (int k = 0; k < n; k++)
                if (j->role[k] == 1) j->role[k] = 0;
        }
        j->not_input = NULL;
        lm__err_clear();
        if (!named)
            while (last > 0 && j->role[last] == ROLE_SKIP) last--;
        if (o->target) st = find_columns(j, o->target, "target", j->tcols, &j->nt);
        else if (no_target)
            st = lm__err(LM_EFORMAT, "%s: no target column: each of its columns is an input or "
                         "left out (add the target's column, or name one with --target)", j->path);
        else j->tcols[j->nt++] = last;
        if (st != LM_OK) goto done;
        for (int t = 0; t < j->nt; t++) {
            if (j->trailing && j->tcols[t] == n - 1) /* named the target: a column after all */
                j->trailing = 0, j->role[n - 1] = 0;
            if (j->role[j->tcols[t]] == ROLE_SKIP) {
                st = lm__err(LM_EFORMAT, "%s: column %d is both a target and ignored", j->path,
                             j->tcols[t]);
                goto done;
            }
            j->role[j->tcols[t]] = ROLE_TARGET0 - t;
        }
    }
    j->nx = 0;
    if (o->features && *o->features && j->header) {
        /* The model's inputs by name, in its order; other columns skipped. */
        for (int k = 0; k < n; k++) {
            not_input[k] = j->role[k] != 0; /* ignored, or a target */
            if (j->role[k] >= 0) j->role[k] = ROLE_SKIP;
        }
        j->not_input = not_input;
        st = find_columns(j, o->features, "input", list, &m);
        j->not_input = NULL;
        if (st != LM_OK) goto done;
        for (int k = 0; k < m; k++) {
            if (j->role[list[k]] <= ROLE_TARGET0) {
                st = lm__err(LM_EFORMAT, "%s: column %d is both the target and an input",
                             j->path, list[k]);
                goto done;
            }
            j->role[list[k]] = j->nx++;
        }
    } else {
        for (int k = 0; k < n; k++)
            if (j->role[k] >= 0) j->role[k] = j->nx++;
    }
    if (j->nx == 0)
        st = lm__err(LM_EFORMAT, "%s: no feature columns (only the target column)", j->path);
    else
        st = check_unique_features(j);
    if (st == LM_OK && ((o->categorical && *o->categorical) || o->categories))
        st = assign_categorical(j);
done:
    free(not_input);
    free(list);
    return st;
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

/* Labels from text values; classes are numbered in byte order of their
 * names (sorted, as integer classes are), whatever order rows come in. */
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
    text_ref *ord = lm__alloc((size_t)k, sizeof *ord, "csv classes");
    if (!len || !sp || !ord) {
        free(len);
        free(sp);
        free(ord);
        goto done;
    }
    for (int c = 0; c < k; c++) ord[c] = (text_ref){t[first[c]].s, t[first[c]].len, c};
    qsort(ord, (size_t)k, sizeof *ord, cmp_text_ref);
    for (int c = 0; c < k; c++) {
        sp[c] = ord[c].s;
        len[c] = ord[c].len;
        tab[ord[c].idx] = c; /* tab's first k slots now map old -> sorted */
    }
    for (size_t r = 0; r < n; r++) labels[r] = tab[labels[r]];
    *names = lm__names_pack(k, sp, len);
    free(ord);
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
 * 0 numeric, 1 classes). The kind rule, when detecting: a column of
 * numbers only is numeric; a column holding text is classes (one per
 * distinct text), except that fractional or out-of-range numbers with some
 * text are refused (a regression target with a stray "NA"), as is a column
 * whose every text is a number with thousands separators, or in a file
 * not separated by commas with a decimal comma. tcol and
 * cname (NULL without a header) are for messages. */
static lm_status build_target(const char *path, tgt_span *t, size_t n, int kind, int tcol,
                              const char *cname, size_t cnl, char dec, char sep, lm_data *d)
{
    float *y = lm__alloc(n, sizeof *y, "csv targets");
    if (!y) return LM_ENOMEM;
    size_t bad = SIZE_MAX, range_bad = SIZE_MAX; /* first rows that are not numbers */
    int all_int = 1, all_grouped = 1; /* every text a number with thousands separators */
    int all_comma = dec == '.' && sep != ','; /* every text a number with a decimal comma */
    for (size_t r = 0; r < n; r++) {
        double v, cv;
        num_res res = parse_num(t[r].s, t[r].len, dec, &v);
        if (res != NUM_OK) {
            if (bad == SIZE_MAX) bad = r;
            if (res == NUM_RANGE && range_bad == SIZE_MAX) range_bad = r;
            all_grouped &= res == NUM_BAD && grouped_number(t[r].s, t[r].len, dec);
            all_comma &= res == NUM_BAD && parse_num(t[r].s, t[r].len, ',', &cv) == NUM_OK;
            y[r] = 0;
            continue;
        }
        y[r] = (float)v;
        all_int &= v == floor(v) && fabs(v) <= 16777216.0; /* exact in y */
    }
    if (kind != 1 && range_bad != SIZE_MAX) bad = range_bad;
    /* Numbers written "1,200,000", or "2,25" in a ';' or tab file, are a
     * numeric target written for people, not class names: refused as in a
     * feature column, unless --task classes says they are classes. */
    int grouped = bad != SIZE_MAX && kind != 1 && (all_grouped || all_comma);
    if (bad != SIZE_MAX && kind != 1 &&
        (kind == 0 || grouped || !all_int || range_bad != SIZE_MAX)) {
        /* In a ';' or tab file "1,500" is as likely 1.5 with a decimal
         * comma: the hint a feature column gets (read_rows) comes first,
         * as 'write them without' would make it 1500. */
        double dv;
        int comma = bad != range_bad && dec == '.' && sep != ',' &&
                    parse_num(t[bad].s, t[bad].len, ',', &dv) == NUM_OK;
        char hint[128];
        if (comma)
            snprintf(hint, sizeof hint, "; for numbers written with a decimal comma: "
                     "--decimal-comma%s",
                     kind == 0 ? "" : ", or --task classes if they are class names");
        else
            snprintf(hint, sizeof hint, "; numbers with thousands separators are not read: write "
                     "them without ('%c')%s", dec == ',' ? '.' : ',',
                     kind == 0 ? "" : ", or --task classes if they are class names");
        free(y);
        return num_error(path, t[bad].line, tcol, t[bad].s, t[bad].len,
                         bad == range_bad ? NUM_RANGE : NUM_BAD, cname, cnl,
                         grouped || comma ? hint : NULL);
    }
    if (bad == SIZE_MAX && kind != 1) {
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

/* Several target columns: numbers only, into y (n, nt). t: (n, nt). */
static lm_status build_targets(const csv_job *j, tgt_span *t, size_t n, lm_data *d)
{
    size_t nt = (size_t)j->nt;
    if (j->o->target_kind == 1)
        return lm__err(LM_EFORMAT, "%s: several target columns are read as numbers only "
                       "(one net, one output per column); classes need a single target", j->path);
    float *y = lm__alloc(n, nt * sizeof *y, "csv targets");
    if (!y) return LM_ENOMEM;
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < nt; k++) {
            const tgt_span *f = &t[r * nt + k];
            double v;
            num_res res = parse_num(f->s, f->len, j->c.dec, &v);
            if (res != NUM_OK) {
                size_t cnl = 0;
                const char *cn = col_name(j, j->tcols[k], &cnl);
                free(y);
                return num_error(j->path, f->line, j->tcols[k], f->s, f->len, res, cn, cnl,
                                 NULL);
            }
            y[r * nt + k] = (float)v;
        }
    d->y = y;
    d->ny = (int)nt;
    return LM_OK;
}

/* ---------------------------------------------------------- one-hot */

/* Integer value of a category's text for ordering, when it is one. */
static int cat_int(const char *s, size_t len, double *v)
{
    return parse_num(s, len, '.', v) == NUM_OK && *v == floor(*v);
}

typedef struct cat_ref {
    const char *s;
    size_t len;
    double v;
} cat_ref;

static int cmp_cat_ref(const void *a, const void *b)
{
    const cat_ref *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* An open-addressing table of k texts; returns the slot of s or an empty one. */
static size_t cat_slot(const int32_t *tab, size_t cap, const char *const *v, const size_t *vl,
                       const char *s, size_t len)
{
    size_t h = (size_t)hash_bytes(s, len) & (cap - 1);
    while (tab[h] >= 0 && !span_eq(v[tab[h]], vl[tab[h]], s, len)) h = (h + 1) & (cap - 1);
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t cap = 16;
    while (cap < n) cap *= 2;
    return cap;
}

/* Column e's distinct values in its n cells (cs, stride ncat), sorted: as
 * numbers when all are integers, else in byte order. */
static lm_status cat_discover(csv_job *j, int e, const tgt_span *cs, size_t n)
{
    cat_vocab *c = &j->voc[e];
    int max = j->o->max_categories > 0 ? j->o->max_categories : CAT_MAX_DEFAULT;
    size_t cap = pow2_at_least(2 * (size_t)max + 2), stride = (size_t)j->ncat;
    int32_t *tab = lm__alloc(cap, sizeof *tab, "csv categories");
    c->v = lm__alloc((size_t)max + 1, sizeof *c->v, "csv categories");
    c->vl = lm__alloc((size_t)max + 1, sizeof *c->vl, "csv categories");
    cat_ref *ord = lm__alloc((size_t)max + 1, sizeof *ord, "csv categories");
    lm_status st = LM_ENOMEM;
    size_t cnl = 0;
    const char *cn = col_name(j, c->col, &cnl);
    char what[80];
    if (cn) snprintf(what, sizeof what, "'%.*s'", (int)(cnl > 40 ? 40 : cnl), cn);
    else snprintf(what, sizeof what, "%d", c->col);
    if (!tab || !c->v || !c->vl || !ord) goto done;
    memset(tab, 0xff, cap * sizeof *tab);
    for (size_t r = 0; r < n; r++) {
        const tgt_span *f = &cs[r * stride + (size_t)e];
        if (is_missing(f->s, f->len) && (j->o->missing || f->len == 0)) {
            if (!j->o->missing) {
                st = lm__err(LM_EFORMAT, "%s:%zu:%d: empty cell in categorical column %s; to "
                             "read empty cells and NA, ? ... as missing: --missing mean",
                             j->path, f->line, c->col + 1, what);
                goto done;
            }
            continue;
        }
        size_t h = cat_slot(tab, cap, c->v, c->vl, f->s, f->len);
        if (tab[h] >= 0) continue;
        if (c->k == max) {
            st = lm__err(LM_EFORMAT, "%s: categorical column %s has more than %d distinct values "
                         "(an ID, or a numeric column?); if it really is categorical, raise "
                         "the limit (--max-categories N)", j->path, what, max);
            goto done;
        }
        tab[h] = c->k;
        c->v[c->k] = f->s;
        c->vl[c->k++] = f->len;
    }
    if (c->k == 0) {
        st = lm__err(LM_EFORMAT, "%s: categorical column %s has no values (every cell is "
                     "missing)", j->path, what);
        goto done;
    }
    int numeric = 1;
    for (int i = 0; i < c->k; i++) {
        ord[i] = (cat_ref){c->v[i], c->vl[i], 0.0};
        numeric = numeric && cat_int(c->v[i], c->vl[i], &ord[i].v);
    }
    if (!numeric)
        for (int i = 0; i < c->k; i++) ord[i].v = 0.0;
    qsort(ord, (size_t)c->k, sizeof *ord, cmp_cat_ref);
    for (int i = 0; i < c->k; i++) {
        c->v[i] = ord[i].s;
        c->vl[i] = ord[i].len;
    }
    st = LM_OK;
done:
    free(tab);
    free(ord);
    return st;
}

/* Appends s[0..len) escaped (enc_escaped) at *at of out (NULL: counts). */
static size_t enc_put(char *out, size_t at, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (enc_escaped(ch)) {
            if (out) {
                out[at] = '%';
                out[at + 1] = hex[ch >> 4];
                out[at + 2] = hex[ch & 15];
            }
            at += 3;
        } else {
            if (out) out[at] = (char)ch;
            at++;
        }
    }
    return at;
}

/* The encoding text and the per-column info, columns in input order
 * (ord: the voc slots in that order, first: their first inputs). */
static lm_status cat_describe(csv_job *j, const int *ord, const int *first)
{
    char num[24];
    j->info = lm__calloc((size_t)j->ncat, sizeof *j->info, "csv categories");
    if (!j->info) return LM_ENOMEM;
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0;
        for (int i = 0; i < j->ncat; i++) {
            const cat_vocab *c = &j->voc[ord[i]];
            size_t nl = 0;
            const char *name = col_name(j, c->col, &nl);
            if (!name) {
                nl = (size_t)snprintf(num, sizeof num, "%d", c->col);
                name = num;
            }
            /* A header name another column shares, or an empty one, cannot
             * find the column again: the encoding gives its index, "#J". */
            int by_index = name != num && (nl == 0 || name_count(j, name, nl) > 1);
            if (pass == 1) {
                lm__cat_info *in = &j->info[i];
                in->first = first[i];
                in->k = c->k;
                in->missing = c->missing;
                in->unseen = c->unseen;
                in->name = lm__alloc(nl + 1, 1, "csv categories");
                in->example = c->ex ? lm__alloc(c->ex_len + 1, 1, "csv categories") : NULL;
                if (!in->name || (c->ex && !in->example)) return LM_ENOMEM;
                memcpy(in->name, name, nl);
                in->name[nl] = '\0';
                if (c->ex) {
                    memcpy(in->example, c->ex, c->ex_len);
                    in->example[c->ex_len] = '\0';
                }
            }
            char *out = pass ? j->enc_out : NULL;
            if (i) {
                if (out) out[at] = ';';
                at++;
            }
            int w = snprintf(out ? out + at : NULL, out ? 24 : 0, "%d:", first[i]);
            at += (size_t)w;
            if (by_index) {
                w = snprintf(out ? out + at : NULL, out ? 24 : 0, "#%d", c->col);
                at += (size_t)w;
            } else {
                at = enc_put(out, at, name, nl);
            }
            if (out) out[at] = '=';
            at++;
            for (int v = 0; v < c->k; v++) {
                if (v) {
                    if (out) out[at] = ',';
                    at++;
                }
                at = enc_put(out, at, c->v[v], c->vl[v]);
            }
        }
        if (pass == 0) {
            j->enc_out = lm__alloc(at + 24, 1, "csv categories");
            if (!j->enc_out) return LM_ENOMEM;
        } else {
            j->enc_out[at] = '\0';
        }
    }
    return LM_OK;
}

/* Replaces d's raw features (x with a placeholder per categorical column)
 * by the encoded ones: each categorical column becomes its k one-hot
 * inputs in its place; names "COLUMN=VALUE" with a header. cs: (n, ncat)
 * the categorical cells. */
static lm_status encode_categories(csv_job *j, lm_data *d, const tgt_span *cs)
{
    size_t n = d->n, nraw = (size_t)j->nx, stride = (size_t)j->ncat;
    lm_status st = LM_OK;
    for (int e = 0; e < j->ncat && !j->o->categories; e++)
        if ((st = cat_discover(j, e, cs, n)) != LM_OK) return st;
    int *rawcat = lm__alloc(nraw, sizeof *rawcat, "csv categories"); /* voc slot or -1 */
    size_t *off = lm__alloc(nraw + 1, sizeof *off, "csv categories");
    int *ord = lm__alloc((size_t)j->ncat, sizeof *ord, "csv categories");
    int *first = lm__alloc((size_t)j->ncat, sizeof *first, "csv categories");
    float *x = NULL;
    const char **ns = NULL;
    size_t *nls = NULL;
    char *nbuf = NULL;
    if (!rawcat || !off || !ord || !first) {
        st = LM_ENOMEM;
        goto done;
    }
    for (size_t f = 0; f < nraw; f++) rawcat[f] = -1;
    for (int col = 0; col < j->ncols; col++)
        if (j->cat_of[col] >= 0) rawcat[j->role[col]] = j->cat_of[col];
    off[0] = 0;
    int m = 0;
    for (size_t f = 0; f < nraw; f++) {
        if (rawcat[f] >= 0) {
            ord[m] = rawcat[f];
            first[m++] = (int)off[f];
        }
        off[f + 1] = off[f] + (rawcat[f] >= 0 ? (size_t)j->voc[rawcat[f]].k : 1);
    }
    size_t nx = off[nraw];
    if (nx > (size_t)LM_MAX_WIDTH) {
        st = lm__err(LM_EFORMAT, "%s: %zu inputs after one-hot encoding, more than %d", j->path,
                     nx, LM_MAX_WIDTH);
        goto done;
    }
    for (int i = 0; i < m; i++) {
        const cat_vocab *c = &j->voc[ord[i]];
        if (c->first >= 0 && c->first != first[i]) {
            size_t cnl = 0;
            const char *cn = col_name(j, c->col, &cnl);
            st = lm__err(LM_EFORMAT, "%s: the encoding puts categorical column '%.*s' at input "
                         "%d, but in this file it comes at input %d (other columns differ)",
                         j->path, (int)(cn ? (cnl > 40 ? 40 : cnl) : 1), cn ? cn : "?",
                         c->first, first[i]);
            goto done;
        }
    }
    x = lm__alloc(n ? n : 1, nx * sizeof *x, "csv features");
    if (!x) {
        st = LM_ENOMEM;
        goto done;
    }
    const float *raw = d->x;
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < nraw; f++)
            if (rawcat[f] < 0) x[r * nx + off[f]] = raw[r * nraw + f];
    for (int e = 0; e < j->ncat; e++) {
        cat_vocab *c = &j->voc[e];
        size_t cap = pow2_at_least(2 * (size_t)c->k + 2), f = (size_t)j->role[c->col];
        int32_t *tab = lm__alloc(cap, sizeof *tab, "csv categories");
        if (!tab) {
            st = LM_ENOMEM;
            goto done;
        }
        memset(tab, 0xff, cap * sizeof *tab);
        for (int v = 0; v < c->k; v++) {
            size_t h = cat_slot(tab, cap, c->v, c->vl, c->v[v], c->vl[v]);
            if (tab[h] >= 0) {
                free(tab);
                st = enc_bad(j, "a value is listed twice");
                goto done;
            }
            tab[h] = v;
        }
        for (size_t r = 0; r < n; r++) {
            const tgt_span *s = &cs[r * stride + (size_t)e];
            float *xr = x + r * nx + off[f];
            for (int v = 0; v < c->k; v++) xr[v] = 0.0f;
            if (j->o->missing && is_missing(s->s, s->len)) {
                c->missing++;
                continue;
            }
            if (!j->o->missing && s->len == 0) { /* given categories: checked here */
                free(tab);
                size_t cnl = 0;
                const char *cn = col_name(j, c->col, &cnl);
                st = lm__err(LM_EFORMAT, "%s:%zu:%d: empty cell in categorical column '%.*s'; "
                             "to read empty cells and NA, ? ... as missing: --missing mean",
                             j->path, s->line, c->col + 1,
                             (int)(cn ? (cnl > 40 ? 40 : cnl) : 1), cn ? cn : "?");
                goto done;
            }
            int32_t k = tab[cat_slot(tab, cap, c->v, c->vl, s->s, s->len)];
            if (k >= 0) {
                xr[k] = 1.0f;
            } else if (c->unseen++ == 0) {
                c->ex = s->s;
                c->ex_len = s->len;
            }
        }
        free(tab);
    }
    if (j->header) {
        /* Names: numeric columns' own, "COLUMN=VALUE" for the one-hot ones. */
        size_t total = 0;
        for (int col = 0; col < j->ncols; col++) {
            if (j->role[col] < 0) continue;
            size_t nl = j->names.v[col].len;
            if (j->cat_of[col] < 0) continue;
            const cat_vocab *c = &j->voc[j->cat_of[col]];
            for (int v = 0; v < c->k; v++) total += nl + 1 + c->vl[v];
        }
        ns = lm__alloc(nx, sizeof *ns, "csv names");
        nls = lm__alloc(nx, sizeof *nls, "csv names");
        nbuf = lm__alloc(total ? total : 1, 1, "csv names");
        if (!ns || !nls || !nbuf) {
            st = LM_ENOMEM;
            goto done;
        }
        char *w = nbuf;
        for (int col = 0; col < j->ncols; col++) {
            if (j->role[col] < 0) continue;
            const csv_field *h = &j->names.v[col];
            size_t at = off[j->role[col]];
            if (j->cat_of[col] < 0) {
                ns[at] = h->s;
                nls[at] = h->len;
                continue;
            }
            const cat_vocab *c = &j->voc[j->cat_of[col]];
            for (int v = 0; v < c->k; v++) {
                ns[at + (size_t)v] = w;
                nls[at + (size_t)v] = h->len + 1 + c->vl[v];
                memcpy(w, h->s, h->len);
                w[h->len] = '=';
                memcpy(w + h->len + 1, c->v[v], c->vl[v]);
                w += nls[at + (size_t)v];
            }
        }
        d->feature_names = lm__names_pack((int)nx, ns, nls);
        if (!d->feature_names) {
            st = LM_ENOMEM;
            goto done;
        }
    }
    if ((st = cat_describe(j, ord, first)) != LM_OK) goto done;
    free((void *)d->x);
    d->x = x;
    x = NULL;
    d->nx = (int)nx;
done:
    free(x);
    free(rawcat);
    free(off);
    free(ord);
    free(first);
    free(ns);
    free(nls);
    free(nbuf);
    return st;
}

/* ---------------------------------------------------------------- read */

/* Whether every name of the column list is a field of r (0 out of memory). */
static int names_all_there(const field_vec *r, const char *list)
{
    size_t sl = strlen(list);
    char *name = malloc(sl + 1);
    int all = name != NULL;
    for (const char *p = list; all && p;) {
        size_t len = lm_csv_list_next(&p, name, sl + 1);
        int found = 0;
        for (int k = 0; k < r->n && !found; k++)
            found = !r->v[k].escapes && span_eq(r->v[k].s, r->v[k].len, name, len);
        all = found;
    }
    free(name);
    return all;
}

/* Records read below the second to find a kind for its missing cells. */
enum { HEADER_LOOKAHEAD = 100 };

/* Each column's kind in the second record r2 (1 a number, 0 text), or for
 * a missing cell, in the first record below (from c, at most
 * HEADER_LOOKAHEAD of them) whose cell is not missing; -1 when none is.
 * r2's fields are overwritten (its n too). A record that cannot be read ends the
 * search quietly: reading the rows reports it. */
static void kinds_below(csv_ctx c, field_vec *r2, signed char *kind, int n)
{
    int open = 0;
    for (int k = 0; k < n; k++) {
        kind[k] = k < r2->n && !is_missing(r2->v[k].s, r2->v[k].len)
                      ? (signed char)field_is_num(&r2->v[k], c.dec) : -1;
        open += kind[k] < 0;
    }
    for (int r = 0; open && r < HEADER_LOOKAHEAD && !skip_blank_lines(&c); r++) {
        if (read_record(&c, r2, 1) != LM_OK) {
            lm__err_clear();
            break;
        }
        for (int k = 0; k < n && k < r2->n; k++)
            if (kind[k] < 0 && !is_missing(r2->v[k].s, r2->v[k].len)) {
                kind[k] = (signed char)field_is_num(&r2->v[k], c.dec);
                open--;
            }
    }
}

/* Separator, header, column roles from the first two records; leaves the
 * cursor on the first data record. */
static lm_status read_layout(csv_job *j)
{
    csv_ctx *c = &j->c;
    field_vec r2 = {0};
    lm_status st;
    if (skip_blank_lines(c)) return lm__err(LM_EFORMAT, "%s: empty file", j->path);
    c->sep = j->o->sep ? j->o->sep : detect_sep(c->p, c->end);
    if (c->sep == c->dec)
        return lm__err(LM_EINVAL, "%s: decimal commas need another separator than ',' "
                       "(';' or tab)", j->path);
    csv_ctx start = *c;
    if ((st = read_record(c, &j->names, 0)) != LM_OK) return st;
    csv_ctx after1 = *c;
    int have2 = !skip_blank_lines(c);
    if (have2) {
        r2.v = lm__alloc((size_t)j->names.n, sizeof *r2.v, "csv columns");
        r2.cap = j->names.n;
        st = r2.v ? read_record(c, &r2, 1) : LM_ENOMEM;
        if (st != LM_OK) {
            free(r2.v);
            return st;
        }
    }
    /* Numbers written with a decimal comma below a header, read without
     * decimal_comma, make the header look like one more row of text: an
     * error on the first row then points at --decimal-comma. */
    for (int k = 0; have2 && c->dec == '.' && c->sep != ',' && k < r2.n && !j->comma_dec; k++)
        j->comma_dec = !field_is_num(&r2.v[k], '.') && field_is_num(&r2.v[k], ',');
    signed char *kind2 = NULL;
    if (have2 && j->o->header < 0 && j->o->missing) {
        kind2 = lm__alloc((size_t)j->names.n, 1, "csv columns");
        if (!kind2) {
            free(r2.v);
            return LM_ENOMEM;
        }
        int n2 = r2.n;
        kinds_below(*c, &r2, kind2, j->names.n);
        r2.n = n2; // the second record's width bounds the columns compared
    }
    j->header = j->o->header >= 0 ? j->o->header
                                  : detect_header(&j->names, &r2, have2, c->dec, kind2);
    free(kind2);
    /* A model's file whose first row lacks numbers below its names (missing
     * cells, categories): the model's input names in it make it a header. */
    if (!j->header && j->o->header < 0 && j->o->features && *j->o->features &&
        (j->o->missing || j->o->categories) && names_all_there(&j->names, j->o->features))
        j->header = 1;
    j->ncols = j->names.n;
    /* Every line ending in a separator (as spreadsheets write them) makes
     * a last column with no name and no values: not data. So does a
     * header alone ending in one (the rows a field shorter). */
    j->trailing = j->header && j->ncols >= 2 && j->names.v[j->ncols - 1].len == 0 && have2 &&
                  ((r2.n == j->ncols && r2.v[j->ncols - 1].len == 0) || r2.n == j->ncols - 1);
    free(r2.v);
    *c = j->header ? after1 : start;
    if (j->header)
        for (int k = 0; k < j->names.n; k++) unquote(&j->names.v[k]);
    return assign_roles(j);
}

/* Whether the line at c->p holds separators only (",,,", blanks around
 * them), as spreadsheets leave below their data: a record of empty cells. */
static int separators_only(const csv_ctx *c)
{
    int seps = 0;
    const char *p = c->p;
    for (; p < c->end && (*p == c->sep || is_blank(*p, c->sep)); p++) seps += *p == c->sep;
    return seps && (p == c->end || is_eol(*p));
}

/* Parses every data record: features into x (max_rows, nx), target text
 * into t (max_rows, nt) when there are targets. */
static lm_status read_rows(csv_job *j, float *x, tgt_span *t, tgt_span *cs, size_t *n_rows)
{
    csv_ctx *c = &j->c;
    size_t r = 0, nx = (size_t)j->nx, nt = (size_t)j->nt;
    const int *role = j->role;
    while (!skip_blank_lines(c)) {
        if (r == j->max_rows) /* cannot happen: scan_text bounds the rows */
            return lm__err(LM_EFORMAT, "%s:%zu: more rows than records", j->path, c->line);
        if (separators_only(c)) /* its first empty cell would be the error */
            return lm__err(LM_EFORMAT, "%s:%zu: every cell of the line is empty (separators "
                           "only, as spreadsheets leave below their data): delete the line",
                           j->path, c->line);
        float *xr = x + r * nx;
        size_t line = c->line;
        int col = 0, eor = 0;
        while (!eor) {
            int ro = col < j->ncols ? role[col] : ROLE_SKIP;
            int cat = j->ncat && ro >= 0 ? j->cat_of[col] : -1;
            if (ro >= 0 && cat < 0 && fast_number(c, &xr[ro], &eor)) {
                col++;
                continue;
            }
            csv_field f;
            lm_status st = read_field(c, col, &f, &eor);
            if (st != LM_OK) return st;
            if (j->trailing && col == j->ncols - 1 && f.len > 0 && !(j->o->features && *j->o->features)) {
                unquote(&f);
                return lm__err(LM_EFORMAT, "%s:%zu:%d: '%.*s' in the last column, which has no "
                               "header name and no value in the first row (taken for the empty "
                               "column of lines that end in a separator): name it in the "
                               "header, or leave it out (ignore column %d)", j->path, f.line,
                               col + 1, (int)(f.len > 40 ? 40 : f.len), f.s, col);
            }
            if (ro <= ROLE_TARGET0) {
                unquote(&f);
                if (j->o->missing && is_missing(f.s, f.len)) {
                    size_t cnl = 0;
                    const char *cn = col_name(j, col, &cnl);
                    return lm__err(LM_EFORMAT, "%s:%zu:%d: the target is missing ('%.*s') in "
                                   "column '%.*s'; fill it in or leave the row out", j->path,
                                   f.line, col + 1, (int)f.len, f.s,
                                   (int)(cn ? (cnl > 40 ? 40 : cnl) : 0), cn ? cn : "");
                }
                t[r * nt + (size_t)(ROLE_TARGET0 - ro)] = (tgt_span){f.s, f.len, f.line};
            } else if (cat >= 0) {
                unquote(&f);
                cs[r * (size_t)j->ncat + (size_t)cat] = (tgt_span){f.s, f.len, f.line};
                xr[ro] = 0.0f;
            } else if (ro >= 0) {
                double v;
                num_res res = f.escapes ? NUM_BAD : parse_num(f.s, f.len, c->dec, &v);
                if (res != NUM_OK && j->o->missing && !f.escapes && is_missing(f.s, f.len)) {
                    v = NAN;
                    res = NUM_OK;
                }
                if (res != NUM_OK) {
                    size_t cnl = 0;
                    const char *cn = col_name(j, col, &cnl);
                    char hint[200] = "", unit[80] = "";
                    unquote(&f); // the cell's value, as the message shows it
                    double dv;
                    size_t ul = res == NUM_BAD ? unit_after_number(f.s, f.len, c->dec) : 0;
                    if (ul)
                        snprintf(unit, sizeof unit, "; a number with a unit ('%.*s') is not "
                                 "read: write the number alone, or", (int)ul, f.s + f.len - ul);
                    if (res == NUM_BAD && is_missing(f.s, f.len))
                        snprintf(hint, sizeof hint, "; to fill missing cells with the "
                                 "column's mean: --missing mean");
                    else if (res == NUM_BAD && ((j->comma_dec && !j->header && r == 0) ||
                             (c->dec == '.' && c->sep != ',' &&
                              parse_num(f.s, f.len, ',', &dv) == NUM_OK)))
                        snprintf(hint, sizeof hint, "; for numbers written with a decimal "
                                 "comma: --decimal-comma");
                    else if (res == NUM_BAD && grouped_number(f.s, f.len, c->dec))
                        snprintf(hint, sizeof hint, "; numbers with thousands separators "
                                 "are not read: write them without ('%c')",
                                 c->dec == ',' ? '.' : ',');
                    else if (res == NUM_BAD && cn)
                        snprintf(hint, sizeof hint, "%s%s to one-hot encode it: --categorical "
                                 "%.*s", unit, ul ? "" : ";", (int)(cnl > 40 ? 40 : cnl), cn);
                    else if (res == NUM_BAD)
                        snprintf(hint, sizeof hint, "%s%s to one-hot encode it: --categorical %d",
                                 unit, ul ? "" : ";", col);
                    return num_error(j->path, f.line, col, f.s, f.len, res, cn, cnl, hint);
                }
                xr[ro] = (float)v;
            }
            if (col == INT32_MAX - 1)
                return lm__err(LM_EFORMAT, "%s:%zu: too many columns", j->path, line);
            col++;
        }
        if (col != j->ncols && !(j->trailing && col == j->ncols - 1))
            return lm__err(LM_EFORMAT, "%s:%zu: expected %d columns, found %d", j->path, line,
                           j->ncols, col);
        r++;
    }
    if (r == 0) return lm__err(LM_EFORMAT, "%s: no data rows", j->path);
    *n_rows = r;
    return LM_OK;
}

/* Feature names from the header, in input order. */
static lm_status feature_names(csv_job *j, lm_data *d)
{
    if (!j->header) return LM_OK;
    const char **s = lm__alloc((size_t)j->nx, sizeof *s, "csv names");
    size_t *len = lm__alloc((size_t)j->nx, sizeof *len, "csv names");
    if (s && len) {
        for (int k = 0; k < j->ncols; k++) {
            if (j->role[k] < 0) continue;
            s[j->role[k]] = j->names.v[k].s;
            len[j->role[k]] = j->names.v[k].len;
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
    if (o->decimal_comma < 0 || o->decimal_comma > 1)
        return lm__err(LM_EINVAL, "csv: decimal_comma must be 0 or 1, not %d", o->decimal_comma);
    char s = o->sep;
    if (s && (strchr("\"\r\n.+-eE", s) || (s >= '0' && s <= '9') || (unsigned char)s >= 0x80))
        return lm__err(LM_EINVAL, "csv: '%c' cannot be a separator", s);
    if (o->missing < 0 || o->missing > 1)
        return lm__err(LM_EINVAL, "csv: missing must be 0 or 1, not %d", o->missing);
    if (o->max_categories < 0)
        return lm__err(LM_EINVAL, "csv: max_categories must be >= 0, not %d", o->max_categories);
    if (o->categorical && *o->categorical && o->categories)
        return lm__err(LM_EINVAL, "csv: give categorical (columns to encode) or categories (an "
                       "encoding to use), not both");
    if (s == ',' && o->decimal_comma)
        return lm__err(LM_EINVAL, "csv: ',' cannot be both the separator and the decimal point");
    return LM_OK;
}

static lm_status csv_parse(csv_job *j, char *buf, size_t len, lm_data *d)
{
    lm_status st = scan_text(j->path, buf, len, &j->max_rows);
    if (st != LM_OK) return st;
    char *p = buf;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 BOM */
    j->c = (csv_ctx){.path = j->path, .p = p, .end = buf + len, .line = 1,
                     .dec = j->o->decimal_comma ? ',' : '.'};
    if ((st = read_layout(j)) != LM_OK) return st;
    size_t rows = j->max_rows - (size_t)j->header, nt = (size_t)j->nt;
    float *x = lm__alloc(rows, (size_t)j->nx * sizeof(float), "csv features");
    d->x = x;
    tgt_span *t = nt ? lm__alloc(rows ? rows : 1, nt * sizeof *t, "csv targets") : NULL;
    tgt_span *cs = j->ncat ? lm__alloc(rows ? rows : 1, (size_t)j->ncat * sizeof *cs,
                                       "csv categories") : NULL;
    if (!x || (nt && !t) || (j->ncat && !cs)) {
        free(t);
        free(cs);
        lm__err_prefix("%s", j->path);
        return LM_ENOMEM;
    }
    d->nx = j->nx;
    d->x_type = LM_F32;
    st = read_rows(j, x, t, cs, &d->n);
    if (st == LM_OK && nt == 1) {
        size_t cnl = 0;
        const char *cn = col_name(j, j->tcols[0], &cnl);
        st = build_target(j->path, t, d->n, j->o->target_kind, j->tcols[0], cn, cnl, j->c.dec,
                          j->c.sep, d);
    } else if (st == LM_OK && nt > 1) {
        st = build_targets(j, t, d->n, d);
    }
    free(t);
    if (st == LM_OK && j->ncat) st = encode_categories(j, d, cs);
    else if (st == LM_OK) st = feature_names(j, d);
    free(cs);
    return st;
}

/* The target columns' names (a header's, else "column K" 0-based), or
 * NULL (no targets, or out of memory with lm__err set). */
static char **target_names(const csv_job *j)
{
    if (j->nt == 0) return NULL;
    char *num = lm__alloc((size_t)j->nt, 24, "csv names");
    const char **s = lm__alloc((size_t)j->nt, sizeof *s, "csv names");
    size_t *len = lm__alloc((size_t)j->nt, sizeof *len, "csv names");
    char **names = NULL;
    if (num && s && len) {
        for (int t = 0; t < j->nt; t++) {
            s[t] = col_name(j, j->tcols[t], &len[t]);
            if (!s[t]) {
                s[t] = num + 24 * t;
                len[t] = (size_t)snprintf(num + 24 * t, 24, "column %d", j->tcols[t]);
            }
        }
        names = lm__names_pack(j->nt, s, len);
    }
    free(num);
    free(s);
    free(len);
    return names;
}

/* Parses buf (len bytes, buf[len] == '\0', modified in place) as name. */
static lm_status csv_read_buf(lm_data *out, const char *name, char *buf, size_t len,
                              const lm_csv_opts *o)
{
    /* strtod follows LC_NUMERIC; parse under the C locale in this thread
     * only, so "1.5" means the same whatever the program set. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    csv_job job = {.path = name, .o = o};
    lm_data d = {0};
    lm_status st = len == 0 ? lm__err(LM_EFORMAT, "%s: empty file", name)
                            : csv_parse(&job, buf, len, &d);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    char **tnames = st == LM_OK ? target_names(&job) : NULL;
    if (st == LM_OK && job.nt > 0 && !tnames) st = LM_ENOMEM; /* a reader fails whole */
    free(job.names.v);
    free(job.role);
    free(job.tcols);
    free(job.cat_of);
    for (int e = 0; job.voc && e < (o->categories ? 1 : job.ncat); e++) {
        free(job.voc[e].v);
        free(job.voc[e].vl);
    }
    free(job.voc);
    free(job.enc);
    if (st != LM_OK) {
        free(job.enc_out);
        lm__cat_info_free(job.info, job.ncat);
        lm__data_discard(&d);
        return st;
    }
    if ((st = lm__data_adopt(&d)) != LM_OK) {
        free(tnames);
        free(job.enc_out);
        lm__cat_info_free(job.info, job.ncat);
        return st;
    }
    lm__data_set_target_names(&d, tnames, job.nt);
    if (job.enc_out) lm__data_set_categories(&d, job.enc_out, job.info, job.ncat);
    *out = d;
    return LM_OK;
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
    st = csv_read_buf(out, path, buf, len, o);
    free(buf);
    return st;
}

lm_status lm_csv_read_mem(lm_data *out, const char *name, const void *text, size_t len,
                          const lm_csv_opts *opts)
{
    LM_NONNULL(out);
    LM_NONNULL(name);
    if (!text && len) return lm__err(LM_EINVAL, "lm_csv_read_mem: text is NULL");
    memset(out, 0, sizeof *out);
    lm_csv_opts full; /* the caller's fields (none if NULL), defaults for the rest */
    if (lm__csv_opts_import(&full, opts)) return LM_EINVAL;
    const lm_csv_opts *o = &full;
    lm_status st = check_opts(o);
    if (st != LM_OK) return st;
    /* The same refusals as a file gets, before any copy is made. */
    int eol_seen = 0;
    size_t head = len < CSV_FIRST_LINE_MAX + 1 ? len : CSV_FIRST_LINE_MAX + 1;
    if ((st = check_chunk(name, text, 0, head, &eol_seen)) != LM_OK ||
        (head < len && (st = check_chunk(name, text, head, len, &eol_seen)) != LM_OK))
        return st;
    if (len == SIZE_MAX) return lm__err(LM_ENOMEM, "%s: too large", name);
    char *buf = lm__alloc(len + 1, 1, "csv text"); /* parsed in place: a copy */
    if (!buf) {
        lm__err_prefix("%s", name);
        return LM_ENOMEM;
    }
    if (len) memcpy(buf, text, len);
    buf[len] = '\0';
    st = csv_read_buf(out, name, buf, len, o);
    free(buf);
    return st;
}
