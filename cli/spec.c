/* spec.c - the layer spec of --layers: a comma-separated list, one item a
 * layer, the input layer implied by the data. Items:
 *
 *   WIDTH[:ACT][:nobias]                 dense, e.g. 256:relu
 *   conv:FILTERS:K|KHxKW[:OPT]...        conv2d; OPT is same, valid, pad=N,
 *                                        stride=N, an activation or nobias
 *                                        (defaults: valid, stride 1, relu)
 *   maxpool:SIZE[:STRIDE]                max pooling (stride = size)
 *   avgpool:SIZE[:STRIDE]                average pooling
 *   gap                                  global average pooling
 *   dropout:RATE                         dropout, RATE in [0, 1)
 *   batchnorm[:MOMENTUM[:EPS]]           batch norm (0.1, 1e-5); also bn
 *   relu, sigmoid, tanh, leaky           a standalone activation (after a
 *                                        batch norm: conv:32:3x3:linear,bn,relu)
 *
 * e.g. conv:32:3x3:same:relu,maxpool:2,conv:64:3x3:same:relu,maxpool:2,
 * 128:relu,dropout:0.5,10:softmax. Shapes are checked by the library when
 * the net is built (its messages name the layer and the shapes). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_act(const char *s, size_t len)
{
    char name[32];
    if (len == 0 || len >= sizeof name) return -1;
    memcpy(name, s, len);
    name[len] = '\0';
    if (strcmp(name, "linear") == 0) return LM_IDENTITY;
    if (strcmp(name, "leaky") == 0 || strcmp(name, "leaky_relu") == 0) return LM_LEAKY_RELU;
    return lm_act_from_name(name);
}

/* [q, q + len) equals the word w. */
static int is(const char *q, size_t len, const char *w) { return strlen(w) == len && strncmp(q, w, len) == 0; }

/* A whole decimal integer in [lo, hi] from [q, q + len); -1 if not one. */
static long long whole(const char *q, size_t len, long long lo, long long hi)
{
    long long v = 0;
    if (len == 0) return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)q[i])) return -1;
        if (v <= hi) v = v * 10 + (q[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

/* A finite float from [q, q + len): 1, or 0 if not one, or -1 for a
 * positive number too small for a float (1e-50 reads as 0, though it is
 * not 0; a subnormal such as 1e-40 is kept). A negative one (-1e-50) is
 * 0: it is out of every range here for being negative, not for its size. */
static int number(const char *q, size_t len, float *out)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, q, len);
    buf[len] = '\0';
    errno = 0;
    float v = strtof(buf, &end);
    if (*end || !isfinite(v)) return 0;
    if (errno == ERANGE && v == 0.0f) return signbit(v) ? 0 : -1;
    if (errno && errno != ERANGE) return 0;
    *out = v;
    return 1;
}

/* Says a number was too small for a float; returns -1. */
static int tiny(const char *spec, int idx, const char *what, const char *q, size_t len)
{
    cli_err("--layers '%s': layer %d: %s '%.*s' is too small for a float (it underflows to 0)",
            spec, idx + 1, what, (int)len, q);
    return -1;
}

/* The fields of an item split at ':' (at most max). */
typedef struct fields {
    const char *s[8];
    size_t len[8];
    int n;
} fields;

static int split(const char *s, const char *e, fields *f)
{
    f->n = 0;
    for (;;) {
        const char *c = memchr(s, ':', (size_t)(e - s));
        if (f->n == 8) return -1;
        f->s[f->n] = s;
        f->len[f->n++] = (size_t)((c ? c : e) - s);
        if (!c) return 0;
        s = c + 1;
    }
}

#define ITEM_ERR(...)                                                              \
    do {                                                                           \
        char m_[256];                                                              \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                      \
        cli_err("--layers '%s': layer %d: %s", spec, idx + 1, m_);                 \
        return -1;                                                                 \
    } while (0)

