/* test_kernels.c - every GEMM variant this CPU has (ref, avx2, avx512, neon)
 * against the reference at many shapes, layouts and epilogues; the
 * same bits for 1, 2 and 3 threads; the pool runs each task once. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_setaffinity (test_cpu_count_follows_affinity) */
#endif
#include "harness.h"
#include "kernels/cpu.h"

#include <float.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

typedef struct gshape {
    int M, N, K;
} gshape;

static const gshape SHAPES[] = {
    {1, 1, 1},     {4, 1, 3},     {4, 4, 3},     {3, 4, 4},     {1, 7, 1},
    {7, 13, 5},    {17, 33, 19},  {8, 32, 1},    {9, 33, 2},    {31, 17, 64},
    {64, 256, 784}, {64, 128, 256}, {64, 10, 128}, {784, 256, 64}, {256, 128, 64},
    {128, 10, 64}, {64, 256, 128}, {64, 128, 10}, {33, 65, 300},  {100, 530, 37},
    {200, 40, 600}, {5, 1000, 3},   {97, 16, 17},  {1, 300, 700},  {300, 1, 700},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

static const char *VARIANTS[] = {"ref", "avx2", "avx512", "neon"};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

typedef enum { NN, TN, NT } op_t;
static const char *OP_NAMES[] = {"nn", "tn", "nt"};

/* Operands of one case, with leading dimensions wider than the widths
 * when pad is set. C's padding holds a sentinel that must survive. */
typedef struct gcase {
    op_t op;
    int M, N, K, lda, ldb, ldc;
    float *A, *B, *bias;
    size_t nc;
} gcase;

#define SENTINEL 1234.5f

static gcase make_case(op_t op, gshape s, int pad)
{
    gcase c = {op, s.M, s.N, s.K, 0, 0, 0, NULL, NULL, NULL, 0};
    int ar = op == TN ? s.K : s.M, ac = op == TN ? s.M : s.K; /* A's rows, cols */
    int br = op == NT ? s.N : s.K, bc = op == NT ? s.K : s.N;
    c.lda = ac + (pad ? 3 : 0);
    c.ldb = bc + (pad ? 5 : 0);
    c.ldc = s.N + (pad ? 7 : 0);
    c.A = rand_buf((size_t)ar * c.lda);
    c.B = rand_buf((size_t)br * c.ldb);
    c.bias = rand_buf((size_t)s.N);
    c.nc = (size_t)s.M * c.ldc;
    return c;
}

static void free_case(gcase *c)
{
    free(c->A);
    free(c->B);
    free(c->bias);
}

static float *new_c(const gcase *c)
{
    float *C = malloc(c->nc * sizeof *C);
    for (size_t i = 0; i < c->nc; i++) C[i] = SENTINEL;
    return C;
}

static void run_fast(const gcase *c, float *C, const lm_epilogue *ep, lm_pool *pool)
{
    if (c->op == NN)
        lm_gemm_nn(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc, ep, pool);
    else if (c->op == TN)
        lm_gemm_tn(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc, pool);
    else
        lm_gemm_nt(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc, pool);
}

static void run_ref(const gcase *c, float *C, const lm_epilogue *ep)
{
    if (c->op == NN)
        lm_gemm_nn_ref(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc, ep);
    else if (c->op == TN)
        lm_gemm_tn_ref(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc);
    else
        lm_gemm_nt_ref(c->M, c->N, c->K, c->A, c->lda, c->B, c->ldb, C, c->ldc);
}

static float a_at(const gcase *c, int i, int k)
{
    return c->op == TN ? c->A[(size_t)k * c->lda + i] : c->A[(size_t)i * c->lda + k];
}
static float b_at(const gcase *c, int k, int j)
{
    return c->op == NT ? c->B[(size_t)j * c->ldb + k] : c->B[(size_t)k * c->ldb + j];
}

/* Compares got with the reference: each element within rtol 1e-5 plus
 * the rounding bound of a K-term dot product (4 K eps sum |a b|), which
 * is what summing in another order can move it by. The padding must
 * still hold the sentinel. Returns 1 if all is well. */
static int close_to_ref(const gcase *c, const float *got, const float *ref, char *why,
                        size_t whylen)
{
    for (int i = 0; i < c->M; i++) {
        for (int j = 0; j < c->ldc; j++) {
            size_t at = (size_t)i * c->ldc + j;
            if (j >= c->N) {
                if (got[at] != SENTINEL) {
                    snprintf(why, whylen, "padding C[%d][%d] written", i, j);
                    return 0;
                }
                continue;
            }
            double absdot = fabs((double)(c->bias[j])); /* bias may be added */
            for (int k = 0; k < c->K; k++) absdot += fabs((double)a_at(c, i, k) * b_at(c, k, j));
            double tol = 1e-5 * fabs((double)ref[at]) + 4.0 * (c->K + 1) * FLT_EPSILON * absdot +
                         1e-30;
            double d = fabs((double)got[at] - (double)ref[at]);
            if (!(d <= tol)) {
                snprintf(why, whylen, "C[%d][%d] = %.9g, reference %.9g (tol %.3g)", i, j,
                         got[at], ref[at], tol);
                return 0;
            }
        }
    }
    return 1;
}

static const lm_act EPI_ACTS[] = {LM_IDENTITY, LM_SIGMOID, LM_TANH, LM_RELU, LM_LEAKY_RELU};

/* One variant over every shape, op, layout and (for NN) epilogue. */
static void check_variant(const char *name)
{
    const char *pinned = strcmp(name, "ref") ? th_variant_pinned_away(name) : NULL;
    if (pinned) SKIP("%s (%s)", pinned, name);
    if (!lm__variant_force(name)) SKIP("this CPU or build has no %s variant", name);
    CHECKF(!strcmp(lm_gemm_variant(), name), "variant %s, wanted %s", lm_gemm_variant(), name);
    lm_pool *pool;
    CHECK_OK(lm_pool_new(&pool, 2));
    char why[200];
    for (size_t s = 0; s < N_SHAPES; s++) {
        for (int op = NN; op <= NT; op++) {
            for (int pad = 0; pad <= 1; pad++) {
                gcase c = make_case((op_t)op, SHAPES[s], pad);
                int n_ep = op == NN ? 2 * (int)(sizeof EPI_ACTS / sizeof EPI_ACTS[0]) + 1 : 1;
                for (int e = 0; e < n_ep; e++) {
                    /* e = 0: no epilogue; then each act without and with bias */
                    lm_epilogue ep = {NULL, LM_IDENTITY};
                    const lm_epilogue *epp = NULL;
                    if (e > 0) {
                        ep.act = EPI_ACTS[(e - 1) / 2];
                        ep.bias = (e - 1) % 2 ? c.bias : NULL;
                        epp = &ep;
                    }
                    float *ref = new_c(&c), *got = new_c(&c);
                    run_ref(&c, ref, epp);
                    run_fast(&c, got, epp, (s + e) % 2 ? pool : NULL);
                    if (!close_to_ref(&c, got, ref, why, sizeof why))
                        CHECKF(0, "%s %s %dx%dx%d pad %d act %d bias %d: %s", name,
                               OP_NAMES[op], c.M, c.N, c.K, pad, (int)ep.act, ep.bias != NULL,
                               why);
                    free(ref);
                    free(got);
                }
                free_case(&c);
            }
        }
    }
    lm_pool_free(pool);
    lm__variant_force(NULL);
}

static void test_gemm_ref(void) { check_variant("ref"); }
static void test_gemm_avx2(void) { check_variant("avx2"); }
static void test_gemm_avx512(void) { check_variant("avx512"); }
static void test_gemm_neon(void) { check_variant("neon"); }

/* K = 0 gives zeros (plus the epilogue), as the reference does. */
static void test_gemm_k0(void)
{
    float bias[3] = {1, -2, 3}, C[6];
    lm_epilogue ep = {bias, LM_RELU};
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (int i = 0; i < 6; i++) C[i] = 99;
        lm_gemm_nn(2, 3, 0, NULL, 1, NULL, 3, C, 3, &ep, NULL);
        CHECK(C[0] == 1 && C[1] == 0 && C[2] == 3 && C[3] == 1 && C[4] == 0 && C[5] == 3);
        for (int i = 0; i < 6; i++) C[i] = 99;
        lm_gemm_tn(2, 3, 0, NULL, 2, NULL, 3, C, 3, NULL);
        CHECK(C[0] == 0 && C[5] == 0);
    }
    lm__variant_force(NULL);
}

