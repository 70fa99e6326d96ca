/* table.c - the table of layer kinds (see layer.h): one row a kind, NULL
 * where a kind is not built yet. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>

const lm__kind *const lm__kinds[LM_LAYER_KIND_COUNT] = {
    [LM_LAYER_DENSE] = &lm__kind_dense,
    [LM_LAYER_CONV2D] = &lm__kind_conv2d,
    [LM_LAYER_MAXPOOL2D] = &lm__kind_maxpool2d,
    [LM_LAYER_AVGPOOL2D] = &lm__kind_avgpool2d,
    [LM_LAYER_GLOBAL_AVGPOOL] = &lm__kind_global_avgpool,
    [LM_LAYER_DROPOUT] = &lm__kind_dropout,
    [LM_LAYER_BATCHNORM] = &lm__kind_batchnorm,
    [LM_LAYER_ACTIVATION] = &lm__kind_activation,
};

const lm__kind *lm__kind_of(int id)
{
    return id >= 0 && id < LM_LAYER_KIND_COUNT ? lm__kinds[id] : NULL;
}

/* The name is the kind's row's: a new kind names itself in its own file. */
const char *lm_layer_kind_name(lm_layer_kind k)
{
    const lm__kind *K = lm__kind_of((int)k);
    return K ? K->name : "?";
}

const char *lm__shape_str(lm__shape s, char *buf)
{
    snprintf(buf, 48, "(%d, %d, %d)", s.c, s.h, s.w);
    return buf;
}

void lm__init_weights(float *w, size_t n, int fan_in, int fan_out, lm_init init, lm_rng *rng)
{
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    float sd = sqrtf(2.0f / (float)fan_in);
    for (size_t i = 0; i < n; i++) {
        switch (init) {
        case LM_INIT_UNIFORM01: w[i] = lm_rng_uniform(rng); break;
        case LM_INIT_XAVIER: w[i] = (2.0f * lm_rng_uniform(rng) - 1.0f) * limit; break;
        default: w[i] = lm_rng_normal(rng) * sd; break;
        }
    }
}
