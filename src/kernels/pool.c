/* pool.c - placeholder serial pool (the threaded pool replaces it). */
#include "kernels.h"

#include <stdlib.h>
#include <unistd.h>

struct lm_pool {
    int n;
};

int lm_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

lm_status lm_pool_new(lm_pool **out, int threads)
{
    *out = malloc(sizeof **out);
    if (!*out) return LM_ENOMEM;
    (*out)->n = threads > 0 ? threads : lm_cpu_count();
    return LM_OK;
}

void lm_pool_free(lm_pool *p) { free(p); }
int lm_pool_size(const lm_pool *p) { return p ? p->n : 1; }

void lm_pool_run(lm_pool *p, int ntasks, void (*fn)(void *ctx, int i), void *ctx)
{
    (void)p;
    for (int i = 0; i < ntasks; i++) fn(ctx, i);
}
