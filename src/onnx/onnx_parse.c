/* onnx_parse.c - an ONNX file's bytes into the flat view of onnx.h: the
 * graph's nodes, initializers, inputs and outputs, pointing into the
 * caller's buffer. The input is untrusted: every length is checked by
 * pb_next against the bytes left, every count is counted before its
 * array is allocated (through lm__calloc, bounded by the allocation
 * limit), and nesting is fixed (model > graph > node > attribute >
 * tensor): nothing recurses, subgraphs are not entered. */
#include "onnx/onnx.h"

#include <stdlib.h>
#include <string.h>

#define TRY(x)                                                                                     \
    do {                                                                                           \
        lm_status st_ = (x);                                                                       \
        if (st_) return st_;                                                                       \
    } while (0)

static ox_str str_of(const pb_field *f) { return (ox_str){(const char *)f->data, f->len}; }

static lm_status want(const pb_field *f, int wire, const char *what)
{
    if (f->wire != wire)
        return lm__err(LM_EFORMAT, "%s: field %u has wire type %d, expected %d", what, f->num,
                       f->wire, wire);
    return LM_OK;
}

/* Repeated int64 (dims, ints): packed or one varint a field. */
static lm_status read_ints(const pb_field *f, int64_t *v, int max, int *count, const char *what)
{
    if (f->wire == PB_VARINT) {
        if (*count >= max) return lm__err(LM_EFORMAT, "%s: more than %d values", what, max);
        v[(*count)++] = (int64_t)f->v;
        return LM_OK;
    }
    TRY(want(f, PB_LEN, what));
    pb_reader r = pb_window(f->data, f->len);
    while (r.p < r.end) {
        uint64_t x;
        TRY(pb_varint(&r, &x, what));
        if (*count >= max) return lm__err(LM_EFORMAT, "%s: more than %d values", what, max);
        v[(*count)++] = (int64_t)x;
    }
    return LM_OK;
}

lm_status ox_parse_tensor(const unsigned char *p, size_t len, ox_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->msg = p;
    t->msg_len = len;
    pb_reader r = pb_window(p, len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "tensor", &st)) {
        switch (f.num) {
        case OX_T_DIMS: TRY(read_ints(&f, t->dims, OX_MAX_DIMS, &t->ndim, "tensor dims")); break;
        case OX_T_TYPE:
            TRY(want(&f, PB_VARINT, "tensor type"));
            t->type = f.v > 64 ? -1 : (int)f.v;
            break;
        case OX_T_NAME: TRY(want(&f, PB_LEN, "tensor name")); t->name = str_of(&f); break;
        case OX_T_RAW:
            TRY(want(&f, PB_LEN, "tensor raw_data"));
            t->raw = f.data;
            t->raw_len = f.len;
            break;
        case OX_T_FLOAT_DATA: case OX_T_INT32_DATA: case OX_T_INT64_DATA: case OX_T_DOUBLE_DATA:
            t->fdata = p; /* a marker: typed data is present; values are re-read from msg */
            break;
        case OX_T_EXTERNAL: t->external = 1; break;
        case OX_T_LOCATION:
            if (f.wire == PB_VARINT && f.v == 1) t->external = 1;
            break;
        default: break;
        }
    }
    if (st) return st;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0)
            return lm__err(LM_EFORMAT, "tensor '%.*s': negative dimension %lld", (int)t->name.n,
                           t->name.s, (long long)t->dims[i]);
    return LM_OK;
}

lm_status ox_tensor_count(const ox_tensor *t, size_t *count)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        if ((uint64_t)t->dims[i] > SIZE_MAX || !lm__mul_ok(n, (size_t)t->dims[i], &n))
            return lm__err(LM_EFORMAT, "tensor '%.*s': its dimensions overflow", (int)t->name.n,
                           t->name.s);
    *count = n;
    return LM_OK;
}

static lm_status no_external(const ox_tensor *t, const char *what)
{
    if (t->external)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' keeps its data in an external file, which "
                       "lamina does not read", what, (int)t->name.n, t->name.s);
    return LM_OK;
}

lm_status ox_tensor_avail(const ox_tensor *t, size_t *n)
{
    TRY(no_external(t, "tensor"));
    if (t->raw) {
        *n = t->raw_len / 4;
        return LM_OK;
    }
    size_t k = 0;
    pb_reader r = pb_window(t->msg, t->msg_len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "tensor", &st))
        if (f.num == OX_T_FLOAT_DATA) k += f.wire == PB_LEN ? f.len / 4 : 1;
    *n = k;
    return st;
}

