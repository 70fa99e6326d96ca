/* model_file.c - the .lmn model format (docs/FORMAT.md): a magic, a
 * version, tagged sections, a CRC32 at the end. Little-endian whatever
 * the host. The reader trusts nothing: the CRC is checked first, then
 * every count against the bytes really left, before any allocation. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const unsigned char MAGIC[8] = {0x89, 'L', 'M', 'N', '\r', '\n', 0x1a, '\n'};
/* Version 2 adds layer kinds, shapes and the state section; a net that
 * version 1 describes (dense layers on a flat input) is still written as
 * version 1, byte for byte, so older readers keep loading it. */
#define LM_FORMAT_VERSION 2u
#define SEC_REQUIRED 1u
#define MAX_SECTIONS 64u

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_ARCH TAG('A', 'R', 'C', 'H')
#define TAG_PARA TAG('P', 'A', 'R', 'A')
#define TAG_NORM TAG('N', 'O', 'R', 'M')
#define TAG_CLAS TAG('C', 'L', 'A', 'S')
#define TAG_META TAG('M', 'E', 'T', 'A')
#define TAG_TRAI TAG('T', 'R', 'A', 'I')
#define TAG_STAT TAG('S', 'T', 'A', 'T')
#define TAG_TNRM TAG('T', 'N', 'R', 'M')
/* The training state of an optimizer lamina 1.3 does not know (RPROP, 1.4),
 * laid out as TRAI: such readers skip it, as any optional section they do
 * not know, and load the net rather than refuse the whole file. */
#define TAG_TRA2 TAG('T', 'R', 'A', '2')
/* Reduce-on-plateau's state (1.8), after the training state; optional, so
 * older readers skip it (and resume with a fresh plateau). */
#define TAG_SCHD TAG('S', 'C', 'H', 'D')

/* ------------------------------------------------------------- writer */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *np = lm__realloc(b->p, cap, 1, "model file image");
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(wbuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32s(wbuf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32(b, u);
    }
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

/* Starts a section; returns where its length goes, patched by end_sec. */
static size_t begin_sec(wbuf *b, uint32_t tag, uint32_t flags)
{
    put_u32(b, tag);
    put_u32(b, flags);
    size_t at = b->len;
    put_u64(b, 0);
    return at;
}

static void end_sec(wbuf *b, size_t at)
{
    if (b->oom) return;
    uint64_t n = b->len - at - 8;
    for (int i = 0; i < 8; i++) b->p[at + i] = (unsigned char)(n >> (8 * i));
}

/* Each layer's state as its kind needs it for inference (finite values
 * checked already): code with the kind's message, or LM_OK. */
static lm_status check_states(const lm_net *net, lm_status code)
{
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        lm_status st;
        if (L->n_state && L->kind->check_state &&
            (st = L->kind->check_state(L, net->state + L->s_off, l + 1, code)))
            return st;
    }
    return LM_OK;
}

lm_status lm__net_check_writable(const lm_net *net, const char *what)
{
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            return lm__err(LM_ENUMERIC, "parameter %zu is %s; %s", i,
                           isnan(net->params[i]) ? "NaN" : "infinite", what);
    for (size_t i = 0; i < net->n_state; i++)
        if (!isfinite(net->state[i]))
            return lm__err(LM_ENUMERIC, "layer state %zu is %s; %s", i,
                           isnan(net->state[i]) ? "NaN" : "infinite", what);
    return check_states(net, LM_EINVAL);
}

