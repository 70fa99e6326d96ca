/* small.c - when the fused small-net path (small_avx512.c) runs: the
 * parts that any CPU may execute, so they are compiled without the
 * AVX-512 flags. */
#include "internal.h"
#include "gemm_impl.h"
#include "vec_impl.h"

#include <stdlib.h>

static int g_small_on = 1;
void lm__small_enable(int on) { g_small_on = on; }

size_t lm__small_floats(const lm_net *net, size_t rows)
{
    size_t L = (size_t)net->n_layers, per, all;
    if (!lm__small_built || !lm__small_net(net) || !lm__cpu_has("avx512")) return 0;
    if (!lm__mul_ok(L * LM_SMALL_WIDTH, rows, &per) || !lm__mul_ok(L, LM_SMALL_SCRATCH, &all) ||
        per + all < per)
        return 0;
    return per + all;
}

void lm__small_plan_free(lm__small_plan *p) { free(p); }

int lm__small_use(const lm_net *net, const lm_ws *ws)
{
    /* the fused path reproduces the AVX-512 kernels' arithmetic; the
     * variant name is the same string object when that GEMM is in use */
    if (!ws->small || !g_small_on || lm__vec_current() != &lm__vec_avx512 ||
        lm_gemm_variant() != lm__gemm_avx512.name)
        return 0;
    /* The plan fixes the widths (a workspace only meets nets of its own
     * widths); a net of those widths may still have a hidden softmax. */
    for (int l = 0; l < net->n_layers - 1; l++)
        if (net->layers[l].act == LM_SOFTMAX) return 0;
    return 1;
}