lm_status ox_tensor_floats(const ox_tensor *t, float *out, size_t n, const char *what)
{
    size_t count = 0;
    TRY(no_external(t, what));
    TRY(ox_tensor_count(t, &count));
    if (count != n)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds %zu values, expected %zu", what,
                       (int)t->name.n, t->name.s, count, n);
    if (t->type != OX_FLOAT)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' has element type %d, lamina reads float "
                       "(1) only", what, (int)t->name.n, t->name.s, t->type);
    if (t->raw) {
        if (t->raw_len / 4 != n || t->raw_len % 4)
            return lm__err(LM_EFORMAT, "%s: tensor '%.*s' has %zu bytes of raw data for %zu "
                           "floats", what, (int)t->name.n, t->name.s, t->raw_len, n);
        for (size_t i = 0; i < n; i++) {
            uint32_t u = pb_le32(t->raw + 4 * i);
            memcpy(out + i, &u, 4);
        }
        return LM_OK;
    }
    /* float_data: packed runs or single fixed32 fields, in order */
    size_t k = 0;
    pb_reader r = pb_window(t->msg, t->msg_len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "tensor", &st)) {
        if (f.num != OX_T_FLOAT_DATA) continue;
        const unsigned char *q = f.wire == PB_LEN ? f.data : NULL;
        size_t m = f.wire == PB_LEN ? f.len / 4 : 1;
        if ((f.wire == PB_LEN && f.len % 4) || (f.wire != PB_LEN && f.wire != PB_I32))
            return lm__err(LM_EFORMAT, "%s: tensor '%.*s' has malformed float_data", what,
                           (int)t->name.n, t->name.s);
        if (m > n - k)
            return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds more floats than its shape says",
                           what, (int)t->name.n, t->name.s);
        for (size_t i = 0; i < m; i++) {
            uint32_t u = q ? pb_le32(q + 4 * i) : (uint32_t)f.v;
            memcpy(out + k++, &u, 4);
        }
    }
    if (st) return st;
    if (k != n)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds %zu floats, its shape says %zu", what,
                       (int)t->name.n, t->name.s, k, n);
    return LM_OK;
}

lm_status ox_tensor_ints(const ox_tensor *t, int64_t *out, size_t max, size_t *count,
                         const char *what)
{
    size_t n = 0;
    TRY(no_external(t, what));
    TRY(ox_tensor_count(t, &n));
    if (t->type != OX_INT64 && t->type != OX_INT32)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' has element type %d, expected integers",
                       what, (int)t->name.n, t->name.s, t->type);
    if (n > max)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds %zu values, at most %zu expected",
                       what, (int)t->name.n, t->name.s, n, max);
    size_t size = t->type == OX_INT64 ? 8 : 4;
    if (t->raw) {
        if (t->raw_len != n * size)
            return lm__err(LM_EFORMAT, "%s: tensor '%.*s' has %zu bytes of raw data for %zu "
                           "values", what, (int)t->name.n, t->name.s, t->raw_len, n);
        for (size_t i = 0; i < n; i++)
            out[i] = size == 8 ? (int64_t)pb_le64(t->raw + 8 * i)
                               : (int64_t)(int32_t)pb_le32(t->raw + 4 * i);
        *count = n;
        return LM_OK;
    }
    uint32_t num = t->type == OX_INT64 ? OX_T_INT64_DATA : OX_T_INT32_DATA;
    size_t k = 0;
    pb_reader r = pb_window(t->msg, t->msg_len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "tensor", &st)) {
        if (f.num != num) continue;
        int64_t v[OX_MAX_DIMS];
        int c = 0;
        TRY(read_ints(&f, v, OX_MAX_DIMS, &c, what));
        if ((size_t)c > n - k)
            return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds more values than its shape says",
                           what, (int)t->name.n, t->name.s);
        for (int i = 0; i < c; i++) out[k++] = num == OX_T_INT32_DATA ? (int32_t)v[i] : v[i];
    }
    if (st) return st;
    if (k != n)
        return lm__err(LM_EFORMAT, "%s: tensor '%.*s' holds %zu values, its shape says %zu", what,
                       (int)t->name.n, t->name.s, k, n);
    *count = n;
    return LM_OK;
}

/* ------------------------------------------------------------ attributes */

typedef struct attr {
    ox_str name;
    int type;
    pb_field f, i, s, t; /* the value fields, where present (num 0 when not) */
    const unsigned char *msg;
    size_t msg_len;
} attr;

