/* caller_1_0.c - a program as built against lamina.h 1.0.0, run against
 * the library being tested (tests/test_abi.sh links it to liblamina.so).
 * It does not include lamina.h: the option structs below are a frozen
 * copy of their 1.0.0 layout. Later libraries append fields to them; this
 * program must keep working, the library touching nothing past the
 * struct it knows (each sits against an inaccessible page) and giving
 * the new fields their defaults. Never edit the layouts here. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct lm_net lm_net;
typedef struct lm_rng { uint64_t s[4]; } lm_rng;

typedef struct lm_optim_opts_1_0 {
    int kind;
    float lr, momentum;
    int nesterov;
    float beta1, beta2, eps, weight_decay, clip_norm;
} lm_optim_opts_1_0;

typedef struct lm_epoch_info lm_epoch_info;
typedef struct lm_fit_opts_1_0 {
    size_t size;
    int loss;
    union {
        lm_optim_opts_1_0 optim;
        uint64_t optim_room_[16];
    };
    int lr_schedule;
    float lr_min;
    int lr_step;
    float lr_gamma;
    int epochs;
    size_t batch;
    int shuffle;
    const void *val;
    int early_stop;
    int (*on_epoch)(const lm_epoch_info *, void *);
    int (*on_batch)(const void *, void *);
    void *ctx;
} lm_fit_opts_1_0;

typedef struct lm_csv_opts_1_0 {
    size_t size;
    int header;
    char sep;
    const char *target;
    int target_kind, no_target;
} lm_csv_opts_1_0;

typedef struct lm_data_1_0 {
    size_t n;
    int nx, x_type;
    const void *x;
    const int32_t *labels;
    int n_classes;
    const float *y;
    int ny;
    char **class_names, **feature_names;
    void *owned_;
} lm_data_1_0;

int lm_net_new(lm_net **out, int n_in);
int lm_net_add_dense(lm_net *net, int n_out, int act, int flags);
int lm_net_init(lm_net *net, int init, lm_rng *rng);
void lm_net_free(lm_net *net);
lm_rng lm_rng_seed(uint64_t seed);
int lm_fit_opts_init(lm_fit_opts_1_0 *o, size_t size);
int lm_fit(lm_net *net, const lm_data_1_0 *d, const lm_fit_opts_1_0 *o, lm_rng *rng);
int lm_csv_opts_init(lm_csv_opts_1_0 *o, size_t size);
int lm_csv_read(lm_data_1_0 *out, const char *path, const lm_csv_opts_1_0 *o);
void lm_data_free(lm_data_1_0 *d);
const char *lm_errmsg(void);

/* n bytes ending where an inaccessible page begins. */
static void *guarded(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + page, page, PROT_NONE)) exit(10);
    return m + page - n;
}

static int epochs;
static int on_epoch(const lm_epoch_info *info, void *ctx)
{
    (void)info;
    epochs += ctx == (void *)&epochs;
    return 0;
}

int main(int argc, char **argv)
{
    static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    lm_fit_opts_1_0 *o = guarded(sizeof *o);
    if (lm_fit_opts_init(o, sizeof *o)) return printf("init: %s\n", lm_errmsg()), 1;
    if (o->size != sizeof *o || o->epochs != 10 || o->batch != 32 || o->optim.lr != 0.01f)
        return printf("init: wrong defaults\n"), 1;
    o->loss = 1; /* LM_LOSS_MSE */
    o->optim.lr = 0.5f;
    o->epochs = 3;
    o->batch = 4;
    o->on_epoch = on_epoch;
    o->ctx = &epochs;
    lm_net *net;
    lm_rng rng = lm_rng_seed(2);
    /* 2 -> 4 tanh -> 1 sigmoid, Xavier (enum values of 1.0.0) */
    if (lm_net_new(&net, 2) || lm_net_add_dense(net, 4, 2, 0) || lm_net_add_dense(net, 1, 1, 0) ||
        lm_net_init(net, 1, &rng))
        return printf("net: %s\n", lm_errmsg()), 1;
    lm_data_1_0 d = {.n = 4, .nx = 2, .x = x, .y = y, .ny = 1};
    if (lm_fit(net, &d, o, &rng)) return printf("fit: %s\n", lm_errmsg()), 1;
    if (epochs != 3) return printf("fit: %d epochs reported, wanted 3\n", epochs), 1;
    lm_net_free(net);

    if (argc > 1) { /* a CSV with a header and a class target */
        lm_csv_opts_1_0 *c = guarded(sizeof *c);
        if (lm_csv_opts_init(c, sizeof *c)) return printf("csv init: %s\n", lm_errmsg()), 1;
        lm_data_1_0 cd;
        if (lm_csv_read(&cd, argv[1], c)) return printf("csv: %s\n", lm_errmsg()), 1;
        if (cd.n != 3 || cd.nx != 1 || !cd.labels || cd.n_classes != 2)
            return printf("csv: read %zu rows of %d\n", cd.n, cd.nx), 1;
        lm_data_free(&cd);
    }
    printf("ok\n");
    return 0;
}
