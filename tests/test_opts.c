/* test_opts.c - the option-struct growth rule (docs/API.md): the library
 * reads and writes only the first o->size bytes of a caller's lm_fit_opts
 * or lm_csv_opts, and the fields past them take this library's defaults.
 * A caller built against an older lamina.h has a shorter struct; here one
 * is made by giving a shorter size, and placed against a protected page
 * so that touching a byte past it crashes. tests/test_abi.sh runs a
 * caller built with a copy of the 1.0.0 layouts against the .so. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "harness.h"
#include "lamina.h"

#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

static const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[4] = {0, 1, 1, 0};

/* n bytes that end where an inaccessible page begins. */
typedef struct guarded {
    unsigned char *map;
    size_t len;
    void *p;
} guarded;

static guarded guard(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    guarded g = {NULL, 2 * page, NULL};
    void *m = mmap(NULL, g.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect((unsigned char *)m + page, page, PROT_NONE)) {
        printf("FAIL setup: cannot map a guard page\n");
        exit(1);
    }
    g.map = m;
    g.p = g.map + page - n;
    return g;
}

static void unguard(guarded *g) { munmap(g->map, g->len); }

static lm_net *xor_net(void)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(5);
    CHECK_OK(lm_net_new(&net, 2));
    CHECK_OK(lm_net_add_dense(net, 4, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_dense(net, 1, LM_SIGMOID, LM_BIAS));
    CHECK_OK(lm_net_init(net, LM_INIT_XAVIER, &rng));
    return net;
}

static const lm_data XOR = {.n = 4, .nx = 2, .x = X, .y = Y, .ny = 1};

static int epochs_seen;
static int count_epochs(const lm_epoch_info *info, void *ctx)
{
    (void)info;
    (void)ctx;
    epochs_seen++;
    return 0;
}

static void defaults_carry_size(void)
{
    lm_fit_opts f = lm_fit_defaults();
    CHECK(f.size == sizeof f);
    CHECK(f.epochs == 10 && f.batch == 32 && f.shuffle == 1 && f.loss == LM_LOSS_MSE);
    CHECK(f.optim.kind == LM_SGD && f.optim.lr == 0.01f && f.optim.beta2 == 0.999f);
    lm_csv_opts c = lm_csv_defaults();
    CHECK(c.size == sizeof c && c.header == -1 && c.target_kind == -1 && !c.target);
    /* the optimizer's room fixes where the fields after it sit */
    CHECK(offsetof(lm_fit_opts, lr_schedule) - offsetof(lm_fit_opts, optim) >= LM_OPTIM_ROOM);
    CHECK(sizeof(lm_optim_opts) <= LM_OPTIM_ROOM);
}

/* An older caller's struct ends before early_stop: init writes only what
 * it has, and fit reads only that (both would crash on the guard). */
static void fit_within_size(void)
{
    size_t old = offsetof(lm_fit_opts, early_stop);
    guarded g = guard(old);
    lm_fit_opts *o = g.p;
    CHECK_OK(lm_fit_opts_init(o, old));
    CHECK(o->size == old && o->epochs == 10 && o->batch == 32 && o->optim.lr == 0.01f);
    o->epochs = 3;
    o->batch = 4;
    lm_net *net = xor_net();
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_fit(net, &XOR, o, &rng));
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, o, &rng));
    lm_train_free(t);
    lm_net_free(net);
    unguard(&g);
}

/* Fields past size are not the caller's: they take the defaults even when
 * the memory there holds something else. */
static void fields_past_size_take_defaults(void)
{
    lm_fit_opts o = lm_fit_defaults();
    o.epochs = 3;
    o.batch = 4;
    o.on_epoch = count_epochs; /* past size below: must not be called */
    o.early_stop = -1;          /* past size: would be LM_EINVAL if read */
    o.size = offsetof(lm_fit_opts, early_stop);
    lm_net *net = xor_net();
    lm_rng rng = lm_rng_seed(1);
    epochs_seen = 0;
    CHECK_OK(lm_fit(net, &XOR, &o, &rng));
    CHECK(epochs_seen == 0);
    o.size = sizeof o; /* now they are the caller's */
    CHECK(lm_fit(net, &XOR, &o, &rng) == LM_EINVAL);
    o.early_stop = 0;
    CHECK_OK(lm_fit(net, &XOR, &o, &rng));
    CHECK(epochs_seen == 3);
    lm_net_free(net);
}

