/* fuzz_spec.c - libFuzzer target for the CLI's layer-spec parser
 * (cli/spec.c). The input is the spec text. A parsed spec is resolved
 * against an output width taken from the text's length, and, when the
 * net it describes is small, built, formatted back and parsed again: the
 * formatted spec must give the same layers. Built with cli/spec.c and
 * cli/util.c by fuzz/run.sh, which also replays tests/regress/spec/. */
#include "../cli/cli.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *why)
{
    if (!ok) {
        fprintf(stderr, "fuzz_spec: %s\n", why);
        abort();
    }
}

/* Builds a 4-input net from l (n) unless it would be large; NULL then, or
 * when a spatial layer does not fit the flat input (the library's check).
 * The parameters are bounded from above: a layer's input has at most ch
 * channels and flat values (4 inputs: at most 4 positions a channel).
 * Conv layers count too: "conv:39:1,conv:999999:1,conv:99:1" asked for
 * 1.1 GB, over the fuzzer's memory limit (tests/regress/spec). */
static lm_net *build(const cli_layer_spec *l, int n)
{
    double params = 0, ch = 4, flat = 4;
    for (int i = 0; i < n; i++) {
        double w = l[i].width;
        if (l[i].kind == LM_LAYER_DENSE) {
            params += flat * w + w;
            ch = flat = w;
        } else if (l[i].kind == LM_LAYER_CONV2D) {
            params += ch * w * l[i].kh * l[i].kw + w;
            ch = w;
            flat = 4 * w;
        } else if (l[i].kind == LM_LAYER_BATCHNORM) {
            params += 2 * ch;
        }
    }
    if (params > (double)(1 << 20)) return NULL;
    lm_net *net = NULL;
    check(lm_net_new(&net, 4) == LM_OK, "lm_net_new failed");
    for (int i = 0; i < n; i++) {
        lm_status st = cli_spec_add(net, &l[i]);
        int spatial = l[i].kind != LM_LAYER_DENSE && l[i].kind != LM_LAYER_DROPOUT && l[i].kind != LM_LAYER_BATCHNORM;
        if (st != LM_OK && spatial) {
            lm_net_free(net);
            return NULL;
        }
        check(st == LM_OK, "a resolved spec does not build");
    }
    return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    check(s != NULL, "out of memory");
    memcpy(s, data, size);
    s[size] = '\0';
    cli_layer_spec l[CLI_MAX_SPEC_LAYERS + 1];
    int n = cli_spec_parse(s, l, CLI_MAX_SPEC_LAYERS);
    check(n == -1 || (n >= 1 && n <= CLI_MAX_SPEC_LAYERS), "bad layer count");
    if (n > 0) {
        for (int i = 0; i < n; i++)
            check(l[i].kind >= 0 && l[i].kind < LM_LAYER_KIND_COUNT && l[i].act >= -1 && l[i].act < LM_ACT_COUNT &&
                      ((l[i].kind != LM_LAYER_DENSE && l[i].kind != LM_LAYER_CONV2D) ||
                       (l[i].width >= 1 && l[i].width <= CLI_MAX_WIDTH)),
                  "a parsed layer is out of range");
        int n_out = 1 + (int)(size % 10);
        lm_act out_act = size % 2 ? LM_SOFTMAX : LM_IDENTITY;
        n = cli_spec_resolve(l, n, CLI_MAX_SPEC_LAYERS + 1, n_out, out_act, "classes");
        check(n == -1 || (n >= 1 && n <= CLI_MAX_SPEC_LAYERS + 1), "bad resolved count");
        if (n > 0) {
            check(l[n - 1].width == n_out, "the output layer does not fit the data");
            for (int i = 0; i < n; i++) check(l[i].act >= 0, "an activation left unresolved");
        }
    }
    lm_net *net = n > 0 ? build(l, n) : NULL;
    if (net) {
        char buf[8192];
        cli_spec_format(net, buf, sizeof buf);
        cli_layer_spec again[CLI_MAX_SPEC_LAYERS + 1];
        int m = cli_spec_parse(buf, again, CLI_MAX_SPEC_LAYERS + 1);
        check(m == n, "a formatted spec parses to another layer count");
        for (int i = 0; i < m; i++)
            check(again[i].kind == l[i].kind && again[i].width == l[i].width && again[i].act == l[i].act &&
                      again[i].no_bias == l[i].no_bias && again[i].rate == l[i].rate &&
                      again[i].momentum == l[i].momentum && again[i].eps == l[i].eps,
                  "a formatted spec parses to other layers");
        lm_net_free(net);
    }
    free(s);
    return 0;
}
