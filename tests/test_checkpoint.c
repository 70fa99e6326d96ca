/* test_checkpoint.c - a checkpoint whose training state is corrupt but
 * carries a valid CRC is refused on load with LM_EFORMAT naming the field:
 * each case encodes a real checkpoint, patches one field of its TRAI
 * section, fixes the CRC and resumes from it. */
#include "harness.h"

#include <lamina.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[64];
static char ckpt[128], bad[128];

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, len, f);
        fclose(f);
    }
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(p, u);
}

static void fix_crc(unsigned char *buf, size_t len)
{
    uLong crc = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
    put32(buf + len - 4, (uint32_t)crc);
}

/* Offset of the body of section tag in a model file image (docs/FORMAT.md:
 * magic, version, section count, then tag, flags, u64 length, body), or 0. */
static size_t section_body(const unsigned char *b, size_t len, const char *tag)
{
    size_t at = 16;
    uint32_t nsec = get32(b + 12);
    for (uint32_t s = 0; s < nsec && at + 16 <= len; s++) {
        uint64_t slen = get32(b + at + 8) | (uint64_t)get32(b + at + 12) << 32;
        if (memcmp(b + at, tag, 4) == 0) return at + 16;
        at += 16 + (size_t)slen;
    }
    return 0;
}

/* The training state's body: TRAI, or TRA2 for an optimizer newer than
 * lamina 1.3 (RPROP). */
static size_t trai_body(const unsigned char *b, size_t len)
{
    size_t at = section_body(b, len, "TRAI");
    return at ? at : section_body(b, len, "TRA2");
}

static lm_net *net_and_trainer(lm_train **t, lm_optim_kind kind)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(4);
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 3, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    o.loss = LM_LOSS_CE;
    o.optim.kind = kind;
    o.optim.momentum = kind == LM_SGD ? 0.9f : 0.0f;
    *t = NULL;
    lm_train_new(t, net, &o, &rng);
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, loss;
    int32_t lab[4] = {0, 1, 1, 0};
    lm_train_step(*t, x, NULL, lab, 4, &loss);
    return net;
}

/* Field offsets within the TRAI body. */
enum { F_EPOCHS = 0, F_STEP = 4, F_RNG = 12, F_KIND = 44, F_HAS_M = 48, F_HAS_V = 52, F_N = 56, F_M = 64 };

typedef void (*patch_fn)(unsigned char *body, size_t n);

static void v_nan(unsigned char *b, size_t n) { put_f(b + F_M + 4 * (n + 3), NAN); }
static void v_neg(unsigned char *b, size_t n) { put_f(b + F_M + 4 * n, -1.0f); }
static void v_inf(unsigned char *b, size_t n) { put_f(b + F_M + 4 * (n + 1), INFINITY); }
static void m_inf(unsigned char *b, size_t n) { put_f(b + F_M + 4 * 2, -INFINITY); }
static void m_nan(unsigned char *b, size_t n) { put_f(b + F_M + 4 * 5, NAN); }
static void step_max(unsigned char *b, size_t n) { memset(b + F_STEP, 0xff, 8); }
static void rng_zero(unsigned char *b, size_t n) { memset(b + F_RNG, 0, 32); }
static void adam_without_v(unsigned char *b, size_t n) { put32(b + F_HAS_V, 0); }
static void kind_unknown(unsigned char *b, size_t n) { put32(b + F_KIND, 9); }

/* Writes the checkpoint of an lm_optim_kind run with patch applied to
 * `bad`, fixing the CRC, and returns what resuming from it gives. */
static lm_status resume_patched(lm_optim_kind kind, patch_fn patch, int drop_v)
{
    lm_train *t;
    lm_net *net = net_and_trainer(&t, kind);
    lm_status st = lm_train_save(t, ckpt);
    size_t len = 0, n = lm_net_n_params(net);
    unsigned char *b = slurp(ckpt, &len);
    size_t body = b ? trai_body(b, len) : 0;
    if (st || !body) {
        free(b);
        lm_train_free(t);
        lm_net_free(net);
        return LM_EIO;
    }
    patch(b + body, n);
    if (drop_v) {
        /* has_v = 0 and the n second moments cut out, section length too */
        memmove(b + body + F_M + 4 * n, b + body + F_M + 8 * n, len - (body + F_M + 8 * n));
        len -= 4 * n;
        uint64_t slen = get32(b + body - 8) | (uint64_t)get32(b + body - 4) << 32;
        slen -= 4 * n;
        put32(b + body - 8, (uint32_t)slen);
        put32(b + body - 4, (uint32_t)(slen >> 32));
    }
    fix_crc(b, len);
    spit(bad, b, len);
    free(b);
    uint64_t steps = lm_train_steps(t);
    float p0 = lm_net_params(net)[0];
    lm_net_params(net)[0] = 42.0f;
    st = lm_train_resume(t, bad);
    if (st != LM_OK) /* a refused resume leaves the run as it was */
        CHECK(lm_train_steps(t) == steps && lm_net_params(net)[0] == 42.0f);
    else
        CHECK(lm_net_params(net)[0] == p0);
    lm_train_free(t);
    lm_net_free(net);
    return st;
}

static void nothing(unsigned char *b, size_t n) {}

#define EXPECT_REFUSED(kind, patch, drop, words)                                        \
    do {                                                                                \
        lm_status st_ = resume_patched(kind, patch, drop);                              \
        CHECKF(st_ == LM_EFORMAT && strstr(lm_errmsg(), words), "%s -> %s: %s", #patch, \
               lm_status_name(st_), lm_errmsg());                                       \
    } while (0)

