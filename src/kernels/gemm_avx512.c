/* gemm_avx512.c - the AVX-512 micro-kernels and packing: an 8x32 tile of
 * C in 16 zmm accumulators (and one running down the rows for narrow
 * outputs such as a 10-class layer), one FMA per k and element. Compiled with -mavx512f
 * etc.; gemm.c calls them only when cpuid says the CPU has AVX-512. */
#include "gemm_impl.h"


#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__FMA__)
#include <immintrin.h>

#include "transpose_avx.h"

/* Full unrolling of the constant-count tile loops, so the accumulators
 * stay in registers (clang wants its own spelling). */
#ifdef __clang__
#define UNROLL_FULL _Pragma("unroll")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __mmask16 lane_mask(int n)
{
    if (n >= 16) return (__mmask16)0xFFFF;
    if (n <= 0) return 0;
    return (__mmask16)((1u << n) - 1u);
}

/* relu and leaky relu exactly as the reference writes them: v > 0 ? v : ... */
ALWAYS_INLINE __m512 act_vec(__m512 v, lm_act act)
{
    __m512 zero = _mm512_setzero_ps();
    if (act == LM_RELU) return _mm512_max_ps(v, zero); /* v > 0 ? v : 0 */
    if (act == LM_LEAKY_RELU) {
        __mmask16 pos = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
        return _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, _mm512_set1_ps(LM_LEAKY_SLOPE)), v);
    }
    return v;
}

/* The body of an MR x (16 NV) micro-kernel, NV = 1 or 2; MR, NV and
 * DIRECT are constants at every call site, so the loops unroll and the
 * accumulators live in registers. The two column halves are spelled out
 * (not a loop) because clang keeps a 2-D accumulator array in memory.
 * DIRECT: B's rows are read in place (stride sb), masked to nr columns so
 * nothing past a row's end is touched; else pb is a packed panel.
 * IDX: only the kc steps listed in kidx (see lm__ukernel_idx). */
ALWAYS_INLINE void kern_body(const int MR, const int NV, const int DIRECT, const int IDX,
                             int kc, const int *kidx, const float *pa, int sa, const float *pb, int sb,
                             float *c, int ldc, int mr, int nr, int accumulate, int last,
                             const float *bias, lm_act act)
{
    __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
    __m512 acc0[16], acc1[16];
    UNROLL_FULL
    for (int r = 0; r < MR; r++) {
        float *cr = c + (size_t)r * ldc;
        int load = accumulate == LM__ACC_LOAD && r < mr;
        acc0[r] = load ? _mm512_maskz_loadu_ps(m0, cr) : _mm512_setzero_ps();
        if (NV == 2) acc1[r] = load ? _mm512_maskz_loadu_ps(m1, cr + 16) : _mm512_setzero_ps();
    }
    for (int t = 0; t < kc; t++) {
        /* IDX: only the listed steps (lm__ukernel_idx) */
        const float *ak = IDX ? pa + (size_t)kidx[t] * sa : pa;
        const float *bk = IDX ? pb + (size_t)kidx[t] * sb : pb;
        __m512 b0, b1;
        if (DIRECT) {
            b0 = _mm512_maskz_loadu_ps(m0, bk);
            b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, bk + 16) : b0;
        } else {
            b0 = _mm512_load_ps(bk);
            b1 = NV == 2 ? _mm512_load_ps(bk + 16) : b0;
        }
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(ak[r]);
            acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);
            if (NV == 2) acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);
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
                acc0[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc0[r]);
                if (NV == 2) acc1[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc1[r]);
            }
        }
    }
    if (last && (bias || act == LM_RELU || act == LM_LEAKY_RELU)) {
        __m512 bv0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
        __m512 bv1 = bias && NV == 2 ? _mm512_maskz_loadu_ps(m1, bias + 16) : bv0;
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            if (bias) acc0[r] = _mm512_add_ps(acc0[r], bv0);
            acc0[r] = act_vec(acc0[r], act);
            if (NV == 2) {
                if (bias) acc1[r] = _mm512_add_ps(acc1[r], bv1);
                acc1[r] = act_vec(acc1[r], act);
            }
        }
    }
    UNROLL_FULL
    for (int r = 0; r < MR; r++) {
        if (r < mr) {
            float *cr = c + (size_t)r * ldc;
            _mm512_mask_storeu_ps(cr, m0, acc0[r]);
            if (NV == 2) _mm512_mask_storeu_ps(cr + 16, m1, acc1[r]);
        }
    }
    /* sigmoid and tanh go through the shared code while the tile is hot */
    if (last && (act == LM_SIGMOID || act == LM_TANH))
        for (int r = 0; r < mr; r++) lm_act_apply(act, c + (size_t)r * ldc, (size_t)nr);
}

