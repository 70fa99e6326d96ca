/* vec_avx512.c - AVX-512 bodies of the elementwise kernels (vec.c has
 * the portable reference and the run-time choice). Sixteen floats a
 * step, the tail under a mask, so every length takes the same path.
 *
 * exp is computed as 2^n e^r with n = round(x / ln 2) and r = x - n ln 2
 * (ln 2 in two parts, so r carries no cancellation error), e^r by its
 * degree-7 Taylor polynomial (truncation below 0.05 ulp on |r| <= ln2/2,
 * evaluated by Estrin's scheme for a short dependency chain)
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

/* Loads and stores shaped for store-to-load forwarding. A tiny net's
 * kernels hand each other a few values through memory, and a load takes
 * them straight from an earlier store only when that store was not
 * masked and the load reads within one store; otherwise it waits for the
 * store to reach the cache, about 11 cycles more on Zen 4 (an AVX-512
 * masked store is never forwarded, even with every lane set).
 *
 * load_part: lanes [0, left) of p, the rest 0. Up to 4 values are read
 * one by one, as the code before (a tiny GEMM, the loss) most likely
 * wrote them. */
ALWAYS_INLINE __m512 load_part(const float *p, size_t left)
{
    if (left >= 16) return _mm512_loadu_ps(p);
    if (left > 4) return _mm512_maskz_loadu_ps(tail_mask(left), p);
    __m128 v = _mm_load_ss(p);
    if (left >= 2) v = _mm_unpacklo_ps(v, _mm_load_ss(p + 1));
    if (left == 3) v = _mm_movelh_ps(v, _mm_load_ss(p + 2));
    if (left == 4) v = _mm_movelh_ps(v, _mm_unpacklo_ps(_mm_load_ss(p + 2), _mm_load_ss(p + 3)));
    return _mm512_zextps128_ps512(v);
}

/* store_part: lanes [0, left) of v to p, in unmasked pieces of 16, 8, 4,
 * 2 and 1 floats. */
ALWAYS_INLINE void store_part(float *p, size_t left, __m512 v)
{
    if (left >= 16) {
        _mm512_storeu_ps(p, v);
        return;
    }
    __m256 h = _mm512_castps512_ps256(v);
    if (left & 8) {
        _mm256_storeu_ps(p, h);
        h = _mm512_extractf32x8_ps(v, 1);
        p += 8;
    }
    __m128 q = _mm256_castps256_ps128(h);
    if (left & 4) {
        _mm_storeu_ps(p, q);
        q = _mm256_extractf128_ps(h, 1);
        p += 4;
    }
    if (left & 2) {
        _mm_storel_epi64((__m128i *)p, _mm_castps_si128(q)); /* movq: no alignment needed */
        q = _mm_movehl_ps(q, q);
        p += 2;
    }
    if (left & 1) _mm_store_ss(p, q);
}

/* e^x for x in [-104, 89] or NaN (exp16 clamps to that range). */
ALWAYS_INLINE __m512 exp16_in_range(__m512 x)
{
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
    /* e^r = 1 + r s(r), s of degree 6 by Estrin's scheme: three levels of
     * independent FMAs instead of a chain of six, the latency that counts
     * for a few values. The last step, 1 + r s, rounds once as Horner's
     * did, and s's own rounding is damped by |r| <= 0.35. */
    __m512 r2 = _mm512_mul_ps(r, r), r4 = _mm512_mul_ps(r2, r2);
    __m512 s01 = _mm512_fmadd_ps(r, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f));
    __m512 s23 = _mm512_fmadd_ps(r, _mm512_set1_ps(1.0f / 24), _mm512_set1_ps(1.0f / 6));
    __m512 s45 = _mm512_fmadd_ps(r, _mm512_set1_ps(1.0f / 720), _mm512_set1_ps(1.0f / 120));
    __m512 s46 = _mm512_fmadd_ps(r2, _mm512_set1_ps(1.0f / 5040), s45);
    __m512 s03 = _mm512_fmadd_ps(s23, r2, s01);
    __m512 p = _mm512_fmadd_ps(_mm512_fmadd_ps(s46, r4, s03), r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

ALWAYS_INLINE __m512 exp16(__m512 x)
{
    /* beyond these the result is Inf or 0 anyway; min/max with x second
     * keep a NaN (they return the second operand when either is NaN) */
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    return exp16_in_range(_mm512_max_ps(_mm512_set1_ps(-104.0f), x));
}

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: e^-|x| never
 * overflows, so tiny outputs keep their precision down to the denormals. */
ALWAYS_INLINE __m512 sigmoid16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    /* -|x| by setting the sign bit: one short step, and no upper clamp
     * (exp16's, which would change nothing here) on the chain */
    __m512 neg = _mm512_or_ps(x, _mm512_set1_ps(-0.0f));
    __m512 e = exp16_in_range(_mm512_max_ps(_mm512_set1_ps(-104.0f), neg));
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
    __m512 p = _mm512_set1_ps(TANH_P4);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(TANH_P3));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(TANH_P2));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(TANH_P1));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(TANH_P0));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x2, x), p, x);
    __m512 e = exp16(_mm512_add_ps(ax, ax));
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    __mmask16 use_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(TANH_SMALL), _CMP_LT_OQ);
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
