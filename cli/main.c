/* main.c - the lamina command: dispatch to one file per subcommand. */
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *about;
} commands[] = {
    {"demo", cmd_demo, "train the tutorial's 3-4-1 network on its 4-row data set"},
    {"train", cmd_train, "train a network on a CSV, IDX, FANN or NumPy data file"},
    {"eval", cmd_eval, "loss and accuracy (or MSE and R^2) of a model on data"},
    {"predict", cmd_predict, "print a model's predictions for each row, as CSV"},
    {"info", cmd_info, "show a model's architecture, normalisation and metadata"},
    {"export", cmd_export, "write a model as ONNX (--format onnx) or C source (--format c)"},
    {"import", cmd_import, "read an ONNX model (e.g. from PyTorch) as a lamina model"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lamina COMMAND [options]   (lamina COMMAND --help for its options)\n"
               "       lamina help COMMAND        (the same)\n\n"
               "lamina trains neural networks (dense and convolutional) on CSV, IDX\n(MNIST-style), FANN and NumPy data; CSV, IDX and FANN files may be gzipped.\n\n"
               "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int col = fprintf(f, "  %-9s ", commands[i].name);
        cli_wrap(f, commands[i].about, col, 12, CLI_HELP_WIDTH, " ");
    }
    fprintf(f, "\noptions:\n  --help     show this help\n  --version  print the version\n"
               "\nexamples:\n"
               "  lamina demo --plot tutorial-loss.svg\n"
               "  lamina train --data iris.csv --layers 16:relu --epochs 50 --out iris.lmn\n"
               "  lamina eval iris.lmn --data iris-test.csv\n"
               "  lamina predict iris.lmn --data new.csv --proba\n"
               "\nexit codes:\n"
               "  0    ok\n"
               "  1    internal or other error (e.g. an output file cannot be written)\n"
               "  2    usage: a bad option, value or layer spec\n"
               "  3    data: a data file is missing, unreadable or malformed\n"
               "  4    model: a model file is missing, corrupt or not lamina's\n"
               "  5    numeric: NaN or Inf appeared during training\n"
               "  130  interrupted (Ctrl-C); training saves a checkpoint first\n"
               "  143  terminated (SIGTERM); saved as for Ctrl-C\n");
}

/* An unknown command's message, naming the command it most likely meant
 * (within 2 edits, 1 for names of 4 letters or fewer: "trian" is train). */
static void unknown(const char *what, const char *cmd)
{
    const char *best = NULL;
    int best_d = 99;
    size_t len = strlen(cmd);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int d = opts_distance(cmd, len, commands[i].name);
        if (d < best_d) best_d = d, best = commands[i].name;
    }
    if (len >= 3 && best_d <= (len <= 4 ? 1 : 2))
        cli_err("%sunknown command '%s'; did you mean %s? (see lamina --help)", what, cmd, best);
    else
        cli_err("%sunknown command '%s' (see lamina --help)", what, cmd);
}

/* What a command printed may still sit in stdout's buffer, and a write
 * there may have failed already: with stdout on a full disk the report or
 * the summary is lost, so a run that succeeded otherwise says so and
 * exits 1 (an error already reported keeps its code). */
static int stdout_written(int rc)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    if (!e && !ferror(stdout)) return rc;
    if (rc == CLI_OK) {
        cli_err("stdout: cannot write the output: %s", e ? strerror(e) : "write error");
        return CLI_EFAIL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EUSAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 && argc > 2) {
        // "lamina help CMD" is "lamina CMD --help"
        char *args[] = {argv[0], argv[2], "--help", NULL};
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(argv[2], commands[i].name) == 0) return stdout_written(commands[i].fn(3, args));
        unknown("help: ", argv[2]);
        return CLI_EUSAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return stdout_written(CLI_OK);
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("lamina %s\n", LM_VERSION_STRING);
        return stdout_written(CLI_OK);
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0) return stdout_written(commands[i].fn(argc, argv));
    unknown("", cmd);
    return CLI_EUSAGE;
}
