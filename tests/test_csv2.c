/* test_csv2.c - the CSV reader reads what was written or refuses with a
 * reason (issue 10), within bounded memory (issue 11): numeric headers,
 * the target kind rule, duplicate names, ignored and named columns,
 * several targets, decimal commas, blank lines, sorted text classes,
 * runaway lines and /dev/zero. Inputs are in memory (lm_csv_read_mem)
 * unless the case is about reading a file. */
#include "harness.h"
#include "lamina.h"

#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

static lm_status rd(lm_data *d, const char *text, const lm_csv_opts *o)
{
    lm_status st = lm_csv_read_mem(d, "t.csv", text, strlen(text), o);
    CHECKF(st == LM_OK, "%s: %s", lm_status_name(st), lm_errmsg());
    return st;
}

/* Reads text; checks the status and that the message holds frag. */
static void bad(const char *text, const lm_csv_opts *o, lm_status want, const char *frag)
{
    lm_data d;
    lm_status st = lm_csv_read_mem(&d, "t.csv", text, strlen(text), o);
    CHECKF(st == want && contains(lm_errmsg(), frag), "got %s (%s), want %s with '%s'",
           lm_status_name(st), lm_errmsg(), lm_status_name(want), frag);
    lm_data_free(&d);
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

static const float *X(const lm_data *d) { return d->x; }

/* pandas writes 0,1,2,... as the header of a frame without names. */
static void test_numeric_header(void)
{
    lm_data d;
    lm_csv_opts o = lm_csv_defaults();
    o.target_kind = 1;
    const char *t = "0,1,2,3,4\n5.1,3.5,1.4,0.2,0\n7.0,3.2,4.7,1.4,1\n6.3,3.3,6.0,2.5,2\n";
    if (rd(&d, t, &o)) return;
    CHECK(d.n == 3 && d.nx == 4 && d.n_classes == 3);
    CHECK(names_eq(d.feature_names, (const char *[]){"0", "1", "2", "3"}, 4));
    lm_data_free(&d);
    /* A number above text in the same column: the first row is a header. */
    if (rd(&d, "0,1,2\n1.5,2.5,cat\n3.5,1.5,dog\n", NULL)) return;
    CHECK(d.n == 2 && d.n_classes == 2);
    CHECK(names_eq(d.class_names, (const char *[]){"cat", "dog"}, 2));
    lm_data_free(&d);
    /* --no-header still wins: the row of numbers is data (a 4th class). */
    o.header = 0;
    if (rd(&d, t, &o)) return;
    CHECK(d.n == 4 && d.n_classes == 4 && d.feature_names == NULL);
    lm_data_free(&d);
    /* Not a sequence: data. */
    if (rd(&d, "0,1,3\n1,2,3\n", NULL)) return;
    CHECK(d.n == 2 && d.feature_names == NULL);
    lm_data_free(&d);
}

/* One rule: numbers are a numeric target, whatever how few distinct. */
static void test_target_kind_rule(void)
{
    char text[4096] = "x,y\n";
    for (int i = 0; i < 64; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%d\n", i, 100 + i % 16);
    lm_data d;
    if (rd(&d, text, NULL)) return;
    CHECK(d.y && d.ny == 1 && d.labels == NULL && d.n_classes == 0 && d.y[17] == 101);
    lm_data_free(&d);
    lm_csv_opts o = lm_csv_defaults();
    o.target_kind = 1;
    if (rd(&d, text, &o)) return;
    CHECK(d.labels && d.n_classes == 16);
    lm_data_free(&d);
}

static void test_duplicate_names(void)
{
    bad("x,x,color\n1,2,red\n3,4,blue\n", NULL, LM_EFORMAT, "named 'x'");
    lm_csv_opts o = lm_csv_defaults();
    o.ignore = "1";
    lm_data d;
    if (rd(&d, "x,x,color\n1,2,red\n3,4,blue\n", &o)) return;
    CHECK(d.nx == 1 && X(&d)[1] == 3);
    lm_data_free(&d);
    /* Without a header there are no names to confuse. */
    if (rd(&d, "1,2,red\n3,4,blue\n", NULL)) return;
    lm_data_free(&d);
    /* Choosing a duplicated name is ambiguous. */
    o.ignore = NULL;
    o.target = "x";
    bad("x,x,c\n1,2,3\n", &o, LM_EFORMAT, "ambiguous");
}

static void test_ignore_and_features(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    const char *t = "id,a,name,b,y\n17,1,ann,2,3.5\n18,4,bob,5,6.5\n";
    o.ignore = "id,name";
    if (rd(&d, t, &o)) return;
    CHECK(d.n == 2 && d.nx == 2 && X(&d)[0] == 1 && X(&d)[1] == 2 && X(&d)[3] == 5);
    CHECK(names_eq(d.feature_names, (const char *[]){"a", "b"}, 2));
    CHECK(d.y && d.y[1] == 6.5f);
    lm_data_free(&d);
    o.ignore = "0,2"; /* by index */
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && X(&d)[2] == 4);
    lm_data_free(&d);
    /* Ignoring the last column makes the one before it the default target. */
    o.ignore = "id,note";
    if (rd(&d, "id,a,y,note\nx,1,2,hello\nz,3,4,bye\n", &o)) return;
    CHECK(d.nx == 1 && d.y && d.y[1] == 4);
    lm_data_free(&d);
    o.target = "note";
    bad("id,a,y,note\nx,1,2,hello\n", &o, LM_EFORMAT, "both a target and ignored");
    o.target = NULL;
    o.ignore = "nope";
    bad(t, &o, LM_EFORMAT, "no column named 'nope'");
    /* Without ignoring, the text column is an error naming it. */
    bad(t, NULL, LM_EFORMAT, "column 'name'");
    /* features: by name, in the model's order; text columns unparsed. */
    o = lm_csv_defaults();
    o.features = "b,a";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && X(&d)[0] == 2 && X(&d)[1] == 1 && d.y && d.y[0] == 3.5f);
    lm_data_free(&d);
    o.no_target = 1;
    if (rd(&d, "b,name,a\n2,ann,1\n", &o)) return;
    CHECK(d.nx == 2 && X(&d)[0] == 2 && X(&d)[1] == 1 && !d.y && !d.labels);
    lm_data_free(&d);
    o.features = "b,c";
    bad("b,name,a\n2,ann,1\n", &o, LM_EFORMAT, "no column named 'c'");
}

