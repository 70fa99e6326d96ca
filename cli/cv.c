/* cv.c - `lamina train --cv K`: k-fold cross-validation. Assigns each row
 * to one of K folds (stratified by class as scikit-learn's StratifiedKFold
 * with shuffle=True, else shuffled as its KFold), hands each fold's
 * training part to the trainer (cmd_train.c trains a fresh net on it, so
 * normalisation and balanced class weights come from those rows alone),
 * scores the held-out fold, and prints per-fold lines, the mean and the
 * population standard deviation (ddof 0, numpy's scores.std()). */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Fisher-Yates over v (n) with rng. */
static void shuffle_ints(int *v, size_t n, lm_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)lm_rng_below(rng, i);
        int t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The fold of each row into fold (n). Classes: StratifiedKFold's
 * allocation (the rows sorted by class, the classes in the order they
 * first appear, dealt to the folds in turn, so
 * each fold holds each class's rows as evenly as can be and the folds'
 * sizes differ by one at most), each class's fold numbers shuffled with
 * rng. Numbers: a shuffled order cut in K parts, the first n % K one row
 * larger (KFold). 0, or -1 out of memory. */
static int assign_folds(const lm_data *d, int k, lm_rng *rng, int *fold)
{
    size_t n = d->n;
    if (!d->labels) {
        int *perm = malloc(n * sizeof *perm);
        if (!perm) return -1;
        for (size_t i = 0; i < n; i++) perm[i] = (int)i;
        shuffle_ints(perm, n, rng);
        size_t at = 0;
        for (int f = 0; f < k; f++) {
            size_t size = n / (size_t)k + ((size_t)f < n % (size_t)k);
            for (size_t i = 0; i < size; i++) fold[perm[at++]] = f;
        }
        free(perm);
        return 0;
    }
    int nc = d->n_classes;
    size_t *count = calloc((size_t)nc, sizeof *count), *alloc = calloc((size_t)nc * (size_t)k, sizeof *alloc);
    int *folds = malloc(n * sizeof *folds), *order = malloc((size_t)nc * sizeof *order), no = 0;
    int ok = count && alloc && folds && order;
    // The classes in the order they first appear, as scikit-learn deals
    // them (so its allocation is this one, fold for fold).
    for (size_t i = 0; ok && i < n; i++)
        if (count[d->labels[i]]++ == 0) order[no++] = d->labels[i];
    // Position p of the rows sorted in that order goes to fold p % k.
    size_t start = 0;
    for (int o = 0; ok && o < no; start += count[order[o]], o++)
        for (size_t p = start; p < start + count[order[o]]; p++)
            alloc[(size_t)order[o] * (size_t)k + p % (size_t)k]++;
    for (int o = 0; ok && o < no; o++) {
        int c = order[o];
        size_t m = 0;
        for (int f = 0; f < k; f++)
            for (size_t i = 0; i < alloc[(size_t)c * (size_t)k + (size_t)f]; i++) folds[m++] = f;
        shuffle_ints(folds, m, rng);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (d->labels[i] == c) fold[i] = folds[m++];
    }
    free(order);
    free(count);
    free(alloc);
    free(folds);
    return ok ? 0 : -1;
}

/* The rows of d in fold f (held 1) or in every other fold (held 0), as a
 * view with its own copies of the rows (x, labels, y); names are d's.
 * Freed by part_free. 0, or -1 out of memory. */
static int part_new(const lm_data *d, const int *fold, int f, int held, lm_data *out)
{
    size_t n = 0, nx = (size_t)d->nx, ny = (size_t)d->ny;
    size_t xb = d->x_type == LM_U8 ? 1 : sizeof(float);
    for (size_t i = 0; i < d->n; i++) n += (fold[i] == f) == held;
    *out = *d;
    out->owned_ = NULL;
    out->n = n;
    unsigned char *x = malloc(n * nx * xb + 1);
    int32_t *labels = d->labels ? malloc(n * sizeof *labels + 1) : NULL;
    float *y = d->y ? malloc(n * ny * sizeof *y + 1) : NULL;
    out->x = x;
    out->labels = labels;
    out->y = y;
    if (!x || (d->labels && !labels) || (d->y && !y)) return -1;
    for (size_t i = 0, r = 0; i < d->n; i++) {
        if ((fold[i] == f) != held) continue;
        memcpy(x + r * nx * xb, (const unsigned char *)d->x + i * nx * xb, nx * xb);
        if (labels) labels[r] = d->labels[i];
        if (y) memcpy(y + r * ny, d->y + i * ny, ny * sizeof *y);
        r++;
    }
    return 0;
}

