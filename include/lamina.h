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
 * Conventions (docs/API.md has the full rules, versioning included)
 *  - Every function that can fail returns an lm_status; on failure a message
 *    with context is kept per thread and read with lm_errmsg(). A NULL
 *    pointer argument is LM_EINVAL, never a crash.
 *  - The library never prints and never exits.
 *  - Matrices are row-major float32. Shapes are noted as (rows, cols).
 *  - Randomness comes only from an lm_rng the caller passes in.
 *  - Misuse gives a status, never a crash: a NULL pointer where a function
 *    needs one is LM_EINVAL with a message naming the function and the
 *    argument ("lm_net_init: rng is NULL"). Functions that return a value
 *    return 0 (or NULL, -1 for the *_from_name lookups) for a NULL object;
 *    the *_free functions accept NULL. Pointers documented as optional
 *    (outputs such as a loss or an accuracy) may be NULL.
 *  - A setter that refuses (or runs out of memory) changes nothing.
 *  - Ownership: the caller owns every lm_net, lm_train and lm_ws it gets
 *    from a _new, _clone or _load function and frees it with the matching
 *    _free (NULL is a no-op); what a reader puts in an lm_data is freed by
 *    lm_data_free. Pointers returned into an object (parameters, names,
 *    metadata) belong to that object and live as long as it does, unless a
 *    comment says sooner. The library keeps no pointer to caller memory
 *    past the call, except the ones a comment names (an lm_train keeps
 *    lm_fit_opts.val, the callbacks' ctx and stop; an lm_train or lm_ws
 *    refers to its net).
 *  - Threads. Each prototype says which of these it is:
 *      "Thread: any"       callable from any thread at any time;
 *      "Thread: per object" calls on the same object (the first argument,
 *                           or the one named) must not overlap; different
 *                           objects in different threads are fine;
 *      "Thread: read-only" may overlap other read-only calls on the same
 *                           object, never a call that changes it.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one version number: the Makefile, the shared library's name and
 * SONAME (liblamina.so.MAJOR) and lamina.pc are all read from these three.
 * MAJOR changes only with a breaking change (docs/API.md); a program built
 * against 1.x runs with any later 1.y. */
#define LM_VERSION_MAJOR 1
#define LM_VERSION_MINOR 8
#define LM_VERSION_PATCH 0
#define LM_VERSION_STR_(x) #x
#define LM_VERSION_XSTR_(x) LM_VERSION_STR_(x)
/* "1.0.0": the header's version, fixed when the caller is compiled. */
#define LM_VERSION_STRING                                                             \
    LM_VERSION_XSTR_(LM_VERSION_MAJOR) "." LM_VERSION_XSTR_(LM_VERSION_MINOR) "."    \
    LM_VERSION_XSTR_(LM_VERSION_PATCH)

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

/* The message of the last failure in this thread ("" if none). Owned by
 * the library; valid until the next lamina call in the same thread.
 * Thread: any (each thread has its own). */
LM_API const char *lm_errmsg(void);

/* A short constant name for a status ("LM_EFORMAT"), static storage.
 * Thread: any. */
LM_API const char *lm_status_name(lm_status st);

/* The version of the library running ("1.0.0"), which may be later than
 * the LM_VERSION_STRING the caller was compiled with. A constant string
 * in static storage. Thread: any. */
LM_API const char *lm_version(void);

/* ------------------------------------------------------------------- rng */

/* xoshiro256** state. Copyable by value; the same seed gives the same
 * stream on every platform. The caller owns it (no allocation). */
typedef struct lm_rng {
    uint64_t s[4];
} lm_rng;

/* Thread: lm_rng_seed any; the others per object (the lm_rng). */
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
    LM_LOSS_BCE,     /* mean binary cross-entropy over batch and outputs; the
                        net ends with sigmoid (fused) or softmax; targets y
                        in [0, 1] (training and lm_evaluate refuse
                        others: LM_EINVAL) */
    LM_LOSS_CE,      /* mean over batch of -sum y log(yhat); fused with softmax;
                        over one (sigmoid) output the binary one, as BCE */
    LM_LOSS_COUNT
} lm_loss;

typedef enum lm_optim_kind {
    LM_SGD = 0, /* with optional momentum and Nesterov */
    LM_ADAM,    /* weight decay added to the gradient (L2) */
    LM_ADAMW,   /* decoupled weight decay */
    LM_RPROP,   /* iRprop- (FANN's default), for full batches; L2 weight
                   decay; appended in 1.4 (docs/API.md, "RPROP") */
    LM_OPTIM_COUNT
} lm_optim_kind;

typedef enum lm_init {
    LM_INIT_UNIFORM01 = 0, /* uniform [0,1), numpy's np.random.rand; biases too */
    LM_INIT_XAVIER,        /* uniform +-sqrt(6/(in+out)); biases zero */
    LM_INIT_HE,            /* normal(0, sqrt(2/in)); biases zero */
    LM_INIT_COUNT
} lm_init;

/* Flags for lm_net_add_dense and lm_net_add_conv2d. */
#define LM_BIAS 0
#define LM_NO_BIAS 1

/* Layer kinds (their numbers are also the kind ids in model files). */
typedef enum lm_layer_kind {
    LM_LAYER_DENSE = 0,
    LM_LAYER_CONV2D,
    LM_LAYER_MAXPOOL2D,
    LM_LAYER_AVGPOOL2D,
    LM_LAYER_GLOBAL_AVGPOOL,
    LM_LAYER_DROPOUT,
    LM_LAYER_BATCHNORM,
    LM_LAYER_ACTIVATION, /* appended in 1.7 */
    LM_LAYER_KIND_COUNT
} lm_layer_kind;

/* Padding of lm_net_add_conv2d: a number of zero rows/columns >= 0, or
 * SAME (output H, W = ceil(input / stride)) or VALID (no padding). */
#define LM_PAD_SAME (-1)
#define LM_PAD_VALID (-2)

/* Names of the enums as the CLI, model metadata and users spell them, and
 * back: a name is a constant string in static storage ("?" for a value out
 * of range); _from_name gives the value or -1 if unknown (NULL too).
 * Thread: any. */
LM_API const char *lm_act_name(lm_act a);         /* "sigmoid", ... */
LM_API int lm_act_from_name(const char *s);       /* -1 if unknown */
LM_API const char *lm_loss_name(lm_loss l);       /* "sse", "mse", "bce", "ce" */
LM_API int lm_loss_from_name(const char *s);
LM_API const char *lm_optim_name(lm_optim_kind k); /* "sgd", "adam", "adamw", "rprop" */
/* "dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool", "dropout",
 * "batchnorm", "activation"; "?" if unknown. */
LM_API const char *lm_layer_kind_name(lm_layer_kind k);
LM_API int lm_optim_from_name(const char *s);      /* -1 if unknown */
LM_API const char *lm_init_name(lm_init i);       /* "uniform01", "xavier", "he" */
LM_API int lm_init_from_name(const char *s);      /* -1 if unknown */

/* ------------------------------------------------------------------- net */

typedef struct lm_net lm_net;

/* A new empty network taking n_in inputs, owned by the caller (free with
 * lm_net_free). *out is NULL on failure. Thread: any. */
LM_API lm_status lm_net_new(lm_net **out, int n_in);

