/* predict_rows.c - inference only: load a model, predict rows, print one
 * line per row (the net's outputs, then the class name when the model
 * has class names).
 *
 *     predict_rows MODEL FILE.csv    every column a feature; the rows are
 *                                    shared between two threads
 *     predict_rows MODEL < rows.txt  a row per line, streamed: numbers
 *                                    separated by ',', ';', tabs or spaces
 *                                    (a first line that is not numbers,
 *                                    a header, is skipped)
 *
 * e.g. a model csv_classifier wrote and the iris features:
 *     cut -d, -f1-4 tests/cli/fixtures/iris_test.csv | predict_rows classifier.lmn
 *
 * Threads: lm_net_predict uses a workspace inside the net, so two threads
 * must not call it on one net at the same time. lm_net_predict_ws only
 * reads the net: each thread brings its own workspace (an lm_ws) and any
 * number of threads may predict from one loaded net at once. */
#include <lamina.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 2
#define MAX_LINE 65536

/* Prints a row's outputs and, for a classifier, the name of the class
 * with the largest output. */
static void print_row(const lm_net *net, const float *y)
{
    int n = lm_net_n_out(net), best = 0;
    for (int i = 0; i < n; i++) {
        printf(i ? ",%.6g" : "%.6g", y[i]);
        if (y[i] > y[best]) best = i;
    }
    /* A one-output classifier (sigmoid) has two names: its output is the
     * probability of the second. */
    if (n == 1 && lm_net_class_name(net, 1)) best = y[0] > 0.5f;
    if (lm_net_class_name(net, best)) printf(",%s", lm_net_class_name(net, best));
    putchar('\n');
}

/* ---------------------------------------------------------- a CSV file */

typedef struct job {
    const lm_net *net; /* shared by every thread, only read */
    const float *x;    /* this thread's rows (n, n_in) */
    float *y;          /* and their outputs (n, n_out) */
    size_t n;
    lm_status st;
    char err[256]; /* lm_errmsg() is per thread: copied here for main */
} job;

static void *predict_part(void *arg)
{
    job *j = arg;
    lm_ws *ws = NULL;
    /* A workspace for up to 64 rows at a time; longer inputs go through
     * it in chunks, with the same results as lm_net_predict. */
    j->st = lm_ws_new(&ws, j->net, 64);
    if (j->st == LM_OK) j->st = lm_net_predict_ws(j->net, ws, j->x, j->n, j->y);
    if (j->st != LM_OK) snprintf(j->err, sizeof j->err, "%s", lm_errmsg());
    lm_ws_free(ws);
    return NULL;
}

