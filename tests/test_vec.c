/* test_vec.c - the elementwise kernels (src/kernels/vec*.c): the SIMD exp,
 * sigmoid and tanh against double precision over their whole range and at
 * the special values; every other SIMD kernel against the portable
 * reference, bit for bit, at lengths that exercise the masked tails. */
#include "harness.h"
#include "kernels/cpu.h"

#include <float.h>
#include <stdint.h>

/* Whether the tests may use SIMD variant name: this CPU and build have it
 * and LAMINA_ISA (or LAMINA_GEMM) does not pin another one. */
static int simd_usable(const char *name)
{
    int ok = !th_variant_pinned_away(name) && lm__variant_force(name);
    lm__variant_force(NULL);
    return ok;
}

/* The SIMD variants the tests may use here; each test runs on all. */
static int simd_variants(const lm__vec_impl *out[3])
{
    static const char *const names[] = {"avx2", "avx512", "neon"};
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (simd_usable(names[i]) && lm__variant_force(names[i])) out[n++] = lm__variant_now()->vec;
    lm__variant_force(NULL);
    return n;
}

/* Runs body (a function of one variant) on every SIMD variant here; with
 * none, the case has nothing to compare and skips. */
#define FOR_EACH_SIMD(body)                                                             \
    do {                                                                                \
        const lm__vec_impl *vs_[3];                                                     \
        int nv_ = simd_variants(vs_);                                                   \
        if (nv_ == 0) SKIP("no SIMD variant to check on this CPU (or LAMINA_ISA pins ref)"); \
        for (int i_ = 0; i_ < nv_; i_++) body(vs_[i_]);                                 \
    } while (0)

/* Distance of f from the exact value d in units of the float spacing at
 * d (the smallest denormal below FLT_MIN). */
static double ulps(float f, double d)
{
    if (isnan(d)) return isnan(f) ? 0 : INFINITY;
    if (isinf(d) || isinf(f)) return (double)f == d ? 0 : INFINITY;
    double ad = fabs(d), spacing = ldexp(1.0, -149);
    if (ad >= FLT_MIN) spacing = ldexp(1.0, ilogb(ad) - 23);
    return fabs((double)f - d) / spacing;
}

typedef double (*exact_fn)(double);
static double exact_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Worst ulp error of op over n points evenly spread on [lo, hi]. */
static double worst_ulps(const lm__vec_impl *v, int what, exact_fn f, double lo, double hi,
                         size_t n, float *where)
{
    enum { CHUNK = 1000 };
    float x[CHUNK], y[CHUNK];
    double worst = 0;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (size_t i = 0; i < m; i++) x[i] = y[i] = (float)(lo + (hi - lo) * (double)(i0 + i) / (double)(n - 1));
        if (what == 0) v->exp(y, m);
        else v->act(what == 1 ? LM_SIGMOID : LM_TANH, y, m);
        for (size_t i = 0; i < m; i++) {
            double e = ulps(y[i], f((double)x[i]));
            if (!(e <= worst)) {
                worst = e;
                *where = x[i];
            }
        }
    }
    return worst;
}

static void exp_sigmoid_tanh_accuracy_on(const lm__vec_impl *v)
{
    float at = 0;
    double e = worst_ulps(v, 0, exp, -103.9, 88.7, 2000003, &at);
    CHECKF(e <= 2.0, "[%s] exp: %.2f ulp at %.9g", v->name, e, at);
    e = worst_ulps(v, 0, exp, -1, 1, 1000003, &at);
    CHECKF(e <= 2.0, "[%s] exp near 0: %.2f ulp at %.9g", v->name, e, at);
    e = worst_ulps(v, 1, exact_sigmoid, -103, 30, 2000003, &at);
    CHECKF(e <= 3.0, "[%s] sigmoid: %.2f ulp at %.9g", v->name, e, at);
    e = worst_ulps(v, 2, tanh, -12, 12, 2000003, &at);
    CHECKF(e <= 3.0, "[%s] tanh: %.2f ulp at %.9g", v->name, e, at);
    e = worst_ulps(v, 2, tanh, -1e-3, 1e-3, 200003, &at);
    CHECKF(e <= 3.0, "[%s] tanh near 0: %.2f ulp at %.9g", v->name, e, at);
}

