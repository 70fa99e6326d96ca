/* cpu.c - the one place that decides which variant of the kernels runs
 * (ref, avx2, avx512, neon; blas for the GEMM of a BLAS build): from what
 * the CPU has (cpuid on x86, hwcaps on aarch64), what this build compiled
 * (mk/isa.sh builds only the target architecture's variant files) and one
 * environment variable, LAMINA_ISA. The GEMM, the elementwise kernels,
 * the fused small-net path and the finite check all take their member of
 * the same variant (cpu.h). */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define LM_X86 1
#elif defined(__aarch64__)
#define LM_ARM64 1
#endif

int lm__cpu_has(const char *isa)
{
#ifdef LM_X86
    __builtin_cpu_init();
    if (!strcmp(isa, "avx512")) /* what the AVX-512 files are compiled for */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#ifdef LM_ARM64
    /* Advanced SIMD is part of the aarch64 base architecture, but a
     * kernel may run with it off; hwcaps say (bit 1, HWCAP_ASIMD). */
    if (!strcmp(isa, "neon")) {
#ifdef __linux__
        return (getauxval(AT_HWCAP) & (1ul << 1)) != 0;
#else
        return 1;
#endif
    }
#endif
    (void)isa;
    return 0;
}

/* Every variant this build has, best first (the first one the CPU has is
 * the default). Only the target architecture's files are compiled, so
 * only they are named here. */
static const lm__variant VARIANTS[] = {
#ifdef LM_X86
    {"avx512", &lm__gemm_avx512, &lm__vec_avx512, 1, lm__all_finite_avx512},
    {"avx2", &lm__gemm_avx2, &lm__vec_avx2, 0, NULL},
#endif
#ifdef LM_ARM64
    {"neon", &lm__gemm_neon, &lm__vec_neon, 0, NULL},
#endif
    {"ref", &lm__gemm_ref, &lm__vec_ref, 0, NULL},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static int usable(const lm__variant *v)
{
    if (!strcmp(v->name, "ref")) return 1;
    /* the build compiled its kernels (not a stub) and the CPU runs them */
    return v->gemm->kern && v->vec->name && lm__cpu_has(v->name);
}

#ifdef LM_USE_CBLAS
/* A BLAS build's GEMM beside each variant's elementwise kernels: row i
 * goes with VARIANTS[i]. */
static const lm__variant BLAS[] = {
#ifdef LM_X86
    {"blas", &lm__gemm_blas, &lm__vec_avx512, 0, lm__all_finite_avx512},
    {"blas", &lm__gemm_blas, &lm__vec_avx2, 0, NULL},
#endif
#ifdef LM_ARM64
    {"blas", &lm__gemm_blas, &lm__vec_neon, 0, NULL},
#endif
    {"blas", &lm__gemm_blas, &lm__vec_ref, 0, NULL},
};
#endif

/* The variant called name if this CPU and build have it (NULL or "auto":
 * the best here, BLAS's GEMM in a BLAS build), else NULL. */
static const lm__variant *named(const char *name)
{
    int any = !name || !*name || !strcmp(name, "auto");
#ifdef LM_USE_CBLAS
    int blas = any || !strcmp(name, "blas");
    if (blas) any = 1;
#endif
    for (size_t i = 0; i < N_VARIANTS; i++) {
        if ((any || !strcmp(name, VARIANTS[i].name)) && usable(&VARIANTS[i])) {
#ifdef LM_USE_CBLAS
            if (blas) return &BLAS[i];
#endif
            return &VARIANTS[i];
        }
    }
    return NULL;
}

const lm__variant *lm__variant_pick(const char *isa, const char *gemm)
{
    /* LAMINA_ISA pins a variant (tests, benchmarks); LAMINA_GEMM is its
     * older name. One the CPU or build lacks gives the best there is. */
    const lm__variant *v = named(isa && *isa ? isa : gemm);
    return v ? v : named(NULL);
}

_Atomic(const lm__variant *) lm__variant_cur;
static _Atomic(const lm__variant *) g_default; /* the choice at first use */

static const lm__variant *default_variant(void)
{
    const lm__variant *v = atomic_load_explicit(&g_default, memory_order_acquire);
    if (v) return v;
    v = lm__variant_pick(getenv("LAMINA_ISA"), getenv("LAMINA_GEMM"));
    const lm__variant *expected = NULL;
    if (!atomic_compare_exchange_strong(&g_default, &expected, v)) v = expected;
    return v;
}

const lm__variant *lm__variant_init(void)
{
    const lm__variant *v = default_variant(), *expected = NULL;
    if (!atomic_compare_exchange_strong(&lm__variant_cur, &expected, v)) v = expected;
    return v;
}

int lm__variant_force(const char *name)
{
    const lm__variant *v = !name || !strcmp(name, "auto") ? default_variant() : named(name);
    if (!v) return 0;
    atomic_store_explicit(&lm__variant_cur, v, memory_order_release);
    return 1;
}

int lm__variant_has(const char *name) { return name && named(name) != NULL; }

/* ------------------------------------------------------------- tunes */

static const lm__cpu_tune TUNES[] = {
    {"zen4", 96, 512},
    {"spr", 192, 1024},
    {"generic", 96, 512},
};
#define N_TUNES (sizeof TUNES / sizeof TUNES[0])

void lm__cpu_ident(char vendor[13], int *family, int *model, int *l2_kib)
{
    memset(vendor, 0, 13);
    *family = *model = *l2_kib = 0;
#ifdef LM_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int fam = (int)((a >> 8) & 0xf), mod = (int)((a >> 4) & 0xf);
        if (fam == 0xf) fam += (int)((a >> 20) & 0xff);
        if (fam == 0x6 || fam >= 0xf) mod += (int)((a >> 12) & 0xf0);
        *family = fam;
        *model = mod;
    }
    /* L2 per core in KiB, ECX[31:16] of leaf 0x80000006 (AMD and Intel) */
    if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000006u &&
        __get_cpuid(0x80000006u, &a, &b, &c, &d))
        *l2_kib = (int)(c >> 16);
