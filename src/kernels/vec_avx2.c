/* vec_avx2.c - AVX2+FMA bodies of the elementwise kernels, for CPUs
 * without AVX-512: vec_avx512.c eight lanes at a time. The same exp
 * (the same reduction and polynomial), with 2^n applied as two exact
 * power-of-two multiplications instead of scalef, so results are the
 * AVX-512 variant's bit for bit except in the denormal range. */
#include "vec_impl.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Lanes [0, left) of 8 set (the sign bit is what maskload reads). */
ALWAYS_INLINE __m256i tail_mask(size_t left)
{
    int n = left >= 8 ? 8 : (int)left;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* As in vec_avx512.c: a load is forwarded from an earlier store only if
 * that store was not masked and the load reads within it, so a few
 * values are read one by one (as a tiny GEMM or the loss wrote them) and
 * a tail is stored in unmasked pieces of 4, 2 and 1 floats. */
ALWAYS_INLINE __m256 load(const float *p, __m256i k, size_t left)
{
    if (left >= 8) return _mm256_loadu_ps(p);
    if (left > 4) return _mm256_maskload_ps(p, k);
    __m128 v = _mm_load_ss(p);
    if (left >= 2) v = _mm_unpacklo_ps(v, _mm_load_ss(p + 1));
    if (left == 3) v = _mm_movelh_ps(v, _mm_load_ss(p + 2));
    if (left == 4) v = _mm_movelh_ps(v, _mm_unpacklo_ps(_mm_load_ss(p + 2), _mm_load_ss(p + 3)));
    return _mm256_zextps128_ps256(v);
}

ALWAYS_INLINE void store(float *p, __m256i k, size_t left, __m256 v)
{
    (void)k;
    if (left >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 q = _mm256_castps256_ps128(v);
    if (left & 4) {
        _mm_storeu_ps(p, q);
        q = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (left & 2) {
        _mm_storel_epi64((__m128i *)p, _mm_castps_si128(q)); /* movq: no alignment needed */
        q = _mm_movehl_ps(q, q);
        p += 2;
    }
    if (left & 1) _mm_store_ss(p, q);
}

/* 2^n for integral n in [-152, 130], as a product of two normal powers. */
ALWAYS_INLINE __m256 scale2(__m256 p, __m256 n)
{
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

ALWAYS_INLINE __m256 exp8(__m256 x)
{
    /* min/max with x second keep a NaN; the clamp also keeps n in range */
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    /* Estrin's scheme, as vec_avx512.c (the same operations, the same bits) */
    __m256 r2 = _mm256_mul_ps(r, r), r4 = _mm256_mul_ps(r2, r2);
    __m256 s01 = _mm256_fmadd_ps(r, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f));
    __m256 s23 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f / 24), _mm256_set1_ps(1.0f / 6));
    __m256 s45 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f / 720), _mm256_set1_ps(1.0f / 120));
    __m256 s46 = _mm256_fmadd_ps(r2, _mm256_set1_ps(1.0f / 5040), s45);
    __m256 s03 = _mm256_fmadd_ps(s23, r2, s01);
    __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(s46, r4, s03), r, _mm256_set1_ps(1.0f));
    /* a NaN x gives a NaN p; keep it whatever the scaling makes of n */
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    return _mm256_blendv_ps(scale2(p, n), x, nan);
}

ALWAYS_INLINE __m256 abs8(__m256 x)
{
    return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

ALWAYS_INLINE __m256 sigmoid8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(x)));
    __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

ALWAYS_INLINE __m256 tanh8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 ax = abs8(x), x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(TANH_P4);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_P3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_P2));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_P1));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_P0));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x2, x), p, x);
    __m256 e = exp8(_mm256_add_ps(ax, ax));
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    __m256 t = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(TANH_SMALL), _CMP_LT_OQ));
    /* |t| with x's sign */
    __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    return _mm256_or_ps(abs8(t), _mm256_and_ps(x, sign));
}

ALWAYS_INLINE __m256 act8(lm_act act, __m256 v)
{
    const __m256 zero = _mm256_setzero_ps();
    switch (act) {
    case LM_SIGMOID: return sigmoid8(v);
    case LM_TANH: return tanh8(v);
    case LM_RELU: return _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), v);
    case LM_LEAKY_RELU:
        return _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(LM_LEAKY_SLOPE)), v,
                                _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    default: return v;
    }
}

static void act_avx2(lm_act act, float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i);
        store(x + i, k, n - i, act8(act, load(x + i, k, n - i)));
    }
}

ALWAYS_INLINE __m256 grad8(lm_act act, __m256 a, __m256 d)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (act) {
    case LM_SIGMOID: return _mm256_mul_ps(d, _mm256_mul_ps(a, _mm256_sub_ps(one, a)));
    case LM_TANH: return _mm256_mul_ps(d, _mm256_sub_ps(one, _mm256_mul_ps(a, a)));
    case LM_RELU: return _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_GT_OQ), d);
    case LM_LEAKY_RELU:
        return _mm256_mul_ps(d, _mm256_blendv_ps(_mm256_set1_ps(LM_LEAKY_SLOPE), one,
                                                 _mm256_cmp_ps(a, zero, _CMP_GT_OQ)));
    default: return d;
    }
}

static void act_grad_avx2(lm_act act, const float *a, float *d, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i);
        __m256 av = load(a + i, k, n - i), dv = load(d + i, k, n - i);
        store(d + i, k, n - i, grad8(act, av, dv));
    }
}