static int predict_file(lm_net *net, const char *path)
{
    /* no_target: every column is a feature (without it the last column
     * would be read as the target). */
    lm_csv_opts co = lm_csv_defaults();
    co.no_target = 1;
    lm_data d = {0};
    lm_status st = lm_csv_read(&d, path, &co);
    if (st != LM_OK) {
        fprintf(stderr, "predict_rows: %s\n", lm_errmsg());
        return 1;
    }
    int rc = 1;
    size_t n_out = (size_t)lm_net_n_out(net);
    float *y = NULL;
    if (d.nx != lm_net_n_in(net)) {
        fprintf(stderr, "predict_rows: %s has %d columns, the model takes %d inputs\n", path, d.nx,
                lm_net_n_in(net));
        goto done;
    }
    if (!(y = malloc((d.n ? d.n : 1) * n_out * sizeof *y))) {
        fprintf(stderr, "predict_rows: out of memory\n");
        goto done;
    }
    /* Each thread predicts a contiguous part of the rows into its part of y. */
    job jobs[NTHREADS];
    pthread_t tid[NTHREADS];
    int started[NTHREADS] = {0};
    for (int i = 0; i < NTHREADS; i++) {
        size_t first = d.n * (size_t)i / NTHREADS, last = d.n * (size_t)(i + 1) / NTHREADS;
        jobs[i] = (job){.net = net, .x = (const float *)d.x + first * (size_t)d.nx,
                        .y = y + first * n_out, .n = last - first, .st = LM_OK};
        if (jobs[i].n == 0) continue;
        /* a thread that cannot start: its part runs here instead */
        started[i] = pthread_create(&tid[i], NULL, predict_part, &jobs[i]) == 0;
        if (!started[i]) predict_part(&jobs[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        if (started[i]) pthread_join(tid[i], NULL);
    for (int i = 0; i < NTHREADS; i++)
        if (jobs[i].st != LM_OK) {
            fprintf(stderr, "predict_rows: %s: %s\n", path, jobs[i].err);
            goto done;
        }
    for (size_t r = 0; r < d.n; r++) print_row(net, y + r * n_out);
    rc = 0;
done:
    free(y);
    lm_data_free(&d);
    return rc;
}

/* --------------------------------------------------- rows from stdin */

/* Parses up to n numbers of line into x; returns how many it read, or
 * -1 when something else than numbers and separators is in the line. */
static int parse_row(char *line, float *x, int n)
{
    int k = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) return k;
        if (k == n) return n + 1; /* too many */
        char *end;
        x[k] = strtof(p, &end);
        if (end == p) return -1;
        k++;
        p = end;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p == ',' || *p == ';') p++;
    }
}

static int predict_stream(lm_net *net, FILE *in)
{
    int n_in = lm_net_n_in(net), rc = 1;
    float *x = malloc((size_t)n_in * sizeof *x), *y = malloc((size_t)lm_net_n_out(net) * sizeof *y);
    char *line = malloc(MAX_LINE);
    if (!x || !y || !line) {
        fprintf(stderr, "predict_rows: out of memory\n");
        goto done;
    }
    /* One row at a time, into fixed buffers: memory does not grow with
     * the input, and each row's line comes out as soon as it is read. */
    for (long no = 1; fgets(line, MAX_LINE, in); no++) {
        if (!strchr(line, '\n') && !feof(in)) {
            fprintf(stderr, "predict_rows: line %ld: longer than %d bytes\n", no, MAX_LINE - 1);
            goto done;
        }
        int k = parse_row(line, x, n_in);
        if (k == 0) continue;                /* a blank line */
        if (k < 0 && no == 1) continue;      /* a header */
        if (k < 0) {
            fprintf(stderr, "predict_rows: line %ld: not a row of numbers\n", no);
            goto done;
        }
        if (k != n_in) {
            fprintf(stderr, "predict_rows: line %ld: %s%d numbers, the model takes %d\n", no,
                    k > n_in ? "more than " : "", k > n_in ? n_in : k, n_in);
            goto done;
        }
        lm_status st = lm_net_predict(net, x, 1, y);
        if (st != LM_OK) {
            fprintf(stderr, "predict_rows: line %ld: %s\n", no, lm_errmsg());
            goto done;
        }
        print_row(net, y);
    }
    if (ferror(in)) {
        fprintf(stderr, "predict_rows: cannot read the standard input\n");
        goto done;
    }
    rc = 0;
done:
    free(line);
    free(x);
    free(y);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: predict_rows MODEL [FILE.csv]   (rows from stdin without FILE)\n");
        return 2;
    }
    /* lm_net_load checks the whole file (checksums, sizes): a truncated
     * or foreign file is LM_EFORMAT with a message, never a crash. */
    lm_net *net = NULL;
    if (lm_net_load(&net, argv[1]) != LM_OK) {
        fprintf(stderr, "predict_rows: %s\n", lm_errmsg());
        return 1;
    }
    int rc = argc == 3 ? predict_file(net, argv[2]) : predict_stream(net, stdin);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "predict_rows: cannot write the output\n");
        rc = 1;
    }
    lm_net_free(net);
    return rc;
}
