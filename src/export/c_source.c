/* c_source.c - a net as C99 source for targets without lamina: NAME.c and
 * NAME.h with `void NAME_predict(const float *x, float *y)`, the weights
 * as static const arrays, no allocation, no mutable global, only libm.
 *
 * The generated code runs the inference forward of every kind as the
 * kinds do (src/layers, kernels/conv.c): channels-last activations, the
 * input normalisation first, the fused activations, batch norm with its
 * running statistics, dropout as the identity, the target
 * standardisation last. Weights print with %.9g and an f suffix, which
 * reads back as the same float, so the float export differs from
 * lm_net_predict only by summation order and libm's exp (docs/EXPORT.md).
 *
 * LM_EXPORT_INT8 stores each dense and conv2d weight matrix as int8 with
 * one float scale per output channel (symmetric: scale = max|w| / 127,
 * q = round(w / scale)); products are summed in float and the sum scaled
 * once per output. lm_net_quantize_int8 puts the same rounded weights
 * into a net, so lamina itself measures what the int8 code will predict.
 *
 * The activations live in two buffers of one workspace, sized here from
 * the shapes: each layer reads one and writes the other (or y). */
#include "internal.h"
#include "layers/layer.h"
#include "kernels/conv.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest name accepted: every generated identifier and macro starts
 * with it, and a short name keeps them within C99's 63 significant
 * characters. */
#define NAME_MAX_LEN 40

/* ------------------------------------------------------ text buffer */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed; /* out of memory: everything after is dropped */
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap - b->n <= (size_t)k) cap *= 2;
        char *p = lm__realloc(b->p, cap, 1, "exported source");
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A float that reads back as the same bits: %.9g, made a float
 * constant ("1" -> "1.0f", "1e-05" -> "1e-05f"). */
static void put_float(sbuf *b, float v)
{
    char t[48];
    snprintf(t, sizeof t, "%.9g", (double)v);
    put(b, "%s%sf", t, strpbrk(t, ".e") ? "" : ".0");
}

/* static const float NAME[n] = {...}; eight a line. */
static void put_floats(sbuf *b, const char *name, const float *v, size_t n)
{
    put(b, "static const float %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) {
        put(b, "%s", i % 8 ? " " : "\n    ");
        put_float(b, v[i]);
        put(b, ",");
    }
    put(b, "\n};\n");
}

static void put_int8s(sbuf *b, const char *name, const int8_t *v, size_t n)
{
    put(b, "static const int8_t %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) put(b, "%s%d,", i % 16 ? " " : "\n    ", v[i]);
    put(b, "\n};\n");
}

/* ------------------------------------------------------ quantisation */

/* The int8 form of a (rows, cols) weight matrix, one scale per column
 * (an output channel of a dense or conv2d layer): scale[j] = max |w| of
 * the column / 127, q = round(w / scale) (half away from zero) within
 * [-127, 127]; a zero column gets scale 0 and zeros. q may be NULL. */
static void quantize(const float *w, size_t rows, int cols, int8_t *q, float *scale)
{
    for (int j = 0; j < cols; j++) {
        float m = 0.0f;
        for (size_t i = 0; i < rows; i++) m = fmaxf(m, fabsf(w[i * (size_t)cols + (size_t)j]));
        float s = m / 127.0f;
        scale[j] = s;
        for (size_t i = 0; q && i < rows; i++) {
            float r = s > 0.0f ? roundf(w[i * (size_t)cols + (size_t)j] / s) : 0.0f;
            r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
            q[i * (size_t)cols + (size_t)j] = (int8_t)r;
        }
    }
}

/* Whether the layer's weights are one (rows, cols) matrix, cols being
 * its output channels: dense (n_in, n_out) and conv2d (KH*KW*C, F). */
static int weight_matrix(const lm__layer *L, size_t *rows, int *cols)
{
    if (L->cfg.kind == LM_LAYER_DENSE) {
        *rows = (size_t)L->n_in;
        *cols = L->n_out;
        return 1;
    }
    if (L->cfg.kind == LM_LAYER_CONV2D) {
        *rows = (size_t)L->cfg.kh * (size_t)L->cfg.kw * (size_t)L->in.c;
        *cols = L->cfg.units;
        return 1;
    }
    return 0;
}

lm_status lm_net_quantize_int8(lm_net *net)
{
    LM_NONNULL(net);
    size_t most = 0, rows;
    int cols, most_cols = 0;
    for (int l = 0; l < net->n_layers; l++)
        if (weight_matrix(&net->layers[l], &rows, &cols)) {
            if (rows * (size_t)cols > most) most = rows * (size_t)cols;
            if (cols > most_cols) most_cols = cols;
        }
    if (!most) return LM_OK;
    int8_t *q = lm__alloc(most, 1, "int8 weights");
    float *scale = q ? lm__alloc((size_t)most_cols, sizeof(float), "int8 scales") : NULL;
    if (!scale) {
        free(q);
        return LM_ENOMEM;
    }
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!weight_matrix(L, &rows, &cols)) continue;
        float *w = net->params + L->p_off; /* both kinds keep W first */
        quantize(w, rows, cols, q, scale);
        for (size_t i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                w[i * (size_t)cols + (size_t)j] = (float)q[i * (size_t)cols + (size_t)j] * scale[j];
    }
    free(q);
    free(scale);
    return LM_OK;
}

