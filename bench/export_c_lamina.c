/* export_c_lamina.c - the peer of export_c_run.c inside lamina: median
 * latency of lm_net_predict on one row (one thread), over the same rows.
 * Usage: export_c_lamina MODEL.lmn IMAGES.idx [REPS]. */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    enum { ROWS = 1000 };
    lm_net *net;
    if (argc < 3 || lm_net_load(&net, argv[1]) != LM_OK) {
        fprintf(stderr, "usage: export_c_lamina MODEL.lmn IMAGES.idx [REPS]: %s\n", lm_errmsg());
        return 2;
    }
    lm_net_set_threads(net, 1);
    int n_in = lm_net_n_in(net), n_out = lm_net_n_out(net), reps = argc > 3 ? atoi(argv[3]) : 2000;
    unsigned char *px = malloc((size_t)ROWS * (size_t)n_in);
    float *x = malloc((size_t)ROWS * (size_t)n_in * sizeof *x), *y = malloc((size_t)n_out * sizeof *y);
    double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t), sink = 0;
    FILE *f = fopen(argv[2], "rb");
    if (!px || !x || !y || !t || !f || reps < 1 || fseek(f, 16, SEEK_SET) ||
        fread(px, (size_t)n_in, ROWS, f) != ROWS) {
        fprintf(stderr, "export_c_lamina: cannot read %d rows of %s\n", ROWS, argv[2]);
        return 2;
    }
    fclose(f);
    for (size_t i = 0; i < (size_t)ROWS * (size_t)n_in; i++) x[i] = px[i];
    for (int r = 0; r < 50; r++) lm_net_predict(net, x + (size_t)r * n_in, 1, y);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        lm_net_predict(net, x + (size_t)(r % ROWS) * n_in, 1, y);
        t[r] = (now() - t0) * 1e6;
        sink += y[0];
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    lm_net_predict(net, x, 1, y);
    printf("latency_us=%.3f out0=", t[reps / 2]);
    for (int i = 0; i < n_out; i++) printf("%s%.9g", i ? "," : "", y[i]);
    printf(" sink=%g\n", sink);
    free(px);
    free(x);
    free(y);
    free(t);
    lm_net_free(net);
    return 0;
}
