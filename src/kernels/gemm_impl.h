/* gemm_impl.h - what the GEMM driver (gemm.c) shares with its SIMD
 * micro-kernels (gemm_avx2.c, gemm_avx512.c, gemm_neon.c) and with the kernel tests.
 * Internal: never included by users.
 *
 * Packed layouts (BLIS style):
 *  - an A panel holds MR rows of op(A) for kc values of k, k-major:
 *    pa[k * MR + r] = op(A)(i0 + r, k0 + k), zero past the last row;
 *  - a B panel holds NR columns of op(B), k-major:
 *    pb[k * NR + c] = op(B)(k0 + k, j0 + c), zero past the last column.
 */
#ifndef LM_GEMM_IMPL_H
#define LM_GEMM_IMPL_H

#include "kernels.h"

#include <math.h>
#include <stddef.h>

/* How a micro-kernel starts a tile's sum (its `accumulate` argument):
 * from zero; from C (a later K block continuing the same sum); or from
 * zero, adding C once its own steps are summed (the second K slice of an
 * NN product, see gemm.c: C then holds the first slice's sum). */
enum { LM__ACC_NONE, LM__ACC_LOAD, LM__ACC_ADD };

/* Computes one (mr, nr) tile of C (mr <= MR, nr <= NR) from packed
 * panels: acc = sum over kc of pa * pb, summing k in order with one FMA
 * per step, starting from zero or C as `accumulate` says (LM__ACC_*).
 * The MR values of step k are at
 * pa + k * sa (sa = MR when packed; a TN operand's rows are used in place
 * with sa = lda). sb = 0: pb is a packed panel (aligned, zero-filled,
 * NR values a step); else B's rows are read in place (NN, TN), step k at
 * pb + k * sb (sb = ldb), and only nr values of each row are touched. If
 * last is set, the epilogue follows: bias (nr values, or NULL) is added,
 * then act (never softmax). */
typedef void (*lm__ukernel)(int kc, const float *pa, int sa, // (kc, MR), k stride sa
                            const float *pb, int sb,         // (kc, NR), see above
                            float *c, int ldc,               // (mr, nr) tile
                            int mr, int nr, int accumulate, int last,
                            const float *bias, lm_act act);

/* Which operand is transposed: NN reads A (M,K) and B (K,N); TN reads
 * A (K,M); NT reads B (N,K). */
typedef enum lm__gemm_op { LM__OP_NN, LM__OP_TN, LM__OP_NT } lm__gemm_op;

/* Packs rows [i0, i0+mc) x k [k0, k0+kc) of op(A) into MR-row panels. */
typedef void (*lm__pack_a_fn)(lm__gemm_op op, const float *A, int lda, int i0, int mc,
                              int k0, int kc, float *pa);
/* Packs k [k0, k0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels. */
typedef void (*lm__pack_b_fn)(lm__gemm_op op, const float *B, int ldb, int k0, int kc,
                              int j0, int nc, float *pb);

/* C (m, N) = A (m, K) B (K, N) for a few rows (m <= small_m_max),
 * streaming B once without packing (single-row inference), then the
 * epilogue (ep may be NULL). Sums each element over k in order with one
 * FMA per step, as the packed path does, so the two give the same bits.
 * With add_c, C's values are added to the sums before the epilogue (the
 * second K slice, as LM__ACC_ADD). */
typedef void (*lm__small_m_fn)(int m, int N, int K, const float *A, int lda, const float *B,
                               int ldb, float *C, int ldc, const lm_epilogue *ep, int add_c);

/* The micro-kernel over a subset of the k steps: kc steps, step t being
 * k = kidx[t] (ascending), with A's values at pa + k * sa and B's row at
 * pb + k * sb (sb = NR for a packed panel). For A whose MR values are all
 * zero at many k (an image's blank background): a zero step adds +-0,
 * and an accumulator that starts at +0 and is only ever rounded to
 * nearest is -0 only where a negative sum underflows to zero (below
 * 2^-149: a product of two values under about 1e-23), so skipping those
 * steps leaves the bits as they were for finite B and sums that never
 * underflow to zero. Otherwise a skipped step is not computed: 0 * Inf
 * or 0 * NaN (a NaN) does not reach C, and an underflowed -0 keeps its
 * sign where the dense kernel would give +0; then the bits may depend on
 * the other rows of a row's panel (tests/test_kernels.c,
 * test_gemm_nonfinite_b). */
typedef void (*lm__ukernel_idx)(int kc, const int *kidx, const float *pa, int sa,
                                const float *pb, int sb, float *c, int ldc, int mr, int nr,
                                int accumulate, int last, const float *bias, lm_act act);

/* A tiny product (gemm.c: few multiply-adds, one K block): C (M, N) =
 * op(A) op(B) as plain dot products, no packing, no threads, no
 * epilogue. An FMA variant sums each element as its micro-kernels do,
 * one FMA a step over k in order from +0, so whether a product is tiny
 * (which depends on its rows M) never changes its bits: a row predicted
 * alone gets the bits it gets among many rows. */
typedef void (*lm__tiny_fn)(lm__gemm_op op, int M, int N, int K, const float *A, int lda,
                            const float *B, int ldb, float *C, int ldc);

