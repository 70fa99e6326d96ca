/* winograd.c - the 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, 2015): forward, input gradient
 * and weight gradient, each as 16 small GEMMs in the transform domain on
 * the packed GEMM (see conv.h for the contract).
 *
 * Why: im2col spends 9 multiply-adds per input channel per output; a 2x2
 * output tile from a 4x4 input tile costs 16 instead of 36, so all three
 * of a training step's products shrink 2.25x, and the transforms are only
 * additions. F(4x4, 3x3) would save more (4x) but its transforms' larger
 * constants cost float32 accuracy, and it wastes tiles on 14x14 images;
 * F(2x2)'s transforms use only 0, +-1 and +-1/2, and it tiles 14x14 and
 * 28x28 exactly.
 *
 * The algebra, per tile and channel pair, with d the 4x4 input tile, g
 * the 3x3 filter, y the 2x2 output tile:
 *   V = B^T d B, U = G g G^T, Z = sum over c of U (.) V, y = A^T Z A.
 * Its adjoint gives the backward from dy: dZ = A dy A^T, and then
 *   dV = sum over f of U (.) dZ, dd = B dV B^T (tiles overlap: added),
 *   dU = sum over tiles of V (.) dZ, dg = G^T dU G.
 * dZ serves both gradients.
 *
 * Layouts (tiles numbered (b, tile row, tile column)): U (16, C, F) and dU
 * (16, C, F); a chunk's V (16, tiles, C), Z and dZ (16, tiles, F), dV (16,
 * tiles, C): for each of the 16 transform points xi one row-major matrix,
 * so point xi's product is one GEMM: Z[xi] = V[xi] U[xi], dV[xi] = dZ[xi]
 * U[xi]^T, dU[xi] = V[xi]^T dZ[xi].
 *
 * Memory: the transform-domain matrices are 16/4 = 4 times the data they
 * come from, so none is kept whole: the work runs in chunks of whole
 * images (about 192 tiles), each transformed, multiplied and transformed
 * back inside one slot of scratch per task, which stays in that core's
 * cache. The backward transforms x again rather than saving V (V holds
 * 16 values for each 4-pixel tile, 4 times x), so the layer saves only U.
 *
 * Threads and bits: tasks claim chunks from a counter, so a late thread
 * holds nobody up. Each chunk's result is the same whoever computes it:
 * its GEMM rows give the same bits whatever rows surround them
 * (kernels.h), and its dU is summed over its own tiles into its own
 * partial; the partials are then added in chunk order. Chunks depend on
 * the shape alone, so nothing depends on the thread count. */
#include "conv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- the choice */

static int g_forced = -1; /* -1: not read yet */
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;
static int g_env = LM_CONV_AUTO;

static void read_env(void)
{
    const char *e = getenv("LAMINA_CONV");
    if (e && !strcmp(e, "im2col")) g_env = LM_CONV_IM2COL;
    else if (e && !strcmp(e, "winograd")) g_env = LM_CONV_WINOGRAD;
}

void lm__conv_force(int algo) { g_forced = algo; }

int lm_conv_winograd_fits(const lm_conv_shape *s)
{
    return s->KH == 3 && s->KW == 3 && s->SH == 1 && s->SW == 1 && s->OH >= 1 && s->OW >= 1;
}

int lm_conv_algo(const lm_conv_shape *s, int F)
{
    int mode = g_forced;
    if (mode < 0) {
        pthread_once(&g_env_once, read_env);
        mode = g_env;
    }
    if (mode == LM_CONV_IM2COL || !lm_conv_winograd_fits(s)) return LM_CONV_IM2COL;
    if (mode == LM_CONV_WINOGRAD) return LM_CONV_WINOGRAD;
    /* With few channels the transform-domain GEMMs are too thin to run
     * near peak (a K of C, the first layer's C = 1) and the transforms
     * cost more than the multiplies saved. */
    return s->C >= 8 && F >= 8 ? LM_CONV_WINOGRAD : LM_CONV_IM2COL;
}

/* ------------------------------------------------------------- sizes */

/* Tile rows and columns of the output. */
static inline int tiles_h(const lm_conv_shape *s) { return (s->OH + 1) / 2; }
static inline int tiles_w(const lm_conv_shape *s) { return (s->OW + 1) / 2; }
static inline size_t n_tiles(const lm_conv_shape *s)
{
    return (size_t)s->B * tiles_h(s) * tiles_w(s);
}

static int chunk_imgs(const lm_conv_shape *s);

