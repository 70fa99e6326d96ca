/* test_data.c - CSV and IDX readers, normalisation statistics, splits.
 * Every input is written by the test into a fresh folder under /tmp. */
#include "harness.h"
#include "lamina.h"

#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

static char tmp_dir[64];
static char paths[256][128]; /* every file written, removed at the end */
static int n_paths;

/* Writes len bytes to tmp_dir/name; returns the path. */
static const char *write_file(const char *name, const void *buf, size_t len)
{
    char want[128];
    snprintf(want, sizeof want, "%s/%s", tmp_dir, name);
    int i = 0;
    while (i < n_paths && strcmp(paths[i], want) != 0) i++;
    if (i == n_paths && n_paths < 256) n_paths++;
    char *p = paths[i < 256 ? i : 255];
    memcpy(p, want, sizeof want);
    FILE *f = fopen(p, "wb");
    if (!f) {
        printf("FAIL setup: cannot write %s\n", p);
        exit(1);
    }
    if (len) fwrite(buf, 1, len, f);
    fclose(f);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* Reads text as name with opts; checks LM_OK. */
static lm_status csv_text(lm_data *d, const char *name, const char *text, const lm_csv_opts *o)
{
    const char *p = write_text(name, text);
    lm_status st = lm_csv_read(d, p, o);
    CHECKF(st == LM_OK, "%s: %s: %s", name, lm_status_name(st), lm_errmsg());
    return st;
}

/* Reads text as name; checks the status, that *d stays zeroed, and that
 * the message holds the file name and each given fragment. */
static void csv_bad(const char *name, const char *text, size_t len, const lm_csv_opts *o,
                    lm_status want, const char *frag1, const char *frag2)
{
    const char *p = write_file(name, text, len);
    lm_data d;
    memset(&d, 0x55, sizeof d);
    lm_status st = lm_csv_read(&d, p, o);
    const char *m = lm_errmsg();
    CHECKF(st == want, "%s: got %s (%s), want %s", name, lm_status_name(st), m,
           lm_status_name(want));
    CHECKF(contains(m, name), "%s: message lacks the file name: %s", name, m);
    CHECKF(!frag1 || contains(m, frag1), "%s: message lacks '%s': %s", name, frag1, m);
    CHECKF(!frag2 || contains(m, frag2), "%s: message lacks '%s': %s", name, frag2, m);
    CHECKF(d.x == NULL && d.n == 0 && d.owned_ == NULL, "%s: output not zeroed", name);
    lm_data_free(&d);
}

static void csv_bad_text(const char *name, const char *text, lm_status want, const char *frag1,
                         const char *frag2)
{
    csv_bad(name, text, strlen(text), NULL, want, frag1, frag2);
}

static int xf_eq(const lm_data *d, const float *want, size_t count)
{
    if (d->x_type != LM_F32 || !d->x) return 0;
    const float *x = d->x;
    for (size_t i = 0; i < count; i++)
        if (x[i] != want[i]) {
            printf("  x[%zu] = %.9g, want %.9g\n", i, x[i], want[i]);
            return 0;
        }
    return 1;
}

static int names_eq(char **names, const char *const *want, int n)
{
    if (!names) return 0;
    for (int i = 0; i < n; i++)
        if (!names[i] || strcmp(names[i], want[i]) != 0) {
            printf("  name %d = '%s', want '%s'\n", i, names[i] ? names[i] : "(null)",
                   want[i]);
            return 0;
        }
    return 1;
}

/* ------------------------------------------------------------ CSV good */

static void test_csv_header_string_classes(void)
{
    lm_data d;
    if (csv_text(&d, "classes.csv", "a,b,label\n1,2,cat\n3,4.5,dog\n5,-6,cat\n", NULL)) return;
    static const float x[] = {1, 2, 3, 4.5f, 5, -6};
    CHECK(d.n == 3 && d.nx == 2 && d.x_type == LM_F32);
    CHECK(xf_eq(&d, x, 6));
    CHECK(d.labels && d.labels[0] == 0 && d.labels[1] == 1 && d.labels[2] == 0);
    CHECK(d.n_classes == 2 && d.y == NULL && d.ny == 0);
    CHECK(names_eq(d.class_names, (const char *[]){"cat", "dog"}, 2));
    CHECK(names_eq(d.feature_names, (const char *[]){"a", "b"}, 2));
    CHECK(d.owned_ != NULL);
    lm_data_free(&d);
    CHECK(d.x == NULL && d.owned_ == NULL && d.n == 0);
}

static void test_csv_bom_crlf_no_final_newline(void)
{
    lm_data d;
    if (csv_text(&d, "bom.csv", "\xEF\xBB\xBFx,y\r\n1,2.25\r\n3,4\r\n-5,0.5", NULL)) return;
    static const float x[] = {1, 3, -5};
    CHECK(d.n == 3 && d.nx == 1 && xf_eq(&d, x, 3));
    CHECK(d.y && d.ny == 1 && d.labels == NULL);
    CHECK(d.y && d.y[0] == 2.25f && d.y[1] == 4 && d.y[2] == 0.5f);
    CHECK(names_eq(d.feature_names, (const char *[]){"x"}, 1));
    lm_data_free(&d);
    /* Line numbers count a CRLF once; a lone CR ends a line too. */
    csv_bad_text("crlf_line.csv", "x,y\r\n1,2\r\n3,4\r\nbad,5\r\n", LM_EFORMAT,
                 "crlf_line.csv:4:1:", NULL);
    csv_bad_text("cr_line.csv", "x,y\r1,2\rbad,5\r", LM_EFORMAT, "cr_line.csv:3:1:", NULL);
}

static void test_csv_quotes(void)
{
    lm_data d;
    const char *text = "\"first\",\"b,c\",\"say \"\"hi\"\"\"\n"
                       "\"1\", 2 ,\"x\"\"y\"\n"
                       "3,\"4\",\"multi\nline, too\"\n"
                       "5,6,\"x\"\"y\"\n"
                       "7,8,plain\n";
    if (csv_text(&d, "quotes.csv", text, NULL)) return;
    static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(d.n == 4 && d.nx == 2 && xf_eq(&d, x, 8));
    CHECK(d.n_classes == 3);
    /* Sorted by their bytes: "multi..." < "plain" < "x\"y". */
    CHECK(names_eq(d.class_names, (const char *[]){"multi\nline, too", "plain", "x\"y"}, 3));
    CHECK(d.labels && d.labels[0] == 2 && d.labels[1] == 0 && d.labels[2] == 2 &&
          d.labels[3] == 1);
    CHECK(names_eq(d.feature_names, (const char *[]){"first", "b,c"}, 2));
    lm_data_free(&d);
    /* Lines after a quoted newline are still counted right. */
    csv_bad_text("quotes_line.csv", "a,b,c\n1,2,\"x\ny\"\n3,oops,z\n", LM_EFORMAT,
                 "quotes_line.csv:4:2: expected a number, found 'oops'", NULL);
}

static void test_csv_semicolon_int_classes(void)
{
    lm_data d;
    lm_csv_opts o = lm_csv_defaults();
    o.target_kind = 1; /* integers are numbers unless asked for as classes */
    if (csv_text(&d, "semi.csv", "a;b;c\n1.5;2;1\n3;4;0\n5;6;1\n7;8;0\n", &o)) return;
    static const float x[] = {1.5f, 2, 3, 4, 5, 6, 7, 8};
    CHECK(d.n == 4 && d.nx == 2 && xf_eq(&d, x, 8));
    CHECK(d.labels && d.n_classes == 2 && d.y == NULL);
    CHECK(d.labels && d.labels[0] == 1 && d.labels[1] == 0 && d.labels[2] == 1 &&
          d.labels[3] == 0);
    CHECK(names_eq(d.class_names, (const char *[]){"0", "1"}, 2));
    lm_data_free(&d);
}

static void test_csv_tab_no_header_regression(void)
{
    lm_data d;
    if (csv_text(&d, "tab.tsv", "1\t2\t3.5\n4\t5\t6.5\n", NULL)) return;
    static const float x[] = {1, 2, 4, 5};
    CHECK(d.n == 2 && d.nx == 2 && xf_eq(&d, x, 4));
    CHECK(d.y && d.ny == 1 && d.y[0] == 3.5f && d.y[1] == 6.5f && d.labels == NULL);
    CHECK(d.feature_names == NULL && d.class_names == NULL);
    lm_data_free(&d);
}

static void test_csv_header_forced(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    o.header = 1; /* numeric names */
    if (csv_text(&d, "forced1.csv", "10,20,30\n1,2,3.5\n4,5,6.5\n", &o)) return;
    CHECK(d.n == 2 && d.nx == 2);
    CHECK(names_eq(d.feature_names, (const char *[]){"10", "20"}, 2));
    lm_data_free(&d);
    o.header = 0; /* the first row is data even though detection would say header */
    o.target_kind = 1;
    if (csv_text(&d, "forced0.csv", "1,2,x\n3,4,y\n", &o)) return;
    CHECK(d.n == 2 && d.feature_names == NULL && d.n_classes == 2);
    lm_data_free(&d);
}

static void test_csv_int_classes_sorted(void)
{
    lm_data d;
    lm_csv_opts o = lm_csv_defaults();
    o.target_kind = 1;
    /* 10 and 9: sorted numerically (9 first), not as text. */
    if (csv_text(&d, "sorted.csv", "f,t\n1,10\n2,9\n3,10\n4,9\n5,9\n", &o)) return;
    CHECK(d.n_classes == 2 && d.labels);
    CHECK(d.labels && d.labels[0] == 1 && d.labels[1] == 0 && d.labels[2] == 1 &&
          d.labels[4] == 0);
    CHECK(names_eq(d.class_names, (const char *[]){"9", "10"}, 2));
    lm_data_free(&d);
    /* 0..2 keep their numbers; negatives sort first; "1.0" is class 1. */
    if (csv_text(&d, "sorted2.csv", "f,t\n1,2\n2,0\n3,1.0\n4,2\n5,-1\n6,0\n7,1\n8,-1\n", &o))
        return;
    CHECK(d.n_classes == 4 && d.labels);
    static const int32_t want[] = {3, 1, 2, 3, 0, 1, 2, 0};
    for (int i = 0; d.labels && i < 8; i++) CHECKF(d.labels[i] == want[i], "label %d", i);
    CHECK(names_eq(d.class_names, (const char *[]){"-1", "0", "1", "2"}, 4));
    lm_data_free(&d);
}

static void test_csv_int_regression_many_values(void)
{
    char text[1024] = "x,y\n";
    for (int i = 0; i < 25; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%d\n", i, 3 * i);
    lm_data d;
    if (csv_text(&d, "manyint.csv", text, NULL)) return;
    CHECK(d.n == 25 && d.y && d.labels == NULL && d.y[24] == 72);
    lm_data_free(&d);
    /* Three rows, three values: too few rows per value to be classes. */
    if (csv_text(&d, "fewrows.csv", "x,y\n1,1\n2,2\n3,3\n", NULL)) return;
    CHECK(d.y && d.labels == NULL);
    lm_data_free(&d);
}

static void test_csv_target_kind_forced(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    o.target_kind = 1; /* fractional values as classes, by their text */
    if (csv_text(&d, "kind1.csv", "x,y\n1,0.5\n2,1.5\n3,0.5\n", &o)) return;
    CHECK(d.labels && d.n_classes == 2 && d.labels[2] == 0 && d.labels[1] == 1);
    CHECK(names_eq(d.class_names, (const char *[]){"0.5", "1.5"}, 2));
    lm_data_free(&d);
    o.target_kind = 0; /* integers that would be classes, as numbers */
    if (csv_text(&d, "kind0.csv", "x,y\n1,0\n2,1\n3,0\n4,1\n", &o)) return;
    CHECK(d.y && d.labels == NULL && d.y[1] == 1 && d.y[2] == 0);
    lm_data_free(&d);
}

static void test_csv_target_by_name_and_index(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    const char *text = "a,kind,b\n1,x,2\n3,y,4\n5,x,6\n";
    o.target = "kind";
    if (csv_text(&d, "byname.csv", text, &o)) return;
    static const float x[] = {1, 2, 3, 4, 5, 6};
    CHECK(d.nx == 2 && xf_eq(&d, x, 6));
    CHECK(names_eq(d.feature_names, (const char *[]){"a", "b"}, 2));
    CHECK(names_eq(d.class_names, (const char *[]){"x", "y"}, 2));
    lm_data_free(&d);
    o.target = "0";
    if (csv_text(&d, "byindex.csv", "1.5,7,8\n2.5,9,10\n", &o)) return;
    static const float x2[] = {7, 8, 9, 10};
    CHECK(d.nx == 2 && xf_eq(&d, x2, 4) && d.y && d.y[0] == 1.5f && d.y[1] == 2.5f);
    lm_data_free(&d);
}

static void test_csv_no_target(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.no_target = 1;
    lm_data d;
    if (csv_text(&d, "notarget.csv", "a,b,c\n1,2,3\n4,5,6\n", &o)) return;
    static const float x[] = {1, 2, 3, 4, 5, 6};
    CHECK(d.n == 2 && d.nx == 3 && xf_eq(&d, x, 6));
    CHECK(d.y == NULL && d.labels == NULL && d.n_classes == 0);
    CHECK(names_eq(d.feature_names, (const char *[]){"a", "b", "c"}, 3));
    lm_data_free(&d);
}

static void test_csv_blank_lines_and_spaces(void)
{
    lm_data d;
    if (csv_text(&d, "blank.csv", "a, b\n\n 1 , 2\n  \n3,4.5\n\n\r\n  \n", NULL)) return;
    static const float x[] = {1, 3};
    CHECK(d.n == 2 && d.nx == 1 && xf_eq(&d, x, 2) && d.y && d.y[1] == 4.5f);
    CHECK(names_eq(d.feature_names, (const char *[]){"a"}, 1));
    lm_data_free(&d);
}

static void test_csv_number_forms(void)
{
    const char *vals[] = {"1e3", "-2.5E-2", ".5", "5.", "+3", "0.1", "1e-50", "123456789012",
                          "0.1000000000000000055511151231257827", "3.4028235e38", "-0"};
    char text[1024] = "";
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s,1\n", vals[i]);
    lm_csv_opts o = lm_csv_defaults();
    o.header = 0;
    lm_data d;
    if (csv_text(&d, "numbers.csv", text, &o)) return;
    CHECK(d.n == sizeof vals / sizeof *vals && d.nx == 1);
    for (size_t i = 0; i < d.n; i++) {
        float want = (float)strtod(vals[i], NULL);
        CHECKF(((const float *)d.x)[i] == want, "%s read as %.9g, want %.9g", vals[i],
               ((const float *)d.x)[i], want);
    }
    lm_data_free(&d);
}

/* Exhaustive-ish: the fast path must give exactly strtod's float. */
static void test_csv_number_rounding(void)
{
    static char text[64 * 1024];
    size_t at = 0;
    uint64_t s = 12345;
    const int rows = 2000;
    for (int i = 0; i < rows; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int digits = 1 + (int)(s >> 60) % 15, point = (int)(s >> 40) % (digits + 1);
        uint64_t m = s >> 11;
        char num[40];
        int w = snprintf(num, sizeof num, "%019llu", (unsigned long long)m);
        (void)w;
        char out[48];
        int k = 0;
        for (int j = 0; j < digits; j++) {
            if (j == point && j > 0) out[k++] = '.';
            out[k++] = num[19 - digits + j];
        }
        out[k] = '\0';
        at += (size_t)snprintf(text + at, sizeof text - at, "%s,0\n", out);
    }
    lm_csv_opts o = lm_csv_defaults();
    o.header = 0;
    o.target_kind = 0;
    lm_data d;
    if (csv_text(&d, "rounding.csv", text, &o)) return;
    CHECK(d.n == (size_t)rows);
    const char *p = text;
    for (size_t i = 0; i < d.n; i++) {
        char *e;
        float want = (float)strtod(p, &e);
        CHECKF(((const float *)d.x)[i] == want, "row %zu: %.9g vs %.9g", i,
               ((const float *)d.x)[i], want);
        p = strchr(e, '\n') + 1;
    }
    lm_data_free(&d);
}

static void test_csv_locale_independent(void)
{
    /* A program that set a decimal-comma locale still reads "1.5" (one
     * made with localedef where none is installed). */
    char dir[] = "/tmp/lamina-locale-XXXXXX";
    const char *got = mkdtemp(dir) ? th_comma_locale(dir) : NULL;
    lm_data d;
    /* Exponents and long mantissas go through strtod. */
    if (!csv_text(&d, "locale.csv", "x,y\n1.5e0,2\n2.25,3\n0.12345678901234567e1,4\n", NULL)) {
        const float *x = d.x;
        CHECK(x[0] == 1.5f && x[1] == 2.25f && x[2] == 1.2345678901234567f);
        lm_data_free(&d);
    }
    csv_bad_text("locale_comma.csv", "x;y\n1,5;2\n", LM_EFORMAT, ":2:1:", "'1,5'");
    setlocale(LC_NUMERIC, "C");
    char rm[64];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) printf("note: could not remove %s\n", dir);
    if (!got) SKIP("no locale with a decimal comma here, and localedef could not make one");
}

/* ------------------------------------------------------------- CSV bad */

static void test_csv_missing_file(void)
{
    char p[160];
    snprintf(p, sizeof p, "%s/no-such.csv", tmp_dir);
    lm_data d;
    lm_status st = lm_csv_read(&d, p, NULL);
    CHECK(st == LM_EIO);
    CHECK(contains(lm_errmsg(), "no-such.csv") && contains(lm_errmsg(), strerror(ENOENT)));
    st = lm_csv_read(&d, tmp_dir, NULL); /* a folder */
    CHECK(st == LM_EIO);
}

static void test_csv_empty_and_no_rows(void)
{
    csv_bad_text("empty.csv", "", LM_EFORMAT, "empty", NULL);
    csv_bad_text("blankonly.csv", "\n \r\n\n", LM_EFORMAT, "empty", NULL);
    csv_bad_text("headeronly.csv", "a,b,c\n", LM_EFORMAT, "no data rows", NULL);
    lm_csv_opts o = lm_csv_defaults();
    o.header = 1;
    csv_bad("headeronly2.csv", "1,2\n\n", 5, &o, LM_EFORMAT, "no data rows", NULL);
}

static void test_csv_ragged(void)
{
    csv_bad_text("ragged.csv", "a,b,c\n1,2,3\n4,5\n", LM_EFORMAT,
                 "ragged.csv:3: expected 3 columns, found 2", NULL);
    csv_bad_text("ragged2.csv", "1,2,3\n4,5,6,7\n", LM_EFORMAT,
                 "ragged2.csv:2: expected 3 columns, found 4", NULL);
}

static void test_csv_not_a_number(void)
{
    csv_bad_text("nan.csv", "a,b,c\n1,2,3\n4,abc,6\n", LM_EFORMAT,
                 "nan.csv:3:2: expected a number, found 'abc'", NULL);
    const char *bad[] = {"nan", "NaN", "inf", "-Infinity", "0x10", "1e", "--1", "1.2.3",
                         "", "1 2", "e5", "."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128], name[32], frag[64];
        snprintf(text, sizeof text, "x,y,t\n1,2,0\n3,%s,1\n", bad[i]);
        snprintf(name, sizeof name, "bad%zu.csv", i);
        snprintf(frag, sizeof frag, ":3:2: expected a number, found '%s'", bad[i]);
        csv_bad_text(name, text, LM_EFORMAT, frag, NULL);
    }
    csv_bad_text("range.csv", "x,y\n1,2\n1e39,3\n", LM_EFORMAT, "range.csv:3:1:",
                 "out of float32 range");
    csv_bad_text("range2.csv", "x,y\n1,2\n-3.5e38,3\n", LM_EFORMAT, ":3:1:", "out of float");
    csv_bad_text("range3.csv", "x,y\n1,2\n2,1e400\n", LM_EFORMAT, ":3:2:", "out of float");
    /* A long value is shortened in the message. */
    char text[256] = "x,y\n1,2\n";
    memset(text + strlen(text), 'z', 100);
    strcat(text, ",3\n");
    csv_bad_text("long.csv", text, LM_EFORMAT, ":3:1: expected a number, found 'zzz", "...'");
}

