/* internal.h - what the library's files share and users never see. */
#ifndef LM_INTERNAL_H
#define LM_INTERNAL_H

#include "lamina.h"
#include "kernels/kernels.h"
#include "kernels/small.h" /* LM_SMALL_WIDTH: the spare floats after the parameters */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ----------------------------------------------------------- errors */

/* Records a formatted message for lm_errmsg() and returns st, so a failure
 * reads `return lm__err(LM_EINVAL, "layer %d: ...", i);`. */
lm_status lm__err(lm_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the current message (adds context going up). */
void lm__err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm__err_clear(void);

/* Misuse is answered with a status, never a crash: each public function
 * starts with LM_NONNULL(arg) for every pointer it needs, so a NULL gives
 * LM_EINVAL and "lm_net_init: rng is NULL". */
#define LM_NONNULL(p)                                                              \
    do {                                                                           \
        if (!(p)) return lm__err(LM_EINVAL, "%s: %s is NULL", __func__, #p);      \
    } while (0)

/* ------------------------------------------------------- safe sizes */

/* a * b into *out; false on overflow. */
static inline bool lm__mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

/* malloc of n * size bytes, checked for overflow and against the
 * configured allocation limit; NULL (with lm__err set) on failure. */
void *lm__alloc(size_t n, size_t size, const char *what);
void *lm__calloc(size_t n, size_t size, const char *what);
/* lm__calloc through lm_big_alloc (huge pages), for the buffers every
 * training step streams through: parameters, gradients, optimizer state. */
void *lm__alloc_big(size_t n, size_t size, const char *what);
/* realloc of old to n * size bytes, checked the same way; on failure NULL
 * (with lm__err set) and old is left as it was. */
void *lm__realloc(void *old, size_t n, size_t size, const char *what);
char *lm__strdup(const char *s);

/* -------------------------------------------------------------- net */

/* Limits on architectures (also what a model file may claim). */
#define LM_MAX_WIDTH (1 << 24)
#define LM_MAX_LAYERS 1024
/* Longest class name, metadata key or value a net (and a file) holds. */
#define LM_MAX_STRING (1u << 20)
/* Most metadata keys a net (and a file) holds. */
#define LM_MAX_META 4096

/* A shape (C, H, W); stored channels-last, see src/layers/layer.h. */
typedef struct lm__shape {
    int c, h, w;
} lm__shape;

/* What a layer was built with: the arguments of its lm_net_add_* call.
 * Fields a kind does not use stay zero (what a model file stores). */
typedef struct lm__layer_cfg {
    lm_layer_kind kind;
    int units;    /* dense: width; conv2d: filters */
    int kh, kw;   /* conv2d kernel, pool window */
    int stride;   /* conv2d, pools */
    int pad;      /* conv2d: >= 0, LM_PAD_SAME or LM_PAD_VALID */
    lm_act act;   /* the fused activation (LM_IDENTITY for kinds without) */
    int flags;    /* LM_BIAS / LM_NO_BIAS for kinds with a bias */
    float rate;   /* dropout */
    float momentum, eps; /* batchnorm */
} lm__layer_cfg;

/* A layer of a net: its settings, shapes and where its slices are. */
typedef struct lm__layer {
    const struct lm__kind *kind;
    lm__layer_cfg cfg;
    lm__shape in, out; /* (C, H, W) */
    int n_in, n_out;  /* flat sizes C*H*W */
    lm_act act;       /* cfg.act, kept here for the general code */
    int has_bias;
    size_t p_off, n_par;   /* parameters at params + p_off */
    size_t s_off, n_state; /* state at state + s_off */
    /* For kinds whose parameters are one (n_in, n_out) matrix W and a bias
     * (the small-net plan hands these to the fused kernels): W at
     * params + w_off, b at params + b_off or SIZE_MAX. Other kinds set
     * what their file says. */
    size_t w_off, b_off;
} lm__layer;

/* Activations of one forward pass, sized for up to `rows` rows. */
struct lm_ws {
    size_t rows;
    int n_layers;
    int *widths;   /* (n_layers + 1) n_in and each layer's width: what it fits */
    float *x0;     /* (rows, n_in) the normalised input */
    float **act;   /* n_layers buffers, act[l] (rows, layer l n_out) */
    float *d0, *d1; /* (rows, max width) gradient ping-pong for backward */
    /* For a small net (lm__small_net) the fused path's plan (small_plan.c),
     * else NULL; its kernel's buffers are the first lm__small_floats of
     * mem (64-byte aligned) */
    struct lm__small_plan *small;
    size_t small_rows; /* the most rows the plan's buffers hold */
    int fused;     /* the last forward took the fused path */
    float **saved; /* n_layers: what layer l's forward keeps for its backward, or NULL */
    float *tmp;    /* scratch any layer may use during one call, or NULL */
    size_t layer_floats; /* floats of saved and tmp: a net of other kinds needs others */
    float *mem;    /* the single allocation behind all of the above */
    lm_net *frozen; /* the net lm_ws_new froze (see lm_net.users), else NULL */
    /* the last forward's reduce hook (lm__mode), for its backward */
    lm_reduce_cb reduce;
    void *reduce_ctx;
};

struct lm_net {
    int n_in;
    lm__shape in_shape; /* (C, H, W) of the input, (n_in, 1, 1) unless set */
    int n_layers, cap_layers;
    lm__layer *layers;
    size_t n_params;
    size_t cap_params; /* floats the block holds for each of params, grads */
    float *params; /* (n_params) at the block's start */
    float *grads;  /* (n_params) at params + cap_params: one allocation */
    size_t n_state;
    float *state;  /* (n_state) the layers' non-parameter state, or NULL */
    int n_random;  /* layers that draw random numbers in training (dropout) */
    float *norm_mean, *norm_scale; /* (n_in) each, or NULL */
    int n_classes;
    char **class_names; /* (n_classes) or NULL */
    int n_meta;
    char **meta_keys, **meta_vals;
    int threads;   /* requested; 0 = all cores */
    lm_pool *pool; /* created on first use */
    lm_ws *ws;     /* predict workspace, grown on demand */
    /* Trainers and lm_ws_new workspaces referring to this net. Their
     * buffers are sized by its shape, so while any exist the shape is
     * frozen (lm_net_add_dense refuses). Atomic: workspaces for one
     * shared net may be made and freed from several threads. */
    atomic_int users;
    float *tnorm;  /* (2, tnorm_n) target means then stds, or NULL */
    int tnorm_n;   /* the output width tnorm was set for */
    /* Never the same for two nets, nor for one net before and after its
     * layers or parameter block change (lm__net_add, lm__net_reserve):
     * what a small-net plan keys its description of the layers on
     * (small_plan.c), so that a step need not build it again. */
    uint64_t stamp;
};

/* Makes room in an empty net for n_layers layers holding n_params
 * parameters in all, so that adding them allocates and copies nothing:
 * a loader that knows the whole architecture builds it in time linear in
 * its size (one lm_net_add_dense after another copies the parameters
 * each time). */
lm_status lm__net_reserve(lm_net *net, int n_layers, size_t n_params);

/* Marks net as used (+1) or no longer used (-1) by a trainer or workspace. */
void lm__net_use(lm_net *net, int delta);

/* The target standardisation, if set and still fitting the output width:
 * y (n, n_out) from the standardised scale to the targets' units, or
 * the other way (to_std). */
void lm__net_target_norm_apply(const lm_net *net, float *y, size_t n, int to_std);

int lm__max_width(const lm_net *net);
/* net's thread pool in *pool (NULL: run serially, one thread asked for),
 * started on first use; LM_ENOMEM if it cannot start: a failure is
 * reported, never hidden behind a serial run. */
lm_status lm__net_pool(lm_net *net, lm_pool **pool);
/* What a forward of up to rows rows of net through ws needs that is not
 * in ws: the pool (into *pool, unless pool is NULL) and, where the GEMMs
 * run, the calling thread's packing buffers. Called where shapes are set,
 * so that no step allocates. */
lm_status lm__net_prepare(lm_net *net, const lm_ws *ws, size_t rows, lm_pool **pool);

/* Copies n rows of x (n, n_in) into ws->x0 applying the normalisation. */
void lm__net_load_input(const lm_net *net, lm_ws *ws, const float *x, size_t n);

/* Forward from ws->x0 through every layer into ws->act. If skip_last_act,
 * the last layer's buffer holds its pre-activation (the logits). mode
 * says training or inference (NULL: inference, see layers/layer.h);
 * a training forward updates the net's state buffer (batch norm's running
 * statistics), which only the trainer's net sees. */
struct lm__mode;
void lm__net_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act,
                     const struct lm__mode *mode, lm_pool *pool);

/* Backward: ws->d0 (n, n_out) holds the gradient with respect to the last
 * layer's output (its pre-activation if last_is_preact). Writes every
 * gradient into net->grads (overwriting); ws->d0 and d1 are clobbered. */
void lm__net_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact, lm_pool *pool);
/* lm__net_backward on the general path (never the fused one) into grads
 * (n_params floats: net->grads, or a row shard's own buffer, train.c);
 * if finite is not NULL, sets *finite to whether every gradient is
 * finite, checked layer by layer while each is in the cache. */
