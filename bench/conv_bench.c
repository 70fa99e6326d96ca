/* conv_bench.c - one training step (forward + backward, no optimizer) of
 * issue 12's CNN at batch 64 on 28x28x1 inputs, on the spatial kernels
 * (src/kernels/conv.c) and the GEMMs directly:
 *   conv 32 3x3 same relu, maxpool 2, conv 64 3x3 same relu, maxpool 2,
 *   dense 3136->128 relu, dense 128->10
 * Prints each phase's mean and best milliseconds and the step's GFLOP/s (FLOPs counted
 * as 2 per multiply-add of the convolutions and dense layers, about
 * 1.6 GFLOP a step; an epoch of Fashion-MNIST is 938 steps).
 *
 * Build and run (after make):
 *   cc -O3 -std=c11 -pthread -Iinclude -Isrc -o build/conv_bench \
 *      bench/conv_bench.c build/liblamina.a -lz -lm
 *   build/conv_bench [iterations, default 10] [threads, default 1]
 * LAMINA_CONV=im2col|winograd picks the second conv's algorithm (default:
 * the layer's choice, Winograd); the Winograd backward is one call, timed
 * in the "bwd conv2 dw" row. FLOPs are always counted as direct.
 */
#include "kernels/conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *buf(size_t n, unsigned seed)
{
    float *p = lm_big_alloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = ((float)((seed >> 9) & 0xFFFF) / 65536.0f - 0.5f) * 0.2f;
    }
    return p;
}

enum { T_IM2COL1, T_CONV1, T_POOL1, T_IM2COL2, T_CONV2, T_POOL2, T_DENSE, T_BDENSE,
       T_BPOOL2, T_BCONV2W, T_BCONV2X, T_COL2IM, T_BPOOL1, T_BCONV1, T_N };
