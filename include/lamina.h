/*
 * lamina.h - a neural-network library in C: dense feed-forward networks
 * trained by backpropagation, with a flat parameter buffer, explicit RNG
 * state and status codes. This is the only header a user includes.
 *
 *     lm_net *net;
 *     lm_rng rng = lm_rng_seed(1);
 *     lm_net_new(&net, 3);                              // 3 inputs
 *     lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS);
 *     lm_net_add_dense(net, 1, LM_SIGMOID, LM_NO_BIAS);
 *     lm_net_init(net, LM_INIT_UNIFORM01, &rng);
 *     lm_fit_opts o = lm_fit_defaults();
 *     o.loss = LM_LOSS_SSE; o.optim.lr = 1.0f; o.epochs = 1500; o.batch = 4;
 *     lm_data d = { .n = 4, .nx = 3, .x = X, .ny = 1, .y = Y };
 *     if (lm_fit(net, &d, &o, &rng) != LM_OK) fprintf(stderr, "%s\n", lm_errmsg());
 *     lm_net_predict(net, X, 4, yhat);
 *     lm_net_free(net);
 *
 * Conventions
 *  - Every function that can fail returns an lm_status; on failure a message
 *    with context is kept per thread and read with lm_errmsg().
 *  - The library never prints and never exits.
 *  - Matrices are row-major float32. Shapes are noted as (rows, cols).
 *  - Randomness comes only from an lm_rng the caller passes in.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_VERSION_STRING "0.1.0"

/* Marks the library's public functions: the shared library is built with
 * -fvisibility=hidden, so only what carries LM_API is exported. Every new
 * public prototype starts with it. */
#if defined(__GNUC__) || defined(__clang__)
#define LM_API __attribute__((visibility("default")))
#else
#define LM_API
#endif

/* ---------------------------------------------------------------- status */

typedef enum lm_status {
    LM_OK = 0,
    LM_EINVAL,   /* a bad argument: wrong size, unknown enum, NULL pointer */
    LM_ENOMEM,   /* an allocation failed or would exceed a limit */
    LM_EIO,      /* a file could not be opened, read or written */
    LM_EFORMAT,  /* a file's contents are malformed or not ours */
    LM_ENUMERIC, /* a NaN or Inf appeared in a loss or gradient */
    LM_ESTOPPED  /* a callback asked training to stop (not an error) */
} lm_status;

/* The message of the last failure in this thread ("" if none). The pointer
 * stays valid until the next lamina call in the same thread. */
LM_API const char *lm_errmsg(void);

/* A short constant name for a status ("LM_EFORMAT"). */
LM_API const char *lm_status_name(lm_status st);

/* ------------------------------------------------------------------- rng */

/* xoshiro256** state. Copyable by value; the same seed gives the same
 * stream on every platform. */
typedef struct lm_rng {
    uint64_t s[4];
} lm_rng;

LM_API lm_rng lm_rng_seed(uint64_t seed);
LM_API uint64_t lm_rng_next(lm_rng *r);
/* Uniform in [0, 1) with 24 random bits. */
LM_API float lm_rng_uniform(lm_rng *r);
/* Standard normal (Box-Muller). */
LM_API float lm_rng_normal(lm_rng *r);
/* Uniform integer in [0, n), unbiased. n > 0. */
LM_API uint64_t lm_rng_below(lm_rng *r, uint64_t n);

/* ---------------------------------------------------------- enumerations */

typedef enum lm_act {
    LM_IDENTITY = 0,
    LM_SIGMOID,
    LM_TANH,
    LM_RELU,
    LM_LEAKY_RELU, /* slope 0.01 below zero */
    LM_SOFTMAX,    /* over each row of the layer's output */
    LM_ACT_COUNT
} lm_act;

#define LM_LEAKY_SLOPE 0.01f

typedef enum lm_loss {
    LM_LOSS_SSE = 0, /* sum over batch and outputs of (yhat - y)^2 (the tutorial's) */
    LM_LOSS_MSE,     /* mean over batch and outputs of (yhat - y)^2 */
    LM_LOSS_BCE,     /* mean binary cross-entropy over batch and outputs */
    LM_LOSS_CE,      /* mean over batch of -sum y log(yhat); fused with softmax */
    LM_LOSS_COUNT
} lm_loss;