static void test_csv_quote_errors(void)
{
    csv_bad_text("unterminated.csv", "a,b\n1,2\n3,\"4\n5,6\n", LM_EFORMAT,
                 "unterminated.csv:3:2: unterminated quoted field", NULL);
    csv_bad_text("strayquote.csv", "a,b\n1,2\n3,4\"5\n", LM_EFORMAT, "strayquote.csv:3:2:",
                 "quote inside an unquoted field");
    csv_bad_text("afterquote.csv", "a,b\n1,2\n\"3\"x,4\n", LM_EFORMAT, "afterquote.csv:3:1:",
                 "after a closing quote");
    csv_bad_text("quotedtext.csv", "a,b\n1,2\n\"x\"\"y\",4\n", LM_EFORMAT,
                 "quotedtext.csv:3:1: expected a number", NULL);
}

static void test_csv_target_errors(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.target = "price";
    csv_bad("noname.csv", "a,b\n1,2\n", 8, &o, LM_EFORMAT, "no column named 'price'", "'a'");
    o.target = "7";
    csv_bad("noindex.csv", "a,b\n1,2\n", 8, &o, LM_EFORMAT, "out of range", NULL);
    o.target = "price";
    csv_bad("noheader.csv", "1,2\n3,4\n", 8, &o, LM_EFORMAT, "no header", NULL);
    o = lm_csv_defaults();
    o.target_kind = 0;
    csv_bad("forcednum.csv", "a,b\n1,2\n3,cat\n", 14, &o, LM_EFORMAT,
            "forcednum.csv:3:2: expected a number, found 'cat'", NULL);
    /* Fractional numbers with a stray text value: a typo, not classes. */
    csv_bad_text("mixed.csv", "a,b\n1,2.5\n3,NA\n4,1.5\n", LM_EFORMAT,
                 "mixed.csv:3:2: expected a number, found 'NA'", NULL);
    csv_bad_text("onecol.csv", "y\n1\n2\n", LM_EFORMAT, "no feature columns", NULL);
}

