/* net.c - the network: layers over one flat parameter buffer and one flat
 * gradient buffer, forward and backward over the layers, predict. */
#include "internal.h"
#include "layers/layer.h"
#include "small_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A stamp no net has had (lm_net.stamp); atomic: nets are made and
 * changed on many threads. */
static uint64_t new_stamp(void)
{
    static atomic_uint_fast64_t next = 1;
    return (uint64_t)atomic_fetch_add(&next, 1);
}

lm_status lm_net_new(lm_net **out, int n_in)
{
    LM_NONNULL(out);
    *out = NULL;
    if (n_in < 1 || n_in > LM_MAX_WIDTH)
        return lm__err(LM_EINVAL, "input width %d is out of range 1..%d", n_in, LM_MAX_WIDTH);
    lm_net *net = lm__calloc(1, sizeof *net, "a net");
    if (!net) return LM_ENOMEM;
    net->n_in = n_in;
    net->in_shape = (lm__shape){n_in, 1, 1};
    net->stamp = new_stamp();
    *out = net;
    return LM_OK;
}

static void free_strings(char **s, int n)
{
    if (!s) return;
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

void lm_net_free(lm_net *net)
{
    if (!net) return;
    free(net->layers);
    free(net->params); /* and the gradients after them */
    free(net->state);
    free(net->norm_mean);
    free(net->norm_scale);
    free(net->tnorm);
    free_strings(net->class_names, net->n_classes);
    free_strings(net->meta_keys, net->n_meta);
    free_strings(net->meta_vals, net->n_meta);
    lm_pool_free(net->pool);
    lm_ws_free(net->ws);
    free(net);
}

/* The getters answer a NULL net with a neutral value (0 or NULL), as the
 * header says. */
int lm_net_n_in(const lm_net *net) { return net ? net->n_in : 0; }
int lm_net_n_layers(const lm_net *net) { return net ? net->n_layers : 0; }
size_t lm_net_n_params(const lm_net *net) { return net ? net->n_params : 0; }
float *lm_net_params(lm_net *net) { return net ? net->params : NULL; }
const float *lm_net_params_const(const lm_net *net) { return net ? net->params : NULL; }
float *lm_net_grads(lm_net *net) { return net ? net->grads : NULL; }
size_t lm_net_n_state(const lm_net *net) { return net ? net->n_state : 0; }
float *lm_net_state(lm_net *net) { return net ? net->state : NULL; }

int lm_net_n_out(const lm_net *net)
{
    if (!net) return 0;
    return net->n_layers ? net->layers[net->n_layers - 1].n_out : net->n_in;
}

int lm__max_width(const lm_net *net)
{
    int w = net->n_in;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].n_out > w) w = net->layers[l].n_out;
    return w;
}

lm_status lm_net_layer(const lm_net *net, int i, lm_layer_info *info)
{
    LM_NONNULL(net);
    LM_NONNULL(info);
    if (i < 0 || i >= net->n_layers)
        return lm__err(LM_EINVAL, "layer %d does not exist (the net has %d)", i, net->n_layers);
    const lm__layer *L = &net->layers[i];
    /* Only matmul kinds keep w_off and b_off; a conv2d's W comes first and
     * its bias (filters) last, as lamina.h lays them out. */
    size_t b = !L->has_bias           ? (size_t)-1
               : L->b_off != SIZE_MAX ? L->b_off
                                      : L->p_off + L->n_par - (size_t)L->cfg.units;
    *info = (lm_layer_info){L->n_in, L->n_out, L->act, L->has_bias, L->w_off != SIZE_MAX ? L->w_off : L->p_off, b};
    return LM_OK;
}

lm_status lm_net_layer_desc(const lm_net *net, int i, lm_layer_desc *d)
{
    LM_NONNULL(net);
    LM_NONNULL(d);
    size_t size = d->size;
    if (size < offsetof(lm_layer_desc, kind) + sizeof d->kind)
        return lm__err(LM_EINVAL, "lm_net_layer_desc: size %zu is too small (set it to sizeof(lm_layer_desc))", size);
    if (i < 0 || i >= net->n_layers)
        return lm__err(LM_EINVAL, "layer %d does not exist (the net has %d)", i, net->n_layers);
    const lm__layer *L = &net->layers[i];
    lm_layer_desc full = {sizeof full, L->kind->id, L->act, L->has_bias, L->in.c, L->in.h, L->in.w,
                          L->out.c, L->out.h, L->out.w, L->cfg.units, L->cfg.kh, L->cfg.kw, L->cfg.stride,
                          L->cfg.pad, L->cfg.rate, L->cfg.momentum, L->cfg.eps, L->p_off, L->n_par,
                          L->s_off, L->n_state};
    /* a caller compiled with a shorter layout gets its own fields only */
    memcpy(d, &full, size < sizeof full ? size : sizeof full);
    d->size = size;
    return LM_OK;
}

/* Moves the parameters into a new block of cap floats for each of
 * params and grads (cap >= n_params). */