void lm__net_backward_to(const lm_net *net, lm_ws *ws, float *grads, size_t n, int last_is_preact,
                         int *finite, lm_pool *pool);

lm_status lm__ws_alloc(lm_ws **out, const lm_net *net, size_t rows);
/* Rows at a time for inference over n rows: the workspace is sized by
 * the rows given, and bounded (net.c says how). */
size_t lm__predict_rows(const lm_net *net, size_t n);

/* ------------------------------------------------------- small nets */

/* A net is small when its input and every layer are at most
 * LM_SMALL_WIDTH wide (a row of any layer fits one AVX-512 register),
 * every layer is a matrix layer (LM__KIND_MATMUL) and no hidden layer is
 * softmax. On AVX-512 such a net's forward and backward run fused, a few
 * rows at a time through all the layers with no GEMM calls: the fused
 * kernels (src/kernels/small.h) see only widths and arrays; the plan
 * (src/small_plan.c), owned by the workspace, hands them the net's
 * weights and decides when they run. The bits are the general path's. */
int lm__small_net(const lm_net *net);

/* The floats a workspace of rows rows needs for the fused path (a
 * multiple of 16), or 0 where it cannot run (not small, no AVX-512 in
 * the CPU or the build). */
size_t lm__small_floats(const lm_net *net, size_t rows);
/* The plan for net's shape, over pad (lm__small_floats(net, rows)
 * floats, 64-byte aligned, owned by the workspace); NULL (with lm__err
 * set) if out of memory. Call only where lm__small_floats is not 0. */