static void exp_sigmoid_tanh_accuracy(void) { FOR_EACH_SIMD(exp_sigmoid_tanh_accuracy_on); }

static void special_values_on(const lm__vec_impl *v)
{
    float x[8] = {NAN, INFINITY, -INFINITY, 100.0f, -200.0f, 0.0f, -0.0f, 1e-30f};
    float y[8];
    memcpy(y, x, sizeof y);
    v->exp(y, 8);
    CHECK(isnan(y[0]) && y[1] == INFINITY && y[2] == 0.0f && y[3] == INFINITY && y[4] == 0.0f);
    CHECK(y[5] == 1.0f && y[6] == 1.0f && y[7] == 1.0f);
    memcpy(y, x, sizeof y);
    v->act(LM_SIGMOID, y, 8);
    CHECK(isnan(y[0]) && y[1] == 1.0f && y[2] == 0.0f && y[3] == 1.0f && y[4] == 0.0f);
    CHECK(y[5] == 0.5f && y[6] == 0.5f);
    memcpy(y, x, sizeof y);
    v->act(LM_TANH, y, 8);
    CHECK(isnan(y[0]) && y[1] == 1.0f && y[2] == -1.0f && y[3] == 1.0f && y[4] == -1.0f);
    CHECK(y[5] == 0.0f && !signbit(y[5]) && y[6] == 0.0f && signbit(y[6]) && y[7] == 1e-30f);
    memcpy(y, x, sizeof y);
    v->act(LM_RELU, y, 8); /* as the reference: v > 0 ? v : 0 */
    CHECK(y[0] == 0.0f && y[1] == INFINITY && y[2] == 0.0f && y[3] == 100.0f && y[7] == 1e-30f);
    CHECK(!signbit(y[6]));
}

static void special_values(void) { FOR_EACH_SIMD(special_values_on); }

/* n pseudo-random floats in [-s, s) with a few exact zeros. */
static void fill(float *x, size_t n, float s, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (i % 7 == 3) ? 0.0f : s * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
}

/* every tail 0..15 (the SIMD tails are loaded and stored in pieces) */
static const size_t LENS[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 31, 33, 100, 1000, 4099};
#define NLENS (sizeof LENS / sizeof LENS[0])

/* Whether x[n .. n + 16) still holds the sentinel put there. */
static int untouched_after(const float *x, size_t n)
{
    for (size_t i = n; i < n + 16; i++)
        if (x[i] != 12345.0f) return 0;
    return 1;
}

static void put_sentinel(float *x, size_t n)
{
    for (size_t i = n; i < n + 16; i++) x[i] = 12345.0f;
}