/* conv:FILTERS:K|KHxKW[:OPT]... */
static int parse_conv(const char *spec, int idx, const fields *f, cli_layer_spec *l)
{
    if (f->n < 3) ITEM_ERR("expected conv:FILTERS:SIZE, e.g. conv:32:3x3:same:relu");
    long long fl = whole(f->s[1], f->len[1], 1, CLI_MAX_WIDTH);
    if (fl < 0) ITEM_ERR("conv filters '%.*s' are not a number in 1..%d", (int)f->len[1], f->s[1], CLI_MAX_WIDTH);
    const char *k = f->s[2], *x = memchr(k, 'x', f->len[2]);
    size_t kl = x ? (size_t)(x - k) : f->len[2];
    long long kh = whole(k, kl, 1, 4096), kw = x ? whole(x + 1, f->len[2] - kl - 1, 1, 4096) : kh;
    if (kh < 0 || kw < 0) ITEM_ERR("conv kernel '%.*s' is not K or KHxKW (1..4096)", (int)f->len[2], k);
    l->width = (int)fl;
    l->kh = (int)kh;
    l->kw = (int)kw;
    l->stride = 1;
    l->pad = LM_PAD_VALID;
    /* one padding, one stride, one activation: a second would silently
     * override the first (conv:32:3x3:same:pad=0 is a question, not a spec) */
    int have_pad = 0, have_stride = 0;
    for (int i = 3; i < f->n; i++) {
        const char *q = f->s[i];
        size_t len = f->len[i];
        int a, pad = INT_MIN, stride = 0;
        long long v;
        if (is(q, len, "same")) pad = LM_PAD_SAME;
        else if (is(q, len, "valid")) pad = LM_PAD_VALID;
        else if (is(q, len, "nobias")) l->no_bias = 1;
        else if (is(q, len, "bias")) l->no_bias = 0;
        else if (len > 4 && strncmp(q, "pad=", 4) == 0 && (v = whole(q + 4, len - 4, 0, 4096)) >= 0) pad = (int)v;
        else if (len > 7 && strncmp(q, "stride=", 7) == 0 && (v = whole(q + 7, len - 7, 1, 4096)) >= 0)
            stride = (int)v;
        else if (len >= 4 && strncmp(q, "pad=", 4) == 0)
            ITEM_ERR("conv padding '%.*s' is not pad=N with N a number of zeros in 0..4096", (int)len, q);
        else if (len >= 7 && strncmp(q, "stride=", 7) == 0)
            ITEM_ERR("conv stride '%.*s' is not stride=N with N in 1..4096", (int)len, q);
        else if ((a = parse_act(q, len)) >= 0) {
            if (l->act >= 0) ITEM_ERR("second activation '%.*s' in a conv item", (int)len, q);
            l->act = a;
        } else
            ITEM_ERR("conv option '%.*s' (options: same, valid, pad=N, stride=N, an activation, nobias)",
                     (int)len, q);
        if (pad != INT_MIN) {
            if (have_pad++) ITEM_ERR("second padding '%.*s' in a conv item (one of same, valid, pad=N)", (int)len, q);
            l->pad = pad;
        }
        if (stride) {
            if (have_stride++) ITEM_ERR("second stride '%.*s' in a conv item", (int)len, q);
            l->stride = stride;
        }
    }
    return 0;
}

