/* mpi.c - cli/dist.h over MPI (built by make MPI=1 only). One
 * MPI_Allreduce per step sums the flat gradient buffer; a second, of a
 * few doubles, sums the batch's loss and correct rows and the stop
 * requests, so every process learns of a NaN or a Ctrl-C at the same
 * step. The main thread alone calls MPI (MPI_THREAD_FUNNELED): the
 * library's worker threads never do. */
#include "../dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int g_rank, g_size = 1, g_on; /* g_on: MPI_Init was called */
static int g_profile;                 /* LAMINA_MPI_PROFILE=1: time the wait apart */
static cli_dist_stats g_stats;

typedef struct grads_ctx {
    volatile sig_atomic_t *stop;
    int *agreed;
} grads_ctx;
static grads_ctx g_ctx;

/* Whether mpirun (or another launcher) started this process: a plain
 * `lamina train` of an MPI build then runs alone without touching MPI,
 * as the plain build does. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int cli_dist_start(void)
{
    if (!launched()) return CLI_OK;
    // A process waiting in MPI yields its core instead of spinning on it:
    // lamina's worker threads, or the process it waits for on a shared
    // machine, need that core (an epoch ran 1.6-2.3x slower spinning on a
    // busy 2-core machine, docs/SCALING.md). Open MPI's setting; the
    // user's wins.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        cli_err("MPI_Init failed");
        return CLI_EFAIL;
    }
    g_on = 1;
    const char *prof = getenv("LAMINA_MPI_PROFILE");
    g_profile = prof && !strcmp(prof, "1");
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    // Only process 0 speaks; the others keep their last message for
    // cli_dist_agree to pass to it.
    cli_err_hold = g_rank != 0;
    return CLI_OK;
}

void cli_dist_end(void)
{
    if (g_on) MPI_Finalize();
    g_on = 0;
}

int cli_dist_rank(void) { return g_rank; }
int cli_dist_size(void) { return g_size; }

/* Sums n floats over the processes in place, in pieces an int counts. */
static void sum_floats(float *v, size_t n)
{
    while (n) {
        int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, v, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        v += k;
        n -= (size_t)k;
    }
}

/* The gradient hook (lm_fit_opts.on_grads): every process calls it once
 * a step, so the collectives below pair up. */
static lm_status on_grads(lm_grads_info *g, void *ctx)
{
    grads_ctx *c = ctx;
    double t0 = MPI_Wtime();
    if (g_profile) { // the slowest process's lag, apart from the transfer
        MPI_Barrier(MPI_COMM_WORLD);
        double t1 = MPI_Wtime();
        g_stats.wait_s += t1 - t0;
        t0 = t1;
    }
    sum_floats(g->grads, g->n_grads);
    g_stats.sum_s += MPI_Wtime() - t0;
    g_stats.steps++;
    // loss, correct rows, and who asked to stop: SIGTERM outranks SIGINT
    int sig = *c->stop;
    double small[4] = {g->sums[0], g->sums[1], sig == SIGTERM, sig != 0 && sig != SIGTERM};
    MPI_Allreduce(MPI_IN_PLACE, small, 4, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    g->sums[0] = small[0];
    g->sums[1] = small[1];
    *c->agreed = small[2] > 0 ? SIGTERM : small[3] > 0 ? SIGINT : 0;
    // batch norm's running statistics need nothing: cli_dist_sync_bn
    // makes them the same on every process
    return LM_OK;
}

void cli_dist_fit(lm_fit_opts *o, volatile sig_atomic_t *stop, int *agreed)
{
    if (g_size < 2) return;
    g_ctx = (grads_ctx){stop, agreed};
    o->shards = g_size;
    o->shard = g_rank;
    o->on_grads = on_grads;
    o->grads_ctx = &g_ctx;
}

int cli_dist_max(int v)
{
    if (g_size < 2) return v;
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

int cli_dist_agree(int rc)
{
    if (g_size < 2) return rc;
    // the lowest-numbered process that failed, or g_size when none did
    int first = rc ? g_rank : g_size;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == g_size) return CLI_OK;
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    if (first == 0) return code; // process 0 said it already
    if (g_rank == first)
        MPI_Send(cli_err_last, (int)sizeof cli_err_last, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
    if (g_rank == 0) {
        char msg[sizeof cli_err_last];
        MPI_Recv(msg, (int)sizeof msg, MPI_CHAR, first, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        msg[sizeof msg - 1] = '\0';
        cli_err("process %d of %d: %s", first, g_size, msg[0] ? msg : "failed");
    }
    return code;
}

int cli_dist_same(const float *v, size_t n)
{
    if (g_size < 2) return 1;
    // FNV-1a over the bytes; equal hashes everywhere when min == max
    const unsigned char *b = (const unsigned char *)v;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n * sizeof *v; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    uint64_t mm[2] = {h, ~h};
    MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return mm[0] == ~mm[1];
}

void cli_dist_get_stats(cli_dist_stats *s)
{
    *s = g_stats;
    s->processes = g_size;
}

/* Batch norm's per-channel sums (lm_fit_opts.on_reduce), summed over the
 * processes in place: a few doubles a call, 3 calls a batch norm layer a
 * step, in the same order on every process (lamina.h), so the calls pair
 * up as the gradient allreduce's do. */
static void sum_bn_stats(double *v, size_t n, void *ctx)
{
    while (n) {
        int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, v, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        v += k;
        n -= (size_t)k;
    }
}

void cli_dist_sync_bn(lm_fit_opts *o)
{
    if (g_size < 2) return;
    o->on_reduce = sum_bn_stats;
    o->reduce_ctx = NULL;
}
