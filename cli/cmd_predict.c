/* cmd_predict.c - `lamina predict MODEL --data FILE`: one CSV line per
 * row on stdout, the class as the training data named it (or the
 * value(s) for a numeric target); --proba adds each class's probability.
 *
 * Columns: when the file's header and the model's recorded feature names
 * both exist, inputs are picked by name (extra columns such as the target
 * are ignored). Otherwise the file must have the model's input count, or
 * one more: then the target column is dropped (--target, the training
 * run's --target, else the last column). */
#include "cli.h"
#include "opts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 1024 };

/* The column index given as a 0-based number in s, or -1. */
static int column_index(const char *s)
{
    if (!s || !*s) return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    long v = strtol(s, NULL, 10);
    return v < (1 << 24) ? (int)v : -1;
}

/* Reads the file with every column as a feature; a file with a text
 * target column fails that way, so then read it with its target. */
static int load_predict_data(cli_data *cd, lm_net *net, const char *path, const char *target,
                             int header, const char *sep, int decimal_comma)
{
    cli_data_opts o = cli_data_defaults();
    if (!cli_data_opts_from_model(&o, net, "predict", sep, decimal_comma)) return CLI_EUSAGE;
    o.header = header;
    int fann = cli_is_binary(path) ? 0 : cli_is_fann(path);
    if (fann < 0) return CLI_EDATA; // a stream that could not be read, said
    // IDX, NumPy (a stream is read once, as CSV) and FANN data: inputs by position
    if (fann || cli_is_binary(path)) {
        int rc = cli_data_load(cd, path, &o);
        return rc ? rc : cli_data_fit_columns(cd, net, -1);
    }
    o.no_target = 1;
    lm_csv_opts co = lm_csv_defaults();
    co.header = header;
    co.no_target = 1;
    co.ignore = o.ignore;
    co.features = o.features;
    co.sep = o.sep;
    co.decimal_comma = o.decimal_comma;
    co.categories = o.categories;
    co.missing = o.missing;
    lm_data probe = {0};
    lm_status st = cli_csv_read(&probe, path, &co);
    if (st == LM_OK) {
        lm_data_free(&probe);
    } else if (st == LM_EFORMAT) {
        char first[1024];
        snprintf(first, sizeof first, "%s", lm_errmsg());
        o.no_target = 0;
        o.target = target;
        o.target_kind = cli_model_classes(net);
        lm_data with_target = {0};
        co.no_target = 0;
        co.target = target;
        co.target_kind = o.target_kind;
        if (cli_csv_read(&with_target, path, &co) != LM_OK) return cli_model_read_err(first, path);
        lm_data_free(&with_target);
    }
    int rc = cli_data_load(cd, path, &o);
    if (rc) return rc;
    // One column too many is the target: by index, or by name in the
    // header. Without a header a name cannot be found, and taking the
    // last column for it would feed the real target to the net (eval
    // refuses it too).
    int drop = column_index(target);
    const lm_data *d = &cd->d;
    if (drop < 0 && target) drop = cli_data_column(d, target, strlen(target));
    if (target && drop < 0 && !d->feature_names && d->nx == lm_net_n_in(net) + 1) {
        cli_err("%s: no header, so the target column '%s' must be a 0-based column index "
                "(give --target INDEX)", path, target);
        return CLI_EDATA;
    }
    if ((rc = cli_data_fit_columns(cd, net, drop))) return rc;
    cli_data_apply_model(cd, net, 0);
    return CLI_OK;
}

/* The id column as numbers (n of them, malloc'd), for a file in which it
 * is the only column the reader can take, the model's only input say: a
 * read takes no target without a feature beside it. NULL when this read
 * fails too (the caller reports the first read's message). */