/* One item [s, e) into *l; 0 or -1 after a message. */
static int parse_item(const char *spec, const char *s, const char *e, int idx,
                      cli_layer_spec *l)
{
    memset(l, 0, sizeof *l);
    l->act = -1;
    l->kind = LM_LAYER_DENSE;
    const char *p = s;
    if (p != e && !isdigit((unsigned char)*p)) {
        fields f;
        if (split(s, e, &f)) ITEM_ERR("too many ':' fields in '%.*s'", (int)(e - s), s);
        const char *k = f.s[0];
        size_t kl = f.len[0];
        long long v;
        if (is(k, kl, "conv") || is(k, kl, "conv2d")) {
            l->kind = LM_LAYER_CONV2D;
            return parse_conv(spec, idx, &f, l);
        }
        if (is(k, kl, "maxpool") || is(k, kl, "avgpool")) {
            l->kind = k[0] == 'm' ? LM_LAYER_MAXPOOL2D : LM_LAYER_AVGPOOL2D;
            if (f.n < 2 || f.n > 3 || (v = whole(f.s[1], f.len[1], 1, 4096)) < 0)
                ITEM_ERR("expected %.*s:SIZE or %.*s:SIZE:STRIDE, e.g. %.*s:2", (int)kl, k, (int)kl, k, (int)kl, k);
            l->kh = l->kw = l->stride = (int)v;
            if (f.n == 3 && (v = whole(f.s[2], f.len[2], 1, 4096)) < 0)
                ITEM_ERR("pooling stride '%.*s' is not a number in 1..4096", (int)f.len[2], f.s[2]);
            if (f.n == 3) l->stride = (int)v;
            l->act = LM_IDENTITY;
            return 0;
        }
        if (is(k, kl, "gap") || is(k, kl, "globalavgpool")) {
            if (f.n != 1) ITEM_ERR("gap takes no settings");
            l->kind = LM_LAYER_GLOBAL_AVGPOOL;
            l->act = LM_IDENTITY;
            return 0;
        }
        if (is(k, kl, "dropout")) {
            l->kind = LM_LAYER_DROPOUT;
            int r = f.n == 2 ? number(f.s[1], f.len[1], &l->rate) : 0;
            if (r < 0) return tiny(spec, idx, "dropout rate", f.s[1], f.len[1]);
            if (!r || !(l->rate >= 0 && l->rate < 1))
                ITEM_ERR("expected dropout:RATE with RATE in [0, 1), e.g. dropout:0.5");
            l->act = LM_IDENTITY;
            return 0;
        }
        if (is(k, kl, "batchnorm") || is(k, kl, "bn")) {
            l->kind = LM_LAYER_BATCHNORM;
            l->momentum = 0.1f;
            l->eps = 1e-5f;
            int rm = f.n > 1 && f.n <= 3 ? number(f.s[1], f.len[1], &l->momentum) : 1;
            int re = f.n > 2 && f.n <= 3 ? number(f.s[2], f.len[2], &l->eps) : 1;
            if (rm < 0) return tiny(spec, idx, "batchnorm momentum", f.s[1], f.len[1]);
            if (re < 0) return tiny(spec, idx, "batchnorm eps", f.s[2], f.len[2]);
            if (f.n > 3 || !rm || !re || !(l->momentum >= 0 && l->momentum <= 1) || !(l->eps > 0))
                ITEM_ERR("expected batchnorm[:MOMENTUM[:EPS]] with MOMENTUM in [0, 1] and EPS > 0");
            l->act = LM_IDENTITY;
            return 0;
        }
        int a = parse_act(k, kl);
        if (a >= 0) {
            // a bare activation name: a layer of its own (the library
            // refuses softmax and identity, saying why)
            if (f.n != 1) ITEM_ERR("a standalone activation '%.*s' takes no settings", (int)kl, k);
            l->kind = LM_LAYER_ACTIVATION;
            l->act = a;
            return 0;
        }
    }
    if (p == e || !isdigit((unsigned char)*p)) {
        cli_err("--layers '%s': layer %d: expected a width like 64 or 64:relu, found '%.*s' "
                "(or conv, maxpool, avgpool, gap, dropout, batchnorm, or an activation: relu, "
                "sigmoid, tanh, leaky)",
                spec, idx + 1, (int)(e - s), s);
        return -1;
    }
    long long w = 0;
    while (p < e && isdigit((unsigned char)*p)) {
        if (w <= CLI_MAX_WIDTH) w = w * 10 + (*p - '0');
        p++;
    }
    if (w < 1 || w > CLI_MAX_WIDTH) {
        cli_err("--layers '%s': layer %d: width %.*s is out of range 1..%d", spec, idx + 1,
                (int)(p - s), s, CLI_MAX_WIDTH);
        return -1;
    }
    l->width = (int)w;
    while (p < e) {
        if (*p != ':') {
            cli_err("--layers '%s': layer %d: unexpected '%.*s' after the width", spec,
                    idx + 1, (int)(e - p), p);
            return -1;
        }
        const char *q = ++p;
        while (p < e && *p != ':') p++;
        size_t len = (size_t)(p - q);
        if (len == 6 && strncmp(q, "nobias", 6) == 0) {
            l->no_bias = 1;
        } else if (len == 4 && strncmp(q, "bias", 4) == 0) {
            l->no_bias = 0;
        } else {
            int a = parse_act(q, len);
            if (a < 0 || l->act >= 0) {
                cli_err("--layers '%s': layer %d: %s '%.*s' (activations: sigmoid, tanh, "
                        "relu, leaky, identity, linear, softmax; or nobias)",
                        spec, idx + 1, a < 0 ? "unknown activation" : "second activation",
                        (int)len, q);
                return -1;
            }
            l->act = a;
        }
    }
    return 0;
}