static void test_several_targets(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    o.target = "t2,t1";
    if (rd(&d, "a,t1,b,t2\n1,10,2,20\n3,30,4,40\n", &o)) return;
    CHECK(d.n == 2 && d.nx == 2 && d.ny == 2 && d.y && !d.labels);
    CHECK(d.y && d.y[0] == 20 && d.y[1] == 10 && d.y[2] == 40 && d.y[3] == 30);
    CHECK(X(&d)[0] == 1 && X(&d)[1] == 2);
    lm_data_free(&d);
    o.target = "1,3"; /* indices */
    if (rd(&d, "1,10,2,20\n3,30,4,40\n", &o)) return;
    CHECK(d.ny == 2 && d.y && d.y[0] == 10 && d.y[1] == 20);
    lm_data_free(&d);
    o.target = "t1,t2";
    bad("a,t1,t2\n1,x,3\n", &o, LM_EFORMAT, "column 't1'");
    o.target_kind = 1;
    bad("a,t1,t2\n1,2,3\n", &o, LM_EFORMAT, "single target");
}

static void test_decimal_comma(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    o.decimal_comma = 1;
    if (rd(&d, "a;b;y\n5,1;3,5;1,25\n-4,0;2;1e3\n", &o)) return;
    CHECK(d.n == 2 && d.nx == 2 && X(&d)[0] == 5.1f && X(&d)[1] == 3.5f && X(&d)[2] == -4.0f);
    CHECK(d.y && d.y[0] == 1.25f && d.y[1] == 1000);
    lm_data_free(&d);
    o.sep = '\t';
    if (rd(&d, "a\tb\ty\n5,1\t3,5\t1,2500000000000001\n", &o)) return;
    CHECK(d.y && d.y[0] == 1.25f);
    lm_data_free(&d);
    o.sep = ',';
    bad("a,b\n1,2\n", &o, LM_EINVAL, "separator");
    o.sep = 0;
    bad("a;b;y\n5.1;3;1\n", &o, LM_EFORMAT, "column 'a'");
}