typedef struct lm__small_plan lm__small_plan;
lm__small_plan *lm__small_plan_new(const lm_net *net, float *pad, size_t rows);
void lm__small_plan_free(lm__small_plan *p);

/* Whether lm__net_forward and lm__net_backward take the fused path for
 * n rows of net with ws: the net is small, ws has its plan, the switch
 * allows it, the GEMM and elementwise variants in use are both AVX-512
 * (the arithmetic the fused path reproduces; LAMINA_ISA=avx2|ref turns
 * it off), and the rows' products are few: past LM_SMALL_MAX_MACS
 * multiply-adds a forward the general path's packed kernels win (the
 * fused path works a few rows at a time; measured on Zen 4, 3-4-1 with 64
 * rows is 2x faster fused, 4-16-3 with 16 rows and 16-16-16-16 with 4
 * rows 1.3-1.5x slower). */
#define LM_SMALL_MAX_MACS 1024
/* The most rows a forward may have there (even forced): a row has at
 * least one multiply-add, so automatically it never has more. */
#define LM_SMALL_MAX_ROWS LM_SMALL_MAX_MACS
int lm__small_use(const lm_net *net, const lm_ws *ws, size_t n);

/* The fused forward and backward (lm__small_forward, lm__small_backward)
 * are inline, in src/small_plan.h. */

