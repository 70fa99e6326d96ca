/* export_onnx.c - the onnx branch of `lamina export`. */
#include "cli.h"

int export_onnx(lm_net *net, const char *out, int opset)
{
    lm_status st = lm_net_save_onnx(net, out, opset);
    if (st == LM_EINVAL) return cli_lib_err(CLI_EMODEL, NULL);
    if (st != LM_OK) return cli_lib_err(CLI_EFAIL, out);
    printf("wrote %s: ONNX opset %d, input \"input\" (N, %d), output \"output\" (N, %d)\n", out,
           opset ? opset : 13, lm_net_n_in(net), lm_net_n_out(net));
    return CLI_OK;
}
