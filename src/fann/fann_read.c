/* fann_read.c - a FANN 2.x floating-point network file as a net
 * (lm_net_load_fann).
 *
 * fann_save writes a version line ("FANN_FLO_2.1"), then one "key=value"
 * line per setting, in a fixed order: the training settings (which a net
 * does not need and are skipped), num_layers, network_type, layer_sizes,
 * the scaling parameters when scale_included=1, then two long lines: each
 * neuron as "(num_inputs, activation_function, activation_steepness)",
 * layer after layer, and each connection as "(connected_to_neuron,
 * weight)", neuron after neuron. Every layer's size counts its bias
 * neuron (the last one, whose value is 1); in a layered net a neuron of
 * layer k connects to neurons of layer k-1 alone, so layer k is a dense
 * layer whose bias is the weight from layer k-1's bias neuron, and a
 * missing connection (a sparse net) a zero weight.
 *
 * FANN computes a neuron as f(s * sum) with s its steepness: s is folded
 * into the neuron's incoming weights and bias, times 2 for FANN_SIGMOID
 * (1/(1+exp(-2x))), so FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC (tanh) and
 * FANN_LINEAR map exactly onto sigmoid, tanh and identity layers; its
 * stepwise sigmoids onto the sigmoids they approximate, with a note. Every
 * count comes from the file: each is checked against the bytes of its
 * line before anything is allocated, and every index against its layer. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FANN's activation functions (fann_activationfunc_enum), as numbered in
 * its files. */
static const char *const fann_act_names[] = {
    "FANN_LINEAR",         "FANN_THRESHOLD",          "FANN_THRESHOLD_SYMMETRIC",
    "FANN_SIGMOID",        "FANN_SIGMOID_STEPWISE",   "FANN_SIGMOID_SYMMETRIC",
    "FANN_SIGMOID_SYMMETRIC_STEPWISE", "FANN_GAUSSIAN", "FANN_GAUSSIAN_SYMMETRIC",
    "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",          "FANN_ELLIOT_SYMMETRIC",
    "FANN_LINEAR_PIECE",   "FANN_LINEAR_PIECE_SYMMETRIC", "FANN_SIN_SYMMETRIC",
    "FANN_COS_SYMMETRIC",  "FANN_SIN",                "FANN_COS"};
#define FANN_LINEAR 0
#define FANN_SIGMOID 3
#define FANN_SIGMOID_STEPWISE 4
#define FANN_SIGMOID_SYMMETRIC 5
#define FANN_SIGMOID_SYMMETRIC_STEPWISE 6
#define N_FANN_ACTS ((unsigned)(sizeof fann_act_names / sizeof fann_act_names[0]))

/* FANN clamps s * sum to +-150 / s. Up to this steepness that clamp never
 * shows in a float sigmoid or tanh (sigmoid(300 / s) rounds to 1). */
#define FANN_MAX_STEEPNESS 16.0

/* A line of the file: its text (without the line end) and number. */
typedef struct fr_line {
    const char *p;
    size_t len, no;
} fr_line;

typedef struct fr_ctx {
    const char *name; /* the file's path, or NULL (messages say "line N") */
    fr_line *lines;
    size_t n_lines;
} fr_ctx;

/* The keys lamina reads, each found once. */
enum {
    K_NUM_LAYERS, K_NETWORK_TYPE, K_LAYER_SIZES, K_SCALE_INCLUDED,
    K_MEAN_IN, K_DEV_IN, K_MIN_IN, K_FACTOR_IN, K_MEAN_OUT, K_DEV_OUT, K_MIN_OUT, K_FACTOR_OUT,
    K_NEURONS, K_CONNECTIONS, K_DECIMAL_POINT, K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "num_layers", "network_type", "layer_sizes", "scale_included",
    "scale_mean_in", "scale_deviation_in", "scale_new_min_in", "scale_factor_in",
    "scale_mean_out", "scale_deviation_out", "scale_new_min_out", "scale_factor_out",
    "neurons (num_inputs, activation_function, activation_steepness)",
    "connections (connected_to_neuron, weight)", "decimal_point"};

