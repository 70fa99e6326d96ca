/* test_conv.c - the spatial kernels (src/kernels/conv.c) against naive
 * references written here: conv forward against a direct 7-loop
 * convolution, every backward against central finite differences of a
 * double-precision reference, pooling against direct loops; odd sizes,
 * strides 1 and 2, 'same', 'valid' and numeric padding, C = 1 and C > 1;
 * and the same bits on 1, 2 and 3 threads. */
#include "harness.h"
#include "kernels/conv.h"

#include <stdint.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

/* The geometry by the formulas the lead fixed, written out independently
 * of lm_conv_geometry: 'same' out = ceil(n/s), total pad = max((out-1)s +
 * k - n, 0), before = total/2; numeric p: out = (n + 2p - k)/s + 1. */
static int geom_ref(int n, int k, int s, int pad, int *out, int *before)
{
    if (pad == LM_PAD_SAME) {
        int o = (n + s - 1) / s, t = (o - 1) * s + k - n;
        if (t < 0) t = 0;
        *out = o;
        *before = t / 2;
        return 0;
    }
    if (pad >= k || n + 2 * pad < k) return -1;
    *out = (n + 2 * pad - k) / s + 1;
    *before = pad;
    return 0;
}

/* Fills s from input and window settings; 0 when the geometry exists
 * (checking lm_conv_geometry against geom_ref on the way). */
static int make_shape(lm_conv_shape *s, int B, int H, int W, int C, int KH, int KW, int S,
                      int pad)
{
    int oh = 0, pt = 0, ow = 0, pl = 0, roh = 0, rpt = 0, row = 0, rpl = 0;
    int a = lm_conv_geometry(H, KH, S, pad, &oh, &pt);
    int b = lm_conv_geometry(W, KW, S, pad, &ow, &pl);
    int ra = geom_ref(H, KH, S, pad, &roh, &rpt), rb = geom_ref(W, KW, S, pad, &row, &rpl);
    CHECKF(a == ra && b == rb, "geometry existence H%d W%d K%dx%d s%d p%d", H, W, KH, KW, S,
           pad);
    if (a || b || ra || rb) return -1;
    CHECKF(oh == roh && pt == rpt && ow == row && pl == rpl,
           "geometry H%d K%d s%d p%d: %d/%d vs %d/%d", H, KH, S, pad, oh, pt, roh, rpt);
    *s = (lm_conv_shape){B, H, W, C, KH, KW, S, S, pt, pl, oh, ow};
    return 0;
}

/* x at (b, ih, iw, c), zero outside the input (padding). */
static double xat(const lm_conv_shape *s, const double *x, int b, int ih, int iw, int c)
{
    if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) return 0;
    return x[(((size_t)b * s->H + ih) * s->W + iw) * s->C + c];
}

/* The direct 7-loop convolution in double: y (B, OH, OW, F) = conv(x) + b. */
static void conv_ref(const lm_conv_shape *s, int F, const double *x, const double *w,
                     const double *bias, double *y)
{
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->OH; oh++)
            for (int ow = 0; ow < s->OW; ow++)
                for (int f = 0; f < F; f++) {
                    double acc = bias ? bias[f] : 0;
                    for (int kh = 0; kh < s->KH; kh++)
                        for (int kw = 0; kw < s->KW; kw++)
                            for (int c = 0; c < s->C; c++)
                                acc += xat(s, x, b, oh * s->SH - s->PT + kh,
                                           ow * s->SW - s->PL + kw, c) *
                                       w[(((size_t)kh * s->KW + kw) * s->C + c) * F + f];
                    y[(((size_t)b * s->OH + oh) * s->OW + ow) * F + f] = acc;
                }
}

enum { P_MAX, P_AVG, P_GAVG };

