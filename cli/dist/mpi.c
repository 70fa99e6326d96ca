/* mpi.c - cli/dist.h over MPI (built by make MPI=1 only). One sum per
 * step of the flat gradient buffer together with a few doubles: the
 * batch's loss and correct rows and the stop requests, so every process
 * learns of a NaN or a Ctrl-C at the same step. The processes of one
 * machine sum through shared memory (shm.c; about half the cost of
 * MPI_Allreduce there, bench/MPI.md), one process a machine then
 * MPI_Allreduces the machines' sums and passes the total on
 * (MPI_Bcast); LAMINA_MPI_REDUCE=mpi makes it one MPI_Allreduce over all.
 * The main thread alone calls MPI (MPI_THREAD_FUNNELED): the library's
 * worker threads never do. */
#include "../dist.h"
#include "shm.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int g_rank, g_size = 1, g_on; /* g_on: MPI_Init was called */
static int g_local = 1;                /* processes on this machine */
static int g_profile;                 /* LAMINA_MPI_PROFILE=1: time the wait apart */
static cli_dist_stats g_stats;

/* How a step's sum goes (chosen at the first step, alike everywhere):
 * g_shm sums over this machine's processes (NULL: MPI_Allreduce over
 * all, the fallback), then, when there are several machines, their
 * leaders (g_node_rank 0) MPI_Allreduce over g_leaders and MPI_Bcast the
 * total on g_node. */
enum { SUM_UNSET, SUM_MPI, SUM_SHM };
static int g_sum_how;
static shm_sum *g_shm;
static MPI_Comm g_node = MPI_COMM_NULL, g_leaders = MPI_COMM_NULL;
static int g_node_rank, g_node_size;
static size_t g_sum_n; /* the floats g_shm sums */

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
    // The barrier it adds must be on every process or none: process 0's
    // environment decides (it prints the profile), as with mpirun -x.
    if (g_size > 1) MPI_Bcast(&g_profile, 1, MPI_INT, 0, MPI_COMM_WORLD);
    // the processes that share this machine (its cores), counted while
    // every process is here to take part
    MPI_Comm local;
    if (g_size > 1 &&
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local) ==
            MPI_SUCCESS) {
        MPI_Comm_size(local, &g_local);
        MPI_Comm_free(&local);
    }
    // Only process 0 speaks; the others keep their last message for
    // cli_dist_agree to pass to it.
    cli_err_hold = g_rank != 0;
    return CLI_OK;
}

void cli_dist_end(void)
{
    shm_sum_close(g_shm);
    g_shm = NULL;
    if (g_node != MPI_COMM_NULL) MPI_Comm_free(&g_node);
    if (g_leaders != MPI_COMM_NULL) MPI_Comm_free(&g_leaders);
    if (g_on) MPI_Finalize();
    g_on = 0;
}

int cli_dist_rank(void) { return g_rank; }
int cli_dist_size(void) { return g_size; }
int cli_dist_local_size(void) { return g_local; }

/* Sums n floats over comm's processes in place, in pieces an int counts. */
static void sum_floats_on(float *v, size_t n, MPI_Comm comm)
{
    while (n) {
        int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, v, k, MPI_FLOAT, MPI_SUM, comm);
        v += k;
        n -= (size_t)k;
    }
}

/* sum_floats_on over all processes. */
static void sum_floats(float *v, size_t n) { sum_floats_on(v, n, MPI_COMM_WORLD); }

/* The processes that share this one's memory, by MPI or, for tests,
 * per > 0 (LAMINA_MPI_NODE=K): "machines" of K consecutive processes. */
static int split_nodes(int per)
{
    int rc;
    if (per > 0) rc = MPI_Comm_split(MPI_COMM_WORLD, g_rank / per, g_rank, &g_node);
    else rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &g_node);
    if (rc != MPI_SUCCESS) return 0;
    MPI_Comm_rank(g_node, &g_node_rank);
    MPI_Comm_size(g_node, &g_node_size);
    // one leader a machine sums the machines' sums
    return MPI_Comm_split(MPI_COMM_WORLD, g_node_rank == 0 ? 0 : MPI_UNDEFINED, g_rank, &g_leaders) ==
           MPI_SUCCESS;
}

