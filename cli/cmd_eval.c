/* cmd_eval.c - `lamina eval MODEL --data FILE`: loss and accuracy with a
 * confusion matrix and per-class precision, recall and F1 for classes, MSE
 * and R^2 for numbers. Class labels in
 * the file are matched to the model's classes by name. */
#include "cli.h"
#include "opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 1024 };

typedef struct eval_out {
    float loss, acc;
    double mse, rmse, mae, r2;
    size_t *confusion; /* (k, k) rows true, columns predicted */
    int k;
    double *r2k;       /* (outputs) R^2 of each target, regression */
} eval_out;

/* Runs the net over d in chunks, calling fn on each chunk's outputs. */
static int predict_all(lm_net *net, const lm_data *d,
                       void (*fn)(const float *yhat, size_t i0, size_t n, void *ctx), void *ctx)
{
    int nx = lm_net_n_in(net), k = lm_net_n_out(net);
    float *x = malloc((size_t)CHUNK * (size_t)nx * sizeof *x);
    float *y = malloc((size_t)CHUNK * (size_t)k * sizeof *y);
    int rc = CLI_OK;
    if (!x || !y) {
        cli_err("out of memory");
        rc = CLI_EFAIL;
    }
    for (size_t i = 0; !rc && i < d->n; i += CHUNK) {
        size_t n = d->n - i < CHUNK ? d->n - i : CHUNK;
        cli_data_rows(d, i, n, x);
        if (lm_net_predict(net, x, n, y) != LM_OK) rc = cli_lib_err(CLI_EFAIL, NULL);
        else fn(y, i, n, ctx);
    }
    free(x);
    free(y);
    return rc;
}

typedef struct conf_ctx {
    const lm_data *d;
    eval_out *e;
    int w;
} conf_ctx;

static void add_confusion(const float *yhat, size_t i0, size_t n, void *vctx)
{
    conf_ctx *c = vctx;
    int k = c->e->k, w = c->w; // w: outputs a row (1 for two classes as one)
    for (size_t r = 0; r < n; r++) {
        int t = c->d->labels[i0 + r];
        int p = cli_predicted_class(yhat + r * (size_t)w, w);
        c->e->confusion[(size_t)t * (size_t)k + (size_t)p]++;
    }
}

typedef struct reg_ctx {
    const lm_data *d;
    int k;
    double *sse, *sae, *sum, *sumsq; /* (k) each */
} reg_ctx;

static void add_regression(const float *yhat, size_t i0, size_t n, void *vctx)
{
    reg_ctx *c = vctx;
    for (size_t r = 0; r < n; r++)
        for (int j = 0; j < c->k; j++) {
            double t = c->d->y[(i0 + r) * (size_t)c->k + (size_t)j];
            double e = yhat[r * (size_t)c->k + (size_t)j] - t;
            c->sse[j] += e * e;
            c->sae[j] += fabs(e);
            c->sum[j] += t;
            c->sumsq[j] += t * t;
        }
}

/* MSE and MAE over every output; RMSE and R^2 as the means over outputs
 * of each one's sqrt(MSE) and 1 - SSE/SST (scikit-learn's metrics with
 * multioutput='uniform_average'). */