int cli_spec_parse(const char *spec, cli_layer_spec *out, int max)
{
    int n = 0;
    const char *s = spec;
    if (!*spec) {
        cli_err("--layers: empty layer spec (e.g. --layers 64:relu,10:softmax)");
        return -1;
    }
    for (;;) {
        const char *e = strchr(s, ',');
        if (!e) e = s + strlen(s);
        if (n >= max) {
            cli_err("--layers '%.40s...': more than %d layers", spec, max);
            return -1;
        }
        if (parse_item(spec, s, e, n, &out[n]) != 0) return -1;
        n++;
        if (!*e) break;
        s = e + 1;
    }
    return n;
}

static int output_only(int act) { return act == LM_SOFTMAX || act == LM_IDENTITY; }

int cli_spec_resolve(cli_layer_spec *l, int n, int max, int n_out, lm_act out_act,
                     const char *what)
{
    cli_layer_spec *last = &l[n - 1];
    if (last->kind != LM_LAYER_DENSE || last->width != n_out) {
        if (last->kind == LM_LAYER_DENSE && last->act >= 0 && output_only(last->act)) {
            // Suggest a layer the loss takes: identity is no output for
            // ce or bce (out_act softmax or sigmoid), which need probabilities.
            lm_act act = last->act == LM_IDENTITY ? out_act : (lm_act)last->act;
            // A softmax over one output is always 1: one number is identity.
            if (act == LM_SOFTMAX && n_out == 1) act = LM_IDENTITY;
            // two classes may also be one sigmoid output (the train command
            // passes n_out 1 for a last layer 1:sigmoid)
            int two = n_out == 2 && strcmp(what, "classes") == 0;
            // what is plural ("classes", "target values"): 1 of them is
            // "1 target value"
            size_t wl = strlen(what) - (n_out == 1 && strcmp(what, "target values") == 0);
            cli_err("--layers: the output layer has %d unit%s but the data has %d %.*s "
                    "(make the last layer %d:%s%s, or drop it to have it added)",
                    last->width, last->width == 1 ? "" : "s", n_out, (int)wl, what, n_out,
                    lm_act_name(act), two ? " or 1:sigmoid" : "");
            return -1;
        }
        if (n >= max) {
            cli_err("--layers: too many layers");
            return -1;
        }
        // The spec lists hidden layers only: append the output layer.
        memset(&l[n], 0, sizeof l[n]);
        l[n].kind = LM_LAYER_DENSE;
        l[n].width = n_out;
        l[n].act = -1;
        n++;
    }
    for (int i = 0; i < n - 1; i++)
        if (l[i].act < 0) l[i].act = LM_RELU;
    if (l[n - 1].act < 0) l[n - 1].act = (int)out_act;
    // Softmax normalises over the layer's units: over one unit it gives
    // 1 whatever the input, so nothing after it (or in it) could learn.
    for (int i = 0; i < n; i++)
        if (l[i].kind == LM_LAYER_DENSE && l[i].width == 1 && l[i].act == LM_SOFTMAX) {
            cli_err("--layers: layer %d is 1:softmax, which is 1 whatever its input, so "
                    "nothing is learned (one number: 1:identity%s)", i + 1,
                    i == n - 1 ? ", or drop it to have it added" : "; a probability: 1:sigmoid");
            return -1;
        }
    return n;
}

