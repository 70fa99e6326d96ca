/* test_plateau.c - the reduce-on-plateau schedule and the warmup:
 *  - lamina's plateau logic (lm__plateau_step) fed the losses torch's
 *    ReduceLROnPlateau was fed gives its lr sequence (tests/fixtures/
 *    lr_*.txt, written by tests/gen_plateau_fixture.py);
 *  - lm_fit's warmup, alone and before cosine and step, gives torch's
 *    LinearLR + SequentialLR sequence;
 *  - lm_fit cuts the lr after exactly the epochs the logic says, judging
 *    the val loss (train loss without one) after the warmup;
 *  - 6 epochs straight and 3, a checkpoint, 3 resumed give the same bits
 *    and the same lr each epoch, with cuts on both sides of the break;
 *  - a checkpoint's plateau state (SCHD) is checked when read;
 *  - bad settings are refused.
 * Run from the repository root. */
#include "harness.h"

#include "internal.h"

#include <glob.h>
#include <lamina.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

#include "fixture.h"

#define FIXTURES "tests/fixtures/lr_*.txt"
#define MIN_FIXTURES 7 /* as many as the generator writes */
#define LR_RTOL 1e-7

static int close_lr(double got, double want) { return fabs(got - want) <= LR_RTOL * fabs(want); }

static lm_fit_opts fixture_opts(const fx_file *f)
{
    lm_fit_opts o = lm_fit_defaults();
    o.optim.lr = (float)fx_num(f, "lr");
    o.lr_warmup = (int)fx_num(f, "warmup");
    o.lr_min = (float)fx_num(f, "min_lr");
    if (!strcmp(fx_str(f, "kind"), "plateau")) {
        o.lr_schedule = LM_LR_PLATEAU;
        o.lr_factor = (float)fx_num(f, "factor");
        o.lr_patience = (int)fx_num(f, "patience");
        o.lr_threshold = (float)fx_num(f, "threshold");
        o.lr_cooldown = (int)fx_num(f, "cooldown");
    } else {
        const char *s = fx_str(f, "schedule");
        o.lr_schedule = (lm_lr_schedule)lm_lr_schedule_from_name(s);
        o.epochs = (int)fx_num(f, "epochs");
        o.lr_step = (int)fx_num(f, "step");
        o.lr_gamma = (float)fx_num(f, "gamma");
    }
    return o;
}

/* The plateau's lr after each loss, as torch's: the warmup epochs at
 * lr (e + 1) / (w + 1), their losses unseen. */
static void replay_plateau(const fx_file *f, const char *path)
{
    lm_fit_opts o = fixture_opts(f);
    const fx_table *loss = fx_get(f, "loss", 0, 1), *lr = fx_get(f, "lr", 0, 1);
    CHECKF(loss && lr && lr->rows == loss->rows + 1, "%s: no loss and lr tables", path);
    if (!loss || !lr) return;
    lm__plateau p = lm__plateau_start(&o);
    int w = o.lr_warmup, cuts = 0;
    for (size_t e = 0; e <= loss->rows; e++) {
        double got = (int)e < w ? o.optim.lr * (double)(e + 1) / (w + 1) : p.lr;
        CHECKF(close_lr(got, lr->v[e]), "%s: epoch %zu: lr %.17g, torch %.17g", path, e, got, lr->v[e]);
        if ((int)e >= w && e < loss->rows) {
            double before = p.lr;
            lm__plateau_step(&p, &o, loss->v[e]);
            cuts += p.lr != before;
        }
    }
    CHECKF(cuts > 0, "%s: no cut", path);
}

static int record_lr(const lm_epoch_info *e, void *ctx)
{
    ((double *)ctx)[e->epoch - 1] = e->lr;
    return 0;
}

static const float XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int32_t XOR_L[4] = {0, 1, 1, 0};

static lm_net *xor_net(uint64_t seed)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(seed);
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 8, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_net_set_threads(net, 1);
    return net;
}

