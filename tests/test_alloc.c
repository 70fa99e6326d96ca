/* test_alloc.c - memory stays bounded by what the caller allowed, and
 * running out of it is reported:
 *  - no allocation in an epoch: counted through the library's allocation
 *    hook (lm__alloc and friends, the pool, the GEMM buffers, the big
 *    buffers) and, outside sanitizer builds, by this program's own malloc
 *    over everything (libc included), over epochs 1, 2 and 3 of a run;
 *  - every allocation of the load, build and setup paths made to fail in
 *    turn: each call returns LM_ENOMEM, changes nothing it should not, and
 *    leaks nothing (LeakSanitizer, in `make SAN=1 test`);
 *  - loading a 1024-layer model allocates in proportion to the file;
 *  - predict sizes its workspace by the rows it is given;
 *  - a file without an IDX header is refused before any allocation. */
#include "harness.h"

#include "internal.h" /* the allocation hook: tests link the static library */
#include <lamina.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

/* Sanitizers bring their own malloc: no interposition under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TH_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define TH_SANITIZER 1
#endif
#endif

/* ------------------------------------------- malloc interposition */

/* Every malloc of the process while counting is on (libc's own, the
 * thread library's, the library's): what does not go through the hook
 * shows here. Sanitizers bring their own malloc, so there only the hook
 * counts. */