lm_status lm__model_encode(const lm_net *net, const lm__train_state *ts, unsigned char **out,
                           size_t *len)
{
    /* Never write what the reader would refuse: a good old file is kept. */
    lm_status bad = lm__net_check_writable(net, "the model is not saved");
    if (bad) return bad;
    int v1 = net->n_state == 0 && net->in_shape.h == 1 && net->in_shape.w == 1;
    for (int l = 0; l < net->n_layers; l++) v1 &= net->layers[l].kind->id == LM_LAYER_DENSE;
    wbuf b = {0};
    uint32_t nsec = 2 + (net->norm_mean != NULL) + (net->class_names != NULL) + (net->n_meta > 0) + (ts != NULL) +
                    (net->n_state > 0) + (net->tnorm != NULL) + (ts && ts->has_plateau);
    put(&b, MAGIC, 8);
    put_u32(&b, v1 ? 1u : 2u);
    put_u32(&b, nsec);

    size_t at = begin_sec(&b, TAG_ARCH, SEC_REQUIRED);
    put_u32(&b, (uint32_t)net->n_in);
    if (!v1) {
        put_u32(&b, (uint32_t)net->in_shape.c);
        put_u32(&b, (uint32_t)net->in_shape.h);
        put_u32(&b, (uint32_t)net->in_shape.w);
    }
    put_u32(&b, (uint32_t)net->n_layers);
    for (int l = 0; l < net->n_layers; l++) {
        /* the kind's number, then its settings as its row writes them;
         * version 2 adds the count of words and the output shape */
        const lm__layer *L = &net->layers[l];
        uint32_t w[LM__MAX_WORDS];
        L->kind->put(&L->cfg, w);
        put_u32(&b, (uint32_t)L->kind->id);
        if (!v1) put_u32(&b, (uint32_t)L->kind->n_words);
        for (int i = 0; i < L->kind->n_words; i++) put_u32(&b, w[i]);
        if (!v1) {
            put_u32(&b, (uint32_t)L->out.c);
            put_u32(&b, (uint32_t)L->out.h);
            put_u32(&b, (uint32_t)L->out.w);
        }
    }
    end_sec(&b, at);

    at = begin_sec(&b, TAG_PARA, SEC_REQUIRED);
    put_u64(&b, net->n_params);
    put_f32s(&b, net->params, net->n_params);
    end_sec(&b, at);

    if (net->n_state) {
        at = begin_sec(&b, TAG_STAT, SEC_REQUIRED);
        put_u64(&b, net->n_state);
        put_f32s(&b, net->state, net->n_state);
        end_sec(&b, at);
    }

    if (net->norm_mean) {
        at = begin_sec(&b, TAG_NORM, SEC_REQUIRED);
        put_f32s(&b, net->norm_mean, (size_t)net->n_in);
        put_f32s(&b, net->norm_scale, (size_t)net->n_in);
        end_sec(&b, at);
    }
    if (net->tnorm) {
        /* Required: a reader that skipped it would predict on the wrong scale. */
        at = begin_sec(&b, TAG_TNRM, SEC_REQUIRED);
        put_u32(&b, (uint32_t)net->tnorm_n);
        put_f32s(&b, net->tnorm, 2 * (size_t)net->tnorm_n);
        end_sec(&b, at);
    }
    if (net->class_names) {
        at = begin_sec(&b, TAG_CLAS, 0);
        put_u32(&b, (uint32_t)net->n_classes);
        for (int i = 0; i < net->n_classes; i++) put_str(&b, net->class_names[i]);
        end_sec(&b, at);
    }
    if (net->n_meta) {
        at = begin_sec(&b, TAG_META, 0);
        put_u32(&b, (uint32_t)net->n_meta);
        for (int i = 0; i < net->n_meta; i++) {
            put_str(&b, net->meta_keys[i]);
            put_str(&b, net->meta_vals[i]);
        }
        end_sec(&b, at);
    }
    if (ts) {
        at = begin_sec(&b, ts->optim_kind > LM_ADAMW ? TAG_TRA2 : TAG_TRAI, 0);
        put_u32(&b, (uint32_t)ts->epochs_done);
        put_u64(&b, ts->step);
        for (int i = 0; i < 4; i++) put_u64(&b, ts->rng.s[i]);
        put_u32(&b, (uint32_t)ts->optim_kind);
        put_u32(&b, ts->m != NULL);
        put_u32(&b, ts->v != NULL);
        put_u64(&b, ts->n);
        if (ts->m) put_f32s(&b, ts->m, ts->n);
        if (ts->v) put_f32s(&b, ts->v, ts->n);
        end_sec(&b, at);
    }
    if (ts && ts->has_plateau) {
        uint64_t u[2];
        memcpy(&u[0], &ts->plateau.lr, 8);
        memcpy(&u[1], &ts->plateau.best, 8);
        at = begin_sec(&b, TAG_SCHD, 0);
        put_u64(&b, u[0]);
        put_u64(&b, u[1]);
        put_u32(&b, (uint32_t)ts->plateau.bad);
        put_u32(&b, (uint32_t)ts->plateau.cooldown);
        end_sec(&b, at);
    }
    put_u32(&b, 0); /* the CRC, patched below */
    if (b.oom) {
        free(b.p);
        return lm__err(LM_ENOMEM, "out of memory encoding a model");
    }
    /* CRC32 over everything before it; zlib's crc32 takes uInt lengths,
     * so feed it in pieces. */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0, body = b.len - 4; off < body;) {
        size_t n = body - off > (1u << 30) ? (1u << 30) : body - off;
        crc = crc32(crc, b.p + off, (uInt)n);
        off += n;
    }
    for (int i = 0; i < 4; i++) b.p[b.len - 4 + i] = (unsigned char)(crc >> (8 * i));
    *out = b.p;
    *len = b.len;
    return LM_OK;
}

