/* onnx_write.c - a net as an ONNX model (lm_net_save_onnx).
 *
 * The graph takes "input" (N, n_in): a row exactly as lm_net_predict reads
 * it (channels-last for images), and gives "output" (N, n_out): what
 * lm_net_predict returns. In between: the input normalisation (Sub, Mul),
 * a Reshape to (N, H, W, C) and a Transpose to ONNX's (N, C, H, W) before
 * the first spatial layer, one node a layer (plus its activation), and a
 * Flatten before a dense layer, whose weight rows are permuted from
 * lamina's (H, W, C) order to the (C, H, W) order Flatten gives. Every
 * parameter is copied bit for bit, so lm_net_load_onnx gives the net back.
 * docs/EXPORT.md lists the ops. */
#include "onnx/onnx.h"
#include "layers/layer.h"
#include "kernels/conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wctx {
    pb_buf nodes, inits;
    int dry;           /* a first pass only counts the nodes */
    int count, total;  /* nodes emitted so far, and in all (from the dry pass) */
    char cur[32];      /* the tensor the next node reads */
} wctx;

static void attr_begin(pb_buf *a, const char *name, int type)
{
    pb_put_str(a, OX_ATTR_NAME, name);
    pb_put_int(a, OX_ATTR_TYPE, type);
}

static void put_attr(pb_buf *attrs, pb_buf *a)
{
    pb_put_msg(attrs, OX_NODE_ATTR, a);
    pb_buf_free(a);
}

static void attr_int(pb_buf *attrs, const char *name, int64_t v)
{
    pb_buf a = {0};
    attr_begin(&a, name, OX_AT_INT);
    pb_put_int(&a, OX_ATTR_I, v);
    put_attr(attrs, &a);
}

static void attr_float(pb_buf *attrs, const char *name, float v)
{
    pb_buf a = {0};
    attr_begin(&a, name, OX_AT_FLOAT);
    pb_put_float(&a, OX_ATTR_F, v);
    put_attr(attrs, &a);
}

static void attr_str(pb_buf *attrs, const char *name, const char *v)
{
    pb_buf a = {0};
    attr_begin(&a, name, OX_AT_STRING);
    pb_put_str(&a, OX_ATTR_S, v);
    put_attr(attrs, &a);
}

static void attr_ints(pb_buf *attrs, const char *name, const int64_t *v, int n)
{
    pb_buf a = {0};
    attr_begin(&a, name, OX_AT_INTS);
    for (int i = 0; i < n; i++) pb_put_int(&a, OX_ATTR_INTS, v[i]);
    put_attr(attrs, &a);
}

/* A node reading cur and the named extra inputs; its output becomes cur
 * ("output" for the graph's last node). attrs (NULL: none) is freed. */
static void node(wctx *c, const char *op, const char *in1, const char *in2, const char *in3,
                 const char *in4, pb_buf *attrs)
{
    int k = c->count++;
    char out[32];
    if (c->dry) {
        if (attrs) pb_buf_free(attrs);
        return;
    }
    if (k == c->total - 1) snprintf(out, sizeof out, "output");
    else snprintf(out, sizeof out, "t%d", k);
    char name[48];
    snprintf(name, sizeof name, "%s_%d", op, k);
    pb_buf n = {0};
    pb_put_str(&n, OX_NODE_INPUT, c->cur);
    if (in1) pb_put_str(&n, OX_NODE_INPUT, in1);
    if (in2) pb_put_str(&n, OX_NODE_INPUT, in2);
    if (in3) pb_put_str(&n, OX_NODE_INPUT, in3);
    if (in4) pb_put_str(&n, OX_NODE_INPUT, in4);
    pb_put_str(&n, OX_NODE_OUTPUT, out);
    pb_put_str(&n, OX_NODE_NAME, name);
    pb_put_str(&n, OX_NODE_OP, op);
    if (attrs) {
        if (attrs->err && !n.err) n.err = attrs->err;
        pb_put_raw(&n, attrs->p, attrs->n);
        pb_buf_free(attrs);
    }
    pb_put_msg(&c->nodes, OX_GRAPH_NODE, &n);
    pb_buf_free(&n);
    snprintf(c->cur, sizeof c->cur, "%s", out);
}

