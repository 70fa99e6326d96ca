/* test_npy.c - lm_npy_read against files numpy wrote
 * (tests/fixtures/npy/, by tests/gen_npy_fixture.py: the tables below are
 * its INTS, NEG and FLOATS), and against malformed files made here from
 * them: each refusal must say where and what. */
#include "harness.h"
#include "lamina.h"

#include <stdint.h>

#define FIX "tests/fixtures/npy/"

static const double INTS[6] = {0, 1, 2, 100, 7, 127};
static const double NEG[6] = {-1, 1, 2, -100, 7, -128};
static const double FLOATS[6] = {0.5, -1.25, 3.0, 0.0009765625, -2.0, 65504.0};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 16);
    *len = b ? fread(b, 1, 1 << 16, f) : 0;
    fclose(f);
    return b;
}

static void same_values(const char *file, const lm_data *d, const double *want)
{
    CHECKF(d->n == 3 && d->nx == 2, "%s: %zu x %d", file, d->n, d->nx);
    if (d->n != 3 || d->nx != 2) return;
    for (int i = 0; i < 6; i++) {
        double v = d->x_type == LM_U8 ? ((const uint8_t *)d->x)[i] : ((const float *)d->x)[i];
        CHECKF(v == (double)(float)want[i], "%s: value %d is %g, want %g", file, i, v, want[i]);
    }
}

static void npy_dtypes(void)
{
    static const struct {
        const char *file;
        const double *want;
        lm_dtype type;
    } t[] = {
        {"u1.npy", INTS, LM_U8},      {"u2.npy", INTS, LM_F32},     {"u4.npy", INTS, LM_F32},
        {"u8.npy", INTS, LM_F32},     {"u2_be.npy", INTS, LM_F32},  {"i1.npy", NEG, LM_F32},
        {"i2.npy", NEG, LM_F32},      {"i4.npy", NEG, LM_F32},      {"i8.npy", NEG, LM_F32},
        {"i4_be.npy", NEG, LM_F32},   {"i8_be.npy", NEG, LM_F32},   {"f2.npy", FLOATS, LM_F32},
        {"f2_be.npy", FLOATS, LM_F32}, {"f4.npy", FLOATS, LM_F32},  {"f8.npy", FLOATS, LM_F32},
        {"f4_be.npy", FLOATS, LM_F32}, {"f8_be.npy", FLOATS, LM_F32},
        {"f4_v2.npy", FLOATS, LM_F32}, {"f4_v3.npy", FLOATS, LM_F32},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, FIX "%s", t[i].file);
        lm_data d;
        CHECK_OK(lm_npy_read(&d, path, NULL));
        CHECKF(d.x_type == t[i].type, "%s: x_type %d", t[i].file, (int)d.x_type);
        CHECKF(!d.labels && !d.y && !lm_data_shape(&d, NULL, NULL, NULL), "%s: targets or shape",
               t[i].file);
        same_values(t[i].file, &d, t[i].want);
        lm_data_free(&d);
    }
    /* bool: 0 and 1 */
    lm_data d;
    CHECK_OK(lm_npy_read(&d, FIX "b1.npy", NULL));
    const double b[6] = {0, 1, 1, 1, 1, 1};
    same_values("b1.npy", &d, b);
    lm_data_free(&d);
}