/* The warmup and the schedule after it, through lm_fit. */
static void replay_warmup(const fx_file *f, const char *path)
{
    lm_fit_opts o = fixture_opts(f);
    const fx_table *lr = fx_get(f, "lr", (size_t)o.epochs, 1);
    CHECKF(lr != NULL && o.epochs <= 64, "%s: no lr table of %d epochs", path, o.epochs);
    if (!lr || o.epochs > 64) return;
    double got[64];
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    lm_net *net = xor_net(3);
    o.loss = LM_LOSS_CE;
    o.batch = 2;
    o.on_epoch = record_lr;
    o.ctx = got;
    lm_rng rng = lm_rng_seed(1);
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    for (int e = 0; e < o.epochs; e++)
        CHECKF(close_lr(got[e], lr->v[e]), "%s: epoch %d: lr %.17g, torch %.17g", path, e, got[e], lr->v[e]);
    lm_net_free(net);
}

static void plateau_torch_sequences(void)
{
    glob_t gl;
    int rc = glob(FIXTURES, 0, NULL, &gl);
    size_t n = rc == 0 ? gl.gl_pathc : 0;
    CHECKF(n >= MIN_FIXTURES, "found %zu fixtures %s (run from the repository root)", n, FIXTURES);
    for (size_t i = 0; i < n; i++) {
        fx_file f;
        char err[256];
        if (fx_read(&f, gl.gl_pathv[i], err, sizeof err) != 0) {
            CHECKF(0, "%s", err);
            continue;
        }
        const char *kind = fx_str(&f, "kind");
        if (kind && !strcmp(kind, "plateau")) replay_plateau(&f, gl.gl_pathv[i]);
        else if (kind && !strcmp(kind, "warmup")) replay_warmup(&f, gl.gl_pathv[i]);
        else CHECKF(0, "%s: unknown kind", gl.gl_pathv[i]);
        fx_free(&f);
    }
    if (rc == 0) globfree(&gl);
}

/* ------------------------------------------------------------ training */

enum { N = 120, NX = 4 };
static float BX[N * NX];
static int32_t BL[N];

static void blobs(void)
{
    lm_rng r = lm_rng_seed(5);
    for (int i = 0; i < N; i++) {
        BL[i] = i % 3;
        for (int j = 0; j < NX; j++) BX[i * NX + j] = lm_rng_normal(&r) + (j == BL[i] ? 1.0f : 0.0f);
    }
}

static lm_net *blob_net(void)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(9);
    lm_net_new(&net, NX);
    lm_net_add_dense(net, 12, LM_RELU, LM_BIAS);
    lm_net_add_dense(net, 3, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_HE, &rng);
    lm_net_set_threads(net, 1);
    return net;
}

/* Cuts on both sides of epoch 3, with a cooldown across it: threshold
 * 0.5 makes every epoch after the first bad; patience 0 cuts after epoch
 * 2, then a two-epoch cooldown, and cuts again after epoch 5 and 8. */
static lm_fit_opts blob_opts(int warmup)
{
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.02f;
    o.batch = 16;
    o.epochs = 8;
    o.lr_schedule = LM_LR_PLATEAU;
    o.lr_factor = 0.5f;
    o.lr_patience = 0;
    o.lr_threshold = 0.5f;
    o.lr_cooldown = 2;
    o.lr_min = 0.004f;
    o.lr_warmup = warmup;
    return o;
}

typedef struct seen {
    double lr[16], loss[16];
} seen;

static int record(const lm_epoch_info *e, void *ctx)
{
    seen *s = ctx;
    s->lr[e->epoch - 1] = e->lr;
    s->loss[e->epoch - 1] = isnan(e->val_loss) ? e->train_loss : e->val_loss;
    return 0;
}

/* lm_fit's lr each epoch is what the logic gives from the epochs' own
 * monitored losses: the train loss, or the val loss with a val set. */
