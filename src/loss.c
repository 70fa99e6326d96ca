/* loss.c - losses: each value next to its gradient, and their names.
 *
 * Targets come either as float vectors y (n, w) or as class labels (n):
 * a label stands for a one-hot row when w > 1 and for the value itself
 * when w == 1 (binary classification with one sigmoid output).
 *
 * Cross-entropy over one output is the binary one: that output is the
 * probability of class 1, and -t log p alone would leave class 0 out.
 *
 * Softmax + cross-entropy and sigmoid + binary cross-entropy are fused:
 * the loss reads the logits and uses log-sum-exp forms, so huge logits
 * give finite losses and exact gradients (p - y). */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const loss_names[LM_LOSS_COUNT] = {"sse", "mse", "bce", "ce"};

const char *lm_loss_name(lm_loss l)
{
    return (unsigned)l < LM_LOSS_COUNT ? loss_names[l] : "?";
}

int lm_loss_from_name(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < LM_LOSS_COUNT; i++)
        if (strcmp(s, loss_names[i]) == 0) return i;
    return -1;
}

int lm__loss_fused(lm_loss loss, lm_act last_act, int n_out)
{
    int binary = loss == LM_LOSS_BCE || (loss == LM_LOSS_CE && n_out == 1);
    return (loss == LM_LOSS_CE && last_act == LM_SOFTMAX) || (binary && last_act == LM_SIGMOID);
}

/* The target of row r, column j (see the note at the top). */
static inline float target(const float *y, const int32_t *labels, size_t r, int j, int w)
{
    if (y) return y[r * (size_t)w + j];
    if (w == 1) return (float)labels[r];
    return labels[r] == j ? 1.0f : 0.0f;
}

/* log(x) floored at -100 like PyTorch's BCELoss, so p = 0 stays finite. */
static inline double safe_log(double x) { return x > 0 ? fmax(log(x), -100.0) : -100.0; }

static double squared(const float *out, const float *y, const int32_t *labels, size_t n,
                      int w, float *dout, float gscale)
{
    double sum = 0;
    if (y) { /* float targets: one flat pass, the same arithmetic */
        size_t m = n * (size_t)w;
        for (size_t i = 0; i < m; i++) {
            float diff = out[i] - y[i];
            sum += (double)diff * diff;
        }
        if (dout)
            for (size_t i = 0; i < m; i++) dout[i] = 2.0f * (out[i] - y[i]) * gscale;
        return sum;
    }
    for (size_t r = 0; r < n; r++)
        for (int j = 0; j < w; j++) {
            size_t i = r * (size_t)w + j;
            float diff = out[i] - target(y, labels, r, j, w);
            sum += (double)diff * diff;
            if (dout) dout[i] = 2.0f * diff * gscale;
        }
    return sum;
}

/* Row r's class weight: 1 without weights (then every product with it
 * is exact, so the unweighted bits stay as they were). */
static inline double row_weight(const float *cw, const int32_t *labels, size_t r)
{
    return cw ? (double)cw[labels[r]] : 1.0;
}

static double bce(int fused, const float *out, const float *y, const int32_t *labels,
                  const float *cw, size_t n, size_t norm, int w, float *dout)
{
    double sum = 0, inv0 = 1.0 / ((double)norm * w);
    for (size_t r = 0; r < n; r++) {
        /* class weights: row r's terms and gradient, w[c] times */
        double wr = row_weight(cw, labels, r), inv = inv0 * wr, rsum = 0;
        double *acc = cw ? &rsum : &sum; /* unweighted: summed as before */
        for (int j = 0; j < w; j++) {
            size_t i = r * (size_t)w + j;
            double t = target(y, labels, r, j, w), z = out[i];
            if (fused) {
                /* -(t log s(z) + (1-t) log(1-s(z))) = max(z,0) - z t + log(1+e^-|z|) */
                *acc += fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
                if (dout) dout[i] = (float)((1.0 / (1.0 + exp(-z)) - t) * inv);
            } else {
                *acc -= t * safe_log(z) + (1 - t) * safe_log(1 - z);
                if (dout) {
                    double den = fmax(z * (1 - z), 1e-12);
                    dout[i] = (float)((z - t) / den * inv);
                }
            }
        }
        if (cw) sum += wr * rsum;
    }
    return sum * inv0;
}