/* An initializer of floats (raw little-endian data) or int64s. */
static void init_tensor(wctx *c, const char *name, const int64_t *dims, int ndim, const float *f,
                        const int64_t *iv, size_t n)
{
    if (c->dry) return;
    pb_buf t = {0};
    for (int i = 0; i < ndim; i++) pb_put_int(&t, OX_T_DIMS, dims[i]);
    pb_put_int(&t, OX_T_TYPE, f ? OX_FLOAT : OX_INT64);
    pb_put_str(&t, OX_T_NAME, name);
    pb_put_varint(&t, (uint64_t)OX_T_RAW << 3 | PB_LEN);
    pb_put_varint(&t, n * (f ? 4 : 8));
    for (size_t i = 0; i < n; i++) {
        unsigned char b[8];
        uint64_t u;
        if (f) {
            uint32_t w;
            memcpy(&w, f + i, 4);
            u = w;
        } else {
            u = (uint64_t)iv[i];
        }
        for (int j = 0; j < 8; j++) b[j] = (unsigned char)(u >> (8 * j));
        pb_put_raw(&t, b, f ? 4 : 8);
    }
    pb_put_msg(&c->inits, OX_GRAPH_INIT, &t);
    pb_buf_free(&t);
}

static void init_vec(wctx *c, const char *name, const float *f, size_t n)
{
    int64_t d = (int64_t)n;
    init_tensor(c, name, &d, 1, f, NULL, n);
}

static void value_info(pb_buf *g, uint32_t field, const char *name, int width)
{
    pb_buf dn = {0}, dw = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    pb_put_str(&dn, OX_DIM_PARAM, "N");
    pb_put_int(&dw, OX_DIM_VALUE, width);
    pb_put_msg(&shape, OX_SHAPE_DIM, &dn);
    pb_put_msg(&shape, OX_SHAPE_DIM, &dw);
    pb_put_int(&tt, OX_TT_ELEM, OX_FLOAT);
    pb_put_msg(&tt, OX_TT_SHAPE, &shape);
    pb_put_msg(&type, OX_TYPE_TENSOR, &tt);
    pb_put_str(&vi, OX_VI_NAME, name);
    pb_put_msg(&vi, OX_VI_TYPE, &type);
    pb_put_msg(g, field, &vi);
    pb_buf *all[] = {&dn, &dw, &shape, &tt, &type, &vi};
    for (int i = 0; i < 6; i++) pb_buf_free(all[i]);
}

enum { FLAT, NCHW };

static lm_status act_node(wctx *c, const lm__layer *L, int state, int index)
{
    pb_buf a = {0};
    switch (L->act) {
    case LM_IDENTITY: return LM_OK;
    case LM_RELU: node(c, "Relu", NULL, NULL, NULL, NULL, NULL); return LM_OK;
    case LM_SIGMOID: node(c, "Sigmoid", NULL, NULL, NULL, NULL, NULL); return LM_OK;
    case LM_TANH: node(c, "Tanh", NULL, NULL, NULL, NULL, NULL); return LM_OK;
    case LM_LEAKY_RELU:
        attr_float(&a, "alpha", LM_LEAKY_SLOPE);
        node(c, "LeakyRelu", NULL, NULL, NULL, NULL, &a);
        return LM_OK;
    case LM_SOFTMAX:
        /* lamina's softmax runs over a whole row, ONNX's over one axis:
         * the same only where the row is one axis */
        if (state == NCHW && L->out.h * L->out.w > 1)
            return lm__err(LM_EINVAL, "layer %d: a softmax over a (C, H, W) output with H*W > 1 "
                           "has no single ONNX node", index);
        attr_int(&a, "axis", 1);
        node(c, "Softmax", NULL, NULL, NULL, NULL, &a);
        return LM_OK;
    default: return lm__err(LM_EINVAL, "layer %d: unknown activation", index);
    }
}