size_t lm_wino_saved_size(const lm_conv_shape *s, int F) { return 16 * (size_t)s->C * F; }

size_t lm_wino_tmp_size(const lm_conv_shape *s, int F)
{
    /* the tasks' slots (at most T tiles in all), then each chunk's partial
     * dU and their sum */
    size_t chunks = (size_t)(s->B + chunk_imgs(s) - 1) / chunk_imgs(s);
    return 16 * n_tiles(s) * (2 * (size_t)s->C + F) + 16 * (size_t)s->C * F * (chunks + 1);
}

/* ------------------------------------------------------- the filters */

/* U = G g G^T for every (c, f), g = w[.][.][c][f]; G = [1 0 0; .5 .5 .5;
 * .5 -.5 .5; 0 0 1]. The f loop is innermost: contiguous in w and U. */
static void filter_transform(int C, int F, const float *w, float *U)
{
    const size_t CF = (size_t)C * F;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++) {
            float g[3][3], t[4][3];
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++) g[kh][kw] = w[(kh * 3 + kw) * CF + (size_t)c * F + f];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            float *u = U + (size_t)c * F + f;
            for (int i = 0; i < 4; i++) {
                u[(i * 4 + 0) * CF] = t[i][0];
                u[(i * 4 + 1) * CF] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[(i * 4 + 2) * CF] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[(i * 4 + 3) * CF] = t[i][2];
            }
        }
}

/* dw (3, 3, C, F) = G^T dU G for every (c, f); G^T = [1 .5 .5 0;
 * 0 .5 -.5 0; 0 .5 .5 1]. */
static void filter_grad(int C, int F, const float *dU, float *dw)
{
    const size_t CF = (size_t)C * F;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++) {
            const float *u = dU + (size_t)c * F + f;
            float z[4][4], t[3][4];
            for (int i = 0; i < 16; i++) z[i / 4][i % 4] = u[i * CF];
            for (int j = 0; j < 4; j++) {
                t[0][j] = z[0][j] + 0.5f * (z[1][j] + z[2][j]);
                t[1][j] = 0.5f * (z[1][j] - z[2][j]);
                t[2][j] = 0.5f * (z[1][j] + z[2][j]) + z[3][j];
            }
            for (int i = 0; i < 3; i++) {
                float *o = dw + (size_t)i * 3 * CF + (size_t)c * F + f;
                o[0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
                o[CF] = 0.5f * (t[i][1] - t[i][2]);
                o[2 * CF] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
            }
        }
}

/* ------------------------------------------------------------ chunks */

/* Channels the transforms handle at a time (their stack arrays). */
#define CB 64
/* What a window reads where it covers padding. */
static const float g_zeros[CB];

#if defined(__GNUC__)
#define LM_ALWAYS_INLINE __attribute__((always_inline))
#else
#define LM_ALWAYS_INLINE
#endif
/* x86 builds with GCC or clang compile the transforms once more for
 * AVX2 and AVX-512 (function target attributes). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LM_X86_CLONES 1
#else
#define LM_X86_CLONES 0
#endif

typedef struct wjob {
    const lm_conv_shape *s;
    int F;
    size_t T;      /* tiles in all */
    int per_img;   /* tiles an image */
    int imgs;      /* images a chunk */
    const float *x, *w, *b, *dz;
    lm_act act;
    float *y, *dx;
    float *U, *dU; /* U (16, C, F); dU and the chunks' partials after it */
    const struct transforms *tf;
    size_t slot_tiles; /* tiles of the largest chunk */
    float *slots;      /* one scratch slot a task: (16, slot_tiles, F or C) */
    int nchunks;
    atomic_int next;   /* the next chunk to claim */
} wjob;

/* A tile transform of image b on the transform-domain matrices at m:
 * entry (xi, tile t, channel) at m[(xi * rows + t - t0) * channels + ...]
 * (the whole array: rows = T, t0 = 0; a chunk's slot: its tiles). */
typedef void (*tile_fn)(const wjob *j, int b, float *m, size_t rows, size_t t0);
typedef struct transforms {
    tile_fn input, output, grad, input_grad;
} transforms;

static transforms pick_transforms(void);

/* Images a chunk: about 192 tiles, so that a chunk's V, Z and the
 * products' panels stay in its core's L2 and the GEMMs have rows enough
 * to run near peak. Depends on the shape alone. */
static int chunk_imgs(const lm_conv_shape *s)
{
    int n = 192 / (tiles_h(s) * tiles_w(s));
    if (n > s->B) n = s->B;
    return n < 1 ? 1 : n;
}