/* Appends a dense layer y = act(x W + b) with n_out units. W is (in, out)
 * row-major, b is (out). flags: LM_BIAS or LM_NO_BIAS. Parameters are
 * zero until lm_net_init or a write through lm_net_params. Moves the
 * buffers lm_net_params and lm_net_grads return. LM_EINVAL while a trainer
 * (lm_train_new) or workspace (lm_ws_new) made for the net exists: their
 * buffers are sized by its shape, which stays frozen until they are freed.
 * Thread: per object. */
LM_API lm_status lm_net_add_dense(lm_net *net, int n_out, lm_act act, int flags);

/* Shapes. Activations between layers have a shape (C, H, W), stored
 * channels-last: a row of n_in = C*H*W values is H*W pixels of C
 * channels each, (H, W, C) row-major. A net's input is (n_in, 1, 1)
 * unless set here, before any layer is added (c*h*w must equal n_in;
 * a 28x28 gray image is (1, 28, 28), the same memory as 784 values). A
 * dense layer reads its input row flat whatever its shape (flatten is
 * implicit) and outputs (n_out, 1, 1). Thread: per object. */
LM_API lm_status lm_net_set_input_shape(lm_net *net, int c, int h, int w);

/* A 2-D convolution with `filters` output channels, a kh x kw kernel,
 * stride >= 1, pad (LM_PAD_SAME, LM_PAD_VALID or a number of zeros on
 * every side, >= 0 and smaller than kh and kw: a window of padding alone
 * sees nothing), a fused activation and LM_BIAS / LM_NO_BIAS. Its
 * weights are (kh, kw, C, filters) row-major: a (kh*kw*C, filters)
 * matrix, then the bias (filters). Like lm_net_add_dense, it moves the
 * parameter buffers and is refused while the net's shape is frozen.
 * Thread: per object. */
LM_API lm_status lm_net_add_conv2d(lm_net *net, int filters, int kh, int kw, int stride, int pad,
                                   lm_act act, int flags);
/* Max and average pooling over size x size windows moved by stride
 * (without padding; average pooling divides by the window's size). The
 * output is floor((H - size) / stride) + 1 rows (and so for W): rows and
 * columns no whole window reaches are left out, as PyTorch's default
 * (ceil_mode false). Among equal maxima the first in the window, row by
 * row, is the one chosen, and its input gets the gradient (as PyTorch).
 * Thread: per object. */
LM_API lm_status lm_net_add_maxpool2d(lm_net *net, int size, int stride);
LM_API lm_status lm_net_add_avgpool2d(lm_net *net, int size, int stride);
/* The mean of each channel over H and W: (C, H, W) -> (C, 1, 1).
 * Thread: per object. */
LM_API lm_status lm_net_add_global_avgpool(lm_net *net);
/* Inverted dropout: in training each value is zeroed with probability
 * rate (in [0, 1)) and the rest scaled by 1/(1 - rate), with masks drawn
 * from the trainer's RNG (bit-reproducible, whatever the thread count);
 * in inference it is the identity. Thread: per object. */
LM_API lm_status lm_net_add_dropout(lm_net *net, float rate);
/* Batch normalisation per channel (the last axis: per unit after a dense
 * layer): y = gamma (x - mean) / sqrt(var + eps) + beta, with the batch's
 * statistics in training and running ones in inference, updated as
 * running = (1 - momentum) running + momentum batch (PyTorch's
 * convention: momentum 0.1, eps 1e-5; the running variance is unbiased;
 * a training batch with one value per channel, which PyTorch refuses,
 * leaves them as they were; lm_train_new refuses a batch of 1 row, with
 * LM_EINVAL, when a batch norm has one value a channel a row, as after a
 * dense layer: every step would be such a batch).
 * gamma starts at 1 and beta at 0 (parameters), the running mean at 0 and
 * variance at 1 (state, see lm_net_state). Thread: per object. */
LM_API lm_status lm_net_add_batchnorm(lm_net *net, float momentum, float eps);
/* A standalone elementwise activation y = act(x) of any shape, without
 * parameters: LM_SIGMOID, LM_TANH, LM_RELU or LM_LEAKY_RELU, as PyTorch's
 * nn.ReLU() after a batch norm (conv -> batch norm -> ReLU: the conv or
 * dense layer before takes LM_IDENTITY). Its values and gradients are
 * those of the same activation fused on the layer before, bit for bit,
 * and the loss rules treat it as the net's last activation when it ends
 * the net (a standalone sigmoid last trains with LM_LOSS_BCE). LM_SOFTMAX
 * (not elementwise: put it on the last dense layer, where the loss fuses
 * it) and LM_IDENTITY (nothing to do) are LM_EINVAL. lm_layer_desc's act
 * holds the activation. Added in 1.7. Thread: per object. */
LM_API lm_status lm_net_add_activation(lm_net *net, lm_act act);

/* Draws every parameter from the given initialiser, layer by layer in
 * order (weights row-major, then bias). Thread: per object (net and rng). */
LM_API lm_status lm_net_init(lm_net *net, lm_init init, lm_rng *rng);

/* Frees net and everything it owns; NULL is a no-op. No lm_train or
 * lm_ws made from it may be used afterwards. Thread: per object. */
LM_API void lm_net_free(lm_net *net);

/* A deep copy (parameters, normalisation, names, metadata), owned by the
 * caller (lm_net_free). Thread: read-only (net). */
LM_API lm_status lm_net_clone(lm_net **out, const lm_net *net);

/* Shape queries. Thread: read-only. */
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

/* Fills *info (the caller's) for layer i in [0, n_layers). Thread: read-only. */
LM_API lm_status lm_net_layer(const lm_net *net, int i, lm_layer_info *info);

/* What lm_layer_info (frozen at 1.0) leaves out: a layer's kind, shapes
 * and settings. An option-style struct that grows at its end: set size to
 * sizeof(lm_layer_desc) (the fields the caller was compiled with are all
 * lm_net_layer_desc writes). For dense layers n_in, n_out and the
 * offsets are lm_net_layer's; every shape is (C, H, W) (see
 * lm_net_set_input_shape). */
typedef struct lm_layer_desc {
    size_t size;             /* sizeof(lm_layer_desc) where the caller was compiled */
    lm_layer_kind kind;
    lm_act act;              /* the fused activation (identity for kinds without) */
    int has_bias;
    int in_c, in_h, in_w;    /* input shape */
    int out_c, out_h, out_w; /* output shape */
    int units;               /* dense: units; conv2d: filters; else 0 */
    int kh, kw, stride, pad; /* conv2d and pools (pad: conv2d's, LM_PAD_SAME, LM_PAD_VALID or >= 0) */
    float rate;              /* dropout */
    float momentum, eps;     /* batchnorm */
    size_t p_offset, n_params; /* the layer's slice of the parameter buffer */
    size_t s_offset, n_state;  /* its slice of the state buffer (lm_net_state) */
} lm_layer_desc;

/* Fills *d (its first d->size bytes, size kept) for layer i in
 * [0, n_layers). LM_EINVAL if d->size is smaller than the 1.1 layout's
 * first fields (size and kind). Thread: read-only. */
LM_API lm_status lm_net_layer_desc(const lm_net *net, int i, lm_layer_desc *d);