/* The graph's nodes and initializers into c; LM_EINVAL for what ONNX
 * cannot say. */
static lm_status emit(const lm_net *net, wctx *c, float *scratch)
{
    int state = FLAT;
    char nm[64], nm2[64], nm3[64], nm4[64];
    snprintf(c->cur, sizeof c->cur, "input");
    if (net->norm_mean) {
        init_vec(c, "norm_mean", net->norm_mean, (size_t)net->n_in);
        init_vec(c, "norm_scale", net->norm_scale, (size_t)net->n_in);
        node(c, "Sub", "norm_mean", NULL, NULL, NULL, NULL);
        node(c, "Mul", "norm_scale", NULL, NULL, NULL, NULL);
    }
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        const lm__layer_cfg *cf = &L->cfg;
        const float *p = net->params + L->p_off;
        int idx = l + 1, hw = L->in.h * L->in.w;
        lm_layer_kind k = cf->kind;
        /* a dropout (or an activation) over an image is one too: the
         * importer takes the Reshape of the flat input only, before any
         * layer */
        int spatial = k == LM_LAYER_CONV2D || k == LM_LAYER_MAXPOOL2D ||
                      k == LM_LAYER_AVGPOOL2D || k == LM_LAYER_GLOBAL_AVGPOOL ||
                      ((k == LM_LAYER_BATCHNORM || k == LM_LAYER_DROPOUT || k == LM_LAYER_ACTIVATION) &&
                       hw > 1);
        if (spatial && state == FLAT) {
            int64_t shape[4] = {-1, L->in.h, L->in.w, L->in.c}, two = 4, perm[4] = {0, 3, 1, 2};
            snprintf(nm, sizeof nm, "l%d_shape", idx);
            init_tensor(c, nm, &two, 1, NULL, shape, 4);
            node(c, "Reshape", nm, NULL, NULL, NULL, NULL);
            pb_buf a = {0};
            attr_ints(&a, "perm", perm, 4);
            node(c, "Transpose", NULL, NULL, NULL, NULL, &a);
            state = NCHW;
        }
        int permute = 0;
        if (k == LM_LAYER_DENSE && state == NCHW) {
            pb_buf a = {0};
            attr_int(&a, "axis", 1);
            node(c, "Flatten", NULL, NULL, NULL, NULL, &a);
            permute = L->in.c > 1 && hw > 1;
            state = FLAT;
        }
        snprintf(nm, sizeof nm, "l%d_weight", idx);
        snprintf(nm2, sizeof nm2, "l%d_bias", idx);
        switch (k) {
        case LM_LAYER_DENSE: {
            const float *W = net->params + L->w_off;
            size_t no = (size_t)L->n_out;
            int64_t d[2] = {L->n_in, L->n_out};
            if (permute && !c->dry) {
                /* row (h, w, ch) of lamina's W is row (ch, h, w) of ONNX's */
                int C = L->in.c, H = L->in.h, Wd = L->in.w;
                for (int ch = 0; ch < C; ch++)
                    for (int h = 0; h < H; h++)
                        for (int w = 0; w < Wd; w++)
                            memcpy(scratch + ((size_t)(ch * H + h) * Wd + w) * no,
                                   W + ((size_t)(h * Wd + w) * C + ch) * no, no * sizeof(float));
                W = scratch;
            }
            init_tensor(c, nm, d, 2, W, NULL, (size_t)L->n_in * no);
            if (L->has_bias) init_vec(c, nm2, net->params + L->b_off, no);
            node(c, "Gemm", nm, L->has_bias ? nm2 : NULL, NULL, NULL, NULL);
            break;
        }
        case LM_LAYER_CONV2D: {
            int C = L->in.c, F = cf->units, KH = cf->kh, KW = cf->kw;
            int64_t d[4] = {F, C, KH, KW};
            if (!c->dry)
                for (int f = 0; f < F; f++)
                    for (int ch = 0; ch < C; ch++)
                        for (int i = 0; i < KH; i++)
                            for (int j = 0; j < KW; j++)
                                scratch[(((size_t)f * C + ch) * KH + i) * KW + j] =
                                    p[(((size_t)i * KW + j) * C + ch) * F + f];
            size_t nw = (size_t)F * C * KH * KW;
            init_tensor(c, nm, d, 4, scratch, NULL, nw);
            if (L->has_bias) init_vec(c, nm2, p + nw, (size_t)F);
            pb_buf a = {0};
            int64_t ks[2] = {KH, KW}, st[2] = {cf->stride, cf->stride};
            attr_ints(&a, "kernel_shape", ks, 2);
            attr_ints(&a, "strides", st, 2);
            if (cf->pad == LM_PAD_SAME) {
                attr_str(&a, "auto_pad", "SAME_UPPER"); /* the extra row below, as lamina */
            } else if (cf->pad == LM_PAD_VALID) {
                attr_str(&a, "auto_pad", "VALID");
            } else {
                int64_t pads[4] = {cf->pad, cf->pad, cf->pad, cf->pad};
                attr_ints(&a, "pads", pads, 4);
            }
            node(c, "Conv", nm, L->has_bias ? nm2 : NULL, NULL, NULL, &a);
            break;
        }
        case LM_LAYER_MAXPOOL2D:
        case LM_LAYER_AVGPOOL2D: {
            pb_buf a = {0};
            int64_t ks[2] = {cf->kh, cf->kw}, st[2] = {cf->stride, cf->stride};
            attr_ints(&a, "kernel_shape", ks, 2);
            attr_ints(&a, "strides", st, 2);
            node(c, k == LM_LAYER_MAXPOOL2D ? "MaxPool" : "AveragePool", NULL, NULL, NULL, NULL, &a);
            break;
        }
        case LM_LAYER_GLOBAL_AVGPOOL: node(c, "GlobalAveragePool", NULL, NULL, NULL, NULL, NULL); break;
        case LM_LAYER_DROPOUT:
            /* inference: the identity; the rate is kept for training */
            snprintf(nm, sizeof nm, "l%d_ratio", idx);
            init_tensor(c, nm, NULL, 0, &cf->rate, NULL, 1);
            node(c, "Dropout", nm, NULL, NULL, NULL, NULL);
            break;
        case LM_LAYER_BATCHNORM: {
            size_t C = (size_t)L->in.c;
            const float *s = net->state + L->s_off;
            snprintf(nm, sizeof nm, "l%d_gamma", idx);
            snprintf(nm2, sizeof nm2, "l%d_beta", idx);
            snprintf(nm3, sizeof nm3, "l%d_mean", idx);
            snprintf(nm4, sizeof nm4, "l%d_var", idx);
            init_vec(c, nm, p, C);
            init_vec(c, nm2, p + C, C);
            init_vec(c, nm3, s, C);
            init_vec(c, nm4, s + C, C);
            pb_buf a = {0};
            attr_float(&a, "epsilon", cf->eps);
            /* ONNX keeps the old statistics' share, PyTorch and lamina the new one's */
            attr_float(&a, "momentum", (float)(1.0 - (double)cf->momentum));
            node(c, "BatchNormalization", nm, nm2, nm3, nm4, &a);
            break;
        }
        case LM_LAYER_ACTIVATION: break; /* elementwise, in either layout: its node below */
        default: return lm__err(LM_EINVAL, "layer %d: kind %s has no ONNX form", idx, L->kind->name);
        }
        if (k == LM_LAYER_DENSE || k == LM_LAYER_CONV2D || k == LM_LAYER_ACTIVATION) {
            lm_status st = act_node(c, L, state, idx);
            if (st) return st;
        }
    }
    const lm__layer *last = &net->layers[net->n_layers - 1];
    if (state == NCHW) {
        pb_buf a = {0};
        if (last->out.c > 1 && last->out.h * last->out.w > 1) {
            int64_t perm[4] = {0, 2, 3, 1}; /* back to lamina's channels-last rows */
            attr_ints(&a, "perm", perm, 4);
            node(c, "Transpose", NULL, NULL, NULL, NULL, &a);
        }
        pb_buf b = {0};
        attr_int(&b, "axis", 1);
        node(c, "Flatten", NULL, NULL, NULL, NULL, &b);
    }
    if (net->tnorm && net->tnorm_n == last->n_out) {
        init_vec(c, "target_std", net->tnorm + net->tnorm_n, (size_t)net->tnorm_n);
        init_vec(c, "target_mean", net->tnorm, (size_t)net->tnorm_n);
        node(c, "Mul", "target_std", NULL, NULL, NULL, NULL);
        node(c, "Add", "target_mean", NULL, NULL, NULL, NULL);
    }
    return LM_OK;
}

