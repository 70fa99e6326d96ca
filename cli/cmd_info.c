/* cmd_info.c - `lamina info MODEL`: architecture, parameter count,
 * normalisation, class names and training metadata. */
#include "cli.h"
#include "opts.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct norm_summary {
    int present, uniform;  /* uniform: one mean and one scale for all inputs */
    float mean_lo, mean_hi, scale_lo, scale_hi;
} norm_summary;

static int summarise_norm(const lm_net *net, norm_summary *s)
{
    int n = lm_net_n_in(net);
    float *mean = malloc((size_t)n * sizeof *mean), *scale = malloc((size_t)n * sizeof *scale);
    memset(s, 0, sizeof *s);
    if (!mean || !scale) {
        free(mean);
        free(scale);
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    s->present = lm_net_get_norm(net, mean, scale);
    if (s->present) {
        s->mean_lo = s->mean_hi = mean[0];
        s->scale_lo = s->scale_hi = scale[0];
        for (int j = 1; j < n; j++) {
            s->mean_lo = fminf(s->mean_lo, mean[j]);
            s->mean_hi = fmaxf(s->mean_hi, mean[j]);
            s->scale_lo = fminf(s->scale_lo, scale[j]);
            s->scale_hi = fmaxf(s->scale_hi, scale[j]);
        }
        s->uniform = s->mean_lo == s->mean_hi && s->scale_lo == s->scale_hi;
    }
    free(mean);
    free(scale);
    return CLI_OK;
}

/* "(C, H, W)", or "(C)" for a flat shape. */
static const char *shape_text(char *buf, size_t size, int c, int h, int w)
{
    if (h == 1 && w == 1) snprintf(buf, size, "(%d)", c);
    else snprintf(buf, size, "(%d, %d, %d)", c, h, w);
    return buf;
}

/* One row a layer, as Keras' summary(): kind, output shape, parameters,
 * and the layer's settings in the --layers syntax. */
static void print_layer_table(const lm_net *net)
{
    char sh[64];
    lm_layer_desc d = {.size = sizeof d};
    if (lm_net_layer_desc(net, 0, &d)) return;
    printf("  %-3s %-15s %-16s %10s  %s\n", "#", "layer", "output shape", "params", "spec");
    printf("  %-3s %-15s %s\n", "", "input", shape_text(sh, sizeof sh, d.in_c, d.in_h, d.in_w));
    for (int i = 0; i < lm_net_n_layers(net); i++) {
        cli_layer_spec l;
        if (lm_net_layer_desc(net, i, &d) || cli_spec_of_layer(net, i, &l)) break;
        char item[160];
        cli_spec_item_format(&l, item, sizeof item);
        printf("  %-3d %-15s %-16s %10zu  %s\n", i + 1, lm_layer_kind_name(d.kind),
               shape_text(sh, sizeof sh, d.out_c, d.out_h, d.out_w), d.n_params, item);
    }
}

/* What the file holds beyond the net: a training state (lm_train_save)
 * and, from the metadata training wrote, whether training finished. */
typedef struct state_summary {
    int has_state, epochs; /* the training state and the epochs it covers */
    uint64_t steps;
    const char *state;     /* "trained", "partial", "untrained" or NULL (older files) */
    const char *planned;   /* epochs the run was asked for, or NULL */
} state_summary;

/* Lines of the text form: "key:       value", the value wrapped to the
 * output's width with its later lines under its first (VALUE_COL). */
enum { VALUE_COL = 12, META_COL = 19 };

static void print_field(const char *key, const char *value, int width, const char *seps)
{
    int col = printf("%-*s", VALUE_COL, key);
    cli_wrap(stdout, value, col, VALUE_COL, width, seps);
}

static void print_state(const lm_net *net, const state_summary *ss, int width)
{
    const char *kept = lm_net_get_meta(net, "epochs");
    char b[512];
    int n;
    // a Ctrl-C's mid-epoch state: its steps run past the epochs done
    const char *part = lm_net_get_meta(net, "epoch_steps");
    unsigned long long mid = part ? strtoull(part, NULL, 10) : 0;
    if (ss->has_state && mid > 0 && mid <= ss->steps)
        n = snprintf(b, sizeof b, "resumable state after %d epoch%s and %llu step%s of epoch %d "
                     "(%llu steps in all; --resume runs epoch %d again from there)", ss->epochs,
                     ss->epochs == 1 ? "" : "s", mid, mid == 1 ? "" : "s", ss->epochs + 1,
                     (unsigned long long)ss->steps, ss->epochs + 1);
    else if (ss->has_state)
        n = snprintf(b, sizeof b, "resumable state after %d epoch%s (%llu step%s)", ss->epochs,
                     ss->epochs == 1 ? "" : "s", (unsigned long long)ss->steps,
                     ss->steps == 1 ? "" : "s");
    else
        n = snprintf(b, sizeof b, "no training state (not resumable)%s%.64s%s", kept ? "; " : "",
                     kept ? kept : "", !kept ? "" : strcmp(kept, "1") ? " epochs" : " epoch");
    size_t at = n > 0 && (size_t)n < sizeof b ? (size_t)n : strlen(b);
    if (ss->state && !strcmp(ss->state, "untrained"))
        snprintf(b + at, sizeof b - at, "; UNTRAINED: interrupted before its first epoch ended");
    else if (ss->state && !strcmp(ss->state, "partial"))
        snprintf(b + at, sizeof b - at, "; PARTLY TRAINED: %.64s of %.64s epochs",
                 kept ? kept : "?", ss->planned ? ss->planned : "?");
    else if (ss->state)
        snprintf(b + at, sizeof b - at, "; training finished");
    print_field("training:", b, width, " ");
}

/* The class names, one space between them, as one string (NULL when out
 * of memory). */
static char *class_list(const lm_net *net)
{
    size_t len = 1;
    for (int i = 0; i < cli_model_n_classes(net) && lm_net_class_name(net, i); i++)
        len += 4 * strlen(lm_net_class_name(net, i)) + 4;
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = '\0';
    size_t at = 0;
    for (int i = 0; i < cli_model_n_classes(net) && lm_net_class_name(net, i); i++) {
        if (i) s[at++] = ' ';
        at += cli_name_shown(s + at, lm_net_class_name(net, i), 0);
    }
    return s;
}

/* A column list (lm_csv_list_next) with each empty name (a header cell
 * with no name, pandas' index) written "", which the list reads back as
 * the same empty name, so it shows as something; the other items as they
 * are. malloc'd; NULL out of memory. */
static char *list_shown(const char *v)
{
    size_t n = strlen(v), at = 0;
    char *s = malloc(3 * n + 3); // at worst every item empty: n + 1 of them
    for (const char *p = v; s && p;) {
        const char *from = p;
        size_t len = lm_csv_list_next(&p, NULL, 0);
        size_t raw = p ? (size_t)(p - from) - 1 : strlen(from); // its comma left out
        if (at) s[at++] = ',';
        memcpy(s + at, len ? from : "\"\"", len ? raw : 2);
        at += len ? raw : 2;
    }
    if (s) s[at] = '\0';
    return s;
}

/* One metadata entry: the key in a column of 16, the value wrapped under
 * itself. The files training recorded (absolute paths) are never broken:
 * a path stays one piece to copy. features is a list of names joined by
 * ',' (a name may hold spaces): it breaks after the commas only, so
 * joining its lines gives the list back. */
static void print_meta(const char *k, const char *v, int width)
{
    static const char *const paths[] = {"data", "labels", "test", "test-labels", "val-data",
                                        "val-labels", "out", "checkpoint"};
    int list = !strcmp(k, "features");
    const char *seps = list ? "," : " ,";
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!strcmp(k, paths[i])) seps = "";
    char *shown = list ? list_shown(v) : NULL;
    int col = printf("  %-16s ", k);
    cli_wrap(stdout, shown ? shown : v, col, META_COL, width, seps);
    free(shown);
}

