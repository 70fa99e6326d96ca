/* test_tsan.c - concurrency: the thread-safety rules of docs/RELIABILITY.md
 * exercised with real threads. A normal test under `make test`; built with
 * -fsanitize=thread by tools/tsan.sh, where ThreadSanitizer also reports
 * any data race the cases run into.
 *
 * Rules checked: concurrent inference on one shared, loaded net through
 * one lm_ws per thread; one lm_net per training thread; a net's own
 * thread pool (lm_net_set_threads) for predict and training. Results are
 * compared bit for bit with a single-threaded run, as kernels.h promises
 * (threads split the output, never a sum). Sizes are chosen so the GEMMs
 * are large enough (M N K >= 2^19) to be split over the pool. */
#include "lamina.h"
#include "harness.h"

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#define N_IN 64
#define HID 64
#define N_OUT 8
#define ROWS 512
#define N_THREADS 4

static float X[ROWS * N_IN];   /* (ROWS, N_IN) */
static int32_t LABELS[ROWS];   /* (ROWS) */
static char dir[64];           /* a private temp folder for model files */

static void make_data(void)
{
    lm_rng r = lm_rng_seed(42);
    for (size_t i = 0; i < (size_t)ROWS * N_IN; i++) X[i] = lm_rng_normal(&r);
    for (int i = 0; i < ROWS; i++) LABELS[i] = (int32_t)lm_rng_below(&r, N_OUT);
}

static lm_net *make_net(uint64_t seed)
{
    lm_net *net = NULL;
    lm_rng r = lm_rng_seed(seed);
    if (lm_net_new(&net, N_IN) != LM_OK) return NULL;
    if (lm_net_add_dense(net, HID, LM_RELU, LM_BIAS) != LM_OK ||
        lm_net_add_dense(net, HID, LM_TANH, LM_BIAS) != LM_OK ||
        lm_net_add_dense(net, N_OUT, LM_SOFTMAX, LM_BIAS) != LM_OK ||
        lm_net_init(net, LM_INIT_XAVIER, &r) != LM_OK) {
        lm_net_free(net);
        return NULL;
    }
    return net;
}

static lm_fit_opts fit_opts(void)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 1e-3f;
    o.epochs = 2;
    o.batch = 256;
    return o;
}

static lm_data data_view(void)
{
    lm_data d = {.n = ROWS, .nx = N_IN, .x = X, .labels = LABELS, .n_classes = N_OUT};
    return d;
}

/* Trains a fresh net with the given thread count; returns it (or NULL). */
static lm_net *train(int threads, uint64_t seed)
{
    lm_net *net = make_net(seed);
    if (!net) return NULL;
    lm_data d = data_view();
    lm_fit_opts o = fit_opts();
    lm_rng r = lm_rng_seed(seed + 1);
    if (lm_net_set_threads(net, threads) != LM_OK || lm_fit(net, &d, &o, &r) != LM_OK) {
        lm_net_free(net);
        return NULL;
    }
    return net;
}

static int same_params(const lm_net *a, const lm_net *b)
{
    return lm_net_n_params(a) == lm_net_n_params(b) &&
           memcmp(lm_net_params_const(a), lm_net_params_const(b),
                  lm_net_n_params(a) * sizeof(float)) == 0;
}

/* ------------------------------------------- one net per training thread */

typedef struct train_job {
    uint64_t seed;
    lm_net *net;
    lm_status st;
    char msg[256];
} train_job;

static void *train_thread(void *arg)
{
    train_job *j = arg;
    j->net = train(1, j->seed);
    j->st = j->net ? LM_OK : LM_EINVAL;
    snprintf(j->msg, sizeof j->msg, "%s", lm_errmsg()); /* the message is per thread */
    return NULL;
}

/* Runs first, so the first kernel calls of the process (run-time variant
 * choice, per-thread scratch) happen in several threads at once. */
