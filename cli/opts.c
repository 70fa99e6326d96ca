/* opts.c - GNU-style long options with strict number checks. A number
 * must be the whole argument, finite and in range: "--epochs -1",
 * "--lr nan", "--batch 0", "--epochs 1e99" and "10x" are usage errors. */
#include "opts.h"
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

opt_spec *opts_find(opt_spec *specs, const char *name)
{
    for (opt_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

int opts_seen(opt_spec *specs, const char *name)
{
    opt_spec *s = opts_find(specs, name);
    return s && s->seen;
}

static opt_spec *find_n(opt_spec *specs, const char *name, size_t len)
{
    for (opt_spec *s = specs; s->name; s++)
        if (strlen(s->name) == len && strncmp(s->name, name, len) == 0) return s;
    return NULL;
}

static int bad_value(const char *cmd, const opt_spec *s, const char *v, const char *why)
{
    cli_err("%s: --%s '%s': %s (see lamina %s --help)", cmd, s->name, v, why, cmd);
    return 2;
}

static int range_error(const char *cmd, const opt_spec *s, const char *v)
{
    char why[160];
    if (s->kind == OPT_INT)
        snprintf(why, sizeof why, "must be an integer in [%.0f, %.0f]", s->min, s->max);
    else if (s->max >= 1e300)
        snprintf(why, sizeof why, "must be %s %g", s->min_open & 1 ? "above" : "at least",
                 s->min);
    else
        snprintf(why, sizeof why, "must be in %c%g, %g%c", s->min_open & 1 ? '(' : '[',
                 s->min, s->max, s->min_open & 2 ? ')' : ']');
    return bad_value(cmd, s, v, why);
}

static int parse_int(const char *cmd, opt_spec *s, const char *v)
{
    char *end;
    if (!*v || isspace((unsigned char)*v)) return bad_value(cmd, s, v, "expected an integer");
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end) return bad_value(cmd, s, v, "expected an integer");
    if (errno == ERANGE || (double)x < s->min || (double)x > s->max)
        return range_error(cmd, s, v);
    *(int *)s->dest = (int)x;
    return 0;
}

static int parse_u64(const char *cmd, opt_spec *s, const char *v)
{
    char *end;
    if (!isdigit((unsigned char)*v)) return bad_value(cmd, s, v, "expected a non-negative integer");
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end) return bad_value(cmd, s, v, "expected a non-negative integer");
    if (errno == ERANGE) return bad_value(cmd, s, v, "too large for 64 bits");
    *(uint64_t *)s->dest = (uint64_t)x;
    return 0;
}

static int parse_float(const char *cmd, opt_spec *s, const char *v)
{
    char *end;
    if (!*v || isspace((unsigned char)*v)) return bad_value(cmd, s, v, "expected a number");
    errno = 0;
    double x = strtod(v, &end);
    if (*end) return bad_value(cmd, s, v, "expected a number");
    /* judge the value the option will hold: 1e39 is Inf and 1e-158 is 0
     * as a float */
    float f = (float)x;
    if (!isfinite(x) || !isfinite(f) || errno == ERANGE) return bad_value(cmd, s, v, "not a finite number");
    if ((double)f < s->min || (s->min_open & 1 && (double)f == s->min) || (double)f > s->max ||
        (s->min_open & 2 && (double)f == s->max))
        return range_error(cmd, s, v);
    *(float *)s->dest = f;
    return 0;
}

static int parse_choice(const char *cmd, opt_spec *s, const char *v)
{
    char why[256];
    size_t len = 0;
    for (int i = 0; s->choices[i]; i++) {
        if (strcmp(s->choices[i], v) == 0) {
            *(int *)s->dest = i;
            return 0;
        }
    }
    len += (size_t)snprintf(why, sizeof why, "expected one of");
    for (int i = 0; s->choices[i] && len < sizeof why; i++)
        len += (size_t)snprintf(why + len, sizeof why - len, "%s %s", i ? "," : "",
                                s->choices[i]);
    return bad_value(cmd, s, v, why);
}

static int set_value(const char *cmd, opt_spec *s, const char *v)
{
    switch (s->kind) {
    case OPT_INT: return parse_int(cmd, s, v);
    case OPT_U64: return parse_u64(cmd, s, v);
    case OPT_FLOAT: return parse_float(cmd, s, v);
    case OPT_CHOICE: return parse_choice(cmd, s, v);
    case OPT_STR:
        if (!*v) return bad_value(cmd, s, v, "expected a non-empty value");
        *(const char **)s->dest = v;
        return 0;
    case OPT_FLAG: break;
    }
    return 0;
}

int opts_set(const char *cmd, opt_spec *s, const char *value)
{
    if (s->kind == OPT_FLAG) return 0;
    return set_value(cmd, s, value);
}

/* Edit distance between a[0..na) and b (insertions, deletions,
 * substitutions and swaps of neighbours); 99 for names over 40 bytes. */
int opts_distance(const char *a, size_t na, const char *b)
{
    enum { MAXLEN = 40 };
    size_t nb = strlen(b);
    if (na > MAXLEN || nb > MAXLEN) return 99;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb];
}