typedef enum lm_optim_kind {
    LM_SGD = 0, /* with optional momentum and Nesterov */
    LM_ADAM,    /* weight decay added to the gradient (L2) */
    LM_ADAMW,   /* decoupled weight decay */
    LM_OPTIM_COUNT
} lm_optim_kind;

typedef enum lm_init {
    LM_INIT_UNIFORM01 = 0, /* uniform [0,1), numpy's np.random.rand; biases too */
    LM_INIT_XAVIER,        /* uniform +-sqrt(6/(in+out)); biases zero */
    LM_INIT_HE,            /* normal(0, sqrt(2/in)); biases zero */
    LM_INIT_COUNT
} lm_init;

/* Flags for lm_net_add_dense. */
#define LM_BIAS 0
#define LM_NO_BIAS 1

LM_API const char *lm_act_name(lm_act a);         /* "sigmoid", ... */
LM_API int lm_act_from_name(const char *s);       /* -1 if unknown */
LM_API const char *lm_loss_name(lm_loss l);       /* "sse", "mse", "bce", "ce" */
LM_API int lm_loss_from_name(const char *s);
LM_API const char *lm_optim_name(lm_optim_kind k); /* "sgd", "adam", "adamw" */

/* ------------------------------------------------------------------- net */

typedef struct lm_net lm_net;

/* A new empty network taking n_in inputs. *out is NULL on failure. */
LM_API lm_status lm_net_new(lm_net **out, int n_in);

/* Appends a dense layer y = act(x W + b) with n_out units. W is (in, out)
 * row-major, b is (out). flags: LM_BIAS or LM_NO_BIAS. Parameters are
 * zero until lm_net_init or lm_net_set_params. */
LM_API lm_status lm_net_add_dense(lm_net *net, int n_out, lm_act act, int flags);

/* Draws every parameter from the given initialiser, layer by layer in
 * order (weights row-major, then bias). */
LM_API lm_status lm_net_init(lm_net *net, lm_init init, lm_rng *rng);

LM_API void lm_net_free(lm_net *net);

/* A deep copy (parameters, normalisation, names, metadata). */
LM_API lm_status lm_net_clone(lm_net **out, const lm_net *net);

LM_API int lm_net_n_in(const lm_net *net);
LM_API int lm_net_n_out(const lm_net *net);
LM_API int lm_net_n_layers(const lm_net *net);
LM_API size_t lm_net_n_params(const lm_net *net);

typedef struct lm_layer_info {
    int n_in, n_out;
    lm_act act;
    int has_bias;
    size_t w_offset; /* index of W in the flat parameter buffer */
    size_t b_offset; /* index of b, or (size_t)-1 without bias */
} lm_layer_info;

LM_API lm_status lm_net_layer(const lm_net *net, int i, lm_layer_info *info);

/* The one flat parameter buffer, (n_params). Owned by the net; the pointer
 * is stable once layers are added. */
LM_API float *lm_net_params(lm_net *net);
LM_API const float *lm_net_params_const(const lm_net *net);
/* The flat gradient buffer in the same layout, filled by lm_net_backward. */
LM_API float *lm_net_grads(lm_net *net);

/* Input normalisation applied before the first layer:
 * x' = (x - mean) * scale, per input feature. Both arrays (n_in); NULL
 * clears it. */
LM_API lm_status lm_net_set_norm(lm_net *net, const float *mean, const float *scale);
/* Whether a normalisation is set; if so copies it into mean/scale (n_in). */
LM_API int lm_net_get_norm(const lm_net *net, float *mean, float *scale);

/* Names of the output classes (n_out strings), kept in model files so a
 * predicted class prints as the training data named it. NULL clears. */
LM_API lm_status lm_net_set_class_names(lm_net *net, int n, const char *const *names);
/* The i-th class name, or NULL if none is set. */
LM_API const char *lm_net_class_name(const lm_net *net, int i);

/* Free-form metadata (key/value strings), kept in model files. Setting an
 * existing key replaces its value. */