static lm_status param_block(lm_net *net, size_t cap)
{
    /* The gradients follow the parameters in one block, then
     * LM_SMALL_WIDTH spare floats: the fused small-net kernels read a
     * weight row as a whole group of lanes (kernels/small.h) */
    float *p = lm__alloc_big(2 * cap + LM_SMALL_WIDTH, sizeof(float), "parameters and gradients");
    if (!p) return LM_ENOMEM;
    if (net->n_params) memcpy(p, net->params, net->n_params * sizeof(float));
    free(net->params);
    net->params = p;
    net->grads = p + cap;
    net->cap_params = cap;
    net->stamp = new_stamp();
    return LM_OK;
}

lm_status lm__net_reserve(lm_net *net, int n_layers, size_t n_params)
{
    if (n_params > (SIZE_MAX - LM_SMALL_WIDTH) / 2 / sizeof(float))
        return lm__err(LM_ENOMEM, "%zu parameters are too many", n_params);
    if (n_layers > net->cap_layers) {
        lm__layer *nl = lm__realloc(net->layers, (size_t)n_layers, sizeof *nl, "layer list");
        if (!nl) return LM_ENOMEM;
        net->layers = nl;
        net->cap_layers = n_layers;
    }
    return n_params > net->cap_params ? param_block(net, n_params) : LM_OK;
}

void lm__net_use(lm_net *net, int delta) { atomic_fetch_add(&net->users, delta); }

/* The shape the next layer takes. */
static lm__shape next_shape(const lm_net *net)
{
    return net->n_layers ? net->layers[net->n_layers - 1].out : net->in_shape;
}

lm_status lm_net_set_input_shape(lm_net *net, int c, int h, int w)
{
    LM_NONNULL(net);
    if (net->n_layers) return lm__err(LM_EINVAL, "the input shape is set before any layer is added");
    if (c < 1 || h < 1 || w < 1 || (size_t)c * (size_t)h * (size_t)w != (size_t)net->n_in)
        return lm__err(LM_EINVAL, "input shape (%d, %d, %d) does not hold the net's %d inputs", c, h, w,
                       net->n_in);
    net->in_shape = (lm__shape){c, h, w};
    return LM_OK;
}

lm_status lm__layer_make(const lm_net *net, const lm__layer_cfg *cfg, lm__layer *out)
{
    LM_NONNULL(net);
    LM_NONNULL(cfg);
    int index = net->n_layers + 1;
    int users = atomic_load(&net->users);
    if (users)
        return lm__err(LM_EINVAL, "adding layer %d: the net's shape is frozen while %d trainer%s or "
                       "workspace%s made for it exist%s; free them first", index, users, users > 1 ? "s" : "",
                       users > 1 ? "s" : "", users > 1 ? "" : "s");
    const lm__kind *K = lm__kind_of((int)cfg->kind);
    if ((unsigned)cfg->kind >= LM_LAYER_KIND_COUNT)
        return lm__err(LM_EINVAL, "layer %d: unknown kind %d", index, (int)cfg->kind);
    if (!K) return lm__err(LM_EINVAL, "layer %d: layers of kind %d are not built yet", index, (int)cfg->kind);
    if ((unsigned)cfg->act >= LM_ACT_COUNT) return lm__err(LM_EINVAL, "unknown activation %d", (int)cfg->act);
    if (cfg->flags != LM_BIAS && cfg->flags != LM_NO_BIAS)
        return lm__err(LM_EINVAL, "unknown layer flags %d", cfg->flags);
    if (net->n_layers >= LM_MAX_LAYERS)
        return lm__err(LM_EINVAL, "a net holds at most %d layers", LM_MAX_LAYERS);
    lm__layer L = {.kind = K, .cfg = *cfg, .in = next_shape(net), .act = cfg->act};
    L.n_in = (int)lm__shape_size(L.in);
    L.w_off = L.b_off = SIZE_MAX;
    lm_status st = K->infer(&L, index);
    if (st) return st;
    size_t n_out = lm__shape_size(L.out);
    if (L.out.c < 1 || L.out.h < 1 || L.out.w < 1 || n_out > LM_MAX_WIDTH) {
        char a[48], b[48];
        return lm__err(LM_EINVAL, "layer %d (%s): output shape %s from input %s is %s", index, K->name,
                       lm__shape_str(L.out, b), lm__shape_str(L.in, a), n_out ? "too large" : "empty");
    }
    L.n_out = (int)n_out;
    *out = L;
    return LM_OK;
}