/* Every variant gives the same bits on 1, 2 and 3 threads. */
static void test_gemm_thread_determinism(void)
{
    /* K of 257..1024 is summed in two slices (run at once on 2 and 3
     * threads when M x N is small, one after the other when it is not),
     * 1025 in four blocks */
    static const gshape big[] = {{64, 256, 784}, {784, 256, 64}, {64, 256, 128},
                                 {256, 128, 64}, {131, 517, 300}, {1000, 40, 90},
                                 {100, 530, 37}, {64, 10, 128},  {128, 10, 64},
                                 {64, 128, 10},  {64, 10, 784},  {200, 300, 513},
                                 {40, 50, 1024}, {40, 50, 1025}, {5, 700, 257}};
    lm_pool *pools[4] = {NULL, NULL, NULL, NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof big / sizeof big[0]; s++) {
            for (int op = NN; op <= NT; op++) {
                gcase c = make_case((op_t)op, big[s], (int)(s % 2));
                lm_epilogue ep = {c.bias, LM_TANH};
                float *one = new_c(&c);
                run_fast(&c, one, op == NN ? &ep : NULL, NULL);
                for (int t = 2; t <= 3; t++) {
                    float *many = new_c(&c);
                    run_fast(&c, many, op == NN ? &ep : NULL, pools[t]);
                    CHECKF(!memcmp(one, many, c.nc * sizeof *one),
                           "%s %s %dx%dx%d: %d threads differ from 1", VARIANTS[v],
                           OP_NAMES[op], c.M, c.N, c.K, t);
                    free(many);
                }
                free(one);
                free_case(&c);
            }
        }
    }
    lm__variant_force(NULL);
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
}

/* A row of C has the same bits whether computed alone (the few-rows
 * path, or the tiny loops), in a block of four, or in a big packed GEMM:
 * one row predicted alone matches the same row predicted in a batch. */
static void test_gemm_rows_consistent(void)
{
    /* two K slices (wide and narrow outputs), and four K blocks; rows
     * whose products are tiny alone (fewer than 512 multiply-adds: the
     * tutorial's 3-4-1 layers, a 16-wide one, a narrow output), and one
     * tiny by count but past one K block */
    static const gshape shapes[] = {{13, 300, 700}, {13, 10, 784}, {13, 70, 1100}, {50, 4, 3},
                                    {50, 1, 4},     {50, 16, 16},  {50, 3, 40},    {50, 1, 300}};
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (int k = 0; k < 2 * (int)(sizeof shapes / sizeof shapes[0]); k++) {
            gcase c = make_case(NN, shapes[k / 2], 1);
            lm_epilogue ep = {c.bias, k % 2 ? LM_SIGMOID : LM_RELU};
            float *all = new_c(&c), *part = new_c(&c);
            run_fast(&c, all, &ep, NULL);
            for (int i = 0; i < c.M; i += (i < 8 ? 4 : 1)) {
                int m = i < 8 ? 4 : 1;
                lm_gemm_nn(m, c.N, c.K, c.A + (size_t)i * c.lda, c.lda, c.B, c.ldb,
                           part + (size_t)i * c.ldc, c.ldc, &ep, NULL);
            }
            CHECKF(!memcmp(all, part, c.nc * sizeof *all),
                   "%s %dx%dx%d: rows alone differ from the batch", VARIANTS[v], c.M, c.N, c.K);
            free(all);
            free(part);
            free_case(&c);
        }
    }
    lm__variant_force(NULL);
}

/* Tiny shapes (the tutorial's 3-4-1 net) take lean dot-product loops
 * that sum as the variant's other kernels do: in the reference (a
 * multiply and an add a step) they give its bits exactly; the FMA
 * variants' tiny loops are checked against the fmaf chain below
 * (test_gemm_fma_variants_bits). */
static const gshape TINY[] = {{4, 4, 3}, {4, 1, 4}, {3, 4, 4}, {4, 4, 1}, {1, 1, 1}, {5, 7, 3},
                              {2, 9, 13}, {7, 1, 9}, {3, 5, 0}, {1, 31, 16}, {1, 1, 300}};
#define N_TINY (sizeof TINY / sizeof TINY[0])

static void test_gemm_tiny_bits(void)
{
    CHECK(lm__variant_force("ref"));
    for (size_t s = 0; s < N_TINY; s++) {
        for (int op = NN; op <= NT; op++) {
            for (int pad = 0; pad <= 1; pad++) {
                gcase c = make_case((op_t)op, TINY[s], pad);
                for (int e = 0; e < 3; e++) {
                    lm_epilogue ep = {e == 2 ? c.bias : NULL, e ? LM_SIGMOID : LM_IDENTITY};
                    const lm_epilogue *epp = e && op == NN ? &ep : NULL;
                    float *ref = new_c(&c), *got = new_c(&c);
                    run_ref(&c, ref, epp);
                    run_fast(&c, got, epp, NULL);
                    CHECKF(!memcmp(ref, got, c.nc * sizeof *ref),
                           "ref %s %dx%dx%d pad %d ep %d: not the reference's bits", OP_NAMES[op],
                           c.M, c.N, c.K, pad, e);
                    free(ref);
                    free(got);
                }
                free_case(&c);
            }
        }
    }
    lm__variant_force(NULL);
}

