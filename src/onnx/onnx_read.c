/* onnx_read.c - an ONNX model as a net (lm_net_load_onnx).
 *
 * lamina holds a chain of layers, so the importer walks the graph as a
 * chain: each node (but Constant) must read the tensor the one before it
 * wrote, its other inputs being initializers or constants. It follows
 * the tensor's layout as ONNX sees it (a flat row in lamina's order, or
 * in (C, H, W) order after a Flatten of an NCHW tensor, an NCHW or NHWC
 * image, or a flat row just reshaped to 4-D) and turns each node into a
 * layer, an activation of the layer before, a bias, or the input or
 * target normalisation. The first node it cannot take is refused by op
 * type and name. Sizes come from the file, so each tensor's data is
 * counted against its shape before anything is allocated for it. */
#include "onnx/onnx.h"
#include "layers/layer.h"
#include "kernels/conv.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define TRY(x)                                                                                     \
    do {                                                                                           \
        lm_status st_ = (x);                                                                       \
        if (st_) return st_;                                                                       \
    } while (0)

typedef struct imp_layer {
    lm_layer_kind kind;
    int units, kh, kw, stride, pad, bias;
    lm_act act;
    float rate, momentum, eps;
    float *w, *b;  /* dense (K, N) and conv (kh, kw, C, F) in lamina's layout; bias */
    size_t wn;     /* floats of w */
    float *bn;     /* gamma, beta, mean, var (4 C) */
} imp_layer;

enum { FLAT, FLAT_CHW, RAW4, NCHW, NHWC };

typedef struct imp {
    const ox_model *m;
    const ox_node *node;      /* the node being read, for messages */
    ox_tensor *consts;        /* Constant nodes' values */
    int n_consts;
    imp_layer *layers;
    int n_layers;
    int n_in, state;
    lm__shape in, cur;        /* the input's shape; the current tensor's */
    int raw[3];               /* RAW4: the 4-D dims after the batch */
    float *mean, *scale;      /* (n_in) input normalisation, or NULL */
    int norm_raw;             /* mean, scale are in the order of an image input's own
                                 axes, not yet known as (C, H, W) or (H, W, C) */
    float *tstd, *tmean;      /* (n_out) target standardisation, or NULL */
    int bias_pending;         /* the last layer came from MatMul: an Add may be its bias */
    int at_input;             /* the current tensor is the graph's input (perhaps
                                 normalised: input_next) */
    int input_next;           /* the node just read was the input's normalisation */
    const char *layout_guess; /* how a Reshape-flattened image input was read, when
                                 its sides chose (metadata onnx_input_layout) */
    struct shape_value *shv;  /* values of the shape arithmetic beside the chain */
    int n_shv;
    int transposed;           /* a Transpose was read: the layout is no longer open */
    int64_t in_batch;         /* the input's batch size when the graph fixes it, else -1 */
    char batch_note[384];     /* a Reshape whose shape named that batch (metadata onnx_batch) */
    char output_note[256];    /* a LogSoftmax read as softmax (metadata onnx_output) */
    unsigned char **folded;   /* the raw data of constants folded here (fold) */
    int n_folded;
    size_t folded_values;     /* their values, all together */
} imp;

static lm_status refuse(const imp *s, const char *why)
{
    const ox_node *n = s->node;
    return lm__err(LM_EFORMAT, "node '%.*s' (%.*s): %s", (int)(n->name.n > 200 ? 200 : n->name.n),
                   n->name.s, (int)(n->op.n > 64 ? 64 : n->op.n), n->op.s, why);
}

static const ox_tensor *find_tensor(const imp *s, ox_str name)
{
    for (int i = 0; i < s->m->n_inits; i++)
        if (ox_eq(s->m->inits[i].name, name)) return &s->m->inits[i];
    for (int i = s->n_consts - 1; i >= 0; i--)
        if (ox_eq(s->consts[i].name, name)) return &s->consts[i];
    return NULL;
}

/* Input k of the node as a constant tensor, or NULL after a message. */
static const ox_tensor *arg(const imp *s, int k, lm_status *st)
{
    const ox_node *n = s->node;
    const ox_tensor *t = k < n->n_in && k < OX_MAX_IO ? find_tensor(s, n->in[k]) : NULL;
    if (!t) {
        char m[80];
        snprintf(m, sizeof m, "its input %d is not an initializer or a constant", k + 1);
        *st = refuse(s, m);
    }
    return t;
}

/* n floats of t, counted against its data before allocating. */
static float *floats(const imp *s, const ox_tensor *t, size_t n, const char *what, lm_status *st)
{
    size_t count, avail;
    if ((*st = ox_tensor_count(t, &count)) || (*st = ox_tensor_avail(t, &avail))) return NULL;
    if (count != n || avail != n) {
        char m[160];
        snprintf(m, sizeof m, "%s '%.*s' holds %zu values (data for %zu), expected %zu", what,
                 (int)(t->name.n > 60 ? 60 : t->name.n), t->name.s, count, avail, n);
        *st = refuse(s, m);
        return NULL;
    }
    float *v = lm__alloc(n ? n : 1, sizeof(float), "ONNX tensor");
    if (!v) {
        *st = LM_ENOMEM;
        return NULL;
    }
    if ((*st = ox_tensor_floats(t, v, n, what))) {
        free(v);
        return NULL;
    }
    /* a lamina model holds finite numbers only (its files refuse others) */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            char m[160];
            snprintf(m, sizeof m, "%s '%.*s' holds a NaN or infinite value at %zu", what,
                     (int)(t->name.n > 60 ? 60 : t->name.n), t->name.s, i);
            free(v);
            *st = refuse(s, m);
            return NULL;
        }
    return v;
}

/* The count (1 or width) floats of constant t as width floats: one value
 * broadcast to every input or output, or one each. */
static float *widened(const imp *s, const ox_tensor *t, size_t count, size_t width,
                      lm_status *st)
{
    float *v = floats(s, t, count, "constant", st);
    if (!v) return NULL;
    float *full = lm__alloc(width, sizeof(float), "ONNX import");
    if (full)
        for (size_t i = 0; i < width; i++) full[i] = v[count == 1 ? 0 : i];
    else
        *st = LM_ENOMEM;
    free(v);
    return full;
}

static size_t cur_size(const imp *s) { return lm__shape_size(s->cur); }

static imp_layer *add_layer(imp *s, lm_layer_kind kind)
{
    imp_layer *L = &s->layers[s->n_layers++];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    s->bias_pending = 0;
    return L;
}

/* The current tensor becomes an NCHW image (what Conv and the pools take). */
static lm_status need_nchw(imp *s)
{
    if (s->state == NCHW) return LM_OK;
    if (s->state == RAW4) {
        lm__shape sh = {s->raw[0], s->raw[1], s->raw[2]};
        if (sh.c > 1 && sh.h * sh.w > 1)
            return refuse(s, "its input is a flat row reshaped to (N, C, H, W) with C > 1, "
                          "but lamina's rows are channels-last (H, W, C)");
        if (s->n_layers == 0) s->in = sh;
        else if (sh.c != s->cur.c || sh.h != s->cur.h || sh.w != s->cur.w)
            return refuse(s, "a Reshape to 4-D inside the net is not a lamina layer");
        s->cur = sh;
        s->state = NCHW;
        return LM_OK;
    }
    return refuse(s, "its input is not an (N, C, H, W) image");
}

/* Up to max ints of attribute name, or the default def (n values). */
static lm_status ints_attr(const imp *s, const char *name, int64_t *v, int max, int *n)
{
    lm_status st;
    int k = ox_attr_ints(s->node, name, v, max, n, &st);
    if (k < 0) return st;
    if (k == 0) *n = -1;
    return LM_OK;
}

static int64_t int_attr(const imp *s, const char *name, int64_t def, lm_status *st)
{
    int64_t v = def;
    *st = LM_OK;
    if (ox_attr_int(s->node, name, &v, st) < 0) return def;
    return v;
}

#define MAX_SIDE 4096

/* kernel_shape, strides, pads, dilations of Conv and the pools, checked
 * against what lamina's layers can do. */
static lm_status window(imp *s, int kh0, int kw0, int *kh, int *kw, int *stride, int *pad,
                        int conv)
{
    int64_t v[8];
    int n;
    lm_status st;
    TRY(ints_attr(s, "kernel_shape", v, 8, &n));
    if (n == -1 && kh0 < 0) return refuse(s, "no kernel_shape");
    if (n != -1 && (n != 2 || v[0] < 1 || v[1] < 1 || v[0] > MAX_SIDE || v[1] > MAX_SIDE))
        return refuse(s, "kernel_shape is not two sides in 1..4096");
    if (n != -1 && kh0 >= 0 && (v[0] != kh0 || v[1] != kw0))
        return refuse(s, "kernel_shape differs from the weights' shape");
    *kh = n == -1 ? kh0 : (int)v[0];
    *kw = n == -1 ? kw0 : (int)v[1];
    TRY(ints_attr(s, "strides", v, 8, &n));
    if (n != -1 && (n != 2 || v[0] != v[1] || v[0] < 1 || v[0] > MAX_SIDE))
        return refuse(s, "strides must be one stride in 1..4096 for both axes");
    *stride = n == -1 ? 1 : (int)v[0];
    TRY(ints_attr(s, "dilations", v, 8, &n));
    if (n != -1 && (n != 2 || v[0] != 1 || v[1] != 1)) return refuse(s, "dilations are not 1");
    if (int_attr(s, "ceil_mode", 0, &st) != 0 || st)
        return st ? st : refuse(s, "ceil_mode 1 is not supported");
    if (int_attr(s, "storage_order", 0, &st) != 0 || st)
        return st ? st : refuse(s, "storage_order 1 is not supported");
    ox_str ap = {"NOTSET", 6};
    if (ox_attr_str(s->node, "auto_pad", &ap, &st) < 0) return st;
    int64_t pads[8] = {0, 0, 0, 0};
    TRY(ints_attr(s, "pads", pads, 8, &n));
    if (n != -1 && n != 4) return refuse(s, "pads must have 4 values");
    if (ox_is(ap, "SAME_UPPER")) {
        if (!conv) return refuse(s, "padded pooling is not a lamina layer");
        *pad = LM_PAD_SAME;
        return LM_OK;
    }
    if (ox_is(ap, "VALID")) {
        *pad = conv ? LM_PAD_VALID : 0;
        return LM_OK;
    }
    if (!ox_is(ap, "NOTSET") && ap.n) return refuse(s, "auto_pad SAME_LOWER is not supported");
    if (pads[0] == pads[1] && pads[1] == pads[2] && pads[2] == pads[3]) {
        if (pads[0] && !conv) return refuse(s, "padded pooling is not a lamina layer");
        if (pads[0] < 0 || pads[0] >= *kh || pads[0] >= *kw)
            return refuse(s, "padding must be smaller than the kernel");
        *pad = (int)pads[0];
        return LM_OK;
    }
    /* asymmetric: lamina's SAME, if the numbers are SAME's */
    int oh, ow, pt, pl;
    if (conv && !lm_conv_geometry(s->cur.h, *kh, *stride, LM_PAD_SAME, &oh, &pt) &&
        !lm_conv_geometry(s->cur.w, *kw, *stride, LM_PAD_SAME, &ow, &pl) && pads[0] == pt &&
        pads[1] == pl && pads[2] == (int64_t)(oh - 1) * *stride + *kh - s->cur.h - pt &&
        pads[3] == (int64_t)(ow - 1) * *stride + *kw - s->cur.w - pl) {
        *pad = LM_PAD_SAME;
        return LM_OK;
    }
    return refuse(s, "its padding is neither symmetric nor lamina's SAME");
}

