/* small_plan.h - the small-net plan's structure and its per-call steps,
 * inline: at a tiny net's step (the tutorial's takes about 100 ns) one
 * more call level between net.c and the kernels, with its register saves,
 * costs a few percent. Included by net.c and small_plan.c only; the rest
 * of the plan (which nets, when, building it) is small_plan.c's, declared
 * in internal.h. */
#ifndef LM_SMALL_PLAN_H
#define LM_SMALL_PLAN_H

#include "internal.h"

#include <string.h>

struct lm__small_plan {
    lm_small *k;           /* the kernel for the net's widths */
    int n_layers;
    lm_small_layer *layer; /* (n_layers) the layers of the net last run */
    uint64_t stamp;        /* that net's lm_net.stamp; 0: none yet */
    int fits;              /* that net may run here: matrix layers only,
                              softmax only last (the widths are the plan's) */
    size_t auto_rows;      /* the most rows it runs here by default:
                              LM_SMALL_MAX_MACS / its multiply-adds a row */
    int *widths;           /* (n_layers + 1) what k was made for */
};

/* Fills p's description of net (a net of p's widths): its layers as
 * pointers into its flat buffers with their own activations, whether it
 * fits, its auto_rows. Made again only when the workspace meets another
 * net or a changed one (lm_net.stamp): a workspace may serve any net of
 * its widths (lm_net_predict_ws), and a step must not pay for it. */
void lm__small_describe(const lm_net *net, lm__small_plan *p) __attribute__((cold));

/* The last layer's activation as the kernels apply it: its own, or
 * LM_IDENTITY where the caller keeps the pre-activation (the loss is
 * fused with it) or it is a softmax (not elementwise: act.c applies it
 * to the dense rows, as the general path does). */
static inline lm_act lm__small_last_act(lm_act act, int preact)
{
    return preact || act == LM_SOFTMAX ? LM_IDENTITY : act;
}

/* The fused forward and backward, with lm__net_forward's and
 * lm__net_backward's contracts; only where lm__small_use says so. The
 * backward reads the activations the fused forward left in ws, so
 * lm__net_backward takes the path its forward took (ws->fused). */
static inline void lm__small_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act)
{
    lm__small_plan *p = ws->small;
    int last = net->n_layers - 1;
    lm_act act = net->layers[last].act;
    if (p->stamp != net->stamp) lm__small_describe(net, p);
    p->layer[last].act = lm__small_last_act(act, skip_last_act);
    lm_small_forward(p->k, p->layer, ws->x0, ws->act[last], n);
    if (!skip_last_act && act == LM_SOFTMAX)
        lm__act_forward(LM_SOFTMAX, ws->act[last], n, net->layers[last].n_out);
}

static inline void lm__small_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact)
{
    lm__small_plan *p = ws->small;
    int last = net->n_layers - 1;
    lm_act act = net->layers[last].act;
    if (n == 0) { /* no rows: zero gradients, as the general path's */
        memset(net->grads, 0, net->n_params * sizeof(float));
        return;
    }
    /* softmax's row Jacobian is act.c's, on the dense buffers */
    if (!last_is_preact && act == LM_SOFTMAX)
        lm__act_backward(LM_SOFTMAX, ws->act[last], ws->d0, n, net->layers[last].n_out);
    if (p->stamp != net->stamp) lm__small_describe(net, p);
    p->layer[last].act = lm__small_last_act(act, last_is_preact);
    lm_small_backward(p->k, p->layer, ws->x0, ws->d0, n);
}

#endif