static void exp_avx2(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i);
        store(x + i, k, n - i, exp8(load(x + i, k, n - i)));
    }
}

static void colsum_avx2(int M, int N, const float *A, int lda, float *out)
{
    for (int j = 0; j < N; j += 32) {
        __m256 s[4];
        for (int q = 0; q < 4; q++) s[q] = _mm256_setzero_ps();
        for (int i = 0; i < M; i++) {
            const float *a = A + (size_t)i * lda + j;
            for (int q = 0; q < 4 && j + 8 * q < N; q++) {
                size_t left = (size_t)(N - j - 8 * q);
                s[q] = _mm256_add_ps(s[q], load(a + 8 * q, tail_mask(left), left));
            }
        }
        for (int q = 0; q < 4 && j + 8 * q < N; q++) {
            size_t left = (size_t)(N - j - 8 * q);
            store(out + j + 8 * q, tail_mask(left), left, s[q]);
        }
    }
}

static void norm_u8_avx2(float *out, const uint8_t *x, const float *mean, const float *scale,
                         size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(x + i));
        __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        if (mean)
            v = _mm256_mul_ps(_mm256_sub_ps(v, _mm256_loadu_ps(mean + i)), _mm256_loadu_ps(scale + i));
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < n; i++) out[i] = mean ? ((float)x[i] - mean[i]) * scale[i] : (float)x[i];
}

static void norm_f32_avx2(float *out, const float *x, const float *mean, const float *scale,
                          size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = tail_mask(n - i);
        __m256 v = load(x + i, k, n - i);
        if (mean)
            v = _mm256_mul_ps(_mm256_sub_ps(v, load(mean + i, k, n - i)), load(scale + i, k, n - i));
        store(out + i, k, n - i, v);
    }
}

/* The reference's update operation for operation (no FMA). */
static int update_avx2(const lm_update *u, size_t n, float *p, const float *g, float *m,
                       float *v)
{
    const __m256 lr = _mm256_set1_ps(u->lr), wd = _mm256_set1_ps(u->wd), mu = _mm256_set1_ps(u->mu);
    const __m256 b1 = _mm256_set1_ps(u->b1), b2 = _mm256_set1_ps(u->b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - u->b1), c2 = _mm256_set1_ps(1.0f - u->b2);
    const __m256 eps = _mm256_set1_ps(u->eps), l2 = _mm256_set1_ps(u->l2);
    const __m256 decay = _mm256_set1_ps(u->decay), step = _mm256_set1_ps(u->step);
    const __m256 bc2 = _mm256_set1_ps(u->bc2_sqrt);
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    __m256i bad = _mm256_setzero_si256();
    for (size_t i = 0; i < n; i += 8) {
        size_t left = n - i;
        __m256i k = tail_mask(left);
        __m256 pv = load(p + i, k, left), gv = load(g + i, k, left);
        switch (u->kind) {
        case LM_UPD_SGD:
            pv = _mm256_sub_ps(pv, _mm256_mul_ps(lr, _mm256_add_ps(gv, _mm256_mul_ps(wd, pv))));
            break;
        case LM_UPD_MOMENTUM: {
            __m256 d = _mm256_add_ps(gv, _mm256_mul_ps(wd, pv));
            __m256 mv = _mm256_add_ps(_mm256_mul_ps(mu, load(m + i, k, left)), d);
            store(m + i, k, left, mv);
            pv = _mm256_sub_ps(pv, _mm256_mul_ps(lr, mv));
            break;
        }
        case LM_UPD_NESTEROV: {
            __m256 d = _mm256_add_ps(gv, _mm256_mul_ps(wd, pv));
            __m256 mv = _mm256_add_ps(_mm256_mul_ps(mu, load(m + i, k, left)), d);
            store(m + i, k, left, mv);
            pv = _mm256_sub_ps(pv, _mm256_mul_ps(lr, _mm256_add_ps(d, _mm256_mul_ps(mu, mv))));
            break;
        }
        case LM_UPD_ADAM: {
            __m256 gi = _mm256_add_ps(gv, _mm256_mul_ps(l2, pv));
            pv = _mm256_mul_ps(pv, decay);
            __m256 mv = _mm256_add_ps(_mm256_mul_ps(b1, load(m + i, k, left)), _mm256_mul_ps(c1, gi));
            __m256 vv = _mm256_add_ps(_mm256_mul_ps(b2, load(v + i, k, left)),
                                      _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
            store(m + i, k, left, mv);
            store(v + i, k, left, vv);
            __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
            pv = _mm256_sub_ps(pv, _mm256_div_ps(_mm256_mul_ps(step, mv), den));
            break;
        }
        case LM_UPD_RPROP: break; /* never here: lm_vec_update runs vec.c's loop */
        }
        store(p + i, k, left, pv);
        __m256i e = _mm256_and_si256(_mm256_castps_si256(pv), expo);
        bad = _mm256_or_si256(bad, _mm256_and_si256(_mm256_cmpeq_epi32(e, expo), k));
    }
    return _mm256_testz_si256(bad, bad);
}

const lm__vec_impl lm__vec_avx2 = {"avx2",       act_avx2,     act_grad_avx2, exp_avx2,
                                   colsum_avx2,  norm_u8_avx2, norm_f32_avx2, update_avx2};

#else
/* Built without AVX2 flags: a stub the run-time choice never takes. */
const lm__vec_impl lm__vec_avx2 = {0};
#endif