/* ---------------------------------------------------- the C helpers */

/* What the generated file needs, so that it defines no unused static
 * function (-Wall warns). */
enum {
    H_DENSE = 1 << 0,
    H_DENSE_Q = 1 << 1,
    H_CONV = 1 << 2,
    H_CONV_Q = 1 << 3,
    H_MAXPOOL = 1 << 4,
    H_AVGPOOL = 1 << 5,
    H_GAP = 1 << 6,
    H_SCALE_SHIFT = 1 << 7,
    H_SIGMOID = 1 << 8,
    H_TANH = 1 << 9,
    H_RELU = 1 << 10,
    H_LEAKY = 1 << 11,
    H_SOFTMAX = 1 << 12,
    H_COPY = 1 << 13,
};

/* The helpers' text. Sums run over the inputs in the order lamina's
 * kernels use where it is cheap to (dense: k order then the bias; pools:
 * the window row by row); index arithmetic in long, which holds every
 * size a model may have on the targets that run these. */
static void put_helpers(sbuf *b, unsigned h)
{
    /* The one inner kernel: acc (f) += x (n) W (n, f), four rows of W a
     * step (a quarter of the loads and stores of acc per multiply-add),
     * a step skipped when its four inputs are zero (relu outputs, image
     * background); restrict lets compilers vectorise the j loop. Dense
     * is one call; a convolution one call per kernel row, whose inputs
     * (kw, c) lie contiguous in the channels-last image. The helpers are
     * inline so that a build at -O2 specialises them for each call's
     * sizes (measured with gcc 12 -O2: the Fashion CNN 600 -> 374 us a
     * row, the MLP 21 -> 13 us). */
    for (int quant = 0; quant < 2; quant++) {
        if (!(h & (quant ? (H_DENSE_Q | H_CONV_Q) : (H_DENSE | H_CONV)))) continue;
        const char *t = quant ? "int8_t" : "float", *cv = quant ? "(float)" : "";
        const char *fn = quant ? "mac_rows_q" : "mac_rows";
        put(b, "/* acc (f) += x (n) W (n, f)%s. */\n"
               "static inline void %s(float *restrict acc, const float *restrict x,\n"
               "                      const %s *restrict w, long n, long f)\n{\n"
               "    long i, j, n4 = n - n %% 4;\n"
               "    for (i = 0; i < n4; i += 4) {\n"
               "        const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];\n"
               "        const %s *w0 = w + i * f, *w1 = w0 + f, *w2 = w1 + f, *w3 = w2 + f;\n"
               "        if (x0 == 0.0f && x1 == 0.0f && x2 == 0.0f && x3 == 0.0f) continue;\n"
               "        for (j = 0; j < f; j++)\n"
               "            acc[j] += x0 * %sw0[j] + x1 * %sw1[j] + x2 * %sw2[j] + x3 * %sw3[j];\n"
               "    }\n"
               "    for (i = n4; i < n; i++) {\n"
               "        const float xi = x[i];\n"
               "        const %s *wr = w + i * f;\n"
               "        for (j = 0; j < f; j++) acc[j] += xi * %swr[j];\n"
               "    }\n}\n\n",
            quant ? ", W in int8 (unscaled)" : "", fn, t, t, cv, cv, cv, cv, t, cv);
    }
    /* the epilogue over o (f): the bias (float) or scale and bias (int8) */
    static const char *const epi[2] = {
        "if (b)\n%s    for (j = 0; j < f; j++) o[j] += b[j];\n",
        "for (j = 0; j < f; j++) o[j] = o[j] * s[j] + (b ? b[j] : 0.0f);\n"};
    if (h & H_DENSE) {
        put(b, "/* y (f) = x (n) W + b, W (n, f) row-major. */\n"
               "static inline void dense(const float *x, float *y, const float *w, const float *b,\n"
               "                         long n, long f)\n{\n"
               "    long j;\n"
               "    float *const o = y;\n"
               "    for (j = 0; j < f; j++) o[j] = 0.0f;\n"
               "    mac_rows(o, x, w, n, f);\n    ");
        put(b, epi[0], "    ");
        put(b, "}\n\n");
    }
    if (h & H_DENSE_Q) {
        put(b, "/* dense with int8 weights: y[j] = s[j] * sum_i x[i] q[i][j] + b[j]. */\n"
               "static inline void dense_q(const float *x, float *y, const int8_t *w, const float *s,\n"
               "                           const float *b, long n, long f)\n{\n"
               "    long j;\n"
               "    float *const o = y;\n"
               "    for (j = 0; j < f; j++) o[j] = 0.0f;\n"
               "    mac_rows_q(o, x, w, n, f);\n    ");
        put(b, epi[1], "    ");
        put(b, "}\n\n");
    }
    if (h & (H_CONV | H_CONV_Q | H_MAXPOOL | H_AVGPOOL))
        put(b, "/* The geometry of a convolution or pooling sweep over a (h, w, c) input:\n"
               " * window kh x kw, stride, padding before (pt, pl), output (oh, ow). */\n"
               "struct geom {\n    long h, w, c, kh, kw, stride, pt, pl, oh, ow;\n};\n\n");
    for (int quant = 0; quant < 2; quant++) {
        if (!(h & (quant ? H_CONV_Q : H_CONV))) continue;
        put(b, "/* y (oh, ow, f) = conv(x (h, w, c), W (kh, kw, c, f)) + b, zeros where the\n"
               " * window covers padding%s. */\n"
               "static inline void %s(const float *x, float *y, const %s *w, %s\n"
               "                          const float *b, long f, const struct geom *g)\n{\n"
               "    long oh, ow, kh, j;\n"
               "    for (oh = 0; oh < g->oh; oh++)\n"
               "        for (ow = 0; ow < g->ow; ow++) {\n"
               "            const long iw = ow * g->stride - g->pl;\n"
               "            const long kw0 = iw < 0 ? -iw : 0;\n"
               "            const long kw1 = iw + g->kw > g->w ? g->w - iw : g->kw;\n"
               "            float *const o = y + (oh * g->ow + ow) * f;\n"
               "            for (j = 0; j < f; j++) o[j] = 0.0f;\n"
               "            for (kh = 0; kh < g->kh; kh++) {\n"
               "                const long ih = oh * g->stride - g->pt + kh;\n"
               "                if (ih < 0 || ih >= g->h) continue;\n"
               "                %s(o, x + (ih * g->w + iw + kw0) * g->c,\n"
               "                %*sw + (kh * g->kw + kw0) * g->c * f, (kw1 - kw0) * g->c, f);\n"
               "            }\n"
               "            ",
            quant ? "; int8 weights, each filter j scaled by s[j]" : "",
            quant ? "conv2d_q" : "conv2d", quant ? "int8_t" : "float",
            quant ? "const float *s," : "", quant ? "mac_rows_q" : "mac_rows",
            quant ? 11 : 9, "");
        put(b, epi[quant], "            ");
        put(b, "        }\n}\n\n");
    }
    if (h & H_MAXPOOL)
        put(b, "/* y (oh, ow, c): the max of each window (the first maximum wins, NaN\n"
               " * propagates), as a select the compiler can vectorise. */\n"
               "static void maxpool(const float *x, float *y, const struct geom *g)\n{\n"
               "    long oh, ow, kh, kw, c;\n"
               "    for (oh = 0; oh < g->oh; oh++)\n"
               "        for (ow = 0; ow < g->ow; ow++) {\n"
               "            float *restrict m = y + (oh * g->ow + ow) * g->c;\n"
               "            const float *x0 = x + (oh * g->stride * g->w + ow * g->stride) * g->c;\n"
               "            for (c = 0; c < g->c; c++) m[c] = x0[c];\n"
               "            for (kh = 0; kh < g->kh; kh++)\n"
               "                for (kw = 0; kw < g->kw; kw++) {\n"
               "                    const float *restrict xp = x0 + (kh * g->w + kw) * g->c;\n"
               "                    if (kh == 0 && kw == 0) continue;\n"
               "                    for (c = 0; c < g->c; c++) {\n"
               "                        const float v = xp[c];\n"
               "                        m[c] = v > m[c] || v != v ? v : m[c];\n"
               "                    }\n"
               "                }\n"
               "        }\n}\n\n");
    if (h & H_AVGPOOL)
        put(b, "/* y (oh, ow, c): the mean of each window. */\n"
               "static void avgpool(const float *x, float *y, const struct geom *g)\n{\n"
               "    long oh, ow, kh, kw, c;\n"
               "    const float n = (float)(g->kh * g->kw);\n"
               "    for (oh = 0; oh < g->oh; oh++)\n"
               "        for (ow = 0; ow < g->ow; ow++) {\n"
               "            float *s = y + (oh * g->ow + ow) * g->c;\n"
               "            for (c = 0; c < g->c; c++) s[c] = 0.0f;\n"
               "            for (kh = 0; kh < g->kh; kh++)\n"
               "                for (kw = 0; kw < g->kw; kw++) {\n"
               "                    const float *xp =\n"
               "                        x + ((oh * g->stride + kh) * g->w + ow * g->stride + kw) * g->c;\n"
               "                    for (c = 0; c < g->c; c++) s[c] += xp[c];\n"
               "                }\n"
               "            for (c = 0; c < g->c; c++) s[c] /= n;\n"
               "        }\n}\n\n");
    if (h & H_GAP)
        put(b, "/* y (c): the mean of each channel of x (hw, c). */\n"
               "static void global_avgpool(const float *x, float *y, long hw, long c)\n{\n"
               "    long p, j;\n"
               "    for (j = 0; j < c; j++) y[j] = 0.0f;\n"
               "    for (p = 0; p < hw; p++)\n"
               "        for (j = 0; j < c; j++) y[j] += x[p * c + j];\n"
               "    for (j = 0; j < c; j++) y[j] /= (float)hw;\n}\n\n");
    if (h & H_SCALE_SHIFT)
        put(b, "/* Batch norm at inference, in place: x (n, c) * s + t per channel, s and t\n"
               " * worked out at export from gamma, beta and the running statistics. */\n"
               "static void scale_shift(float *x, long n, long c, const float *s, const float *t)\n{\n"
               "    long r, j;\n"
               "    for (r = 0; r < n; r++)\n"
               "        for (j = 0; j < c; j++) x[r * c + j] = x[r * c + j] * s[j] + t[j];\n}\n\n");
    if (h & H_SIGMOID)
        put(b, "static void act_sigmoid(float *x, long n)\n{\n"
               "    long i;\n"
               "    for (i = 0; i < n; i++) { /* e^-|v| never overflows */\n"
               "        const float e = expf(-fabsf(x[i]));\n"
               "        x[i] = (x[i] < 0.0f ? e : 1.0f) / (1.0f + e);\n"
               "    }\n}\n\n");
    if (h & H_TANH)
        put(b, "static void act_tanh(float *x, long n)\n{\n"
               "    long i;\n    for (i = 0; i < n; i++) x[i] = tanhf(x[i]);\n}\n\n");
    if (h & H_RELU)
        put(b, "static void act_relu(float *x, long n)\n{\n"
               "    long i;\n    for (i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;\n}\n\n");
    if (h & H_LEAKY)
        put(b, "static void act_leaky(float *x, long n)\n{\n"
               "    long i;\n"
               "    for (i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.01f * x[i];\n}\n\n");
    if (h & H_SOFTMAX)
        put(b, "/* Shifted by the max so large logits cannot overflow; summed in double. */\n"
               "static void act_softmax(float *x, long n)\n{\n"
               "    long i;\n    float m = x[0], inv;\n    double sum = 0.0;\n"
               "    for (i = 1; i < n; i++) m = x[i] > m ? x[i] : m;\n"
               "    for (i = 0; i < n; i++) {\n"
               "        x[i] = expf(x[i] - m);\n"
               "        sum += x[i];\n"
               "    }\n"
               "    inv = (float)(1.0 / sum);\n"
               "    for (i = 0; i < n; i++) x[i] *= inv;\n}\n\n");
    if (h & H_COPY)
        put(b, "static void copy(const float *x, float *y, long n)\n{\n"
               "    long i;\n    for (i = 0; i < n; i++) y[i] = x[i];\n}\n\n");
}

