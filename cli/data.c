/* data.c - loads a data file for the commands: CSV through lm_csv_read,
 * IDX (plain or gzip) through lm_idx_read, NumPy's .npy and .npz through
 * lm_npy_read, FANN training data through
 * lm_fann_data_read, chosen by the file's name or its first bytes; standard input and pipes read once into memory;
 * normalisation and class mapping onto a model; the summary of what was
 * read. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

cli_data_opts cli_data_defaults(void)
{
    cli_data_opts o = {.labels = NULL, .target = NULL, .header = -1, .target_kind = -1};
    return o;
}

int cli_parse_sep(const char *cmd, const char *s, char *sep)
{
    if (!strcmp(s, ",") || !strcmp(s, "comma")) *sep = ',';
    else if (!strcmp(s, ";") || !strcmp(s, "semicolon")) *sep = ';';
    else if (!strcmp(s, "tab") || !strcmp(s, "\t") || !strcmp(s, "\\t")) *sep = '\t';
    else {
        cli_err("%s: --sep '%s': use ',', ';' or tab", cmd, s);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ streams */

/* Standard input and pipes can be read only once: their bytes are kept
 * here, so the format check and every later reader (predict's second
 * try, --test - after --data -) see the same text. */
typedef struct stream_bytes {
    char *path, *buf; // buf NULL: the stream was refused (st), and said so
    size_t len;
    lm_status st;
} stream_bytes;
static stream_bytes g_streams[4];
static int g_n_streams;

int cli_is_stream(const char *path)
{
    struct stat sb;
    if (strcmp(path, "-") == 0) return 1;
    return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
}

static const char *stream_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "stdin" : path;
}

/* Reads the whole stream at path once (later calls get the same bytes),
 * refusing binary data at its first megabyte and anything larger than
 * the allocation limit. */
static lm_status stream_read(const char *path, const char **buf, size_t *len)
{
    for (int i = 0; i < g_n_streams; i++)
        if (strcmp(g_streams[i].path, path) == 0) {
            // A refused stream is not read again: its bytes are gone (a
            // second read of a pipe waits for a writer that never comes).
            if (!g_streams[i].buf) return g_streams[i].st;
            *buf = g_streams[i].buf;
            *len = g_streams[i].len;
            return LM_OK;
        }
    const char *name = stream_name(path);
    if (g_n_streams == (int)(sizeof g_streams / sizeof *g_streams)) {
        cli_err("%s: too many streams", name);
        return LM_EINVAL;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_err("%s: cannot open: %s", name, strerror(errno));
        return LM_EIO;
    }
    uint64_t limit = lm_alloc_limit();
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap), *err = NULL;
    char msg[512];
    int named = 0; // msg names the stream
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        if (n == 0 && got >= 2 && (unsigned char)b[0] == 0x1f && (unsigned char)b[1] == 0x8b) {
            err = "holds gzip data, which is read from a named file only (give its path, "
                  "or uncompress it with gzip -dc before the pipe)";
            break;
        }
        if (n == 0 && got >= 4 && b[0] == 0 && b[1] == 0 && b[2] >= 0x08 && b[2] <= 0x0e) {
            err = "holds IDX data, which is read from a named file only (give its path)";
            break;
        }
        if (n == 0 && got >= 6 && !memcmp(b, "\x93NUMPY", 6)) { // (a zip: said below)
            err = "holds NumPy data (.npy), which is read from a named file only "
                  "(give its path)";
            break;
        }
        if (memchr(b + n, '\0', got)) {
            // No text holds a NUL byte: the library's CSV check names what
            // the bytes are (UTF-16, a workbook, ...) as it does for a file.
            lm_data none;
            if (lm_csv_read_mem(&none, name, b, n + got, NULL) == LM_OK) lm_data_free(&none);
            snprintf(msg, sizeof msg, "%s", lm_errmsg());
            err = msg;
            named = 1; // "stdin:3: not a text file (byte 0x00)"
            break;
        }
        n += got;
        if (n < cap) break; /* end of input (or an error, checked below) */
        if ((uint64_t)cap * 2 > limit || cap > SIZE_MAX / 2) {
            snprintf(msg, sizeof msg, "larger than the allocation limit (%llu bytes)",
                     (unsigned long long)limit);
            err = msg;
            break;
        }
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            err = "out of memory";
            break;
        }
        b = nb;
        cap *= 2;
    }
    int rerr = ferror(f);
    if (f != stdin) fclose(f);
    if (!b || err || rerr) {
        if (named && err) cli_err("%s", err);
        else cli_err("%s: %s", name, !b ? "out of memory" : err ? err : "read error");
        free(b);
        lm_status st = err && strstr(err, "limit") ? LM_ENOMEM : LM_EFORMAT;
        char *p = strdup(path);
        if (p) g_streams[g_n_streams++] = (stream_bytes){p, NULL, 0, st};
        return st;
    }
    g_streams[g_n_streams++] = (stream_bytes){strdup(path), b, n, LM_OK};
    if (!g_streams[g_n_streams - 1].path) {
        cli_err("out of memory");
        return LM_ENOMEM;
    }
    *buf = b;
    *len = n;
    return LM_OK;
}

/* Reads path (buf, len bytes, when it was a stream). decimal_comma 2 is
 * a model's recorded --decimal-comma (cli_data_opts_from_model): it reads
 * a file whose separator allows it (';', tab) with decimal commas, and a
 * comma-separated one, which cannot hold them, with decimal points. */
static lm_status csv_read_as(lm_data *d, const char *path, const char *buf, size_t len,
                             const lm_csv_opts *co)
{
    lm_csv_opts c = *co;
    if (c.decimal_comma == 2) c.decimal_comma = c.sep != ',';
    lm_status st = buf ? lm_csv_read_mem(d, stream_name(path), buf, len, &c) : lm_csv_read(d, path, &c);
    if (st == LM_EINVAL && co->decimal_comma == 2 && c.decimal_comma && !c.sep) {
        // the separator detected was ','
        lm_data_free(d);
        c.decimal_comma = 0;
        st = buf ? lm_csv_read_mem(d, stream_name(path), buf, len, &c) : lm_csv_read(d, path, &c);
    }
    return st;
}

