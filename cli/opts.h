/* opts.h - a small GNU-style long-option parser: --name value and
 * --name=value, strict numbers with ranges, help with defaults. */
#ifndef LAMINA_OPTS_H
#define LAMINA_OPTS_H

#include <stdint.h>
#include <stdio.h>

typedef enum opt_kind {
    OPT_FLAG,   /* no value; stores flag_value into *(int *)dest */
    OPT_INT,    /* int in [min, max] */
    OPT_U64,    /* uint64_t in [0, UINT64_MAX] (seeds) */
    OPT_FLOAT,  /* finite float in [min, max] (min_open: (min, max], 2 [min, max), 3 both open) */
    OPT_STR,    /* const char * */
    OPT_CHOICE  /* one of choices[]; stores the index into *(int *)dest */
} opt_kind;

typedef struct opt_spec {
    const char *name;    /* without the leading "--" */
    opt_kind kind;
    void *dest;
    const char *metavar; /* "N", "FILE" ... shown in help */
    const char *help;
    const char *def;     /* default shown in brackets, or NULL */
    double min, max;
    int min_open;        /* 1: the minimum itself is refused; | 2: the maximum too */
    const char *const *choices; /* NULL-terminated, for OPT_CHOICE */
    int flag_value;
    int seen;            /* set by opts_parse when given */
} opt_spec;

/* Constructors for the entries of an option table (ended by opt_end()). */
static inline opt_spec opt_flag(const char *name, int *dest, int value, const char *help)
{
    opt_spec s = {name, OPT_FLAG, dest, NULL, help, NULL, 0, 0, 0, NULL, value, 0};
    return s;
}
static inline opt_spec opt_int(const char *name, int *dest, const char *metavar,
                               const char *help, const char *def, double min, double max)
{
    opt_spec s = {name, OPT_INT, dest, metavar, help, def, min, max, 0, NULL, 0, 0};
    return s;
}
static inline opt_spec opt_u64(const char *name, uint64_t *dest, const char *metavar,
                               const char *help, const char *def)
{
    opt_spec s = {name, OPT_U64, dest, metavar, help, def, 0, 0, 0, NULL, 0, 0};
    return s;
}
/* A float in [min, max], or (min, max] when min_open is 1, [min, max)
 * when 2, (min, max) when 3. */
static inline opt_spec opt_float(const char *name, float *dest, const char *metavar,
                                 const char *help, const char *def, double min, int min_open,
                                 double max)
{
    opt_spec s = {name, OPT_FLOAT, dest, metavar, help, def, min, max, min_open, NULL, 0, 0};
    return s;
}
static inline opt_spec opt_str(const char *name, const char **dest, const char *metavar,
                               const char *help, const char *def)
{
    opt_spec s = {name, OPT_STR, (void *)dest, metavar, help, def, 0, 0, 0, NULL, 0, 0};
    return s;
}
static inline opt_spec opt_choice(const char *name, int *dest, const char *metavar,
                                  const char *const *choices, const char *help,
                                  const char *def)
{
    opt_spec s = {name, OPT_CHOICE, dest, metavar, help, def, 0, 0, 0, choices, 0, 0};
    return s;
}
static inline opt_spec opt_end(void)
{
    opt_spec s = {NULL, OPT_FLAG, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0, 0};
    return s;
}

/* Parses argv[first..argc) against specs (terminated by a zeroed entry).
 * Positional arguments go to pos (at most max_pos). Returns 0 on success,
 * 1 when --help was printed (the caller exits 0), or 2 after one usage
 * message on stderr. */
int opts_parse(const char *cmd, opt_spec *specs, int argc, char **argv, int first,
               char **pos, int max_pos, int *n_pos, const char *usage,
               const char *about);

/* Prints the usage line, description and every option with its default. */
void opts_help(FILE *f, const char *cmd, const opt_spec *specs, const char *usage,
               const char *about);

/* Sets s from text with the same checks as the command line (used for
 * defaults read from a model's metadata). 0 or 2 after a message. */
int opts_set(const char *cmd, opt_spec *s, const char *value);

/* The spec named name (for checking opt_spec.seen), or NULL. */
opt_spec *opts_find(opt_spec *specs, const char *name);
int opts_seen(opt_spec *specs, const char *name);

/* Edit distance between a[0..na) and b (insertions, deletions,
 * substitutions and swaps of neighbours), for "did you mean"; 99 when
 * either is over 40 bytes. */
int opts_distance(const char *a, size_t na, const char *b);

#endif