/* V rows of image b's tiles: V[xi][t][c] = (B^T d B)[xi] with d the 4x4
 * input window of tile t, zero outside the image. B^T = [1 0 -1 0;
 * 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
static inline LM_ALWAYS_INLINE void input_transform_body(const wjob *j, int b, float *m,
                                                   size_t rows, size_t t0)
{
    const lm_conv_shape *s = j->s;
    const int C = s->C, TH = tiles_h(s), TW = tiles_w(s);
    const size_t TC = rows * C;
    const float *xb = j->x + (size_t)b * s->H * s->W * C;
    float r[4][4][CB];
    const float *d[4][4];
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            int ih0 = 2 * th - s->PT, iw0 = 2 * tw - s->PL;
            size_t t = ((size_t)b * TH + th) * TW + tw;
            for (int c0 = 0; c0 < C; c0 += CB) {
                int n = C - c0 < CB ? C - c0 : CB;
                /* the window's pixels in place, zeros outside (a memcpy of
                 * a few channels became rep movs, slower than the math) */
                for (int i = 0; i < 4; i++)
                    for (int k = 0; k < 4; k++) {
                        int ih = ih0 + i, iw = iw0 + k;
                        d[i][k] = ih < 0 || ih >= s->H || iw < 0 || iw >= s->W
                                      ? g_zeros
                                      : xb + ((size_t)ih * s->W + iw) * C + c0;
                    }
                for (int k = 0; k < 4; k++) {
                    const float *d0 = d[0][k], *d1 = d[1][k], *d2 = d[2][k], *d3 = d[3][k];
                    for (int c = 0; c < n; c++) {
                        r[0][k][c] = d0[c] - d2[c];
                        r[1][k][c] = d1[c] + d2[c];
                        r[2][k][c] = d2[c] - d1[c];
                        r[3][k][c] = d1[c] - d3[c];
                    }
                }
                float *v = m + (t - t0) * C + c0;
                for (int i = 0; i < 4; i++) {
                    float *v0 = v + (i * 4) * TC, *v1 = v0 + TC, *v2 = v1 + TC, *v3 = v2 + TC;
                    for (int c = 0; c < n; c++) {
                        v0[c] = r[i][0][c] - r[i][2][c];
                        v1[c] = r[i][1][c] + r[i][2][c];
                        v2[c] = r[i][2][c] - r[i][1][c];
                        v3[c] = r[i][1][c] - r[i][3][c];
                    }
                }
            }
        }
}

/* y of image b = act(A^T Z A + bias) from Z's rows of its tiles;
 * A^T = [1 1 1 0; 0 1 -1 -1]. Outputs past OH, OW are dropped. */
static inline LM_ALWAYS_INLINE void output_transform_body(const wjob *j, int b, float *m,
                                                   size_t rows, size_t t0)
{
    const lm_conv_shape *s = j->s;
    const int F = j->F, TH = tiles_h(s), TW = tiles_w(s);
    const size_t TF = rows * F;
    float *yb = j->y + (size_t)b * s->OH * s->OW * F;
    float r[2][4][CB];
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            size_t t = ((size_t)b * TH + th) * TW + tw;
            for (int f0 = 0; f0 < F; f0 += CB) {
                int n = F - f0 < CB ? F - f0 : CB;
                const float *z = m + (t - t0) * F + f0;
                const float *bias = j->b ? j->b + f0 : NULL;
                for (int k = 0; k < 4; k++) {
                    const float *z0 = z + k * TF, *z1 = z0 + 4 * TF, *z2 = z1 + 4 * TF,
                                *z3 = z2 + 4 * TF;
                    for (int f = 0; f < n; f++) {
                        r[0][k][f] = z0[f] + z1[f] + z2[f];
                        r[1][k][f] = z1[f] - z2[f] - z3[f];
                    }
                }
                for (int a = 0; a < 2; a++) {
                    int oh = 2 * th + a;
                    if (oh >= s->OH) break;
                    float *y0 = yb + ((size_t)oh * s->OW + 2 * tw) * F + f0;
                    for (int f = 0; f < n; f++) {
                        float v = r[a][0][f] + r[a][1][f] + r[a][2][f];
                        y0[f] = bias ? v + bias[f] : v;
                    }
                    if (2 * tw + 1 >= s->OW) continue;
                    float *y1 = y0 + F;
                    for (int f = 0; f < n; f++) {
                        float v = r[a][1][f] - r[a][2][f] - r[a][3][f];
                        y1[f] = bias ? v + bias[f] : v;
                    }
                }
            }
        }
    lm_act_apply(j->act, yb, (size_t)s->OH * s->OW * F);
}

