/* small_avx512.c - the fused forward and backward of a small chain of
 * matrix layers (input and every layer at most 16 wide, small.h), over
 * plain arrays: the net's plan (src/small_plan.c) says which net runs
 * here and hands its weights over. The tutorial's 3-4-1 net
 * spent most of its step on the general path's per-call costs: GEMM
 * dispatch, generic stride loops over a handful of values, separate
 * activation passes. Here a few rows at a time go through all the layers
 * in registers, each layer a handful of permutes and multiply-adds.
 *
 * The bits are the general path's (src/net.c, layers/dense.c), operation
 * for operation:
 *  - each of a layer's three products (forward x W, weight gradient
 *    x^T dz, input gradient dz W^T) sums every element over k in order
 *    from +0 with one FMA a step, as the variant's GEMM does whether it
 *    takes its tiny loops or its packed kernels (gemm.c), so the bits
 *    do not depend on the rows;
 *  - the bias is added after the sum, then the activation or its
 *    gradient (simd_avx512.h: the elementwise kernels' own code);
 *  - the bias gradient sums the rows in order from +0, as lm_colsum;
 *  - a softmax output goes through act.c's code on the dense buffers
 *    (the plan's part: here it is LM_IDENTITY).
 * (The general path's K blocking of the weight gradient, beyond 256 rows,
 * only stores and reloads its accumulators, which is exact; its skipping
 * of all-zero input steps changes no sum of finite values.)
 *
 * Packed rows: a block of B rows of a layer sits in one register (a
 * chunk), row g at lanes [g P, g P + width), P the smallest power of two
 * >= the width, so the activation and its gradient cover the whole block
 * at once, as the general path's elementwise kernels cover 16 values (the
 * tutorial's hidden layer is one chunk, not four). A product step is then
 * one multiply-add for all the block's rows: a permute spreads input k of
 * each row over its row's group, and row k of W sits in every group.
 * Lanes past a width hold junk that never reaches a real lane: permutes
 * pick real lanes only, and dense stores keep only the real lanes.
 * B = 16 / (the widest P) rows, fewer if the block's dense input rows
 * would not fit two registers. */
#include "small.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__FMA__)
#include "simd_avx512.h"

#define W16 LM_SMALL_WIDTH

/* The smallest power of two >= w, for 1 <= w <= 16. */
static int group_width(int w)
{
    static const unsigned char gw[W16 + 1] = {1, 1, 2, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16};
    return gw[w];
}

ALWAYS_INLINE __m512i load_idx(const int32_t *p) { return _mm512_loadu_si512(p); }

/* The two registers a block's rows of a layer's input are picked from:
 * the dense input rows (up to 32 values) for the first layer, else the
 * layer below's chunk, twice. */
typedef struct rows2 {
    __m512 lo, hi;
} rows2;

ALWAYS_INLINE __m512 pick(rows2 x, __m512i idx) { return _mm512_permutex2var_ps(x.lo, idx, x.hi); }

/* cnt <= 16 values in 16-byte pieces (the last few one by one). The
 * block's input rows were just copied in (memcpy, or a row at a time),
 * and a load takes its values from an earlier store only when that one
 * store holds them all: the copies' vector stores hold whole pieces,
 * where one 64-byte load would span several stores and wait for them to
 * reach the cache, at the head of the forward's chain. */
ALWAYS_INLINE __m512 load_pieces(const float *x, size_t cnt)
{
    __m512 v = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 4 <= cnt; i += 4)
        v = _mm512_mask_broadcast_f32x4(v, (__mmask16)(0xFu << i), _mm_loadu_ps(x + i));
    if (i < cnt)
        v = _mm512_mask_broadcast_f32x4(v, (__mmask16)(0xFu << i), _mm512_castps512_ps128(load_part(x + i, cnt - i)));
    return v;
}

/* The block's dense input rows, cnt <= 32 values. */
ALWAYS_INLINE rows2 load_rows(const float *x, size_t cnt)
{
    __m512 lo = load_pieces(x, cnt < W16 ? cnt : W16);
    return (rows2){lo, cnt > W16 ? load_pieces(x + W16, cnt - W16) : lo};
}

/* -------------------------------------------------------------- plan */

/* What a layer's widths fix, worked out once per kernel (activations,
 * weights and biases come with each call: the workspace owning the
 * kernel may serve another net of the same widths). Index vectors hold, lane by
 * lane, where a permute picks from; "+ k" notes what a step adds. */