static lm_status out_shape(imp *s, int kh, int kw, int stride, int pad, int filters)
{
    int gpad = pad == LM_PAD_VALID ? 0 : pad, oh, ow, t;
    if (lm_conv_geometry(s->cur.h, kh, stride, gpad, &oh, &t) ||
        lm_conv_geometry(s->cur.w, kw, stride, gpad, &ow, &t))
        return refuse(s, "its window does not fit its input");
    s->cur = (lm__shape){filters, oh, ow};
    return LM_OK;
}

static lm_status do_gemm(imp *s, int matmul)
{
    lm_status st;
    const ox_node *n = s->node;
    if (s->state != FLAT && s->state != FLAT_CHW)
        return refuse(s, "its input is not a flat (N, features) matrix: add a Flatten");
    const ox_tensor *B = arg(s, 1, &st);
    if (!B) return st;
    int transB = 0;
    if (!matmul) {
        float alpha = 1, beta = 1;
        if (ox_attr_float(n, "alpha", &alpha, &st) < 0 || ox_attr_float(n, "beta", &beta, &st) < 0)
            return st;
        int64_t ta = int_attr(s, "transA", 0, &st);
        if (st) return st;
        int64_t tb = int_attr(s, "transB", 0, &st);
        if (st) return st;
        if (alpha != 1 || beta != 1 || ta != 0 || (tb != 0 && tb != 1))
            return refuse(s, "only alpha = beta = 1, transA = 0 are supported");
        transB = (int)tb;
        if (n->n_in > 3) return refuse(s, "too many inputs");
    } else if (n->n_in != 2) {
        return refuse(s, "MatMul takes two inputs");
    }
    size_t K = cur_size(s);
    if (B->ndim != 2 || B->dims[transB ? 1 : 0] != (int64_t)K || B->dims[transB ? 0 : 1] < 1 ||
        B->dims[transB ? 0 : 1] > LM_MAX_WIDTH) {
        char m[96];
        snprintf(m, sizeof m, "its weight is not a matrix with %zu %s", K, transB ? "columns" : "rows");
        return refuse(s, m);
    }
    size_t N = (size_t)B->dims[transB ? 0 : 1], KN;
    if (!lm__mul_ok(K, N, &KN)) return refuse(s, "its weight is too large");
    float *src = floats(s, B, KN, "weight", &st);
    if (!src) return st;
    float *w = lm__alloc(KN, sizeof(float), "ONNX import");
    if (!w) {
        free(src);
        return LM_ENOMEM;
    }
    int C = s->cur.c, H = s->cur.h, W = s->cur.w;
    for (size_t r = 0; r < K; r++) {
        size_t ro = r; /* the ONNX row holding lamina's row r */
        if (s->state == FLAT_CHW) {
            size_t ch = r % (size_t)C, hw = r / (size_t)C;
            ro = ch * (size_t)H * (size_t)W + hw;
        }
        for (size_t j = 0; j < N; j++) w[r * N + j] = transB ? src[j * K + ro] : src[ro * N + j];
    }
    free(src);
    imp_layer *L = add_layer(s, LM_LAYER_DENSE);
    L->units = (int)N;
    L->w = w;
    L->wn = KN;
    if (!matmul && n->n_in == 3 && n->in[2].n) {
        const ox_tensor *Cb = arg(s, 2, &st);
        if (!Cb) return st;
        if (!(Cb->ndim == 1 || (Cb->ndim == 2 && Cb->dims[0] == 1)))
            return refuse(s, "its bias is not a vector");
        if (!(L->b = floats(s, Cb, N, "bias", &st))) return st;
        L->bias = 1;
    }
    s->bias_pending = matmul;
    s->cur = (lm__shape){(int)N, 1, 1};
    s->state = FLAT;
    return LM_OK;
}

static lm_status do_conv(imp *s)
{
    lm_status st;
    TRY(need_nchw(s));
    const ox_tensor *Wt = arg(s, 1, &st);
    if (!Wt) return st;
    int64_t group = int_attr(s, "group", 1, &st);
    if (st) return st;
    if (group != 1) return refuse(s, "grouped convolutions are not supported");
    if (Wt->ndim != 4 || Wt->dims[1] != s->cur.c || Wt->dims[0] < 1 || Wt->dims[0] > LM_MAX_WIDTH ||
        Wt->dims[2] < 1 || Wt->dims[3] < 1 || Wt->dims[2] > MAX_SIDE || Wt->dims[3] > MAX_SIDE)
        return refuse(s, "its weight is not (filters, C, kh, kw) for its input's channels");
    int F = (int)Wt->dims[0], C = s->cur.c, kh, kw, stride, pad;
    TRY(window(s, (int)Wt->dims[2], (int)Wt->dims[3], &kh, &kw, &stride, &pad, 1));
    size_t nw;
    if (!lm__mul_ok((size_t)F * (size_t)C, (size_t)kh * (size_t)kw, &nw))
        return refuse(s, "its weight is too large");
    float *src = floats(s, Wt, nw, "weight", &st);
    if (!src) return st;
    float *w = lm__alloc(nw, sizeof(float), "ONNX import");
    if (!w) {
        free(src);
        return LM_ENOMEM;
    }
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                    w[(((size_t)i * kw + j) * C + c) * F + f] = src[(((size_t)f * C + c) * kh + i) * kw + j];
    free(src);
    imp_layer *L = add_layer(s, LM_LAYER_CONV2D);
    L->units = F;
    L->kh = kh;
    L->kw = kw;
    L->stride = stride;
    L->pad = pad;
    L->w = w;
    L->wn = nw;
    if (s->node->n_in >= 3 && s->node->in[2].n) {
        const ox_tensor *B = arg(s, 2, &st);
        if (!B) return st;
        if (!(L->b = floats(s, B, (size_t)F, "bias", &st))) return st;
        L->bias = 1;
    } else {
        s->bias_pending = 1;
    }
    return out_shape(s, kh, kw, stride, pad, F);
}

static lm_status do_pool(imp *s, lm_layer_kind kind)
{
    TRY(need_nchw(s));
    int kh, kw, stride, pad;
    TRY(window(s, -1, -1, &kh, &kw, &stride, &pad, 0));
    if (kh != kw) return refuse(s, "lamina pools over square windows only");
    imp_layer *L = add_layer(s, kind);
    L->kh = L->kw = kh;
    L->stride = stride;
    return out_shape(s, kh, kw, stride, 0, s->cur.c);
}

/* lamina's batch norm momentum (the new batch's share) from ONNX's (the
 * old statistics' share), which an export writes as the float 1 - momentum
 * and which cannot hold every momentum: 1 - 0.01f is 0.99000001f, and 1 -
 * that is 0.0099999905. The shortest decimal that gives the same ONNX
 * value is the momentum people wrote (0.01: Keras' 0.99), and a lamina
 * export of such a momentum comes back as it went out. */
static float momentum_from_onnx(float mom)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, 1.0 - (double)mom);
        float m = strtof(buf, NULL);
        if ((float)(1.0 - (double)m) == mom) return m;
    }
    return (float)(1.0 - (double)mom);
}

static lm_status do_bn(imp *s)
{
    lm_status st;
    if (s->state == RAW4) TRY(need_nchw(s));
    if ((s->state == FLAT || s->state == FLAT_CHW) && s->cur.h * s->cur.w > 1)
        return refuse(s, "it normalises a flattened image's values one by one (a "
                      "BatchNorm1d after a Flatten): lamina's batch norm takes one value a "
                      "channel, over an image or over the features of a dense layer");
    if (!(s->state == NCHW || (s->state == FLAT && s->cur.h * s->cur.w == 1)))
        return refuse(s, "its input is neither an image nor a vector of features");
    if (s->node->n_in != 5) return refuse(s, "it needs scale, bias, mean and variance");
    int64_t tm = int_attr(s, "training_mode", 0, &st);
    if (st) return st;
    if (tm) return refuse(s, "training_mode 1 is not supported");
    float eps = 1e-5f, mom = 0.9f;
    if (ox_attr_float(s->node, "epsilon", &eps, &st) < 0 || ox_attr_float(s->node, "momentum", &mom, &st) < 0)
        return st;
    if (!(eps > 0 && eps < 1) || !(mom >= 0 && mom <= 1))
        return refuse(s, "epsilon or momentum out of range");
    size_t C = (size_t)s->cur.c;
    float *bn = lm__alloc(4 * C, sizeof(float), "ONNX import");
    if (!bn) return LM_ENOMEM;
    static const char *what[4] = {"scale", "bias", "mean", "variance"};
    for (int k = 0; k < 4; k++) {
        const ox_tensor *t = arg(s, k + 1, &st);
        float *v = t ? floats(s, t, C, what[k], &st) : NULL;
        if (!v) {
            free(bn);
            return st;
        }
        memcpy(bn + k * C, v, C * sizeof(float));
        free(v);
    }
    for (size_t c = 0; c < C; c++)
        if (!(bn[3 * C + c] >= 0) || !isfinite(bn[3 * C + c])) {
            free(bn);
            return refuse(s, "a running variance is negative or not finite");
        }
    imp_layer *L = add_layer(s, LM_LAYER_BATCHNORM);
    L->bn = bn;
    L->eps = eps;
    L->momentum = momentum_from_onnx(mom);
    return LM_OK;
}