/* Direct pooling in double; avg excludes padding. Global: y (B, C). */
static void pool_ref(int kind, const lm_conv_shape *s, const double *x, double *y)
{
    if (kind == P_GAVG) {
        for (int b = 0; b < s->B; b++)
            for (int c = 0; c < s->C; c++) {
                double acc = 0;
                for (int p = 0; p < s->H * s->W; p++) acc += x[((size_t)b * s->H * s->W + p) * s->C + c];
                y[(size_t)b * s->C + c] = acc / (s->H * s->W);
            }
        return;
    }
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->OH; oh++)
            for (int ow = 0; ow < s->OW; ow++)
                for (int c = 0; c < s->C; c++) {
                    double m = -INFINITY, acc = 0;
                    int n = 0;
                    for (int kh = 0; kh < s->KH; kh++)
                        for (int kw = 0; kw < s->KW; kw++) {
                            int ih = oh * s->SH - s->PT + kh, iw = ow * s->SW - s->PL + kw;
                            if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                            double v = xat(s, x, b, ih, iw, c);
                            if (v > m) m = v;
                            acc += v;
                            n++;
                        }
                    y[(((size_t)b * s->OH + oh) * s->OW + ow) * s->C + c] =
                        kind == P_MAX ? m : acc / n;
                }
}

/* n distinct values, 1e-3 apart, in random order: max pooling's finite
 * differences need no two inputs within the step of each other. */
static float *distinct_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)((double)i - n / 2.0) * 1e-3f;
    for (size_t i = n; i > 1; i--) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((rng_state >> 33) % i);
        float t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

static double *to_double(const float *a, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* Checks float results against double references: |a - r| <= tol (1 + |r|). */
static int close_d(const float *a, const double *r, size_t n, double tol, size_t *worst)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - r[i]) <= tol * (1 + fabs(r[i])))) {
            *worst = i;
            return 0;
        }
    return 1;
}

/* ------------------------------------------------------------- cases */

typedef struct ccase {
    int H, W, KH, KW;
} ccase;

static const ccase CONV_CASES[] = {
    {7, 7, 3, 3}, {5, 6, 3, 3}, {9, 7, 5, 5}, {6, 5, 2, 2},
    {7, 5, 3, 2}, {5, 5, 1, 1}, {4, 7, 1, 3}, {3, 3, 3, 3},
};
static const int PADS[] = {LM_PAD_SAME, 0, 1, 2};
static const int CHANNELS[][2] = {{1, 1}, {1, 4}, {3, 2}, {4, 5}};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Loss L = sum(g * y) with fixed random g, whose gradient is g itself:
 * the kernels' backward with dz = g must match dL by finite differences
 * of the double reference. */
static double conv_loss(const lm_conv_shape *s, int F, const double *x, const double *w,
                        const double *b, const double *g, double *ybuf)
{
    conv_ref(s, F, x, w, b, ybuf);
    double L = 0;
    for (size_t i = 0; i < (size_t)s->B * s->OH * s->OW * F; i++) L += g[i] * ybuf[i];
    return L;
}

/* Central differences of conv_loss with respect to each element of v. */
static void fd_grad(const lm_conv_shape *s, int F, double *x, double *w, double *b,
                    const double *g, double *ybuf, double *v, size_t n, double *out)
{
    const double h = 1e-3;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = conv_loss(s, F, x, w, b, g, ybuf);
        v[i] = keep - h;
        double lm = conv_loss(s, F, x, w, b, g, ybuf);
        v[i] = keep;
        out[i] = (lp - lm) / (2 * h);
    }
}

/* The Winograd path (src/kernels/winograd.c) on the same case: its
 * forward against the direct loops, its backward against finite
 * differences, each to float tolerance (its rounding differs from
 * im2col's, by a few ulps of the transforms). */