/* The length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0:
 * no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xF0 && s[1] < 0x90)) return 0; /* overlong */
    if ((c == 0xED && s[1] > 0x9F) || (c == 0xF4 && s[1] > 0x8F)) return 0;
    return len;
}

/* s[0..n) as UTF-8, which protobuf requires of a string field (ONNX
 * Runtime's Python API refuses a model whose metadata is not): a byte
 * that starts no valid sequence, the 0xE9 of a Latin-1 or Windows-1252
 * CSV's "Caf\xe9", is written as the character of that Latin-1 code point
 * (U+00E9, "\xc3\xa9"); valid text is copied as it is. */
static void put_utf8(pb_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* valid bytes not yet copied, ending at i */
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(u + i, n - i);
        if (len) {
            i += len;
            run += len;
            continue;
        }
        unsigned char two[2] = {(unsigned char)(0xC0 | u[i] >> 6),
                                (unsigned char)(0x80 | (u[i] & 0x3F))};
        pb_put_raw(b, u + i - run, run);
        pb_put_raw(b, two, 2);
        run = 0;
        i++;
    }
    pb_put_raw(b, u + n - run, run);
}

static void entry(pb_buf *out, const char *k1, const char *k2, const char *v, size_t vlen)
{
    pb_buf e = {0}, k = {0}, val = {0};
    put_utf8(&k, k1, strlen(k1));
    put_utf8(&k, k2, strlen(k2));
    put_utf8(&val, v, vlen);
    pb_put_bytes(&e, OX_ENTRY_KEY, k.p, k.n);
    pb_put_bytes(&e, OX_ENTRY_VALUE, val.p, val.n);
    if (k.err || val.err) e.err = k.err ? k.err : val.err;
    pb_put_msg(out, OX_MODEL_META, &e);
    pb_buf_free(&e);
    pb_buf_free(&k);
    pb_buf_free(&val);
}

