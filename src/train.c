/* train.c - the fit loop: batches gathered (and converted from their
 * stored type) into one preallocated workspace, forward, loss, backward,
 * one optimizer step; epochs with shuffling, validation, callbacks, early
 * stopping and exact checkpoints. Nothing is allocated per batch. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lm_train {
    lm_net *net;
    lm_fit_opts o;
    lm_rng rng;
    lm__optim opt;
    size_t batch;  /* rows per batch the buffers hold */
    lm_ws *ws;     /* activations for `batch` rows (a sharded batch: shard 0's) */
    lm_ws *ws1;    /* shard 1's activations, or NULL where batches are never
                    * sharded (see sharded_step) */
    float *grads1; /* (n_params) shard 1's gradients, with ws1 */
    size_t shard_min; /* with ws1: the fewest rows a sharded batch has */
    float *yb;     /* (batch, n_out) gathered float targets */
    int32_t *lb;   /* (batch) gathered labels */
    size_t *perm;  /* (perm_cap) row order of the current epoch */
    size_t perm_cap;
    int n_out;     /* the net's output width */
    int fused;     /* loss fused with the output activation */
    float *cw;     /* (o.n_class_weights) the class weights, copied; NULL: none */
    int epochs_done;
    /* early stopping (o.early_stop > 0): the best epoch by the monitored
     * loss (val loss, else train loss) and its parameters */
    float *best;          /* (n_params + n_state) the parameters, then the layers'
                           * state that goes with them; NULL when early stopping is off */
    float best_loss;
    lm_epoch_info best_info; /* epoch 0 until an epoch is recorded */
    int since_best;       /* epochs since the best one */
    float *state0;        /* (n_state) the layers' state before the step, or NULL */
    lm__plateau plateau;  /* LM_LR_PLATEAU's state (kept whatever the schedule) */
};

lm_fit_opts lm__fit_defaults(void)
{
    lm_fit_opts o;
    memset(&o, 0, sizeof o);
    o.loss = LM_LOSS_MSE;
    o.optim.kind = LM_SGD;
    o.optim.lr = 0.01f;
    o.optim.beta1 = 0.9f;
    o.optim.beta2 = 0.999f;
    o.optim.eps = 1e-8f;
    o.optim.eta_minus = 0.5f;
    o.optim.eta_plus = 1.2f;
    o.optim.step_min = 1e-6f;
    o.optim.step_max = 50.0f;
    o.lr_step = 10;
    o.lr_gamma = 0.1f;
    o.lr_factor = 0.1f; /* torch's ReduceLROnPlateau defaults */
    o.lr_patience = 10;
    o.lr_threshold = 1e-4f;
    o.epochs = 10;
    o.batch = 32;
    o.shuffle = 1;
    return o;
}

/* Class weights: one a class (two for one output), finite, >= 0, not all
 * zero, and only for the losses of classes. */
static lm_status check_class_weights(const lm_net *net, const lm_fit_opts *o)
{
    if (!o->class_weights && !o->n_class_weights) return LM_OK;
    if (o->loss != LM_LOSS_CE && o->loss != LM_LOSS_BCE)
        return lm__err(LM_EINVAL, "class weights need a classification loss (ce or bce), not %s",
                       lm_loss_name(o->loss));
    int n_out = lm_net_n_out(net), want = n_out == 1 ? 2 : n_out;
    if (!o->class_weights)
        return lm__err(LM_EINVAL, "class_weights is NULL but n_class_weights is %d", o->n_class_weights);
    if (o->n_class_weights != want)
        return lm__err(LM_EINVAL, "%d class weights for %d classes: give one a class%s", o->n_class_weights,
                       want, n_out == 1 ? " (one output: classes 0 and 1)" : "");
    int positive = 0;
    for (int c = 0; c < want; c++) {
        float v = o->class_weights[c];
        if (!isfinite(v) || v < 0)
            return lm__err(LM_EINVAL, "class weight %d is %g: weights must be finite and >= 0", c, (double)v);
        positive |= v > 0;
    }
    if (!positive) return lm__err(LM_EINVAL, "the class weights are all 0: at least one must be > 0");
    return LM_OK;
}

static lm_status check_fit_opts(const lm_net *net, const lm_fit_opts *o)
{
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "the net has no layers");
    if ((unsigned)o->loss >= LM_LOSS_COUNT) return lm__err(LM_EINVAL, "unknown loss %d", (int)o->loss);
    if (o->epochs < 0) return lm__err(LM_EINVAL, "epochs %d must not be negative", o->epochs);
    if (o->batch < 1 || o->batch > ((size_t)1 << 24))
        return lm__err(LM_EINVAL, "batch size %zu is out of range 1..%d", o->batch, 1 << 24);
    if (o->early_stop < 0) return lm__err(LM_EINVAL, "early-stop patience %d must not be negative", o->early_stop);
    if (o->shards < 0 || (o->shards > 1 && (o->shard < 0 || o->shard >= o->shards)))
        return lm__err(LM_EINVAL, "shard %d of %d: shards must be >= 0 and shard in [0, shards)", o->shard, o->shards);
    if (o->shards > 1 && !o->on_grads)
        return lm__err(LM_EINVAL, "%d shards need a gradient hook (on_grads) to sum them", o->shards);
    if ((unsigned)o->lr_schedule >= LM_LR_COUNT) return lm__err(LM_EINVAL, "unknown learning-rate schedule %d", (int)o->lr_schedule);
    if (o->lr_warmup < 0) return lm__err(LM_EINVAL, "lr_warmup %d epochs must not be negative", o->lr_warmup);
    /* RPROP's lr is only its first step size: a schedule would change nothing */
    if (o->optim.kind == LM_RPROP && o->lr_schedule != LM_LR_CONSTANT)
        return lm__err(LM_EINVAL, "RPROP adapts its own step sizes (lr is only the first one): "
                       "a learning-rate schedule (%s) would not change them; leave it constant",
                       lm_lr_schedule_name(o->lr_schedule));
    if (o->optim.kind == LM_RPROP && o->lr_warmup)
        return lm__err(LM_EINVAL, "RPROP adapts its own step sizes (lr is only the first one): "
                       "a warmup (%d epoch%s) would not change them; leave it off", o->lr_warmup,
                       o->lr_warmup == 1 ? "" : "s");
    if (o->lr_schedule == LM_LR_COSINE && !(o->lr_min >= 0 && o->lr_min <= o->optim.lr))
        return lm__err(LM_EINVAL, "cosine schedule floor %g must be in [0, lr]", o->lr_min);
    if (o->lr_schedule == LM_LR_STEP && (o->lr_step < 1 || !(o->lr_gamma > 0 && o->lr_gamma <= 1)))
        return lm__err(LM_EINVAL, "step schedule needs lr_step >= 1 and lr_gamma in (0, 1]");
    if (o->lr_schedule == LM_LR_PLATEAU) {
        if (!(o->lr_factor > 0 && o->lr_factor < 1))
            return lm__err(LM_EINVAL, "plateau schedule: lr_factor %g must be in (0, 1)", o->lr_factor);
        if (o->lr_patience < 0 || o->lr_cooldown < 0)
            return lm__err(LM_EINVAL, "plateau schedule: lr_patience %d and lr_cooldown %d must not be negative",
                           o->lr_patience, o->lr_cooldown);
        if (!(o->lr_threshold >= 0 && o->lr_threshold < 1))
            return lm__err(LM_EINVAL, "plateau schedule: lr_threshold %g must be in [0, 1)", o->lr_threshold);
        if (!(o->lr_min >= 0 && o->lr_min <= o->optim.lr))
            return lm__err(LM_EINVAL, "plateau schedule floor lr_min %g must be in [0, lr]", o->lr_min);
    }
    lm_act last = net->layers[net->n_layers - 1].act;
    if (o->loss == LM_LOSS_CE && last != LM_SOFTMAX && lm_net_n_out(net) > 1 && last != LM_SIGMOID)
        return lm__err(LM_EINVAL, "cross-entropy needs probabilities: end the net with softmax (it ends with %s)",
                       lm_act_name(last));
    /* one output is one probability: the cross-entropy of class 1 against
     * class 0 (lm__loss computes it as binary cross-entropy) */
    if (o->loss == LM_LOSS_CE && lm_net_n_out(net) == 1 && last != LM_SIGMOID)
        return lm__err(LM_EINVAL, "cross-entropy over one output is binary: end the net with one "
                       "sigmoid output (it ends with %s)", lm_act_name(last));
    /* log(yhat) and log(1 - yhat): outside [0, 1] the loss goes negative
     * and its gradient explodes (PyTorch's BCELoss refuses such inputs) */
    if (o->loss == LM_LOSS_BCE && last != LM_SIGMOID && last != LM_SOFTMAX)
        return lm__err(LM_EINVAL, "binary cross-entropy needs probabilities in [0, 1]: end the net "
                       "with sigmoid (it ends with %s)", lm_act_name(last));
    return check_class_weights(net, o);
}

