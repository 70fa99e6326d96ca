/* conv.c - im2col/col2im, the conv2d pair on the packed GEMM, and the
 * pooling kernels (see conv.h for layouts and the contract).
 *
 * Why im2col: with channels-last data one kernel row of one output pixel,
 * (kw0..kw1) x C, is one contiguous run of the input whatever the stride,
 * so building a col row is KH memcpys plus zero fill at the borders, and
 * the heavy part is then one GEMM with the bias and activation fused in
 * its output pass: the fastest kernel this library has.
 *
 * Threads: each kernel cuts its outer rows (an image row, or an image)
 * into one range a pool thread; every output element is written by one
 * task, and sums run in a fixed order inside it, so the bits never depend
 * on the split. */
#include "conv.h"

#include <string.h>

#if defined(__GNUC__)
#define MP_INLINE __attribute__((always_inline))
#else
#define MP_INLINE
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define MP_X86 1
#else
#define MP_X86 0
#endif

/* Below this many floats of work a kernel runs on the caller alone: the
 * pool's wake-up costs more than the work. */
#define PAR_MIN 32768

int lm_conv_geometry(int n, int k, int s, int pad, int *out, int *before)
{
    if (n <= 0 || k <= 0 || s <= 0) return -1;
    if (pad == LM_PAD_SAME) {
        int o = (int)(((long)n + s - 1) / s);
        long total = (long)(o - 1) * s + k - n;
        if (total < 0) total = 0;
        /* A window past the input would hold only padding: with total
         * padding < k it cannot happen, but an absurd stride could still
         * push it there, so check the last window's start. */
        long start = (long)(o - 1) * s - total / 2;
        if (start > n - 1) return -1;
        *out = o;
        *before = (int)(total / 2);
        return 0;
    }
    if (pad < 0 || pad >= k) return -1;
    long span = (long)n + 2L * pad - k;
    if (span < 0) return -1;
    *out = (int)(span / s + 1);
    *before = pad;
    return 0;
}

size_t lm_conv_col_size(const lm_conv_shape *s)
{
    return (size_t)s->B * s->OH * s->OW * ((size_t)s->KH * s->KW * s->C);
}

int lm_conv_col_is_input(const lm_conv_shape *s)
{
    return s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PT == 0 && s->PL == 0 &&
           s->OH == s->H && s->OW == s->W;
}

/* The kw range [*kw0, *kw1) of a window starting at input column iw0
 * that lies inside the input. */
static inline void kw_range(const lm_conv_shape *s, int iw0, int *kw0, int *kw1)
{
    int a = iw0 < 0 ? -iw0 : 0;
    int b = s->W - iw0 < s->KW ? s->W - iw0 : s->KW;
    *kw0 = a;
    *kw1 = b > a ? b : a;
}

/* Copies n floats. The first layer's runs are a few floats (C = 1: KW
 * values); a memcpy call a run would cost more than the copy, so short
 * runs get a memcpy of constant size, which the compiler inlines. */
static inline void copy_run(float *d, const float *s, size_t n)
{
    switch (n) {
    case 1: memcpy(d, s, 1 * sizeof *d); break;
    case 2: memcpy(d, s, 2 * sizeof *d); break;
    case 3: memcpy(d, s, 3 * sizeof *d); break;
    case 4: memcpy(d, s, 4 * sizeof *d); break;
    case 5: memcpy(d, s, 5 * sizeof *d); break;
    case 6: memcpy(d, s, 6 * sizeof *d); break;
    case 7: memcpy(d, s, 7 * sizeof *d); break;
    case 8: memcpy(d, s, 8 * sizeof *d); break;
    default: memcpy(d, s, n * sizeof *d);
    }
}

/* ------------------------------------------------ row-range threading */

typedef struct rowjob rowjob;
struct rowjob {
    const lm_conv_shape *s;
    const float *x; /* the kernel's input */
    float *y;       /* the kernel's output */
    int32_t *arg;
    const int32_t *carg;
    long n;    /* rows in all */
    int tasks; /* ranges */
    void (*rows)(const rowjob *j, long r0, long r1);
};