static lm_status do_dropout(imp *s, int64_t opset)
{
    lm_status st;
    float rate = 0.5f;
    if (opset < 12) {
        if (ox_attr_float(s->node, "ratio", &rate, &st) < 0) return st;
    } else if (s->node->n_in >= 2 && s->node->in[1].n) {
        const ox_tensor *t = arg(s, 1, &st);
        float *v = t ? floats(s, t, 1, "ratio", &st) : NULL;
        if (!v) return st;
        rate = *v;
        free(v);
    }
    if (s->node->n_in >= 3 && s->node->in[2].n) return refuse(s, "training_mode is not supported");
    if (!(rate >= 0 && rate < 1)) return refuse(s, "its ratio is not in [0, 1)");
    imp_layer *L = add_layer(s, LM_LAYER_DROPOUT);
    L->rate = rate;
    return LM_OK;
}

/* Folds batch norm B into the layer L before it: per output unit j,
 * s = gamma / sqrt(var + eps), W[., j] *= s, b = (b - mean) s + beta. */
static lm_status fold_bn(const imp *s, imp_layer *L, imp_layer *B)
{
    size_t F = (size_t)L->units, rows = 0;
    if (!L->b) {
        L->b = lm__calloc(F, sizeof(float), "ONNX import");
        if (!L->b) return LM_ENOMEM;
        L->bias = 1;
    }
    /* W is (rows, F) in both layouts: dense (K, N), conv (kh, kw, C, F) */
    const float *g = B->bn, *beta = B->bn + F, *mean = B->bn + 2 * F, *var = B->bn + 3 * F;
    rows = L->wn / F;
    /* Every input is finite, but a large gamma over a tiny variance can
     * take a folded value past FLT_MAX: refuse it here, as a lamina
     * model holds finite numbers only. Nothing is written until every
     * value is known to fit, so a refusal leaves L as it was. */
    for (size_t j = 0; j < F; j++) {
        double sc = (double)g[j] / sqrt((double)var[j] + (double)B->eps);
        int ok = isfinite((float)(((double)L->b[j] - mean[j]) * sc + beta[j]));
        for (size_t r = 0; r < rows && ok; r++) ok = isfinite((float)(L->w[r * F + j] * sc));
        if (!ok) {
            char m[160];
            snprintf(m, sizeof m, "folding the batch norm before it into layer %d gives unit %zu a "
                     "weight or bias beyond the float range", s->n_layers - 1, j);
            return refuse(s, m);
        }
    }
    for (size_t j = 0; j < F; j++) {
        double sc = (double)g[j] / sqrt((double)var[j] + (double)B->eps);
        for (size_t r = 0; r < rows; r++) L->w[r * F + j] = (float)(L->w[r * F + j] * sc);
        L->b[j] = (float)(((double)L->b[j] - mean[j]) * sc + beta[j]);
    }
    free(B->bn);
    B->bn = NULL;
    return LM_OK;
}

/* An activation node: the fused activation of the last dense or conv
 * layer, which may sit before max pools (for the monotone relu kinds:
 * act(max(x)) is max(act(x)) exactly) and dropouts (the identity in
 * inference). Where no layer can take it (after a batch norm that follows
 * an activated layer, a pool, another activation, or the input) an
 * elementwise one is a standalone activation layer (from 1.7; refused
 * before, so every graph that imported then imports as it did). */
static lm_status do_act(imp *s, lm_act act)
{
    lm_status st;
    if (act == LM_LEAKY_RELU) {
        float alpha = 0.01f;
        if (ox_attr_float(s->node, "alpha", &alpha, &st) < 0) return st;
        if (alpha != LM_LEAKY_SLOPE) return refuse(s, "lamina's leaky relu has alpha 0.01 only");
    }
    if (act == LM_SOFTMAX) {
        int64_t axis = int_attr(s, "axis", s->m->opset >= 13 ? -1 : 1, &st);
        if (st) return st;
        int two_d = s->state == FLAT || s->state == FLAT_CHW;
        if (!((two_d && (axis == 1 || axis == -1)) ||
              (s->state == NCHW && s->cur.h * s->cur.w == 1 && axis == 1)))
            return refuse(s, "lamina's softmax runs over a whole row: axis 1 of an (N, K) input");
    }
    if (s->tstd || s->tmean) return refuse(s, "an activation after the output scaling");
    /* lamina's batch norm has no activation: one right after a dense or
     * conv layer is folded into it, as PyTorch's export folds Conv+BN */
    if (s->n_layers >= 2 && s->layers[s->n_layers - 1].kind == LM_LAYER_BATCHNORM) {
        imp_layer *B = &s->layers[s->n_layers - 1], *L = &s->layers[s->n_layers - 2];
        if ((L->kind == LM_LAYER_DENSE || L->kind == LM_LAYER_CONV2D) && L->act == LM_IDENTITY) {
            TRY(fold_bn(s, L, B));
            s->n_layers--;
        }
    }
    for (int j = s->n_layers - 1; j >= 0; j--) {
        imp_layer *L = &s->layers[j];
        if (L->kind == LM_LAYER_DENSE || L->kind == LM_LAYER_CONV2D) {
            if (L->act != LM_IDENTITY) break;
            L->act = act;
            s->bias_pending = 0;
            return LM_OK;
        }
        if (L->kind == LM_LAYER_DROPOUT) continue;
        if (L->kind == LM_LAYER_MAXPOOL2D && (act == LM_RELU || act == LM_LEAKY_RELU)) continue;
        break;
    }
    if (act == LM_SOFTMAX) return refuse(s, "no dense or convolution layer before it can take this activation");
    /* elementwise: any shape; a raw 4-D input becomes the image it is, as
     * for a batch norm */
    if (s->state == RAW4) TRY(need_nchw(s));
    add_layer(s, LM_LAYER_ACTIVATION)->act = act;
    return LM_OK;
}

/* LogSoftmax, as PyTorch's F.log_softmax ends a classifier (its MNIST
 * example): lamina's softmax, which outputs the probabilities whose
 * logarithms the graph gives. The classes and their order are the same,
 * and training on with cross-entropy is what PyTorch's nll_loss of
 * log_softmax does; lamina has no log-softmax output. The change is said:
 * the model records it (metadata onnx_output) and lamina import prints
 * it. It must end the graph, as nothing after it may read the logarithms
 * (step). */
static lm_status do_log_softmax(imp *s)
{
    TRY(do_act(s, LM_SOFTMAX));
    const ox_str nm = s->node->name;
    snprintf(s->output_note, sizeof s->output_note, "softmax probabilities where the graph's "
             "LogSoftmax '%.*s' outputs their logarithms (the same classes)", (int)(nm.n > 60 ? 60 : nm.n), nm.s);
    return LM_OK;
}

/* The shape of t as text: "(1, 1, 1, 3)", a scalar "()". */
static void dims_text(const ox_tensor *t, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
}

/* The values of constant t that meet each value of the current tensor, a
 * flat (N, K) or an image (N, C, H, W) (K or C H W floats, in its order),
 * as ONNX broadcasts t: its axes line up with the tensor's last ones, each
 * of size 1 or the tensor's, the batch's 1. A t that would grow the tensor
 * (more axes, a batch axis over 1, a mean for another axis) is refused. */
static float *spread(const imp *s, const ox_tensor *t, lm_status *st)
{
    int image = s->state == NCHW;
    int64_t want[4] = {1, image ? s->cur.c : 1, image ? s->cur.h : 1,
                       image ? s->cur.w : (int64_t)cur_size(s)};
    int64_t td[4] = {1, 1, 1, 1};
    int ok = t->ndim <= (image ? 4 : 2);
    for (int i = 0; ok && i < t->ndim; i++) td[4 - t->ndim + i] = t->dims[i];
    for (int k = 0; ok && k < 4; k++) ok = td[k] == 1 || td[k] == want[k];
    if (!ok) {
        char sh[96], m[320];
        dims_text(t, sh, sizeof sh);
        if (image)
            snprintf(m, sizeof m, "its constant %s does not broadcast over its input (N, %d, %d, %d) "
                     "without growing it: one value, or one along the input's own axes", sh,
                     s->cur.c, s->cur.h, s->cur.w);
        else
            snprintf(m, sizeof m, "its constant %s does not broadcast over its input (N, %zu) "
                     "without growing it: one value, or one a feature ((%zu) or (1, %zu))", sh,
                     cur_size(s), cur_size(s), cur_size(s));
        *st = refuse(s, m);
        return NULL;
    }
    /* each side is 1 or the input's: the product is at most the input's width */
    float *v = floats(s, t, (size_t)(td[1] * td[2] * td[3]), "constant", st);
    if (!v) return NULL;
    size_t C = (size_t)want[1], H = (size_t)want[2], W = (size_t)want[3];
    float *full = lm__alloc(C * H * W, sizeof(float), "ONNX import");
    if (!full) {
        free(v);
        *st = LM_ENOMEM;
        return NULL;
    }
    for (size_t c = 0; c < C; c++)
        for (size_t h = 0; h < H; h++)
            for (size_t w = 0; w < W; w++)
                full[(c * H + h) * W + w] = v[((td[1] == 1 ? 0 : c) * (size_t)td[2] +
                                               (td[2] == 1 ? 0 : h)) * (size_t)td[3] +
                                              (td[3] == 1 ? 0 : w)];
    free(v);
    return full;
}