/* The class names and metadata as the model's metadata_props, so that an
 * import gives them back: "lamina.class_names" (one a line) and
 * "lamina.meta.KEY" (but for an import's notes on the graph it read,
 * false of this one). A class name may hold a newline (a quoted CSV
 * field): then the names go as "lamina.class_names_escaped", one a line
 * with each backslash written as two and each newline as backslash, n. */
static lm_status put_meta(const lm_net *net, pb_buf *out)
{
    if (net->class_names) {
        pb_buf names = {0};
        int esc = 0;
        for (int i = 0; i < net->n_classes; i++) esc |= strchr(net->class_names[i], '\n') != NULL;
        for (int i = 0; i < net->n_classes; i++) {
            if (i) pb_put_raw(&names, "\n", 1);
            const char *c = net->class_names[i];
            if (!esc) {
                pb_put_raw(&names, c, strlen(c));
                continue;
            }
            for (; *c; c++) {
                if (*c == '\\') pb_put_raw(&names, "\\\\", 2);
                else if (*c == '\n') pb_put_raw(&names, "\\n", 2);
                else pb_put_raw(&names, c, 1);
            }
        }
        entry(out, esc ? "lamina.class_names_escaped" : "lamina.class_names", "",
              (const char *)names.p, names.n);
        if (names.err) out->err = names.err;
        pb_buf_free(&names);
    }
    for (int i = 0; i < net->n_meta; i++)
        if (!ox_import_note(net->meta_keys[i], strlen(net->meta_keys[i])))
            entry(out, "lamina.meta.", net->meta_keys[i], net->meta_vals[i],
                  strlen(net->meta_vals[i]));
    /* the input's image shape: the graph's input is a flat row, and a
     * dense first layer leaves nothing else to tell it (C,H,W) */
    const lm__shape *in = &net->in_shape;
    if (in->h != 1 || in->w != 1) {
        char v[64];
        int n = snprintf(v, sizeof v, "%d,%d,%d", in->c, in->h, in->w);
        entry(out, "lamina.input_shape", "", v, (size_t)n);
    }
    return out->err;
}

