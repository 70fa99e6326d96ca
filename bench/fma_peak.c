/* fma_peak.c - this machine's fp32 FMA peak as measured now, the ceiling
 * bench/run.sh divides lamina's rates by ("share of peak").
 *
 * Method (that of the shared tools' fma_peak.c, written anew here): each
 * thread runs CHAINS independent FMA chains in the widest vectors the CPU
 * has (AVX-512, else AVX2+FMA). One chain's FMAs wait on each other (4
 * cycles apiece), so a core with two FMA pipes needs at least 8 chains in
 * flight; 12 covers every current x86 core. Threads are pinned one to a
 * CPU. 1 thread, then min(2, CPUs); best of 5 runs each, since a shared
 * machine has slow spells and the peak is what the core can do.
 *
 * Usage: fma_peak [SECONDS_PER_RUN]   (default 0.3)
 * Prints: isa=avx512 threads=1 gflops=211.8
 *         isa=avx512 threads=2 gflops=417.8
 * or isa=none (exit 1) on a CPU with neither. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define CHAINS 12

static long g_rounds; /* chain steps per run */
static int g_lanes;   /* 16 (AVX-512) or 8 (AVX2) */
static volatile float g_sink;

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if HAVE_X86
/* x = x * m + c in each chain; m just below 1 keeps the values finite */
__attribute__((target("avx512f"))) static float run512(long rounds)
{
    __m512 x[CHAINS];
    const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(0.0001f);
    for (int i = 0; i < CHAINS; i++) x[i] = _mm512_set1_ps(1.0f + (float)i);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) x[i] = _mm512_fmadd_ps(x[i], m, c);
    }
    __m512 s = x[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, x[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float run256(long rounds)
{
    __m256 x[CHAINS];
    const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(0.0001f);
    for (int i = 0; i < CHAINS; i++) x[i] = _mm256_set1_ps(1.0f + (float)i);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) x[i] = _mm256_fmadd_ps(x[i], m, c);
    }
    __m256 s = x[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, x[i]);
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

static void *thread_main(void *arg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)(long)arg, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
#if HAVE_X86
    g_sink = g_lanes == 16 ? run512(g_rounds) : run256(g_rounds);
#endif
    return NULL;
}

/* One run on `threads` threads: GFLOP/s (an FMA is 2 FLOP a lane). */
static double one_run(int threads)
{
    pthread_t t[2];
    double t0 = seconds();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, thread_main, (void *)(long)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double dt = seconds() - t0;
    return (double)threads * (double)g_rounds * CHAINS * g_lanes * 2 / dt * 1e-9;
}

int main(int argc, char **argv)
{
#if HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) g_lanes = 16;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) g_lanes = 8;
#endif
    if (!g_lanes) {
        puts("isa=none");
        return 1;
    }
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    if (!(secs > 0) || secs > 60) secs = 0.3;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int most = cpus >= 2 ? 2 : 1;
    g_rounds = 200000; /* a short run sizes the others to `secs` each */
    double g = one_run(1);
    g_rounds = (long)(secs * g * 1e9 / (CHAINS * g_lanes * 2.0));
    if (g_rounds < 200000) g_rounds = 200000;
    for (int threads = 1; threads <= most; threads++) {
        double best = 0;
        for (int r = 0; r < 5; r++) {
            double v = one_run(threads);
            if (v > best) best = v;
        }
        printf("isa=%s threads=%d gflops=%.1f\n", g_lanes == 16 ? "avx512" : "avx2", threads,
               best);
    }
    return 0;
}
