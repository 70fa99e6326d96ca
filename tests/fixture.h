/* fixture.h - reads the text fixtures that tests/gen_*_fixture.py write.
 * Include after harness.h: the fx_str/fx_num/fx_floats helpers fail the
 * running case when the fixture lacks what they look for. */
#ifndef LM_FIXTURE_H
#define LM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Format: '#' comments to end of line; "KEY = VALUE..." option lines;
 * "NAME ROWS COLS" table headers followed by ROWS*COLS numbers. */
#define FX_MAX 64

typedef struct fx_table {
    char name[32];
    size_t rows, cols;
    double *v; /* (rows, cols) */
} fx_table;

typedef struct fx_opt {
    char key[32];
    char val[96];
} fx_opt;

typedef struct fx_file {
    fx_table t[FX_MAX];
    int n_t;
    fx_opt o[FX_MAX];
    int n_o;
} fx_file;

static void fx_free(fx_file *f)
{
    for (int i = 0; i < f->n_t; i++) free(f->t[i].v);
    memset(f, 0, sizeof *f);
}

/* Reads path into f; on failure prints why into err and returns -1. */
static int fx_read(fx_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open (run from the repo root)", path);
        return -1;
    }
    char line[4096];
    int lineno = 0;
    fx_table *cur = NULL; /* table still taking numbers */
    size_t have = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        if (cur) { /* numbers of the current table */
            char *p = line, *end;
            for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
                if (!*p) break;
                double v = strtod(p, &end);
                if (end == p || have == cur->rows * cur->cols) {
                    snprintf(err, errlen, "%s:%d: bad or extra number in table %s", path,
                             lineno, cur->name);
                    goto fail;
                }
                cur->v[have++] = v;
                p = end;
            }
            if (have == cur->rows * cur->cols) cur = NULL;
            continue;
        }
        char a[32], b[96];
        int off = 0;
        if (sscanf(line, " %31s%n", a, &off) != 1) continue; /* blank */
        char *rest = line + off;
        if (sscanf(rest, " = %95[^\n\r]", b) == 1) {
            if (f->n_o == FX_MAX) goto toomany;
            snprintf(f->o[f->n_o].key, sizeof f->o[0].key, "%s", a);
            snprintf(f->o[f->n_o].val, sizeof f->o[0].val, "%s", b);
            f->n_o++;
            continue;
        }
        unsigned long r, c;
        if (sscanf(rest, "%lu %lu", &r, &c) != 2 || r == 0 || c == 0 || r > 100000 ||
            c > 100000) {
            snprintf(err, errlen, "%s:%d: expected 'NAME ROWS COLS' or 'KEY = VALUE'", path,
                     lineno);
            goto fail;
        }
        if (f->n_t == FX_MAX) goto toomany;
        cur = &f->t[f->n_t++];
        snprintf(cur->name, sizeof cur->name, "%s", a);
        cur->rows = r;
        cur->cols = c;
        cur->v = calloc(r * c, sizeof *cur->v);
        have = 0;
        if (!cur->v) {
            snprintf(err, errlen, "%s:%d: out of memory", path, lineno);
            goto fail;
        }
    }
    if (cur) {
        snprintf(err, errlen, "%s: table %s has %zu of %zu numbers", path, cur->name, have,
                 cur->rows * cur->cols);
        goto fail;
    }
    fclose(fp);
    return 0;
toomany:
    snprintf(err, errlen, "%s:%d: more than %d tables or options", path, lineno, FX_MAX);
fail:
    fclose(fp);
    fx_free(f);
    return -1;
}

/* The table called name with rows x cols (0 = any), or NULL. */
static const fx_table *fx_get(const fx_file *f, const char *name, size_t rows, size_t cols)
{
    for (int i = 0; i < f->n_t; i++) {
        const fx_table *t = &f->t[i];
        if (strcmp(t->name, name) == 0 && (!rows || t->rows == rows) &&
            (!cols || t->cols == cols))
            return t;
    }
    return NULL;
}

/* The value of option key, or NULL. */
static inline const char *fx_str(const fx_file *f, const char *key)
{
    for (int i = 0; i < f->n_o; i++)
        if (strcmp(f->o[i].key, key) == 0) return f->o[i].val;
    return NULL;
}

/* Option key as a number; fails the case (and returns NAN) if missing. */
static inline double fx_num(const fx_file *f, const char *key)
{
    const char *s = fx_str(f, key);
    CHECKF(s != NULL, "fixture has no option '%s'", key);
    return s ? strtod(s, NULL) : NAN;
}

/* Table name (rows x cols) as floats (caller frees), or NULL and a FAIL. */
static inline float *fx_floats(const fx_file *f, const char *name, size_t rows, size_t cols)
{
    const fx_table *t = fx_get(f, name, rows, cols);
    CHECKF(t != NULL, "fixture has no table '%s %zu %zu'", name, rows, cols);
    if (!t) return NULL;
    float *v = malloc(rows * cols * sizeof *v);
    CHECK(v != NULL);
    for (size_t i = 0; v && i < rows * cols; i++) v[i] = (float)t->v[i];
    return v;
}

#endif