/* Few rows read B in place, many rows pack it: the rows of a small GEMM
 * must have the same bits as the same rows inside a big one, for NN
 * (with epilogue) and TN, ragged widths and odd leading dimensions. */
static void test_gemm_direct_b_matches_packed(void)
{
    static const gshape big[] = {{300, 256, 784}, {260, 65, 37}, {200, 10, 128},
                                 {257, 33, 5}, {300, 530, 19}};
    static const int rows[] = {64, 9, 17, 128};
    lm_pool *pool;
    CHECK_OK(lm_pool_new(&pool, 2));
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof big / sizeof big[0]; s++) {
            for (int op = NN; op <= TN; op++) {
                gcase c = make_case((op_t)op, big[s], (int)(s % 2));
                lm_epilogue ep = {c.bias, LM_RELU};
                const lm_epilogue *epp = op == NN ? &ep : NULL;
                float *all = new_c(&c);
                run_fast(&c, all, epp, pool);
                for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
                    int m = rows[r], i0 = c.M - m - (int)r; /* an unaligned block */
                    float *part = malloc((size_t)m * c.ldc * sizeof *part);
                    for (size_t i = 0; i < (size_t)m * c.ldc; i++) part[i] = SENTINEL;
                    if (op == NN)
                        lm_gemm_nn(m, c.N, c.K, c.A + (size_t)i0 * c.lda, c.lda, c.B, c.ldb,
                                   part, c.ldc, epp, r % 2 ? pool : NULL);
                    else
                        lm_gemm_tn(m, c.N, c.K, c.A + i0, c.lda, c.B, c.ldb, part, c.ldc,
                                   r % 2 ? pool : NULL);
                    int same = 1;
                    for (int i = 0; i < m; i++)
                        same &= !memcmp(part + (size_t)i * c.ldc, all + (size_t)(i0 + i) * c.ldc,
                                        (size_t)c.N * sizeof *part);
                    CHECKF(same, "%s %s %dx%dx%d: %d rows alone differ from the big GEMM",
                           VARIANTS[v], OP_NAMES[op], c.M, c.N, c.K, m);
                    free(part);
                }
                free(all);
                free_case(&c);
            }
        }
    }
    lm__variant_force(NULL);
    lm_pool_free(pool);
}

/* Zeros A's k steps like an image batch does: whole runs of columns
 * (NN: A's columns are k) or of rows (TN: A's rows are k), some of them
 * -0, with scattered nonzeros left in about half of those runs. */
static void zero_runs(gcase *c)
{
    int ar = c->op == TN ? c->K : c->M, ac = c->op == TN ? c->M : c->K;
    for (int r = 0; r < ar; r++)
        for (int q = 0; q < ac; q++) {
            int k = c->op == TN ? r : q, i = c->op == TN ? q : r;
            int blank = (k / 5) % 3 != 0; /* two thirds of the steps */
            int spot = (i * 7 + k * 13) % 97 == 0 && (k / 5) % 2 == 0;
            float *a = &c->A[(size_t)r * c->lda + q];
            if (blank && !spot) *a = (i + k) % 3 == 0 ? -0.0f : 0.0f;
        }
}

/* Skipping A's all-zero k steps gives the bits of the dense kernel, on 1,
 * 2 and 3 threads, with B packed or read in place, several K blocks, and a
 * ragged last row panel; and it does skip. */
static void test_gemm_sparse_a_same_bits(void)
{
    static const gshape shapes[] = {{64, 256, 784}, {784, 256, 64}, {61, 70, 300},
                                    {300, 45, 61},  {129, 33, 520}, {8, 32, 40}};
    lm_pool *pools[4] = {NULL, NULL, NULL, NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    long skipped0 = lm__gemm_sparse_skipped();
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int op = NN; op <= TN; op++) {
                gcase c = make_case((op_t)op, shapes[s], (int)(s % 2));
                zero_runs(&c);
                lm_epilogue ep = {c.bias, LM_RELU};
                float *dense = new_c(&c);
                lm__gemm_sparse_a(0);
                run_fast(&c, dense, op == NN ? &ep : NULL, NULL);
                lm__gemm_sparse_a(1);
                for (int t = 1; t <= 3; t++) {
                    float *sparse = new_c(&c);
                    run_fast(&c, sparse, op == NN ? &ep : NULL, pools[t]);
                    CHECKF(!memcmp(dense, sparse, c.nc * sizeof *dense),
                           "%s %s %dx%dx%d, %d threads: skipping zero steps changed bits",
                           VARIANTS[v], OP_NAMES[op], c.M, c.N, c.K, t);
                    free(sparse);
                }
                free(dense);
                free_case(&c);
            }
        }
    }
    /* the variants that skip: avx512, avx2, neon */
    if (lm__variant_force("avx512") || lm__variant_force("avx2") || lm__variant_force("neon"))
        CHECK(lm__gemm_sparse_skipped() > skipped0);
    lm__gemm_sparse_a(1);
    lm__variant_force(NULL);
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
}

/* A NaN or Inf in B reaches every element of C whose sum multiplies it
 * by a nonzero value of A, in every variant, whatever the zero steps of
 * A around it (the skipped steps are those where a row panel's values
 * are all zero; gemm_impl.h says what happens there). A NaN weight that
 * an input uses is never hidden. */
static void test_gemm_nonfinite_b(void)
{
    static const gshape shapes[] = {{64, 256, 784}, {61, 70, 300}, {13, 10, 40}, {300, 45, 61}};
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int op = NN; op <= TN; op++) {
                gcase c = make_case((op_t)op, shapes[s], (int)(s % 2));
                zero_runs(&c);
                /* non-finite values on steps that are zero for most rows,
                 * and on steps that are not */
                for (int k = 1; k < c.K; k += 11)
                    c.B[(size_t)k * c.ldb + (k * 7) % c.N] = k % 2 ? NAN : -INFINITY;
                float *got = new_c(&c);
                run_fast(&c, got, NULL, NULL);
                int bad = 0;
                for (int i = 0; i < c.M && !bad; i++)
                    for (int j = 0; j < c.N && !bad; j++) {
                        int hit = 0;
                        for (int k = 0; k < c.K; k++)
                            hit |= a_at(&c, i, k) != 0.0f && !isfinite(b_at(&c, k, j));
                        if (hit && isfinite(got[(size_t)i * c.ldc + j])) {
                            CHECKF(0, "%s %s %dx%dx%d: C[%d][%d] = %g hides a non-finite B",
                                   VARIANTS[v], OP_NAMES[op], c.M, c.N, c.K, i, j,
                                   got[(size_t)i * c.ldc + j]);
                            bad = 1;
                        }
                    }
                free(got);
                free_case(&c);
            }
        }
    }
    lm__variant_force(NULL);
}

