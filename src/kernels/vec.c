/* vec.c - the elementwise kernels: activations and their gradients, exp,
 * column sums, batch loading, optimizer updates. The portable versions
 * here are the reference; a SIMD variant (vec_avx512.c, vec_avx2.c,
 * vec_neon.c) is chosen once at run time when the CPU has it (cpu.c). */
#include "cpu.h"
#include "vec_impl.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ portable code */

static inline float act1(lm_act act, float v)
{
    switch (act) {
    case LM_SIGMOID: { /* e^-|v| never overflows: tiny outputs stay exact */
        float e = expf(-fabsf(v));
        return (v < 0.0f ? e : 1.0f) / (1.0f + e);
    }
    case LM_TANH: return tanhf(v);
    case LM_RELU: return v > 0.0f ? v : 0.0f;
    case LM_LEAKY_RELU: return v > 0.0f ? v : LM_LEAKY_SLOPE * v;
    default: return v;
    }
}

static void act_ref(lm_act act, float *x, size_t n)
{
    if (act == LM_IDENTITY || act == LM_SOFTMAX) return;
    for (size_t i = 0; i < n; i++) x[i] = act1(act, x[i]);
}

static void act_grad_ref(lm_act act, const float *a, float *d, size_t n)
{
    switch (act) {
    case LM_SIGMOID:
        for (size_t i = 0; i < n; i++) d[i] *= a[i] * (1.0f - a[i]);
        break;
    case LM_TANH:
        for (size_t i = 0; i < n; i++) d[i] *= 1.0f - a[i] * a[i];
        break;
    case LM_RELU:
        for (size_t i = 0; i < n; i++) d[i] = a[i] > 0.0f ? d[i] : 0.0f;
        break;
    case LM_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) d[i] *= a[i] > 0.0f ? 1.0f : LM_LEAKY_SLOPE;
        break;
    default: break; /* identity; softmax is not elementwise (act.c) */
    }
}

static void exp_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = expf(x[i]);
}

static void colsum_ref(int M, int N, const float *A, int lda, float *out)
{
    for (int j = 0; j < N; j++) out[j] = 0.0f;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) out[j] += A[(size_t)i * lda + j];
}

static void norm_u8_ref(float *out, const uint8_t *x, const float *mean, const float *scale,
                        size_t n)
{
    if (mean)
        for (size_t i = 0; i < n; i++) out[i] = ((float)x[i] - mean[i]) * scale[i];
    else
        for (size_t i = 0; i < n; i++) out[i] = (float)x[i];
}

static void norm_f32_ref(float *out, const float *x, const float *mean, const float *scale,
                         size_t n)
{
    if (mean)
        for (size_t i = 0; i < n; i++) out[i] = (x[i] - mean[i]) * scale[i];
    else
        memmove(out, x, n * sizeof(float));
}

static inline int finite1(float x) { return fabsf(x) <= 3.40282347e38f; }

/* The arithmetic of torch.optim's SGD, Adam and Rprop, one element at a
 * time; vec_avx512.c repeats it operation for operation (but Rprop's). */
static int update_ref(const lm_update *u, size_t n, float *p, const float *g, float *m,
                      float *v)
{
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        switch (u->kind) {
        case LM_UPD_SGD: p[i] -= u->lr * (g[i] + u->wd * p[i]); break;
        case LM_UPD_MOMENTUM:
            m[i] = u->mu * m[i] + (g[i] + u->wd * p[i]);
            p[i] -= u->lr * m[i];
            break;
        case LM_UPD_NESTEROV: {
            float d = g[i] + u->wd * p[i];
            m[i] = u->mu * m[i] + d;
            p[i] -= u->lr * (d + u->mu * m[i]);
            break;
        }
        case LM_UPD_ADAM: {
            float gi = g[i] + u->l2 * p[i];
            p[i] *= u->decay;
            m[i] = u->b1 * m[i] + (1.0f - u->b1) * gi;
            v[i] = u->b2 * v[i] + (1.0f - u->b2) * gi * gi;
            p[i] -= u->step * m[i] / (sqrtf(v[i]) / u->bc2_sqrt + u->eps);
            break;
        }
        case LM_UPD_RPROP: {
            /* iRprop- as torch.optim.Rprop: the sign of the float product
             * with the previous gradient m grows or shrinks the step v; a
             * flipped sign moves nothing this step and is remembered as 0 */
            float gi = g[i] + u->wd * p[i], s = gi * m[i], step = v[i];
            if (s > 0) step *= u->eta_plus;
            else if (s < 0) step *= u->eta_minus, gi = 0.0f;
            if (step < u->step_min) step = u->step_min;
            if (step > u->step_max) step = u->step_max;
            p[i] -= gi > 0 ? step : gi < 0 ? -step : 0.0f;
            m[i] = gi;
            v[i] = step;
            break;
        }
        }
        ok &= finite1(p[i]);
    }
    return ok;
}

const lm__vec_impl lm__vec_ref = {"ref",       act_ref,      act_grad_ref, exp_ref,
                                  colsum_ref,  norm_u8_ref,  norm_f32_ref, update_ref};

/* The variant in use is cpu.c's choice (cpu.h). Static inline, so the
 * wrappers below inline it: a tiny net calls them a few times a step,
 * and -fPIC keeps a call to an exported function a call. */
static inline const lm__vec_impl *current(void) { return lm__variant_now()->vec; }

/* -------------------------------------------------------------- public */

void lm_act_apply(lm_act act, float *x, size_t n)
{
    if (act == LM_IDENTITY || act == LM_SOFTMAX || n == 0) return;
    current()->act(act, x, n);
}

void lm_act_grad(lm_act act, const float *a, float *d, size_t n)
{
    if (act == LM_IDENTITY || act == LM_SOFTMAX || n == 0) return;
    current()->act_grad(act, a, d, n);
}

void lm_vec_exp(float *x, size_t n) { current()->exp(x, n); }

void lm_colsum(int M, int N, const float *A, int lda, float *out)
{
    if (N > 0) current()->colsum(M, N, A, lda, out);
}

void lm_vec_norm_u8(float *out, const uint8_t *x, const float *mean, const float *scale,
                    size_t n)
{
    current()->norm_u8(out, x, mean, scale, n);
}

void lm_vec_norm_f32(float *out, const float *x, const float *mean, const float *scale,
                     size_t n)
{
    current()->norm_f32(out, x, mean, scale, n);
}

int lm_vec_update(const lm_update *u, size_t n, float *p, const float *g, float *m, float *v)
{
    if (u->kind == LM_UPD_RPROP) return update_ref(u, n, p, g, m, v);
    return current()->update(u, n, p, g, m, v);
}