/* v, (C, H, W) of shape sh, in place as lamina's channels-last (H, W, C). */
static lm_status chw_to_hwc(float *v, lm__shape sh)
{
    size_t C = (size_t)sh.c, H = (size_t)sh.h, W = (size_t)sh.w;
    if (C == 1 || H * W == 1) return LM_OK;
    float *t = lm__alloc(C * H * W, sizeof(float), "ONNX import");
    if (!t) return LM_ENOMEM;
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < H * W; p++) t[p * C + c] = v[c * H * W + p];
    memcpy(v, t, C * H * W * sizeof(float));
    free(t);
    return LM_OK;
}

/* Sub, Add, Mul or Div of the input by a constant before the first layer:
 * composed into the input normalisation (x - mean) * scale, per input.
 * Keras' Rescaling comes as Mul then Add (x * scale + offset is (x -
 * -offset / scale) * scale); its Normalization, (x - mean) / max(sqrt(var),
 * eps) per feature (the last axis), as Sub then Div by the folded divisor,
 * or then Mul by its reciprocal (TF's constant folding turns the one into
 * the other). A constant may act on an (N, H, W, C) input before the
 * Transpose that tells its layout: its values, in the input's own order,
 * wait in that order (norm_raw) until the layout is known. */
static lm_status do_input_affine(imp *s, int op, const ox_tensor *t)
{
    lm_status st;
    int image = s->state == NCHW;
    if (s->state != FLAT && !image)
        return refuse(s, "only a flat (N, features) or an image input is normalised before the "
                      "first layer");
    float *v = spread(s, t, &st);
    if (!v) return st;
    size_t n = (size_t)s->n_in;
    if (image && s->at_input) {
        s->norm_raw = 1; /* the input as it came, its layout not known yet */
    } else if (image && (st = chw_to_hwc(v, s->cur))) {
        free(v); /* an NCHW image of known layout: lamina's rows are (H, W, C) */
        return st;
    }
    if (!s->mean) {
        s->mean = lm__calloc(n, sizeof(float), "ONNX import");
        s->scale = s->mean ? lm__alloc(n, sizeof(float), "ONNX import") : NULL;
        for (size_t i = 0; s->scale && i < n; i++) s->scale[i] = 1.0f;
        if (!s->scale) {
            free(v);
            return LM_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        float c = v[i], *m = &s->mean[i], *sc = &s->scale[i];
        const char *why = NULL;
        if (op == 3 && !(c > 0)) why = "divides by 0 or a negative number";
        else if (op == 3) *sc /= c;
        else if (op == 1) *sc *= c;
        else if (c != 0 && *sc == 0) why = "offsets the input after a scale of 0";
        /* (x - m) * sc - c is (x - (m + c / sc)) * sc; + c likewise */
        else if (c != 0) *m = op == 0 ? *m + c / *sc : *m - c / *sc;
        if (!why && (!isfinite(*m) || !isfinite(*sc)))
            why = "takes the input normalisation beyond the float range";
        if (why) {
            char msg[160];
            snprintf(msg, sizeof msg, "its constant %s: %g at input %zu (from 0)", why, (double)c, i);
            free(v);
            return refuse(s, msg);
        }
    }
    free(v);
    s->input_next = s->at_input; // what follows still reads the input's layout
    return LM_OK;
}

/* Sub, Add, Mul, Div before the first layer (input normalisation), Add
 * after a MatMul or bias-less Conv (its bias), Mul then Add after the
 * last layer (target standardisation). */
static lm_status do_affine(imp *s, int op) /* 0 Sub, 1 Mul, 2 Add, 3 Div */
{
    lm_status st;
    const ox_tensor *t = arg(s, 1, &st);
    if (!t) return st;
    if (s->node->n_in != 2) return refuse(s, "it takes two inputs");
    if (s->n_layers == 0) return do_input_affine(s, op, t);
    size_t count;
    TRY(ox_tensor_count(t, &count));
    size_t width = cur_size(s);
    imp_layer *L = &s->layers[s->n_layers - 1];
    if (op == 2 && s->bias_pending && !L->bias && L->act == LM_IDENTITY && !s->tstd) {
        size_t units = (size_t)L->units;
        /* broadcasting aligns the last axes: a dense output (N, K) takes
         * (K) or (1, K), a convolution's (N, F, H, W) only (F, 1, 1) or
         * (1, F, 1, 1) */
        int shape_ok = count == units &&
                       (L->kind == LM_LAYER_DENSE
                            ? t->ndim == 1 || (t->ndim == 2 && t->dims[0] == 1)
                            : (t->ndim == 3 && t->dims[1] == 1 && t->dims[2] == 1) ||
                                  (t->ndim == 4 && t->dims[0] == 1 && t->dims[2] == 1 && t->dims[3] == 1));
        if (shape_ok) {
            if (!(L->b = floats(s, t, units, "bias", &st))) return st;
            L->bias = 1;
            s->bias_pending = 0;
            return LM_OK;
        }
    }
    if (op == 0 || op == 3 || s->state != FLAT || t->ndim > 2 || (t->ndim == 2 && t->dims[0] != 1))
        return refuse(s, "only a bias, or output scaling of a flat (N, K) output by (K) values, "
                      "is taken here");
    if ((op == 1 && (s->tstd || s->tmean)) || (op == 2 && s->tmean))
        return refuse(s, "output scaling is (y * std) + mean, once");
    if (count != width && count != 1) return refuse(s, "its constant is not one value per output");
    float *full = widened(s, t, count, width, &st);
    if (!full) return st;
    if (op == 1) s->tstd = full;
    else s->tmean = full;
    s->bias_pending = 0;
    return LM_OK;
}

/* ReduceMean over an image's two sides (Keras' GlobalAveragePooling2D as
 * tf2onnx writes it: axes 1, 2 of (N, H, W, C); or 2, 3 of (N, C, H, W)):
 * a global average pool. keepdims 0 leaves the flat (N, C). */
static lm_status do_reduce_mean(imp *s)
{
    lm_status st;
    int64_t ax[OX_MAX_DIMS];
    int n = 0;
    if (s->m->opset >= 18 && s->node->n_in >= 2 && s->node->in[1].n) {
        const ox_tensor *t = arg(s, 1, &st);
        if (!t) return st;
        size_t k = 0;
        TRY(ox_tensor_ints(t, ax, OX_MAX_DIMS, &k, "ReduceMean axes"));
        n = (int)k;
    } else {
        TRY(ints_attr(s, "axes", ax, OX_MAX_DIMS, &n));
    }
    int64_t keep = int_attr(s, "keepdims", 1, &st);
    if (st) return st;
    /* the two axes, either order, negative ones counted from the end */
    int64_t a = n != 2 ? -1 : ax[0] < 0 ? ax[0] + 4 : ax[0];
    int64_t b = n != 2 ? -1 : ax[1] < 0 ? ax[1] + 4 : ax[1];
    int64_t lo = a < b ? a : b, hi = a < b ? b : a, h_axis = s->state == NHWC ? 1 : 2;
    if (s->n_layers == 0 || (s->state != NHWC && s->state != NCHW) || lo != h_axis ||
        hi != h_axis + 1)
        return refuse(s, "only a mean over an image's height and width (a global average "
                      "pool) is taken");
    add_layer(s, LM_LAYER_GLOBAL_AVGPOOL);
    s->cur.h = s->cur.w = 1;
    if (!keep) s->state = FLAT;
    return LM_OK;
}

/* Whether the input's sides after the batch, read as (C, H, W) in sh,
 * are rather (H, W, C): the last is 1, 3 or 4 (grey, RGB, RGBA) and the
 * first is none of those. ONNX images are (C, H, W) (PyTorch's (1, 28,
 * 28), (3, 32, 32)); this tells Keras' (28, 28, 1) from them where
 * nothing else in the graph does. */
static int looks_nhwc(lm__shape sh)
{
    int last_c = sh.w == 1 || sh.w == 3 || sh.w == 4;
    int first_c = sh.c == 1 || sh.c == 3 || sh.c == 4;
    return last_c && !first_c;
}

/* Shape arithmetic beside the chain. PyTorch writes x.view(x.size(0), -1)
 * as Shape of the tensor, Gather of its axis 0, Unsqueeze, Concat with a
 * constant -1, into the Reshape's shape; older code computes C * H * W
 * with Mul, other exporters (tf2onnx) and hand-written graphs with
 * ReduceProd of the sizes after the batch. These nodes compute a few
 * int64 values, each a number or the batch size N (which lamina never
 * fixes): the importer evaluates them as they come, so that the Reshape's
 * shape is known. A node whose value is none of these (N times 4) is
 * refused by name. */
typedef struct shape_value {
    ox_str name;
    int rank;                 /* 0: a scalar, 1: a vector */
    int n;                    /* its values */
    int64_t v[OX_MAX_DIMS];
    unsigned char batch[OX_MAX_DIMS]; /* v[i] is the batch size N */
} shape_value;

static const shape_value *find_shape(const imp *s, ox_str name)
{
    for (int i = s->n_shv - 1; i >= 0; i--)
        if (ox_eq(s->shv[i].name, name)) return &s->shv[i];
    return NULL;
}

/* Input k of the node as a shape value: one computed before, or an
 * integer constant of at most OX_MAX_DIMS values. */
static lm_status shape_arg(const imp *s, int k, shape_value *out)
{
    const ox_node *n = s->node;
    memset(out, 0, sizeof *out);
    const shape_value *v = k < n->n_in && k < OX_MAX_IO ? find_shape(s, n->in[k]) : NULL;
    if (v) {
        *out = *v;
        return LM_OK;
    }
    const ox_tensor *t = k < n->n_in && k < OX_MAX_IO ? find_tensor(s, n->in[k]) : NULL;
    char m[160];
    if (!t || t->ndim > 1 || (t->type != OX_INT64 && t->type != OX_INT32)) {
        snprintf(m, sizeof m, "its input %d is not a shape value lamina can evaluate (the "
                 "shape of the tensor the chain is at, or integer constants)", k + 1);
        return refuse(s, m);
    }
    size_t c = 0;
    TRY(ox_tensor_ints(t, out->v, OX_MAX_DIMS, &c, "shape constant"));
    out->n = (int)c;
    out->rank = t->ndim;
    if (out->rank == 0 && c != 1) return refuse(s, "a scalar constant without one value");
    return LM_OK;
}

/* The node's axes: attribute (before opset 13 for Unsqueeze and Squeeze)
 * or input 1; *n = -1 when absent. */
static lm_status axes_of(const imp *s, int64_t *ax, int *n)
{
    if (s->m->opset < 13) return ints_attr(s, "axes", ax, OX_MAX_DIMS, n);
    *n = -1;
    if (s->node->n_in < 2 || !s->node->in[1].n) return LM_OK;
    shape_value a;
    TRY(shape_arg(s, 1, &a));
    for (int i = 0; i < a.n; i++) {
        if (a.batch[i]) return refuse(s, "its axes are not constants");
        ax[i] = a.v[i];
    }
    *n = a.n;
    return LM_OK;
}

/* Shape of the current tensor as ONNX sees it: (N, K) flat, (N, C, H, W),
 * (N, H, W, C), or (N, d1, d2, d3) of a flat row reshaped to 4-D. */
static lm_status do_shape(imp *s, const ox_str *cur, shape_value *r)
{
    lm_status st;
    if (!ox_eq(s->node->in[0], *cur))
        return refuse(s, "lamina knows only the shape of the tensor the chain is at");
    int64_t all[4] = {0};
    int rank = 4;
    if (s->state == FLAT || s->state == FLAT_CHW) {
        all[1] = (int64_t)cur_size(s);
        rank = 2;
    } else if (s->state == NCHW) {
        all[1] = s->cur.c, all[2] = s->cur.h, all[3] = s->cur.w;
    } else if (s->state == NHWC) {
        all[1] = s->cur.h, all[2] = s->cur.w, all[3] = s->cur.c;
    } else {
        all[1] = s->raw[0], all[2] = s->raw[1], all[3] = s->raw[2];
    }
    int64_t start = int_attr(s, "start", 0, &st);
    if (st) return st;
    int64_t end = int_attr(s, "end", rank, &st);
    if (st) return st;
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    r->rank = 1;
    for (int64_t i = start; i < end; i++) {
        r->batch[r->n] = i == 0;
        r->v[r->n++] = all[i];
    }
    return LM_OK;
}

/* r's value i as a's value ia times b's value ib: a number, or the batch
 * size N times 1 (N times anything else would mix rows). */
static lm_status mul_size(const imp *s, shape_value *r, int i, shape_value a, int ia,
                          shape_value b, int ib)
{
    if (a.batch[ia] || b.batch[ib]) {
        int both = a.batch[ia] && b.batch[ib];
        int64_t f = a.batch[ia] ? b.v[ib] : a.v[ia];
        if (both || f != 1) {
            char m[160], by[32] = "itself";
            if (!both) snprintf(by, sizeof by, "%lld", (long long)f);
            snprintf(m, sizeof m, "it multiplies the batch size by %s: lamina runs any "
                     "batch, and a shape made of it would mix rows", by);
            return refuse(s, m);
        }
    }
    r->batch[i] = a.batch[ia] || b.batch[ib];
    int64_t x = a.batch[ia] ? 1 : a.v[ia], y = b.batch[ib] ? 1 : b.v[ib];
    if (x > INT32_MAX || x < -INT32_MAX || y > INT32_MAX || y < -INT32_MAX)
        return refuse(s, "its values are too large");
    r->v[i] = r->batch[i] ? 0 : x * y;
    return LM_OK;
}

static lm_status do_shape_op(imp *s, const ox_str *cur)
{
    lm_status st;
    const ox_node *n = s->node;
    ox_str op = n->op;
    if (n->n_out != 1 || !n->out[0].n) return refuse(s, "it must have one output");
    shape_value r = {.name = n->out[0]}, a, b;
    int64_t ax[OX_MAX_DIMS];
    int nax;
    if (ox_is(op, "Shape")) {
        TRY(do_shape(s, cur, &r));
    } else if (ox_is(op, "Gather")) {
        int64_t axis = int_attr(s, "axis", 0, &st);
        if (st) return st;
        TRY(shape_arg(s, 0, &a));
        TRY(shape_arg(s, 1, &b));
        if (a.rank != 1 || axis != 0) return refuse(s, "only Gather from a vector of sizes is evaluated");
        r.rank = b.rank;
        for (int i = 0; i < b.n; i++) {
            int64_t k = b.v[i] < 0 ? b.v[i] + a.n : b.v[i];
            if (b.batch[i] || k < 0 || k >= a.n) return refuse(s, "its index is out of range");
            r.v[r.n] = a.v[k];
            r.batch[r.n++] = a.batch[k];
        }
    } else if (ox_is(op, "Unsqueeze") || ox_is(op, "Squeeze")) {
        int unsq = ox_is(op, "Unsqueeze");
        TRY(shape_arg(s, 0, &r));
        TRY(axes_of(s, ax, &nax));
        r.name = n->out[0];
        int axis_ok = unsq ? nax == 1 && (ax[0] == 0 || ax[0] == -1)
                           : nax == -1 || (nax == 1 && (ax[0] == 0 || ax[0] == -1));
        if (!axis_ok || r.rank != (unsq ? 0 : 1) || r.n != 1)
            return refuse(s, unsq ? "only a scalar size made a vector of one is evaluated"
                                  : "only a vector of one size made a scalar is evaluated");
        r.rank = unsq;
    } else if (ox_is(op, "Concat")) {
        int64_t axis = int_attr(s, "axis", 0, &st);
        if (st) return st;
        if (axis != 0 && axis != -1) return refuse(s, "only a Concat of vectors of sizes is evaluated");
        if (n->n_in > OX_MAX_IO) return refuse(s, "too many inputs");
        r.rank = 1;
        for (int k = 0; k < n->n_in; k++) {
            TRY(shape_arg(s, k, &a));
            if (a.rank != 1) return refuse(s, "only a Concat of vectors of sizes is evaluated");
            if (r.n + a.n > OX_MAX_DIMS) return refuse(s, "its result has too many values");
            memcpy(r.v + r.n, a.v, (size_t)a.n * sizeof *a.v);
            memcpy(r.batch + r.n, a.batch, (size_t)a.n);
            r.n += a.n;
        }
    } else if (ox_is(op, "Cast")) {
        int64_t to = int_attr(s, "to", 0, &st);
        if (st) return st;
        if (to != OX_INT64 && to != OX_INT32) return refuse(s, "only a Cast of sizes to integers is evaluated");
        TRY(shape_arg(s, 0, &r));
        r.name = n->out[0];
    } else if (ox_is(op, "Slice")) {
        int64_t se[4][OX_MAX_DIMS]; /* starts, ends, axes, steps */
        int cnt[4] = {-1, -1, -1, -1};
        TRY(shape_arg(s, 0, &a));
        if (s->m->opset < 10) {
            static const char *names[3] = {"starts", "ends", "axes"};
            for (int k = 0; k < 3; k++) TRY(ints_attr(s, names[k], se[k], OX_MAX_DIMS, &cnt[k]));
        } else {
            for (int k = 0; k < 4 && k + 1 < n->n_in; k++) {
                if (!n->in[k + 1].n) continue;
                TRY(shape_arg(s, k + 1, &b));
                for (int i = 0; i < b.n; i++) {
                    if (b.batch[i]) return refuse(s, "its starts, ends, axes and steps are not constants");
                    se[k][i] = b.v[i];
                }
                cnt[k] = b.n;
            }
        }
        if (a.rank != 1 || cnt[0] != 1 || cnt[1] != 1 || (cnt[2] != -1 && (cnt[2] != 1 ||
            (se[2][0] != 0 && se[2][0] != -1))) || (cnt[3] != -1 && (cnt[3] != 1 || se[3][0] != 1)))
            return refuse(s, "only a Slice of a vector of sizes with step 1 is evaluated");
        int64_t lo = se[0][0] < 0 ? se[0][0] + a.n : se[0][0];
        int64_t hi = se[1][0] < 0 ? se[1][0] + a.n : se[1][0];
        lo = lo < 0 ? 0 : lo > a.n ? a.n : lo;
        hi = hi < lo ? lo : hi > a.n ? a.n : hi;
        r.rank = 1;
        for (int64_t i = lo; i < hi; i++) {
            r.v[r.n] = a.v[i];
            r.batch[r.n++] = a.batch[i];
        }
    } else if (ox_is(op, "ReduceProd")) { /* C * H * W as the product of sizes */
        TRY(shape_arg(s, 0, &a));
        int64_t keep = int_attr(s, "keepdims", 1, &st);
        if (st) return st;
        int64_t noop = int_attr(s, "noop_with_empty_axes", 0, &st); /* opset 18 */
        if (st) return st;
        if (s->m->opset < 18) TRY(ints_attr(s, "axes", ax, OX_MAX_DIMS, &nax));
        else TRY(axes_of(s, ax, &nax));
        /* no axes: all of them (but with noop_with_empty_axes, none) */
        int whole = nax <= 0 ? !noop : nax == 1 && (ax[0] == 0 || ax[0] == -1);
        if (a.rank != 1 || !whole)
            return refuse(s, "only a product of a whole vector of sizes is evaluated");
        r.rank = keep ? 1 : 0;
        r.n = 1;
        r.v[0] = 1;
        /* the numbers first, so that a refusal names all that multiply N */
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < a.n; i++)
                if (a.batch[i] == pass) TRY(mul_size(s, &r, 0, r, 0, a, i));
    } else { /* Mul, elementwise, a single value broadcast */
        TRY(shape_arg(s, 0, &a));
        TRY(shape_arg(s, 1, &b));
        if (a.n != b.n && a.n != 1 && b.n != 1) return refuse(s, "its inputs do not broadcast");
        r.rank = a.rank > b.rank ? a.rank : b.rank;
        r.n = a.n > b.n ? a.n : b.n;
        for (int i = 0; i < r.n; i++)
            TRY(mul_size(s, &r, i, a, a.n == 1 ? 0 : i, b, b.n == 1 ? 0 : i));
    }
    s->shv[s->n_shv++] = r;
    return LM_OK;
}