/* Row shards. A batch of at least SHARD_MIN_ROWS rows is split into
 * SHARDS fixed halves of its rows; each shard gathers, runs forward, loss
 * and backward for its rows on its own workspace into its own gradient
 * buffer (shard 0 net->grads, shard 1 grads1), and the optimizer steps on
 * their sum g0 + g1. With 2 or 3 threads the shards run side by side,
 * one a thread, each GEMM on one thread: at batch 64 a GEMM split
 * between two cores costs ~10% more CPU time than on one (packing done
 * twice, smaller tiles, lines crossing between cores) and a barrier after
 * every op, while row halves computed apart run at one thread's full
 * efficiency (bench/THREADS.md). With one thread the shards run one after
 * the other; with 4 or more, one after the other as well, each with every
 * op shared between all the threads (2 shards cannot keep more threads
 * busy; not measured, this machine has 2 cores). How the batch is split depends only on its rows and the net,
 * never on the thread count, and the ops of a shard give the same bits
 * however many threads share them, so a run's bits do not depend on the
 * thread count either.
 *
 * The shards cost what grows with the parameters: a second gradient
 * buffer written and summed, and on two threads both cores reading all
 * the weights and each fetching the half of the sum the other wrote
 * (bench/THREADS.md). They pay where a batch's arithmetic is large
 * against that: rows * (multiply-adds a row / parameters) of at least
 * SHARD_WORK. Measured on 2 Zen 4 cores at batch 64: the CNN of
 * bench/cnn.sh (about 10 multiply-adds a row per parameter: 640) gains,
 * the Fashion-MNIST MLP (1 per parameter: 64) loses, 1 thread and 2, to
 * today's split of each op. Not sharded either: a net with a layer that
 * couples rows (batch norm), a small net (the fused path,
 * src/small_plan.c), a data-parallel run (lm_fit_opts.on_grads: each
 * process's rows are its shard), an evaluation's trainer, batches under
 * SHARD_MIN_ROWS rows. */
enum { SHARDS = 2, SHARD_MIN_ROWS = 64, SHARD_SEQ_THREADS = 4, SHARD_WORK = 256 };

/* Multiply-adds a row of net takes forward, per parameter: each weight
 * (not a bias) is used once per output position of its layer. */
static double work_per_param(const lm_net *net)
{
    double macs = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        size_t w = L->n_par - (L->has_bias ? (size_t)L->out.c : 0);
        if (L->n_par) macs += (double)w * L->out.h * L->out.w;
    }
    return net->n_params ? macs / (double)net->n_params : 0;
}

/* Whether a batch of n rows of net is split into shards (the rule
 * above); o is the trainer's options. */
static int shard_rows_pay(const lm_net *net, const lm_fit_opts *o, size_t n)
{
    if (o->on_grads || n < SHARD_MIN_ROWS || lm__small_net(net) ||
        (double)n * work_per_param(net) < SHARD_WORK)
        return 0;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind->flags & LM__KIND_BATCH) return 0;
    return 1;
}

void lm_train_free(lm_train *t)
{
    if (!t) return;
    if (t->net) lm__net_use(t->net, -1);
    lm__optim_free(&t->opt);
    lm_ws_free(t->ws);
    lm_ws_free(t->ws1);
    free(t->grads1);
    free(t->yb);
    free(t->lb);
    free(t->perm);
    free(t->best);
    free(t->state0);
    free(t->cw);
    free(t);
}

/* lm_train_new; an evaluation's trainer (evaluate) never shards. */
static lm_status train_new(lm_train **out, lm_net *net, const lm_fit_opts *opts, const lm_rng *rng,
                           int evaluate)
{
    lm_fit_opts full; /* the caller's fields, this library's defaults for the rest */
    if (lm__fit_opts_import(&full, opts)) return LM_EINVAL;
    opts = &full;
    lm_status st = check_fit_opts(net, opts);
    if (st) return st;
    /* Batches of one row give a batch norm after a dense layer one value
     * a channel: no statistics (PyTorch refuses such a batch), so its
     * output is beta alone, nothing before it learns and its running
     * statistics never move (batchnorm.c); every step would be that. */
    for (int l = 0; !evaluate && opts->batch == 1 && l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        char a[48];
        if ((L->kind->flags & LM__KIND_BATCH) && L->in.h == 1 && L->in.w == 1)
            return lm__err(LM_EINVAL, "layer %d (%s) on %s: a batch of 1 row gives it one value a "
                           "channel, which it cannot normalise (nothing before it would learn): "
                           "train with batches of 2 rows or more", l + 1, L->kind->name,
                           lm__shape_str(L->in, a));
    }
    lm_train *t = lm__calloc(1, sizeof *t, "trainer");
    if (!t) return LM_ENOMEM;
    t->net = net;
    lm__net_use(net, 1); /* undone by lm_train_free, whatever fails below */
    t->o = *opts;
    t->rng = *rng;
    t->batch = opts->batch;
    t->fused = lm__loss_fused(opts->loss, net->layers[net->n_layers - 1].act, lm_net_n_out(net));
    t->n_out = lm_net_n_out(net);
    size_t n_out = (size_t)t->n_out;
    if ((st = lm__optim_init(&t->opt, &opts->optim, net)) ||
        (st = lm__ws_alloc(&t->ws, net, t->batch)) ||
        (st = lm__net_prepare(net, t->ws, t->batch, &(lm_pool *){NULL}))) {
        lm_train_free(t);
        return st;
    }
    if (!evaluate && shard_rows_pay(net, opts, t->batch) &&
        ((st = lm__ws_alloc(&t->ws1, net, t->batch - t->batch / SHARDS)) ||
                                 !(t->grads1 = lm__alloc_big(net->n_params, sizeof(float), "shard gradients")))) {
        lm_train_free(t);
        return st ? st : LM_ENOMEM;
    }
    t->yb = lm__alloc(t->batch, n_out * sizeof(float), "batch targets");
    t->lb = lm__alloc(t->batch, sizeof(int32_t), "batch labels");
    if (opts->class_weights) { /* copied: the caller's array need not outlive the call */
        if (!(t->cw = lm__alloc((size_t)opts->n_class_weights, sizeof(float), "class weights"))) {
            lm_train_free(t);
            return LM_ENOMEM;
        }
        memcpy(t->cw, opts->class_weights, (size_t)opts->n_class_weights * sizeof(float));
    }
    t->o.class_weights = t->cw; /* no pointer to the caller's memory kept */
    t->best_loss = INFINITY;
    t->plateau = lm__plateau_start(&t->o);
    if (opts->early_stop > 0) t->best = lm__alloc(net->n_params + net->n_state, sizeof(float), "best parameters");
    if (net->n_state) t->state0 = lm__alloc(net->n_state, sizeof(float), "layer state");
    if (!t->yb || !t->lb || (opts->early_stop > 0 && !t->best) || (net->n_state && !t->state0)) {
        lm_train_free(t);
        return LM_ENOMEM;
    }
    if (t->ws1) { /* the rule's least rows (ws1: the batch's pass it) */
        double least = ceil(SHARD_WORK / work_per_param(net));
        t->shard_min = least > SHARD_MIN_ROWS ? (size_t)least : SHARD_MIN_ROWS;
    }
    *out = t;
    return LM_OK;
}

