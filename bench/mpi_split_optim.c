/* mpi_split_optim.c - an experiment behind bench/MPI.md's notes, not part
 * of bench/mpi.sh: does splitting the optimizer step over 2 processes on
 * one machine pay? Per step, interleaved and each after a barrier:
 *   full:  the shared-memory sum of cli/dist/shm.c (copy in, one flag,
 *          add the other slot), then SGD with momentum on every parameter;
 *   split: copy in only the other process's half, one flag, add and
 *          update only this process's half, publish it, a second flag,
 *          copy the other half of the parameters from the other process.
 * Prints process 0's mean and best of ITERS steps of each.
 *     mpicc -O3 -o split bench/mpi_split_optim.c
 *     mpirun -np 2 --bind-to none split 235146 1000 */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdint.h>
typedef struct { _Atomic uint64_t a, b; char pad[112]; } fl;
static void waitge(_Atomic uint64_t *p, uint64_t v) { int i = 0; while (atomic_load_explicit(p, memory_order_acquire) < v) if (++i > 256) sched_yield(); }
static void momentum(float *p, float *g, float *m, size_t n) { for (size_t i = 0; i < n; i++) { m[i] = 0.9f * m[i] + g[i]; p[i] -= 0.05f * m[i]; } }
int main(int argc, char **argv)
{
    /* 2 processes: the halves and "the other" below assume it */
    MPI_Init(&argc, &argv);
    int r, N; MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &N);
    if (N != 2) { if (r == 0) fprintf(stderr, "mpi_split_optim: run it on 2 processes\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 235146; int it = argc > 2 ? atoi(argv[2]) : 500;
    size_t bytes = 128 + 4 * n * 4; /* flags, 2 grad slots, 2 param slots */
    char *mine; MPI_Win w;
    MPI_Win_allocate_shared((MPI_Aint)bytes, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &mine, &w);
    memset(mine, 0, bytes);
    char **part = malloc(N * sizeof *part);
    for (int j = 0; j < N; j++) { MPI_Aint sz; int du; MPI_Win_shared_query(w, j, &sz, &du, &part[j]); }
#define FL(j) ((fl *)part[j])
#define GS(j, k) ((float *)(part[j] + 128) + (size_t)(k & 1) * n)
#define PS(j, k) ((float *)(part[j] + 128) + 2 * n + (size_t)(k & 1) * n)
    float *g = calloc(n, 4), *p = calloc(n, 4), *m = calloc(n, 4), *g2 = calloc(n, 4);
    for (size_t i = 0; i < n; i++) g2[i] = (float)i * 1e-6f;
    MPI_Barrier(MPI_COMM_WORLD);
    uint64_t k = 0; double best[2] = {1e9, 1e9}, tot[2] = {0, 0};
    for (int t = 0; t < it; t++) {
        for (int mode = 0; mode < 2; mode++) {
            memcpy(g, g2, n * 4); /* the "backward" writes the gradient */
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            k++;
            if (mode == 0) {
                memcpy(GS(r, k), g, n * 4);
                atomic_store_explicit(&FL(r)->a, k, memory_order_release);
                for (int j = 0; j < N; j++) if (j != r) waitge(&FL(j)->a, k);
                float *o = GS(1 - r, k);
                for (size_t i = 0; i < n; i++) g[i] += o[i];
                momentum(p, g, m, n);
            } else {
                size_t lo = n * r / N, hi = n * (r + 1) / N;
                /* others' ranges of my gradient */
                for (int j = 0; j < N; j++) if (j != r) { size_t a = n * j / N, b = n * (j + 1) / N; memcpy(GS(r, k) + a, g + a, (b - a) * 4); }
                atomic_store_explicit(&FL(r)->a, k, memory_order_release);
                for (int j = 0; j < N; j++) if (j != r) waitge(&FL(j)->a, k);
                float *o = GS(1 - r, k);
                for (size_t i = lo; i < hi; i++) g[i] += o[i];
                momentum(p + lo, g + lo, m + lo, hi - lo);
                memcpy(PS(r, k) + lo, p + lo, (hi - lo) * 4);
                atomic_store_explicit(&FL(r)->b, k, memory_order_release);
                for (int j = 0; j < N; j++) if (j != r) waitge(&FL(j)->b, k);
                for (int j = 0; j < N; j++) if (j != r) { size_t a = n * j / N, b = n * (j + 1) / N; memcpy(p + a, PS(j, k) + a, (b - a) * 4); }
            }
            double dt = MPI_Wtime() - t0; tot[mode] += dt; if (dt < best[mode]) best[mode] = dt;
        }
    }
    if (r == 0) printf("full: sum+momentum mean %.4f best %.4f ms; split: mean %.4f best %.4f ms\n", tot[0] / it * 1e3, best[0] * 1e3, tot[1] / it * 1e3, best[1] * 1e3);
    MPI_Win_free(&w); MPI_Finalize(); return 0;
}