static void test_error_names_column(void)
{
    bad("alpha,beta,y\n1,2,3\n4,oops,6\n", NULL, LM_EFORMAT, "t.csv:3:2: expected a number, "
        "found 'oops' (column 'beta')");
    bad("1,2,3\n4,5,6\n7,oops,9\n", NULL, LM_EFORMAT, "t.csv:3:2: expected a number, found 'oops' (column 2)");
}

/* A one-row file with a million blank lines: the rows are counted from
 * lines with something on them, not from line ends. */
static void test_blank_lines_count_nothing(void)
{
    size_t n = 1000000;
    char *t = malloc(n + 32);
    if (!t) return;
    strcpy(t, "a,b,y\n1,2,3\n");
    size_t at = strlen(t);
    memset(t + at, '\n', n);
    t[at + n] = '\0';
    uint64_t old = lm_alloc_limit();
    lm_set_alloc_limit(4u << 20); /* room for the text, not for 1M rows */
    lm_data d;
    lm_status st = lm_csv_read_mem(&d, "t.csv", t, at + n, NULL);
    lm_set_alloc_limit(old);
    CHECKF(st == LM_OK, "%s", lm_errmsg());
    CHECK(d.n == 1 && d.nx == 2);
    lm_data_free(&d);
    free(t);
}

static void test_text_classes_sorted(void)
{
    lm_data d;
    if (rd(&d, "a,c\n1,zeta\n2,alpha\n3,mid\n4,alpha\n", NULL)) return;
    CHECK(names_eq(d.class_names, (const char *[]){"alpha", "mid", "zeta"}, 3));
    CHECK(d.labels && d.labels[0] == 2 && d.labels[1] == 0 && d.labels[2] == 1 &&
          d.labels[3] == 0);
    lm_data_free(&d);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A 36 MB line of "1,": refused for its column count before any field
 * array is allocated (the reader once grew one to 40 bytes a field). */
static void test_runaway_line(void)
{
    size_t fields = 18u << 20, len = 2 * fields;
    char *t = malloc(len + 1);
    if (!t) return;
    for (size_t i = 0; i < fields; i++) {
        t[2 * i] = '1';
        t[2 * i + 1] = ',';
    }
    t[len - 1] = '\n';
    t[len] = '\0';
    long before = max_rss_kb();
    lm_data d;
    lm_status st = lm_csv_read_mem(&d, "t.csv", t, len, NULL);
    long grew_mb = (max_rss_kb() - before) / 1024;
    CHECKF(st == LM_EFORMAT && contains(lm_errmsg(), "columns"), "%s: %s", lm_status_name(st),
           lm_errmsg());
    /* The copy of the text (36 MB) is all it may cost. */
    CHECKF(grew_mb < 150, "peak RSS grew by %ld MB", grew_mb);
    lm_data_free(&d);
    /* No line end in the first 64 MiB: not a CSV file, refused unread. */
    free(t);
    len = (64u << 20) + 16;
    t = malloc(len);
    if (!t) return;
    memset(t, 'a', len);
    st = lm_csv_read_mem(&d, "t.csv", t, len, NULL);
    CHECKF(st == LM_EFORMAT && contains(lm_errmsg(), "no line end"), "%s: %s",
           lm_status_name(st), lm_errmsg());
    free(t);
}

/* /dev/zero is refused at its first byte, not at the allocation limit. */
static void test_dev_zero(void)
{
    if (access("/dev/zero", R_OK) != 0) return;
    uint64_t old = lm_alloc_limit();
    lm_set_alloc_limit(256u << 20);
    lm_data d;
    lm_status st = lm_csv_read(&d, "/dev/zero", NULL);
    lm_set_alloc_limit(old);
    CHECKF(st == LM_EFORMAT && contains(lm_errmsg(), "not a text file"), "%s: %s",
           lm_status_name(st), lm_errmsg());
}

int main(void)
{
    RUN(test_numeric_header);
    RUN(test_target_kind_rule);
    RUN(test_duplicate_names);
    RUN(test_ignore_and_features);
    RUN(test_several_targets);
    RUN(test_decimal_comma);
    RUN(test_error_names_column);
    RUN(test_blank_lines_count_nothing);
    RUN(test_text_classes_sorted);
    RUN(test_runaway_line);
    RUN(test_dev_zero);
    TEST_MAIN_END();
}