static lm_status parse_attr(const pb_field *af, attr *a)
{
    memset(a, 0, sizeof *a);
    a->msg = af->data;
    a->msg_len = af->len;
    pb_reader r = pb_window(af->data, af->len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "attribute", &st)) {
        switch (f.num) {
        case OX_ATTR_NAME: TRY(want(&f, PB_LEN, "attribute name")); a->name = str_of(&f); break;
        case OX_ATTR_TYPE: TRY(want(&f, PB_VARINT, "attribute type")); a->type = (int)(f.v & 0xff); break;
        case OX_ATTR_F: TRY(want(&f, PB_I32, "attribute f")); a->f = f; break;
        case OX_ATTR_I: TRY(want(&f, PB_VARINT, "attribute i")); a->i = f; break;
        case OX_ATTR_S: TRY(want(&f, PB_LEN, "attribute s")); a->s = f; break;
        case OX_ATTR_T: TRY(want(&f, PB_LEN, "attribute t")); a->t = f; break;
        default: break;
        }
    }
    return st;
}

/* Finds attribute name of node n: 1 found, 0 absent, -1 error (in *st).
 * A name given twice is an error: ONNX Runtime and onnx.checker refuse
 * such a node, and taking either value would be a guess. */
static int find_attr(const ox_node *n, const char *name, int type, attr *a, lm_status *st)
{
    pb_reader r = pb_window(n->msg, n->msg_len);
    pb_field f;
    attr other;
    int found = 0;
    *st = LM_OK;
    while (pb_next(&r, &f, "node", st)) {
        if (f.num != OX_NODE_ATTR || f.wire != PB_LEN) continue;
        attr *cur = found ? &other : a;
        if ((*st = parse_attr(&f, cur))) return -1;
        if (!ox_is(cur->name, name)) continue;
        if (found) {
            *st = lm__err(LM_EFORMAT, "node '%.*s' (%.*s): attribute %s is given more than once",
                          (int)n->name.n, n->name.s, (int)n->op.n, n->op.s, name);
            return -1;
        }
        found = 1;
    }
    if (*st) return -1;
    if (!found) return 0;
    /* IR version 1 files carry no type: take the field present */
    if (a->type && a->type != type) {
        *st = lm__err(LM_EFORMAT, "node '%.*s' (%.*s): attribute %s has type %d, expected %d",
                      (int)n->name.n, n->name.s, (int)n->op.n, n->op.s, name, a->type, type);
        return -1;
    }
    return 1;
}

static int missing(const ox_node *n, const char *name, lm_status *st)
{
    *st = lm__err(LM_EFORMAT, "node '%.*s' (%.*s): attribute %s has no value", (int)n->name.n,
                  n->name.s, (int)n->op.n, n->op.s, name);
    return -1;
}

int ox_attr_int(const ox_node *n, const char *name, int64_t *v, lm_status *st)
{
    attr a;
    int k = find_attr(n, name, OX_AT_INT, &a, st);
    if (k <= 0) return k;
    if (!a.i.num) return missing(n, name, st);
    *v = (int64_t)a.i.v;
    return 1;
}

int ox_attr_float(const ox_node *n, const char *name, float *v, lm_status *st)
{
    attr a;
    int k = find_attr(n, name, OX_AT_FLOAT, &a, st);
    if (k <= 0) return k;
    if (!a.f.num) return missing(n, name, st);
    uint32_t u = (uint32_t)a.f.v;
    memcpy(v, &u, 4);
    return 1;
}

int ox_attr_str(const ox_node *n, const char *name, ox_str *v, lm_status *st)
{
    attr a;
    int k = find_attr(n, name, OX_AT_STRING, &a, st);
    if (k <= 0) return k;
    if (!a.s.num) return missing(n, name, st);
    *v = str_of(&a.s);
    return 1;
}

int ox_attr_ints(const ox_node *n, const char *name, int64_t *v, int max, int *count,
                 lm_status *st)
{
    attr a;
    int k = find_attr(n, name, OX_AT_INTS, &a, st);
    if (k <= 0) return k;
    *count = 0;
    pb_reader r = pb_window(a.msg, a.msg_len);
    pb_field f;
    while (pb_next(&r, &f, "attribute", st))
        if (f.num == OX_ATTR_INTS && (*st = read_ints(&f, v, max, count, "attribute ints")))
            return -1;
    return *st ? -1 : 1;
}

int ox_attr_tensor(const ox_node *n, const char *name, ox_tensor *t, lm_status *st)
{
    attr a;
    int k = find_attr(n, name, OX_AT_TENSOR, &a, st);
    if (k <= 0) return k;
    if (!a.t.num) return missing(n, name, st);
    if ((*st = ox_parse_tensor(a.t.data, a.t.len, t))) return -1;
    return 1;
}

/* ------------------------------------------------------------ graph */

