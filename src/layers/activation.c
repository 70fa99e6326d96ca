/* activation.c - a standalone elementwise activation y = act(x), forward
 * next to backward, and its row of the kind table: what PyTorch writes
 * as nn.ReLU() after a batch norm (conv -> batch norm -> ReLU), where the
 * layer before has no activation of its own. Any shape, no parameters.
 *
 * The activation is the layer's fused one (L->act), so net.c applies its
 * derivative before the backward below, a loss fuses with it as with a
 * dense layer's (a net ending in a standalone sigmoid trains with BCE as
 * one ending in a sigmoid dense layer), and the values are those of the
 * same activation fused on the layer before, bit for bit: the same
 * lm_act_apply kernels, elementwise. Softmax is not elementwise (it
 * normalises a row) and is refused: it belongs on the last dense layer,
 * where the loss fuses it; identity would do nothing and is refused too. */
#include "layers/layer.h"

#include <string.h>

static lm_status act_infer(lm__layer *L, int index)
{
    char a[48];
    lm_act act = L->cfg.act;
    if (act == LM_SOFTMAX)
        return lm__err(LM_EINVAL, "layer %d (activation) on %s: softmax is not elementwise; put it on the "
                       "last dense layer (its loss fuses it there)", index, lm__shape_str(L->in, a));
    if (act == LM_IDENTITY)
        return lm__err(LM_EINVAL, "layer %d (activation) on %s: an identity activation does nothing; "
                       "leave the layer out", index, lm__shape_str(L->in, a));
    L->out = L->in;
    return LM_OK;
}

static void act_fwd(const lm__layer *L, const lm__fwd *a)
{
    /* out = act(in), or in itself where a fused loss wants the
     * pre-activation */
    size_t n = a->n * (size_t)L->n_in;
    if (a->out != a->in) memcpy(a->out, a->in, n * sizeof(float));
    if (!a->skip_act) lm_act_apply(L->act, a->out, n);
}

static void act_bwd(const lm__layer *L, const lm__bwd *a)
{
    /* dz is already the gradient of the pre-activation, which is the
     * input: net.c applied the derivative */
    if (a->din) memcpy(a->din, a->dz, a->n * (size_t)L->n_in * sizeof(float));
}

/* Record: the activation (sigmoid, tanh, relu or leaky relu). */
static void act_put(const lm__layer_cfg *c, uint32_t *w) { w[0] = (uint32_t)c->act; }

static lm_status act_get(lm__layer_cfg *c, const uint32_t *w, int index)
{
    if (w[0] >= LM_ACT_COUNT || w[0] == LM_IDENTITY || w[0] == LM_SOFTMAX)
        return lm__err(LM_EFORMAT, "layer %d (activation) has activation %u, not one of sigmoid, tanh, "
                       "relu, leaky", index, w[0]);
    c->act = (lm_act)w[0];
    return LM_OK;
}

const lm__kind lm__kind_activation = {
    .name = "activation",
    .id = LM_LAYER_ACTIVATION,
    .infer = act_infer,
    .forward = act_fwd,
    .backward = act_bwd,
    .n_words = 1,
    .put = act_put,
    .get = act_get,
};
