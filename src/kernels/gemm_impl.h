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
 * nearest is never -0, so skipping those steps leaves the bits as they
 * were (for finite B). */
typedef void (*lm__ukernel_idx)(int kc, const int *kidx, const float *pa, int sa,
                                const float *pb, int sb, float *c, int ldc, int mr, int nr,
                                int accumulate, int last, const float *bias, lm_act act);

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
