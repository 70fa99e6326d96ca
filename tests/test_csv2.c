/* test_csv2.c - the CSV reader reads what was written or refuses with a
 * reason (issue 10), within bounded memory (issue 11): numeric headers,
 * the target kind rule, duplicate names, ignored and named columns,
 * several targets, decimal commas, blank lines, sorted text classes,
 * runaway lines and /dev/zero. Inputs are in memory (lm_csv_read_mem)
 * unless the case is about reading a file. */
#include "harness.h"
#include "lamina.h"

#include <math.h>
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
    /* With the inputs named, an ignored column the file lacks (a test
     * file without the training file's ID) is nothing to leave out; one
     * it has is still left out (not the default target). */
    o = lm_csv_defaults();
    o.features = "a,b";
    o.ignore = "id,note";
    if (rd(&d, "b,a,y\n2,1,3.5\n", &o)) return;
    CHECK(d.nx == 2 && X(&d)[0] == 1 && X(&d)[1] == 2 && d.y && d.y[0] == 3.5f);
    lm_data_free(&d);
    if (rd(&d, "a,b,y,note\n1,2,3.5,9\n", &o)) return;
    CHECK(d.nx == 2 && d.y && d.y[0] == 3.5f);
    lm_data_free(&d);
    o.features = NULL; /* by position: the list must find its columns */
    bad("a,b,y\n1,2,3.5\n", &o, LM_EFORMAT, "no column named 'id'");
    /* An input's name that an ignored column or the target shares (the
     * file training took, read again by the model's names): the input is
     * the one column of that name that is neither. */
    o = lm_csv_defaults();
    o.features = "k";
    o.ignore = "0";
    if (rd(&d, "k,k,y\n7,1,3.5\n8,2,4.5\n", &o)) return;
    CHECK(d.nx == 1 && X(&d)[0] == 1 && X(&d)[1] == 2 && d.y && d.y[1] == 4.5f);
    lm_data_free(&d);
    o.ignore = NULL;
    if (rd(&d, "k,k\n1,3.5\n2,4.5\n", &o)) return;
    CHECK(d.nx == 1 && X(&d)[1] == 2 && d.y && d.y[1] == 4.5f);
    lm_data_free(&d);
    bad("k,k,y\n7,1,3.5\n", &o, LM_EFORMAT, "input column 'k' is ambiguous: columns 0 and 1");
    /* With the inputs named, the default target is the last column that
     * is not one of them: a file in another column order keeps its
     * target (it was the last column, an input: "both the target and an
     * input"). An ignored column is passed over too. */
    o = lm_csv_defaults();
    o.features = "a,b";
    if (rd(&d, "y,a,b\n3.5,1,2\n6.5,4,5\n", &o)) return;
    CHECK(d.nx == 2 && X(&d)[0] == 1 && X(&d)[3] == 5 && d.y && d.y[0] == 3.5f && d.y[1] == 6.5f);
    lm_data_free(&d);
    o.ignore = "id";
    if (rd(&d, "a,y,b,id\n1,3.5,2,x\n4,6.5,5,z\n", &o)) return;
    CHECK(d.nx == 2 && X(&d)[1] == 2 && d.y && d.y[1] == 6.5f);
    lm_data_free(&d);
    /* Every column an input (or left out): no target, said so (it said
     * "column 1 is both the target and an input", a column no one named) */
    bad("b,id,a\n2,x,1\n", &o, LM_EFORMAT, "t.csv: no target column: each of its columns is an "
        "input or left out");
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