/* A weight gradient's two row halves on 2 threads: wherever the boundary
 * between them moves (gemm.c's balancing), the bits are those of 1
 * thread, including a ragged last row panel and the largest moves. */
static void test_gemm_balance_same_bits(void)
{
    static const gshape shapes[] = {{784, 256, 64}, {203, 70, 61}};
    static const int shifts[] = {-12, -5, -1, 1, 3, 12};
    lm_pool *pool = NULL;
    CHECK_OK(lm_pool_new(&pool, 2));
    lm__pool_window_off(pool);
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gcase c = make_case(TN, shapes[s], (int)s);
            zero_runs(&c);
            float *one = new_c(&c);
            run_fast(&c, one, NULL, NULL);
            int units = (c.M + 7) / 8;
            for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
                int shift = shifts[i] * units / 98; /* within an eighth of the panels */
                float *two = new_c(&c);
                lm__gemm_balance_force(shift);
                run_fast(&c, two, NULL, pool);
                lm__gemm_balance_force(INT_MIN);
                CHECKF(!memcmp(one, two, c.nc * sizeof *one),
                       "%s tn %dx%dx%d, boundary moved by %d panels: bits changed", VARIANTS[v],
                       c.M, c.N, c.K, shift);
                free(two);
            }
            free(one);
            free_case(&c);
        }
    }
    lm__variant_force(NULL);
    lm_pool_free(pool);
}

/* The boundary follows the work: with the first half of the rows all
 * zero in A (skipped), task 1 holds all of it, and the boundary moves
 * most of the way to its limit (an eighth of the panels) toward task 1's
 * side; the products stay exact throughout. It learns from the tasks'
 * measured times, so a pause of the machine (a host's slow spell: one
 * of a few ms weighs as much as several panels) can set it back for a
 * few dozen products. So the test stops once it has moved 6 panels (6-7
 * products here, 13-18 under ASan) and allows 2000: checking the shift
 * after a fixed 200 once found it set back to 1 panel in CI. */
static void test_gemm_balance_follows_work(void)
{
    if (!lm__variant_force("avx512") && !lm__variant_force("avx2") && !lm__variant_force("neon")) {
        lm__variant_force(NULL);
        SKIP("no variant that skips zero steps");
    }
    lm_pool *pool = NULL;
    CHECK_OK(lm_pool_new(&pool, 2));
    lm__pool_window_off(pool);
    gcase c = make_case(TN, (gshape){784, 256, 64}, 0);
    for (int k = 0; k < c.K; k++)
        for (int i = 0; i < c.M / 2; i++) c.A[(size_t)k * c.lda + i] = 0.0f;
    float *one = new_c(&c), *two = new_c(&c);
    run_fast(&c, one, NULL, NULL);
    int same = 1, shift = 0, it = 0;
    for (; it < 2000 && shift < 6; it++) {
        run_fast(&c, two, NULL, pool);
        same &= !memcmp(one, two, c.nc * sizeof *one);
        shift = lm__gemm_balance_shift(two, c.M, c.N, c.K);
    }
    CHECK(same);
    CHECKF(shift >= 6, "boundary moved by %d panels in %d products, expected 6 to 12", shift, it);
    free(one);
    free(two);
    free_case(&c);
    lm__variant_force(NULL);
    lm_pool_free(pool);
}

static void test_gemm_variant_choice(void)
{
    const char *v = lm_gemm_variant();
    CHECKF(!strcmp(v, "ref") || !strcmp(v, "avx2") || !strcmp(v, "avx512") ||
               !strcmp(v, "neon") || !strcmp(v, "blas"),
           "unknown variant %s", v);
    CHECK(!lm__variant_force("no-such-variant"));
    CHECK(lm__variant_force("ref"));
    CHECK(!strcmp(lm_gemm_variant(), "ref"));
    CHECK(lm__variant_force(NULL));
    CHECK(!strcmp(lm_gemm_variant(), v)); /* back to the first choice */
    printf("# gemm variant: %s\n", lm_gemm_variant());
}

/* What every FMA variant (avx2, avx512, neon) computes, element by
 * element, from C's fmaf (correctly rounded on every platform): a chain
 * of one fused multiply-add per k from zero, in k order; an NN product
 * with KC_MAX < K <= 2 KS_MAX (gemm.c: 256, 512) in two such chains
 * split where gemm.c splits it, then added; then bias and relu. So the
 * three give the same bits as each other, on any machine: x86 and ARM
 * agree (the portable "ref" variant multiplies and adds separately and
 * differs in the last bits). */
static float fma_chain(const gcase *c, int i, int j, int k0, int k1)
{
    float s = 0.0f;
    for (int k = k0; k < k1; k++) s = fmaf(a_at(c, i, k), b_at(c, k, j), s);
    return s;
}