/* The chunk's tiles [t0, t1) and images [b0, b1). */
static void chunk_range(const wjob *j, int k, int *b0, int *b1, size_t *t0, size_t *t1)
{
    *b0 = k * j->imgs;
    *b1 = *b0 + j->imgs < j->s->B ? *b0 + j->imgs : j->s->B;
    *t0 = (size_t)*b0 * j->per_img;
    *t1 = (size_t)*b1 * j->per_img;
}

/* Task `task`: claims chunks until none is left, each chunk's
 * transform-domain products in the task's own slot, which stays in its
 * core's cache from one chunk to the next (the whole array, 16 times the
 * output, would go out to memory and back). Claiming keeps a late thread
 * from holding up the others; the bits do not depend on who runs which
 * chunk. */
static void fwd_task(void *ctx, int task)
{
    wjob *j = ctx;
    const int C = j->s->C, F = j->F;
    const size_t st = j->slot_tiles;
    float *v = j->slots + (size_t)task * 16 * st * (2 * (size_t)C + F), *z = v + 16 * st * C;
    for (int k; (k = atomic_fetch_add(&j->next, 1)) < j->nchunks;) {
        int b0, b1;
        size_t t0, t1;
        chunk_range(j, k, &b0, &b1, &t0, &t1);
        for (int b = b0; b < b1; b++) j->tf->input(j, b, v, st, t0);
        for (int xi = 0; xi < 16; xi++)
            lm_gemm_nn((int)(t1 - t0), F, C, v + xi * st * C, C, j->U + (size_t)xi * C * F, F,
                       z + xi * st * F, F, NULL, NULL);
        for (int b = b0; b < b1; b++) j->tf->output(j, b, z, st, t0);
    }
}

/* Tasks (and slots): one a thread, as many as fit the scratch the
 * layer sized for the whole array (rows T): slot_tiles * tasks <= T. */
static int n_tasks(const wjob *j, lm_pool *pool)
{
    int most = (int)(j->T / j->slot_tiles), n = lm_pool_size(pool);
    if (n > most) n = most;
    if (n > j->nchunks) n = j->nchunks;
    return n < 1 ? 1 : n;
}

static void setup(wjob *j, const lm_conv_shape *s, int F, transforms *tf)
{
    *tf = pick_transforms();
    j->tf = tf;
    j->s = s;
    j->F = F;
    j->T = n_tiles(s);
    j->per_img = tiles_h(s) * tiles_w(s);
    j->imgs = chunk_imgs(s);
    j->slot_tiles = (size_t)j->imgs * j->per_img;
    j->nchunks = (s->B + j->imgs - 1) / j->imgs;
    atomic_init(&j->next, 0);
}

void lm_wino_forward(const lm_conv_shape *s, int F, const float *x, const float *w,
                     const float *b, lm_act act, float *y, float *saved, float *tmp,
                     lm_pool *pool)
{
    wjob j = {0};
    transforms tf;
    setup(&j, s, F, &tf);
    j.x = x;
    j.b = b;
    j.act = act;
    j.y = y;
    j.U = saved;
    j.slots = tmp;
    filter_transform(s->C, F, w, j.U);
    lm_pool_run(pool, n_tasks(&j, pool), fwd_task, &j);
}

/* dZ rows of image b's tiles: dZ = A dy A^T with dy the 2x2 output
 * gradient of the tile (zero past OH, OW); A = [1 0; 1 1; 1 -1; 0 -1]. */