static void concurrent_training_separate_nets(void)
{
    train_job jobs[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].seed = (uint64_t)(i % 2) + 1; /* pairs of identical runs */
        CHECK(pthread_create(&th[i], NULL, train_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) CHECKF(jobs[i].st == LM_OK, "thread %d: %s", i, jobs[i].msg);
    lm_net *serial = train(1, 1);
    CHECK(serial != NULL);
    for (int i = 0; i < N_THREADS && serial; i++)
        if (jobs[i].net && jobs[i].seed == 1)
            CHECKF(same_params(jobs[i].net, serial), "thread %d trained other weights than a serial run", i);
    if (jobs[0].net && jobs[1].net) CHECK(!same_params(jobs[0].net, jobs[1].net)); /* seeds differ */
    lm_net_free(serial);
    for (int i = 0; i < N_THREADS; i++) lm_net_free(jobs[i].net);
}

/* ------------------------------------ shared net, one workspace per thread */

typedef struct pred_job {
    const lm_net *net;
    int id;
    float *y; /* (ROWS, N_OUT) */
    lm_status st;
} pred_job;

static void *predict_thread(void *arg)
{
    pred_job *j = arg;
    lm_ws *ws = NULL;
    /* Different workspace sizes and row slices per thread, repeated, so
     * the threads overlap for a while. */
    size_t rows = (size_t)(16 << (j->id % 3));
    j->st = lm_ws_new(&ws, j->net, rows);
    for (int rep = 0; rep < 3 && j->st == LM_OK; rep++) {
        for (size_t r = 0; r < ROWS && j->st == LM_OK; r += 128)
            j->st = lm_net_predict_ws(j->net, ws, X + r * N_IN, 128, j->y + r * N_OUT);
    }
    lm_ws_free(ws);
    return NULL;
}

static void concurrent_predict_shared_net(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/shared.lmn", dir);
    lm_net *trained = train(1, 3);
    CHECK(trained != NULL);
    if (!trained) return;
    CHECK_OK(lm_net_save(trained, path));
    lm_net_free(trained);
    lm_net *net = NULL;
    CHECK_OK(lm_net_load(&net, path));
    if (!net) return;
    static float want[ROWS * N_OUT], got[N_THREADS][ROWS * N_OUT];
    CHECK_OK(lm_net_set_threads(net, 1));
    CHECK_OK(lm_net_predict(net, X, ROWS, want));
    pred_job jobs[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (pred_job){net, i, got[i], LM_OK};
        CHECK(pthread_create(&th[i], NULL, predict_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        CHECKF(jobs[i].st == LM_OK, "thread %d: %s", i, lm_status_name(jobs[i].st));
        CHECKF(memcmp(got[i], want, sizeof want) == 0, "thread %d predicted other values", i);
    }
    lm_net_free(net);
    unlink(path);
}

/* --------------------------------------------- a net's own thread pool */

static void pool_predict_matches_serial(void)
{
    lm_net *net = make_net(5);
    CHECK(net != NULL);
    if (!net) return;
    static float serial[ROWS * N_OUT], pooled[ROWS * N_OUT];
    CHECK_OK(lm_net_set_threads(net, 1));
    CHECK_OK(lm_net_predict(net, X, ROWS, serial));
    CHECK_OK(lm_net_set_threads(net, 2));
    for (int rep = 0; rep < 5; rep++) {
        memset(pooled, 0, sizeof pooled);
        CHECK_OK(lm_net_predict(net, X, ROWS, pooled));
        CHECKF(memcmp(pooled, serial, sizeof serial) == 0, "2 threads predicted other values (rep %d)", rep);
    }
    /* a batch of one row takes the serial path; a ragged last chunk */
    CHECK_OK(lm_net_predict(net, X, 1, pooled));
    CHECK(memcmp(pooled, serial, N_OUT * sizeof(float)) == 0);
    CHECK_OK(lm_net_predict(net, X, 300, pooled));
    CHECK(memcmp(pooled, serial, 300 * N_OUT * sizeof(float)) == 0);
    /* changing the thread count replaces the pool */
    CHECK_OK(lm_net_set_threads(net, 3));
    CHECK_OK(lm_net_predict(net, X, ROWS, pooled));
    CHECK(memcmp(pooled, serial, sizeof serial) == 0);
    lm_net_free(net);
}

static void pool_training_matches_serial(void)
{
    lm_net *one = train(1, 9), *two = train(2, 9);
    CHECK(one != NULL && two != NULL);
    if (one && two) CHECK(same_params(one, two));
    lm_net_free(one);
    lm_net_free(two);
}

/* Two nets, each with its own 2-thread pool, trained in two threads at
 * once: pools must not share state. */
typedef struct pool_job {
    lm_net *net;
} pool_job;

static void *pool_train_thread(void *arg)
{
    pool_job *j = arg;
    j->net = train(2, 11);
    return NULL;
}

static void two_pools_at_once(void)
{
    pool_job a = {NULL}, b = {NULL};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, pool_train_thread, &a) == 0);
    CHECK(pthread_create(&tb, NULL, pool_train_thread, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.net != NULL && b.net != NULL);
    lm_net *serial = train(1, 11);
    CHECK(serial != NULL);
    if (a.net && b.net && serial) {
        CHECK(same_params(a.net, serial));
        CHECK(same_params(b.net, serial));
    }
    lm_net_free(serial);
    lm_net_free(a.net);
    lm_net_free(b.net);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lamina-tsan-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL setup: cannot create a temp folder\n");
        return 1;
    }
    make_data();
    RUN(concurrent_training_separate_nets);
    RUN(concurrent_predict_shared_net);
    RUN(pool_predict_matches_serial);
    RUN(pool_training_matches_serial);
    RUN(two_pools_at_once);
    rmdir(dir);
    TEST_MAIN_END();
}