static void wino_one(const lm_conv_shape *s, int F, const float *x, const float *w,
                     const float *b, const float *g, double *xd, double *wd, double *bd,
                     const double *gd, const char *what)
{
    size_t nx = (size_t)s->B * s->H * s->W * s->C, nw = (size_t)9 * s->C * F;
    size_t ny = (size_t)s->B * s->OH * s->OW * F, at = 0;
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    float *db = malloc(F * sizeof *db), *saved = malloc(lm_wino_saved_size(s, F) * sizeof(float));
    float *tmp = malloc(lm_wino_tmp_size(s, F) * sizeof(float));
    double *yr = malloc(ny * sizeof *yr);
    for (int relu = 0; relu < 2; relu++) {
        lm_wino_forward(s, F, x, w, b, relu ? LM_RELU : LM_IDENTITY, y, saved, tmp, NULL);
        conv_ref(s, F, xd, wd, bd, yr);
        if (relu)
            for (size_t i = 0; i < ny; i++) yr[i] = yr[i] > 0 ? yr[i] : 0;
        CHECKF(close_d(y, yr, ny, 2e-5, &at), "%s winograd relu%d forward [%zu] %g vs %g",
               what, relu, at, y[at], yr[at]);
    }
    lm_wino_backward(s, F, g, x, saved, dw, db, dx, tmp, NULL);
    double *fx = malloc(nx * sizeof *fx), *fw = malloc(nw * sizeof *fw), *fb = malloc(F * sizeof *fb);
    fd_grad(s, F, xd, wd, bd, gd, yr, xd, nx, fx);
    fd_grad(s, F, xd, wd, bd, gd, yr, wd, nw, fw);
    fd_grad(s, F, xd, wd, bd, gd, yr, bd, F, fb);
    CHECKF(close_d(dx, fx, nx, 1e-4, &at), "%s winograd dx[%zu] %g vs fd %g", what, at, dx[at],
           fx[at]);
    CHECKF(close_d(dw, fw, nw, 1e-4, &at), "%s winograd dw[%zu] %g vs fd %g", what, at, dw[at],
           fw[at]);
    CHECKF(close_d(db, fb, F, 1e-4, &at), "%s winograd db[%zu] %g vs fd %g", what, at, db[at],
           fb[at]);
    /* without dx (a first layer) the weight gradient is the same */
    float *dw2 = malloc(nw * sizeof *dw2);
    lm_wino_backward(s, F, g, x, saved, dw2, NULL, NULL, tmp, NULL);
    CHECKF(!memcmp(dw, dw2, nw * sizeof *dw), "%s winograd dw without dx differs", what);
    free(y), free(dx), free(dw), free(dw2), free(db), free(saved), free(tmp), free(yr);
    free(fx), free(fw), free(fb);
}

static void conv_one(const lm_conv_shape *s, int F, int S, int pad, int check_grad)
{
    size_t nx = (size_t)s->B * s->H * s->W * s->C, K = (size_t)s->KH * s->KW * s->C;
    size_t nw = K * F, ny = (size_t)s->B * s->OH * s->OW * F, ncol = lm_conv_col_size(s);
    float *x = rand_buf(nx), *w = rand_buf(nw), *b = rand_buf(F), *g = rand_buf(ny);
    float *y = malloc(ny * sizeof *y), *col = malloc(ncol * sizeof *col);
    float *dcol = malloc(ncol * sizeof *dcol);
    float *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw), *db = malloc(F * sizeof *db);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, F);
    double *gd = to_double(g, ny), *yr = malloc(ny * sizeof *yr);
    size_t at = 0;
    char what[160];
    snprintf(what, sizeof what, "B%d H%d W%d C%d F%d K%dx%d s%d pad%d", s->B, s->H, s->W, s->C,
             F, s->KH, s->KW, S, pad);

    for (int relu = 0; relu < 2; relu++) {
        lm_conv2d_forward(s, F, x, w, b, relu ? LM_RELU : LM_IDENTITY, y, col, NULL);
        conv_ref(s, F, xd, wd, bd, yr);
        if (relu)
            for (size_t i = 0; i < ny; i++) yr[i] = yr[i] > 0 ? yr[i] : 0;
        CHECKF(close_d(y, yr, ny, 1e-5, &at), "%s relu%d forward [%zu] %g vs %g", what, relu,
               at, y[at], yr[at]);
    }
    if (check_grad) {
        /* the forward above left the col matrix of x in col */
        lm_conv2d_backward(s, F, g, x, col, w, dw, db, dx, dcol, NULL);
        double *fx = malloc(nx * sizeof *fx), *fw = malloc(nw * sizeof *fw), *fb = malloc(F * sizeof *fb);
        fd_grad(s, F, xd, wd, bd, gd, yr, xd, nx, fx);
        fd_grad(s, F, xd, wd, bd, gd, yr, wd, nw, fw);
        fd_grad(s, F, xd, wd, bd, gd, yr, bd, F, fb);
        CHECKF(close_d(dx, fx, nx, 1e-4, &at), "%s dx[%zu] %g vs fd %g", what, at, dx[at], fx[at]);
        CHECKF(close_d(dw, fw, nw, 1e-4, &at), "%s dw[%zu] %g vs fd %g", what, at, dw[at], fw[at]);
        CHECKF(close_d(db, fb, F, 1e-4, &at), "%s db[%zu] %g vs fd %g", what, at, db[at], fb[at]);
        free(fx), free(fw), free(fb);
    }
    if (lm_conv_winograd_fits(s)) wino_one(s, F, x, w, b, g, xd, wd, bd, gd, what);
    free(x), free(w), free(b), free(g), free(y), free(col), free(dcol), free(dx), free(dw);
    free(db), free(xd), free(wd), free(bd), free(gd), free(yr);
}