lm_status lm_net_save(const lm_net *net, const char *path)
{
    LM_NONNULL(net);
    LM_NONNULL(path);
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "%s: a net without layers cannot be saved", path);
    unsigned char *buf;
    size_t len;
    lm_status st = lm__model_encode(net, NULL, &buf, &len);
    if (st) return st;
    st = lm__write_atomic(path, buf, len);
    free(buf);
    return st;
}

/* ------------------------------------------------------------- reader */

typedef struct rbuf {
    const unsigned char *p;
    size_t left;
    size_t base; /* offset of p in the file, for messages */
} rbuf;

static lm_status short_read(const rbuf *r, size_t want, const char *what)
{
    return lm__err(LM_EFORMAT, "truncated at byte %zu: %s needs %zu bytes, %zu left", r->base, what,
                   want, r->left);
}

static int take(rbuf *r, size_t n, const unsigned char **out)
{
    if (n > r->left) return 0;
    *out = r->p;
    r->p += n;
    r->left -= n;
    r->base += n;
    return 1;
}

static int get_u32(rbuf *r, uint32_t *v)
{
    const unsigned char *q;
    if (!take(r, 4, &q)) return 0;
    *v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    return 1;
}

static int get_u64(rbuf *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (!get_u32(r, &lo) || !get_u32(r, &hi)) return 0;
    *v = (uint64_t)hi << 32 | lo;
    return 1;
}

/* n floats into a new array, after checking the bytes are there. */
static lm_status get_f32s(rbuf *r, uint64_t n, float **out, const char *what)
{
    *out = NULL;
    if (n > r->left / 4) return short_read(r, (size_t)(n > SIZE_MAX / 4 ? SIZE_MAX : n * 4), what);
    float *v = lm__alloc((size_t)n ? (size_t)n : 1, sizeof(float), what);
    if (!v) return LM_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t u = 0;
        get_u32(r, &u);
        memcpy(&v[i], &u, 4);
    }
    *out = v;
    return LM_OK;
}

static lm_status get_str(rbuf *r, char **out, const char *what)
{
    uint32_t n;
    const unsigned char *q;
    *out = NULL;
    if (!get_u32(r, &n)) return short_read(r, 4, what);
    if (n > LM_MAX_STRING) return lm__err(LM_EFORMAT, "byte %zu: %s of %u bytes is too long", r->base, what, n);
    if (!take(r, n, &q)) return short_read(r, n, what);
    if (memchr(q, 0, n)) return lm__err(LM_EFORMAT, "byte %zu: %s holds a NUL byte", r->base, what);
    char *s = lm__alloc((size_t)n + 1, 1, what);
    if (!s) return LM_ENOMEM;
    memcpy(s, q, n);
    s[n] = '\0';
    *out = s;
    return LM_OK;
}

/* file_left: bytes of the file after this section, which must hold the
 * parameters, so a tiny file cannot make us allocate a huge net.
 * Version 1 knows dense layers only (kind 0, 16 bytes a record). */
static lm_status read_arch_v1(rbuf *r, size_t file_left, lm_net **out)
{
    uint32_t n_in, n_layers;
    if (!get_u32(r, &n_in) || !get_u32(r, &n_layers)) return short_read(r, 8, "architecture");
    if (n_in < 1 || n_in > LM_MAX_WIDTH) return lm__err(LM_EFORMAT, "input width %u is out of range", n_in);
    if (n_layers < 1 || n_layers > LM_MAX_LAYERS) return lm__err(LM_EFORMAT, "layer count %u is out of range", n_layers);
    if (r->left / 16 < n_layers) return short_read(r, (size_t)n_layers * 16, "layer table");
    /* Two passes over the table: the first checks every layer and sums
     * the parameters, so the second builds the net into one block
     * allocated once (adding layer by layer would copy the parameters
     * once a layer: quadratic in a deep file). */
    lm_status st = LM_OK;
    size_t total = 0;
    rbuf table = *r;
    uint32_t prev = n_in;
    for (uint32_t l = 0; st == LM_OK && l < n_layers; l++) {
        uint32_t kind = 0, n_out = 0, act = 0, bias = 0;
        get_u32(&table, &kind);
        get_u32(&table, &n_out);
        get_u32(&table, &act);
        get_u32(&table, &bias);
        size_t nw;
        if (kind != 0) st = lm__err(LM_EFORMAT, "layer %u has unknown kind %u", l, kind);
        else if (act >= LM_ACT_COUNT) st = lm__err(LM_EFORMAT, "layer %u has unknown activation %u", l, act);
        else if (bias > 1) st = lm__err(LM_EFORMAT, "layer %u has a bad bias flag %u", l, bias);
        else if (n_out < 1 || n_out > LM_MAX_WIDTH) st = lm__err(LM_EFORMAT, "layer %u width %u is out of range", l, n_out);
        /* Refuse before allocating: the parameters must be in the file. */
        else if (!lm__mul_ok(prev, n_out, &nw) || nw + n_out > file_left / 4 ||
                 total + nw + n_out > file_left / 4)
            st = lm__err(LM_EFORMAT, "layer %u (%u x %u) is too large", l, prev, n_out);
        else {
            total += nw + (bias ? n_out : 0);
            prev = n_out;
        }
    }
    if (st) return st;
    *out = NULL;
    st = lm_net_new(out, (int)n_in);
    if (!st) st = lm__net_reserve(*out, (int)n_layers, total);
    for (uint32_t l = 0; st == LM_OK && l < n_layers; l++) {
        uint32_t kind = 0, n_out = 0, act = 0, bias = 0;
        get_u32(r, &kind);
        get_u32(r, &n_out);
        get_u32(r, &act);
        get_u32(r, &bias);
        st = lm_net_add_dense(*out, (int)n_out, (lm_act)act, bias ? LM_BIAS : LM_NO_BIAS);
    }
    if (st) {
        lm_net_free(*out);
        *out = NULL;
    }
    return st;
}

