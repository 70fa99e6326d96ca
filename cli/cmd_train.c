/* cmd_train.c - `lamina train`: data file in, trained model, log, plot
 * and a number out. Epochs run through lm_train_epoch so this file owns
 * progress, checkpoints and Ctrl-C; early stopping is the library's
 * (lm_train_should_stop, lm_train_best), this file only reports it.
 *
 * Files a person already has are never destroyed: output paths equal to
 * an input are refused before anything is read, and until a run finishes
 * an existing --out it did not resume from is left alone (checkpoints and
 * an interrupted state go to OUT.partial instead). */
#include "cli.h"
#include "dist.h"
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop; /* the signal that asked to stop, or 0 */
/* The stop every process agreed on (cli/dist.h): the run acts on this, not
 * on g_stop, so that all processes stop at the same batch. */
static int g_agreed;

static void on_stop_signal(int sig)
{
    g_stop = sig;
}

/* The exit code for the signal that stopped the run: 128 + its number. */
static int stop_code(void)
{
    return g_agreed == SIGTERM ? CLI_ETERM : CLI_EINTR;
}

/* Whether a signal asks to stop, agreed over the processes (an epoch
 * boundary: every process asks at the same point). */
static int stop_asked(void)
{
    g_agreed = cli_dist_max(g_stop);
    return g_agreed != 0;
}

/* The choices of --loss, --init, --lr-schedule and --optimizer, filled
 * from the library's names (lm_loss_name ...) by choices_init(), so an
 * index is the enum value by construction. --optimizer also takes
 * "momentum" and "nesterov", this CLI's spellings of SGD with --momentum
 * (plain or Nesterov); the library's optimizer kinds come first. */
static const char *LOSSES[LM_LOSS_COUNT + 1], *INITS[LM_INIT_COUNT + 1];
static const char *SCHEDULES[LM_LR_COUNT + 1], *OPTIMS[LM_OPTIM_COUNT + 3];
enum { O_MOMENTUM = LM_OPTIM_COUNT, O_NESTEROV };
static const char *const TASKS[] = {"auto", "classes", "regression", NULL};
static const char *const MISSING[] = {"error", "mean", NULL};

static void choices_init(void)
{
    for (int i = 0; i < LM_LOSS_COUNT; i++) LOSSES[i] = lm_loss_name((lm_loss)i);
    for (int i = 0; i < LM_INIT_COUNT; i++) INITS[i] = lm_init_name((lm_init)i);
    for (int i = 0; i < LM_LR_COUNT; i++) SCHEDULES[i] = lm_lr_schedule_name((lm_lr_schedule)i);
    for (int i = 0; i < LM_OPTIM_COUNT; i++) OPTIMS[i] = lm_optim_name((lm_optim_kind)i);
    OPTIMS[O_MOMENTUM] = "momentum";
    OPTIMS[O_NESTEROV] = "nesterov";
}

typedef struct train_cfg {
    const char *data, *labels, *test, *test_labels, *layers, *out, *checkpoint, *resume;
    const char *val_data, *val_labels; /* --val-data: a validation file, in place of --val */
    const char *log, *plot, *target, *input_shape;
    const char *ignore, *sep; /* CSV: columns left out, separator */
    const char *init_from;    /* start from this model's layers and parameters */
    const char *class_weight; /* "balanced" or NAME=W,NAME=W */
    const char *categorical;  /* CSV columns to one-hot encode */
    int missing, max_categories; /* --missing (0 error, 1 mean), --max-categories */
    const char *rprop_etas, *rprop_steps; /* "A,B", parsed into eta and step */
    float eta[2], step[2];    /* RPROP's eta_minus, eta_plus; step_min, step_max */
    int decimal_comma;
    int loss, optim, init, task, header;
    float lr, momentum, weight_decay, clip, val;
    int schedule; /* lm_lr_schedule */
    float lr_factor; /* plateau: --lr-factor, --lr-patience; --lr-warmup */
    int lr_patience, lr_warmup;
    int epochs, batch, early_stop, threads, ckpt_every, quiet, json;
    int cv; /* --cv K: k-fold cross-validation (cv.c), 0 off */
    uint64_t seed;
} train_cfg;

/* Per-epoch history for the log, the plot and the JSON line. */
typedef struct history {
    int n, cap;
    int *epoch;
    float *loss, *acc, *val_loss, *val_acc, *lr;
    double *secs;
} history;

typedef struct train_run {
    train_cfg c;
    opt_spec *specs;
    cli_data train, test;
    cli_data valset; /* --val-data */
    lm_data tr, va;  /* the split, when --val */
    const lm_data *fit, *val;
    lm_net *net;
    lm_train *t;
    cli_progress prog;
    history h;
    int classes;   /* class targets */
    int n_out;     /* classes or targets; a net may give 2 classes as one output */
    int restored;  /* early stopping put back an earlier epoch's parameters */
    float test_loss, test_acc;
    const char *ckpt;    /* --checkpoint, else --out, or NULL */
    const char *save_to; /* where checkpoints and Ctrl-C save: ckpt or partial */
    char partial[4096];  /* OUT.partial, when --out exists and is not ours */
    int saved_epoch;     /* epochs the file at save_to holds from this run, or -1 */
    uint64_t epoch_step0; /* the optimizer's steps when the running epoch began */
    uint64_t mid_steps;   /* steps into an unfinished epoch the state saved holds, or 0 */
    uint64_t start_mid;   /* mid_steps of the state resumed from */
    int wrote_partial;   /* this run wrote (or resumed from) OUT.partial */
    lm_epoch_info kept;  /* the epoch whose parameters the net holds at the end */
    int early_stopped;   /* patience ran out before --epochs */
    char *owned[8];      /* paths copied from a resumed model's metadata */
    int n_owned;
    int start_epochs;    /* epochs done when this run started */
    float *init_params;  /* (n_params) the starting parameters of a fresh run */
    float *cw;           /* (n_cw) --class-weight's weights, one a class, or NULL */
    int n_cw;
    lm_fit_opts fo;      /* what lm_train_new got, to rebuild the start state */
    lm_rng rng0;
    char argv_line[2048];
    char *encoding;      /* the one-hot encoding of a --resume or --init-from model, or NULL */
    char fill_note[1200]; /* what --missing filled, printed after the data's summary */
    size_t n_filled;      /* cells --missing filled in the training data */
    int n_onehot;         /* categorical columns */
    char *features;       /* the training file's input columns by name (feature_columns), or NULL */
    char features_why[160]; /* why a header's names are not in features */
    cli_cv cv;            /* --cv: the folds' figures */
    int cv_fold;          /* the fold being trained (1-based), or 0 */
    int cv_only;          /* --cv without --out or --test: no final model */
} train_run;

/* ------------------------------------------------------------ options */