lm_status cli_csv_read(lm_data *d, const char *path, const lm_csv_opts *co)
{
    if (!cli_is_stream(path)) return csv_read_as(d, path, NULL, 0, co);
    const char *buf;
    size_t len;
    memset(d, 0, sizeof *d);
    lm_status st = stream_read(path, &buf, &len);
    if (st != LM_OK) return st;
    return csv_read_as(d, path, buf, len, co);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suffix[i]) return 0;
    return 1;
}

int cli_is_idx(const char *path)
{
    static const char *const suffixes[] = {".idx", "-ubyte", ".idx.gz", "-ubyte.gz",
                                           ".idx1", ".idx3", NULL};
    for (int i = 0; suffixes[i]; i++)
        if (ends_with(path, suffixes[i])) return 1;
    // The first bytes, of the data a gzip file holds (zlib reads a plain
    // file as it is)
    unsigned char m[4];
    gzFile f = cli_is_stream(path) ? NULL : gzopen(path, "rb");
    if (!f) return 0; // the reader reports the missing file
    int got = gzread(f, m, 4);
    gzclose(f);
    // IDX: two zero bytes, a type code (0x08 u8 .. 0x0E f64), 1..8 dims.
    return got == 4 && m[0] == 0 && m[1] == 0 && m[2] >= 0x08 && m[2] <= 0x0e && m[3] >= 1 &&
           m[3] <= 8;
}

int cli_is_npy(const char *path)
{
    if (ends_with_ci(path, ".npy") || ends_with_ci(path, ".npz")) return 1;
    if (cli_is_stream(path)) return 0; // a stream is read once, as text
    unsigned char m[30 + 256];
    FILE *f = fopen(path, "rb");
    if (!f) return 0; // the reader reports the missing file
    size_t got = fread(m, 1, sizeof m, f);
    fclose(f);
    if (got >= 6 && !memcmp(m, "\x93NUMPY", 6)) return 1;
    // a zip whose first member is a .npy (not a spreadsheet's XML)
    size_t nlen = got >= 30 ? (size_t)m[26] | (size_t)m[27] << 8 : 0;
    return got >= 30 && !memcmp(m, "PK\3\4", 4) && nlen >= 4 && 30 + nlen <= got &&
           !memcmp(m + 30 + nlen - 4, ".npy", 4);
}

int cli_is_binary(const char *path)
{
    return !cli_is_stream(path) && (cli_is_npy(path) || cli_is_idx(path));
}

/* NumPy targets as --task says: integer-valued floats as class labels
 * (--task classes), labels as numbers (--task regression). */
static int npy_task(cli_data *cd, int kind)
{
    lm_data *d = &cd->d;
    const char *where = cd->labels_path ? cd->labels_path : cd->path;
    if (kind == 1 && d->y && !d->labels) {
        if (d->ny != 1) {
            cli_err("%s: %d target columns cannot be class labels (--task classes takes one "
                    "column of integers)", where, d->ny);
            return CLI_EDATA;
        }
        int32_t *lab = malloc(d->n * sizeof *lab);
        if (!lab) {
            cli_err("%s: out of memory", where);
            return CLI_EFAIL;
        }
        int max = 0;
        for (size_t r = 0; r < d->n; r++) {
            float v = d->y[r];
            if (!(v >= 0 && v < 65536 && v == floorf(v))) {
                cli_err("%s: target %g at [%zu] is not a class (--task classes takes integers "
                        "0..K-1)", where, (double)v, r);
                free(lab);
                return CLI_EDATA;
            }
            lab[r] = (int32_t)v;
            if (lab[r] > max) max = lab[r];
        }
        cd->labels_own = lab;
        d->labels = lab;
        d->n_classes = max + 1;
        d->y = NULL; // still owned by the data set
        d->ny = 0;
    } else if (kind == 0 && d->labels) {
        float *y = malloc(d->n * sizeof *y);
        if (!y) {
            cli_err("%s: out of memory", where);
            return CLI_EFAIL;
        }
        for (size_t r = 0; r < d->n; r++) y[r] = (float)d->labels[r];
        cd->y_own = y;
        d->y = y;
        d->ny = 1;
        d->labels = NULL; // still owned by the data set
        d->n_classes = 0;
    }
    return CLI_OK;
}

int cli_is_fann(const char *path)
{
    if (ends_with_ci(path, ".csv") || ends_with_ci(path, ".tsv") || ends_with_ci(path, ".csv.gz") ||
        ends_with_ci(path, ".tsv.gz"))
        return 0;
    if (cli_is_stream(path)) {
        const char *buf;
        size_t len;
        return stream_read(path, &buf, &len) == LM_OK ? lm_fann_data_detect(buf, len) : -1;
    }
    // The header and the first pair's two lines, or the lines of a pair
    // each (lm_fann_data_detect checks those the first MiB holds): within
    // it unless a pair is very wide (then read as CSV, which refuses it).
    gzFile f = gzopen(path, "rb"); // plain or gzip, as the reader takes it
    if (!f) return 0;                 // the reader reports the missing file
    size_t cap = 1 << 20;
    char *b = malloc(cap);
    int got = b ? gzread(f, b, (unsigned)cap) : 0;
    gzclose(f);
    int yes = b && got > 0 && lm_fann_data_detect(b, (size_t)got);
    free(b);
    return yes;
}

/* FANN's class targets as labels (--task classes): one-hot rows (one 1,
 * the others 0 or -1) as the class of their 1; one output of 0 or -1
 * (class 0) and 1 (class 1). */