static void test_gemm_fma_variants_bits(void)
{
    /* one K block, two slices (NN), four blocks; a few rows (AVX-512's
     * row path), narrow and ragged outputs (the narrow kernels, B packed
     * and in place, several K blocks); then the tiny shapes (the tiny
     * loops, or past one K block the kernels) */
    static const gshape big[] = {{37, 45, 200}, {20, 33, 700},  {9, 70, 1100}, {3, 300, 300},
                                 {1, 10, 784},  {64, 10, 128},  {150, 12, 600}, {13, 5, 520}};
    gshape shapes[sizeof big / sizeof big[0] + N_TINY];
    memcpy(shapes, big, sizeof big);
    memcpy(shapes + sizeof big / sizeof big[0], TINY, sizeof TINY);
    static const char *const fma_variants[] = {"avx2", "avx512", "neon"};
    lm_pool *pool;
    CHECK_OK(lm_pool_new(&pool, 2));
    int ran = 0;
    for (int v = 0; v < 3; v++) {
        if (!lm__variant_force(fma_variants[v])) continue;
        ran++;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int op = NN; op <= NT; op++) {
                gcase c = make_case((op_t)op, shapes[s], (int)(s % 2));
                lm_epilogue ep = {c.bias, LM_RELU};
                float *got = new_c(&c);
                run_fast(&c, got, op == NN ? &ep : NULL, s % 2 ? pool : NULL);
                int ks = op == NN && c.K > 256 && c.K <= 1024 ? ((c.K + 1) / 2 + 7) & ~7 : 0;
                int bad = 0;
                for (int i = 0; i < c.M && !bad; i++)
                    for (int j = 0; j < c.N && !bad; j++) {
                        float want = ks ? fma_chain(&c, i, j, 0, ks) + fma_chain(&c, i, j, ks, c.K)
                                        : fma_chain(&c, i, j, 0, c.K);
                        if (op == NN) {
                            want += c.bias[j];
                            want = want > 0.0f ? want : 0.0f;
                        }
                        float g = got[(size_t)i * c.ldc + j];
                        if (memcmp(&g, &want, sizeof g)) {
                            CHECKF(0, "%s %s %dx%dx%d: C[%d][%d] = %.9g, fmaf chain %.9g",
                                   fma_variants[v], OP_NAMES[op], c.M, c.N, c.K, i, j, g, want);
                            bad = 1;
                        }
                    }
                free(got);
                free_case(&c);
            }
        }
    }
    lm__variant_force(NULL);
    lm_pool_free(pool);
    if (!ran) printf("# test_gemm_fma_variants_bits: no FMA variant here\n");
}

/* A dimension for test_gemm_random_shapes: about every remainder against
 * the tiles (6x16, 8x12, AVX-512's and NEON's), the cache blocks (MC 96
 * or 192, NC 512 or 1024), the K blocks (256) and slices (512, 1024), or
 * any size up to 1100. */
static int random_dim(void)
{
    static const int edge[] = {1,   2,   3,   5,   6,   7,   8,   9,   11,  12,  13,  15,
                               16,  17,  18,  23,  24,  25,  31,  32,  33,  47,  48,  49,
                               95,  96,  97,  127, 128, 129, 191, 192, 193, 255, 256, 257,
                               384, 385, 511, 512, 513, 767, 1023, 1024, 1025, 1100};
    unsigned r = (unsigned)((frand() + 1.0f) * 8388608.0f);
    if (r % 3 == 0) return 1 + (int)(r / 3 % 1100);
    return edge[r / 3 % (sizeof edge / sizeof edge[0])];
}

/* Zeros in A, by mode: none; whole k steps (some -0); all of A; whole
 * runs of rows (row panels); scattered. */
static void random_zeros(gcase *c, int mode)
{
    int stride = 2 + (int)((frand() + 1.0f) * 2.0f), run = 1 + (int)((frand() + 1.0f) * 6.0f);
    for (int i = 0; i < c->M; i++)
        for (int k = 0; k < c->K; k++) {
            float *a = c->op == TN ? &c->A[(size_t)k * c->lda + i] : &c->A[(size_t)i * c->lda + k];
            int zero = mode == 1   ? k % stride != 0
                       : mode == 2 ? 1
                       : mode == 3 ? (i / run) % 2 == 0
                       : mode == 4 ? frand() < 0.6f
                                   : 0;
            if (zero) *a = (i + k) % 3 ? 0.0f : -0.0f;
        }
}

/* Random shapes, layouts, zeros in A and epilogues (a fixed seed, so the
 * same cases each run), on every variant here: an FMA variant gives the
 * fmaf chain's bits exactly (as test_gemm_fma_variants_bits), the
 * reference is close to the double sums; 2 and 3 threads, skipping A's
 * zero steps or not, and a block of rows alone all give the same bits. */