lm_status lm_train_new(lm_train **out, lm_net *net, const lm_fit_opts *opts, const lm_rng *rng)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(net);
    LM_NONNULL(opts);
    LM_NONNULL(rng);
    return train_new(out, net, opts, rng, 0);
}

int lm_train_epochs_done(const lm_train *t) { return t ? t->epochs_done : 0; }

/* Early stopping's bookkeeping after a completed epoch: a better monitored
 * loss (strictly lower, finite) makes this epoch the best and keeps its
 * parameters. */
static void track_best(lm_train *t, const lm_epoch_info *e)
{
    if (!t->best) return;
    float m = t->o.val && t->o.val->n ? e->val_loss : e->train_loss;
    if (m < t->best_loss) {
        t->best_loss = m;
        t->best_info = *e;
        t->since_best = 0;
        memcpy(t->best, t->net->params, t->net->n_params * sizeof(float));
        if (t->net->n_state)
            memcpy(t->best + t->net->n_params, t->net->state, t->net->n_state * sizeof(float));
    } else {
        t->since_best++;
    }
}

int lm_train_should_stop(const lm_train *t)
{
    return t && t->best && t->since_best >= t->o.early_stop;
}

int lm_train_best(const lm_train *t, lm_epoch_info *info)
{
    if (!t || !t->best || t->best_info.epoch == 0) return 0;
    if (info) *info = t->best_info;
    return t->best_info.epoch;
}

int lm_train_restore_best(lm_train *t)
{
    if (!t || !t->best || t->best_info.epoch == 0 || t->since_best == 0) return 0;
    memcpy(t->net->params, t->best, t->net->n_params * sizeof(float));
    if (t->net->n_state) memcpy(t->net->state, t->best + t->net->n_params, t->net->n_state * sizeof(float));
    return t->best_info.epoch;
}
uint64_t lm_train_steps(const lm_train *t) { return t ? t->opt.t : 0; }

float lm_train_lr(const lm_train *t) { return t ? t->opt.o.lr : NAN; }

lm_status lm_train_set_lr(lm_train *t, float lr)
{
    LM_NONNULL(t);
    if (!(lr > 0 && isfinite(lr)))
        return lm__err(LM_EINVAL, "learning rate %g must be finite and greater than 0", lr);
    if (t->o.optim.kind == LM_RPROP)
        return lm__err(LM_EINVAL, "RPROP adapts its own step sizes (lr is only the first one): "
                       "a new learning rate would not change them");
    if ((t->o.lr_schedule == LM_LR_COSINE || t->o.lr_schedule == LM_LR_PLATEAU) && lr < t->o.lr_min)
        return lm__err(LM_EINVAL, "learning rate %g is below the %s schedule's floor lr_min %g", lr,
                       lm_lr_schedule_name(t->o.lr_schedule), t->o.lr_min);
    t->o.optim.lr = lr;
    t->opt.o.lr = lr;
    t->plateau.lr = lr;
    return LM_OK;
}

/* The seed of the next step's random choices (dropout masks): a hash of
 * the trainer's RNG state and the step's number. The RNG state changes
 * only where an epoch shuffles, and both are in a checkpoint, so a resumed
 * run draws the same masks; drawing nothing from the RNG keeps the
 * shuffles of nets without random layers as they were. */
