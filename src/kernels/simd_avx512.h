/* simd_avx512.h - the AVX-512 activation arithmetic (exp, sigmoid, tanh,
 * their gradients) and the forwarding-friendly partial loads and stores,
 * shared by the elementwise kernels (vec_avx512.c) and the fused small-net
 * path (small_avx512.c): one definition, so the two give the same bits.
 * Include it only from files compiled with the AVX-512 flags.
 *
 * exp is computed as 2^n e^r with n = round(x / ln 2) and r = x - n ln 2
 * (ln 2 in two parts, so r carries no cancellation error), e^r by its
 * degree-7 Taylor polynomial (truncation below 0.05 ulp on |r| <= ln2/2,
 * evaluated by Estrin's scheme for a short dependency chain) and 2^n
 * applied by scalef, which also gives Inf, gradual underflow and 0 at the
 * ends of the range. */
#ifndef LM_SIMD_AVX512_H
#define LM_SIMD_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#include "vec_impl.h"

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

#endif