static unsigned act_helper(lm_act a)
{
    switch (a) {
    case LM_SIGMOID: return H_SIGMOID;
    case LM_TANH: return H_TANH;
    case LM_RELU: return H_RELU;
    case LM_LEAKY_RELU: return H_LEAKY;
    case LM_SOFTMAX: return H_SOFTMAX;
    default: return 0;
    }
}

static const char *act_fn(lm_act a)
{
    switch (a) {
    case LM_SIGMOID: return "act_sigmoid";
    case LM_TANH: return "act_tanh";
    case LM_RELU: return "act_relu";
    case LM_LEAKY_RELU: return "act_leaky";
    case LM_SOFTMAX: return "act_softmax";
    default: return NULL;
    }
}

/* ------------------------------------------------------------ plan */

/* Where each activation lives: buffer 0 or 1 of the workspace, or y. */
enum { IN_Y = 2 };

/* Layers that change their input in place (or not at all). */
static int in_place(const lm__layer *L)
{
    return L->cfg.kind == LM_LAYER_DROPOUT || L->cfg.kind == LM_LAYER_BATCHNORM ||
           L->cfg.kind == LM_LAYER_ACTIVATION;
}

typedef struct plan {
    int *where;     /* (n_layers) the buffer layer l's output is in */
    size_t size[2]; /* floats of each buffer */
    int last_write; /* the last layer that writes a new buffer, or -1 */
} plan;

