/* dense.c - the dense layer y = act(x W + b), forward next to backward.
 * W is (IN, OUT) row-major, as in the tutorial's X W1. */
#include "internal.h"
#include "layers/dense.h"

void lm_dense_forward(float *out, const float *in, const float *w, const float *b,
                      size_t B, int IN, int OUT, lm_act act, int skip_act, lm_pool *pool)
{
    /* out (B, OUT), in (B, IN), w (IN, OUT), b (OUT) or NULL */
    lm_act fused = (skip_act || act == LM_SOFTMAX) ? LM_IDENTITY : act;
    lm_epilogue ep = {b, fused};
    lm_gemm_nn((int)B, OUT, IN, in, IN, w, OUT, out, OUT, &ep, pool);
    if (!skip_act && act == LM_SOFTMAX) lm__act_forward(LM_SOFTMAX, out, B, OUT);
}

void lm_dense_backward(float *din, float *dw, float *db, const float *dz, const float *in,
                       const float *w, size_t B, int IN, int OUT, lm_pool *pool)
{
    /* din (B, IN) or NULL, dw (IN, OUT), db (OUT) or NULL,
     * dz (B, OUT) gradient of the pre-activation, in (B, IN), w (IN, OUT) */
    lm_gemm_tn(IN, OUT, (int)B, in, IN, dz, OUT, dw, OUT, pool);
    if (db) lm_colsum((int)B, OUT, dz, OUT, db);
    if (din) lm_gemm_nt((int)B, IN, OUT, dz, OUT, w, OUT, din, IN, pool);
}
