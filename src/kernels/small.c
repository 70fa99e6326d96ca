/* small.c - the parts of the fused small-chain kernels (small.h) that any
 * CPU may execute, so they are compiled without the AVX-512 flags: the
 * sizes, the variant check; and, for builds without small_avx512.c (not
 * x86, mk/isa.sh), the kernels' absence. */
#include "small.h"

#include <stdint.h>
#include <stdlib.h>

size_t lm_small_floats(int n_layers, size_t rows)
{
    if (!lm__small_built || n_layers < 1 || !lm__variant_has("avx512")) return 0;
    /* per layer: a chunk of 16 floats for each row's block (at most one a
     * row), then the scratch */
    size_t L = (size_t)n_layers, per = L * LM_SMALL_WIDTH, all = L * LM_SMALL_SCRATCH;
    if (rows > SIZE_MAX / per) return 0;
    per *= rows;
    return per + all < per ? 0 : per + all;
}

void lm_small_free(lm_small *k) { free(k); }

#if !defined(__x86_64__) && !defined(__i386__)
/* small_avx512.c is built for x86 only: elsewhere there are no fused
 * kernels (lm_small_floats is 0, so these are never called). */
const int lm__small_built = 0;
lm_small *lm_small_new(int n_layers, const int *widths, float *pad, size_t rows)
{
    (void)n_layers, (void)widths, (void)pad, (void)rows;
    return NULL;
}
void lm_small_forward(lm_small *k, const lm_small_layer *layer, const float *x, float *out, size_t n)
{
    (void)k, (void)layer, (void)x, (void)out, (void)n;
}
void lm_small_backward(lm_small *k, const lm_small_layer *layer, const float *x, const float *dout,
                       size_t n)
{
    (void)k, (void)layer, (void)x, (void)dout, (void)n;
}
#endif