lm_status cli_spec_of_layer(const lm_net *net, int i, cli_layer_spec *l)
{
    lm_layer_desc d = {.size = sizeof d};
    lm_status st = lm_net_layer_desc(net, i, &d);
    if (st) return st;
    *l = (cli_layer_spec){d.kind, d.units, d.act, !d.has_bias, d.kh, d.kw, d.stride, d.pad, d.rate, d.momentum, d.eps};
    return LM_OK;
}

lm_status cli_spec_add(lm_net *net, const cli_layer_spec *l)
{
    int bias = l->no_bias ? LM_NO_BIAS : LM_BIAS;
    switch (l->kind) {
    case LM_LAYER_CONV2D:
        return lm_net_add_conv2d(net, l->width, l->kh, l->kw, l->stride, l->pad, (lm_act)l->act, bias);
    case LM_LAYER_MAXPOOL2D: return lm_net_add_maxpool2d(net, l->kh, l->stride);
    case LM_LAYER_AVGPOOL2D: return lm_net_add_avgpool2d(net, l->kh, l->stride);
    case LM_LAYER_GLOBAL_AVGPOOL: return lm_net_add_global_avgpool(net);
    case LM_LAYER_DROPOUT: return lm_net_add_dropout(net, l->rate);
    case LM_LAYER_BATCHNORM: return lm_net_add_batchnorm(net, l->momentum, l->eps);
    case LM_LAYER_ACTIVATION: return lm_net_add_activation(net, (lm_act)l->act);
    default: return lm_net_add_dense(net, l->width, (lm_act)l->act, bias);
    }
}

/* The shortest text that reads back as the same float. */
static void short_float(char *buf, size_t size, float v)
{
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

void cli_spec_item_format(const cli_layer_spec *l, char *buf, size_t size)
{
    char a[32], b[32], pad[24];
    const char *act = l->act >= 0 ? lm_act_name((lm_act)l->act) : "?";
    switch (l->kind) {
    case LM_LAYER_CONV2D:
        if (l->pad == LM_PAD_SAME) snprintf(pad, sizeof pad, "same");
        else if (l->pad == LM_PAD_VALID) snprintf(pad, sizeof pad, "valid");
        else snprintf(pad, sizeof pad, "pad=%d", l->pad);
        snprintf(a, sizeof a, ":stride=%d", l->stride);
        snprintf(buf, size, "conv:%d:%dx%d:%s:%s%s%s", l->width, l->kh, l->kw, pad, act,
                 l->stride != 1 ? a : "", l->no_bias ? ":nobias" : "");
        break;
    case LM_LAYER_MAXPOOL2D:
    case LM_LAYER_AVGPOOL2D:
        snprintf(buf, size, "%s:%d:%d", l->kind == LM_LAYER_MAXPOOL2D ? "maxpool" : "avgpool", l->kh, l->stride);
        break;
    case LM_LAYER_GLOBAL_AVGPOOL: snprintf(buf, size, "gap"); break;
    case LM_LAYER_DROPOUT:
        short_float(a, sizeof a, l->rate);
        snprintf(buf, size, "dropout:%s", a);
        break;
    case LM_LAYER_BATCHNORM:
        short_float(a, sizeof a, l->momentum);
        short_float(b, sizeof b, l->eps);
        snprintf(buf, size, "batchnorm:%s:%s", a, b);
        break;
    case LM_LAYER_ACTIVATION: snprintf(buf, size, "%s", act); break;
    default: snprintf(buf, size, "%d:%s%s", l->width, act, l->no_bias ? ":nobias" : ""); break;
    }
}

void cli_spec_format(const lm_net *net, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < lm_net_n_layers(net) && len < size; i++) {
        cli_layer_spec l;
        if (cli_spec_of_layer(net, i, &l) != LM_OK) break;
        char item[160];
        cli_spec_item_format(&l, item, sizeof item);
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", item);
    }
}
