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
#define UNROLL_4 _Pragma("unroll 4")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#define UNROLL_4 _Pragma("GCC unroll 4")
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
    /* unrolled: with B's rows read in place and not 32-byte aligned
     * (a row then crosses a cache line) 64x256x784 runs at 81 GFLOP/s
     * rather than 77 on Zen 4; the same elsewhere */
    UNROLL_4
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
            const float *cr = c + (size_t)r * ldc;
            if (r < mr && nr == NR) { /* masked moves are slow on AMD */
                acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]);
                acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]);
            } else if (r < mr) {
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

/* The narrow kernel (N <= NRN, e.g. a 10-class layer): vectors run down
 * 8 rows of C and each of the NRT columns is one accumulator, so no lane
 * is wasted on missing columns (the 6x16 tile uses 10 of 16 lanes for N
 * = 10). pa is an A panel of 8 rows, B a panel NRN wide or its rows in
 * place (only NRT values a step are read). Each element is still acc =
 * fma(a, b, acc) over k in order, so the bits match kern_6x16. The tile
 * goes through a column-major buffer on its way in and out of C, the
 * 8x8 part with transpose8. */
#define MRN 8
#define NRN 12

/* C's (mr, NRT) tile into t (column j at t + 8 j), zero past mr. */
static inline __attribute__((always_inline)) void
tile_in(const int NRT, const float *c, int ldc, int mr, float *t)
{
    int j = 0;
    if (mr == MRN && NRT >= 8) {
        transpose8(c, (size_t)ldc, t, MRN);
        j = 8;
    }
    for (; j < NRT; j++)
        for (int r = 0; r < MRN; r++) t[j * MRN + r] = r < mr ? c[(size_t)r * ldc + j] : 0.0f;
}

static inline __attribute__((always_inline)) void
kt_body(const int NRT, int kc, const float *pa, int sa, const float *pb, int sb, float *c,
        int ldc, int mr, int accumulate, int last, const float *bias, lm_act act)
{
    __attribute__((aligned(32))) float t[NRN * MRN];
    __m256 acc[NRN];
    if (accumulate == LM__ACC_LOAD) {
        tile_in(NRT, c, ldc, mr, t);
        UNROLL_FULL
        for (int j = 0; j < NRT; j++) acc[j] = _mm256_load_ps(t + j * MRN);
    } else {
        UNROLL_FULL
        for (int j = 0; j < NRT; j++) acc[j] = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m256 a = _mm256_loadu_ps(pa);
        UNROLL_FULL
        for (int j = 0; j < NRT; j++)
            acc[j] = _mm256_fmadd_ps(a, _mm256_broadcast_ss(pb + j), acc[j]);
        pa += sa;
        pb += sb;
    }
    if (accumulate == LM__ACC_ADD) {
        tile_in(NRT, c, ldc, mr, t);
        UNROLL_FULL
        for (int j = 0; j < NRT; j++) acc[j] = _mm256_add_ps(_mm256_load_ps(t + j * MRN), acc[j]);
    }
    UNROLL_FULL
    for (int j = 0; j < NRT; j++) {
        if (last) {
            if (bias) acc[j] = _mm256_add_ps(acc[j], _mm256_set1_ps(bias[j]));
            acc[j] = act_vec(acc[j], act);
        }
        _mm256_store_ps(t + j * MRN, acc[j]);
    }
    int j = 0;
    if (mr == MRN && NRT >= 8) {
        transpose8(t, MRN, c, (size_t)ldc);
        j = 8;
    }
    for (; j < NRT; j++)
        for (int r = 0; r < mr; r++) c[(size_t)r * ldc + j] = t[j * MRN + r];
    /* sigmoid and tanh go through the shared code while the tile is hot */
    if (last && (act == LM_SIGMOID || act == LM_TANH))
        for (int r = 0; r < mr; r++) lm_act_apply(act, c + (size_t)r * ldc, (size_t)NRT);
}

static void kern_t8(int kc, const float *pa, int sa, const float *pb, int sb, float *c, int ldc,
                    int mr, int nr, int accumulate, int last, const float *bias, lm_act act)
{
    if (!sb) sb = NRN;
#define KT_CASE(n)                                                                    \
    case n: kt_body(n, kc, pa, sa, pb, sb, c, ldc, mr, accumulate, last, bias, act); break;
    switch (nr) {
        KT_CASE(1) KT_CASE(2) KT_CASE(3) KT_CASE(4) KT_CASE(5) KT_CASE(6) KT_CASE(7)
        KT_CASE(8) KT_CASE(9) KT_CASE(10) KT_CASE(11) KT_CASE(12)
    default: break;
    }
#undef KT_CASE
}

/* A TN panel (A stored (K,M)): each of its kc steps is mr values in a
 * row of A, copied and padded with zeros to the panel's width. */
static inline void pack_a_rows(const float *src, int lda, int kc, int mr, int width, float *pa)
{
    for (int k = 0; k < kc; k++, src += lda)
        for (int r = 0; r < width; r++) pa[(size_t)k * width + r] = r < mr ? src[r] : 0.0f;
}

/* Packs rows [i0, i0+mc) x k [k0, k0+kc) of op(A) into 8-row panels
 * (zero past mc): 8x8 transposes for NN and NT, row copies for TN. */
static void pack_a_8(lm__gemm_op op, const float *A, int lda, int i0, int mc, int k0, int kc,
                     float *pa)
{
    for (int p = 0; p < mc; p += MRN, pa += (size_t)MRN * kc) {
        int mr = mc - p < MRN ? mc - p : MRN;
        if (op == LM__OP_TN) {
            pack_a_rows(A + (size_t)k0 * lda + i0 + p, lda, kc, mr, MRN, pa);
            continue;
        }
        const float *src = A + (size_t)(i0 + p) * lda + k0;
        int k = 0;
        if (mr == MRN)
            for (; k + 8 <= kc; k += 8) transpose8(src + k, (size_t)lda, pa + (size_t)k * MRN, MRN);
        for (; k < kc; k++)
            for (int r = 0; r < MRN; r++)
                pa[(size_t)k * MRN + r] = r < mr ? src[(size_t)r * lda + k] : 0.0f;
    }
}

/* Packs rows [i0, i0+mc) x k [k0, k0+kc) of op(A) into 6-row panels
 * (zero past mc). NN and NT read A (M,K): eight k steps of the six rows
 * at a time, transposed in registers (rows 0-3 to one 128-bit store a
 * step, rows 4-5 to one 64-bit store), so nothing is written past a
 * step's six values. TN reads A (K,M): a row copy a step. */
static void pack_a_6(lm__gemm_op op, const float *A, int lda, int i0, int mc, int k0, int kc,
                     float *pa)
{
    for (int p = 0; p < mc; p += MR, pa += (size_t)MR * kc) {
        int mr = mc - p < MR ? mc - p : MR;
        if (op == LM__OP_TN) {
            pack_a_rows(A + (size_t)k0 * lda + i0 + p, lda, kc, mr, MR, pa);
            continue;
        }
        const float *src = A + (size_t)(i0 + p) * lda + k0;
        const float *row[MR];
        for (int r = 0; r < MR; r++) row[r] = src + (size_t)(r < mr ? r : 0) * lda;
        int k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 v[MR];
            UNROLL_FULL
            for (int r = 0; r < MR; r++)
                v[r] = r < mr ? _mm256_loadu_ps(row[r] + k) : _mm256_setzero_ps();
            __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
            __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
            __m256 u0 = _mm256_unpacklo_ps(v[4], v[5]), u1 = _mm256_unpackhi_ps(v[4], v[5]);
            /* s[t] holds rows 0-3 of steps t (low half) and t + 4 (high) */
            __m256 s[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                           _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
            float *d = pa + (size_t)k * MR;
            UNROLL_FULL
            for (int t = 0; t < 4; t++) {
                _mm_storeu_ps(d + t * MR, _mm256_castps256_ps128(s[t]));
                _mm_storeu_ps(d + (t + 4) * MR, _mm256_extractf128_ps(s[t], 1));
            }
            /* u0 holds rows 4-5 of steps 0, 1 | 4, 5; u1 of 2, 3 | 6, 7 */
            __m128 l0 = _mm256_castps256_ps128(u0), h0 = _mm256_extractf128_ps(u0, 1);
            __m128 l1 = _mm256_castps256_ps128(u1), h1 = _mm256_extractf128_ps(u1, 1);
            _mm_storel_pi((__m64 *)(d + 0 * MR + 4), l0);
            _mm_storeh_pi((__m64 *)(d + 1 * MR + 4), l0);
            _mm_storel_pi((__m64 *)(d + 2 * MR + 4), l1);
            _mm_storeh_pi((__m64 *)(d + 3 * MR + 4), l1);
            _mm_storel_pi((__m64 *)(d + 4 * MR + 4), h0);
            _mm_storeh_pi((__m64 *)(d + 5 * MR + 4), h0);
            _mm_storel_pi((__m64 *)(d + 6 * MR + 4), h1);
            _mm_storeh_pi((__m64 *)(d + 7 * MR + 4), h1);
        }
        for (; k < kc; k++)
            for (int r = 0; r < MR; r++) pa[(size_t)k * MR + r] = r < mr ? row[r][k] : 0.0f;
    }
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

/* B panels of the narrow kernel: gemm.c's portable packing (N <= NRN). */
static const lm__gemm_impl narrow_8x12 = {"avx2", MRN,  NRN,  kern_t8, pack_a_8, NULL,
                                          NULL,   NULL, 0,    NULL,    NULL,     tiny_fma};
const lm__gemm_impl lm__gemm_avx2 = {"avx2",       MR,   NR,      kern_6x16,     pack_a_6,
                                     pack_b_16,    &narrow_8x12, NULL, 0, kern_6x16_idx,
                                     nonzero_steps_6, tiny_fma};

#else
/* Built without AVX2 flags: a stub the driver never selects. */
const lm__gemm_impl lm__gemm_avx2 = {"avx2", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