/* A message about line no of the file. */
static lm_status at_line(const fr_ctx *c, size_t no, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lm_status at_line(const fr_ctx *c, size_t no, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->name) return lm__err(LM_EFORMAT, "%s:%zu: %s", c->name, no, msg);
    return lm__err(LM_EFORMAT, "line %zu: %s", no, msg);
}

/* A cursor over one value (the text after "key="). */
typedef struct fr_cur {
    const char *p, *end;
} fr_cur;

static void skip_ws(fr_cur *u)
{
    while (u->p < u->end && isspace((unsigned char)*u->p)) u->p++;
}

static int at_end(fr_cur *u)
{
    skip_ws(u);
    return u->p >= u->end;
}

/* An unsigned decimal (at most max); 0 if there is none or it is larger. */
static int get_uint(fr_cur *u, uint64_t max, uint64_t *out)
{
    skip_ws(u);
    if (u->p >= u->end || *u->p < '0' || *u->p > '9') return 0;
    uint64_t v = 0;
    for (; u->p < u->end && *u->p >= '0' && *u->p <= '9'; u->p++) {
        v = v * 10 + (uint64_t)(*u->p - '0');
        if (v > max) return 0;
    }
    *out = v;
    return 1;
}

/* A finite float (as fscanf's %f reads it, up to the next separator). */
static int get_float(fr_cur *u, float *out)
{
    skip_ws(u);
    const char *q = u->p;
    while (q < u->end && !isspace((unsigned char)*q) && *q != ')' && *q != ',') q++;
    char tmp[128], *e;
    size_t len = (size_t)(q - u->p);
    if (len == 0 || len >= sizeof tmp) return 0;
    memcpy(tmp, u->p, len);
    tmp[len] = '\0';
    double v = strtod(tmp, &e);
    if (e != tmp + len || !isfinite(v) || fabs(v) > (double)FLT_MAX) return 0;
    u->p = q;
    *out = (float)v;
    return 1;
}

static int get_char(fr_cur *u, char ch)
{
    skip_ws(u);
    if (u->p >= u->end || *u->p != ch) return 0;
    u->p++;
    return 1;
}

/* Splits buf into lines (a final line end or none). */
static lm_status split_lines(fr_ctx *c, const char *buf, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++) n += buf[i] == '\n';
    c->lines = lm__alloc(n, sizeof *c->lines, "FANN file lines");
    if (!c->lines) return LM_ENOMEM;
    const char *p = buf, *end = buf + len;
    c->n_lines = 0;
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        const char *e = q ? q : end;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r') l--;
        c->lines[c->n_lines] = (fr_line){p, l, c->n_lines + 1};
        c->n_lines++;
        p = q ? q + 1 : end;
    }
    return LM_OK;
}

/* What the file says, before the net is built. */
typedef struct fr_file {
    size_t key_line[K_COUNT]; /* index into lines + 1, or 0 if absent */
    int n_layers;
    int *sizes;               /* (n_layers), bias neurons included */
    size_t n_neurons;
    uint32_t *n_con, *act;    /* (n_neurons) */
    float *steep;             /* (n_neurons) */
    size_t n_cons;
} fr_file;

static void file_free(fr_file *f)
{
    free(f->sizes);
    free(f->n_con);
    free(f->act);
    free(f->steep);
}

/* The value of key k: a cursor after "key=", and the line's number. */
static fr_cur value_of(const fr_ctx *c, const fr_file *f, int k, size_t *no)
{
    const fr_line *l = &c->lines[f->key_line[k] - 1];
    const char *eq = memchr(l->p, '=', l->len);
    *no = l->no;
    return (fr_cur){eq + 1, l->p + l->len};
}

static lm_status need(const fr_ctx *c, const fr_file *f, int k)
{
    if (f->key_line[k]) return LM_OK;
    return at_line(c, c->n_lines, "the file ends without %s= (is it all there?)", key_names[k]);
}

/* A key whose value is one unsigned integer. */
static lm_status key_uint(const fr_ctx *c, const fr_file *f, int k, uint64_t max, uint64_t *out)
{
    size_t no;
    lm_status st = need(c, f, k);
    if (st) return st;
    fr_cur u = value_of(c, f, k, &no);
    if (!get_uint(&u, max, out) || !at_end(&u))
        return at_line(c, no, "%s: expected a whole number up to %llu", key_names[k],
                       (unsigned long long)max);
    return LM_OK;
}

