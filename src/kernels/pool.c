/* pool.c - a persistent thread pool. Workers start once in lm_pool_new
 * and wait for work by spinning briefly, then sleeping on a condition
 * variable; lm_pool_run publishes a job by bumping a generation number.
 *
 * Affinity: task i is the "home" task of thread i mod n (the caller is
 * thread 0, worker w thread w + 1). Each thread first runs its own home
 * tasks in order, then takes what is left of the others'. When every
 * thread is awake, task i therefore runs on thread i mod n in every job,
 * so a kernel that gives part t of an array to task t finds that part in
 * the cache of the core that used it last (the first layer's weights,
 * their gradient and the optimizer state, see optim.c). On these
 * machines a line another core has just read or written costs several
 * times a line of one's own. A late or descheduled thread only loses
 * the tasks nobody has taken yet, so the job still finishes without it.
 * Each thread's home tasks are claimed through its own counter (a task
 * index j * n + t), so each task runs exactly once.
 *
 * The caller returns as soon as every task is done; it does not wait for
 * workers that never woke (on a busy machine a descheduled worker would
 * otherwise stall every call). To keep such a late worker off the next
 * job's fields, a worker first registers in `active`, then checks that
 * its generation is still current and not yet closed; the caller closes
 * the job and waits for `active` to drain before returning. With
 * sequentially consistent atomics either the caller sees the worker
 * registered and waits for it, or the worker sees the job closed and
 * leaves without touching it.
 *
 * When threads lose their CPU: a task a worker has claimed cannot be
 * taken back (it writes its part of the output as it goes), so when the
 * worker is descheduled mid-task, by a busy neighbour or a host's slow
 * spell, the caller waits for it for a scheduler time slice: milliseconds,
 * against tens of microseconds a GEMM takes. Measured on 2 cores with a
 * busy process pinned to one of them, the MLP epoch took 1.8x as long on
 * 2 threads as on 1. So the caller measures each job: its wall time, and
 * what the job would have cost on the caller alone (the caller's own
 * seconds per task times the tasks). When a window of jobs ran no faster
 * in parallel than it would have alone, the caller runs every task
 * itself for a while (the workers sleep), then tries the threads again,
 * waiting twice as long after each try that fails (up to a second) and
 * at least 40 times what the try lost; lm_pool_width tells planners to
 * split for one thread meanwhile. Who runs a task never changes its bits (every task's work and order are
 * fixed by the caller of lm_pool_run), so neither does this.
 *
 * Per-thread state: the pool knows nothing of its users. lm_pool_start
 * takes an optional hook each thread runs once before its first task
 * (and its pair at exit): the GEMM driver uses them for its packing
 * buffers (gemm.c, lm_pool_new), so that no step allocates and a failure
 * is reported when the pool starts.
 *
 * One caller at a time: a pool belongs to one net (or one benchmark), and
 * lm_pool_run must not be called on the same pool from two threads at
 * once, nor from inside one of its own tasks. */
/* sched_getaffinity (lm_cpu_count), a GNU extension that glibc and musl
 * both have; before the first system header. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long a worker (or the waiting caller) spins before sleeping: long
 * enough to bridge the gaps between the GEMMs of one training step. */
#define SPIN_ITERS 20000

/* The fallback to the caller alone (see the top). A window is judged
 * once it holds WINDOW_JOBS jobs and WINDOW_SEC of work estimated for
 * the caller alone, so that a few tiny jobs decide nothing; it fails when
 * parallel wall time exceeds LOSS_RATIO of that estimate (a quiet 2-core
 * machine measures 0.5-0.6 on 2 threads; a busy neighbour, 1 and more).
 * It fails at once, whatever its size, when the jobs have already lost
 * STALL_SEC against the caller alone and another stall came less than
 * STALL_REPEAT_SEC before: one stalled task costs a time slice, and
 * waiting for a window full of them cost 20% of an epoch; but a stall
 * alone is a host's hiccup (a vCPU stopped for a moment, about once an
 * epoch on this VM), and the 50 ms spell it started cost the 2-thread
 * MLP epoch several percent, so it only starts the window over. A busy
 * neighbour stalls every few jobs and is caught at its second. The
 * first serial spell lasts SERIAL_MIN_SEC, each one after a failed try
 * twice the last, at most SERIAL_MAX_SEC, so that the tries cost a small
 * share of a long slow spell and a quiet machine gets its threads back
 * within a second; and at least LOSS_SPELLS times what the failed try
 * lost, at most SERIAL_LONGEST_SEC (judge_window). */
