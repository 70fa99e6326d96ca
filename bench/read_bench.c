/* read_bench.c - how long lamina's readers take over one data file:
 *
 *     read_bench csv|npy|idx FILE [LABELS]
 *
 * Prints "seconds=S rows=N features=F" for the best of three reads
 * (lm_csv_read, lm_npy_read or lm_idx_read; a .gz is inflated as it is
 * read). bench/read.sh runs it beside numpy's and pandas' readers. */
#include "lamina.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: read_bench csv|npy|idx FILE [LABELS]\n");
        return 2;
    }
    const char *kind = argv[1], *path = argv[2], *labels = argc > 3 ? argv[3] : NULL;
    double best = 1e30;
    lm_data d;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        lm_status st = !strcmp(kind, "csv")   ? lm_csv_read(&d, path, NULL)
                       : !strcmp(kind, "npy") ? lm_npy_read(&d, path, labels)
                                              : lm_idx_read(&d, path, labels);
        double t = now() - t0;
        if (st != LM_OK) {
            fprintf(stderr, "read_bench: %s\n", lm_errmsg());
            return 1;
        }
        if (t < best) best = t;
        if (rep < 2) lm_data_free(&d);
    }
    printf("seconds=%.4f rows=%zu features=%d\n", best, d.n, d.nx);
    lm_data_free(&d);
    return 0;
}