/* Files every "key=value" line by its key; refuses a version lamina
 * cannot read. */
static lm_status index_keys(const fr_ctx *c, fr_file *f)
{
    const fr_line *v = &c->lines[0];
    char ver[32];
    snprintf(ver, sizeof ver, "%.*s", (int)(v->len < 20 ? v->len : 20), v->p);
    if (!strcmp(ver, "FANN_FIX_2.0") || !strcmp(ver, "FANN_FIX_2.1") || !strcmp(ver, "FANN_FIX_1.1"))
        return at_line(c, 1, "%s is a fixed-point FANN net (fann_save_to_fixed), which lamina "
                       "does not read: save the float net with fann_save", ver);
    if (!strcmp(ver, "FANN_FLO_1.1"))
        return at_line(c, 1, "FANN_FLO_1.1 is FANN 1.x's format, which lamina does not read: "
                       "load and save it with FANN 2.x (fann_save)");
    if (strcmp(ver, "FANN_FLO_2.0") && strcmp(ver, "FANN_FLO_2.1"))
        return at_line(c, 1, "not a FANN network file (its first line is not FANN_FLO_2.1 or "
                       "FANN_FLO_2.0)");
    for (size_t i = 1; i < c->n_lines; i++) {
        const fr_line *l = &c->lines[i];
        const char *eq = memchr(l->p, '=', l->len);
        if (!eq) {
            int blank = 1;
            for (size_t j = 0; j < l->len; j++) blank &= isspace((unsigned char)l->p[j]) != 0;
            if (blank) continue;
            char shown[44];
            size_t n = l->len < 40 ? l->len : 40;
            for (size_t j = 0; j < n; j++) shown[j] = isprint((unsigned char)l->p[j]) ? l->p[j] : '?';
            shown[n] = '\0';
            return at_line(c, l->no, "expected key=value, found '%s%s'", shown,
                           l->len > 40 ? "..." : "");
        }
        size_t kl = (size_t)(eq - l->p);
        for (int k = 0; k < K_COUNT; k++) {
            if (strlen(key_names[k]) != kl || memcmp(key_names[k], l->p, kl)) continue;
            if (f->key_line[k])
                return at_line(c, l->no, "%s= again (first on line %zu)", key_names[k],
                               c->lines[f->key_line[k] - 1].no);
            f->key_line[k] = i + 1;
        }
        // other keys are FANN's training settings: a net needs none of them
    }
    if (f->key_line[K_DECIMAL_POINT])
        return at_line(c, c->lines[f->key_line[K_DECIMAL_POINT] - 1].no,
                       "decimal_point= belongs to fixed-point FANN nets, which lamina does not read");
    return LM_OK;
}

static lm_status read_layers(const fr_ctx *c, fr_file *f)
{
    uint64_t v;
    size_t no;
    lm_status st;
    if ((st = key_uint(c, f, K_NETWORK_TYPE, 1000, &v))) return st;
    if (v != 0) {
        value_of(c, f, K_NETWORK_TYPE, &no);
        return at_line(c, no, "network_type=%llu: %s; lamina reads layered nets (network_type=0) "
                       "only", (unsigned long long)v, v == 1 ? "a shortcut net (fann_create_shortcut "
                       "or cascade training), whose neurons take every earlier layer"
                       : "an unknown network type");
    }
    if ((st = need(c, f, K_LAYER_SIZES))) return st;
    fr_cur u = value_of(c, f, K_LAYER_SIZES, &no);
    // num_layers is checked against the sizes the line really holds
    if ((st = key_uint(c, f, K_NUM_LAYERS, (uint64_t)(u.end - u.p) / 2 + 1, &v))) return st;
    if (v < 2) {
        size_t nl;
        value_of(c, f, K_NUM_LAYERS, &nl);
        return at_line(c, nl, "num_layers=%llu: a net has an input and an output layer at least",
                       (unsigned long long)v);
    }
    f->n_layers = (int)v;
    f->sizes = lm__alloc((size_t)v, sizeof *f->sizes, "FANN layer sizes");
    if (!f->sizes) return LM_ENOMEM;
    f->n_neurons = 0;
    for (int i = 0; i < f->n_layers; i++) {
        uint64_t s;
        if (!get_uint(&u, (uint64_t)LM_MAX_WIDTH + 1, &s))
            return at_line(c, no, "layer_sizes: size %d of num_layers=%d is missing or not a "
                           "whole number up to %d", i + 1, f->n_layers, LM_MAX_WIDTH + 1);
        if (s < 2)
            return at_line(c, no, "layer_sizes: layer %d has %llu neurons; each counts its bias "
                           "neuron, so a layer has 2 at least", i + 1, (unsigned long long)s);
        f->sizes[i] = (int)s;
        f->n_neurons += (size_t)s;
    }
    if (!at_end(&u))
        return at_line(c, no, "layer_sizes: more sizes than num_layers=%d", f->n_layers);
    return LM_OK;
}