/* When the fused path runs: LM_SMALL_AUTO (the default, as above),
 * LM_SMALL_OFF, or LM_SMALL_ALWAYS whatever the rows (for tests comparing
 * the two paths' bits). Not thread-safe against running nets. */
enum { LM_SMALL_OFF, LM_SMALL_AUTO, LM_SMALL_ALWAYS };
void lm__small_enable(int mode);

/* ------------------------------------------------------ activations */

/* In place over n values. Softmax needs the row width. */
void lm__act_forward(lm_act act, float *x, size_t rows, int width);
/* d (rows, width) *= act'(.) given the activation's output a. Softmax
 * applies its full row Jacobian. */
void lm__act_backward(lm_act act, const float *a, float *d, size_t rows, int width);

/* ----------------------------------------------------------- losses */

/* Whether the loss is fused with the output activation (softmax + CE,
 * sigmoid + BCE): then the net's last buffer holds logits. */
int lm__loss_fused(lm_loss loss, lm_act last_act, int n_out);

/* The loss of out (n, w) against y (n, w) or labels (n), and its
 * gradient into dout (n, w) if dout is not NULL. If fused, out holds
 * logits and dout is the gradient with respect to them. Mean losses
 * divide by norm rows, not n: a process that computes n rows of a batch
 * of norm rows (data-parallel training) gets the rows' exact share of
 * the batch's loss and gradient; norm = n otherwise. With cw (class
 * weights, labels only; NULL: none) row r's loss and gradient are
 * multiplied by cw[labels[r]], still divided by norm. */
double lm__loss(lm_loss loss, int fused, const float *out, const float *y,
                const int32_t *labels, const float *cw, size_t n, size_t norm, int w, float *dout);

/* Number of correct rows (argmax, or threshold 0.5 for one output; with
 * fused logits 0). y or labels as for lm__loss. */
size_t lm__correct(int fused, const float *out, const float *y,
                   const int32_t *labels, size_t n, int w);

/* -------------------------------------------------------- optimizer */

/* rows x cols values of the flat buffer from off: a layer's weights, or
 * its bias as one row (how the optimizer shares the step between threads). */
typedef struct lm__region {
    size_t off;
    int rows, cols;
} lm__region;

typedef struct lm__optim {
    lm_optim_opts o;
    size_t n;
    uint64_t t;   /* steps taken */
    float *m, *v; /* (n) each: momentum / Adam moments, or NULL; one allocation (m's) */
    lm__region *regions; /* (n_regions) the net's layers, covering [0, n) in order */
    int n_regions;
} lm__optim;

/* An optimizer for net's parameters (its layers give the regions). */
lm_status lm__optim_init(lm__optim *opt, const lm_optim_opts *o, const lm_net *net);
void lm__optim_free(lm__optim *opt);
/* One update of params from grads. Returns LM_ENUMERIC (changing nothing)
 * if the gradient holds a NaN or Inf. */
lm_status lm__optim_step(lm__optim *opt, float *params, float *grads, lm_pool *pool);
/* lm__optim_step on the gradient grads + extra, summed in that order
 * into grads: the two row shards of a batch (train.c). With finite set
 * (both were checked as they were made) the sum is made in the update's
 * pass, a cache-sized piece at a time, and not checked again: only a sum
 * that overflows (two finite halves beyond 1.7e38) reaches the update,
 * which then reports an overflowed parameter as for any gradient too
 * large. Otherwise a first pass sums and checks, changing no parameter
 * when the sum is not finite. extra NULL is lm__optim_step. */
lm_status lm__optim_step_sum(lm__optim *opt, float *params, float *grads, const float *extra,
                             int finite, lm_pool *pool);

/* -------------------------------------------------------------- data */

/* Records d's x, labels, y, class_names and feature_names (each ONE
 * malloc'd block; a name list is its pointers followed by its characters)
 * in d->owned_ so lm_data_free frees them. On failure frees them, zeroes d. */