static void kern_8x32(int kc, const float *pa, int sa, const float *pb, int sb, float *c,
                      int ldc, int mr, int nr, int accumulate, int last, const float *bias,
                      lm_act act)
{
    if (!sb)
        kern_body(8, 2, 0, 0, kc, NULL, pa, sa, pb, 32, c, ldc, mr, nr, accumulate, last, bias, act);
    else
        kern_body(8, 2, 1, 0, kc, NULL, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act);
}

static void kern_8x32_idx(int kc, const int *kidx, const float *pa, int sa, const float *pb,
                          int sb, float *c, int ldc, int mr, int nr, int accumulate, int last,
                          const float *bias, lm_act act)
{
    if (!sb)
        kern_body(8, 2, 0, 1, kc, kidx, pa, sa, pb, 32, c, ldc, mr, nr, accumulate, last, bias, act);
    else
        kern_body(8, 2, 1, 1, kc, kidx, pa, sa, pb, sb, c, ldc, mr, nr, accumulate, last, bias, act);
}

/* In place: r[i] holds row i of a 16x16 block; afterwards r[i] holds
 * column i. Its own inverse. */
ALWAYS_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    UNROLL_FULL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    UNROLL_FULL
    for (int i = 0; i < 16; i += 4) {
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* u[4q + c] holds, in 128-bit lane L, rows 4q..4q+3 of column 4L + c */
    UNROLL_FULL
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
    }
    UNROLL_FULL
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

/* The narrow kernel (N <= 16, e.g. a 10-class layer): vectors run down
 * 16 rows of C and each of the NRT columns is one accumulator, so no
 * lane is wasted on missing columns. pa is an A panel of 16 rows, pb a B
 * panel 16 wide. Each element is still acc = fma(a, b, acc) over k in
 * order, so the bits match the other kernels. The tile is transposed in
 * registers on its way in and out of C. */
ALWAYS_INLINE void kt_body(const int NRT, int kc, const float *pa, int sa, const float *pb,
                           int sb, float *c, int ldc, int mr, int accumulate, int last,
                           const float *bias, lm_act act)
{
    __m512 acc[16];
    const __mmask16 cols = lane_mask(NRT);
    if (accumulate == LM__ACC_LOAD) {
        UNROLL_FULL
        for (int r = 0; r < 16; r++)
            acc[r] = r < mr ? _mm512_maskz_loadu_ps(cols, c + (size_t)r * ldc)
                            : _mm512_setzero_ps();
        transpose16(acc);
    } else {
        UNROLL_FULL
        for (int j = 0; j < NRT; j++) acc[j] = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m512 a = _mm512_loadu_ps(pa);
        UNROLL_FULL
        for (int j = 0; j < NRT; j++)
            acc[j] = _mm512_fmadd_ps(a, _mm512_set1_ps(pb[j]), acc[j]);
        pa += sa;
        pb += sb; /* only NRT values a step are read: in place is safe */
    }
    if (accumulate == LM__ACC_ADD) {
        __m512 cv[16];
        UNROLL_FULL
        for (int r = 0; r < 16; r++)
            cv[r] = r < mr ? _mm512_maskz_loadu_ps(cols, c + (size_t)r * ldc) : _mm512_setzero_ps();
        transpose16(cv);
        UNROLL_FULL
        for (int j = 0; j < NRT; j++) acc[j] = _mm512_add_ps(cv[j], acc[j]);
    }
    UNROLL_FULL
    for (int j = 0; j < 16; j++) {
        if (j >= NRT) {
            acc[j] = _mm512_setzero_ps();
        } else if (last) {
            if (bias) acc[j] = _mm512_add_ps(acc[j], _mm512_set1_ps(bias[j]));
            acc[j] = act_vec(acc[j], act);
        }
    }
    transpose16(acc);
    UNROLL_FULL
    for (int r = 0; r < 16; r++)
        if (r < mr) _mm512_mask_storeu_ps(c + (size_t)r * ldc, cols, acc[r]);
    /* sigmoid and tanh go through the shared code while the tile is hot */
    if (last && (act == LM_SIGMOID || act == LM_TANH))
        for (int r = 0; r < mr; r++) lm_act_apply(act, c + (size_t)r * ldc, (size_t)NRT);
}

static void kern_t16(int kc, const float *pa, int sa, const float *pb, int sb, float *c,
                     int ldc, int mr, int nr, int accumulate, int last, const float *bias,
                     lm_act act)
{
    if (!sb) sb = 16;
#define KT_CASE(n)                                                                    \
    case n: kt_body(n, kc, pa, sa, pb, sb, c, ldc, mr, accumulate, last, bias, act); break;
    switch (nr) {
        KT_CASE(1) KT_CASE(2) KT_CASE(3) KT_CASE(4) KT_CASE(5) KT_CASE(6) KT_CASE(7)
        KT_CASE(8) KT_CASE(9) KT_CASE(10) KT_CASE(11) KT_CASE(12) KT_CASE(13) KT_CASE(14)
        KT_CASE(15) KT_CASE(16)
    default: break;
    }
#undef KT_CASE
}

