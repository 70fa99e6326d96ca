/* fuzz_opts.c - libFuzzer target for the CLI's option parser
 * (cli/opts.c). The input is an argument vector: arguments separated by
 * NUL bytes. The table has one option of each kind; after a successful
 * parse every value must lie in its declared range. Built with
 * cli/opts.c and cli/util.c by fuzz/run.sh, which also replays
 * tests/regress/opts/. */
#include "../cli/cli.h"
#include "../cli/opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *why)
{
    if (!ok) {
        fprintf(stderr, "fuzz_opts: %s\n", why);
        abort();
    }
}

static const char *const CHOICES[] = {"sgd", "adam", "adamw", "rprop", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* argv[0] is the command; the rest are the NUL-separated pieces. */
    char *buf = malloc(size + 1);
    check(buf != NULL, "out of memory");
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "train";
    for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    int flag = 0, epochs = 10, choice = 0;
    uint64_t seed = 1;
    float lr = 0.01f, frac = 0.0f, clip = 0.0f;
    const char *str = NULL;
    opt_spec specs[] = {
        opt_flag("quiet", &flag, 1, "no progress"),
        opt_int("epochs", &epochs, "N", "epochs", "10", 1, 1000000),
        opt_u64("seed", &seed, "N", "seed", "1"),
        opt_float("lr", &lr, "X", "learning rate", "0.01", 0, 1, 1e6),
        opt_float("val", &frac, "F", "validation fraction", "0", 0, 0, 0.9),
        opt_float("clip", &clip, "X", "no upper bound", "0", 0, 0, 1e300),
        opt_str("out", &str, "FILE", "output", NULL),
        opt_choice("optimizer", &choice, "NAME", CHOICES, "optimizer", "sgd"),
        opt_end(),
    };
    char *pos[4];
    int n_pos = -1;
    int rc = opts_parse("train", specs, argc, argv, 1, pos, 4, &n_pos, "[options]", "fuzz");
    check(rc == 0 || rc == 1 || rc == 2, "an unknown return code");
    check(n_pos >= 0 && n_pos <= 4, "a positional count out of range");
    if (rc == 0) {
        check(flag == 0 || flag == 1, "flag");
        check(epochs >= 1 && epochs <= 1000000, "an int out of its range");
        check(isfinite(lr) && lr > 0 && lr <= 1e6, "a float out of its range");
        check(isfinite(frac) && frac >= 0 && frac <= 0.9f, "a float out of its closed range");
        check(isfinite(clip) && clip >= 0, "an unbounded float stored as Inf or below its minimum");
        check(choice >= 0 && choice < (int)(sizeof CHOICES / sizeof *CHOICES) - 1, "a choice out of range");
        check(!str || (str >= buf && str <= buf + size && *str), "a string not from argv");
        for (int i = 0; i < n_pos; i++) check(pos[i] >= buf && pos[i] <= buf + size, "a positional not from argv");
        check(opts_seen(specs, "quiet") == (opts_find(specs, "quiet")->seen != 0), "opts_seen");
    }
    /* Text values set the way model metadata does. */
    if (argc > 1) {
        int r2 = opts_set("train", &specs[3], argv[1]);
        check(r2 == 0 || r2 == 2, "opts_set returned an unknown code");
        if (r2 == 0) check(isfinite(lr) && lr > 0 && lr <= 1e6, "opts_set stored a float out of range");
    }
    free(buf);
    return 0;
}