static void corrupt_state_refused(void)
{
    CHECK_OK(resume_patched(LM_ADAM, nothing, 0)); /* the control: untouched, it resumes */
    CHECK_OK(resume_patched(LM_SGD, nothing, 0));
    EXPECT_REFUSED(LM_ADAM, v_nan, 0, "second moment 3 is NaN");
    EXPECT_REFUSED(LM_ADAM, v_neg, 0, "second moment 0 is negative");
    EXPECT_REFUSED(LM_ADAMW, v_inf, 0, "second moment 1 is infinite");
    EXPECT_REFUSED(LM_ADAM, m_inf, 0, "first moment 2 is infinite");
    EXPECT_REFUSED(LM_SGD, m_nan, 0, "first moment 5 is NaN");
    EXPECT_REFUSED(LM_ADAM, step_max, 0, "step count");
    EXPECT_REFUSED(LM_ADAM, rng_zero, 0, "RNG");
    EXPECT_REFUSED(LM_ADAM, adam_without_v, 1, "second moments");
    /* RPROP keeps the previous gradients in m and the step sizes in v */
    CHECK_OK(resume_patched(LM_RPROP, nothing, 0));
    EXPECT_REFUSED(LM_RPROP, v_neg, 0, "step size 0 is negative");
    EXPECT_REFUSED(LM_RPROP, v_nan, 0, "step size 3 is NaN");
    EXPECT_REFUSED(LM_RPROP, v_inf, 0, "step size 1 is infinite");
    EXPECT_REFUSED(LM_RPROP, m_inf, 0, "previous gradient 2 is infinite");
    EXPECT_REFUSED(LM_RPROP, adam_without_v, 1, "previous gradients and step sizes");
    /* a newer lamina's optimizer: no resume, but the net loads */
    EXPECT_REFUSED(LM_ADAM, kind_unknown, 0, "optimizer 9 is unknown to lamina");
    lm_net *net = NULL;
    CHECK_OK(lm_net_load(&net, bad));
    lm_net_free(net);
    /* ... and its counts still read (lamina info): it failed before */
    int has = 0, epochs = -1;
    uint64_t steps = 0;
    lm_status s = lm_train_state_info(bad, &has, &epochs, &steps);
    CHECKF(s == LM_OK && has == 1 && epochs >= 0 && steps > 0, "%s: %s (has %d, epochs %d, steps %llu)",
           lm_status_name(s), lm_errmsg(), has, epochs, (unsigned long long)steps);
}

/* lm_train_state_info (lamina info, train --resume's first look) refuses
 * the training state lm_net_load refuses: it took a checkpoint naming
 * rprop but holding no step sizes as resumable, which loading refused. */
static void state_info_agrees_with_load(void)
{
    struct { lm_optim_kind kind; patch_fn patch; int drop; } cases[] = {
        {LM_RPROP, adam_without_v, 1}, {LM_ADAM, adam_without_v, 1}, {LM_ADAM, v_nan, 0},
        {LM_RPROP, v_neg, 0},   {LM_ADAM, rng_zero, 0}, {LM_ADAM, step_max, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resume_patched(cases[i].kind, cases[i].patch, cases[i].drop);
        lm_net *net = NULL;
        lm_status ls = lm_net_load(&net, bad);
        char why[512];
        snprintf(why, sizeof why, "%s", lm_errmsg());
        lm_net_free(net);
        int has = 1, epochs = -1;
        lm_status is = lm_train_state_info(bad, &has, &epochs, NULL);
        CHECKF(ls == LM_EFORMAT && is == LM_EFORMAT && has == 0 && !strcmp(lm_errmsg(), why),
               "case %zu: lm_net_load %s (%s), lm_train_state_info %s (%s), has %d", i,
               lm_status_name(ls), why, lm_status_name(is), lm_errmsg(), has);
    }
}

/* RPROP's state goes in a section of its own, TRA2, laid out as TRAI:
 * lamina 1.3 refuses a TRAI of an optimizer it does not know, file and
 * net with it, but skips a section it does not know and loads the net. */
static void rprop_state_in_its_own_section(void)
{
    lm_optim_kind kinds[2] = {LM_ADAMW, LM_RPROP};
    for (int k = 0; k < 2; k++) {
        lm_train *t;
        lm_net *net = net_and_trainer(&t, kinds[k]);
        CHECK_OK(lm_train_save(t, ckpt));
        size_t len = 0;
        unsigned char *b = slurp(ckpt, &len);
        CHECK(b && (section_body(b, len, "TRAI") != 0) == (k == 0) &&
              (section_body(b, len, "TRA2") != 0) == (k == 1));
        /* as a reader that does not know TRA2 sees it: no training state */
        size_t at = b ? section_body(b, len, "TRA2") : 0;
        if (at) {
            memcpy(b + at - 16, "XTRA", 4);
            fix_crc(b, len);
            spit(bad, b, len);
            lm_net *plain = NULL;
            int has = 1;
            CHECK_OK(lm_net_load(&plain, bad));
            CHECK_OK(lm_train_state_info(bad, &has, NULL, NULL));
            CHECK(plain && has == 0);
            CHECK(plain && !memcmp(lm_net_params(plain), lm_net_params(net), lm_net_n_params(net) * sizeof(float)));
            lm_net_free(plain);
        }
        free(b);
        lm_train_free(t);
        lm_net_free(net);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lm_ckpt_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(ckpt, sizeof ckpt, "%s/c.lmn", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lmn", tmpdir);
    RUN(corrupt_state_refused);
    RUN(state_info_agrees_with_load);
    RUN(rprop_state_in_its_own_section);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