#define WINDOW_JOBS 32
#define WINDOW_SEC 1e-3
#define LOSS_RATIO 0.9
#define STALL_SEC 5e-4
#define STALL_REPEAT_SEC 0.1
#define SERIAL_MIN_SEC 0.05
#define SERIAL_MAX_SEC 1.0
#define LOSS_SPELLS 40
#define SERIAL_LONGEST_SEC 4.0

/* Steps against steps. The window above compares a job's wall time with
 * the caller's own time for its tasks, so it misses a machine on which
 * both threads are slow together: on a VM whose two vCPUs the host puts
 * on cores that share no cache (bench/c2c.c), every line one core wrote
 * and the other reads costs five times as much, the caller's own tasks
 * slow down as much as the job, and the 2-thread MLP epoch took 0.90 s
 * against 0.57 s on one thread with the window content. So a trainer
 * also marks its steps (lm__pool_step, once a step, with the step's
 * rows as its key), and the pool compares the steps themselves: after
 * `interval` parallel steps it runs AB_K steps on the caller alone (a
 * probe) and compares the medians of the last AB_K steps each way. When
 * the caller alone is faster by more than 1 - AB_MARGIN, it stays alone
 * for `spell` steps (AB_SPELL_MIN, doubling after each comparison it
 * wins again, at most AB_SPELL_MAX), then runs AB_K parallel steps and
 * compares them with the spell's last ones, with no probe. When the
 * threads win, the next probe comes twice as late (AB_FIRST, doubling
 * to AB_MAX steps), so that on a quiet machine probing costs little:
 * AB_K serial steps in AB_FIRST + 2 AB_FIRST + ..., under 1% of a
 * training run's time after its first thousand steps. Only steps with
 * the same key, and whose jobs all ran the same way, are compared. */
#define AB_K 3
#define AB_FIRST 256
#define AB_MAX 8192
#define AB_MARGIN 0.92
#define AB_SPELL_MIN 64
#define AB_SPELL_MAX 8192

/* A thread's claim counter on its home tasks, on a cache line of its own
 * so that claiming never contends with the other threads' claims. */
typedef struct home {
    _Alignas(64) atomic_int next; /* j: the next home task is j * n + thread */
} home;

/* What a worker thread is started with. */
typedef struct worker_arg {
    struct lm_pool *pool;
    int id; /* 1 .. n - 1 (the caller is 0) */
    int ok; /* its init hook succeeded (written before `ready`) */
} worker_arg;

/* The caller's measurements for the fallback; only the caller touches
 * them. */
typedef struct pace {
    double serial_until; /* run on the caller alone until this time */
    double backoff;      /* the next serial spell's length */
    double wall, alone;  /* this window: wall seconds, estimate alone */
    int jobs;            /* this window's jobs */
    long serial_spells;  /* spells so far (tests, lm__pool_serial_spells) */
    int off;             /* no judging (tests, lm__pool_window_off) */
    double last_stall;   /* when a job last stalled */
    long lone_stalls;    /* stalls forgiven (tests, lm__pool_lone_stalls) */
} pace;

/* The step comparison (see AB_K); only the caller touches it. */
typedef struct ab {
    double last;                 /* the last mark's time; 0: no step open */
    size_t key;                  /* the key the samples are for */
    size_t open_key;             /* the open step's key; 0: not a step to time */
    int jobs_par, jobs_ser;      /* jobs since the last mark, by how they ran */
    double par[AB_K], ser[AB_K]; /* the newest step times each way (rings) */
    int n_par, n_ser;            /* samples in the rings (at most AB_K counted) */
    int ser_fresh;               /* ser[] came from the spell just ended */
    long force;                  /* steps left to run on the caller alone */
    int probing;                 /* those steps are a probe */
    long until;                  /* parallel steps until the next comparison */
    long interval, spell;
    long probes, losses;         /* tests: lm__pool_ab_probes, _losses */
} ab;