static void row_task(void *ctx, int i)
{
    const rowjob *j = ctx;
    long r0 = j->n * i / j->tasks, r1 = j->n * (i + 1) / j->tasks;
    if (r1 > r0) j->rows(j, r0, r1);
}

/* Runs j->rows over [0, n) in lm_pool_size ranges, or on the caller when
 * the work (floats touched) is small. */
static void run_rows(rowjob *j, long n, size_t work, lm_pool *pool)
{
    int tasks = work < PAR_MIN ? 1 : lm_pool_size(pool);
    if (tasks > n) tasks = (int)n;
    j->n = n;
    j->tasks = tasks;
    if (tasks <= 1) {
        if (n > 0) j->rows(j, 0, n);
    } else {
        lm_pool_run(pool, tasks, row_task, j);
    }
}

/* ------------------------------------------------------ im2col/col2im */

/* Rows r = (b, oh): the OW col rows of output row oh of image b. */
static void im2col_rows(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    const size_t C = (size_t)s->C, K = (size_t)s->KH * s->KW * C, krow = (size_t)s->KW * C;
    for (long r = r0; r < r1; r++) {
        int b = (int)(r / s->OH), oh = (int)(r % s->OH);
        const float *xb = j->x + (size_t)b * s->H * s->W * C;
        float *c = j->y + (size_t)r * s->OW * K;
        for (int ow = 0; ow < s->OW; ow++, c += K) {
            int iw0 = ow * s->SW - s->PL, kw0, kw1;
            kw_range(s, iw0, &kw0, &kw1);
            for (int kh = 0; kh < s->KH; kh++) {
                int ih = oh * s->SH - s->PT + kh;
                float *dst = c + kh * krow;
                if (ih < 0 || ih >= s->H || kw0 == kw1) {
                    memset(dst, 0, krow * sizeof *dst);
                    continue;
                }
                const float *src = xb + ((size_t)ih * s->W + (iw0 + kw0)) * C;
                if (kw0 == 0 && kw1 == s->KW) { /* inside: the common case */
                    copy_run(dst, src, krow);
                    continue;
                }
                if (kw0 > 0) memset(dst, 0, kw0 * C * sizeof *dst);
                copy_run(dst + kw0 * C, src, (size_t)(kw1 - kw0) * C);
                if (kw1 < s->KW) memset(dst + kw1 * C, 0, (s->KW - kw1) * C * sizeof *dst);
            }
        }
    }
}

void lm_im2col(const lm_conv_shape *s, const float *x, float *col, lm_pool *pool)
{
    rowjob j = {.s = s, .x = x, .y = col, .rows = im2col_rows};
    run_rows(&j, (long)s->B * s->OH, lm_conv_col_size(s), pool);
}

/* Rows r = (b, ih): gathers every col entry that copied input row ih of
 * image b, so a task owns its output rows outright (no scatter races),
 * and each element's sum runs kh, then ow (then kw, which ow fixes). */
static void col2im_rows(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    const size_t C = (size_t)s->C, K = (size_t)s->KH * s->KW * C, krow = (size_t)s->KW * C;
    for (long r = r0; r < r1; r++) {
        int b = (int)(r / s->H), ih = (int)(r % s->H);
        float *dxr = j->y + (size_t)r * s->W * C;
        memset(dxr, 0, (size_t)s->W * C * sizeof *dxr);
        for (int kh = 0; kh < s->KH; kh++) {
            int t = ih + s->PT - kh;
            if (t < 0 || t % s->SH) continue;
            int oh = t / s->SH;
            if (oh >= s->OH) continue;
            const float *c = j->x + ((size_t)b * s->OH + oh) * s->OW * K + kh * krow;
            for (int ow = 0; ow < s->OW; ow++, c += K) {
                int iw0 = ow * s->SW - s->PL, kw0, kw1;
                kw_range(s, iw0, &kw0, &kw1);
                const float *src = c + kw0 * C;
                float *dst = dxr + (size_t)(iw0 + kw0) * C;
                size_t n = (size_t)(kw1 - kw0) * C;
                for (size_t i = 0; i < n; i++) dst[i] += src[i];
            }
        }
    }
}

