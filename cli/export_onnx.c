/* export_onnx.c - `lamina export MODEL --format onnx --out FILE.onnx`:
 * the onnx branch of lamina export (cmd_export.c picks the format). */
#include "cli.h"
#include "opts.h"

#include <stdio.h>
#include <string.h>

/* Whether s is valid UTF-8 (as lm_net_save_onnx checks it: no overlong
 * form, no surrogate, nothing above U+10FFFF). */
static int is_utf8(const char *s)
{
    for (int k; *s; s += k)
        if ((k = cli_utf8_len(s)) == 0) return 0;
    return 1;
}

/* What of the model is not UTF-8, said for a message ("a class name",
 * "the metadata 'features'": buf, size bytes), or NULL when all is. */
static const char *not_utf8(const lm_net *net, char *buf, size_t size)
{
    for (int i = 0; lm_net_class_name(net, i); i++)
        if (!is_utf8(lm_net_class_name(net, i))) return "a class name";
    for (int i = 0; i < lm_net_n_meta(net); i++) {
        const char *k, *v;
        lm_net_meta_at(net, i, &k, &v);
        if (!is_utf8(k)) return "a metadata key";
        if (is_utf8(v)) continue;
        snprintf(buf, size, "the metadata '%.40s'", k);
        return buf;
    }
    return NULL;
}

static int write_onnx(lm_net *net, const char *out, int opset)
{
    lm_status st = lm_net_save_onnx(net, out, opset);
    if (st == LM_EINVAL) return cli_lib_err(CLI_EMODEL, NULL);
    if (st != LM_OK) return cli_lib_err(CLI_EFAIL, out);
    printf("wrote %s: ONNX opset %d, input \"input\" (N, %d), output \"output\" (N, %d)\n", out,
           opset ? opset : 13, lm_net_n_in(net), lm_net_n_out(net));
    // ONNX's strings are UTF-8: the library wrote each other byte as its
    // Latin-1 character. Say so, since an import then reads those names.
    char what[80];
    const char *bad = not_utf8(net, what, sizeof what);
    if (bad) {
        char b[512];
        snprintf(b, sizeof b, "note: %.200s: %s is not UTF-8, which ONNX requires: each byte "
                 "that is not was written as its Latin-1 character (0xE9 as U+00E9), so an "
                 "import gives the names back in UTF-8", out, bad);
        cli_wrap(stderr, b, 0, 2, cli_out_width(fileno(stderr)), " ");
    }
    return CLI_OK;
}

int cli_export_onnx(int argc, char **argv)
{
    static const char *const formats[] = {"onnx", NULL};
    const char *out = NULL;
    int format = 0, opset = 0;
    opt_spec specs[] = {
        opt_choice("format", &format, "FMT", formats, "what to write: onnx", "onnx"),
        opt_str("out", &out, "FILE", "the file to write (FILE.onnx)", NULL),
        opt_int("opset", &opset, "N", "ONNX opset to declare, 13 to 17", "13", 13, 17),
        opt_end(),
    };
    char *pos[1];
    int n_pos = 0;
    int rc = opts_parse("export", specs, argc, argv, 2, pos, 1, &n_pos,
                        "MODEL --format onnx --out FILE.onnx [--opset N]",
                        "Writes a model for another runtime. onnx: an ONNX model (opset 13 unless "
                        "--opset) taking rows as `lamina predict` reads them and giving what "
                        "`lamina predict --proba` prints (a one-output class model: the second "
                        "class's probability alone): normalisation and activations included "
                        "(docs/EXPORT.md).");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !out) {
        cli_err("export: give MODEL and --out FILE (lamina export --format onnx --help)");
        return CLI_EUSAGE;
    }
    if (cli_same_file(out, pos[0])) {
        cli_err("export: --out %s is the model %s; writing it would destroy it (name another file)",
                out, pos[0]);
        return CLI_EUSAGE;
    }
    if (!cli_check_writable(out)) return CLI_EFAIL;
    lm_net *net;
    if (lm_net_load(&net, pos[0]) != LM_OK) return cli_lib_err(CLI_EMODEL, pos[0]);
    cli_model_state_warn(net, pos[0]);
    rc = write_onnx(net, out, opset);
    lm_net_free(net);
    return rc;
}