/* The one flat parameter buffer, (n_params). Owned by the net; valid until
 * the next lm_net_add_dense or lm_net_free. Writing through it sets the
 * parameters. They must be finite (model files and ONNX imports holding
 * others are refused, training stops on them): what a net holding a NaN
 * or infinity predicts is unspecified, and may differ between kernel
 * variants and with the rows predicted alongside (the kernels skip inputs
 * that are zero, so 0 * NaN is not always computed). Thread: per object
 * (the _const one read-only). */
LM_API float *lm_net_params(lm_net *net);
LM_API const float *lm_net_params_const(const lm_net *net);
/* The flat gradient buffer in the same layout, owned by the net and valid
 * as long as lm_net_params; filled by lm_train_loss_grad and each
 * lm_train_step. Thread: per object. */
LM_API float *lm_net_grads(lm_net *net);
/* The flat state buffer: what layers keep that is not a parameter and
 * that no optimizer changes (batch norm's running mean, then running
 * variance, per channel), layer by layer; saved in model files. NULL
 * with n_state 0 when no layer keeps any. A training step updates it.
 * Thread: per object (lm_net_n_state read-only). */
LM_API size_t lm_net_n_state(const lm_net *net);
LM_API float *lm_net_state(lm_net *net);

/* Input normalisation applied before the first layer:
 * x' = (x - mean) * scale, per input feature. Both arrays (n_in), copied;
 * NULL clears it. Thread: per object. */
LM_API lm_status lm_net_set_norm(lm_net *net, const float *mean, const float *scale);
/* Whether a normalisation is set; if so copies it into the caller's
 * mean/scale (n_in), each of which may be NULL. Thread: read-only. */
LM_API int lm_net_get_norm(const lm_net *net, float *mean, float *scale);

/* Names of the output classes (n_out strings, copied, all different; or
 * two for a net with one sigmoid output, its value the probability of the
 * second), kept in model files so a predicted class prints as the training
 * data named it. NULL clears. Set after the last layer is added: while names
 * are set, adding a layer of another output width is LM_EINVAL.
 * Thread: per object. */
LM_API lm_status lm_net_set_class_names(lm_net *net, int n, const char *const *names);
/* The i-th class name, or NULL if none is set. Owned by the net; valid
 * until the names are set again or the net is freed. Thread: read-only. */
LM_API const char *lm_net_class_name(const lm_net *net, int i);

/* Free-form metadata (key/value strings, copied), kept in model files.
 * Setting an existing key replaces its value; a NULL value removes the key
 * (from 1.4; earlier versions refused NULL), the others keeping their
 * order, and a key not there is no error; a net holds at most 4096
 * keys (LM_EINVAL past that, as a model file holds no more). The strings that get_meta
 * and meta_at return are owned by the net and valid until the next
 * lm_net_set_meta or lm_net_free. Thread: set per object; the others
 * read-only. */
LM_API lm_status lm_net_set_meta(lm_net *net, const char *key, const char *value);
LM_API const char *lm_net_get_meta(const lm_net *net, const char *key); /* NULL if absent */
LM_API int lm_net_n_meta(const lm_net *net);
LM_API void lm_net_meta_at(const lm_net *net, int i, const char **key, const char **value);

/* Number of worker threads for this net's kernels (0 = all the cores this
 * process may run on: its CPU affinity, as taskset or a cpuset sets it). Fixed
 * (LM_EINVAL) while a trainer or workspace made for the net exists.
 * lm_net_threads answers the count in use (0 for a NULL net).
 * Thread: per object. */
LM_API lm_status lm_net_set_threads(lm_net *net, int threads);
LM_API int lm_net_threads(const lm_net *net);

/* Target standardisation for regression: training (lm_train_epoch,
 * lm_fit, lm_evaluate, which read targets from an lm_data) fits
 * (y - mean) / std, and lm_net_predict / lm_net_predict_ws return
 * outputs * std + mean, in the targets' own units. Losses are therefore on
 * the standardised scale; lm_train_step takes targets as given. Set after
 * the last layer is added (while it is set, adding a layer of another
 * output width is LM_EINVAL); mean, std: (n_out), std > 0 and finite; both
 * NULL removes it. Kept in model files (section TNRM). Thread: per
 * object. */
LM_API lm_status lm_net_set_target_norm(lm_net *net, const float *mean, const float *std);
/* 1 and copies into mean, std (n_out; either may be NULL) if the net
 * has a target standardisation, else 0. Thread: read-only. */
LM_API int lm_net_get_target_norm(const lm_net *net, float *mean, float *std);

/* Runs the net on n rows of x (n, n_in) into the caller's y (n, n_out),
 * applying the normalisation and every activation (softmax included), and
 * undoing the target standardisation if any. The workspace is sized by
 * the rows given: at most 256 rows and 8 MiB at a time, kept for the next
 * call. A row's outputs depend on that row alone: the same bits predicted
 * alone or among any number of rows, here or through lm_net_predict_ws
 * (docs/RELIABILITY.md, "A row's bits"; not in a BLAS build). Uses the
 * net's own workspace: Thread: per object (for concurrent inference on
 * one net, give each thread an lm_ws). */
LM_API lm_status lm_net_predict(lm_net *net, const float *x, size_t n, float *y);

/* A per-caller workspace for concurrent inference on a shared net whose
 * parameters are not being changed. Owned by the caller (lm_ws_free, before
 * the net is freed); holds up to max_rows rows. The net's shape is frozen
 * while the workspace exists (see lm_net_add_dense). Thread: lm_ws_new
 * read-only (net); lm_ws_free per object (ws). */
typedef struct lm_ws lm_ws;
LM_API lm_status lm_ws_new(lm_ws **out, const lm_net *net, size_t max_rows);
LM_API void lm_ws_free(lm_ws *ws);
/* Like lm_net_predict, single-threaded, using ws (in chunks of its
 * max_rows, with lm_net_predict's bits); net is only read.
 * Thread: read-only (net), per object (ws). */
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

/* The name of target column k of a data set lm_csv_read built (its header
 * name, else "column J" with J 0-based), or NULL. Owned by d.
 * Thread: read-only. */
LM_API const char *lm_data_target_name(const lm_data *d, int k);

/* The shape (C, H, W) of a row of d, stored channels-last (see
 * lm_net_set_input_shape), when its file has one: IDX images are (1, H, W)
 * for N x H x W files and (C, H, W) for N x H x W x C. Returns 1 and fills
 * the non-NULL pointers, or 0 (flat rows, a caller-built view, NULL d).
 * lm_data_split keeps the shape. Thread: read-only. */
LM_API int lm_data_shape(const lm_data *d, int *c, int *h, int *w);

/* Frees what a reader or lm_data_split allocated and zeroes *d. Safe on a
 * zeroed struct; on a caller's own view it frees nothing. Thread: per
 * object. */
LM_API void lm_data_free(lm_data *d);

/* Options for lm_csv_read. Start from lm_csv_defaults() (it sets size);
 * the struct grows at its end (docs/API.md, "Option structs"). */
