/* small_avx512.c - the fused forward and backward of a small net (every
 * layer at most 16 wide, see lm__small_net). The tutorial's 3-4-1 net
 * spent most of its step on the general path's per-call costs: GEMM
 * dispatch, generic stride loops over a handful of values, separate
 * activation passes. Here a few rows at a time go through all the layers
 * in one loop, each layer's weights in registers and its activation
 * applied while the values are hot.
 *
 * The bits are the general path's (src/net.c, layers/dense.c), operation
 * for operation:
 *  - each of a layer's three products (forward x W, weight gradient
 *    x^T dz, input gradient dz W^T) has n * n_in * n_out multiply-adds,
 *    so one test says whether the general path takes its tiny GEMM
 *    (gemm.c's is_tiny: a rounded product, then an add) or its packed
 *    kernels (one FMA per step); either way every element is summed over
 *    k in order from +0, as here;
 *  - the bias is added after the sum, then the activation or its
 *    gradient (simd_avx512.h: the elementwise kernels' own code);
 *  - the bias gradient sums the rows in order from +0, as lm_colsum;
 *  - a softmax output goes through act.c's code on the dense buffers.
 * (The general path's K blocking of the weight gradient, beyond 256 rows,
 * only stores and reloads its accumulators, which is exact; its skipping
 * of all-zero input steps changes no sum of finite values.)
 *
 * Packed rows: a layer's values are kept with row r at r P (in a block
 * of rows, below), P the smallest power of two >= its width, so one
 * register (a chunk) holds G = 16 / P whole rows. The activation and its gradient then cover G
 * rows at a time, as the general path's elementwise kernels cover 16
 * values (the tutorial's hidden layer is one chunk, not four). Products
 * are formed a row at a time with the other operand repeated in every
 * P-wide group, so a row's result lands in every group and a blend keeps
 * it in its own. Lanes past the width in each group are junk that never
 * reaches a real lane: broadcasts read real lanes only, and dense stores
 * keep only the real lanes. Chunks are stored whole and aligned and read
 * back whole or by broadcasts inside them, so values forward from store
 * to load instead of waiting for the cache. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__FMA__)
#include "simd_avx512.h"

/* Full unrolling of the 16-step loops (each step guarded by the real
 * width), so weight rows and accumulators stay in registers. */
#ifdef __clang__
#define UNROLL_FULL _Pragma("unroll")
#else
#define UNROLL_FULL _Pragma("GCC unroll 16")
#endif

#define W16 LM_SMALL_WIDTH

/* acc + a b, as the general path's GEMM of that shape sums: one FMA
 * (packed kernels) or a rounded product and then an add (tiny GEMM). */
ALWAYS_INLINE __m512 madd(const int FMA, __m512 a, __m512 b, __m512 acc)
{
    return FMA ? _mm512_fmadd_ps(a, b, acc) : _mm512_add_ps(acc, _mm512_mul_ps(a, b));
}

/* Whether the general path multiplies a layer's products with FMA. */
static int layer_fma(size_t n, int nin, int nout)
{
    return (long long)n * nin * nout >= 512; /* gemm.c's TINY_MACS */
}

/* ------------------------------------------------------- packed rows */

/* How one layer's values are packed (see the top). */
typedef struct shape {
    int nin, nout;
    int P;          /* group width: the smallest power of two >= nout */
    int G;          /* rows a chunk: 16 / P */
    __mmask16 real; /* the first nout lanes of every group */
} shape;

/* The smallest power of two >= w, for 1 <= w <= 16. */
static int group_width(int w)
{
    static const unsigned char gw[W16 + 1] = {1, 1, 2, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16};
    return gw[w];
}

static shape shape_of(int nin, int nout)
{
    /* one lane in every P-wide group, by log2 P */
    static const unsigned firsts[5] = {0xFFFF, 0x5555, 0x1111, 0x0101, 0x0001};
    int P = group_width(nout), lg = __builtin_ctz((unsigned)P);
    return (shape){nin, nout, P, W16 >> lg, (__mmask16)(((1u << nout) - 1u) * firsts[lg])};
}