/* The option an unknown --name most likely meant: the only one it starts
 * (--epoch) or the only one of 4 letters or more that starts it
 * (--batchsize), else the nearest within 2 edits (1 for names of 3 or 4
 * letters; none for shorter ones). */
static const opt_spec *nearest(const opt_spec *specs, const char *name, size_t len)
{
    const opt_spec *best = NULL, *prefix = NULL, *stem = NULL;
    int best_d = 99, prefixes = 0, stems = 0;
    for (const opt_spec *s = specs; s->name; s++) {
        size_t n = strlen(s->name);
        if (len >= 3 && strncmp(s->name, name, len) == 0) {
            prefix = s;
            prefixes++;
        }
        if (n >= 4 && n < len && strncmp(s->name, name, n) == 0) {
            stem = s;
            stems++;
        }
        int d = opts_distance(name, len, s->name);
        if (d < best_d) best_d = d, best = s;
    }
    if (prefixes == 1) return prefix;
    if (stems == 1) return stem;
    if (len < 3) return NULL;
    return best_d <= (len <= 4 ? 1 : 2) ? best : NULL;
}

/* One "--name[=value]" at argv[*i]; may consume the next argument. */
static int parse_long(const char *cmd, opt_spec *specs, int argc, char **argv, int *i)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    opt_spec *s = find_n(specs, arg, len);
    if (!s) {
        const opt_spec *near = strcmp(arg, "help") ? nearest(specs, arg, len) : NULL;
        if (near)
            cli_err("%s: unknown option '--%.*s'; did you mean --%s? (see lamina %s --help)", cmd,
                    (int)len, arg, near->name, cmd);
        else
            cli_err("%s: unknown option '--%.*s' (see lamina %s --help)", cmd, (int)len, arg,
                    cmd);
        return 2;
    }
    s->seen = 1;
    if (s->kind == OPT_FLAG) {
        if (eq) {
            cli_err("%s: --%s takes no value", cmd, s->name);
            return 2;
        }
        *(int *)s->dest = s->flag_value;
        return 0;
    }
    if (eq) return set_value(cmd, s, eq + 1);
    if (*i + 1 >= argc || (strncmp(argv[*i + 1], "--", 2) == 0 && s->kind == OPT_STR)) {
        cli_err("%s: --%s needs a value (%s)", cmd, s->name, s->metavar ? s->metavar : "");
        return 2;
    }
    *i += 1;
    return set_value(cmd, s, argv[*i]);
}

int opts_parse(const char *cmd, opt_spec *specs, int argc, char **argv, int first,
               char **pos, int max_pos, int *n_pos, const char *usage, const char *about)
{
    int only_pos = 0;
    *n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
        } else if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            opts_help(stdout, cmd, specs, usage, about);
            return 1;
        } else if (!only_pos && strncmp(a, "--", 2) == 0) {
            int rc = parse_long(cmd, specs, argc, argv, &i);
            if (rc) return rc;
        } else if (!only_pos && a[0] == '-' && a[1]) {
            cli_err("%s: '%s': options are long, --name (see lamina %s --help)",
                    cmd, a, cmd);
            return 2;
        } else {
            if (*n_pos >= max_pos) {
                // "lamina predict m.lmn new.csv": the file wants --data
                const opt_spec *d = opts_find(specs, "data");
                if (d && !d->seen)
                    cli_err("%s: unexpected argument '%s'; did you mean --data %s? (see lamina "
                            "%s --help)", cmd, a, a, cmd);
                else
                    cli_err("%s: unexpected argument '%s' (see lamina %s --help)", cmd, a, cmd);
                return 2;
            }
            pos[(*n_pos)++] = argv[i];
        }
    }
    return 0;
}

void opts_help(FILE *f, const char *cmd, const opt_spec *specs, const char *usage,
               const char *about)
{
    // Texts are paragraphs; the layout (the description column, the
    // width) is made here, so a longer text stays inside 79 columns.
    enum { DESC_COL = 29 }; // "  " + 26 columns of option + " "
    const int width = CLI_HELP_WIDTH;
    int col = fprintf(f, "usage: lamina %s ", cmd);
    cli_wrap(f, usage, col, col, width, " ");
    fputc('\n', f);
    cli_wrap(f, about, 0, 0, width, " ");
    fprintf(f, "\noptions:\n");
    for (const opt_spec *s = specs; s->name; s++) {
        char left[64], text[1024];
        if (s->kind == OPT_FLAG)
            snprintf(left, sizeof left, "--%s", s->name);
        else
            snprintf(left, sizeof left, "--%s %s", s->name, s->metavar ? s->metavar : "X");
        snprintf(text, sizeof text, "%s%s%s%s", s->help, s->def ? " [" : "",
                 s->def ? s->def : "", s->def ? "]" : "");
        col = fprintf(f, "  %-26s ", left);
        cli_wrap(f, text, col, DESC_COL, width, " ");
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help");
    col = fprintf(f, "\nexit codes: ") - 1;
    cli_wrap(f, "0 ok, 1 error, 2 usage, 3 data file, 4 model file, 5 NaN/Inf in training, "
                "130 interrupted, 143 terminated", col, col, width, ",");
}