typedef struct lm_csv_opts {
    size_t size;        /* sizeof(lm_csv_opts) where the caller was compiled */
    int header;         /* -1 detect (default), 0 no header, 1 header */
    char sep;           /* 0 detect among ',', ';', '\t' (default) */
    const char *target; /* column name or 0-based index as text; NULL = the
                           last column not ignored (with features and a
                           header: nor named in features) */
    int target_kind;    /* -1 detect (default), 0 numeric, 1 classes */
    int no_target;      /* 1: every column is a feature (for predict) */
    /* Appended fields: zero (NULL) keeps the behaviour of the fields above. */
    const char *ignore; /* columns left out of the features: names or 0-based
                           indices, a column list (lm_csv_list_next); NULL = none. With
                           features and a header, one the file lacks is
                           passed over */
    int decimal_comma;  /* 1: numbers are written "5,1" (the separator must
                           then be ';' or tab) */
    const char *features; /* with a header: the feature columns by name,
                             a column list (lm_csv_list_next), in this order; other columns
                             are skipped unparsed (a name an ignored column
                             or the target shares is the column that is
                             neither). NULL = every column that is not a
                             target or ignored */
    /* Appended in 1.4: categorical columns and missing values. */
    const char *categorical; /* feature columns to one-hot encode (names or
                                0-based indices, a column list, as ignore):
                                each becomes K 0/1 inputs, K its distinct
                                values in this file, in place of the column.
                                Values are texts ("1" and "01" differ),
                                sorted numerically when all are integers,
                                else in byte order (as class names); input
                                names "COLUMN=VALUE". NULL = none */
    const char *categories;  /* an encoding lm_data_categories gave (a
                                model's): its columns are one-hot encoded
                                with its values, in its order; a value it
                                lacks gives all-zero inputs (counted, see
                                lm_data_category). Not with categorical.
                                NULL = none */
    int max_categories;      /* the most distinct values a categorical
                                column may have (more is LM_EFORMAT: an ID
                                or a numeric column); 0 = 1000 */
    int missing;             /* 1: an empty feature cell or a missing
                                marker (NA N/A n/a NaN nan null NULL None ?,
                                exactly so, quoted or not) is missing: NaN
                                in a numeric column, all-zero inputs in a
                                categorical one; a missing target is an
                                error. 0 (default): such a cell in a numeric
                                column is an error, and in a categorical
                                column an empty cell is, while the markers
                                are ordinary values */
} lm_csv_opts;

/* Fills the first size bytes of *o with the defaults and sets o->size =
 * size; a library newer than the caller's header leaves the fields the
 * caller cannot see alone. LM_EINVAL on NULL or a size too small to hold
 * the first field. Callers use lm_csv_defaults(), which passes their
 * sizeof. Thread: any. */
LM_API lm_status lm_csv_opts_init(lm_csv_opts *o, size_t size);

/* The defaults, by value. Inline, so sizeof is the caller's: a program
 * built against this header keeps working with later 1.x libraries whose
 * lm_csv_opts has grown. */
static inline lm_csv_opts lm_csv_defaults(void)
{
    lm_csv_opts o;
    lm_csv_opts_init(&o, sizeof o);
    return o;
}

/* Reads a CSV file, plain or gzip-compressed (known by its first bytes,
 * whatever its name; from 1.8): numeric features and target column(s).
 * A truncated or corrupt gzip stream is LM_EFORMAT. o: NULL for the
 * defaults; only its first o->size bytes are read. target may list
 * several columns ("a,b"): numeric targets only, y gets ny = that count.
 * One target column: with target_kind -1 (detect), a column of numbers
 * only is numeric (y, ny = 1); a column holding text is classes (labels
 * and class_names, sorted by name; integers sorted numerically when
 * target_kind is 1). Blank lines count toward nothing. A header's last
 * column with no name and no value in the first row (lines that end in a
 * separator) is left out (1.5; docs/API.md). Errors name the
 * file, line and column (by name when there is a header). *out's memory
 * is the caller's to free with lm_data_free. Thread: any (distinct *out). */
LM_API lm_status lm_csv_read(lm_data *out, const char *path, const lm_csv_opts *o);

/* lm_csv_read on text already in memory (len bytes, copied; it need not
 * end in NUL): for standard input and pipes, which can be read only once.
 * name is used in messages. Thread: any (distinct *out). */
LM_API lm_status lm_csv_read_mem(lm_data *out, const char *name, const void *text, size_t len,
                                 const lm_csv_opts *o);

/* One item of a column list as lm_csv_opts' target, ignore, features and
 * categorical take it. Items are separated by commas; an item in double
 * quotes is a name that may hold commas, a quote inside written twice, as
 * in a CSV file: "\"height, cm\",age" is two items (a quote never closed
 * runs to the end of the list). Copies the item at
 * *list, its quotes undone, into name (size bytes, always terminated when
 * size > 0; cut to fit, or not copied when name is NULL), moves *list past
 * it and its comma, to NULL after the last item, and returns the item's
 * full length (above size - 1 when cut). *list NULL: returns 0. The
 * list and name stay the caller's. Appended in 1.5. Thread: any. */
LM_API size_t lm_csv_list_next(const char **list, char *name, size_t size);

/* The one-hot encoding of a data set lm_csv_read built with
 * lm_csv_opts.categorical or .categories, as text to keep (a model's
 * metadata) and give back as lm_csv_opts.categories, so that another file
 * is encoded the same way; NULL when it has no categorical columns. One
 * entry per column, ';' between them: "INPUT:NAME=V1,V2,..." with INPUT
 * the 0-based index of its first one-hot input and NAME the header's name
 * (else the 0-based column index J; "#J" when the header's name is empty
 * or shared by another column, so cannot find it); in NAME and the values
 * the bytes '%' ',' ';' '=' ':' '#' and those below 0x20 or 0x7f are
 * written %XX (two upper-case hex digits), other bytes (UTF-8) as they
 * are. Owned by d.
 * Thread: read-only. */
LM_API const char *lm_data_categories(const lm_data *d);

/* Categorical column k (0-based, in the order of lm_data_categories) of a
 * data set lm_csv_read built: its name, its first one-hot input, its value
 * count (inputs), the rows where it was missing (lm_csv_opts.missing),
 * the rows whose value the given categories lacked and the first such
 * value (NULL if none). Each pointer may be NULL; strings are owned by d.
 * Returns 1, or 0 when d has no column k. Thread: read-only. */
LM_API int lm_data_category(const lm_data *d, int k, const char **name, int *first_input,
                            int *n_values, size_t *n_missing, size_t *n_unseen,
                            const char **unseen_example);

/* Reads MNIST-style IDX files, plain or gzip. images: any IDX dtype, dims
 * (n, d1, d2, ...) flattened to nx; u8 stays u8. labels: optional (NULL),
 * 1-D, integer dtype; n_classes = max label + 1. Free *out with
 * lm_data_free. Thread: any (distinct *out). */
LM_API lm_status lm_idx_read(lm_data *out, const char *images, const char *labels);

/* Reads a FANN training data file (FANN 2.x's fann_save_train and
 * fann_read_train_from_file format): a header "num_pairs num_inputs
 * num_outputs", then each pair's inputs and outputs as numbers separated
 * by white space (line ends included, as FANN reads them). Fills x (n,
 * nx) and y (n, ny) as floats; no labels (FANN's class targets are one-hot
 * or -1/1 codes: docs/API.md, "FANN"). A count the file cannot hold, a
 * short file, a field that is not a number, NaN or an infinity, and
 * numbers past the last pair are LM_EFORMAT naming the line ("xor.data:4:
 * ..."). A gzip-compressed file reads as the file it holds (from 1.8).
 * Free *out with lm_data_free. Added in 1.6. Thread: any. */
