/* dense.h - the dense layer's forward/backward pair (see dense.c). */
#ifndef LM_DENSE_H
#define LM_DENSE_H

#include "internal.h"

/* out (B, OUT) = act(in (B, IN) w (IN, OUT) + b (OUT)); with skip_act the
 * pre-activation is left in out. */
void lm_dense_forward(float *out, const float *in, const float *w, const float *b,
                      size_t B, int IN, int OUT, lm_act act, int skip_act, lm_pool *pool);

/* From dz (B, OUT), the gradient of the pre-activation: dw = in^T dz,
 * db = column sums of dz, din = dz w^T (each overwritten; din, db may be
 * NULL). */
void lm_dense_backward(float *din, float *dw, float *db, const float *dz, const float *in,
                       const float *w, size_t B, int IN, int OUT, lm_pool *pool);

#endif