static uint64_t step_seed(const lm_train *t)
{
    uint64_t h = t->opt.t + 1;
    for (int i = 0; i < 4; i++) {
        h ^= t->rng.s[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h;
}

/* A batch's loss, judged as a float (1e39 is Inf there). */
static lm_status check_loss(double l, float *loss)
{
    *loss = (float)l;
    if (!isfinite(*loss)) return lm__err(LM_ENUMERIC, "the loss is %s", isnan(l) ? "NaN" : "infinite");
    return LM_OK;
}

/* Forward from ws->x0 (n rows loaded: rows row0.. of a batch of norm
 * rows) and the loss (unchecked) into *loss, its gradient into ws->d0 if
 * grads; counts correct rows if correct is not NULL. */
static void forward_loss_rows(const lm_train *t, lm_ws *ws, const float *y, const int32_t *labels,
                              size_t n, size_t row0, size_t norm, int grads, double *loss,
                              size_t *correct, lm_pool *pool)
{
    const lm_net *net = t->net;
    int w = t->n_out;
    /* A step (grads) runs in training mode, an evaluation in inference. */
    lm__mode mode = {grads, grads && net->n_random ? step_seed(t) : 0, row0,
                     grads ? t->o.on_reduce : NULL, t->o.reduce_ctx};
    lm__net_forward(net, ws, n, t->fused, &mode, pool);
    const float *out = ws->act[net->n_layers - 1];
    /* the class weights weigh training only: an evaluation is unweighted */
    *loss = lm__loss(t->o.loss, t->fused, out, y, labels, grads ? t->cw : NULL, n, norm, w,
                     grads ? ws->d0 : NULL);
    if (correct) *correct = lm__correct(t->fused, out, y, labels, n, w);
}

/* forward_loss_rows on a whole batch of n rows, the loss checked. */
static lm_status forward_loss(lm_train *t, const float *y, const int32_t *labels, size_t n,
                              int grads, float *loss, size_t *correct, lm_pool *pool)
{
    double l;
    forward_loss_rows(t, t->ws, y, labels, n, 0, n, grads, &l, correct, pool);
    return check_loss(l, loss);
}

/* Calls the gradient hook on the gradients of rows first..first+n-1 of
 * a batch of `rows`; sums holds their loss and correct rows. */
static lm_status call_grads_hook(lm_train *t, size_t rows, size_t first, size_t n, double *sums)
{
    lm_grads_info g = {t->net->grads, t->net->n_params, sums, 2, rows, first, n, t->opt.t,
                       t->net->state, t->net->n_state};
    lm_status st = t->o.on_grads(&g, t->o.grads_ctx);
    return st ? lm__err(st, "the gradient hook failed (%s)", lm_status_name(st)) : LM_OK;
}

/* After a training forward with a finite loss: the layers' state (batch
 * norm's running statistics) is finite, or it is put back as it was
 * before the step and the step is refused (a refused loss puts it back
 * too). Activations whose variance is past the float range
 * (a std above 1.8e19) still normalise to a finite loss and gradient, but
 * they would leave an infinite running variance, and a net that no model
 * file can hold (lm_net_save refuses it) after hours of training. */
static lm_status check_state(lm_train *t)
{
    const lm_net *net = t->net;
    if (lm_vec_all_finite(net->state, net->n_state)) return LM_OK;
    int l = 0;
    while (l + 1 < net->n_layers && !(net->layers[l].n_state &&
           !lm_vec_all_finite(net->state + net->layers[l].s_off, net->layers[l].n_state)))
        l++;
    memcpy(net->state, t->state0, net->n_state * sizeof(float));
    return lm__err(LM_ENUMERIC, "layer %d's running statistics overflowed to Inf or NaN (its inputs "
                   "vary beyond the float range: standardise the data?)", l + 1);
}

/* One optimizer step on the n rows in ws->x0, rows first.. of a batch of
 * `rows` (n = rows unless the batch is sharded): forward, loss,
 * backward, the gradient hook, update. With a hook the loss and the
 * layers' state are judged after it (a data-parallel hook sums the loss,
 * and the state is then the same on every process: lamina.h), so every
 * process calls it, even one whose loss is NaN or that has no rows (zero
 * gradients), and all refuse the same step: one refusing alone would
 * leave the others waiting in the next step's sum. */
static lm_status train_step(lm_train *t, const float *y, const int32_t *labels, size_t n,
                            size_t first, size_t rows, float *loss, size_t *correct, lm_pool *pool)
{
    lm_net *net = t->net;
    lm_status st;
    if (!t->o.on_grads) {
        if (t->state0) memcpy(t->state0, net->state, net->n_state * sizeof(float));
        st = forward_loss(t, y, labels, n, 1, loss, correct, pool);
        if (t->state0 && st) memcpy(net->state, t->state0, net->n_state * sizeof(float));
        else if (t->state0) st = check_state(t);
        if (st) return st;
        lm__net_backward(net, t->ws, n, t->fused, pool);
        return lm__optim_step(&t->opt, net->params, net->grads, pool);
    }
    double sums[2] = {0, 0};
    if (t->state0) memcpy(t->state0, net->state, net->n_state * sizeof(float));
    /* a shard with no rows still runs its (empty) passes when batch norm
     * sums statistics over the shards: every shard makes the same calls */
    if (n || t->o.on_reduce) {
        size_t c = 0;
        forward_loss_rows(t, t->ws, y, labels, n, first, rows, 1, &sums[0], correct ? &c : NULL, pool);
        lm__net_backward(net, t->ws, n, t->fused, pool);
        sums[1] = (double)c;
    } else {
        memset(net->grads, 0, net->n_params * sizeof(float));
    }
    if ((st = call_grads_hook(t, rows, first, n, sums)) == LM_OK) {
        if (correct) *correct = (size_t)sums[1];
        st = check_loss(sums[0], loss);
    }
    if (t->state0 && st) memcpy(net->state, t->state0, net->n_state * sizeof(float));
    else if (t->state0) st = check_state(t);
    if (st) return st;
    return lm__optim_step(&t->opt, net->params, net->grads, pool);
}

/* Sharded batches (see SHARDS), defined with the epochs. */
/* One sharded batch of n rows (see SHARDS): from d (rows idx[0..n) or
 * first.. in order) or, with d NULL, from x with targets y or labels. */
typedef struct shard_job {
    lm_train *t;
    const lm_data *d;
    const size_t *idx;
    size_t first;
    const float *x, *y;
    const int32_t *labels;
    size_t n;
    int count;     /* count the correct rows */
    int finite[SHARDS]; /* shard s's gradients are all finite */
    lm_pool *pool;      /* the ops' pool: NULL when the shards run side by side */
    double loss[SHARDS];
    size_t correct[SHARDS];
} shard_job;
static int sharded(const lm_train *t, size_t n);
static lm_status run_shards(lm_train *t, shard_job *j, float *loss, size_t *correct, lm_pool *pool);
/* (not inlined: the plain step's loop stays as small as it was, which a
 * tiny net's 0.1 us steps feel) */
static lm_status sharded_step(lm_train *t, shard_job *j, float *loss, size_t *correct, lm_pool *pool)
    __attribute__((noinline));

/* Binary cross-entropy's targets are probabilities: outside [0, 1] its
 * loss goes below 0 without bound as the output nears 0 or 1 (y = 2
 * trains towards -100 a row, log floored), so training minimises nothing
 * meaningful. PyTorch's BCELoss takes them without a word; refused here,
 * naming the row (from 1) and output. (n, w) targets y. */
static lm_status check_bce_targets(lm_loss loss, const float *y, size_t n, int w, const char *what)
{
    for (size_t i = 0; loss == LM_LOSS_BCE && y && i < n * (size_t)w; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f)) {
            char out[32] = "";
            if (w > 1) snprintf(out, sizeof out, " (output %d)", (int)(i % (size_t)w) + 1);
            return lm__err(LM_EINVAL, "%s row %zu: target %g%s is outside [0, 1]: binary "
                           "cross-entropy's targets are probabilities", what, i / (size_t)w + 1,
                           (double)y[i], out);
        }
    return LM_OK;
}

/* What lm_train_step and lm_train_loss_grad check of their arguments;
 * fn names the caller in messages. */
static lm_status check_rows(const char *fn, const lm_train *t, const float *x, const float *y,
                            const int32_t *labels, size_t n)
{
    if (!t) return lm__err(LM_EINVAL, "%s: t is NULL", fn);
    if (!x) return lm__err(LM_EINVAL, "%s: x is NULL", fn);
    if (!y && !labels) return lm__err(LM_EINVAL, "%s: y and labels are both NULL", fn);
    if (t->cw && !labels)
        return lm__err(LM_EINVAL, "%s: class weights need targets as labels, not y", fn);
    if (n < 1) return lm__err(LM_EINVAL, "%s: n is 0 (a step needs at least one row)", fn);
    if (n > t->batch)
        return lm__err(LM_EINVAL, "%s: %zu rows do not fit the batch size %zu", fn, n, t->batch);
    if (labels) {
        /* a label indexes the output row: one out of range reads or
         * writes outside it */
        int32_t hi = t->n_out == 1 ? 2 : t->n_out;
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= hi)
                return lm__err(LM_EINVAL, "%s: row %zu: labels[%zu] = %d is outside [0, %d)%s", fn, i, i,
                               (int)labels[i], (int)hi, t->n_out == 1 ? " (binary: 0 or 1)" : "");
    } else {
        char what[64];
        snprintf(what, sizeof what, "%s: y", fn);
        return check_bce_targets(t->o.loss, y, n, t->n_out, what);
    }
    return LM_OK;
}

lm_status lm_train_loss_grad(lm_train *t, const float *x, const float *y, const int32_t *labels,
                             size_t n, float *loss)
{
    lm_status st = check_rows(__func__, t, x, y, labels, n);
    if (st) return st;
    float ignored;
    if (!loss) loss = &ignored; /* optional, as for lm_train_step */
    lm_pool *pool;
    if ((st = lm__net_pool(t->net, &pool))) return st;
    if (sharded(t, n)) {
        /* the gradient lm_train_step steps on, summed in its order */
        shard_job j = {.t = t, .x = x, .y = y, .labels = labels, .n = n};
        st = run_shards(t, &j, loss, NULL, pool);
        float *g = t->net->grads;
        for (size_t i = 0; !st && i < t->net->n_params; i++) g[i] += t->grads1[i];
        return st;
    }
    lm__net_load_input(t->net, t->ws, x, n);
    st = forward_loss(t, y, labels, n, 1, loss, NULL, pool);
    if (!st) lm__net_backward(t->net, t->ws, n, t->fused, pool);
    return st;
}

lm_status lm_train_step(lm_train *t, const float *x, const float *y, const int32_t *labels,
                        size_t n, float *loss)
{
    lm_status st = check_rows(__func__, t, x, y, labels, n);
    if (st) return st;
    lm_pool *pool;
    if ((st = lm__net_pool(t->net, &pool))) return st;
    float l = NAN;
    if (sharded(t, n)) {
        shard_job j = {.t = t, .x = x, .y = y, .labels = labels, .n = n};
        st = sharded_step(t, &j, &l, NULL, pool);
    } else {
        lm__net_load_input(t->net, t->ws, x, n);
        st = train_step(t, y, labels, n, 0, n, &l, NULL, pool);
    }
    /* the loss when there is one (a NaN or Inf one included); a failed
     * gradient hook leaves *loss as it was */
    if (loss && (st == LM_OK || st == LM_ENUMERIC)) *loss = l;
    return st;
}