LM_API lm_status lm_fann_data_read(lm_data *out, const char *path);
/* The same over len bytes of text (name is used in messages; NULL for
 * "FANN data"), only read during the call. Added in 1.6. */
LM_API lm_status lm_fann_data_read_mem(lm_data *out, const char *name, const void *text,
                                       size_t len);
/* 1 if text (its first len bytes) starts as a FANN training file: a first
 * line of three whole numbers separated by spaces or tabs, then either
 * the next two lines holding as many numbers as its num_inputs and
 * num_outputs (fann_save_train's layout), or a pair a line: each line
 * num_inputs + num_outputs numbers, no more lines than num_pairs (a last
 * line without a line end may be cut short); else 0. A CSV file has the
 * same number of fields on each line, so it is not taken but for the
 * shapes docs/API.md, "FANN", names. Added in 1.6. Thread: any. */
LM_API int lm_fann_data_detect(const void *text, size_t len);

/* Reads NumPy's own files (added in 1.8): x_path a .npy file (np.save,
 * format versions 1.0, 2.0 and 3.0) or a .npz archive (np.savez, stored,
 * or np.savez_compressed, deflated), told apart by their first bytes.
 * dtypes: float16/32/64, signed and unsigned integers of 1, 2, 4 and 8
 * bytes, bool, little- or big-endian, C or Fortran order. Rows are the
 * first axis. Features: (n,) is one feature, (n, F) F features, (n, H, W)
 * and (n, H, W, C) images of shape (1, H, W) and (C, H, W), channels-last
 * as IDX (lm_data_shape; an (n, C, H, W) array must be transposed to (n,
 * H, W, C) first: the two cannot be told apart); uint8 stays LM_U8, the
 * rest is converted to float32 (NaN, an infinity or a value beyond
 * float's range is LM_EFORMAT naming its 0-based [row, column] as numpy
 * indexes). Targets, from
 * y_path (.npy, or .npz: its array named as below, or its only one), or
 * NULL: integers or bool of shape (n,) or (n, 1) are class labels
 * (n_classes = max + 1) when each is in [0, 65536); floats, integers of
 * which one is outside it (-1, a year) and integers (n, K) are float
 * targets y (ny = 1 or K). A .npz's features are its array named
 * x, X, data, images, features or inputs (or its only array), its targets
 * the one named y, Y, labels, label, target or targets, if any (then
 * y_path must be NULL). Object arrays (pickles) are refused: lamina never
 * unpickles. A malformed file, a short or long one (the message says how
 * many bytes and rows), a bad zip member (CRC-32 checked) or rows that
 * differ between the two files is LM_EFORMAT naming the file and what.
 * Free *out with lm_data_free. Thread: any (distinct *out). */
LM_API lm_status lm_npy_read(lm_data *out, const char *x_path, const char *y_path);
/* The same over bytes in memory (x: x_len bytes; y: y_len bytes or NULL),
 * only read during the call; x_name and y_name are used in messages (NULL:
 * "x.npy", "y.npy"). Added in 1.8. Thread: any (distinct *out). */
LM_API lm_status lm_npy_read_mem(lm_data *out, const char *x_name, const void *x, size_t x_len,
                                 const char *y_name, const void *y, size_t y_len);

/* The most bytes lamina allocates in one piece for anything sized by
 * untrusted input or by the caller: a data set's arrays, a model file, a
 * workspace (default 8 GiB). A larger claim is refused with LM_ENOMEM
 * before allocating. Thread: any (an atomic). */
LM_API void lm_set_alloc_limit(uint64_t bytes);
LM_API uint64_t lm_alloc_limit(void);

/* Per-feature mean and 1/std of a data set (scale 1 where std is 0), for
 * lm_net_set_norm, into the caller's mean, scale: (nx). NaN cells (missing
 * values, lm_csv_opts.missing) are left out: a feature's mean and std are
 * those of its present values (mean 0, scale 1 when it has none), so a
 * caller that then fills the NaN cells with mean imputes the mean of the
 * present values, 0 after normalisation. Thread: read-only. */
LM_API lm_status lm_data_norm_stats(const lm_data *d, float *mean, float *scale);

/* Splits d in two new data sets (copies) after shuffling the rows with
 * rng: a gets n - round(frac * n) rows, b the rest. Labels, targets and
 * names are copied too; the caller frees both with lm_data_free. a or b
 * may be d itself (on failure nothing is written); d's own memory is not
 * freed then: keep a copy of the struct to lm_data_free it.
 * Thread: read-only (d), per object (rng). */
LM_API lm_status lm_data_split(const lm_data *d, float frac, lm_rng *rng, lm_data *a,
                        lm_data *b);

/* --------------------------------------------------------------- train */

/* Optimizer settings, kept inside lm_fit_opts in a fixed room of
 * LM_OPTIM_ROOM bytes, so fields appended here move nothing after it. */
typedef struct lm_optim_opts {
    lm_optim_kind kind; /* default LM_SGD */
    float lr;           /* default 0.01; RPROP: the initial step size */
    float momentum;     /* SGD only; default 0 */
    int nesterov;       /* SGD only; default 0 */
    float beta1, beta2, eps; /* Adam/AdamW; defaults 0.9, 0.999, 1e-8 */
    float weight_decay;      /* L2 (SGD, Adam, RPROP) or decoupled (AdamW); default 0 */
    float clip_norm;         /* clip the global gradient norm to this; 0 = off */
    /* RPROP (appended in 1.4), as torch.optim.Rprop's etas and step_sizes:
     * a parameter's step grows by eta_plus while its gradient keeps its
     * sign and shrinks by eta_minus when the sign flips, within [step_min,
     * step_max]; defaults 0.5, 1.2, 1e-6, 50. 0 < eta_minus < 1 < eta_plus,
     * 0 <= step_min <= step_max, all finite. */
    float eta_minus, eta_plus;
    float step_min, step_max;
} lm_optim_opts;

#define LM_OPTIM_ROOM 128 /* bytes lm_optim_opts may grow to (checked in src/opts.c) */

/* Filled by lm_train_epoch and lm_train_best in the caller's memory, and
 * lent to on_epoch: its layout is fixed within a major version. */
typedef struct lm_epoch_info {
    int epoch;          /* 1-based */
    int epochs;         /* planned total */
    float train_loss;   /* the epoch's loss: the batch losses' mean
                           weighted by their rows (SSE: their sum, the
                           epoch's sum of squares, as lm_evaluate gives) */
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
    float loss;              /* running mean loss over this epoch (SSE: the
                                mean of the batch sums so far) */
} lm_batch_info;

/* Called after every epoch; returning non-zero stops training. info is
 * valid during the call only. Called on the thread that called lm_fit. */
typedef int (*lm_epoch_cb)(const lm_epoch_info *info, void *ctx);
/* Called after every batch (keep it cheap); non-zero stops after it. The
 * step is taken but the epoch is not counted as done, so a checkpoint
 * saved then resumes at the start of that epoch with the parameters moved:
 * for an exact resume, save at epoch boundaries. */
typedef int (*lm_batch_cb)(const lm_batch_info *info, void *ctx);

