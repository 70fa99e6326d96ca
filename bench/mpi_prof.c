/* mpi_prof.c - where a data-parallel run's MPI_Allreduce time goes, by
 * call size, without touching lamina: an MPI profiling (PMPI) shim that
 * wraps MPI_Allreduce and prints, at MPI_Finalize, process 0's calls and
 * seconds for each (type, count). Used for docs/SCALING.md's cost of
 * synchronised batch norm (its calls are the MPI_DOUBLE ones of C + 1,
 * C and 2C + 1 values):
 *
 *     mpicc -shared -fPIC -O2 -o mpi_prof.so bench/mpi_prof.c
 *     mpirun -np 2 -x LD_PRELOAD=$PWD/mpi_prof.so build-mpi/lamina train ...
 *
 * With MPI_PROF_BARRIER=1 each call is preceded by a barrier, timed
 * apart: the wait for the slower process (which would otherwise land in
 * whichever call comes next) comes apart from the reduction itself. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 64 };
static struct slot {
    MPI_Datatype type;
    int count;
    long calls;
    double s, wait_s;
} g_slot[SLOTS];
static int g_used, g_barrier = -1;

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op,
                  MPI_Comm comm)
{
    if (g_barrier < 0) {
        const char *b = getenv("MPI_PROF_BARRIER");
        g_barrier = b && !strcmp(b, "1");
    }
    struct slot *s = NULL;
    for (int i = 0; i < g_used && !s; i++)
        if (g_slot[i].type == type && g_slot[i].count == count) s = &g_slot[i];
    if (!s && g_used < SLOTS) {
        s = &g_slot[g_used++];
        s->type = type;
        s->count = count;
    }
    double t0 = PMPI_Wtime();
    if (g_barrier) {
        PMPI_Barrier(comm);
        double t1 = PMPI_Wtime();
        if (s) s->wait_s += t1 - t0;
        t0 = t1;
    }
    int rc = PMPI_Allreduce(sendbuf, recvbuf, count, type, op, comm);
    if (s) {
        s->s += PMPI_Wtime() - t0;
        s->calls++;
    }
    return rc;
}

int MPI_Finalize(void)
{
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int i = 0; i < g_used && rank == 0; i++) {
        const struct slot *s = &g_slot[i];
        const char *t = s->type == MPI_FLOAT ? "float" : s->type == MPI_DOUBLE ? "double"
                      : s->type == MPI_INT ? "int" : "other";
        fprintf(stderr, "mpi_prof: %s x %d: %ld calls, %.4f s (%.2f us a call), waiting %.4f s\n", t,
                s->count, s->calls, s->s, s->calls ? 1e6 * s->s / (double)s->calls : 0, s->wait_s);
    }
    return PMPI_Finalize();
}