static int fann_classes(cli_data *cd)
{
    lm_data *d = &cd->d;
    size_t k = (size_t)d->ny;
    int32_t *lab = malloc(d->n * sizeof *lab);
    if (!lab) {
        cli_err("%s: out of memory", cd->path);
        return CLI_EFAIL;
    }
    for (size_t r = 0; r < d->n; r++) {
        const float *y = d->y + r * k;
        int one = -1, ok = 1;
        for (size_t j = 0; j < k; j++) {
            if (y[j] == 1.0f && one < 0) one = (int)j;
            else if (y[j] != 0.0f && y[j] != -1.0f) ok = 0;
        }
        if (k == 1 && ok) one = one < 0 ? 0 : 1;
        if (!ok || one < 0) {
            char row[160];
            size_t len = 0;
            for (size_t j = 0; j < k && j < 8; j++)
                cli_append(row, sizeof row, &len, "%s%g", j ? " " : "", (double)y[j]);
            if (k > 8) cli_append(row, sizeof row, &len, " ...");
            cli_err("%s: pair %zu: outputs '%s' are not a class: --task classes takes FANN's "
                    "class codes, %s (or train on them as numbers, without --task classes)",
                    cd->path, r + 1, row, k == 1 ? "one output of 1 or 0 (-1)"
                                                 : "one-hot outputs (one 1, the others 0 or -1)");
            free(lab);
            return CLI_EDATA;
        }
        lab[r] = one;
    }
    cd->labels_own = lab;
    d->labels = lab;
    d->n_classes = k == 1 ? 2 : (int)k;
    d->y = NULL; // still owned by the data set
    d->ny = 0;
    return CLI_OK;
}

static int fann_load(cli_data *cd, const char *path, const cli_data_opts *o)
{
    const char *csv_only = o->labels ? (o->labels_opt ? o->labels_opt : "--labels")
                           : o->from_model ? NULL
                           : o->target ? "--target" : o->ignore ? "--ignore"
                           : o->categorical ? "--categorical" : o->missing ? "--missing" : NULL;
    if (csv_only) {
        cli_err("%s: is FANN training data, which holds its inputs and outputs by position: %s "
                "goes with %s (a file named .csv or .tsv, or read with --sep, is never read as "
                "FANN data)", stream_name(path), csv_only, o->labels ? "IDX images or NumPy arrays" : "CSV data");
        return CLI_EUSAGE;
    }
    cd->is_fann = 1;
    lm_status st;
    const char *name = cli_is_stream(path) ? stream_name(path) : path;
    if (cli_is_stream(path)) {
        const char *buf;
        size_t len;
        if (stream_read(path, &buf, &len) != LM_OK) return CLI_EDATA;
        st = lm_fann_data_read_mem(&cd->d, name, buf, len);
    } else {
        st = lm_fann_data_read(&cd->d, path);
    }
    if (st != LM_OK) return cli_lib_err(CLI_EDATA, strstr(lm_errmsg(), name) ? NULL : name);
    return o->target_kind == 1 ? fann_classes(cd) : CLI_OK;
}

static lm_csv_opts csv_opts(const cli_data_opts *o)
{
    lm_csv_opts co = lm_csv_defaults();
    co.header = o->header;
    co.target = o->target;
    co.target_kind = o->target_kind;
    co.no_target = o->no_target;
    co.ignore = o->ignore;
    co.features = o->features;
    co.sep = o->sep;
    co.decimal_comma = o->decimal_comma;
    co.categorical = o->categorical;
    co.categories = o->categories;
    co.max_categories = o->max_categories;
    co.missing = o->missing;
    return co;
}

int cli_model_read_err(const char *m, const char *path)
{
    static const struct {
        const char *hint, *instead;
    } h[] = {{"; to one-hot encode it: --categorical ", "; the model takes this column as numbers"},
             {"; to fill missing cells with the column's mean: --missing mean",
              "; the model was trained without --missing mean: its cells may not be missing"}};
    for (size_t i = 0; m && i < sizeof h / sizeof h[0]; i++) {
        const char *at = strstr(m, h[i].hint);
        if (!at) continue;
        if (strstr(m, path)) cli_err("%.*s%s", (int)(at - m), m, h[i].instead);
        else cli_err("%s: %.*s%s", path, (int)(at - m), m, h[i].instead);
        return CLI_EDATA;
    }
    if (!m) return cli_lib_err(CLI_EDATA, path);
    if (strstr(m, path)) cli_err("%s", m);
    else cli_err("%s: %s", path, m);
    return CLI_EDATA;
}

