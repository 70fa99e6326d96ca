/* vec_neon.c - NEON (Advanced SIMD) bodies of the elementwise kernels for
 * aarch64: vec_avx2.c four lanes at a time. The same exp (the same range
 * reduction, the same Estrin polynomial with the same fused multiply-adds,
 * 2^n as two exact power-of-two multiplications), sigmoid and tanh, so
 * the results are the AVX2 variant's operation for operation (FRINTN
 * rounds ties to even as _MM_FROUND_TO_NEAREST_INT does; FMLA and FMLS
 * round once as VFMADD and VFNMADD do). Every other kernel repeats the
 * reference's float operations in its order, no FMA, so they give the
 * reference's bits. A tail shorter than four lanes goes through a zeroed
 * local copy: NEON has no masked load or store, and no lane of memory
 * past n is read or written. Built for aarch64 only (mk/isa.sh). */
#include "vec_impl.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Lanes [0, left) of p, the rest zero (left may exceed 4). */
ALWAYS_INLINE float32x4_t load_part(const float *p, size_t left)
{
    if (left >= 4) return vld1q_f32(p);
    float t[4] = {0, 0, 0, 0};
    memcpy(t, p, left * sizeof *p);
    return vld1q_f32(t);
}

ALWAYS_INLINE void store_part(float *p, size_t left, float32x4_t v)
{
    if (left >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, left * sizeof *p);
}

/* 2^n for integral n in [-152, 130], as a product of two normal powers. */
ALWAYS_INLINE float32x4_t scale2(float32x4_t p, float32x4_t n)
{
    int32x4_t ni = vcvtq_s32_f32(n); /* n is integral: exact */
    int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    int32x4_t bias = vdupq_n_s32(127);
    float32x4_t f1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    float32x4_t f2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, f1), f2);
}

ALWAYS_INLINE float32x4_t exp4(float32x4_t x)
{
    /* FMIN/FMAX return a NaN operand; the clamp also keeps n in range */
    x = vminq_f32(vdupq_n_f32(89.0f), x);
    x = vmaxq_f32(vdupq_n_f32(-104.0f), x);
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(EXP_LOG2E)));
    /* vfmsq_f32(a, b, c) = a - b c, rounded once (VFNMADD) */
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(EXP_LN2_LO));
    /* Estrin's scheme, as vec_avx2.c: vfmaq_f32(a, b, c) = a + b c */
    float32x4_t r2 = vmulq_f32(r, r), r4 = vmulq_f32(r2, r2);
    float32x4_t s01 = vfmaq_f32(vdupq_n_f32(1.0f), r, vdupq_n_f32(0.5f));
    float32x4_t s23 = vfmaq_f32(vdupq_n_f32(1.0f / 6), r, vdupq_n_f32(1.0f / 24));
    float32x4_t s45 = vfmaq_f32(vdupq_n_f32(1.0f / 120), r, vdupq_n_f32(1.0f / 720));
    float32x4_t s46 = vfmaq_f32(s45, r2, vdupq_n_f32(1.0f / 5040));
    float32x4_t s03 = vfmaq_f32(s01, s23, r2);
    float32x4_t p = vfmaq_f32(vdupq_n_f32(1.0f), vfmaq_f32(s03, s46, r4), r);
    /* a NaN x gives a NaN p; keep it whatever the scaling makes of n */
    return vbslq_f32(vceqq_f32(x, x), scale2(p, n), x);
}

ALWAYS_INLINE float32x4_t sigmoid4(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    float32x4_t e = exp4(vsubq_f32(zero, vabsq_f32(x)));
    float32x4_t num = vbslq_f32(vcltq_f32(x, zero), e, one);
    return vdivq_f32(num, vaddq_f32(one, e));
}

ALWAYS_INLINE float32x4_t tanh4(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t ax = vabsq_f32(x), x2 = vmulq_f32(x, x);
    float32x4_t p = vdupq_n_f32(TANH_P4);
    p = vfmaq_f32(vdupq_n_f32(TANH_P3), p, x2);
    p = vfmaq_f32(vdupq_n_f32(TANH_P2), p, x2);
    p = vfmaq_f32(vdupq_n_f32(TANH_P1), p, x2);
    p = vfmaq_f32(vdupq_n_f32(TANH_P0), p, x2);
    float32x4_t small = vfmaq_f32(x, vmulq_f32(x2, x), p);
    float32x4_t e = exp4(vaddq_f32(ax, ax));
    float32x4_t big = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, one)));
    float32x4_t t = vbslq_f32(vcltq_f32(ax, vdupq_n_f32(TANH_SMALL)), small, big);
    /* |t| with x's sign */
    uint32x4_t sign = vdupq_n_u32(0x80000000u);
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(vabsq_f32(t)),
                                           vandq_u32(vreinterpretq_u32_f32(x), sign)));
}