/* ------------------------------------------------------------ one-hot */

/* Decodes %XX escapes of the encoding (lm_data_categories) from s[0..len)
 * into out (at least len + 1 bytes). */
static void enc_unescape(const char *s, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            out[w++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
}

/* Calls fn for each column of the model's "categories" metadata (one-hot
 * inputs): its first input, name and values (k of them, decoded). */
static void each_category(const lm_net *net, void (*fn)(int i, int first, const char *name,
                                                       char **vals, int k, void *ctx),
                          void *ctx)
{
    const char *e = lm_net_get_meta(net, "categories");
    if (!e) return;
    size_t n = strlen(e);
    char *buf = malloc(n + 1), **vals = malloc((n + 1) * sizeof *vals), *w = buf;
    char *tmp = malloc(n + 24); // room for "column J" in place of "#J"
    for (int i = 0; buf && vals && tmp && *e; i++) {
        size_t el = strcspn(e, ";");
        const char *colon = memchr(e, ':', el), *eq = colon ? memchr(colon, '=', el - (size_t)(colon - e)) : NULL;
        if (!colon || !eq) break;
        int first = atoi(e);
        if (colon[1] == '#') // "#J": a column found by index (its header name empty or shared)
            snprintf(tmp, n + 24, "column %.*s", (int)(eq - colon - 2), colon + 2);
        else
            enc_unescape(colon + 1, (size_t)(eq - colon - 1), tmp);
        int k = 0;
        for (const char *v = eq + 1; v <= e + el;) {
            size_t vl = strcspn(v, ",;");
            if (v + vl > e + el) vl = (size_t)(e + el - v);
            enc_unescape(v, vl, w);
            vals[k++] = w;
            w += strlen(w) + 1;
            v += vl + 1;
        }
        fn(i, first, tmp, vals, k, ctx);
        w = buf;
        e += el + (e[el] == ';');
    }
    free(buf);
    free(vals);
    free(tmp);
}

typedef struct cat_print {
    int width;
} cat_print;

static void print_category(int i, int first, const char *name, char **vals, int k, void *ctx)
{
    // Names and values as the class list shows them (a value holding a
    // comma quoted too): a newline or a ", " inside one stays visible.
    const cat_print *cp = ctx;
    size_t len = 0, most = strlen(name), cap = 64 + 4 * strlen(name);
    for (int v = 0; v < k; v++) {
        cap += 4 * strlen(vals[v]) + 5;
        most = strlen(vals[v]) > most ? strlen(vals[v]) : most;
    }
    char *b = malloc(cap), *shown = malloc(4 * most + 3);
    if (b && shown) {
        cli_name_shown(shown, name, 0);
        cli_append(b, cap, &len, "%s -> inputs %d..%d:", shown, first, first + k - 1);
        for (int v = 0; v < k; v++) {
            cli_name_shown(shown, vals[v], 1);
            cli_append(b, cap, &len, "%s %s", v ? "," : "", shown);
        }
        print_field(i ? "" : "one-hot:", b, cp->width, ",");
    }
    free(b);
    free(shown);
}

static void json_category(int i, int first, const char *name, char **vals, int k, void *ctx)
{
    (void)ctx;
    printf("%s{\"column\": ", i ? ", " : "");
    json_str(stdout, name);
    printf(", \"first_input\": %d, \"values\": [", first);
    for (int v = 0; v < k; v++) {
        if (v) printf(", ");
        json_str(stdout, vals[v]);
    }
    printf("]}");
}

static void print_text(const char *path, const lm_net *net, const norm_summary *ns,
                       const state_summary *ss)
{
    // Wrapped to the terminal (or $COLUMNS, else 80); the layer table is
    // not: its columns are fixed and it fits 80 as it is.
    int width = cli_out_width(fileno(stdout));
    char spec[2048], b[512];
    cli_spec_format(net, spec, sizeof spec);
    printf("model:      %s\n", path); // the user's own path, never broken
    int col = printf("layers:     %d inputs -> ", lm_net_n_in(net));
    cli_wrap(stdout, spec, col, VALUE_COL, width, ",");
    print_layer_table(net);
    printf("params:     %zu (checksum %016llx)\n", lm_net_n_params(net),
           (unsigned long long)cli_params_hash(net));
    if (lm_net_n_state(net)) printf("state:      %zu values (running statistics)\n", lm_net_n_state(net));
    if (!ns->present)
        snprintf(b, sizeof b, "none");
    else if (ns->uniform)
        snprintf(b, sizeof b, "(x - %g) * %g for every input", ns->mean_lo, ns->scale_lo);
    else
        snprintf(b, sizeof b, "standardised per input: mean in [%g, %g], 1/std in [%g, %g]",
                 ns->mean_lo, ns->mean_hi, ns->scale_lo, ns->scale_hi);
    print_field("input norm:", b, width, " ");
    print_state(net, ss, width);
    if (lm_net_class_name(net, 0)) {
        char *list = class_list(net), *one = NULL;
        const char *second = lm_net_n_out(net) == 1 ? lm_net_class_name(net, 1) : NULL;
        if (list && second) { // two classes as one sigmoid output
            size_t size = strlen(list) + strlen(second) + 48;
            if ((one = malloc(size)))
                snprintf(one, size, "%s (one output: the probability of %s)", list, second);
        }
        print_field("classes:", one ? one : list ? list : "(out of memory)", width, " ");
        free(one);
        free(list);
    }
    cat_print cp = {width};
    each_category(net, print_category, &cp);
    const char *mv = lm_net_get_meta(net, "missing");
    if (mv && !strcmp(mv, "mean"))
        print_field("missing:", "a missing cell (empty, NA, N/A, n/a, NaN, nan, null, NULL, None, "
                    "?) is the training mean; in a one-hot column, all 0", width, " ");
    if (lm_net_n_meta(net)) printf("metadata:\n");
    for (int i = 0; i < lm_net_n_meta(net); i++) {
        const char *k, *v;
        lm_net_meta_at(net, i, &k, &v);
        if (*v) print_meta(k, v, width); // "": a setting a resumed run dropped
    }
}

/* Whether s is a number as JSON writes one:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s)
{
    if (*s == '-') s++;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') while (isdigit((unsigned char)*s)) s++;
    else return 0;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s)) return 0;
        while (isdigit((unsigned char)*s)) s++;
    }
    if (*s == 'e' || *s == 'E') {
        if (*++s == '+' || *s == '-') s++;
        if (!isdigit((unsigned char)*s)) return 0;
        while (isdigit((unsigned char)*s)) s++;
    }
    return *s == '\0';
}

/* A metadata value as JSON: a number when the whole text is one (so
 * "epochs": 10 and "lr": 0.001 read as numbers), else a string. */
static void json_meta_value(const char *v)
{
    if (is_json_number(v)) fputs(v, stdout);
    else json_str(stdout, v);
}

static void print_json(const char *path, const lm_net *net, const norm_summary *ns,
                       const state_summary *ss)
{
    char spec[2048];
    cli_spec_format(net, spec, sizeof spec);
    printf("{\"model\": ");
    json_str(stdout, path);
    /* the input's (C, H, W), as the text form's first row shows it */
    lm_layer_desc in = {.size = sizeof in};
    if (lm_net_layer_desc(net, 0, &in)) in.in_c = lm_net_n_in(net), in.in_h = in.in_w = 1;
    printf(", \"inputs\": %d, \"input_shape\": [%d, %d, %d], \"outputs\": %d, \"params\": %zu, "
           "\"params_hash\": \"%016llx\", \"spec\": ", lm_net_n_in(net), in.in_c, in.in_h, in.in_w,
           lm_net_n_out(net), lm_net_n_params(net), (unsigned long long)cli_params_hash(net));
    json_str(stdout, spec);
    printf(", \"layers\": [");
    for (int i = 0; i < lm_net_n_layers(net); i++) {
        lm_layer_info li;
        lm_layer_desc d = {.size = sizeof d};
        if (lm_net_layer(net, i, &li) || lm_net_layer_desc(net, i, &d)) break;
        printf("%s{\"kind\": \"%s\", \"in\": %d, \"out\": %d, \"out_shape\": [%d, %d, %d], \"params\": %zu, "
               "\"activation\": \"%s\", \"bias\": %s}", i ? ", " : "", lm_layer_kind_name(d.kind), li.n_in, li.n_out,
               d.out_c, d.out_h, d.out_w, d.n_params, lm_act_name(li.act), li.has_bias ? "true" : "false");
    }
    printf("], \"normalisation\": ");
    if (!ns->present) {
        printf("null");
    } else {
        printf("{\"mean_min\": ");
        json_num(stdout, ns->mean_lo);
        printf(", \"mean_max\": ");
        json_num(stdout, ns->mean_hi);
        printf(", \"scale_min\": ");
        json_num(stdout, ns->scale_lo);
        printf(", \"scale_max\": ");
        json_num(stdout, ns->scale_hi);
        printf("}");
    }
    printf(", \"classes\": ");
    if (!lm_net_class_name(net, 0)) {
        printf("null");
    } else {
        putchar('[');
        for (int i = 0; i < cli_model_n_classes(net) && lm_net_class_name(net, i); i++) {
            if (i) printf(", ");
            json_str(stdout, lm_net_class_name(net, i) ? lm_net_class_name(net, i) : "");
        }
        putchar(']');
    }
    printf(", \"meta\": {");
    for (int i = 0, shown = 0; i < lm_net_n_meta(net); i++) {
        const char *k, *v;
        lm_net_meta_at(net, i, &k, &v);
        if (!*v) continue; // "": a setting a resumed run dropped, left out as in the text
        if (shown++) printf(", ");
        json_str(stdout, k);
        printf(": ");
        json_meta_value(v);
    }
    printf("}, \"one_hot\": [");
    each_category(net, json_category, NULL);
    printf("], \"training_state\": ");
    if (ss->has_state)
        printf("{\"epochs\": %d, \"steps\": %llu}", ss->epochs, (unsigned long long)ss->steps);
    else
        printf("null");
    printf(", \"state\": ");
    if (ss->state) json_str(stdout, ss->state);
    else printf("null");
    printf("}\n");
}

int cmd_info(int argc, char **argv)
{
    int json = 0;
    opt_spec specs[] = {
        opt_flag("json", &json, 1, "print one JSON object"),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("info", specs, argc, argv, 2, pos, 1, &n_pos, "MODEL [--json]",
                        "Shows a model's layers, parameter count and checksum, input "
                        "normalisation, class names and the metadata training recorded.");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1) {
        cli_err("info: which model? usage: lamina info MODEL [--json]");
        return CLI_EUSAGE;
    }
    lm_net *net;
    if (lm_net_load(&net, pos[0]) != LM_OK) return cli_lib_err(CLI_EMODEL, pos[0]);
    norm_summary ns;
    state_summary ss = {0};
    rc = summarise_norm(net, &ns);
    if (!rc && lm_train_state_info(pos[0], &ss.has_state, &ss.epochs, &ss.steps) != LM_OK)
        rc = cli_lib_err(CLI_EMODEL, pos[0]);
    ss.state = lm_net_get_meta(net, "state");
    ss.planned = lm_net_get_meta(net, "epochs_planned");
    if (!rc) {
        if (json) print_json(pos[0], net, &ns, &ss);
        else print_text(pos[0], net, &ns, &ss);
    }
    lm_net_free(net);
    return rc;
}