/* Whether the node computes a shape value beside the chain: Shape, and
 * the ops that read one. */
static int is_shape_op(const imp *s, const ox_str *cur)
{
    const ox_node *n = s->node;
    ox_str op = n->op;
    if (ox_is(op, "Shape")) return 1;
    if (!(ox_is(op, "Gather") || ox_is(op, "Unsqueeze") || ox_is(op, "Squeeze") ||
          ox_is(op, "Concat") || ox_is(op, "Cast") || ox_is(op, "Slice") || ox_is(op, "Mul") ||
          ox_is(op, "ReduceProd")))
        return 0;
    /* these but Mul never read the chain's tensor in a lamina net: their
     * inputs must be shape values (refused by name when not) */
    if (!ox_is(op, "Mul") && n->n_in >= 1 && !ox_eq(n->in[0], *cur)) return 1;
    for (int k = 0; k < n->n_in && k < OX_MAX_IO; k++)
        if (find_shape(s, n->in[k])) return 1;
    return 0;
}

/* Reshape to 2-D or 4-D, and Flatten. */
static lm_status do_reshape(imp *s, int flatten)
{
    lm_status st;
    int64_t d[OX_MAX_DIMS];
    size_t nd = 2;
    size_t width = cur_size(s);
    if (flatten) {
        int64_t axis = int_attr(s, "axis", 1, &st);
        if (st) return st;
        if (axis != 1) return refuse(s, "only Flatten with axis 1 is supported");
        d[0] = 0;
        d[1] = (int64_t)width;
    } else {
        const shape_value *v = s->node->n_in >= 2 ? find_shape(s, s->node->in[1]) : NULL;
        if (v) { /* computed beside the chain: N is the batch, kept */
            if (v->rank != 1) return refuse(s, "its shape is not a vector");
            nd = (size_t)v->n;
            for (size_t i = 0; i < nd; i++) {
                if (v->batch[i] && i > 0) {
                    char m[160];
                    snprintf(m, sizeof m, "its shape puts the batch size at axis %zu: lamina runs "
                             "any batch, and such a shape would mix rows", i);
                    return refuse(s, m);
                }
                d[i] = v->batch[i] ? 0 : v->v[i];
            }
        } else {
            const ox_tensor *t = arg(s, 1, &st);
            if (!t) return st;
            TRY(ox_tensor_ints(t, d, OX_MAX_DIMS, &nd, "Reshape shape"));
            int64_t allowzero = int_attr(s, "allowzero", 0, &st);
            if (st) return st;
            for (size_t i = 0; allowzero && i < nd; i++)
                if (d[i] == 0) return refuse(s, "a 0 in its shape with allowzero 1 is not supported");
        }
        if (nd != 2 && nd != 4) return refuse(s, "only reshapes to 2-D or 4-D are supported");
        if (d[0] != -1 && d[0] != 0) {
            /* a number: the batch when it is the input's fixed batch (an
             * export without dynamic axes writes its dummy input's), or 1
             * of an input whose batch is free, as before; any other
             * would mix rows */
            char sh[128];
            size_t k = (size_t)snprintf(sh, sizeof sh, "(");
            for (size_t i = 0; i < nd && k < sizeof sh; i++)
                k += (size_t)snprintf(sh + k, sizeof sh - k, "%s%lld", i ? ", " : "", (long long)d[i]);
            if (k < sizeof sh) snprintf(sh + k, sizeof sh - k, ")");
            if (s->in_batch > 0 && d[0] == s->in_batch) {
                if (!s->batch_note[0])
                    snprintf(s->batch_note, sizeof s->batch_note, "the input's batch is fixed at "
                             "%lld and Reshape '%.*s' has the shape %s: its %lld read as the batch",
                             (long long)s->in_batch, (int)(s->node->name.n > 60 ? 60 : s->node->name.n),
                             s->node->name.s, sh, (long long)d[0]);
            } else if (!(d[0] == 1 && s->in_batch < 0)) {
                char m[320], b[40] = "free (N)";
                if (s->in_batch > 0) snprintf(b, sizeof b, "fixed at %lld", (long long)s->in_batch);
                snprintf(m, sizeof m, "its shape %s starts with %lld, but the input's batch is %s: "
                         "lamina reads the first axis as the batch, and this shape would mix rows",
                         sh, (long long)d[0], b);
                return refuse(s, m);
            }
        }
        size_t known = 1;
        int free_at = -1;
        for (size_t i = 1; i < nd; i++) {
            if (d[i] == -1 && free_at < 0) free_at = (int)i;
            else if (d[i] < 1 || d[i] > LM_MAX_WIDTH) return refuse(s, "its shape is not supported");
            else known *= (size_t)d[i];
            if (known > width) return refuse(s, "its shape does not match its input's size");
        }
        if (free_at > 0) {
            if (width % known) return refuse(s, "its shape does not match its input's size");
            d[free_at] = (int64_t)(width / known);
        } else if (known != width) {
            return refuse(s, "its shape does not match its input's size");
        }
    }
    if (nd == 2) {
        if (!flatten && s->at_input && s->state == NCHW) {
            /* The input flattened by a Reshape before any layer: nothing
             * tells its layout, so its sides choose (looks_nhwc). A Keras
             * MLP on images (tf2onnx writes its Flatten as this Reshape)
             * has (H, W, C) sides, and its rows are then lamina's own
             * channels-last rows. A Flatten node is PyTorch's
             * (nn.Flatten, torch.flatten) of (C, H, W): a signal of 9
             * channels as (9, 128, 1) is no (H, W, C) image. Where the two
             * readings order the values differently, the model says which
             * one was taken. */
            int nhwc = looks_nhwc(s->in);
            if (s->in.c > 1 && s->in.h * s->in.w > 1)
                s->layout_guess = nhwc ? "(N, H, W, C), guessed from its sides"
                                       : "(N, C, H, W), guessed from its sides";
            if (nhwc) {
                s->in = s->cur = (lm__shape){s->in.w, s->in.c, s->in.h};
                s->norm_raw = 0; /* its own order is lamina's */
                s->state = FLAT;
                return LM_OK;
            }
        }
        if (s->state == NCHW) s->state = s->cur.c > 1 && s->cur.h * s->cur.w > 1 ? FLAT_CHW : FLAT;
        else if (s->state != FLAT_CHW) s->state = FLAT;
        return LM_OK;
    }
    if (s->state != FLAT) return refuse(s, "only a flat row may be reshaped to 4-D");
    s->raw[0] = (int)d[1];
    s->raw[1] = (int)d[2];
    s->raw[2] = (int)d[3];
    s->state = RAW4;
    return LM_OK;
}