/* The input goes to buffer 0; each layer that is not in place writes the
 * other buffer, the last of them writes y. */
static void make_plan(const lm_net *net, plan *p)
{
    p->last_write = -1;
    for (int l = 0; l < net->n_layers; l++)
        if (!in_place(&net->layers[l])) p->last_write = l;
    p->size[0] = (size_t)net->n_in;
    p->size[1] = 0;
    int cur = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (!in_place(L)) cur = l == p->last_write ? IN_Y : 1 - cur;
        p->where[l] = cur;
        if (cur != IN_Y && (size_t)L->n_out > p->size[cur]) p->size[cur] = (size_t)L->n_out;
    }
}

/* ------------------------------------------------------------ check */

static int is_c_keyword(const char *s)
{
    static const char *const kw[] = {
        "auto",   "break",  "case",     "char",   "const",    "continue", "default",  "do",
        "double", "else",   "enum",     "extern", "float",    "for",      "goto",     "if",
        "inline", "int",    "long",     "register", "restrict", "return", "short",    "signed",
        "sizeof", "static", "struct",   "switch", "typedef",  "union",    "unsigned", "void",
        "volatile", "while", "_Bool",   "_Complex", "_Imaginary"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strcmp(s, kw[i]) == 0) return 1;
    return 0;
}

