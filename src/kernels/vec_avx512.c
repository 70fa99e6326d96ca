/* vec_avx512.c - AVX-512 bodies of the elementwise kernels (vec.c has
 * the portable reference and the run-time choice). Sixteen floats a
 * step, the tail under a mask, so every length takes the same path.
 *
 * exp is computed as 2^n e^r with n = round(x / ln 2) and r = x - n ln 2
 * (ln 2 in two parts, so r carries no cancellation error), e^r by its
 * degree-7 Taylor polynomial (truncation below 0.05 ulp on |r| <= ln2/2)
 * and 2^n applied by scalef, which also gives Inf, gradual underflow and
 * 0 at the ends of the range. tests/test_vec.c measures exp, sigmoid
 * and tanh against double precision over their whole range. */
#include "vec_impl.h"

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__FMA__)
#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

ALWAYS_INLINE __m512 exp16(__m512 x)
{
    /* beyond these the result is Inf or 0 anyway; min/max with x second
     * keep a NaN (they return the second operand when either is NaN) */
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: e^-|x| never
 * overflows, so tiny outputs keep their precision down to the denormals. */
ALWAYS_INLINE __m512 sigmoid16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
    __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), one, e);
    return _mm512_div_ps(num, _mm512_add_ps(one, e));
}

/* tanh: an odd polynomial x + x^3 P(x^2) below 0.625 (a least-squares fit,
 * 0.9 ulp), 1 - 2 / (e^2|x| + 1) with x's sign above, where the
 * subtraction loses at most a factor 2. */
ALWAYS_INLINE __m512 tanh16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_abs_ps(x);
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-5.718962755e-03f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.065312490e-02f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.374465883e-02f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.333151311e-01f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-3.333328664e-01f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x2, x), p, x);
    __m512 e = exp16(_mm512_add_ps(ax, ax));
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    __mmask16 use_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    /* NaN fails the compare and goes through big, which stays NaN */
    __m512 t = _mm512_mask_blend_ps(use_small, big, small);
    /* tanh is odd: |t| with x's sign (big is |tanh|; this also keeps -0) */
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(t), _mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff), 0xe4));
}

ALWAYS_INLINE __m512 act16(lm_act act, __m512 v)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case LM_SIGMOID: return sigmoid16(v);
    case LM_TANH: return tanh16(v);
    case LM_RELU: /* v > 0 ? v : 0, as the reference (NaN gives 0) */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), v);
    case LM_LEAKY_RELU: {
        __mmask16 pos = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
        return _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, _mm512_set1_ps(LM_LEAKY_SLOPE)), v);
    }
    default: return v;
    }
}

static void act_avx512(lm_act act, float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, act16(act, _mm512_maskz_loadu_ps(k, x + i)));
    }
}

ALWAYS_INLINE __m512 grad16(lm_act act, __m512 a, __m512 d)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case LM_SIGMOID: return _mm512_mul_ps(d, _mm512_mul_ps(a, _mm512_sub_ps(one, a)));
    case LM_TANH: return _mm512_mul_ps(d, _mm512_sub_ps(one, _mm512_mul_ps(a, a)));
    case LM_RELU: return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ), d);
    case LM_LEAKY_RELU: {
        __mmask16 pos = _mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ);
        return _mm512_mul_ps(d, _mm512_mask_blend_ps(pos, _mm512_set1_ps(LM_LEAKY_SLOPE), one));
    }
    default: return d;
    }
}

static void act_grad_avx512(lm_act act, const float *a, float *d, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 av = _mm512_maskz_loadu_ps(k, a + i), dv = _mm512_maskz_loadu_ps(k, d + i);
        _mm512_mask_storeu_ps(d + i, k, grad16(act, av, dv));
    }
}

static void exp_avx512(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, exp16(_mm512_maskz_loadu_ps(k, x + i)));
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
        for (int q = 0; q < 4; q++) _mm512_mask_storeu_ps(out + j + 16 * q, k[q], s[q]);
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
        _mm512_mask_storeu_ps(out + i, k, v);
    }
}

static void norm_f32_avx512(float *out, const float *x, const float *mean, const float *scale,
                            size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        if (mean)
            v = _mm512_mul_ps(_mm512_sub_ps(v, _mm512_maskz_loadu_ps(k, mean + i)),
                              _mm512_maskz_loadu_ps(k, scale + i));
        _mm512_mask_storeu_ps(out + i, k, v);
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
        __mmask16 k = tail_mask(n - i);
        __m512 pv = _mm512_maskz_loadu_ps(k, p + i), gv = _mm512_maskz_loadu_ps(k, g + i);
        switch (u->kind) {
        case LM_UPD_SGD:
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, _mm512_add_ps(gv, _mm512_mul_ps(wd, pv))));
            break;
        case LM_UPD_MOMENTUM: {
            __m512 d = _mm512_add_ps(gv, _mm512_mul_ps(wd, pv));
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(mu, _mm512_maskz_loadu_ps(k, m + i)), d);
            _mm512_mask_storeu_ps(m + i, k, mv);
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, mv));
            break;
        }
        case LM_UPD_NESTEROV: {
            __m512 d = _mm512_add_ps(gv, _mm512_mul_ps(wd, pv));
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(mu, _mm512_maskz_loadu_ps(k, m + i)), d);
            _mm512_mask_storeu_ps(m + i, k, mv);
            pv = _mm512_sub_ps(pv, _mm512_mul_ps(lr, _mm512_add_ps(d, _mm512_mul_ps(mu, mv))));
            break;
        }
        case LM_UPD_ADAM: {
            __m512 gi = _mm512_add_ps(gv, _mm512_mul_ps(l2, pv));
            pv = _mm512_mul_ps(pv, decay);
            __m512 mv = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(k, m + i)),
                                      _mm512_mul_ps(c1, gi));
            __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(k, v + i)),
                                      _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
            _mm512_mask_storeu_ps(m + i, k, mv);
            _mm512_mask_storeu_ps(v + i, k, vv);
            __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2), eps);
            pv = _mm512_sub_ps(pv, _mm512_div_ps(_mm512_mul_ps(step, mv), den));
            break;
        }
        }
        _mm512_mask_storeu_ps(p + i, k, pv);
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
