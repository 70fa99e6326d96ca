/* cmd_import.c - `lamina import FILE --out MODEL`: an ONNX model made of
 * lamina's layers (PyTorch's torch.onnx.export of a sequential MLP or
 * CNN, or lamina's own export), or a FANN float net (fann_save's file,
 * known by its first line), as a lamina model file, which then predicts,
 * evaluates, exports and trains (--resume) like any other. */
#include "cli.h"
#include "opts.h"

#include <stdio.h>
#include <string.h>

/* Whether path's text starts "FANN_" as fann_save's files do (FANN_FLO_2.1,
 * and the fixed-point FANN_FIX_2.0 that lm_net_load_fann refuses by name). */
static int is_fann_net(const char *path)
{
    char head[5];
    FILE *f = fopen(path, "rb");
    if (!f) return 0; // the ONNX reader reports it
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && memcmp(head, "FANN_", 5) == 0;
}

int cmd_import(int argc, char **argv)
{
    const char *out = NULL;
    opt_spec specs[] = {
        opt_str("out", &out, "MODEL", "the lamina model file to write", NULL),
        opt_end(),
    };
    char *pos[1];
    int n_pos = 0;
    int rc = opts_parse("import", specs, argc, argv, 2, pos, 1, &n_pos, "FILE --out MODEL",
                        "Reads a FANN float net (fann_save's FILE.net: a layered net, full or sparse, "
                        "of FANN_LINEAR, FANN_SIGMOID and FANN_SIGMOID_SYMMETRIC neurons, their steepness up to "
                        "16, with its scaling parameters), or an ONNX model whose graph is a chain of lamina's layers (Gemm, "
                        "MatMul+Add, Conv, MaxPool, AveragePool, GlobalAveragePool (or ReduceMean over H, W), "
                        "BatchNormalization, Dropout, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax "
                        "(as softmax, said); layout nodes Flatten, Reshape (its shape from Shape, "
                        "Gather, Unsqueeze, Concat ... of sizes), Transpose, Identity, an empty Pad; Sub/Mul/Add/Div "
                        "of the input as its normalisation, Mul/Add of the output as the target's) "
                        "as PyTorch, lamina and Keras (tf2onnx, NHWC) write them, and saves it as a "
                        "lamina model; any other graph is refused naming the first node lamina "
                        "cannot take (docs/EXPORT.md).");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !out) {
        cli_err("import: give FILE and --out MODEL (see lamina import --help)");
        return CLI_EUSAGE;
    }
    int fann = is_fann_net(pos[0]);
    if (cli_same_file(out, pos[0])) {
        cli_err("import: --out %s is the %s file %s; writing it would destroy it (name another "
                "file)", out, fann ? "FANN" : "ONNX", pos[0]);
        return CLI_EUSAGE;
    }
    if (!cli_check_writable(out)) return CLI_EFAIL;
    lm_net *net;
    lm_status st = fann ? lm_net_load_fann(&net, pos[0]) : lm_net_load_onnx(&net, pos[0]);
    if (st == LM_EIO) return cli_lib_err(CLI_EMODEL, pos[0]);
    if (st != LM_OK) return cli_lib_err(st == LM_ENOMEM ? CLI_EFAIL : CLI_EMODEL, pos[0]);
    lm_net_set_meta(net, "imported_from", fann ? "fann" : "onnx");
    const char *guess = lm_net_get_meta(net, "onnx_input_layout");
    if (guess)
        fprintf(stderr, "note: %s: its image input is flattened by a Reshape, which does not say "
                "its layout: read as %s; check a few predictions against the original model "
                "(docs/EXPORT.md)\n", pos[0], guess);
    const char *batch = lm_net_get_meta(net, "onnx_batch");
    if (batch)
        fprintf(stderr, "note: %s: %s; lamina runs any batch (docs/EXPORT.md)\n", pos[0], batch);
    const char *output = lm_net_get_meta(net, "onnx_output");
    if (output)
        fprintf(stderr, "note: %s: lamina outputs %s (docs/EXPORT.md)\n", pos[0], output);
    const char *stepwise = lm_net_get_meta(net, "fann_stepwise");
    if (stepwise)
        fprintf(stderr, "note: %s: %s (docs/API.md, \"FANN\")\n", pos[0], stepwise);
    if (lm_net_save(net, out) != LM_OK) {
        lm_net_free(net);
        return cli_lib_err(CLI_EFAIL, out);
    }
    char spec[1024];
    cli_spec_format(net, spec, sizeof spec);
    printf("wrote %s: %d inputs -> %s (%zu parameters)\n", out, lm_net_n_in(net), spec,
           lm_net_n_params(net));
    lm_net_free(net);
    return CLI_OK;
}
