/* small_plan.c - the fused small-net path as a plan the net owns.
 *
 * A tiny net (the tutorial's 3-4-1) spends most of a general step on
 * per-call costs: GEMM dispatch, stride loops over a handful of values,
 * separate activation passes. The fused kernels (kernels/small.h) run
 * all the layers at once in registers instead. They know widths and
 * arrays only; this file is where the net meets them:
 *
 *  - which nets may take the path (lm__small_net: matrix layers, every
 *    width at most LM_SMALL_WIDTH, softmax only last);
 *  - the plan a workspace owns (lm__small_plan_new, from lm__ws_alloc):
 *    the kernel made for the net's widths over the workspace's buffers,
 *    and room for the per-call description of the layers;
 *  - when the path runs (lm__small_use: the kernel variant it reproduces
 *    is in use, the net given fits the plan, and the rows are few enough
 *    for the path to win);
 *  - the net's description (lm__small_describe): its layers' weights,
 *    biases and gradients as plain pointers into its flat buffers, with
 *    whether it fits and its row limit, made again only when the
 *    workspace meets another net or a changed one (lm_net.stamp; a
 *    workspace may serve any net of its widths, lm_net_predict_ws);
 *  - each call (small_plan.h, inline in net.c's forward and backward):
 *    the last activation as the kernels apply it, and what is not
 *    elementwise: a softmax output goes through act.c on the dense rows,
 *    after the forward and before the backward, as the general path
 *    does it.
 *
 * So the call graph runs one way: net.c -> small_plan.{c,h} -> kernels/;
 * nothing in kernels/ reads a net (tests/test_layering.sh checks). */
#include "small_plan.h"
#include "layers/layer.h"

#include <stdlib.h>
#include <string.h>

static int g_small_mode = LM_SMALL_AUTO;
void lm__small_enable(int mode) { g_small_mode = mode; }

int lm__small_net(const lm_net *net)
{
    if (net->n_layers == 0 || net->n_in > LM_SMALL_WIDTH) return 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!(L->kind->flags & LM__KIND_MATMUL) || L->n_out > LM_SMALL_WIDTH ||
            (L->act == LM_SOFTMAX && l < net->n_layers - 1))
            return 0;
    }
    return 1;
}

size_t lm__small_floats(const lm_net *net, size_t rows)
{
    return lm__small_net(net) ? lm_small_floats(net->n_layers, rows) : 0;
}

lm__small_plan *lm__small_plan_new(const lm_net *net, float *pad, size_t rows)
{
    /* one block: the plan, its layer descriptions, the widths */
    size_t L = (size_t)net->n_layers;
    size_t bytes = sizeof(lm__small_plan) + L * sizeof(lm_small_layer) + (L + 1) * sizeof(int);
    lm__small_plan *p = lm__alloc(1, bytes, "the small-net plan");
    if (!p) return NULL;
    /* no net described yet: stamp 0 is no net's (stamps start at 1).
     * Left as malloc gave it, a stale word equal to the net's stamp
     * skipped the description and ran the kernels on garbage pointers */
    p->stamp = 0;
    p->fits = 0;
    p->n_layers = net->n_layers;
    p->layer = (lm_small_layer *)(p + 1);
    p->widths = (int *)(p->layer + L);
    p->widths[0] = net->n_in;
    for (size_t l = 0; l < L; l++) p->widths[l + 1] = net->layers[l].n_out;
    p->k = lm_small_new(net->n_layers, p->widths, pad, rows);
    if (!p->k) {
        free(p);
        lm__err(LM_ENOMEM, "out of memory for the small-net kernels");
        return NULL;
    }
    return p;
}

void lm__small_plan_free(lm__small_plan *p)
{
    if (!p) return;
    lm_small_free(p->k);
    free(p);
}

int lm__small_use(const lm_net *net, const lm_ws *ws, size_t n)
{
    /* the fused kernels reproduce the arithmetic of one variant's kernels
     * (AVX-512's), so they run only where that variant is in use */
    lm__small_plan *p = ws->small;
    if (!p || n > ws->small_rows || g_small_mode == LM_SMALL_OFF || !lm_small_matches_variant()) return 0;
    if (p->stamp != net->stamp) lm__small_describe(net, p);
    return p->fits && (g_small_mode == LM_SMALL_ALWAYS || n <= p->auto_rows);
}

void lm__small_describe(const lm_net *net, lm__small_plan *p)
{
    /* The plan fixes the widths (a workspace only meets nets of its own
     * widths); a net of those widths may still have a hidden softmax, or
     * a layer of another kind with a matrix's widths (a pooling of 1x1
     * images): then it does not fit, and nothing of it is described. */
    size_t macs = 0;
    p->fits = 1;
    for (int l = 0; l < p->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!(L->kind->flags & LM__KIND_MATMUL) || (L->act == LM_SOFTMAX && l < net->n_layers - 1)) p->fits = 0;
        macs += (size_t)L->n_in * (size_t)L->n_out;
    }
    p->auto_rows = LM_SMALL_MAX_MACS / macs;
    for (int l = 0; p->fits && l < p->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        int bias = L->has_bias;
        p->layer[l] = (lm_small_layer){L->act, net->params + L->w_off, bias ? net->params + L->b_off : NULL,
                                       net->grads + L->w_off, bias ? net->grads + L->b_off : NULL};
    }
    p->stamp = net->stamp;
}