static void part_free(lm_data *d)
{
    free((void *)d->x);
    free((void *)d->labels);
    free((void *)d->y);
    memset(d, 0, sizeof *d);
}

/* R^2 and RMSE of net on d in the targets' own units, as `eval` gives
 * them: the means over the outputs of 1 - SSE/SST (NaN where a target has
 * no spread) and of sqrt(SSE/n) (scikit-learn's uniform_average). */
static int regression_scores(lm_net *net, const lm_data *d, double *r2, double *rmse)
{
    enum { CHUNK = 256 };
    int nx = lm_net_n_in(net), k = lm_net_n_out(net);
    float *x = malloc((size_t)CHUNK * (size_t)nx * sizeof *x);
    float *p = malloc((size_t)CHUNK * (size_t)k * sizeof *p);
    double *s = calloc(3 * (size_t)k, sizeof *s); // sse, sum, sumsq of each output
    int rc = x && p && s ? CLI_OK : CLI_EFAIL;
    if (rc) cli_err("out of memory");
    for (size_t i = 0; !rc && i < d->n; i += CHUNK) {
        size_t m = d->n - i < CHUNK ? d->n - i : CHUNK;
        cli_data_rows(d, i, m, x);
        if (lm_net_predict(net, x, m, p) != LM_OK) {
            rc = cli_lib_err(CLI_EFAIL, NULL);
            break;
        }
        for (size_t r = 0; r < m; r++)
            for (int j = 0; j < k; j++) {
                double t = d->y[(i + r) * (size_t)k + (size_t)j], e = p[r * (size_t)k + (size_t)j] - t;
                s[j] += e * e;
                s[k + j] += t;
                s[2 * k + j] += t * t;
            }
    }
    double sr2 = 0, srmse = 0;
    int defined = 0;
    for (int j = 0; !rc && j < k; j++) {
        double sst = s[2 * k + j] - s[k + j] * s[k + j] / (double)d->n;
        srmse += sqrt(s[j] / (double)d->n);
        if (sst > 1e-12 * (s[2 * k + j] > 0 ? s[2 * k + j] : 1)) {
            sr2 += 1 - s[j] / sst;
            defined++;
        }
    }
    *r2 = defined ? sr2 / defined : NAN;
    *rmse = srmse / k;
    free(x);
    free(p);
    free(s);
    return rc;
}

/* Mean and population standard deviation (ddof 0) of v (n), NaNs left
 * out (a fold whose R^2 is undefined); NaN when none is left. */
static void mean_std(const double *v, int n, double *mean, double *std)
{
    double sum = 0, ss = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) sum += v[i], m++;
    *mean = m ? sum / m : NAN;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - *mean) * (v[i] - *mean);
    *std = m ? sqrt(ss / m) : NAN;
}

/* The figures a result holds, for the summary, the JSON and the metadata:
 * accuracy (classes) or r2 and rmse (numbers), then the loss. */
static int figures(const cli_cv *cv, const char **name, const double **v)
{
    int n = 0;
    if (cv->classes) {
        name[n] = "accuracy", v[n++] = cv->acc;
    } else {
        name[n] = "r2", v[n++] = cv->r2;
        name[n] = "rmse", v[n++] = cv->rmse;
    }
    name[n] = "loss", v[n++] = cv->loss;
    return n;
}

void cli_cv_free(cli_cv *cv)
{
    free(cv->acc);
    free(cv->r2);
    free(cv->rmse);
    free(cv->loss);
    free(cv->rows);
    free(cv->held);
    memset(cv, 0, sizeof *cv);
}