static float *id_numbers(const char *path, const char *id, const lm_csv_opts *text, size_t n)
{
    lm_csv_opts co = *text;
    co.no_target = 1;
    co.target = NULL;
    co.target_kind = -1;
    co.ignore = NULL; // without a header, column k of the read is column k of the file
    co.features = id; // with a header: the id column alone, by name or index
    lm_data all = {0};
    if (cli_csv_read(&all, path, &co) != LM_OK) return NULL;
    int col = all.nx == 1 ? 0 : column_index(id);
    float *v = col >= 0 && col < all.nx && all.x_type == LM_F32 && all.n == n && n
                   ? malloc(n * sizeof *v) : NULL;
    const float *x = all.x;
    for (size_t r = 0; v && r < n; r++) v[r] = x[r * (size_t)all.nx + (size_t)col];
    lm_data_free(&all);
    return v;
}

/* The id column's text as written, for a file in which it is the only
 * column a read can take (a model whose only input is a categorical
 * column, in a file without the target): the column one-hot encoded
 * alone, each row's text the name of its input that is 1. With a header
 * (the names give the values), and at most the library's number of
 * distinct values. Row r's text is text[r], a pointer into *all (read
 * here, the caller's to free); NULL when this read fails. */
static const char **id_onehot(lm_data *all, const char *path, const char *id,
                              const lm_csv_opts *text, size_t n)
{
    lm_csv_opts co = *text;
    co.no_target = 1;
    co.target = NULL;
    co.target_kind = -1;
    co.ignore = NULL;
    co.features = id;
    co.categories = NULL;
    co.categorical = id;
    co.missing = 0; // an empty cell is refused rather than taken for a missing id
    const char *name = NULL;
    int k = 0;
    if (cli_csv_read(all, path, &co) != LM_OK || !all->feature_names || all->n != n || !n ||
        all->x_type != LM_F32 || !lm_data_category(all, 0, &name, NULL, &k, NULL, NULL, NULL) ||
        k != all->nx) {
        lm_data_free(all);
        return NULL;
    }
    const char **t = malloc(n * sizeof *t);
    const float *x = all->x;
    size_t skip = strlen(name) + 1; // "NAME=VALUE"
    for (size_t r = 0; t && r < n; r++) {
        int j = 0;
        while (j < k && x[r * (size_t)k + (size_t)j] != 1.0f) j++;
        t[r] = j < k ? all->feature_names[j] + skip : "";
    }
    if (!t) lm_data_free(all);
    return t;
}

/* m, a read's refusal of the id column, said of --id: the read takes the
 * id as its target, and the library's column lookup names it so ("no
 * column named 'x' for the target", "target column 9 is out of range"),
 * a target the user never gave. */
static void id_err(const char *path, const char *m)
{
    static const char *const was[] = {"' for the target (", "so the target column ",
                                      ": target column "};
    static const char *const now[] = {"' for --id (", "so the --id column ", ": --id column "};
    const char *at = NULL;
    int k = 0;
    while (k < 3 && !(at = strstr(m, was[k]))) k++;
    const char *file = strstr(m, path) ? "" : path, *colon = *file ? ": " : "";
    if (at) cli_err("%s%s%.*s%s%s", file, colon, (int)(at - m), m, now[k], at + strlen(was[k]));
    else cli_err("%s%s%s", file, colon, m);
}

/* --id as one name: in double quotes (as a column list writes a name
 * holding a comma, '"Name, full"') without them, else as given. buf holds
 * strlen(id) + 1 bytes (the name without its quotes is never longer). */
static const char *id_name(const char *id, char *buf)
{
    const char *p = id;
    lm_csv_list_next(&p, buf, strlen(id) + 1);
    return id[0] == '"' && !p ? buf : id;
}

/* Appends item to the column list *s (*len bytes long, *s NULL when
 * empty), a comma before it; 0 out of memory. */
static int list_add(char **s, size_t *len, const char *item)
{
    size_t n = strlen(item);
    char *t = realloc(*s, *len + n + 2);
    if (!t) return 0;
    if (*len) t[(*len)++] = ',';
    memcpy(t + *len, item, n + 1);
    *len += n;
    *s = t;
    return 1;
}

/* Reads the id column (co's target) as classes beside one other column,
 * col (a name, or a 0-based index), as the only feature: every other
 * column is skipped unparsed. col goes through a one-hot encoding of one
 * value made here, so whatever it holds (text, empty cells) reads, and
 * missing is off: the id is a label, read as written (an empty cell is
 * the text "", not a missing target). */