static lm_status check_name(const char *name)
{
    size_t n = strlen(name);
    int ok = n > 0 && n <= NAME_MAX_LEN && !(name[0] >= '0' && name[0] <= '9') && name[0] != '_';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (!ok || is_c_keyword(name))
        return lm__err(LM_EINVAL,
                       "export: '%s' is not a usable C name (letters, digits and _, starting "
                       "with a letter, at most %d characters, not a keyword)",
                       name, NAME_MAX_LEN);
    return LM_OK;
}

/* The .c file names its header in `#include "FILE.h"`, where C has no
 * escapes: a quote or a line break ends it, and ', \ are undefined there
 * (C99 6.4.7). Such a file name would give source that does not compile. */
static lm_status check_include(const char *file)
{
    for (const char *c = file; *c; c++)
        if (*c == '"' || *c == '\'' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
            return lm__err(LM_EINVAL,
                           "export: the file name '%s' cannot stand in the #include \"...\" of "
                           "the generated source (no quotes, backslashes or control characters)",
                           file);
    return LM_OK;
}

static lm_status check_net(const lm_net *net)
{
    if (net->n_layers == 0) return lm__err(LM_EINVAL, "export: the net has no layers");
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            return lm__err(LM_EINVAL, "export: parameter %zu is %g; only finite weights export", i,
                           (double)net->params[i]);
    for (size_t i = 0; i < net->n_state; i++)
        if (!isfinite(net->state[i]))
            return lm__err(LM_EINVAL, "export: batch norm statistic %zu is %g", i,
                           (double)net->state[i]);
    for (int l = 0; l < net->n_layers; l++) {
        lm_layer_kind k = net->layers[l].cfg.kind;
        if (k != LM_LAYER_DENSE && k != LM_LAYER_CONV2D && k != LM_LAYER_MAXPOOL2D &&
            k != LM_LAYER_AVGPOOL2D && k != LM_LAYER_GLOBAL_AVGPOOL && k != LM_LAYER_DROPOUT &&
            k != LM_LAYER_BATCHNORM && k != LM_LAYER_ACTIVATION)
            return lm__err(LM_EINVAL, "export: layer %d's kind %s has no C form yet", l + 1,
                           net->layers[l].kind->name);
    }
    /* what lm_net_save and lm_net_save_onnx refuse too (a running
     * variance below 0) */
    lm_status st = lm__net_check_writable(net, "the C source is not written");
    if (st) return st;
    /* A batch norm prints as the scale and shift put_params works out: a
     * large gamma over a small var + eps takes them past the float range,
     * where %.9g writes inf or nan, which C cannot read. */
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (L->cfg.kind != LM_LAYER_BATCHNORM) continue;
        size_t C = (size_t)L->in.c;
        const float *gamma = net->params + L->p_off, *beta = gamma + C;
        const float *mean = net->state + L->s_off, *var = mean + C;
        for (size_t c = 0; c < C; c++) {
            float s = gamma[c] / sqrtf(var[c] + L->cfg.eps), t = beta[c] - mean[c] * s;
            if (!isfinite(s) || !isfinite(t))
                return lm__err(LM_EINVAL, "export: layer %d (batchnorm): channel %zu's scale "
                               "gamma / sqrt(var + eps) and shift are %g and %g; only finite "
                               "values export", l + 1, c, (double)s, (double)t);
        }
    }
    return LM_OK;
}

/* ------------------------------------------------------- the writer */

/* "buf[0]", "buf[1]" (ws, ws + size0) or "y". */
static const char *buf_name(int where)
{
    return where == 0 ? "b0" : where == 1 ? "b1" : "y";
}

/* The geometry of a conv or pool layer as a struct geom initialiser. */
static void put_geom(sbuf *b, int l, const lm__layer *L)
{
    int pad = L->cfg.pad == LM_PAD_VALID ? 0 : L->cfg.pad, oh, ow, pt, pl;
    lm_conv_geometry(L->in.h, L->cfg.kh, L->cfg.stride, pad, &oh, &pt);
    lm_conv_geometry(L->in.w, L->cfg.kw, L->cfg.stride, pad, &ow, &pl);
    put(b, "static const struct geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n", l,
        L->in.h, L->in.w, L->in.c, L->cfg.kh, L->cfg.kw, L->cfg.stride, pt, pl, oh, ow);
}

/* The parameters of layer l as static const arrays, and the helpers it
 * needs into *h. q and scale: room for its int8 form. */
