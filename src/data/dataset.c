/* dataset.c - what every data set shares: who owns its memory, the
 * normalisation statistics, and the shuffled train/validation split.
 *
 * Ownership: a reader builds an lm_data whose x, labels, y, class_names
 * and feature_names are each ONE malloc'd block (a name list is its pointer
 * array followed by the characters), then calls lm__data_adopt, which
 * records those blocks in one struct hung on d->owned_. lm_data_free frees
 * exactly what that struct holds, so a caller-filled view (owned_ NULL)
 * is never freed. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lm__data_owned {
    void *x, *labels, *y, *class_names, *feature_names;
    char **target_names; /* (n_targets) or NULL: the reader's target columns */
    int n_targets;
    int c, h, w; /* the rows' shape, or 0s: flat (lm_data_shape) */
    char *categories;   /* lm_data_categories, or NULL */
    lm__cat_info *cats; /* (n_cats) */
    int n_cats;
} lm__data_owned;

/* Frees the blocks a reader built into d but has not adopted yet (an error
 * path), and zeroes d. */
void lm__data_discard(lm_data *d)
{
    free((void *)d->x);
    free((void *)d->labels);
    free((void *)d->y);
    free(d->class_names);
    free(d->feature_names);
    memset(d, 0, sizeof *d);
}

lm_status lm__data_adopt(lm_data *d)
{
    lm__data_owned *o = lm__alloc(1, sizeof *o, "data set");
    if (!o) {
        lm__data_discard(d);
        return LM_ENOMEM;
    }
    o->x = (void *)d->x;
    o->labels = (void *)d->labels;
    o->y = (void *)d->y;
    o->class_names = d->class_names;
    o->feature_names = d->feature_names;
    o->target_names = NULL;
    o->n_targets = 0;
    o->c = o->h = o->w = 0;
    o->categories = NULL;
    o->cats = NULL;
    o->n_cats = 0;
    d->owned_ = o;
    return LM_OK;
}

void lm__data_set_shape(lm_data *d, int c, int h, int w)
{
    lm__data_owned *o = d->owned_;
    if (!o || c < 1 || h < 1 || w < 1 || (long long)c * h * w != d->nx) return;
    o->c = c;
    o->h = h;
    o->w = w;
}

int lm_data_shape(const lm_data *d, int *c, int *h, int *w)
{
    const lm__data_owned *o = d ? d->owned_ : NULL;
    if (!o || !o->c || (long long)o->c * o->h * o->w != d->nx) return 0;
    if (c) *c = o->c;
    if (h) *h = o->h;
    if (w) *w = o->w;
    return 1;
}

void lm__data_set_target_names(lm_data *d, char **names, int n)
{
    lm__data_owned *o = d->owned_;
    if (!o) {
        free(names);
        return;
    }
    free(o->target_names);
    o->target_names = names;
    o->n_targets = names ? n : 0;
}

void lm__cat_info_free(lm__cat_info *info, int n)
{
    for (int k = 0; info && k < n; k++) {
        free(info[k].name);
        free(info[k].example);
    }
    free(info);
}

void lm__data_set_categories(lm_data *d, char *text, lm__cat_info *info, int n)
{
    lm__data_owned *o = d->owned_;
    if (!o) {
        free(text);
        lm__cat_info_free(info, n);
        return;
    }
    free(o->categories);
    lm__cat_info_free(o->cats, o->n_cats);
    o->categories = text;
    o->cats = info;
    o->n_cats = info ? n : 0;
}

const char *lm_data_categories(const lm_data *d)
{
    const lm__data_owned *o = d ? d->owned_ : NULL;
    return o ? o->categories : NULL;
}

int lm_data_category(const lm_data *d, int k, const char **name, int *first_input,
                     int *n_values, size_t *n_missing, size_t *n_unseen,
                     const char **unseen_example)
{
    const lm__data_owned *o = d ? d->owned_ : NULL;
    if (!o || k < 0 || k >= o->n_cats) return 0;
    const lm__cat_info *c = &o->cats[k];
    if (name) *name = c->name;
    if (first_input) *first_input = c->first;
    if (n_values) *n_values = c->k;
    if (n_missing) *n_missing = c->missing;
    if (n_unseen) *n_unseen = c->unseen;
    if (unseen_example) *unseen_example = c->example;
    return 1;
}

const char *lm_data_target_name(const lm_data *d, int k)
{
    const lm__data_owned *o = d ? d->owned_ : NULL;
    if (!o || !o->target_names || k < 0 || k >= o->n_targets) return NULL;
    return o->target_names[k];
}

void lm_data_free(lm_data *d)
{
    if (!d) return;
    lm__data_owned *o = d->owned_;
    if (o) {
        free(o->x);
        free(o->labels);
        free(o->y);
        free(o->class_names);
        free(o->feature_names);
        free(o->target_names);
        free(o->categories);
        lm__cat_info_free(o->cats, o->n_cats);
        free(o);
    }
    memset(d, 0, sizeof *d);
}