/* What the gradient hook (lm_fit_opts.on_grads) gets after each
 * backward pass, before the optimizer step. */
typedef struct lm_grads_info {
    float *grads;     /* (n_grads) the flat gradient buffer (lm_net_grads): the
                         gradient of this process's rows, divided by the whole
                         batch's rows for mean losses */
    size_t n_grads;
    double *sums;     /* (n_sums) this process's share of the batch: [0] its
                         part of the batch loss, [1] its correct rows */
    size_t n_sums;
    size_t rows;      /* rows of the whole batch */
    size_t first, n;  /* this process's rows: first..first+n-1 of the batch */
    uint64_t step;    /* optimizer steps taken before this one */
    float *state;     /* (n_state) the layers' state after this forward (batch
                         norm's running statistics): with on_reduce the same
                         on every process; without it, from this process's
                         rows, and a data-parallel caller averages it */
    size_t n_state;
} lm_grads_info;
/* The gradient hook: may change grads and sums in place (a data-parallel
 * caller sums both over its processes, e.g. with MPI_Allreduce); the
 * optimizer then steps on grads, and the batch's loss is sums[0]. A
 * status other than LM_OK ends the step and the epoch with it, nothing
 * changed. The loss and the layers' state are checked after the hook
 * (where both are the same on every process), so a non-finite one stops
 * every process at the same step. Called on the thread that trains. */
typedef lm_status (*lm_grads_cb)(lm_grads_info *g, void *ctx);
/* The reduce hook (lm_fit_opts.on_reduce, 1.2): sums v (n doubles) over
 * the processes in place, e.g. MPI_Allreduce(MPI_IN_PLACE, v, n,
 * MPI_DOUBLE, MPI_SUM, comm), so every process ends with the same n sums.
 * v is the trainer's scratch, valid during the call only. A training
 * step's batch norm layers call it: in the forward twice a layer, in
 * layer order (its per-channel sums with the row count, then its sums of
 * squared deviations), in the backward once a layer, last layer first
 * (its sums of dy and dy * xhat with the row count). Every process makes
 * the same calls in the same order, a process with no rows too. It
 * cannot fail: a transport that can must end the process (MPI's default
 * error handler does). Called on the thread that trains. */
typedef void (*lm_reduce_cb)(double *v, size_t n, void *ctx);

/* Learning-rate schedules, applied at the start of each epoch from the
 * number of epochs done e (so a resumed run follows the same curve). With
 * lr_warmup = w > 0 (1.8) epoch e < w (0-based) runs at lr (e + 1) / (w + 1),
 * torch's LinearLR(start_factor = 1 / (w + 1), total_iters = w), and the
 * schedule below starts after it: e counts the epochs after the warmup
 * and cosine anneals over epochs - w. LM_LR_PLATEAU (1.8) is torch's
 * ReduceLROnPlateau(mode 'min', threshold_mode 'rel', eps 1e-8) on the
 * monitored loss (val loss, train loss without a validation set, as
 * early_stop): after each epoch past the warmup, a loss below best (1 -
 * lr_threshold) is the new best; otherwise one more bad epoch, and more
 * than lr_patience of them (none counted during lr_cooldown epochs after
 * a cut) multiply the lr by lr_factor, not below lr_min, for the next
 * epoch; its state goes with a checkpoint (lm_train_save). RPROP takes
 * only LM_LR_CONSTANT without warmup (its lr is only the first step
 * size). */
typedef enum lm_lr_schedule {
    LM_LR_CONSTANT = 0, /* optim.lr throughout (default) */
    LM_LR_COSINE,       /* lr_min + (lr - lr_min)(1 + cos(pi e / epochs)) / 2 */
    LM_LR_STEP,         /* lr * lr_gamma^floor(e / lr_step) */
    LM_LR_PLATEAU,      /* lr * lr_factor^cuts, cut on a plateau (1.8) */
    LM_LR_COUNT
} lm_lr_schedule;

/* Names of the schedules, as lm_act_name. Thread: any. */
LM_API const char *lm_lr_schedule_name(lm_lr_schedule s); /* "constant", "cosine", "step", "plateau" */
LM_API int lm_lr_schedule_from_name(const char *s);      /* -1 if unknown */

/* Training options. Start from lm_fit_defaults() (it sets size), then
 * change what you need; the struct grows at its end (docs/API.md). */
typedef struct lm_fit_opts {
    size_t size;           /* sizeof(lm_fit_opts) where the caller was compiled */
    lm_loss loss;          /* default LM_LOSS_MSE */
    union {                /* o.optim.lr: the room only fixes the size */
        lm_optim_opts optim;
        uint64_t optim_room_[LM_OPTIM_ROOM / 8];
    };
    lm_lr_schedule lr_schedule;
    float lr_min;          /* cosine: the last epochs' floor; plateau: the
                              lr's floor (torch's min_lr); default 0 */
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
    /* Appended fields: zero (NULL) keeps the behaviour of the fields above. */
    const volatile int *stop; /* optional: read after every batch; non-zero
                                 stops training as an on_batch returning
                                 non-zero does. The caller's flag (kept as a
                                 pointer, as ctx), for a signal handler or
                                 another thread to set without a callback
                                 (an int, as volatile sig_atomic_t is used) */
    /* Data-parallel training (docs/SCALING.md). With shards > 1 an epoch
     * computes only part shard (0-based) of each batch of m rows: rows
     * m*shard/shards .. m*(shard+1)/shards - 1, in the batch order every
     * process draws alike from the same seed; on_grads must then sum the
     * gradients and sums over the shards so that every process takes the
     * same step. 0 or 1: the whole batch (default). lm_train_step ignores
     * shards (its rows are the batch) but calls on_grads. */
    int shards, shard;
    lm_grads_cb on_grads; /* NULL: none (default) */
    void *grads_ctx;      /* on_grads's ctx, kept as a pointer */
    /* Synchronised batch norm (appended in 1.2, docs/SCALING.md): a
     * training step's batch norm layers sum their statistics over the
     * processes through on_reduce, so each normalises by the whole
     * batch's mean and variance, its input gradient is the one of one
     * process, and its running statistics are the same on every process.
     * NULL (default): batch norm normalises by this process's rows. */
    lm_reduce_cb on_reduce;
    void *reduce_ctx;     /* on_reduce's ctx, kept as a pointer */
    /* Class weights (appended in 1.3), as Keras' class_weight: in
     * training a row of class c counts w[c] times, so the batch's loss
     * and gradient are the mean over its rows of w[c_i] * loss_i (divided
     * by the rows, not by the sum of the weights, so data-parallel shards
     * add up to one process's step). For cross-entropy (softmax, or one
     * sigmoid output) and binary cross-entropy with targets as labels;
     * one weight a class (a one-output net: two, classes 0 and 1), each
     * finite and >= 0, at least one > 0. Copied by lm_train_new (the
     * array need not outlive the call). Evaluation (the validation loss,
     * lm_evaluate) stays unweighted; the train loss an epoch reports is
     * the weighted one. NULL and 0 (default): every row counts once. */
    const float *class_weights; /* (n_class_weights) */
    int n_class_weights;
    /* Reduce on plateau and warmup (appended in 1.8; see lm_lr_schedule).
     * Plateau: lr_factor in (0, 1) (default 0.1), lr_patience >= 0 bad
     * epochs tolerated (10), lr_threshold in [0, 1) the relative gain that
     * counts as better (1e-4), lr_cooldown >= 0 epochs after a cut (0).
     * lr_warmup >= 0 epochs of linear warmup, any schedule (0: none). */
    float lr_factor;
    int lr_patience;
    float lr_threshold;
    int lr_cooldown;
    int lr_warmup;
} lm_fit_opts;

