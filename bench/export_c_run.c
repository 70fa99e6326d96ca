/* export_c_run.c - single-row latency of a model exported by `lamina
 * export --format c` (bench/export_c.sh). Compiled together with the
 * exported NAME.c:
 *   cc -O2 -include NAME.h -DPREDICT=NAME_predict -DN_IN=NAME_N_IN
 *      -DN_OUT=NAME_N_OUT export_c_run.c NAME.c -lm
 * Usage: export_c_run IMAGES.idx [REPS]: IMAGES a u8 IDX file of rows of
 * N_IN pixels (raw, the model normalises). Prints latency_us (median of
 * REPS single-row calls, default 2000, over the first 1000 rows) and
 * out0 (row 0's outputs, for bench/export_c_onnx.py to compare). */
#define _POSIX_C_SOURCE 200809L
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
    static unsigned char px[ROWS][N_IN];
    static float x[ROWS][N_IN];
    float y[N_OUT];
    int reps = argc > 2 ? atoi(argv[2]) : 2000, i, r;
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t), sink = 0;
    if (!f || !t || reps < 1 || fseek(f, 16, SEEK_SET) || fread(px, N_IN, ROWS, f) != ROWS) {
        fprintf(stderr, "usage: export_c_run IMAGES.idx [REPS] (at least %d rows)\n", ROWS);
        return 2;
    }
    fclose(f);
    for (r = 0; r < ROWS; r++)
        for (i = 0; i < N_IN; i++) x[r][i] = px[r][i];
    for (r = 0; r < 50; r++) PREDICT(x[r], y); /* warm the caches */
    for (r = 0; r < reps; r++) {
        double t0 = now();
        PREDICT(x[r % ROWS], y);
        t[r] = (now() - t0) * 1e6;
        sink += y[0];
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    PREDICT(x[0], y);
    printf("latency_us=%.3f out0=", t[reps / 2]);
    for (i = 0; i < N_OUT; i++) printf("%s%.9g", i ? "," : "", y[i]);
    printf(" sink=%g\n", sink);
    free(t);
    return 0;
}