void lm_col2im(const lm_conv_shape *s, const float *dcol, float *dx, lm_pool *pool)
{
    rowjob j = {.s = s, .x = dcol, .y = dx, .rows = col2im_rows};
    run_rows(&j, (long)s->B * s->H, lm_conv_col_size(s), pool);
}

/* ------------------------------------------------------------ conv2d */

void lm_conv2d_forward(const lm_conv_shape *s, int F, const float *x, const float *w,
                       const float *b, lm_act act, float *y, float *col, lm_pool *pool)
{
    /* x (B, H, W, C), w (K, F), b (F) or NULL, y (M, F) = (B, OH, OW, F) */
    int M = s->B * s->OH * s->OW, K = s->KH * s->KW * s->C;
    const float *a = x;
    if (!lm_conv_col_is_input(s)) {
        lm_im2col(s, x, col, pool);
        a = col;
    }
    lm_epilogue ep = {b, act};
    lm_gemm_nn(M, F, K, a, K, w, F, y, F, &ep, pool);
}

/* The weight gradient in parts of whole images: part p = col^T dz over
 * its rows, each part one task. A GEMM split the usual way (by the rows
 * of dw, K x F, few for a first layer) has every thread read all of col
 * and dz, which the other core then has to take back for the next step's
 * writes: on 2 threads the first conv's backward and the kernels after it
 * ran 1.6x slower than on 1. The parts depend on the shape alone and are
 * added in order, so the bits do not depend on the thread count. */
typedef struct dwjob {
    const float *a, *dz;
    float *parts;
    int K, F, M, rows; /* rows a part */
} dwjob;

static void dw_part(void *ctx, int p)
{
    const dwjob *j = ctx;
    int r0 = p * j->rows, n = j->M - r0 < j->rows ? j->M - r0 : j->rows;
    lm_gemm_tn(j->K, j->F, n, j->a + (size_t)r0 * j->K, j->K, j->dz + (size_t)r0 * j->F, j->F,
               j->parts + (size_t)p * j->K * j->F, j->F, NULL);
}

/* Rows a part: whole images, about 8192 rows (depends on the shape). */
static int dw_part_rows(const lm_conv_shape *s)
{
    int per = s->OH * s->OW, imgs = 8192 / (per > 0 ? per : 1);
    return (imgs < 1 ? 1 : imgs) * per;
}

void lm_conv2d_backward(const lm_conv_shape *s, int F, const float *dz, const float *x,
                        const float *col, const float *w, float *dw, float *db, float *dx,
                        float *dcol, lm_pool *pool)
{
    /* dz (M, F), col (M, K) (x when col is the input), w (K, F),
     * dw (K, F), db (F) or NULL, dx (B, H, W, C) or NULL, dcol (M, K) */
    int M = s->B * s->OH * s->OW, K = s->KH * s->KW * s->C;
    int direct = lm_conv_col_is_input(s);
    const float *a = direct ? x : col;
    int rows = dw_part_rows(s), nparts = (M + rows - 1) / rows;
    /* the parts live in dcol (free until dx's turn) when it has room */
    if (!direct && dcol && nparts >= 2 && (size_t)nparts * F <= (size_t)M) {
        dwjob j = {a, dz, dcol, K, F, M, rows};
        lm_pool_run(pool, nparts, dw_part, &j);
        size_t n = (size_t)K * F;
        memcpy(dw, dcol, n * sizeof *dw);
        for (int p = 1; p < nparts; p++)
            for (size_t i = 0; i < n; i++) dw[i] += dcol[(size_t)p * n + i];
    } else {
        lm_gemm_tn(K, F, M, a, K, dz, F, dw, F, pool);
    }
    if (db) lm_colsum(M, F, dz, F, db);
    if (!dx) return;
    if (direct) {
        lm_gemm_nt(M, K, F, dz, F, w, F, dx, K, pool);
    } else {
        lm_gemm_nt(M, K, F, dz, F, w, F, dcol, K, pool);
        lm_col2im(s, dcol, dx, pool);
    }
}

/* ----------------------------------------------------------- pooling */

