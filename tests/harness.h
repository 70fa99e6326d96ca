/* harness.h - a minimal test harness. Each test binary runs its cases and
 * prints one line per case, "ok NAME", "FAIL NAME: why" or "skip NAME:
 * why" (the case could check nothing here, e.g. a SIMD variant this CPU
 * lacks: never "ok" for a case that checked nothing); tests/run.sh counts
 * them. A binary exits non-zero if any case failed.
 * LM_TEST_ONLY=name,name runs only the cases named (tests/test_skip.sh). */
#ifndef LM_HARNESS_H
#define LM_HARNESS_H

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_failed_cases, th_case_failed, th_case_skipped;
static const char *th_case;
/* Whether the current case has skipped (also keeps -Wunused quiet in
 * programs that print their own lines without RUN). */
static inline int th_skipped(void) { return th_case_skipped; }

/* Records a failure of the current case with where and why. */
#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            if (!th_case_failed) printf("FAIL %s: %s:%d: %s\n", th_case, __FILE__, \
                                        __LINE__, #cond);                         \
            th_case_failed = 1;                                                   \
        }                                                                         \
    } while (0)

#define CHECKF(cond, ...)                                                         \
    do {                                                                          \
        if (!(cond)) {                                                            \
            if (!th_case_failed) {                                                \
                printf("FAIL %s: %s:%d: ", th_case, __FILE__, __LINE__);          \
                printf(__VA_ARGS__);                                              \
                printf("\n");                                                     \
            }                                                                     \
            th_case_failed = 1;                                                   \
        }                                                                         \
    } while (0)

/* Checks a call returns LM_OK, printing lm_errmsg() otherwise. */
#define CHECK_OK(call)                                                            \
    do {                                                                          \
        lm_status st_ = (call);                                                   \
        CHECKF(st_ == LM_OK, "%s -> %s: %s", #call, lm_status_name(st_), lm_errmsg()); \
    } while (0)

/* Ends the current case (from the case function itself or a helper it
 * returns through) as skipped, saying why; a failure already recorded
 * still counts as a failure. */
#define SKIP(...)                                                                 \
    do {                                                                          \
        if (!th_case_failed && !th_case_skipped) {                                \
            printf("skip %s: ", th_case);                                         \
            printf(__VA_ARGS__);                                                  \
            printf("\n");                                                         \
        }                                                                         \
        th_case_skipped = 1;                                                      \
        return;                                                                   \
    } while (0)

/* Whether LM_TEST_ONLY (a comma-separated list of case names) leaves out
 * the case called name. */
static inline int th_left_out(const char *name)
{
    const char *only = getenv("LM_TEST_ONLY");
    if (!only || !*only) return 0;
    size_t n = strlen(name);
    for (const char *p = only; p; p = strchr(p, ',')) {
        if (*p == ',') p++;
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0')) return 0;
    }
    return 1;
}

#define RUN(fn)                                                                   \
    do {                                                                          \
        if (th_left_out(#fn)) break;                                              \
        th_case = #fn;                                                            \
        th_case_failed = 0;                                                       \
        th_case_skipped = 0;                                                      \
        fn();                                                                     \
        if (th_case_failed) th_failed_cases++;                                    \
        else if (!th_case_skipped) printf("ok %s\n", #fn);                        \
        fflush(stdout);                                                           \
    } while (0)

/* Why a case must not exercise the SIMD variant name ("avx2", "avx512"),
 * or NULL if it may: LAMINA_GEMM=ref|avx2|avx512 pins the kernels to one
 * variant, as on a CPU that had no other, so cases of the others skip
 * (this is how tests/test_skip.sh reaches the skip path on a CPU that has
 * them all). The caller still checks the CPU has the variant. */
static inline const char *th_variant_pinned_away(const char *name)
{
    const char *pin = getenv("LAMINA_ISA"); /* wins over its older name */
    if (!pin || !*pin) pin = getenv("LAMINA_GEMM");
    if (!pin || !*pin || !strcmp(pin, "auto") || !strcmp(pin, name)) return NULL;
    return "LAMINA_ISA (or LAMINA_GEMM) pins another variant";
}

#define TEST_MAIN_END() return th_failed_cases ? 1 : 0

/* Largest |a - b| / (atol + rtol |b|) over n values; <= 1 means close. */
static inline double th_close_ratio(const float *a, const float *b, size_t n, double atol,
                                    double rtol, size_t *worst)
{
    double r = 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(d <= r)) { r = d; w = i; } /* NaN counts as the worst */
    }
    if (worst) *worst = w;
    return r;
}

/* Sets LC_NUMERIC to a locale that writes 0.5 as "0,5" and returns its
 * name: an installed one, else one made with localedef into dir (LOCPATH
 * then points there). NULL, with LC_NUMERIC back at "C", if there is none
 * to be had. */
static inline const char *th_comma_locale(const char *dir)
{
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", NULL};
    char t[16];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; names[i]; i++)
            if (setlocale(LC_NUMERIC, names[i]) && snprintf(t, sizeof t, "%g", 0.5) > 0 && strcmp(t, "0,5") == 0)
                return names[i];
        setlocale(LC_NUMERIC, "C");
        if (pass) break;
        char cmd[256];
        snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
        if (system(cmd) != 0) return NULL;
        setenv("LOCPATH", dir, 1);
    }
    return NULL;
}

#endif