/* Version 2: the input shape, then per layer its kind, its count of
 * settings words, the words, and its output shape (checked against what
 * the kind infers). As for version 1, a first pass checks every layer
 * (on a shadow net that holds layers but no buffers) and sums what it
 * needs, so the net is built into blocks allocated once. */
static lm_status read_arch_v2(rbuf *r, size_t file_left, lm_net **out)
{
    uint32_t n_in, c, h, w, n_layers;
    *out = NULL;
    if (!get_u32(r, &n_in) || !get_u32(r, &c) || !get_u32(r, &h) || !get_u32(r, &w) || !get_u32(r, &n_layers))
        return short_read(r, 20, "architecture");
    if (n_in < 1 || n_in > LM_MAX_WIDTH) return lm__err(LM_EFORMAT, "input width %u is out of range", n_in);
    if (n_layers < 1 || n_layers > LM_MAX_LAYERS) return lm__err(LM_EFORMAT, "layer count %u is out of range", n_layers);
    if (r->left / 20 < n_layers) return short_read(r, (size_t)n_layers * 20, "layer table");
    lm_net shadow = {.n_in = (int)n_in};
    lm__layer_cfg *cfgs = lm__calloc(n_layers, sizeof *cfgs, "layer table");
    shadow.layers = lm__calloc(n_layers, sizeof *shadow.layers, "layer table");
    lm_status st = cfgs && shadow.layers ? LM_OK : LM_ENOMEM;
    if (!st && (c > LM_MAX_WIDTH || h > LM_MAX_WIDTH || w > LM_MAX_WIDTH ||
                lm_net_set_input_shape(&shadow, (int)c, (int)h, (int)w)))
        st = lm__err(LM_EFORMAT, "input shape (%u, %u, %u) does not hold %u inputs", c, h, w, n_in);
    /* what the file has left for parameters and state, in floats */
    size_t room = file_left / 4, n_par = 0, n_state = 0;
    for (uint32_t l = 0; st == LM_OK && l < n_layers; l++) {
        uint32_t kind = 0, nw = 0, words[LM__MAX_WORDS] = {0}, oc = 0, oh = 0, ow = 0;
        if (!get_u32(r, &kind) || !get_u32(r, &nw)) {
            st = short_read(r, 8, "layer record");
            break;
        }
        const lm__kind *K = lm__kind_of((int)kind);
        if (!K) {
            st = lm__err(LM_EFORMAT, "layer %u has %s kind %u", l + 1,
                         kind < LM_LAYER_KIND_COUNT ? "a not yet built" : "unknown", kind);
            break;
        }
        if (nw != (uint32_t)K->n_words) {
            st = lm__err(LM_EFORMAT, "layer %u (%s) has %u settings, not %d", l + 1, K->name, nw, K->n_words);
            break;
        }
        for (uint32_t i = 0; i < nw; i++) get_u32(r, &words[i]);
        if (!get_u32(r, &oc) || !get_u32(r, &oh) || !get_u32(r, &ow)) {
            st = short_read(r, 12, "layer shape");
            break;
        }
        lm__layer_cfg cfg = {.kind = (lm_layer_kind)kind};
        if ((st = K->get(&cfg, words, (int)l + 1))) break;
        lm__layer L;
        if ((st = lm__layer_make(&shadow, &cfg, &L))) {
            st = LM_EFORMAT; /* the message names the layer and the shapes */
            break;
        }
        if ((uint32_t)L.out.c != oc || (uint32_t)L.out.h != oh || (uint32_t)L.out.w != ow) {
            char a[48];
            st = lm__err(LM_EFORMAT, "layer %u (%s) gives %s, the file says (%u, %u, %u)", l + 1, K->name,
                         lm__shape_str(L.out, a), oc, oh, ow);
            break;
        }
        /* Refuse before allocating: the parameters and state must be in the file. */
        if (L.n_par > room || n_par > room - L.n_par || L.n_state > room - L.n_par - n_par ||
            n_state > room - L.n_par - n_par - L.n_state) {
            st = lm__err(LM_EFORMAT, "layer %u (%s) is too large for the file", l + 1, K->name);
            break;
        }
        n_par += L.n_par;
        n_state += L.n_state;
        cfgs[l] = cfg;
        shadow.layers[shadow.n_layers++] = L;
    }
    if (!st) st = lm_net_new(out, (int)n_in);
    if (!st) st = lm_net_set_input_shape(*out, (int)c, (int)h, (int)w);
    if (!st) st = lm__net_reserve(*out, (int)n_layers, n_par);
    for (uint32_t l = 0; st == LM_OK && l < n_layers; l++) st = lm__net_add(*out, &cfgs[l]);
    free(cfgs);
    free(shadow.layers);
    if (st) {
        lm_net_free(*out);
        *out = NULL;
    }
    return st;
}

