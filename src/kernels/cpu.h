/* cpu.h - the one CPU-variant selector (cpu.c): which variant of every
 * kernel family runs. Internal: never included by users. */
#ifndef LM_CPU_H
#define LM_CPU_H

#include <stdatomic.h>
#include <stddef.h>

#include "gemm_impl.h"
#include "vec_impl.h"

/* One variant: a member for each kernel family. The families are chosen
 * together, never mixed: the fused small-net path reproduces the bits of
 * the AVX-512 GEMM and elementwise kernels as a pair. */
typedef struct lm__variant {
    const char *name;          /* "ref", "avx2", "avx512", "neon", "blas" */
    const lm__gemm_impl *gemm; /* the GEMM's micro-kernels; no kern: portable */
    const lm__vec_impl *vec;   /* the elementwise kernels */
    int small;                 /* the fused small-net path may run */
    int (*all_finite)(const float *x, size_t n); /* NULL: the portable loop */
} lm__variant;

/* The variant in use: chosen at first use from the environment variable
 * LAMINA_ISA=ref|avx2|avx512|neon (blas in a BLAS build; LAMINA_GEMM is
 * its older name, read when LAMINA_ISA is unset) if this CPU and build
 * have it, else the best they have. */
extern _Atomic(const lm__variant *) lm__variant_cur;
const lm__variant *lm__variant_init(void);
static inline const lm__variant *lm__variant_now(void)
{
    const lm__variant *v = atomic_load_explicit(&lm__variant_cur, memory_order_acquire);
    return v ? v : lm__variant_init();
}

/* Selects the variant called name for every family from now on; NULL or
 * "auto" goes back to the choice at first use (LAMINA_ISA, or the best).
 * Returns 0 if this CPU or build lacks it, leaving the choice unchanged.
 * For tests and benchmarks; not thread-safe against running kernels. */
int lm__variant_force(const char *name);

/* The choice at first use given the values of LAMINA_ISA and LAMINA_GEMM
 * (either may be NULL): the variant LAMINA_ISA names, else the one
 * LAMINA_GEMM names, if this CPU and build have it; else the best here. */
const lm__variant *lm__variant_pick(const char *isa, const char *gemm);

/* Whether this CPU and build have the variant called name. */
int lm__variant_has(const char *name);

/* Cache blocking of the packed GEMM for the CPU it runs on (gemm.c):
 * only the sizes that never change an element's order of summation (the
 * M and N blocks, never the K blocks), so every tune gives the same bits.
 *  - "zen4": AMD (1 MiB L2, 32 KiB L1d, one 512-bit FMA a cycle): the
 *    sizes lamina was tuned with, MC 96 (an A block of 96 KiB) and NC
 *    512 (a B panel of 512 KiB, half of L2).
 *  - "spr": Intel with AVX-512 and 2 MiB of L2 or more (Sapphire Rapids
 *    class: 48 KiB L1d, two 512-bit FMA ports): the same shares of its
 *    larger L2, MC 192 and NC 1024. Its 4-cycle FMAs on 2 ports need 8
 *    independent sums in flight; the 8x32 micro-kernel has 16, so the
 *    register tile stays. Chosen from published figures: not measured on
 *    such a CPU (none was available).
 *  - "generic": any other CPU: zen4's sizes.
 * The environment variable LAMINA_CPU_TUNE=zen4|spr|generic overrides
 * the choice (benchmarks; tests force each in turn). */
typedef struct lm__cpu_tune {
    const char *name;
    int mc; /* rows of A packed at a time: a multiple of every MR, <= LM__MC_MAX */
    int nc; /* columns of B packed at a time: a multiple of every NR, <= LM__NC_MAX */
} lm__cpu_tune;
#define LM__MC_MAX 192
#define LM__NC_MAX 1024
const lm__cpu_tune *lm__cpu_tune_now(void);
/* Selects the tune called name ("auto" or NULL: the choice at first use);
 * 0 if there is none of that name. Not thread-safe against running GEMMs. */
int lm__cpu_tune_force(const char *name);
/* The CPU as cpuid tells it: vendor, family, model, L2 per core in KiB
 * (0 where unknown, as on a non-x86 CPU). */
void lm__cpu_ident(char vendor[13], int *family, int *model, int *l2_kib);

/* The portable GEMM (gemm.c) and, in a BLAS build, the BLAS one. */
extern const lm__gemm_impl lm__gemm_ref;
#ifdef LM_USE_CBLAS
extern const lm__gemm_impl lm__gemm_blas;
#endif

#endif