/* A caller built against a newer header: its extra tail is ignored, and
 * init zeroes it. */
static void newer_caller_tail_ignored(void)
{
    size_t big = sizeof(lm_fit_opts) + 64;
    guarded g = guard(big);
    memset(g.p, 0x5A, big);
    lm_fit_opts *o = g.p;
    CHECK_OK(lm_fit_opts_init(o, big));
    CHECK(o->size == big && o->epochs == 10);
    const unsigned char *tail = (const unsigned char *)g.p + sizeof(lm_fit_opts);
    int zero = 1;
    for (int i = 0; i < 64; i++) zero &= tail[i] == 0;
    CHECK(zero);
    memset((unsigned char *)g.p + sizeof(lm_fit_opts), 0xA5, 64);
    o->epochs = 2;
    o->batch = 4;
    lm_net *net = xor_net();
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_fit(net, &XOR, o, &rng));
    lm_net_free(net);
    unguard(&g);
}

/* A struct that never went through lm_fit_defaults() is refused, with a
 * message that says what to do. */
static void unset_size_refused(void)
{
    lm_fit_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.batch = 4;
    o.optim.lr = 0.1f;
    lm_net *net = xor_net();
    lm_rng rng = lm_rng_seed(1);
    CHECK(lm_fit(net, &XOR, &o, &rng) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "lm_fit_defaults"), "message: %s", lm_errmsg());
    lm_train *t = NULL;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL && !t);
    CHECK(lm_fit_opts_init(&o, 8) == LM_EINVAL);
    // a garbage size too large is refused naming the range, not "at least"
    CHECK(lm_fit_opts_init(&o, 100000) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "size 100000") && strstr(lm_errmsg(), "to 65536"), "message: %s",
           lm_errmsg());
    CHECK(lm_fit_opts_init(NULL, sizeof o) == LM_EINVAL);
    lm_csv_opts c;
    memset(&c, 0, sizeof c);
    lm_data d;
    CHECK(lm_csv_read(&d, "/nonexistent.csv", &c) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "lm_csv_defaults"), "message: %s", lm_errmsg());
    CHECK(lm_csv_opts_init(&c, 4) == LM_EINVAL);
    lm_net_free(net);
}

/* lm_csv_opts follows the same rule: no_target past size is the default. */
static void csv_within_size(void)
{
    char path[] = "/tmp/lamina_opts_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char text[] = "a,b\n1,0\n2,1\n3,0\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    lm_csv_opts o = lm_csv_defaults();
    o.no_target = 1;
    lm_data d;
    CHECK_OK(lm_csv_read(&d, path, &o));
    CHECK(d.nx == 2 && !d.labels); /* the field works when it is the caller's */
    lm_data_free(&d);
    o.size = offsetof(lm_csv_opts, no_target);
    CHECK_OK(lm_csv_read(&d, path, &o));
    CHECKF(d.nx == 1 && (d.labels || d.y), "nx %d labels %p y %p", d.nx, (void *)d.labels, (void *)d.y);
    lm_data_free(&d);
    size_t old = offsetof(lm_csv_opts, no_target);
    guarded g = guard(old);
    CHECK_OK(lm_csv_opts_init(g.p, old));
    CHECK_OK(lm_csv_read(&d, path, g.p));
    CHECK(d.nx == 1 && d.n == 3);
    lm_data_free(&d);
    unguard(&g);
    CHECK_OK(lm_csv_read(&d, path, NULL));
    CHECK(d.nx == 1 && d.n == 3);
    lm_data_free(&d);
    unlink(path);
}

int main(void)
{
    RUN(defaults_carry_size);
    RUN(fit_within_size);
    RUN(fields_past_size_take_defaults);
    RUN(newer_caller_tail_ignored);
    RUN(unset_size_refused);
    RUN(csv_within_size);
    TEST_MAIN_END();
}