static lm_status read_id_beside(lm_data *ids, const char *path, lm_csv_opts co, const char *col)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(col), at = 2;
    char *item = cli_list_item(col), *enc = malloc(3 * len + 5);
    lm_status st = LM_ENOMEM;
    if (item && enc) {
        // "0:NAME=x", NAME escaped as lm_data_categories writes it
        memcpy(enc, "0:", 2);
        for (const unsigned char *c = (const unsigned char *)col; *c; c++) {
            if (*c < 0x20 || *c == 0x7f || strchr("%,;=:#", *c)) {
                enc[at++] = '%';
                enc[at++] = hex[*c >> 4];
                enc[at++] = hex[*c & 15];
            } else {
                enc[at++] = (char)*c;
            }
        }
        memcpy(enc + at, "=x", 3);
        co.features = item;
        co.categories = enc;
        co.missing = 0;
        st = cli_csv_read(ids, path, &co);
    }
    free(item);
    free(enc);
    return st;
}

/* The text of column id for every row, as "classes" of a second read
 * (each distinct text a class): ids->class_names[ids->labels[r]]. The
 * model's other columns are skipped as for the inputs; id is taken out of
 * its ignore list. Names of any length: every buffer is sized from the
 * lists it holds. */
static int load_ids(lm_data *ids, float **num, const char ***text, const char *path,
                    const char *id, int header, const cli_data_opts *o, const char *target,
                    const char *tname, size_t n)
{
    size_t il = o->ignore ? strlen(o->ignore) : 0, fl = o->features ? strlen(o->features) : 0;
    size_t tl = target ? strlen(target) : 0, nl = il > fl ? il : fl;
    char *ignore = NULL, *one = NULL, *name = malloc((nl > tl ? nl : tl) + 1),
         *idb = malloc(strlen(id) + 1);
    size_t at = 0;
    int rc = CLI_OK;
    if (!name || !idb) goto oom;
    const char *idn = id_name(id, idb);
    for (const char *p = o->ignore && *o->ignore ? o->ignore : NULL; p;) {
        lm_csv_list_next(&p, name, il + 1);
        if (strcmp(name, idn) == 0) continue;
        char *item = cli_list_item(name);
        int ok = item && list_add(&ignore, &at, item);
        free(item);
        if (!ok) goto oom;
    }
    lm_csv_opts co = lm_csv_defaults();
    co.header = header;
    co.target = id;
    co.target_kind = 1;
    co.ignore = ignore;
    co.features = o->features;
    co.sep = o->sep;
    co.decimal_comma = o->decimal_comma;
    co.missing = o->missing;
    // With a header, first beside one other column: the model's first
    // input, else its second (the id may be an input too, and a read
    // cannot take a column as both target and feature), else its target
    // (the id may be the only input, a categorical one). Three reads at
    // most, each parsing two columns.
    lm_status st = LM_EFORMAT;
    const char *f = o->features, *t = target;
    for (int k = 0; header && k < 3 && st != LM_OK; k++) {
        const char *col = NULL;
        if (k < 2 && f) {
            lm_csv_list_next(&f, name, fl + 1);
            col = name;
        } else if (k == 2 && t) {
            lm_csv_list_next(&t, name, tl + 1);
            col = name;
        } else if (k == 2) {
            col = tname;
        }
        if (!col || !strcmp(col, idn)) continue;
        if ((st = read_id_beside(ids, path, co, col)) == LM_ENOMEM) goto oom;
    }
    // Else as the model reads its inputs. Only the id column is wanted:
    // naming one of the model's inputs as the features skips every other
    // column unparsed. The id may itself be an input (a column the net
    // reads too), which a read cannot take as both target and feature:
    // then the next input is named instead.
    if (st != LM_OK) {
        f = o->features;
        st = LM_EFORMAT;
    }
    for (int k = 0; k < 2 && st == LM_EFORMAT; k++) {
        size_t len = f ? lm_csv_list_next(&f, name, fl + 1) : 0;
        char *item = len ? cli_list_item(name) : NULL;
        if (len && !item) goto oom;
        if (item) {
            free(one);
            co.features = one = item;
        }
        st = cli_csv_read(ids, path, &co);
        if (!co.features || co.features == o->features || !f) break;
    }
    if (st == LM_EFORMAT && co.ignore && co.features) {
        // --id 0 where training ignored column 0 by its name: the list
        // still leaves it out. With the columns named, every other column
        // is skipped anyway, so the list is not needed.
        co.ignore = NULL;
        st = cli_csv_read(ids, path, &co);
        co.ignore = ignore;
    }
    if (st == LM_EFORMAT && target) {
        // The file may hold the training target (text, say): leave it out too.
        if (!list_add(&ignore, &at, target)) goto oom;
        co.ignore = ignore;
        st = cli_csv_read(ids, path, &co);
    }
    if (st == LM_EFORMAT) {
        // The id is then perhaps the only column to read: its text, one
        // hot encoded, else its numbers as the model read them.
        char first[1024];
        snprintf(first, sizeof first, "%s", lm_errmsg());
        *text = id_onehot(ids, path, id, &co, n);
        if (!*text && !(*num = id_numbers(path, id, &co, n))) {
            id_err(path, first);
            rc = CLI_EDATA;
        }
    } else if (st != LM_OK) {
        rc = cli_lib_err(CLI_EDATA, path);
    } else if (ids->n != n || !ids->labels) {
        cli_err("%s: the --id column gave %zu values for %zu rows", path, ids->n, n);
        rc = CLI_EDATA;
    }
    goto done;
oom:
    cli_err("out of memory");
    rc = CLI_EFAIL;
done:
    free(ignore);
    free(one);
    free(name);
    free(idb);
    return rc;
}