/* One block holding n pointers then the n strings (each s[i] of len[i]
 * bytes, not necessarily terminated), so one free releases it. */
char **lm__names_pack(int n, const char *const *s, const size_t *len)
{
    size_t chars = 0, bytes;
    for (int i = 0; i < n; i++) {
        if (len[i] >= SIZE_MAX / 2 - chars) {
            lm__err(LM_ENOMEM, "names: too long");
            return NULL;
        }
        chars += len[i] + 1;
    }
    if (!lm__mul_ok((size_t)n, sizeof(char *), &bytes) || bytes > SIZE_MAX - chars) {
        lm__err(LM_ENOMEM, "names: too many");
        return NULL;
    }
    char **names = lm__alloc(bytes + chars, 1, "names");
    if (!names) return NULL;
    char *at = (char *)(names + n);
    for (int i = 0; i < n; i++) {
        names[i] = at;
        if (len[i]) memcpy(at, s[i], len[i]);
        at[len[i]] = '\0';
        at += len[i] + 1;
    }
    return names;
}

/* A packed copy of n names, or NULL (without error) when src is NULL. */
static lm_status names_copy(char **src, int n, char ***out)
{
    *out = NULL;
    if (!src || n <= 0) return LM_OK;
    size_t *len = lm__alloc((size_t)n, sizeof *len, "names");
    if (!len) return LM_ENOMEM;
    for (int i = 0; i < n; i++) len[i] = strlen(src[i]);
    *out = lm__names_pack(n, (const char *const *)src, len);
    free(len);
    return *out ? LM_OK : LM_ENOMEM;
}

static size_t x_elem_size(lm_dtype t) { return t == LM_U8 ? 1 : sizeof(float); }

/* Row i of x (nx values) added into acc as doubles; with mean given, the
 * squared deviations are added instead. */