lm_status lm__net_add(lm_net *net, const lm__layer_cfg *cfg)
{
    lm__layer L;
    lm_status st = lm__layer_make(net, cfg, &L);
    if (st) return st;
    /* Class names and a target standardisation describe the outputs: a
     * layer that changes their width would leave them describing nothing
     * (a model file the reader refuses, a clone reading past them). */
    int index = net->n_layers + 1;
    if (net->class_names && net->n_classes != L.n_out && !(net->n_classes == 2 && L.n_out == 1))
        return lm__err(LM_EINVAL, "layer %d: its %d outputs do not fit the net's %d class names; set "
                       "them after the last layer (or clear them first)", index, L.n_out, net->n_classes);
    if (net->tnorm && net->tnorm_n != L.n_out)
        return lm__err(LM_EINVAL, "layer %d: its %d outputs do not fit the net's target standardisation "
                       "for %d; set it after the last layer (or clear it first)", index, L.n_out, net->tnorm_n);
    const lm__kind *K = L.kind;
    size_t add = L.n_par, total = net->n_params + add;
    if (total < add || total > (SIZE_MAX - LM_SMALL_WIDTH) / 2 || net->n_state + L.n_state < L.n_state)
        return lm__err(LM_ENOMEM, "layer %d x %d is too large", L.n_in, L.n_out);

    if (net->n_layers == net->cap_layers) {
        int cap = net->cap_layers ? net->cap_layers * 2 : 4;
        lm__layer *nl = lm__realloc(net->layers, (size_t)cap, sizeof *nl, "layer list");
        if (!nl) return LM_ENOMEM;
        net->layers = nl;
        net->cap_layers = cap;
    }
    float *ns = NULL;
    if (L.n_state) {
        ns = lm__calloc(net->n_state + L.n_state, sizeof(float), "layer state");
        if (!ns) return LM_ENOMEM;
        if (net->n_state) memcpy(ns, net->state, net->n_state * sizeof(float));
    }
    if (total > net->cap_params || !net->params) {
        st = param_block(net, total);
        if (st) {
            char a[48];
            lm__err_prefix("layer %d (%s) on %s, %zu parameters", index, K->name, lm__shape_str(L.in, a),
                           L.n_par);
            free(ns);
            return st;
        }
    }
    if (ns) {
        free(net->state);
        net->state = ns;
    }
    L.p_off = net->n_params;
    L.s_off = net->n_state;
    /* the matrix offsets become absolute, as lm_layer_info reports them */
    if (L.w_off != SIZE_MAX) L.w_off += L.p_off;
    if (L.b_off != SIZE_MAX) L.b_off += L.p_off;
    net->layers[net->n_layers++] = L;
    net->n_params = total;
    net->n_state += L.n_state;
    net->n_random += (K->flags & LM__KIND_RANDOM) != 0;
    if (K->start) K->start(&L, net->params + L.p_off, net->state ? net->state + L.s_off : NULL);
    net->stamp = new_stamp();
    lm_ws_free(net->ws); /* shapes changed */
    net->ws = NULL;
    return LM_OK;
}

lm_status lm_net_add_dense(lm_net *net, int n_out, lm_act act, int flags)
{
    LM_NONNULL(net);
    if (n_out < 1 || n_out > LM_MAX_WIDTH)
        return lm__err(LM_EINVAL, "layer width %d is out of range 1..%d", n_out, LM_MAX_WIDTH);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_DENSE, .units = n_out, .act = act, .flags = flags});
}

lm_status lm_net_add_conv2d(lm_net *net, int filters, int kh, int kw, int stride, int pad, lm_act act,
                            int flags)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_CONV2D, .units = filters, .kh = kh, .kw = kw,
                                             .stride = stride, .pad = pad, .act = act, .flags = flags});
}

lm_status lm_net_add_maxpool2d(lm_net *net, int size, int stride)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_MAXPOOL2D, .kh = size, .kw = size, .stride = stride});
}

lm_status lm_net_add_avgpool2d(lm_net *net, int size, int stride)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_AVGPOOL2D, .kh = size, .kw = size, .stride = stride});
}

lm_status lm_net_add_global_avgpool(lm_net *net)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_GLOBAL_AVGPOOL});
}

lm_status lm_net_add_dropout(lm_net *net, float rate)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_DROPOUT, .rate = rate});
}

lm_status lm_net_add_batchnorm(lm_net *net, float momentum, float eps)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_BATCHNORM, .momentum = momentum, .eps = eps});
}

lm_status lm_net_add_activation(lm_net *net, lm_act act)
{
    LM_NONNULL(net);
    return lm__net_add(net, &(lm__layer_cfg){.kind = LM_LAYER_ACTIVATION, .act = act});
}

lm_status lm_net_init(lm_net *net, lm_init init, lm_rng *rng)
{
    LM_NONNULL(net);
    LM_NONNULL(rng);
    if ((unsigned)init >= LM_INIT_COUNT) return lm__err(LM_EINVAL, "unknown initialiser %d", (int)init);
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (L->kind->init)
            L->kind->init(L, net->params + L->p_off, net->state ? net->state + L->s_off : NULL, init, rng);
    }
    return LM_OK;
}

/* ----------------------------------------------------- normalisation */