int cli_data_load(cli_data *cd, const char *path, const cli_data_opts *o)
{
    memset(cd, 0, sizeof *cd);
    cd->path = path;
    int stream = cli_is_stream(path);
    cd->is_npy = !stream && cli_is_npy(path);
    cd->is_idx = cd->is_npy || (!stream && cli_is_idx(path));
    // --sep, --header, --no-header or --decimal-comma typed for this file
    // say it is CSV, whatever its first lines look like (a tab file of
    // three whole numbers a row can read as FANN data's header)
    int csv_said = !o->from_model && (o->sep || o->header >= 0 || o->decimal_comma);
    int fann = cd->is_idx || csv_said ? 0 : cli_is_fann(path);
    lm_status st;
    if (fann < 0) return CLI_EDATA; // a stream that could not be read, said
    if (cd->is_idx && o->labels && cli_is_stream(o->labels)) { // (their reader seeks by name)
        cli_err("%s: the labels of %s are read from a named file only (give its path)",
                strcmp(o->labels, "-") ? o->labels : "stdin",
                cd->is_npy ? "NumPy arrays" : "IDX images");
        return CLI_EUSAGE;
    }
    if (fann) {
        int rc = fann_load(cd, path, o);
        if (rc) {
            cli_data_free(cd);
            return rc;
        }
    } else if (cd->is_npy) {
        cd->labels_path = o->labels;
        st = lm_npy_read(&cd->d, path, o->labels);
        if (st != LM_OK) {
            const char *m = lm_errmsg();
            int names_one = strstr(m, path) || (o->labels && strstr(m, o->labels));
            return cli_lib_err(CLI_EDATA, names_one ? NULL : path);
        }
        int rc = npy_task(cd, o->target_kind);
        if (rc) {
            cli_data_free(cd);
            return rc;
        }
    } else if (cd->is_idx) {
        cd->labels_path = o->labels;
        st = lm_idx_read(&cd->d, path, o->labels);
        if (st != LM_OK) {
            // Name whichever file the message is about.
            const char *m = lm_errmsg();
            int names_one = strstr(m, path) || (o->labels && strstr(m, o->labels));
            return cli_lib_err(CLI_EDATA, names_one ? NULL : path);
        }
    } else {
        if (o->labels && access(path, R_OK) != 0) { // not a CSV file: no file (a typo)
            cli_err("%s: cannot open: %s", path, strerror(errno));
            return CLI_EDATA;
        }
        if (o->labels) {
            cli_err("%s: %s goes with IDX images or NumPy arrays; a CSV file holds its own target column "
                    "(choose it with --target)", path, o->labels_opt ? o->labels_opt : "--labels");
            return CLI_EUSAGE;
        }
        lm_csv_opts co = csv_opts(o);
        if (stream) {
            const char *buf;
            size_t len;
            // A stream's own reader prints its refusals.
            if (stream_read(path, &buf, &len) != LM_OK) return CLI_EDATA;
            st = csv_read_as(&cd->d, path, buf, len, &co);
            if (st != LM_OK)
                return o->from_model ? cli_model_read_err(lm_errmsg(), stream_name(path))
                                     : cli_lib_err(CLI_EDATA, stream_name(path));
        } else {
            st = csv_read_as(&cd->d, path, NULL, 0, &co);
            if (st != LM_OK)
                return o->from_model ? cli_model_read_err(lm_errmsg(), path) : cli_lib_err(CLI_EDATA, path);
        }
    }
    if (cd->d.n == 0) {
        cli_err("%s: holds no rows", path);
        cli_data_free(cd);
        return CLI_EDATA;
    }
    return CLI_OK;
}

void cli_data_free(cli_data *cd)
{
    free(cd->labels_own);
    free(cd->x_own);
    free(cd->y_own);
    cd->labels_own = NULL;
    cd->x_own = NULL;
    cd->y_own = NULL;
    lm_data_free(&cd->d);
}

int cli_data_norm(const cli_data *cd, float *mean, float *scale)
{
    if (cd->d.x_type == LM_U8) {
        // Images: bytes to [0, 1], the usual and stable choice.
        for (int j = 0; j < cd->d.nx; j++) {
            mean[j] = 0.0f;
            scale[j] = 1.0f / 255.0f;
        }
        return CLI_OK;
    }
    if (lm_data_norm_stats(&cd->d, mean, scale) != LM_OK) return cli_lib_err(CLI_EDATA, cd->path);
    return CLI_OK;
}

int cli_data_target_norm(const lm_data *d, lm_net *net)
{
    size_t k = (size_t)d->ny;
    if (!d->y || k == 0 || d->n == 0) return CLI_OK;
    double *acc = calloc(2 * k, sizeof *acc);
    float *mean = malloc(2 * k * sizeof *mean), *sd = mean ? mean + k : NULL;
    if (!acc || !mean) {
        free(acc);
        free(mean);
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    for (size_t r = 0; r < d->n; r++)
        for (size_t j = 0; j < k; j++) acc[j] += d->y[r * k + j];
    for (size_t j = 0; j < k; j++) acc[j] /= (double)d->n;
    for (size_t r = 0; r < d->n; r++)
        for (size_t j = 0; j < k; j++) {
            double e = d->y[r * k + j] - acc[j];
            acc[k + j] += e * e;
        }
    for (size_t j = 0; j < k; j++) {
        double s = sqrt(acc[k + j] / (double)d->n);
        mean[j] = (float)acc[j];
        sd[j] = s > 1e-12 * fabs(acc[j]) && s > 1e-30 && isfinite(s) ? (float)s : 1.0f;
    }
    int rc = lm_net_set_target_norm(net, mean, sd) == LM_OK ? CLI_OK : cli_lib_err(CLI_EFAIL, NULL);
    free(acc);
    free(mean);
    return rc;
}

void cli_data_rows(const lm_data *d, size_t i0, size_t n, float *out)
{
    size_t nx = (size_t)d->nx;
    if (d->x_type == LM_U8) {
        const uint8_t *x = (const uint8_t *)d->x + i0 * nx;
        for (size_t i = 0; i < n * nx; i++) out[i] = (float)x[i];
    } else {
        memcpy(out, (const float *)d->x + i0 * nx, n * nx * sizeof(float));
    }
}

/* The model's class whose name is name, or -1. */
static int net_class(const lm_net *net, const char *name)
{
    int n_cls = cli_model_n_classes(net);
    for (int j = 0; j < n_cls; j++) {
        const char *c = lm_net_class_name(net, j);
        if (c && strcmp(c, name) == 0) return j;
    }
    return -1;
}

const char *cli_data_row_name(const cli_data *cd, size_t r, char *buf, size_t size)
{
    // the reader keeps no line per row: the count says what it counts
    if (cd->is_idx)
        snprintf(buf, size, "row %zu", r + 1);
    else
        snprintf(buf, size, "data row %zu%s", r + 1,
                 cd->d.feature_names ? " (not counting the header)" : "");
    return buf;
}

int cli_data_map_classes(cli_data *cd, const lm_net *net)
{
    lm_data *d = &cd->d;
    int n_cls = cli_model_n_classes(net);
    if (!d->labels) return CLI_OK;
    int have_names = d->class_names && lm_net_class_name(net, 0);
    int *map = calloc((size_t)d->n_classes + 1, sizeof *map);
    int32_t *lab = malloc(d->n * sizeof *lab);
    if (!map || !lab) {
        free(map);
        free(lab);
        cli_err("%s: out of memory", cd->path);
        return CLI_EFAIL;
    }
    for (int i = 0; i < d->n_classes; i++) map[i] = have_names ? net_class(net, d->class_names[i]) : i;
    // IDX labels come from their own file: name it
    const char *where = cd->labels_path ? cd->labels_path : cd->path;
    for (size_t r = 0; r < d->n; r++) {
        int32_t c = d->labels[r];
        int m = c >= 0 && c < d->n_classes ? map[c] : -1;
        if (m < 0 || m >= n_cls) {
            char row[64];
            cli_data_row_name(cd, r, row, sizeof row);
            if (have_names && c >= 0 && c < d->n_classes)
                cli_err("%s: %s: class '%s' is not one of the model's %d classes", where, row,
                        d->class_names[c], n_cls);
            else
                cli_err("%s: %s: class %d is out of the model's range 0..%d", where, row, (int)c,
                        n_cls - 1);
            free(map);
            free(lab);
            return CLI_EDATA;
        }
        lab[r] = m;
    }
    free(map);
    free(cd->labels_own);
    cd->labels_own = lab;
    d->labels = lab;
    d->n_classes = n_cls;
    d->class_names = NULL; // indices now follow the model's names
    return CLI_OK;
}

/* Keeps columns cols[0..m) of the F32 data, in that order. */
static int pick_columns(cli_data *cd, const int *cols, int m)
{
    lm_data *d = &cd->d;
    float *x = malloc(d->n * (size_t)m * sizeof *x);
    if (!x) {
        cli_err("%s: out of memory", cd->path);
        return CLI_EFAIL;
    }
    const float *src = d->x;
    for (size_t r = 0; r < d->n; r++)
        for (int j = 0; j < m; j++) x[r * (size_t)m + (size_t)j] = src[r * (size_t)d->nx + (size_t)cols[j]];
    free(cd->x_own);
    cd->x_own = x;
    d->x = x;
    d->nx = m;
    d->feature_names = NULL; // the file's names no longer line up
    return CLI_OK;
}

int cli_data_column(const lm_data *d, const char *name, size_t len)
{
    for (int j = 0; d->feature_names && j < d->nx; j++)
        if (d->feature_names[j] && strlen(d->feature_names[j]) == len &&
            strncmp(d->feature_names[j], name, len) == 0)
            return j;
    return -1;
}

char *cli_list_item(const char *name)
{
    if (!strchr(name, ',') && name[0] != '"') return strdup(name);
    size_t len = strlen(name), q = 0;
    for (size_t i = 0; i < len; i++) q += name[i] == '"';
    char *s = malloc(len + q + 3), *o = s;
    if (!s) return NULL;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '"') *o++ = '"';
        *o++ = name[i];
    }
    *o++ = '"';
    *o = '\0';
    return s;
}

