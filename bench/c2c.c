/* c2c.c - how far apart this machine's first two CPUs are right now: the
 * round trip of one cache line between two threads pinned to CPUs 0 and
 * 1 (each waits for the other's write, then writes back).
 *
 * Why the benchmarks print it: on the 2-vCPU virtual machines lamina is
 * measured on, the host moves the two vCPUs between its cores. When they
 * sit in one core complex (one L3) a line crosses in about 50-75 ns; when
 * the host puts them further apart, 320-380 ns, measured minutes apart on
 * the same machine. A thread or a process then pays five times as much
 * for every line the other one wrote, and every 2-thread and 2-process
 * figure drops (the CNN's Adam step on 2 threads: 250 us near, 900-1200 us
 * far), while 1-thread figures and the FMA peak do not move. So a
 * 1 -> 2 speed-up means little without the placement it was measured in.
 *
 * The fastest of RUNS runs says where the vCPUs sit (the floor); their
 * median adds what the host's other work costs them now (a vCPU taken
 * away for a moment stalls the line).
 *
 * Usage: c2c [ROUND_TRIPS_A_RUN]   (default 10000; 21 runs)
 * Prints: c2c_ns=54.1 c2c_median_ns=88.0 placement=near   (placement from
 * the floor: far over 150 ns; NA: pinning refused, exit 1). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) atomic_long line;
static long trips;

static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
}

/* CPU 1's side: answers each odd value with the next even one. */
static void *echo(void *arg)
{
    int *ok = arg;
    *ok = pin(1);
    for (long i = 0; i < trips; i++) {
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1) {
        }
        atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One run: nanoseconds a round trip, or -1. */
static double run(void)
{
    pthread_t t;
    int ok = 0;
    atomic_store(&line, 0);
    if (pthread_create(&t, NULL, echo, &ok) != 0) return -1;
    double t0 = now();
    for (long i = 0; i < trips; i++) {
        atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2) {
        }
    }
    double s = now() - t0;
    pthread_join(t, NULL);
    return ok ? s * 1e9 / (double)trips : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    enum { RUNS = 21 };
    trips = argc > 1 ? atol(argv[1]) : 10000;
    if (trips < 100) trips = 100;
    if (!pin(0)) {
        puts("c2c_ns=NA placement=NA");
        return 1;
    }
    double ns[RUNS];
    for (int r = 0; r < RUNS; r++) {
        ns[r] = run();
        if (ns[r] < 0) {
            puts("c2c_ns=NA c2c_median_ns=NA placement=NA");
            return 1;
        }
    }
    qsort(ns, RUNS, sizeof ns[0], cmp);
    printf("c2c_ns=%.1f c2c_median_ns=%.1f placement=%s\n", ns[0], ns[RUNS / 2],
           ns[0] <= 150 ? "near" : "far");
    return 0;
}
