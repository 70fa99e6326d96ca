/* spec.c - the layer spec: "256:relu,128:relu,10:softmax". Each item is
 * WIDTH[:ACT][:nobias]; the input layer is implied by the data. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
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

/* One item [s, e) into *l; 0 or -1 after a message. */
static int parse_item(const char *spec, const char *s, const char *e, int idx,
                      cli_layer_spec *l)
{
    const char *p = s;
    if (p == e || !isdigit((unsigned char)*p)) {
        cli_err("--layers '%s': layer %d: expected a width like 64 or 64:relu, found '%.*s'",
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
    l->act = -1;
    l->no_bias = 0;
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
    if (last->width != n_out) {
        if (last->act >= 0 && output_only(last->act)) {
            cli_err("--layers: the output layer has %d units but the data has %d %s "
                    "(make the last layer %d:%s, or drop it to have it added)",
                    last->width, n_out, what, n_out, lm_act_name((lm_act)last->act));
            return -1;
        }
        if (n >= max) {
            cli_err("--layers: too many layers");
            return -1;
        }
        // The spec lists hidden layers only: append the output layer.
        l[n].width = n_out;
        l[n].act = -1;
        l[n].no_bias = 0;
        n++;
    }
    for (int i = 0; i < n - 1; i++)
        if (l[i].act < 0) l[i].act = LM_RELU;
    if (l[n - 1].act < 0) l[n - 1].act = (int)out_act;
    return n;
}

void cli_spec_format(const lm_net *net, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < lm_net_n_layers(net) && len < size; i++) {
        lm_layer_info li;
        if (lm_net_layer(net, i, &li) != LM_OK) break;
        len += (size_t)snprintf(buf + len, size - len, "%s%d:%s%s", i ? "," : "", li.n_out,
                                lm_act_name(li.act), li.has_bias ? "" : ":nobias");
    }
}
