/* test_names.c - every enum the CLI and model metadata spell by name has
 * a name/enum pair in the library, and each pair is a bijection: the name
 * of every value reads back as that value, names are distinct, unknown
 * names and values are refused. */
#include "harness.h"
#include "lamina.h"

typedef struct pair {
    const char *what;
    int count;
    const char *(*name)(int);
    int (*from_name)(const char *);
} pair;

static const char *act_name(int v) { return lm_act_name((lm_act)v); }
static const char *loss_name(int v) { return lm_loss_name((lm_loss)v); }
static const char *optim_name(int v) { return lm_optim_name((lm_optim_kind)v); }
static const char *init_name(int v) { return lm_init_name((lm_init)v); }
static const char *schedule_name(int v) { return lm_lr_schedule_name((lm_lr_schedule)v); }

static const pair PAIRS[] = {
    {"activation", LM_ACT_COUNT, act_name, lm_act_from_name},
    {"loss", LM_LOSS_COUNT, loss_name, lm_loss_from_name},
    {"optimizer", LM_OPTIM_COUNT, optim_name, lm_optim_from_name},
    {"initialiser", LM_INIT_COUNT, init_name, lm_init_from_name},
    {"lr schedule", LM_LR_COUNT, schedule_name, lm_lr_schedule_from_name},
};

static void pairs_round_trip(void)
{
    for (size_t p = 0; p < sizeof PAIRS / sizeof PAIRS[0]; p++) {
        const pair *q = &PAIRS[p];
        for (int v = 0; v < q->count; v++) {
            const char *n = q->name(v);
            CHECKF(n && *n && strcmp(n, "?"), "%s %d has no name", q->what, v);
            CHECKF(q->from_name(n) == v, "%s '%s' reads back as %d, not %d", q->what, n,
                   q->from_name(n), v);
            for (int w = 0; w < v; w++)
                CHECKF(strcmp(n, q->name(w)), "%s %d and %d are both '%s'", q->what, w, v, n);
        }
        CHECKF(!strcmp(q->name(q->count), "?") && !strcmp(q->name(-1), "?"),
               "%s: out-of-range values must be named '?'", q->what);
        CHECKF(q->from_name("no-such-name") == -1 && q->from_name(NULL) == -1 &&
                   q->from_name("") == -1,
               "%s: unknown names must give -1", q->what);
    }
}

/* The spellings that DESIGN, the CLI and saved models use. */
static void known_spellings(void)
{
    CHECK(lm_optim_from_name("sgd") == LM_SGD && lm_optim_from_name("adamw") == LM_ADAMW &&
          lm_optim_from_name("rprop") == LM_RPROP);
    CHECK(lm_optim_from_name("momentum") == -1); /* a CLI preset, not a kind */
    CHECK(lm_init_from_name("uniform01") == LM_INIT_UNIFORM01 && lm_init_from_name("he") == LM_INIT_HE);
    CHECK(lm_lr_schedule_from_name("cosine") == LM_LR_COSINE &&
          lm_lr_schedule_from_name("step") == LM_LR_STEP);
    CHECK(lm_loss_from_name("ce") == LM_LOSS_CE && lm_act_from_name("softmax") == LM_SOFTMAX);
}

int main(void)
{
    RUN(pairs_round_trip);
    RUN(known_spellings);
    TEST_MAIN_END();
}