static void put_params(sbuf *b, const lm_net *net, int l, int int8, int8_t *q, float *scale,
                       float *tmp, unsigned *h)
{
    const lm__layer *L = &net->layers[l];
    const float *p = net->params + L->p_off;
    char nm[32];
    size_t rows;
    int cols;
    *h |= act_helper(L->act);
    if (weight_matrix(L, &rows, &cols)) {
        int conv = L->cfg.kind == LM_LAYER_CONV2D;
        put(b, "\n/* layer %d: %s %d -> %d%s */\n", l + 1, L->kind->name, L->n_in, L->n_out,
            int8 ? ", int8 weights with a scale per output channel" : "");
        snprintf(nm, sizeof nm, "w%d", l);
        if (int8) {
            quantize(p, rows, cols, q, scale);
            put_int8s(b, nm, q, rows * (size_t)cols);
            snprintf(nm, sizeof nm, "s%d", l);
            put_floats(b, nm, scale, (size_t)cols);
            *h |= conv ? H_CONV_Q : H_DENSE_Q;
        } else {
            put_floats(b, nm, p, rows * (size_t)cols);
            *h |= conv ? H_CONV : H_DENSE;
        }
        if (L->has_bias) {
            snprintf(nm, sizeof nm, "bias%d", l);
            put_floats(b, nm, p + rows * (size_t)cols, (size_t)cols);
        }
        if (conv) put_geom(b, l, L);
    } else if (L->cfg.kind == LM_LAYER_MAXPOOL2D || L->cfg.kind == LM_LAYER_AVGPOOL2D) {
        put(b, "\n/* layer %d: %s %dx%d, stride %d */\n", l + 1, L->kind->name, L->cfg.kh,
            L->cfg.kw, L->cfg.stride);
        put_geom(b, l, L);
        *h |= L->cfg.kind == LM_LAYER_MAXPOOL2D ? H_MAXPOOL : H_AVGPOOL;
    } else if (L->cfg.kind == LM_LAYER_GLOBAL_AVGPOOL) {
        *h |= H_GAP;
    } else if (L->cfg.kind == LM_LAYER_BATCHNORM) {
        /* the inference forward's own scale and shift (batchnorm.c), in the
         * same float operations, so the bits match */
        size_t C = (size_t)L->in.c;
        const float *gamma = p, *beta = p + C;
        const float *mean = net->state + L->s_off, *var = mean + C;
        for (size_t c = 0; c < C; c++) {
            float s = gamma[c] / sqrtf(var[c] + L->cfg.eps);
            tmp[c] = s;
            tmp[C + c] = beta[c] - mean[c] * s;
        }
        put(b, "\n/* layer %d: batchnorm over %zu channels (eps %g), as scale and shift */\n", l + 1,
            C, (double)L->cfg.eps);
        snprintf(nm, sizeof nm, "bn_s%d", l);
        put_floats(b, nm, tmp, C);
        snprintf(nm, sizeof nm, "bn_t%d", l);
        put_floats(b, nm, tmp + C, C);
        *h |= H_SCALE_SHIFT;
    }
}

/* The call(s) running layer l from `in` to `out`. */
static void put_call(sbuf *b, const lm_net *net, int l, const char *in, const char *out, int int8)
{
    const lm__layer *L = &net->layers[l];
    char bias[32] = "0";
    if (L->has_bias) snprintf(bias, sizeof bias, "bias%d", l);
    switch (L->cfg.kind) {
    case LM_LAYER_DENSE:
        if (int8)
            put(b, "    dense_q(%s, %s, w%d, s%d, %s, %d, %d);\n", in, out, l, l, bias, L->n_in,
                L->n_out);
        else put(b, "    dense(%s, %s, w%d, %s, %d, %d);\n", in, out, l, bias, L->n_in, L->n_out);
        break;
    case LM_LAYER_CONV2D:
        if (int8)
            put(b, "    conv2d_q(%s, %s, w%d, s%d, %s, %d, &g%d);\n", in, out, l, l, bias,
                L->cfg.units, l);
        else put(b, "    conv2d(%s, %s, w%d, %s, %d, &g%d);\n", in, out, l, bias, L->cfg.units, l);
        break;
    case LM_LAYER_MAXPOOL2D: put(b, "    maxpool(%s, %s, &g%d);\n", in, out, l); break;
    case LM_LAYER_AVGPOOL2D: put(b, "    avgpool(%s, %s, &g%d);\n", in, out, l); break;
    case LM_LAYER_GLOBAL_AVGPOOL:
        put(b, "    global_avgpool(%s, %s, %d, %d);\n", in, out, L->in.h * L->in.w, L->in.c);
        break;
    case LM_LAYER_BATCHNORM:
        put(b, "    scale_shift(%s, %d, %d, bn_s%d, bn_t%d);\n", out, L->in.h * L->in.w, L->in.c,
            l, l);
        break;
    case LM_LAYER_DROPOUT: put(b, "    /* layer %d: dropout, the identity at inference */\n", l + 1); break;
    case LM_LAYER_ACTIVATION: put(b, "    /* layer %d: a standalone %s */\n", l + 1, lm_act_name(L->act)); break;
    default: break;
    }
    if (act_fn(L->act)) put(b, "    %s(%s, %d);\n", act_fn(L->act), out, L->n_out);
}

/* Whether every value of v (n) equals v[0]. */
static int uniform(const float *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (memcmp(&v[i], &v[0], sizeof v[0])) return 0;
    return 1;
}

