/* layer.h - the layer interface: one row of lm__kinds[] per layer kind, as
 * KANN keeps its op table. net.c, train.c, optim.c, model_file.c and the
 * CLI reach a kind only through its row; adding a kind is one file in
 * src/layers/, one entry in table.c, and its tests.
 *
 * Layout. Activations are channels-last: a batch of B rows of shape
 * (C, H, W) is stored (B, H, W, C) row-major, so a dense layer after a
 * spatial one reads each row as H*W*C values in that order (the implicit
 * flatten). For C = 1 this is the plain (B, H*W) image. A per-channel
 * operation (batch norm) works on the last axis: columns of a (B*H*W, C)
 * matrix.
 *
 * A layer's parameters are one slice of the net's flat parameter buffer
 * (and of the gradient buffer, at the same offset); state that is not a
 * parameter (batch norm's running statistics) is one slice of the net's
 * flat state buffer, saved in model files and checkpoints but never seen
 * by the optimizer.
 *
 * Adding a kind (an embedding, a recurrent cell) touches: its file here
 * with its row; one line in table.c and an extern below; an
 * lm_layer_kind value and an lm_net_add_* function in lamina.h (net.c
 * builds its lm__layer_cfg); its item in cli/spec.c's grammar; its record
 * row in docs/FORMAT.md; its tests (a finite-difference check at least).
 * net.c, train.c, optim.c and model_file.c do not change. A kind whose
 * settings do not fit lm__layer_cfg adds fields there. */
#ifndef LM_LAYER_H
#define LM_LAYER_H

#include "internal.h"

/* How a forward pass runs: inference (the default) or training, where
 * dropout draws its mask from seed and batch norm uses and updates batch
 * statistics. */
typedef struct lm__mode {
    int training;
    uint64_t seed; /* per step; the same seed gives the same masks */
    size_t row0;   /* the first row's place in the whole batch: a process
                    * computing rows row0.. of it (data-parallel training)
                    * draws the masks those rows get in one process */
    /* training: sums per-channel statistics over the processes
     * (lm_fit_opts.on_reduce), or NULL: this process's rows are the batch */
    lm_reduce_cb reduce;
    void *reduce_ctx;
} lm__mode;

/* One forward call's arguments. */
typedef struct lm__fwd {
    const float *in;  /* (n, in size) */
    float *out;       /* (n, out size) */
    size_t n;         /* rows */
    const float *p;   /* the layer's parameters (n_par) */
    float *state;     /* the layer's state (n_state), updated in training */
    float *saved;     /* the layer's saved floats, kept for its backward */
    float *tmp;       /* scratch shared by all layers, gone after the call */
    int skip_act;     /* leave the pre-activation in out (fused losses) */
    const lm__mode *mode;
    int index;        /* the layer's position, to derive per-layer randomness */
    lm_pool *pool;
} lm__fwd;

/* One backward call's arguments. dz is the gradient with respect to the
 * layer's pre-activation output (net.c has already applied the fused
 * activation's derivative); the kind writes its parameter gradients
 * (overwriting) and din unless it is NULL (the first layer). */
typedef struct lm__bwd {
    float *din;       /* (n, in size) or NULL */
    float *g;         /* the layer's gradients (n_par), at its parameters' offset */
    const float *dz;  /* (n, out size); the kind may not write it */
    const float *in;  /* (n, in size) the forward's input */
    const float *out; /* (n, out size) the forward's output */
    size_t n;
    const float *p;
    float *saved;     /* what its training forward saved */
    float *tmp;
    lm_pool *pool;
    lm_reduce_cb reduce; /* the training forward's mode's, see lm__mode */
    void *reduce_ctx;
} lm__bwd;

/* The kind's row. Every function gets the layer with cfg, in and the
 * offsets filled. */