/* A tag as text for messages: its four letters, or hex if any byte is not
 * a printable ASCII letter (the tag came from an untrusted file). */
static const char *tag_text(uint32_t tag, char buf[16])
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(tag >> (8 * i));
        if (c < 0x20 || c > 0x7e) {
            snprintf(buf, 16, "0x%08x", tag);
            return buf;
        }
        buf[i] = (char)c;
    }
    buf[4] = '\0';
    return buf;
}

/* A checkpoint's training state passes the CRC when it was written
 * corrupt, or forged: check what training would otherwise take on trust.
 * A NaN or negative second moment, or an infinite one, makes Adam's step
 * NaN or zero (training on silently with frozen weights), a negative
 * RPROP step size walks uphill; a step count
 * near 2^64 wraps and divides by zero in the bias correction. */
static lm_status check_train_state(const lm__train_state *t)
{
    /* 2^53: past it a double no longer counts steps exactly; at a step a
     * nanosecond that is 285 years of training */
    if (t->step > ((uint64_t)1 << 53))
        return lm__err(LM_EFORMAT, "training state: step count %llu is out of range",
                       (unsigned long long)t->step);
    if (!(t->rng.s[0] | t->rng.s[1] | t->rng.s[2] | t->rng.s[3]))
        return lm__err(LM_EFORMAT, "training state: the RNG state is all zero (it would never change)");
    int adam = t->optim_kind != LM_SGD, rprop = t->optim_kind == LM_RPROP;
    if (adam ? !t->m || !t->v : t->v != NULL)
        return lm__err(LM_EFORMAT, "training state: %s needs %s", lm_optim_name((lm_optim_kind)t->optim_kind),
                       rprop ? "previous gradients and step sizes" : adam ? "first and second moments" : "no second moments");
    /* RPROP keeps the previous gradient in m and the step sizes in v */
    const char *m_name = rprop ? "previous gradient" : "first moment", *v_name = rprop ? "step size" : "second moment";
    for (size_t i = 0; t->m && i < t->n; i++)
        if (!isfinite(t->m[i]))
            return lm__err(LM_EFORMAT, "training state: %s %zu is %s", m_name, i, isnan(t->m[i]) ? "NaN" : "infinite");
    for (size_t i = 0; t->v && i < t->n; i++)
        if (!(t->v[i] >= 0) || !isfinite(t->v[i]))
            return lm__err(LM_EFORMAT, "training state: %s %zu is %s", v_name, i,
                           isnan(t->v[i]) ? "NaN" : t->v[i] < 0 ? "negative" : "infinite");
    return LM_OK;
}