static lm_status do_transpose(imp *s)
{
    int64_t p[8];
    int n;
    TRY(ints_attr(s, "perm", p, 8, &n));
    int to_nchw = n == 4 && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2;
    int to_nhwc = n == 4 && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1;
    /* only elementwise activations since the input: they commute with a
     * transpose, so the tensor is still the input's, in its own order */
    int elementwise = s->n_layers > 0 && !s->transposed;
    for (int j = 0; elementwise && j < s->n_layers; j++)
        elementwise = s->layers[j].kind == LM_LAYER_ACTIVATION;
    s->transposed = 1;
    if ((s->at_input || elementwise) && s->state == NCHW && to_nchw) {
        /* An (N, H, W, C) input turned to NCHW before the first layer, as
         * Keras' exports (tf2onnx) begin (or after an activation of it):
         * the input rows are lamina's own channels-last rows. */
        s->in = s->cur = (lm__shape){s->in.w, s->in.c, s->in.h};
        s->norm_raw = 0; /* a normalisation before it is in lamina's order */
        return LM_OK;
    }
    if (s->state == RAW4 && to_nchw) {
        /* (N, H, W, C) over the flat row: lamina's own layout */
        lm__shape sh = {s->raw[2], s->raw[0], s->raw[1]};
        if (s->n_layers == 0) s->in = sh;
        else if (sh.c != s->cur.c || sh.h != s->cur.h || sh.w != s->cur.w)
            return refuse(s, "a Reshape to 4-D inside the net is not a lamina layer");
        s->cur = sh;
        s->state = NCHW;
        return LM_OK;
    }
    if (s->state == NCHW && to_nhwc) {
        s->state = NHWC;
        return LM_OK;
    }
    if (s->state == NHWC && to_nchw) {
        s->state = NCHW;
        return LM_OK;
    }
    return refuse(s, "only NHWC <-> NCHW transposes of images are supported");
}

/* PyTorch writes AvgPool2d as a Pad (of zeros, without padding) then
 * AveragePool: a Pad that adds nothing is the identity. */
