/* names.c - the names of the initialisers and learning-rate schedules,
 * as the CLI, model metadata and users spell them. Each table is indexed
 * by its enum and sized by its _COUNT, so a value added without a name is
 * a compile error (the other pairs sit with their concept: act.c, loss.c,
 * optim.c). */
#include "internal.h"

#include <string.h>

static const char *const init_names[LM_INIT_COUNT] = {
    [LM_INIT_UNIFORM01] = "uniform01", [LM_INIT_XAVIER] = "xavier", [LM_INIT_HE] = "he"};

static const char *const schedule_names[LM_LR_COUNT] = {
    [LM_LR_CONSTANT] = "constant", [LM_LR_COSINE] = "cosine", [LM_LR_STEP] = "step",
    [LM_LR_PLATEAU] = "plateau"};

/* The index of s in names (n entries), or -1. */
static int find(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (names[i] && strcmp(s, names[i]) == 0) return i;
    return -1;
}

const char *lm_init_name(lm_init i)
{
    return (unsigned)i < LM_INIT_COUNT && init_names[i] ? init_names[i] : "?";
}

int lm_init_from_name(const char *s) { return find(init_names, LM_INIT_COUNT, s); }

const char *lm_lr_schedule_name(lm_lr_schedule s)
{
    return (unsigned)s < LM_LR_COUNT && schedule_names[s] ? schedule_names[s] : "?";
}

int lm_lr_schedule_from_name(const char *s) { return find(schedule_names, LM_LR_COUNT, s); }