static const char *NAMES[T_N] = {"fwd im2col1", "fwd gemm1",  "fwd pool1",  "fwd im2col2",
                                 "fwd gemm2",   "fwd pool2",  "fwd dense",  "bwd dense",
                                 "bwd pool2",   "bwd conv2 dw", "bwd conv2 dcol", "bwd col2im",
                                 "bwd pool1",  "bwd conv1"};

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 10, threads = argc > 2 ? atoi(argv[2]) : 1;
    if (iters < 1) iters = 1;
    lm_pool *pool = NULL;
    if (threads > 1 && lm_pool_new(&pool, threads) != LM_OK) return 1;
    const int B = 64, F1 = 32, F2 = 64, D1 = 128, D2 = 10;
    lm_conv_shape c1 = {B, 28, 28, 1, 3, 3, 1, 1, 1, 1, 28, 28};
    lm_conv_shape p1 = {B, 28, 28, F1, 2, 2, 2, 2, 0, 0, 14, 14};
    lm_conv_shape c2 = {B, 14, 14, F1, 3, 3, 1, 1, 1, 1, 14, 14};
    lm_conv_shape p2 = {B, 14, 14, F2, 2, 2, 2, 2, 0, 0, 7, 7};
    const int FLAT = 7 * 7 * F2, K1 = 9, K2 = 9 * F1;
    size_t n_a1 = (size_t)B * 28 * 28 * F1, n_p1 = (size_t)B * 14 * 14 * F1;
    size_t n_a2 = (size_t)B * 14 * 14 * F2, n_p2 = (size_t)B * FLAT;
    size_t col = lm_conv_col_size(&c2) > lm_conv_col_size(&c1) ? lm_conv_col_size(&c2)
                                                                : lm_conv_col_size(&c1);

    float *x = buf((size_t)B * 784, 1), *w1 = buf(K1 * F1, 2), *b1 = buf(F1, 3);
    float *w2 = buf((size_t)K2 * F2, 4), *b2 = buf(F2, 5), *w3 = buf((size_t)FLAT * D1, 6);
    float *b3 = buf(D1, 7), *w4 = buf(D1 * D2, 8), *b4 = buf(D2, 9);
    float *col1 = buf(lm_conv_col_size(&c1), 0), *col2 = buf(lm_conv_col_size(&c2), 0);
    float *dcol = buf(col, 0);
    float *a1 = buf(n_a1, 0), *q1 = buf(n_p1, 0), *a2 = buf(n_a2, 0), *q2 = buf(n_p2, 0);
    float *h = buf((size_t)B * D1, 0), *out = buf((size_t)B * D2, 0), *dout = buf((size_t)B * D2, 10);
    float *dh = buf((size_t)B * D1, 0), *dq2 = buf(n_p2, 0), *da2 = buf(n_a2, 0);
    float *dq1 = buf(n_p1, 0), *da1 = buf(n_a1, 0);
    float *dw1 = buf(K1 * F1, 0), *db1 = buf(F1, 0), *dw2 = buf((size_t)K2 * F2, 0);
    float *db2 = buf(F2, 0), *dw3 = buf((size_t)FLAT * D1, 0), *db3 = buf(D1, 0);
    float *dw4 = buf(D1 * D2, 0), *db4 = buf(D2, 0);
    /* the second conv's algorithm, as the layer picks it (LAMINA_CONV) */
    int wino = lm_conv_algo(&c2, F2) == LM_CONV_WINOGRAD;
    float *wsaved = buf(lm_wino_saved_size(&c2, F2), 0), *wtmp = buf(lm_wino_tmp_size(&c2, F2), 0);
    int32_t *arg1 = malloc(n_p1 * sizeof *arg1), *arg2 = malloc(n_p2 * sizeof *arg2);

    double t[T_N] = {0}, tmin[T_N], best = 1e30;
    for (int k = 0; k < T_N; k++) tmin[k] = 1e30;
    for (int it = 0; it <= iters; it++) { /* iteration 0 warms up, uncounted */
        double p[T_N], s0 = now(), s = s0, e;
#define LAP(k) (e = now(), p[k] = e - s, s = e)
        lm_im2col(&c1, x, col1, pool);
        LAP(T_IM2COL1);
        lm_epilogue ep1 = {b1, LM_RELU};
        lm_gemm_nn(B * 784, F1, K1, col1, K1, w1, F1, a1, F1, &ep1, pool);
        LAP(T_CONV1);
        lm_maxpool_forward(&p1, a1, q1, arg1, pool);
        LAP(T_POOL1);
        if (wino) {
            LAP(T_IM2COL2);
            lm_wino_forward(&c2, F2, q1, w2, b2, LM_RELU, a2, wsaved, wtmp, pool);
        } else {
            lm_im2col(&c2, q1, col2, pool);
            LAP(T_IM2COL2);
            lm_epilogue ep2 = {b2, LM_RELU};
            lm_gemm_nn(B * 196, F2, K2, col2, K2, w2, F2, a2, F2, &ep2, pool);
        }
        LAP(T_CONV2);
        lm_maxpool_forward(&p2, a2, q2, arg2, pool);
        LAP(T_POOL2);
        lm_epilogue ep3 = {b3, LM_RELU}, ep4 = {b4, LM_IDENTITY};
        lm_gemm_nn(B, D1, FLAT, q2, FLAT, w3, D1, h, D1, &ep3, pool);
        lm_gemm_nn(B, D2, D1, h, D1, w4, D2, out, D2, &ep4, pool);
        LAP(T_DENSE);
        /* backward from a fixed dlogits */
        lm_gemm_tn(D1, D2, B, h, D1, dout, D2, dw4, D2, pool);
        lm_colsum(B, D2, dout, D2, db4);
        lm_gemm_nt(B, D1, D2, dout, D2, w4, D2, dh, D1, pool);
        lm_act_grad(LM_RELU, h, dh, (size_t)B * D1);
        lm_gemm_tn(FLAT, D1, B, q2, FLAT, dh, D1, dw3, D1, pool);
        lm_colsum(B, D1, dh, D1, db3);
        lm_gemm_nt(B, FLAT, D1, dh, D1, w3, D1, dq2, FLAT, pool);
        LAP(T_BDENSE);
        lm_maxpool_backward(&p2, dq2, arg2, da2, pool);
        lm_act_grad(LM_RELU, a2, da2, n_a2);
        LAP(T_BPOOL2);
        if (wino) { /* all three gradients in one call: timed as "dw" */
            lm_wino_backward(&c2, F2, da2, q1, wsaved, dw2, db2, dq1, wtmp, pool);
            LAP(T_BCONV2W);
            LAP(T_BCONV2X);
            LAP(T_COL2IM);
        } else {
            /* lm_conv2d_backward(&c2, ...) in its three parts */
            lm_gemm_tn(K2, F2, B * 196, col2, K2, da2, F2, dw2, F2, pool);
            lm_colsum(B * 196, F2, da2, F2, db2);
            LAP(T_BCONV2W);
            lm_gemm_nt(B * 196, K2, F2, da2, F2, w2, F2, dcol, K2, pool);
            LAP(T_BCONV2X);
            lm_col2im(&c2, dcol, dq1, pool);
            LAP(T_COL2IM);
        }
        lm_maxpool_backward(&p1, dq1, arg1, da1, pool);
        lm_act_grad(LM_RELU, a1, da1, n_a1);
        LAP(T_BPOOL1);
        lm_conv2d_backward(&c1, F1, da1, x, col1, w1, dw1, db1, NULL, dcol, pool);
        LAP(T_BCONV1);
        if (it == 0) continue;
        for (int k = 0; k < T_N; k++) {
            t[k] += p[k];
            if (p[k] < tmin[k]) tmin[k] = p[k];
        }
        if (s - s0 < best) best = s - s0;
    }
    double conv1 = 2.0 * B * 784 * K1 * F1, conv2 = 2.0 * B * 196 * K2 * F2;
    double dense = 2.0 * B * FLAT * D1 + 2.0 * B * D1 * D2;
    double flops = 3 * (conv1 + conv2 + dense) - conv1; /* no input gradient for conv1 */
    double total = 0;
    for (int k = 0; k < T_N; k++) total += t[k];
    printf("conv_bench: batch %d, %d thread(s), variant %s, conv2 %s, %d iterations\n", B,
           threads > 1 ? threads : 1, lm_gemm_variant(), wino ? "winograd" : "im2col", iters);
    for (int k = 0; k < T_N; k++)
        printf("  %-15s mean %7.3f ms (%4.1f%%)  min %7.3f ms\n", NAMES[k], 1e3 * t[k] / iters,
               100 * t[k] / total, 1e3 * tmin[k]);
    printf("step: mean %.2f ms, best %.2f ms; %.3f GFLOP a step; %.1f GFLOP/s (best %.1f)\n",
           1e3 * total / iters, 1e3 * best, flops * 1e-9, flops * iters / total * 1e-9,
           flops / best * 1e-9);
    printf("epoch estimate (938 steps, best step): %.1f s\n", 938 * best);
    lm_pool_free(pool);
    return 0;
}