LM_API lm_status lm_net_set_meta(lm_net *net, const char *key, const char *value);
LM_API const char *lm_net_get_meta(const lm_net *net, const char *key); /* NULL if absent */
LM_API int lm_net_n_meta(const lm_net *net);
LM_API void lm_net_meta_at(const lm_net *net, int i, const char **key, const char **value);

/* Number of worker threads for this net's kernels (0 = all cores). */
LM_API lm_status lm_net_set_threads(lm_net *net, int threads);
LM_API int lm_net_threads(const lm_net *net);

/* Runs the net on n rows of x (n, n_in) into y (n, n_out), applying the
 * normalisation and every activation (softmax included). Uses the net's
 * own workspace, so one net must not predict from two threads at once;
 * see lm_ws for that. */
LM_API lm_status lm_net_predict(lm_net *net, const float *x, size_t n, float *y);

/* A per-caller workspace for concurrent inference on a shared net whose
 * parameters are not being changed. */
typedef struct lm_ws lm_ws;
LM_API lm_status lm_ws_new(lm_ws **out, const lm_net *net, size_t max_rows);
LM_API void lm_ws_free(lm_ws *ws);
/* Like lm_net_predict, single-threaded, using ws; net is only read. */
LM_API lm_status lm_net_predict_ws(const lm_net *net, lm_ws *ws, const float *x, size_t n,
                            float *y);

/* --------------------------------------------------------------- data */

typedef enum lm_dtype { LM_F32 = 0, LM_U8 } lm_dtype;

/* A data set: n rows of nx features, with targets as either class labels
 * or float vectors. A caller may fill one by hand over its own arrays (a
 * view); readers fill one with memory that lm_data_free releases. */
typedef struct lm_data {
    size_t n;        /* rows */
    int nx;          /* features per row */
    lm_dtype x_type; /* LM_F32 (default) or LM_U8 */
    const void *x;   /* (n, nx) of x_type */
    const int32_t *labels; /* (n) class indices in [0, n_classes), or NULL */
    int n_classes;
    const float *y; /* (n, ny) float targets, or NULL */
    int ny;
    char **class_names;   /* (n_classes) or NULL: names from the file */
    char **feature_names; /* (nx) or NULL */
    void *owned_;         /* internal: memory freed by lm_data_free */
} lm_data;

/* Frees what a reader allocated and zeroes *d. Safe on a zeroed struct. */
LM_API void lm_data_free(lm_data *d);

/* Options for lm_csv_read. */
typedef struct lm_csv_opts {
    int header;         /* -1 detect (default), 0 no header, 1 header */
    char sep;           /* 0 detect among ',', ';', '\t' (default) */
    const char *target; /* column name or 0-based index as text; NULL = last */
    int target_kind;    /* -1 detect (default), 0 numeric, 1 classes */
    int no_target;      /* 1: every column is a feature (for predict) */
} lm_csv_opts;

LM_API lm_csv_opts lm_csv_defaults(void);

/* Reads a CSV file: numeric features, one target column. Class targets
 * (strings, or integers when target_kind says so) become labels with
 * class_names; numeric ones become y with ny = 1. Errors name the file,
 * line and column. */
LM_API lm_status lm_csv_read(lm_data *out, const char *path, const lm_csv_opts *o);

/* Reads MNIST-style IDX files, plain or gzip. images: any IDX dtype, dims
 * (n, d1, d2, ...) flattened to nx; u8 stays u8. labels: optional (NULL),
 * 1-D, integer dtype; n_classes = max label + 1. */
LM_API lm_status lm_idx_read(lm_data *out, const char *images, const char *labels);

/* The most bytes lamina allocates in one piece for anything sized by
 * untrusted input or by the caller: a data set's arrays, a model file, a
 * workspace (default 8 GiB). A larger claim is refused with LM_ENOMEM
 * before allocating. Safe to change from any thread. */
LM_API void lm_set_alloc_limit(uint64_t bytes);
LM_API uint64_t lm_alloc_limit(void);

/* Per-feature mean and 1/std of a data set (scale 1 where std is 0), for
 * lm_net_set_norm. mean, scale: (nx). */
LM_API lm_status lm_data_norm_stats(const lm_data *d, float *mean, float *scale);