/* SCHD: f64 lr, f64 best, u32 bad epochs, u32 cooldown left. */
static lm_status read_plateau(rbuf *r, lm__train_state *ts)
{
    uint64_t u[2];
    uint32_t bad, cooldown;
    lm__plateau p;
    if (!get_u64(r, &u[0]) || !get_u64(r, &u[1]) || !get_u32(r, &bad) || !get_u32(r, &cooldown))
        return short_read(r, 24, "plateau state");
    memcpy(&p.lr, &u[0], 8);
    memcpy(&p.best, &u[1], 8);
    if (!(p.lr > 0) || !isfinite(p.lr))
        return lm__err(LM_EFORMAT, "plateau state: the learning rate %g is not finite and > 0", p.lr);
    if (isnan(p.best) || p.best == -INFINITY)
        return lm__err(LM_EFORMAT, "plateau state: the best loss is %s", isnan(p.best) ? "NaN" : "-inf");
    if (bad > (1u << 30) || cooldown > (1u << 30))
        return lm__err(LM_EFORMAT, "plateau state: %u bad epochs, %u cooldown epochs: out of range", bad,
                       cooldown);
    p.bad = (int)bad;
    p.cooldown = (int)cooldown;
    if (ts && !ts->counts_only) {
        ts->plateau = p;
        ts->has_plateau = 1;
    }
    return LM_OK;
}

/* Everything in a section after ARCH needs the net it describes. */
static lm_status read_section(rbuf *r, uint32_t tag, lm_net *net, lm__train_state *ts, int *has_ts,
                              int *have_params)
{
    lm_status st = LM_OK;
    if (tag == TAG_PARA) {
        uint64_t n;
        if (!get_u64(r, &n)) return short_read(r, 8, "parameter count");
        if (n != net->n_params)
            return lm__err(LM_EFORMAT, "the file holds %llu parameters but its architecture needs %zu",
                           (unsigned long long)n, net->n_params);
        if (n > r->left / 4) return short_read(r, (size_t)n * 4, "parameters");
        for (size_t i = 0; i < net->n_params; i++) { /* straight into the net: no second copy */
            uint32_t u = 0;
            get_u32(r, &u);
            memcpy(&net->params[i], &u, 4);
        }
        *have_params = 1;
    } else if (tag == TAG_NORM) {
        float *mean = NULL, *scale = NULL;
        st = get_f32s(r, (uint64_t)net->n_in, &mean, "normalisation means");
        if (!st) st = get_f32s(r, (uint64_t)net->n_in, &scale, "normalisation scales");
        if (!st) st = lm_net_set_norm(net, mean, scale);
        if (st == LM_EINVAL) st = lm__err(LM_EFORMAT, "the normalisation holds a NaN or Inf");
        free(mean);
        free(scale);
    } else if (tag == TAG_TNRM) {
        uint32_t n;
        float *v = NULL;
        if (!get_u32(r, &n)) return short_read(r, 4, "target normalisation count");
        if (n != (uint32_t)lm_net_n_out(net))
            return lm__err(LM_EFORMAT, "target normalisation for %u outputs, the net has %d", n,
                           lm_net_n_out(net));
        st = get_f32s(r, 2 * (uint64_t)n, &v, "target normalisation");
        if (!st) st = lm_net_set_target_norm(net, v, v + n);
        if (st == LM_EINVAL) st = lm__err(LM_EFORMAT, "the target normalisation is not finite or "
                                          "has a std <= 0");
        free(v);
    } else if (tag == TAG_CLAS) {
        uint32_t n;
        if (!get_u32(r, &n)) return short_read(r, 4, "class count");
        if (n > (uint32_t)LM_MAX_WIDTH || n > r->left / 4) return lm__err(LM_EFORMAT, "class count %u is out of range", n);
        char **names = lm__calloc(n ? n : 1, sizeof *names, "class names");
        if (!names) return LM_ENOMEM;
        for (uint32_t i = 0; !st && i < n; i++) st = get_str(r, &names[i], "class name");
        if (!st) {
            st = lm_net_set_class_names(net, (int)n, (const char *const *)names);
            if (st == LM_EINVAL) { /* too many or too few, or two alike: the library says which */
                char why[320];
                snprintf(why, sizeof why, "%s", lm_errmsg());
                st = lm__err(LM_EFORMAT, "the class names: %s", why);
            }
        }
        for (uint32_t i = 0; i < n; i++) free(names[i]);
        free(names);
    } else if (tag == TAG_META) {
        uint32_t n;
        if (!get_u32(r, &n)) return short_read(r, 4, "metadata count");
        if (n > LM_MAX_META || n > r->left / 8) return lm__err(LM_EFORMAT, "metadata count %u is out of range", n);
        for (uint32_t i = 0; !st && i < n; i++) {
            char *k = NULL, *v = NULL;
            st = get_str(r, &k, "metadata key");
            if (!st) st = get_str(r, &v, "metadata value");
            if (!st && !*k) st = lm__err(LM_EFORMAT, "an empty metadata key");
            if (!st && lm_net_get_meta(net, k)) st = lm__err(LM_EFORMAT, "metadata key '%.40s' appears twice", k);
            if (!st) st = lm_net_set_meta(net, k, v);
            free(k);
            free(v);
        }
    } else if (tag == TAG_STAT) {
        uint64_t n;
        if (!get_u64(r, &n)) return short_read(r, 8, "state count");
        if (n != net->n_state)
            return lm__err(LM_EFORMAT, "the file holds %llu state values but its layers keep %zu",
                           (unsigned long long)n, net->n_state);
        if (n > r->left / 4) return short_read(r, (size_t)n * 4, "layer state");
        for (size_t i = 0; i < net->n_state; i++) {
            uint32_t u = 0;
            get_u32(r, &u);
            memcpy(&net->state[i], &u, 4);
            if (!isfinite(net->state[i])) return lm__err(LM_EFORMAT, "layer state %zu is not finite", i);
        }
        lm_status bad = check_states(net, LM_EFORMAT);
        if (bad) return bad;
    } else if (tag == TAG_TRAI || tag == TAG_TRA2) {
        uint32_t epochs, kind, has_m, has_v;
        uint64_t n;
        lm__train_state t = {0};
        if (!get_u32(r, &epochs) || !get_u64(r, &t.step)) return short_read(r, 12, "training state");
        for (int i = 0; i < 4; i++)
            if (!get_u64(r, &t.rng.s[i])) return short_read(r, 8, "RNG state");
        if (!get_u32(r, &kind) || !get_u32(r, &has_m) || !get_u32(r, &has_v) || !get_u64(r, &n))
            return short_read(r, 20, "optimizer state");
        if (kind >= LM_OPTIM_COUNT && (!ts || ts->counts_only)) {
            /* a newer lamina's optimizer: loading the net alone, which
             * does not need its state, or its counts alone
             * (lm_train_state_info). An optimizer known here is checked
             * below for both, so that what one refuses the other does too */
            const unsigned char *rest;
            take(r, r->left, &rest);
            if (!ts) return LM_OK;
            if (epochs > (1u << 30)) return lm__err(LM_EFORMAT, "the training state is inconsistent with the net");
            ts->epochs_done = (int)epochs;
            ts->step = t.step;
            *has_ts = 1;
            return LM_OK;
        }
        if (kind >= LM_OPTIM_COUNT)
            return lm__err(LM_EFORMAT, "the training state's optimizer %u is unknown to lamina %s "
                           "(a newer lamina's checkpoint?)", (unsigned)kind, lm_version());
        if (epochs > (1u << 30) || has_m > 1 || has_v > 1 || n != net->n_params)
            return lm__err(LM_EFORMAT, "the training state is inconsistent with the net");
        t.epochs_done = (int)epochs;
        t.optim_kind = (int)kind;
        t.n = (size_t)n;
        if (has_m) st = get_f32s(r, n, &t.m, "optimizer moments");
        if (!st && has_v) st = get_f32s(r, n, &t.v, "optimizer moments");
        if (!st) st = check_train_state(&t);
        if (st || !ts || ts->counts_only) {
            free(t.m);
            free(t.v);
            if (!st && ts) { /* the counts alone */
                ts->epochs_done = t.epochs_done;
                ts->step = t.step;
                *has_ts = 1;
            }
        } else {
            *ts = t;
            *has_ts = 1;
        }
    }
    return st;
}

