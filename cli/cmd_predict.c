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
                             int header)
{
    cli_data_opts o = cli_data_defaults();
    o.header = header;
    if (cli_is_idx(path)) {
        int rc = cli_data_load(cd, path, &o);
        return rc ? rc : cli_data_fit_columns(cd, net, -1);
    }
    o.no_target = 1;
    lm_csv_opts co = lm_csv_defaults();
    co.header = header;
    co.no_target = 1;
    lm_data probe = {0};
    lm_status st = lm_csv_read(&probe, path, &co);
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
        if (lm_csv_read(&with_target, path, &co) != LM_OK) {
            if (strstr(first, path)) cli_err("%s", first);
            else cli_err("%s: %s", path, first);
            return CLI_EDATA;
        }
        lm_data_free(&with_target);
    }
    int rc = cli_data_load(cd, path, &o);
    if (rc) return rc;
    return cli_data_fit_columns(cd, net, column_index(target));
}

/* Prints a CSV field, quoted when it holds a separator or quote. */
static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_class_name(const lm_net *net, int c)
{
    const char *name = lm_net_class_name(net, c);
    if (name) csv_field(name);
    else printf("%d", c);
}

static void print_rows(const lm_net *net, const float *y, size_t n, int classes, int proba)
{
    int k = lm_net_n_out(net);
    for (size_t r = 0; r < n; r++) {
        const float *p = y + r * (size_t)k;
        if (classes) {
            int best = 0;
            if (k == 1) best = p[0] >= 0.5f;
            for (int j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            print_class_name(net, best);
            if (proba)
                for (int j = 0; j < k; j++) printf(",%.6g", p[j]);
        } else {
            for (int j = 0; j < k; j++) printf("%s%.9g", j ? "," : "", p[j]);
        }
        putchar('\n');
    }
}

static void print_header(const lm_net *net, int classes, int proba)
{
    int k = lm_net_n_out(net);
    if (!classes || !proba) return;
    fputs("class", stdout);
    for (int j = 0; j < k; j++) {
        putchar(',');
        print_class_name(net, j);
    }
    putchar('\n');
}

int cmd_predict(int argc, char **argv)
{
    const char *data = NULL, *target = NULL;
    int proba = 0, header = -1;
    opt_spec specs[] = {
        opt_str("data", &data, "FILE", "rows to predict: CSV or IDX images", NULL),
        opt_flag("proba", &proba, 1, "add each class's probability, with a header line"),
        opt_str("target", &target, "NAME|INDEX",
                "a target column to skip when the file has one", "as in training, else the last"),
        opt_flag("header", &header, 1, "the CSV has a header row"),
        opt_flag("no-header", &header, 0, "the CSV has no header row [detect]"),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("predict", specs, argc, argv, 2, pos, 1, &n_pos,
                        "MODEL --data FILE [--proba]",
                        "Prints one CSV line per input row: the predicted class as the training "
                        "data named it,\nor the predicted value(s) for a numeric target. Inputs "
                        "are matched to the model's features by\nheader name when both have "
                        "names; else a file with one column too many drops its target\ncolumn "
                        "(--target, as in training, else the last).");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !data) {
        cli_err("predict: usage: lamina predict MODEL --data FILE [--proba]");
        return CLI_EUSAGE;
    }
    lm_net *net;
    if (lm_net_load(&net, pos[0]) != LM_OK) return cli_lib_err(CLI_EMODEL, pos[0]);
    cli_model_state_warn(net, pos[0]);
    if (!target) target = lm_net_get_meta(net, "target");
    int classes = cli_model_classes(net);
    cli_data cd = {0};
    float *x = NULL, *y = NULL;
    rc = load_predict_data(&cd, net, data, target, header);
    if (!rc) {
        x = malloc((size_t)CHUNK * (size_t)lm_net_n_in(net) * sizeof *x);
        y = malloc((size_t)CHUNK * (size_t)lm_net_n_out(net) * sizeof *y);
        if (!x || !y) {
            cli_err("out of memory");
            rc = CLI_EFAIL;
        }
    }
    if (!rc) print_header(net, classes, proba);
    for (size_t i = 0; !rc && i < cd.d.n; i += CHUNK) {
        size_t n = cd.d.n - i < CHUNK ? cd.d.n - i : CHUNK;
        cli_data_rows(&cd.d, i, n, x);
        if (lm_net_predict(net, x, n, y) != LM_OK) rc = cli_lib_err(CLI_EFAIL, NULL);
        else print_rows(net, y, n, classes, proba);
    }
    if (!rc && fflush(stdout) != 0) {
        cli_err("cannot write the predictions to stdout");
        rc = CLI_EFAIL;
    }
    free(x);
    free(y);
    cli_data_free(&cd);
    lm_net_free(net);
    return rc;
}