static inline LM_ALWAYS_INLINE void grad_transform_body(const wjob *j, int b, float *m,
                                                   size_t rows, size_t t0)
{
    const lm_conv_shape *s = j->s;
    const int F = j->F, TH = tiles_h(s), TW = tiles_w(s);
    const size_t TF = rows * F;
    const float *db = j->dz + (size_t)b * s->OH * s->OW * F;
    float r[4][2][CB];
    const float *g[2][2];
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            size_t t = ((size_t)b * TH + th) * TW + tw;
            for (int f0 = 0; f0 < F; f0 += CB) {
                int n = F - f0 < CB ? F - f0 : CB;
                for (int a = 0; a < 2; a++)
                    for (int e = 0; e < 2; e++) {
                        int oh = 2 * th + a, ow = 2 * tw + e;
                        g[a][e] = oh >= s->OH || ow >= s->OW
                                      ? g_zeros
                                      : db + ((size_t)oh * s->OW + ow) * F + f0;
                    }
                for (int e = 0; e < 2; e++) {
                    const float *g0 = g[0][e], *g1 = g[1][e];
                    for (int f = 0; f < n; f++) {
                        r[0][e][f] = g0[f];
                        r[1][e][f] = g0[f] + g1[f];
                        r[2][e][f] = g0[f] - g1[f];
                        r[3][e][f] = -g1[f];
                    }
                }
                float *z = m + (t - t0) * F + f0;
                for (int i = 0; i < 4; i++) {
                    float *z0 = z + (i * 4) * TF, *z1 = z0 + TF, *z2 = z1 + TF, *z3 = z2 + TF;
                    for (int f = 0; f < n; f++) {
                        z0[f] = r[i][0][f];
                        z1[f] = r[i][0][f] + r[i][1][f];
                        z2[f] = r[i][0][f] - r[i][1][f];
                        z3[f] = -r[i][1][f];
                    }
                }
            }
        }
}

/* dx of image b (overwritten) = the sum over its tiles, in tile order, of
 * B dV B^T placed on each tile's 4x4 input window (the part inside the
 * image). B = [1 0 0 0; 0 1 -1 1; -1 1 1 0; 0 0 0 -1]. */
static inline LM_ALWAYS_INLINE void input_grad_body(const wjob *j, int b, float *m,
                                                   size_t rows, size_t t0)
{
    const lm_conv_shape *s = j->s;
    const int C = s->C, TH = tiles_h(s), TW = tiles_w(s);
    const size_t TC = rows * C;
    float *xb = j->dx + (size_t)b * s->H * s->W * C;
    float r[4][4][CB];
    memset(xb, 0, (size_t)s->H * s->W * C * sizeof *xb);
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            size_t t = ((size_t)b * TH + th) * TW + tw;
            int ih0 = 2 * th - s->PT, iw0 = 2 * tw - s->PL;
            for (int c0 = 0; c0 < C; c0 += CB) {
                int n = C - c0 < CB ? C - c0 : CB;
                const float *v = m + (t - t0) * C + c0;
                /* columns: r[i][k] = entry k of (row i of dV) B^T */
                for (int i = 0; i < 4; i++) {
                    const float *v0 = v + (i * 4) * TC, *v1 = v0 + TC, *v2 = v1 + TC,
                                *v3 = v2 + TC;
                    for (int c = 0; c < n; c++) {
                        r[i][0][c] = v0[c];
                        r[i][1][c] = v1[c] - v2[c] + v3[c];
                        r[i][2][c] = v1[c] + v2[c] - v0[c];
                        r[i][3][c] = -v3[c];
                    }
                }
                for (int i = 0; i < 4; i++) {
                    int ih = ih0 + i;
                    if (ih < 0 || ih >= s->H) continue;
                    for (int k = 0; k < 4; k++) {
                        int iw = iw0 + k;
                        if (iw < 0 || iw >= s->W) continue;
                        float *o = xb + ((size_t)ih * s->W + iw) * C + c0;
                        /* rows: entry i of B r */
                        switch (i) {
                        case 0:
                            for (int c = 0; c < n; c++) o[c] += r[0][k][c];
                            break;
                        case 1:
                            for (int c = 0; c < n; c++)
                                o[c] += r[1][k][c] - r[2][k][c] + r[3][k][c];
                            break;
                        case 2:
                            for (int c = 0; c < n; c++)
                                o[c] += r[1][k][c] + r[2][k][c] - r[0][k][c];
                            break;
                        default:
                            for (int c = 0; c < n; c++) o[c] -= r[3][k][c];
                        }
                    }
                }
            }
        }
}

/* The tile transforms compiled for the widest vectors the CPU has:
 * their loops over channels are plain additions, which the compiler
 * vectorises; the baseline build (SSE2) does them 4 at a time, and they
 * were a fifth of a training step. Additions only (no products to fuse),
 * so every version gives the same bits. */
#define TRANSFORMS(SFX, ATTR)                                                              \
    ATTR static void input_transform_##SFX(const wjob *j, int b, float *m, size_t r, size_t t) \
    {                                                                                      \
        input_transform_body(j, b, m, r, t);                                               \
    }                                                                                      \
    ATTR static void output_transform_##SFX(const wjob *j, int b, float *m, size_t r, size_t t) \
    {                                                                                      \
        output_transform_body(j, b, m, r, t);                                              \
    }                                                                                      \
    ATTR static void grad_transform_##SFX(const wjob *j, int b, float *m, size_t r, size_t t) \
    {                                                                                      \
        grad_transform_body(j, b, m, r, t);                                                \
    }                                                                                      \
    ATTR static void input_grad_##SFX(const wjob *j, int b, float *m, size_t r, size_t t)   \
    {                                                                                      \
        input_grad_body(j, b, m, r, t);                                                    \
    }
