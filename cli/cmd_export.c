/* cmd_export.c - `lamina export MODEL --format FMT --out FILE`: a model
 * in another form. This file only picks the format; each format parses
 * its own options in its own file (export_c.c: C source, export_onnx.c: ONNX). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *about;
} formats[] = {
    {"c", cli_export_c, "C99 source and header for embedded targets (docs/EXPORT.md)"},
    {"onnx", cli_export_onnx, "an ONNX model for ONNX Runtime and others (docs/EXPORT.md)"},
};

#define N_FORMATS (sizeof formats / sizeof formats[0])

/* "c, onnx": the accepted formats, for messages. */
static const char *format_list(char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_FORMATS && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", formats[i].name);
    return buf;
}

static void usage(FILE *f)
{
    char list[128];
    fprintf(f, "usage: lamina export MODEL --format FMT --out FILE [options]\n\n"
               "Writes a trained model in another form. Formats (%s):\n",
            format_list(list, sizeof list));
    for (size_t i = 0; i < N_FORMATS; i++) {
        int col = fprintf(f, "  %-6s ", formats[i].name);
        cli_wrap(f, formats[i].about, col, 9, CLI_HELP_WIDTH, " ");
    }
    fprintf(f, "\nlamina export --format FMT --help shows a format's options.\n");
}

int cmd_export(int argc, char **argv)
{
    const char *fmt = NULL;
    int help = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) fmt = argv[++i];
        else if (strncmp(argv[i], "--format=", 9) == 0) fmt = argv[i] + 9;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) help = 1;
    }
    if (!fmt && help) {
        usage(stdout);
        return CLI_OK;
    }
    char list[128];
    if (!fmt) {
        cli_err("export: --format is required (one of: %s; lamina export --help)",
                format_list(list, sizeof list));
        return CLI_EUSAGE;
    }
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcmp(fmt, formats[i].name) == 0) return formats[i].fn(argc, argv);
    cli_err("export: unknown format '%s' (accepted: %s)", fmt, format_list(list, sizeof list));
    return CLI_EUSAGE;
}