typedef struct plan_layer {
    int nin, nout;
    int P;              /* the output's group width */
    int Pin;            /* the input's row stride: n_in, or the layer below's P */
    int Gw;             /* rows of W a weight-gradient chunk holds: 16 / P */
    int nwc;            /* weight-gradient chunks: nin / Gw rounded up */
    __mmask16 real;     /* the first nout lanes of every P-wide group */
    __mmask16 in_lanes; /* the first nin lanes of every Pin-wide group */
    float *chunks;      /* the layer's chunk of block b at chunks + 16 b */
    float *scratch;     /* sums carried between blocks: (nwc, 16) dW, (16) db */
    int32_t fx[W16];    /* forward, input k of lane t's row: (t / P) Pin + k */
    int32_t rep[W16];   /* lane t % P: a row in every group (+ g P: row g) */
    int32_t wx[W16][W16]; /* dW chunk c, lane t: input c Gw + t / P of row g (+ g Pin) */
    int32_t dzb[W16];   /* input gradient, dz_g[j] over row g's group: (t / Pin) P + j */
    int32_t wc[W16][W16]; /* column j of W, lane t: W[t % Pin][j] at (t % Pin) nout + j */
} plan_layer;

struct lm_small {
    size_t B; /* rows a block */
    int n_layers, n_in;
    plan_layer layer[];
};

/* Per layer: the chunks of every block, then the sums. */
#define SC_DB (W16 * W16)
_Static_assert(SC_DB + W16 == LM_SMALL_SCRATCH, "small.h's LM_SMALL_SCRATCH is the scratch's size");

static void plan_indices(plan_layer *pl)
{
    for (int t = 0; t < W16; t++) {
        int g = t / pl->P, in = t % pl->Pin;
        pl->fx[t] = g * pl->Pin;
        pl->rep[t] = t % pl->P;
        for (int c = 0; c < W16; c++) pl->wx[c][t] = c * pl->Gw + g;
        pl->dzb[t] = t / pl->Pin * pl->P;
        for (int j = 0; j < W16; j++) pl->wc[j][t] = in * pl->nout + j;
        if (in < pl->nin) pl->in_lanes |= (__mmask16)(1u << t);
        if (t % pl->P < pl->nout) pl->real |= (__mmask16)(1u << t);
    }
}

lm_small *lm_small_new(int n_layers, const int *widths, float *pad, size_t rows)
{
    int L = n_layers, pmax = 1;
    size_t bytes = sizeof(lm_small) + (size_t)L * sizeof(plan_layer);
    lm_small *p = lm__alloc_hook(bytes) ? NULL : malloc(bytes);
    if (!p) return NULL;
    p->n_layers = L;
    p->n_in = widths[0];
    for (int l = 0; l < L; l++) {
        plan_layer *pl = &p->layer[l];
        memset(pl, 0, sizeof *pl);
        pl->nin = widths[l];
        pl->nout = widths[l + 1];
        pl->P = group_width(pl->nout);
        pl->Pin = l ? p->layer[l - 1].P : pl->nin;
        pl->Gw = W16 / pl->P;
        pl->nwc = (pl->nin + pl->Gw - 1) / pl->Gw;
        pl->chunks = pad + (size_t)l * rows * W16;
        pl->scratch = pad + (size_t)L * rows * W16 + (size_t)l * LM_SMALL_SCRATCH;
        plan_indices(pl);
        pmax = pl->P > pmax ? pl->P : pmax;
    }
    p->B = (size_t)(W16 / pmax);
    if (p->B * (size_t)p->n_in > 2 * W16) p->B = 2 * W16 / (size_t)p->n_in;
    return p;
}

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

/* ------------------------------------------------------------ forward */

/* The P values at p in every P-wide group, by one plain load: that
 * forwards from the optimizer's store of the parameters, where a masked
 * load (even of values inside the store) waits for the store to reach
 * the cache, about 11 cycles at the head of the step's longest chain.
 * Lanes past a layer's width read whatever follows the weights or bias
 * (the caller's buffer has LM_SMALL_WIDTH floats to spare, small.h): junk. */