/* A quoted field is shown as its value: quotes doubled in the file once. */
static void test_error_shows_quoted_value(void)
{
    bad("a,b,y\n1,\"x \"\"q\"\" ,1\",u\n2,3,v\n", NULL, LM_EFORMAT,
        "t.csv:2:2: expected a number, found 'x \"q\" ,1' (column 'b')");
    bad("a,y,\n1,2,\n3,4,\"p \"\"q\"\"\"\n", NULL, LM_EFORMAT, "t.csv:3:3: 'p \"q\"' in the last column");
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
/* Categorical columns: each becomes one 0/1 input per distinct value, in
 * its place, values in byte order (numerically when all are integers),
 * named "COLUMN=VALUE"; the encoding reads back (lm_csv_opts.categories)
 * on a file with other columns and values: by name, unseen values all 0. */
static void test_categorical(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.categorical = "c";
    lm_data d;
    if (rd(&d, "x,c,n,y\n1,b,10,0\n2,a,9,1\n3,b,2,0\n4,10,2,1\n", &o) != LM_OK) return;
    CHECK(d.nx == 5 && d.n == 4);
    const char *names[] = {"x", "c=10", "c=a", "c=b", "n"};
    CHECK(names_eq(d.feature_names, names, 5));
    static const float want[4][5] = {{1, 0, 0, 1, 10}, {2, 0, 1, 0, 9}, {3, 0, 0, 1, 2},
                                      {4, 1, 0, 0, 2}};
    const float *x = d.x;
    int same = 1;
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 5; j++) same &= x[r * 5 + j] == want[r][j];
    CHECK(same);
    CHECKF(lm_data_categories(&d) && !strcmp(lm_data_categories(&d), "1:c=10,a,b"), "%s",
           lm_data_categories(&d) ? lm_data_categories(&d) : "(null)");
    const char *name, *ex;
    int first, k;
    size_t miss, unseen;
    CHECK(lm_data_category(&d, 0, &name, &first, &k, &miss, &unseen, &ex) == 1);
    CHECK(!strcmp(name, "c") && first == 1 && k == 3 && miss == 0 && unseen == 0 && !ex);
    CHECK(lm_data_category(&d, 1, NULL, NULL, NULL, NULL, NULL, NULL) == 0);
    lm_data_free(&d);
    /* integers in numeric order; two columns, by index */
    o.categorical = "2,1";
    if (rd(&d, "x,c,n,y\n1,b,10,0\n2,a,9,1\n3,b,2,0\n", &o) != LM_OK) return;
    CHECKF(!strcmp(lm_data_categories(&d), "1:c=a,b;3:n=2,9,10"), "%s", lm_data_categories(&d));
    lm_data_free(&d);
    /* no header: names are the column indices */
    o.categorical = "1";
    o.header = 0;
    if (rd(&d, "1,b,0\n2,a,1\n", &o) != LM_OK) return;
    CHECK(d.nx == 3 && !d.feature_names);
    CHECKF(!strcmp(lm_data_categories(&d), "1:1=a,b"), "%s", lm_data_categories(&d));
    lm_data_free(&d);
}