lm_status lm_net_set_norm(lm_net *net, const float *mean, const float *scale)
{
    LM_NONNULL(net);
    /* Validated and copied before the old one is dropped: a refused or
     * failed call leaves the net as it was. */
    if (!mean != !scale) return lm__err(LM_EINVAL, "lm_net_set_norm: needs both mean and scale (or neither)");
    float *m = NULL, *sc = NULL;
    if (mean) {
        for (int i = 0; i < net->n_in; i++)
            if (!isfinite(mean[i]) || !isfinite(scale[i]))
                return lm__err(LM_EINVAL, "lm_net_set_norm: normalisation of input %d is not finite", i);
        m = lm__alloc((size_t)net->n_in, sizeof(float), "normalisation");
        sc = m ? lm__alloc((size_t)net->n_in, sizeof(float), "normalisation") : NULL;
        if (!sc) {
            free(m);
            return LM_ENOMEM;
        }
        memcpy(m, mean, (size_t)net->n_in * sizeof(float));
        memcpy(sc, scale, (size_t)net->n_in * sizeof(float));
    }
    free(net->norm_mean);
    free(net->norm_scale);
    net->norm_mean = m;
    net->norm_scale = sc;
    return LM_OK;
}

int lm_net_get_norm(const lm_net *net, float *mean, float *scale)
{
    if (!net || !net->norm_mean) return 0;
    if (mean) memcpy(mean, net->norm_mean, (size_t)net->n_in * sizeof(float));
    if (scale) memcpy(scale, net->norm_scale, (size_t)net->n_in * sizeof(float));
    return 1;
}

/* ------------------------------------------------- names and metadata */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names given twice are refused: eval, predict and the CLI find a class
 * by its name, and would find only the first of two. */
static lm_status check_distinct(char **names, int n)
{
    char **sorted = lm__calloc((size_t)n, sizeof *sorted, "class names");
    if (!sorted) return LM_ENOMEM;
    memcpy(sorted, names, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    lm_status st = LM_OK;
    for (int i = 1; i < n && !st; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            st = lm__err(LM_EINVAL, "class names must differ: '%.200s' is given twice", sorted[i]);
    free(sorted);
    return st;
}

lm_status lm_net_set_class_names(lm_net *net, int n, const char *const *names)
{
    LM_NONNULL(net);
    if (names && n != lm_net_n_out(net) && !(n == 2 && lm_net_n_out(net) == 1))
        return lm__err(LM_EINVAL, "%d class names for a net with %d outputs", n, lm_net_n_out(net));
    char **copy = NULL;
    if (names) {
        copy = lm__calloc((size_t)n, sizeof *copy, "class names");
        if (!copy) return LM_ENOMEM;
        for (int i = 0; i < n; i++)
            if (!names[i] || strlen(names[i]) > LM_MAX_STRING || !(copy[i] = lm__strdup(names[i]))) {
                free_strings(copy, n);
                return names[i] && strlen(names[i]) <= LM_MAX_STRING
                           ? LM_ENOMEM
                           : lm__err(LM_EINVAL, "class name %d is missing or longer than %u bytes", i, LM_MAX_STRING);
            }
        lm_status st = check_distinct(copy, n);
        if (st) {
            free_strings(copy, n);
            return st;
        }
    }
    free_strings(net->class_names, net->n_classes);
    net->class_names = copy;
    net->n_classes = names ? n : 0;
    return LM_OK;
}

const char *lm_net_class_name(const lm_net *net, int i)
{
    return net && net->class_names && i >= 0 && i < net->n_classes ? net->class_names[i] : NULL;
}

lm_status lm_net_set_meta(lm_net *net, const char *key, const char *value)
{
    LM_NONNULL(net);
    LM_NONNULL(key);
    if (!*key) return lm__err(LM_EINVAL, "lm_net_set_meta: the key is empty");
    if (!value) { /* removes the key (1.4), keeping the others' order */
        for (int i = 0; i < net->n_meta; i++)
            if (strcmp(net->meta_keys[i], key) == 0) {
                free(net->meta_keys[i]);
                free(net->meta_vals[i]);
                net->n_meta--;
                memmove(net->meta_keys + i, net->meta_keys + i + 1, (size_t)(net->n_meta - i) * sizeof(char *));
                memmove(net->meta_vals + i, net->meta_vals + i + 1, (size_t)(net->n_meta - i) * sizeof(char *));
                break;
            }
        return LM_OK;
    }
    if (strlen(key) > LM_MAX_STRING || strlen(value) > LM_MAX_STRING)
        return lm__err(LM_EINVAL, "metadata '%.40s' is longer than %u bytes", key, LM_MAX_STRING);
    char *v = lm__strdup(value);
    if (!v) return LM_ENOMEM;
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_keys[i], key) == 0) {
            free(net->meta_vals[i]);
            net->meta_vals[i] = v;
            return LM_OK;
        }
    if (net->n_meta >= LM_MAX_META) {
        free(v);
        return lm__err(LM_EINVAL, "metadata '%.40s': a net holds at most %d keys", key, LM_MAX_META);
    }
    char *k = lm__strdup(key);
    char **nk = k ? lm__realloc(net->meta_keys, (size_t)net->n_meta + 1, sizeof *nk, "metadata") : NULL;
    if (nk) net->meta_keys = nk; /* a larger list with the same entries: nothing changed yet */
    char **nv = nk ? lm__realloc(net->meta_vals, (size_t)net->n_meta + 1, sizeof *nv, "metadata") : NULL;
    if (nv) net->meta_vals = nv;
    if (!k || !nk || !nv) {
        free(k);
        free(v);
        return LM_ENOMEM;
    }
    net->meta_keys[net->n_meta] = k;
    net->meta_vals[net->n_meta++] = v;
    return LM_OK;
}

