/* kernels.h - the numeric kernels behind the layers: GEMM in the three
 * layouts training needs and a persistent thread pool. Everything is
 * row-major float32; leading dimensions are in elements.
 *
 * Determinism: for a given machine (the same variant chosen at run time)
 * the result of every kernel is bit-identical whatever the thread count:
 * threads split the output, never the sum over K.
 */
#ifndef LM_KERNELS_H
#define LM_KERNELS_H

#include <stddef.h>
#include "lamina.h"

/* ------------------------------------------------------ thread pool */

typedef struct lm_pool lm_pool;

/* A pool of `threads` workers in all (the caller counts as one, so
 * threads - 1 are started); threads <= 0 means all cores. */
lm_status lm_pool_new(lm_pool **out, int threads);
void lm_pool_free(lm_pool *p);
int lm_pool_size(const lm_pool *p); /* 1 for a NULL pool */
int lm_cpu_count(void);

/* Runs fn(ctx, i) for i in [0, ntasks) across the pool and returns when
 * all are done. A NULL pool runs them in order on the caller. */
void lm_pool_run(lm_pool *p, int ntasks, void (*fn)(void *ctx, int i), void *ctx);

/* ------------------------------------------------------------- GEMM */

/* Elementwise epilogue fused into the output pass of lm_gemm_nn. Softmax
 * is not elementwise and is applied afterwards by the caller. */
typedef struct lm_epilogue {
    const float *bias; /* (N) added to every row, or NULL */
    lm_act act;        /* LM_IDENTITY for none; never LM_SOFTMAX */
} lm_epilogue;

/* C (M,N) = A (M,K) * B (K,N), then bias and activation (ep may be NULL).
 * The forward pass of a dense layer. */
void lm_gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const lm_epilogue *ep, lm_pool *pool);

/* C (M,N) = A^T B with A (K,M), B (K,N): the weight gradient X^T dY. */
void lm_gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool);

/* C (M,N) = A B^T with A (M,K), B (N,K): the input gradient dY W^T. */
void lm_gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool);

/* The portable references the fast variants are tested against. */
void lm_gemm_nn_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc, const lm_epilogue *ep);
void lm_gemm_tn_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc);
void lm_gemm_nt_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc);

/* Applies an elementwise activation (not softmax) to n values in place. */
void lm_act_apply(lm_act act, float *x, size_t n);

/* Column sums: out (N) = sum over rows of A (M,N). For bias gradients. */
void lm_colsum(int M, int N, const float *A, int lda, float *out);

/* Whether all n values are finite (no NaN or Inf), vectorised. */
int lm_vec_all_finite(const float *x, size_t n);

/* The GEMM variant in use ("ref", "avx2", "avx512", "blas"). The
 * environment variable LAMINA_GEMM=ref|avx2|avx512 forces one (for tests
 * and benchmarks). */
const char *lm_gemm_variant(void);

#endif
