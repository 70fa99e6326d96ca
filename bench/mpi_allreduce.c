/* mpi_allreduce.c - the cost of summing n floats over the processes, the
 * data-parallel trainer's step, apart from training: MPI_Allreduce (sum,
 * in place) against the shared-memory sum the trainer uses on one
 * machine (cli/dist/shm.c), interleaved call by call so that a slow
 * spell of a shared machine hits both alike. Run by bench/mpi.sh under
 * mpirun at the MLP's and the CNN's gradient sizes. Prints process 0's
 * mean and fastest of `iters` calls of each: on a shared machine the mean
 * carries the waits for a descheduled partner, the fastest is what the
 * transfer itself costs (docs/SCALING.md's model). As in training, each
 * call follows a "step": the buffer rewritten and SCRATCH MB of other
 * memory written (the forward and backward passes' activations and
 * weights), so the sums start from caches as a step leaves them; the
 * barrier after it keeps the waits for the partner out of the timings.
 *     mpicc -O2 -o ar bench/mpi_allreduce.c cli/dist/shm.c
 *     mpirun -np 2 ar N ITERS [SCRATCH] */
#include "../cli/dist/shm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int n = argc > 1 ? atoi(argv[1]) : 1 << 18, iters = argc > 2 ? atoi(argv[2]) : 200;
    double scratch_mb = argc > 3 ? atof(argv[3]) : 4;
    if (n < 1 || iters < 1) n = iters = 1;
    if (!(scratch_mb >= 0 && scratch_mb < 4096)) scratch_mb = 0;
    size_t ns = (size_t)(scratch_mb * (1 << 20)) / sizeof(float);
    float *v = calloc((size_t)n, sizeof *v), *scratch = calloc(ns ? ns : 1, sizeof *scratch);
    if (!v || !scratch) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    shm_sum *s = shm_sum_open(node, (size_t)n, 4);
    double d[4] = {0};
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
    if (s) shm_sum_run(s, v, d);
    MPI_Barrier(MPI_COMM_WORLD);
    double total[2] = {0, 0}, best[2] = {1e30, 1e30};
    for (int i = 0; i < iters; i++) {
        for (int k = 0; k < 2; k++) {
            if (k == 1 && !s) break;
            for (size_t j = 0; j < ns; j++) scratch[j] += 1.0f; // the step's other memory
            for (int j = 0; j < n; j++) v[j] = (float)(j & 1023) * 1e-3f; // its gradient
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            if (k == 0) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            else shm_sum_run(s, v, d);
            double dt = MPI_Wtime() - t0;
            total[k] += dt;
            if (dt < best[k]) best[k] = dt;
        }
    }
    if (rank == 0) {
        printf("MPI_Allreduce floats=%d bytes=%zu mean_ms=%.4f best_ms=%.4f\n", n, (size_t)n * sizeof(float),
               total[0] / iters * 1e3, best[0] * 1e3);
        if (s)
            printf("shared memory floats=%d bytes=%zu mean_ms=%.4f best_ms=%.4f\n", n,
                   (size_t)n * sizeof(float), total[1] / iters * 1e3, best[1] * 1e3);
    }
    shm_sum_close(s);
    MPI_Comm_free(&node);
    free(v);
    free(scratch);
    MPI_Finalize();
    return 0;
}