static lm_status parse_node(const pb_field *nf, ox_node *n)
{
    memset(n, 0, sizeof *n);
    n->msg = nf->data;
    n->msg_len = nf->len;
    pb_reader r = pb_window(nf->data, nf->len);
    pb_field f;
    lm_status st;
    while (pb_next(&r, &f, "node", &st)) {
        switch (f.num) {
        case OX_NODE_INPUT:
            TRY(want(&f, PB_LEN, "node input"));
            if (n->n_in < OX_MAX_IO) n->in[n->n_in] = str_of(&f);
            if (n->n_in < INT32_MAX) n->n_in++;
            break;
        case OX_NODE_OUTPUT:
            TRY(want(&f, PB_LEN, "node output"));
            if (n->n_out < OX_MAX_IO) n->out[n->n_out] = str_of(&f);
            if (n->n_out < INT32_MAX) n->n_out++;
            break;
        case OX_NODE_NAME: TRY(want(&f, PB_LEN, "node name")); n->name = str_of(&f); break;
        case OX_NODE_OP: TRY(want(&f, PB_LEN, "node op_type")); n->op = str_of(&f); break;
        case OX_NODE_DOMAIN: TRY(want(&f, PB_LEN, "node domain")); n->domain = str_of(&f); break;
        default: break;
        }
    }
    return st;
}

static lm_status parse_value(const pb_field *vf, ox_value *v)
{
    memset(v, 0, sizeof *v);
    v->ndim = -1;
    pb_reader r = pb_window(vf->data, vf->len);
    pb_field f, g, h, d, e;
    lm_status st;
    while (pb_next(&r, &f, "value info", &st)) {
        if (f.num == OX_VI_NAME && f.wire == PB_LEN) v->name = str_of(&f);
        if (f.num != OX_VI_TYPE || f.wire != PB_LEN) continue;
        pb_reader rt = pb_window(f.data, f.len);
        while (pb_next(&rt, &g, "type", &st)) {
            if (g.num != OX_TYPE_TENSOR || g.wire != PB_LEN) continue;
            pb_reader rtt = pb_window(g.data, g.len);
            while (pb_next(&rtt, &h, "tensor type", &st)) {
                if (h.num != OX_TT_SHAPE || h.wire != PB_LEN) continue;
                v->ndim = 0;
                pb_reader rs = pb_window(h.data, h.len);
                while (pb_next(&rs, &d, "shape", &st)) {
                    if (d.num != OX_SHAPE_DIM || d.wire != PB_LEN) continue;
                    if (v->ndim >= OX_MAX_DIMS)
                        return lm__err(LM_EFORMAT, "value '%.*s': more than %d dimensions",
                                       (int)v->name.n, v->name.s, OX_MAX_DIMS);
                    int64_t dim = -1;
                    pb_reader rd = pb_window(d.data, d.len);
                    while (pb_next(&rd, &e, "dimension", &st))
                        if (e.num == OX_DIM_VALUE && e.wire == PB_VARINT) dim = (int64_t)e.v;
                    if (st) return st;
                    v->dims[v->ndim++] = dim < 0 ? -1 : dim;
                }
                if (st) return st;
            }
            if (st) return st;
        }
        if (st) return st;
    }
    return st;
}

static lm_status parse_graph(const unsigned char *p, size_t len, ox_model *m)
{
    pb_reader r = pb_window(p, len);
    pb_field f;
    lm_status st;
    size_t nn = 0, ni = 0, nin = 0, nout = 0;
    /* count first: each item took at least two bytes of the file, so the
     * arrays are bounded by its size (and lm__calloc by the limit) */
    while (pb_next(&r, &f, "graph", &st)) {
        if (f.wire != PB_LEN) continue;
        nn += f.num == OX_GRAPH_NODE;
        ni += f.num == OX_GRAPH_INIT;
        nin += f.num == OX_GRAPH_INPUT;
        nout += f.num == OX_GRAPH_OUTPUT;
    }
    if (st) return st;
    if (nn > INT32_MAX || ni > INT32_MAX) return lm__err(LM_EFORMAT, "graph: too many nodes");
    m->nodes = nn ? lm__calloc(nn, sizeof *m->nodes, "ONNX nodes") : NULL;
    m->inits = ni ? lm__calloc(ni, sizeof *m->inits, "ONNX initializers") : NULL;
    m->inputs = nin ? lm__calloc(nin, sizeof *m->inputs, "ONNX inputs") : NULL;
    m->outputs = nout ? lm__calloc(nout, sizeof *m->outputs, "ONNX outputs") : NULL;
    if ((nn && !m->nodes) || (ni && !m->inits) || (nin && !m->inputs) || (nout && !m->outputs))
        return LM_ENOMEM;
    r = pb_window(p, len);
    while (pb_next(&r, &f, "graph", &st)) {
        if (f.wire != PB_LEN) continue;
        switch (f.num) {
        case OX_GRAPH_NODE: TRY(parse_node(&f, &m->nodes[m->n_nodes++])); break;
        case OX_GRAPH_INIT: TRY(ox_parse_tensor(f.data, f.len, &m->inits[m->n_inits++])); break;
        case OX_GRAPH_INPUT: TRY(parse_value(&f, &m->inputs[m->n_inputs++])); break;
        case OX_GRAPH_OUTPUT: TRY(parse_value(&f, &m->outputs[m->n_outputs++])); break;
        default: break;
        }
    }
    return st;
}