TRANSFORMS(base, )
#if LM_X86_CLONES
#ifdef __clang__
TRANSFORMS(avx512, __attribute__((target("avx512f"))))
#else
TRANSFORMS(avx512, __attribute__((target("avx512f,prefer-vector-width=512"))))
#endif
TRANSFORMS(avx2, __attribute__((target("avx2"))))
#endif

/* The version for the kernel variant in use (LAMINA_ISA pins it). */
static transforms pick_transforms(void)
{
#if LM_X86_CLONES
    const char *v = lm_gemm_variant();
    if (!strcmp(v, "avx512"))
        return (transforms){input_transform_avx512, output_transform_avx512,
                            grad_transform_avx512, input_grad_avx512};
    if (!strcmp(v, "avx2"))
        return (transforms){input_transform_avx2, output_transform_avx2, grad_transform_avx2,
                            input_grad_avx2};
#endif
    return (transforms){input_transform_base, output_transform_base, grad_transform_base,
                        input_grad_base};
}

/* As fwd_task, all in the task's slot: V again from x (cheaper than
 * keeping it: x is 1/16 of its size), dZ, dV (when dx is wanted), and the
 * chunk's share of dU, summed over its tiles, into the chunk's partial. */
static void bwd_task(void *ctx, int task)
{
    wjob *j = ctx;
    const int C = j->s->C, F = j->F;
    const size_t st = j->slot_tiles;
    float *v = j->slots + (size_t)task * 16 * st * (2 * (size_t)C + F), *z = v + 16 * st * C;
    float *dv = z + 16 * st * F;
    for (int k; (k = atomic_fetch_add(&j->next, 1)) < j->nchunks;) {
        int b0, b1;
        size_t t0, t1;
        chunk_range(j, k, &b0, &b1, &t0, &t1);
        int tc = (int)(t1 - t0);
        for (int b = b0; b < b1; b++) {
            j->tf->input(j, b, v, st, t0);
            j->tf->grad(j, b, z, st, t0);
        }
        float *part = j->dU + ((size_t)k + 1) * 16 * C * F;
        for (int xi = 0; xi < 16; xi++)
            lm_gemm_tn(C, F, tc, v + xi * st * C, C, z + xi * st * F, F, part + (size_t)xi * C * F,
                       F, NULL);
        if (!j->dx) continue;
        for (int xi = 0; xi < 16; xi++)
            lm_gemm_nt(tc, C, F, z + xi * st * F, F, j->U + (size_t)xi * C * F, F,
                       dv + xi * st * C, C, NULL);
        for (int b = b0; b < b1; b++) j->tf->input_grad(j, b, dv, st, t0);
    }
}

/* dU rows [16 C F * i / 16, ...) (one transform point's C x F) = the
 * chunks' partials summed in chunk order, whoever computed them. */
static void reduce_point(void *ctx, int xi)
{
    const wjob *j = ctx;
    const size_t n = (size_t)j->s->C * j->F, all = 16 * n;
    float *d = j->dU + (size_t)xi * n;
    const float *p = d + all;
    memcpy(d, p, n * sizeof *d);
    for (int k = 1; k < j->nchunks; k++) {
        p += all;
        for (size_t i = 0; i < n; i++) d[i] += p[i];
    }
}

void lm_wino_backward(const lm_conv_shape *s, int F, const float *dz, const float *x,
                      const float *saved, float *dw, float *db, float *dx, float *tmp,
                      lm_pool *pool)
{
    wjob j = {0};
    transforms tf;
    setup(&j, s, F, &tf);
    j.dz = dz;
    j.dx = dx;
    j.x = x;
    j.U = (float *)saved;
    j.slots = tmp;
    j.dU = tmp + 16 * j.T * (2 * (size_t)s->C + F);
    lm_pool_run(pool, n_tasks(&j, pool), bwd_task, &j);
    lm_pool_run(pool, 16, reduce_point, &j);
    filter_grad(s->C, F, j.dU, dw);
    if (db) lm_colsum(s->B * s->OH * s->OW, F, dz, F, db);
}
