/* gemm_neon.c - the NEON (Advanced SIMD) micro-kernel for aarch64: a 6x16
 * tile of C in 24 of the 32 q registers (6 rows of four 4-float vectors),
 * one fused multiply-add (FMLA by element, vfmaq_laneq_f32) per k and
 * element. A step loads B's 16 values into 4 registers and A's 6 into 2
 * (a q and a d register) and issues 24 FMLAs: 30 registers live, none
 * spilled. A variant of it runs only the k steps where A's panel is not
 * all zero (an image's blank background; gemm.c lists them). Built for
 * aarch64 only (mk/isa.sh); cpu.c picks it when the hwcaps say the CPU
 * has Advanced SIMD (every aarch64 CPU does).
 *
 * The same shape and summation as the AVX2 kernel (gemm_avx2.c): each
 * element summed over k in order, one correctly rounded FMA a step, from
 * zero or from C, so a product's bits are the AVX2 variant's too. */
#include "gemm_impl.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

/* Full unrolling of the constant-count tile loops, so the accumulators
 * stay in registers (clang wants its own spelling). */
#ifdef __clang__
#define UNROLL_FULL _Pragma("unroll")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#endif

#define MR 6
#define NR 16
#define NV (NR / 4) /* vectors a row */

/* relu and leaky relu exactly as the reference writes them: v > 0 ? v : ...
 * (a select, not vmaxq, which would keep a NaN the reference turns to 0) */
static inline float32x4_t act_vec(float32x4_t v, lm_act act)
{
    uint32x4_t pos = vcgtq_f32(v, vdupq_n_f32(0.0f));
    if (act == LM_RELU) return vbslq_f32(pos, v, vdupq_n_f32(0.0f));
    if (act == LM_LEAKY_RELU) return vbslq_f32(pos, v, vmulq_n_f32(v, LM_LEAKY_SLOPE));
    return v;
}

/* How the kernel reads B: a packed panel, B's rows in place with all NR
 * columns there, or in place and ragged (the last panel: NEON has no
 * masked load, so each step's nr values are copied into a zeroed row). */
enum { B_PACKED, B_ROWS, B_ROWS_RAGGED };