lm_status lm__data_adopt(lm_data *d);
/* Frees those blocks of a data set not yet adopted, and zeroes it. */
void lm__data_discard(lm_data *d);
/* Hands names (a packed list of n target column names, from
 * lm__names_pack) to an adopted data set; freed with it. */
void lm__data_set_target_names(lm_data *d, char **names, int n);
/* What the CSV reader did to one categorical column (lm_data_category). */
typedef struct lm__cat_info {
    char *name;    /* malloc'd */
    char *example; /* malloc'd, or NULL: the first value not in the encoding */
    int first, k;  /* first one-hot input, value count */
    size_t missing, unseen;
} lm__cat_info;
/* Hands an encoding (malloc'd text, lm_data_categories) and the info of
 * its n columns (a malloc'd array) to an adopted data set; freed with it
 * (also on a data set not adopted: then freed at once). */
void lm__data_set_categories(lm_data *d, char *text, lm__cat_info *info, int n);
/* Frees info[0..n) and the array. */
void lm__cat_info_free(lm__cat_info *info, int n);
/* Records the shape of d's rows (an adopted data set; else nothing). */
void lm__data_set_shape(lm_data *d, int c, int h, int w);
/* One block: n pointers, then the n strings s[i] (len[i] bytes each), each
 * NUL-terminated. NULL (with lm__err set) on failure. */
char **lm__names_pack(int n, const char *const *s, const size_t *len);

/* A member of a zip archive in memory (zip.c): pointers into the archive's
 * bytes, valid while they are. */
typedef struct lm__zip_entry {
    const char *name; /* name_len bytes, not NUL-terminated */
    size_t name_len;
    unsigned flags, method;
    uint32_t crc;
    uint64_t csize, usize;      /* compressed, uncompressed bytes */
    const unsigned char *data;  /* (csize) */
} lm__zip_entry;
/* The members of the zip archive b (len bytes) from its central directory,
 * each checked to lie within b, in a new array (free it) of *n entries.
 * path names the archive in messages. LM_EFORMAT if malformed. */
lm_status lm__zip_list(const char *path, const unsigned char *b, size_t len,
                       lm__zip_entry **out, int *n);
/* A member's bytes, inflated if deflated and checked against its CRC-32,
 * in a new buffer (free it). */
lm_status lm__zip_extract(const char *path, const lm__zip_entry *z, unsigned char **out,
                          size_t *len);

/* ------------------------------------------------------------- files */

/* Reduce-on-plateau's state (LM_LR_PLATEAU): torch's ReduceLROnPlateau
 * in mode 'min', threshold_mode 'rel'. Saved with a checkpoint (the SCHD
 * section, docs/FORMAT.md) so that a resumed run follows the same curve. */
typedef struct lm__plateau {
    double lr;    /* the lr after the warmup: optim.lr, cut so far */
    double best;  /* the best monitored loss; +inf before the first */
    int bad;      /* epochs since the best (torch's num_bad_epochs) */
    int cooldown; /* cooldown epochs left (torch's cooldown_counter) */
} lm__plateau;
/* The state before the first epoch: lr = o->optim.lr. */
lm__plateau lm__plateau_start(const lm_fit_opts *o);
/* After an epoch whose monitored loss is loss: p's lr for the next one
 * (o's lr_factor, lr_patience, lr_threshold, lr_cooldown, lr_min). */
void lm__plateau_step(lm__plateau *p, const lm_fit_opts *o, double loss);

/* What a checkpoint adds to a model: enough to continue training exactly. */
typedef struct lm__train_state {
    int epochs_done;
    uint64_t step;     /* optimizer steps (Adam's t) */
    lm_rng rng;        /* the shuffling RNG after epochs_done epochs */
    int optim_kind;    /* lm_optim_kind the state belongs to */
    size_t n;          /* parameters the state covers */
    float *m, *v;      /* (n) each or NULL; owned by whoever filled them */
    int counts_only;   /* set by the caller of lm__model_decode: give the
                          epochs and steps alone (no moments kept; a known
                          optimizer's state checked as lm_net_load checks
                          it, a newer lamina's taken unread) */
    int has_plateau;   /* plateau holds the file's SCHD section */
    lm__plateau plateau;
} lm__train_state;