/* ------------------------------------------------------------ packing */

/* Packs `cnt` (<= W) strided vectors of length kc, vector i at
 * src + i * lds, into k-major rows of width W: dst[k * W + i], zero for
 * i >= cnt. Whole 8x8 blocks go through transpose8. */
ALWAYS_INLINE void pack_strided(const int W, const float *src, size_t lds, int cnt, int kc,
                                float *dst)
{
    int i = 0;
    for (; i + 8 <= cnt; i += 8) {
        int k = 0;
        for (; k + 8 <= kc; k += 8)
            transpose8(src + (size_t)i * lds + k, lds, dst + (size_t)k * W + i, (size_t)W);
        for (; k < kc; k++)
            for (int t = 0; t < 8; t++) dst[(size_t)k * W + i + t] = src[(size_t)(i + t) * lds + k];
    }
    for (; i < W; i++) {
        if (i < cnt)
            for (int k = 0; k < kc; k++) dst[(size_t)k * W + i] = src[(size_t)i * lds + k];
        else
            for (int k = 0; k < kc; k++) dst[(size_t)k * W + i] = 0.0f;
    }
}

/* Packs kc rows of `cnt` (<= W) contiguous floats, row k at src + k *
 * lds, into rows of width W (a multiple of 8), zero-filled past cnt. */
ALWAYS_INLINE void pack_rows(const int W, const float *src, size_t lds, int cnt, int kc,
                             float *dst)
{
    __mmask16 m[4];
    UNROLL_FULL
    for (int v = 0; v < W / 16; v++) m[v] = lane_mask(cnt - 16 * v);
    if (cnt == W && W >= 16) { /* whole panel: plain copies */
        for (int k = 0; k < kc; k++) {
            const float *s = src + (size_t)k * lds;
            float *d = dst + (size_t)k * W;
            UNROLL_FULL
            for (int v = 0; v < W / 16; v++) _mm512_store_ps(d + 16 * v, _mm512_loadu_ps(s + 16 * v));
        }
        return;
    }
    for (int k = 0; k < kc; k++) {
        const float *s = src + (size_t)k * lds;
        float *d = dst + (size_t)k * W;
        if (W == 8) {
            __m256 x = _mm256_maskz_loadu_ps(lane_mask(cnt) & 0xFF, s);
            _mm256_store_ps(d, x);
        } else {
            UNROLL_FULL
            for (int v = 0; v < W / 16; v++)
                _mm512_store_ps(d + 16 * v, _mm512_maskz_loadu_ps(m[v], s + 16 * v));
        }
    }
}

ALWAYS_INLINE void pack_a_body(const int MR, lm__gemm_op op, const float *A, int lda, int i0,
                               int mc, int k0, int kc, float *pa)
{
    for (int p = 0; p < mc; p += MR, pa += (size_t)MR * kc) {
        int mr = mc - p < MR ? mc - p : MR;
        if (op == LM__OP_TN)
            pack_rows(MR, A + (size_t)k0 * lda + i0 + p, (size_t)lda, mr, kc, pa);
        else
            pack_strided(MR, A + (size_t)(i0 + p) * lda + k0, (size_t)lda, mr, kc, pa);
    }
}

ALWAYS_INLINE void pack_b_body(const int NR, lm__gemm_op op, const float *B, int ldb, int k0,
                               int kc, int j0, int nc, float *pb)
{
    for (int q = 0; q < nc; q += NR, pb += (size_t)NR * kc) {
        int nr = nc - q < NR ? nc - q : NR;
        if (op == LM__OP_NT)
            pack_strided(NR, B + (size_t)(j0 + q) * ldb + k0, (size_t)ldb, nr, kc, pb);
        else
            pack_rows(NR, B + (size_t)k0 * ldb + j0 + q, (size_t)ldb, nr, kc, pb);
    }
}

static void pack_a_8(lm__gemm_op op, const float *A, int lda, int i0, int mc, int k0, int kc,
                     float *pa)
{
    pack_a_body(8, op, A, lda, i0, mc, k0, kc, pa);
}

static void pack_a_16(lm__gemm_op op, const float *A, int lda, int i0, int mc, int k0, int kc,
                      float *pa)
{
    pack_a_body(16, op, A, lda, i0, mc, k0, kc, pa);
}

static void pack_b_32(lm__gemm_op op, const float *B, int ldb, int k0, int kc, int j0, int nc,
                      float *pb)
{
    pack_b_body(32, op, B, ldb, k0, kc, j0, nc, pb);
}