static atomic_long libc_allocs;
#ifndef TH_SANITIZER
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
static inline void counted(void) { atomic_fetch_add_explicit(&libc_allocs, 1, memory_order_relaxed); }
void *malloc(size_t n) { counted(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { counted(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { counted(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *aligned_alloc(size_t al, size_t n) { counted(); return __libc_memalign(al, n); }
void *memalign(size_t al, size_t n) { counted(); return __libc_memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n)
{
    counted();
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
#endif

/* Whether this program's malloc is the one in use (valgrind, for one,
 * puts its own in place of it). */
static int interposed(void)
{
    static int known = -1;
    if (known < 0) {
        atomic_store(&libc_allocs, 0);
        void *volatile p = malloc(16);
        free(p);
        known = atomic_load(&libc_allocs) > 0;
    }
    return known;
}

typedef struct counts {
    uint64_t hook, bytes;
    long libc;
} counts;

static void count_start(void)
{
    lm__alloc_hook_reset(0);
    atomic_store(&libc_allocs, 0);
}

static counts count_read(void)
{
    return (counts){lm__alloc_hook_count(), lm__alloc_hook_bytes(), atomic_load(&libc_allocs)};
}

/* ---------------------------------------------------------- fixtures */

static char tmpdir[64], model_path[128], model2_path[128], ckpt_path[128], idx_path[128], csv_path[128];

enum { NX = 24, NOUT = 3, NROWS = 200, NVAL = 40 };
static float X[NROWS * NX];
static int32_t L[NROWS];

/* A net wide enough for the GEMM path (the packing buffers), with a
 * normalisation, names and metadata, on `threads` threads. */
static lm_net *make_net(int threads)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(9);
    if (lm_net_new(&net, NX)) return NULL;
    lm_net_add_dense(net, 128, LM_RELU, LM_BIAS); /* batch x 24 x 128: a GEMM on both threads */
    lm_net_add_dense(net, NOUT, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    float mean[NX], scale[NX];
    for (int i = 0; i < NX; i++) mean[i] = 0.1f * (float)i, scale[i] = 1.0f + (float)i;
    lm_net_set_norm(net, mean, scale);
    const char *names[NOUT] = {"a", "b", "c"};
    lm_net_set_class_names(net, NOUT, names);
    lm_net_set_meta(net, "k", "v");
    lm_net_set_threads(net, threads);
    return net;
}

static lm_fit_opts fit_opts(int epochs)
{
    static lm_data val;
    val = (lm_data){.n = NVAL, .nx = NX, .x = X, .labels = L, .n_classes = NOUT};
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.01f;
    o.batch = 64;
    o.epochs = epochs;
    o.val = &val;
    return o;
}

static lm_data train_set(void)
{
    return (lm_data){.n = NROWS, .nx = NX, .x = X, .labels = L, .n_classes = NOUT};
}

static void make_fixtures(void)
{
    lm_rng rng = lm_rng_seed(2);
    for (int i = 0; i < NROWS * NX; i++) X[i] = lm_rng_normal(&rng);
    for (int i = 0; i < NROWS; i++) L[i] = (int32_t)lm_rng_below(&rng, NOUT);
    lm_net *net = make_net(1);
    lm_net_save(net, model_path);
    lm_fit_opts o = fit_opts(1);
    lm_train *t = NULL;
    lm_train_new(&t, net, &o, &rng);
    lm_data d = train_set();
    lm_train_epoch(t, &d, NULL);
    /* a checkpoint with a target standardisation too, so a resume has
     * two things to restore that allocate */
    float tmean[NOUT] = {1, 2, 3}, tstd[NOUT] = {4, 5, 6};
    lm_net_set_target_norm(net, tmean, tstd);
    lm_train_save(t, ckpt_path);
    lm_train_free(t);
    lm_net_free(net);
    /* 6 images of 2 x 2 u8 and their labels, as one IDX file */
    unsigned char idx[16 + 24] = {0, 0, 0x08, 3, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 24; i++) idx[16 + i] = (unsigned char)(i * 10);
    FILE *f = fopen(idx_path, "wb");
    if (f) {
        fwrite(idx, 1, sizeof idx, f);
        fclose(f);
    }
    f = fopen(csv_path, "w");
    if (f) {
        fputs("x1,x2,y\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n", f);
        fclose(f);
    }
}

/* ------------------------------------------- no allocation per epoch */

/* Allocations of lm_fit for `epochs` epochs on a fresh net whose thread
 * pool has already started (a predict starts it), so that the counts
 * hold the trainer's setup and the epochs only. */
static counts fit_counts(int epochs, lm_status *st)
{
    lm_net *net = make_net(2);
    float y[2 * NOUT];
    lm_net_predict(net, X, 2, y);
    lm_fit_opts o = fit_opts(epochs);
    lm_data d = train_set();
    lm_rng rng = lm_rng_seed(1);
    count_start();
    *st = lm_fit(net, &d, &o, &rng);
    counts c = count_read();
    lm_net_free(net);
    return c;
}

static void no_allocation_in_an_epoch(void)
{
    lm_status st;
    fit_counts(1, &st); /* warm-up: this thread's GEMM buffers, libc's first-use state */
    counts a1 = fit_counts(1, &st), a2 = fit_counts(2, &st), a3 = fit_counts(3, &st);
    CHECK_OK(st);
    CHECKF(a2.hook == a1.hook && a3.hook == a1.hook,
           "library allocations with 1, 2, 3 epochs: %llu, %llu, %llu", (unsigned long long)a1.hook,
           (unsigned long long)a2.hook, (unsigned long long)a3.hook);
    CHECKF(!interposed() || (a2.libc == a1.libc && a3.libc == a1.libc), "mallocs with 1, 2, 3 epochs: %ld, %ld, %ld",
           a1.libc, a2.libc, a3.libc);

    /* The first epoch too: lm_fit's allocations are the trainer's setup
     * and the row order (sized by the data, before the first epoch). */
    lm_net *net = make_net(2);
    float y[2 * NOUT];
    lm_net_predict(net, X, 2, y);
    lm_fit_opts o = fit_opts(1);
    lm_rng rng = lm_rng_seed(1);
    lm_train *t = NULL;
    count_start();
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_train_free(t);
    counts setup = count_read();
    lm_net_free(net);
    if (getenv("TH_VERBOSE"))
        fprintf(stderr, "fit: %llu/%ld %llu/%ld %llu/%ld setup %llu/%ld\n", (unsigned long long)a1.hook, a1.libc,
                (unsigned long long)a2.hook, a2.libc, (unsigned long long)a3.hook, a3.libc,
                (unsigned long long)setup.hook, setup.libc);
    CHECKF(a1.hook == setup.hook + 1, "lm_fit made %llu allocations, its setup %llu + 1 row order",
           (unsigned long long)a1.hook, (unsigned long long)setup.hook);
    CHECKF(!interposed() || a1.libc == setup.libc + 1, "lm_fit made %ld mallocs, its setup %ld + 1 row order",
           a1.libc, setup.libc);

    /* Through lm_train_epoch without shuffling (no row order): none in
     * epoch 1 or 2, each batch stepping on two threads. */
    net = make_net(2);
    o.shuffle = 0;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_data d = train_set();
    count_start();
    CHECK_OK(lm_train_epoch(t, &d, NULL));
    counts e1 = count_read();
    count_start();
    lm_epoch_info info;
    CHECK_OK(lm_train_epoch(t, &d, &info));
    counts e2 = count_read();
    CHECKF(e1.hook == 0 && e2.hook == 0 && e1.libc == 0 && e2.libc == 0,
           "epochs 1 and 2 allocated %llu and %llu times (mallocs %ld, %ld)", (unsigned long long)e1.hook,
           (unsigned long long)e2.hook, e1.libc, e2.libc);
    lm_train_free(t);
    lm_net_free(net);
}

/* ------------------------------------------------ failure injection */

static lm_net *g_net, *g_out;
static lm_train *g_t;
static lm_ws *g_ws;
static lm_data g_a, g_b;
static float *g_p0;
static unsigned char *g_buf;
static size_t g_len;

static lm_status run_build(void)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(1);
    lm_status st = lm_net_new(&net, NX);
    if (!st) st = lm_net_add_dense(net, 40, LM_RELU, LM_BIAS);
    if (!st) st = lm_net_add_dense(net, 30, LM_TANH, LM_NO_BIAS);
    if (!st) st = lm_net_add_dense(net, NOUT, LM_SOFTMAX, LM_BIAS);
    if (!st) st = lm_net_init(net, LM_INIT_XAVIER, &rng);
    float mean[NX] = {0}, scale[NX] = {1};
    for (int i = 0; i < NX; i++) scale[i] = 2.0f;
    if (!st) st = lm_net_set_norm(net, mean, scale);
    const char *names[NOUT] = {"x", "y", "z"};
    if (!st) st = lm_net_set_class_names(net, NOUT, names);
    if (!st) st = lm_net_set_meta(net, "data", "d.csv");
    if (!st) st = lm_net_set_meta(net, "more", "yes");
    if (!st) st = lm_net_set_meta(net, "data", "e.csv");
    lm_net_free(net);
    return st;
}

static void setup_net(void) { g_net = make_net(1); }
static void setup_net2(void) { g_net = make_net(2); }
static void teardown(void)
{
    lm_ws_free(g_ws);
    lm_train_free(g_t);
    lm_net_free(g_out);
    lm_net_free(g_net);
    lm_data_free(&g_a);
    lm_data_free(&g_b);
    free(g_p0);
    g_ws = NULL, g_t = NULL, g_out = g_net = NULL, g_p0 = NULL;
}

static lm_status run_clone(void) { return lm_net_clone(&g_out, g_net); }
static lm_status run_save(void) { return lm_net_save(g_net, model_path); }
static lm_status run_load(void) { return lm_net_load(&g_out, model_path); }
static lm_status run_load_mem(void) { return lm_net_load_mem(&g_out, g_buf, g_len); }
static lm_status run_ws_new(void) { return lm_ws_new(&g_ws, g_net, 64); }
static lm_status run_predict(void)
{
    float y[50 * NOUT];
    return lm_net_predict(g_net, X, 50, y);
}
static lm_status run_evaluate(void)
{
    lm_data d = train_set();
    float loss;
    return lm_evaluate(g_net, &d, LM_LOSS_CE, &loss, NULL);
}
static lm_status run_train_new(void)
{
    lm_fit_opts o = fit_opts(1);
    lm_rng rng = lm_rng_seed(1);
    lm_status st = lm_train_new(&g_t, g_net, &o, &rng);
    if (st) /* nothing is left holding the net */
        CHECKF(!g_t && lm_net_add_dense(g_net, NOUT, LM_SOFTMAX, LM_BIAS) == LM_OK,
               "a failed lm_train_new left the net frozen");
    return st;
}
static lm_status run_fit(void)
{
    lm_fit_opts o = fit_opts(2);
    o.early_stop = 1;
    lm_data d = train_set();
    lm_rng rng = lm_rng_seed(1);
    return lm_fit(g_net, &d, &o, &rng);
}
static lm_status run_epoch(void)
{
    lm_data d = train_set();
    return lm_train_epoch(g_t, &d, NULL);
}
static void setup_trainer(void)
{
    setup_net();
    run_train_new();
    size_t n = lm_net_n_params(g_net);
    g_p0 = malloc(n * sizeof(float));
    memcpy(g_p0, lm_net_params(g_net), n * sizeof(float));
    lm_net_set_norm(g_net, NULL, NULL); /* the checkpoint's comes back with it */
}
/* (not over ckpt_path: the resume below reads the fixture's checkpoint,
 * whose net has a normalisation and a target standardisation to restore) */
static lm_status run_train_save(void) { return lm_train_save(g_t, model2_path); }
static lm_status run_resume(void)
{
    lm_status st = lm_train_resume(g_t, ckpt_path);
    if (st) /* a failed resume leaves the run as it was */
        CHECKF(lm_train_steps(g_t) == 0 && !lm_net_get_norm(g_net, NULL, NULL) &&
                   !lm_net_get_target_norm(g_net, NULL, NULL) &&
                   memcmp(g_p0, lm_net_params(g_net), lm_net_n_params(g_net) * sizeof(float)) == 0,
               "a resume that ran out of memory changed the run");
    return st;
}
static lm_status run_set_norm(void)
{
    float mean[NX], scale[NX], m[NX];
    for (int i = 0; i < NX; i++) mean[i] = 7, scale[i] = 3;
    lm_status st = lm_net_set_norm(g_net, mean, scale);
    if (st) CHECKF(lm_net_get_norm(g_net, m, NULL) && m[1] == 0.1f, "a failed set_norm dropped the old one");
    return st;
}
static lm_status run_split(void)
{
    lm_data d = train_set();
    lm_rng rng = lm_rng_seed(3);
    return lm_data_split(&d, 0.25f, &rng, &g_a, &g_b);
}
static lm_status run_norm_stats(void)
{
    lm_data d = train_set();
    float m[NX], s[NX];
    return lm_data_norm_stats(&d, m, s);
}
static lm_status run_idx(void) { return lm_idx_read(&g_a, idx_path, NULL); }
static lm_status run_csv(void) { return lm_csv_read(&g_a, csv_path, NULL); }

typedef struct op {
    const char *name;
    void (*setup)(void);
    lm_status (*run)(void);
} op;

/* Makes allocation k = 1, 2, ... of o's call fail until it makes fewer
 * than k: each failure must come back as LM_ENOMEM. */
static void fail_each(const op *o)
{
    for (uint64_t k = 1; k < 100000; k++) {
        if (o->setup) o->setup();
        lm__alloc_hook_reset(k);
        lm_status st = o->run();
        uint64_t made = lm__alloc_hook_count();
        lm__alloc_hook_reset(0);
        const char *msg = lm_errmsg();
        CHECKF(made < k ? st == LM_OK : st == LM_ENOMEM, "%s with allocation %llu of %llu failing: %s: %s",
               o->name, (unsigned long long)k, (unsigned long long)made, lm_status_name(st), msg);
        teardown();
        if (getenv("TH_VERBOSE") && made < k) fprintf(stderr, "%s: %llu allocations\n", o->name, (unsigned long long)made);
        if (made < k || th_case_failed) {
            CHECKF(k > 1, "%s allocated nothing", o->name);
            return;
        }
    }
}

static void every_setup_allocation_can_fail(void)
{
    g_buf = NULL;
    FILE *f = fopen(model_path, "rb");
    if (f) {
        g_buf = malloc(1 << 20);
        g_len = fread(g_buf, 1, 1 << 20, f);
        fclose(f);
    }
    const op ops[] = {
        {"build", NULL, run_build},
        {"lm_net_clone", setup_net, run_clone},
        {"lm_net_save", setup_net, run_save},
        {"lm_net_load", NULL, run_load},
        {"lm_net_load_mem", NULL, run_load_mem},
        {"lm_ws_new", setup_net, run_ws_new},
        {"lm_net_predict", setup_net2, run_predict},
        {"lm_evaluate", setup_net, run_evaluate},
        {"lm_train_new", setup_net2, run_train_new},
        {"lm_fit", setup_net2, run_fit},
        {"lm_train_epoch", setup_trainer, run_epoch},
        {"lm_train_save", setup_trainer, run_train_save},
        {"lm_train_resume", setup_trainer, run_resume},
        {"lm_net_set_norm", setup_net, run_set_norm},
        {"lm_data_split", NULL, run_split},
        {"lm_data_norm_stats", NULL, run_norm_stats},
        {"lm_idx_read", NULL, run_idx},
        {"lm_csv_read", NULL, run_csv},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !th_case_failed; i++) fail_each(&ops[i]);
    free(g_buf);
}

/* ---------------------------------------------------- linear loading */

static void deep_model_loads_in_linear_space(void)
{
    /* 1024 layers of 8: 73,728 parameters, a file of about 300 KB */
    lm_net *net = NULL;
    CHECK_OK(lm_net_new(&net, 8));
    for (int l = 0; l < 1024; l++) lm_net_add_dense(net, 8, LM_TANH, LM_BIAS);
    lm_rng rng = lm_rng_seed(5);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    char path[160];
    snprintf(path, sizeof path, "%s/deep.lmn", tmpdir);
    CHECK_OK(lm_net_save(net, path));
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);
    size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    lm_net *back = NULL;
    count_start();
    CHECK_OK(lm_net_load_mem(&back, buf, len));
    counts c = count_read();
    /* the parameters and gradients (twice the file) and the layer list,
     * each allocated once; layer by layer it was a copy per layer, 300 MB */
    CHECKF(c.hook <= 4 && c.bytes <= 3 * (uint64_t)len + 65536,
           "loading a %zu-byte file of 1024 layers made %llu allocations of %llu bytes", len,
           (unsigned long long)c.hook, (unsigned long long)c.bytes);
    CHECK(back && lm_net_n_params(back) == lm_net_n_params(net) &&
          memcmp(lm_net_params(back), lm_net_params(net), lm_net_n_params(net) * sizeof(float)) == 0);
    lm_net *copy = NULL;
    count_start();
    CHECK_OK(lm_net_clone(&copy, net));
    c = count_read();
    CHECKF(c.bytes <= 3 * (uint64_t)len + 65536, "cloning it allocated %llu bytes", (unsigned long long)c.bytes);
    free(buf);
    lm_net_free(copy);
    lm_net_free(back);
    lm_net_free(net);
}

/* ------------------------------------------------ bounded workspaces */

static void predict_workspace_sized_by_rows(void)
{
    /* 16384 inputs: 256 rows of workspace would be 50 MB, over the limit
     * set here, for a net whose parameters take 64 KB */
    enum { WIDE = 16384, ROWS = 300 };
    lm_net *net = NULL;
    lm_net_new(&net, WIDE);
    lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS);
    lm_rng rng = lm_rng_seed(6);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_net_set_threads(net, 1);
    float *x = malloc((size_t)ROWS * WIDE * sizeof(float)), y[ROWS], y1;
    for (size_t i = 0; i < (size_t)ROWS * WIDE; i++) x[i] = (float)(i % 7) * 0.01f;
    uint64_t old = lm_alloc_limit();
    lm_set_alloc_limit((uint64_t)16 << 20);
    count_start();
    lm_status st = lm_net_predict(net, x, ROWS, y);
    counts c = count_read();
    CHECKF(st == LM_OK, "predict of %d rows under a 16 MiB limit: %s: %s", ROWS, lm_status_name(st), lm_errmsg());
    CHECKF(c.bytes <= (uint64_t)10 << 20, "predict allocated %llu bytes", (unsigned long long)c.bytes);
    int32_t lab[ROWS] = {0};
    lm_data d = {.n = ROWS, .nx = WIDE, .x = x, .labels = lab, .n_classes = 2};
    float loss;
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_BCE, &loss, NULL));
    lm_set_alloc_limit(old);
    /* the rows came out as one row at a time gives them */
    lm_net *one = NULL;
    lm_net_clone(&one, net);
    CHECK_OK(lm_net_predict(one, x + (size_t)(ROWS - 1) * WIDE, 1, &y1));
    CHECK(y1 == y[ROWS - 1]);
    /* a single row allocates a single row */
    lm_net *fresh = NULL;
    lm_net_clone(&fresh, net);
    count_start();
    CHECK_OK(lm_net_predict(fresh, x, 1, &y1));
    c = count_read();
    CHECKF(c.bytes <= (uint64_t)(WIDE * 4 * 4 + 4096), "one row took %llu bytes", (unsigned long long)c.bytes);
    free(x);
    lm_net_free(fresh);
    lm_net_free(one);
    lm_net_free(net);
}

/* ----------------------------------------------------- IDX headers */

static void no_idx_header_refused_at_once(void)
{
    lm_data d;
    count_start();
    lm_status st = lm_idx_read(&d, "/dev/zero", NULL);
    counts c = count_read();
    CHECKF(st == LM_EFORMAT && strstr(lm_errmsg(), "not an IDX file") && c.bytes < 4096,
           "/dev/zero -> %s: %s, %llu bytes", lm_status_name(st), lm_errmsg(), (unsigned long long)c.bytes);
    CHECK(lm_idx_read(&d, idx_path, "/dev/zero") == LM_EFORMAT);
    /* the same zeros behind gzip */
    char gz[160];
    snprintf(gz, sizeof gz, "%s/zeros.gz", tmpdir);
    gzFile g = gzopen(gz, "wb1");
    static unsigned char zeros[1 << 16];
    for (int i = 0; g && i < 64; i++) gzwrite(g, zeros, sizeof zeros);
    if (g) gzclose(g);
    count_start();
    st = lm_idx_read(&d, gz, NULL);
    c = count_read();
    CHECKF(st == LM_EFORMAT && c.bytes < 4096, "zeros.gz -> %s: %s, %llu bytes", lm_status_name(st),
           lm_errmsg(), (unsigned long long)c.bytes);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lm_alloc_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(model_path, sizeof model_path, "%s/m.lmn", tmpdir);
    snprintf(ckpt_path, sizeof ckpt_path, "%s/c.lmn", tmpdir);
    snprintf(model2_path, sizeof model2_path, "%s/m2.lmn", tmpdir);
    snprintf(idx_path, sizeof idx_path, "%s/i.idx", tmpdir);
    snprintf(csv_path, sizeof csv_path, "%s/d.csv", tmpdir);
    make_fixtures();
    RUN(no_allocation_in_an_epoch);
    RUN(every_setup_allocation_can_fail);
    RUN(deep_model_loads_in_linear_space);
    RUN(predict_workspace_sized_by_rows);
    RUN(no_idx_header_refused_at_once);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
