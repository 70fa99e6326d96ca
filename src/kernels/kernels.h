/* kernels.h - the numeric kernels behind the layers: GEMM in the three
 * layouts training needs and a persistent thread pool. Everything is
 * row-major float32; leading dimensions are in elements.
 *
 * Determinism: for a given machine (the same variant chosen at run time)
 * the result of every kernel is bit-identical whatever the thread count:
 * the order of every sum depends on the shape alone (gemm.c).
 */
#ifndef LM_KERNELS_H
#define LM_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "lamina.h"

/* ------------------------------------------------------ thread pool */

typedef struct lm_pool lm_pool;

/* A pool of `threads` workers in all (the caller counts as one, so
 * threads - 1 are started); threads <= 0 means all cores. Each thread,
 * the caller included, runs thread_init (if not NULL) once before its
 * first task, and each started thread runs thread_fini (if not NULL)
 * when it exits; LM_ENOMEM, and no pool, if any thread_init fails
 * (pool.c). */
lm_status lm_pool_start(lm_pool **out, int threads, lm_status (*thread_init)(void),
                        void (*thread_fini)(void));
/* lm_pool_start with the GEMM packing buffers as the per-thread state
 * (gemm.c): the pool the kernels run on. */
lm_status lm_pool_new(lm_pool **out, int threads);
void lm_pool_free(lm_pool *p);
int lm_pool_size(const lm_pool *p); /* 1 for a NULL pool */
/* The threads a job should be planned for now: lm_pool_size, or 1 while
 * the pool runs jobs on the caller alone because its threads lost
 * (pool.c). Only for splitting work whose results do not depend on the
 * split; size per-thread buffers by lm_pool_size. Caller's thread only. */
int lm_pool_width(const lm_pool *p);
int lm_cpu_count(void);
/* How many times the pool has fallen back to running jobs on the caller
 * alone because its threads did not pay (tests; pool.c). */
long lm__pool_serial_spells(const lm_pool *p);
/* A trainer's mark at the start of each step (pool.c, AB_K), and once
 * after its last: key is the step's kind (its rows), 0 for a step not to
 * be timed (a short last batch; what follows the last step). The pool
 * compares whole steps run on its threads and on the caller alone, and
 * runs the next ones the faster way. Caller's thread only.
 * lm__pool_step_at takes the time (tests); the counters are the probes
 * run and the comparisons the caller alone won. */
void lm__pool_step(lm_pool *p, size_t key);
/* Seconds on the monotonic clock (the pool's, the trainer's and the
 * GEMM's timings). */
double lm__now_sec(void);
void lm__pool_step_at(lm_pool *p, size_t key, double now);
long lm__pool_ab_probes(const lm_pool *p);
long lm__pool_ab_losses(const lm_pool *p);
/* Stalls the window fallback forgave, as no other came within
 * STALL_REPEAT_SEC (tests; pool.c). */
long lm__pool_lone_stalls(const lm_pool *p);
/* Turns the window fallback off, so that only the step comparison
 * decides (tests of it on a fake clock). */
void lm__pool_window_off(lm_pool *p);

/* Runs fn(ctx, i) for i in [0, ntasks) across the pool and returns when
 * all are done. A NULL pool runs them in order on the caller. */
void lm_pool_run(lm_pool *p, int ntasks, void (*fn)(void *ctx, int i), void *ctx);

/* Whether this CPU has the instruction set "avx512" (F, VL, BW, DQ and
 * FMA, what the AVX-512 kernels are compiled for), "avx2" (with FMA) or
 * "neon" (aarch64's Advanced SIMD). Which variant runs is cpu.c's choice
 * (cpu.h). */
int lm__cpu_has(const char *isa);

/* Memory for buffers the kernels stream through every step (parameters,
 * gradients, optimizer state, activations, packing scratch, data sets):
 * at least 64-byte aligned; from 512 KiB up, 2 MiB-aligned, rounded up to
 * whole 2 MiB and advised to use transparent huge pages (src/kernels/mem.c
 * says why). Free with free(). NULL when out of memory. */
