/* vec_avx512.c - AVX-512 bodies of the elementwise kernels (vec.c has
 * the portable reference and the run-time choice). Sixteen floats a
 * step, the tail under a mask, so every length takes the same path. The
 * exp, sigmoid and tanh arithmetic is in simd_avx512.h, shared with the
 * fused small-net path; tests/test_vec.c measures it against double
 * precision over the whole range. */
#include "vec_impl.h"

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__FMA__)
#include "simd_avx512.h"

/* Inlined with a constant act, so each activation gets its own loop. */
ALWAYS_INLINE void act_loop(lm_act act, float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) store_part(x + i, n - i, act16(act, load_part(x + i, n - i)));
}

static void act_avx512(lm_act act, float *x, size_t n)
{
    switch (act) {
    case LM_SIGMOID: act_loop(LM_SIGMOID, x, n); break;
    case LM_TANH: act_loop(LM_TANH, x, n); break;
    case LM_RELU: act_loop(LM_RELU, x, n); break;
    case LM_LEAKY_RELU: act_loop(LM_LEAKY_RELU, x, n); break;
    default: break; /* identity; softmax is not elementwise */
    }
}

ALWAYS_INLINE void grad_loop(lm_act act, const float *a, float *d, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        store_part(d + i, n - i, grad16(act, load_part(a + i, n - i), load_part(d + i, n - i)));
}

static void act_grad_avx512(lm_act act, const float *a, float *d, size_t n)
{
    switch (act) {
    case LM_SIGMOID: grad_loop(LM_SIGMOID, a, d, n); break;
    case LM_TANH: grad_loop(LM_TANH, a, d, n); break;
    case LM_RELU: grad_loop(LM_RELU, a, d, n); break;
    case LM_LEAKY_RELU: grad_loop(LM_LEAKY_RELU, a, d, n); break;
    default: break; /* identity leaves d alone; softmax is not elementwise */
    }
}

static void exp_avx512(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        store_part(x + i, n - i, exp16(load_part(x + i, n - i)));
    }
}

/* Sums each column over the rows in order, as the reference does. */
static void colsum_avx512(int M, int N, const float *A, int lda, float *out)
{
    for (int j = 0; j < N; j += 64) {
        __m512 s[4];
        __mmask16 k[4];
        for (int q = 0; q < 4; q++) {
            k[q] = j + 16 * q < N ? tail_mask((size_t)(N - j - 16 * q)) : 0;
            s[q] = _mm512_setzero_ps();
        }
        for (int i = 0; i < M; i++) {
            const float *a = A + (size_t)i * lda + j;
            for (int q = 0; q < 4; q++)
                s[q] = _mm512_add_ps(s[q], _mm512_maskz_loadu_ps(k[q], a + 16 * q));
        }
        for (int q = 0; q < 4 && j + 16 * q < N; q++) store_part(out + j + 16 * q, (size_t)(N - j - 16 * q), s[q]);
    }
}

static void norm_u8_avx512(float *out, const uint8_t *x, const float *mean, const float *scale,
                           size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, x + i)));
        if (mean)
            v = _mm512_mul_ps(_mm512_sub_ps(v, _mm512_maskz_loadu_ps(k, mean + i)),
                              _mm512_maskz_loadu_ps(k, scale + i));
        store_part(out + i, n - i, v);
    }
}

static void norm_f32_avx512(float *out, const float *x, const float *mean, const float *scale,
                            size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __m512 v = load_part(x + i, left);
        if (mean)
            v = _mm512_mul_ps(_mm512_sub_ps(v, load_part(mean + i, left)), load_part(scale + i, left));
        store_part(out + i, left, v);
    }
}

/* The reference's update (vec.c) operation for operation: no FMA, so the
 * bits agree. */
static int update_avx512(const lm_update *u, size_t n, float *p, const float *g, float *m,
                         float *v)
{
    const __m512 lr = _mm512_set1_ps(u->lr), wd = _mm512_set1_ps(u->wd), mu = _mm512_set1_ps(u->mu);
    const __m512 b1 = _mm512_set1_ps(u->b1), b2 = _mm512_set1_ps(u->b2);
    const __m512 c1 = _mm512_set1_ps(1.0f - u->b1), c2 = _mm512_set1_ps(1.0f - u->b2);
    const __m512 eps = _mm512_set1_ps(u->eps), l2 = _mm512_set1_ps(u->l2);
    const __m512 decay = _mm512_set1_ps(u->decay), step = _mm512_set1_ps(u->step);
    const __m512 bc2 = _mm512_set1_ps(u->bc2_sqrt);
    const __m512i expo = _mm512_set1_epi32(0x7f800000);
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 k = tail_mask(left);
        __m512 pv = load_part(p + i, left), gv = load_part(g + i, left);
        switch (u->kind) {
        case LM_UPD_SGD:
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, _mm512_add_ps(gv, _mm512_mul_ps(wd, pv))));
            break;
        case LM_UPD_MOMENTUM: {
            __m512 d = _mm512_add_ps(gv, _mm512_mul_ps(wd, pv));
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(mu, load_part(m + i, left)), d);
            store_part(m + i, left, mv);
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, mv));
            break;
        }
        case LM_UPD_NESTEROV: {
            __m512 d = _mm512_add_ps(gv, _mm512_mul_ps(wd, pv));
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(mu, load_part(m + i, left)), d);
            store_part(m + i, left, mv);
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, _mm512_add_ps(d, _mm512_mul_ps(mu, mv))));
            break;
        }
        case LM_UPD_ADAM: {
            __m512 gi = _mm512_add_ps(gv, _mm512_mul_ps(l2, pv));
            pv = _mm512_mul_ps(pv, decay);
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(b1, load_part(m + i, left)),
                                      _mm512_mul_ps(c1, gi));
            __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, load_part(v + i, left)),
                                      _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
            store_part(m + i, left, mv);
            store_part(v + i, left, vv);
            __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2), eps);
            pv = _mm512_sub_ps(pv, _mm512_div_ps(_mm512_mul_ps(step, mv), den));
            break;
        }
        case LM_UPD_RPROP: break; /* never here: lm_vec_update runs vec.c's loop */
        }
        store_part(p + i, left, pv);
        bad |= _mm512_mask_cmpeq_epi32_mask(k, _mm512_and_si512(_mm512_castps_si512(pv), expo), expo);
    }
    return bad == 0;
}

const lm__vec_impl lm__vec_avx512 = {"avx512",      act_avx512,     act_grad_avx512,
                                     exp_avx512,    colsum_avx512,  norm_u8_avx512,
                                     norm_f32_avx512, update_avx512};

#else
/* Built without AVX-512 flags: a stub the run-time choice never takes. */
const lm__vec_impl lm__vec_avx512 = {0};
#endif