lm_status lm_train_apply_grads(lm_train *t)
{
    LM_NONNULL(t);
    lm_pool *pool;
    lm_status st = lm__net_pool(t->net, &pool);
    return st ? st : lm__optim_step(&t->opt, t->net->params, t->net->grads, pool);
}

/* ------------------------------------------------------------- epochs */

lm__plateau lm__plateau_start(const lm_fit_opts *o)
{
    return (lm__plateau){o->optim.lr, INFINITY, 0, 0};
}

/* torch's ReduceLROnPlateau.step in mode 'min', threshold_mode 'rel', in
 * the same order and in doubles: better is a loss below best (1 -
 * threshold) (NaN never is); bad epochs in a cooldown do not count; more
 * than patience bad epochs cut the lr, unless the cut (to no less than
 * lr_min) would change it by 1e-8 (torch's eps) or less. */
void lm__plateau_step(lm__plateau *p, const lm_fit_opts *o, double loss)
{
    if (loss < p->best * (1.0 - (double)o->lr_threshold)) {
        p->best = loss;
        p->bad = 0;
    } else {
        p->bad++;
    }
    if (p->cooldown > 0) {
        p->cooldown--;
        p->bad = 0;
    }
    if (p->bad > o->lr_patience) {
        double cut = fmax(p->lr * (double)o->lr_factor, (double)o->lr_min);
        if (p->lr - cut > 1e-8) p->lr = cut;
        p->cooldown = o->lr_cooldown;
        p->bad = 0;
    }
}

/* The learning rate of the epoch after `done` epochs: the warmup's, then
 * the schedule's over the epochs after the warmup. */
static float scheduled_lr(const lm_fit_opts *o, const lm__plateau *p, int done)
{
    double lr = o->optim.lr;
    int w = o->lr_warmup, e = done - w, n = o->epochs - w;
    if (done < w) return (float)(lr * (done + 1) / (w + 1));
    switch (o->lr_schedule) {
    case LM_LR_COSINE: {
        double frac = n > 0 ? (double)e / n : 0;
        return (float)(o->lr_min + (lr - o->lr_min) * 0.5 * (1 + cos(3.141592653589793 * frac)));
    }
    case LM_LR_STEP: return (float)(lr * pow(o->lr_gamma, e / o->lr_step));
    case LM_LR_PLATEAU: return (float)p->lr;
    default: return (float)lr;
    }
}

static lm_status check_data(const lm_net *net, const lm_data *d, const char *what)
{
    int w = lm_net_n_out(net);
    if (!d) return lm__err(LM_EINVAL, "the %s set is NULL", what);
    if (!d->x) return lm__err(LM_EINVAL, "%s set has no inputs", what);
    if (d->nx != net->n_in)
        return lm__err(LM_EINVAL, "%s set has %d features but the net takes %d", what, d->nx, net->n_in);
    if (d->x_type != LM_F32 && d->x_type != LM_U8) return lm__err(LM_EINVAL, "%s set has an unknown type", what);
    if (d->labels) {
        int32_t hi = w == 1 ? 2 : w;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] < 0 || d->labels[i] >= hi)
                return lm__err(LM_EINVAL, "%s set row %zu has class %d but the net has %d output%s",
                               what, i + 1, (int)d->labels[i], w, w == 1 ? " (binary: 0 or 1)" : "s");
    } else if (!d->y) {
        return lm__err(LM_EINVAL, "%s set has no targets", what);
    } else if (d->ny != w) {
        return lm__err(LM_EINVAL, "%s set has %d targets per row but the net has %d outputs", what, d->ny, w);
    }
    return LM_OK;
}

/* Row r of a batch comes from row idx[r] of d, or from row first + r
 * when idx is NULL (rows in order). */
static inline size_t source_row(const size_t *idx, size_t first, size_t r)
{
    return idx ? idx[r] : first + r;
}

/* Loads n rows of d (see source_row) into ws->x0, converting and
 * normalising, and their targets into yb or lb unless both are NULL. */
static void gather_rows(const lm_net *net, lm_ws *ws, const lm_data *d, const size_t *idx,
                        size_t first, size_t n, float *yb, int32_t *lb)
{
    size_t nx = (size_t)net->n_in;
    int w = lm_net_n_out(net);
    const float *mean = net->norm_mean, *scale = net->norm_scale;
    for (size_t r = 0; r < n; r++) {
        size_t src = source_row(idx, first, r);
        float *o = ws->x0 + r * nx;
        if (d->x_type == LM_U8)
            lm_vec_norm_u8(o, (const uint8_t *)d->x + src * nx, mean, scale, nx);
        else if (mean)
            lm_vec_norm_f32(o, (const float *)d->x + src * nx, mean, scale, nx);
        else
            memcpy(o, (const float *)d->x + src * nx, nx * sizeof(float));
        if (lb && d->labels) lb[r] = d->labels[src];
        else if (yb && !d->labels) {
            memcpy(yb + r * (size_t)w, d->y + src * (size_t)w, (size_t)w * sizeof(float));
            lm__net_target_norm_apply(net, yb + r * (size_t)w, 1, 1); /* fit standardised */
        }
    }
}

typedef struct gather_job {
    const lm_net *net;
    lm_ws *ws;
    const lm_data *d;
    const size_t *idx;
    size_t first, n;
    float *yb;
    int32_t *lb;
    int tasks;
} gather_job;

/* Task i gathers its share of the rows: each row is copied whole by one
 * thread, so the result does not depend on the thread count. */
static void gather_task(void *ctx, int i)
{
    const gather_job *j = ctx;
    size_t lo = j->n * (size_t)i / (size_t)j->tasks, hi = j->n * (size_t)(i + 1) / (size_t)j->tasks;
    size_t nx = (size_t)j->net->n_in, w = (size_t)lm_net_n_out(j->net);
    lm_ws shifted = *j->ws;
    shifted.x0 = j->ws->x0 + lo * nx;
    gather_rows(j->net, &shifted, j->d, j->idx ? j->idx + lo : NULL, j->first + lo, hi - lo,
                j->yb ? j->yb + lo * w : NULL, j->lb ? j->lb + lo : NULL);
}

static void gather(const lm_net *net, lm_ws *ws, const lm_data *d, const size_t *idx,
                   size_t first, size_t n, float *yb, int32_t *lb, lm_pool *pool)
{
    /* threads only pay off on big batches of wide rows */
    int tasks = n * (size_t)net->n_in >= 16384 ? lm_pool_size(pool) : 1;
    gather_job job = {net, ws, d, idx, first, n, yb, lb, tasks};
    if (tasks > 1) lm_pool_run(pool, tasks, gather_task, &job);
    else gather_rows(net, ws, d, idx, first, n, yb, lb);
}

/* Asks for rows idx[0..n) of d's inputs to be brought into the caches:
 * shuffled rows are scattered over the data set, and fetching them from
 * memory while the step before them computes hides that latency from the
 * gather (a tenth of a Fashion-MNIST step otherwise). */
static void prefetch_rows(const lm_data *d, const size_t *idx, size_t n)
{
    size_t row = (size_t)d->nx * (d->x_type == LM_U8 ? 1 : sizeof(float));
    const char *x = d->x;
    for (size_t r = 0; r < n; r++)
        for (size_t off = 0; off < row; off += 64) __builtin_prefetch(x + idx[r] * row + off, 0, 1);
}