const char *lm_net_get_meta(const lm_net *net, const char *key)
{
    if (!net || !key) return NULL;
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_keys[i], key) == 0) return net->meta_vals[i];
    return NULL;
}

int lm_net_n_meta(const lm_net *net) { return net ? net->n_meta : 0; }

void lm_net_meta_at(const lm_net *net, int i, const char **key, const char **value)
{
    int ok = net && i >= 0 && i < net->n_meta;
    if (key) *key = ok ? net->meta_keys[i] : NULL;
    if (value) *value = ok ? net->meta_vals[i] : NULL;
}

/* ------------------------------------------------------------ threads */

lm_status lm_net_set_threads(lm_net *net, int threads)
{
    LM_NONNULL(net);
    if (threads < 0 || threads > 1024) return lm__err(LM_EINVAL, "thread count %d is out of range 0..1024", threads);
    if (threads != net->threads && atomic_load(&net->users))
        /* a trainer holds the pool through its epoch (a batch callback
         * changing it would free it under the running epoch) */
        return lm__err(LM_EINVAL, "lm_net_set_threads: the thread count is fixed while a trainer or "
                       "workspace made for the net exists");
    if (threads != net->threads) {
        lm_pool_free(net->pool);
        net->pool = NULL;
        net->threads = threads;
    }
    return LM_OK;
}

int lm_net_threads(const lm_net *net)
{
    if (!net) return 0;
    return net->threads > 0 ? net->threads : lm_cpu_count();
}

lm_status lm__net_pool(lm_net *net, lm_pool **pool)
{
    *pool = NULL;
    int n = lm_net_threads(net);
    if (n <= 1) return LM_OK;
    if (!net->pool && lm_pool_new(&net->pool, n) != LM_OK) {
        net->pool = NULL;
        return lm__err(LM_ENOMEM, "cannot start a pool of %d threads (out of memory)", n);
    }
    *pool = net->pool;
    return LM_OK;
}

lm_status lm__net_prepare(lm_net *net, const lm_ws *ws, size_t rows, lm_pool **pool)
{
    lm_pool *p = NULL;
    lm_status st = pool ? lm__net_pool(net, &p) : LM_OK;
    if (!st && !lm__small_use(net, ws, rows) && lm__gemm_thread_prepare() != LM_OK)
        st = lm__err(LM_ENOMEM, "out of memory for the GEMM packing buffers");
    if (pool) *pool = st ? NULL : p;
    return st;
}

/* ---------------------------------------------------------- workspace */

/* Rounds n floats up to whole 64-byte lines (SIZE_MAX stays). */
static size_t lines(size_t n) { return n > SIZE_MAX - 15 ? SIZE_MAX : (n + 15) & ~(size_t)15; }

/* The floats the layers' own workspace takes for rows rows: each layer's
 * saved floats, then the largest scratch; SIZE_MAX on overflow. A net of
 * dense layers needs none. */
static size_t layer_floats(const lm_net *net, size_t rows)
{
    size_t saved = 0, tmp = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!L->kind->workspace) continue;
        size_t t = 0, s = lines(L->kind->workspace(L, rows, &t));
        if (saved + s < s) return SIZE_MAX;
        saved += s;
        if (t > tmp) tmp = t;
    }
    tmp = lines(tmp);
    return saved + tmp < tmp ? SIZE_MAX : saved + tmp;
}

/* Bytes of a workspace for rows rows, with pad more floats for the fused
 * path; false on overflow. */
static int ws_bytes(const lm_net *net, size_t rows, size_t pad, size_t *bytes)
{
    size_t per_row = (size_t)net->n_in + 2 * (size_t)lm__max_width(net), total;
    for (int l = 0; l < net->n_layers; l++) per_row += (size_t)net->layers[l].n_out;
    size_t extra = layer_floats(net, rows);
    if (extra == SIZE_MAX || !lm__mul_ok(per_row, rows, &total) || total + pad < total) return 0;
    total += pad;
    if (extra) {
        total = lines(total);
        if (total + extra < extra) return 0;
        total += extra;
    }
    return lm__mul_ok(total, sizeof(float), bytes);
}