static void act_and_grad_match_reference_on(const lm__vec_impl *v)
{
    static float a[4099 + 16], b[4099 + 16], d1[4099 + 16], d2[4099 + 16];
    const lm_act acts[] = {LM_RELU, LM_LEAKY_RELU, LM_SIGMOID, LM_TANH, LM_IDENTITY};
    for (size_t ai = 0; ai < sizeof acts / sizeof acts[0]; ai++)
        for (size_t li = 0; li < NLENS; li++) {
            size_t n = LENS[li];
            fill(a, n, 3.0f, (uint32_t)(n + ai));
            memcpy(b, a, n * sizeof(float));
            fill(d1, n, 1.0f, (uint32_t)(7 * n + ai));
            memcpy(d2, d1, n * sizeof(float));
            put_sentinel(a, n);
            put_sentinel(b, n);
            put_sentinel(d1, n);
            if (acts[ai] == LM_RELU || acts[ai] == LM_LEAKY_RELU) { /* exact in both */
                v->act(acts[ai], a, n);
                lm__vec_ref.act(acts[ai], b, n);
                CHECKF(memcmp(a, b, n * sizeof(float)) == 0, "[%s] %s, n %zu: forward differs", v->name,
                       lm_act_name(acts[ai]), n);
            } else {
                lm__vec_ref.act(acts[ai], a, n);
                memcpy(b, a, n * sizeof(float));
            }
            if (acts[ai] == LM_SIGMOID || acts[ai] == LM_TANH) { /* SIMD forward: within bounds too */
                memcpy(b, a, n * sizeof(float));
                v->act(acts[ai], b, n);
            }
            CHECKF(untouched_after(a, n) && untouched_after(b, n), "[%s] %s, n %zu: forward wrote past n",
                   v->name, lm_act_name(acts[ai]), n);
            /* the gradient, from the same outputs, must agree bit for bit */
            v->act_grad(acts[ai], a, d1, n);
            lm__vec_ref.act_grad(acts[ai], a, d2, n);
            CHECKF(untouched_after(d1, n), "[%s] %s, n %zu: gradient wrote past n", v->name,
                   lm_act_name(acts[ai]), n);
            CHECKF(memcmp(d1, d2, n * sizeof(float)) == 0, "[%s] %s, n %zu: gradient differs", v->name,
                   lm_act_name(acts[ai]), n);
        }
}

static void act_and_grad_match_reference(void) { FOR_EACH_SIMD(act_and_grad_match_reference_on); }

static void colsum_and_norm_match_reference_on(const lm__vec_impl *v)
{
    static float A[37 * 150], s1[150], s2[150], o1[4099], o2[4099], mean[4099], scale[4099];
    static uint8_t u8[4099];
    static float f[4099];
    fill(A, sizeof A / sizeof A[0], 2.0f, 5);
    const int shapes[][3] = {{1, 1, 1}, {5, 16, 16}, {37, 10, 17}, {8, 64, 70}, {3, 129, 150}, {37, 150, 150}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int M = shapes[i][0], N = shapes[i][1], lda = shapes[i][2];
        v->colsum(M, N, A, lda, s1);
        lm__vec_ref.colsum(M, N, A, lda, s2);
        CHECKF(memcmp(s1, s2, (size_t)N * sizeof(float)) == 0, "[%s] colsum %dx%d differs", v->name, M, N);
    }
    fill(mean, 4099, 100.0f, 9);
    fill(scale, 4099, 0.1f, 10);
    fill(f, 4099, 300.0f, 11);
    for (size_t i = 0; i < 4099; i++) u8[i] = (uint8_t)(i * 37 + 11);
    for (size_t li = 0; li < NLENS; li++) {
        size_t n = LENS[li];
        for (int with_norm = 0; with_norm < 2; with_norm++) {
            const float *m = with_norm ? mean : NULL, *s = with_norm ? scale : NULL;
            v->norm_u8(o1, u8, m, s, n);
            lm__vec_ref.norm_u8(o2, u8, m, s, n);
            CHECKF(memcmp(o1, o2, n * sizeof(float)) == 0, "[%s] norm_u8 n %zu differs", v->name, n);
            v->norm_f32(o1, f, m, s, n);
            lm__vec_ref.norm_f32(o2, f, m, s, n);
            CHECKF(memcmp(o1, o2, n * sizeof(float)) == 0, "[%s] norm_f32 n %zu differs", v->name, n);
        }
    }
}

static void colsum_and_norm_match_reference(void) { FOR_EACH_SIMD(colsum_and_norm_match_reference_on); }

/* Three steps of each update kind, SIMD against the reference: the same
 * bits in the parameters and in the optimizer state. */