/* Where a loaded batch's targets are: float rows or labels, one NULL. */
typedef struct batch_targets {
    const float *y;
    const int32_t *labels;
} batch_targets;

/* Loads n rows (see source_row) into ws, their targets into yb or lb
 * where they must be copied (each with room for the n rows). Rows in
 * order need no gathering: their targets are read where they lie in d,
 * and plain float inputs arrive with one copy. */
static batch_targets load_rows(const lm_train *t, lm_ws *ws, const lm_data *d, const size_t *idx,
                               size_t first, size_t n, float *yb, int32_t *lb, lm_pool *pool)
{
    const lm_net *net = t->net;
    if (idx) {
        gather(net, ws, d, idx, 0, n, yb, lb, pool);
        return d->labels ? (batch_targets){NULL, lb} : (batch_targets){yb, NULL};
    }
    size_t nx = (size_t)net->n_in;
    if (d->x_type == LM_F32 && !net->norm_mean)
        memcpy(ws->x0, (const float *)d->x + first * nx, n * nx * sizeof(float));
    else
        gather(net, ws, d, NULL, first, n, NULL, NULL, pool);
    if (!d->labels && net->tnorm) { /* standardised targets: a copy to fit */
        size_t w = (size_t)t->n_out;
        memcpy(yb, d->y + first * w, n * w * sizeof(float));
        lm__net_target_norm_apply(net, yb, n, 1);
        return (batch_targets){yb, NULL};
    }
    return d->labels ? (batch_targets){NULL, d->labels + first}
                     : (batch_targets){d->y + first * (size_t)t->n_out, NULL};
}

/* The n rows of a batch into t->ws. */
static batch_targets load_batch(lm_train *t, const lm_data *d, const size_t *idx, size_t first,
                                size_t n, lm_pool *pool)
{
    return load_rows(t, t->ws, d, idx, first, n, t->yb, t->lb, pool);
}

/* ----------------------------------------------------------- shards */


/* Shard s's rows: [lo, lo + k) of the batch. */
static size_t shard_rows(const shard_job *j, int s, size_t *k)
{
    size_t lo = j->n * (size_t)s / SHARDS;
    *k = j->n * (size_t)(s + 1) / SHARDS - lo;
    return lo;
}

static lm_ws *shard_ws(lm_train *t, int s) { return s ? t->ws1 : t->ws; }

/* Loads shard s's rows into its workspace; where its targets are. */
static batch_targets shard_load(shard_job *j, int s, lm_pool *pool)
{
    lm_train *t = j->t;
    size_t k, lo = shard_rows(j, s, &k), w = (size_t)t->n_out;
    lm_ws *ws = shard_ws(t, s);
    if (j->d)
        return load_rows(t, ws, j->d, j->idx ? j->idx + lo : NULL, j->first + lo, k, t->yb + lo * w,
                         t->lb + lo, pool);
    lm__net_load_input(t->net, ws, j->x + lo * (size_t)t->net->n_in, k);
    return (batch_targets){j->y ? j->y + lo * w : NULL, j->labels ? j->labels + lo : NULL};
}

/* Shard s's training mode: dropout draws the masks its rows get in the
 * whole batch. */
static lm__mode shard_mode(const shard_job *j, int s)
{
    size_t k;
    /* no reduce hook: nets whose layers sum over rows are never sharded */
    return (lm__mode){1, j->t->net->n_random ? step_seed(j->t) : 0, shard_rows(j, s, &k), NULL, NULL};
}

/* Shard s's loss (its share of the batch's) and its gradient into its
 * ws->d0, after its forward. */
static void shard_loss(shard_job *j, int s, batch_targets bt)
{
    lm_train *t = j->t;
    size_t k;
    shard_rows(j, s, &k);
    lm_ws *ws = shard_ws(t, s);
    const float *out = ws->act[t->net->n_layers - 1];
    j->loss[s] = lm__loss(t->o.loss, t->fused, out, bt.y, bt.labels, t->cw, k, j->n, t->n_out, ws->d0);
    j->correct[s] = j->count ? lm__correct(t->fused, out, bt.y, bt.labels, k, t->n_out) : 0;
}

/* Shard s: load, forward, loss, backward into its gradient buffer, each
 * op on j->pool's threads (NULL: on this thread alone, the shards side
 * by side). */
static void shard_task(void *ctx, int s)
{
    shard_job *j = ctx;
    lm_train *t = j->t;
    size_t k;
    shard_rows(j, s, &k);
    lm_ws *ws = shard_ws(t, s);
    float *g = s ? t->grads1 : t->net->grads;
    lm__mode mode = shard_mode(j, s);
    batch_targets bt = shard_load(j, s, j->pool);
    lm__net_forward(t->net, ws, k, t->fused, &mode, j->pool); /* never fused: see SHARDS */
    shard_loss(j, s, bt);
    lm__net_backward_to(t->net, ws, g, k, t->fused, &j->finite[s], j->pool);
}

/* Whether a batch of n rows is sharded. */
static int sharded(const lm_train *t, size_t n) { return t->ws1 && n >= t->shard_min; }

/* The shards' forward and backward (see SHARDS): the loss (checked) and
 * correct rows (if correct is not NULL) of the whole batch; the
 * gradients stay in net->grads and grads1. */
static lm_status run_shards(lm_train *t, shard_job *j, float *loss, size_t *correct, lm_pool *pool)
{
    int threads = lm_pool_size(pool);
    j->count = correct != NULL;
    if (threads >= 2 && threads < SHARD_SEQ_THREADS) {
        j->pool = NULL;
        lm_pool_run(pool, SHARDS, shard_task, j);
    } else {
        /* one after the other, every op on all the threads (if more
         * than one); each shard through all its layers before the next:
         * on 1 thread the CNN ran as fast as main's step that way, 3-5%
         * slower layer by layer (each layer on both shards, whose
         * activations then leave the cache between layers) */
        j->pool = threads > 1 ? pool : NULL;
        for (int s = 0; s < SHARDS; s++) shard_task(j, s);
    }
    double l = 0; /* in shard order, whoever ran them */
    size_t c = 0;
    for (int s = 0; s < SHARDS; s++) {
        l += j->loss[s];
        c += j->correct[s];
    }
    if (correct) *correct = c;
    return check_loss(l, loss);
}

/* One optimizer step on a sharded batch: the update reads g0 + g1. */
static lm_status sharded_step(lm_train *t, shard_job *j, float *loss, size_t *correct, lm_pool *pool)
{
    lm_status st = run_shards(t, j, loss, correct, pool);
    if (st) return st;
    return lm__optim_step_sum(&t->opt, t->net->params, t->net->grads, t->grads1,
                              j->finite[0] && j->finite[1], pool);
}

static int reports_accuracy(const lm_train *t, const lm_data *d)
{
    lm_act last = t->net->layers[t->net->n_layers - 1].act;
    return d->labels || t->o.loss == LM_LOSS_BCE || t->o.loss == LM_LOSS_CE ||
           last == LM_SIGMOID || last == LM_SOFTMAX;
}

/* Sum-type losses (SSE) add up over batches; mean-type ones average by
 * rows. */
static float aggregate(lm_loss loss, double weighted_sum, double plain_sum, size_t n)
{
    return (float)(loss == LM_LOSS_SSE ? plain_sum : weighted_sum / (double)n);
}

static lm_status ensure_perm(lm_train *t, size_t n)
{
    if (n <= t->perm_cap) return LM_OK;
    size_t *p = lm__alloc(n, sizeof *p, "row order");
    if (!p) return LM_ENOMEM;
    free(t->perm);
    t->perm = p;
    t->perm_cap = n;
    return LM_OK;
}