/* Fills the first size bytes of *o with the defaults and sets o->size =
 * size (see lm_csv_opts_init). Callers use lm_fit_defaults().
 * Thread: any. */
LM_API lm_status lm_fit_opts_init(lm_fit_opts *o, size_t size);

/* The defaults, by value; inline so that sizeof is the caller's. */
static inline lm_fit_opts lm_fit_defaults(void)
{
    lm_fit_opts o;
    lm_fit_opts_init(&o, sizeof o);
    return o;
}

/* A training session: the net, the optimizer state, the step count and
 * the RNG that shuffles. Several epochs, checkpoints and resumes go
 * through it; lm_fit wraps it for the common case. */
typedef struct lm_train lm_train;

/* Prepares training for net with opts (copied; opts->val and ctx are kept
 * as pointers) and the shuffling RNG (copied). Checks that the loss fits
 * the output layer. Allocates every buffer for batches of up to
 * opts->batch rows and starts the net's threads (LM_ENOMEM if any of it
 * fails): no step allocates, and no epoch, but for the row order an epoch
 * sizes on a data set larger than any before (lm_fit sizes it before its
 * first epoch). The trainer is the caller's (lm_train_free, before the net
 * is freed); the net's shape is frozen until then (see lm_net_add_dense),
 * and the net is not used elsewhere while the trainer runs. Thread: per
 * object (net). */
LM_API lm_status lm_train_new(lm_train **out, lm_net *net, const lm_fit_opts *opts,
                       const lm_rng *rng);
/* Frees the trainer (not its net); NULL is a no-op. Thread: per object. */
LM_API void lm_train_free(lm_train *t);

/* One optimizer step on rows x (n, n_in) with targets: y (n, n_out) or
 * labels (n). The loss of the batch (before the step) goes to *loss
 * (loss may be NULL), also with LM_ENUMERIC (then NaN or infinite); any
 * other failure leaves *loss as it was. n is at least 1 and at most the batch
 * size given at lm_train_new. A label outside [0, n_out) (0 or 1 for a single output),
 * or with LM_LOSS_BCE a target y outside [0, 1] (NaN too), is LM_EINVAL naming
 * its row, before anything changes. With class
 * weights (lm_fit_opts.class_weights) the targets must be labels: y is
 * LM_EINVAL. Thread: per object (the trainer and its net). */
LM_API lm_status lm_train_step(lm_train *t, const float *x, const float *y,
                        const int32_t *labels, size_t n, float *loss);

/* One epoch over d (shuffled if opts say so), then the validation set if
 * any. Calls on_batch; fills *info. Returns LM_ESTOPPED if the batch
 * callback asked to stop, LM_ENUMERIC on NaN/Inf: a non-finite loss or
 * gradient leaves the parameters as they were before the failing step;
 * a finite step that overflows a parameter (a learning rate far too
 * high) has been applied, and lm_net_save then refuses the net
 * (docs/RELIABILITY.md). Thread: per object. */
LM_API lm_status lm_train_epoch(lm_train *t, const lm_data *d, lm_epoch_info *info);

/* Epochs completed and optimizer steps taken so far. Thread: read-only. */
LM_API int lm_train_epochs_done(const lm_train *t);
LM_API uint64_t lm_train_steps(const lm_train *t);

/* The learning rate of the next step (lm_train_step, lm_train_apply_grads):
 * what the schedule gave the last epoch, or opts.optim.lr before any.
 * lm_train_set_lr makes lr (finite, > 0; else LM_EINVAL) the trainer's
 * learning rate from the next step on, for a loop the caller drives: it
 * replaces opts.optim.lr, which lm_train_epoch's schedule starts from
 * (warmup, cosine and step scale it; a plateau's lr starts again from it).
 * RPROP is LM_EINVAL (its lr is only the first step size). A checkpoint
 * does not keep it: a resuming trainer's opts give the lr. Added in 1.8.
 * Thread: read-only (lm_train_lr), per object (lm_train_set_lr). */
LM_API float lm_train_lr(const lm_train *t);
LM_API lm_status lm_train_set_lr(lm_train *t, float lr);

/* Early stopping, for callers that run epochs with lm_train_epoch (lm_fit
 * does this itself). With opts.early_stop = N > 0 every completed epoch is
 * judged by its val loss (train loss without a validation set); the epoch
 * with the lowest one is the best, and its parameters are kept aside.
 * The count restarts with each lm_train (a resumed run judges only its own
 * epochs). */
/* 1 when N epochs in a row have not beaten the best: time to stop. Thread: read-only. */
LM_API int lm_train_should_stop(const lm_train *t);
/* The best epoch's number (0 when early stopping is off or no epoch has
 * finished), its losses and accuracies into *info unless NULL. Thread: read-only. */
LM_API int lm_train_best(const lm_train *t, lm_epoch_info *info);
/* Puts the best epoch's parameters back into the net when a later epoch
 * moved them; returns that epoch's number, or 0 when nothing changed. The
 * optimizer state stays that of the last epoch, so save the net with
 * lm_net_save afterwards, not lm_train_save. Thread: per object. */
LM_API int lm_train_restore_best(lm_train *t);

/* Saves the net together with the optimizer state, the RNG and the epoch
 * count, atomically; lm_train_resume continues exactly from such a file.
 * Thread: read-only. */
LM_API lm_status lm_train_save(const lm_train *t, const char *path);
/* Whether the model file at path holds a training state (lm_train_save
 * wrote it) and, if so, the epochs and optimizer steps it covers
 * (epochs_done and steps may be NULL; has_state may not). A file without
 * one is LM_OK with *has_state 0; the state of an optimizer this library
 * does not know (a newer lamina's) still gives its counts. Thread: any. */
LM_API lm_status lm_train_state_info(const char *path, int *has_state, int *epochs_done,
                                     uint64_t *steps);
/* Loads the training state from path into t (whose net must have the same
 * architecture): parameters, normalisation and target standardisation
 * are replaced by the file's (none where it holds none). The state is checked first
 * (LM_EFORMAT naming the field: NaN, infinite or negative moments, an
 * absurd step count); on any failure t and its net are left as they were.
 * Thread: per object. */
LM_API lm_status lm_train_resume(lm_train *t, const char *path);

/* Loss and accuracy of net on d (accuracy NaN for regression), into the
 * caller's out_loss/out_acc (either may be NULL). With LM_LOSS_BCE a
 * target y outside [0, 1] (NaN too) is LM_EINVAL naming its row, as
 * lm_fit refuses it. Uses the net's thread
 * pool: Thread: per object (net). */
LM_API lm_status lm_evaluate(lm_net *net, const lm_data *d, lm_loss loss, float *out_loss,
                      float *out_acc);

/* Trains net on d for opts->epochs (or until a callback or early stop
 * ends it). LM_ESTOPPED from a callback is returned as LM_OK. d, opts
 * and opts->val are read during the call only. Thread: per object (net,
 * rng). */
