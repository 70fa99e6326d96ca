/* vec_impl.h - what vec.c (the portable elementwise kernels and the
 * kernels) shares with its SIMD bodies (vec_avx2.c, vec_avx512.c,
 * vec_neon.c), the variant choice (cpu.c) and the
 * kernel tests. Internal: never included by users. */
#ifndef LM_VEC_IMPL_H
#define LM_VEC_IMPL_H

#include "kernels.h"

/* One variant of the elementwise kernels: every function has the meaning
 * of the lm_vec_* function of the same name in kernels.h. */
typedef struct lm__vec_impl {
    const char *name; /* "ref", "avx2", "avx512", "neon" */
    void (*act)(lm_act act, float *x, size_t n);
    void (*act_grad)(lm_act act, const float *a, float *d, size_t n);
    void (*exp)(float *x, size_t n);
    void (*colsum)(int M, int N, const float *A, int lda, float *out);
    void (*norm_u8)(float *out, const uint8_t *x, const float *mean, const float *scale, size_t n);
    void (*norm_f32)(float *out, const float *x, const float *mean, const float *scale, size_t n);
    int (*update)(const lm_update *u, size_t n, float *p, const float *g, float *m, float *v);
} lm__vec_impl;

/* The SIMD variants' exp and tanh constants, shared so that AVX2 and
 * AVX-512 stay bit-identical (tests/test_vec.c checks it).
 * exp(x) = 2^n e^r: n = round(x log2 e), r = x - n ln2 with ln2 in two
 * parts (the high one exact in few bits), e^r by its degree-7 Taylor
 * polynomial. tanh below TANH_SMALL: x + x^3 P(x^2), a least-squares fit
 * (0.9 ulp). */
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO (-2.12194440e-4f)
#define TANH_SMALL 0.625f
#define TANH_P4 (-5.718962755e-03f)
#define TANH_P3 2.065312490e-02f
#define TANH_P2 (-5.374465883e-02f)
#define TANH_P1 1.333151311e-01f
#define TANH_P0 (-3.333328664e-01f)

extern const lm__vec_impl lm__vec_ref;
/* Only the target architecture's files are built (mk/isa.sh); a variant's
 * name is NULL where its file was built without its ISA's flags. */
extern const lm__vec_impl lm__vec_avx2;
extern const lm__vec_impl lm__vec_avx512;
extern const lm__vec_impl lm__vec_neon;

#endif
