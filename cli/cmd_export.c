/* cmd_export.c - `lamina export MODEL --format FMT --out FILE`: a trained
 * model in a form other programs run. The options common to every format
 * are parsed here; each format's work is one function in its own file
 * (export_onnx.c), reached through the switch below. */
#include "cli.h"
#include "opts.h"

#include <string.h>

/* The formats, in the order of --format's choices. */
enum { FMT_ONNX, FMT_COUNT };
static const char *const formats[] = {"onnx", NULL};

int cmd_export(int argc, char **argv)
{
    const char *out = NULL;
    int format = FMT_ONNX, opset = 0;
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
                        "Writes a model for another runtime. onnx: an ONNX model (opset 13 unless\n"
                        "--opset) taking rows as `lamina predict` reads them and giving what\n"
                        "`lamina predict --proba` prints: normalisation and activations included\n"
                        "(docs/EXPORT.md).");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !out) {
        cli_err("export: give a MODEL and --out FILE (see lamina export --help)");
        return CLI_EUSAGE;
    }
    if (!cli_check_writable(out)) return CLI_EFAIL;
    lm_net *net;
    if (lm_net_load(&net, pos[0]) != LM_OK) return cli_lib_err(CLI_EMODEL, pos[0]);
    cli_model_state_warn(net, pos[0]);
    switch (format) {
    case FMT_ONNX: rc = export_onnx(net, out, opset); break;
    default: rc = CLI_EUSAGE; break;
    }
    lm_net_free(net);
    return rc;
}