void *lm_big_alloc(size_t bytes);

/* The allocation test hook, for tests only (not part of the API): every
 * allocation the library makes calls lm__alloc_hook first, which counts
 * it and its bytes and says whether it must fail (the fail_at-th since
 * the last reset; 0 never). Tests count allocations over a training run
 * and make each allocation of a setup path fail in turn. In use it costs
 * an atomic add and a compare per allocation, and the library allocates
 * only when shapes are set, never per batch. */
int lm__alloc_hook(size_t bytes);

/* Allocates the calling thread's GEMM packing buffers now (they are made
 * on a thread's first product otherwise, and a product that cannot have
 * them falls back to the slow reference): where shapes are set, so that no
 * step allocates and a failure is reported. LM_ENOMEM if out of memory. */
lm_status lm__gemm_thread_prepare(void);
void lm__alloc_hook_reset(uint64_t fail_at);
uint64_t lm__alloc_hook_count(void); /* allocations since the reset */
uint64_t lm__alloc_hook_bytes(void); /* their bytes */

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

/* ------------------------------------------------------ elementwise */

/* Vectorised where the CPU allows (AVX2, AVX-512, NEON), chosen at run
 * time like the GEMM. Each element is computed on its own, so results never depend on
 * how threads split an array. The SIMD exp behind sigmoid, tanh and
 * softmax is within 2 ulp of the correctly rounded value (the portable
 * one uses libm). */

/* Applies an elementwise activation (not softmax) to n values in place. */
void lm_act_apply(lm_act act, float *x, size_t n);

/* d *= act'(.) for n values, from the activation's outputs a; for an
 * elementwise act (not softmax; identity leaves d alone). */
void lm_act_grad(lm_act act, const float *a, float *d, size_t n);

/* x = exp(x) for n values in place. */
void lm_vec_exp(float *x, size_t n);

/* Column sums: out (N) = sum over rows of A (M,N). For bias gradients. */
void lm_colsum(int M, int N, const float *A, int lda, float *out);

/* out = (x - mean) * scale elementwise over n values (mean and scale
 * both NULL: a plain conversion). Loads a batch of u8 or float rows. */
void lm_vec_norm_u8(float *out, const uint8_t *x, const float *mean, const float *scale,
                    size_t n);
void lm_vec_norm_f32(float *out, const float *x, const float *mean, const float *scale,
                     size_t n);

/* One optimizer step's constants for lm_vec_update (src/optim.c fills
 * them the way torch.optim computes them). */
typedef enum lm_update_kind {
    LM_UPD_SGD, LM_UPD_MOMENTUM, LM_UPD_NESTEROV, LM_UPD_ADAM, LM_UPD_RPROP
} lm_update_kind;
typedef struct lm_update {
    lm_update_kind kind;
    float lr, wd, mu; /* SGD: rate, L2 weight decay, momentum (RPROP: wd) */
    float b1, b2, eps, l2, decay, step, bc2_sqrt; /* Adam and AdamW */
    float eta_minus, eta_plus, step_min, step_max; /* RPROP */
} lm_update;

/* Updates n parameters p from gradients g and state m (momentum or Adam's
 * first moment, RPROP's previous gradient; NULL for plain SGD) and v
 * (Adam's second moment, RPROP's step sizes). Returns 1 if every new
 * parameter is finite. The SIMD and portable versions give the same bits:
 * the same float operations in the same order, no FMA. RPROP, a
 * full-batch method whose speed does not matter, runs the portable loop
 * whatever the variant. */
int lm_vec_update(const lm_update *u, size_t n, float *p, const float *g, float *m, float *v);

/* Whether all n values are finite (no NaN or Inf), vectorised. */
int lm_vec_all_finite(const float *x, size_t n);

/* The GEMM variant in use ("ref", "avx2", "avx512", "neon", "blas"). The
 * environment variable LAMINA_ISA=ref|avx2|avx512|neon (LAMINA_GEMM is
 * its older name) forces one for every kernel family (cpu.c), for tests
 * and benchmarks. */
const char *lm_gemm_variant(void);

#endif