/* Splits d in two new data sets (copies) after shuffling the rows with
 * rng: a gets n - round(frac * n) rows, b the rest. Labels, targets and
 * names are copied too; free both with lm_data_free. */
LM_API lm_status lm_data_split(const lm_data *d, float frac, lm_rng *rng, lm_data *a,
                        lm_data *b);

/* --------------------------------------------------------------- train */

typedef struct lm_optim_opts {
    lm_optim_kind kind; /* default LM_SGD */
    float lr;           /* default 0.01 */
    float momentum;     /* SGD only; default 0 */
    int nesterov;       /* SGD only; default 0 */
    float beta1, beta2, eps; /* Adam/AdamW; defaults 0.9, 0.999, 1e-8 */
    float weight_decay;      /* L2 (SGD, Adam) or decoupled (AdamW); default 0 */
    float clip_norm;         /* clip the global gradient norm to this; 0 = off */
} lm_optim_opts;

typedef struct lm_epoch_info {
    int epoch;          /* 1-based */
    int epochs;         /* planned total */
    float train_loss;   /* mean of the batch losses over the epoch */
    float train_acc;    /* fraction correct, or NaN for regression */
    float val_loss;     /* NaN without a validation set */
    float val_acc;      /* NaN without a validation set or for regression */
    double seconds;     /* wall time of this epoch */
    uint64_t step;      /* optimizer steps so far */
    float lr;           /* the learning rate this epoch used */
} lm_epoch_info;

typedef struct lm_batch_info {
    int epoch;
    size_t batch, n_batches; /* batch is 1-based */
    size_t samples;          /* samples done in this epoch */
    float loss;              /* running mean loss over this epoch */
} lm_batch_info;

/* Called after every epoch; returning non-zero stops training. */
typedef int (*lm_epoch_cb)(const lm_epoch_info *info, void *ctx);
/* Called after every batch (keep it cheap); non-zero stops after it. The
 * step is taken but the epoch is not counted as done, so a checkpoint
 * saved then resumes at the start of that epoch with the parameters moved:
 * for an exact resume, save at epoch boundaries. */
typedef int (*lm_batch_cb)(const lm_batch_info *info, void *ctx);

/* Learning-rate schedules, applied at the start of each epoch from the
 * number of epochs done (so a resumed run follows the same curve). */
typedef enum lm_lr_schedule {
    LM_LR_CONSTANT = 0, /* optim.lr throughout (default) */
    LM_LR_COSINE,       /* lr_min + (lr - lr_min)(1 + cos(pi e / epochs)) / 2 */
    LM_LR_STEP,         /* lr * lr_gamma^floor(e / lr_step) */
    LM_LR_COUNT
} lm_lr_schedule;

typedef struct lm_fit_opts {
    lm_loss loss;          /* default LM_LOSS_MSE */
    lm_optim_opts optim;
    lm_lr_schedule lr_schedule;
    float lr_min;          /* cosine: the last epochs' floor; default 0 */
    int lr_step;           /* step: epochs between decays; default 10 */
    float lr_gamma;        /* step: factor per decay; default 0.1 */
    int epochs;            /* default 10 */
    size_t batch;          /* default 32; larger than n means the whole set */
    int shuffle;           /* default 1 */
    const lm_data *val;    /* optional validation set */
    int early_stop;        /* patience in epochs on val loss (train loss
                              without val); 0 = off. lm_fit restores the
                              best; see lm_train_should_stop */
    lm_epoch_cb on_epoch;
    lm_batch_cb on_batch;
    void *ctx;
} lm_fit_opts;

LM_API lm_fit_opts lm_fit_defaults(void);

/* A training session: the net, the optimizer state, the step count and
 * the RNG that shuffles. Several epochs, checkpoints and resumes go
 * through it; lm_fit wraps it for the common case. */
typedef struct lm_train lm_train;

/* Prepares training for net with opts (copied) and the shuffling RNG
 * (copied). Checks that the loss fits the output layer. Allocates every
 * buffer for batches of up to opts->batch rows. */
LM_API lm_status lm_train_new(lm_train **out, lm_net *net, const lm_fit_opts *opts,
                       const lm_rng *rng);
LM_API void lm_train_free(lm_train *t);