/* The neurons line: each neuron's connection count, function, steepness. */
static lm_status read_neurons(const fr_ctx *c, fr_file *f)
{
    size_t no;
    lm_status st = need(c, f, K_NEURONS);
    if (st) return st;
    fr_cur u = value_of(c, f, K_NEURONS, &no);
    // "(0,0,0)": 7 bytes a neuron at least
    if (f->n_neurons > (size_t)(u.end - u.p) / 7)
        return at_line(c, no, "neurons: layer_sizes claims %zu neurons, more than the line's %zu "
                       "bytes can hold", f->n_neurons, (size_t)(u.end - u.p));
    f->n_con = lm__alloc(f->n_neurons, sizeof *f->n_con, "FANN neurons");
    f->act = f->n_con ? lm__alloc(f->n_neurons, sizeof *f->act, "FANN neurons") : NULL;
    f->steep = f->act ? lm__alloc(f->n_neurons, sizeof *f->steep, "FANN neurons") : NULL;
    if (!f->steep) return LM_ENOMEM;
    f->n_cons = 0;
    for (size_t i = 0; i < f->n_neurons; i++) {
        uint64_t nc, a;
        if (!get_char(&u, '(') || !get_uint(&u, LM_MAX_WIDTH + 1, &nc) || !get_char(&u, ',') ||
            !get_uint(&u, 1000, &a) || !get_char(&u, ',') || !get_float(&u, &f->steep[i]) ||
            !get_char(&u, ')'))
            return at_line(c, no, "neurons: neuron %zu of %zu is missing or not "
                           "(num_inputs, activation_function, steepness)", i, f->n_neurons);
        f->n_con[i] = (uint32_t)nc;
        f->act[i] = (uint32_t)a;
        f->n_cons += (size_t)nc;
    }
    if (!at_end(&u))
        return at_line(c, no, "neurons: more neurons than layer_sizes' %zu", f->n_neurons);
    return LM_OK;
}

/* The lamina activation of FANN function a, and the factor its steepness
 * s becomes on the incoming weights; -1 if lamina has none. FANN's
 * stepwise sigmoids (its default for new nets) are piecewise-linear
 * approximations of its sigmoids, within 0.034 (0.067 the symmetric one,
 * measured against libfann 2.2's): the sigmoid they approximate, said by
 * the net's metadata (fann_stepwise). */
static int map_act(uint32_t a, float s, float *factor)
{
    switch (a) {
    case FANN_LINEAR: *factor = s; return LM_IDENTITY;
    case FANN_SIGMOID:
    case FANN_SIGMOID_STEPWISE: *factor = 2.0f * s; return LM_SIGMOID;
    case FANN_SIGMOID_SYMMETRIC:
    case FANN_SIGMOID_SYMMETRIC_STEPWISE: *factor = s; return LM_TANH;
    default: return -1;
    }
}

static const char *act_name(uint32_t a)
{
    return a < N_FANN_ACTS ? fann_act_names[a] : "an unknown activation function";
}

/* Each layer's activation (acts[k], k >= 1), one for all its neurons,
 * and whether any of its neurons is a stepwise sigmoid (step[k], 1 plain,
 * 2 symmetric, 3 both); refuses what lamina cannot compute. */
