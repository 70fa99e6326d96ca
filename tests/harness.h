/* harness.h - a minimal test harness. Each test binary runs its cases and
 * prints one line per case, "ok NAME" or "FAIL NAME: why"; tests/run.sh
 * counts them. A binary exits non-zero if any case failed. */
#ifndef LM_HARNESS_H
#define LM_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_failed_cases, th_case_failed;
static const char *th_case;

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

#define RUN(fn)                                                                   \
    do {                                                                          \
        th_case = #fn;                                                            \
        th_case_failed = 0;                                                       \
        fn();                                                                     \
        if (th_case_failed) th_failed_cases++;                                    \
        else printf("ok %s\n", #fn);                                              \
        fflush(stdout);                                                           \
    } while (0)

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

#endif