/* ------------------------------------------------------------ output
 * All of predict's output goes through these functions, so a new column
 * (an ID carried through, say) is added in one place for CSV and JSON. */

typedef struct pred_out {
    FILE *f;
    lm_net *net;
    const lm_data *d; /* the rows */
    const char *model;
    int classes, proba, json;
    size_t written; /* rows written so far */
    const lm_data *ids; /* --id: ids->class_names[ids->labels[row]], or NULL */
    const float *id_num; /* --id when it is read as numbers: id_num[row], or NULL */
    const char *const *id_text; /* --id when it is read one-hot: id_text[row], or NULL */
    const char *id;     /* the --id column's name as given */
} pred_out;

/* A CSV field, quoted when it holds a separator or quote. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void class_name(const pred_out *o, int c)
{
    const char *name = lm_net_class_name(o->net, c);
    char b[16];
    if (!name) {
        snprintf(b, sizeof b, "%d", c);
        name = b;
    }
    if (o->json) json_str(o->f, name);
    else csv_field(o->f, name);
}

/* CSV: a header line only with --proba ("class,NAME1,NAME2..."). JSON:
 * the opening of one object, the class names first. A model with one
 * sigmoid output has two classes: its output is the probability of class 1. */
static void out_begin(pred_out *o)
{
    int k = o->classes ? cli_model_n_classes(o->net) : lm_net_n_out(o->net);
    if (o->json) {
        fputs("{\"model\": ", o->f);
        json_str(o->f, o->model);
        fprintf(o->f, ", \"task\": \"%s\"", o->classes ? "classes" : "regression");
        if (o->classes) {
            fputs(", \"classes\": [", o->f);
            for (int j = 0; j < k; j++) {
                if (j) fputs(", ", o->f);
                class_name(o, j);
            }
            fputc(']', o->f);
        }
        fputs(", \"predictions\": [", o->f);
        return;
    }
    if (!o->classes || !o->proba) return;
    if (o->id) {
        csv_field(o->f, o->id);
        fputc(',', o->f);
    }
    fputs("class", o->f);
    for (int j = 0; j < k; j++) {
        fputc(',', o->f);
        class_name(o, j);
    }
    fputc('\n', o->f);
}