static void upper(char *dst, const char *src)
{
    for (; *src; src++) *dst++ = (*src >= 'a' && *src <= 'z') ? (char)(*src - 'a' + 'A') : *src;
    *dst = 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void put_header(sbuf *b, const lm_net *net, const char *name, const char *up, int int8,
                       const plan *p, size_t param_bytes)
{
    size_t ws = p->size[0] + p->size[1];
    const lm__shape s = net->in_shape;
    put(b,
        "/* %s.h - generated by lamina %s (lamina export --format c%s).\n"
        " *\n"
        " * %s_predict(x, y): x is one row of the model's %d inputs, raw (the input\n"
        " * normalisation lamina trained with is applied inside)",
        name, LM_VERSION_STRING, int8 ? " --int8" : "", name, net->n_in);
    if ((s.h > 1 || s.w > 1) && s.c == 1)
        put(b, ",\n * an image of (C, H, W) = (1, %d, %d), row by row: x[h * %d + w]", s.h, s.w, s.w);
    else if (s.h > 1 || s.w > 1)
        put(b, ",\n * an image of shape (C, H, W) = (%d, %d, %d) stored channels-last:\n"
               " * x[(h * %d + w) * %d + c]", s.c, s.h, s.w, s.w, s.c);
    if (net->class_names && net->n_classes == 2 && lm_net_n_out(net) == 1) // two classes, one output
        put(b, ";\n * y gets the 1 output, the probability of the second class (class 1\n"
               " * when above 0.5): the last of the two `lamina predict --proba` prints.\n"
               " * C99; no allocation, no mutable global state, only libm; reentrant.\n");
    else
        put(b, ";\n * y gets the %d outputs with the final activation applied: what\n"
               " * `lamina predict --proba` prints. C99; no allocation, no mutable global\n"
               " * state, only libm; reentrant.\n", lm_net_n_out(net));
    put(b,
        " *\n"
        " * Stack: %s_predict keeps its workspace of %s_WORKSPACE_FLOATS floats\n"
        " * (%zu bytes) on the stack, plus the frames of the small functions it\n"
        " * calls (at most 200 bytes in all with gcc 12 -O2 on x86-64 and\n"
        " * Cortex-M4). Where that is too much, call\n"
        " * %s_predict_ws with a buffer of %s_WORKSPACE_FLOATS floats of your own\n"
        " * (static, or shared between models run one at a time).\n"
        " * Read-only data: %zu bytes of weights%s.\n"
        " */\n"
        "#ifndef %s_H\n#define %s_H\n\n"
        "#define %s_N_IN %d\n#define %s_N_OUT %d\n#define %s_WORKSPACE_FLOATS %zu\n\n"
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
        "/* x (%s_N_IN) in, y (%s_N_OUT) out. */\n"
        "void %s_predict(const float *x, float *y);\n"
        "/* The same with the caller's workspace ws (%s_WORKSPACE_FLOATS). */\n"
        "void %s_predict_ws(const float *x, float *y, float *ws);\n\n"
        "#ifdef __cplusplus\n}\n#endif\n#endif\n",
        name, up, ws * sizeof(float), name, up, param_bytes,
        int8 ? " (int8 weights, float scales, biases and normalisation)" : "", up, up, up,
        net->n_in, up, lm_net_n_out(net), up, ws ? ws : 1, up, up, name, up, name);
}

/* The .c text into b, its read-only bytes into *param_bytes. */
static lm_status put_source(sbuf *b, const lm_net *net, const char *name, const char *up,
                            const char *header, int int8, const plan *p, size_t *param_bytes)
{
    size_t most = (size_t)net->n_in * 2, rows;
    int cols;
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        if (weight_matrix(L, &rows, &cols) && rows * (size_t)cols > most) most = rows * (size_t)cols;
        if (2 * (size_t)L->in.c > most) most = 2 * (size_t)L->in.c;
    }
    int8_t *q = int8 ? lm__alloc(most, 1, "int8 weights") : NULL;
    float *tmp = lm__alloc(most, sizeof(float), "export scratch");
    if ((int8 && !q) || !tmp) {
        free(q);
        free(tmp);
        return LM_ENOMEM;
    }
    /* the parameters first, then the helpers they need, then predict:
     * the helpers are chosen by the layers */
    sbuf params = {0};
    unsigned h = 0;
    int n_in = net->n_in;
    *param_bytes = 0;
    if (net->norm_mean) {
        put(&params, "\n/* the input normalisation: x' = (x - mean) * scale */\n");
        if (uniform(net->norm_mean, (size_t)n_in) && uniform(net->norm_scale, (size_t)n_in)) {
            put(&params, "static const float norm_mean = ");
            put_float(&params, net->norm_mean[0]);
            put(&params, ", norm_scale = ");
            put_float(&params, net->norm_scale[0]);
            put(&params, ";\n");
        } else {
            put_floats(&params, "norm_mean", net->norm_mean, (size_t)n_in);
            put_floats(&params, "norm_scale", net->norm_scale, (size_t)n_in);
            *param_bytes += 2 * (size_t)n_in * sizeof(float);
        }
    }
    for (int l = 0; l < net->n_layers; l++) {
        const lm__layer *L = &net->layers[l];
        put_params(&params, net, l, int8, q, tmp, tmp, &h);
        if (weight_matrix(L, &rows, &cols))
            *param_bytes += rows * (size_t)cols * (int8 ? 1 : sizeof(float)) +
                            (size_t)cols * sizeof(float) * ((size_t)L->has_bias + (size_t)int8);
        else if (L->cfg.kind == LM_LAYER_BATCHNORM)
            *param_bytes += 2 * (size_t)L->in.c * sizeof(float);
    }
    int n_out = lm_net_n_out(net);
    int tn = net->tnorm && net->tnorm_n == n_out;
    if (tn) {
        put(&params, "\n/* the target standardisation undone: y * std + mean */\n");
        put_floats(&params, "target_mean", net->tnorm, (size_t)n_out);
        put_floats(&params, "target_std", net->tnorm + n_out, (size_t)n_out);
        *param_bytes += 2 * (size_t)n_out * sizeof(float);
    }
    if (p->last_write < 0) h |= H_COPY;
    free(q);

    put(b, "/* %s.c - generated by lamina %s from a model of %d layer%s (%s weights).\n"
           " * The interface and its stack use are in %s. */\n"
           "#include \"%s\"\n\n#include <math.h>\n%s\n",
        name, LM_VERSION_STRING, net->n_layers, net->n_layers == 1 ? "" : "s",
        int8 ? "int8" : "float", header, header, int8 ? "#include <stdint.h>\n" : "");
    put_helpers(b, h);
    put(b, "/* ------------------------------------------------------------ weights */\n");
    if (params.failed) b->failed = 1;
    else put(b, "%s", params.p ? params.p : "");
    free(params.p);

    put(b, "\n/* ------------------------------------------------------------ predict */\n\n"
           "void %s_predict_ws(const float *x, float *y, float *ws)\n{\n"
           "    float *b0 = ws, *b1 = ws + %zu;\n"
           "    long i;\n",
        name, p->size[0]);
    if (net->norm_mean) {
        if (uniform(net->norm_mean, (size_t)n_in) && uniform(net->norm_scale, (size_t)n_in))
            put(b, "    for (i = 0; i < %d; i++) b0[i] = (x[i] - norm_mean) * norm_scale;\n", n_in);
        else put(b, "    for (i = 0; i < %d; i++) b0[i] = (x[i] - norm_mean[i]) * norm_scale[i];\n", n_in);
    } else {
        put(b, "    for (i = 0; i < %d; i++) b0[i] = x[i];\n", n_in);
    }
    int cur = 0;
    for (int l = 0; l < net->n_layers; l++) {
        int to = p->where[l];
        put_call(b, net, l, buf_name(cur), buf_name(to), int8);
        cur = to;
    }
    if (cur != IN_Y) put(b, "    copy(%s, y, %d);\n", buf_name(cur), n_out);
    if (tn) put(b, "    for (i = 0; i < %d; i++) y[i] = y[i] * target_std[i] + target_mean[i];\n", n_out);
    put(b, "    (void)b1;\n}\n\n"
           "void %s_predict(const float *x, float *y)\n{\n"
           "    float ws[%s_WORKSPACE_FLOATS];\n"
           "    %s_predict_ws(x, y, ws);\n}\n",
        name, up, name);
    free(tmp);
    return b->failed ? LM_ENOMEM : LM_OK;
}