static void test_categories_round_trip(void)
{
    lm_csv_opts o = lm_csv_defaults();
    /* a name and values holding the separators of the encoding, quotes,
     * '%' and UTF-8 */
    o.categorical = "na,m=e;\"ü%:";
    const char *train = "x,\"na,m=e;\"\"ü%:\",y\n1,\"a,b\",0\n2,x=1;y,1\n3,\"q\"\"%20\",0\n"
                        "4,é:,1\n";
    lm_data a;
    if (rd(&a, train, &o) != LM_OK) return;
    const char *enc = lm_data_categories(&a);
    CHECKF(enc && !strcmp(enc, "1:na%2Cm%3De%3B\"ü%25%3A=a%2Cb,q\"%2520,x%3D1%3By,é%3A"),
           "%s", enc ? enc : "(null)");
    const char *names[] = {"x", "na,m=e;\"ü%:=a,b", "na,m=e;\"ü%:=q\"%20",
                           "na,m=e;\"ü%:=x=1;y", "na,m=e;\"ü%:=é:"};
    CHECK(names_eq(a.feature_names, names, 5));
    char *keep = strdup(enc);
    /* another file read with the encoding: an extra column left out, no
     * target, values unseen in training all 0 (counted, first kept) */
    lm_csv_opts p = lm_csv_defaults();
    p.categories = keep;
    p.no_target = 1;
    p.ignore = "z";
    lm_data b;
    if (rd(&b, "x,\"na,m=e;\"\"ü%:\",z\n1,é:,7\n2,new,7\n3,x=1;y,7\n4,other,7\n", &p) == LM_OK) {
        static const float want[4][5] = {{1, 0, 0, 0, 1}, {2, 0, 0, 0, 0}, {3, 0, 0, 1, 0},
                                         {4, 0, 0, 0, 0}};
        const float *x = b.x;
        int same = b.nx == 5 && b.n == 4;
        for (int r = 0; same && r < 4; r++)
            for (int j = 0; j < 5; j++) same &= x[r * 5 + j] == want[r][j];
        CHECK(same);
        CHECK(!strcmp(lm_data_categories(&b), enc)); /* the same encoding out */
        const char *ex;
        size_t unseen;
        CHECK(lm_data_category(&b, 0, NULL, NULL, NULL, NULL, &unseen, &ex) && unseen == 2 &&
              !strcmp(ex, "new"));
        lm_data_free(&b);
    }
    /* the column at another input than the encoding says: refused */
    p.ignore = NULL;
    bad("\"na,m=e;\"\"ü%:\",x\n\"a,b\",1\n", &p, LM_EFORMAT,
        "puts categorical column 'na,m=e;\"ü%:' at input 1, but in this file it comes at input 0");
    /* encodings that are not lm_data_categories' */
    const char *broken[] = {"c=a,b", "1:=a", "1:c=", "1:c=a,,b", "x:c=a", "1:c=a%2", "1:c=a%zz",
                            "1:c=a,a", "1:#=a", "1:#x=a", "1:#1x=a", "1:#-1=a", NULL};
    for (int i = 0; broken[i]; i++) {
        p.categories = broken[i];
        lm_data e;
        lm_status st = lm_csv_read_mem(&e, "t.csv", "x,c\n1,a\n", 8, &p);
        CHECKF(st == LM_EINVAL && contains(lm_errmsg(), "malformed"), "%s: %s (%s)", broken[i],
               lm_status_name(st), lm_errmsg());
        lm_data_free(&e);
    }
    /* "#J" finds a column by index: out of range is refused */
    p.categories = "1:#7=a";
    bad("x,c\n1,a\n", &p, LM_EFORMAT, "categorical column 7 is out of range (2 columns)");
    /* categorical and categories together */
    p.categories = keep;
    p.categorical = "c";
    bad("x,c\n1,a\n", &p, LM_EINVAL, "not both");
    free(keep);
    lm_data_free(&a);
}

/* A header name that cannot find its column again (empty, or shared by
 * another column) is written as the column's index, "#J", and a '#' in a
 * name escaped, so the encoding reads its own file back. */
static void test_categories_by_index(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.categorical = "0,2";
    o.ignore = "1";
    lm_data a;
    if (rd(&a, ",c,c,#1,y\nu,1,p,5,0\nv,2,q,6,1\n", &o) != LM_OK) return;
    const char *enc = lm_data_categories(&a);
    CHECKF(enc && !strcmp(enc, "0:#0=u,v;2:#2=p,q"), "%s", enc ? enc : "(null)");
    lm_csv_opts p = lm_csv_defaults();
    p.categories = enc;
    p.ignore = "1";
    lm_data b;
    if (rd(&b, ",c,c,#1,y\nv,1,q,7,0\nu,2,p,8,1\n", &p) == LM_OK) {
        static const float want[2][5] = {{0, 1, 0, 1, 7}, {1, 0, 1, 0, 8}};
        const float *x = b.x;
        int same = b.nx == 5 && b.n == 2;
        for (int r = 0; same && r < 2; r++)
            for (int j = 0; j < 5; j++) same &= x[r * 5 + j] == want[r][j];
        CHECK(same);
        lm_data_free(&b);
    }
    lm_data_free(&a);
    /* a '#' in a name is escaped: "#1" is the name, not column 1 */
    o.categorical = "#1";
    o.ignore = NULL;
    if (rd(&a, "x,#1,y\n1,u,0\n2,v,1\n", &o) != LM_OK) return;
    enc = lm_data_categories(&a);
    CHECKF(enc && !strcmp(enc, "1:%231=u,v"), "%s", enc ? enc : "(null)");
    lm_data_free(&a);
}

/* Refusals: the target or a left-out column as categorical, too many
 * values, an empty cell; hints naming the CLI's flags. */