static void test_csv_binary(void)
{
    csv_bad("nul.csv", "a,b\n1,2\n3,\0\n", 11, NULL, LM_EFORMAT, "nul.csv:3:",
            "not a text file");
    unsigned char bin[512];
    uint32_t s = 99;
    for (size_t i = 0; i < sizeof bin; i++) {
        s = s * 1664525u + 1013904223u;
        bin[i] = (unsigned char)(s >> 24);
    }
    csv_bad("random.bin", (const char *)bin, sizeof bin, NULL, LM_EFORMAT, "not a text file",
            NULL);
    /* Files users hand over that are not CSV: said what they are. */
#define K(name, bytes, says) {name, bytes, sizeof bytes - 1, says}
    static const struct {
        const char *name, *bytes;
        size_t n;
        const char *says;
    } kinds[] = {
        K("book.xlsx", "PK\003\004\024\000\006\000", "Excel .xlsx workbook"),
        K("old.xls", "\320\317\021\340\241\261\032\341\000", "Excel 97-2003 workbook"),
        K("t.parquet", "PAR1\025\000", "a Parquet file"),
        K("t.h5", "\211HDF\r\n\032\n\000", "an HDF5 file"),
        K("t.feather", "ARROW1\000\000", "an Arrow/Feather file"),
        K("t.db", "SQLite format 3\000", "an SQLite database"),
        K("a.npy", "\223NUMPY\001\000v\000", "a NumPy .npy array"),
        K("m.lmn", "\211LMN\r\n\032\n\001\000", "a lamina model file"),
        K("df.pkl", "\200\004\225\000", "a Python pickle"),
        K("j.csv", " \n{\"a\":{\"0\":1}}", "JSON, not CSV"),
        K("r.json", "[{\"a\":1,\"y\":0}]", "JSON, not CSV"),
        K("l.json", "\357\273\277{\"a\":1}\n{\"a\":2}\n", "JSON, not CSV"),
    };
#undef K
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        csv_bad(kinds[i].name, kinds[i].bytes, kinds[i].n, NULL, LM_EFORMAT, kinds[i].says, NULL);
    /* A header that starts with a bracket is still CSV. */
    lm_data d0;
    CHECK_OK(csv_text(&d0, "br.csv", "[a],b\n1,2\n3,4\n", NULL));
    lm_data_free(&d0);
    /* ... as is one that starts with a brace or two brackets: a JSON
     * object opens with a quoted key, an array of arrays with a value. */
    CHECK_OK(csv_text(&d0, "brace.csv", "{a},b\n1,2\n3,4\n", NULL));
    lm_data_free(&d0);
    CHECK_OK(csv_text(&d0, "brack2.csv", "[[a]],b\n1,2\n3,4\n", NULL));
    lm_data_free(&d0);
    csv_bad("v.json", "[[5.1,\"x\"],[4.9,\"y\"]]", 21, NULL, LM_EFORMAT, "JSON, not CSV", NULL);
    /* Every one-byte file: no crash, a status either way. */
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        const char *p = write_file("byte.csv", &c, 1);
        lm_data d;
        lm_status st = lm_csv_read(&d, p, NULL);
        CHECKF(st == LM_OK || st == LM_EFORMAT, "byte %d: %s", b, lm_status_name(st));
        lm_data_free(&d);
    }
}