lm_status lm_net_export_c(const lm_net *net, const char *path, const char *name, unsigned flags)
{
    LM_NONNULL(net);
    LM_NONNULL(path);
    LM_NONNULL(name);
    lm_status st;
    if (flags & ~(unsigned)LM_EXPORT_INT8)
        return lm__err(LM_EINVAL, "export: unknown flags 0x%x", flags & ~(unsigned)LM_EXPORT_INT8);
    size_t n = strlen(path);
    if (n < 3 || strcmp(path + n - 2, ".c") != 0 || path[n - 3] == '/')
        return lm__err(LM_EINVAL, "export: '%s' must be a file name ending in .c (the header "
                                  "goes beside it as .h)", path);
    if ((st = check_name(name)) || (st = check_include(base_name(path))) ||
        (st = check_net(net)))
        return st;
    int int8 = (flags & LM_EXPORT_INT8) != 0;

    char *hpath = lm__strdup(path);
    int *where = lm__alloc((size_t)net->n_layers, sizeof(int), "export plan");
    if (!hpath || !where) {
        free(hpath);
        free(where);
        return LM_ENOMEM;
    }
    hpath[n - 1] = 'h';
    plan p = {where, {0, 0}, -1};
    make_plan(net, &p);
    char up[NAME_MAX_LEN + 1];
    upper(up, name);
    sbuf src = {0}, hdr = {0};
    size_t param_bytes = 0;
    /* printf's numbers follow LC_NUMERIC: under a decimal-comma locale
     * 0.25 would print as "0,25", two initialisers in C. Written under
     * the C locale in this thread only, whatever the program set. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    st = cloc ? put_source(&src, net, name, up, base_name(hpath), int8, &p, &param_bytes)
              : lm__err(LM_ENOMEM, "export: cannot make the C locale to print numbers in");
    if (st == LM_OK) put_header(&hdr, net, name, up, int8, &p, param_bytes);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    if (st == LM_OK && hdr.failed) st = LM_ENOMEM;
    /* both or neither: a new header beside an old .c (a write that ran
     * out of disk) would compile, and size the caller's arrays and
     * workspace for another model. The header is renamed first: a .c
     * without its header would not compile. */
    if (st == LM_OK) st = lm__write_atomic2(hpath, hdr.p, hdr.n, path, src.p, src.n);
    free(src.p);
    free(hdr.p);
    free(hpath);
    free(where);
    return st;
}