static void test_categorical_errors(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.categorical = "y";
    bad("x,y\n1,a\n2,b\n", &o, LM_EFORMAT, "column 'y' is the target; it cannot also be categorical");
    o.categorical = "x";
    o.ignore = "x";
    bad("x,z,y\n1,2,a\n2,3,b\n", &o, LM_EFORMAT, "categorical column 'x' is not an input");
    o.ignore = NULL;
    o.categorical = "nope";
    bad("x,y\n1,a\n", &o, LM_EFORMAT, "no column named 'nope' for the categorical");
    o.categorical = "c";
    o.max_categories = 2;
    bad("c,y\na,0\nb,1\nc,0\n", &o, LM_EFORMAT, "column 'c' has more than 2 distinct values");
    o.max_categories = 3;
    lm_data d;
    if (rd(&d, "c,y\na,0\nb,1\nc,0\n", &o) == LM_OK) CHECK(d.nx == 3);
    lm_data_free(&d);
    bad("x,c,y\n1,a,0\n2,,1\n", &o, LM_EFORMAT,
        "t.csv:3:2: empty cell in categorical column 'c'; to read empty cells and NA, ? ... as "
        "missing: --missing mean");
    o.categorical = NULL;
    bad("x,c,y\n1,a,0\n2,b,1\n", &o, LM_EFORMAT,
        "t.csv:2:2: expected a number, found 'a' (column 'c'); to one-hot encode it: --categorical c");
    o.header = 0;
    bad("1,a,0\n2,b,1\n", &o, LM_EFORMAT, "to one-hot encode it: --categorical 1");
    /* a number with a unit: the hint says so before the one-hot one */
    bad("1,3 kg,0\n2,4 kg,1\n", &o, LM_EFORMAT,
        "found '3 kg' (column 2); a number with a unit ('kg') is not read: write the number "
        "alone, or to one-hot encode it: --categorical 1");
    o.header = 1;
    bad("x,c,y\n1,12%,0\n2,4,1\n", &o, LM_EFORMAT, "a number with a unit ('%') is not read");
    bad("x,c,y\n1,2nd floor,0\n2,4,1\n", &o, LM_EFORMAT,
        "found '2nd floor' (column 'c'); to one-hot encode it: --categorical c");
}

/* Missing cells (lm_csv_opts.missing): empty and the markers, exactly
 * so, are NaN in numeric columns, all 0 in categorical ones; a missing
 * target is an error; without the option they are refused with a hint;
 * lm_data_norm_stats leaves them out. */
static void test_missing(void)
{
    lm_csv_opts o = lm_csv_defaults();
    const char *text = "a,b,c,y\n1,NA,u,0\n,2,?,1\n3,N/A,NULL,0\nnan,n/a,v,1\nNaN,null,None,0\n"
                       "\"\",5,,1\n7,?,u,0\n";
    bad(text, &o, LM_EFORMAT, "t.csv:2:2: expected a number, found 'NA' (column 'b'); to fill "
        "missing cells with the column's mean: --missing mean");
    o.missing = 1;
    o.categorical = "c";
    lm_data d;
    if (rd(&d, text, &o) != LM_OK) return;
    CHECK(d.nx == 4 && d.n == 7);
    const float *x = d.x;
    int holes = 0;
    for (size_t i = 0; i < d.n * 4; i++) holes += isnan(x[i]);
    CHECKF(holes == 9, "%d NaN cells", holes); /* a: 3 (of 7), b: 6 */
    CHECK(x[0] == 1 && isnan(x[1]) && x[2] == 1 && x[3] == 0); /* row 1: u */
    CHECK(isnan(x[4]) && x[5] == 2 && x[6] == 0 && x[7] == 0); /* row 2: ? -> 0 0 */
    size_t miss;
    CHECK(lm_data_category(&d, 0, NULL, NULL, NULL, &miss, NULL, NULL) && miss == 4);
    float mean[4], scale[4];
    CHECK_OK(lm_data_norm_stats(&d, mean, scale));
    /* a: 1, 3, 7 present: mean 11/3, std sqrt(56/9); b: 2, 5 */
    CHECKF(fabsf(mean[0] - 11.0f / 3) < 1e-6f && fabsf(scale[0] - 1 / sqrtf(56.0f / 9)) < 1e-6f &&
           mean[1] == 3.5f && scale[1] == 1 / 1.5f, "%g %g %g %g", mean[0], scale[0], mean[1],
           scale[1]);
    lm_data_free(&d);
    /* markers are exact: "na", "Na", "NONE" are text */
    o.categorical = NULL;
    bad("a,y\n1,0\nNONE,1\n", &o, LM_EFORMAT, "found 'NONE'");
    /* a missing target */
    bad("a,y\n1,0\n2,NA\n", &o, LM_EFORMAT, "t.csv:3:2: the target is missing ('NA') in column 'y'");
    bad("a,y\n1,x\n2,\n", &o, LM_EFORMAT, "t.csv:3:2: the target is missing ('')");
    /* the header is found though the first row has no numbers below names */
    if (rd(&d, "a,b,y\n,NA,0\n2,3,1\n", &o) == LM_OK) CHECK(d.n == 2 && d.feature_names);
    lm_data_free(&d);
    /* a column all missing: mean 0, scale 1 */
    if (rd(&d, "a,b,y\n1,NA,0\n2,,1\n", &o) == LM_OK) {
        CHECK_OK(lm_data_norm_stats(&d, mean, scale));
        CHECK(mean[1] == 0 && scale[1] == 1 && mean[0] == 1.5f);
    }
    lm_data_free(&d);
}