/* Forward against the direct loops and backward against finite
 * differences over the whole grid. */
static void test_conv_grid(void)
{
    int cases = 0;
    for (size_t i = 0; i < N_OF(CONV_CASES); i++)
        for (int S = 1; S <= 2; S++)
            for (size_t p = 0; p < N_OF(PADS); p++)
                for (size_t ch = 0; ch < N_OF(CHANNELS); ch++) {
                    const ccase *k = &CONV_CASES[i];
                    lm_conv_shape s;
                    if (make_shape(&s, 2, k->H, k->W, CHANNELS[ch][0], k->KH, k->KW, S,
                                   PADS[p]))
                        continue;
                    conv_one(&s, CHANNELS[ch][1], S, PADS[p], 1);
                    cases++;
                }
    CHECKF(cases > 150, "only %d cases ran", cases);
}

/* im2col and col2im are adjoint: <im2col(x), d> == <x, col2im(d)>. */
static void test_col2im_adjoint(void)
{
    lm_conv_shape s;
    CHECK(make_shape(&s, 3, 9, 8, 3, 3, 3, 2, LM_PAD_SAME) == 0);
    size_t nx = (size_t)s.B * s.H * s.W * s.C, nc = lm_conv_col_size(&s);
    float *x = rand_buf(nx), *d = rand_buf(nc), *col = malloc(nc * 4), *dx = malloc(nx * 4);
    lm_im2col(&s, x, col, NULL);
    lm_col2im(&s, d, dx, NULL);
    double a = 0, b = 0;
    for (size_t i = 0; i < nc; i++) a += (double)col[i] * d[i];
    for (size_t i = 0; i < nx; i++) b += (double)x[i] * dx[i];
    CHECKF(fabs(a - b) <= 1e-4 * (1 + fabs(a)), "%g vs %g", a, b);
    free(x), free(d), free(col), free(dx);
}

/* The geometry refuses what has no output, and names 'same' exactly. */
static void test_geometry(void)
{
    int o = -7, p = -7;
    CHECK(lm_conv_geometry(2, 3, 1, 0, &o, &p) == -1);  /* kernel larger than input */
    CHECK(lm_conv_geometry(0, 1, 1, 0, &o, &p) == -1);  /* empty input */
    CHECK(lm_conv_geometry(5, 3, 0, 0, &o, &p) == -1);  /* zero stride */
    CHECK(lm_conv_geometry(5, 2, 1, 2, &o, &p) == -1);  /* padding >= kernel */
    CHECK(lm_conv_geometry(5, 3, 1, -2, &o, &p) == -1); /* bad mode */
    CHECK(lm_conv_geometry(2, 3, 1, 1, &o, &p) == 0 && o == 2 && p == 1);
    CHECK(lm_conv_geometry(28, 3, 1, LM_PAD_SAME, &o, &p) == 0 && o == 28 && p == 1);
    CHECK(lm_conv_geometry(28, 2, 2, LM_PAD_SAME, &o, &p) == 0 && o == 14 && p == 0);
    CHECK(lm_conv_geometry(7, 2, 2, LM_PAD_SAME, &o, &p) == 0 && o == 4 && p == 0);
    CHECK(lm_conv_geometry(8, 3, 2, LM_PAD_SAME, &o, &p) == 0 && o == 4 && p == 0);
    CHECK(lm_conv_geometry(7, 3, 2, 0, &o, &p) == 0 && o == 3 && p == 0);
}