ALWAYS_INLINE __m512i iota16(void)
{
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/* Each lane's place in its P-wide group: lane & (P - 1). */
ALWAYS_INLINE __m512i group_lane(int P)
{
    return _mm512_and_si512(iota16(), _mm512_set1_epi32(P - 1));
}

/* The first w values at p (w <= 16), repeated in every P-wide group. */
ALWAYS_INLINE __m512 load_repeated(const float *p, int w, int P)
{
    return _mm512_permutexvar_ps(group_lane(P), _mm512_maskz_loadu_ps(tail_mask((size_t)w), p));
}

/* ------------------------------------------------------------ blocks */

/* Rows go through the net a block at a time: B = 16 / (the widest layer's
 * P) rows, so every layer's values for a block are one chunk, and the
 * gradient passes from layer to layer in a register. The workspace's pad
 * holds each layer's chunk of every block (the next layer and the
 * backward read them), then a scratch a layer: the weight and bias
 * gradients carried from block to block, and a slot for the chunk whose
 * values the input gradient broadcasts. */
#define SC_GW 0                   /* (16, 16) weight gradient rows */
#define SC_GB (SC_GW + W16 * W16) /* (16) bias gradient */
#define SC_DZ (SC_GB + W16)       /* (16) a chunk of dz */
#define SCRATCH (SC_DZ + W16)
_Static_assert(SCRATCH == LM_SMALL_SCRATCH, "internal.h's LM_SMALL_SCRATCH is the scratch's size");

/* The activation (or, backward, its gradient) chosen at run time. */
ALWAYS_INLINE __m512 act_any(lm_act act, __m512 v)
{
    switch (act) {
    case LM_SIGMOID: return act16(LM_SIGMOID, v);
    case LM_TANH: return act16(LM_TANH, v);
    case LM_RELU: return act16(LM_RELU, v);
    case LM_LEAKY_RELU: return act16(LM_LEAKY_RELU, v);
    default: return v;
    }
}

ALWAYS_INLINE __m512 grad_any(lm_act act, __m512 a, __m512 d)
{
    switch (act) {
    case LM_SIGMOID: return grad16(LM_SIGMOID, a, d);
    case LM_TANH: return grad16(LM_TANH, a, d);
    case LM_RELU: return grad16(LM_RELU, a, d);
    case LM_LEAKY_RELU: return grad16(LM_LEAKY_RELU, a, d);
    default: return d;
    }
}

/* ----------------------------------------------------------- kernels */

/* The products, one function a width so that the loops over it unroll
 * with no test per step and their operands stay in registers; tables pick
 * them by width and by whether the general path uses FMA for the shape.
 *
 * Forward: the block's chunk of x W, lane g P + j = sum over k in order
 * of x_g[k] W[k][j], for rows x_g at x + g ldx; N = nin. */
ALWAYS_INLINE __m512 fwd_body(const int FMA, const int N, const float *x, size_t ldx, size_t rn,
                              const float *w, int nout, int P)
{
    const __mmask16 m = tail_mask((size_t)nout);
    const __m512i rep = group_lane(P);
    __m512 wr[W16]; /* row k of W in every group */
    UNROLL_FULL
    for (int k = 0; k < N; k++)
        wr[k] = _mm512_permutexvar_ps(rep, _mm512_maskz_loadu_ps(m, w + (size_t)k * nout));
    __m512 c = _mm512_setzero_ps();
    unsigned group = (1u << P) - 1u;
    for (size_t g = 0; g < rn; g++, group <<= P, x += ldx) {
        __m512 acc = _mm512_setzero_ps();
        UNROLL_FULL
        for (int k = 0; k < N; k++) acc = madd(FMA, _mm512_set1_ps(x[k]), wr[k], acc);
        c = _mm512_mask_blend_ps((__mmask16)group, c, acc);
    }
    return c;
}

/* Backward, weight and bias gradients: the block's rows in order,
 * gw[i] += x_g[i] dz_g and gb += dz_g, row g of dz picked out of its
 * chunk into every group; N = nin. The sums start at zero on the first
 * block and are carried in the scratch between blocks; after the last
 * they are stored as dense rows, G rows a chunk (compressed when
 * P > nout). */
typedef struct grad_args {
    const float *x;     /* the block's input rows, x_g at x + g ldx */
    size_t ldx, rn;
    shape s;
    float *sw, *sb;     /* the scratch's sums */
    int first, final;   /* the block is the first, the last */
    float *dw, *db;     /* (nin, nout) and (nout) or NULL */
} grad_args;

ALWAYS_INLINE void grad_body(const int FMA, const int N, const grad_args *a, __m512 dz)
{
    const shape s = a->s;
    __m512 gw[W16], gb = a->first ? _mm512_setzero_ps() : _mm512_load_ps(a->sb);
    UNROLL_FULL
    for (int i = 0; i < N; i++) gw[i] = a->first ? _mm512_setzero_ps() : _mm512_load_ps(a->sw + i * W16);
    const __m512i step = _mm512_set1_epi32(s.P);
    __m512i pick = group_lane(s.P);
    const float *x = a->x;
    for (size_t g = 0; g < a->rn; g++, pick = _mm512_add_epi32(pick, step), x += a->ldx) {
        __m512 dr = _mm512_permutexvar_ps(pick, dz);
        UNROLL_FULL
        for (int i = 0; i < N; i++) gw[i] = madd(FMA, _mm512_set1_ps(x[i]), dr, gw[i]);
        gb = _mm512_add_ps(gb, dr);
    }
    if (!a->final) {
        UNROLL_FULL
        for (int i = 0; i < N; i++) _mm512_store_ps(a->sw + i * W16, gw[i]);
        _mm512_store_ps(a->sb, gb);
        return;
    }
    const unsigned mask = (1u << s.P) - 1u;
    __m512 c = _mm512_setzero_ps();
    UNROLL_FULL
    for (int i = 0; i < N; i++) {
        int g = i & (s.G - 1);
        c = _mm512_mask_blend_ps((__mmask16)(mask << (g * s.P)), c, gw[i]);
        if (g == s.G - 1 || i == N - 1)
            store_part(a->dw + (size_t)(i - g) * s.nout, (size_t)(g + 1) * s.nout,
                       s.P == s.nout ? c : _mm512_maskz_compress_ps(s.real, c));
    }
    if (a->db) store_part(a->db, (size_t)s.nout, gb);
}

/* Backward, input gradient: the block's chunk for the layer below
 * (Pi-wide groups), row g = sum over j in order of dz_g[j] W[:, j], dz_g
 * at dz + g P; N = nout. W's columns are gathered (permuted, when all of
 * W fits one register) by the plan's indices. */
typedef struct din_args {
    const float *w;      /* W (nin, nout) */
    int nw;              /* nin nout */
    const int32_t *cols; /* (nout, 16) lane i of column j: the index of W[i][j] */
    __mmask16 in_lanes;  /* lanes i < nin of every Pi-wide group */
    int P, Pi;
    size_t rn;
} din_args;

ALWAYS_INLINE __m512 din_body(const int FMA, const int N, const din_args *a, const float *dz)
{
    __m512 col[W16];
    if (a->nw <= W16) {
        __m512 wv = _mm512_maskz_loadu_ps(tail_mask((size_t)a->nw), a->w);
        UNROLL_FULL
        for (int j = 0; j < N; j++)
            col[j] = _mm512_maskz_permutexvar_ps(a->in_lanes, _mm512_loadu_si512(a->cols + j * W16), wv);
    } else {
        UNROLL_FULL
        for (int j = 0; j < N; j++)
            col[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), a->in_lanes,
                                              _mm512_loadu_si512(a->cols + j * W16), a->w, 4);
    }
    __m512 c = _mm512_setzero_ps();
    unsigned group = (1u << a->Pi) - 1u;
    for (size_t g = 0; g < a->rn; g++, group <<= a->Pi, dz += a->P) {
        __m512 acc = _mm512_setzero_ps();
        UNROLL_FULL
        for (int j = 0; j < N; j++) acc = madd(FMA, _mm512_set1_ps(dz[j]), col[j], acc);
        c = _mm512_mask_blend_ps((__mmask16)group, c, acc);
    }
    return c;
}