int cli_cv_run(cli_cv *cv, const lm_data *d, int k, uint64_t seed, lm_loss loss, int quiet,
               cli_cv_train_fn train, void *ctx)
{
    memset(cv, 0, sizeof *cv);
    cv->k = k;
    cv->classes = d->labels != NULL;
    int *fold = malloc(d->n * sizeof *fold);
    cv->acc = calloc((size_t)k, sizeof *cv->acc);
    cv->r2 = calloc((size_t)k, sizeof *cv->r2);
    cv->rmse = calloc((size_t)k, sizeof *cv->rmse);
    cv->loss = calloc((size_t)k, sizeof *cv->loss);
    cv->rows = calloc((size_t)k, sizeof *cv->rows);
    cv->n_classes = cv->classes ? d->n_classes : 0;
    cv->held = calloc((size_t)k * (size_t)cv->n_classes + 1, sizeof *cv->held);
    // The folds' own stream from the seed: each fold's net then starts
    // from lm_rng_seed(seed) as a run without --cv does.
    lm_rng rng = lm_rng_seed(seed ^ 0x6376666f6c6473ull); // "cvfolds"
    if (!fold || !cv->acc || !cv->r2 || !cv->rmse || !cv->loss || !cv->rows || !cv->held ||
        assign_folds(d, k, &rng, fold)) {
        free(fold);
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    for (size_t i = 0; cv->classes && i < d->n; i++)
        cv->held[(size_t)fold[i] * (size_t)cv->n_classes + (size_t)d->labels[i]]++;
    if (cv->classes && !quiet) {
        // As scikit-learn warns: a class with fewer rows than folds is
        // missing from some folds' held-out part.
        size_t least = d->n;
        int which = 0;
        for (int c = 0; c < d->n_classes; c++) {
            size_t m = 0;
            for (size_t i = 0; i < d->n; i++) m += d->labels[i] == c;
            if (m < least) least = m, which = c;
        }
        if (least < (size_t)k)
            fprintf(stderr, "warning: --cv %d: class '%s' has only %zu row%s, fewer than the folds\n",
                    k, d->class_names && d->class_names[which] ? d->class_names[which] : "?", least,
                    cli_s(least));
    }
    int rc = CLI_OK;
    for (int f = 0; f < k && !rc; f++) {
        lm_data fit, held;
        lm_net *net = NULL;
        float l = NAN, a = NAN;
        if (part_new(d, fold, f, 0, &fit) || part_new(d, fold, f, 1, &held)) {
            cli_err("out of memory");
            rc = CLI_EFAIL;
        }
        if (!rc) rc = train(ctx, f + 1, &fit, &held, &net);
        if (!rc && lm_evaluate(net, &held, loss, &l, &a)) rc = cli_lib_err(CLI_EFAIL, NULL);
        cv->loss[f] = l;
        cv->acc[f] = a;
        cv->r2[f] = cv->rmse[f] = NAN;
        cv->rows[f] = held.n;
        if (!rc && !cv->classes) rc = regression_scores(net, &held, &cv->r2[f], &cv->rmse[f]);
        if (!rc && !quiet) {
            if (cv->classes)
                fprintf(stderr, "fold %d/%d  accuracy %.4f  loss %.6f  (trained on %zu rows, held out %zu)\n",
                        f + 1, k, cv->acc[f], cv->loss[f], fit.n, held.n);
            else
                fprintf(stderr, "fold %d/%d  r2 %.4f  rmse %.6g  loss %.6f  (trained on %zu rows, held out %zu)\n",
                        f + 1, k, cv->r2[f], cv->rmse[f], cv->loss[f], fit.n, held.n);
            fflush(stderr);
        }
        part_free(&fit);
        part_free(&held);
        if (!rc) cv->done++;
    }
    free(fold);
    return rc;
}

/* Appends to *s (*len bytes, NUL-terminated, *cap allocated; NULL to
 * start), growing it: a figure a fold, however many folds (--cv K up to
 * the rows, leave-one-out), none cut off. Once out of memory *s is NULL. */
static void grow_append(char **s, size_t *cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (*len && !*s)) return;
    if (*len + (size_t)n + 1 > *cap) {
        size_t c = (*len + (size_t)n + 1) * 2;
        char *b = realloc(*s, c);
        if (!b) {
            free(*s);
            *s = NULL;
            return;
        }
        *s = b;
        *cap = c;
    }
    va_start(ap, fmt);
    vsnprintf(*s + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

void cli_cv_summary(FILE *f, const cli_cv *cv)
{
    const char *name[3];
    const double *v[3];
    int n = figures(cv, name, v);
    char *line = NULL;
    size_t at = 0, cap = 0;
    grow_append(&line, &cap, &at, "cv %d folds:", cv->k);
    for (int i = 0; i < n; i++) {
        double mean, std;
        mean_std(v[i], cv->done, &mean, &std);
        grow_append(&line, &cap, &at, "%s %s %.3f +- %.3f (", i ? ";" : "", name[i], mean, std);
        for (int j = 0; j < cv->done; j++) grow_append(&line, &cap, &at, "%s%.3f", j ? " " : "", v[i][j]);
        grow_append(&line, &cap, &at, ")");
    }
    if (line) cli_wrap(f, line, 0, 2, cli_out_width(fileno(f)), ";");
    else cli_err("out of memory");
    free(line);
}

void cli_cv_json(FILE *f, const cli_cv *cv)
{
    const char *name[3];
    const double *v[3];
    int n = figures(cv, name, v);
    fprintf(f, "{\"folds\": %d, \"stratified\": %s, \"rows\": [", cv->k, cv->classes ? "true" : "false");
    for (int j = 0; j < cv->done; j++) fprintf(f, "%s%zu", j ? ", " : "", cv->rows[j]);
    fputs("]", f);
    if (cv->classes) { // each class's rows held out a fold: stratified
        fputs(", \"rows_by_class\": [", f);
        for (int j = 0; j < cv->done; j++) {
            fputs(j ? ", [" : "[", f);
            for (int c = 0; c < cv->n_classes; c++)
                fprintf(f, "%s%zu", c ? ", " : "", cv->held[(size_t)j * (size_t)cv->n_classes + (size_t)c]);
            fputs("]", f);
        }
        fputs("]", f);
    }
    for (int i = 0; i < n; i++) {
        double mean, std;
        mean_std(v[i], cv->done, &mean, &std);
        fprintf(f, ", \"%s\": [", name[i]);
        for (int j = 0; j < cv->done; j++) {
            fputs(j ? ", " : "", f);
            json_num(f, v[i][j]);
        }
        fprintf(f, "], \"%s_mean\": ", name[i]);
        json_num(f, mean);
        fprintf(f, ", \"%s_std\": ", name[i]);
        json_num(f, std);
    }
    fputs("}", f);
}

void cli_cv_meta(lm_net *net, const cli_cv *cv)
{
    static const char *const keys[] = {"cv", "cv_accuracy", "cv_accuracy_std", "cv_accuracy_folds",
                                       "cv_r2", "cv_r2_std", "cv_r2_folds", "cv_rmse", "cv_rmse_std",
                                       "cv_rmse_folds", "cv_loss", "cv_loss_std", "cv_loss_folds", NULL};
    for (int i = 0; keys[i]; i++) (void)lm_net_set_meta(net, keys[i], NULL); // none from an earlier run
    if (!cv || !cv->done) return;
    char b[4096], key[32];
    snprintf(b, sizeof b, "%d", cv->k);
    (void)lm_net_set_meta(net, "cv", b);
    const char *name[3];
    const double *v[3];
    int n = figures(cv, name, v);
    for (int i = 0; i < n; i++) {
        double mean, std;
        mean_std(v[i], cv->done, &mean, &std);
        const double mv[2] = {mean, std};
        for (int s = 0; s < 2; s++) {
            snprintf(key, sizeof key, "cv_%s%s", name[i], s ? "_std" : "");
            if (isnan(mv[s])) continue;
            snprintf(b, sizeof b, "%.6g", mv[s]);
            (void)lm_net_set_meta(net, key, b);
        }
        char *folds = NULL;
        size_t at = 0, cap = 0;
        for (int j = 0; j < cv->done; j++) grow_append(&folds, &cap, &at, "%s%.6g", j ? "," : "", v[i][j]);
        snprintf(key, sizeof key, "cv_%s_folds", name[i]);
        (void)lm_net_set_meta(net, key, folds); // all the folds (NULL out of memory: none)
        free(folds);
    }
}
