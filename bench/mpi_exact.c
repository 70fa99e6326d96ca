/* mpi_exact.c - what a data-parallel step would cost if N processes gave
 * the same bits as one (issue 16: "if an order-independent reduction
 * makes them bit-identical at a cost under 5%, do that"). A prototype on
 * the public API alone, not the trainer:
 *
 *     mpirun -np N mpi_exact [STEPS [ROUNDS [K]]]
 *
 * Two ways to take a step of the Fashion-MNIST MLP (784-256-128-10,
 * batch 64, SGD, 1 thread, synthetic inputs: time does not depend on
 * them), timed interleaved ROUNDS times, the fastest kept:
 *
 *  float: today's step. Each process's rows m*k/N.. in one
 *      lm_train_loss_grad, one MPI_Allreduce of the float gradients, the
 *      optimizer. The float sums' order depends on N.
 *  exact: the cheapest order-independent scheme found. The batch is cut
 *      in chunks of K rows fixed by the batch alone (not by N), a process
 *      takes whole chunks; each chunk's gradient (one lm_train_loss_grad
 *      of K rows, scaled to the batch) is rounded to 64-bit fixed point
 *      (2^-40 units, truncated) and added up in integers, which is exact and so in
 *      any order; one MPI_Allreduce of the int64 sums, back to float, the
 *      optimizer. Any N (and one process) then get the same bits.
 *
 * Prints the time a step of each (process 0's), the exact way's cost
 * over float, and an FNV-1a hash of each way's final parameters: the
 * exact hashes agree across N, the float ones need not. A real version
 * would need a scale agreed each step (a max-exponent allreduce) where
 * gradients can pass 2^23; and it would do the forward once, chunking
 * only the backward's products: this prototype's per-chunk forward
 * overstates that part, which the "convert" column separates out. */
#include <lamina.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NX = 784, BATCH = 64, NY = 10, ROWS = BATCH * 16 };
#define SCALE 1099511627776.0 /* 2^40: fixed-point units of 2^-40 */

static int g_rank, g_size;

