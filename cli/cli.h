/* cli.h - what the lamina command's files share. The program uses the
 * public API (lamina.h) only; it owns stdout, stderr and the exit codes. */
#ifndef LAMINA_CLI_H
#define LAMINA_CLI_H

#include "lamina.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in `lamina --help` and lamina(1)). */
enum {
    CLI_OK = 0,
    CLI_EFAIL = 1,     /* internal or other error (e.g. cannot write output) */
    CLI_EUSAGE = 2,    /* bad flag, value or layer spec */
    CLI_EDATA = 3,     /* a data file is missing, unreadable or malformed */
    CLI_EMODEL = 4,    /* a model file is missing, corrupt or not lamina's */
    CLI_ENUMERIC = 5,  /* NaN or Inf during training */
    CLI_EINTR = 130,   /* interrupted (SIGINT) */
    CLI_ETERM = 143    /* terminated (SIGTERM) */
};

/* ------------------------------------------------------------ messages */

/* Prints "lamina: <message>" on stderr, as one line (on a terminal
 * wrapped at spaces to its width, see cli_wrap), and keeps it in
 * cli_err_last; with cli_err_hold set it only keeps it (a data-parallel
 * process other than 0: process 0 reports for all, cli/dist.h). */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int cli_err_hold;
extern char cli_err_last[1024];
/* Prints the library's message (lm_errmsg) as one line, prefixed with
 * path when the message does not already name it; returns code. */
int cli_lib_err(int code, const char *path);

/* The width in columns of the output on fd: $COLUMNS when it is a number
 * in [1, 99999] (the user's word wins, as for ls), else the terminal's
 * (TIOCGWINSZ) when fd is one, else 0 (unknown: not a terminal). */
int cli_term_width(int fd);

/* ------------------------------------------------------------ wrapping */

/* The narrowest width text is wrapped to: below it a key/value layout
 * leaves no room for the value. */
#define CLI_MIN_WIDTH 40
/* The width lamina wraps help texts to: one column short of an 80-column
 * terminal, so a full line never makes the terminal wrap it. */
#define CLI_HELP_WIDTH 79

/* cli_term_width(fd), or 80 when unknown; at least CLI_MIN_WIDTH. */
int cli_out_width(int fd);

/* Prints text on f wrapped to width columns, then a newline. The caller
 * has already printed col columns on the first line; later lines start
 * with indent spaces. A line may break after any character of seps: at a
 * space (give " " to break between words) or after another separator,
 * which stays at the line's end (so "a,b,c" wrapped at "," joins back as
 * it was); the spaces where it breaks are dropped. A piece wider than
 * the line is printed whole on a line of its own, never cut. A newline in
 * text starts a new (indented) line. Columns count UTF-8 characters. */
void cli_wrap(FILE *f, const char *text, int col, int indent, int width, const char *seps);

/* Seconds from a monotonic clock. */
double cli_now(void);

/* ---------------------------------------------------------- commands */

