/* gemm.c - picks the GEMM variant. (Placeholder: reference only, serial;
 * the SIMD variants and threading replace this.) */
#include "kernels.h"

void lm_gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const lm_epilogue *ep, lm_pool *pool)
{
    (void)pool;
    lm_gemm_nn_ref(M, N, K, A, lda, B, ldb, C, ldc, ep);
}

void lm_gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool)
{
    (void)pool;
    lm_gemm_tn_ref(M, N, K, A, lda, B, ldb, C, ldc);
}

void lm_gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool)
{
    (void)pool;
    lm_gemm_nt_ref(M, N, K, A, lda, B, ldb, C, ldc);
}

const char *lm_gemm_variant(void) { return "ref"; }