static lm_status encode(const lm_net *net, int opset, pb_buf *out)
{
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "the net has no layers to export");
    if (opset == 0) opset = LM_ONNX_OPSET;
    if (opset < 13 || opset > 17)
        return lm__err(LM_EINVAL, "opset %d: lamina writes opsets 13 to 17", opset);
    /* scratch for a permuted weight matrix: the largest layer's parameters */
    size_t most = 1;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].n_par > most) most = net->layers[l].n_par;
    float *scratch = lm__alloc(most, sizeof(float), "ONNX export");
    if (!scratch) return LM_ENOMEM;
    wctx c = {.dry = 1};
    lm_status st = emit(net, &c, scratch);
    if (st == LM_OK && c.count == 0) {
        /* nothing to compute (dropout-only nets have a node): keep a valid graph */
        st = lm__err(LM_EINVAL, "the net has no ONNX nodes to export");
    }
    if (st == LM_OK) {
        c = (wctx){.total = c.count};
        st = emit(net, &c, scratch);
    }
    free(scratch);
    pb_buf g = {0}, opset_id = {0};
    if (st == LM_OK) {
        pb_put_raw(&g, c.nodes.p, c.nodes.n);
        pb_put_str(&g, OX_GRAPH_NAME, "lamina");
        pb_put_raw(&g, c.inits.p, c.inits.n);
        value_info(&g, OX_GRAPH_INPUT, "input", net->n_in);
        value_info(&g, OX_GRAPH_OUTPUT, "output", lm_net_n_out(net));
        if (c.nodes.err || c.inits.err) g.err = c.nodes.err ? c.nodes.err : c.inits.err;
        pb_put_int(out, OX_MODEL_IR_VERSION, opset <= 14 ? 7 : 8);
        pb_put_str(out, OX_MODEL_PRODUCER, "lamina");
        pb_put_str(out, OX_MODEL_PRODUCER_VERSION, LM_VERSION_STRING);
        pb_put_str(&opset_id, OX_OPSET_DOMAIN, "");
        pb_put_int(&opset_id, OX_OPSET_VERSION, opset);
        pb_put_msg(out, OX_MODEL_OPSET, &opset_id);
        pb_put_msg(out, OX_MODEL_GRAPH, &g);
        st = put_meta(net, out);
        if (!st) st = out->err;
    }
    pb_buf_free(&c.nodes);
    pb_buf_free(&c.inits);
    pb_buf_free(&g);
    pb_buf_free(&opset_id);
    return st;
}

lm_status lm_net_save_onnx(const lm_net *net, const char *path, int opset)
{
    LM_NONNULL(net);
    LM_NONNULL(path);
    pb_buf b = {0};
    /* what lm_net_load_onnx would refuse (a NaN weight, a variance below
     * 0) is not written: an old good file is kept */
    lm_status st = lm__net_check_writable(net, "the ONNX file is not written");
    if (st == LM_OK) st = encode(net, opset, &b);
    if (st == LM_OK) st = lm__write_atomic(path, b.p, b.n);
    pb_buf_free(&b);
    return st;
}
