/* gemm_avx2.c - the AVX2+FMA micro-kernel: a 6x16 tile of C in 12 ymm
 * accumulators, one FMA per k and element. Compiled with -mavx2 -mfma;
 * gemm.c calls it only when cpuid says the CPU has both. */
#include "gemm_impl.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "transpose_avx.h"

/* Full unrolling of the constant-count tile loops, so the accumulators
 * stay in registers (clang wants its own spelling). */
#ifdef __clang__
#define UNROLL_FULL _Pragma("unroll")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#endif

#define MR 6
#define NR 16

/* Lanes [0, n) set, for maskload/maskstore. */
static inline __m256i lane_mask(int n)
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* relu and leaky relu exactly as the reference writes them: v > 0 ? v : ... */
static inline __m256 act_vec(__m256 v, lm_act act)
{
    __m256 zero = _mm256_setzero_ps();
    if (act == LM_RELU) return _mm256_max_ps(v, zero); /* v > 0 ? v : 0 */
    if (act == LM_LEAKY_RELU) {
        __m256 pos = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
        return _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(LM_LEAKY_SLOPE)), v, pos);
    }
    return v;
}

/* How a micro-kernel reads B: a packed panel (aligned loads), B's rows in
 * place with all NR columns there (unaligned loads), or in place and
 * ragged (masked loads: slow on AMD, so only the last panel pays). */
enum { B_PACKED, B_ROWS, B_ROWS_MASKED };

/* IDX: only the kc steps listed in kidx (see lm__ukernel_idx). */
static inline __attribute__((always_inline)) void
kern_body(const int BMODE, const int IDX, int kc, const int *kidx, const float *pa, int sa,
          const float *pb, int sb, float *c, int ldc, int mr, int nr, int accumulate, int last,
          const float *bias, lm_act act)
{
    __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    __m256 acc[MR][2];
    UNROLL_FULL
    for (int r = 0; r < MR; r++) {
        if (accumulate == LM__ACC_LOAD && r < mr && nr == NR) { /* masked moves are slow on AMD */
            acc[r][0] = _mm256_loadu_ps(c + (size_t)r * ldc);
            acc[r][1] = _mm256_loadu_ps(c + (size_t)r * ldc + 8);
        } else if (accumulate == LM__ACC_LOAD && r < mr) {
            acc[r][0] = _mm256_maskload_ps(c + (size_t)r * ldc, m0);
            acc[r][1] = _mm256_maskload_ps(c + (size_t)r * ldc + 8, m1);
        } else {
            acc[r][0] = _mm256_setzero_ps();
            acc[r][1] = _mm256_setzero_ps();
        }
    }
    for (int t = 0; t < kc; t++) {
        const float *ak = IDX ? pa + (size_t)kidx[t] * sa : pa;
        const float *bk = IDX ? pb + (size_t)kidx[t] * sb : pb;
        __m256 b0, b1;
        if (BMODE == B_PACKED) {
            b0 = _mm256_load_ps(bk);
            b1 = _mm256_load_ps(bk + 8);
        } else if (BMODE == B_ROWS) {
            b0 = _mm256_loadu_ps(bk);
            b1 = _mm256_loadu_ps(bk + 8);
        } else {
            b0 = _mm256_maskload_ps(bk, m0);
            b1 = _mm256_maskload_ps(bk + 8, m1);
        }
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            __m256 a = _mm256_broadcast_ss(ak + r);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
        if (!IDX) {
            pa += sa;
            pb += sb;
        }
    }
    if (accumulate == LM__ACC_ADD) {
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            if (r < mr) {
                const float *cr = c + (size_t)r * ldc;
                acc[r][0] = _mm256_add_ps(_mm256_maskload_ps(cr, m0), acc[r][0]);
                acc[r][1] = _mm256_add_ps(_mm256_maskload_ps(cr + 8, m1), acc[r][1]);
            }
        }
    }
    if (last) {
        __m256 bias0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
        __m256 bias1 = bias ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            if (bias) {
                acc[r][0] = _mm256_add_ps(acc[r][0], bias0);
                acc[r][1] = _mm256_add_ps(acc[r][1], bias1);
            }
            acc[r][0] = act_vec(acc[r][0], act);
            acc[r][1] = act_vec(acc[r][1], act);
        }
    }
    UNROLL_FULL
    for (int r = 0; r < MR; r++) {
        if (r < mr && nr == NR) {
            _mm256_storeu_ps(c + (size_t)r * ldc, acc[r][0]);
            _mm256_storeu_ps(c + (size_t)r * ldc + 8, acc[r][1]);
        } else if (r < mr) {
            _mm256_maskstore_ps(c + (size_t)r * ldc, m0, acc[r][0]);
            _mm256_maskstore_ps(c + (size_t)r * ldc + 8, m1, acc[r][1]);
        }
    }
    /* sigmoid and tanh go through the shared code while the tile is hot */
    if (last && (act == LM_SIGMOID || act == LM_TANH))
        for (int r = 0; r < mr; r++) lm_act_apply(act, c + (size_t)r * ldc, (size_t)nr);
}

