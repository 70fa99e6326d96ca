/* dist.h - the trainer's view of data-parallel training over processes.
 * `make MPI=1` links cli/dist/mpi.c (Open MPI); the plain build links
 * cli/dist/none.c, where there is always one process and every call is
 * the identity. cmd_train.c calls only these, so it holds no MPI code.
 *
 * The protocol (docs/SCALING.md): every process reads the same data and
 * draws the same batch order; the library computes each process's part
 * of every batch (lm_fit_opts.shards) and the gradient hook installed by
 * cli_dist_fit sums gradients, losses and the stop request over the
 * processes, so all take the same steps and stop at the same batch.
 * Process 0 alone writes files and prints. */
#ifndef LAMINA_CLI_DIST_H
#define LAMINA_CLI_DIST_H

#include "cli.h"

/* Joins the job when the program was started by mpirun (one process
 * otherwise). Returns CLI_OK, or CLI_EFAIL after a message. */
int cli_dist_start(void);
/* Leaves the job (MPI_Finalize); after it, no other call. */
void cli_dist_end(void);
/* This process's number (0 prints and writes) and the number of them. */
int cli_dist_rank(void);
int cli_dist_size(void);
/* How many of the processes run on this machine (1 with one process):
 * they share its cores. */
int cli_dist_local_size(void);

/* Makes o train this process's shard of every batch and sum the
 * gradients over the processes; *stop is the signal this process got
 * (0: none) and *agreed receives, after every step, the one signal every
 * process stops on. A no-op with one process. */
void cli_dist_fit(lm_fit_opts *o, volatile sig_atomic_t *stop, int *agreed);

/* Makes o's batch norm layers normalise by the whole batch: their
 * statistics are summed over the processes (lm_fit_opts.on_reduce), so
 * N processes compute what one does and hold the same running
 * statistics. A no-op with one process. */
void cli_dist_sync_bn(lm_fit_opts *o);

/* The largest v over the processes (v itself with one): a stop request
 * at an epoch boundary, agreed. */
int cli_dist_max(int v);

/* Agrees on an outcome every process reached on its own (setup, an
 * epoch's end): returns the exit code of the lowest-numbered process that
 * failed, or CLI_OK. Process 0 prints the message of a failure it did
 * not share, so one message says what went wrong wherever it happened. */
int cli_dist_agree(int rc);

/* Whether every process holds the same bits in v (n floats): the copies
 * of the net must not drift apart (1 with one process). */
int cli_dist_same(const float *v, size_t n);

/* Copies process 0's n values of v into every process's v (nothing with
 * one): what each compares with its own before training. */
void cli_dist_first(uint64_t *v, int n);

/* Where the steps' time went in summing gradients (bench/mpi.sh): sum_s
 * is in the allreduce; with LAMINA_MPI_PROFILE=1 in the environment a
 * barrier before it measures the wait for the slowest process apart
 * (wait_s), else that wait is inside sum_s. Zeros with one process.
 * reduce says how the sums went: "shm" (shared memory, one machine),
 * "shm+mpi" (shared memory on each machine, MPI_Allreduce between them),
 * "mpi" (MPI_Allreduce over all), "" (none yet). */
typedef struct cli_dist_stats {
    int processes;
    uint64_t steps;
    double wait_s, sum_s;
    const char *reduce;
} cli_dist_stats;
void cli_dist_get_stats(cli_dist_stats *s);

#endif