lm_status lm__model_decode(const void *buf, size_t len, lm_net **out, lm__train_state *ts, int *has_ts)
{
    const unsigned char *b = buf;
    *out = NULL;
    if (has_ts) *has_ts = 0;
    if (len < 8 || memcmp(b, MAGIC, 8) != 0) return lm__err(LM_EFORMAT, "not a lamina model file (bad magic)");
    if (len < 8 + 8 + 4) return lm__err(LM_EFORMAT, "truncated: %zu bytes is too short for a model file", len);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0, body = len - 4; off < body;) {
        size_t n = body - off > (1u << 30) ? (1u << 30) : body - off;
        crc = crc32(crc, b + off, (uInt)n);
        off += n;
    }
    rbuf r = {b + 8, len - 12, 8};
    uint32_t version, nsec, stored;
    rbuf tail = {b + len - 4, 4, len - 4};
    get_u32(&tail, &stored);
    get_u32(&r, &version);
    if (version > LM_FORMAT_VERSION || version == 0)
        return lm__err(LM_EFORMAT, "format version %u is not supported (this lamina reads up to %u)", version,
                       LM_FORMAT_VERSION);
    if (stored != (uint32_t)crc)
        return lm__err(LM_EFORMAT, "checksum mismatch (file corrupt or truncated): stored %08x, computed %08x",
                       stored, (uint32_t)crc);
    get_u32(&r, &nsec);
    if (nsec < 2 || nsec > MAX_SECTIONS) return lm__err(LM_EFORMAT, "section count %u is out of range", nsec);
    lm_net *net = NULL;
    lm_status st = LM_OK;
    int have_params = 0, dummy = 0, seen = 0;
    for (uint32_t s = 0; !st && s < nsec; s++) {
        uint32_t tag, flags;
        uint64_t slen;
        const unsigned char *body;
        if (!get_u32(&r, &tag) || !get_u32(&r, &flags) || !get_u64(&r, &slen)) {
            st = short_read(&r, 16, "section header");
            break;
        }
        size_t at = r.base + 0;
        if (slen > r.left || !take(&r, (size_t)slen, &body)) {
            st = lm__err(LM_EFORMAT, "truncated: section %u claims %llu bytes, %zu left", s,
                         (unsigned long long)slen, r.left);
            break;
        }
        rbuf sec = {body, (size_t)slen, at};
        int known = tag == TAG_ARCH || tag == TAG_PARA || tag == TAG_NORM || tag == TAG_CLAS ||
                    tag == TAG_META || tag == TAG_TRAI || tag == TAG_TRA2 || tag == TAG_TNRM || tag == TAG_SCHD ||
                    (tag == TAG_STAT && version >= 2);
        if (!known) {
            char tb[16];
            if (flags & SEC_REQUIRED) st = lm__err(LM_EFORMAT, "unknown required section %s", tag_text(tag, tb));
            continue; /* an optional section from a newer writer */
        }
        if (tag == TAG_ARCH ? net != NULL : net == NULL) {
            st = lm__err(LM_EFORMAT, "the architecture section must come once, before the others");
            break;
        }
        /* each known section at most once: a second one would overwrite
         * (and leak) the first */
        int bit = tag == TAG_ARCH ? 1 : tag == TAG_PARA ? 2 : tag == TAG_NORM ? 4 : tag == TAG_CLAS ? 8
                : tag == TAG_META ? 16 : tag == TAG_TRAI || tag == TAG_TRA2 ? 32 : tag == TAG_TNRM ? 64
                : tag == TAG_SCHD ? 256 : 128;
        if (seen & bit) {
            char tb[16];
            st = bit == 32 ? lm__err(LM_EFORMAT, "the file holds two training states")
                           : lm__err(LM_EFORMAT, "section %s appears twice", tag_text(tag, tb));
            break;
        }
        seen |= bit;
        if (tag == TAG_ARCH) st = version == 1 ? read_arch_v1(&sec, r.left, &net) : read_arch_v2(&sec, r.left, &net);
        else if (tag == TAG_SCHD && !(seen & 32))
            st = lm__err(LM_EFORMAT, "the plateau state (SCHD) comes before or without a training state");
        else if (tag == TAG_SCHD) st = read_plateau(&sec, ts);
        else st = read_section(&sec, tag, net, ts, has_ts ? has_ts : &dummy, &have_params);
        char tb[16];
        if (!st && sec.left) st = lm__err(LM_EFORMAT, "section %s has %zu stray bytes", tag_text(tag, tb), sec.left);
    }
    if (!st && !have_params) st = lm__err(LM_EFORMAT, "the file holds no parameters");
    if (!st && net->n_state && !(seen & 128)) st = lm__err(LM_EFORMAT, "the file holds no layer state");
    if (!st && r.left) st = lm__err(LM_EFORMAT, "%zu stray bytes after the last section", r.left);
    if (!st)
        for (size_t i = 0; i < net->n_params; i++)
            if (!isfinite(net->params[i])) {
                st = lm__err(LM_EFORMAT, "parameter %zu is not finite", i);
                break;
            }
    if (st) {
        lm_net_free(net);
        if (ts && has_ts && *has_ts) {
            free(ts->m);
            free(ts->v);
            ts->m = ts->v = NULL;
            *has_ts = 0;
        }
        if (ts) ts->has_plateau = 0;
        return st;
    }
    *out = net;
    return LM_OK;
}

lm_status lm_net_load_mem(lm_net **out, const void *buf, size_t len)
{
    LM_NONNULL(out);
    *out = NULL;
    if (!buf && len) return lm__err(LM_EINVAL, "lm_net_load_mem: buf is NULL");
    return lm__model_decode(buf, len, out, NULL, NULL);
}

lm_status lm_net_load(lm_net **out, const char *path)
{
    LM_NONNULL(out);
    *out = NULL;
    LM_NONNULL(path);
    unsigned char *buf;
    size_t len;
    lm_status st = lm__read_file(path, &buf, &len);
    if (st) return st;
    st = lm__model_decode(buf, len, out, NULL, NULL);
    free(buf);
    if (st) lm__err_prefix("%s", path);
    return st;
}