static void test_gemm_random_shapes(void)
{
    uint64_t keep = rng_state;
    rng_state = 0x5DEECE66Dull;
    lm_pool *pools[4] = {NULL, NULL, NULL, NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    char why[200];
    for (int n = 0; n < 150 && !th_case_failed; n++) {
        gcase c = {(op_t)((frand() + 1.0f) * 1.5f), 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0};
        do {
            c.M = random_dim();
            c.N = random_dim();
            c.K = random_dim();
        } while ((double)c.M * c.N * c.K > 3e6);
        int ar = c.op == TN ? c.K : c.M, ac = c.op == TN ? c.M : c.K;
        int br = c.op == NT ? c.N : c.K, bc = c.op == NT ? c.K : c.N;
        c.lda = ac + (n % 2 ? n % 9 : 0);
        c.ldb = bc + (n % 3 ? n % 7 : 0);
        c.ldc = c.N + (n % 5 ? n % 11 : 0);
        c.A = rand_buf((size_t)ar * c.lda);
        c.B = rand_buf((size_t)br * c.ldb);
        c.bias = rand_buf((size_t)c.N);
        c.nc = (size_t)c.M * c.ldc;
        int mode = n % 5;
        random_zeros(&c, mode);
        lm_epilogue ep = {n % 4 ? c.bias : NULL, EPI_ACTS[n % 5]};
        const lm_epilogue *epp = c.op == NN && n % 3 ? &ep : NULL;
        int ks = c.op == NN && c.K > 256 && c.K <= 1024 ? ((c.K + 1) / 2 + 7) & ~7 : 0;
        for (size_t v = 0; v < N_VARIANTS && !th_case_failed; v++) {
            if (!lm__variant_force(VARIANTS[v])) continue;
            char tag[120];
            snprintf(tag, sizeof tag, "%s %s %dx%dx%d ld %d,%d,%d zeros %d ep %d", VARIANTS[v],
                     OP_NAMES[c.op], c.M, c.N, c.K, c.lda, c.ldb, c.ldc, mode,
                     epp ? (int)ep.act * 2 + (ep.bias != NULL) : -1);
            float *got = new_c(&c);
            run_fast(&c, got, epp, NULL);
            if (v == 0) {
                float *ref = new_c(&c);
                run_ref(&c, ref, epp);
                if (!close_to_ref(&c, got, ref, why, sizeof why)) CHECKF(0, "%s: %s", tag, why);
                free(ref);
            } else {
                for (int i = 0; i < c.M && !th_case_failed; i++)
                    for (int j = 0; j < c.N && !th_case_failed; j++) {
                        float want = ks ? fma_chain(&c, i, j, 0, ks) + fma_chain(&c, i, j, ks, c.K)
                                        : fma_chain(&c, i, j, 0, c.K);
                        if (epp) {
                            if (ep.bias) want += ep.bias[j];
                            lm_act_apply(ep.act, &want, 1);
                        }
                        float g = got[(size_t)i * c.ldc + j];
                        CHECKF(!memcmp(&g, &want, sizeof g), "%s: C[%d][%d] = %.9g, fmaf chain %.9g",
                               tag, i, j, g, want);
                    }
            }
            for (int t = 0; t < 4 && !th_case_failed; t++) {
                /* t 0: 1 thread, dense; 1: a block of rows alone; 2, 3: threads */
                float *other = new_c(&c);
                int i0 = 0, m = c.M;
                if (t == 0) {
                    lm__gemm_sparse_a(0);
                    run_fast(&c, other, epp, NULL);
                    lm__gemm_sparse_a(1);
                } else if (t == 1) {
                    i0 = (int)((frand() + 1.0f) * 0.5f * c.M) % c.M;
                    m = 1 + (int)((frand() + 1.0f) * 0.5f * (c.M - i0)) % (c.M - i0);
                    gcase part = c;
                    part.M = m;
                    part.A = c.op == TN ? c.A + i0 : c.A + (size_t)i0 * c.lda;
                    run_fast(&part, other + (size_t)i0 * c.ldc, epp, NULL);
                } else {
                    run_fast(&c, other, epp, pools[t]);
                }
                CHECKF(!memcmp(other + (size_t)i0 * c.ldc, got + (size_t)i0 * c.ldc,
                               ((size_t)(m - 1) * c.ldc + c.N) * sizeof *got),
                       "%s: %s differs", tag,
                       t == 0 ? "dense (no skipped steps)" : t == 1 ? "a block of rows alone"
                                                                    : "2 or 3 threads");
                free(other);
            }
            free(got);
        }
        free_case(&c);
    }
    lm__variant_force(NULL);
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
    rng_state = keep;
}

/* One selector for every kernel family: LAMINA_ISA names the variant
 * (LAMINA_GEMM is the older name, LAMINA_ISA wins), one this CPU or build
 * lacks gives the best there is, and a forced variant is every family's. */
static void test_variant_selector(void)
{
    const lm__variant *best = lm__variant_pick(NULL, NULL);
    CHECK(best && lm__variant_pick("", "") == best);
    CHECK(!strcmp(lm__variant_pick("ref", NULL)->name, "ref"));
    CHECK(!strcmp(lm__variant_pick(NULL, "ref")->name, "ref"));
    CHECK(!strcmp(lm__variant_pick("ref", "no-such")->name, "ref"));
    CHECK(lm__variant_pick("no-such", "ref") == best); /* LAMINA_ISA wins, even unknown */
    CHECK(lm__variant_pick("no-such", NULL) == best);
    for (size_t v = 1; v < N_VARIANTS; v++) {
        const lm__variant *p = lm__variant_pick(VARIANTS[v], NULL);
        if (lm__variant_has(VARIANTS[v])) CHECKF(!strcmp(p->name, VARIANTS[v]), "%s", VARIANTS[v]);
        else CHECKF(p == best, "%s is not here: the best, not %s", VARIANTS[v], p->name);
    }
    for (size_t v = 0; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        const lm__variant *now = lm__variant_now();
        CHECKF(!strcmp(lm_gemm_variant(), VARIANTS[v]) && !strcmp(now->vec->name, VARIANTS[v]) &&
                   now->small == !strcmp(VARIANTS[v], "avx512"),
               "forced %s: gemm %s, vec %s, small %d", VARIANTS[v], lm_gemm_variant(),
               now->vec->name, now->small);
    }
    lm__variant_force(NULL);
}

/* ------------------------------------------------------------- pool */

typedef struct count_ctx {
    atomic_int *hits;
} count_ctx;

static void count_task(void *ctx, int i)
{
    count_ctx *c = ctx;
    atomic_fetch_add(&c->hits[i], 1);
}

static void test_pool_each_task_once(void)
{
    static const int sizes[] = {0, 1, 2, 3, 7, 64, 1000};
    atomic_int hits[1000];
    count_ctx ctx = {hits};
    for (int threads = 1; threads <= 4; threads++) {
        lm_pool *p;
        CHECK_OK(lm_pool_new(&p, threads));
        CHECK(lm_pool_size(p) == threads);
        for (int rep = 0; rep < 200; rep++) {
            int n = sizes[rep % (sizeof sizes / sizeof sizes[0])];
            for (int i = 0; i < n; i++) atomic_init(&hits[i], 0);
            lm_pool_run(p, n, count_task, &ctx);
            for (int i = 0; i < n; i++)
                CHECKF(atomic_load(&hits[i]) == 1, "%d threads, %d tasks: task %d ran %d times",
                       threads, n, i, atomic_load(&hits[i]));
        }
        lm_pool_free(p);
    }
    /* a NULL pool runs them in order on the caller */
    for (int i = 0; i < 5; i++) atomic_init(&hits[i], 0);
    lm_pool_run(NULL, 5, count_task, &ctx);
    for (int i = 0; i < 5; i++) CHECK(atomic_load(&hits[i]) == 1);
    CHECK(lm_pool_size(NULL) == 1);
    CHECK(lm_cpu_count() >= 1);
}

static void test_pool_default_size(void)
{
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 0));
    CHECK(lm_pool_size(p) == lm_cpu_count());
    lm_pool_free(p);
    lm_pool_free(NULL);
}

/* The default thread count is the CPUs the process may run on, not all
 * the machine's: under taskset -c 0 (or mpirun's binding, a container's
 * cpuset) a pool of every core would put threads on one core that wait
 * for each other in every job. */
static void test_cpu_count_follows_affinity(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t old, one;
    if (sched_getaffinity(0, sizeof old, &old) != 0 || CPU_COUNT(&old) < 2)
        SKIP("fewer than 2 CPUs to narrow from");
    int first = 0;
    while (!CPU_ISSET(first, &old)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    CHECKF(lm_cpu_count() == 1, "lm_cpu_count %d under a one-CPU mask", lm_cpu_count());
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 0));
    CHECK(lm_pool_size(p) == 1);
    lm_pool_free(p);
    CHECK(sched_setaffinity(0, sizeof old, &old) == 0);
    CHECK(lm_cpu_count() == CPU_COUNT(&old));
#else
    SKIP("no CPU affinity on this system");
#endif
}

/* Every CPU tune (cpu.h) gives the same bits: the tunes change the M and
 * N blocks, never the K blocks. Shapes past both blocks of every tune
 * (M > 192, N > 1024), in K blocks and in K slices, on 1 and 2 threads;
 * the variants with micro-kernels (the reference has no blocking). */
