/* gemm_ref.c - plain C GEMM: the reference every fast variant is tested
 * against, and the fallback on any CPU. Sums over K in order. */
#include "kernels.h"

void lm_gemm_nn_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc, const lm_epilogue *ep)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] = 0.0f;
        for (int k = 0; k < K; k++) {
            float a = A[(size_t)i * lda + k];
            const float *b = B + (size_t)k * ldb;
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
        if (ep) {
            if (ep->bias)
                for (int j = 0; j < N; j++) c[j] += ep->bias[j];
            lm_act_apply(ep->act, c, (size_t)N);
        }
    }
}

void lm_gemm_tn_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] = 0.0f;
        for (int k = 0; k < K; k++) {
            float a = A[(size_t)k * lda + i];
            const float *b = B + (size_t)k * ldb;
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}

void lm_gemm_nt_ref(int M, int N, int K, const float *A, int lda, const float *B,
                    int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++)
                s += A[(size_t)i * lda + k] * B[(size_t)j * ldb + k];
            C[(size_t)i * ldc + j] = s;
        }
}