/* One output row for input row i (0-based) from its outputs p (n_out). */
static void out_row(pred_out *o, size_t i, const float *p)
{
    int k = lm_net_n_out(o->net);
    FILE *f = o->f;
    if (o->json) fprintf(f, "%s\n{\"row\": %zu, ", o->written ? "," : "", i + 1);
    if (o->id) {
        char num[32];
        if (o->id_num) snprintf(num, sizeof num, "%.9g", o->id_num[i]);
        const char *v = o->id_num ? num : o->id_text ? o->id_text[i]
                                                     : o->ids->class_names[o->ids->labels[i]];
        if (o->json) {
            fputs("\"id\": ", f);
            json_str(f, v);
            fputs(", ", f);
        } else {
            csv_field(f, v);
            fputc(',', f);
        }
    }
    if (o->classes) {
        // one output: the probability of class 1, and 1 - it of class 0
        float two[2] = {1.0f - p[0], p[0]};
        const float *q = k == 1 ? two : p;
        int n_cls = k == 1 ? 2 : k;
        if (o->json) fputs("\"class\": ", f);
        class_name(o, cli_predicted_class(p, k));
        if (o->proba && o->json) {
            fputs(", \"proba\": [", f);
            for (int j = 0; j < n_cls; j++) {
                if (j) fputs(", ", f);
                json_num(f, q[j]);
            }
            fputc(']', f);
        } else if (o->proba) {
            for (int j = 0; j < n_cls; j++) fprintf(f, ",%.9g", q[j]); // round-trips a float
        }
    } else if (o->json) {
        fputs(k == 1 ? "\"value\": " : "\"values\": [", f);
        for (int j = 0; j < k; j++) {
            if (j) fputs(", ", f);
            json_num(f, p[j]);
        }
        if (k > 1) fputc(']', f);
    } else {
        for (int j = 0; j < k; j++) fprintf(f, "%s%.9g", j ? "," : "", p[j]);
    }
    fputs(o->json ? "}" : "\n", f);
    o->written++;
}

static void out_end(pred_out *o)
{
    if (o->json) fprintf(o->f, "%s], \"n\": %zu}\n", o->written ? "\n" : "", o->written);
}

/* Predicts every row in chunks and writes the output to o->f (stdout, or
 * the temporary file of an atomic write). 0, or -1 after a message. */