lm_status lm__ws_alloc(lm_ws **out, const lm_net *net, size_t rows)
{
    *out = NULL;
    if (rows == 0) rows = 1;
    /* A small net's fused-path buffers come first in the block, so they
     * stay 64-byte aligned. They cover at most LM_SMALL_MAX_ROWS rows
     * (the path never runs for more), and are left out where they would
     * push the workspace past the allocation limit, so no net fails for
     * them: it then takes the general path. */
    size_t small_rows = rows < LM_SMALL_MAX_ROWS ? rows : LM_SMALL_MAX_ROWS;
    size_t pad = lm__small_floats(net, small_rows), bytes;
    if (pad && (!ws_bytes(net, rows, pad, &bytes) || (uint64_t)bytes > lm_alloc_limit())) pad = 0;
    if (!ws_bytes(net, rows, pad, &bytes)) {
        /* name the layer whose own workspace does not fit, if one */
        for (int l = 0; l < net->n_layers; l++) {
            const lm__layer *L = &net->layers[l];
            size_t t = 0;
            char a[48];
            if (L->kind->workspace && L->kind->workspace(L, rows, &t) == SIZE_MAX)
                return lm__err(LM_ENOMEM, "layer %d (%s) on %s: its workspace for %zu rows is too large%s",
                               l + 1, L->kind->name, lm__shape_str(L->in, a), rows,
                               rows > 1 && L->kind->workspace(L, 1, &t) != SIZE_MAX
                                   ? " (a smaller batch may fit)" : "");
        }
        return lm__err(LM_ENOMEM, "workspace for %zu rows is too large", rows);
    }
    if ((uint64_t)bytes > lm_alloc_limit())
        return lm__err(LM_ENOMEM, "a workspace of %zu bytes for %zu rows is over the allocation limit", bytes, rows);
    lm_ws *ws = lm__calloc(1, sizeof *ws, "workspace");
    float **act = ws ? lm__calloc((size_t)net->n_layers + 1, sizeof *act, "workspace") : NULL;
    float **saved = act ? lm__calloc((size_t)net->n_layers + 1, sizeof *saved, "workspace") : NULL;
    int *widths = saved ? lm__calloc((size_t)net->n_layers + 1, sizeof *widths, "workspace") : NULL;
    /* 64-byte aligned so SIMD kernels see aligned rows when widths allow */
    float *mem = widths ? lm_big_alloc(bytes) : NULL;
    lm__small_plan *plan = mem && pad ? lm__small_plan_new(net, mem, small_rows) : NULL;
    if (!mem || (pad && !plan)) {
        free(ws);
        free(act);
        free(saved);
        free(widths);
        free(mem);
        return lm__err(LM_ENOMEM, "out of memory for a workspace of %zu bytes", bytes);
    }
    widths[0] = net->n_in;
    for (int l = 0; l < net->n_layers; l++) widths[l + 1] = net->layers[l].n_out;
    ws->widths = widths;
    ws->rows = rows;
    ws->n_layers = net->n_layers;
    ws->mem = mem;
    ws->small = plan; /* NULL: the general path */
    ws->small_rows = ws->small ? small_rows : 0;
    ws->x0 = mem + pad;
    float *p = ws->x0 + rows * (size_t)net->n_in;
    for (int l = 0; l < net->n_layers; l++) {
        act[l] = p;
        p += rows * (size_t)net->layers[l].n_out;
    }
    ws->act = act;
    ws->d0 = p;
    ws->d1 = p + rows * (size_t)lm__max_width(net);
    /* the layers' own floats after the rest, each on its own lines */
    p = mem + lines((size_t)(ws->d1 + rows * (size_t)lm__max_width(net) - mem));
    size_t tmp = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        size_t t = 0, sv = L->kind->workspace ? lines(L->kind->workspace(L, rows, &t)) : 0;
        if (sv) saved[l] = p;
        p += sv;
        if (t > tmp) tmp = t;
    }
    ws->saved = saved;
    ws->tmp = tmp ? p : NULL;
    ws->layer_floats = layer_floats(net, rows);
    *out = ws;
    return LM_OK;
}

lm_status lm_ws_new(lm_ws **out, const lm_net *net, size_t max_rows)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(net);
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "lm_ws_new: the net has no layers");
    lm_status st = lm__ws_alloc(out, net, max_rows);
    if (st) return st;
    /* the net is only read, but its shape is now frozen: the count is
     * the one thing changed, and it is atomic */
    (*out)->frozen = (lm_net *)net;
    lm__net_use((*out)->frozen, 1);
    return LM_OK;
}

void lm_ws_free(lm_ws *ws)
{
    if (!ws) return;
    if (ws->frozen) lm__net_use(ws->frozen, -1);
    lm__small_plan_free(ws->small);
    free(ws->mem);
    free(ws->act);
    free(ws->saved);
    free(ws->widths);
    free(ws);
}

/* ------------------------------------------------- forward / backward */

void lm__net_load_input(const lm_net *net, lm_ws *ws, const float *x, size_t n)
{
    size_t nx = (size_t)net->n_in;
    if (!net->norm_mean) {
        memcpy(ws->x0, x, n * nx * sizeof(float));
        return;
    }
    for (size_t r = 0; r < n; r++)
        lm_vec_norm_f32(ws->x0 + r * nx, x + r * nx, net->norm_mean, net->norm_scale, nx);
}