static void plateau_fit_follows_losses(void)
{
    blobs();
    lm_data d = {.n = N, .nx = NX, .x = BX, .labels = BL, .n_classes = 3};
    lm_data v = {.n = 30, .nx = NX, .x = BX + 90 * NX, .labels = BL + 90, .n_classes = 3};
    for (int k = 0; k < 4; k++) {
        int warmup = k & 1, val = k >> 1;
        lm_net *net = blob_net();
        lm_fit_opts o = blob_opts(warmup);
        seen s;
        o.on_epoch = record;
        o.ctx = &s;
        o.val = val ? &v : NULL;
        lm_rng rng = lm_rng_seed(1);
        CHECK_OK(lm_fit(net, &d, &o, &rng));
        lm__plateau p = lm__plateau_start(&o);
        int cuts = 0;
        for (int e = 0; e < o.epochs; e++) {
            double want = e < warmup ? o.optim.lr * (e + 1.0) / (warmup + 1) : p.lr;
            CHECKF((float)want == (float)s.lr[e], "warmup %d val %d epoch %d: lr %g, want %g", warmup, val, e + 1,
                   s.lr[e], want);
            if (e >= warmup) {
                double before = p.lr;
                lm__plateau_step(&p, &o, s.loss[e]);
                cuts += p.lr != before;
            }
        }
        CHECKF(cuts >= 2, "warmup %d val %d: %d cuts, want 2 or more", warmup, val, cuts);
        lm_net_free(net);
    }
}

/* Trains epochs_a epochs, saves (then resumes in a new trainer when
 * resume), then epochs_b; the lr of every epoch into lr. */
static float *train_plateau(int epochs_a, int epochs_b, const char *ckpt, double *lr)
{
    lm_data d = {.n = N, .nx = NX, .x = BX, .labels = BL, .n_classes = 3};
    lm_net *net = blob_net();
    lm_fit_opts o = blob_opts(0);
    o.epochs = epochs_a + epochs_b;
    lm_rng rng = lm_rng_seed(1);
    lm_train *t;
    lm_epoch_info info;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    for (int e = 0; e < epochs_a; e++) {
        CHECK_OK(lm_train_epoch(t, &d, &info));
        lr[e] = info.lr;
    }
    if (ckpt) {
        CHECK_OK(lm_train_save(t, ckpt));
        lm_train_free(t);
        lm_net_free(net);
        CHECK_OK(lm_net_load(&net, ckpt));
        lm_net_set_threads(net, 1);
        lm_rng other = lm_rng_seed(77);
        CHECK_OK(lm_train_new(&t, net, &o, &other));
        CHECK_OK(lm_train_resume(t, ckpt));
    }
    for (int e = epochs_a; e < epochs_a + epochs_b; e++) {
        CHECK_OK(lm_train_epoch(t, &d, &info));
        lr[e] = info.lr;
    }
    float *p = malloc(lm_net_n_params(net) * sizeof *p);
    memcpy(p, lm_net_params(net), lm_net_n_params(net) * sizeof *p);
    lm_train_free(t);
    lm_net_free(net);
    return p;
}

static void plateau_resume_same_curve(void)
{
    blobs();
    char ckpt[] = "/tmp/lm_plateau_XXXXXX";
    int fd = mkstemp(ckpt);
    CHECK(fd >= 0);
    close(fd);
    double a[6], b[6];
    float *pa = train_plateau(6, 0, NULL, a), *pb = train_plateau(3, 3, ckpt, b);
    size_t n = NX * 12 + 12 + 12 * 3 + 3;
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0);
    for (int e = 0; e < 6; e++) CHECKF(a[e] == b[e], "epoch %d: lr %g straight, %g resumed", e + 1, a[e], b[e]);
    /* the cuts fall on both sides of the break */
    CHECKF(a[1] == a[0] && a[2] < a[1] && a[4] == a[2] && a[5] < a[4], "lr %g %g %g %g %g %g", a[0], a[1], a[2], a[3], a[4], a[5]);
    free(pa);
    free(pb);
    unlink(ckpt);
}

