/* cmd_import.c - `lamina import FILE.onnx --out MODEL`: an ONNX model made
 * of lamina's layers (PyTorch's torch.onnx.export of a sequential MLP or
 * CNN, or lamina's own export) as a lamina model file, which then
 * predicts, evaluates, exports and trains (--resume) like any other. */
#include "cli.h"
#include "opts.h"

#include <string.h>

int cmd_import(int argc, char **argv)
{
    const char *out = NULL;
    opt_spec specs[] = {
        opt_str("out", &out, "MODEL", "the lamina model file to write", NULL),
        opt_end(),
    };
    char *pos[1];
    int n_pos = 0;
    int rc = opts_parse("import", specs, argc, argv, 2, pos, 1, &n_pos, "FILE.onnx --out MODEL",
                        "Reads an ONNX model whose graph is a chain of lamina's layers (Gemm, "
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
        cli_err("import: give FILE.onnx and --out MODEL (see lamina import --help)");
        return CLI_EUSAGE;
    }
    if (cli_same_file(out, pos[0])) {
        cli_err("import: --out %s is the ONNX file %s; writing it would destroy it (name another "
                "file)", out, pos[0]);
        return CLI_EUSAGE;
    }
    if (!cli_check_writable(out)) return CLI_EFAIL;
    lm_net *net;
    lm_status st = lm_net_load_onnx(&net, pos[0]);
    if (st == LM_EIO) return cli_lib_err(CLI_EMODEL, pos[0]);
    if (st != LM_OK) return cli_lib_err(st == LM_ENOMEM ? CLI_EFAIL : CLI_EMODEL, pos[0]);
    lm_net_set_meta(net, "imported_from", "onnx");
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