static void pack_b_16(lm__gemm_op op, const float *B, int ldb, int k0, int kc, int j0, int nc,
                      float *pb)
{
    pack_b_body(16, op, B, ldb, k0, kc, j0, nc, pb);
}

/* ------------------------------------------------------- few rows */

/* MR (1..4) rows of C over columns [j, j+nr), nr <= 64, B read in place;
 * with add_c, C's values are added to the sums before the epilogue. */
ALWAYS_INLINE void small_m_block(const int MR, int K, const float *A, int lda,
                                 const float *B, int ldb, float *c, int ldc, int nr,
                                 const lm_epilogue *ep, int add_c)
{
    __mmask16 m[4];
    UNROLL_FULL
    for (int v = 0; v < 4; v++) m[v] = lane_mask(nr - 16 * v);
    __m512 acc[4][4];
    UNROLL_FULL
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m[0], b), b1 = _mm512_maskz_loadu_ps(m[1], b + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m[2], b + 32), b3 = _mm512_maskz_loadu_ps(m[3], b + 48);
        UNROLL_FULL
        for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(a, b3, acc[r][3]);
        }
    }
    const float *bias = ep ? ep->bias : NULL;
    lm_act act = ep ? ep->act : LM_IDENTITY;
    UNROLL_FULL
    for (int r = 0; r < MR; r++) {
        float *cr = c + (size_t)r * ldc;
        UNROLL_FULL
        for (int v = 0; v < 4; v++) {
            __m512 x = acc[r][v];
            if (add_c) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], cr + 16 * v), x);
            if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m[v], bias + 16 * v));
            _mm512_mask_storeu_ps(cr + 16 * v, m[v], act_vec(x, act));
        }
        if (act == LM_SIGMOID || act == LM_TANH) lm_act_apply(act, cr, (size_t)nr);
    }
}

static void small_m(int m, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc, const lm_epilogue *ep, int add_c)
{
    for (int j = 0; j < N; j += 64) {
        int nr = N - j < 64 ? N - j : 64;
        lm_epilogue e = {0};
        if (ep) e = (lm_epilogue){ep->bias ? ep->bias + j : NULL, ep->act};
        const lm_epilogue *epj = ep ? &e : NULL;
        switch (m) {
        case 1: small_m_block(1, K, A, lda, B + j, ldb, C + j, ldc, nr, epj, add_c); break;
        case 2: small_m_block(2, K, A, lda, B + j, ldb, C + j, ldc, nr, epj, add_c); break;
        case 3: small_m_block(3, K, A, lda, B + j, ldb, C + j, ldc, nr, epj, add_c); break;
        default: small_m_block(4, K, A, lda, B + j, ldb, C + j, ldc, nr, epj, add_c); break;
        }
    }
}

/* ------------------------------------------------------- vector ops */

int lm__all_finite_avx512(const float *x, size_t n)
{
    /* a float is NaN or Inf iff its exponent bits are all ones */
    const __m512i expo = _mm512_set1_epi32(0x7f800000);
    __mmask16 bad = 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = _mm512_and_si512(_mm512_loadu_si512(x + i), expo);
        bad |= _mm512_cmpeq_epi32_mask(v, expo);
    }
    if (i < n) {
        __m512i v = _mm512_maskz_loadu_epi32(lane_mask((int)(n - i)), x + i);
        bad |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(v, expo), expo);
    }
    return bad == 0;
}

/* The 8-row panel's nonzero steps (see lm__gemm_impl): one 256-bit test
 * a step, branch-free (a step's index is written, then kept or not). */
static int nonzero_steps_8(const float *a, int sa, int kc, int *out)
{
    const __m256i mag = _mm256_set1_epi32(0x7fffffff);
    int n = 0;
    for (int k = 0; k < kc; k++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(a + (size_t)k * sa));
        out[n] = k;
        n += !_mm256_testz_si256(v, mag);
    }
    return n;
}

/* Tiny products (gemm_impl.h), one FMA a step as kern sums. */
static void tiny_fma(lm__gemm_op op, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float *C, int ldc)
{
    lm__tiny(1, op, M, N, K, A, lda, B, ldb, C, ldc);
}

static const lm__gemm_impl narrow_16x16 = {"avx512", 16, 16, kern_t16, pack_a_16,
                                           pack_b_16, NULL, small_m, 4, NULL, NULL, tiny_fma};
const lm__gemm_impl lm__gemm_avx512 = {"avx512", 8, 32, kern_8x32, pack_a_8, pack_b_32,
                                       &narrow_16x16, small_m, 4, kern_8x32_idx,
                                       nonzero_steps_8, tiny_fma};

#else
/* Built without AVX-512 flags: stubs the driver never selects. */
const lm__gemm_impl lm__gemm_avx512 = {"avx512", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
int lm__all_finite_avx512(const float *x, size_t n)
{
    (void)x;
    (void)n;
    return 1;
}
#endif