/* With --missing, a first data row of only missing cells and text once
 * left the header undetected (every missing cell passed over, text below
 * text), or took such a first row for a header (its missing markers are
 * text above numbers). A missing cell says nothing: the first cell below
 * it that is not missing speaks for its column. */
static void test_missing_first_row_header(void)
{
    lm_csv_opts o = lm_csv_defaults();
    o.missing = 1;
    static const char *const names[] = {"x1", "x2"};
    lm_data d;
    if (rd(&d, "x1,x2,label\nNA,,cat\n1,2,dog\n3,4,cat\n", &o) == LM_OK)
        CHECKF(d.n == 3 && names_eq(d.feature_names, names, 2) && isnan(X(&d)[0]) &&
                   isnan(X(&d)[1]) && X(&d)[2] == 1, "n %zu, names %s", d.n,
               d.feature_names ? "kept" : "none");
    lm_data_free(&d);
    /* the cell below may be several rows down (blank lines pass too) */
    if (rd(&d, "x1,x2,label\nNA,?,cat\n,NA,dog\n\n5,6,cat\n", &o) == LM_OK)
        CHECK(d.n == 3 && names_eq(d.feature_names, names, 2));
    lm_data_free(&d);
    /* no header: the first row is data */
    if (rd(&d, "NA,,cat\n1,2,dog\n3,4,cat\n", &o) == LM_OK)
        CHECKF(d.n == 3 && !d.feature_names && isnan(X(&d)[0]), "n %zu", d.n);
    lm_data_free(&d);
}

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

/* Column lists: a name holding a comma is one item in double quotes, a
 * quote inside written twice, as a CSV field; ignore, features,
 * categorical and target all read them so. */