static void test_csv_alloc_limit(void)
{
    uint64_t old = lm_alloc_limit();
    lm_set_alloc_limit(64);
    const char *p = write_text("limit.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14\n"
                                            "15,16\n17,18\n19,20\n");
    lm_data d;
    lm_status st = lm_csv_read(&d, p, NULL);
    lm_set_alloc_limit(old);
    CHECKF(st == LM_ENOMEM, "%s", lm_status_name(st));
    CHECK(contains(lm_errmsg(), "limit.csv"));
}

static void test_csv_bad_opts(void)
{
    lm_csv_opts o = lm_csv_defaults();
    const char *p = write_text("opts.csv", "a,b\n1,2\n");
    lm_data d;
    o.sep = '.';
    CHECK(lm_csv_read(&d, p, &o) == LM_EINVAL);
    o = lm_csv_defaults();
    o.header = 2;
    CHECK(lm_csv_read(&d, p, &o) == LM_EINVAL);
    CHECK(lm_csv_read(NULL, p, NULL) == LM_EINVAL);
    CHECK(lm_csv_read(&d, NULL, NULL) == LM_EINVAL);
    o = lm_csv_defaults();
    o.sep = ';'; /* forced: the comma file is one column of text */
    csv_bad("opts2.csv", "1,2\n3,4\n", 8, &o, LM_EFORMAT, "no feature columns", NULL);
}

/* ----------------------------------------------------------------- IDX */

/* An IDX file: header for dims, then count values of elem bytes each
 * (already big-endian in data). */
static size_t idx_build(unsigned char *out, int dtype, int ndims, const uint32_t *dims,
                        const void *data, size_t data_bytes)
{
    size_t at = 0;
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = (unsigned char)dtype;
    out[at++] = (unsigned char)ndims;
    for (int i = 0; i < ndims; i++) {
        out[at++] = (unsigned char)(dims[i] >> 24);
        out[at++] = (unsigned char)(dims[i] >> 16);
        out[at++] = (unsigned char)(dims[i] >> 8);
        out[at++] = (unsigned char)dims[i];
    }
    memcpy(out + at, data, data_bytes);
    return at + data_bytes;
}

static const char *write_gz(const char *name, const void *buf, size_t len)
{
    const char *p = write_file(name, "", 0);
    gzFile g = gzopen(p, "wb");
    if (!g || gzwrite(g, buf, (unsigned)len) != (int)len || gzclose(g) != Z_OK)
        printf("FAIL setup: gzip %s\n", p);
    return p;
}

/* The bytes of a file (for corrupting). */
static size_t slurp(const char *p, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    return n;
}