static int regression_metrics(lm_net *net, const lm_data *d, eval_out *e)
{
    int k = lm_net_n_out(net);
    double *buf = calloc(4 * (size_t)k, sizeof *buf);
    if (!buf) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    reg_ctx c = {d, k, buf, buf + k, buf + 2 * k, buf + 3 * k};
    int rc = predict_all(net, d, add_regression, &c);
    double sse = 0, sae = 0, rmse = 0, r2 = 0;
    e->r2k = malloc((size_t)k * sizeof *e->r2k);
    int defined = 0;
    for (int j = 0; j < k; j++) {
        double sst = c.sumsq[j] - c.sum[j] * c.sum[j] / (double)d->n;
        sse += c.sse[j];
        sae += c.sae[j];
        rmse += sqrt(c.sse[j] / (double)d->n);
        // R^2 compares with the targets' own spread; without one (one row,
        // or all targets equal) it is undefined (NaN), not 0 or 1.
        double r2j = NAN;
        if (sst > 1e-12 * (c.sumsq[j] > 0 ? c.sumsq[j] : 1)) {
            r2j = 1 - c.sse[j] / sst;
            r2 += r2j;
            defined++;
        }
        if (e->r2k) e->r2k[j] = r2j;
    }
    e->mse = sse / ((double)d->n * k);
    e->mae = sae / ((double)d->n * k);
    e->rmse = rmse / k;
    e->r2 = defined ? r2 / defined : NAN;
    free(buf);
    return rc;
}

static void free_names(char **s, int k)
{
    for (int j = 0; s && j < k; j++) free(s[j]);
    free(s);
}

/* The class names as the tables show them (cli_name_shown: a name holding
 * a newline or a space stays one cell), "?" or the index where the model
 * has none; NULL when out of memory. */
static char **shown_names(const lm_net *net, int k)
{
    char **s = calloc((size_t)k, sizeof *s);
    for (int j = 0; s && j < k; j++) {
        const char *c = lm_net_class_name(net, j);
        if (!(s[j] = malloc(c ? 4 * strlen(c) + 3 : 16))) {
            free_names(s, j);
            return NULL;
        }
        if (c) cli_name_shown(s[j], c, 0);
        else snprintf(s[j], 16, "%d", j);
    }
    return s;
}