ALWAYS_INLINE __m512 load_group(const int P, const float *p)
{
    switch (P) {
    case 1: return _mm512_set1_ps(*p);
    case 2: return _mm512_castsi512_ps(_mm512_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)p)));
    case 4: return _mm512_broadcast_f32x4(_mm_loadu_ps(p));
    case 8: return _mm512_broadcast_f32x8(_mm256_loadu_ps(p));
    default: return _mm512_loadu_ps(p);
    }
}

/* The block's chunk of x W + b (b NULL: none): lane g P + j = sum over
 * k in order of x_g[k] W[k][j], then b[j]. */
ALWAYS_INLINE __m512 fwd_product(const int P, const plan_layer *pl,
                                 const float *w, // (nin, nout)
                                 const float *b, // (nout) or NULL
                                 rows2 x)
{
    const __m512i one = _mm512_set1_epi32(1);
    __m512i idx = load_idx(pl->fx);
    __m512 acc = _mm512_setzero_ps();
    for (int k = 0; k < pl->nin; k++, w += pl->nout, idx = _mm512_add_epi32(idx, one))
        acc = _mm512_fmadd_ps(pick(x, idx), load_group(P, w), acc);
    return b ? _mm512_add_ps(acc, load_group(P, b)) : acc;
}

/* fwd_product with constant P, the group width switched on. */
ALWAYS_INLINE __m512 fwd_product_p(const plan_layer *pl, const float *w, const float *b, rows2 x)
{
    switch (pl->P) {
    case 1: return fwd_product(1, pl, w, b, x);
    case 2: return fwd_product(2, pl, w, b, x);
    case 4: return fwd_product(4, pl, w, b, x);
    case 8: return fwd_product(8, pl, w, b, x);
    default: return fwd_product(16, pl, w, b, x);
    }
}

/* Rows [r0, r0 + rn) (block b) of x through every layer, the last
 * layer's rows into out. */
static void fwd_block(const lm_small *k, const lm_small_layer *layer, const float *x0, float *out,
                      size_t b, size_t r0, size_t rn)
{
    const plan_layer *pl = k->layer;
    int last = k->n_layers - 1;
    rows2 x = load_rows(x0 + r0 * (size_t)k->n_in, rn * (size_t)k->n_in);
    for (int l = 0; l <= last; l++, pl++) {
        const lm_small_layer *L = &layer[l];
        __m512 c = act_any(L->act, fwd_product_p(pl, L->w, L->b, x));
        _mm512_store_ps(pl->chunks + b * W16, c); /* for the backward */
        if (l == last) /* the real lanes, in order, are the dense rows */
            store_part(out + r0 * (size_t)pl->nout, rn * (size_t)pl->nout,
                       pl->P == pl->nout ? c : _mm512_maskz_compress_ps(pl->real, c));
        x = (rows2){c, c};
    }
}

void lm_small_forward(lm_small *k, const lm_small_layer *layer, const float *x, float *out, size_t n)
{
    size_t B = k->B;
    for (size_t r0 = 0, b = 0; r0 < n; r0 += B, b++)
        fwd_block(k, layer, x, out, b, r0, n - r0 < B ? n - r0 : B);
}

/* ----------------------------------------------------------- backward */

/* The weight and bias gradients over the block's rows, in order:
 * dW[i][j] += x_g[i] dz_g[j], a chunk holding Gw rows of dW, and db[j] +=
 * dz_g[j]. The sums start at zero on the first block and are carried in
 * the scratch between blocks; after the last they go to dw and db, dense
 * (masked stores: the optimizer reads the gradient in 16-value pieces
 * that span several rows, which no store of ours could forward anyway). */