static lm_status check_neurons(const fr_ctx *c, const fr_file *f, int *acts, int *step)
{
    size_t no, first = 0;
    value_of(c, f, K_NEURONS, &no);
    for (int k = 0; k < f->n_layers; k++) {
        size_t n = (size_t)f->sizes[k];
        acts[k] = -1;
        step[k] = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = first + j;
            int is_bias = j == n - 1;
            if (k == 0 || is_bias) {
                if (f->n_con[i])
                    return at_line(c, no, "neurons: neuron %zu (the %s of layer %d) has %u "
                                   "connections; it has none in a layered net", i,
                                   is_bias ? "bias neuron" : "input neuron", k + 1, f->n_con[i]);
                continue;
            }
            if (f->n_con[i] > (uint32_t)f->sizes[k - 1])
                return at_line(c, no, "neurons: neuron %zu (layer %d) has %u connections, more "
                               "than layer %d's %d neurons", i, k + 1, f->n_con[i], k, f->sizes[k - 1]);
            uint32_t a = f->act[i];
            float s = f->steep[i], factor;
            int la = map_act(a, s, &factor);
            if (la < 0)
                return at_line(c, no, "neurons: neuron %zu (layer %d) uses %s (%u); lamina "
                               "imports FANN_LINEAR, FANN_SIGMOID and FANN_SIGMOID_SYMMETRIC "
                               "(and their stepwise forms, as them) only", i, k + 1,
                               act_name(a), a);
            step[k] |= a == FANN_SIGMOID_STEPWISE ? 1 : a == FANN_SIGMOID_SYMMETRIC_STEPWISE ? 2 : 0;
            if (s < 0 || (la != LM_IDENTITY && s > FANN_MAX_STEEPNESS))
                return at_line(c, no, "neurons: neuron %zu (layer %d) has steepness %g; lamina "
                               "imports steepness in [0, %g] (FANN clamps its sums beyond)", i,
                               k + 1, (double)s, s < 0 ? 1e30 : FANN_MAX_STEEPNESS);
            if (acts[k] < 0) acts[k] = la;
            else if (acts[k] != la)
                return at_line(c, no, "neurons: neuron %zu uses %s but layer %d's first neuron "
                               "uses %s; lamina has one activation a layer", i, act_name(a), k + 1,
                               act_name(f->act[first]));
        }
        first += n;
    }
    return LM_OK;
}

/* The connections line into net's parameters: neuron i of layer k, its
 * weights from layer k-1 times its steepness factor. */
static lm_status read_connections(const fr_ctx *c, const fr_file *f, lm_net *net)
{
    size_t no;
    lm_status st = need(c, f, K_CONNECTIONS);
    if (st) return st;
    fr_cur u = value_of(c, f, K_CONNECTIONS, &no);
    // "(0,0)": 5 bytes a connection at least
    if (f->n_cons > (size_t)(u.end - u.p) / 5)
        return at_line(c, no, "connections: the neurons claim %zu connections, more than the "
                       "line's %zu bytes can hold", f->n_cons, (size_t)(u.end - u.p));
    float *params = lm_net_params(net);
    memset(params, 0, lm_net_n_params(net) * sizeof *params);
    size_t first = (size_t)f->sizes[0], prev_first = 0, con = 0;
    for (int k = 1; k < f->n_layers; k++) {
        lm_layer_info li;
        lm_net_layer(net, k - 1, &li);
        float *w = params + li.w_offset, *b = params + li.b_offset; // (IN, OUT), (OUT)
        size_t n_prev = (size_t)f->sizes[k - 1], units = (size_t)f->sizes[k] - 1;
        unsigned char *seen = lm__calloc(n_prev, 1, "FANN connections");
        if (!seen) return LM_ENOMEM;
        for (size_t j = 0; j < units; j++) {
            size_t i = first + j;
            float factor = 1.0f;
            map_act(f->act[i], f->steep[i], &factor);
            memset(seen, 0, n_prev);
            for (uint32_t m = 0; m < f->n_con[i]; m++, con++) {
                uint64_t src;
                float wt;
                if (!get_char(&u, '(') || !get_uint(&u, UINT32_MAX, &src) || !get_char(&u, ',') ||
                    !get_float(&u, &wt) || !get_char(&u, ')')) {
                    free(seen);
                    return at_line(c, no, "connections: connection %zu of %zu is missing or not "
                                   "(connected_to_neuron, weight)", con, f->n_cons);
                }
                if (src < prev_first || src >= prev_first + n_prev) {
                    free(seen);
                    return at_line(c, no, "connections: connection %zu (of neuron %zu, layer %d) "
                                   "comes from neuron %llu, not one of layer %d's neurons %zu..%zu",
                                   con, i, k + 1, (unsigned long long)src, k, prev_first,
                                   prev_first + n_prev - 1);
                }
                size_t from = (size_t)(src - prev_first);
                if (seen[from]++) {
                    free(seen);
                    return at_line(c, no, "connections: connection %zu: neuron %zu connects to "
                                   "neuron %llu twice", con, i, (unsigned long long)src);
                }
                float v = wt * factor;
                if (!isfinite(v)) {
                    free(seen);
                    return at_line(c, no, "connections: connection %zu: weight %g times the "
                                   "steepness is not a finite float", con, (double)wt);
                }
                if (from == n_prev - 1) b[j] = v; // the bias neuron
                else w[from * units + j] = v;
            }
        }
        free(seen);
        prev_first = first;
        first += (size_t)f->sizes[k];
    }
    if (!at_end(&u))
        return at_line(c, no, "connections: more connections than the neurons' %zu", f->n_cons);
    return LM_OK;
}