static void row_accumulate(const lm_data *d, size_t i, const double *mean, double *acc)
{
    int nx = d->nx;
    if (d->x_type == LM_U8) {
        const uint8_t *r = (const uint8_t *)d->x + i * (size_t)nx;
        if (!mean)
            for (int j = 0; j < nx; j++) acc[j] += r[j];
        else
            for (int j = 0; j < nx; j++) acc[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
    } else {
        const float *r = (const float *)d->x + i * (size_t)nx;
        if (!mean)
            for (int j = 0; j < nx; j++) acc[j] += r[j];
        else
            for (int j = 0; j < nx; j++) acc[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
    }
}

/* row_accumulate over F32 data, skipping NaN cells: with cnt, the sums
 * into m and the counts into cnt (both reset first); without, the squared
 * deviations from the means m into ss. */
static void present_sums(const lm_data *d, double *m, double *ss, double *cnt)
{
    size_t nx = (size_t)d->nx;
    const float *x = d->x;
    if (cnt)
        for (size_t j = 0; j < nx; j++) m[j] = cnt[j] = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        const float *r = x + i * nx;
        for (size_t j = 0; j < nx; j++) {
            if (isnan(r[j])) continue;
            if (cnt) {
                m[j] += r[j];
                cnt[j] += 1.0;
            } else {
                ss[j] += (r[j] - m[j]) * (r[j] - m[j]);
            }
        }
    }
}

lm_status lm_data_norm_stats(const lm_data *d, float *mean, float *scale)
{
    LM_NONNULL(d);
    LM_NONNULL(mean);
    LM_NONNULL(scale);
    if (!d->x || d->n == 0 || d->nx <= 0)
        return lm__err(LM_EINVAL, "norm stats: empty data set (%zu rows, %d features)", d->n,
                       d->nx);
    if (d->x_type != LM_F32 && d->x_type != LM_U8)
        return lm__err(LM_EINVAL, "norm stats: unknown x_type %d", (int)d->x_type);
    size_t nx = (size_t)d->nx;
    // (nx) mean, (nx) sum sq, (nx) present values
    double *m = lm__calloc(3 * nx, sizeof *m, "norm stats");
    if (!m) return LM_ENOMEM;
    double *ss = m + nx, *cnt = m + 2 * nx;
    /* Two passes (mean, then squared deviations) in double: no cancellation
     * of the kind sum(x^2) - n mean^2 suffers on pixel-like data. */
    for (size_t i = 0; i < d->n; i++) row_accumulate(d, i, NULL, m);
    int holes = 0;
    for (size_t j = 0; j < nx; j++) {
        holes |= isnan(m[j]);
        cnt[j] = (double)d->n;
    }
    if (holes) /* missing values (NaN, F32 only): the same sums over the present ones */
        present_sums(d, m, ss, cnt);
    for (size_t j = 0; j < nx; j++) m[j] = cnt[j] > 0 ? m[j] / cnt[j] : 0.0;
    if (holes) present_sums(d, m, ss, NULL);
    else
        for (size_t i = 0; i < d->n; i++) row_accumulate(d, i, m, ss);
    for (size_t j = 0; j < nx; j++) {
        double sd = cnt[j] > 0 ? sqrt(ss[j] / cnt[j]) : 0.0;
        mean[j] = (float)m[j];
        /* A constant feature (std 0, or only rounding noise relative to its
         * mean) is left unscaled rather than blown up. */
        int tiny = !(sd > 1e-10 * fabs(m[j])) || sd < 1e-30;
        scale[j] = tiny ? 1.0f : (float)(1.0 / sd);
    }
    free(m);
    return LM_OK;
}

/* A new data set holding the rows perm[0..n) of d (copies). */
static lm_status take_rows(const lm_data *d, const size_t *perm, size_t n, lm_data *out)
{
    lm_data r = {.n = n, .nx = d->nx, .x_type = d->x_type, .n_classes = d->n_classes,
                 .ny = d->y ? d->ny : 0};
    size_t row_bytes = (size_t)d->nx * x_elem_size(d->x_type);
    lm_status st = LM_ENOMEM;
    memset(out, 0, sizeof *out);
    if (n > 0) {
        unsigned char *x = lm__alloc(n, row_bytes ? row_bytes : 1, "split: x");
        r.x = x;
        if (!x) goto fail;
        for (size_t i = 0; i < n; i++)
            memcpy(x + i * row_bytes, (const unsigned char *)d->x + perm[i] * row_bytes,
                   row_bytes);
        if (d->labels) {
            int32_t *l = lm__alloc(n, sizeof *l, "split: labels");
            r.labels = l;
            if (!l) goto fail;
            for (size_t i = 0; i < n; i++) l[i] = d->labels[perm[i]];
        }
        if (d->y && d->ny > 0) {
            size_t ny = (size_t)d->ny, bytes;
            if (!lm__mul_ok(n, ny, &bytes)) {
                lm__err(LM_ENOMEM, "split: %zu x %zu targets overflow", n, ny);
                goto fail;
            }
            float *y = lm__alloc(bytes, sizeof *y, "split: y");
            r.y = y;
            if (!y) goto fail;
            for (size_t i = 0; i < n; i++)
                memcpy(y + i * ny, d->y + perm[i] * ny, ny * sizeof *y);
        }
    }
    if (names_copy(d->class_names, d->n_classes, &r.class_names) != LM_OK) goto fail;
    if (names_copy(d->feature_names, d->nx, &r.feature_names) != LM_OK) goto fail;
    st = lm__data_adopt(&r);
    if (st == LM_OK) {
        int c, h, w;
        if (lm_data_shape(d, &c, &h, &w)) lm__data_set_shape(&r, c, h, w);
        *out = r;
    }
    return st;
fail:
    lm__data_discard(&r);
    return st;
}

lm_status lm_data_split(const lm_data *d, float frac, lm_rng *rng, lm_data *a, lm_data *b)
{
    LM_NONNULL(d);
    LM_NONNULL(rng);
    LM_NONNULL(a);
    LM_NONNULL(b);
    if (a == b) return lm__err(LM_EINVAL, "lm_data_split: a and b are the same set");
    if (!(frac >= 0.0f && frac < 1.0f))
        return lm__err(LM_EINVAL, "split: fraction %g is not in [0, 1)", (double)frac);
    if (d->n == 0 || !d->x || d->nx <= 0)
        return lm__err(LM_EINVAL, "split: empty data set (%zu rows, %d features%s)", d->n, d->nx,
                       d->x ? "" : ", x NULL");
    if (d->x_type != LM_F32 && d->x_type != LM_U8)
        return lm__err(LM_EINVAL, "split: unknown x_type %d", (int)d->x_type);
    size_t n = d->n;
    size_t nb = (size_t)floor((double)frac * (double)n + 0.5);
    size_t na = n - nb;
    if (frac > 0.0f && (nb == 0 || na == 0))
        return lm__err(LM_EINVAL, "split: a fraction of %g of %zu rows leaves an empty set",
                       (double)frac, n);
    size_t *perm = lm__alloc(n, sizeof *perm, "split: permutation");
    if (!perm) return LM_ENOMEM;
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) { // Fisher-Yates
        size_t j = (size_t)lm_rng_below(rng, (uint64_t)i + 1);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    /* Built into locals and stored last, so a or b may alias d. */
    lm_data ra, rb;
    lm_status st = take_rows(d, perm, na, &ra);
    if (st == LM_OK) {
        st = take_rows(d, perm + na, nb, &rb);
        if (st != LM_OK) lm_data_free(&ra);
    }
    free(perm);
    if (st != LM_OK) return st;
    *a = ra;
    *b = rb;
    return LM_OK;
}