/* Chooses how the steps sum n floats and nd doubles (collective, at the
 * first step): shared memory unless LAMINA_MPI_REDUCE=mpi, a machine
 * holds one process, or a window failed anywhere. */
static void choose_sum(size_t n, size_t nd)
{
    // Process 0's environment decides for all (as LAMINA_MPI_PROFILE's):
    // set on some processes only (mpirun passes its shell's variables to
    // the processes of its own machine, to others only with -x), the
    // processes would enter other collectives and wait for ever.
    const char *how = getenv("LAMINA_MPI_REDUCE"), *k = getenv("LAMINA_MPI_NODE");
    int env[2] = {how && !strcmp(how, "mpi"), k ? atoi(k) : 0};
    MPI_Bcast(env, 2, MPI_INT, 0, MPI_COMM_WORLD);
    int ok = !env[0] && split_nodes(env[1]);
    // the same choice everywhere: a window on every machine, or none
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (ok) {
        if (g_node_size > 1) g_shm = shm_sum_open(g_node, n, nd);
        ok = g_node_size == 1 || g_shm;
        MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    }
    if (!ok) {
        shm_sum_close(g_shm);
        g_shm = NULL;
    }
    g_sum_how = ok ? SUM_SHM : SUM_MPI;
    g_sum_n = n;
}

/* Sums the step's n floats v and nd doubles d over all processes; every
 * process gets the same bits (one machine: added in process order; more:
 * the leaders' MPI_Allreduce, then a copy of its result). */
static void sum_step(float *v, size_t n, double *d, int nd)
{
    if (g_sum_how == SUM_UNSET) choose_sum(n, (size_t)nd);
    // another net (never in one lamina run, the same everywhere): MPI
    if (g_sum_how == SUM_MPI || n != g_sum_n) {
        sum_floats(v, n);
        MPI_Allreduce(MPI_IN_PLACE, d, nd, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        return;
    }
    if (g_shm) shm_sum_run(g_shm, v, d);
    if (g_node_size == g_size) return; // one machine: done
    if (g_leaders != MPI_COMM_NULL) {
        sum_floats_on(v, n, g_leaders);
        MPI_Allreduce(MPI_IN_PLACE, d, nd, MPI_DOUBLE, MPI_SUM, g_leaders);
    }
    if (g_node_size > 1) {
        for (size_t at = 0; at < n;) {
            int k = n - at > (size_t)INT_MAX ? INT_MAX : (int)(n - at);
            MPI_Bcast(v + at, k, MPI_FLOAT, 0, g_node);
            at += (size_t)k;
        }
        MPI_Bcast(d, nd, MPI_DOUBLE, 0, g_node);
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
    // the gradients with loss, correct rows, and who asked to stop
    // (SIGTERM outranks SIGINT), in one sum
    int sig = *c->stop;
    double small[4] = {g->sums[0], g->sums[1], sig == SIGTERM, sig != 0 && sig != SIGTERM};
    sum_step(g->grads, g->n_grads, small, 4);
    g_stats.sum_s += MPI_Wtime() - t0;
    g_stats.steps++;
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

void cli_dist_first(uint64_t *v, int n)
{
    if (g_size > 1) MPI_Bcast(v, n, MPI_UINT64_T, 0, MPI_COMM_WORLD);
}

void cli_dist_get_stats(cli_dist_stats *s)
{
    *s = g_stats;
    s->processes = g_size;
    s->reduce = g_sum_how == SUM_MPI ? "mpi" : g_sum_how == SUM_UNSET ? ""
              : g_node_size == g_size ? "shm" : g_node_size > 1 ? "shm+mpi" : "mpi";
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