/* --cv's refusals: what does not go with folds of the training data. */
static int cv_refused(train_run *r)
{
    const train_cfg *c = &r->c;
    const char *no = opts_seen(r->specs, "val") ? "--val (the folds are the validation sets)"
                   : c->val_data ? "--val-data (the folds are the validation sets)"
                   : c->resume ? "--resume (each fold trains a fresh net)"
                   : c->init_from ? "--init-from (each fold trains a fresh net)"
                   : c->checkpoint ? "--checkpoint (the folds save nothing)"
                   : c->ckpt_every ? "--checkpoint-every (the folds save nothing)" : NULL;
    if (no) {
        cli_err("train: --cv %d does not go with %s", c->cv, no);
        return CLI_EUSAGE;
    }
    if ((c->log || c->plot) && !c->out && !c->test) {
        cli_err("train: --%s with --cv records the final model's training on all the rows: add "
                "--out MODEL (or --test FILE) to train it", c->log ? "log" : "plot");
        return CLI_EUSAGE;
    }
    if (cli_dist_size() > 1) {
        cli_err("train: --cv runs on one process: start it without mpirun");
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

static int parse(train_run *r, int argc, char **argv)
{
    train_cfg *c = &r->c;
    static opt_spec specs[64]; // room for more options: add a line below
    int i = 0;
    specs[i++] = opt_str("data", &c->data, "FILE", "training data: CSV (- or a pipe: read once), IDX images, FANN data (each may be gzipped) or NumPy (.npy, .npz)", NULL);
    specs[i++] = opt_str("labels", &c->labels, "FILE", "labels of IDX images or NumPy features (.npy)", NULL);
    specs[i++] = opt_str("test", &c->test, "FILE", "test data, evaluated after training", NULL);
    specs[i++] = opt_str("test-labels", &c->test_labels, "FILE", "labels of IDX or NumPy test data", NULL);
    specs[i++] = opt_str("layers", &c->layers, "SPEC",
                         "layers after the input, e.g. 256:relu,10:softmax (output optional); also "
                         "conv:32:3x3:same, maxpool:2, avgpool:2, gap, dropout:0.5, batchnorm, relu (a standalone activation)",
                         NULL);
    specs[i++] = opt_str("input-shape", &c->input_shape, "CxHxW",
                         "the shape of a CSV row for conv and pool layers, e.g. 1x28x28 (channels-last)",
                         "IDX images: their own; CSV: flat");
    specs[i++] = opt_choice("loss", &c->loss, "NAME", LOSSES, "sse, mse, bce or ce",
                            "ce for classes, mse for numbers");
    specs[i++] = opt_choice("optimizer", &c->optim, "NAME", OPTIMS,
                            "sgd, momentum, nesterov, adam, adamw or rprop (FANN's default; full "
                            "batch)", "adam");
    specs[i++] = opt_float("lr", &c->lr, "X", "learning rate (rprop: the first step size)",
                           "0.001 adam/adamw, 0.01 sgd/rprop", 0, 1, 1e6);
    specs[i++] = opt_str("rprop-etas", &c->rprop_etas, "MINUS,PLUS",
                         "rprop: shrink and grow factors of a step", "0.5,1.2");
    specs[i++] = opt_str("rprop-steps", &c->rprop_steps, "MIN,MAX", "rprop: the steps' bounds",
                         "1e-6,50");
    specs[i++] = opt_choice("lr-schedule", &c->schedule, "NAME", SCHEDULES,
                            "constant, cosine (annealed toward 0 over --epochs), step (x0.1 every "
                            "10 epochs) or plateau (x--lr-factor after --lr-patience epochs "
                            "without a better val, or train, loss)", "constant");
    specs[i++] = opt_float("lr-factor", &c->lr_factor, "X",
                           "plateau: multiply the lr by X, in (0, 1), on a plateau", "0.1", 0, 3, 1);
    specs[i++] = opt_int("lr-patience", &c->lr_patience, "N",
                         "plateau: cut the lr after more than N epochs without a better loss",
                         "10", 0, 1000000);
    specs[i++] = opt_int("lr-warmup", &c->lr_warmup, "N",
                         "raise the lr linearly over the first N epochs, lr x (e+1)/(N+1) at "
                         "epoch e; the schedule follows", "0", 0, 1000000);
    specs[i++] = opt_float("momentum", &c->momentum, "X", "momentum (momentum, nesterov)",
                           "0.9", 0, 0, 0.9999);
    specs[i++] = opt_float("weight-decay", &c->weight_decay, "X",
                           "weight decay (L2; decoupled for adamw)", "0", 0, 0, 1e3);
    specs[i++] = opt_float("clip-grad", &c->clip, "X", "clip the gradient norm to X, 0 off", "0",
                           0, 0, 1e9);
    specs[i++] = opt_int("epochs", &c->epochs, "N", "epochs in all (--resume: its planned total)",
                         "10", 1, 1000000);
    specs[i++] = opt_int("batch", &c->batch, "N", "rows per batch", "32; rprop: all the training rows",
                         1, 1 << 24);
    specs[i++] = opt_str("class-weight", &c->class_weight, "SPEC",
                         "weigh classes in training: balanced (rows / (classes x the class's rows)) "
                         "or NAME=W,NAME=W (classes not named: 1)", "none");
    specs[i++] = opt_float("val", &c->val, "FRACTION", "hold out this fraction for validation",
                           "none", 0, 1, 0.9);
    specs[i++] = opt_str("val-data", &c->val_data, "FILE",
                         "validation data in its own file, in place of --val (read as --test is)",
                         NULL);
    specs[i++] = opt_str("val-labels", &c->val_labels, "FILE", "labels of IDX or NumPy validation data",
                         NULL);
    specs[i++] = opt_int("early-stop", &c->early_stop, "N",
                         "stop after N epochs without a better val (or train) loss; keep the best",
                         "off", 0, 1000000);
    specs[i++] = opt_int("cv", &c->cv, "K",
                         "K-fold cross-validation (stratified for classes): a fresh net a fold, "
                         "the mean and std of the held-out scores; with --out or --test, then "
                         "trains on all the rows", "off", 2, 1 << 20);
    specs[i++] = opt_u64("seed", &c->seed, "N",
                         "seed for the split, the --cv folds, the weights and shuffling", "1");
    specs[i++] = opt_int("threads", &c->threads, "N", "worker threads, 0 all cores", "0", 0, 4096);
    specs[i++] = opt_choice("init", &c->init, "NAME", INITS, "uniform01, xavier or he",
                            "xavier (measured: docs/CLI.md)");
    specs[i++] = opt_str("out", &c->out, "MODEL", "save the model here (resumable)", "none");
    specs[i++] = opt_int("checkpoint-every", &c->ckpt_every, "N",
                         "save the training state every N epochs", "off", 0, 1000000);
    specs[i++] = opt_str("checkpoint", &c->checkpoint, "FILE",
                         "where checkpoints (and Ctrl-C) save", "the --out file");
    specs[i++] = opt_str("resume", &c->resume, "MODEL",
                         "continue from a saved model or checkpoint to --epochs in all", NULL);
    specs[i++] = opt_str("init-from", &c->init_from, "MODEL",
                         "start from this model's layers, parameters and normalisation (e.g. one "
                         "`lamina import` made) with a fresh optimizer", NULL);
    specs[i++] = opt_str("log", &c->log, "FILE.csv", "write per-epoch losses and accuracies", NULL);
    specs[i++] = opt_str("plot", &c->plot, "FILE.svg", "plot loss (and accuracy) per epoch", NULL);
    specs[i++] = opt_flag("quiet", &c->quiet, 1, "no progress output");
    specs[i++] = opt_flag("json", &c->json, 1, "end stdout with one JSON object of results");
    specs[i++] = opt_str("target", &c->target, "COLS",
                         "CSV target column(s): names or 0-based indices, comma-separated "
                         "(several: one output each)", "the last");
    specs[i++] = opt_str("ignore", &c->ignore, "COLS",
                         "CSV columns to leave out of the features (IDs...): names or indices",
                         NULL);
    specs[i++] = opt_str("categorical", &c->categorical, "COLS",
                         "CSV columns to one-hot encode (text or labels): names or indices; "
                         "each becomes one 0/1 input per value, named COLUMN=VALUE", NULL);
    specs[i++] = opt_int("max-categories", &c->max_categories, "N",
                         "refuse a --categorical column with more distinct values (an ID?)",
                         "1000", 1, 1 << 20);
    specs[i++] = opt_choice("missing", &c->missing, "MODE", MISSING,
                            "CSV cells empty or NA, N/A, n/a, NaN, nan, null, NULL, None, ?: "
                            "error, or mean (the column's training mean; a categorical "
                            "column's inputs all 0)", "error");
    specs[i++] = opt_str("sep", &c->sep, "SEP", "CSV separator: ',', ';' or tab", "detect");
    specs[i++] = opt_flag("decimal-comma", &c->decimal_comma, 1,
                          "CSV numbers are written 5,1 (with --sep ';' or tab)");
    specs[i++] = opt_flag("header", &c->header, 1, "the CSV has a header row");
    specs[i++] = opt_flag("no-header", &c->header, 0, "the CSV has no header row [detect]");
    specs[i++] = opt_choice("task", &c->task, "NAME", TASKS,
                            "how to read the CSV target: auto (text: classes, numbers: "
                            "regression), classes or regression", "auto");
    specs[i++] = opt_end();
    r->specs = specs;
    char *pos[1];
    int n_pos;
    int rc = opts_parse("train", specs, argc, argv, 2, pos, 0, &n_pos, "--data FILE --layers SPEC [options]",
                        "Trains a network. Class targets (a CSV column of names, IDX labels or NumPy "
                        "integer labels) give a softmax output with cross-entropy; numeric targets an identity "
                        "output with mean squared error. Inputs are standardised per feature (CSV) "
                        "or scaled by 1/255 (byte images: IDX, NumPy uint8); the model keeps it.");
    if (rc) return rc == 1 ? -1 : CLI_EUSAGE;
    if (!c->data && !c->resume) {
        cli_err("train: --data FILE is required (see lamina train --help)");
        return CLI_EUSAGE;
    }
    if (c->init_from && (c->resume || c->layers)) {
        cli_err("train: --init-from takes its layers from the model: drop --%s",
                c->resume ? "resume" : "layers");
        return CLI_EUSAGE;
    }
    if (!c->layers && !c->resume && !c->init_from) {
        cli_err("train: --layers SPEC is required, e.g. --layers 64:relu (see --help)");
        return CLI_EUSAGE;
    }
    // --target and --ignore choose CSV columns; a model would record them
    // as used, and apply them to a CSV file it predicts later
    if ((c->target || c->ignore) && c->data && cli_is_binary(c->data)) {
        int npy = cli_is_npy(c->data);
        cli_err("%s: --%s goes with CSV data; %s take their targets from --labels and use "
                "every %s", c->data, c->target ? "target" : "ignore",
                npy ? "NumPy arrays" : "IDX images",
                npy ? "feature (select the columns in numpy first, e.g. x[:, 1:])" : "pixel");
        return CLI_EUSAGE;
    }
    if (c->test_labels && !c->test) {
        cli_err("train: --test-labels needs --test");
        return CLI_EUSAGE;
    }
    if (c->val_labels && !c->val_data) {
        cli_err("train: --val-labels needs --val-data");
        return CLI_EUSAGE;
    }
    if (c->val_data && opts_seen(specs, "val")) {
        cli_err("train: --val %g and --val-data %s both give the validation set: drop one", c->val,
                c->val_data);
        return CLI_EUSAGE;
    }
    if (c->sep && !cli_parse_sep("train", c->sep, &(char){0})) return CLI_EUSAGE;
    if (c->ckpt_every && !c->checkpoint && !c->out) {
        cli_err("train: --checkpoint-every needs --out or --checkpoint to save to");
        return CLI_EUSAGE;
    }
    return c->cv ? cv_refused(r) : CLI_OK;
}

/* --lr-factor and --lr-patience go with the plateau schedule: given with
 * another, they would be passed over (and a resumed run's recorded
 * settings are only filled in for a plateau). */
static int plateau_options_used(const train_run *r)
{
    static const char *const opts[] = {"lr-factor", "lr-patience"};
    for (int i = 0; i < 2 && r->c.schedule != LM_LR_PLATEAU; i++)
        if (opts_seen(r->specs, opts[i])) {
            cli_err("train: --%s needs --lr-schedule plateau (the schedule is %s)", opts[i],
                    lm_lr_schedule_name((lm_lr_schedule)r->c.schedule));
            return CLI_EUSAGE;
        }
    return CLI_OK;
}

/* --resume reuses the files the resumed run named (recorded as absolute
 * paths) unless given again: its data (and labels, only with its data),
 * its test set, its --out and --checkpoint. Not --log and --plot: a
 * resumed run's log covers only its own epochs and would replace the
 * earlier one. */
static int paths_from_model(train_run *r)
{
    train_cfg *c = &r->c;
    // a validation set given, as a file or a fraction, replaces the recorded one
    int own_data = !c->data, own_test = !c->test, own_val = !c->val_data && !opts_seen(r->specs, "val");
    struct {
        const char *key;
        const char **dest;
        int use;
    } p[] = {
        {"data", &c->data, own_data},      {"labels", &c->labels, own_data && !c->labels},
        {"test", &c->test, own_test},      {"test-labels", &c->test_labels, own_test && !c->test_labels},
        {"val-data", &c->val_data, own_val}, {"val-labels", &c->val_labels, own_val && !c->val_labels},
        {"out", &c->out, !c->out},         {"checkpoint", &c->checkpoint, !c->checkpoint},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        const char *v = lm_net_get_meta(r->net, p[i].key);
        if (!p[i].use || !v || !*v || r->n_owned == (int)(sizeof r->owned / sizeof r->owned[0]))
            continue;
        // A copy: the metadata is rewritten from these fields later.
        if (!(r->owned[r->n_owned] = strdup(v))) {
            cli_err("out of memory");
            return CLI_EFAIL;
        }
        *p[i].dest = r->owned[r->n_owned++];
    }
    if (!c->data) {
        cli_err("train: %s records no data file: add --data FILE", c->resume);
        return CLI_EUSAGE;
    }
    if (!c->out && !c->checkpoint) {
        cli_err("train: %s records no output file and none was given: add --out MODEL, or the "
                "resumed training would be lost", c->resume);
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

/* Fills options the user did not give from the resumed model's metadata,
 * so a resumed run continues with the same settings. */
static int defaults_from_model(train_run *r)
{
    static const char *const keys[] = {"loss", "optimizer", "lr", "lr-schedule", "lr-factor",
                                       "lr-patience", "lr-warmup", "momentum", "weight-decay",
                                       "clip-grad", "batch", "seed", "val", "target", "task",
                                       "ignore", "sep", "early-stop", "checkpoint-every",
                                       "class-weight", "missing", "rprop-etas", "rprop-steps", NULL};
    for (int i = 0; keys[i]; i++) {
        opt_spec *s = opts_find(r->specs, keys[i]);
        const char *v = lm_net_get_meta(r->net, keys[i]);
        if (!s || s->seen || !v || !*v) continue; // "": none (a key cannot be removed)
        if (!strcmp(keys[i], "val") && r->c.val_data) continue; // --val-data replaces it
        // RPROP's settings go with RPROP only: a run given another
        // optimizer is refused for its optimizer state, not for them.
        if (!strncmp(keys[i], "rprop-", 6) && r->c.optim != LM_RPROP) continue;
        // So the plateau's with the plateau (a run given another schedule).
        if ((!strcmp(keys[i], "lr-factor") || !strcmp(keys[i], "lr-patience")) &&
            r->c.schedule != LM_LR_PLATEAU)
            continue;
        if (opts_set("train", s, v) != 0) {
            cli_err("%s: metadata '%s' = '%s' is not usable", r->c.resume, keys[i], v);
            return CLI_EMODEL;
        }
        s->seen = 1;
    }
    // The total the resumed run planned (its metadata "epochs" is the
    // count done): "continue with --resume FILE" continues that run,
    // rather than stopping at the default 10, or finishing a run already
    // past 10 epochs as it is.
    opt_spec *s = opts_find(r->specs, "epochs");
    const char *v = lm_net_get_meta(r->net, "epochs_planned");
    if (s && !s->seen && v) {
        if (opts_set("train", s, v) != 0) {
            cli_err("%s: metadata 'epochs_planned' = '%s' is not usable", r->c.resume, v);
            return CLI_EMODEL;
        }
        s->seen = 1;
    }
    return paths_from_model(r);
}

/* --------------------------------------------------------------- data */

/* A class named "" is a blank target cell: missing data, not a class to
 * learn (it would become one, listed as " (1)" among the classes). */
static int blank_class(const cli_data *cd)
{
    const lm_data *d = &cd->d;
    for (int c = 0; d->labels && d->class_names && c < d->n_classes; c++) {
        if (d->class_names[c] && d->class_names[c][0]) continue;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] == c) {
                char row[64];
                cli_err("%s: %s: the target cell is empty; a class cannot be blank (fill it "
                        "in or leave the row out)", cd->path,
                        cli_data_row_name(cd, i, row, sizeof row));
                return CLI_EDATA;
            }
    }
    return CLI_OK;
}

/* The one-hot encoding of the model training continues from (--resume,
 * --init-from), which the data is then read with: the inputs are the
 * model's. With --init-from and no --task, the model's task too: its
 * output layer is fixed, so a classes model reads the target as classes
 * (a FANN file's 0/1 outputs, a CSV's integer labels). */
static int model_encoding(train_run *r)
{
    const char *from = r->c.resume ? r->c.resume : r->c.init_from;
    lm_net *net = r->net;
    if (!from || r->encoding) return CLI_OK;
    if (!net && lm_net_load(&net, from) != LM_OK) return cli_lib_err(CLI_EMODEL, from);
    if (r->c.init_from && r->c.task == 0 && cli_model_classes(net)) r->c.task = 1;
    const char *e = lm_net_get_meta(net, "categories"), *had = lm_net_get_meta(net, "categorical");
    int rc = CLI_OK;
    // Its inputs are fixed: a --categorical other than the model's would
    // be passed over (and recorded as if it had been used).
    if (e && r->c.categorical && (!had || strcmp(had, r->c.categorical) != 0)) {
        cli_err("train: --categorical %s: %s one-hot encodes %s%s, its inputs fixed: drop "
                "--categorical, or train a new model", r->c.categorical, from,
                had ? "--categorical " : "its own columns", had ? had : "");
        rc = CLI_EUSAGE;
    } else if (e && !(r->encoding = strdup(e))) {
        cli_err("out of memory");
        rc = CLI_EFAIL;
    }
    if (net != r->net) lm_net_free(net);
    return rc;
}

/* Training data read with a model's encoding may not hold values it
 * lacks: their inputs would be all 0 in training, silently. */
static int unseen_refused(const train_run *r, const cli_data *cd)
{
    const char *name, *ex;
    size_t unseen;
    for (int k = 0; lm_data_category(&cd->d, k, &name, NULL, NULL, NULL, &unseen, &ex); k++)
        if (unseen) {
            cli_err("%s: %zu row%s ha%s values of '%s' that %s was not trained with, e.g. "
                    "'%.60s'; its one-hot inputs are fixed: train a new model (without "
                    "--resume or --init-from) to add them", cd->path, unseen, cli_s(unseen),
                    unseen == 1 ? "s" : "ve", name,
                    r->c.resume ? r->c.resume : r->c.init_from, ex ? ex : "");
            return CLI_EDATA;
        }
    return CLI_OK;
}

/* The file's columns the inputs come from, a column list (a name holding
 * a comma in quotes, lm_csv_list_next), a categorical
 * column once (for its one-hot inputs): the model's "features", and the
 * names another file (--test) is read by, so its columns may come in any
 * order. NULL without a header, or out of memory, or when the list cannot
 * be written (why then says so). */
static char *feature_columns(const lm_data *d, char *why, size_t size)
{
    why[0] = '\0';
    const char **cols = d->feature_names ? malloc((size_t)d->nx * sizeof *cols) : NULL;
    int ncols = 0;
    for (int j = 0, k = 0; cols && j < d->nx; j++) {
        const char *cname;
        int first, nv;
        if (lm_data_category(d, k, &cname, &first, &nv, NULL, NULL, NULL) && first == j) {
            cols[ncols++] = cname;
            j += nv - 1;
            k++;
        } else {
            cols[ncols++] = d->feature_names[j];
        }
    }
    if (!cols) return NULL;
    // As long as a metadata value may be (1 MiB): thousands of columns.
    size_t len = 0, cap = (size_t)1 << 20;
    char *s = malloc(cap);
    int ok = s != NULL, j = 0;
    for (; ok && j < ncols; j++) {
        char *f = cli_list_item(cols[j] ? cols[j] : ""); // "a,b" quoted
        size_t fl = f ? strlen(f) : 0;
        ok = f && len + fl + 2 < cap;
        if (ok) {
            if (j) s[len++] = ',';
            memcpy(s + len, f, fl);
            len += fl;
        }
        free(f);
    }
    if (ok) {
        s[len] = '\0';
    } else if (s) {
        snprintf(why, size, "the names are longer than 1 MiB in all");
        free(s);
        s = NULL;
    }
    free(cols);
    return s;
}

/* The default target's header name (the training file's last column that
 * is not an input), or NULL: --target given, no header, several targets. */
static const char *target_name(const train_run *r)
{
    const char *tn = lm_data_target_name(&r->train.d, 0);
    if (r->c.target || !r->train.d.feature_names || !tn || !*tn ||
        lm_data_target_name(&r->train.d, 1))
        return NULL;
    return tn;
}

/* A file the model is scored on beside the training data (--test,
 * --val-data): read as the training data was (its target, --ignore,
 * --sep, --missing ... in o), with its one-hot encoding and its columns by
 * header name. what names the set in messages, labels_opt the option that
 * gives IDX labels. CLI_OK, or an exit code after a message. */
static int load_scored(train_run *r, cli_data *cd, cli_data_opts o, const char *path,
                       const char *labels, const char *what, const char *labels_opt)
{
    o.labels = labels;
    o.labels_opt = labels_opt;
    o.target_kind = r->classes ? 1 : 0;
    o.categorical = NULL;
    o.categories = lm_data_categories(&r->train.d);
    o.features = r->features; // its columns by name, in any order
    // The training CSV's --target, --ignore, --missing, --sep, --header and
    // --decimal-comma say how to read its columns and cells: FANN data
    // holds its inputs and outputs by position (eval reads it with such a
    // model as it is), so they do not apply to it.
    // (cli_is_fann reads the file's start: once here)
    int fann = !cli_is_binary(path) && cli_is_fann(path) > 0;
    if (fann) {
        o.target = NULL;
        o.ignore = NULL;
        o.missing = 0;
        o.sep = 0;
        o.header = -1;
        o.decimal_comma = 0;
    }
    // Its target by the training target's header name, as eval finds it:
    // the last column that is not an input may be another (a note after
    // the target would be scored, silently).
    const char *tn = target_name(r);
    char why[512];
    int csv = !cli_is_binary(path) && !fann, rc = CLI_OK;
    if (!(tn && csv && !labels && o.header != 0 &&
          cli_data_load_target_named(cd, path, &o, tn, why, sizeof why)))
        rc = cli_data_load(cd, path, &o);
    if (rc || (rc = blank_class(cd))) return rc;
    if (cd->is_idx && !cd->d.labels && (r->classes || (cd->is_npy && !cd->d.y))) {
        if (cd->is_npy)
            cli_err("%s: NumPy %s features need their targets: add %s FILE", path, what, labels_opt);
        else
            cli_err("%s: IDX %s images need their labels: add %s FILE", path, what, labels_opt);
        return CLI_EUSAGE;
    }
    if (!r->classes && (!cd->d.y || cd->d.ny != r->train.d.ny)) {
        if (cd->d.y)
            cli_err("%s: has %d numeric target%s but the training data has %d", path, cd->d.ny,
                    cli_s((size_t)cd->d.ny), r->train.d.ny);
        else
            cli_err("%s: has no numeric target for the model's %d output%s", path, r->train.d.ny,
                    cli_s((size_t)r->train.d.ny));
        return CLI_EDATA;
    }
    if (cd->d.nx != r->train.d.nx) {
        cli_err("%s: has %d features but the training data has %d", path, cd->d.nx, r->train.d.nx);
        return CLI_EDATA;
    }
    return CLI_OK;
}

static int load_data(train_run *r)
{
    train_cfg *c = &r->c;
    int rc;
    // Every process reads the training data itself (docs/SCALING.md): a
    // stream is read once, by one of them (mpirun passes standard input to
    // process 0 alone), and the others would find it empty or read a part
    // of it. (--test is process 0's alone: it may be a stream.)
    const char *in[] = {c->data, c->labels, c->val_data, c->val_labels};
    const char *name[] = {"data", "labels", "val-data", "val-labels"};
    for (int i = 0; i < 4 && cli_dist_size() > 1; i++)
        if (in[i] && cli_is_stream(in[i])) {
            cli_err("--%s %s: %s is read once, by one process, but under mpirun every process "
                    "reads the training and validation data itself: name a regular file", name[i], in[i],
                    strcmp(in[i], "-") == 0 ? "standard input" : "a pipe");
            return CLI_EUSAGE;
        }
    // A stream is read once: a second option naming it would get the bytes
    // the first one read (the test or validation set would be the
    // training data).
    const char *once[] = {c->data, c->test, c->val_data}, *opt[] = {"data", "test", "val-data"};
    for (int i = 0; i < 2; i++)
        for (int j = i + 1; j < 3; j++)
            if (once[i] && once[j] && !strcmp(once[i], once[j]) && cli_is_stream(once[i])) {
                cli_err("train: --%s and --%s both read %s, which is read once: name a file for "
                        "one of them", opt[i], opt[j],
                        strcmp(once[i], "-") == 0 ? "standard input" : once[i]);
                return CLI_EUSAGE;
            }
    cli_data_opts o = cli_data_defaults();
    o.labels = c->labels;
    o.target = c->target;
    o.header = c->header;
    o.target_kind = c->task == 1 ? 1 : c->task == 2 ? 0 : -1;
    o.ignore = c->ignore;
    o.categorical = c->categorical;
    o.max_categories = c->max_categories;
    o.missing = c->missing;
    if (c->categorical && !*c->categorical) {
        cli_err("train: --categorical needs column names or 0-based indices");
        return CLI_EUSAGE;
    }
    if ((rc = model_encoding(r))) return rc;
    o.target_kind = c->task == 1 ? 1 : c->task == 2 ? 0 : -1; // --init-from's may be set now
    if (r->encoding) { // the model's inputs are fixed: its encoding, not the data's values
        o.categorical = NULL;
        o.categories = r->encoding;
    }
    const char *dc = r->net ? lm_net_get_meta(r->net, "decimal_comma") : NULL; // --resume
    o.decimal_comma = c->decimal_comma || (dc && strcmp(dc, "1") == 0);
    if (c->sep) cli_parse_sep("train", c->sep, &o.sep);
    if ((rc = cli_data_load(&r->train, c->data, &o))) return rc;
    if (r->encoding && (rc = unseen_refused(r, &r->train))) return rc;
    if (!r->train.is_idx && !(r->features = feature_columns(&r->train.d, r->features_why,
                                                             sizeof r->features_why)) &&
        r->train.d.feature_names && !r->features_why[0]) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    if (r->train.is_idx && (c->categorical || c->missing)) {
        cli_err("%s: --%s goes with CSV data; %s have neither text nor missing cells",
                c->data, c->categorical ? "categorical" : "missing",
                r->train.is_npy ? "NumPy arrays" : "IDX images");
        return CLI_EUSAGE;
    }
    if (r->train.is_npy && !r->train.d.labels && !r->train.d.y) {
        cli_err("%s: holds features only: add --labels FILE (a .npy of class labels or target "
                "values), or save both in one .npz (np.savez(f, x=X, y=y))", c->data);
        return CLI_EUSAGE;
    }
    if (r->train.is_idx && !r->train.d.labels && !r->train.is_npy) {
        cli_err("%s: IDX images need their labels: add --labels FILE", c->data);
        return CLI_EUSAGE;
    }
    if ((rc = blank_class(&r->train))) return rc;
    r->classes = r->train.d.labels != NULL;
    r->n_out = r->classes ? r->train.d.n_classes : r->train.d.ny;
    if (r->classes && r->n_out < 2) {
        cli_err("%s: the target has only one class; nothing to learn", c->data);
        return CLI_EDATA;
    }
    if (c->val_data && (rc = load_scored(r, &r->valset, o, c->val_data, c->val_labels,
                                         "validation", "--val-labels")))
        return rc;
    return c->test ? load_scored(r, &r->test, o, c->test, c->test_labels, "test", "--test-labels")
                   : CLI_OK;
}

/* The loss: given, or what the targets call for; checked against them. */
static int pick_loss(train_run *r)
{
    train_cfg *c = &r->c;
    if (!opts_seen(r->specs, "loss")) c->loss = r->classes ? LM_LOSS_CE : LM_LOSS_MSE;
    if (!r->classes && (c->loss == LM_LOSS_CE || c->loss == LM_LOSS_BCE)) {
        cli_err("train: --loss %s needs class targets, but %s's target is numeric (try --task classes)",
                lm_loss_name((lm_loss)c->loss), c->data);
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

static lm_act output_act(lm_loss loss)
{
    return loss == LM_LOSS_CE ? LM_SOFTMAX : loss == LM_LOSS_BCE ? LM_SIGMOID : LM_IDENTITY;
}

/* The outputs a net gives for the data: n_out, or for two classes one
 * sigmoid output, the probability of class 1 (Keras' Dense(1, sigmoid)).
 * A spec ending in 1:sigmoid asks for that; any other last layer of width
 * 1 stays a hidden one, as before (1:softmax and 1:linear are refused by
 * cli_spec_resolve: they give no probability of two classes). */
static int spec_outputs(const train_run *r, const cli_layer_spec *l, int n)
{
    const cli_layer_spec *last = &l[n - 1];
    int binary = r->classes && r->n_out == 2 && last->kind == LM_LAYER_DENSE && last->width == 1 &&
                 last->act == LM_SIGMOID;
    return binary ? 1 : r->n_out;
}

/* Whether the net's outputs fit the data (see spec_outputs). */
static int outputs_fit(const train_run *r)
{
    int k = lm_net_n_out(r->net);
    return k == r->n_out || (r->classes && r->n_out == 2 && k == 1);
}

/* ---------------------------------------------------------------- net */

/* --init-from: the model's net, checked against the data. */
static int init_from_model(train_run *r)
{
    const char *path = r->c.init_from;
    if (lm_net_load(&r->net, path) != LM_OK) return cli_lib_err(CLI_EMODEL, path);
    if (lm_net_n_in(r->net) != r->fit->nx || !outputs_fit(r)) {
        cli_err("%s: the model takes %d inputs and gives %d output%s, but %s has %d features "
                "and %d %s", path, lm_net_n_in(r->net), lm_net_n_out(r->net),
                lm_net_n_out(r->net) == 1 ? "" : "s", r->c.data,
                r->fit->nx, r->n_out, r->classes ? "classes" : "targets");
        return CLI_EDATA;
    }
    return CLI_OK;
}

static int build_net(train_run *r, lm_rng *rng)
{
    train_cfg *c = &r->c;
    if (c->init_from) return init_from_model(r);
    cli_layer_spec l[CLI_MAX_SPEC_LAYERS + 1];
    int n = cli_spec_parse(c->layers, l, CLI_MAX_SPEC_LAYERS);
    if (n < 0) return CLI_EUSAGE;
    n = cli_spec_resolve(l, n, CLI_MAX_SPEC_LAYERS + 1, spec_outputs(r, l, n),
                         output_act((lm_loss)c->loss),
                         r->classes ? "classes" : "target values");
    if (n < 0) return CLI_EUSAGE;
    int sc = 0, sh = 0, sw = 0;
    int own = lm_data_shape(&r->train.d, &sc, &sh, &sw); // the file's (a --cv fold is a view)
    if (c->input_shape) {
        char extra;
        int ic, ih, iw;
        if (sscanf(c->input_shape, "%dx%dx%d%c", &ic, &ih, &iw, &extra) != 3 || ic < 1 || ih < 1 || iw < 1 ||
            (long long)ic * ih * iw != r->fit->nx) {
            cli_err("train: --input-shape %s is not CxHxW with C*H*W = %d, the features of %s", c->input_shape,
                    r->fit->nx, c->data);
            return CLI_EUSAGE;
        }
        /* IDX images keep their own shape: another would read each image
         * as something else (a 28x28 image as 4 channels of 14x14) */
        if (own && (ic != sc || ih != sh || iw != sw)) {
            cli_err("train: --input-shape %s contradicts the shape of the images in %s, %dx%dx%d "
                    "(IDX images keep their own: drop --input-shape)", c->input_shape, c->data, sc, sh, sw);
            return CLI_EUSAGE;
        }
        sc = ic, sh = ih, sw = iw;
    }
    /* Rows without a shape are flat, (nx, 1, 1). A window wider than one
     * pixel there does not fit ('valid', pools) or, 'same', trains its
     * taps off the centre on padding alone: never what the spec meant,
     * the image's shape is missing. (After a dense layer the input is
     * flat whatever the data, and the spec says so.) */
    for (int i = 0; sc == 0 && i < n && l[i].kind != LM_LAYER_DENSE; i++) {
        int spatial = l[i].kind == LM_LAYER_CONV2D || l[i].kind == LM_LAYER_MAXPOOL2D ||
                      l[i].kind == LM_LAYER_AVGPOOL2D;
        if (spatial && (l[i].kh > 1 || l[i].kw > 1)) {
            cli_err("--layers: layer %d (%s) needs an image, but the rows of %s are flat (%d features): "
                    "give their shape with --input-shape CxHxW (e.g. 1x28x28)",
                    i + 1, lm_layer_kind_name((lm_layer_kind)l[i].kind), c->data, r->fit->nx);
            return CLI_EUSAGE;
        }
    }
    lm_status st = lm_net_new(&r->net, r->fit->nx);
    if (!st && sc > 0 && (st = lm_net_set_input_shape(r->net, sc, sh, sw))) return cli_lib_err(CLI_EUSAGE, NULL);
    for (int i = 0; i < n && !st; i++) {
        st = cli_spec_add(r->net, &l[i]);
    }
    /* a spec that does not fit the data (a kernel larger than the image) is a usage error */
    if (st) return cli_lib_err(st == LM_ENOMEM || st == LM_EINVAL ? CLI_EUSAGE : CLI_EFAIL, NULL);
    // Xavier whatever the shape: measured on scikit-learn's data sets with
    // one to four relu hidden layers it matched or beat He (the old default
    // for relu nets) and tied on Fashion-MNIST; see docs/CLI.md and
    // bench/init_defaults.sh.
    if (!opts_seen(r->specs, "init")) c->init = LM_INIT_XAVIER;
    if ((st = lm_net_init(r->net, (lm_init)c->init, rng))) return cli_lib_err(CLI_EFAIL, NULL);
    return CLI_OK;
}

/* A resumed or --init-from model keeps its input shape: an --input-shape
 * given with it must be that shape (another was silently ignored). */
static int check_model_shape(const train_run *r)
{
    const train_cfg *c = &r->c;
    lm_layer_desc d = {.size = sizeof d};
    int ic, ih, iw;
    char extra;
    if (!c->input_shape || !(c->resume || c->init_from) || lm_net_layer_desc(r->net, 0, &d)) return CLI_OK;
    if (sscanf(c->input_shape, "%dx%dx%d%c", &ic, &ih, &iw, &extra) == 3 && ic == d.in_c && ih == d.in_h &&
        iw == d.in_w)
        return CLI_OK;
    cli_err("train: --input-shape %s contradicts the input shape of %s, %dx%dx%d (the model keeps its own: "
            "drop --input-shape)", c->input_shape, c->resume ? c->resume : c->init_from, d.in_c, d.in_h, d.in_w);
    return CLI_EUSAGE;
}

/* Checks a resumed model against the data and the --layers given. */
static int check_resumed(train_run *r)
{
    char have[1024], want[1024];
    if (lm_net_n_in(r->net) != r->train.d.nx || !outputs_fit(r)) {
        cli_err("%s: the model takes %d inputs and gives %d output%s, but %s has %d features "
                "and %d %s", r->c.resume, lm_net_n_in(r->net),
                lm_net_n_out(r->net), lm_net_n_out(r->net) == 1 ? "" : "s", r->c.data,
                r->train.d.nx, r->n_out, r->classes ? "classes" : "targets");
        return CLI_EDATA;
    }
    if (!r->c.layers) return CLI_OK;
    cli_layer_spec l[CLI_MAX_SPEC_LAYERS + 1];
    int n = cli_spec_parse(r->c.layers, l, CLI_MAX_SPEC_LAYERS);
    if (n < 0) return CLI_EUSAGE;
    n = cli_spec_resolve(l, n, CLI_MAX_SPEC_LAYERS + 1, spec_outputs(r, l, n),
                         output_act((lm_loss)r->c.loss), "outputs");
    if (n < 0) return CLI_EUSAGE;
    size_t len = 0;
    want[0] = '\0';
    for (int i = 0; i < n && len < sizeof want; i++) {
        char item[160];
        cli_spec_item_format(&l[i], item, sizeof item);
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%s", i ? "," : "", item);
    }
    cli_spec_format(r->net, have, sizeof have);
    if (strcmp(have, want) != 0) {
        cli_err("train: --layers %s does not match the resumed model (%s)", want, have);
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

/* The shortest text that reads back as the same float ("0.001"). */
static void fmt_float(char *buf, size_t size, double v)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtof(buf, NULL) == (float)v) return;
    }
}

static void set_meta(lm_net *net, const char *key, const char *value)
{
    // Metadata is informative; a failure here (out of memory) is not fatal.
    if (value) (void)lm_net_set_meta(net, key, value);
}

/* A setting or figure of this run, or none (NULL): a model's value from
 * an earlier run (--resume, --init-from) is then removed; left there,
 * info would show it as this run's, and eval, predict and a later
 * --resume would use it. (An empty value, which a caller may have set,
 * also reads as none: cli_meta.) */
static void set_meta_or_none(lm_net *net, const char *key, const char *value)
{
    if (value) set_meta(net, key, value);
    else (void)lm_net_set_meta(net, key, NULL);
}

/* A number, or none for NaN (see set_meta_or_none). */
static void set_meta_f(lm_net *net, const char *key, double v)
{
    char b[32];
    if (isnan(v)) {
        set_meta_or_none(net, key, NULL);
        return;
    }
    fmt_float(b, sizeof b, v);
    set_meta(net, key, b);
}

/* Records the settings a resumed run needs and what the data was. */
static void meta_settings(train_run *r)
{
    train_cfg *c = &r->c;
    char b[64];
    time_t now = time(NULL);
    struct tm tm;
    // Files as absolute paths, so --resume finds them from any folder.
    const struct {
        const char *key, *path;
    } files[] = {{"data", c->data},   {"labels", c->labels},           {"test", c->test},
                 {"test-labels", c->test_labels}, {"val-data", c->val_data},
                 {"val-labels", c->val_labels},   {"out", c->out}, {"checkpoint", c->checkpoint}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char abs[4096];
        if (files[i].path && strcmp(files[i].path, "-") == 0) // standard input, from any folder
            set_meta(r->net, files[i].key, "-");
        else if (files[i].path && cli_abspath(files[i].path, abs, sizeof abs) == 0)
            set_meta(r->net, files[i].key, abs);
        else if (!files[i].path)
            set_meta_or_none(r->net, files[i].key, NULL); // a resumed run's file not used
    }
    set_meta(r->net, "loss", lm_loss_name((lm_loss)c->loss));
    set_meta(r->net, "optimizer", OPTIMS[c->optim]);
    set_meta_f(r->net, "lr", c->lr);
    set_meta(r->net, "lr-schedule", lm_lr_schedule_name((lm_lr_schedule)c->schedule));
    set_meta_f(r->net, "lr-factor", c->schedule == LM_LR_PLATEAU ? c->lr_factor : NAN);
    snprintf(b, sizeof b, "%d", c->lr_patience);
    set_meta_or_none(r->net, "lr-patience", c->schedule == LM_LR_PLATEAU ? b : NULL);
    snprintf(b, sizeof b, "%d", c->lr_warmup);
    set_meta_or_none(r->net, "lr-warmup", c->lr_warmup > 0 ? b : NULL);
    if (!c->resume) set_meta(r->net, "init", lm_init_name((lm_init)c->init));
    // Settings this run did not use are none (NaN, NULL), not the values
    // of the run --resume or --init-from started from.
    set_meta_f(r->net, "momentum", c->optim == O_MOMENTUM || c->optim == O_NESTEROV ? c->momentum : NAN);
    set_meta_f(r->net, "weight-decay", c->weight_decay > 0 ? c->weight_decay : NAN);
    set_meta_f(r->net, "clip-grad", c->clip > 0 ? c->clip : NAN);
    if (c->optim != LM_RPROP) {
        set_meta_or_none(r->net, "rprop-etas", NULL);
        set_meta_or_none(r->net, "rprop-steps", NULL);
    } else {
        char a[32], z[32];
        for (int k = 0; k < 2; k++) {
            const float *v = k ? c->step : c->eta;
            fmt_float(a, sizeof a, v[0]);
            fmt_float(z, sizeof z, v[1]);
            snprintf(b, sizeof b, "%s,%s", a, z);
            set_meta(r->net, k ? "rprop-steps" : "rprop-etas", b);
        }
    }
    snprintf(b, sizeof b, "%d", c->batch);
    set_meta(r->net, "batch", b);
    snprintf(b, sizeof b, "%llu", (unsigned long long)c->seed);
    set_meta(r->net, "seed", b);
    set_meta_f(r->net, "val", c->val > 0 ? c->val : NAN); // none: --val-data replaced it
    snprintf(b, sizeof b, "%d", c->early_stop);
    set_meta_or_none(r->net, "early-stop", c->early_stop > 0 ? b : NULL);
    snprintf(b, sizeof b, "%d", c->ckpt_every);
    set_meta_or_none(r->net, "checkpoint-every", c->ckpt_every > 0 ? b : NULL);
    if (r->cw) { // the spec (a resumed run recomputes from it) and what it gave
        char w[1024];
        size_t len = 0;
        for (int k = 0; k < r->n_cw && len + 32 < sizeof w; k++) {
            fmt_float(b, sizeof b, r->cw[k]);
            len += (size_t)snprintf(w + len, sizeof w - len, "%s%s", k ? "," : "", b);
        }
        set_meta(r->net, "class-weight", c->class_weight);
        set_meta_or_none(r->net, "class-weights", len + 32 < sizeof w ? w : NULL);
    } else {
        set_meta_or_none(r->net, "class-weight", NULL);
        set_meta_or_none(r->net, "class-weights", NULL);
    }
    set_meta_or_none(r->net, "target", c->target);
    // The default target's header name, so that eval finds it by name in
    // a file with other columns after it (--target is recorded as given).
    set_meta_or_none(r->net, "target_name", target_name(r));
    set_meta_or_none(r->net, "ignore", c->ignore);
    set_meta_or_none(r->net, "sep", c->sep);
    const char *dc = lm_net_get_meta(r->net, "decimal_comma"); // --resume reads with it (load_data)
    int comma = c->decimal_comma || (c->resume && dc && strcmp(dc, "1") == 0);
    set_meta_or_none(r->net, "decimal_comma", comma ? "1" : NULL);
    set_meta(r->net, "task", r->classes ? "classes" : "regression");
    set_meta(r->net, "lamina_version", LM_VERSION_STRING);
    set_meta(r->net, "command", r->argv_line);
    if (gmtime_r(&now, &tm) && strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm))
        set_meta(r->net, "date", b);
    const lm_data *d = &r->train.d;
    const char *enc = lm_data_categories(d);
    if (enc) { // the reader's encoding, for eval and predict (and a resumed run)
        set_meta(r->net, "categories", enc);
        if (c->categorical) set_meta(r->net, "categorical", c->categorical);
    }
    set_meta_or_none(r->net, "missing", c->missing ? MISSING[c->missing] : NULL);
    set_meta_or_none(r->net, "features", r->features);
    cli_cv_meta(r->net, c->cv ? &r->cv : NULL); // the folds' figures, or none
    if (!r->features && r->features_why[0] && !r->c.quiet) {
        // eval and predict then match columns by position only: say so
        fprintf(stderr, "warning: the model does not record the feature names (%s): eval "
                "and predict will take the columns by position, not by name\n", r->features_why);
    }
}

/* Normalisation and class names from the (training part of the) data. */
static int describe_data(train_run *r)
{
    int nx = r->fit->nx;
    float *mean = malloc((size_t)nx * sizeof *mean), *scale = malloc((size_t)nx * sizeof *scale);
    int rc = CLI_OK;
    // --init-from: the parameters were fitted to the model's own scaling
    int keep = r->c.init_from != NULL;
    if (!mean || !scale) {
        rc = CLI_EFAIL;
        cli_err("out of memory");
    }
    if (!rc && !keep) {
        cli_data tmp = r->train;
        tmp.d = *r->fit;
        rc = cli_data_norm(&tmp, mean, scale);
        // One-hot inputs stay 0/1 (mean 0, scale 1), as sklearn's
        // OneHotEncoder beside a StandardScaler of the numeric columns.
        int first, nv;
        for (int k = 0; !rc && lm_data_category(&r->train.d, k, NULL, &first, &nv, NULL, NULL, NULL); k++)
            for (int j = first; j < first + nv && j < nx; j++) {
                mean[j] = 0.0f;
                scale[j] = 1.0f;
            }
    }
    if (!rc && !keep && lm_net_set_norm(r->net, mean, scale)) rc = cli_lib_err(CLI_EFAIL, NULL);
    free(mean);
    free(scale);
    if (!rc && !keep && !r->classes) rc = cli_data_target_norm(r->fit, r->net); // fit (y - mean) / std
    if (rc || !r->classes) return rc;
    const lm_data *d = &r->train.d;
    char **names = d->class_names, *digits = NULL, **gen = NULL;
    if (!names) {
        // IDX labels: the classes are the label numbers.
        gen = malloc((size_t)r->n_out * sizeof *gen);
        digits = malloc((size_t)r->n_out * 12);
        if (!gen || !digits) {
            free(gen);
            free(digits);
            cli_err("out of memory");
            return CLI_EFAIL;
        }
        for (int i = 0; i < r->n_out; i++) {
            gen[i] = digits + 12 * i;
            snprintf(gen[i], 12, "%d", i);
        }
        names = gen;
    }
    lm_status st = lm_net_set_class_names(r->net, r->n_out, (const char *const *)names);
    if (st) // a name the model file cannot hold (over 1 MiB) is the data's
        rc = cli_lib_err(st == LM_EINVAL ? CLI_EDATA : CLI_EFAIL, r->c.data);
    free(gen);
    free(digits);
    return rc;
}

/* The first column of d that --missing mean filled in every row: it had
 * no value to take a mean of. Returns its name (its number, written in
 * col, where the data has no names); NULL when every column had one. */
static const char *column_without_values(const lm_data *d, const size_t *filled, char *col,
                                         size_t size)
{
    for (int j = 0; j < d->nx; j++)
        if (d->n && filled[j] == d->n) {
            snprintf(col, size, "%d", j);
            return d->feature_names ? d->feature_names[j] : col;
        }
    return NULL;
}

/* --missing mean: the NaN cells of every set become the training mean the
 * net's normalisation holds (0 once normalised), as predict fills them;
 * says how many cells were filled in each column. Also warns about test
 * rows with categories training did not see. */
static int fill_missing(train_run *r)
{
    lm_data *sets[] = {&r->train.d, &r->tr, &r->va, &r->test.d};
    int nx = lm_net_n_in(r->net);
    if (r->c.test) cli_data_apply_model(&r->test, r->net, r->c.quiet);
    if (r->c.val_data) cli_data_apply_model(&r->valset, r->net, r->c.quiet);
    while (lm_data_category(&r->train.d, r->n_onehot, NULL, NULL, NULL, NULL, NULL, NULL))
        r->n_onehot++;
    if (!r->c.missing || r->train.d.x_type != LM_F32 || r->train.d.nx != nx) return CLI_OK;
    float *mean = malloc((size_t)nx * sizeof *mean);
    size_t *filled = malloc((size_t)nx * sizeof *filled);
    if (!mean || !filled) {
        free(mean);
        free(filled);
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    if (!lm_net_get_norm(r->net, mean, NULL)) memset(mean, 0, (size_t)nx * sizeof *mean);
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        if (sets[i]->x && sets[i]->nx == nx) cli_data_impute(sets[i], mean, i == 0 ? filled : NULL);
    // The report: numeric columns' filled cells, then categorical ones'.
    const lm_data *d = &r->train.d;
    // A new model's column without values has no mean to fill with (as a
    // categorical column without values); a resumed one keeps its own.
    char col[16];
    const char *empty = r->c.resume || r->c.init_from ? NULL
                                                      : column_without_values(d, filled, col, sizeof col);
    if (empty) {
        cli_err("%s: column '%s' has no values (every cell is missing): there is no mean to "
                "fill it with; leave it out (--ignore %s)", r->c.data, empty, empty);
        free(mean);
        free(filled);
        return CLI_EDATA;
    }
    char b[1024];
    size_t len = 0, total = 0, total_cat = 0;
    int shown = 0, more = 0;
    for (int j = 0; j < nx; j++) {
        if (!filled[j]) continue;
        total += filled[j];
        if (shown++ < 6) {
            if (d->feature_names) cli_append(b, sizeof b, &len, "%s%s %zu", len ? ", " : "", d->feature_names[j], filled[j]);
            else cli_append(b, sizeof b, &len, "%scolumn %d %zu", len ? ", " : "", j, filled[j]);
        } else {
            more++;
        }
    }
    const char *name;
    size_t miss;
    for (int k = 0; lm_data_category(d, k, &name, NULL, NULL, &miss, NULL, NULL); k++) {
        if (!miss) continue;
        total += miss;
        total_cat += miss;
        if (shown++ < 6) cli_append(b, sizeof b, &len, "%s%s %zu (one-hot all 0)", len ? ", " : "", name, miss);
        else more++;
    }
    if (more) cli_append(b, sizeof b, &len, ", ... %d more column%s", more, cli_s((size_t)more));
    r->n_filled = total;
    if (total)
        snprintf(r->fill_note, sizeof r->fill_note, "missing: filled %zu cell%s%s: %s", total,
                 cli_s(total), !total_cat ? " (numbers with the training mean)"
                 : total_cat == total ? "" // each column says "(one-hot all 0)"
                 : " (numbers with the training mean, categorical cells one-hot all 0)", b);
    free(mean);
    free(filled);
    return CLI_OK;
}

/* ---------------------------------------------------------- callbacks */

/* What the model file holds, for `info` and the warnings of eval and
 * predict: "untrained" (no epoch finished), "partial" (fewer epochs than
 * planned: a checkpoint or an interrupted run) or "trained". */
static void meta_state(train_run *r, int done, const char *state)
{
    char b[32];
    if (!state) state = done == 0 ? "untrained" : done < r->c.epochs ? "partial" : "trained";
    set_meta(r->net, "state", state);
    snprintf(b, sizeof b, "%d", done);
    set_meta(r->net, "epochs", b);
    snprintf(b, sizeof b, "%d", r->c.epochs);
    set_meta(r->net, "epochs_planned", b);
    // info: the steps past the epochs done, which a resume does again
    snprintf(b, sizeof b, "%llu", (unsigned long long)r->mid_steps);
    set_meta_or_none(r->net, "epoch_steps", r->mid_steps ? b : NULL);
}

static int on_batch(const lm_batch_info *b, void *ctx)
{
    train_run *r = ctx;
    progress_batch(&r->prog, b);
    if (!r->fo.on_grads) g_agreed = g_stop; // one process: the gradient hook agrees otherwise
    return g_agreed != 0;
}

static int history_add(history *h, const lm_epoch_info *e)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        int *ep = realloc(h->epoch, (size_t)cap * sizeof *ep);
        if (ep) h->epoch = ep;
        float **f[5] = {&h->loss, &h->acc, &h->val_loss, &h->val_acc, &h->lr};
        int ok = ep != NULL;
        for (int k = 0; k < 5 && ok; k++) {
            float *p = realloc(*f[k], (size_t)cap * sizeof *p);
            if (p) *f[k] = p;
            ok = p != NULL;
        }
        double *s = ok ? realloc(h->secs, (size_t)cap * sizeof *s) : NULL;
        if (s) h->secs = s;
        if (!s) return -1;
        h->cap = cap;
    }
    h->epoch[h->n] = e->epoch;
    h->loss[h->n] = e->train_loss;
    h->acc[h->n] = e->train_acc;
    h->val_loss[h->n] = e->val_loss;
    h->val_acc[h->n] = e->val_acc;
    h->secs[h->n] = e->seconds;
    h->lr[h->n] = e->lr;
    h->n++;
    return 0;
}

static void history_free(history *h)
{
    free(h->epoch);
    free(h->loss);
    free(h->acc);
    free(h->val_loss);
    free(h->val_acc);
    free(h->lr);
    free(h->secs);
}

/* ------------------------------------------------------------ outputs */

static int write_log(FILE *f, void *ctx)
{
    const history *h = ctx;
    fputs("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,lr\n", f);
    for (int i = 0; i < h->n; i++) {
        fprintf(f, "%d,", h->epoch[i]);
        const float v[4] = {h->loss[i], h->acc[i], h->val_loss[i], h->val_acc[i]};
        for (int k = 0; k < 4; k++) {
            if (isfinite(v[k])) fprintf(f, "%.9g", v[k]);
            fputc(',', f);
        }
        fprintf(f, "%.6f,%.9g\n", h->secs[i], h->lr[i]);
    }
    return 0;
}

static int write_plot(train_run *r)
{
    history *h = &r->h;
    plot_series s[4];
    int ns = 0, any_val = 0;
    for (int i = 0; i < h->n; i++) any_val |= !isnan(h->val_loss[i]);
    const char *loss_name = lm_loss_name((lm_loss)r->c.loss);
    char t1[64], t2[64], title[256];
    snprintf(t1, sizeof t1, "train loss (%s)", loss_name);
    snprintf(t2, sizeof t2, "val loss (%s)", loss_name);
    s[ns++] = (plot_series){t1, h->loss, (size_t)h->n, 0, "#1f77b4"};
    if (any_val) s[ns++] = (plot_series){t2, h->val_loss, (size_t)h->n, 0, "#ff7f0e"};
    if (r->classes) {
        s[ns++] = (plot_series){"train accuracy", h->acc, (size_t)h->n, 1, "#2ca02c"};
        if (any_val) s[ns++] = (plot_series){"val accuracy", h->val_acc, (size_t)h->n, 1, "#d62728"};
    }
    const char *base = strrchr(r->c.data, '/');
    snprintf(title, sizeof title, "lamina train: %s", base ? base + 1 : r->c.data);
    return plot_svg(r->c.plot, title, "epoch", "loss", r->classes ? "accuracy" : NULL, s, ns);
}

/* The name of class k: the net's, or its number. */
static const char *class_label(const train_run *r, int k, char *buf, size_t size)
{
    const char *name = lm_net_class_name(r->net, k);
    if (name) return name;
    snprintf(buf, size, "%d", k);
    return buf;
}

static void print_json(train_run *r, double secs_per_epoch, const char *out)
{
    const lm_epoch_info *k = &r->kept;
    int any = r->h.n > 0;
    // "epochs" is the epoch whose parameters the model holds (after early
    // stopping an earlier one than the last run); "epochs_run" all of them.
    printf("{\"epochs\": %d, \"epochs_run\": %d, \"early_stopped\": %s, \"train_loss\": ",
           any ? k->epoch : lm_train_epochs_done(r->t), lm_train_epochs_done(r->t),
           r->early_stopped ? "true" : "false");
    json_num(stdout, any ? k->train_loss : NAN);
    if (r->classes) {
        printf(", \"train_accuracy\": ");
        json_num(stdout, any ? k->train_acc : NAN);
    }
    printf(", \"seconds_per_epoch\": ");
    json_num(stdout, secs_per_epoch);
    printf(", \"threads\": %d", lm_net_threads(r->net));
    if (r->cw) { // --class-weight: the weight each class trained with
        char buf[16];
        printf(", \"class_weights\": {");
        for (int c = 0; c < r->n_cw; c++) {
            printf("%s", c ? ", " : "");
            json_str(stdout, class_label(r, c, buf, sizeof buf));
            printf(": ");
            json_num(stdout, r->cw[c]);
        }
        printf("}");
    }
    if (r->val) {
        printf(", \"val_loss\": ");
        json_num(stdout, any ? k->val_loss : NAN);
        if (r->classes) {
            printf(", \"val_accuracy\": ");
            json_num(stdout, any ? k->val_acc : NAN);
        }
    }
    if (r->c.test) {
        printf(", \"test_loss\": ");
        json_num(stdout, r->test_loss);
        printf(", \"test_accuracy\": ");
        json_num(stdout, r->test_acc);
    }
    cli_dist_stats ds;
    cli_dist_get_stats(&ds);
    if (ds.processes > 1) // data-parallel: process 0's time in the gradient sums
        printf(", \"processes\": %d, \"allreduce_steps\": %llu, \"allreduce_seconds\": %.6f, "
               "\"allreduce_wait_seconds\": %.6f, \"allreduce\": \"%s\"", ds.processes,
               (unsigned long long)ds.steps, ds.sum_s, ds.wait_s, ds.reduce);
    printf(", \"inputs\": %d, \"one_hot_columns\": %d, \"missing_filled\": %zu",
           lm_net_n_in(r->net), r->n_onehot, r->n_filled);
    if (r->c.cv) { // the folds' figures; the rest is the final model's
        printf(", \"cv\": ");
        cli_cv_json(stdout, &r->cv);
    }
    printf(", \"params\": %zu, \"model\": ", lm_net_n_params(r->net));
    if (out) json_str(stdout, out);
    else fputs("null", stdout);
    puts("}");
}

/* A write to path failed (a full disk, say): one line with the library's
 * message and what the files still hold, so nobody has to guess what
 * was lost. Writes are atomic, so a failed one left its file as it was:
 * the checkpoint this run last wrote (or resumed from) still holds its
 * state, and an existing --out its model. */
static int write_failed(train_run *r, const char *path)
{
    char msg[1024], note[3 * 4200] = ""; // room for three paths
    size_t at = 0;
    snprintf(msg, sizeof msg, "%s", lm_errmsg());
    const char *ckpt = r->saved_epoch >= 0 ? r->save_to : NULL, *out = r->c.out;
    if (ckpt)
        cli_append(note, sizeof note, &at, "; %s %s the training state after %d epochs (continue "
                   "with --resume %s)", ckpt, cli_same_file(ckpt, path) ? "still holds" : "holds",
                   r->saved_epoch, ckpt);
    if (!cli_same_file(path, ckpt) && access(path, F_OK) == 0)
        cli_append(note, sizeof note, &at, "; %s is left as it was", path);
    if (out && !cli_same_file(out, path) && !cli_same_file(out, ckpt) && access(out, F_OK) == 0)
        cli_append(note, sizeof note, &at, "; %s is left as it was", out);
    if (!at) cli_append(note, sizeof note, &at, "; nothing was saved");
    if (strstr(msg, path)) cli_err("%s%s", msg, note);
    else cli_err("%s: %s%s", path, msg, note);
    return CLI_EFAIL;
}

/* Saves the final model: the training state too (so --resume can go on)
 * unless early stopping put back an earlier epoch's parameters. */
static int save_model(train_run *r, const char *path)
{
    lm_status st = r->restored ? lm_net_save(r->net, path) : lm_train_save(r->t, path);
    return st ? write_failed(r, path) : CLI_OK;
}

/* ------------------------------------------------------------- epochs */

/* Saves the state this run started from (the resumed file's, or the
 * fresh net's with a new optimizer) to path: after a Ctrl-C in the first
 * epoch, resuming from it then ends exactly where an uninterrupted run
 * does. Overwrites the net's parameters. */
static lm_status save_start_state(train_run *r, const char *path)
{
    lm_train *t;
    if (!r->c.resume)
        memcpy(lm_net_params(r->net), r->init_params, lm_net_n_params(r->net) * sizeof(float));
    r->mid_steps = r->start_mid; // the state resumed from, mid-epoch or not
    meta_state(r, r->start_epochs, NULL);
    r->mid_steps = 0;
    lm_status st = lm_train_new(&t, r->net, &r->fo, &r->rng0);
    if (st) return st;
    if (r->c.resume) st = lm_train_resume(t, r->c.resume);
    if (!st) st = lm_train_save(t, path);
    lm_train_free(t);
    return st;
}

/* Saves the training state after done epochs to save_to, marked as what
 * it is (untrained, partial or trained). */
static lm_status save_state(train_run *r, int done)
{
    meta_state(r, done, NULL);
    lm_status st = lm_train_save(r->t, r->save_to);
    if (st == LM_OK) {
        r->saved_epoch = done;
        r->wrote_partial |= r->save_to == r->partial;
    }
    return st;
}

/* Ctrl-C or SIGTERM: keep or write a checkpoint at an epoch boundary when
 * possible, so --resume ends bit-identical to an uninterrupted run. The
 * state goes to save_to: never over an --out this run did not start from,
 * whatever it holds (the interrupted state may be worse). */
static int interrupted(train_run *r, int epoch, int mid_epoch)
{
    const char *path = r->save_to, *what = g_agreed == SIGTERM ? "terminated" : "interrupted";
    int done = lm_train_epochs_done(r->t);
    lm_status st = LM_OK;
    const char *how = "saved";
    char note[4200] = "";
    progress_clear(&r->prog);
    if (r->cv_fold) {
        cli_err("%s during epoch %d of --cv fold %d/%d; nothing saved (the folds save nothing)",
                what, epoch, r->cv_fold, r->c.cv);
        return stop_code();
    }
    if (!path) {
        cli_err("%s during epoch %d; nothing saved (give --out or --checkpoint to keep "
                "the training state)", what, epoch);
        return stop_code();
    }
    if (path == r->partial)
        snprintf(note, sizeof note, "; %s is left as it was", r->ckpt);
    if (!mid_epoch) {
        st = save_state(r, done);
    } else if (r->saved_epoch == done) {
        how = "kept";
    } else if (done == r->start_epochs) {
        st = save_start_state(r, path);
        if (st == LM_OK) r->wrote_partial |= path == r->partial;
    } else {
        r->mid_steps = lm_train_steps(r->t) - r->epoch_step0;
        st = save_state(r, done);
        r->mid_steps = 0;
        if (st == LM_OK) {
            cli_err("%s during epoch %d; saved the state from the middle of it to %s%s "
                    "(--resume %s runs epoch %d again from there; --checkpoint-every 1 makes "
                    "resuming exact)", what, epoch, path, note, path, epoch);
            return stop_code();
        }
    }
    if (st != LM_OK) {
        write_failed(r, path);
        return stop_code();
    }
    cli_err("%s during epoch %d; %s the training state after %d complete epochs in %s%s "
            "(continue with --resume %s)", what, epoch, how, done, path, note, path);
    return stop_code();
}

static int run_epochs(train_run *r, double *train_secs)
{
    const char *ckpt = r->save_to;
    while (lm_train_epochs_done(r->t) < r->c.epochs) {
        int epoch = lm_train_epochs_done(r->t) + 1;
        lm_epoch_info e;
        if (stop_asked()) return interrupted(r, epoch, 0);
        progress_epoch_begin(&r->prog);
        r->epoch_step0 = lm_train_steps(r->t);
        lm_status st = lm_train_epoch(r->t, r->fit, &e);
        if (st == LM_ESTOPPED) return interrupted(r, epoch, 1);
        if (st == LM_ENUMERIC) {
            // Nothing is saved, so the last good checkpoint stays as it was
            // (and the library refuses to write non-finite parameters).
            int kept = ckpt && access(ckpt, F_OK) == 0;
            progress_clear(&r->prog);
            cli_err("%s: training diverged in %s (try a smaller --lr or --clip-grad)%s%s%s",
                    r->c.data, lm_errmsg(), kept ? "; " : "", kept ? ckpt : "",
                    kept ? " is left as it was" : "");
            return CLI_ENUMERIC;
        }
        if (st) {
            progress_clear(&r->prog);
            return cli_lib_err(st == LM_EINVAL ? CLI_EUSAGE : CLI_EFAIL, r->c.data);
        }
        *train_secs += e.seconds;
        e.epochs = r->c.epochs;
        r->kept = e;
        progress_epoch_end(&r->prog, &e);
        if (history_add(&r->h, &e)) {
            cli_err("out of memory");
            return CLI_EFAIL;
        }
        int rc = CLI_OK;
        if (r->c.ckpt_every && epoch % r->c.ckpt_every == 0 && save_state(r, epoch))
            rc = write_failed(r, ckpt);
        if ((rc = cli_dist_agree(rc))) return rc; // a checkpoint failed: all stop
        if (stop_asked()) return interrupted(r, epoch + 1, 0);
        if (lm_train_should_stop(r->t)) {
            r->early_stopped = epoch < r->c.epochs;
            break;
        }
    }
    // The library kept the best epoch's parameters; put them back when a
    // later epoch moved them, and report that epoch, not the last one.
    lm_epoch_info best;
    if (lm_train_best(r->t, &best) > 0) {
        best.epochs = r->c.epochs;
        r->kept = best;
    }
    r->restored = lm_train_restore_best(r->t) > 0;
    progress_clear(&r->prog); // a --cv fold's bar (its epoch lines are not printed)
    if (r->early_stopped && !r->c.quiet)
        fprintf(stderr, "early stop: no better %s loss for %d epochs; keeping epoch %d\n",
                r->val ? "val" : "train", r->c.early_stop, r->kept.epoch);
    return CLI_OK;
}

/* ------------------------------------------------------------- setup */

static void join_argv(char *buf, size_t size, int argc, char **argv)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 1 < size; i++) {
        int quote = strpbrk(argv[i], " \t'\"$") != NULL;
        len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s", i ? " " : "",
                                quote ? "'" : "", argv[i], quote ? "'" : "");
    }
}