static void test_gemm_tunes_same_bits(void)
{
    static const gshape shapes[] = {{200, 1030, 40}, {64, 256, 784}, {1000, 40, 90},
                                    {10, 40, 1025},  {193, 70, 300}};
    static const char *tunes[] = {"zen4", "spr", "generic"};
    CHECK(!lm__cpu_tune_force("no-such-cpu"));
    lm_pool *pool;
    CHECK_OK(lm_pool_new(&pool, 2));
    for (size_t v = 1; v < N_VARIANTS; v++) {
        if (!lm__variant_force(VARIANTS[v])) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int op = NN; op <= NT; op++) {
                gcase c = make_case((op_t)op, shapes[s], 0);
                lm_epilogue ep = {c.bias, LM_RELU};
                float *first = NULL;
                for (size_t t = 0; t < sizeof tunes / sizeof tunes[0]; t++) {
                    CHECK(lm__cpu_tune_force(tunes[t]));
                    CHECK(!strcmp(lm__cpu_tune_now()->name, tunes[t]));
                    for (int th = 0; th < 2; th++) {
                        float *got = new_c(&c);
                        run_fast(&c, got, op == NN ? &ep : NULL, th ? pool : NULL);
                        if (!first) {
                            first = got;
                            continue;
                        }
                        CHECKF(!memcmp(first, got, c.nc * sizeof *got),
                               "%s %s %dx%dx%d: tune %s, %d thread(s) differs from zen4",
                               VARIANTS[v], OP_NAMES[op], c.M, c.N, c.K, tunes[t], th + 1);
                        free(got);
                    }
                }
                free(first);
                free_case(&c);
            }
        }
    }
    lm__cpu_tune_force(NULL);
    lm__variant_force(NULL);
    lm_pool_free(pool);
}

/* ---------------------------------------------- pool under contention */

typedef struct stall_ctx {
    pthread_t caller;
    atomic_int on_caller; /* tasks of the last job the caller ran */
} stall_ctx;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A worker's task stalls for 3 ms, as if its CPU were taken away; the
 * caller's takes 30 us. */
static void stall_task(void *ctx, int i)
{
    (void)i;
    stall_ctx *c = ctx;
    if (pthread_equal(pthread_self(), c->caller)) {
        atomic_fetch_add(&c->on_caller, 1);
        double t0 = mono();
        while (mono() - t0 < 30e-6) {}
    } else {
        struct timespec ts = {0, 3000000};
        nanosleep(&ts, NULL);
    }
}

/* When the threads lose against the caller alone (a worker stalls), the
 * pool runs its jobs on the caller for a while: each task still runs
 * exactly once, now all of them on the caller. */
static void test_pool_falls_back_when_a_worker_stalls(void)
{
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 2));
    stall_ctx c = {pthread_self(), 0};
    int job = 0;
    while (lm__pool_serial_spells(p) == 0 && job++ < 500) lm_pool_run(p, 2, stall_task, &c);
    CHECKF(lm__pool_serial_spells(p) > 0, "no fallback after %d stalled jobs", job);
    /* a spell lasts 50 ms or more: one of the next jobs runs on the
     * caller alone (several, in case this thread lost its CPU a while) */
    int alone = 0;
    for (int k = 0; k < 5 && !alone; k++) {
        atomic_store(&c.on_caller, 0);
        lm_pool_run(p, 2, stall_task, &c);
        alone = atomic_load(&c.on_caller) == 2;
    }
    CHECK(alone);
    lm_pool_free(p);
}

/* ------------------------------------------- steps against steps */

typedef struct ab_ctx {
    double spin; /* seconds each task spins */
} ab_ctx;

static void spin_task(void *ctx, int i)
{
    (void)i;
    const ab_ctx *c = ctx;
    double t0 = mono();
    while (mono() - t0 < c->spin) {}
}

/* Runs `steps` steps of two empty tasks on p, each marked with the fake
 * clock *now advanced by par or ser seconds, as the step ran on the
 * threads or on the caller (lm_pool_width at its start); returns how
 * many ran on the threads. */
static int fake_steps(lm_pool *p, int steps, double par, double ser, double *now)
{
    ab_ctx c = {0};
    int on_threads = 0;
    for (int s = 0; s < steps; s++) {
        int wide = lm_pool_width(p) == 2;
        on_threads += wide;
        lm_pool_run(p, 2, spin_task, &c);
        *now += wide ? par : ser;
        lm__pool_step_at(p, 64, *now);
    }
    return on_threads;
}

/* The step comparison (pool.c, AB_K) on a fake clock, the window
 * fallback off: while steps on the threads take 1 ms and on the caller
 * 1.7 ms, probes come and are lost by the caller; when the caller alone
 * takes 0.6 ms, it wins and the steps run on the caller; when the
 * threads are faster again, they get the steps back after the spell. */
static void test_pool_compares_steps(void)
{
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 2));
    lm__pool_window_off(p);
    double now = 1000;
    lm__pool_step_at(p, 64, now);
    int wide = fake_steps(p, 3000, 1e-3, 1.7e-3, &now);
    long probes = lm__pool_ab_probes(p);
    CHECKF(probes >= 3 && lm__pool_ab_losses(p) == 0, "threads faster: %ld probes, %ld losses",
           probes, lm__pool_ab_losses(p));
    /* probing costs AB_K steps a probe: under 2% of 3000 here */
    CHECKF(wide == 3000 - 3 * probes && 3 * probes < 60, "%d of 3000 steps on the threads, %ld probes",
           wide, probes);
    /* the caller alone faster: lost within the next probe's distance */
    int steps = 0;
    while (lm__pool_ab_losses(p) == 0 && steps < 20000) {
        fake_steps(p, 1, 1e-3, 0.6e-3, &now);
        steps++;
    }
    CHECKF(lm__pool_ab_losses(p) == 1, "caller faster: no loss after %d steps", steps);
    CHECKF(lm_pool_width(p) == 1, "after the loss the pool still plans %d threads", lm_pool_width(p));
    wide = fake_steps(p, 50, 1e-3, 0.6e-3, &now);
    CHECKF(wide == 0, "%d of 50 steps of the spell on the threads", wide);
    /* threads faster again: back after the spell (64 steps, AB_K on the
     * threads, then the comparison) */
    fake_steps(p, 100, 1e-3, 1.7e-3, &now);
    wide = fake_steps(p, 100, 1e-3, 1.7e-3, &now);
    CHECKF(lm__pool_ab_losses(p) == 1, "threads faster again, %ld losses", lm__pool_ab_losses(p));
    CHECKF(wide == 100, "%d of 100 steps back on the threads", wide);
    /* a step of another kind, or an untimed one, is no sample */
    long before = lm__pool_ab_probes(p);
    for (int s = 0; s < 2000; s++) {
        ab_ctx c = {1e-6};
        lm_pool_run(p, 2, spin_task, &c);
        now += 1e-3;
        lm__pool_step_at(p, s % 2 ? 0 : 32, now);
    }
    CHECKF(lm__pool_ab_probes(p) == before, "%ld probes on untimed steps", lm__pool_ab_probes(p) - before);
    lm_pool_free(p);
}

