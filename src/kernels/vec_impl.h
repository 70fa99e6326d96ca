/* vec_impl.h - what vec.c (the portable elementwise kernels and the
 * run-time choice) shares with its SIMD bodies (vec_avx512.c) and the
 * kernel tests. Internal: never included by users. */
#ifndef LM_VEC_IMPL_H
#define LM_VEC_IMPL_H

#include "kernels.h"

/* One variant of the elementwise kernels: every function has the meaning
 * of the lm_vec_* function of the same name in kernels.h. */
typedef struct lm__vec_impl {
    const char *name; /* "ref", "avx2", "avx512" */
    void (*act)(lm_act act, float *x, size_t n);
    void (*act_grad)(lm_act act, const float *a, float *d, size_t n);
    void (*exp)(float *x, size_t n);
    void (*colsum)(int M, int N, const float *A, int lda, float *out);
    void (*norm_u8)(float *out, const uint8_t *x, const float *mean, const float *scale, size_t n);
    void (*norm_f32)(float *out, const float *x, const float *mean, const float *scale, size_t n);
    int (*update)(const lm_update *u, size_t n, float *p, const float *g, float *m, float *v);
} lm__vec_impl;

extern const lm__vec_impl lm__vec_ref;
extern const lm__vec_impl lm__vec_avx2;   /* name NULL when built without AVX2 */
extern const lm__vec_impl lm__vec_avx512; /* name NULL when built without AVX-512 */

/* The variant in use; lm__vec_force("ref"|"avx2"|"avx512"|NULL) picks
 * one (for tests; 0 if this CPU or build lacks it). */
const lm__vec_impl *lm__vec_current(void);
int lm__vec_force(const char *name);

#endif