static void npy_fortran_and_images(void)
{
    lm_data c, f;
    CHECK_OK(lm_npy_read(&c, FIX "c_order.npy", NULL));
    CHECK_OK(lm_npy_read(&f, FIX "fortran.npy", NULL));
    CHECK(c.n == 3 && c.nx == 4 && f.n == 3 && f.nx == 4);
    for (int i = 0; i < 12 && c.x && f.x; i++) {
        CHECKF(((const float *)c.x)[i] == 0.25f * (float)i, "c_order[%d]", i);
        CHECKF(((const float *)f.x)[i] == 0.25f * (float)i, "fortran[%d] = %g", i,
               ((const float *)f.x)[i]);
    }
    lm_data_free(&c);
    lm_data_free(&f);
    /* (2, 3, 4, 2) uint8: two images of 3 x 4 pixels, 2 channels,
     * channels-last as lamina keeps them; the Fortran copy the same */
    const char *imgs[] = {"img_nhwc.npy", "img_nhwc_f.npy"};
    for (int k = 0; k < 2; k++) {
        char path[256];
        snprintf(path, sizeof path, FIX "%s", imgs[k]);
        lm_data d;
        int ch = 0, h = 0, w = 0;
        CHECK_OK(lm_npy_read(&d, path, NULL));
        CHECKF(d.n == 2 && d.nx == 24 && d.x_type == LM_U8, "%s: %zu x %d", imgs[k], d.n, d.nx);
        CHECKF(lm_data_shape(&d, &ch, &h, &w) && ch == 2 && h == 3 && w == 4, "%s: shape %d %d %d",
               imgs[k], ch, h, w);
        for (int i = 0; i < 48 && d.x; i++)
            CHECKF(((const uint8_t *)d.x)[i] == i, "%s: byte %d", imgs[k], i);
        lm_data_free(&d);
    }
    lm_data d;
    int ch = 0, h = 0, w = 0;
    CHECK_OK(lm_npy_read(&d, FIX "img_nhw.npy", NULL));
    CHECK(d.nx == 12 && lm_data_shape(&d, &ch, &h, &w) && ch == 1 && h == 3 && w == 4);
    for (int i = 0; i < 24 && d.x; i++) CHECKF(((const uint8_t *)d.x)[i] == 2 * i, "nhw byte %d", i);
    lm_data_free(&d);
}

static void npy_targets(void)
{
    lm_data d;
    const char *lab[] = {FIX "labels.npy", FIX "labels_u1.npy"};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(lm_npy_read(&d, FIX "f4.npy", lab[k]));
        CHECK(d.labels && d.n_classes == 3 && !d.y);
        CHECK(d.labels && d.labels[0] == 2 && d.labels[1] == 0 && d.labels[2] == 1);
        same_values("f4.npy", &d, FLOATS);
        lm_data_free(&d);
    }
    CHECK_OK(lm_npy_read(&d, FIX "u1.npy", FIX "targets.npy"));
    const float want[6] = {1.5f, -2.0f, 0.25f, 8.0f, 3.0f, 0.0f};
    CHECK(d.y && d.ny == 2 && !d.labels);
    for (int i = 0; i < 6 && d.y; i++) CHECKF(d.y[i] == want[i], "target %d", i);
    lm_data_free(&d);
    CHECK_OK(lm_npy_read(&d, FIX "u1.npy", FIX "target1.npy"));
    CHECK(d.y && d.ny == 1 && d.y[0] == 1.5f && d.y[1] == 0.25f && d.y[2] == 3.0f);
    lm_data_free(&d);
    /* integers that are no classes (a year, a negative) are numbers */
    CHECK_OK(lm_npy_read(&d, FIX "u1.npy", FIX "years.npy"));
    CHECK(d.y && d.ny == 1 && !d.labels && d.n_classes == 0);
    CHECK(d.y && d.y[0] == 1999.0f && d.y[1] == 70000.0f && d.y[2] == -40.0f);
    lm_data_free(&d);
}