typedef __m512 (*fwd_kernel)(const float *x, size_t ldx, size_t rn, const float *w, int nout, int P);
typedef void (*grad_kernel)(const grad_args *a, __m512 dz);
typedef __m512 (*din_kernel)(const din_args *a, const float *dz);

#define KERNELS(n)                                                                              \
    static __m512 fwd_t##n(const float *x, size_t ldx, size_t rn, const float *w, int nout, int P) \
    {                                                                                           \
        return fwd_body(0, n, x, ldx, rn, w, nout, P);                                          \
    }                                                                                           \
    static __m512 fwd_f##n(const float *x, size_t ldx, size_t rn, const float *w, int nout, int P) \
    {                                                                                           \
        return fwd_body(1, n, x, ldx, rn, w, nout, P);                                          \
    }                                                                                           \
    static void grad_t##n(const grad_args *a, __m512 dz) { grad_body(0, n, a, dz); }            \
    static void grad_f##n(const grad_args *a, __m512 dz) { grad_body(1, n, a, dz); }            \
    static __m512 din_t##n(const din_args *a, const float *dz) { return din_body(0, n, a, dz); } \
    static __m512 din_f##n(const din_args *a, const float *dz) { return din_body(1, n, a, dz); }
KERNELS(1) KERNELS(2) KERNELS(3) KERNELS(4) KERNELS(5) KERNELS(6) KERNELS(7) KERNELS(8)
KERNELS(9) KERNELS(10) KERNELS(11) KERNELS(12) KERNELS(13) KERNELS(14) KERNELS(15) KERNELS(16)
#undef KERNELS