void lm__net_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act,
                     const lm__mode *mode, lm_pool *pool)
{
    static const lm__mode inference = {0, 0, 0, NULL, NULL};
    ws->reduce = mode && mode->training ? mode->reduce : NULL;
    ws->reduce_ctx = mode ? mode->reduce_ctx : NULL;
    ws->fused = lm__small_use(net, ws, n);
    if (ws->fused) {
        lm__small_forward(net, ws, n, skip_last_act);
        return;
    }
    const float *in = ws->x0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        lm__fwd a = {in, ws->act[l], n, net->params + L->p_off, net->state ? net->state + L->s_off : NULL,
                     ws->saved[l], ws->tmp, skip_last_act && l == net->n_layers - 1,
                     mode ? mode : &inference, l, pool};
        L->kind->forward(L, &a);
        in = ws->act[l];
    }
}

void lm__net_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact, lm_pool *pool)
{
    if (ws->fused) {
        lm__small_backward(net, ws, n, last_is_preact);
        return;
    }
    lm__net_backward_to(net, ws, net->grads, n, last_is_preact, NULL, pool);
}

void lm__net_backward_to(const lm_net *net, lm_ws *ws, float *grads, size_t n, int last_is_preact,
                         int *finite, lm_pool *pool)
{
    float *d = ws->d0, *other = ws->d1;
    if (finite) *finite = 1;
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const lm__layer *L = &net->layers[l];
        if (!(last_is_preact && l == net->n_layers - 1))
            lm__act_backward(L->act, ws->act[l], d, n, L->n_out);
        lm__bwd a = {l ? other : NULL, grads + L->p_off, d, l ? ws->act[l - 1] : ws->x0, ws->act[l], n,
                     net->params + L->p_off, ws->saved[l], ws->tmp, pool, ws->reduce, ws->reduce_ctx};
        L->kind->backward(L, &a);
        /* checked while the layer's gradient is in the cache */
        if (finite) *finite &= lm_vec_all_finite(grads + L->p_off, L->n_par);
        float *t = d; /* the input gradient becomes the next layer's output gradient */
        d = other;
        other = t;
    }
}

/* Runs n rows through net with ws (which must hold at least n rows). */
static void predict_rows(const lm_net *net, lm_ws *ws, const float *x, size_t n, float *y,
                         lm_pool *pool)
{
    lm__net_load_input(net, ws, x, n);
    lm__net_forward(net, ws, n, 0, NULL, pool);
    memcpy(y, ws->act[net->n_layers - 1], n * (size_t)lm_net_n_out(net) * sizeof(float));
}

static lm_status check_predict(const char *fn, const lm_net *net, const float *x, const float *y)
{
    const char *null = !net ? "net" : !x ? "x" : !y ? "y" : NULL;
    if (null) return lm__err(LM_EINVAL, "%s: %s is NULL", fn, null);
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "%s: the net has no layers", fn);
    return LM_OK;
}

/* Rows a predict runs at a time: at most 256 (past that a bigger block
 * gains nothing), as many as it was given, and no more than a workspace
 * of 8 MiB holds: a wide legal net (2^24 inputs) would otherwise ask for
 * 256 rows of it, gigabytes, whatever the rows given. */
#define LM_PREDICT_CHUNK 256
#define LM_PREDICT_BYTES ((size_t)8 << 20)

size_t lm__predict_rows(const lm_net *net, size_t n)
{
    size_t row_bytes, rows = LM_PREDICT_CHUNK;
    if (ws_bytes(net, 1, 0, &row_bytes) && row_bytes && LM_PREDICT_BYTES / row_bytes < rows)
        rows = LM_PREDICT_BYTES / row_bytes;
    if (n < rows) rows = n;
    return rows ? rows : 1;
}

lm_status lm_net_predict(lm_net *net, const float *x, size_t n, float *y)
{
    lm_status st = check_predict(__func__, net, x, y);
    if (st) return st;
    size_t chunk = lm__predict_rows(net, n);
    if (!net->ws || net->ws->rows < chunk) {
        lm_ws_free(net->ws);
        net->ws = NULL;
        if ((st = lm__ws_alloc(&net->ws, net, chunk))) return st;
    }
    /* A single row is latency-bound: no thread hand-off. */
    lm_pool *pool = NULL;
    if ((st = lm__net_prepare(net, net->ws, chunk, n > 1 ? &pool : NULL))) return st;
    size_t in = (size_t)net->n_in, out = (size_t)lm_net_n_out(net);
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        predict_rows(net, net->ws, x + r * in, m, y + r * out, pool);
        lm__net_target_norm_apply(net, y + r * out, m, 0);
    }
    return LM_OK;
}