LM_API lm_status lm_fit(lm_net *net, const lm_data *d, const lm_fit_opts *opts, lm_rng *rng);

/* ----------------------------------------------------------- gradients */

/* Low-level access used by gradient checks and custom loops: forward n
 * rows (n <= the training batch) through the net and return the loss,
 * then backward into lm_net_grads (overwritten, not accumulated).
 * Needs an lm_train for its buffers. Labels are checked as lm_train_step
 * checks them; loss may be NULL. It is a training forward: dropout draws
 * its masks and batch norm normalises by the batch and moves its running
 * statistics, as in a step (a gradient check over a batch norm net saves
 * lm_net_state first and puts it back). Thread: per object. */
LM_API lm_status lm_train_loss_grad(lm_train *t, const float *x, const float *y,
                             const int32_t *labels, size_t n, float *loss);

/* The optimizer step on the gradients in lm_net_grads as they are now
 * (left there by lm_train_loss_grad, then combined by the caller: summed
 * over processes, clipped, ...): what lm_train_step does after its
 * backward pass. Counts a step. LM_ENUMERIC, nothing changed, if a
 * gradient is NaN or infinite; LM_ENUMERIC after the step if it
 * overflowed a parameter (as lm_train_epoch). Thread: per object. */
LM_API lm_status lm_train_apply_grads(lm_train *t);

/* --------------------------------------------------------------- files */

/* Saves the net (architecture, parameters, normalisation, class names,
 * metadata) to path atomically: a temporary file, fsync, rename. The
 * format is in docs/FORMAT.md. A path that names something other than a
 * regular file (a device, pipe or folder, or an open descriptor such as
 * /dev/stdout) is LM_EIO and left as it was; so for every file lamina
 * writes. Thread: read-only. */
LM_API lm_status lm_net_save(const lm_net *net, const char *path);

/* Loads a net saved by lm_net_save or lm_train_save. A truncated, corrupt
 * or foreign file gives LM_EFORMAT with a message, never a crash. The new
 * net is the caller's (lm_net_free). Thread: any. */
LM_API lm_status lm_net_load(lm_net **out, const char *path);

/* The same over memory buffers (used by the fuzzer and tests); buf is
 * only read during the call, the new net is the caller's. Thread: any. */
LM_API lm_status lm_net_load_mem(lm_net **out, const void *buf, size_t len);

/* ---------------------------------------------------------- C export */

/* lm_net_export_c flag: weights of dense and conv2d layers as int8 with a
 * float scale per output channel (docs/EXPORT.md). */
#define LM_EXPORT_INT8 1u

/* Writes net as C99 source for targets without lamina: path (ending in
 * ".c") and the header beside it (".h"), atomically, both or neither (a
 * failed write leaves the old pair as it was), declaring
 * `void NAME_predict(const float *x, float *y)` (one row of raw inputs
 * in, the outputs lm_net_predict gives out) and NAME_predict_ws with a
 * caller's workspace of NAME_WORKSPACE_FLOATS floats (NAME upper-cased
 * in macros). name: a C identifier of at most 40 characters. flags: 0 or
 * LM_EXPORT_INT8. The generated code allocates nothing, has no mutable
 * global and needs only libm. LM_EINVAL for a bad name or path, or a net
 * with no layers or non-finite parameters; LM_EIO if a file cannot be
 * written. Nothing is kept after the call. Thread: read-only (net). */
LM_API lm_status lm_net_export_c(const lm_net *net, const char *path, const char *name,
                                 unsigned flags);

/* Replaces every dense and conv2d weight of net by its int8 round trip
 * (q * scale, as LM_EXPORT_INT8 stores it), so that lm_net_predict and
 * lm_evaluate show what the int8 export predicts (up to summation
 * order). Biases, batch norm and normalisation stay. Thread: per object. */
LM_API lm_status lm_net_quantize_int8(lm_net *net);
/* ---------------------------------------------------------------- ONNX */

/* Writes net as an ONNX model to path, atomically (docs/EXPORT.md): input
 * "input" (N, n_in), a row as lm_net_predict takes it (channels-last for
 * images); output "output" (N, n_out), what lm_net_predict returns (the
 * normalisation, every activation and the target standardisation
 * included). opset: 13 to 17, 0 for 13. LM_EINVAL for a net ONNX cannot
 * express (no layers; a softmax over an image's H*W*C values); like
 * lm_net_save, LM_ENUMERIC / LM_EINVAL for values no file may hold (a NaN
 * or infinite parameter, a batch norm variance below 0), path untouched.
 * Thread: read-only (net). */
LM_API lm_status lm_net_save_onnx(const lm_net *net, const char *path, int opset);

/* Reads an ONNX model made of the ops lamina's layers are (docs/EXPORT.md:
 * Gemm or MatMul+Add, Conv, MaxPool, AveragePool, GlobalAveragePool,
 * Flatten/Reshape, BatchNormalization, Dropout and the activations) as a
 * chain, into a new net that is the caller's (lm_net_free). Anything else
 * is LM_EFORMAT with a message naming the first node it cannot take (op
 * type and name); a truncated or malformed file is LM_EFORMAT, never a
 * crash, and nothing larger than the allocation limit is allocated.
 * Thread: any. */
LM_API lm_status lm_net_load_onnx(lm_net **out, const char *path);
/* The same over len bytes in memory, only read during the call; the new
 * net is the caller's (lm_net_free). Thread: any. */
LM_API lm_status lm_net_load_onnx_mem(lm_net **out, const void *buf, size_t len);

/* ---------------------------------------------------------------- FANN */

/* Reads a FANN 2.x floating-point network file (fann_save's
 * "FANN_FLO_2.1", or "FANN_FLO_2.0") into a new net that is the caller's
 * (lm_net_free): a layered net (network_type 0), fully connected or
 * sparse (a missing connection is a zero weight), each layer's bias
 * neuron as its dense layer's bias. FANN_LINEAR, FANN_SIGMOID and
 * FANN_SIGMOID_SYMMETRIC neurons become identity, sigmoid and tanh layers
 * with their steepness folded into the incoming weights and bias (FANN's
 * sigmoid is 1/(1+exp(-2 s x)), its symmetric sigmoid tanh(s x), its linear
 * s x); neurons of a layer may differ in steepness but not in function.
 * Saved scaling parameters (fann_set_scaling_params) become the input
 * normalisation and the target standardisation, so lm_net_predict gives
 * what fann_scale_input, fann_run and fann_descale_output give. FANN's
 * stepwise sigmoids (its default) become the sigmoid and tanh they
 * approximate, a neuron within 0.034 (0.067 symmetric) of FANN's, and the
 * net's metadata "fann_stepwise" says so. Other activations (threshold,
 * piecewise linear, Gaussian, Elliot, sin, cos), shortcut nets,
 * fixed-point files and malformed files are
 * LM_EFORMAT naming the line (and the neuron or connection). Added in 1.6.
 * Thread: any. */
LM_API lm_status lm_net_load_fann(lm_net **out, const char *path);
/* The same over len bytes in memory, only read during the call. Added in
 * 1.6. */
LM_API lm_status lm_net_load_fann_mem(lm_net **out, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* LAMINA_H */