#endif
}

static const lm__cpu_tune *tune_named(const char *name)
{
    for (size_t i = 0; i < N_TUNES; i++)
        if (!strcmp(name, TUNES[i].name)) return &TUNES[i];
    return NULL;
}

/* From the CPU's facts: AMD keeps the sizes it was tuned with; Intel with
 * AVX-512 and a 2 MiB L2 gets spr's (cpu.h). */
static const lm__cpu_tune *tune_detect(void)
{
    char vendor[13];
    int family, model, l2;
    lm__cpu_ident(vendor, &family, &model, &l2);
    (void)family;
    (void)model;
    if (!strcmp(vendor, "AuthenticAMD")) return tune_named("zen4");
    if (!strcmp(vendor, "GenuineIntel") && l2 >= 2048 && lm__cpu_has("avx512"))
        return tune_named("spr");
    return tune_named("generic");
}

static _Atomic(const lm__cpu_tune *) g_tune, g_tune_default;

static const lm__cpu_tune *tune_default(void)
{
    const lm__cpu_tune *t = atomic_load_explicit(&g_tune_default, memory_order_acquire);
    if (t) return t;
    const char *env = getenv("LAMINA_CPU_TUNE");
    t = env && *env ? tune_named(env) : NULL;
    if (!t) t = tune_detect();
    const lm__cpu_tune *expected = NULL;
    if (!atomic_compare_exchange_strong(&g_tune_default, &expected, t)) t = expected;
    return t;
}

const lm__cpu_tune *lm__cpu_tune_now(void)
{
    const lm__cpu_tune *t = atomic_load_explicit(&g_tune, memory_order_acquire);
    if (t) return t;
    t = tune_default();
    const lm__cpu_tune *expected = NULL;
    if (!atomic_compare_exchange_strong(&g_tune, &expected, t)) t = expected;
    return t;
}

int lm__cpu_tune_force(const char *name)
{
    const lm__cpu_tune *t = !name || !strcmp(name, "auto") ? tune_default() : tune_named(name);
    if (!t) return 0;
    atomic_store_explicit(&g_tune, t, memory_order_release);
    return 1;
}