/* The same in real time, as a VM whose vCPUs the host put apart: each
 * task takes 300 us while the step runs on both threads (every line
 * crosses between the cores) and 100 us on the caller alone, so the
 * window fallback, which compares a job with the caller's own tasks,
 * sees nothing wrong, while the caller alone does the step in 200 us
 * against 300. */
static void test_pool_steps_slow_together(void)
{
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 2));
    ab_ctx c;
    int s = 0;
    for (; s < 3000 && lm__pool_ab_losses(p) == 0; s++) {
        c.spin = lm_pool_width(p) == 2 ? 300e-6 : 100e-6;
        lm_pool_run(p, 2, spin_task, &c);
        lm__pool_step(p, 64);
    }
    if (lm__pool_ab_losses(p) == 0 && lm__pool_serial_spells(p) > 0) {
        long spells = lm__pool_serial_spells(p);
        lm_pool_free(p);
        SKIP("the window fallback ran the caller alone (%ld spells): a machine this slow decides nothing here",
             spells);
    }
    CHECKF(lm__pool_ab_losses(p) >= 1, "no loss in %d steps of 300 us on the threads against 200 us alone", s);
    CHECK(lm_pool_width(p) == 1);
    lm_pool_free(p);
}

/* One stalled job is forgiven (a host's hiccup): the job in which the
 * first stall came starts no spell; stalls that keep coming do. (Jobs
 * the caller ran alone, its worker not yet awake on a busy machine, may
 * fail a window by the ratio rule first; that is not what is tested.) */
static void test_pool_forgives_a_lone_stall(void)
{
    lm_pool *p;
    CHECK_OK(lm_pool_new(&p, 2));
    stall_ctx c = {pthread_self(), 0};
    int job = 0, spell_with_first = -1;
    while ((lm__pool_lone_stalls(p) == 0 || lm__pool_serial_spells(p) == 0) && job++ < 2000) {
        long lone = lm__pool_lone_stalls(p), spells = lm__pool_serial_spells(p);
        lm_pool_run(p, 2, stall_task, &c);
        if (lone == 0 && lm__pool_lone_stalls(p) == 1) spell_with_first = lm__pool_serial_spells(p) > spells;
    }
    CHECKF(spell_with_first == 0, "the first stall (by job %d) started a spell: %d", job, spell_with_first);
    CHECKF(lm__pool_serial_spells(p) >= 1, "no fallback in %d jobs, %ld stalls forgiven", job,
           lm__pool_lone_stalls(p));
    lm_pool_free(p);
}

static atomic_int g_inits, g_finis, g_init_fail_at;
static lm_status count_init(void)
{
    int k = atomic_fetch_add(&g_inits, 1) + 1;
    return k == atomic_load(&g_init_fail_at) ? LM_ENOMEM : LM_OK;
}
static void count_fini(void) { atomic_fetch_add(&g_finis, 1); }

/* lm_pool_start's per-thread hooks: init on every thread (the caller
 * too), fini on every started one, and a failing init refuses the pool. */
static void test_pool_thread_hooks(void)
{
    for (int n = 1; n <= 3; n++) {
        atomic_store(&g_inits, 0);
        atomic_store(&g_finis, 0);
        atomic_store(&g_init_fail_at, 0);
        lm_pool *p;
        CHECK_OK(lm_pool_start(&p, n, count_init, count_fini));
        CHECKF(atomic_load(&g_inits) == n, "%d threads, %d inits", n, atomic_load(&g_inits));
        lm_pool_free(p);
        CHECKF(atomic_load(&g_finis) == n - 1, "%d threads, %d finis", n, atomic_load(&g_finis));
        for (int fail = 1; fail <= n; fail++) {
            atomic_store(&g_inits, 0);
            atomic_store(&g_finis, 0);
            atomic_store(&g_init_fail_at, fail);
            p = (lm_pool *)&p;
            CHECK(lm_pool_start(&p, n, count_init, count_fini) == LM_ENOMEM);
            CHECK(p == NULL);
            CHECK(atomic_load(&g_finis) == n - 1); /* the started threads are gone */
        }
    }
    lm_pool *p;
    CHECK_OK(lm_pool_start(&p, 2, NULL, NULL));
    lm_pool_free(p);
}

static void test_vec_all_finite(void)
{
    float x[100];
    for (int n = 0; n <= 100; n++) {
        for (int i = 0; i < 100; i++) x[i] = frand() * 1e30f;
        CHECKF(lm_vec_all_finite(x, (size_t)n), "n %d: all finite", n);
        for (int bad = 0; bad < n; bad += 7) {
            float keep = x[bad];
            x[bad] = bad % 2 ? NAN : -INFINITY;
            CHECKF(!lm_vec_all_finite(x, (size_t)n), "n %d: non-finite at %d missed", n, bad);
            x[bad] = keep;
        }
        if (n < 100) { /* past the end does not count */
            x[n] = NAN;
            CHECKF(lm_vec_all_finite(x, (size_t)n), "n %d: looked past the end", n);
        }
    }
    x[0] = FLT_MAX;
    x[1] = -FLT_MIN;
    CHECK(lm_vec_all_finite(x, 2));
}

int main(void)
{
    RUN(test_gemm_variant_choice);
    RUN(test_variant_selector);
    RUN(test_gemm_ref);
    RUN(test_gemm_avx2);
    RUN(test_gemm_avx512);
    RUN(test_gemm_neon);
    RUN(test_gemm_k0);
    RUN(test_gemm_thread_determinism);
    RUN(test_gemm_rows_consistent);
    RUN(test_gemm_tiny_bits);
    RUN(test_gemm_balance_same_bits);
    RUN(test_gemm_balance_follows_work);
    RUN(test_gemm_direct_b_matches_packed);
    RUN(test_gemm_sparse_a_same_bits);
    RUN(test_gemm_nonfinite_b);
    RUN(test_gemm_fma_variants_bits);
    RUN(test_gemm_random_shapes);
    RUN(test_gemm_tunes_same_bits);
    RUN(test_pool_each_task_once);
    RUN(test_pool_default_size);
    RUN(test_cpu_count_follows_affinity);
    RUN(test_pool_falls_back_when_a_worker_stalls);
    RUN(test_pool_forgives_a_lone_stall);
    RUN(test_pool_compares_steps);
    RUN(test_pool_steps_slow_together);
    RUN(test_pool_thread_hooks);
    RUN(test_vec_all_finite);
    TEST_MAIN_END();
}
