/* error.c - status names, the per-thread error message, checked
 * allocation. The library never prints: failures leave a message here. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LM_ERRMSG_MAX 512

static _Thread_local char errmsg[LM_ERRMSG_MAX];
static _Atomic uint64_t alloc_limit = (uint64_t)8 << 30; /* read by every thread */

const char *lm_errmsg(void) { return errmsg; }

const char *lm_status_name(lm_status st)
{
    switch (st) {
    case LM_OK: return "LM_OK";
    case LM_EINVAL: return "LM_EINVAL";
    case LM_ENOMEM: return "LM_ENOMEM";
    case LM_EIO: return "LM_EIO";
    case LM_EFORMAT: return "LM_EFORMAT";
    case LM_ENUMERIC: return "LM_ENUMERIC";
    case LM_ESTOPPED: return "LM_ESTOPPED";
    }
    return "LM_E?";
}

lm_status lm__err(lm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return st;
}

void lm__err_prefix(const char *fmt, ...)
{
    char prefix[LM_ERRMSG_MAX], old[LM_ERRMSG_MAX], both[2 * LM_ERRMSG_MAX + 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    snprintf(both, sizeof both, "%s: %s", prefix, old);
    memcpy(errmsg, both, sizeof errmsg - 1); /* truncates a very long message */
    errmsg[sizeof errmsg - 1] = '\0';
}

void lm__err_clear(void) { errmsg[0] = '\0'; }

void lm_set_alloc_limit(uint64_t bytes) { alloc_limit = bytes; }
uint64_t lm_alloc_limit(void) { return alloc_limit; }

static void *checked(size_t n, size_t size, const char *what, int zero)
{
    size_t bytes;
    if (!lm__mul_ok(n, size, &bytes) || (uint64_t)bytes > alloc_limit) {
        lm__err(LM_ENOMEM, "%s: %zu x %zu bytes is over the allocation limit (%llu bytes)",
                what, n, size, (unsigned long long)alloc_limit);
        return NULL;
    }
    void *p = lm__alloc_hook(bytes) ? NULL
              : zero ? calloc(bytes ? n : 1, bytes ? size : 1) : malloc(bytes ? bytes : 1);
    if (!p) lm__err(LM_ENOMEM, "%s: out of memory allocating %zu bytes", what, bytes);
    return p;
}

void *lm__alloc(size_t n, size_t size, const char *what) { return checked(n, size, what, 0); }
void *lm__calloc(size_t n, size_t size, const char *what) { return checked(n, size, what, 1); }

void *lm__realloc(void *old, size_t n, size_t size, const char *what)
{
    size_t bytes;
    if (!lm__mul_ok(n, size, &bytes) || (uint64_t)bytes > alloc_limit) {
        lm__err(LM_ENOMEM, "%s: %zu x %zu bytes is over the allocation limit (%llu bytes)",
                what, n, size, (unsigned long long)alloc_limit);
        return NULL;
    }
    void *p = lm__alloc_hook(bytes) ? NULL : realloc(old, bytes ? bytes : 1);
    if (!p) lm__err(LM_ENOMEM, "%s: out of memory allocating %zu bytes", what, bytes);
    return p;
}

void *lm__alloc_big(size_t n, size_t size, const char *what)
{
    size_t bytes;
    if (!lm__mul_ok(n, size, &bytes) || (uint64_t)bytes > alloc_limit) {
        lm__err(LM_ENOMEM, "%s: %zu x %zu bytes is over the allocation limit (%llu bytes)",
                what, n, size, (unsigned long long)alloc_limit);
        return NULL;
    }
    void *p = lm_big_alloc(bytes ? bytes : 1);
    if (!p) lm__err(LM_ENOMEM, "%s: out of memory allocating %zu bytes", what, bytes);
    else memset(p, 0, bytes);
    return p;
}

char *lm__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = lm__alloc(n, 1, "string");
    if (p) memcpy(p, s, n);
    return p;
}