static void be_store(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

static void idx_bad(const char *images, const char *labels, lm_status want, const char *name,
                    const char *frag)
{
    lm_data d;
    memset(&d, 0x55, sizeof d);
    lm_status st = lm_idx_read(&d, images, labels);
    const char *m = lm_errmsg();
    CHECKF(st == want, "%s: got %s (%s), want %s", name, lm_status_name(st), m,
           lm_status_name(want));
    CHECKF(contains(m, name), "message lacks '%s': %s", name, m);
    CHECKF(!frag || contains(m, frag), "message lacks '%s': %s", frag, m);
    CHECKF(d.x == NULL && d.owned_ == NULL && d.n == 0, "%s: output not zeroed", name);
    lm_data_free(&d);
}

static const unsigned char px[12] = {0, 1, 2, 3, 250, 251, 252, 253, 7, 8, 9, 255};
static const uint32_t img_dims[3] = {3, 2, 2};

static void check_u8_images(const lm_data *d)
{
    CHECK(d->n == 3 && d->nx == 4 && d->x_type == LM_U8);
    CHECK(d->x && memcmp(d->x, px, 12) == 0);
    CHECK(d->labels && d->labels[0] == 2 && d->labels[1] == 0 && d->labels[2] == 5);
    CHECK(d->n_classes == 6 && d->y == NULL);
}

static void test_idx_u8_plain_and_gzip(void)
{
    unsigned char buf[256], lab[64];
    size_t n = idx_build(buf, 0x08, 3, img_dims, px, 12);
    size_t nl = idx_build(lab, 0x08, 1, img_dims, (unsigned char[]){2, 0, 5}, 3);
    const char *pi = write_file("img.idx", buf, n), *pl = write_file("lab.idx", lab, nl);
    lm_data d;
    CHECK_OK(lm_idx_read(&d, pi, pl));
    check_u8_images(&d);
    lm_data_free(&d);
    const char *gi = write_gz("img.idx.gz", buf, n), *gl = write_gz("lab.idx.gz", lab, nl);
    CHECK_OK(lm_idx_read(&d, gi, gl));
    check_u8_images(&d);
    lm_data_free(&d);
    CHECK_OK(lm_idx_read(&d, gi, NULL)); /* labels are optional */
    CHECK(d.n == 3 && d.labels == NULL && d.n_classes == 0);
    lm_data_free(&d);
    CHECK_OK(lm_idx_read(&d, pi, gl)); /* mixed */
    check_u8_images(&d);
    lm_data_free(&d);
}

static void test_idx_dtypes(void)
{
    static const double vals[6] = {-3, 0, 1.5, 1000, -32768, 32767};
    struct { int dtype, bytes; } types[] = {{0x09, 1}, {0x0B, 2}, {0x0C, 4}, {0x0D, 4},
                                            {0x0E, 8}};
    for (int t = 0; t < 5; t++) {
        unsigned char data[48], buf[128];
        float want[6];
        for (int i = 0; i < 6; i++) {
            double v = vals[i];
            if (types[t].dtype == 0x09) v = i == 3 ? 127 : i == 4 ? -128 : i == 5 ? 5 : v;
            if (types[t].dtype != 0x0D && types[t].dtype != 0x0E) v = floor(v);
            want[i] = (float)v;
            uint64_t bits;
            if (types[t].dtype == 0x0D) {
                float f = (float)v;
                uint32_t u;
                memcpy(&u, &f, 4);
                bits = u;
            } else if (types[t].dtype == 0x0E) {
                memcpy(&bits, &v, 8);
            } else {
                bits = (uint64_t)(int64_t)v;
            }
            be_store(data + i * types[t].bytes, bits, types[t].bytes);
        }
        uint32_t dims[2] = {2, 3};
        size_t n = idx_build(buf, types[t].dtype, 2, dims, data, (size_t)6 * types[t].bytes);
        char name[32];
        snprintf(name, sizeof name, "dtype%02x.idx", types[t].dtype);
        lm_data d;
        CHECK_OK(lm_idx_read(&d, write_file(name, buf, n), NULL));
        CHECKF(d.n == 2 && d.nx == 3 && d.x_type == LM_F32, "dtype %02x", types[t].dtype);
        CHECKF(d.x && memcmp(d.x, want, sizeof want) == 0, "dtype %02x values",
               types[t].dtype);
        lm_data_free(&d);
    }
    /* i16/i32 labels; 1-D images (one value each). */
    unsigned char buf[64], lab[64], data[8];
    uint32_t dims1[1] = {2};
    be_store(data, 1, 4);
    be_store(data + 4, 2, 4);
    size_t n = idx_build(buf, 0x08, 1, dims1, (unsigned char[]){9, 8}, 2);
    size_t nl = idx_build(lab, 0x0C, 1, dims1, data, 8);
    lm_data d;
    CHECK_OK(lm_idx_read(&d, write_file("one.idx", buf, n), write_file("i32lab.idx", lab, nl)));
    CHECK(d.n == 2 && d.nx == 1 && d.labels && d.labels[1] == 2 && d.n_classes == 3);
    lm_data_free(&d);
}

static void test_idx_bad_values(void)
{
    unsigned char buf[64], data[16];
    uint32_t dims[1] = {2};
    double big = 1e300, ok = 1;
    uint64_t b;
    memcpy(&b, &ok, 8);
    be_store(data, b, 8);
    memcpy(&b, &big, 8);
    be_store(data + 8, b, 8);
    size_t n = idx_build(buf, 0x0E, 1, dims, data, 16);
    idx_bad(write_file("f64big.idx", buf, n), NULL, LM_EFORMAT, "f64big.idx", "index 1");
    float nan = NAN;
    uint32_t u;
    memcpy(&u, &nan, 4);
    be_store(data, 0, 4);
    be_store(data + 4, u, 4);
    n = idx_build(buf, 0x0D, 1, dims, data, 8);
    idx_bad(write_file("f32nan.idx", buf, n), NULL, LM_EFORMAT, "f32nan.idx", "not a finite");
    /* Labels: negative, float, 2-D. */
    unsigned char img[64], lab[64];
    size_t ni = idx_build(img, 0x08, 1, dims, (unsigned char[]){1, 2}, 2);
    const char *pi = write_file("small.idx", img, ni);
    size_t nl = idx_build(lab, 0x09, 1, dims, (unsigned char[]){1, 0xff}, 2);
    idx_bad(pi, write_file("neglab.idx", lab, nl), LM_EFORMAT, "neglab.idx", "label -1");
    nl = idx_build(lab, 0x0D, 1, dims, data, 8);
    idx_bad(pi, write_file("floatlab.idx", lab, nl), LM_EFORMAT, "floatlab.idx", "integers");
    uint32_t dims2[2] = {2, 1};
    nl = idx_build(lab, 0x08, 2, dims2, (unsigned char[]){1, 0}, 2);
    idx_bad(pi, write_file("lab2d.idx", lab, nl), LM_EFORMAT, "lab2d.idx", "1-D");
    be_store(data, 70000, 4);
    be_store(data + 4, 0, 4);
    nl = idx_build(lab, 0x0C, 1, dims, data, 8);
    idx_bad(pi, write_file("biglab.idx", lab, nl), LM_EFORMAT, "biglab.idx", "70000");
    /* The largest int32 label: refused without n_classes = label + 1
     * overflowing (UBSan caught it in the fuzzer). */
    be_store(data, 0, 4);
    be_store(data + 4, 0x7fffffff, 4);
    nl = idx_build(lab, 0x0C, 1, dims, data, 8);
    idx_bad(pi, write_file("maxlab.idx", lab, nl), LM_EFORMAT, "maxlab.idx", "2147483647");
}

static void test_idx_bad_headers(void)
{
    unsigned char buf[256];
    size_t n = idx_build(buf, 0x08, 3, img_dims, px, 12);
    buf[0] = 1;
    idx_bad(write_file("magic.idx", buf, n), NULL, LM_EFORMAT, "magic.idx", "not an IDX");
    buf[0] = 0;
    buf[2] = 0x0A; /* no such dtype */
    idx_bad(write_file("dtype.idx", buf, n), NULL, LM_EFORMAT, "dtype.idx", "not an IDX");
    buf[2] = 0x08;
    buf[3] = 0;
    idx_bad(write_file("dims0.idx", buf, n), NULL, LM_EFORMAT, "dims0.idx", "0 dimensions");
    buf[3] = 9;
    idx_bad(write_file("dims9.idx", buf, n), NULL, LM_EFORMAT, "dims9.idx", "9 dimensions");
    buf[3] = 3;
    idx_bad(write_file("short.idx", buf, 3), NULL, LM_EFORMAT, "short.idx", "too short");
    idx_bad(write_file("shorthead.idx", buf, 10), NULL, LM_EFORMAT, "shorthead.idx",
            "truncated header");
    idx_bad(write_file("empty.idx", buf, 0), NULL, LM_EFORMAT, "empty.idx", "too short");
    char p[160];
    snprintf(p, sizeof p, "%s/absent.idx", tmp_dir);
    idx_bad(p, NULL, LM_EIO, "absent.idx", strerror(ENOENT));
    /* Dims whose product overflows size_t, and a claim over the limit. */
    uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 2};
    n = idx_build(buf, 0x08, 4, huge, px, 12);
    idx_bad(write_file("overflow.idx", buf, n), NULL, LM_EFORMAT, "overflow.idx", "overflow");
    uint32_t big[3] = {65536, 65536, 4}; /* 16 GiB > 8 GiB default limit */
    n = idx_build(buf, 0x08, 3, big, px, 12);
    idx_bad(write_file("toobig.idx", buf, n), NULL, LM_ENOMEM, "toobig.idx", "limit");
    idx_bad(write_gz("toobig.idx.gz", buf, n), NULL, LM_ENOMEM, "toobig.idx.gz", "limit");
    uint32_t zero[3] = {0, 28, 28};
    n = idx_build(buf, 0x08, 3, zero, px, 0);
    idx_bad(write_file("zero.idx", buf, n), NULL, LM_EFORMAT, "zero.idx", "no images");
}