static void test_column_lists_quoted(void)
{
    struct { const char *list; const char *items[4]; int n; } cases[] = {
        {"a,b", {"a", "b"}, 2},
        {"\"height, cm\",age", {"height, cm", "age"}, 2},
        {"\"say \"\"hi\"\"\",x", {"say \"hi\"", "x"}, 2},
        {"\"\"\"q\"", {"\"q"}, 1},
        {"plain \"mid\" quote", {"plain \"mid\" quote"}, 1}, /* quotes only at the start */
        {"a,", {"a", ""}, 2},
        {"", {""}, 1},
        {"\",\",\",,\"", {",", ",,"}, 2},
        {"\"open, never closed", {"open, never closed"}, 1}, /* to the end */
        {"\"a\"b,c", {"ab", "c"}, 2}, /* text after the closing quote is kept */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *p = cases[c].list;
        int k = 0;
        char name[64];
        while (p && k < 4) {
            size_t len = lm_csv_list_next(&p, name, sizeof name);
            CHECKF(k < cases[c].n && len == strlen(name) && strcmp(name, cases[c].items[k]) == 0,
                   "list '%s' item %d: got '%s' (%zu)", cases[c].list, k, name, len);
            k++;
        }
        CHECKF(k == cases[c].n && !p, "list '%s': %d items, want %d", cases[c].list, k, cases[c].n);
    }
    /* cut to fit, the full length returned; NULL gives 0 */
    const char *p = "\"abcdef\",g";
    char small[4];
    CHECK(lm_csv_list_next(&p, small, sizeof small) == 6 && strcmp(small, "abc") == 0 &&
          p && strcmp(p, "g") == 0);
    CHECK(lm_csv_list_next(&p, NULL, 0) == 1 && p == NULL);
    CHECK(lm_csv_list_next(&p, small, sizeof small) == 0 && small[0] == '\0');

    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    const char *t = "\"id, internal\",\"height, cm\",note,\"weight, kg\",\"y, target\"\n"
                    "7,1.5,hi,60,1\n8,1.7,yo,70,2\n";
    o.ignore = "\"id, internal\",note";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && names_eq(d.feature_names, (const char *[]){"height, cm", "weight, kg"}, 2));
    CHECK(d.y && d.y[1] == 2 && X(&d)[2] == 1.7f);
    lm_data_free(&d);
    /* features by name, in the list's order, a name in quotes */
    o.features = "\"weight, kg\",\"height, cm\"";
    o.target = "\"y, target\"";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && X(&d)[0] == 60 && X(&d)[1] == 1.5f && d.y && d.y[0] == 1);
    lm_data_free(&d);
    /* one whole name still needs no quotes */
    o.features = NULL;
    o.target = "y, target";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && d.y && d.y[0] == 1);
    lm_data_free(&d);
    o.target = NULL;
    /* an unknown quoted name is named without its quotes */
    o.ignore = "\"id, internal\",\"nope, no\"";
    bad(t, &o, LM_EFORMAT, "no column named 'nope, no'");
    /* categorical by a quoted name */
    o.ignore = "\"id, internal\"";
    o.categorical = "\"height, cm\",note";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 5); /* 2 + 2 one-hot inputs and the weight */
    lm_data_free(&d);
}

/* Lines that all end in a separator (spreadsheet exports) give a last
 * column with no header name and no values: left out, so the default
 * target is the column before it. A value in it later is refused with
 * the line; --ignore or --target naming it keeps the old meaning. */
static void test_trailing_separator_column(void)
{
    lm_csv_opts o = lm_csv_defaults();
    lm_data d;
    const char *t = "a,b,y,\n1,2,x,\n3,4,z,\n5,6,x,\n";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && d.n == 3 && d.labels && d.n_classes == 2 && X(&d)[4] == 5);
    CHECK(names_eq(d.feature_names, (const char *[]){"a", "b"}, 2));
    lm_data_free(&d);
    o.no_target = 1; /* predict's read: the two inputs and y, not the empty column */
    bad(t, &o, LM_EFORMAT, "column 'y'");
    o.no_target = 0;
    o.target = "y";
    if (rd(&d, t, &o)) return;
    CHECK(d.nx == 2 && d.labels);
    lm_data_free(&d);
    o.target = NULL;
    bad("a,b,y,\n1,2,x,\n3,4,z,oops\n", &o, LM_EFORMAT,
        "t.csv:3:4: 'oops' in the last column, which has no header name");
    o.ignore = "3"; /* left out by the caller: anything may be in it */
    if (rd(&d, "a,b,y,\n1,2,x,\n3,4,z,oops\n", &o)) return;
    CHECK(d.nx == 2 && d.labels && d.n == 2);
    lm_data_free(&d);
    o.ignore = NULL;
    const char *num = "a,b,y,\n1,2,0,\n3,4,1,\n";
    o.target = "3"; /* named the target: a column, as before (y an input) */
    if (rd(&d, num, &o)) return;
    CHECK(d.nx == 3 && X(&d)[5] == 1);
    lm_data_free(&d);
    o.target = NULL;
    /* a named last column, or a value in the first row, is data as before */
    if (rd(&d, "a,b,y,n\n1,2,0,\n3,4,1,\n", &o)) return;
    CHECK(d.nx == 3 && lm_data_target_name(&d, 0) && strcmp(lm_data_target_name(&d, 0), "n") == 0);
    lm_data_free(&d);
    if (rd(&d, "a,b,y,\n1,2,0,7\n3,4,1,8\n", &o)) return;
    CHECK(d.nx == 3 && d.y && d.y[1] == 8 && !d.labels);
    lm_data_free(&d);
    /* a header alone ending in a separator: rows a field shorter (or not) */
    if (rd(&d, "a,b,y,\n1,2,x\n3,4,z,\n5,6,x\n", &o)) return;
    CHECK(d.nx == 2 && d.n == 3 && d.labels && d.n_classes == 2);
    lm_data_free(&d);
    bad("a,b,y,\n1,2,x\n3,4\n", &o, LM_EFORMAT, "t.csv:3: expected 4 columns, found 2");
    /* without a header there is no empty name to go by */
    o.header = 0;
    bad("1,2,x,\n3,4,z,\n", &o, LM_EFORMAT, "");
}

