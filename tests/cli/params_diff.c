/* params_diff.c - how far apart two models' parameters (and layer state)
 * are, for tests/cli/test_mpi.sh: prints "max_abs MAX_REL_SCALED N_DIFF"
 * where the scaled difference of a value is |a - b| / (1 + |a|), and the
 * count is of values whose bits differ. Exit 1 if a file does not load or
 * the architectures differ in size. */
#include "lamina.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: params_diff A.lmn B.lmn\n");
        return 2;
    }
    lm_net *a, *b;
    if (lm_net_load(&a, argv[1]) || lm_net_load(&b, argv[2])) {
        fprintf(stderr, "params_diff: %s\n", lm_errmsg());
        return 1;
    }
    size_t n = lm_net_n_params(a);
    if (n != lm_net_n_params(b)) {
        fprintf(stderr, "params_diff: %zu and %zu parameters\n", n, lm_net_n_params(b));
        return 1;
    }
    size_t ns = lm_net_n_state(a);
    if (ns != lm_net_n_state(b)) {
        fprintf(stderr, "params_diff: %zu and %zu floats of layer state\n", ns, lm_net_n_state(b));
        return 1;
    }
    double max_abs = 0, max_scaled = 0;
    size_t differ = 0;
    /* the parameters, then batch norm's running statistics */
    for (size_t i = 0; i < n + ns; i++) {
        const float *pa = i < n ? &lm_net_params(a)[i] : &lm_net_state(a)[i - n];
        const float *pb = i < n ? &lm_net_params(b)[i] : &lm_net_state(b)[i - n];
        double d = fabs((double)*pa - *pb);
        if (memcmp(pa, pb, sizeof(float))) differ++;
        if (!(d <= max_abs)) max_abs = d; /* NaN counts as the largest */
        double s = d / (1 + fabs((double)*pa));
        if (!(s <= max_scaled)) max_scaled = s;
    }
    printf("%.3g %.3g %zu\n", max_abs, max_scaled, differ);
    lm_net_free(a);
    lm_net_free(b);
    return 0;
}