static void test_idx_counts(void)
{
    unsigned char buf[256], lab[64];
    size_t n = idx_build(buf, 0x08, 3, img_dims, px, 12);
    idx_bad(write_file("trunc.idx", buf, n - 1), NULL, LM_EFORMAT, "trunc.idx",
            "expected 12 data bytes, found 11");
    buf[n] = 0;
    idx_bad(write_file("trail.idx", buf, n + 1), NULL, LM_EFORMAT, "trail.idx", "trailing");
    idx_bad(write_gz("trail.idx.gz", buf, n + 1), NULL, LM_EFORMAT, "trail.idx.gz",
            "trailing");
    idx_bad(write_gz("trunc.idx.gz", buf, n - 2), NULL, LM_EFORMAT, "trunc.idx.gz",
            "expected 12 data bytes, found 10");
    /* A gzip claiming a large (but allowed) size with little data. */
    uint32_t claim[3] = {1000, 1000, 100};
    size_t nc = idx_build(lab, 0x08, 3, claim, px, 12);
    idx_bad(write_gz("claim.idx.gz", lab, nc), NULL, LM_EFORMAT, "claim.idx.gz",
            "expected 100000000 data bytes, found 12");
    const char *pi = write_file("count_img.idx", buf, n);
    uint32_t two[1] = {2};
    size_t nl = idx_build(lab, 0x08, 1, two, (unsigned char[]){1, 2}, 2);
    idx_bad(pi, write_file("labels.idx", lab, nl), LM_EFORMAT, "labels.idx",
            "2 labels for 3 images");
    nl = idx_build(lab, 0x08, 1, img_dims, (unsigned char[]){1, 2, 3}, 3);
    idx_bad(pi, write_file("shortlab.idx", lab, nl - 1), LM_EFORMAT, "shortlab.idx",
            "expected 3 data bytes, found 2");
}

static void test_idx_gzip_damage(void)
{
    unsigned char raw[2048], gz[4096];
    uint32_t dims[2] = {4, 400};
    unsigned char data[1600];
    for (int i = 0; i < 1600; i++) data[i] = (unsigned char)(i * 7 + i / 13);
    size_t n = idx_build(raw, 0x08, 2, dims, data, 1600);
    size_t ng = slurp(write_gz("whole.idx.gz", raw, n), gz, sizeof gz);
    CHECK(ng > 40);
    lm_data d;
    CHECK_OK(lm_idx_read(&d, write_file("whole2.idx.gz", gz, ng), NULL));
    CHECK(d.n == 4 && d.nx == 400 && d.x && memcmp(d.x, data, 1600) == 0);
    lm_data_free(&d);
    /* Cut in the middle of the deflate data, and just before the end. */
    idx_bad(write_file("cut.idx.gz", gz, ng / 2), NULL, LM_EFORMAT, "cut.idx.gz", "truncated");
    idx_bad(write_file("cut2.idx.gz", gz, ng - 3), NULL, LM_EFORMAT, "cut2.idx.gz",
            "truncated");
    /* A wrong CRC (the trailer's first byte): zlib's "incorrect data check". */
    unsigned char bad[4096];
    memcpy(bad, gz, ng);
    bad[ng - 8] ^= 0x5a;
    idx_bad(write_file("crc.idx.gz", bad, ng), NULL, LM_EFORMAT, "crc.idx.gz",
            "corrupt gzip data");
    /* Damage inside the compressed data: any error naming the file. */
    for (size_t at = 12; at < ng - 8; at += (ng - 20) / 7) {
        memcpy(bad, gz, ng);
        bad[at] ^= 0xff;
        idx_bad(write_file("flip.idx.gz", bad, ng), NULL, LM_EFORMAT, "flip.idx.gz", NULL);
    }
}

/* A gzip-compressed CSV (or FANN data) file reads as the file it holds,
 * whatever its name; a cut or damaged stream is an error, never a
 * shorter table. */
