/* shm.h - summing float buffers over the processes of one machine
 * through shared memory (an MPI-3 window), without MPI_Allreduce: each
 * process copies its buffer into its own slot, raises a flag, waits for
 * the others' flags and adds every slot in process order. One
 * synchronisation a sum; every process gets the same bits.
 * Used by cli/dist/mpi.c (make MPI=1) and bench/mpi_allreduce.c. */
#ifndef LAMINA_CLI_DIST_SHM_H
#define LAMINA_CLI_DIST_SHM_H

#include <mpi.h>
#include <stddef.h>

typedef struct shm_sum shm_sum;

/* Collective over comm, whose processes must share memory (one machine:
 * MPI_Comm_split_type MPI_COMM_TYPE_SHARED): makes a summer of n floats
 * and nd doubles. NULL when the window cannot be made (every process
 * then gets NULL: they agree). */
shm_sum *shm_sum_open(MPI_Comm comm, size_t n, size_t nd);
/* Collective over the summer's processes: v (n floats) and d (nd
 * doubles, NULL when nd is 0) become their sums over the processes,
 * added in process order, so every process holds the same bits. */
void shm_sum_run(shm_sum *s, float *v, double *d);
/* Collective; NULL is ignored. */
void shm_sum_close(shm_sum *s);

#endif
