/* small.c - when the fused small-net path (small_avx512.c) runs: the
 * parts that any CPU may execute, so they are compiled without the
 * AVX-512 flags. */
#include "internal.h"
#include "gemm_impl.h"
#include "vec_impl.h"

#include <stdlib.h>

static int g_small_mode = LM_SMALL_AUTO;
void lm__small_enable(int mode) { g_small_mode = mode; }

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

int lm__small_use(const lm_net *net, const lm_ws *ws, size_t n)
{
    /* the fused path reproduces the AVX-512 kernels' arithmetic; the
     * variant name is the same string object when that GEMM is in use */
    if (!ws->small || n > ws->small_rows || g_small_mode == LM_SMALL_OFF ||
        lm__vec_current() != &lm__vec_avx512 || lm_gemm_variant() != lm__gemm_avx512.name)
        return 0;
    /* The plan fixes the widths (a workspace only meets nets of its own
     * widths); a net of those widths may still have a hidden softmax. */
    size_t macs = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (L->act == LM_SOFTMAX && l < net->n_layers - 1) return 0;
        macs += (size_t)L->n_in * (size_t)L->n_out;
    }
    return g_small_mode == LM_SMALL_ALWAYS || n <= LM_SMALL_MAX_MACS / macs;
}