/* The tiny loops, with a multiply and an add a step (fused 0: the
 * reference's sums, gemm.c) or one FMA (fused 1: only in a variant's
 * file, compiled for FMA, where fmaf is one instruction). c[0..N) = the
 * sum over k of a[k * sa] * b[k * sk + j * sj]: one row of C for any of
 * the three layouts (NN: sa = 1, sk = ldb, sj = 1; TN: A's column, sa =
 * lda; NT: sk = 1, sj = ldb). Four columns at a time keep four
 * independent sums in flight. Inlined, so the strides that are 1 are
 * constants. */
static inline float lm__tiny_madd(const int fused, float a, float b, float s)
{
    return fused ? fmaf(a, b, s) : s + a * b;
}

static inline void lm__tiny_row(const int fused, int N, int K, const float *a, size_t sa,
                                const float *b, size_t sk, size_t sj, float *c)
{
    int j = 0;
    for (; j + 4 <= N; j += 4) {
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        const float *bk = b + j * sj;
        for (int k = 0; k < K; k++, bk += sk) {
            float ak = a[k * sa];
            s0 = lm__tiny_madd(fused, ak, bk[0], s0);
            s1 = lm__tiny_madd(fused, ak, bk[sj], s1);
            s2 = lm__tiny_madd(fused, ak, bk[2 * sj], s2);
            s3 = lm__tiny_madd(fused, ak, bk[3 * sj], s3);
        }
        c[j] = s0;
        c[j + 1] = s1;
        c[j + 2] = s2;
        c[j + 3] = s3;
    }
    for (; j < N; j++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) s = lm__tiny_madd(fused, a[k * sa], b[k * sk + j * sj], s);
        c[j] = s;
    }
}

/* A whole tiny product (lm__tiny_fn's contract) with lm__tiny_row. */
static inline void lm__tiny(const int fused, lm__gemm_op op, int M, int N, int K, const float *A,
                            int lda, const float *B, int ldb, float *C, int ldc)
{
    if (op == LM__OP_NN)
        for (int i = 0; i < M; i++)
            lm__tiny_row(fused, N, K, A + (size_t)i * lda, 1, B, (size_t)ldb, 1, C + (size_t)i * ldc);
    else if (op == LM__OP_TN)
        for (int i = 0; i < M; i++)
            lm__tiny_row(fused, N, K, A + i, (size_t)lda, B, (size_t)ldb, 1, C + (size_t)i * ldc);
    else
        for (int i = 0; i < M; i++)
            lm__tiny_row(fused, N, K, A + (size_t)i * lda, 1, B, 1, (size_t)ldb, C + (size_t)i * ldc);
}

typedef struct lm__gemm_impl {
    const char *name; /* "ref", "avx2", "avx512", "neon", "blas" */
    int mr, nr;       /* tile shape of the micro-kernel */
    lm__ukernel kern;
    lm__pack_a_fn pack_a; /* NULL: the portable packing in gemm.c */
    lm__pack_b_fn pack_b;
    /* For N <= narrow->nr the driver uses this one instead (a taller,
     * narrower tile wastes fewer lanes); NULL if none. */
    const struct lm__gemm_impl *narrow;
    lm__small_m_fn small_m; /* NN with M <= small_m_max; NULL if none */
    int small_m_max;
    lm__ukernel_idx kern_idx; /* kern over listed k steps; NULL if none */
    /* Lists in out the k steps of an MR-row panel of A (values of step k
     * at a + k * sa) where some value is nonzero (-0 counts as zero);
     * returns how many. With kern_idx. */
    int (*nonzero_steps)(const float *a, int sa, int kc, int *out);
    lm__tiny_fn tiny; /* tiny products, FMA variants; NULL: the reference's loops */
} lm__gemm_impl;

/* The micro-kernels, each compiled for its ISA (only the target
 * architecture's files are built, mk/isa.sh); only call them when the CPU
 * has it (cpu.c checks). */
extern const lm__gemm_impl lm__gemm_avx2;
extern const lm__gemm_impl lm__gemm_avx512;
extern const lm__gemm_impl lm__gemm_neon;

/* Turns the skipping of A's all-zero k steps on (the default) or off; for
 * tests comparing the two paths' bits. Not thread-safe against running
 * GEMMs. */
void lm__gemm_sparse_a(int on);
/* How many k steps of row panels the calling thread has skipped so far
 * (tests; a serial GEMM runs on the caller). */
long lm__gemm_sparse_skipped(void);

/* Tests: every TN product split into two row halves moves its boundary
 * by `shift` row panels (INT_MIN: learn it, the default); not
 * thread-safe against running GEMMs. And the shift this thread's
 * TN product writing C (M x N over K) has learnt, 0 if none. */
void lm__gemm_balance_force(int shift);
int lm__gemm_balance_shift(const float *C, int M, int N, int K);

/* The AVX-512 body of lm_vec_all_finite (call only with AVX-512). */
int lm__all_finite_avx512(const float *x, size_t n);

/* Releases this thread's packing buffers (the pool's workers call it
 * before they exit; other threads get it from a thread-exit hook). */
void lm__gemm_thread_release(void);

#endif
