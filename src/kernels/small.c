/* small.c - when the fused small-net path (small_avx512.c) runs: the
 * parts that any CPU may execute, so they are compiled without the
 * AVX-512 flags; and, for builds without small_avx512.c (not x86,
 * mk/isa.sh), the path's absence. */
#include "internal.h"
#include "cpu.h"

#include <stdlib.h>

static int g_small_mode = LM_SMALL_AUTO;
void lm__small_enable(int mode) { g_small_mode = mode; }

size_t lm__small_floats(const lm_net *net, size_t rows)
{
    size_t L = (size_t)net->n_layers, per, all;
    if (!lm__small_built || !lm__small_net(net) || !lm__variant_has("avx512")) return 0;
    if (!lm__mul_ok(L * LM_SMALL_WIDTH, rows, &per) || !lm__mul_ok(L, LM_SMALL_SCRATCH, &all) ||
        per + all < per)
        return 0;
    return per + all;
}

void lm__small_plan_free(lm__small_plan *p) { free(p); }

int lm__small_use(const lm_net *net, const lm_ws *ws, size_t n)
{
    /* the fused path reproduces the arithmetic of one variant's kernels
     * (AVX-512's), so it runs only where that variant is in use */
    if (!ws->small || n > ws->small_rows || g_small_mode == LM_SMALL_OFF ||
        !lm__variant_now()->small)
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

#if !defined(__x86_64__) && !defined(__i386__)
/* small_avx512.c is built for x86 only: elsewhere there is no fused path
 * (lm__small_floats is 0, so these are never called). */
const int lm__small_built = 0;
lm__small_plan *lm__small_plan_new(const lm_net *net, float *pad, size_t rows)
{
    (void)net, (void)pad, (void)rows;
    return NULL;
}
void lm__small_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act)
{
    (void)net, (void)ws, (void)n, (void)skip_last_act;
}
void lm__small_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact)
{
    (void)net, (void)ws, (void)n, (void)last_is_preact;
}
#endif