static void test_csv_gzip(void)
{
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text, "a,b,class\n");
    for (int r = 0; r < 300; r++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d.5,%d,%s\n", r, r % 7,
                                r % 3 ? "yes" : "no");
    lm_data plain, gz;
    CHECK_OK(lm_csv_read(&plain, write_file("t.csv", text, len), NULL));
    CHECK_OK(lm_csv_read(&gz, write_gz("t.csv.gz", text, len), NULL));
    CHECK(gz.n == 300 && gz.n == plain.n && gz.nx == plain.nx && gz.n_classes == 2);
    CHECK(gz.x && plain.x && memcmp(gz.x, plain.x, plain.n * 2 * sizeof(float)) == 0);
    CHECK(gz.labels && memcmp(gz.labels, plain.labels, plain.n * sizeof *plain.labels) == 0);
    lm_data_free(&gz);
    CHECK_OK(lm_csv_read(&gz, write_gz("t.gz", text, len), NULL)); /* any name */
    CHECK(gz.n == 300);
    lm_data_free(&gz);
    lm_data_free(&plain);
    unsigned char z[8192];
    size_t nz = slurp(write_gz("whole.csv.gz", text, len), z, sizeof z);
    CHECK(nz > 40 && nz < sizeof z);
    csv_bad("cut.csv.gz", (const char *)z, nz / 2, NULL, LM_EFORMAT, "truncated gzip", NULL);
    z[nz - 8] ^= 0x5a; /* the CRC */
    csv_bad("crc.csv.gz", (const char *)z, nz, NULL, LM_EFORMAT, "corrupt gzip data", NULL);
    /* Binary data inside the gzip: refused as the plain file is. */
    unsigned char bin[64] = {0};
    size_t nb = slurp(write_gz("bin0.csv.gz", bin, sizeof bin), z, sizeof z);
    csv_bad("bin.csv.gz", (const char *)z, nb, NULL, LM_EFORMAT, "not a text file", NULL);
    /* The allocation limit counts the uncompressed bytes. */
    uint64_t old = lm_alloc_limit();
    lm_set_alloc_limit(4096);
    lm_status st = lm_csv_read(&gz, write_gz("big.csv.gz", text, len), NULL);
    lm_set_alloc_limit(old);
    CHECKF(st == LM_ENOMEM && contains(lm_errmsg(), "big.csv.gz"), "%s: %s",
           lm_status_name(st), lm_errmsg());
    /* Data under the limit reads, whatever the buffer's start size (four
     * times the compressed bytes) gives when doubled: it was refused when
     * twice the buffer passed the limit though the data fitted in it. */
    size_t nbig = 30000, lbig = 0;
    char *tbig = malloc(nbig * 40 + 1);
    CHECK(tbig != NULL);
    for (size_t r = 0; tbig && r < nbig; r++) /* 38 bytes: more than a row's arrays */
        lbig += (size_t)sprintf(tbig + lbig, "%06zu.5000000000000000000000000000,7\n", r);
    lm_set_alloc_limit(lbig + 1); /* the bytes and their NUL */
    st = tbig ? lm_csv_read(&gz, write_gz("under.csv.gz", tbig, lbig), NULL) : LM_ENOMEM;
    lm_set_alloc_limit(old);
    CHECKF(st == LM_OK && gz.n == nbig, "%s: %s", lm_status_name(st), lm_errmsg());
    lm_data_free(&gz);
    free(tbig);
    /* FANN training data goes through the same reader. */
    const char *fann = "2 2 1\n0 1\n1\n1 0\n0\n";
    CHECK_OK(lm_fann_data_read(&gz, write_gz("xor.data.gz", fann, strlen(fann))));
    CHECK(gz.n == 2 && gz.nx == 2 && gz.ny == 1 && gz.y && gz.y[0] == 1.0f && gz.y[1] == 0.0f);
    lm_data_free(&gz);
}

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char pi[128], pl[128];
    snprintf(pi, sizeof pi, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(pl, sizeof pl, "%s/train-labels-idx1-ubyte.gz", dir);
    if (access(pi, R_OK) != 0 || access(pl, R_OK) != 0) {
        printf("note: %s absent; Fashion-MNIST not checked\n", pi);
        return;
    }
    lm_data d;
    CHECK_OK(lm_idx_read(&d, pi, pl));
    CHECK(d.n == 60000 && d.nx == 784 && d.x_type == LM_U8 && d.n_classes == 10);
    size_t counts[10] = {0};
    int in_range = 1;
    for (size_t i = 0; d.labels && i < d.n; i++) {
        in_range &= d.labels[i] >= 0 && d.labels[i] < 10;
        if (d.labels[i] >= 0 && d.labels[i] < 10) counts[d.labels[i]]++;
    }
    CHECK(in_range);
    for (int c = 0; c < 10; c++) CHECKF(counts[c] == 6000, "class %d: %zu", c, counts[c]);
    float *mean = malloc(784 * sizeof *mean), *scale = malloc(784 * sizeof *scale);
    CHECK_OK(lm_data_norm_stats(&d, mean, scale));
    double avg = 0;
    for (int j = 0; j < 784; j++) avg += mean[j];
    avg /= 784;
    CHECKF(avg > 60 && avg < 90, "mean pixel %g", avg); /* known: about 72.9 */
    free(mean);
    free(scale);
    lm_data_free(&d);
}

/* -------------------------------------------------------- norm, split */

static void test_norm_stats(void)
{
    static const float x[] = {1, 10, -1, 2, 10, -2, 3, 10, -3, 4, 10, -4e-20f};
    lm_data d = {.n = 4, .nx = 3, .x = x};
    float mean[3], scale[3];
    CHECK_OK(lm_data_norm_stats(&d, mean, scale));
    CHECK(fabsf(mean[0] - 2.5f) < 1e-6f && mean[1] == 10.0f);
    CHECK(fabsf(scale[0] - (float)(1 / sqrt(1.25))) < 1e-6f);
    CHECK(scale[1] == 1.0f); /* constant: left unscaled */
    double m2 = (-1 - 2 - 3 - 4e-20) / 4, v2 = 0;
    for (int i = 0; i < 4; i++) v2 += (x[3 * i + 2] - m2) * (x[3 * i + 2] - m2);
    CHECK(fabsf(scale[2] - (float)(1 / sqrt(v2 / 4))) < 1e-6f);
    static const uint8_t u[] = {0, 7, 255, 7, 255, 7, 0, 7};
    lm_data du = {.n = 4, .nx = 2, .x_type = LM_U8, .x = u};
    CHECK_OK(lm_data_norm_stats(&du, mean, scale));
    CHECK(mean[0] == 127.5f && mean[1] == 7.0f && scale[1] == 1.0f);
    CHECK(fabsf(scale[0] - 1.0f / 127.5f) < 1e-9f);
    lm_data empty = {0};
    CHECK(lm_data_norm_stats(&empty, mean, scale) == LM_EINVAL);
    CHECK(lm_data_norm_stats(&d, NULL, scale) == LM_EINVAL);
    lm_data_free(&d); /* a view: nothing freed, struct zeroed */
    CHECK(d.x == NULL && d.n == 0);
    lm_data_free(NULL);
    lm_data_free(&empty);
}

/* Rows i of x hold (i, 100 + i); labels i % 3; y 0.5 i. */
static void split_fixture(lm_data *d, float *x, int32_t *l, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = 100.0f + (float)i;
        l[i] = (int32_t)(i % 3);
        y[i] = 0.5f * (float)i;
    }
    static char *cn[] = {"a", "b", "c"}, *fn[] = {"f0", "f1"};
    *d = (lm_data){.n = n, .nx = 2, .x = x, .labels = l, .n_classes = 3, .y = y, .ny = 1,
                   .class_names = cn, .feature_names = fn};
}

/* Each of a's and b's rows is a row of the fixture, all rows once. */
static int split_consistent(const lm_data *a, const lm_data *b, size_t n)
{
    int seen[64] = {0};
    const lm_data *parts[2] = {a, b};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->n; i++) {
            const float *x = (const float *)parts[p]->x + 2 * i;
            size_t id = (size_t)x[0];
            if (id >= n || x[1] != 100.0f + x[0] || seen[id]++) return 0;
            if (!parts[p]->labels || parts[p]->labels[i] != (int32_t)(id % 3)) return 0;
            if (!parts[p]->y || parts[p]->y[i] != 0.5f * x[0]) return 0;
        }
    for (size_t i = 0; i < n; i++)
        if (seen[i] != 1) return 0;
    return 1;
}