/* The sum over j of exp(z_j - mx) (in double); the exps themselves go to
 * e when it is not NULL. */
static double sum_exp(const float *z, int w, float mx, float *e)
{
    enum { CHUNK = 256 };
    float buf[CHUNK];
    double se = 0;
    for (int j0 = 0; j0 < w; j0 += CHUNK) {
        int m = w - j0 < CHUNK ? w - j0 : CHUNK;
        float *dst = e ? e + j0 : buf;
        for (int j = 0; j < m; j++) dst[j] = z[j0 + j] - mx;
        lm_vec_exp(dst, (size_t)m);
        for (int j = 0; j < m; j++) se += dst[j];
    }
    return se;
}

static double ce(int fused, const float *out, const float *y, const int32_t *labels,
                 const float *cw, size_t n, size_t norm, int w, float *dout)
{
    double sum = 0, inv0 = 1.0 / (double)norm;
    for (size_t r = 0; r < n; r++) {
        double wr = row_weight(cw, labels, r), inv = inv0 * wr, rsum = 0;
        double *acc = cw ? &rsum : &sum; /* unweighted: summed as before */
        const float *z = out + r * (size_t)w;
        float *d = dout ? dout + r * (size_t)w : NULL;
        if (fused) {
            float mx = z[0];
            for (int j = 1; j < w; j++) mx = z[j] > mx ? z[j] : mx;
            double se = sum_exp(z, w, mx, d), tsum = 0, tz = 0;
            double lse = mx + log(se);
            for (int j = 0; j < w; j++) {
                double t = target(y, labels, r, j, w);
                tsum += t;
                tz += t * z[j];
            }
            *acc += lse * tsum - tz;
            /* d holds exp(z - mx); exp(z - lse) = that / se */
            if (d)
                for (int j = 0; j < w; j++)
                    d[j] = (float)((d[j] / se * tsum - target(y, labels, r, j, w)) * inv);
        } else {
            for (int j = 0; j < w; j++) {
                double t = target(y, labels, r, j, w);
                *acc -= t * safe_log(z[j]);
                if (d) d[j] = (float)(-t / fmax(z[j], 1e-12) * inv);
            }
        }
        if (cw) sum += wr * rsum;
    }
    return sum * inv0;
}

double lm__loss(lm_loss loss, int fused, const float *out, const float *y,
                const int32_t *labels, const float *cw, size_t n, size_t norm, int w, float *dout)
{
    if (!labels) cw = NULL; /* weights go with labels (lm_train_new checks) */
    switch (loss) {
    case LM_LOSS_SSE: return squared(out, y, labels, n, w, dout, 1.0f);
    case LM_LOSS_MSE: {
        double inv = 1.0 / ((double)norm * w);
        return squared(out, y, labels, n, w, dout, (float)inv) * inv;
    }
    case LM_LOSS_BCE: return bce(fused, out, y, labels, cw, n, norm, w, dout);
    case LM_LOSS_CE: /* one output: p(class 1), so -(t log p + (1 - t) log(1 - p)) */
        if (w == 1) return bce(fused, out, y, labels, cw, n, norm, w, dout);
        return ce(fused, out, y, labels, cw, n, norm, w, dout);
    default: return NAN;
    }
}

static int argmax(const float *v, int w)
{
    int best = 0;
    for (int j = 1; j < w; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

size_t lm__correct(int fused, const float *out, const float *y, const int32_t *labels,
                   size_t n, int w)
{
    size_t ok = 0;
    float thresh = fused ? 0.0f : 0.5f;
    for (size_t r = 0; r < n; r++) {
        const float *o = out + r * (size_t)w;
        int pred, truth;
        if (w == 1) {
            pred = o[0] > thresh;
            truth = y ? y[r] > 0.5f : labels[r] != 0;
        } else {
            pred = argmax(o, w);
            truth = y ? argmax(y + r * (size_t)w, w) : labels[r];
        }
        ok += pred == truth;
    }
    return ok;
}