struct lm_pool {
    int n;           /* threads in all, the caller included */
    int n_workers;   /* n - 1 started threads */
    pthread_t *threads;
    worker_arg *args; /* (n_workers) */
    lm_status (*thread_init)(void); /* or NULL */
    void (*thread_fini)(void);      /* or NULL */
    pace pace;
    ab ab;
    home *homes;      /* (n) one per thread, the caller's first */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers sleep here for a new generation */
    pthread_cond_t done_cv; /* the caller sleeps here for the last task */
    atomic_uint gen;        /* bumped once per job (and at shutdown) */
    atomic_uint closed;     /* the last generation whose tasks are all done */
    atomic_int stop;
    /* the current job, written by the caller before gen is bumped */
    void (*fn)(void *ctx, int i);
    void *ctx;
    int ntasks;
    atomic_int done;   /* tasks finished */
    atomic_int active; /* workers registered in the current job */
    atomic_int ready;  /* workers that have started and set their ok */
};

/* The CPUs this process may run on: its affinity mask where the system
 * has one (taskset, a container's cpuset and mpirun's binding narrow
 * it), else the CPUs online. More threads than that would share cores
 * and wait for each other in every job. */
int lm_cpu_count(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void run_task(lm_pool *p, int i)
{
    p->fn(p->ctx, i);
    if (atomic_fetch_add(&p->done, 1) + 1 == p->ntasks) {
        /* under the mutex, so a caller between its check and its wait
         * cannot miss this */
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Thread `self` runs its home tasks, then the others' that are left;
 * returns how many it ran. */
static int take_tasks(lm_pool *p, int self)
{
    int n = p->n, ran = 0;
    for (int k = 0; k < n; k++) {
        int t = self + k < n ? self + k : self + k - n, i;
        while ((i = atomic_fetch_add(&p->homes[t].next, 1) * n + t) < p->ntasks) {
            run_task(p, i);
            ran++;
        }
    }
    return ran;
}

double lm__now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waits until gen differs from seen; returns the new value. */
static unsigned wait_gen(lm_pool *p, unsigned seen)
{
    for (int s = 0; s < SPIN_ITERS; s++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    unsigned g;
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->work_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    lm_pool *p = wa->pool;
    /* the per-thread state now, not in some step: lm_pool_start reports
     * a failure */
    wa->ok = !p->thread_init || p->thread_init() == LM_OK;
    atomic_fetch_add_explicit(&p->ready, 1, memory_order_release);
    unsigned seen = 0;
    for (;;) {
        seen = wait_gen(p, seen);
        if (atomic_load(&p->stop)) break;
        atomic_fetch_add(&p->active, 1);
        /* join only a job that is still current and open (see the top) */
        if (atomic_load(&p->gen) == seen && atomic_load(&p->closed) != seen) take_tasks(p, wa->id);
        atomic_fetch_sub(&p->active, 1);
    }
    if (p->thread_fini) p->thread_fini();
    return NULL;
}

/* Waits until every task of the current job is done. */
static void wait_done(lm_pool *p)
{
    for (int s = 0; s < SPIN_ITERS; s++) {
        if (atomic_load(&p->done) == p->ntasks) return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->done) != p->ntasks) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Waits for registered workers to leave the closed job. They only pass
 * a few instructions there, so spinning (then yielding) is enough. */
static void wait_inactive(lm_pool *p)
{
    for (long s = 0; atomic_load(&p->active) != 0; s++) {
        if (s < SPIN_ITERS) cpu_relax();
        else sched_yield();
    }
}

/* Wakes every worker for the job already written into p. */
static void publish(lm_pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

static void pool_shutdown(lm_pool *p, int started)
{
    atomic_store(&p->stop, 1);
    publish(p);
    for (int i = 0; i < started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p->args);
    free(p->homes);
    free(p);
}

/* calloc through the allocation test hook (kernels.h) */
static void *pool_calloc(size_t n, size_t size)
{
    return lm__alloc_hook(n * size) ? NULL : calloc(n, size);
}

lm_status lm_pool_start(lm_pool **out, int threads, lm_status (*thread_init)(void),
                        void (*thread_fini)(void))
{
    *out = NULL;
    int n = threads > 0 ? threads : lm_cpu_count();
    if (n > 1024) n = 1024;
    lm_pool *p = pool_calloc(1, sizeof *p);
    if (!p) return LM_ENOMEM;
    p->n = n;
    p->thread_init = thread_init;
    p->thread_fini = thread_fini;
    p->pace.backoff = SERIAL_MIN_SEC;
    p->ab.interval = p->ab.until = AB_FIRST;
    p->ab.spell = AB_SPELL_MIN;
    p->threads = pool_calloc((size_t)n, sizeof *p->threads);
    p->args = p->threads ? pool_calloc((size_t)n, sizeof *p->args) : NULL;
    p->homes = p->args ? lm_big_alloc((size_t)n * sizeof *p->homes) : NULL; /* 64-byte aligned */
    if (!p->threads || !p->args || !p->homes) {
        free(p->threads);
        free(p->args);
        free(p->homes);
        free(p);
        return LM_ENOMEM;
    }
    for (int i = 0; i < n; i++) atomic_init(&p->homes[i].next, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->closed, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->ready, 0);
    p->n_workers = n - 1;
    for (int i = 0; i < n - 1; i++) {
        p->args[i] = (worker_arg){p, i + 1, 0};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            pool_shutdown(p, i);
            return LM_ENOMEM;
        }
    }
    /* every worker has its state, or the pool is refused */
    while (atomic_load_explicit(&p->ready, memory_order_acquire) < n - 1) sched_yield();
    int ok = !thread_init || thread_init() == LM_OK; /* the caller is thread 0 */
    for (int i = 0; i < n - 1; i++) ok &= p->args[i].ok;
    if (!ok) {
        pool_shutdown(p, n - 1);
        return LM_ENOMEM;
    }
    *out = p;
    return LM_OK;
}

void lm_pool_free(lm_pool *p)
{
    if (p) pool_shutdown(p, p->n_workers);
}

int lm_pool_size(const lm_pool *p) { return p ? p->n : 1; }

long lm__pool_serial_spells(const lm_pool *p) { return p ? p->pace.serial_spells : 0; }

int lm_pool_width(const lm_pool *p)
{
    if (!p) return 1;
    return p->n > 1 && (p->ab.force > 0 || lm__now_sec() < p->pace.serial_until) ? 1 : p->n;
}

void lm__pool_window_off(lm_pool *p) { p->pace.off = 1; }
long lm__pool_lone_stalls(const lm_pool *p) { return p ? p->pace.lone_stalls : 0; }
long lm__pool_ab_probes(const lm_pool *p) { return p ? p->ab.probes : 0; }
long lm__pool_ab_losses(const lm_pool *p) { return p ? p->ab.losses : 0; }

static void push(double *ring, int *n, double v)
{
    ring[*n % AB_K] = v;
    ++*n;
}

_Static_assert(AB_K == 3, "median() takes three values");
static double median(const double *v)
{
    double a = v[0], b = v[1], c = v[2]; /* AB_K == 3 */
    if (a > b) { double t = a; a = b; b = t; }
    if (b > c) b = c;
    return a > b ? a : b;
}

/* Compares the rings (both full) and sets what comes next. */
static void ab_decide(ab *a)
{
    if (median(a->ser) < AB_MARGIN * median(a->par)) {
        a->losses++;
        a->force = a->spell;
        a->spell = a->spell * 2 < AB_SPELL_MAX ? a->spell * 2 : AB_SPELL_MAX;
        a->until = AB_K; /* after the spell: AB_K parallel steps, then compare */
        a->n_par = a->n_ser = 0;
    } else {
        a->spell = AB_SPELL_MIN;
        a->interval = a->interval * 2 < AB_MAX ? a->interval * 2 : AB_MAX;
        a->until = a->interval;
    }
    a->ser_fresh = 0;
}

void lm__pool_step_at(lm_pool *p, size_t key, double now)
{
    if (!p || p->n_workers == 0) return;
    ab *a = &p->ab;
    /* the step that ends here: a sample if it ran one way only */
    if (a->last > 0 && a->open_key) {
        if (a->open_key != a->key) { /* another kind of step: start over */
            a->key = a->open_key;
            a->n_par = a->n_ser = 0;
            a->ser_fresh = 0;
        }
        double dt = now - a->last;
        if (a->jobs_par && !a->jobs_ser) {
            push(a->par, &a->n_par, dt);
            a->until--;
        } else if (a->jobs_ser && !a->jobs_par) {
            push(a->ser, &a->n_ser, dt);
        }
    }
    /* the next one */
    a->jobs_par = a->jobs_ser = 0;
    a->open_key = key;
    a->last = key ? now : 0;
    if (a->force > 0) {
        if (--a->force > 0) return;
        if (a->probing) { /* the probe is over: compare */
            a->probing = 0;
            if (a->n_par >= AB_K && a->n_ser >= AB_K) ab_decide(a);
            else a->until = a->interval;
        } else {
            a->ser_fresh = a->n_ser >= AB_K; /* the spell is over */
        }
        return;
    }
    if (a->until > 0 || a->n_par < AB_K) return;
    if (a->ser_fresh) {
        ab_decide(a);
    } else { /* a probe: the next AB_K steps on the caller */
        a->probes++;
        a->probing = 1;
        a->force = AB_K;
        a->n_ser = 0;
    }
}

void lm__pool_step(lm_pool *p, size_t key)
{
    if (p && p->n_workers > 0) lm__pool_step_at(p, key, lm__now_sec());
}

static void window_reset(pace *pc)
{
    pc->wall = pc->alone = 0;
    pc->jobs = 0;
}

/* Judges the window that has just filled (see the top). A failed try
 * cost the window's wall time beyond the estimate alone; the spell after
 * it lasts at least LOSS_SPELLS times that, so that on a loaded machine
 * (where a descheduled worker stalls a job for tens of milliseconds) the
 * tries cost at most 1/LOSS_SPELLS of the time. */
static void judge_window(pace *pc, double now)
{
    if (pc->wall > LOSS_RATIO * pc->alone) {
        double spell = pc->backoff, lost = LOSS_SPELLS * (pc->wall - pc->alone);
        if (spell < lost) spell = lost < SERIAL_LONGEST_SEC ? lost : SERIAL_LONGEST_SEC;
        pc->serial_until = now + spell;
        pc->backoff = pc->backoff * 2 < SERIAL_MAX_SEC ? pc->backoff * 2 : SERIAL_MAX_SEC;
        pc->serial_spells++;
    } else {
        pc->backoff = SERIAL_MIN_SEC;
    }
    window_reset(pc);
}

void lm_pool_run(lm_pool *p, int ntasks, void (*fn)(void *ctx, int i), void *ctx)
{
    if (ntasks <= 0) return;
    if (!p || p->n_workers == 0 || ntasks == 1) {
        for (int i = 0; i < ntasks; i++) fn(ctx, i);
        return;
    }
    pace *pc = &p->pace;
    double t0 = lm__now_sec();
    if (p->ab.force > 0 || t0 < pc->serial_until) {
        p->ab.jobs_ser++;
        for (int i = 0; i < ntasks; i++) fn(ctx, i);
        return;
    }
    p->ab.jobs_par++;
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    for (int t = 0; t < p->n; t++) atomic_store(&p->homes[t].next, 0);
    atomic_store(&p->done, 0);
    publish(p);
    double t1 = lm__now_sec();
    int mine = take_tasks(p, 0);
    double t2 = lm__now_sec();
    wait_done(p);
    atomic_store(&p->closed, atomic_load(&p->gen));
    wait_inactive(p);
    double t3 = lm__now_sec();
    /* a job the caller ran no task of says nothing of the time alone */
    if (mine > 0 && !pc->off) {
        pc->wall += t3 - t0;
        pc->alone += (t2 - t1) * ntasks / mine;
        int stalled = pc->wall - pc->alone > STALL_SEC;
        if (stalled && t3 - pc->last_stall > STALL_REPEAT_SEC) {
            /* a stall alone: note it and start the window over */
            pc->last_stall = t3;
            window_reset(pc);
            pc->lone_stalls++;
        } else if (stalled || (++pc->jobs >= WINDOW_JOBS && pc->alone >= WINDOW_SEC)) {
            if (stalled) pc->last_stall = t3;
            judge_window(pc, t3);
        }
    }
}