/* n floats of scale key k into v. */
static lm_status scale_row(const fr_ctx *c, const fr_file *f, int k, int n, double *v)
{
    size_t no;
    lm_status st = need(c, f, k);
    if (st) return st;
    fr_cur u = value_of(c, f, k, &no);
    for (int i = 0; i < n; i++) {
        float x;
        if (!get_float(&u, &x))
            return at_line(c, no, "%s: value %d of %d is missing or not a finite number",
                           key_names[k], i + 1, n);
        v[i] = x;
    }
    if (!at_end(&u)) return at_line(c, no, "%s: more than %d values", key_names[k], n);
    return LM_OK;
}

/* FANN's fann_scale_input, ((x - mean) / dev + 1) * factor + new_min, as
 * lamina's (x - m) * s; fann_descale_output, ((y - new_min) / factor - 1)
 * * dev + mean, as y * sd + m. */
static lm_status read_scaling(const fr_ctx *c, const fr_file *f, lm_net *net)
{
    uint64_t inc = 0;
    if (!f->key_line[K_SCALE_INCLUDED]) return LM_OK; // FANN_FLO_2.0
    lm_status st = key_uint(c, f, K_SCALE_INCLUDED, 1, &inc);
    if (st || !inc) return st;
    int n_in = f->sizes[0] - 1, n_out = f->sizes[f->n_layers - 1] - 1;
    int n = n_in > n_out ? n_in : n_out;
    double *v = lm__alloc((size_t)n, 4 * sizeof *v, "FANN scaling");
    float *m = lm__alloc((size_t)n, 2 * sizeof *m, "FANN scaling");
    if (!v || !m) {
        free(v);
        free(m);
        return LM_ENOMEM;
    }
    for (int side = 0; side < 2 && !st; side++) {
        int cnt = side ? n_out : n_in, k0 = side ? K_MEAN_OUT : K_MEAN_IN;
        double *mean = v, *dev = v + n, *nmin = v + 2 * n, *fac = v + 3 * n;
        for (int r = 0; r < 4 && !st; r++) st = scale_row(c, f, k0 + r, cnt, v + (size_t)r * n);
        for (int i = 0; i < cnt && !st; i++) {
            double a, b;
            if (side == 0) { // scale, then mean
                a = fac[i] / dev[i];
                b = mean[i] - (fac[i] + nmin[i]) * dev[i] / fac[i];
            } else { // std, then mean
                a = dev[i] / fac[i];
                b = mean[i] - dev[i] - nmin[i] * dev[i] / fac[i];
            }
            if (!isfinite(a) || !isfinite(b) || fabs(a) > FLT_MAX || fabs(b) > FLT_MAX ||
                (side && a == 0)) {
                size_t no;
                value_of(c, f, fac[i] == 0 ? k0 + 3 : k0 + 1, &no);
                st = at_line(c, no, "%s %d is %g: the scaling of %s %d is not finite",
                             key_names[fac[i] == 0 ? k0 + 3 : k0 + 1], i + 1,
                             fac[i] == 0 ? fac[i] : dev[i], side ? "output" : "input", i + 1);
                break;
            }
            m[i] = (float)b;
            m[n + i] = (float)a;
        }
        if (!st) st = side ? lm_net_set_target_norm(net, m, m + n) : lm_net_set_norm(net, m, m + n);
    }
    free(v);
    free(m);
    return st;
}

