/* set_norm.c - shifts a model file's input normalisation (and target
 * scaling), for tests/cli/test_mpi.sh to make a copy of a model that
 * differs from it in these alone: set_norm MODEL DELTA [TARGET_DELTA]
 * adds DELTA to every input mean (TARGET_DELTA to every target mean).
 * Exit 1 if the model does not load or save, or lacks what is shifted. */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>

static int shift(lm_net *net, float delta, int target)
{
    int n = target ? lm_net_n_out(net) : lm_net_n_in(net);
    float *m = malloc(2 * (size_t)n * sizeof *m);
    int ok = m && (target ? lm_net_get_target_norm(net, m, m + n) : lm_net_get_norm(net, m, m + n));
    for (int i = 0; ok && i < n; i++) m[i] += delta;
    ok = ok && (target ? lm_net_set_target_norm(net, m, m + n) : lm_net_set_norm(net, m, m + n)) == LM_OK;
    free(m);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: set_norm MODEL DELTA [TARGET_DELTA]\n");
        return 2;
    }
    lm_net *net;
    if (lm_net_load(&net, argv[1])) {
        fprintf(stderr, "set_norm: %s\n", lm_errmsg());
        return 1;
    }
    int ok = shift(net, strtof(argv[2], NULL), 0) && (argc == 3 || shift(net, strtof(argv[3], NULL), 1));
    if (!ok || lm_net_save(net, argv[1])) {
        fprintf(stderr, "set_norm: %s\n", ok ? lm_errmsg() : "no normalisation to shift");
        ok = 0;
    }
    lm_net_free(net);
    return !ok;
}