/* Whether net's values are what a model file may hold (what the readers
 * accept): finite parameters and state, each layer's state as its kind
 * needs it. LM_ENUMERIC / LM_EINVAL naming the value, the message ending
 * in what (e.g. "the model is not saved"). */
lm_status lm__net_check_writable(const lm_net *net, const char *what);
/* Serialises net (and ts if not NULL) into a new buffer, see
 * docs/FORMAT.md. */
lm_status lm__model_encode(const lm_net *net, const lm__train_state *ts,
                           unsigned char **buf, size_t *len);
/* Parses a model file image. If ts is not NULL and the file holds a
 * training state, fills it (m, v newly allocated) and sets *has_ts. */
lm_status lm__model_decode(const void *buf, size_t len, lm_net **out,
                           lm__train_state *ts, int *has_ts);


/* Writes len bytes to path atomically (temp file in the same folder,
 * fsync, rename, fsync of the folder). */
lm_status lm__write_atomic(const char *path, const void *buf, size_t len);
/* Two files so, both or neither: each is written to its temporary file
 * and synced before either is renamed into place, so a failed write (a
 * full disk) leaves both old files as they were. path2 NULL: path1 alone. */
lm_status lm__write_atomic2(const char *path1, const void *buf1, size_t len1, const char *path2,
                            const void *buf2, size_t len2);
/* Reads a whole file into a new buffer; one over lm_alloc_limit() bytes
 * is LM_ENOMEM. */
lm_status lm__read_file(const char *path, unsigned char **buf, size_t *len);

/* ------------------------------------------ data file bytes (source.c) */

/* A data file opened for reading: plain, or gzip (known by its magic
 * bytes, in a regular file) inflated as it is read. */
typedef struct lm__src {
    const char *path;
    FILE *f;                  /* plain file, or NULL */
    struct gzFile_s *gz;      /* gzip file (zlib's gzFile), or NULL */
    int regular;              /* a regular file (not a pipe or device) */
    int size_known;           /* a regular plain file: size is its length */
    uint64_t size;
    uint64_t compressed_size; /* gzip: the file's length */
    int truncated;            /* the gzip stream ended early */
} lm__src;

lm_status lm__src_open(lm__src *s, const char *path);
void lm__src_close(lm__src *s);
/* Reads up to n bytes; *got < n only at the end of the data (for gzip,
 * s->truncated then says whether the stream was cut short). */
lm_status lm__src_read(lm__src *s, void *buf, size_t n, size_t *got);
/* Checks bytes [from, to) of buf just read (buf holds all read so far). */
typedef lm_status (*lm__src_check)(void *ctx, const char *buf, size_t from, size_t to);
/* Reads a whole data file, plain or gzip, into a new NUL-terminated
 * buffer, calling check (may be NULL) on each chunk as it arrives; more
 * than lm_alloc_limit() bytes (uncompressed) is LM_ENOMEM, a truncated or
 * corrupt gzip stream LM_EFORMAT. */
lm_status lm__src_slurp(const char *path, lm__src_check check, void *ctx, char **out,
                        size_t *out_len);

/* ------------------------------------------------- option structs (opts.c) */

/* This library's defaults, full size (train.c, csv.c). */
lm_fit_opts lm__fit_defaults(void);
lm_csv_opts lm__csv_defaults(void);
/* Copies a caller's option struct into a full-size one: the fields that
 * lie within src->size come from src, the rest are the defaults (src NULL:
 * all defaults, for lm_csv_read). LM_EINVAL with a message if src->size
 * was never set. */
lm_status lm__fit_opts_import(lm_fit_opts *dst, const lm_fit_opts *src);
lm_status lm__csv_opts_import(lm_csv_opts *dst, const lm_csv_opts *src);

#endif