static void update_matches_reference_on(const lm__vec_impl *v)
{
    enum { N = 1003 };
    static float p1[N], p2[N], g[N], m1[N], m2[N], v1[N], v2[N];
    lm_update kinds[5] = {
        {LM_UPD_SGD, 0.1f, 0.01f, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0},
        {LM_UPD_MOMENTUM, 0.05f, 0.0f, 0.9f, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0},
        {LM_UPD_NESTEROV, 0.05f, 1e-3f, 0.8f, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0},
        {LM_UPD_ADAM, 0.001f, 0, 0, 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f, 0.01f, 0.0316f, 0, 0, 0, 0},
        {LM_UPD_ADAM, 0.001f, 0, 0, 0.9f, 0.999f, 1e-8f, 0.0f, 0.99999f, 0.01f, 0.0316f, 0, 0, 0, 0},
    };
    for (int k = 0; k < 5; k++) {
        const size_t lens[] = {1, 15, 17, N};
        for (size_t li = 0; li < 4; li++) {
            size_t n = lens[li];
            fill(p1, n, 1.0f, (uint32_t)(k + 100));
            memcpy(p2, p1, n * sizeof(float));
            memset(m1, 0, sizeof m1);
            memset(m2, 0, sizeof m2);
            memset(v1, 0, sizeof v1);
            memset(v2, 0, sizeof v2);
            for (int step = 0; step < 3; step++) {
                fill(g, n, 0.5f, (uint32_t)(step * 31 + k));
                CHECK(v->update(&kinds[k], n, p1, g, m1, v1) == 1);
                CHECK(lm__vec_ref.update(&kinds[k], n, p2, g, m2, v2) == 1);
            }
            CHECKF(memcmp(p1, p2, n * sizeof(float)) == 0, "[%s] kind %d, n %zu: parameters differ", v->name, k, n);
            CHECKF(memcmp(m1, m2, n * sizeof(float)) == 0 && memcmp(v1, v2, n * sizeof(float)) == 0,
                   "[%s] kind %d, n %zu: optimizer state differs", v->name, k, n);
            /* an overflow in the last element, masked tail included */
            lm_update big = kinds[k];
            big.wd = 0;
            p1[n - 1] = -3.4e38f;
            if (big.kind == LM_UPD_ADAM) { /* a step of about step * 0.1 * bc2_sqrt / 0.0316 */
                g[n - 1] = 1.0f;
                big.step = 1e38f;
            } else {
                g[n - 1] = 3e38f;
                big.lr = 10.0f;
            }
            CHECKF(v->update(&big, n, p1, g, m1, v1) == 0, "[%s] kind %d, n %zu: overflow missed", v->name, k, n);
        }
    }
}

static void update_matches_reference(void) { FOR_EACH_SIMD(update_matches_reference_on); }

/* vec_avx2.c claims the AVX-512 variant's exp bits, denormals included. */
static void avx2_exp_matches_avx512(void)
{
    const lm__vec_impl *avx2 = NULL, *avx512 = NULL;
    if (simd_usable("avx2") && lm__variant_force("avx2")) avx2 = lm__variant_now()->vec;
    if (simd_usable("avx512") && lm__variant_force("avx512")) avx512 = lm__variant_now()->vec;
    lm__variant_force(NULL);
    if (!avx2 || !avx512) SKIP("needs both the AVX2 and the AVX-512 variant");
    enum { N = 4096 };
    static float a[N], b[N];
    for (int pass = 0; pass < 64; pass++) {
        for (int i = 0; i < N; i++) a[i] = b[i] = -105.0f + 195.0f * (float)(pass * N + i) / (64.0f * N);
        avx2->exp(a, N);
        avx512->exp(b, N);
        CHECKF(memcmp(a, b, sizeof a) == 0, "pass %d: exp differs", pass);
        avx2->act(LM_TANH, a, N);
        avx512->act(LM_TANH, b, N);
        CHECKF(memcmp(a, b, sizeof a) == 0, "pass %d: tanh differs", pass);
    }
}

/* The SIMD exp, sigmoid and tanh (vec_avx2.c, simd_avx512.h,
 * vec_neon.c) written out in scalar C: fmaf for each fused step (one
 * rounding, as VFMADD and FMLA), nearbyintf for the rounding to nearest
 * even, 2^n as two exact power-of-two products. Every SIMD variant must
 * give these bits, so x86 and ARM give the same ones. */