static void npz_archives(void)
{
    /* stored, deflated, and stored with a zip64 end record */
    const char *both[] = {FIX "xy.npz", FIX "xy_z.npz", FIX "zip64.npz"};
    for (int k = 0; k < 3; k++) {
        lm_data d;
        CHECK_OK(lm_npy_read(&d, both[k], NULL));
        same_values(both[k], &d, FLOATS);
        CHECK(d.labels && d.n_classes == 3 && d.labels[0] == 2 && d.labels[2] == 1);
        lm_data_free(&d);
    }
    lm_data d;
    CHECK_OK(lm_npy_read(&d, FIX "only.npz", FIX "labels.npy"));
    same_values("only.npz", &d, FLOATS);
    CHECK(d.labels && d.n_classes == 3);
    lm_data_free(&d);
    CHECK_OK(lm_npy_read(&d, FIX "f4.npy", FIX "xy.npz")); /* targets from an npz: its y */
    CHECK(d.labels && d.n_classes == 3 && d.labels[0] == 2);
    lm_data_free(&d);
}

/* lm_npy_read_mem of x (and y) is refused with st, its message holding
 * each of the NULL-ended wants. */
static void refused_mem(const char *what, const void *x, size_t xl, const void *y, size_t yl,
                        lm_status st, const char *want1, const char *want2)
{
    lm_data d;
    lm_status got = lm_npy_read_mem(&d, "t.npy", x, xl, y ? "l.npy" : NULL, y, yl);
    const char *m = lm_errmsg();
    CHECKF(got == st && strstr(m, want1) && (!want2 || strstr(m, want2)),
           "%s: %s: '%s' (want '%s' '%s')", what, lm_status_name(got), m, want1,
           want2 ? want2 : "");
    CHECK(d.x == NULL && d.n == 0);
}

static void refused_file(const char *x, const char *y, lm_status st, const char *want1,
                         const char *want2)
{
    lm_data d;
    lm_status got = lm_npy_read(&d, x, y);
    const char *m = lm_errmsg();
    CHECKF(got == st && strstr(m, want1) && (!want2 || strstr(m, want2)),
           "%s: %s: '%s' (want '%s' '%s')", x, lm_status_name(got), m, want1, want2 ? want2 : "");
    CHECK(d.x == NULL && d.n == 0);
}

static void npz_zip64_damage(void)
{
    /* a zip64 locator pointing to no record, and a record that claims
     * more members than its directory can hold */
    size_t n64;
    unsigned char *z64 = slurp(FIX "zip64.npz", &n64);
    CHECK(z64 && n64 > 98);
    if (z64 && n64 > 98) {
        unsigned char *loc = z64 + n64 - 22 - 20, *rec = z64 + (loc[8] | loc[9] << 8);
        CHECK(loc[0] == 'P' && loc[3] == 7 && rec[0] == 'P' && rec[3] == 6);
        loc[8] ^= 1;
        refused_mem("zip64 locator", z64, n64, NULL, 0, LM_EFORMAT, "zip64 end record locator", NULL);
        loc[8] ^= 1;
        rec[32] = rec[24] = 0xff;
        refused_mem("zip64 count", z64, n64, NULL, 0, LM_EFORMAT, "members claimed", NULL);
        free(z64);
    }
}


/* A version 1.0 .npy of the header text hd (padded) and len data bytes. */
static size_t build(unsigned char *out, const char *hd, const void *data, size_t len)
{
    size_t h = strlen(hd), total = (10 + h + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)((total - 10) & 255);
    out[9] = (unsigned char)((total - 10) >> 8);
    memcpy(out + 10, hd, h);
    memset(out + 10 + h, ' ', total - 10 - h - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, len);
    return total + len;
}