static void test_split(void)
{
    float x[40], y[20];
    int32_t l[20];
    lm_data d, a, b, a2, b2;
    split_fixture(&d, x, l, y, 20);
    lm_rng r1 = lm_rng_seed(7), r2 = lm_rng_seed(7);
    CHECK_OK(lm_data_split(&d, 0.3f, &r1, &a, &b));
    CHECK(a.n == 14 && b.n == 6 && a.nx == 2 && b.ny == 1 && a.n_classes == 3);
    CHECK(split_consistent(&a, &b, 20));
    CHECK(names_eq(b.class_names, (const char *[]){"a", "b", "c"}, 3));
    CHECK(names_eq(a.feature_names, (const char *[]){"f0", "f1"}, 2));
    CHECK(a.class_names != d.class_names); /* copies */
    int moved = 0;
    for (size_t i = 0; i < a.n; i++) moved |= ((const float *)a.x)[2 * i] != (float)i;
    CHECK(moved); /* shuffled, not a prefix */
    CHECK_OK(lm_data_split(&d, 0.3f, &r2, &a2, &b2)); /* same seed, same split */
    CHECK(memcmp(a.x, a2.x, 14 * 2 * sizeof(float)) == 0);
    CHECK(memcmp(b.labels, b2.labels, 6 * sizeof(int32_t)) == 0);
    lm_data_free(&a2);
    lm_data_free(&b2);
    /* The next split from the advanced stream differs. */
    CHECK_OK(lm_data_split(&d, 0.3f, &r1, &a2, &b2));
    CHECK(memcmp(a.x, a2.x, 14 * 2 * sizeof(float)) != 0);
    lm_data_free(&a2);
    lm_data_free(&b2);
    lm_data_free(&a);
    lm_data_free(&b);
    /* frac 0: everything in a, b empty. */
    CHECK_OK(lm_data_split(&d, 0.0f, &r1, &a, &b));
    CHECK(a.n == 20 && b.n == 0 && split_consistent(&a, &b, 20));
    lm_data_free(&a);
    lm_data_free(&b);
    /* Rounding: 0.25 of 10 is 2.5 -> 3 rows in b (round half up). */
    d.n = 10;
    CHECK_OK(lm_data_split(&d, 0.25f, &r1, &a, &b));
    CHECK(a.n == 7 && b.n == 3);
    lm_data_free(&a);
    lm_data_free(&b);
    /* Empty sides and bad fractions. */
    CHECK(lm_data_split(&d, 0.01f, &r1, &a, &b) == LM_EINVAL);
    CHECK(lm_data_split(&d, 0.99f, &r1, &a, &b) == LM_EINVAL);
    CHECK(lm_data_split(&d, 1.0f, &r1, &a, &b) == LM_EINVAL);
    CHECK(lm_data_split(&d, -0.1f, &r1, &a, &b) == LM_EINVAL);
    CHECK(lm_data_split(&d, NAN, &r1, &a, &b) == LM_EINVAL);
    CHECK(lm_data_split(&d, 0.5f, &r1, &a, &a) == LM_EINVAL);
    /* A malformed set says what is wrong with it. */
    lm_data bad = d;
    bad.nx = -1;
    CHECK(lm_data_split(&bad, 0.5f, &r1, &a, &b) == LM_EINVAL);
    CHECKF(strstr(lm_errmsg(), "10 rows, -1 features"), "message: %s", lm_errmsg());
}

static void test_split_u8_and_alias(void)
{
    uint8_t x[30];
    for (int i = 0; i < 30; i++) x[i] = (uint8_t)(i / 3 * 10 + i % 3);
    lm_data d = {.n = 10, .nx = 3, .x_type = LM_U8, .x = x}, a, b;
    lm_rng r = lm_rng_seed(3);
    CHECK_OK(lm_data_split(&d, 0.2f, &r, &a, &b));
    CHECK(a.n == 8 && b.n == 2 && a.x_type == LM_U8 && a.labels == NULL && a.y == NULL);
    int seen[10] = {0}, ok = 1;
    const lm_data *parts[2] = {&a, &b};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->n; i++) {
            const uint8_t *row = (const uint8_t *)parts[p]->x + 3 * i;
            int id = row[0] / 10;
            ok &= row[1] == row[0] + 1 && row[2] == row[0] + 2 && !seen[id]++;
        }
    CHECK(ok);
    lm_data_free(&b);
    /* Splitting a reader-owned set into itself: a replaces d. */
    lm_data c;
    CHECK_OK(lm_data_split(&a, 0.5f, &r, &c, &b));
    lm_data_free(&c);
    lm_data_free(&b);
    lm_data keep = a; /* a is replaced by its own first part */
    CHECK_OK(lm_data_split(&a, 0.25f, &r, &a, &b));
    CHECK(a.n == 6 && b.n == 2);
    lm_data_free(&keep);
    lm_data_free(&a);
    lm_data_free(&b);
}

static void test_csv_then_split(void)
{
    lm_data d, a, b;
    if (csv_text(&d, "splitme.csv", "x,cls\n1,p\n2,q\n3,p\n4,q\n5,r\n", NULL)) return;
    lm_rng r = lm_rng_seed(11);
    CHECK_OK(lm_data_split(&d, 0.4f, &r, &a, &b));
    CHECK(a.n == 3 && b.n == 2 && a.n_classes == 3);
    CHECK(names_eq(a.class_names, (const char *[]){"p", "q", "r"}, 3));
    CHECK(names_eq(b.feature_names, (const char *[]){"x"}, 1));
    for (size_t i = 0; b.labels && i < b.n; i++) {
        int v = (int)((const float *)b.x)[i];
        CHECK(b.labels[i] == (v == 5 ? 2 : (v - 1) % 2));
    }
    lm_data_free(&a);
    lm_data_free(&b);
    lm_data_free(&d);
}

static void cleanup(void)
{
    for (int i = 0; i < n_paths; i++) remove(paths[i]);
    rmdir(tmp_dir);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/lm_test_data_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("FAIL setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    RUN(test_csv_header_string_classes);
    RUN(test_csv_bom_crlf_no_final_newline);
    RUN(test_csv_quotes);
    RUN(test_csv_semicolon_int_classes);
    RUN(test_csv_tab_no_header_regression);
    RUN(test_csv_header_forced);
    RUN(test_csv_int_classes_sorted);
    RUN(test_csv_int_regression_many_values);
    RUN(test_csv_target_kind_forced);
    RUN(test_csv_target_by_name_and_index);
    RUN(test_csv_no_target);
    RUN(test_csv_blank_lines_and_spaces);
    RUN(test_csv_number_forms);
    RUN(test_csv_number_rounding);
    RUN(test_csv_locale_independent);
    RUN(test_csv_missing_file);
    RUN(test_csv_empty_and_no_rows);
    RUN(test_csv_ragged);
    RUN(test_csv_not_a_number);
    RUN(test_csv_quote_errors);
    RUN(test_csv_target_errors);
    RUN(test_csv_binary);
    RUN(test_csv_alloc_limit);
    RUN(test_csv_bad_opts);
    RUN(test_csv_gzip);
    RUN(test_idx_u8_plain_and_gzip);
    RUN(test_idx_dtypes);
    RUN(test_idx_bad_values);
    RUN(test_idx_bad_headers);
    RUN(test_idx_counts);
    RUN(test_idx_gzip_damage);
    RUN(test_fashion_mnist);
    RUN(test_norm_stats);
    RUN(test_split);
    RUN(test_split_u8_and_alias);
    RUN(test_csv_then_split);
    cleanup();
    TEST_MAIN_END();
}