static lm_status do_pad(imp *s)
{
    lm_status st;
    int64_t p[OX_MAX_DIMS];
    size_t n = 0;
    if (s->m->opset < 11) {
        int k;
        if (ints_attr(s, "pads", p, OX_MAX_DIMS, &k)) return LM_EFORMAT;
        n = k < 0 ? 0 : (size_t)k;
    } else {
        const ox_tensor *t = arg(s, 1, &st);
        if (!t) return st;
        TRY(ox_tensor_ints(t, p, OX_MAX_DIMS, &n, "Pad pads"));
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return refuse(s, "only a Pad that adds nothing is supported");
    return LM_OK;
}

/* Sqrt and Max of float constants only, beside the chain: Keras' Normalization
 * exported without constant folding computes its divisor max(sqrt(var),
 * epsilon) in the graph (tf2onnx folds it when TF has). */
static int is_fold(const imp *s)
{
    const ox_node *n = s->node;
    if (!(ox_is(n->op, "Sqrt") || ox_is(n->op, "Max")) || n->n_in < 1 || n->n_in > OX_MAX_IO)
        return 0;
    for (int k = 0; k < n->n_in; k++) {
        const ox_tensor *t = find_tensor(s, n->in[k]);
        if (!t || t->type != OX_FLOAT) return 0;
    }
    return 1;
}

/* The node's value, computed from its constant inputs, as a constant of
 * the same name for the nodes that read it. Inputs broadcast as ONNX
 * does where it is plain: single values, and tensors of one shape. */
static lm_status fold(imp *s)
{
    lm_status st;
    const ox_node *n = s->node;
    int sqrt_op = ox_is(n->op, "Sqrt");
    if (n->n_out != 1 || !n->out[0].n) return refuse(s, "it must have one output");
    if (sqrt_op && n->n_in != 1) return refuse(s, "it takes one input");
    const ox_tensor *shape = NULL; /* the inputs' shape of more than one value */
    size_t count = 1;
    int ndim = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ox_tensor *t = find_tensor(s, n->in[k]);
        size_t c;
        TRY(ox_tensor_count(t, &c));
        ndim = t->ndim > ndim ? t->ndim : ndim;
        if (c == 1) continue;
        if (shape && (t->ndim != shape->ndim ||
                      memcmp(t->dims, shape->dims, (size_t)t->ndim * sizeof *t->dims)))
            return refuse(s, "only constants of one shape, or single values, are folded");
        shape = t;
        count = c;
    }
    /* a normalisation's divisor takes two folds of one value an input:
     * more is no such thing, and a file could make each node copy a
     * large initializer again */
    if (count > (size_t)s->n_in || s->folded_values + count > 4 * (size_t)s->n_in)
        return refuse(s, "the constants folded here would hold more than 4 values an input: "
                      "lamina folds those of the input's normalisation only");
    s->folded_values += count;
    unsigned char *raw = lm__alloc(count, 4, "ONNX import");
    float *out = lm__alloc(count, sizeof(float), "ONNX import");
    st = raw && out ? LM_OK : LM_ENOMEM;
    for (int k = 0; k < n->n_in && !st; k++) {
        const ox_tensor *t = find_tensor(s, n->in[k]);
        size_t c;
        if ((st = ox_tensor_count(t, &c))) break;
        float *v = floats(s, t, c, "constant", &st);
        for (size_t i = 0; v && i < count; i++) {
            float x = v[c == 1 ? 0 : i];
            if (sqrt_op && x < 0) {
                char m[160];
                snprintf(m, sizeof m, "the square root of a negative value (%g at %zu, from 0)",
                         (double)x, i);
                st = refuse(s, m);
                break;
            }
            out[i] = sqrt_op ? sqrtf(x) : k == 0 || x > out[i] ? x : out[i];
        }
        free(v);
    }
    if (st) {
        free(raw);
        free(out);
        return st;
    }
    for (size_t i = 0; i < count; i++) { /* as raw_data: little-endian */
        uint32_t u;
        memcpy(&u, &out[i], 4);
        for (int b = 0; b < 4; b++) raw[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    free(out);
    s->folded[s->n_folded++] = raw;
    ox_tensor *t = &s->consts[s->n_consts++];
    memset(t, 0, sizeof *t);
    t->name = n->out[0];
    t->type = OX_FLOAT;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) /* right-aligned, as broadcasting lines axes up */
        t->dims[i] = shape && i >= ndim - shape->ndim ? shape->dims[i - (ndim - shape->ndim)] : 1;
    t->raw = raw;
    t->raw_len = 4 * count;
    s->input_next = s->at_input; /* beside the chain: it stays where it was */
    return LM_OK;
}

static lm_status step(imp *s, ox_str *cur)
{
    const ox_node *n = s->node;
    lm_status st;
    if (n->domain.n && !ox_is(n->domain, "ai.onnx"))
        return refuse(s, "ops outside the default ONNX domain are not supported");
    if (ox_is(n->op, "Constant")) {
        if (n->n_out != 1) return refuse(s, "a Constant has one output");
        ox_tensor *t = &s->consts[s->n_consts];
        int k = ox_attr_tensor(n, "value", t, &st);
        if (k < 0) return st;
        if (k == 0) return refuse(s, "only Constant nodes with a tensor value are supported");
        t->name = n->out[0];
        s->n_consts++;
        s->input_next = s->at_input; /* beside the chain: it stays where it was */
        return LM_OK;
    }
    if (is_fold(s)) return fold(s);
    if (is_shape_op(s, cur)) {
        s->input_next = s->at_input;
        return do_shape_op(s, cur);
    }
    if (s->output_note[0] && !ox_is(n->op, "Identity"))
        return refuse(s, "a LogSoftmax, imported as lamina's softmax, must end the graph");
    if (n->n_in < 1 || !ox_eq(n->in[0], *cur))
        return refuse(s, "it does not read the output of the node before it: lamina "
                      "imports chains of layers only");
    if (n->n_out < 1 || n->out[0].n == 0) return refuse(s, "it has no output");
    /* the output scaling lamina applies after the last layer must be last */
    if ((s->tstd || s->tmean) && !ox_is(n->op, "Add") && !ox_is(n->op, "Identity"))
        return refuse(s, "only output scaling may follow output scaling");
    if (s->n_layers >= LM_MAX_LAYERS) return refuse(s, "too many layers");
    ox_str op = n->op;
    int64_t opset = s->m->opset;
    if (ox_is(op, "Gemm")) st = do_gemm(s, 0);
    else if (ox_is(op, "MatMul")) st = do_gemm(s, 1);
    else if (ox_is(op, "Conv")) st = do_conv(s);
    else if (ox_is(op, "MaxPool")) st = do_pool(s, LM_LAYER_MAXPOOL2D);
    else if (ox_is(op, "AveragePool")) st = do_pool(s, LM_LAYER_AVGPOOL2D);
    else if (ox_is(op, "GlobalAveragePool")) {
        st = need_nchw(s);
        if (!st) {
            add_layer(s, LM_LAYER_GLOBAL_AVGPOOL);
            s->cur.h = s->cur.w = 1;
        }
    } else if (ox_is(op, "BatchNormalization")) st = do_bn(s);
    else if (ox_is(op, "Dropout")) st = do_dropout(s, opset);
    else if (ox_is(op, "Identity")) st = LM_OK;
    else if (ox_is(op, "Pad")) st = do_pad(s);
    else if (ox_is(op, "Relu")) st = do_act(s, LM_RELU);
    else if (ox_is(op, "LeakyRelu")) st = do_act(s, LM_LEAKY_RELU);
    else if (ox_is(op, "Sigmoid")) st = do_act(s, LM_SIGMOID);
    else if (ox_is(op, "Tanh")) st = do_act(s, LM_TANH);
    else if (ox_is(op, "Softmax")) st = do_act(s, LM_SOFTMAX);
    else if (ox_is(op, "LogSoftmax")) st = do_log_softmax(s);
    else if (ox_is(op, "Sub")) st = do_affine(s, 0);
    else if (ox_is(op, "Mul")) st = do_affine(s, 1);
    else if (ox_is(op, "Add")) st = do_affine(s, 2);
    else if (ox_is(op, "Div")) st = do_affine(s, 3);
    else if (ox_is(op, "Flatten")) st = do_reshape(s, 1);
    else if (ox_is(op, "Reshape")) st = do_reshape(s, 0);
    else if (ox_is(op, "Transpose")) st = do_transpose(s);
    else if (ox_is(op, "ReduceMean")) st = do_reduce_mean(s);
    else st = refuse(s, "lamina has no layer for this op");
    if (st) return st;
    /* the same tensor passed on: still the input, if it was */
    if (ox_is(op, "Identity") || ox_is(op, "Pad")) s->input_next = s->at_input;
    *cur = n->out[0];
    return LM_OK;
}

/* A copy of v as a C string (NULL when longer than lamina keeps). */
static char *cstr(ox_str v)
{
    if (v.n >= LM_MAX_STRING) return NULL;
    char *c = lm__alloc(v.n + 1, 1, "ONNX metadata");
    if (!c) return NULL;
    memcpy(c, v.s, v.n);
    c[v.n] = '\0';
    return c;
}

/* What lm_net_save_onnx put in metadata_props (class names, metadata);
 * other entries, and ones lamina would refuse, are left out. */
static lm_status restore_meta(const ox_model *m, lm_net *net)
{
    for (int i = 0; i < m->n_meta; i++) {
        ox_str k = m->meta_keys[i], v = m->meta_vals[i];
        int esc = ox_is(k, "lamina.class_names_escaped");
        if (esc || ox_is(k, "lamina.class_names")) {
            int n = 1;
            for (size_t j = 0; j < v.n; j++) n += v.s[j] == '\n';
            // one a class, or two for one sigmoid output (class 1's probability)
            if (n != lm_net_n_out(net) && !(n == 2 && lm_net_n_out(net) == 1)) continue;
            char *all = cstr(v);
            const char **names = all ? lm__calloc((size_t)n, sizeof *names, "ONNX metadata") : NULL;
            if (!names) {
                free(all);
                return LM_ENOMEM;
            }
            char *p = all;
            for (int j = 0; j < n; j++) {
                names[j] = p;
                p = strchr(p, '\n');
                if (p) *p++ = '\0';
                else break;
            }
            for (int j = 0; esc && j < n && names[j]; j++) { // \\ and \n back, in place
                char *w = (char *)names[j];
                for (const char *r = names[j]; *r; r++) {
                    if (*r == '\\' && r[1] == 'n') *w++ = '\n', r++;
                    else if (*r == '\\' && r[1] == '\\') *w++ = '\\', r++;
                    else *w++ = *r;
                }
                *w = '\0';
            }
            lm_status st = lm_net_set_class_names(net, n, names);
            free(names);
            free(all);
            if (st == LM_ENOMEM) return st;
        } else if (k.n > 12 && memcmp(k.s, "lamina.meta.", 12) == 0) {
            /* how the import read another graph (import sets these for
             * this one): a lamina export of an imported model is not
             * that graph, and a note about it would be false here (older
             * lamina exports wrote them) */
            ox_str sub = {k.s + 12, k.n - 12};
            if (ox_import_note(sub.s, sub.n)) continue;
            char *key = cstr(sub), *val = cstr(v);
            lm_status st = key && val ? lm_net_set_meta(net, key, val) : LM_OK;
            free(key);
            free(val);
            if (st == LM_ENOMEM) return st;
        }
    }
    lm__err_clear();
    return LM_OK;
}

static lm_status build(imp *s, lm_net **out)
{
    lm_net *net = NULL;
    lm_status st = lm_net_new(&net, s->n_in);
    if (!st && (s->in.h != 1 || s->in.w != 1)) st = lm_net_set_input_shape(net, s->in.c, s->in.h, s->in.w);
    for (int i = 0; i < s->n_layers && !st; i++) {
        imp_layer *L = &s->layers[i];
        int flags = L->bias ? LM_BIAS : LM_NO_BIAS;
        switch (L->kind) {
        case LM_LAYER_DENSE: st = lm_net_add_dense(net, L->units, L->act, flags); break;
        case LM_LAYER_CONV2D:
            st = lm_net_add_conv2d(net, L->units, L->kh, L->kw, L->stride, L->pad, L->act, flags);
            break;
        case LM_LAYER_MAXPOOL2D: st = lm_net_add_maxpool2d(net, L->kh, L->stride); break;
        case LM_LAYER_AVGPOOL2D: st = lm_net_add_avgpool2d(net, L->kh, L->stride); break;
        case LM_LAYER_GLOBAL_AVGPOOL: st = lm_net_add_global_avgpool(net); break;
        case LM_LAYER_DROPOUT: st = lm_net_add_dropout(net, L->rate); break;
        case LM_LAYER_BATCHNORM: st = lm_net_add_batchnorm(net, L->momentum, L->eps); break;
        case LM_LAYER_ACTIVATION: st = lm_net_add_activation(net, L->act); break;
        default: st = lm__err(LM_EFORMAT, "internal: kind %d", (int)L->kind);
        }
        if (st) {
            lm__err_prefix("ONNX layer %d", i + 1);
            st = LM_EFORMAT;
        }
    }
    for (int i = 0; i < s->n_layers && !st; i++) {
        imp_layer *L = &s->layers[i];
        const lm__layer *NL = &net->layers[i];
        float *p = net->params + NL->p_off;
        if (L->kind == LM_LAYER_DENSE || L->kind == LM_LAYER_CONV2D) {
            size_t nb = L->bias ? (size_t)L->units : 0;
            memcpy(p, L->w, (NL->n_par - nb) * sizeof(float));
            if (nb) memcpy(p + NL->n_par - nb, L->b, nb * sizeof(float));
        } else if (L->kind == LM_LAYER_BATCHNORM) {
            memcpy(p, L->bn, NL->n_par * sizeof(float));
            memcpy(net->state + NL->s_off, L->bn + NL->n_par, NL->n_state * sizeof(float));
        }
    }
    if (!st && (s->mean || s->scale)) {
        size_t n = (size_t)s->n_in;
        float *ones = lm__calloc(2 * n, sizeof(float), "ONNX import");
        if (!ones) st = LM_ENOMEM;
        for (size_t i = 0; ones && i < n; i++) {
            ones[i] = s->mean ? s->mean[i] : 0.0f;
            ones[n + i] = s->scale ? s->scale[i] : 1.0f;
        }
        if (!st) st = lm_net_set_norm(net, ones, ones + n);
        free(ones);
    }
    if (!st && (s->tstd || s->tmean)) {
        size_t n = (size_t)lm_net_n_out(net);
        float *v = lm__calloc(2 * n, sizeof(float), "ONNX import");
        if (!v) st = LM_ENOMEM;
        for (size_t i = 0; v && i < n; i++) {
            v[i] = s->tmean ? s->tmean[i] : 0.0f;
            v[n + i] = s->tstd ? s->tstd[i] : 1.0f;
        }
        if (!st) st = lm_net_set_target_norm(net, v, v + n);
        if (st) st = LM_EFORMAT;
        free(v);
    }
    if (!st) st = restore_meta(s->m, net);
    if (!st && s->layout_guess) st = lm_net_set_meta(net, "onnx_input_layout", s->layout_guess);
    if (!st && s->batch_note[0]) st = lm_net_set_meta(net, "onnx_batch", s->batch_note);
    if (!st && s->output_note[0]) st = lm_net_set_meta(net, "onnx_output", s->output_note);
    if (st) {
        lm_net_free(net);
        return st;
    }
    *out = net;
    return LM_OK;
}

static lm_status import(const ox_model *m, lm_net **out)
{
    imp s = {.m = m};
    ox_str cur = {0};
    const ox_value *in = NULL;
    for (int i = 0; i < m->n_inputs && !in; i++) {
        int is_init = 0;
        for (int j = 0; j < m->n_inits; j++) is_init |= ox_eq(m->inits[j].name, m->inputs[i].name);
        if (!is_init) in = &m->inputs[i];
    }
    if (!in) return lm__err(LM_EFORMAT, "the graph has no input");
    if (m->n_outputs != 1) return lm__err(LM_EFORMAT, "the graph has %d outputs; lamina's nets have one", m->n_outputs);
    const int64_t *d = in->dims;
    /* each side at most 2^24, so d1 d2 fits, and d1 d2 d3 once d1 d2 does
     * (three such sides could overflow int64) */
    int ok = in->ndim == 2 ? d[1] >= 1 && d[1] <= LM_MAX_WIDTH
             : in->ndim == 4 ? d[1] >= 1 && d[2] >= 1 && d[3] >= 1 && d[1] <= LM_MAX_WIDTH &&
                               d[2] <= LM_MAX_WIDTH && d[3] <= LM_MAX_WIDTH &&
                               d[1] * d[2] <= LM_MAX_WIDTH && d[1] * d[2] * d[3] <= LM_MAX_WIDTH
                             : 0;
    if (!ok)
        return lm__err(LM_EFORMAT, "input '%.*s': lamina takes (N, features) or (N, C, H, W) "
                       "inputs of known sizes, at most %d values a row",
                       (int)(in->name.n > 100 ? 100 : in->name.n), in->name.s, LM_MAX_WIDTH);
    s.in_batch = d[0] >= 1 ? d[0] : -1;
    if (in->ndim == 2) {
        s.in = s.cur = (lm__shape){(int)d[1], 1, 1};
        s.state = FLAT;
    } else {
        s.in = s.cur = (lm__shape){(int)d[1], (int)d[2], (int)d[3]};
        s.state = NCHW;
    }
    s.n_in = (int)lm__shape_size(s.in);
    /* A lamina export's flat input keeps its image shape in the metadata
     * (lamina.input_shape "C,H,W"): the rows are the same, the shape
     * given back (a Reshape to 4-D of that input sets it again). */
    for (int i = 0; i < m->n_meta && in->ndim == 2; i++) {
        char v[64];
        int c, h, w, end = 0;
        ox_str val = m->meta_vals[i];
        if (!ox_is(m->meta_keys[i], "lamina.input_shape") || val.n >= sizeof v) continue;
        memcpy(v, val.s, val.n);
        v[val.n] = '\0';
        if (sscanf(v, "%d,%d,%d%n", &c, &h, &w, &end) == 3 && !v[end] && c >= 1 && h >= 1 &&
            w >= 1 && (int64_t)c * h <= d[1] && (int64_t)c * h * w == d[1])
            s.in = (lm__shape){c, h, w};
    }
    cur = in->name;
    size_t nn = (size_t)m->n_nodes + 1;
    s.consts = lm__calloc(nn, sizeof *s.consts, "ONNX import");
    s.shv = lm__calloc(nn, sizeof *s.shv, "ONNX import");
    s.layers = lm__calloc(nn, sizeof *s.layers, "ONNX import");
    s.folded = lm__calloc(nn, sizeof *s.folded, "ONNX import");
    lm_status st = s.consts && s.layers && s.shv && s.folded ? LM_OK : LM_ENOMEM;
    for (int i = 0; i < m->n_nodes && !st; i++) {
        s.node = &m->nodes[i];
        s.at_input = ox_eq(cur, in->name) || s.input_next;
        s.input_next = 0;
        st = step(&s, &cur);
    }
    if (!st && !ox_eq(cur, m->outputs[0].name))
        st = lm__err(LM_EFORMAT, "the graph's output '%.*s' is not the end of its chain of nodes",
                     (int)(m->outputs[0].name.n > 100 ? 100 : m->outputs[0].name.n), m->outputs[0].name.s);
    if (!st && s.n_layers == 0) st = lm__err(LM_EFORMAT, "the graph holds no layer lamina can take");
    if (!st && ((s.state == NCHW && s.cur.c > 1 && s.cur.h * s.cur.w > 1) ||
                (s.state == FLAT_CHW)))
        st = lm__err(LM_EFORMAT, "the graph's output is in (C, H, W) order; lamina's rows are (H, W, C)");
    /* a normalisation of an image input read as (N, C, H, W) after all */
    if (!st && s.norm_raw && s.mean && !(st = chw_to_hwc(s.mean, s.in))) st = chw_to_hwc(s.scale, s.in);
    if (!st) st = build(&s, out);
    for (int i = 0; s.layers && i < s.n_layers; i++) {
        free(s.layers[i].w);
        free(s.layers[i].b);
        free(s.layers[i].bn);
    }
    free(s.layers);
    for (int i = 0; i < s.n_folded; i++) free(s.folded[i]);
    free(s.folded);
    free(s.consts);
    free(s.shv);
    free(s.mean);
    free(s.scale);
    free(s.tstd);
    free(s.tmean);
    return st;
}

lm_status lm_net_load_onnx_mem(lm_net **out, const void *buf, size_t len)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(buf);
    ox_model m;
    lm_status st = ox_parse(buf, len, &m);
    if (!st) st = import(&m, out);
    ox_model_free(&m);
    return st;
}

lm_status lm_net_load_onnx(lm_net **out, const char *path)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(path);
    unsigned char *buf;
    size_t len;
    lm_status st = lm__read_file(path, &buf, &len);
    if (st) return st;
    st = lm_net_load_onnx_mem(out, buf, len);
    if (st) lm__err_prefix("%s", path);
    free(buf);
    return st;
}