/* One optimizer step on rows x (n, n_in) with targets: y (n, n_out) or
 * labels (n). The loss of the batch (before the step) goes to *loss.
 * n must not exceed the batch size given at lm_train_new. */
LM_API lm_status lm_train_step(lm_train *t, const float *x, const float *y,
                        const int32_t *labels, size_t n, float *loss);

/* One epoch over d (shuffled if opts say so), then the validation set if
 * any. Calls on_batch; fills *info. Returns LM_ESTOPPED if the batch
 * callback asked to stop, LM_ENUMERIC (parameters left as they were
 * before the failing step) on NaN/Inf. */
LM_API lm_status lm_train_epoch(lm_train *t, const lm_data *d, lm_epoch_info *info);

/* Epochs completed and optimizer steps taken so far. */
LM_API int lm_train_epochs_done(const lm_train *t);
LM_API uint64_t lm_train_steps(const lm_train *t);

/* Early stopping, for callers that run epochs with lm_train_epoch (lm_fit
 * does this itself). With opts.early_stop = N > 0 every completed epoch is
 * judged by its val loss (train loss without a validation set); the epoch
 * with the lowest one is the best, and its parameters are kept aside.
 * The count restarts with each lm_train (a resumed run judges only its own
 * epochs). */
/* 1 when N epochs in a row have not beaten the best: time to stop. */
LM_API int lm_train_should_stop(const lm_train *t);
/* The best epoch's number (0 when early stopping is off or no epoch has
 * finished), its losses and accuracies into *info unless NULL. */
LM_API int lm_train_best(const lm_train *t, lm_epoch_info *info);
/* Puts the best epoch's parameters back into the net when a later epoch
 * moved them; returns that epoch's number, or 0 when nothing changed. The
 * optimizer state stays that of the last epoch, so save the net with
 * lm_net_save afterwards, not lm_train_save. */
LM_API int lm_train_restore_best(lm_train *t);

/* Saves the net together with the optimizer state, the RNG and the epoch
 * count, atomically; lm_train_resume continues exactly from such a file. */
LM_API lm_status lm_train_save(const lm_train *t, const char *path);
/* Whether the model file at path holds a training state (lm_train_save
 * wrote it) and, if so, the epochs and optimizer steps it covers (either
 * pointer may be NULL). A file without one is LM_OK with *has_state 0. */
LM_API lm_status lm_train_state_info(const char *path, int *has_state, int *epochs_done,
                                     uint64_t *steps);
/* Loads the training state from path into t (whose net must have the same
 * architecture; parameters are replaced). */
LM_API lm_status lm_train_resume(lm_train *t, const char *path);

/* Loss and accuracy of net on d (accuracy NaN for regression). */
LM_API lm_status lm_evaluate(lm_net *net, const lm_data *d, lm_loss loss, float *out_loss,
                      float *out_acc);

/* Trains net on d for opts->epochs (or until a callback or early stop
 * ends it). LM_ESTOPPED from a callback is returned as LM_OK. */
LM_API lm_status lm_fit(lm_net *net, const lm_data *d, const lm_fit_opts *opts, lm_rng *rng);

/* ----------------------------------------------------------- gradients */

/* Low-level access used by gradient checks and custom loops: forward n
 * rows (n <= the training batch) through the net and return the loss,
 * then backward into lm_net_grads (overwritten, not accumulated).
 * Needs an lm_train for its buffers. */
LM_API lm_status lm_train_loss_grad(lm_train *t, const float *x, const float *y,
                             const int32_t *labels, size_t n, float *loss);

/* --------------------------------------------------------------- files */

/* Saves the net (architecture, parameters, normalisation, class names,
 * metadata) to path atomically: a temporary file, fsync, rename. The
 * format is in docs/FORMAT.md. */
LM_API lm_status lm_net_save(const lm_net *net, const char *path);

/* Loads a net saved by lm_net_save or lm_train_save. A truncated, corrupt
 * or foreign file gives LM_EFORMAT with a message, never a crash. */
LM_API lm_status lm_net_load(lm_net **out, const char *path);

/* The same over memory buffers (used by the fuzzer and tests). */
LM_API lm_status lm_net_load_mem(lm_net **out, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* LAMINA_H */