/* Loss and accuracy over all of d with the trainer's buffers. */
static lm_status eval_with(lm_train *t, const lm_data *d, float *loss, float *acc)
{
    lm_pool *pool;
    lm_status pst = lm__net_pool(t->net, &pool);
    if (pst) return pst;
    double wsum = 0, psum = 0;
    size_t correct = 0;
    for (size_t r = 0; r < d->n; r += t->batch) {
        size_t m = d->n - r < t->batch ? d->n - r : t->batch, c;
        batch_targets bt = load_batch(t, d, NULL, r, m, pool);
        float l;
        lm_status st = forward_loss(t, bt.y, bt.labels, m, 0, &l, &c, pool);
        if (st) return st;
        wsum += (double)l * m;
        psum += l;
        correct += c;
    }
    *loss = d->n ? aggregate(t->o.loss, wsum, psum, d->n) : NAN;
    *acc = reports_accuracy(t, d) && d->n ? (float)correct / (float)d->n : NAN;
    return LM_OK;
}

/* What lm_train_epoch checks of its data; lm_fit checks once per fit. */
static lm_status check_epoch_data(const lm_train *t, const lm_data *d)
{
    lm_status st = check_data(t->net, d, "training");
    if (!st && t->cw && !d->labels)
        st = lm__err(LM_EINVAL, "class weights need the training set's targets as labels, not y");
    if (!st && !d->labels) st = check_bce_targets(t->o.loss, d->y, d->n, d->ny, "training set");
    if (!st && t->o.val) st = check_data(t->net, t->o.val, "validation");
    if (!st && t->o.val && !t->o.val->labels)
        st = check_bce_targets(t->o.loss, t->o.val->y, t->o.val->n, t->o.val->ny, "validation set");
    if (!st && d->n == 0) st = lm__err(LM_EINVAL, "the training set is empty");
    return st;
}

/* Checks d and sizes the row order for it: the one buffer the data's
 * size decides, allocated before the epochs (once per size), never in
 * one. */
static lm_status prepare_epochs(lm_train *t, const lm_data *d)
{
    lm_status st = check_epoch_data(t, d);
    return st || !t->o.shuffle ? st : ensure_perm(t, d->n);
}

/* The row order of an epoch in t->perm (Fisher-Yates), or NULL when the
 * rows go in order. */
static lm_status epoch_order(lm_train *t, size_t n, const size_t **order)
{
    *order = NULL;
    if (!t->o.shuffle) return LM_OK;
    lm_status st = ensure_perm(t, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) t->perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)lm_rng_below(&t->rng, i + 1), tmp = t->perm[i];
        t->perm[i] = t->perm[j];
        t->perm[j] = tmp;
    }
    *order = t->perm;
    return LM_OK;
}

/* One epoch over checked data. The rows are counted correct only for a
 * caller that reads info. */
static lm_status run_epoch(lm_train *t, const lm_data *d, lm_epoch_info *info)
{
    /* timed only for a caller that reads it: a clock read is a fair share
     * of a tiny net's epoch */
    double t0 = info ? lm__now_sec() : 0;
    const size_t *order;
    lm_status st = epoch_order(t, d->n, &order);
    if (st) return st;
    int epoch = t->epochs_done + 1;
    t->opt.o.lr = scheduled_lr(&t->o, &t->plateau, t->epochs_done);
    lm_pool *pool;
    if ((st = lm__net_pool(t->net, &pool))) return st;
    size_t nb = (d->n + t->batch - 1) / t->batch, correct = 0, c = 0;
    /* the pool times the steps (lm__pool_step), except a small net's:
     * its steps run on this thread alone, and two clock reads are a fair
     * share of the tutorial's epoch */
    lm_pool *timer = pool && !lm__small_net(t->net) ? pool : NULL;
    double wsum = 0, psum = 0;
    /* a sharded batch: this process's part of it (see lm_fit_opts.shards) */
    size_t shards = t->o.shards > 1 ? (size_t)t->o.shards : 1, shard = shards > 1 ? (size_t)t->o.shard : 0;
    for (size_t b = 0; b < nb; b++) {
        size_t r = b * t->batch, m = d->n - r < t->batch ? d->n - r : t->batch;
        size_t lo = m * shard / shards, hi = m * (shard + 1) / shards;
        float l;
        /* full batches are the steps the pool times (threads or not) */
        lm__pool_step(timer, m == t->batch ? m : 0);
        if (sharded(t, m)) { /* (never with shards: on_grads) */
            shard_job j = {.t = t, .d = d, .idx = order ? order + r : NULL, .first = r, .n = m};
            if (order && b + 1 < nb) prefetch_rows(d, order + r + m, d->n - r - m < t->batch ? d->n - r - m : t->batch);
            st = sharded_step(t, &j, &l, info ? &c : NULL, pool);
        } else {
            batch_targets bt = {NULL, NULL};
            if (hi > lo) bt = load_batch(t, d, order ? order + r + lo : NULL, r + lo, hi - lo, pool);
            if (order && b + 1 < nb) prefetch_rows(d, order + r + m, d->n - r - m < t->batch ? d->n - r - m : t->batch);
            st = train_step(t, bt.y, bt.labels, hi - lo, lo, m, &l, info ? &c : NULL, pool);
        }
        if (st) {
            lm__pool_step(timer, 0);
            lm__err_prefix("epoch %d, batch %zu of %zu", epoch, b + 1, nb);
            return st;
        }
        wsum += (double)l * m;
        psum += l;
        correct += c;
        int stop = t->o.stop && *t->o.stop; /* a flag: no callback, so no lock in the caller */
        if (t->o.on_batch && !stop) {
            lm_batch_info bi = {epoch, b + 1, nb, r + m, aggregate(t->o.loss, wsum, psum, r + m)};
            if (t->o.loss == LM_LOSS_SSE) bi.loss = (float)(psum / (double)(b + 1));
            stop = t->o.on_batch(&bi, t->o.ctx);
        }
        if (stop) { /* the step is taken; the epoch is not complete */
            lm__pool_step(timer, 0);
            return lm__err(LM_ESTOPPED, "stopped during epoch %d after batch %zu", epoch, b + 1);
        }
    }
    lm__pool_step(timer, 0); /* the last step ends here, not at the next epoch */
    t->epochs_done = epoch;
    /* the plateau judges the epochs after the warmup */
    int plateau = t->o.lr_schedule == LM_LR_PLATEAU && epoch > t->o.lr_warmup;
    if (!info && !t->best && !plateau && !(t->o.val && t->o.val->n)) return LM_OK;
    lm_epoch_info e = {epoch, t->o.epochs, aggregate(t->o.loss, wsum, psum, d->n),
                       reports_accuracy(t, d) ? (float)correct / (float)d->n : NAN,
                       NAN, NAN, 0, t->opt.t, t->opt.o.lr};
    if (t->o.val && t->o.val->n && (st = eval_with(t, t->o.val, &e.val_loss, &e.val_acc))) {
        lm__err_prefix("epoch %d, validation", epoch);
        return st;
    }
    e.seconds = info ? lm__now_sec() - t0 : 0;
    track_best(t, &e);
    if (plateau) lm__plateau_step(&t->plateau, &t->o, t->o.val && t->o.val->n ? e.val_loss : e.train_loss);
    if (info) *info = e;
    return LM_OK;
}

lm_status lm_train_epoch(lm_train *t, const lm_data *d, lm_epoch_info *info)
{
    LM_NONNULL(t);
    LM_NONNULL(d);
    lm_status st = prepare_epochs(t, d);
    return st ? st : run_epoch(t, d, info);
}

