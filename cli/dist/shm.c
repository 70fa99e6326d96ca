/* shm.c - see shm.h. Why not MPI_Allreduce: on one machine Open MPI's
 * allreduce of the MLP's 0.94 MB gradient cost 0.11 ms a step, 15% of a
 * 2-process Fashion-MNIST epoch (bench/MPI.md); here each process writes
 * its buffer once, reads the others' once, and waits on their flags.
 *
 * Each process owns a part of one shared window: a flag line, then two
 * slots. Sum k (1, 2, ...): copy v into own slot k&1, store k in own flag
 * (release), wait until every flag reads k or more (acquire), add the
 * slots k&1 in process order. Two slots make that one synchronisation
 * enough: a process refills its slot k&1 at sum k+2, after it saw every
 * flag at k+1 in sum k+1; and every process raised its flag to k+1 only
 * once it had finished adding sum k, its last read of the slots k&1. */
#define _POSIX_C_SOURCE 200809L
#include "shm.h"

#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct flag_line {
    _Atomic uint64_t seq; /* the last sum whose slot this process filled */
    int64_t pid;          /* to tell a dead process from a slow one */
    int64_t world;        /* its number in MPI_COMM_WORLD, for messages */
    char pad[128 - 24];   /* its own cache lines (and the next's prefetch) */
} flag_line;

struct shm_sum {
    MPI_Comm comm;
    MPI_Win win;
    int rank, size;
    size_t n, nd;
    size_t slot_bytes, floats_at; /* a slot: nd doubles, then n floats at floats_at */
    char **part;                  /* (size) each process's part of the window */
    int64_t *pid;                 /* (size) each process's id, 0 where kill cannot see it */
    uint64_t seq;
};

#define ALIGN 128
static size_t round_up(size_t v) { return (v + ALIGN - 1) / ALIGN * ALIGN; }

static flag_line *flag_of(const shm_sum *s, int j) { return (flag_line *)s->part[j]; }
static char *slot_of(const shm_sum *s, int j, uint64_t seq)
{
    return s->part[j] + sizeof(flag_line) + (seq & 1) * s->slot_bytes;
}

/* Whether the file system behind Open MPI's shared windows has room for
 * `bytes` more. It must be asked first: when the process that creates
 * the window's file fails (no room, no such folder), Open MPI 4.1 returns
 * an error there but leaves the others waiting in
 * MPI_Win_allocate_shared for ever (a 2 MB tmpfs hung a 4 MB window). */
static int has_room(size_t bytes)
{
    const char *dir = getenv("OMPI_MCA_osc_sm_backing_directory"); // mpirun --mca sets it
    struct statvfs fs;
    if (!dir || !*dir) dir = "/dev/shm"; // Open MPI's default on Linux
    if (statvfs(dir, &fs) != 0) return 0;
    double room = (double)fs.f_bavail * (double)fs.f_frsize;
    return room >= (double)bytes * 1.125 + (1 << 20); // with the pages' rounding
}

shm_sum *shm_sum_open(MPI_Comm comm, size_t n, size_t nd)
{
    shm_sum *s = calloc(1, sizeof *s);
    int size;
    MPI_Comm_size(comm, &size);
    // the window: every process's flag line and two slots
    double need = ((double)n * sizeof(float) + (double)nd * sizeof(double) + 2 * ALIGN) * 2 * size;
    int ok = s != NULL && need < (double)PTRDIFF_MAX / 2 && has_room((size_t)need);
    // agree on every step below, so that all get a summer or none does
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
    if (!ok) {
        free(s);
        return NULL;
    }
    s->win = MPI_WIN_NULL;
    s->n = n;
    s->nd = nd;
    s->floats_at = round_up(nd * sizeof(double));
    s->slot_bytes = round_up(s->floats_at + n * sizeof(float));
    MPI_Comm_rank(comm, &s->rank);
    MPI_Comm_size(comm, &s->size);
    if (MPI_Comm_dup(comm, &s->comm) != MPI_SUCCESS) { // collective: it fails alike everywhere
        free(s);
        return NULL;
    }
    // a failed window comes back here to agree on, not aborting the job
    MPI_Comm_set_errhandler(s->comm, MPI_ERRORS_RETURN);
    s->part = calloc((size_t)s->size, sizeof *s->part);
    s->pid = calloc((size_t)s->size, sizeof *s->pid);
    ok = s->part && s->pid;
    // Each process allocates (and so first touches: its memory node) its
    // own part; noncontig lets each part start on its own page.
    MPI_Info info = MPI_INFO_NULL;
    if (MPI_Info_create(&info) == MPI_SUCCESS) MPI_Info_set(info, "alloc_shared_noncontig", "true");
    size_t bytes = sizeof(flag_line) + 2 * s->slot_bytes;
    char *mine = NULL;
    if (bytes > (size_t)PTRDIFF_MAX ||
        MPI_Win_allocate_shared(ok ? (MPI_Aint)bytes : 0, 1, info, s->comm, &mine, &s->win) != MPI_SUCCESS)
        ok = 0;
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    for (int j = 0; ok && j < s->size; j++) {
        MPI_Aint sz;
        int unit;
        if (MPI_Win_shared_query(s->win, j, &sz, &unit, &s->part[j]) != MPI_SUCCESS || (size_t)sz < bytes)
            ok = 0;
    }
    if (ok) {
        memset(mine, 0, bytes);
        atomic_store(&((flag_line *)mine)->seq, 0);
        ((flag_line *)mine)->pid = (int64_t)getpid();
        int w;
        MPI_Comm_rank(MPI_COMM_WORLD, &w);
        ((flag_line *)mine)->world = w;
    }
    // all or none; and after it every flag is zeroed, every pid written
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, s->comm);
    if (!ok) {
        shm_sum_close(s);
        return NULL;
    }
    // another process id namespace (containers) would make a live process
    // look dead: check only those this one can see now
    for (int j = 0; j < s->size; j++) {
        int64_t p = flag_of(s, j)->pid;
        s->pid[j] = j != s->rank && p > 0 && kill((pid_t)p, 0) == 0 ? p : 0;
    }
    return s;
}