/* The window of output (oh, ow) clipped to the input: rows [*h0, *h1),
 * columns [*w0, *w1), all absolute input coordinates. */
static inline void window(const lm_conv_shape *s, int oh, int ow, int *h0, int *h1, int *w0,
                          int *w1)
{
    int ih = oh * s->SH - s->PT, iw = ow * s->SW - s->PL;
    *h0 = ih < 0 ? 0 : ih;
    *h1 = ih + s->KH < s->H ? ih + s->KH : s->H;
    *w0 = iw < 0 ? 0 : iw;
    *w1 = iw + s->KW < s->W ? iw + s->KW : s->W;
}

/* Rows r = (b, oh). */
static inline MP_INLINE void maxpool_rows_body(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    const int C = s->C;
    for (long r = r0; r < r1; r++) {
        int b = (int)(r / s->OH), oh = (int)(r % s->OH);
        const float *xb = j->x + (size_t)b * s->H * s->W * C;
        for (int ow = 0; ow < s->OW; ow++) {
            size_t o = ((size_t)r * s->OW + ow) * C;
            float *y = j->y + o;
            int32_t *arg = j->arg ? j->arg + o : NULL;
            int h0, h1, w0, w1;
            window(s, oh, ow, &h0, &h1, &w0, &w1);
            int first = 1;
            for (int ih = h0; ih < h1; ih++) {
                for (int iw = w0; iw < w1; iw++) {
                    int32_t base = (int32_t)(((size_t)ih * s->W + iw) * C);
                    const float *xp = xb + base;
                    if (first) {
                        memcpy(y, xp, (size_t)C * sizeof *y);
                        if (arg)
                            for (int c = 0; c < C; c++) arg[c] = base + c;
                        first = 0;
                    } else if (arg) {
                        for (int c = 0; c < C; c++) {
                            float v = xp[c];
                            int take = v > y[c] || v != v; /* NaN propagates */
                            y[c] = take ? v : y[c];
                            arg[c] = take ? base + c : arg[c];
                        }
                    } else {
                        for (int c = 0; c < C; c++) {
                            float v = xp[c];
                            y[c] = (v > y[c] || v != v) ? v : y[c];
                        }
                    }
                }
            }
        }
    }
}

/* The loops over channels above compiled once more for AVX2 and AVX-512
 * on x86 (function target attributes): max pooling reads the largest
 * activations of a CNN, and the baseline SSE2 compares 4 channels at a
 * time. Compares and selects only, so every version gives the same bits. */
static void maxpool_rows(const rowjob *j, long r0, long r1) { maxpool_rows_body(j, r0, r1); }
#if MP_X86
__attribute__((target("avx2"))) static void maxpool_rows_avx2(const rowjob *j, long r0, long r1)
{
    maxpool_rows_body(j, r0, r1);
}
__attribute__((target("avx512f,avx512bw"))) static void maxpool_rows_avx512(const rowjob *j,
                                                                             long r0, long r1)
{
    maxpool_rows_body(j, r0, r1);
}
#endif

void lm_maxpool_forward(const lm_conv_shape *s, const float *x, float *y, int32_t *arg,
                        lm_pool *pool)
{
    rowjob j = {.s = s, .x = x, .y = y, .arg = arg, .rows = maxpool_rows};
#if MP_X86
    const char *v = lm_gemm_variant();
    if (!strcmp(v, "avx512")) j.rows = maxpool_rows_avx512;
    else if (!strcmp(v, "avx2")) j.rows = maxpool_rows_avx2;
#endif
    run_rows(&j, (long)s->B * s->OH,
             (size_t)s->B * s->OH * s->OW * s->C * ((size_t)s->KH * s->KW), pool);
}

/* Rows r = b: one image, its outputs in order (windows may overlap, so
 * the image is one task and its sums run in output order). */
static void maxpool_back_rows(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    size_t in = (size_t)s->H * s->W * s->C, out = (size_t)s->OH * s->OW * s->C;
    for (long b = r0; b < r1; b++) {
        float *dx = j->y + b * in;
        const float *dy = j->x + b * out;
        const int32_t *arg = j->carg + b * out;
        memset(dx, 0, in * sizeof *dx);
        for (size_t o = 0; o < out; o++) dx[arg[o]] += dy[o];
    }
}