int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* `lamina export --format c` (export_c.c); argv as cmd_export got it. */
int cli_export_c(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* `lamina export --format onnx` (export_onnx.c); argv as cmd_export got it. */
int cli_export_onnx(int argc, char **argv);

/* -------------------------------------------------------- layer spec */

#define CLI_MAX_SPEC_LAYERS 64
#define CLI_MAX_WIDTH (1 << 20)

typedef struct cli_layer_spec {
    int kind;    /* an lm_layer_kind */
    int width;   /* dense: units; conv: filters; 0 for the other kinds */
    int act;     /* an lm_act, or -1 when the spec gave none */
    int no_bias; /* 1 when ":nobias" was given */
    int kh, kw, stride, pad; /* conv (pad: LM_PAD_* or >= 0), pools (kh = kw = size) */
    float rate;              /* dropout */
    float momentum, eps;     /* batchnorm */
} cli_layer_spec;

/* Parses "conv:32:3x3:same,maxpool:2,256:relu,dropout:0.5,10:softmax" into
 * at most max layers (the grammar is in spec.c and docs/CLI.md). Returns
 * the count, or -1 after printing a usage message. */
int cli_spec_parse(const char *spec, cli_layer_spec *out, int max);

/* Resolves the output layer against the data: n_out units with out_act.
 * Appends a dense output layer when the last spec layer is not dense or
 * is a hidden one of another width; fills a missing activation (relu for
 * hidden dense and conv layers, out_act for the output). Returns the new
 * count or -1 after a usage message. */
int cli_spec_resolve(cli_layer_spec *l, int n, int max, int n_out, lm_act out_act,
                     const char *what);

/* Layer i of net in spec form (what its lm_net_add_* call was given). */
lm_status cli_spec_of_layer(const lm_net *net, int i, cli_layer_spec *l);

/* Adds the layer l to net through its lm_net_add_* function. */
lm_status cli_spec_add(lm_net *net, const cli_layer_spec *l);

/* Writes one layer in the spec syntax ("256:relu", "dropout:0.5"). */
void cli_spec_item_format(const cli_layer_spec *l, char *buf, size_t size);

/* Writes the spec of a net in the same syntax ("256:relu,10:softmax"). */
void cli_spec_format(const lm_net *net, char *buf, size_t size);

/* --------------------------------------------------------------- data */

typedef struct cli_data {
    lm_data d;
    const char *path;
    const char *labels_path; /* IDX, NumPy: the labels file, or NULL */
    int is_idx;          /* positional binary data: IDX, or NumPy (is_npy too) */
    int is_npy;          /* a NumPy .npy or .npz file (lm_npy_read) */
    int is_fann;         /* a FANN training data file (lm_fann_data_read) */
    int32_t *labels_own; /* (n) labels remapped to a model's classes, or NULL */
    float *x_own;        /* (n, nx) columns picked for a model, or NULL */
    float *y_own;        /* (n) NumPy labels as numbers (--task regression), or NULL */
} cli_data;

typedef struct cli_data_opts {
    const char *labels; /* IDX or NumPy labels (targets) file, or NULL */
    const char *labels_opt; /* the option that gave labels, for messages ("--labels" if NULL) */
    const char *target; /* CSV target column (name or index), or NULL */
    int header;         /* -1 detect, 0, 1 */
    int target_kind;    /* -1 detect, 0 numeric, 1 classes */
    int no_target;      /* CSV: every column is a feature */
    const char *ignore;   /* CSV columns left out (names or indices), or NULL */
    const char *features; /* CSV: the model's inputs by name, or NULL */
    char sep;             /* CSV separator, 0 = detect */
    int decimal_comma;    /* CSV numbers written "5,1"; 2: a model's, where the
                             separator is not ',' (cli_data_opts_from_model) */
    const char *categorical; /* CSV columns to one-hot encode, or NULL */
    const char *categories;  /* CSV: a model's encoding (lm_data_categories), or NULL */
    int max_categories;      /* 0: the library's default */
    int missing;             /* 1: missing cells read as missing (--missing mean) */
    int from_model;          /* read as a model reads (eval, predict): its
                                inputs fixed, no --categorical, --missing */
} cli_data_opts;

cli_data_opts cli_data_defaults(void);

/* Prints m, the reader's refusal of a file read as a model reads it
 * (cli_data_opts.from_model), naming path unless m does: the reader's hint
 * naming a training option (--categorical, --missing mean), which eval
 * and predict do not take, says what the model does instead. CLI_EDATA. */
int cli_model_read_err(const char *m, const char *path);

/* Whether path names an IDX file (by extension, or by the IDX or gzip
 * magic in its first bytes). */
int cli_is_idx(const char *path);

/* Whether path names a NumPy file: a name ending in .npy or .npz, or the
 * magic of either in its first bytes (\x93NUMPY; a zip's PK\3\4 whose
 * first member is named *.npy). */
int cli_is_npy(const char *path);

/* cli_is_idx or cli_is_npy: data read by position from a named file, its
 * labels from another. */
int cli_is_binary(const char *path);

/* Whether path names a FANN training data file: 1 when its text starts
 * as lm_fann_data_detect says (a name ending in .csv or .tsv is always
 * CSV), 0 if not, -1 after printing why a stream could not be read. A
 * stream's bytes are read once and kept. */
int cli_is_fann(const char *path);

/* Whether path is standard input ("-") or another file that can be read
 * only once (a pipe, FIFO, <(...) or device): such input is read whole
 * into memory, once, and kept for the process's life. */
int cli_is_stream(const char *path);

/* lm_csv_read for the commands: a stream's bytes are read once and
 * parsed from memory. Returns the library's status (message in
 * lm_errmsg). */
lm_status cli_csv_read(lm_data *d, const char *path, const lm_csv_opts *co);

/* Parses a --sep value (",", ";", "tab" or a tab character) into *sep;
 * 0 after a usage message if it is none of them. */
int cli_parse_sep(const char *cmd, const char *s, char *sep);

/* Prints what was read before training: rows, features, the target
 * column(s), the task and why, and for classes their names and counts.
 * task_given: the --task the user gave (0 auto, 1 classes, 2 regression). */
void cli_data_describe(FILE *f, const cli_data *cd, int task_given);

/* Loads a data set. Returns CLI_OK, or an exit code after one message. */
int cli_data_load(cli_data *cd, const char *path, const cli_data_opts *o);
void cli_data_free(cli_data *cd);

/* The input normalisation for a data set: x/255 for u8 data, per-feature
 * standardisation otherwise. mean, scale: (nx). */
int cli_data_norm(const cli_data *cd, float *mean, float *scale);

/* Standardises a regression net's targets: mean and std of each target
 * column of d (std 1 where a column is constant) into the net, which
 * then trains on (y - mean) / std and predicts in the targets' units.
 * CLI_OK or CLI_EFAIL after a message. */
int cli_data_target_norm(const lm_data *d, lm_net *net);

/* Rows [i0, i0 + n) of d as float32 into out (n, nx). */
void cli_data_rows(const lm_data *d, size_t i0, size_t n, float *out);

/* Row r (0-based) of cd as messages name it: "data row N" (1-based, its
 * blank lines not counted, "not counting the header" when the file has
 * one), or "row N" of IDX labels, into buf. Returns buf. */
const char *cli_data_row_name(const cli_data *cd, size_t r, char *buf, size_t size);

/* Maps the data's class labels onto the net's classes by name (or keeps
 * the indices when either side has no names). Returns CLI_OK or
 * CLI_EDATA after a message naming the unknown class. */
int cli_data_map_classes(cli_data *cd, const lm_net *net);

/* Makes the data's columns the model's inputs: by name when both the
 * file's header and the model's "features" metadata name them, else
 * dropping column drop (0-based; -1 = the last) when the file has one
 * column more than the model takes. CLI_OK or CLI_EDATA after a message. */
int cli_data_fit_columns(cli_data *cd, const lm_net *net, int drop);

/* Images with a shape of their own (IDX) must have the shape of the
 * model's input when that is an image: 28x28 images read as 14x56 ones
 * hold as many numbers but give garbage. Flat rows (CSV) and models with
 * flat inputs take any. CLI_OK or CLI_EDATA after a message naming path. */
int cli_data_check_shape(const lm_data *d, const char *path, const lm_net *net);

/* After a data set is read for a model (eval, predict, train's --test):
 * warns once per categorical column on stderr about rows whose value the
 * model's encoding lacks (their one-hot inputs are 0), unless quiet, and
 * fills missing numeric cells (NaN) with the model's normalisation mean.
 * Returns the rows with unseen values in all. */
size_t cli_data_apply_model(cli_data *cd, const lm_net *net, int quiet);

/* Fills the NaN cells of d (F32, the reader's own memory) with mean (nx);
 * counts per feature into filled (nx) when not NULL. */
void cli_data_impute(lm_data *d, const float *mean, size_t *filled);

/* The column of d whose header name is name[0..len), or -1 (also when d
 * has no header). */
int cli_data_column(const lm_data *d, const char *name, size_t len);

/* name as one item of a column list (lm_csv_list_next): in double quotes,
 * with its quotes doubled, when it holds a comma or starts with a quote;
 * else a copy. malloc'd; NULL out of memory. */
char *cli_list_item(const char *name);

/* Loads the model at path for eval, predict or --resume: its column lists
 * as 1.5 reads them (a model trained before 1.5 has them rewritten in
 * memory, a quote having been a plain character of a name). CLI_OK, or an
 * exit code after a message (*net NULL then). */
int cli_model_load(lm_net **net, const char *path);

/* The CSV reading options a model recorded at training (--ignore, its
 * feature names, --sep, --decimal-comma, its one-hot encoding, --missing) into o; sep and decimal_comma
 * given on this command line (non-NULL sep, decimal_comma 1) win; the model's
 * decimal comma is o->decimal_comma 2, read where the separator is not ','.
 * Returns 0 after a usage message for a bad --sep. */
int cli_data_opts_from_model(cli_data_opts *o, const lm_net *net, const char *cmd,
                             const char *sep, int decimal_comma);

/* The training target's column found by its header name (train records
 * it as target_name when it took the default target; train --test and
 * --val-data look for it too): a quiet CSV read with o's options, kept in
 * cd when the file has a header and that column. 1 then; else 0 with the
 * reader's message in why. */
int cli_data_load_target_named(cli_data *cd, const char *path, const cli_data_opts *o,
                               const char *name, char *why, size_t why_size);

/* Reads data to score a model on (eval, export --test) with o's options,
 * the model's target column unless o->target names one: then checks it has
 * what the model predicts (class labels, or one number a model output;
 * labels_opt names the option that adds IDX labels, for the hint) and maps
 * its columns and classes onto the model's. has_target: the command takes
 * --target (eval), which the warnings about a guessed target then suggest.
 * CLI_OK or an exit code after a message. */
int cli_data_load_scored(cli_data *cd, const lm_net *net, const char *path,
                         cli_data_opts *o, int classes, const char *labels_opt, int has_target);

/* Whether a model predicts classes (it has class names, its metadata says
 * so, or it ends with softmax), and the loss it was trained with. */
int cli_model_classes(const lm_net *net);
lm_loss cli_model_loss(const lm_net *net);

/* A class model's classes: its outputs, or 2 for one sigmoid output (the
 * probability of class 1). */
int cli_model_n_classes(const lm_net *net);
/* The class one output row p (k) predicts: the largest, or for one output
 * class 1 when p > 0.5, the rule lm_evaluate's accuracy uses. */
int cli_predicted_class(const float *p, int k);

/* ---------------------------------------------------------- progress */

typedef struct cli_progress {
    int tty;        /* draw a bar on stderr */
    int quiet;
    int classes;    /* show accuracies */
    int epochs;
    double t0;      /* start of the current epoch */
    double t_draw;  /* last redraw */
    int drawn;      /* a bar is on screen */
    double epoch_secs; /* seconds of the epochs ended in this run, for the ETA */
    int epochs_timed;
    int show_lr;    /* a schedule or warmup: each epoch's line gives its lr */
} cli_progress;

void progress_init(cli_progress *p, int quiet, int classes, int epochs);
void progress_epoch_begin(cli_progress *p);
void progress_batch(cli_progress *p, const lm_batch_info *b);
void progress_epoch_end(cli_progress *p, const lm_epoch_info *e);
/* Clears a bar left on screen (before printing a message). */
void progress_clear(cli_progress *p);

/* ---------------------------------------------------- cross-validation */

/* What `train --cv K` measured (cv.c): one entry a fold, done of k. */
typedef struct cli_cv {
    int k, done;
    int classes;      /* class targets: accuracy; else r2 and rmse */
    double *acc;      /* (k) held-out accuracy, classes */
    double *r2, *rmse; /* (k) held-out R^2 and RMSE in the targets' units, numbers */
    double *loss;     /* (k) held-out loss (lm_evaluate's; regression: standardised) */
    size_t *rows;     /* (k) rows held out */
    int n_classes;
    size_t *held;     /* (k, n_classes) each class's rows held out, classes */
} cli_cv;

/* Trains a fresh net on fit, fold's (1-based) training part, and hands it
 * back in *net (owned by ctx); held is the fold held out, for a caller
 * that fills its missing cells. CLI_OK or an exit code after a message. */
typedef int (*cli_cv_train_fn)(void *ctx, int fold, lm_data *fit, lm_data *held, lm_net **net);

/* k-fold cross-validation of d: each row held out once, stratified by
 * class (StratifiedKFold's allocation, shuffled from seed) or shuffled
 * (KFold) for numbers; train gets each fold's training part and the net
 * is scored on the held-out rows with loss; 2 <= k <= d->n. Prints a line a fold on
 * stderr unless quiet. CLI_OK or an exit code after a message; cv is
 * filled either way (cli_cv_free). */
int cli_cv_run(cli_cv *cv, const lm_data *d, int k, uint64_t seed, lm_loss loss, int quiet,
               cli_cv_train_fn train, void *ctx);
/* "cv 5 folds: accuracy 0.953 +- 0.027 (0.933 ...); loss ...": the mean
 * and population standard deviation (ddof 0) of each figure. */
void cli_cv_summary(FILE *f, const cli_cv *cv);
/* The same as one JSON object. */
void cli_cv_json(FILE *f, const cli_cv *cv);
/* Records cv's figures in net's metadata (cv, cv_accuracy, ..._std,
 * ..._folds); NULL removes them (a run without --cv). */
void cli_cv_meta(lm_net *net, const cli_cv *cv);
void cli_cv_free(cli_cv *cv);

/* --------------------------------------------------------------- plot */

typedef struct plot_series {
    const char *name;
    const float *v; /* (n) values; NaN points are skipped */
    size_t n;
    int right;      /* 1: on the right axis */
    const char *color;
} plot_series;

/* Writes an SVG line plot (x = 1..n) atomically. Returns CLI_OK or
 * CLI_EFAIL after a message. */
int plot_svg(const char *path, const char *title, const char *xlabel,
             const char *left_label, const char *right_label, const plot_series *s,
             int ns);

/* Prints a one-line sparkline of v (n) in at most width cells: Unicode
 * blocks when the locale says UTF-8, ASCII otherwise. */
void plot_sparkline(FILE *f, const float *v, size_t n, int width);

/* ------------------------------------------------------------- files */

/* Writes path atomically: fn writes into a temporary file in the same
 * folder, which is flushed, fsynced and renamed over path. On failure
 * nothing is left behind; returns CLI_OK or CLI_EFAIL after a message. */
int cli_write_atomic(const char *path, int (*fn)(FILE *f, void *ctx), void *ctx);

/* "s" for a count other than one: "%zu row%s", n, cli_s(n). */
static inline const char *cli_s(size_t n) { return n == 1 ? "" : "s"; }

/* Appends printf-style text to s (size bytes, *len used so far), cut
 * at the end of the buffer and always terminated. */
void cli_append(char *s, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether a file can be written at path: its folder (the link target's,
 * for a symbolic link) exists and is writable, and path is no folder,
 * device or pipe. Prints a message and returns 0 if not. */
int cli_check_writable(const char *path);

/* Whether two paths name the same file, by device and inode (so "./d.csv",
 * "d.csv", a hard link and a symbolic link to it all match); paths that do
 * not exist yet match when they name the same entry of the same folder. */
int cli_same_file(const char *a, const char *b);

/* path made absolute against the working folder into buf; -1 if too long. */
int cli_abspath(const char *path, char *buf, size_t size);

/* A model's metadata value for key, NULL when it has none: an empty value
 * is none too (train writes "" for a setting a resumed or --init-from run
 * no longer uses, since a key cannot be removed). */
const char *cli_meta(const lm_net *net, const char *key);

/* Prints a warning when the model's metadata says it holds an untrained or
 * partly trained state (an interrupted run or a checkpoint); 1 if it did. */
int cli_model_state_warn(const lm_net *net, const char *path);

/* A class name as a list or table shows it: as it is, or in double quotes
 * with C escapes where it holds a space, a quote, a backslash or a control
 * character (a quoted CSV field can), or a comma when comma is set (a list
 * separated by commas), so that it reads one way and stays on its line.
 * Writes at most 4 * strlen(c) + 3 bytes to out (NUL included); returns
 * the length written. */
size_t cli_name_shown(char *out, const char *c, int comma);

/* ------------------------------------------------------------- json */

/* Prints a float as a JSON number, or null for NaN/Inf. */
void json_num(FILE *f, double v);
/* Prints a JSON string with escapes. JSON is UTF-8: a byte that is not
 * part of a valid UTF-8 character (a Latin-1 file's 'é') is written as its
 * Latin-1 character (\u00e9), as the ONNX export writes it. */
void json_str(FILE *f, const char *s);
/* The length of the valid UTF-8 character at s (1 to 4), 0 when the bytes
 * there are none (no overlong form, no surrogate, nothing above U+10FFFF). */
int cli_utf8_len(const char *s);

/* 64-bit FNV-1a of the net's parameter bytes, as a fingerprint. */
uint64_t cli_params_hash(const lm_net *net);

#endif