ALWAYS_INLINE float32x4_t act4(lm_act act, float32x4_t v)
{
    const float32x4_t zero = vdupq_n_f32(0.0f);
    switch (act) {
    case LM_SIGMOID: return sigmoid4(v);
    case LM_TANH: return tanh4(v);
    case LM_RELU: return vbslq_f32(vcgtq_f32(v, zero), v, zero); /* v > 0 ? v : 0 */
    case LM_LEAKY_RELU:
        return vbslq_f32(vcgtq_f32(v, zero), v, vmulq_f32(v, vdupq_n_f32(LM_LEAKY_SLOPE)));
    default: return v;
    }
}

/* Inlined with a constant act, so each activation gets its own loop. */
ALWAYS_INLINE void act_loop(lm_act act, float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 4) store_part(x + i, n - i, act4(act, load_part(x + i, n - i)));
}

static void act_neon(lm_act act, float *x, size_t n)
{
    switch (act) {
    case LM_SIGMOID: act_loop(LM_SIGMOID, x, n); break;
    case LM_TANH: act_loop(LM_TANH, x, n); break;
    case LM_RELU: act_loop(LM_RELU, x, n); break;
    case LM_LEAKY_RELU: act_loop(LM_LEAKY_RELU, x, n); break;
    default: break; /* identity; softmax is not elementwise */
    }
}

ALWAYS_INLINE float32x4_t grad4(lm_act act, float32x4_t a, float32x4_t d)
{
    const float32x4_t zero = vdupq_n_f32(0.0f), one = vdupq_n_f32(1.0f);
    switch (act) {
    case LM_SIGMOID: return vmulq_f32(d, vmulq_f32(a, vsubq_f32(one, a)));
    case LM_TANH: return vmulq_f32(d, vsubq_f32(one, vmulq_f32(a, a)));
    case LM_RELU: return vbslq_f32(vcgtq_f32(a, zero), d, zero);
    case LM_LEAKY_RELU:
        return vmulq_f32(d, vbslq_f32(vcgtq_f32(a, zero), one, vdupq_n_f32(LM_LEAKY_SLOPE)));
    default: return d;
    }
}

ALWAYS_INLINE void grad_loop(lm_act act, const float *a, float *d, size_t n)
{
    for (size_t i = 0; i < n; i += 4)
        store_part(d + i, n - i, grad4(act, load_part(a + i, n - i), load_part(d + i, n - i)));
}

static void act_grad_neon(lm_act act, const float *a, float *d, size_t n)
{
    switch (act) {
    case LM_SIGMOID: grad_loop(LM_SIGMOID, a, d, n); break;
    case LM_TANH: grad_loop(LM_TANH, a, d, n); break;
    case LM_RELU: grad_loop(LM_RELU, a, d, n); break;
    case LM_LEAKY_RELU: grad_loop(LM_LEAKY_RELU, a, d, n); break;
    default: break; /* identity leaves d alone; softmax is not elementwise */
    }
}

static void exp_neon(float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 4) store_part(x + i, n - i, exp4(load_part(x + i, n - i)));
}

/* Sums each column over the rows in order from zero, as the reference
 * does; 16 columns (4 vectors) a pass keep four independent sums going. */
static void colsum_neon(int M, int N, const float *A, int lda, float *out)
{
    for (int j = 0; j < N; j += 16) {
        float32x4_t s[4];
        for (int q = 0; q < 4; q++) s[q] = vdupq_n_f32(0.0f);
        for (int i = 0; i < M; i++) {
            const float *a = A + (size_t)i * lda + j;
            for (int q = 0; q < 4 && j + 4 * q < N; q++)
                s[q] = vaddq_f32(s[q], load_part(a + 4 * q, (size_t)(N - j - 4 * q)));
        }
        for (int q = 0; q < 4 && j + 4 * q < N; q++) store_part(out + j + 4 * q, (size_t)(N - j - 4 * q), s[q]);
    }
}

static void norm_u8_neon(float *out, const uint8_t *x, const float *mean, const float *scale,
                         size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t h = vmovl_u8(vld1_u8(x + i));
        float32x4_t v0 = vcvtq_f32_u32(vmovl_u16(vget_low_u16(h)));
        float32x4_t v1 = vcvtq_f32_u32(vmovl_u16(vget_high_u16(h)));
        if (mean) {
            v0 = vmulq_f32(vsubq_f32(v0, vld1q_f32(mean + i)), vld1q_f32(scale + i));
            v1 = vmulq_f32(vsubq_f32(v1, vld1q_f32(mean + i + 4)), vld1q_f32(scale + i + 4));
        }
        vst1q_f32(out + i, v0);
        vst1q_f32(out + i + 4, v1);
    }
    for (; i < n; i++) out[i] = mean ? ((float)x[i] - mean[i]) * scale[i] : (float)x[i];
}