/* The metadata fann_stepwise, where layers' neurons were FANN's stepwise
 * sigmoids: which layers, and how far their outputs may be from FANN's. */
static lm_status note_stepwise(lm_net *net, const int *step, int n_layers)
{
    char layers[160] = "", note[400];
    size_t len = 0;
    int any = 0;
    for (int k = 1; k < n_layers; k++) {
        if (!step[k]) continue;
        any |= step[k];
        if (len < sizeof layers - 16)
            len += (size_t)snprintf(layers + len, sizeof layers - len, "%s%d", len ? ", " : "", k + 1);
    }
    if (!any) return LM_OK;
    snprintf(note, sizeof note, "%s%s%s (layer%s %s) imported as the sigmoid%s %s: a neuron's "
             "output is within %s of FANN's, and the errors can add up over the layers",
             any & 1 ? "FANN_SIGMOID_STEPWISE" : "", any == 3 ? " and " : "",
             any & 2 ? "FANN_SIGMOID_SYMMETRIC_STEPWISE" : "", strchr(layers, ',') ? "s" : "",
             layers, any == 3 ? "s" : "", any == 3 ? "they approximate" : "it approximates",
             any & 2 ? "0.067" : "0.034");
    return lm_net_set_meta(net, "fann_stepwise", note);
}

static lm_status build(const fr_ctx *c, lm_net **out)
{
    fr_file f = {0};
    lm_net *net = NULL;
    int *acts = NULL, *step = NULL;
    lm_status st = index_keys(c, &f);
    if (!st) st = read_layers(c, &f);
    if (!st) st = read_neurons(c, &f);
    if (!st && !(acts = lm__alloc((size_t)f.n_layers, 2 * sizeof *acts, "FANN layers"))) st = LM_ENOMEM;
    if (!st) step = acts + f.n_layers;
    if (!st) st = check_neurons(c, &f, acts, step);
    if (!st) st = lm_net_new(&net, f.sizes[0] - 1);
    for (int k = 1; !st && k < f.n_layers; k++)
        // a layer without neurons that take input computes f(0): any act
        st = lm_net_add_dense(net, f.sizes[k] - 1, acts[k] < 0 ? LM_IDENTITY : (lm_act)acts[k], LM_BIAS);
    if (!st) st = read_connections(c, &f, net);
    if (!st) st = read_scaling(c, &f, net);
    if (!st) st = note_stepwise(net, step, f.n_layers);
    file_free(&f);
    free(acts);
    if (st) {
        lm_net_free(net);
        return st;
    }
    *out = net;
    return LM_OK;
}

static lm_status load_named(lm_net **out, const void *buf, size_t len, const char *name)
{
    fr_ctx c = {.name = name};
    if (len == 0) return at_line(&c, 1, "empty file");
    if (memchr(buf, '\0', len)) return at_line(&c, 1, "not a FANN network file (byte 0x00)");
    lm_status st = split_lines(&c, buf, len);
    if (st) return st;
    /* strtod follows LC_NUMERIC; FANN writes its numbers in the C locale */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    st = build(&c, out);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    free(c.lines);
    return st;
}

lm_status lm_net_load_fann_mem(lm_net **out, const void *buf, size_t len)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(buf);
    return load_named(out, buf, len, NULL);
}

lm_status lm_net_load_fann(lm_net **out, const char *path)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(path);
    unsigned char *buf;
    size_t len;
    lm_status st = lm__read_file(path, &buf, &len);
    if (st) return st;
    st = load_named(out, buf, len, path);
    free(buf);
    return st;
}
