/* gemm_bench.c - GFLOP/s of lamina's GEMM against OpenBLAS's cblas_sgemm
 * at the Fashion-MNIST training shapes and 1024^3, on 1 and 2 threads,
 * then the eight GEMMs of one training step back to back (each on its own
 * buffers, the forward ones with their bias+relu epilogue in lamina).
 * Prints one key=value line per shape (bench/run.sh makes the table):
 *   shape=NAME lam1=G blas1=G lam2=G blas2=G
 * after a first line naming the variants and the CPU tune (cpu.h; set it
 * with LAMINA_CPU_TUNE=zen4|spr|generic): variant=avx512 tune=zen4
 * cpu=AuthenticAMD/25/17/l2_1024k openblas_core=...
 * The step line adds us1= and us2=, lamina's microseconds per step.
 * Usage: gemm_bench [seconds per measurement, default 0.2] [lamina]
 * ("lamina" skips OpenBLAS, for quick before/after runs). */
#include "kernels/cpu.h"
#include "kernels/kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int n);
char *openblas_get_corename(void);

typedef struct shape {
    const char *op; /* "nn", "tn", "nt" */
    int M, N, K;
    const char *what;
} shape;

static const shape SHAPES[] = {
    {"nn", 64, 256, 784, "fwd-784-256"},
    {"nn", 64, 128, 256, "fwd-256-128"},
    {"nn", 64, 10, 128, "fwd-128-10"},
    {"tn", 784, 256, 64, "dW-784x256"},
    {"tn", 256, 128, 64, "dW-256x128"},
    {"tn", 128, 10, 64, "dW-128x10"},
    {"nt", 64, 256, 128, "dX-128-256"},
    {"nt", 64, 128, 10, "dX-10-128"},
    {"nn", 1024, 1024, 1024, "square"},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct operands {
    const shape *s;
    float *A, *B, *C;
    int lda, ldb;
} operands;

static void run_lamina(const operands *o, lm_pool *pool)
{
    const shape *s = o->s;
    if (!strcmp(s->op, "nn"))
        lm_gemm_nn(s->M, s->N, s->K, o->A, o->lda, o->B, o->ldb, o->C, s->N, NULL, pool);
    else if (!strcmp(s->op, "tn"))
        lm_gemm_tn(s->M, s->N, s->K, o->A, o->lda, o->B, o->ldb, o->C, s->N, pool);
    else
        lm_gemm_nt(s->M, s->N, s->K, o->A, o->lda, o->B, o->ldb, o->C, s->N, pool);
}

static void run_blas(const operands *o)
{
    const shape *s = o->s;
    enum CBLAS_TRANSPOSE ta = !strcmp(s->op, "tn") ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = !strcmp(s->op, "nt") ? CblasTrans : CblasNoTrans;
    cblas_sgemm(CblasRowMajor, ta, tb, s->M, s->N, s->K, 1.0f, o->A, o->lda, o->B, o->ldb,
                0.0f, o->C, s->N);
}

/* Lets the other library's worker threads finish spinning and go to
 * sleep, so they do not steal a core from the next measurement. */
static void settle(void)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* One timed unit of work: a GEMM, or a training step's eight. */
typedef struct work {
    void (*fn)(const struct work *w);
    const void *ctx; /* the operands, or the step */
    lm_pool *pool;     /* lamina's pool; OpenBLAS runs when blas is set */
    int blas;
    double flops;
} work;

static void one_gemm(const work *w)
{
    if (w->blas) run_blas(w->ctx);
    else run_lamina(w->ctx, w->pool);
}

/* Best GFLOP/s over repeated batches of calls lasting `secs` in all. */
static double measure(const work *w, double secs)
{
    settle();
    double best = 0;
    int reps = 1;
    for (int i = 0; i < 3; i++) w->fn(w);
    /* calibrate a batch to ~secs/10 */
    for (;;) {
        double t0 = now();
        for (int r = 0; r < reps; r++) w->fn(w);
        double dt = now() - t0;
        if (dt > secs / 10 || reps > (1 << 24)) break;
        reps *= 2;
    }
    double end = now() + secs;
    while (now() < end) {
        double t0 = now();
        for (int r = 0; r < reps; r++) w->fn(w);
        double g = w->flops * reps / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

static float *rand_floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        exit(1);
    }
    for (size_t k = 0; k < n; k++) p[k] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

static operands make_operands(const shape *s)
{
    int tn = !strcmp(s->op, "tn"), nt = !strcmp(s->op, "nt");
    operands o = {s, rand_floats((size_t)s->M * s->K), rand_floats((size_t)s->K * s->N),
                  rand_floats((size_t)s->M * s->N), tn ? s->M : s->K, nt ? s->K : s->N};
    return o;
}

static void free_operands(operands *o)
{
    free(o->A);
    free(o->B);
    free(o->C);
}

/* best of three interleaved rounds: other work on the machine (a 2-core
 * box) hits one round, rarely all three. r[t-1] = {lamina, OpenBLAS}. */
static void measure_both(work w, lm_pool *pools[3], int with_blas, double secs,
                         double r[2][2])
{
    for (int round = 0; round < 3; round++) {
        for (int t = 1; t <= 2; t++) {
            openblas_set_num_threads(t);
            w.pool = pools[t];
            w.blas = 0;
            double l = measure(&w, secs), b = 0;
            w.blas = 1;
            if (with_blas) b = measure(&w, secs);
            if (l > r[t - 1][0]) r[t - 1][0] = l;
            if (b > r[t - 1][1]) r[t - 1][1] = b;
        }
    }
}

/* --------------------------------------------------- one training step */

/* The Fashion net's step at batch 64 (784-256-128-10) in the order a step
 * runs them: the three forward NN (bias+relu, bias+relu, bias), then from
 * the top layer down its weight gradient (TN) and, above the first layer,
 * its input gradient (NT). Indices into SHAPES. */
enum { STEP_GEMMS = 8 };
static const int STEP_ORDER[STEP_GEMMS] = {0, 1, 2, 5, 7, 4, 6, 3};

typedef struct step {
    operands o[STEP_GEMMS]; /* in SHAPES order */
    float *bias[3];
} step;

static void step_run(const work *w)
{
    const step *st = w->ctx;
    for (int g = 0; g < STEP_GEMMS; g++) {
        int i = STEP_ORDER[g];
        const operands *o = &st->o[i];
        if (w->blas) {
            run_blas(o);
        } else if (i < 3) {
            lm_epilogue ep = {st->bias[i], i < 2 ? LM_RELU : LM_IDENTITY};
            const shape *s = o->s;
            lm_gemm_nn(s->M, s->N, s->K, o->A, o->lda, o->B, o->ldb, o->C, s->N, &ep,
                       w->pool);
        } else {
            run_lamina(o, w->pool);
        }
    }
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.2;
    int with_blas = !(argc > 2 && !strcmp(argv[2], "lamina"));
    lm_pool *pools[3] = {NULL, NULL, NULL};
    if (lm_pool_new(&pools[1], 1) != LM_OK || lm_pool_new(&pools[2], 2) != LM_OK) {
        fprintf(stderr, "gemm_bench: cannot make a thread pool\n");
        return 1;
    }
    char vendor[13];
    int family, model, l2;
    lm__cpu_ident(vendor, &family, &model, &l2);
    printf("variant=%s tune=%s cpu=%s/%d/%d/l2_%dk openblas_core=%s\n", lm_gemm_variant(),
           lm__cpu_tune_now()->name, vendor[0] ? vendor : "unknown", family, model, l2,
           openblas_get_corename());
    srand(1);
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        const shape *s = &SHAPES[i];
        operands o = make_operands(s);
        double r[2][2] = {{0, 0}, {0, 0}};
        work w = {one_gemm, &o, NULL, 0, 2.0 * s->M * s->N * s->K};
        measure_both(w, pools, with_blas, secs, r);
        printf("shape=%s_%s_%dx%dx%d lam1=%.1f blas1=%.1f lam2=%.1f blas2=%.1f\n", s->what, s->op,
               s->M, s->N, s->K, r[0][0], r[0][1], r[1][0], r[1][1]);
        fflush(stdout);
        free_operands(&o);
    }

    step st;
    double flops = 0;
    for (int i = 0; i < STEP_GEMMS; i++) {
        st.o[i] = make_operands(&SHAPES[i]);
        flops += 2.0 * SHAPES[i].M * SHAPES[i].N * SHAPES[i].K;
    }
    for (int l = 0; l < 3; l++) st.bias[l] = rand_floats((size_t)SHAPES[l].N);
    double r[2][2] = {{0, 0}, {0, 0}};
    work w = {step_run, &st, NULL, 0, flops};
    measure_both(w, pools, with_blas, secs, r);
    printf("shape=step-8-gemms_b64 lam1=%.1f blas1=%.1f lam2=%.1f blas2=%.1f us1=%.1f "
           "us2=%.1f\n",
           r[0][0], r[0][1], r[1][0], r[1][1], flops / r[0][0] / 1e3, flops / r[1][0] / 1e3);
    for (int i = 0; i < STEP_GEMMS; i++) free_operands(&st.o[i]);
    for (int l = 0; l < 3; l++) free(st.bias[l]);

    lm_pool_free(pools[1]);
    lm_pool_free(pools[2]);
    return 0;
}