/* A model trained before 1.5 recorded its column lists (metadata
 * features, ignore, target) with a quote a plain character of a name and
 * no name holding a comma: rewrites them, in net, as column lists read
 * since (cli_list_item puts a name that starts with a quote in quotes).
 * Other models are left as they are. 0 out of memory. */
static int lists_upgrade(lm_net *net)
{
    static const char *const keys[] = {"features", "ignore", "target"};
    const char *ver = lm_net_get_meta(net, "lamina_version");
    int major, minor;
    // No version: not written by lamina train, its lists as 1.5 reads them.
    if (!ver || sscanf(ver, "%d.%d", &major, &minor) != 2 || major > 1 ||
        (major == 1 && minor >= 5))
        return 1;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = lm_net_get_meta(net, keys[k]);
        if (!v || !strchr(v, '"')) continue;
        size_t len = strlen(v), at = 0;
        char *s = malloc(3 * len + 3), *name = malloc(len + 1); // each item quoted, quotes doubled
        int ok = s && name;
        for (const char *p = v; ok && p;) {
            size_t n = strcspn(p, ",");
            memcpy(name, p, n);
            name[n] = '\0';
            char *item = cli_list_item(name);
            if ((ok = item != NULL)) at += (size_t)sprintf(s + at, "%s%s", at ? "," : "", item);
            free(item);
            p = p[n] ? p + n + 1 : NULL;
        }
        ok = ok && lm_net_set_meta(net, keys[k], s) == LM_OK;
        free(s);
        free(name);
        if (!ok) return 0;
    }
    return 1;
}

int cli_model_load(lm_net **net, const char *path)
{
    if (lm_net_load(net, path) != LM_OK) return cli_lib_err(CLI_EMODEL, path);
    if (lists_upgrade(*net)) return CLI_OK;
    cli_err("out of memory");
    lm_net_free(*net);
    *net = NULL;
    return CLI_EFAIL;
}

/* Columns by the model's feature names (a column list, "a,b,c"); 1 if
 * matched all. */
static int by_names(cli_data *cd, const char *names, int n_in, int *rc)
{
    lm_data *d = &cd->d;
    size_t size = strlen(names) + 1;
    int *cols = malloc((size_t)n_in * sizeof *cols), m = 0, identity = d->nx == n_in;
    char *name = malloc(size);
    if (!cols || !name) {
        free(cols);
        free(name);
        return 0;
    }
    for (const char *p = names; p && m < n_in;) {
        size_t len = lm_csv_list_next(&p, name, size);
        int c = cli_data_column(d, name, len);
        if (c < 0) {
            char shown[1024];
            cli_name_shown(shown, name, 0);
            cli_err("%s: has no column '%s', which the model takes as input %d", cd->path,
                    shown, m + 1);
            free(cols);
            free(name);
            *rc = CLI_EDATA;
            return 1;
        }
        identity &= c == m;
        cols[m++] = c;
    }
    free(name);
    if (m != n_in) {
        free(cols);
        return 0; // the metadata does not describe this model; fall back
    }
    *rc = identity ? CLI_OK : pick_columns(cd, cols, m);
    free(cols);
    return 1;
}