#define BY_WIDTH(p) {p##1, p##2, p##3, p##4, p##5, p##6, p##7, p##8, p##9, p##10, p##11, p##12, p##13, p##14, p##15, p##16}
/* [fma][width - 1] */
static const fwd_kernel fwd_kernels[2][W16] = {BY_WIDTH(fwd_t), BY_WIDTH(fwd_f)};
static const grad_kernel grad_kernels[2][W16] = {BY_WIDTH(grad_t), BY_WIDTH(grad_f)};
static const din_kernel din_kernels[2][W16] = {BY_WIDTH(din_t), BY_WIDTH(din_f)};
#undef BY_WIDTH

/* -------------------------------------------------------------- plan */

/* What the layer shapes fix, worked out once a workspace (the widths do
 * not change for a workspace; activations, biases and offsets are read
 * from the net at each call, as a workspace may serve another net of the
 * same widths). */
typedef struct plan_layer {
    shape s;
    int Pi;             /* the input's group width (layers after the first) */
    size_t ldx;         /* the input's row stride: n_in, or Pi */
    float *chunks;      /* this layer's chunk of block b at chunks + 16 b */
    float *scratch;     /* SCRATCH floats */
    fwd_kernel fwd[2];  /* by whether the general path uses FMA */
    grad_kernel grad[2];
    din_kernel din[2];
    __mmask16 in_lanes; /* see din_args */
    int32_t cols[W16 * W16];
} plan_layer;

struct lm__small_plan {
    int n_layers;
    size_t B; /* rows a block */
    plan_layer layer[];
};

lm__small_plan *lm__small_plan_new(const lm_net *net, float *pad, size_t rows)
{
    int L = net->n_layers;
    lm__small_plan *p = malloc(sizeof *p + (size_t)L * sizeof p->layer[0]);
    if (!p) return NULL;
    p->n_layers = L;
    int pmax = 1;
    for (int l = 0; l < L; l++) {
        const lm__layer *N = &net->layers[l];
        plan_layer *pl = &p->layer[l];
        pl->s = shape_of(N->n_in, N->n_out);
        pl->Pi = group_width(N->n_in);
        pl->ldx = l ? (size_t)pl->Pi : (size_t)N->n_in;
        pl->chunks = pad + (size_t)l * rows * W16;
        pl->scratch = pad + (size_t)L * rows * W16 + (size_t)l * SCRATCH;
        for (int f = 0; f < 2; f++) {
            pl->fwd[f] = fwd_kernels[f][N->n_in - 1];
            pl->grad[f] = grad_kernels[f][N->n_in - 1];
            pl->din[f] = din_kernels[f][N->n_out - 1];
        }
        /* lane i of column j (in every Pi-wide group) is W[i][j] */
        pl->in_lanes = 0;
        for (int t = 0; t < W16; t++) {
            int i = t & (pl->Pi - 1);
            if (i < N->n_in) pl->in_lanes |= (__mmask16)(1u << t);
            for (int j = 0; j < N->n_out; j++) pl->cols[j * W16 + t] = i < N->n_in ? i * N->n_out + j : 0;
        }
        pmax = pl->s.P > pmax ? pl->s.P : pmax;
    }
    p->B = (size_t)(W16 / pmax);
    return p;
}

/* ------------------------------------------------------------ forward */

/* Rows [r0, r0 + rn) (block b) through every layer. */
static void fwd_block(const lm_net *net, lm_ws *ws, size_t b, size_t r0, size_t rn, size_t n,
                      int skip_last_act)
{
    const plan_layer *pl = ws->small->layer;
    int last = net->n_layers - 1;
    const float *x = ws->x0 + r0 * pl->ldx;
    for (int l = 0; l <= last; l++, pl++) {
        const lm__layer *L = &net->layers[l];
        const shape s = pl->s;
        __m512 c = pl->fwd[layer_fma(n, s.nin, s.nout)](x, pl->ldx, rn, net->params + L->w_off, s.nout, s.P);
        if (L->has_bias) c = _mm512_add_ps(c, load_repeated(net->params + L->b_off, s.nout, s.P));
        /* softmax (only ever last) is not elementwise: act.c applies it
         * to the dense output, as the general path does */
        if (!(l == last && skip_last_act)) c = act_any(L->act, c);
        float *out = pl->chunks + b * W16;
        _mm512_store_ps(out, c);
        if (l == last) /* the real lanes, in order, are the dense rows */
            store_part(ws->act[l] + r0 * s.nout, rn * s.nout,
                       s.P == s.nout ? c : _mm512_maskz_compress_ps(s.real, c));
        x = out;
    }
}