ALWAYS_INLINE void grad_product(const plan_layer *pl, __m512 dz, rows2 x, size_t rn,
                                int first, int final,
                                float *dw,  // (nin, nout)
                                float *db)  // (nout) or NULL
{
    const __m512i rep = load_idx(pl->rep), by_p = _mm512_set1_epi32(pl->P), by_in = _mm512_set1_epi32(pl->Pin);
    __m512 gb = first ? _mm512_setzero_ps() : _mm512_load_ps(pl->scratch + SC_DB);
    for (int c = 0; c < pl->nwc; c++) {
        __m512 acc = first ? _mm512_setzero_ps() : _mm512_load_ps(pl->scratch + c * W16);
        __m512i xi = load_idx(pl->wx[c]), di = rep;
        for (size_t g = 0; g < rn; g++, xi = _mm512_add_epi32(xi, by_in), di = _mm512_add_epi32(di, by_p)) {
            __m512 dr = _mm512_permutexvar_ps(di, dz); /* row g of dz, in every group */
            acc = _mm512_fmadd_ps(pick(x, xi), dr, acc);
            if (c == 0) gb = _mm512_add_ps(gb, dr);
        }
        if (!final) {
            _mm512_store_ps(pl->scratch + c * W16, acc);
            continue;
        }
        int i0 = c * pl->Gw, rows = pl->nin - i0 < pl->Gw ? pl->nin - i0 : pl->Gw;
        _mm512_mask_storeu_ps(dw + (size_t)i0 * pl->nout, tail_mask((size_t)(rows * pl->nout)),
                              pl->P == pl->nout ? acc : _mm512_maskz_compress_ps(pl->real, acc));
    }
    if (!final) _mm512_store_ps(pl->scratch + SC_DB, gb);
    else if (db) _mm512_mask_storeu_ps(db, tail_mask((size_t)pl->nout), gb);
}

/* The input gradient of the block, packed for the layer below: lane
 * g Pin + i = sum over j in order of dz_g[j] W[i][j]. W's column j sits
 * in every Pin-wide group, permuted out of W's registers (gathered, past
 * 32 weights). */
ALWAYS_INLINE __m512 din_product(const plan_layer *pl, const float *w, // (nin, nout)
                                 __m512 dz)
{
    const int nw = pl->nin * pl->nout;
    rows2 wv = {_mm512_maskz_loadu_ps(tail_mask((size_t)(nw < W16 ? nw : W16)), w), _mm512_setzero_ps()};
    if (nw > W16) wv.hi = _mm512_maskz_loadu_ps(tail_mask((size_t)(nw - W16)), w + W16);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i di = load_idx(pl->dzb);
    __m512 acc = _mm512_setzero_ps();
    for (int j = 0; j < pl->nout; j++, di = _mm512_add_epi32(di, one)) {
        __m512i ci = load_idx(pl->wc[j]);
        __m512 col = nw <= 2 * W16 ? _mm512_maskz_permutex2var_ps(pl->in_lanes, wv.lo, ci, wv.hi)
                                   : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), pl->in_lanes, ci, w, 4);
        acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(di, dz), col, acc);
    }
    return acc;
}

/* The loss's gradient for rows [r0, r0 + rn), dense in d0, as a chunk. */
static __m512 load_dense(const plan_layer *pl, const float *d0, size_t r0, size_t rn)
{
    __m512 v = load_part(d0 + r0 * (size_t)pl->nout, rn * (size_t)pl->nout);
    return pl->P == pl->nout ? v : _mm512_maskz_expand_ps(pl->real, v);
}

/* Block b (rows [r0, r0 + rn)) back through every layer; first and
 * final say whether it is the first and the last block. */
static void bwd_block(const lm_small *k, const lm_small_layer *layer, const float *x0, const float *dout,
                      size_t b, size_t r0, size_t rn, int first, int final)
{
    int last = k->n_layers - 1;
    const plan_layer *pl = &k->layer[last];
    __m512 d = load_dense(pl, dout, r0, rn);
    for (int l = last; l >= 0; l--, pl--) {
        const lm_small_layer *L = &layer[l];
        __m512 dz = grad_any(L->act, _mm512_load_ps(pl->chunks + b * W16), d);
        rows2 x;
        if (l) {
            x.lo = x.hi = _mm512_load_ps(pl[-1].chunks + b * W16);
        } else {
            x = load_rows(x0 + r0 * (size_t)k->n_in, rn * (size_t)k->n_in);
        }
        grad_product(pl, dz, x, rn, first, final, L->dw, L->db);
        if (l) d = din_product(pl, L->w, dz);
    }
}

void lm_small_backward(lm_small *k, const lm_small_layer *layer, const float *x, const float *dout,
                       size_t n)
{
    size_t B = k->B;
    for (size_t r0 = 0, b = 0; r0 < n; r0 += B, b++)
        bwd_block(k, layer, x, dout, b, r0, n - r0 < B ? n - r0 : B, r0 == 0, r0 + B >= n);
}

const int lm__small_built = 1;

#else
/* mk/isa.sh gives every *_avx512.c its flags; elsewhere than x86 the
 * file is not built and small.c says the kernels are absent. */
#error "small_avx512.c needs the AVX-512 flags of mk/isa.sh"
#endif