int cli_data_check_shape(const lm_data *d, const char *path, const lm_net *net)
{
    int c, h, w;
    lm_layer_desc in = {.size = sizeof in};
    if (!lm_data_shape(d, &c, &h, &w) || lm_net_layer_desc(net, 0, &in) != LM_OK ||
        (in.in_h == 1 && in.in_w == 1) || (in.in_c == c && in.in_h == h && in.in_w == w))
        return CLI_OK;
    cli_err("%s: holds images of shape %dx%dx%d (CxHxW) but the model takes %dx%dx%d", path, c, h, w,
            in.in_c, in.in_h, in.in_w);
    return CLI_EDATA;
}

int cli_data_fit_columns(cli_data *cd, const lm_net *net, int drop)
{
    lm_data *d = &cd->d;
    int n_in = lm_net_n_in(net), rc;
    const char *names = cli_meta(net, "features");
    // One-hot inputs: the reader took the model's columns by name and
    // encoded them in the model's order (cli_data_opts_from_model).
    if (lm_data_categories(d)) names = NULL;
    if (d->x_type == LM_F32 && d->feature_names && names && by_names(cd, names, n_in, &rc))
        return rc;
    if (d->nx == n_in) return cli_data_check_shape(d, cd->path, net);
    if (d->x_type == LM_F32 && d->nx == n_in + 1 && !cd->is_fann && !cd->is_npy) {
        int skip = drop >= 0 && drop < d->nx ? drop : d->nx - 1;
        int *cols = malloc((size_t)n_in * sizeof *cols);
        if (!cols) return CLI_EFAIL;
        for (int j = 0, m = 0; j < d->nx; j++)
            if (j != skip) cols[m++] = j;
        rc = pick_columns(cd, cols, n_in);
        free(cols);
        return rc;
    }
    if (cd->is_fann)
        cli_err("%s: has %d inputs a pair but the model takes %d", cd->path, d->nx, n_in);
    else
        cli_err("%s: has %d feature columns but the model takes %d inputs", cd->path, d->nx, n_in);
    return CLI_EDATA;
}

void cli_data_impute(lm_data *d, const float *mean, size_t *filled)
{
    size_t nx = (size_t)d->nx;
    if (d->x_type != LM_F32) return;
    float *x = (float *)d->x; // the reader's block, owned by d
    if (filled) memset(filled, 0, nx * sizeof *filled);
    for (size_t r = 0; r < d->n; r++)
        for (size_t j = 0; j < nx; j++)
            if (isnan(x[r * nx + j])) {
                x[r * nx + j] = mean[j];
                if (filled) filled[j]++;
            }
}

size_t cli_data_apply_model(cli_data *cd, const lm_net *net, int quiet)
{
    lm_data *d = &cd->d;
    const char *name, *ex;
    size_t unseen, total = 0;
    for (int k = 0; lm_data_category(d, k, &name, NULL, NULL, NULL, &unseen, &ex); k++) {
        total += unseen;
        if (unseen && !quiet && !cli_err_hold)
            fprintf(stderr, "warning: %s: %zu row%s ha%s values of '%s' not seen in training, "
                    "e.g. '%.60s': their one-hot inputs are all 0\n",
                    strcmp(cd->path, "-") == 0 ? "stdin" : cd->path, unseen, cli_s(unseen),
                    unseen == 1 ? "s" : "ve", name, ex ? ex : "");
    }
    if (d->x_type != LM_F32 || d->nx != lm_net_n_in(net)) return total;
    float *mean = malloc((size_t)d->nx * sizeof *mean);
    if (mean && lm_net_get_norm(net, mean, NULL)) cli_data_impute(d, mean, NULL);
    else if (mean) { // no normalisation: a missing cell is the mean of nothing known, 0
        memset(mean, 0, (size_t)d->nx * sizeof *mean);
        cli_data_impute(d, mean, NULL);
    }
    free(mean);
    return total;
}

int cli_data_opts_from_model(cli_data_opts *o, const lm_net *net, const char *cmd,
                             const char *sep, int decimal_comma)
{
    o->ignore = cli_meta(net, "ignore");
    o->features = cli_meta(net, "features");
    const char *s = sep ? sep : cli_meta(net, "sep");
    if (s && !cli_parse_sep(cmd, s, &o->sep)) return 0;
    const char *dc = cli_meta(net, "decimal_comma");
    // the model's decimal comma only where the file's separator allows it
    o->decimal_comma = decimal_comma ? 1 : dc && strcmp(dc, "1") == 0 ? 2 : 0;
    o->categories = lm_net_get_meta(net, "categories");
    const char *mv = cli_meta(net, "missing");
    o->missing = mv && strcmp(mv, "mean") == 0;
    o->from_model = 1;
    return 1;
}

int cli_model_classes(const lm_net *net)
{
    const char *task = lm_net_get_meta(net, "task");
    lm_layer_info li;
    if (lm_net_class_name(net, 0)) return 1;
    if (task) return strcmp(task, "classes") == 0;
    return lm_net_layer(net, lm_net_n_layers(net) - 1, &li) == LM_OK && li.act == LM_SOFTMAX;
}

int cli_model_n_classes(const lm_net *net)
{
    int k = lm_net_n_out(net);
    return k == 1 ? 2 : k;
}