/* IDX: only the kc steps listed in kidx (lm__ukernel_idx), else all. */
static inline __attribute__((always_inline)) void
kern_body(const int BMODE, const int IDX, int kc, const int *kidx, const float *pa, int sa,
          const float *pb, int sb, float *c, int ldc, int mr, int nr, int accumulate, int last,
          const float *bias, lm_act act)
{
    /* a ragged tile goes through this staging copy, full-size */
    float tile[MR * NR], brow[NR];
    int full = mr == MR && nr == NR;
    float32x4_t acc[MR][NV];
    if (accumulate == LM__ACC_LOAD) {
        const float *src = c;
        int ld = ldc;
        if (!full) {
            for (int r = 0; r < MR; r++)
                for (int q = 0; q < NR; q++) tile[r * NR + q] = r < mr && q < nr ? c[(size_t)r * ldc + q] : 0.0f;
            src = tile;
            ld = NR;
        }
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            UNROLL_FULL
            for (int q = 0; q < NV; q++) acc[r][q] = vld1q_f32(src + (size_t)r * ld + 4 * q);
        }
    } else {
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            UNROLL_FULL
            for (int q = 0; q < NV; q++) acc[r][q] = vdupq_n_f32(0.0f);
        }
    }
    if (BMODE == B_ROWS_RAGGED)
        for (int q = nr; q < NR; q++) brow[q] = 0.0f;
    for (int t = 0; t < kc; t++) {
        const float *ak = IDX ? pa + (size_t)kidx[t] * sa : pa;
        const float *bk = IDX ? pb + (size_t)kidx[t] * sb : pb;
        if (BMODE == B_ROWS_RAGGED) {
            for (int q = 0; q < nr; q++) brow[q] = bk[q];
            bk = brow;
        }
        float32x4_t b[NV];
        UNROLL_FULL
        for (int q = 0; q < NV; q++) b[q] = vld1q_f32(bk + 4 * q);
        float32x4_t a03 = vld1q_f32(ak);
        float32x2_t a45 = vld1_f32(ak + 4);
        UNROLL_FULL
        for (int q = 0; q < NV; q++) {
            acc[0][q] = vfmaq_laneq_f32(acc[0][q], b[q], a03, 0);
            acc[1][q] = vfmaq_laneq_f32(acc[1][q], b[q], a03, 1);
            acc[2][q] = vfmaq_laneq_f32(acc[2][q], b[q], a03, 2);
            acc[3][q] = vfmaq_laneq_f32(acc[3][q], b[q], a03, 3);
            acc[4][q] = vfmaq_lane_f32(acc[4][q], b[q], a45, 0);
            acc[5][q] = vfmaq_lane_f32(acc[5][q], b[q], a45, 1);
        }
        if (!IDX) {
            pa += sa;
            pb += sb;
        }
    }
    if (accumulate == LM__ACC_ADD) {
        /* C + sum, as the AVX2 kernel adds them */
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            if (r >= mr) continue;
            const float *cr = c + (size_t)r * ldc;
            if (nr == NR) {
                UNROLL_FULL
                for (int q = 0; q < NV; q++) acc[r][q] = vaddq_f32(vld1q_f32(cr + 4 * q), acc[r][q]);
            } else {
                float row[NR] = {0};
                for (int q = 0; q < nr; q++) row[q] = cr[q];
                UNROLL_FULL
                for (int q = 0; q < NV; q++) acc[r][q] = vaddq_f32(vld1q_f32(row + 4 * q), acc[r][q]);
            }
        }
    }
    if (last) {
        float32x4_t bv[NV] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
        if (bias) {
            float brow2[NR] = {0};
            const float *bsrc = bias;
            if (nr < NR) {
                for (int q = 0; q < nr; q++) brow2[q] = bias[q];
                bsrc = brow2;
            }
            UNROLL_FULL
            for (int q = 0; q < NV; q++) bv[q] = vld1q_f32(bsrc + 4 * q);
        }
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            UNROLL_FULL
            for (int q = 0; q < NV; q++) {
                if (bias) acc[r][q] = vaddq_f32(acc[r][q], bv[q]);
                acc[r][q] = act_vec(acc[r][q], act);
            }
        }
    }
    if (full) {
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            UNROLL_FULL
            for (int q = 0; q < NV; q++) vst1q_f32(c + (size_t)r * ldc + 4 * q, acc[r][q]);
        }
    } else {
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            UNROLL_FULL
            for (int q = 0; q < NV; q++) vst1q_f32(tile + r * NR + 4 * q, acc[r][q]);
        }
        for (int r = 0; r < mr; r++)
            for (int q = 0; q < nr; q++) c[(size_t)r * ldc + q] = tile[r * NR + q];
    }
    /* sigmoid and tanh go through the shared code while the tile is hot */
    if (last && (act == LM_SIGMOID || act == LM_TANH))
        for (int r = 0; r < mr; r++) lm_act_apply(act, c + (size_t)r * ldc, (size_t)nr);
}

static void kern_6x16(int kc, const float *pa, int sa, const float *pb, int sb, float *c,
                      int ldc, int mr, int nr, int accumulate, int last, const float *bias,
                      lm_act act)
{
    int mode = !sb ? B_PACKED : nr == NR ? B_ROWS : B_ROWS_RAGGED;
    if (!sb) sb = NR;
    switch (mode) {
    case B_PACKED:
        kern_body(B_PACKED, 0, kc, NULL, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act);
        break;
    case B_ROWS:
        kern_body(B_ROWS, 0, kc, NULL, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act);
        break;
    default:
        kern_body(B_ROWS_RAGGED, 0, kc, NULL, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last,
                  bias, act);
        break;
    }
}

/* The same over the listed k steps only (lm__ukernel_idx: A's all-zero
 * steps skipped, the bits unchanged); sb = 0: a packed panel, as for
 * kern_6x16. */
static void kern_6x16_idx(int kc, const int *kidx, const float *pa, int sa, const float *pb,
                          int sb, float *c, int ldc, int mr, int nr, int accumulate, int last,
                          const float *bias, lm_act act)
{
    if (!sb)
        kern_body(B_PACKED, 1, kc, kidx, pa, sa, pb, NR, c, ldc, mr, nr, accumulate, last, bias, act);
    else if (nr == NR)
        kern_body(B_ROWS, 1, kc, kidx, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act);
    else
        kern_body(B_ROWS_RAGGED, 1, kc, kidx, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last,
                  bias, act);
}

