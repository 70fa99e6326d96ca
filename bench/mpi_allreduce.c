/* mpi_allreduce.c - the cost of one MPI_Allreduce (sum, in place) of n
 * floats, the data-parallel trainer's step, apart from training: run by
 * bench/mpi.sh under mpirun at the MLP's and the CNN's gradient sizes.
 * Prints process 0's mean and fastest of `iters` calls: on a shared
 * machine the mean carries the waits for a descheduled partner, the
 * fastest is what the transfer itself costs (docs/SCALING.md's model).
 *     mpirun -np 2 mpi_allreduce N ITERS */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int n = argc > 1 ? atoi(argv[1]) : 1 << 18, iters = argc > 2 ? atoi(argv[2]) : 200;
    if (n < 1 || iters < 1) n = iters = 1;
    float *v = calloc((size_t)n, sizeof *v);
    if (!v) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
    MPI_Barrier(MPI_COMM_WORLD);
    double total = 0, best = 1e30;
    for (int i = 0; i < iters; i++) {
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double dt = MPI_Wtime() - t0;
        total += dt;
        if (dt < best) best = dt;
    }
    if (rank == 0)
        printf("floats=%d bytes=%zu mean_ms=%.4f best_ms=%.4f\n", n, (size_t)n * sizeof(float),
               total / iters * 1e3, best * 1e3);
    free(v);
    MPI_Finalize();
    return 0;
}