/* The model file image of path, with its CRC fixed after a change. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void fix_crc(unsigned char *b, size_t len)
{
    uLong crc = crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++) b[len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static void plateau_state_checked(void)
{
    blobs();
    char ckpt[] = "/tmp/lm_plateau_XXXXXX";
    int fd = mkstemp(ckpt);
    CHECK(fd >= 0);
    close(fd);
    double lr[3];
    free(train_plateau(3, 0, ckpt, lr));
    size_t len = 0;
    unsigned char *b = slurp(ckpt, &len), *s = NULL;
    for (size_t i = 0; b && i + 4 <= len; i++)
        if (!memcmp(b + i, "SCHD", 4)) s = b + i;
    CHECK(s != NULL);
    lm_net *net = NULL;
    if (s) {
        /* the net alone loads; a NaN lr is refused, naming it */
        CHECK_OK(lm_net_load_mem(&net, b, len));
        lm_net_free(net);
        double nan = NAN, keep;
        memcpy(&keep, s + 16, 8);
        memcpy(s + 16, &nan, 8);
        fix_crc(b, len);
        CHECK(lm_net_load_mem(&net, b, len) == LM_EFORMAT);
        CHECKF(strstr(lm_errmsg(), "plateau state") != NULL, "message: %s", lm_errmsg());
        memcpy(s + 16, &keep, 8);
        /* a count out of range */
        uint32_t big = 0x80000000u;
        memcpy(s + 32, &big, 4);
        fix_crc(b, len);
        CHECK(lm_net_load_mem(&net, b, len) == LM_EFORMAT);
        /* an unknown optional section to a reader that does not know it:
         * renamed, the file loads and resumes (with a fresh plateau) */
        memset(s + 32, 0, 4);
        memcpy(s, "SCHX", 4);
        fix_crc(b, len);
        CHECK_OK(lm_net_load_mem(&net, b, len));
        lm_net_free(net);
    }
    free(b);
    unlink(ckpt);
}

static void set_factor(lm_fit_opts *o, float v) { o->lr_factor = v; }
static void set_threshold(lm_fit_opts *o, float v) { o->lr_threshold = v; }
static void set_patience(lm_fit_opts *o, float v) { o->lr_patience = (int)v; }
static void set_cooldown(lm_fit_opts *o, float v) { o->lr_cooldown = (int)v; }
static void set_warmup(lm_fit_opts *o, float v) { o->lr_warmup = (int)v; }
static void set_min(lm_fit_opts *o, float v) { o->lr_min = v; }