typedef struct lm__kind {
    const char *name;   /* lm_layer_kind_name() */
    lm_layer_kind id;   /* also the kind's number in model files */
    unsigned flags;     /* LM__KIND_* */
    /* Checks cfg against the input shape L->in and fills L->out, L->n_par,
     * L->n_state (and w_off/b_off relative to the layer's start). A bad
     * spec returns LM_EINVAL with a message naming layer `index` (from 1,
     * as people count) and the shapes involved. */
    lm_status (*infer)(lm__layer *L, int index);
    /* Sets the parameters and state a new layer starts with, before any
     * lm_net_init (NULL: zeros). */
    void (*start)(const lm__layer *L, float *p, float *state);
    /* Draws the layer's parameters (p) in a fixed order and sets its state;
     * kinds without parameters do nothing. */
    void (*init)(const lm__layer *L, float *p, float *state, lm_init init, lm_rng *rng);
    void (*forward)(const lm__layer *L, const lm__fwd *a);
    void (*backward)(const lm__layer *L, const lm__bwd *a);
    /* Floats of workspace for `rows` rows: returned, what the layer saves
     * from its training forward for its backward; *tmp, scratch it needs
     * during one call (shared by all layers). NULL means none. */
    size_t (*workspace)(const lm__layer *L, size_t rows, size_t *tmp);
    /* The layer's parameters as the optimizer's regions (rows x cols,
     * rows being the unit threads split); returns how many (at most
     * LM__MAX_REGIONS), with offsets relative to the layer's start. */
    int (*regions)(const lm__layer *L, lm__region *r);
    /* Its settings in a model file: n_words u32 words, written by put and
     * checked by get (which fills cfg->kind's fields of cfg; an unknown
     * value is LM_EFORMAT naming layer index). */
    int n_words;
    void (*put)(const lm__layer_cfg *c, uint32_t *w);
    lm_status (*get)(lm__layer_cfg *c, const uint32_t *w, int index);
    /* Checks the layer's state (finite already) as a file or a caller
     * through lm_net_state left it, for what inference needs of it (batch
     * norm's running variances >= 0): a bad value is `code` with a message
     * naming layer `index` (from 1). NULL: any finite state will do. */
    lm_status (*check_state)(const lm__layer *L, const float *state, int index, lm_status code);
} lm__kind;

/* The kind computes y = act(x W + b) with W (n_in, n_out) at w_off and b
 * at b_off: what the fused small-net path can run. */
#define LM__KIND_MATMUL 1u
/* The kind draws random numbers in training (from lm__mode.seed). */
#define LM__KIND_RANDOM 2u
/* The kind couples the rows of a batch in training (batch norm's batch
 * statistics): a batch then cannot be split into row shards computed
 * apart (train.c). */
#define LM__KIND_BATCH 4u
#define LM__MAX_REGIONS 2
#define LM__MAX_WORDS 16

/* The table: lm__kinds[id] is the row of kind id, or NULL where the kind
 * is not built yet (its add function then fails). */
extern const lm__kind *const lm__kinds[LM_LAYER_KIND_COUNT];

extern const lm__kind lm__kind_dense;
extern const lm__kind lm__kind_conv2d;         /* layers/conv2d.c */
extern const lm__kind lm__kind_maxpool2d;      /* layers/pool2d.c */
extern const lm__kind lm__kind_avgpool2d;      /* layers/pool2d.c */
extern const lm__kind lm__kind_global_avgpool; /* layers/pool2d.c */
extern const lm__kind lm__kind_dropout;
extern const lm__kind lm__kind_batchnorm;
extern const lm__kind lm__kind_activation;

/* The row of kind id, or NULL. */
const lm__kind *lm__kind_of(int id);

/* The layer cfg would be if added to net now (checks and shape
 * inference, nothing allocated): what a reader checks against the bytes
 * of a file before adding it. */
lm_status lm__layer_make(const lm_net *net, const lm__layer_cfg *cfg, lm__layer *out);
/* Adds a layer built from cfg through its kind's row (every
 * lm_net_add_* ends here): checks, shape inference, buffers grown. */
lm_status lm__net_add(lm_net *net, const lm__layer_cfg *cfg);

/* Helpers the rows share. */
/* "(C, H, W)" into buf (at least 48 bytes). */
const char *lm__shape_str(lm__shape s, char *buf);
static inline size_t lm__shape_size(lm__shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }
/* Draws n weights of a layer with fan_in and fan_out by init. */
void lm__init_weights(float *w, size_t n, int fan_in, int fan_out, lm_init init, lm_rng *rng);

#endif