static lm_net *make_net(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(1);
    if (lm_net_new(&net, NX) || lm_net_add_dense(net, 256, LM_RELU, LM_BIAS) ||
        lm_net_add_dense(net, 128, LM_RELU, LM_BIAS) || lm_net_add_dense(net, NY, LM_SOFTMAX, LM_BIAS) ||
        lm_net_init(net, LM_INIT_HE, &rng) || lm_net_set_threads(net, 1)) {
        fprintf(stderr, "mpi_exact: %s\n", lm_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return net;
}

static lm_train *make_trainer(lm_net *net)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_SGD;
    o.optim.lr = 0.05f;
    o.batch = BATCH;
    lm_rng rng = lm_rng_seed(2);
    lm_train *t;
    if (lm_train_new(&t, net, &o, &rng)) {
        fprintf(stderr, "mpi_exact: %s\n", lm_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return t;
}

static uint64_t fnv(const float *v, size_t n)
{
    const unsigned char *b = (const unsigned char *)v;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n * sizeof *v; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

typedef struct run {
    lm_net *net;
    lm_train *t;
    float *g;   /* the net's gradient buffer */
    size_t n;   /* its floats */
    int64_t *acc;
    double conv_s; /* exact: time in the fixed-point conversions */
} run;

/* One step, today's way, on batch b. */
static void step_float(run *r, const float *x, const int32_t *lab)
{
    size_t lo = BATCH * (size_t)g_rank / (size_t)g_size, hi = BATCH * (size_t)(g_rank + 1) / (size_t)g_size;
    if (hi > lo) {
        lm_train_loss_grad(r->t, x + lo * NX, NULL, lab + lo, hi - lo, NULL);
        float s = (float)(hi - lo) / BATCH; /* its rows' share of the batch mean */
        for (size_t i = 0; i < r->n; i++) r->g[i] *= s;
    } else {
        memset(r->g, 0, r->n * sizeof *r->g);
    }
    MPI_Allreduce(MPI_IN_PLACE, r->g, (int)r->n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    lm_train_apply_grads(r->t);
}

/* One step the order-independent way: chunks of k rows, int64 sums. */
static void step_exact(run *r, const float *x, const int32_t *lab, size_t k)
{
    size_t chunks = BATCH / k, c0 = chunks * (size_t)g_rank / (size_t)g_size,
           c1 = chunks * (size_t)(g_rank + 1) / (size_t)g_size;
    memset(r->acc, 0, r->n * sizeof *r->acc);
    float s = (float)k / BATCH; /* a power of 2: exact */
    for (size_t c = c0; c < c1; c++) {
        lm_train_loss_grad(r->t, x + c * k * NX, NULL, lab + c * k, k, NULL);
        double t0 = MPI_Wtime();
        /* truncated toward zero: as deterministic as rounding, and one
         * vector instruction (vcvttpd2qq) where llrint is a call */
        for (size_t i = 0; i < r->n; i++) r->acc[i] += (int64_t)((double)(r->g[i] * s) * SCALE);
        r->conv_s += MPI_Wtime() - t0;
    }
    MPI_Allreduce(MPI_IN_PLACE, r->acc, (int)r->n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (size_t i = 0; i < r->n; i++) r->g[i] = (float)((double)r->acc[i] / SCALE);
    r->conv_s += MPI_Wtime() - t0;
    lm_train_apply_grads(r->t);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    int steps = argc > 1 ? atoi(argv[1]) : 200, rounds = argc > 2 ? atoi(argv[2]) : 3;
    size_t k = argc > 3 ? (size_t)atoi(argv[3]) : 8;
    if (steps < 1 || rounds < 1 || k < 1 || BATCH % k) {
        if (!g_rank) fprintf(stderr, "usage: mpi_exact [STEPS [ROUNDS [K dividing %d]]]\n", BATCH);
        MPI_Finalize();
        return 2;
    }
    /* the same data everywhere: uniform pixels, labels by a rule */
    float *x = malloc(sizeof(float) * ROWS * NX);
    int32_t *lab = malloc(sizeof(int32_t) * ROWS);
    if (!x || !lab) MPI_Abort(MPI_COMM_WORLD, 1);
    lm_rng rng = lm_rng_seed(7);
    for (size_t i = 0; i < (size_t)ROWS * NX; i++) x[i] = (float)lm_rng_below(&rng, 256) / 255.0f;
    for (size_t r = 0; r < ROWS; r++) lab[r] = (int32_t)((x[r * NX + 300] + x[r * NX + 500]) * 4.99f);

    run ways[2];
    for (int w = 0; w < 2; w++) {
        ways[w].net = make_net();
        ways[w].t = make_trainer(ways[w].net);
        ways[w].g = lm_net_grads(ways[w].net);
        ways[w].n = lm_net_n_params(ways[w].net);
        ways[w].acc = malloc(ways[w].n * sizeof(int64_t));
        ways[w].conv_s = 0;
        if (!ways[w].acc) MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double best[2] = {1e30, 1e30}, conv_best = 1e30;
    for (int rd = 0; rd < rounds; rd++)
        for (int w = 0; w < 2; w++) {
            MPI_Barrier(MPI_COMM_WORLD);
            ways[w].conv_s = 0;
            double t0 = MPI_Wtime();
            for (int s = 0; s < steps; s++) {
                size_t b = (size_t)s % (ROWS / BATCH);
                if (w == 0) step_float(&ways[w], x + b * BATCH * NX, lab + b * BATCH);
                else step_exact(&ways[w], x + b * BATCH * NX, lab + b * BATCH, k);
            }
            double dt = (MPI_Wtime() - t0) / steps;
            if (dt < best[w]) {
                best[w] = dt;
                if (w == 1) conv_best = ways[w].conv_s / steps;
            }
        }
    if (!g_rank) {
        printf("processes=%d K=%zu steps=%d rounds=%d float_ms=%.4f exact_ms=%.4f cost=%+.1f%% convert_ms=%.4f "
               "float_hash=%016llx exact_hash=%016llx\n",
               g_size, k, steps * rounds, rounds, best[0] * 1e3, best[1] * 1e3,
               100 * (best[1] / best[0] - 1), conv_best * 1e3,
               (unsigned long long)fnv(lm_net_params(ways[0].net), ways[0].n),
               (unsigned long long)fnv(lm_net_params(ways[1].net), ways[1].n));
    }
    for (int w = 0; w < 2; w++) {
        lm_train_free(ways[w].t);
        lm_net_free(ways[w].net);
        free(ways[w].acc);
    }
    free(x);
    free(lab);
    MPI_Finalize();
    return 0;
}