static void norm_f32_neon(float *out, const float *x, const float *mean, const float *scale,
                          size_t n)
{
    if (!mean) {
        memmove(out, x, n * sizeof *out);
        return;
    }
    for (size_t i = 0; i < n; i += 4) {
        size_t left = n - i;
        float32x4_t v = vsubq_f32(load_part(x + i, left), load_part(mean + i, left));
        store_part(out + i, left, vmulq_f32(v, load_part(scale + i, left)));
    }
}

/* The reference's update (vec.c) operation for operation: no FMA, so the
 * bits agree. */
static int update_neon(const lm_update *u, size_t n, float *p, const float *g, float *m,
                       float *v)
{
    const float32x4_t lr = vdupq_n_f32(u->lr), wd = vdupq_n_f32(u->wd), mu = vdupq_n_f32(u->mu);
    const float32x4_t b1 = vdupq_n_f32(u->b1), b2 = vdupq_n_f32(u->b2);
    const float32x4_t c1 = vdupq_n_f32(1.0f - u->b1), c2 = vdupq_n_f32(1.0f - u->b2);
    const float32x4_t eps = vdupq_n_f32(u->eps), l2 = vdupq_n_f32(u->l2);
    const float32x4_t decay = vdupq_n_f32(u->decay), step = vdupq_n_f32(u->step);
    const float32x4_t bc2 = vdupq_n_f32(u->bc2_sqrt);
    const uint32x4_t expo = vdupq_n_u32(0x7f800000u);
    uint32x4_t bad = vdupq_n_u32(0);
    for (size_t i = 0; i < n; i += 4) {
        size_t left = n - i;
        float32x4_t pv = load_part(p + i, left), gv = load_part(g + i, left);
        switch (u->kind) {
        case LM_UPD_SGD:
            pv = vsubq_f32(pv, vmulq_f32(lr, vaddq_f32(gv, vmulq_f32(wd, pv))));
            break;
        case LM_UPD_MOMENTUM: {
            float32x4_t d = vaddq_f32(gv, vmulq_f32(wd, pv));
            float32x4_t mv = vaddq_f32(vmulq_f32(mu, load_part(m + i, left)), d);
            store_part(m + i, left, mv);
            pv = vsubq_f32(pv, vmulq_f32(lr, mv));
            break;
        }
        case LM_UPD_NESTEROV: {
            float32x4_t d = vaddq_f32(gv, vmulq_f32(wd, pv));
            float32x4_t mv = vaddq_f32(vmulq_f32(mu, load_part(m + i, left)), d);
            store_part(m + i, left, mv);
            pv = vsubq_f32(pv, vmulq_f32(lr, vaddq_f32(d, vmulq_f32(mu, mv))));
            break;
        }
        case LM_UPD_ADAM: {
            float32x4_t gi = vaddq_f32(gv, vmulq_f32(l2, pv));
            pv = vmulq_f32(pv, decay);
            float32x4_t mv = vaddq_f32(vmulq_f32(b1, load_part(m + i, left)), vmulq_f32(c1, gi));
            float32x4_t vv = vaddq_f32(vmulq_f32(b2, load_part(v + i, left)),
                                       vmulq_f32(vmulq_f32(c2, gi), gi));
            store_part(m + i, left, mv);
            store_part(v + i, left, vv);
            float32x4_t den = vaddq_f32(vdivq_f32(vsqrtq_f32(vv), bc2), eps);
            pv = vsubq_f32(pv, vdivq_f32(vmulq_f32(step, mv), den));
            break;
        }
        case LM_UPD_RPROP: break; /* never here: lm_vec_update runs vec.c's loop */
        }
        store_part(p + i, left, pv);
        /* exponent all ones: NaN or Inf; lanes past n (zero-filled, which
         * may well divide 0 by 0) do not count */
        uint32x4_t e = vceqq_u32(vandq_u32(vreinterpretq_u32_f32(pv), expo), expo);
        if (left < 4) {
            static const uint32_t lane[4] = {0, 1, 2, 3};
            e = vandq_u32(e, vcltq_u32(vld1q_u32(lane), vdupq_n_u32((uint32_t)left)));
        }
        bad = vorrq_u32(bad, e);
    }
    return vmaxvq_u32(bad) == 0;
}

const lm__vec_impl lm__vec_neon = {"neon",       act_neon,     act_grad_neon, exp_neon,
                                   colsum_neon,  norm_u8_neon, norm_f32_neon, update_neon};

#else
/* Built without NEON: a stub the variant choice never takes. */
const lm__vec_impl lm__vec_neon = {0};
#endif