/* ----------------------------------------------------------- pooling */

static double pool_loss(int kind, const lm_conv_shape *s, const double *x, const double *g,
                        double *ybuf, size_t ny)
{
    pool_ref(kind, s, x, ybuf);
    double L = 0;
    for (size_t i = 0; i < ny; i++) L += g[i] * ybuf[i];
    return L;
}

static void pool_one(int kind, const lm_conv_shape *s, const char *what)
{
    size_t nx = (size_t)s->B * s->H * s->W * s->C;
    size_t ny = kind == P_GAVG ? (size_t)s->B * s->C : (size_t)s->B * s->OH * s->OW * s->C;
    float *x = distinct_buf(nx), *g = rand_buf(ny), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    int32_t *arg = malloc(ny * sizeof *arg);
    double *xd = to_double(x, nx), *gd = to_double(g, ny), *yr = malloc(ny * 8);
    double *fx = malloc(nx * 8);
    size_t at = 0;
    if (kind == P_MAX) {
        lm_maxpool_forward(s, x, y, arg, NULL);
        lm_maxpool_backward(s, g, arg, dx, NULL);
    } else if (kind == P_AVG) {
        lm_avgpool_forward(s, x, y, NULL);
        lm_avgpool_backward(s, g, dx, NULL);
    } else {
        lm_gavgpool_forward(s->B, s->H * s->W, s->C, x, y);
        lm_gavgpool_backward(s->B, s->H * s->W, s->C, g, dx);
    }
    pool_ref(kind, s, xd, yr);
    CHECKF(close_d(y, yr, ny, 1e-6, &at), "%s forward [%zu] %g vs %g", what, at, y[at], yr[at]);
    if (kind == P_MAX) {
        /* the winner's index holds the output value, in its own image */
        size_t per = (size_t)s->OH * s->OW * s->C, img = (size_t)s->H * s->W * s->C;
        int ok = 1;
        for (size_t i = 0; i < ny && ok; i++)
            ok = arg[i] >= 0 && (size_t)arg[i] < img && (size_t)arg[i] % s->C == i % s->C &&
                 x[(i / per) * img + arg[i]] == y[i];
        CHECKF(ok, "%s argmax", what);
        /* inference without indices gives the same values */
        float *y2 = malloc(ny * 4);
        lm_maxpool_forward(s, x, y2, NULL, NULL);
        CHECKF(!memcmp(y, y2, ny * 4), "%s forward without arg", what);
        free(y2);
    }
    const double h = 1e-4; /* inputs at least 1e-3 apart: no max changes within h */
    for (size_t i = 0; i < nx; i++) {
        double keep = xd[i];
        xd[i] = keep + h;
        double lp = pool_loss(kind, s, xd, gd, yr, ny);
        xd[i] = keep - h;
        double lm = pool_loss(kind, s, xd, gd, yr, ny);
        xd[i] = keep;
        fx[i] = (lp - lm) / (2 * h);
    }
    CHECKF(close_d(dx, fx, nx, 1e-4, &at), "%s dx[%zu] %g vs fd %g", what, at, dx[at], fx[at]);
    free(x), free(g), free(y), free(dx), free(arg), free(xd), free(gd), free(yr), free(fx);
}

static const ccase POOL_CASES[] = {
    {7, 7, 2, 2}, {6, 6, 2, 2}, {7, 5, 3, 3}, {5, 6, 3, 2}, {4, 4, 1, 1}, {3, 5, 3, 3},
};

static void test_pool_grid(void)
{
    int cases = 0;
    for (int kind = P_MAX; kind <= P_AVG; kind++)
        for (size_t i = 0; i < N_OF(POOL_CASES); i++)
            for (int S = 1; S <= 2; S++)
                for (size_t p = 0; p < N_OF(PADS); p++)
                    for (int C = 1; C <= 3; C += 2) {
                        const ccase *k = &POOL_CASES[i];
                        lm_conv_shape s;
                        if (make_shape(&s, 2, k->H, k->W, C, k->KH, k->KW, S, PADS[p])) continue;
                        char what[128];
                        snprintf(what, sizeof what, "%s H%d W%d C%d K%dx%d s%d pad%d",
                                 kind == P_MAX ? "max" : "avg", k->H, k->W, C, k->KH, k->KW, S,
                                 PADS[p]);
                        pool_one(kind, &s, what);
                        cases++;
                    }
    CHECKF(cases > 100, "only %d cases ran", cases);
}