lm_status ox_parse(const void *buf, size_t len, ox_model *m)
{
    memset(m, 0, sizeof *m);
    pb_reader r = pb_window(buf, len);
    pb_field f, g;
    lm_status st;
    const unsigned char *graph = NULL;
    size_t graph_len = 0, nmeta = 0;
    int graphs = 0;
    while (pb_next(&r, &f, "model", &st)) {
        switch (f.num) {
        case OX_MODEL_IR_VERSION:
            TRY(want(&f, PB_VARINT, "model ir_version"));
            m->ir_version = (int64_t)f.v;
            break;
        case OX_MODEL_GRAPH:
            TRY(want(&f, PB_LEN, "model graph"));
            graph = f.data;
            graph_len = f.len;
            graphs++;
            break;
        case OX_MODEL_OPSET: {
            TRY(want(&f, PB_LEN, "model opset_import"));
            ox_str domain = {"", 0};
            int64_t version = 0;
            pb_reader ro = pb_window(f.data, f.len);
            while (pb_next(&ro, &g, "opset_import", &st)) {
                if (g.num == OX_OPSET_DOMAIN && g.wire == PB_LEN) domain = str_of(&g);
                if (g.num == OX_OPSET_VERSION && g.wire == PB_VARINT) version = (int64_t)g.v;
            }
            if (st) return st;
            if (domain.n == 0 || ox_is(domain, "ai.onnx")) m->opset = version;
            break;
        }
        case OX_MODEL_META: nmeta += f.wire == PB_LEN; break;
        default: break;
        }
    }
    if (st) return st;
    if (len == 0) return lm__err(LM_EFORMAT, "an empty file is no ONNX model");
    if (graphs != 1)
        return lm__err(LM_EFORMAT, "%s", graphs ? "the model holds more than one graph"
                                               : "no graph: not an ONNX model");
    if (m->ir_version < 3)
        return lm__err(LM_EFORMAT, "IR version %lld is not supported (3 or later)",
                       (long long)m->ir_version);
    if (m->opset < LM_ONNX_OPSET_MIN || m->opset > LM_ONNX_OPSET_MAX)
        return lm__err(LM_EFORMAT, "opset %lld of the default domain is not supported (%d..%d)",
                       (long long)m->opset, LM_ONNX_OPSET_MIN, LM_ONNX_OPSET_MAX);
    if (nmeta) {
        if (nmeta > INT32_MAX) return lm__err(LM_EFORMAT, "too much metadata");
        m->meta_keys = lm__calloc(nmeta, sizeof *m->meta_keys, "ONNX metadata");
        m->meta_vals = lm__calloc(nmeta, sizeof *m->meta_vals, "ONNX metadata");
        if (!m->meta_keys || !m->meta_vals) return LM_ENOMEM;
        r = pb_window(buf, len);
        while (pb_next(&r, &f, "model", &st)) {
            if (f.num != OX_MODEL_META || f.wire != PB_LEN) continue;
            ox_str k = {"", 0}, v = {"", 0};
            pb_reader re = pb_window(f.data, f.len);
            while (pb_next(&re, &g, "metadata entry", &st)) {
                if (g.num == OX_ENTRY_KEY && g.wire == PB_LEN) k = str_of(&g);
                if (g.num == OX_ENTRY_VALUE && g.wire == PB_LEN) v = str_of(&g);
            }
            if (st) return st;
            m->meta_keys[m->n_meta] = k;
            m->meta_vals[m->n_meta++] = v;
        }
        if (st) return st;
    }
    return parse_graph(graph, graph_len, m);
}

void ox_model_free(ox_model *m)
{
    free(m->nodes);
    free(m->inits);
    free(m->inputs);
    free(m->outputs);
    free(m->meta_keys);
    free(m->meta_vals);
    memset(m, 0, sizeof *m);
}