void lm_maxpool_backward(const lm_conv_shape *s, const float *dy, const int32_t *arg,
                         float *dx, lm_pool *pool)
{
    rowjob j = {.s = s, .x = dy, .y = dx, .carg = arg, .rows = maxpool_back_rows};
    run_rows(&j, s->B, (size_t)s->B * s->H * s->W * s->C, pool);
}

/* Rows r = (b, oh). The divide (not a multiply by 1/n) matches PyTorch. */
static void avgpool_rows(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    const int C = s->C;
    for (long r = r0; r < r1; r++) {
        int b = (int)(r / s->OH), oh = (int)(r % s->OH);
        const float *xb = j->x + (size_t)b * s->H * s->W * C;
        for (int ow = 0; ow < s->OW; ow++) {
            float *y = j->y + ((size_t)r * s->OW + ow) * C;
            int h0, h1, w0, w1;
            window(s, oh, ow, &h0, &h1, &w0, &w1);
            memset(y, 0, (size_t)C * sizeof *y);
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++) {
                    const float *xp = xb + ((size_t)ih * s->W + iw) * C;
                    for (int c = 0; c < C; c++) y[c] += xp[c];
                }
            float n = (float)((h1 - h0) * (w1 - w0));
            for (int c = 0; c < C; c++) y[c] /= n;
        }
    }
}

void lm_avgpool_forward(const lm_conv_shape *s, const float *x, float *y, lm_pool *pool)
{
    rowjob j = {.s = s, .x = x, .y = y, .rows = avgpool_rows};
    run_rows(&j, (long)s->B * s->OH,
             (size_t)s->B * s->OH * s->OW * s->C * ((size_t)s->KH * s->KW), pool);
}

/* Rows r = b: one image, scattering its outputs in order. */
static void avgpool_back_rows(const rowjob *j, long r0, long r1)
{
    const lm_conv_shape *s = j->s;
    const int C = s->C;
    size_t in = (size_t)s->H * s->W * C;
    for (long b = r0; b < r1; b++) {
        float *dx = j->y + b * in;
        memset(dx, 0, in * sizeof *dx);
        for (int oh = 0; oh < s->OH; oh++)
            for (int ow = 0; ow < s->OW; ow++) {
                const float *dy = j->x + (((size_t)b * s->OH + oh) * s->OW + ow) * C;
                int h0, h1, w0, w1;
                window(s, oh, ow, &h0, &h1, &w0, &w1);
                float n = (float)((h1 - h0) * (w1 - w0));
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) {
                        float *dp = dx + ((size_t)ih * s->W + iw) * C;
                        for (int c = 0; c < C; c++) dp[c] += dy[c] / n;
                    }
            }
    }
}

void lm_avgpool_backward(const lm_conv_shape *s, const float *dy, float *dx, lm_pool *pool)
{
    rowjob j = {.s = s, .x = dy, .y = dx, .rows = avgpool_back_rows};
    run_rows(&j, s->B, (size_t)s->B * s->H * s->W * s->C * ((size_t)s->KH * s->KW), pool);
}

void lm_gavgpool_forward(int B, int HW, int C, const float *x, float *y)
{
    /* x (B, HW, C), y (B, C) */
    for (int b = 0; b < B; b++) {
        float *yb = y + (size_t)b * C;
        const float *xb = x + (size_t)b * HW * C;
        memset(yb, 0, (size_t)C * sizeof *yb);
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++) yb[c] += xb[(size_t)p * C + c];
        for (int c = 0; c < C; c++) yb[c] /= (float)HW;
    }
}

void lm_gavgpool_backward(int B, int HW, int C, const float *dy, float *dx)
{
    /* dy (B, C), dx (B, HW, C) */
    for (int b = 0; b < B; b++) {
        const float *dyb = dy + (size_t)b * C;
        float *dxb = dx + (size_t)b * HW * C;
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++) dxb[(size_t)p * C + c] = dyb[c] / (float)HW;
    }
}