static void test_gavgpool(void)
{
    int dims[][3] = {{1, 1, 1}, {3, 5, 1}, {7, 7, 4}, {2, 5, 3}};
    for (size_t i = 0; i < N_OF(dims); i++) {
        lm_conv_shape s = {2, dims[i][0], dims[i][1], dims[i][2], 0, 0, 0, 0, 0, 0, 0, 0};
        char what[64];
        snprintf(what, sizeof what, "gavg H%d W%d C%d", s.H, s.W, s.C);
        pool_one(P_GAVG, &s, what);
    }
}

/* Max pooling routes NaN and the first of equal maxima, as PyTorch. */
static void test_maxpool_ties(void)
{
    lm_conv_shape s = {1, 2, 2, 1, 2, 2, 2, 2, 0, 0, 1, 1};
    float x[4] = {1, 3, 3, 2}, y;
    int32_t arg;
    lm_maxpool_forward(&s, x, &y, &arg, NULL);
    CHECK(y == 3 && arg == 1);
    x[2] = NAN;
    lm_maxpool_forward(&s, x, &y, &arg, NULL);
    CHECK(isnan(y) && arg == 2);
}

/* --------------------------------------------------- thread identity */

/* Shapes big enough that every kernel splits its rows over the pool. */
static void test_threads_bits(void)
{
    lm_pool *pools[4] = {NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    const int sets[][5] = {/* C, F, K, stride, pad */
                           {1, 8, 3, 1, LM_PAD_SAME}, {16, 24, 3, 2, LM_PAD_SAME},
                           {16, 8, 5, 1, 0},          {16, 12, 3, 2, 1}};
    for (size_t t = 0; t < N_OF(sets); t++) {
        lm_conv_shape s;
        int C = sets[t][0], F = sets[t][1], K = sets[t][2];
        if (make_shape(&s, 12, 15, 13, C, K, K, sets[t][3], sets[t][4])) continue;
        lm_conv_shape ps;
        CHECK(make_shape(&ps, 12, 15, 13, C, 3, 3, sets[t][3], sets[t][4]) == 0);
        size_t nx = (size_t)s.B * s.H * s.W * C, nw = (size_t)K * K * C * F;
        size_t ny = (size_t)s.B * s.OH * s.OW * F, nc = lm_conv_col_size(&s);
        size_t np = (size_t)ps.B * ps.OH * ps.OW * C;
        float *x = rand_buf(nx), *w = rand_buf(nw), *b = rand_buf(F), *g = rand_buf(ny);
        float *gp = rand_buf(np);
        float *out[4][9] = {{0}};
        int32_t *arg[4] = {0};
        for (int th = 1; th <= 3; th++) {
            lm_pool *p = pools[th];
            float **o = out[th];
            o[0] = malloc(ny * 4), o[1] = malloc(nc * 4), o[2] = malloc(nc * 4);
            o[3] = malloc(nx * 4), o[4] = malloc(nw * 4), o[5] = malloc(F * 4);
            o[6] = malloc(np * 4), o[7] = malloc(nx * 4), o[8] = malloc(np * 4);
            arg[th] = malloc(np * sizeof(int32_t));
            lm_conv2d_forward(&s, F, x, w, b, LM_RELU, o[0], o[1], p);
            lm_conv2d_backward(&s, F, g, x, o[1], w, o[4], o[5], o[3], o[2], p);
            lm_maxpool_forward(&ps, x, o[6], arg[th], p);
            lm_maxpool_backward(&ps, gp, arg[th], o[7], p);
            lm_avgpool_forward(&ps, x, o[8], p);
            if (th > 1) {
                size_t n[9] = {ny, nc, nc, nx, nw, F, np, nx, np};
                for (int k = 0; k < 9; k++)
                    CHECKF(!memcmp(o[k], out[1][k], n[k] * 4), "set %zu output %d differs on %d threads", t, k, th);
                CHECKF(!memcmp(arg[th], arg[1], np * 4), "set %zu argmax on %d threads", t, th);
                /* avg backward last: reuse o[7] */
                lm_avgpool_backward(&ps, gp, o[7], p);
                lm_avgpool_backward(&ps, gp, out[1][7], NULL);
                CHECKF(!memcmp(o[7], out[1][7], nx * 4), "set %zu avg backward on %d threads", t, th);
                lm_maxpool_backward(&ps, gp, arg[1], out[1][7], NULL); /* restore */
            }
        }
        for (int th = 1; th <= 3; th++) {
            for (int k = 0; k < 9; k++) free(out[th][k]);
            free(arg[th]);
        }
        free(x), free(w), free(b), free(g), free(gp);
    }
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
}

/* Winograd on the second conv layer (14x14, 32 -> 64 channels,
 * chunks of several images) against im2col to float tolerance, the
 * same bits on 1, 2 and 3 threads, and the choice lm_conv_algo makes. */
static void test_winograd_threads(void)
{
    lm_pool *pools[4] = {NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    lm_conv_shape s;
    const int F = 64;
    CHECK(make_shape(&s, 9, 14, 14, 32, 3, 3, 1, LM_PAD_SAME) == 0);
    size_t nx = (size_t)s.B * 14 * 14 * 32, nw = (size_t)9 * 32 * F, ny = (size_t)s.B * 196 * F;
    size_t nc = lm_conv_col_size(&s), at = 0;
    float *x = rand_buf(nx), *w = rand_buf(nw), *b = rand_buf(F), *g = rand_buf(ny);
    for (size_t i = 0; i < nx; i++) x[i] = x[i] > 0 ? x[i] : 0; /* relu'd, as a net's */
    float *col = malloc(nc * 4), *dcol = malloc(nc * 4);
    float *yi = malloc(ny * 4), *dxi = malloc(nx * 4), *dwi = malloc(nw * 4), *dbi = malloc(F * 4);
    lm_conv2d_forward(&s, F, x, w, b, LM_RELU, yi, col, NULL);
    lm_conv2d_backward(&s, F, g, x, col, w, dwi, dbi, dxi, dcol, NULL);
    float *out[4][4] = {{0}};
    float *saved = malloc(lm_wino_saved_size(&s, F) * 4), *tmp = malloc(lm_wino_tmp_size(&s, F) * 4);
    for (int th = 1; th <= 3; th++) {
        float **o = out[th];
        o[0] = malloc(ny * 4), o[1] = malloc(nx * 4), o[2] = malloc(nw * 4), o[3] = malloc(F * 4);
        lm_wino_forward(&s, F, x, w, b, LM_RELU, o[0], saved, tmp, pools[th]);
        lm_wino_backward(&s, F, g, x, saved, o[2], o[3], o[1], tmp, pools[th]);
        size_t n[4] = {ny, nx, nw, F};
        if (th > 1)
            for (int k = 0; k < 4; k++)
                CHECKF(!memcmp(o[k], out[1][k], n[k] * 4), "winograd output %d differs on %d threads",
                       k, th);
    }
    /* against im2col: sums of 288 (forward, dx) and 1764 (dw) terms */
    double *r = malloc(nx * sizeof *r > ny * sizeof *r ? nx * sizeof *r : ny * sizeof *r);
    for (size_t i = 0; i < ny; i++) r[i] = yi[i];
    CHECKF(close_d(out[1][0], r, ny, 1e-5, &at), "forward [%zu] %g vs im2col %g", at,
           out[1][0][at], yi[at]);
    for (size_t i = 0; i < nx; i++) r[i] = dxi[i];
    CHECKF(close_d(out[1][1], r, nx, 1e-5, &at), "dx [%zu] %g vs im2col %g", at, out[1][1][at],
           dxi[at]);
    for (size_t i = 0; i < nw; i++) r[i] = dwi[i];
    CHECKF(close_d(out[1][2], r, nw, 1e-4, &at), "dw [%zu] %g vs im2col %g", at, out[1][2][at],
           dwi[at]);
    CHECK(!memcmp(out[1][3], dbi, F * 4)); /* the same column sums */

    CHECK(lm_conv_algo(&s, F) == LM_CONV_WINOGRAD || getenv("LAMINA_CONV"));
    lm__conv_force(LM_CONV_IM2COL);
    CHECK(lm_conv_algo(&s, F) == LM_CONV_IM2COL);
    lm__conv_force(LM_CONV_WINOGRAD);
    lm_conv_shape first;
    CHECK(make_shape(&first, 2, 28, 28, 1, 3, 3, 1, LM_PAD_SAME) == 0);
    CHECK(lm_conv_algo(&first, 32) == LM_CONV_WINOGRAD);
    lm__conv_force(LM_CONV_AUTO);
    CHECK(lm_conv_algo(&first, 32) == LM_CONV_IM2COL); /* C = 1: im2col */
    CHECK(make_shape(&first, 2, 28, 28, 32, 3, 3, 2, LM_PAD_SAME) == 0);
    CHECK(lm_conv_algo(&first, 32) == LM_CONV_IM2COL); /* stride 2 */
    lm__conv_force(-1);
    for (int th = 1; th <= 3; th++)
        for (int k = 0; k < 4; k++) free(out[th][k]);
    free(x), free(w), free(b), free(g), free(col), free(dcol), free(yi), free(dxi), free(dwi);
    free(dbi), free(saved), free(tmp), free(r);
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
}

/* A first layer's weight gradient at a training batch (28x28, 64
 * images) is summed in parts of whole images: it and the one-GEMM sum
 * (dcol NULL) against a double sum, and the same bits on 1, 2 and 3
 * threads. */
static void test_dw_parts(void)
{
    lm_pool *pools[4] = {NULL};
    CHECK_OK(lm_pool_new(&pools[2], 2));
    CHECK_OK(lm_pool_new(&pools[3], 3));
    lm_conv_shape s;
    const int F = 32;
    CHECK(make_shape(&s, 64, 28, 28, 1, 3, 3, 1, LM_PAD_SAME) == 0);
    size_t nx = (size_t)64 * 784, ny = nx * F, nc = lm_conv_col_size(&s), nw = (size_t)9 * F, at = 0;
    float *x = rand_buf(nx), *g = rand_buf(ny), *col = malloc(nc * 4), *dcol = malloc(nc * 4);
    float *one = malloc(nw * 4), *dw[4] = {NULL};
    lm_im2col(&s, x, col, NULL);
    lm_conv2d_backward(&s, F, g, x, col, NULL, one, NULL, NULL, NULL, NULL);
    /* the sum in double: 50176 terms of +-1 products, so float sums of
     * either order are off by about 1e-3 where they cancel to ~0.1 */
    double *r = calloc(nw, sizeof *r);
    for (size_t m = 0; m < nx; m++)
        for (int k = 0; k < 9; k++)
            for (int f = 0; f < F; f++) r[k * F + f] += (double)col[m * 9 + k] * g[m * F + f];
    CHECKF(close_d(one, r, nw, 2e-3, &at), "dw by one GEMM [%zu] %g vs %g", at, one[at], r[at]);
    for (int th = 1; th <= 3; th++) {
        dw[th] = malloc(nw * 4);
        lm_conv2d_backward(&s, F, g, x, col, NULL, dw[th], NULL, NULL, dcol, pools[th]);
        if (th > 1) CHECKF(!memcmp(dw[th], dw[1], nw * 4), "dw in parts differs on %d threads", th);
    }
    CHECKF(close_d(dw[1], r, nw, 2e-3, &at), "dw in parts [%zu] %g vs %g", at, dw[1][at], r[at]);
    CHECK(memcmp(dw[1], one, nw * 4) != 0); /* the parts did run: other rounding */
    for (int th = 1; th <= 3; th++) free(dw[th]);
    free(x), free(g), free(col), free(dcol), free(one), free(r);
    lm_pool_free(pools[2]);
    lm_pool_free(pools[3]);
}

int main(void)
{
    RUN(test_geometry);
    RUN(test_conv_grid);
    RUN(test_col2im_adjoint);
    RUN(test_pool_grid);
    RUN(test_gavgpool);
    RUN(test_maxpool_ties);
    RUN(test_threads_bits);
    RUN(test_winograd_threads);
    RUN(test_dw_parts);
    TEST_MAIN_END();
}