lm_status lm_net_predict_ws(const lm_net *net, lm_ws *ws, const float *x, size_t n, float *y)
{
    lm_status st = check_predict(__func__, net, x, y);
    if (st) return st;
    LM_NONNULL(ws);
    int fits = ws->n_layers == net->n_layers && ws->widths[0] == net->n_in &&
               ws->layer_floats == layer_floats(net, ws->rows);
    for (int l = 0; fits && l < net->n_layers; l++) fits = ws->widths[l + 1] == net->layers[l].n_out;
    if (!fits) return lm__err(LM_EINVAL, "predict: the workspace was made for a net of another shape");
    if ((st = lm__net_prepare((lm_net *)net, ws, ws->rows, NULL))) return st; /* (reads net only) */
    size_t in = (size_t)net->n_in, out = (size_t)lm_net_n_out(net);
    for (size_t r = 0; r < n; r += ws->rows) {
        size_t m = n - r < ws->rows ? n - r : ws->rows;
        predict_rows(net, ws, x + r * in, m, y + r * out, NULL);
        lm__net_target_norm_apply(net, y + r * out, m, 0);
    }
    return LM_OK;
}

/* --------------------------------------------------------------- clone */

lm_status lm_net_clone(lm_net **out, const lm_net *net)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(net);
    lm_net *c;
    lm_status st = lm_net_new(&c, net->n_in);
    if (st == LM_OK) c->in_shape = net->in_shape;
    if (st == LM_OK) st = lm__net_reserve(c, net->n_layers, net->n_params);
    for (int l = 0; st == LM_OK && l < net->n_layers; l++) st = lm__net_add(c, &net->layers[l].cfg);
    if (st == LM_OK) {
        if (net->n_params) memcpy(c->params, net->params, net->n_params * sizeof(float));
        if (net->n_state) memcpy(c->state, net->state, net->n_state * sizeof(float));
        st = lm_net_set_norm(c, net->norm_mean, net->norm_scale);
    }
    if (st == LM_OK && net->tnorm)
        st = lm_net_set_target_norm(c, net->tnorm, net->tnorm + net->tnorm_n);
    if (st == LM_OK && net->class_names)
        st = lm_net_set_class_names(c, net->n_classes, (const char *const *)net->class_names);
    for (int i = 0; st == LM_OK && i < net->n_meta; i++)
        st = lm_net_set_meta(c, net->meta_keys[i], net->meta_vals[i]);
    if (st == LM_OK) st = lm_net_set_threads(c, net->threads);
    if (st != LM_OK) {
        lm_net_free(c);
        c = NULL;
    }
    *out = c;
    return st;
}

/* ------------------------------------------------ target normalisation */

lm_status lm_net_set_target_norm(lm_net *net, const float *mean, const float *std)
{
    LM_NONNULL(net);
    if (!mean && !std) {
        free(net->tnorm);
        net->tnorm = NULL;
        net->tnorm_n = 0;
        return LM_OK;
    }
    /* One NULL is a mistake, not a request to clear: name it. */
    if (!mean || !std)
        return lm__err(LM_EINVAL, "lm_net_set_target_norm: %s is NULL (both NULL removes the "
                       "standardisation)", mean ? "std" : "mean");
    if (net->n_layers == 0)
        return lm__err(LM_EINVAL, "lm_net_set_target_norm: the net has no layers yet");
    int n = lm_net_n_out(net);
    for (int i = 0; i < n; i++)
        if (!isfinite(mean[i]) || !isfinite(std[i]) || !(std[i] > 0))
            return lm__err(LM_EINVAL, "target normalisation of output %d: mean %g, std %g "
                           "(std must be finite and > 0)", i, (double)mean[i], (double)std[i]);
    /* Validated first; the old one is replaced only when the new one is in. */
    float *t = lm__alloc(2 * (size_t)n, sizeof *t, "target normalisation");
    if (!t) return LM_ENOMEM;
    memcpy(t, mean, (size_t)n * sizeof *t);
    memcpy(t + n, std, (size_t)n * sizeof *t);
    free(net->tnorm);
    net->tnorm = t;
    net->tnorm_n = n;
    return LM_OK;
}

int lm_net_get_target_norm(const lm_net *net, float *mean, float *std)
{
    if (!net || !net->tnorm) return 0;
    if (mean) memcpy(mean, net->tnorm, (size_t)net->tnorm_n * sizeof *mean);
    if (std) memcpy(std, net->tnorm + net->tnorm_n, (size_t)net->tnorm_n * sizeof *std);
    return 1;
}

void lm__net_target_norm_apply(const lm_net *net, float *y, size_t n, int to_std)
{
    if (!net->tnorm || net->n_layers == 0 || net->tnorm_n != lm_net_n_out(net)) return;
    size_t k = (size_t)net->tnorm_n;
    const float *mean = net->tnorm, *sd = net->tnorm + k;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) {
            float *v = &y[r * k + j];
            *v = to_std ? (*v - mean[j]) / sd[j] : *v * sd[j] + mean[j];
        }
}