static float pow2i(int n) /* 2^n for a normal power */
{
    uint32_t u = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float exp_model(float x)
{
    if (isnan(x)) return x;
    x = x < 89.0f ? x : 89.0f;
    x = x > -104.0f ? x : -104.0f;
    float n = nearbyintf(x * EXP_LOG2E);
    float r = fmaf(-n, EXP_LN2_HI, x);
    r = fmaf(-n, EXP_LN2_LO, r);
    float r2 = r * r, r4 = r2 * r2;
    float s01 = fmaf(r, 0.5f, 1.0f), s23 = fmaf(r, 1.0f / 24, 1.0f / 6);
    float s45 = fmaf(r, 1.0f / 720, 1.0f / 120), s46 = fmaf(r2, 1.0f / 5040, s45);
    float s03 = fmaf(s23, r2, s01);
    float p = fmaf(fmaf(s46, r4, s03), r, 1.0f);
    int ni = (int)n, n1 = ni >> 1;
    return p * pow2i(n1) * pow2i(ni - n1);
}

static float sigmoid_model(float x)
{
    float e = exp_model(0.0f - fabsf(x));
    return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

static float tanh_model(float x)
{
    float ax = fabsf(x), x2 = x * x;
    float p = fmaf(TANH_P4, x2, TANH_P3);
    p = fmaf(p, x2, TANH_P2);
    p = fmaf(p, x2, TANH_P1);
    p = fmaf(p, x2, TANH_P0);
    float t = ax < TANH_SMALL ? fmaf(x2 * x, p, x) : 1.0f - 2.0f / (exp_model(ax + ax) + 1.0f);
    return isnan(t) ? t : copysignf(fabsf(t), x);
}

static void simd_bits_match_model_on(const lm__vec_impl *v)
{
    enum { N = 4099 };
    static float x[N], y[N];
    for (int pass = 0; pass < 40; pass++) {
        for (int i = 0; i < N; i++) x[i] = -106.0f + 198.0f * (float)(pass * N + i) / (40.0f * N);
        if (pass == 0) {
            x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 0.0f, x[4] = -0.0f, x[5] = 1e-30f;
            x[6] = -87.5f, x[7] = -103.97f, x[8] = 0.625f, x[9] = -0.625f, x[10] = 9.0f;
        }
        for (int f = 0; f < 3; f++) {
            memcpy(y, x, sizeof y);
            if (f == 0) v->exp(y, N);
            else v->act(f == 1 ? LM_SIGMOID : LM_TANH, y, N);
            for (int i = 0; i < N; i++) {
                float want = f == 0 ? exp_model(x[i]) : f == 1 ? sigmoid_model(x[i]) : tanh_model(x[i]);
                if (memcmp(&want, &y[i], sizeof want) && !(isnan(want) && isnan(y[i]))) {
                    CHECKF(0, "[%s] %s(%.9g) = %.9g, the model %.9g", v->name,
                           f == 0 ? "exp" : f == 1 ? "sigmoid" : "tanh", x[i], y[i], want);
                    return;
                }
            }
        }
    }
}

static void simd_bits_match_model(void) { FOR_EACH_SIMD(simd_bits_match_model_on); }

/* The portable update must flag a non-finite result too. */
static void reference_update_flags_overflow(void)
{
    float p[3] = {1, 2, -3e38f}, g[3] = {0, 0, 3e38f};
    lm_update u = {LM_UPD_SGD, 10.0f, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
    CHECK(lm__vec_ref.update(&u, 2, p, g, NULL, NULL) == 1);
    CHECK(lm__vec_ref.update(&u, 3, p, g, NULL, NULL) == 0);
}

int main(void)
{
    RUN(exp_sigmoid_tanh_accuracy);
    RUN(special_values);
    RUN(act_and_grad_match_reference);
    RUN(colsum_and_norm_match_reference);
    RUN(update_matches_reference);
    RUN(reference_update_flags_overflow);
    RUN(avx2_exp_matches_avx512);
    RUN(simd_bits_match_model);
    TEST_MAIN_END();
}