/* Columns a UTF-8 string takes (its characters). */
static int ucols(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s right-aligned in w columns, cut to w characters (never inside one). */
static void print_cell(const char *s, int w)
{
    size_t len = 0;
    int n = 0;
    for (; s[len] && (n < w || ((unsigned char)s[len] & 0xC0) == 0x80); len++)
        n += ((unsigned char)s[len] & 0xC0) != 0x80;
    printf("%*s%.*s", w - n, "", (int)len, s);
}

/* Columns as wide as the longest class name, cut only where the terminal
 * is too narrow for them (off a terminal nothing is cut). */
static void print_confusion(char **names, const eval_out *e)
{
    int k = e->k, longest = 1, term = cli_term_width(fileno(stdout));
    if (k > 40) return; // too wide to read
    for (int j = 0; j < k; j++) {
        int len = ucols(names[j]);
        longest = len > longest ? len : longest;
    }
    // Narrowed to the terminal, a column keeps room for its largest count
    // (10 classes fit 80 columns: Fashion-MNIST's needed 102 at 8 a column).
    int digits = 3;
    for (size_t i = 0; i < (size_t)k * (size_t)k; i++) {
        int d = snprintf(NULL, 0, "%zu", e->confusion[i]);
        digits = d > digits ? d : digits;
    }
    int rw = longest > 12 ? longest : 12, cw = longest > 8 ? longest : 8;
    if (term > 0 && rw + k * (cw + 1) > term) {
        rw = rw > 20 ? 20 : rw;
        int fit = (term - rw) / k - 1;
        cw = fit > cw ? cw : fit < digits ? digits : fit;
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%*s", rw, "");
    for (int j = 0; j < k; j++) {
        putchar(' ');
        print_cell(names[j], cw);
    }
    putchar('\n');
    for (int i = 0; i < k; i++) {
        print_cell(names[i], rw);
        for (int j = 0; j < k; j++)
            printf(" %*zu", cw, e->confusion[(size_t)i * (size_t)k + (size_t)j]);
        putchar('\n');
    }
}

/* Per-class scores from the confusion matrix, as scikit-learn's
 * classification_report: precision TP / (TP + FP), recall TP / (TP + FN),
 * F1 2TP / (2TP + FP + FN), support TP + FN. A precision with no row
 * predicted as the class, a recall with no row of it, is undefined (NaN:
 * "-" and null). The averages run over the classes that occur in the rows
 * or the predictions, an undefined value counting 0 (sklearn's
 * zero_division=0); balanced accuracy is the mean recall over the classes
 * that occur in the rows. */
typedef struct class_score {
    double precision, recall, f1;
    size_t support, predicted;
} class_score;

typedef struct report {
    class_score *c;    /* (k) */
    double macro[3], weighted[3]; /* precision, recall, f1 */
    double balanced;
} report;

static int make_report(const eval_out *e, report *r)
{
    int k = e->k;
    r->c = calloc((size_t)k, sizeof *r->c);
    if (!r->c) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    size_t total = 0;
    int seen = 0, present = 0;
    double recall_sum = 0;
    for (int i = 0; i < 3; i++) r->macro[i] = r->weighted[i] = 0;
    for (int j = 0; j < k; j++) {
        class_score *c = &r->c[j];
        size_t tp = e->confusion[(size_t)j * (size_t)k + (size_t)j];
        for (int i = 0; i < k; i++) {
            c->support += e->confusion[(size_t)j * (size_t)k + (size_t)i];
            c->predicted += e->confusion[(size_t)i * (size_t)k + (size_t)j];
        }
        c->precision = c->predicted ? (double)tp / (double)c->predicted : NAN;
        c->recall = c->support ? (double)tp / (double)c->support : NAN;
        size_t den = c->support + c->predicted; // 2TP + FP + FN
        c->f1 = den ? 2.0 * (double)tp / (double)den : NAN;
        total += c->support;
        if (!den) continue; // in neither the rows nor the predictions
        seen++;
        double v[3] = {c->precision, c->recall, c->f1};
        for (int i = 0; i < 3; i++) {
            double x = isnan(v[i]) ? 0 : v[i];
            r->macro[i] += x;
            r->weighted[i] += x * (double)c->support;
        }
        if (c->support) {
            present++;
            recall_sum += c->recall;
        }
    }
    for (int i = 0; i < 3; i++) {
        r->macro[i] = seen ? r->macro[i] / seen : NAN;
        r->weighted[i] = total ? r->weighted[i] / (double)total : NAN;
    }
    r->balanced = present ? recall_sum / present : NAN;
    return CLI_OK;
}

/* A score in a column of 9: 4 decimals, or "-" when undefined. */
static void print_score(double v)
{
    if (isnan(v)) printf(" %9s", "-");
    else printf(" %9.4f", v);
}

static void print_report(char **shown, const eval_out *e, const report *r, size_t n)
{
    int k = e->k, rw = 12;
    for (int j = 0; j < k; j++) {
        int len = ucols(shown[j]);
        rw = len > rw ? len : rw;
    }
    rw = rw > 30 ? 30 : rw;
    printf("\n%*s %9s %9s %9s %9s\n", rw, "", "precision", "recall", "f1", "support");
    for (int j = 0; j < k; j++) {
        print_cell(shown[j], rw);
        print_score(r->c[j].precision);
        print_score(r->c[j].recall);
        print_score(r->c[j].f1);
        printf(" %9zu\n", r->c[j].support);
    }
    const char *names[2] = {"macro avg", "weighted avg"};
    const double *v[2] = {r->macro, r->weighted};
    for (int i = 0; i < 2; i++) {
        printf("%*s", rw, names[i]);
        for (int m = 0; m < 3; m++) print_score(v[i][m]);
        printf(" %9zu\n", n);
    }
    printf("balanced accuracy: ");
    if (isnan(r->balanced)) printf("undefined\n");
    else printf("%.4f (the mean recall over the classes in the data)\n", r->balanced);
}

static void json_report(const lm_net *net, const eval_out *e, const report *r)
{
    int k = e->k;
    printf(", \"balanced_accuracy\": ");
    json_num(stdout, r->balanced);
    const char *avg[2] = {"macro_avg", "weighted_avg"};
    const double *v[2] = {r->macro, r->weighted};
    for (int i = 0; i < 2; i++) {
        printf(", \"%s\": {\"precision\": ", avg[i]);
        json_num(stdout, v[i][0]);
        printf(", \"recall\": ");
        json_num(stdout, v[i][1]);
        printf(", \"f1\": ");
        json_num(stdout, v[i][2]);
        putchar('}');
    }
    printf(", \"per_class\": [");
    for (int j = 0; j < k; j++) {
        const char *c = lm_net_class_name(net, j);
        printf("%s{\"name\": ", j ? ", " : "");
        if (c) json_str(stdout, c);
        else printf("\"%d\"", j);
        printf(", \"precision\": ");
        json_num(stdout, r->c[j].precision);
        printf(", \"recall\": ");
        json_num(stdout, r->c[j].recall);
        printf(", \"f1\": ");
        json_num(stdout, r->c[j].f1);
        printf(", \"support\": %zu}", r->c[j].support);
    }
    printf("], \"confusion_matrix\": [");
    for (int i = 0; i < k; i++) {
        printf("%s[", i ? ", " : "");
        for (int j = 0; j < k; j++)
            printf("%s%zu", j ? ", " : "", e->confusion[(size_t)i * (size_t)k + (size_t)j]);
        putchar(']');
    }
    putchar(']');
}

static int load_eval_data(cli_data *cd, lm_net *net, const char *path, const char *labels,
                          const char *target, int header, int classes, const char *sep,
                          int decimal_comma)
{
    cli_data_opts o = cli_data_defaults();
    if (!cli_data_opts_from_model(&o, net, "eval", sep, decimal_comma)) return CLI_EUSAGE;
    o.labels = labels;
    o.target = target;
    o.header = header;
    return cli_data_load_scored(cd, net, path, &o, classes, "--labels", 1);
}

int cmd_eval(int argc, char **argv)
{
    const char *data = NULL, *labels = NULL, *target = NULL, *sep = NULL;
    int json = 0, header = -1, decimal_comma = 0;
    opt_spec specs[] = {
        opt_str("data", &data, "FILE", "data to evaluate on: CSV (- for stdin), IDX images, FANN data (each may be gzipped) or NumPy (.npy, .npz)", NULL),
        opt_str("labels", &labels, "FILE", "labels of IDX images or NumPy features (.npy)", NULL),
        opt_str("target", &target, "NAME|INDEX", "CSV target column",
                "as in training, else the last column that is not an input"),
        opt_flag("header", &header, 1, "the CSV has a header row"),
        opt_flag("no-header", &header, 0, "the CSV has no header row [detect]"),
        opt_str("sep", &sep, "SEP", "CSV separator: ',', ';' or tab", "as in training, else detect"),
        opt_flag("decimal-comma", &decimal_comma, 1, "CSV numbers are written 5,1 [as in training]"),
        opt_flag("json", &json, 1, "print one JSON object: n, loss, accuracy (with per-class scores and the confusion matrix) or mse, rmse, mae and r2"),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("eval", specs, argc, argv, 2, pos, 1, &n_pos, "MODEL --data FILE [options]",
                        "Evaluates a model: loss, accuracy, a confusion matrix and per-class "
                        "precision, recall and F1 for classes (matched by name), loss, MSE, "
                        "RMSE, MAE and R^2 for numeric targets.");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !data) {
        cli_err("eval: usage: lamina eval MODEL --data FILE [--labels FILE] [--json]");
        return CLI_EUSAGE;
    }
    lm_net *net;
    if ((rc = cli_model_load(&net, pos[0]))) return rc;
    cli_model_state_warn(net, pos[0]);
    int classes = cli_model_classes(net);
    lm_loss loss = cli_model_loss(net);
    cli_data cd = {0};
    eval_out e = {NAN, NAN, NAN, NAN, NAN, NAN, NULL, 0, NULL};
    report rep = {0};
    int n_out = lm_net_n_out(net);
    rc = load_eval_data(&cd, net, data, labels, target, header, classes, sep, decimal_comma);
    if (!rc && lm_evaluate(net, &cd.d, loss, &e.loss, &e.acc) != LM_OK)
        rc = cli_lib_err(CLI_EDATA, data);
    if (!rc && classes) {
        e.k = cli_model_n_classes(net);
        e.confusion = calloc((size_t)e.k * (size_t)e.k, sizeof *e.confusion);
        conf_ctx c = {&cd.d, &e, n_out};
        if (!e.confusion) rc = CLI_EFAIL;
        else rc = predict_all(net, &cd.d, add_confusion, &c);
        if (!rc) rc = make_report(&e, &rep);
    } else if (!rc) {
        rc = regression_metrics(net, &cd.d, &e);
    }
    if (!rc && json) {
        printf("{\"n\": %zu, \"loss\": ", cd.d.n);
        json_num(stdout, e.loss);
        printf(", \"loss_name\": \"%s\"", lm_loss_name(loss));
        if (classes) {
            printf(", \"accuracy\": ");
            json_num(stdout, e.acc);
            json_report(net, &e, &rep);
        } else {
            printf(", \"mse\": ");
            json_num(stdout, e.mse);
            printf(", \"rmse\": ");
            json_num(stdout, e.rmse);
            printf(", \"mae\": ");
            json_num(stdout, e.mae);
            printf(", \"r2\": ");
            json_num(stdout, e.r2);
            if (n_out > 1 && e.r2k) {
                printf(", \"targets\": [");
                for (int j = 0; j < n_out; j++) {
                    const char *t = lm_data_target_name(&cd.d, j);
                    printf("%s{\"name\": ", j ? ", " : "");
                    if (t) json_str(stdout, t);
                    else fputs("null", stdout);
                    printf(", \"r2\": ");
                    json_num(stdout, e.r2k[j]);
                    putchar('}');
                }
                putchar(']');
            }
        }
        printf("}\n");
    } else if (!rc) {
        char **shown = classes ? shown_names(net, e.k) : NULL;
        if (classes && !shown) {
            cli_err("eval: out of memory");
            rc = CLI_EFAIL;
        } else {
            printf("%s on %s: %zu row%s\nloss (%s%s): %.6g\n", pos[0], data, cd.d.n,
                   cli_s(cd.d.n), lm_loss_name(loss),
                   lm_net_get_target_norm(net, NULL, NULL) ? ", standardised targets" : "", e.loss);
        }
        if (shown) {
            printf("accuracy:  %.4f\n", e.acc);
            print_confusion(shown, &e);
            print_report(shown, &e, &rep, cd.d.n);
            free_names(shown, e.k);
        } else if (!rc) {
            printf("MSE:       %.6g\nRMSE:      %.6g%s\nMAE:       %.6g\n", e.mse, e.rmse,
                   n_out > 1 ? " (mean over the targets)" : "", e.mae);
            if (isnan(e.r2))
                printf("R^2:       undefined (the targets do not vary over %s %zu row%s)\n",
                       cd.d.n == 1 ? "this" : "these", cd.d.n, cli_s(cd.d.n));
            else
                printf("R^2:       %.4f%s\n", e.r2, n_out > 1 ? " (mean over the targets)" : "");
            for (int j = 0; n_out > 1 && e.r2k && j < n_out; j++) {
                const char *t = lm_data_target_name(&cd.d, j);
                if (isnan(e.r2k[j])) printf("  R^2 %-20s undefined\n", t ? t : "?");
                else printf("  R^2 %-20s %.4f\n", t ? t : "?", e.r2k[j]);
            }
        }
    }
    free(e.confusion);
    free(e.r2k);
    free(rep.c);
    cli_data_free(&cd);
    lm_net_free(net);
    return rc;
}