/* Whether writing output a may land on file b without harm: the model
 * file may be the one resumed from (it continues in place), and --out and
 * --checkpoint may be one file. */
static int may_share(const char *a, const char *b)
{
    int model_a = !strcmp(a, "out") || !strcmp(a, "checkpoint");
    int model_b = !strcmp(b, "out") || !strcmp(b, "checkpoint");
    return model_a && (model_b || !strcmp(b, "resume"));
}

/* Refuses, before anything is read or trained, an output that would
 * destroy an input or another output (compared by device and inode, see
 * cli_same_file), and an output that cannot be written. */
static int check_outputs(const train_cfg *c)
{
    const struct {
        const char *opt, *path;
        int output;
    } p[] = {
        {"data", c->data, 0},       {"labels", c->labels, 0},         {"test", c->test, 0},
        {"test-labels", c->test_labels, 0}, {"val-data", c->val_data, 0},
        {"val-labels", c->val_labels, 0},   {"resume", c->resume, 0}, {"out", c->out, 1},
        {"checkpoint", c->checkpoint, 1},   {"log", c->log, 1},       {"plot", c->plot, 1},
    };
    int n = (int)(sizeof p / sizeof p[0]);
    for (int i = 0; i < n; i++) {
        if (!p[i].output || !p[i].path) continue;
        for (int j = 0; j < n; j++) {
            if (j == i || !p[j].path || (p[j].output && j < i) || may_share(p[i].opt, p[j].opt))
                continue;
            if (cli_same_file(p[i].path, p[j].path)) {
                if (p[j].output)
                    cli_err("train: --%s %s and --%s %s are the same file; one output would "
                            "overwrite the other (name another file)", p[i].opt, p[i].path,
                            p[j].opt, p[j].path);
                else
                    cli_err("train: --%s %s and --%s %s are the same file; writing --%s would "
                            "destroy the input (name another file)", p[i].opt, p[i].path,
                            p[j].opt, p[j].path, p[i].opt);
                return CLI_EUSAGE;
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (p[i].output && p[i].path && !cli_check_writable(p[i].path)) return CLI_EFAIL;
    return CLI_OK;
}

/* "A,B" (--rprop-etas, --rprop-steps) into v[0], v[1]; NULL leaves the
 * defaults. CLI_OK, or CLI_EUSAGE after a message. */
static int number_pair(const char *opt, const char *s, float v[2])
{
    if (!s) return CLI_OK;
    const char *p = s;
    for (int k = 0; k < 2; k++) {
        char *end = (char *)p;
        double x = *p && !isspace((unsigned char)*p) ? strtod(p, &end) : 0;
        if (end == p || *end != (k ? '\0' : ',') || !isfinite((float)x)) {
            cli_err("train: --%s %s: expected two numbers, A,B", opt, s);
            return CLI_EUSAGE;
        }
        v[k] = (float)x;
        p = end + 1;
    }
    return CLI_OK;
}

/* RPROP's settings: the library's defaults unless given; only with
 * --optimizer rprop (the library checks the values). */
static int rprop_settings(train_cfg *c)
{
    lm_fit_opts d = lm_fit_defaults();
    c->eta[0] = d.optim.eta_minus, c->eta[1] = d.optim.eta_plus;
    c->step[0] = d.optim.step_min, c->step[1] = d.optim.step_max;
    if (c->optim != LM_RPROP && (c->rprop_etas || c->rprop_steps)) {
        cli_err("train: --%s is for --optimizer rprop (this run uses %s)",
                c->rprop_etas ? "rprop-etas" : "rprop-steps", OPTIMS[c->optim]);
        return CLI_EUSAGE;
    }
    int rc = number_pair("rprop-etas", c->rprop_etas, c->eta);
    return rc ? rc : number_pair("rprop-steps", c->rprop_steps, c->step);
}

static lm_fit_opts fit_opts(train_run *r)
{
    train_cfg *c = &r->c;
    lm_fit_opts o = lm_fit_defaults();
    o.loss = (lm_loss)c->loss;
    o.optim.kind = c->optim < LM_OPTIM_COUNT ? (lm_optim_kind)c->optim : LM_SGD;
    if (!opts_seen(r->specs, "lr"))
        c->lr = o.optim.kind == LM_SGD || o.optim.kind == LM_RPROP ? 0.01f : 0.001f;
    o.optim.lr = c->lr;
    o.optim.eta_minus = c->eta[0];
    o.optim.eta_plus = c->eta[1];
    o.optim.step_min = c->step[0];
    o.optim.step_max = c->step[1];
    // RPROP is a full-batch method: one step an epoch on every row
    if (o.optim.kind == LM_RPROP && !opts_seen(r->specs, "batch"))
        c->batch = r->fit->n < ((size_t)1 << 24) ? (int)r->fit->n : 1 << 24;
    o.lr_schedule = (lm_lr_schedule)c->schedule;
    o.lr_factor = c->lr_factor;
    o.lr_patience = c->lr_patience;
    o.lr_warmup = c->lr_warmup;
    o.optim.momentum = c->optim == O_MOMENTUM || c->optim == O_NESTEROV ? c->momentum : 0;
    o.optim.nesterov = c->optim == O_NESTEROV;
    o.optim.weight_decay = c->weight_decay;
    o.optim.clip_norm = c->clip;
    o.epochs = c->epochs;
    o.batch = (size_t)c->batch;
    o.val = r->val;
    o.early_stop = c->early_stop; // the library judges; run_epochs reports
    o.class_weights = r->cw;
    o.n_class_weights = r->n_cw;
    o.on_batch = on_batch;
    o.ctx = r;
    cli_dist_fit(&o, &g_stop, &g_agreed); // with several processes: a shard each
    cli_dist_sync_bn(&o);                 // ... and batch norm over the whole batch
    return o;
}

/* --class-weight NAME=W,NAME=W: the classes named get W, the rest 1. A
 * class name may hold commas (a quoted CSV field): a piece with no '=' is
 * joined to the next one, so "a,b=2" weighs the class "a,b". */
static int class_weights_named(train_run *r, const char *spec)
{
    char *copy = strdup(spec), *next = copy, buf[16];
    unsigned char *seen = calloc((size_t)r->n_cw, 1);
    int rc = copy && seen ? CLI_OK : CLI_EFAIL;
    if (rc) cli_err("out of memory");
    for (int k = 0; k < r->n_cw; k++) r->cw[k] = 1;
    while (next && *next && !rc) {
        char *item = next, *cut = item + strcspn(item, ",");
        while (*cut && !memchr(item, '=', (size_t)(cut - item))) cut += 1 + strcspn(cut + 1, ",");
        next = *cut ? cut + 1 : NULL;
        *cut = '\0';
        if (!*item) continue; // ",," or a trailing comma: nothing named
        char *eq = strrchr(item, '='), *end;
        if (!eq || eq == item) {
            cli_err("train: --class-weight: '%s' is not NAME=W (or use balanced)", item);
            rc = CLI_EUSAGE;
            break;
        }
        *eq = '\0';
        errno = 0;
        double w = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || errno || !isfinite(w) || w < 0 || (float)w > FLT_MAX) {
            cli_err("train: --class-weight: class '%s': the weight '%s' is not a number >= 0", item, eq + 1);
            rc = CLI_EUSAGE;
            break;
        }
        int k = 0;
        while (k < r->n_cw && strcmp(class_label(r, k, buf, sizeof buf), item) != 0) k++;
        if (k == r->n_cw) {
            char list[512];
            size_t at = 0;
            list[0] = '\0';
            for (int j = 0; j < r->n_cw && j < 8; j++)
                cli_append(list, sizeof list, &at, "%s%.40s", j ? ", " : "", class_label(r, j, buf, sizeof buf));
            cli_err("train: --class-weight: no class '%s' in %s (its classes: %s%s)", item, r->c.data,
                    list, r->n_cw > 8 ? ", ..." : "");
            rc = CLI_EUSAGE;
        } else if (seen[k]) {
            cli_err("train: --class-weight: class '%s' is given twice", item);
            rc = CLI_EUSAGE;
        } else {
            seen[k] = 1;
            r->cw[k] = (float)w;
        }
    }
    int positive = 0;
    for (int k = 0; k < r->n_cw; k++) positive |= r->cw[k] > 0;
    if (!rc && !positive) {
        cli_err("train: --class-weight %s: every class weighs 0; at least one must weigh more", spec);
        rc = CLI_EUSAGE;
    }
    free(copy);
    free(seen);
    return rc;
}

/* --class-weight: one weight a class into r->cw, in the net's class
 * order. balanced is scikit-learn's rule on the rows trained on (after
 * --val; never --val-data's): rows / (classes x the class's rows). */
static int class_weights(train_run *r)
{
    const char *spec = r->c.class_weight;
    if (!spec) return CLI_OK;
    if (!r->classes) {
        cli_err("train: --class-weight needs class targets, but %s's target is numeric (try --task classes)", r->c.data);
        return CLI_EUSAGE;
    }
    if (r->c.loss != LM_LOSS_CE && r->c.loss != LM_LOSS_BCE) {
        cli_err("train: --class-weight needs --loss ce or bce, not %s", lm_loss_name((lm_loss)r->c.loss));
        return CLI_EUSAGE;
    }
    r->n_cw = r->n_out;
    if (!(r->cw = calloc((size_t)r->n_cw, sizeof *r->cw))) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    if (strcmp(spec, "balanced") != 0) return class_weights_named(r, spec);
    const lm_data *d = r->fit;
    size_t *count = calloc((size_t)r->n_cw, sizeof *count);
    if (!count) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    for (size_t i = 0; i < d->n; i++) count[d->labels[i]]++;
    int rc = CLI_OK;
    for (int k = 0; k < r->n_cw && !rc; k++) {
        char buf[16];
        if (count[k] == 0) {
            cli_err("train: --class-weight balanced: class '%s' has no rows in the %s of %s: its "
                    "weight would be infinite (name the weights instead)", class_label(r, k, buf, sizeof buf),
                    r->val == &r->va ? "training part (after --val)"
                    : r->cv_fold ? "training part of a --cv fold" : "training data", r->c.data);
            rc = CLI_EDATA;
        } else {
            r->cw[k] = (float)((double)d->n / ((double)r->n_cw * (double)count[k]));
        }
    }
    free(count);
    return rc;
}

/* ----------------------------------------------------------------- cv */

/* The net and trainer of a --cv fold, freed for the next. */
static void cv_fold_free(train_run *r)
{
    lm_train_free(r->t);
    lm_net_free(r->net);
    free(r->cw);
    r->t = NULL;
    r->net = NULL;
    r->cw = NULL;
    r->n_cw = 0;
    r->h.n = 0;
    r->early_stopped = r->restored = 0;
}

/* Trains fold's net as a run on fit alone would be (cli_cv_train_fn): its
 * normalisation, target standardisation and balanced class weights from
 * fit's rows, its missing cells (and held's) filled with fit's means. Each
 * fold starts from the same weights and batch order, from --seed, as
 * scikit-learn's clone of an estimator with a fixed random_state. */
static int cv_train_fold(void *ctx, int fold, lm_data *fit, lm_data *held, lm_net **net)
{
    train_run *r = ctx;
    train_cfg *c = &r->c;
    lm_rng rng = lm_rng_seed(c->seed);
    double secs = 0;
    int rc;
    lm_status st;
    cv_fold_free(r);
    r->fit = fit;
    r->cv_fold = fold;
    if ((rc = build_net(r, &rng)) || (rc = describe_data(r))) return rc;
    float *mean = malloc((size_t)fit->nx * sizeof *mean);
    size_t *filled = malloc((size_t)fit->nx * sizeof *filled);
    if (!mean || !filled) {
        free(mean);
        free(filled);
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    if (c->missing && lm_net_get_norm(r->net, mean, NULL)) {
        cli_data_impute(fit, mean, filled);
        cli_data_impute(held, mean, NULL);
        // a column with no value in this fold's training rows has no mean
        // (a whole file's such column is refused so too)
        char col[16];
        const char *empty = column_without_values(fit, filled, col, sizeof col);
        if (empty) {
            cli_err("%s: --cv fold %d/%d: column '%s' has no values in the fold's training "
                    "rows (every cell there is missing): there is no mean to fill it with; "
                    "give fewer folds, another --seed, or leave it out (--ignore %s)",
                    c->data, fold, c->cv, empty, empty);
            rc = CLI_EDATA;
        }
    }
    free(mean);
    free(filled);
    if (rc) return rc;
    if (c->threads && lm_net_set_threads(r->net, c->threads)) return cli_lib_err(CLI_EUSAGE, NULL);
    if ((rc = class_weights(r))) return rc;
    r->fo = fit_opts(r);
    if ((st = lm_train_new(&r->t, r->net, &r->fo, &rng)))
        return cli_lib_err(st == LM_EINVAL ? CLI_EUSAGE : CLI_EFAIL, NULL);
    progress_init(&r->prog, c->quiet, r->classes, c->epochs);
    r->prog.quiet = 1; // the bar on a terminal, but a line a fold, not an epoch
    if ((rc = run_epochs(r, &secs))) return rc;
    *net = r->net;
    return CLI_OK;
}

/* --cv K: the folds, then their summary; the final model on all the rows
 * is trained after (setup goes on) when --out or --test asks for it. */
static int cross_validate(train_run *r)
{
    train_cfg *c = &r->c;
    if ((size_t)c->cv > r->train.d.n) {
        cli_err("%s: --cv %d needs at least %d rows, but the data has %zu", c->data, c->cv, c->cv,
                r->train.d.n);
        return CLI_EDATA;
    }
    if (!c->quiet) cli_data_describe(stderr, &r->train, c->task);
    int rc = rprop_settings(c);
    if (!rc) rc = cli_cv_run(&r->cv, &r->train.d, c->cv, c->seed, (lm_loss)c->loss, c->quiet,
                             cv_train_fold, r);
    cv_fold_free(r);
    r->fit = &r->train.d;
    if (rc) return rc;
    r->cv_fold = 0;
    r->cv_only = !c->out && !c->test;
    FILE *f = c->json ? stderr : stdout;
    if (!c->json || !c->quiet) {
        cli_cv_summary(f, &r->cv);
        if (r->cv_only)
            cli_wrap(f, "hint: cross-validation keeps no model; add --out MODEL to train one on "
                     "all the rows and save it", 0, 2, cli_out_width(fileno(f)), " ");
    }
    if (r->cv_only && c->json) {
        printf("{\"cv\": ");
        cli_cv_json(stdout, &r->cv);
        printf(", \"model\": null}\n");
    }
    return CLI_OK;
}

static void follower(train_cfg *c);

static int setup(train_run *r, lm_rng *rng)
{
    train_cfg *c = &r->c;
    int rc;
    lm_status st;
    if (c->resume) {
        if ((rc = cli_model_load(&r->net, c->resume))) return rc;
        if ((rc = defaults_from_model(r))) return rc;
        // the recorded files and checkpointing are process 0's alone
        if (cli_dist_rank() != 0) follower(c);
    }
    if ((rc = check_outputs(c))) return rc;
    *rng = lm_rng_seed(c->seed); // after the model's defaults: its seed splits alike
    if ((rc = load_data(r)) || (rc = pick_loss(r))) return rc;
    // A resumed model's classes decide the label numbers, whatever the
    // file's order; map before splitting so both parts follow them.
    if (c->resume && ((rc = check_resumed(r)) || (rc = cli_data_map_classes(&r->train, r->net))))
        return rc;
    r->fit = &r->train.d;
    if (c->val_data) {
        r->val = &r->valset.d;
    } else if (c->val > 0) {
        if (lm_data_split(&r->train.d, c->val, rng, &r->tr, &r->va))
            return cli_lib_err(CLI_EDATA, c->data);
        if (r->tr.n == 0 || r->va.n == 0) {
            cli_err("%s: --val %g leaves an empty %s set (%zu rows)", c->data, c->val,
                    r->tr.n ? "validation" : "training", r->train.d.n);
            return CLI_EDATA;
        }
        r->fit = &r->tr;
        r->val = &r->va;
    }
    if (c->cv && ((rc = cross_validate(r)) || r->cv_only)) return rc;
    if (!c->resume && ((rc = build_net(r, rng)) || (rc = describe_data(r)))) return rc;
    // images of another shape than the model's (a resumed or --init-from
    // model, or --test and --val-data against the training images)
    if ((rc = check_model_shape(r)) || (rc = cli_data_check_shape(&r->train.d, c->data, r->net)) ||
        (c->test && (rc = cli_data_check_shape(&r->test.d, c->test, r->net))) ||
        (c->val_data && (rc = cli_data_check_shape(&r->valset.d, c->val_data, r->net))))
        return rc;
    if (c->test && (rc = cli_data_map_classes(&r->test, r->net))) return rc;
    if (c->val_data && (rc = cli_data_map_classes(&r->valset, r->net))) return rc;
    if ((rc = fill_missing(r))) return rc;
    if (c->threads && lm_net_set_threads(r->net, c->threads)) return cli_lib_err(CLI_EUSAGE, NULL);
    if (!c->threads && cli_dist_local_size() > 1) {
        // The processes on one machine share its cores: each takes its
        // part rather than all of them (N x cores threads would wait for
        // each other in every step). mpirun's binding may already have
        // narrowed the cores a process sees; then at least one.
        int t = lm_net_threads(r->net) / cli_dist_local_size();
        if (lm_net_set_threads(r->net, t > 0 ? t : 1)) return cli_lib_err(CLI_EFAIL, NULL);
    }
    if ((rc = class_weights(r)) || (rc = rprop_settings(c)) || (rc = plateau_options_used(r))) return rc;
    r->fo = fit_opts(r);
    r->rng0 = *rng;
    meta_settings(r);
    if ((st = lm_train_new(&r->t, r->net, &r->fo, rng)))
        return cli_lib_err(st == LM_EINVAL ? CLI_EUSAGE : CLI_EFAIL, NULL);
    if (c->resume && (st = lm_train_resume(r->t, c->resume)))
        return cli_lib_err(st == LM_EINVAL ? CLI_EUSAGE : CLI_EMODEL, c->resume);
    r->ckpt = c->checkpoint ? c->checkpoint : c->out;
    r->save_to = r->ckpt;
    // An existing --out this run did not resume from stays as it was until
    // the run finishes: checkpoints and an interrupted state go beside it.
    if (r->ckpt && (!c->checkpoint || cli_same_file(c->checkpoint, c->out)) &&
        access(r->ckpt, F_OK) == 0 && !cli_same_file(r->ckpt, c->resume)) {
        if ((size_t)snprintf(r->partial, sizeof r->partial, "%s.partial", r->ckpt) >=
            sizeof r->partial) {
            cli_err("%s: path too long", r->ckpt);
            return CLI_EUSAGE;
        }
        r->save_to = r->partial;
        r->wrote_partial = cli_same_file(r->partial, c->resume);
        if (!cli_check_writable(r->partial)) return CLI_EFAIL;
    }
    r->start_epochs = lm_train_epochs_done(r->t);
    const char *mid = c->resume ? lm_net_get_meta(r->net, "epoch_steps") : NULL;
    r->start_mid = mid ? strtoull(mid, NULL, 10) : 0;
    r->saved_epoch = cli_same_file(r->save_to, c->resume) ? r->start_epochs : -1;
    if (r->ckpt && !c->resume) {
        size_t n = lm_net_n_params(r->net);
        if (!(r->init_params = malloc(n * sizeof(float)))) {
            cli_err("out of memory");
            return CLI_EFAIL;
        }
        memcpy(r->init_params, lm_net_params(r->net), n * sizeof(float));
    }
    return CLI_OK;
}

/* Final metadata, test evaluation, files and the summary. */
static int finish(train_run *r, double train_secs, int epochs_run)
{
    train_cfg *c = &r->c;
    const history *h = &r->h;
    const lm_epoch_info *k = &r->kept;
    int last = h->n - 1, rc, done = lm_train_epochs_done(r->t);
    char b[32];
    r->test_loss = r->test_acc = NAN;
    if (c->test && lm_evaluate(r->net, &r->test.d, (lm_loss)c->loss, &r->test_loss, &r->test_acc))
        return cli_lib_err(CLI_EDATA, c->test);
    // The losses of the epoch whose parameters are kept, and its number as
    // "epochs" (the state is complete: early stopping ends a run too).
    meta_state(r, last >= 0 ? k->epoch : done, "trained");
    snprintf(b, sizeof b, "%d", done);
    set_meta(r->net, "epochs_run", b);
    if (last >= 0) {
        set_meta_f(r->net, "train_loss", k->train_loss);
        set_meta_f(r->net, "train_accuracy", k->train_acc);
        set_meta_f(r->net, "val_loss", k->val_loss);
        set_meta_f(r->net, "val_accuracy", k->val_acc);
    }
    set_meta_or_none(r->net, "early_stopped", r->early_stopped ? "yes" : NULL);
    set_meta_f(r->net, "test_loss", r->test_loss);
    set_meta_f(r->net, "test_accuracy", r->test_acc);
    // A resumed run that had nothing to do (--epochs at or below the
    // epochs done) replaces no file: it would put the resumed state, marked
    // finished at that --epochs, over --out (the file resumed from, or a
    // finished model beside its OUT.partial or --checkpoint) and delete
    // the OUT.partial. A new --out is written (the state, settings given).
    const char *out = c->out && (last >= 0 || access(c->out, F_OK) != 0) ? c->out : NULL;
    if (out && (rc = save_model(r, out))) return rc;
    // The finished model is in place: the interrupted states beside it
    // that this run wrote or continued are now out of date.
    if (out && r->wrote_partial) unlink(r->partial);
    // A log or plot that cannot be written is an error, but the model is
    // saved: the summary still says so.
    int rc_log = c->log && last >= 0 ? cli_write_atomic(c->log, write_log, &r->h) : CLI_OK;
    int rc_plot = c->plot && last >= 0 ? write_plot(r) : CLI_OK, rc_files = rc_log ? rc_log : rc_plot;
    double spe = epochs_run ? train_secs / epochs_run : NAN;
    if (!c->json || !c->quiet) {
        FILE *f = c->json ? stderr : stdout;
        if (last >= 0) {
            // One summary, wrapped to the output's width after its ';',
            // ',' and ':' (each part reads on its own).
            char line[512];
            int n;
            if (k->epoch != h->epoch[last])
                n = snprintf(line, sizeof line, "trained %d epoch%s (%.2fs per epoch); kept epoch %d "
                             "(best %s loss): train loss %.6g", h->epoch[last],
                             cli_s((size_t)h->epoch[last]), spe, k->epoch,
                             r->val ? "val" : "train", k->train_loss);
            else
                n = snprintf(line, sizeof line, "trained %d epoch%s (%.2fs per epoch): train loss %.6g",
                             k->epoch, cli_s((size_t)k->epoch), spe, k->train_loss);
            size_t at = (size_t)n;
            if (r->classes)
                at += (size_t)snprintf(line + at, sizeof line - at, ", accuracy %.4f", k->train_acc);
            if (r->val)
                at += (size_t)snprintf(line + at, sizeof line - at, "; val loss %.6g", k->val_loss);
            if (r->val && r->classes)
                snprintf(line + at, sizeof line - at, ", accuracy %.4f", k->val_acc);
            cli_wrap(f, line, 0, 2, cli_out_width(fileno(f)), ";,:");
        } else {
            fprintf(f, "already trained %d epochs; nothing to do (raise --epochs)\n",
                    lm_train_epochs_done(r->t));
        }
        if (c->test && r->classes)
            fprintf(f, "test: loss %.6g, accuracy %.4f (%zu row%s)\n", r->test_loss, r->test_acc,
                    r->test.d.n, cli_s(r->test.d.n));
        else if (c->test)
            fprintf(f, "test: loss %.6g (%zu row%s)\n", r->test_loss, r->test.d.n, cli_s(r->test.d.n));
        if (out) fprintf(f, "saved %s\n", out);
        else if (c->out) fprintf(f, "%s is left as it was\n", c->out);
        else fprintf(f, "hint: the model was not saved; add --out MODEL to keep it\n");
        if (c->log && last >= 0 && !rc_log) fprintf(f, "log: %s\n", c->log);
        if (c->plot && last >= 0 && !rc_plot) fprintf(f, "plot: %s\n", c->plot);
    }
    if (c->json) print_json(r, spe, out);
    return rc_files;
}

static void run_free(train_run *r)
{
    lm_train_free(r->t);
    lm_net_free(r->net);
    lm_data_free(&r->tr);
    lm_data_free(&r->va);
    cli_data_free(&r->train);
    cli_data_free(&r->test);
    cli_data_free(&r->valset);
    history_free(&r->h);
    free(r->init_params);
    free(r->cw);
    free(r->encoding);
    free(r->features);
    cli_cv_free(&r->cv);
    for (int i = 0; i < r->n_owned; i++) free(r->owned[i]);
    free(r);
}

/* A process other than 0 of a data-parallel run trains alike but writes
 * no file and prints nothing (process 0 reports for all). */
static void follower(train_cfg *c)
{
    c->out = c->checkpoint = c->log = c->plot = NULL;
    c->ckpt_every = 0;
    c->test = c->test_labels = NULL; // process 0 alone evaluates the test set
    c->quiet = 1;
    c->json = 0;
    fflush(stdout);
    if (!freopen("/dev/null", "w", stdout)) clearerr(stdout);
}

/* A fingerprint of n bytes, 8 at a time (the data can be hundreds of
 * megabytes: one multiply per 8 bytes, where FNV-1a takes one a byte). */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 31;
    }
    for (; n; n--, b++) h = (h ^ *b) * 0x100000001b3ull;
    return h;
}

/* The rows' features and targets. */
static uint64_t hash_data(uint64_t h, const lm_data *d)
{
    if (!d) return h;
    size_t xb = d->x_type == LM_U8 ? 1 : sizeof(float);
    h = hash_bytes(h, d->x, d->n * (size_t)d->nx * xb);
    if (d->labels) h = hash_bytes(h, d->labels, d->n * sizeof *d->labels);
    if (d->y) h = hash_bytes(h, d->y, d->n * (size_t)d->ny * sizeof *d->y);
    return h;
}

/* The net's layers: each one's kind, shapes and settings. Other --layers
 * or --input-shape with as many parameters (16:relu and 16:sigmoid,
 * another dropout rate) start from the same parameters and step on one
 * summed gradient: a mix of the nets, trained silently. */
static uint64_t hash_layers(const lm_net *net)
{
    uint64_t h = 0;
    for (int i = 0; i < lm_net_n_layers(net); i++) {
        lm_layer_desc d = {.size = sizeof d};
        if (lm_net_layer_desc(net, i, &d) != LM_OK) continue;
        const double v[] = {d.kind,  d.act,   d.has_bias, d.in_c,  d.in_h,     d.in_w,
                            d.out_c, d.out_h, d.out_w,    d.units, d.kh,       d.kw,
                            d.stride, d.pad,  d.rate,     d.momentum, d.eps};
        h = hash_bytes(h, v, sizeof v);
    }
    return h;
}

/* What the net holds beside its layers and parameters, which the
 * processes' copies must share too: the input normalisation, the target
 * scaling and the layers' running statistics (a --init-from or --resume
 * file that differs in them alone trained each process's shard of a batch
 * on other inputs, or targets, and summed the gradients without a word). */
static uint64_t hash_net_extras(lm_net *net)
{
    size_t n_in = (size_t)lm_net_n_in(net), n_out = (size_t)lm_net_n_out(net);
    size_t most = n_in > n_out ? n_in : n_out;
    float *a = malloc(2 * most * sizeof *a);
    if (!a) return 1; // (out of memory: 1 where the others hash; it stops the run)
    uint64_t h = 0;
    int on = lm_net_get_norm(net, a, a + n_in);
    h = hash_bytes(h, &on, sizeof on);
    if (on) h = hash_bytes(h, a, 2 * n_in * sizeof *a);
    on = lm_net_get_target_norm(net, a, a + n_out);
    h = hash_bytes(h, &on, sizeof on);
    if (on) h = hash_bytes(h, a, 2 * n_out * sizeof *a);
    free(a);
    return hash_bytes(h, lm_net_state(net), lm_net_n_state(net) * sizeof(float));
}

/* Whether this process is set to run what process 0 runs (one process:
 * always). The steps' sums pair up only when every process takes as many
 * batches of as many epochs, and train the one-process net only when
 * they start equal and see equal rows: a data file or checkpoint that
 * differs between machines, or other options given to one process, would
 * otherwise leave the processes waiting on each other for ever, or train
 * silently on a mix of the files (the copies step on one summed gradient
 * and stay equal). CLI_OK, or an exit code after a message. */
static int check_same_run(train_run *r)
{
    if (cli_dist_size() < 2) return CLI_OK;
    enum { ROWS, VAL_ROWS, FEATURES, DATA, VAL_DATA, BATCH, EPOCHS, EARLY, DONE, STEP, LAYERS,
           PARAMS, HASH, SEED, EXTRAS, N };
    const lm_data *f = r->fit, *v = r->val;
    const lm_fit_opts *o = &r->fo;
    // how a step is taken: other values train copies that drift apart
    const double step[] = {o->loss, o->optim.kind, o->optim.lr, o->optim.momentum,
                           o->optim.nesterov, o->optim.weight_decay, o->optim.clip_norm,
                           o->lr_schedule, o->lr_min, o->lr_gamma, o->lr_step,
                           o->lr_factor, o->lr_patience, o->lr_threshold, o->lr_cooldown,
                           o->lr_warmup,
                           o->optim.eta_minus, o->optim.eta_plus, o->optim.step_min,
                           o->optim.step_max};
    uint64_t mine[N] = {
        [ROWS] = f->n, [VAL_ROWS] = v ? v->n : 0, [FEATURES] = (uint64_t)f->nx,
        [DATA] = hash_data(0, f), [VAL_DATA] = hash_data(0, v), [BATCH] = (uint64_t)r->c.batch,
        [EPOCHS] = (uint64_t)r->c.epochs, [EARLY] = (uint64_t)r->c.early_stop,
        [DONE] = (uint64_t)r->start_epochs,
        [STEP] = hash_bytes(hash_bytes(0, step, sizeof step), r->cw, (size_t)r->n_cw * sizeof *r->cw),
        [LAYERS] = hash_layers(r->net), [PARAMS] = lm_net_n_params(r->net),
        [HASH] = cli_params_hash(r->net),
        // the batch order and dropout masks (a resumed run's come from its file)
        [SEED] = r->c.resume ? 0 : r->c.seed,
        [EXTRAS] = hash_net_extras(r->net),
    };
    uint64_t first[N];
    memcpy(first, mine, sizeof first);
    cli_dist_first(first, N);
    // the file that differs is named: --val's rows come from --data
    const char *data = r->c.data, *val = r->c.val_data ? r->c.val_data : data;
    const char *why = "every process must read the same data with the same --val or --val-data (the "
                      "same files at the same paths on every machine)";
    int fit_differs = mine[ROWS] != first[ROWS] || mine[FEATURES] != first[FEATURES];
    if (fit_differs || mine[VAL_ROWS] != first[VAL_ROWS]) {
        cli_err("%s: %zu training and %zu validation rows of %d features here, %llu and %llu of "
                "%llu on process 0: %s", fit_differs ? data : val, f->n, v ? v->n : 0, f->nx,
                (unsigned long long)first[ROWS], (unsigned long long)first[VAL_ROWS],
                (unsigned long long)first[FEATURES], why);
        return CLI_EDATA;
    }
    static const char *const opt[] = {[BATCH] = "batch", [EPOCHS] = "epochs", [EARLY] = "early-stop"};
    for (int i = BATCH; i <= EARLY; i++)
        if (mine[i] != first[i]) {
            cli_err("train: --%s %llu here, %llu on process 0: every process needs the same options",
                    opt[i], (unsigned long long)mine[i], (unsigned long long)first[i]);
            return CLI_EUSAGE;
        }
    if (mine[DONE] != first[DONE]) {
        cli_err("%s: resumes after epoch %llu here, after epoch %llu on process 0: every process must "
                "resume from the same file", r->c.resume ? r->c.resume : "the model",
                (unsigned long long)mine[DONE], (unsigned long long)first[DONE]);
        return CLI_EMODEL;
    }
    if (mine[STEP] != first[STEP]) {
        cli_err("train: --loss, --optimizer, --lr, --momentum, --weight-decay, --clip-grad, "
                "--lr-schedule, --lr-factor, --lr-patience, --lr-warmup, --class-weight, "
                "--rprop-etas or --rprop-steps differ from process 0's: every process needs the "
                "same options");
        return CLI_EUSAGE;
    }
    if (mine[LAYERS] != first[LAYERS]) {
        cli_err("train: the net's layers differ from process 0's (--layers, --input-shape, or the "
                "--resume or --init-from file): every process needs the same options");
        return CLI_EUSAGE;
    }
    if (mine[PARAMS] != first[PARAMS] || mine[HASH] != first[HASH]) {
        cli_err("the processes' copies of the net differ before training: process 0 starts from "
                "other parameters (give every process the same --seed and --layers, or the same "
                "--resume file)");
        return CLI_EFAIL;
    }
    // --init-from: the same parameters, but another batch order, so that
    // the processes' parts of a batch would be rows of other batches
    if (mine[SEED] != first[SEED]) {
        cli_err("train: --seed %llu here, %llu on process 0: every process needs the same options",
                (unsigned long long)mine[SEED], (unsigned long long)first[SEED]);
        return CLI_EUSAGE;
    }
    // (after the parameters: another --seed also draws another --val split)
    if (mine[DATA] != first[DATA] || mine[VAL_DATA] != first[VAL_DATA]) {
        cli_err("%s: the rows differ from those process 0 read: %s",
                mine[DATA] != first[DATA] ? data : val, why);
        return CLI_EDATA;
    }
    // (after the data: a run's own normalisation comes from its rows)
    if (mine[EXTRAS] != first[EXTRAS]) {
        cli_err("the processes' copies of the net differ before training: its input normalisation, "
                "target scaling or running statistics are not process 0's (give every process the "
                "same --init-from or --resume file)");
        return CLI_EFAIL;
    }
    return CLI_OK;
}

static int train_main(int argc, char **argv);

int cmd_train(int argc, char **argv)
{
    int rc = cli_dist_start();
    if (rc) return rc;
    rc = train_main(argc, argv);
    cli_dist_end();
    return rc;
}

static int train_main(int argc, char **argv)
{
    choices_init();
    train_run *r = calloc(1, sizeof *r);
    if (!r) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    r->c.batch = 32;
    r->c.epochs = 10;
    r->c.seed = 1;
    r->c.header = -1;
    r->c.momentum = 0.9f;
    r->c.optim = LM_ADAM;
    lm_fit_opts d = lm_fit_defaults(); // the plateau's defaults are the library's
    r->c.lr_factor = d.lr_factor;
    r->c.lr_patience = d.lr_patience;
    join_argv(r->argv_line, sizeof r->argv_line, argc, argv);
    // Process 0 alone prints (--help too); the processes agree on their
    // options as on their setup, since a process that stopped here would
    // leave the others waiting for it for ever (other options a process:
    // mpirun's -np 1 A : -np 1 B).
    if (cli_dist_rank() != 0 && !freopen("/dev/null", "w", stdout)) clearerr(stdout);
    int rc = cli_dist_agree(parse(r, argc, argv));
    if (rc) {
        free(r);
        return rc < 0 ? CLI_OK : rc;
    }
    if (cli_dist_rank() != 0) follower(&r->c);
    double train_secs = 0;
    lm_rng rng;
    // Ctrl-C and SIGTERM from here on stop cleanly (after the current
    // batch) and save the training state.
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND; // a second one ends the program at once
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    // every process sets up alone; one failure anywhere ends them all
    if (!(rc = cli_dist_agree(setup(r, &rng))) && !r->cv_only &&
        !(rc = cli_dist_agree(check_same_run(r)))) {
        // what was read (--cv said it before its folds)
        if (!r->c.quiet && !r->c.cv) cli_data_describe(stderr, &r->train, r->c.task);
        if (!r->c.quiet && r->fill_note[0]) cli_wrap(stderr, r->fill_note, 0, 2, cli_out_width(2), ",");
        int done0 = lm_train_epochs_done(r->t);
        progress_init(&r->prog, r->c.quiet, r->classes, r->c.epochs);
        r->prog.show_lr = r->c.schedule != LM_LR_CONSTANT || r->c.lr_warmup > 0;
        rc = run_epochs(r, &train_secs);
        // every process took the same steps: their copies must be equal
        if (!rc && !cli_dist_same(lm_net_params(r->net), lm_net_n_params(r->net))) {
            cli_err("the processes' copies of the net differ after training (an MPI fault)");
            rc = CLI_EFAIL;
        }
        if (!rc) rc = finish(r, train_secs, lm_train_epochs_done(r->t) - done0);
        // A run stopped by Ctrl-C or SIGTERM keeps the log and plot of the
        // epochs it ran, as it keeps their training state: --resume logs
        // only its own epochs, so they would be lost for good.
        else if ((rc == CLI_EINTR || rc == CLI_ETERM) && r->h.n > 0 && !r->cv_fold) {
            if (r->c.log) cli_write_atomic(r->c.log, write_log, &r->h);
            if (r->c.plot) write_plot(r);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    run_free(r);
    return rc;
}
