/* export_c.c - `lamina export MODEL --format c --out NAME.c [--int8]
 * [--test FILE [--test-labels FILE]]`: the model as C99 source
 * (lm_net_export_c). With --test, the accuracy (or loss, for regression)
 * of the float model and, with --int8, of its int8 form on that data,
 * and the drop: what the exported code will score. */
#include "cli.h"
#include "opts.h"

#include <math.h>
#include <string.h>

/* The C name from the output path: its file name without ".c". */
static int name_from_out(const char *out, char *buf, size_t size)
{
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    size_t n = strlen(base);
    if (n < 3 || strcmp(base + n - 2, ".c") != 0 || n - 2 >= size) return 0;
    memcpy(buf, base, n - 2);
    buf[n - 2] = 0;
    return 1;
}

static int valid_c_name(const char *s)
{
    static const char *const kw[] = {
        "auto",     "break",    "case",     "char",   "const",  "continue", "default",
        "do",       "double",   "else",     "enum",   "extern", "float",    "for",
        "goto",     "if",       "inline",   "int",    "long",   "register", "restrict",
        "return",   "short",    "signed",   "sizeof", "static", "struct",   "switch",
        "typedef",  "union",    "unsigned", "void",   "volatile", "while"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strcmp(s, kw[i]) == 0) return 0;
    if (!*s || strlen(s) > 40 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* Whether the header's file name can stand in the source's #include "...":
 * no quote, apostrophe, backslash or control character (the library
 * refuses those too; checked here so that the refusal is a usage error). */
static int include_ok(const char *out)
{
    const char *base = strrchr(out, '/');
    for (const char *c = base ? base + 1 : out; *c; c++)
        if (*c == '"' || *c == '\'' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

/* The test data mapped onto the model as eval maps it. */
static int load_test(cli_data *cd, lm_net *net, const char *path, const char *labels, int classes)
{
    cli_data_opts o = cli_data_defaults();
    if (!cli_data_opts_from_model(&o, net, "export", NULL, 0)) return CLI_EUSAGE;
    o.labels = labels;
    return cli_data_load_scored(cd, net, path, &o, classes, "--test-labels", 0); // no --target
}

/* Prints the float (and int8) scores on the test data. */
static int measure(lm_net *net, const cli_data *cd, int int8, int classes)
{
    lm_loss loss = cli_model_loss(net);
    float l32, a32, l8 = NAN, a8 = NAN;
    lm_net *q = NULL;
    if (lm_evaluate(net, &cd->d, loss, &l32, &a32) != LM_OK) return cli_lib_err(CLI_EDATA, cd->path);
    if (int8) {
        if (lm_net_clone(&q, net) != LM_OK || lm_net_quantize_int8(q) != LM_OK ||
            lm_evaluate(q, &cd->d, loss, &l8, &a8) != LM_OK) {
            lm_net_free(q);
            return cli_lib_err(CLI_EFAIL, NULL);
        }
        lm_net_free(q);
    }
    printf("test %s: %zu rows\n", cd->path, cd->d.n);
    if (classes) {
        printf("accuracy float: %.4f\n", a32);
        if (int8)
            printf("accuracy int8:  %.4f (drop %.2f points)\n", a8, 100.0 * ((double)a32 - a8));
    } else {
        const char *std = lm_net_get_target_norm(net, NULL, NULL) ? ", standardised targets" : "";
        printf("loss (%s%s) float: %.6g\n", lm_loss_name(loss), std, l32);
        if (int8)
            printf("loss (%s%s) int8:  %.6g (%+.6g)\n", lm_loss_name(loss), std, l8, (double)l8 - l32);
    }
    return CLI_OK;
}

int cli_export_c(int argc, char **argv)
{
    const char *out = NULL, *name = NULL, *test = NULL, *test_labels = NULL, *format = NULL;
    int int8 = 0;
    opt_spec specs[] = {
        opt_str("format", &format, "c", "the output format", NULL),
        opt_str("out", &out, "NAME.c", "the source file; NAME.h is written beside it", NULL),
        opt_str("name", &name, "NAME", "the C name (NAME_predict ...)", "the --out file's name"),
        opt_flag("int8", &int8, 1, "int8 weights with a float scale per output channel"),
        opt_str("test", &test, "FILE", "data to measure the export's accuracy on (float, int8)", NULL),
        opt_str("test-labels", &test_labels, "FILE", "labels of IDX or NumPy test data", NULL),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("export", specs, argc, argv, 2, pos, 1, &n_pos,
                        "MODEL --format c --out NAME.c [--int8] [--test FILE [--test-labels FILE]]",
                        "Writes the model as C99 source: NAME.c and NAME.h declaring "
                        "void NAME_predict(const float *x, float *y); no allocation, only libm.");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (n_pos != 1 || !out) {
        cli_err("export: give MODEL and --out NAME.c (lamina export --format c --help)");
        return CLI_EUSAGE;
    }
    char derived[256];
    if (!name_from_out(out, derived, sizeof derived)) {
        cli_err("export: --out '%s' must name a file ending in .c (NAME.h goes beside it)", out);
        return CLI_EUSAGE;
    }
    if (!name) name = derived;
    if (!valid_c_name(name)) {
        cli_err("export: '%s' is not a usable C name (a letter, then letters, digits or _, at "
                "most 40, not a keyword): pass --name NAME", name);
        return CLI_EUSAGE;
    }
    if (!include_ok(out)) {
        cli_err("export: --out '%s': the generated source includes its header by this file "
                "name, which cannot hold quotes, backslashes or control characters", out);
        return CLI_EUSAGE;
    }
    if (test_labels && !test) {
        cli_err("export: --test-labels needs --test");
        return CLI_EUSAGE;
    }
    char hdr[4096];
    snprintf(hdr, sizeof hdr, "%.*sh", (int)strlen(out) - 1, out);
    if (cli_same_file(out, pos[0]) || cli_same_file(hdr, pos[0]) ||
        (test && (cli_same_file(out, test) || cli_same_file(hdr, test)))) {
        cli_err("export: --out %s (or its header) is an input; writing it would destroy it", out);
        return CLI_EUSAGE;
    }
    lm_net *net;
    if (lm_net_load(&net, pos[0]) != LM_OK) return cli_lib_err(CLI_EMODEL, pos[0]);
    cli_model_state_warn(net, pos[0]);
    int classes = cli_model_classes(net);
    cli_data cd = {0};
    /* the test data first: a bad file stops the command before it writes */
    if (test) rc = load_test(&cd, net, test, test_labels, classes);
    if (!rc && (!cli_check_writable(out) || !cli_check_writable(hdr))) rc = CLI_EFAIL;
    lm_status st = rc ? LM_OK : lm_net_export_c(net, out, name, int8 ? LM_EXPORT_INT8 : 0);
    /* the name and path are checked above: a refusal now is the model's
     * (no layers, a weight that is not finite) */
    if (st) rc = cli_lib_err(st == LM_EINVAL ? CLI_EMODEL : CLI_EFAIL, st == LM_EINVAL ? pos[0] : out);
    if (!rc)
        printf("wrote %s and %s: %s_predict, %d input%s -> %d output%s, %s weights\n", out, hdr,
               name, lm_net_n_in(net), lm_net_n_in(net) == 1 ? "" : "s", lm_net_n_out(net),
               lm_net_n_out(net) == 1 ? "" : "s", int8 ? "int8" : "float");
    if (!rc && test) rc = measure(net, &cd, int8, classes);
    cli_data_free(&cd);
    lm_net_free(net);
    return rc;
}