/* Whether a process numbered below this one, other than j, is alive as
 * far as kill can tell: it is waiting for j too and will say so. */
static int lower_alive(const shm_sum *s, int j)
{
    for (int i = 0; i < s->rank; i++)
        if (i != j && s->pid[i] && kill((pid_t)s->pid[i], 0) == 0) return 1;
    return 0;
}

/* Waits until process j has filled its slot for sum seq. A process that
 * has died never will: mpirun normally ends the job within seconds, and
 * this checks every second or so, for launchers that do not. The lowest
 * living process says so and ends the job; the others keep waiting, so
 * that one message says it. */
static void wait_for(shm_sum *s, int j, uint64_t seq)
{
    flag_line *f = flag_of(s, j);
    unsigned long spins = 0;
    double next_check = 0;
    while (atomic_load_explicit(&f->seq, memory_order_acquire) < seq) {
        if (++spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            continue;
        }
        // the other process may need this core (2 processes on 2 busy
        // cores, bench/MPI.md): give it up rather than spin on it
        sched_yield();
        if ((spins & 1023) == 0) {
            double now = MPI_Wtime();
            if (next_check == 0) next_check = now + 1;
            else if (now >= next_check) {
                next_check = now + 1;
                if (s->pid[j] && kill((pid_t)s->pid[j], 0) != 0 && errno == ESRCH &&
                    !lower_alive(s, j)) {
                    int size;
                    MPI_Comm_size(MPI_COMM_WORLD, &size);
                    fprintf(stderr, "lamina: process %d of %d ended while the others waited for it\n",
                            (int)flag_of(s, j)->world, size);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
            }
        }
    }
}

void shm_sum_run(shm_sum *s, float *v, double *d)
{
    uint64_t seq = ++s->seq;
    char *own = slot_of(s, s->rank, seq);
    if (s->nd) memcpy(own, d, s->nd * sizeof *d);
    memcpy(own + s->floats_at, v, s->n * sizeof *v);
    atomic_store_explicit(&flag_of(s, s->rank)->seq, seq, memory_order_release);
    for (int j = 0; j < s->size; j++)
        if (j != s->rank) wait_for(s, j, seq);

    // the doubles, few: in process order from the slots
    for (size_t i = 0; i < s->nd; i++) {
        double a = 0;
        for (int j = 0; j < s->size; j++) a += ((const double *)slot_of(s, j, seq))[i];
        d[i] = a;
    }
    if (s->size == 2) {
        // a + b == b + a in IEEE arithmetic: both processes get the same bits
        const float *restrict o = (const float *)(slot_of(s, 1 - s->rank, seq) + s->floats_at);
        float *restrict w = v;
        for (size_t i = 0; i < s->n; i++) w[i] += o[i];
        return;
    }
    // ((s0 + s1) + s2) + ... in blocks that stay in the first-level cache
    enum { BLOCK = 2048 };
    float acc[BLOCK];
    for (size_t at = 0; at < s->n; at += BLOCK) {
        size_t m = s->n - at < BLOCK ? s->n - at : BLOCK;
        const float *restrict s0 = (const float *)(slot_of(s, 0, seq) + s->floats_at) + at;
        const float *restrict s1 = (const float *)(slot_of(s, 1, seq) + s->floats_at) + at;
        for (size_t i = 0; i < m; i++) acc[i] = s0[i] + s1[i];
        for (int j = 2; j < s->size; j++) {
            const float *restrict sj = (const float *)(slot_of(s, j, seq) + s->floats_at) + at;
            for (size_t i = 0; i < m; i++) acc[i] += sj[i];
        }
        memcpy(v + at, acc, m * sizeof *v);
    }
}

void shm_sum_close(shm_sum *s)
{
    if (!s) return;
    if (s->win != MPI_WIN_NULL) MPI_Win_free(&s->win);
    MPI_Comm_free(&s->comm);
    free(s->part);
    free(s->pid);
    free(s);
}