/* A number with thousands separators is refused with a hint to write it
 * without them, not to one-hot encode it; "1,23" is no such number. */
static void test_thousands_separator_hint(void)
{
    lm_csv_opts o = lm_csv_defaults();
    bad("a,b,y\n\"1,234\",2,0\n3,4,1\n", &o, LM_EFORMAT, "'1,234' (column 'a'); numbers with "
        "thousands separators are not read: write them without (',')");
    bad("a,b,y\n\"-12,345,678.25\",2,0\n3,4,1\n", &o, LM_EFORMAT, "thousands separators");
    bad("a,b,y\n\"1,23\",2,0\n3,4,1\n", &o, LM_EFORMAT, "to one-hot encode it");
    bad("a,b,y\n\"1,234.\",2,0\n3,4,1\n", &o, LM_EFORMAT, "to one-hot encode it");
    o.decimal_comma = 1;
    o.sep = ';';
    bad("a;b;y\n1.234,5;2;0\n3;4;1\n", &o, LM_EFORMAT, "write them without ('.')");
}

/* A target of prices written "1,200,000" was read as text: one class per
 * price, trained without a word. Every text a grouped number: refused as
 * in a feature column; --task classes still takes them as classes, and a
 * column with other text stays classes. */
static void test_thousands_separator_target(void)
{
    lm_csv_opts o = lm_csv_defaults();
    bad("a,y\n1,\"407,048\"\n2,\"1,565,533\"\n3,900\n", &o, LM_EFORMAT,
        "t.csv:2:2: expected a number, found '407,048' (column 'y'); numbers with thousands "
        "separators are not read: write them without (','), or --task classes if they are "
        "class names");
    o.target_kind = 0;
    bad("a,y\n1,\"407,048\"\n2,\"1,565,533\"\n", &o, LM_EFORMAT,
        "write them without (',')");
    o.target_kind = 1;
    lm_data d;
    const char *t = "a,y\n1,\"407,048\"\n2,\"1,565,533\"\n";
    lm_status st = lm_csv_read_mem(&d, "t.csv", t, strlen(t), &o);
    CHECKF(st == LM_OK && d.n_classes == 2, "--task classes: %s (%s)", lm_status_name(st),
           lm_errmsg());
    lm_data_free(&d);
    o.target_kind = -1;
    t = "a,y\n1,\"1,000\"\n2,small\n";
    st = lm_csv_read_mem(&d, "t.csv", t, strlen(t), &o);
    CHECKF(st == LM_OK && d.n_classes == 2, "other text: %s (%s)", lm_status_name(st),
           lm_errmsg());
    lm_data_free(&d);
    /* in a ';' or tab file "1,500" is as likely a decimal comma (1.5): the
     * hint is the one a feature column gets, never 'write them without',
     * which would make 1.5 into 1500 */
    bad("a;y\n1;1,500\n2;2,250\n", &o, LM_EFORMAT,
        "t.csv:2:2: expected a number, found '1,500' (column 'y'); for numbers written with a "
        "decimal comma: --decimal-comma, or --task classes if they are class names");
    o.target_kind = 0;
    bad("a\ty\n1\t1,500\n2\t2,25\n", &o, LM_EFORMAT,
        "(column 'y'); for numbers written with a decimal comma: --decimal-comma");
    o.target_kind = -1;
    /* grouped in thousands beyond what a decimal comma reads: thousands */
    bad("a;y\n1;1,200,000\n2;2,250\n", &o, LM_EFORMAT, "write them without (',')");
    /* decimal commas that look like no thousands ("1,5", "2,25") in a ';'
     * file: a numeric target too, not one class a row */
    bad("a;t\n1;1,5\n2;2,25\n3;3\n4;4,5\n", &o, LM_EFORMAT,
        "t.csv:2:2: expected a number, found '1,5' (column 't'); for numbers written with a "
        "decimal comma: --decimal-comma, or --task classes if they are class names");
    /* mixed with other text: class names, as before */
    t = "a;t\n1;x\n2;2,25\n";
    st = lm_csv_read_mem(&d, "t.csv", t, strlen(t), &o);
    CHECKF(st == LM_OK && d.n_classes == 2, "other text: %s (%s)", lm_status_name(st),
           lm_errmsg());
    lm_data_free(&d);
    /* in a ',' file "1,5" is quoted text, never a decimal comma: classes */
    t = "a,t\n1,\"1,5\"\n2,\"2,25\"\n";
    st = lm_csv_read_mem(&d, "t.csv", t, strlen(t), &o);
    CHECKF(st == LM_OK && d.n_classes == 2, "comma file: %s (%s)", lm_status_name(st),
           lm_errmsg());
    lm_data_free(&d);
}