static void plateau_bad_options_refused(void)
{
    static const struct {
        void (*set)(lm_fit_opts *, float);
        float v;
        const char *says;
    } bad[] = {
        {set_factor, 0, "lr_factor 0"},         {set_factor, 1, "lr_factor 1"},
        {set_factor, NAN, "lr_factor nan"},     {set_threshold, -0.1f, "lr_threshold -0.1"},
        {set_threshold, 1, "lr_threshold 1"},   {set_patience, -1, "lr_patience -1"},
        {set_cooldown, -2, "lr_cooldown -2"},   {set_warmup, -1, "lr_warmup -1"},
        {set_min, 1, "lr_min 1 must be in [0, lr]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lm_net *net = xor_net(1);
        lm_fit_opts o = lm_fit_defaults();
        o.lr_schedule = LM_LR_PLATEAU;
        bad[i].set(&o, bad[i].v);
        lm_rng rng = lm_rng_seed(1);
        lm_train *t = NULL;
        CHECKF(lm_train_new(&t, net, &o, &rng) == LM_EINVAL, "%s accepted", bad[i].says);
        CHECKF(strstr(lm_errmsg(), bad[i].says) != NULL, "%s: message '%s'", bad[i].says, lm_errmsg());
        lm_train_free(t);
        lm_net_free(net);
    }
    /* RPROP takes no schedule and no warmup */
    for (int k = 0; k < 2; k++) {
        lm_net *net = xor_net(1);
        lm_fit_opts o = lm_fit_defaults();
        o.optim.kind = LM_RPROP;
        if (k) o.lr_warmup = 2;
        else o.lr_schedule = LM_LR_PLATEAU;
        lm_rng rng = lm_rng_seed(1);
        lm_train *t = NULL;
        CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
        CHECKF(strstr(lm_errmsg(), k ? "a warmup (2 epochs)" : "(plateau)") != NULL, "message '%s'", lm_errmsg());
        lm_train_free(t);
        lm_net_free(net);
    }
    /* the defaults are torch's */
    lm_fit_opts o = lm_fit_defaults();
    CHECK(o.lr_factor == 0.1f && o.lr_patience == 10 && o.lr_threshold == 1e-4f && o.lr_cooldown == 0 &&
          o.lr_warmup == 0 && o.lr_min == 0);
    CHECK(lm_lr_schedule_from_name("plateau") == LM_LR_PLATEAU);
}

/* lm_train_set_lr: a trainer made with one lr and set to another steps
 * exactly as one made with the other; an epoch keeps it (constant
 * schedule) or starts its schedule from it; bad values are refused. */
static void set_lr_steps_as_made(void)
{
    lm_net *a = xor_net(4), *b = xor_net(4);
    lm_fit_opts oa = lm_fit_defaults(), ob = lm_fit_defaults();
    oa.loss = ob.loss = LM_LOSS_CE;
    oa.optim.kind = ob.optim.kind = LM_SGD;
    oa.optim.momentum = ob.optim.momentum = 0.9f;
    oa.batch = ob.batch = 4;
    oa.optim.lr = 0.05f;
    ob.optim.lr = 0.5f;
    lm_rng rng = lm_rng_seed(1);
    lm_train *ta = NULL, *tb = NULL;
    CHECK_OK(lm_train_new(&ta, a, &oa, &rng));
    CHECK_OK(lm_train_new(&tb, b, &ob, &rng));
    CHECK(lm_train_lr(tb) == 0.5f);
    CHECK_OK(lm_train_set_lr(tb, 0.05f));
    CHECK(lm_train_lr(tb) == 0.05f);
    for (int s = 0; s < 5; s++) {
        CHECK_OK(lm_train_step(ta, XOR_X, NULL, XOR_L, 4, NULL));
        CHECK_OK(lm_train_step(tb, XOR_X, NULL, XOR_L, 4, NULL));
    }
    CHECK(memcmp(lm_net_params(a), lm_net_params(b), lm_net_n_params(a) * sizeof(float)) == 0);
    lm_data d = {.n = 4, .nx = 2, .x = XOR_X, .labels = XOR_L, .n_classes = 2};
    lm_epoch_info e;
    CHECK_OK(lm_train_epoch(tb, &d, &e));
    CHECK(e.lr == 0.05f && lm_train_lr(tb) == 0.05f);
    CHECK(lm_train_set_lr(tb, 0) == LM_EINVAL && strstr(lm_errmsg(), "learning rate 0"));
    CHECK(lm_train_set_lr(tb, NAN) == LM_EINVAL);
    CHECK(lm_train_set_lr(tb, INFINITY) == LM_EINVAL);
    CHECK(lm_train_set_lr(NULL, 0.1f) == LM_EINVAL);
    CHECK(isnan(lm_train_lr(NULL)));
    CHECK(lm_train_lr(tb) == 0.05f);
    lm_train_free(ta);
    lm_train_free(tb);
    lm_net_free(a);
    lm_net_free(b);
    /* a step schedule scales the new lr; RPROP refuses one */
    lm_net *c = xor_net(4);
    lm_fit_opts oc = lm_fit_defaults();
    oc.loss = LM_LOSS_CE;
    oc.batch = 4;
    oc.lr_schedule = LM_LR_STEP;
    oc.lr_step = 1;
    oc.lr_gamma = 0.5f;
    lm_train *tc = NULL;
    CHECK_OK(lm_train_new(&tc, c, &oc, &rng));
    CHECK_OK(lm_train_epoch(tc, &d, &e));
    CHECK_OK(lm_train_set_lr(tc, 0.2f));
    CHECK_OK(lm_train_epoch(tc, &d, &e));
    CHECK(e.lr == 0.1f);
    lm_train_free(tc);
    lm_net_free(c);
    c = xor_net(4);
    oc = lm_fit_defaults();
    oc.optim.kind = LM_RPROP;
    CHECK_OK(lm_train_new(&tc, c, &oc, &rng));
    CHECK(lm_train_set_lr(tc, 0.2f) == LM_EINVAL && strstr(lm_errmsg(), "RPROP"));
    lm_train_free(tc);
    lm_net_free(c);
}

int main(void)
{
    RUN(plateau_torch_sequences);
    RUN(plateau_fit_follows_losses);
    RUN(plateau_resume_same_curve);
    RUN(plateau_state_checked);
    RUN(plateau_bad_options_refused);
    RUN(set_lr_steps_as_made);
    TEST_MAIN_END();
}