static void kern_6x16(int kc, const float *pa, int sa, const float *pb, int sb, float *c,
                      int ldc, int mr, int nr, int accumulate, int last, const float *bias,
                      lm_act act)
{
    int mode = !sb ? B_PACKED : nr == NR ? B_ROWS : B_ROWS_MASKED;
    if (!sb) sb = NR;
#define K6_CASE(m)                                                                            \
    case m:                                                                                       \
        kern_body(m, 0, kc, NULL, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act); \
        break;
    switch (mode) {
        K6_CASE(B_PACKED) K6_CASE(B_ROWS) K6_CASE(B_ROWS_MASKED)
    default: break;
    }
#undef K6_CASE
}

static void kern_6x16_idx(int kc, const int *kidx, const float *pa, int sa, const float *pb,
                          int sb, float *c, int ldc, int mr, int nr, int accumulate, int last,
                          const float *bias, lm_act act)
{
    int mode = !sb ? B_PACKED : nr == NR ? B_ROWS : B_ROWS_MASKED;
    if (!sb) sb = NR;
#define K6_CASE(m)                                                                            \
    case m:                                                                                       \
        kern_body(m, 1, kc, kidx, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act); \
        break;
    switch (mode) {
        K6_CASE(B_PACKED) K6_CASE(B_ROWS) K6_CASE(B_ROWS_MASKED)
    default: break;
    }
#undef K6_CASE
}

/* The 6-row panel's nonzero steps (see lm__gemm_impl): the six values of
 * a step in one 128-bit and one 64-bit load (nothing past them is read:
 * a TN panel is read in place), tested at once, branch-free (a step's
 * index is written, then kept or not). */
static int nonzero_steps_6(const float *a, int sa, int kc, int *out)
{
    const __m128i mag = _mm_set1_epi32(0x7fffffff);
    int n = 0;
    for (int k = 0; k < kc; k++) {
        const float *ak = a + (size_t)k * sa;
        __m128i lo = _mm_loadu_si128((const __m128i *)ak);
        __m128i hi = _mm_loadl_epi64((const __m128i *)(ak + 4));
        out[n] = k;
        n += !_mm_testz_si128(_mm_or_si128(lo, hi), mag);
    }
    return n;
}

/* Packs k [k0, k0+kc) x columns [j0, j0+nc) of op(B) into 16-column
 * panels (zero past nc): row copies for NN/TN, 8x8 transposes for NT. */
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
                    _mm256_store_ps(d, _mm256_loadu_ps(src));
                    _mm256_store_ps(d + 8, _mm256_loadu_ps(src + 8));
                } else {
                    for (int c = 0; c < NR; c++) d[c] = c < nr ? src[c] : 0.0f;
                }
            }
        } else {
            /* B (N,K): column c of the panel is row j0+q+c of B */
            const float *src = B + (size_t)(j0 + q) * ldb + k0;
            int c = 0;
            for (; c + 8 <= nr; c += 8) {
                int k = 0;
                for (; k + 8 <= kc; k += 8)
                    transpose8(src + (size_t)c * ldb + k, (size_t)ldb, pb + (size_t)k * NR + c, NR);
                for (; k < kc; k++)
                    for (int t = 0; t < 8; t++)
                        pb[(size_t)k * NR + c + t] = src[(size_t)(c + t) * ldb + k];
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

const lm__gemm_impl lm__gemm_avx2 = {"avx2",   MR,   NR,      kern_6x16,     NULL,
                                     pack_b_16, NULL, NULL, 0, kern_6x16_idx, nonzero_steps_6,
                                     tiny_fma};

#else
/* Built without AVX2 flags: a stub the driver never selects. */
const lm__gemm_impl lm__gemm_avx2 = {"avx2", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
