/* opts.c - option structs that can grow without breaking programs built
 * against an older lamina.h (docs/API.md, "Option structs").
 *
 * Each public option struct starts with size_t size, set by the header's
 * inline lm_X_defaults() to the caller's sizeof. Fields are only ever
 * appended, so a caller's struct is a prefix of this library's: what lies
 * within size comes from the caller, everything after it is this
 * library's default. A newer caller's extra tail is ignored. lm_optim_opts
 * sits in lm_fit_opts inside a fixed LM_OPTIM_ROOM, so it can gain fields
 * at its own end without moving the fields of lm_fit_opts after it. */
#include "internal.h"

#include <stddef.h>
#include <string.h>

_Static_assert(offsetof(lm_fit_opts, size) == 0 && offsetof(lm_csv_opts, size) == 0,
               "size must stay the first field of every option struct");
_Static_assert(sizeof(lm_optim_opts) <= LM_OPTIM_ROOM,
               "lm_optim_opts outgrew its room in lm_fit_opts: append new "
               "optimizer settings to lm_fit_opts instead");
_Static_assert(_Alignof(lm_optim_opts) <= _Alignof(uint64_t),
               "a field of lm_optim_opts would move the room in lm_fit_opts");

/* The smallest size taken: size and the first field. Any longer prefix
 * is a caller that knew the fields up to there (the 1.0.0 layout holds
 * them all, but the rule does not depend on which release came first). */
#define FIT_MIN_SIZE (offsetof(lm_fit_opts, loss) + sizeof(lm_loss))
#define CSV_MIN_SIZE (offsetof(lm_csv_opts, header) + sizeof(int))
/* Larger than any struct this API will have: catches a size never set. */
#define MAX_SIZE ((size_t)1 << 16)

/* Writes the first size bytes of dst from full (zeros past its end, for a
 * caller newer than this library) and records size. */
static void fill_prefix(void *dst, size_t size, const void *full, size_t full_size)
{
    size_t n = size < full_size ? size : full_size;
    memcpy(dst, full, n);
    if (size > n) memset((char *)dst + n, 0, size - n);
    memcpy(dst, &size, sizeof size);
}

static lm_status check_size(const char *what, size_t size, size_t min)
{
    if (size >= min && size <= MAX_SIZE) return LM_OK;
    return lm__err(LM_EINVAL, "%s: size %zu is not a struct size (%zu to %zu): start from %s", what,
                   size, min, MAX_SIZE,
                   !strcmp(what, "lm_fit_opts") ? "lm_fit_defaults()" : "lm_csv_defaults()");
}

lm_status lm_fit_opts_init(lm_fit_opts *o, size_t size)
{
    LM_NONNULL(o);
    lm_status st = check_size("lm_fit_opts", size, FIT_MIN_SIZE);
    if (st) return st;
    lm_fit_opts d = lm__fit_defaults();
    fill_prefix(o, size, &d, sizeof d);
    return LM_OK;
}

lm_status lm_csv_opts_init(lm_csv_opts *o, size_t size)
{
    LM_NONNULL(o);
    lm_status st = check_size("lm_csv_opts", size, CSV_MIN_SIZE);
    if (st) return st;
    lm_csv_opts d = lm__csv_defaults();
    fill_prefix(o, size, &d, sizeof d);
    return LM_OK;
}

/* dst = the defaults, overwritten by the part of src within src->size. */
static lm_status import(const char *what, void *dst, const void *defaults, size_t full_size,
                        const void *src, size_t min)
{
    memcpy(dst, defaults, full_size);
    if (src) {
        size_t size;
        memcpy(&size, src, sizeof size);
        lm_status st = check_size(what, size, min);
        if (st) return st;
        memcpy(dst, src, size < full_size ? size : full_size);
    }
    memcpy(dst, &full_size, sizeof full_size);
    return LM_OK;
}

lm_status lm__fit_opts_import(lm_fit_opts *dst, const lm_fit_opts *src)
{
    lm_fit_opts d = lm__fit_defaults();
    return import("lm_fit_opts", dst, &d, sizeof d, src, FIT_MIN_SIZE);
}

lm_status lm__csv_opts_import(lm_csv_opts *dst, const lm_csv_opts *src)
{
    lm_csv_opts d = lm__csv_defaults();
    return import("lm_csv_opts", dst, &d, sizeof d, src, CSV_MIN_SIZE);
}