/* The 6-row panel's nonzero steps (see lm__gemm_impl): -0 counts as
 * zero, so the sign bit is masked off; a step's index is written, then
 * kept or not, without a branch. */
static int nonzero_steps_6(const float *a, int sa, int kc, int *out)
{
    const uint32x4_t mag = vdupq_n_u32(0x7fffffffu);
    int n = 0;
    for (int k = 0; k < kc; k++) {
        const float *ak = a + (size_t)k * sa;
        uint32x4_t v = vandq_u32(vreinterpretq_u32_f32(vld1q_f32(ak)), mag);
        uint32x2_t w = vand_u32(vreinterpret_u32_f32(vld1_f32(ak + 4)), vget_low_u32(mag));
        out[n] = k;
        n += (vmaxvq_u32(v) | vmaxv_u32(w)) != 0;
    }
    return n;
}

/* dst[t * ldd + i] = src[i * lds + t] for a 4x4 block: NT's B (N,K) read
 * four rows at a time into k-major panel rows. */
static inline void transpose4(const float *src, size_t lds, float *dst, size_t ldd)
{
    float32x4_t r0 = vld1q_f32(src), r1 = vld1q_f32(src + lds);
    float32x4_t r2 = vld1q_f32(src + 2 * lds), r3 = vld1q_f32(src + 3 * lds);
    /* pairs of rows interleaved, then 64-bit halves swapped across pairs */
    float32x4_t t0 = vtrn1q_f32(r0, r1), t1 = vtrn2q_f32(r0, r1);
    float32x4_t t2 = vtrn1q_f32(r2, r3), t3 = vtrn2q_f32(r2, r3);
    vst1q_f32(dst, vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2))));
    vst1q_f32(dst + ldd, vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3))));
    vst1q_f32(dst + 2 * ldd, vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2))));
    vst1q_f32(dst + 3 * ldd, vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3))));
}

/* Packs k [k0, k0+kc) x columns [j0, j0+nc) of op(B) into 16-column
 * panels (zero past nc): row copies for NN/TN, 4x4 transposes for NT. */
static void pack_b_16(lm__gemm_op op, const float *B, int ldb, int k0, int kc, int j0, int nc,
                      float *pb)
{
    for (int q = 0; q < nc; q += NR, pb += (size_t)NR * kc) {
        int nr = nc - q < NR ? nc - q : NR;
        if (op != LM__OP_NT) {
            const float *src = B + (size_t)k0 * ldb + j0 + q;
            for (int k = 0; k < kc; k++, src += ldb) {
                float *d = pb + (size_t)k * NR;
                if (nr == NR) {
                    UNROLL_FULL
                    for (int v = 0; v < NV; v++) vst1q_f32(d + 4 * v, vld1q_f32(src + 4 * v));
                } else {
                    for (int c = 0; c < NR; c++) d[c] = c < nr ? src[c] : 0.0f;
                }
            }
        } else {
            /* B (N,K): column c of the panel is row j0+q+c of B */
            const float *src = B + (size_t)(j0 + q) * ldb + k0;
            int c = 0;
            for (; c + 4 <= nr; c += 4) {
                int k = 0;
                for (; k + 4 <= kc; k += 4)
                    transpose4(src + (size_t)c * ldb + k, (size_t)ldb, pb + (size_t)k * NR + c, NR);
                for (; k < kc; k++)
                    for (int t = 0; t < 4; t++) pb[(size_t)k * NR + c + t] = src[(size_t)(c + t) * ldb + k];
            }
            for (; c < NR; c++)
                for (int k = 0; k < kc; k++)
                    pb[(size_t)k * NR + c] = c < nr ? src[(size_t)c * ldb + k] : 0.0f;
        }
    }
}

/* Tiny products (gemm_impl.h), one FMA a step as kern sums. */
static void tiny_fma(lm__gemm_op op, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float *C, int ldc)
{
    lm__tiny(1, op, M, N, K, A, lda, B, ldb, C, ldc);
}

const lm__gemm_impl lm__gemm_neon = {"neon", MR, NR, kern_6x16, NULL, pack_b_16, NULL, NULL, 0,
                                     kern_6x16_idx, nonzero_steps_6, tiny_fma};

#else
/* Built without NEON: a stub the variant choice never takes. */
const lm__gemm_impl lm__gemm_neon = {"neon", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