static int write_predictions(FILE *f, void *ctx)
{
    pred_out *o = ctx;
    o->f = f;
    o->written = 0;
    float *x = malloc((size_t)CHUNK * (size_t)lm_net_n_in(o->net) * sizeof *x);
    float *y = malloc((size_t)CHUNK * (size_t)lm_net_n_out(o->net) * sizeof *y);
    int rc = 0;
    if (!x || !y) {
        cli_err("out of memory");
        rc = -1;
    }
    if (!rc) out_begin(o);
    size_t k = (size_t)lm_net_n_out(o->net);
    for (size_t i = 0; !rc && i < o->d->n; i += CHUNK) {
        size_t n = o->d->n - i < CHUNK ? o->d->n - i : CHUNK;
        cli_data_rows(o->d, i, n, x);
        if (lm_net_predict(o->net, x, n, y) != LM_OK) {
            cli_lib_err(CLI_EFAIL, NULL);
            rc = -1;
        }
        for (size_t r = 0; !rc && r < n; r++) out_row(o, i + r, y + r * k);
    }
    if (!rc) out_end(o);
    free(x);
    free(y);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *data = NULL, *target = NULL, *out = NULL, *sep = NULL, *id = NULL;
    int proba = 0, header = -1, json = 0, decimal_comma = 0;
    opt_spec specs[] = {
        opt_str("data", &data, "FILE", "rows to predict: CSV (- for stdin), IDX images, FANN data (each may be gzipped) or NumPy (.npy, .npz)", NULL),
        opt_flag("proba", &proba, 1, "add each class's probability, with a header line"),
        opt_str("id", &id, "COL", "start each line with this column's value (an ID; name or "
                "0-based index)", NULL),
        opt_str("target", &target, "NAME|INDEX",
                "a target column to skip when the file has one", "as in training, else the last"),
        opt_flag("header", &header, 1, "the CSV has a header row"),
        opt_flag("no-header", &header, 0, "the CSV has no header row [detect]"),
        opt_str("sep", &sep, "SEP", "CSV separator: ',', ';' or tab", "as in training, else detect"),
        opt_flag("decimal-comma", &decimal_comma, 1, "CSV numbers are written 5,1 [as in training]"),
        opt_str("out", &out, "FILE", "write the predictions here (atomically), not to stdout", NULL),
        opt_flag("json", &json, 1, "one JSON object: model, task, classes, predictions (one "
                 "object a row), n"),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("predict", specs, argc, argv, 2, pos, 1, &n_pos,
                        "MODEL --data FILE [--proba] [--json] [--out FILE]",
                        "Prints one CSV line per input row: the predicted class as the training "
                        "data named it, or the predicted value(s) for a numeric target. Inputs "
                        "are matched to the model's features by header name when both have "
                        "names; else a file with one column too many drops its target column "
                        "(--target, as in training, else the last).");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !data) {
        cli_err("predict: usage: lamina predict MODEL --data FILE [options]");
        return CLI_EUSAGE;
    }
    // The output must destroy neither input; checked before any work.
    if (out && (cli_same_file(out, data) || cli_same_file(out, pos[0]))) {
        cli_err("predict: --out %s and %s %s are the same file; writing the predictions would "
                "destroy it (name another file)", out, cli_same_file(out, data) ? "--data" : "the model",
                cli_same_file(out, data) ? data : pos[0]);
        return CLI_EUSAGE;
    }
    if (out && !cli_check_writable(out)) return CLI_EFAIL;
    lm_net *net;
    if ((rc = cli_model_load(&net, pos[0]))) return rc;
    cli_model_state_warn(net, pos[0]);
    if (!target) target = cli_meta(net, "target");
    int classes = cli_model_classes(net);
    cli_data cd = {0};
    rc = load_predict_data(&cd, net, data, target, header, sep, decimal_comma);
    lm_data ids = {0};
    float *id_num = NULL;
    const char **id_text = NULL;
    if (!rc && id && cd.is_idx) {
        cli_err("predict: --id takes a CSV column; %s holds %s (output line N is "
                "%s N)", data, cd.is_npy ? "NumPy arrays" : "IDX images", cd.is_npy ? "row" : "image");
        rc = CLI_EUSAGE;
    }
    if (!rc && id && cd.is_fann) {
        cli_err("predict: --id takes a CSV column; %s is FANN data (output line N is pair N)",
                data);
        rc = CLI_EUSAGE;
    }
    if (!rc && id) {
        cli_data_opts mo = cli_data_defaults();
        cli_data_opts_from_model(&mo, net, "predict", sep, decimal_comma);
        // The data read found whether the file has a header: so does the
        // id read (a file of text columns alone gives detection no clue).
        int id_header = header >= 0 ? header : cd.d.feature_names != NULL;
        rc = load_ids(&ids, &id_num, &id_text, data, id, id_header, &mo, target,
                      cli_meta(net, "target_name"), cd.d.n);
    }
    char *idb = id ? malloc(strlen(id) + 1) : NULL;
    if (!rc && id && !idb) {
        cli_err("out of memory");
        rc = CLI_EFAIL;
    }
    pred_out o = {stdout, net, &cd.d, pos[0], classes, proba, json, 0,
                  id && !id_num ? &ids : NULL, id_num, id_text, idb ? id_name(id, idb) : NULL};
    if (!rc && out) {
        rc = cli_write_atomic(out, write_predictions, &o);
    } else if (!rc) {
        rc = write_predictions(stdout, &o) ? CLI_EFAIL : CLI_OK;
        if (!rc && fflush(stdout) != 0) {
            cli_err("cannot write the predictions to stdout");
            rc = CLI_EFAIL;
        }
    }
    lm_data_free(&ids);
    free(id_num);
    free(id_text);
    free(idb);
    cli_data_free(&cd);
    lm_net_free(net);
    return rc;
}