int cli_predicted_class(const float *p, int k)
{
    if (k == 1) return p[0] > 0.5f; // a tie is class 0, as argmax's first
    int best = 0;
    for (int j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

lm_loss cli_model_loss(const lm_net *net)
{
    int l = lm_loss_from_name(lm_net_get_meta(net, "loss"));
    if (l >= 0) return (lm_loss)l;
    return cli_model_classes(net) ? LM_LOSS_CE : LM_LOSS_MSE;
}

/* ------------------------------------------------------------ summary */

/* Distinct values of y (n) if they are all integers and at most max of
 * them, else 0. */
static int few_integers(const float *y, size_t n, int max)
{
    float seen[32];
    int k = 0;
    for (size_t r = 0; r < n; r++) {
        if (y[r] != floorf(y[r])) return 0;
        int j = 0;
        while (j < k && seen[j] != y[r]) j++;
        if (j == k) {
            if (k == max) return 0;
            seen[k++] = y[r];
        }
    }
    return k;
}
/* A name as the data summary shows it: as it is, unless it holds a
 * control character (a newline in a quoted CSV field), which would break
 * the line, or a comma, which would read as two names in the list: then
 * as info shows names (cli_name_shown), its first bytes only if buf is
 * short. */
static const char *shown(const char *name, char *buf, size_t size)
{
    int plain = 1;
    // a comma too: the names are listed separated by commas
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        plain &= *p >= ' ' && *p != 127 && *p != ',';
    if (plain || size < 8) return name;
    char head[64];
    size_t keep = (size - 3) / 4; // cli_name_shown writes at most 4 bytes a byte, + 3
    if (keep >= sizeof head) keep = sizeof head - 1;
    snprintf(head, keep + 1, "%s", name);
    cli_name_shown(buf, head, 1);
    return buf;
}


/* Appends printf-style text to the string *s of length *len (cap size);
 * what does not fit is dropped. */
void cli_data_describe(FILE *f, const cli_data *cd, int task_given)
{
    // Lines wrapped to the output's width after the commas (a feature or
    // class name may hold spaces) and the target line's colons; the
    // file's path is never broken.
    const lm_data *d = &cd->d;
    const char *name = strcmp(cd->path, "-") == 0 ? "stdin" : cd->path;
    int width = cli_out_width(fileno(f));
    char b[2048], nb[256];
    size_t len = 0;
    cli_append(b, sizeof b, &len, "%zu row%s, %d feature%s", d->n, d->n == 1 ? "" : "s", d->nx,
           d->nx == 1 ? "" : "s");
    if (d->feature_names) {
        cli_append(b, sizeof b, &len, " (header: ");
        for (int j = 0; j < d->nx && j < 8; j++)
            if (d->feature_names[j][0])
                cli_append(b, sizeof b, &len, "%s%s", j ? ", " : "", shown(d->feature_names[j], nb, sizeof nb));
            else // pandas' index column: a name nobody would see
                cli_append(b, sizeof b, &len, "%s(input %d, no name)", j ? ", " : "", j + 1);
        if (d->nx > 8) cli_append(b, sizeof b, &len, ", ... %d more", d->nx - 8);
        cli_append(b, sizeof b, &len, ")");
    } else if (cd->is_fann) {
        cli_append(b, sizeof b, &len, " (FANN data)");
    } else if (cd->is_npy) {
        int c, h, w;
        if (lm_data_shape(d, &c, &h, &w))
            cli_append(b, sizeof b, &len, " (NumPy, images %dx%dx%d)", h, w, c);
        else
            cli_append(b, sizeof b, &len, " (NumPy)");
    } else if (!cd->is_idx) {
        cli_append(b, sizeof b, &len, " (no header)");
    }
    int col = fprintf(f, "read %s: ", name);
    cli_wrap(f, b, col, 2, width, ",");
    for (int j = 0; d->feature_names && j < d->nx; j++)
        if (!d->feature_names[j][0]) {
            const float *x = d->x_type == LM_F32 ? d->x : NULL;
            int from = -1; // the values 0..n-1 or 1..n in order: a row index
            for (int s = 0; x && d->n >= 2 && s < 2 && from < 0; s++) {
                size_t r = 0;
                while (r < d->n && x[r * (size_t)d->nx + (size_t)j] == (float)(r + (size_t)s)) r++;
                if (r == d->n) from = s;
            }
            len = 0;
            cli_append(b, sizeof b, &len, "note: input %d has no name in the header", j + 1);
            if (from >= 0)
                cli_append(b, sizeof b, &len, " and holds %d..%zu, the row numbers (a row index, as "
                           "pandas' to_csv writes unless index=False); the model would learn from "
                           "the row order; %s leaves it out", from, d->n - 1 + (size_t)from,
                           j == 0 ? "--ignore 0" : "--ignore with its 0-based column index");
            cli_wrap(f, b, 0, 2, width, ";");
        }
    int nt = d->labels ? 1 : d->ny;
    len = 0;
    cli_append(b, sizeof b, &len, "%s", nt > 1 ? "targets: " : "target: ");
    if (cd->is_fann && d->labels) cli_append(b, sizeof b, &len, "the outputs' class codes");
    for (int k = 0; k < nt && (cd->is_fann || (cd->is_npy && nt > 1)) && !d->labels; k++) // by position
        if (k < 8 || k == nt - 1) cli_append(b, sizeof b, &len, "%soutput %d", k ? ", " : "", k + 1);
        else if (k == 8) cli_append(b, sizeof b, &len, ", ...");
    for (int k = 0; k < nt && !cd->is_fann && !(cd->is_npy && nt > 1); k++) {
        const char *t = lm_data_target_name(d, k);
        cli_append(b, sizeof b, &len, "%s%s", k ? ", " : "",
                   t ? shown(t, nb, sizeof nb)
                   : cd->is_npy && !cd->labels_path ? "the targets array"
                   : cd->is_idx ? "the labels file" : "?");
    }
    if (d->labels) {
        cli_append(b, sizeof b, &len, " -> classes (%s): %d classes:", task_given == 1 ? "--task classes"
               : cd->is_npy ? "integer labels" : cd->is_idx ? "IDX labels" : "it holds text", d->n_classes);
        size_t *count = calloc((size_t)d->n_classes, sizeof *count);
        for (size_t r = 0; count && r < d->n; r++)
            if (d->labels[r] >= 0 && d->labels[r] < d->n_classes) count[d->labels[r]]++;
        for (int c = 0; c < d->n_classes && c < 20; c++) {
            if (d->class_names) cli_append(b, sizeof b, &len, " %s", shown(d->class_names[c], nb, sizeof nb));
            else cli_append(b, sizeof b, &len, " %d", c);
            if (count) cli_append(b, sizeof b, &len, " (%zu)", count[c]);
            if (c + 1 < d->n_classes) cli_append(b, sizeof b, &len, ",");
        }
        if (d->n_classes > 20) cli_append(b, sizeof b, &len, " ... %d more", d->n_classes - 20);
        cli_wrap(f, b, 0, 2, width, ",:");
        free(count);
        return;
    }
    if (nt > 1) cli_append(b, sizeof b, &len, " -> regression with %d outputs", nt);
    else
        cli_append(b, sizeof b, &len, " -> regression (%s)", task_given == 2 ? "--task regression"
                                                         : "it holds numbers only");
    cli_wrap(f, b, 0, 2, width, ",:");
    int k = nt == 1 && task_given != 2 ? few_integers(d->y, d->n, 20) : 0;
    if (k >= 2 && d->n >= 2 * (size_t)k) { // a class guess would have a few rows a value
        snprintf(b, sizeof b, "note: the target holds only %d distinct integers; if they are "
                              "class labels, add --task classes", k);
        cli_wrap(f, b, 0, 2, width, ";,");
    }
}

int cli_data_load_target_named(cli_data *cd, const char *path, const cli_data_opts *o,
                               const char *name, char *why, size_t why_size)
{
    const char *buf;
    size_t len;
    if (cli_is_stream(path) && stream_read(path, &buf, &len) != LM_OK) return 0;
    cli_data_opts on = *o;
    char *item = cli_list_item(name); // one name, whatever commas it holds
    on.target = item ? item : name;
    lm_csv_opts co = csv_opts(&on);
    memset(cd, 0, sizeof *cd);
    cd->path = path;
    lm_status st = cli_csv_read(&cd->d, path, &co);
    free(item);
    // Without a header a name made of digits is an index: not this column.
    const char *got = st == LM_OK ? lm_data_target_name(&cd->d, 0) : NULL;
    if (st == LM_OK && cd->d.feature_names && got && strcmp(got, name) == 0 && cd->d.n > 0)
        return 1;
    snprintf(why, why_size, "%s", st != LM_OK ? lm_errmsg() : "the file has no header");
    cli_data_free(cd);
    return 0;
}

int cli_data_load_scored(cli_data *cd, const lm_net *net, const char *path,
                         cli_data_opts *o, int classes, const char *labels_opt, int has_target)
{
    // what the warnings below suggest: the command's --target, else eval's
    const char *choose = has_target ? "give --target to choose" : "to choose, use lamina eval --target";
    const char *tname = NULL;
    if (!o->target) o->target = cli_meta(net, "target");
    int csv = cli_is_stream(path) || (!cli_is_binary(path) && cli_is_fann(path) == 0);
    if (!o->target && !o->labels && csv && o->header != 0)
        tname = cli_meta(net, "target_name");
    o->target_kind = classes;
    o->labels_opt = labels_opt;
    char why[512] = "", warn[2600] = "";
    int rc = CLI_OK;
    if (!tname || !cli_data_load_target_named(cd, path, o, tname, why, sizeof why)) {
        if ((rc = cli_data_load(cd, path, o))) return rc;
        // The default target, the last column that is not an input, is
        // then a guess: say which column it took when it is another (once
        // the rows are scored, not before another refusal).
        const char *got = cd->d.feature_names ? lm_data_target_name(&cd->d, 0) : NULL;
        const char *shown = cli_is_stream(path) ? stream_name(path) : path;
        if (tname && got && strcmp(got, tname) != 0 && strlen(got) < 256 && strlen(tname) < 256) {
            char a[1024], b[1024];
            cli_name_shown(a, got, 0);
            cli_name_shown(b, tname, 0);
            snprintf(warn, sizeof warn, "warning: %.256s: scoring against column '%s' (the last "
                     "that is not an input), not '%s', the model's target (%s); %s\n", shown, a,
                     b, why, choose);
        }
        // By position, a file with one column more than the inputs and
        // the target gives two guesses: the last is the target, the one
        // before it is dropped. Say so.
        int n_in = lm_net_n_in(net);
        if (csv && !cd->is_fann && !o->target && cd->d.x_type == LM_F32 && cd->d.nx == n_in + 1 &&
            !lm_data_categories(&cd->d) &&
            (!cd->d.feature_names || !cli_meta(net, "features")))
            snprintf(warn, sizeof warn, "warning: %.256s: has one column more than the model's "
                     "%d input%s and its target: scoring against the last column and leaving out "
                     "the one before it (%s)\n", shown, n_in, n_in == 1 ? "" : "s", choose);
    }
    if (classes && !cd->d.labels) {
        cli_err("%s: has no class labels to compare with%s%s%s", path,
                cd->is_idx ? " (add " : "", cd->is_idx ? labels_opt : "", cd->is_idx ? " FILE)" : "");
        return cd->is_idx ? CLI_EUSAGE : CLI_EDATA;
    }
    if (!classes && (!cd->d.y || cd->d.ny != lm_net_n_out(net))) {
        int k = lm_net_n_out(net);
        if (cd->d.y)
            cli_err("%s: has %d numeric target%s but the model has %d output%s", stream_name(path),
                    cd->d.ny, cli_s((size_t)cd->d.ny), k, cli_s((size_t)k));
        else
            cli_err("%s: has no numeric target for the model's %d output%s", stream_name(path), k,
                    cli_s((size_t)k));
        return CLI_EDATA;
    }
    if ((rc = cli_data_fit_columns(cd, net, -1))) return rc;
    cli_data_apply_model(cd, net, 0);
    if (classes && (rc = cli_data_map_classes(cd, net))) return rc;
    fputs(warn, stderr);
    return CLI_OK;
}