/* A number written with a decimal comma in a file read with decimal
 * points (a ';' or tab file, as European spreadsheets write them) is
 * refused with a hint naming --decimal-comma, not --categorical. */
static void test_decimal_comma_hint(void)
{
    lm_csv_opts o = lm_csv_defaults();
    bad("a;b;y\n5,1;2;x\n3;4;z\n", &o, LM_EFORMAT, "'5,1' (column 'a'); for numbers written "
        "with a decimal comma: --decimal-comma");
    bad("a\tb\ty\n5\t-0,25\tx\n3\t4\tz\n", &o, LM_EFORMAT, "--decimal-comma");
    /* the header then looks like text above text: its first name is the error */
    bad("a;b;y\n5,1;2,5;x\n3,5;4;z\n", &o, LM_EFORMAT, "t.csv:1:1: expected a number, found 'a' "
        "(column 1); for numbers written with a decimal comma: --decimal-comma");
    /* a comma file's quoted "1,23" is not that; nor is text */
    bad("a,b,y\n\"1,23\",2,x\n3,4,z\n", &o, LM_EFORMAT, "to one-hot encode it");
    bad("a;b;y\nred;2;x\n3;4;z\n", &o, LM_EFORMAT, "to one-hot encode it");
}

/* Lines of separators only (",,,", which spreadsheets leave below their
 * data) were refused at their first cell, with a hint to fill it with
 * --missing mean, which then refused the missing target: the line is
 * named as what it is, with or without --missing. */
static void test_separators_only_line(void)
{
    lm_csv_opts o = lm_csv_defaults();
    bad("a,b,y\r\n1,2,x\r\n3,4,z\r\n,,\r\n,,\r\n", &o, LM_EFORMAT,
        "t.csv:4: every cell of the line is empty (separators only, as spreadsheets leave "
        "below their data): delete the line");
    o.missing = 1;
    bad("a;b;y\n1;2;x\n ; ;\n3;4;z\n", &o, LM_EFORMAT, "t.csv:3: every cell of the line is empty");
    /* a line with one value in it is a row with missing cells, as before */
    lm_data d;
    const char *t = "a,b,y\n1,2,x\n,4,z\n5,,x\n";
    lm_status st = lm_csv_read_mem(&d, "t.csv", t, strlen(t), &o);
    CHECKF(st == LM_OK && d.n == 3, "%s (%s)", lm_status_name(st), lm_errmsg());
    lm_data_free(&d);
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
    RUN(test_error_shows_quoted_value);
    RUN(test_blank_lines_count_nothing);
    RUN(test_text_classes_sorted);
    RUN(test_runaway_line);
    RUN(test_dev_zero);
    RUN(test_categorical);
    RUN(test_categories_round_trip);
    RUN(test_categories_by_index);
    RUN(test_categorical_errors);
    RUN(test_missing);
    RUN(test_missing_first_row_header);
    RUN(test_column_lists_quoted);
    RUN(test_trailing_separator_column);
    RUN(test_thousands_separator_hint);
    RUN(test_thousands_separator_target);
    RUN(test_separators_only_line);
    RUN(test_decimal_comma_hint);
    TEST_MAIN_END();
}