static void npy_headers(void)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    unsigned char b[512];
    /* numpy's key order is not required; nor its spacing */
    size_t n = build(b, "{ 'shape':(3,2,) ,\"fortran_order\":False,'descr' : '<f4' , }", v, sizeof v);
    lm_data d;
    CHECK_OK(lm_npy_read_mem(&d, "t.npy", b, n, NULL, NULL, 0));
    CHECK(d.n == 3 && d.nx == 2 && d.x && ((const float *)d.x)[5] == 6.0f);
    lm_data_free(&d);
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", v, sizeof v);
    refused_mem("short", b, n - 5, NULL, 0, LM_EFORMAT, "5 bytes missing", "2 of 3 rows");
    refused_mem("magic", b + 1, n - 1, NULL, 0, LM_EFORMAT, "t.npy: not a NumPy file", NULL);
    unsigned char c[600];
    memcpy(c, b, n);
    c[n] = 0;
    refused_mem("trailing", c, n + 1, NULL, 0, LM_EFORMAT, "1 bytes after the 24 data bytes", NULL);
    c[6] = 4;
    refused_mem("version", c, n, NULL, 0, LM_EFORMAT, "version 4.0", NULL);
    /* a shape whose product overflows, and one far larger than the file */
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", v, 0);
    refused_mem("overflow", b, n, NULL, 0, LM_EFORMAT, "overflows", NULL);
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 4), }", v, sizeof v);
    refused_mem("huge", b, n, NULL, 0, LM_EFORMAT, "truncated: shape (1000000000000, 4) needs", NULL);
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 4), }", v, 0);
    refused_mem("dim", b, n, NULL, 0, LM_EFORMAT, "overflows", NULL);
    static const struct {
        const char *hd, *want;
    } bad[] = {
        {"{'descr': '<f4', 'shape': (3, 2), }", "lacks 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'x': 1}", "unknown key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)}", "'descr' twice"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 2)}", "not True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2)}", "non-negative integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [3, 2]}", "'shape' is not a tuple"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3, 2)}", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)} x", "text after the dict"},
        {"['descr', '<f4']", "not a Python dict"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", "dtype '<c8' is not one"},
        {"{'descr': '<f16', 'fortran_order': False, 'shape': (3,)}", "dtype '<f16' is not one"},
        {"{'descr': 'f4', 'fortran_order': False, 'shape': (3,)}", "dtype 'f4' is not one"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3,)}", "never unpickles"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}", "a single value"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2)}", "no rows"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = build(b, bad[i].hd, v, 0);
        refused_mem(bad[i].hd, b, n, NULL, 0, LM_EFORMAT, bad[i].want, NULL);
    }
    /* values: NaN and a float64 beyond float's range, named by place */
    float nanv[6] = {1, 2, 3, NAN, 5, 6};
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", nanv, sizeof nanv);
    refused_mem("nan", b, n, NULL, 0, LM_EFORMAT, "value nan at [1, 1] (row, column; element 3)", NULL);
    double big[2] = {1, 1e300};
    n = build(b, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", big, sizeof big);
    refused_mem("big", b, n, NULL, 0, LM_EFORMAT, "value 1e+300 at [1, 0]", NULL);
    /* integer targets with a negative one are numbers, not labels; a row
     * count that differs */
    int64_t lab[3] = {0, -1, 1};
    unsigned char l[256];
    n = build(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", v, sizeof v);
    size_t nl = build(l, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", lab, sizeof lab);
    CHECK_OK(lm_npy_read_mem(&d, "t.npy", b, n, "l.npy", l, nl));
    CHECK(!d.labels && d.y && d.ny == 1 && d.y[0] == 0.0f && d.y[1] == -1.0f && d.y[2] == 1.0f);
    lm_data_free(&d);
    nl = build(l, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", lab, 16);
    refused_mem("rows", b, n, l, nl, LM_EFORMAT, "t.npy holds 3 rows but l.npy holds 2", NULL);
    nl = build(l, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2), }", v, sizeof v);
    refused_mem("3-D targets", b, n, l, nl, LM_EFORMAT, "targets have 3 dimensions", NULL);
}

static void npy_refused_files(void)
{
    refused_file(FIX "object.npy", NULL, LM_EFORMAT, "object.npy: holds Python objects",
                 "allow_pickle");
    refused_file(FIX "record.npy", NULL, LM_EFORMAT, "record.npy: a structured dtype", NULL);
    refused_file(FIX "strings.npy", NULL, LM_EFORMAT, "strings.npy: holds strings", NULL);
    refused_file(FIX "f4.npy", FIX "labels4.npy", LM_EFORMAT, "f4.npy holds 3 rows",
                 "labels4.npy holds 4");
    refused_file(FIX "unnamed.npz", NULL, LM_EFORMAT, "unnamed.npz: holds 'arr_0', 'arr_1'",
                 "np.savez(f, x=X, y=y)");
    refused_file(FIX "xy.npz", FIX "labels.npy", LM_EINVAL, "xy.npz: holds targets", NULL);
    refused_file(FIX "nothere.npy", NULL, LM_EIO, "nothere.npy", NULL);
}

/* Zip damage: a flipped data byte (stored: CRC; deflated: the stream or
 * the CRC), a cut end, a directory offset out of range. */
static void npz_damaged(void)
{
    size_t n, m;
    unsigned char *s = slurp(FIX "xy.npz", &n), *z = slurp(FIX "xy_z.npz", &m);
    CHECK(s && z && n > 300 && m > 200);
    if (!s || !z || n <= 300 || m <= 200) goto out;
    s[200] ^= 1; /* in x.npy's data (after its 128-byte header) */
    refused_mem("stored crc", s, n, NULL, 0, LM_EFORMAT, "t.npy: member 'x.npy': CRC-32 mismatch",
                NULL);
    s[200] ^= 1;
    refused_mem("cut", s, n - 30, NULL, 0, LM_EFORMAT, "no zip end record", NULL);
    s[n - 6] ^= 0x40; /* the directory's offset */
    refused_mem("cd offset", s, n, NULL, 0, LM_EFORMAT, "central directory", NULL);
    s[n - 6] ^= 0x40;
    int hit = 0;
    for (size_t i = 60; i < 120 && !hit; i++) {
        z[i] ^= 0x55;
        lm_data d;
        lm_status st = lm_npy_read_mem(&d, "t.npz", z, m, NULL, NULL, 0);
        const char *msg = lm_errmsg();
        CHECKF(st == LM_EFORMAT && strstr(msg, "t.npz: member 'X.npy'"), "byte %zu: %s: %s", i,
               lm_status_name(st), msg);
        hit = st != LM_OK;
        z[i] ^= 0x55;
    }
    CHECK(hit);
    /* the directory's uncompressed size of the first member: one less, one
     * more, and a claim no deflate stream of its size can reach */
    size_t cd = 0;
    for (size_t i = m - 22; i-- > 0 && !cd;)
        if (!memcmp(z + i, "PK\1\2", 4) && !memcmp(z + i + 46, "X.npy", 5)) cd = i;
    CHECK(cd > 0);
    if (cd) {
        unsigned char *u = z + cd + 24, keep[4];
        memcpy(keep, u, 4);
        u[0]--;
        refused_mem("usize-1", z, m, NULL, 0, LM_EFORMAT, "inflates to more than the 151 bytes",
                    NULL);
        u[0] += 2;
        refused_mem("usize+1", z, m, NULL, 0, LM_EFORMAT, "inflates to fewer than the 153 bytes",
                    NULL);
        memcpy(u, "\xff\xff\xff\x7f", 4);
        refused_mem("usize huge", z, m, NULL, 0, LM_EFORMAT, "cannot inflate to the 2147483647",
                    NULL);
        memcpy(u, keep, 4);
    }
    lm_data d;
    CHECK_OK(lm_npy_read_mem(&d, "t.npz", z, m, NULL, NULL, 0)); /* undamaged again */
    lm_data_free(&d);
out:
    free(s);
    free(z);
}

int main(void)
{
    RUN(npy_dtypes);
    RUN(npy_fortran_and_images);
    RUN(npy_targets);
    RUN(npz_archives);
    RUN(npz_zip64_damage);
    RUN(npy_headers);
    RUN(npy_refused_files);
    RUN(npz_damaged);
    TEST_MAIN_END();
}