void lm__small_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act)
{
    size_t B = ws->small->B;
    for (size_t r0 = 0, b = 0; r0 < n; r0 += B, b++)
        fwd_block(net, ws, b, r0, n - r0 < B ? n - r0 : B, n, skip_last_act);
    int last = net->n_layers - 1;
    if (!skip_last_act && net->layers[last].act == LM_SOFTMAX)
        lm__act_forward(LM_SOFTMAX, ws->act[last], n, net->layers[last].n_out);
}

/* ----------------------------------------------------------- backward */

/* The loss's gradient for rows [r0, r0 + rn), dense in d0, as a chunk. */
static __m512 load_dense(shape s, const float *d0, size_t r0, size_t rn)
{
    __m512 v = load_part(d0 + r0 * s.nout, rn * s.nout);
    return s.P == s.nout ? v : _mm512_maskz_expand_ps(s.real, v);
}

/* Block b (rows [r0, r0 + rn)) back through every layer; first and
 * final say whether it is the first and the last block. */
static void bwd_block(lm_net *net, lm_ws *ws, size_t b, size_t r0, size_t rn, size_t n,
                      lm_act last_gact, int first, int final)
{
    int last = net->n_layers - 1;
    const plan_layer *pl = &ws->small->layer[last];
    __m512 d = load_dense(pl->s, ws->d0, r0, rn);
    for (int l = last; l >= 0; l--, pl--) {
        const lm__layer *L = &net->layers[l];
        const shape s = pl->s;
        float *sc = pl->scratch;
        __m512 dz = grad_any(l == last ? last_gact : L->act, _mm512_load_ps(pl->chunks + b * W16), d);
        int fma = layer_fma(n, s.nin, s.nout);
        grad_args a = {l ? pl[-1].chunks + b * W16 : ws->x0 + r0 * pl->ldx, pl->ldx, rn, s, sc + SC_GW,
                       sc + SC_GB, first, final, net->grads + L->w_off,
                       L->has_bias ? net->grads + L->b_off : NULL};
        pl->grad[fma](&a, dz);
        if (l) {
            _mm512_store_ps(sc + SC_DZ, dz);
            din_args da = {net->params + L->w_off, s.nin * s.nout, pl->cols, pl->in_lanes, s.P, pl->Pi, rn};
            d = pl->din[fma](&da, sc + SC_DZ);
        }
    }
}

void lm__small_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact)
{
    int last = net->n_layers - 1, w_last = net->layers[last].n_out;
    if (n == 0) { /* no rows: zero gradients, as the general path's */
        memset(net->grads, 0, net->n_params * sizeof(float));
        return;
    }
    /* softmax's row Jacobian is act.c's, on the dense buffers */
    int softmax = !last_is_preact && net->layers[last].act == LM_SOFTMAX;
    if (softmax) lm__act_backward(LM_SOFTMAX, ws->act[last], ws->d0, n, w_last);
    lm_act last_gact = last_is_preact || softmax ? LM_IDENTITY : net->layers[last].act;
    size_t B = ws->small->B;
    for (size_t r0 = 0, b = 0; r0 < n; r0 += B, b++)
        bwd_block(net, ws, b, r0, n - r0 < B ? n - r0 : B, n, last_gact, r0 == 0, r0 + B >= n);
}

const int lm__small_built = 1;

#else
/* Built without AVX-512 flags: the general path always. */
const int lm__small_built = 0;
lm__small_plan *lm__small_plan_new(const lm_net *net, float *pad, size_t rows)
{
    (void)net, (void)pad, (void)rows;
    return NULL;
}
void lm__small_forward(const lm_net *net, lm_ws *ws, size_t n, int skip_last_act)
{
    (void)net, (void)ws, (void)n, (void)skip_last_act;
}
void lm__small_backward(lm_net *net, lm_ws *ws, size_t n, int last_is_preact)
{
    (void)net, (void)ws, (void)n, (void)last_is_preact;
}
#endif