lm_status lm_evaluate(lm_net *net, const lm_data *d, lm_loss loss, float *out_loss, float *out_acc)
{
    LM_NONNULL(net);
    LM_NONNULL(d);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = loss;
    o.batch = lm__predict_rows(net, d->n); /* a workspace sized by the rows given */
    lm_rng rng = lm_rng_seed(0);
    lm_train *t;
    lm_status st = check_data(net, d, "evaluation");
    if (!st && d->n == 0) st = lm__err(LM_EINVAL, "the evaluation set is empty");
    if (!st && !d->labels) st = check_bce_targets(loss, d->y, d->n, d->ny, "evaluation set");
    if (!st) st = train_new(&t, net, &o, &rng, 1);
    if (st) return st;
    float l = NAN, a = NAN;
    st = eval_with(t, d, &l, &a);
    lm_train_free(t);
    if (out_loss) *out_loss = l;
    if (out_acc) *out_acc = a;
    return st;
}

/* ---------------------------------------------------------------- fit */

lm_status lm_fit(lm_net *net, const lm_data *d, const lm_fit_opts *opts, lm_rng *rng)
{
    LM_NONNULL(net);
    LM_NONNULL(d);
    LM_NONNULL(opts);
    LM_NONNULL(rng);
    lm_fit_opts o;
    if (lm__fit_opts_import(&o, opts)) return LM_EINVAL;
    if (d->n && o.batch > d->n) o.batch = d->n; /* a batch beyond n is the whole set */
    opts = &o;
    lm_train *t;
    lm_status st = lm_train_new(&t, net, opts, rng);
    if (st) return st;
    /* the data cannot change during the call: checked once, not per epoch */
    if (opts->epochs > 0) st = prepare_epochs(t, d);
    for (int e = 0; !st && e < opts->epochs; e++) {
        lm_epoch_info info = {0};
        st = run_epoch(t, d, opts->on_epoch ? &info : NULL);
        if (st) break;
        if (opts->on_epoch && opts->on_epoch(&info, opts->ctx)) break;
        if (lm_train_should_stop(t)) break;
    }
    if (st != LM_ENUMERIC) lm_train_restore_best(t);
    *rng = t->rng;
    lm_train_free(t);
    return st == LM_ESTOPPED ? LM_OK : st;
}

/* -------------------------------------------------------- checkpoints */

lm_status lm_train_save(const lm_train *t, const char *path)
{
    LM_NONNULL(t);
    LM_NONNULL(path);
    lm__train_state ts = {t->epochs_done, t->opt.t, t->rng, t->opt.o.kind, t->opt.n, t->opt.m, t->opt.v, 0,
                          t->o.lr_schedule == LM_LR_PLATEAU, t->plateau};
    unsigned char *buf;
    size_t len;
    lm_status st = lm__model_encode(t->net, &ts, &buf, &len);
    if (st) return st;
    st = lm__write_atomic(path, buf, len);
    free(buf);
    return st;
}

lm_status lm_train_state_info(const char *path, int *has_state, int *epochs_done, uint64_t *steps)
{
    LM_NONNULL(path);
    LM_NONNULL(has_state);
    *has_state = 0;
    if (epochs_done) *epochs_done = 0;
    if (steps) *steps = 0;
    unsigned char *buf;
    size_t len;
    lm_status st = lm__read_file(path, &buf, &len);
    if (st) return st;
    lm_net *net = NULL;
    lm__train_state ts = {.counts_only = 1}; /* any optimizer, even a newer lamina's */
    st = lm__model_decode(buf, len, &net, &ts, has_state);
    free(buf);
    if (st) {
        lm__err_prefix("%s", path);
        return st;
    }
    if (*has_state && epochs_done) *epochs_done = ts.epochs_done;
    if (*has_state && steps) *steps = ts.step;
    free(ts.m);
    free(ts.v);
    lm_net_free(net);
    return LM_OK;
}

static int same_arch(const lm_net *a, const lm_net *b)
{
    if (a->n_in != b->n_in || a->n_layers != b->n_layers || a->n_state != b->n_state) return 0;
    for (int l = 0; l < a->n_layers; l++) {
        const lm__layer *x = &a->layers[l], *y = &b->layers[l];
        /* the same kind with the same settings on the same shape */
        if (x->kind != y->kind || x->n_out != y->n_out || x->act != y->act || x->has_bias != y->has_bias ||
            memcmp(&x->in, &y->in, sizeof x->in) || memcmp(&x->out, &y->out, sizeof x->out) ||
            x->n_par != y->n_par)
            return 0;
        uint32_t wx[LM__MAX_WORDS], wy[LM__MAX_WORDS];
        x->kind->put(&x->cfg, wx);
        y->kind->put(&y->cfg, wy);
        if (memcmp(wx, wy, (size_t)x->kind->n_words * sizeof *wx)) return 0;
    }
    return 1;
}

lm_status lm_train_resume(lm_train *t, const char *path)
{
    LM_NONNULL(t);
    LM_NONNULL(path);
    unsigned char *buf;
    size_t len;
    lm_status st = lm__read_file(path, &buf, &len);
    if (st) return st;
    lm_net *saved = NULL;
    lm__train_state ts = {0};
    int has_ts = 0;
    st = lm__model_decode(buf, len, &saved, &ts, &has_ts);
    free(buf);
    if (st) {
        lm__err_prefix("%s", path);
        return st;
    }
    if (!has_ts) st = lm__err(LM_EFORMAT, "%s: holds no training state (save it as a checkpoint)", path);
    else if (!same_arch(saved, t->net)) st = lm__err(LM_EINVAL, "%s: its architecture differs from the net being trained", path);
    else if (ts.optim_kind != (int)t->opt.o.kind || (!ts.m) != (!t->opt.m) || (!ts.v) != (!t->opt.v))
        st = lm__err(LM_EINVAL, "%s: its optimizer state (%s) does not match this run's optimizer (%s)",
                     path, lm_optim_name((lm_optim_kind)ts.optim_kind), lm_optim_name(t->opt.o.kind));
    /* What can fail (it allocates) goes first and changes nothing when it
     * fails: the target standardisation is copied aside, then the
     * normalisation set (the last step that can fail); the rest cannot. */
    float *tnorm = NULL;
    if (!st && saved->tnorm) {
        tnorm = lm__alloc(2 * (size_t)saved->tnorm_n, sizeof *tnorm, "target normalisation");
        if (!tnorm) st = LM_ENOMEM;
        else memcpy(tnorm, saved->tnorm, 2 * (size_t)saved->tnorm_n * sizeof *tnorm);
    }
    if (!st) st = lm_net_set_norm(t->net, saved->norm_mean, saved->norm_scale);
    if (!st) { /* the file's, or none when it holds none (as the normalisation) */
        free(t->net->tnorm);
        t->net->tnorm = tnorm;
        t->net->tnorm_n = tnorm ? saved->tnorm_n : 0;
        tnorm = NULL;
    }
    free(tnorm); /* a failure after the copy */
    if (!st) {
        memcpy(t->net->params, saved->params, saved->n_params * sizeof(float));
        if (saved->n_state) memcpy(t->net->state, saved->state, saved->n_state * sizeof(float));
        if (t->opt.m) memcpy(t->opt.m, ts.m, ts.n * sizeof(float));
        if (t->opt.v) memcpy(t->opt.v, ts.v, ts.n * sizeof(float));
        t->opt.t = ts.step;
        t->rng = ts.rng;
        t->epochs_done = ts.epochs_done;
        /* the plateau's state as saved; a file without one (another
         * schedule's, an older lamina's) starts the plateau afresh */
        t->plateau = ts.has_plateau ? ts.plateau : lm__plateau_start(&t->o);
    }
    free(ts.m);
    free(ts.v);
    lm_net_free(saved);
    return st;
}
