/* test_fann.c - FANN's files: lm_fann_data_read against fann_save_train's
 * output and hand-made bad files, lm_net_load_fann against FANN's own
 * fann_run outputs (tests/fixtures/fann/, written by
 * make_fann_fixtures.c beside them, linked against libfann) and against
 * malformed and unsupported nets. */
#include "harness.h"
#include "lamina.h"

#include <math.h>
#include <unistd.h>

#define FIXDIR "tests/fixtures/fann/"

/* ------------------------------------------------------------- data */

static lm_status data_text(lm_data *d, const char *text)
{
    return lm_fann_data_read_mem(d, "t.data", text, strlen(text));
}

/* The reader's message for text holds want. */
static void data_refused(const char *text, const char *want)
{
    lm_data d;
    lm_status st = data_text(&d, text);
    CHECKF(st == LM_EFORMAT && strstr(lm_errmsg(), want), "for %.30s: %s: %s (want '%s')", text,
           lm_status_name(st), lm_errmsg(), want);
    CHECK(d.x == NULL && d.n == 0);
}

static void fann_data_xor(void)
{
    lm_data d;
    CHECK_OK(lm_fann_data_read(&d, FIXDIR "xor.data")); // fann_save_train's file
    CHECK(d.n == 4 && d.nx == 2 && d.ny == 1 && d.labels == NULL && d.x_type == LM_F32);
    const float *x = d.x;
    for (int r = 0; r < 4 && d.x; r++) {
        CHECK(x[2 * r] == (float)(r & 1) && x[2 * r + 1] == (float)(r >> 1));
        CHECK(d.y[r] == (float)((r & 1) ^ (r >> 1)));
    }
    lm_data_free(&d);
}

static void fann_data_layout(void)
{
    lm_data d;
    // fscanf's reading: line ends are white space, numbers as %f takes them
    CHECK_OK(data_text(&d, "2 3 2\r\n1 -2.5 3e2 0.5\n-1\n\t4 5 6\n+7 .25"));
    CHECK(d.n == 2 && d.nx == 3 && d.ny == 2);
    if (d.x) {
        const float *x = d.x;
        CHECK(x[1] == -2.5f && x[2] == 300.0f && x[3] == 4.0f && x[5] == 6.0f);
        CHECK(d.y[0] == 0.5f && d.y[1] == -1.0f && d.y[2] == 7.0f && d.y[3] == 0.25f);
    }
    lm_data_free(&d);
}

static void fann_data_refusals(void)
{
    data_refused("", "empty file");
    data_refused("4 2\n", "t.data:2: the header ends before num_outputs");
    data_refused("4 x 1\n", "t.data:1: num_inputs: expected a count, found 'x'");
    data_refused("0 2 1\n", "claims no pairs");
    data_refused("2 0 1\n1\n2\n", "at least one of each");
    // a header claiming 2^40 pairs: refused before allocating
    data_refused("1099511627776 2 1\n0 0\n0\n", "t.data:1: the header claims 1099511627776 pairs");
    data_refused("99999999999999999999999 2 1\n", "is too large");
    data_refused("3 2 1\n0 0\n0\n1 1\n1\n", "t.data:1: the header claims 3 pairs of 3 numbers, "
                 "more than the file's 13 remaining bytes can hold");
    data_refused("3 2 1\n0.000 0.000\n0.000\n1.000 1.000\n1.000\n", "t.data:6: the file ends in pair 3");
    data_refused("2 2 1\n0 0\n0\n1 abc\n1\n", "t.data:4: pair 2, input 2: expected a number, found 'abc'");
    data_refused("2 2 1\n0 0\n0\n1 1\nnan\n", "t.data:5: pair 2, output 1: nan is not a finite float");
    data_refused("1 2 1\n0 inf\n0\n", "input 2: inf is not a finite float");
    data_refused("1 2 1\n0 1e39\n0\n", "1e39 is not a finite float");
    data_refused("1 2 1\n0 0\n0\n5\n", "t.data:4: '5' follows the last of the 1 pairs");
    data_refused("1 2 1\n0,0\n0\n", "expected a number, found '0,0'");
    lm_data d;
    CHECK(lm_fann_data_read(&d, FIXDIR "no-such.data") == LM_EIO);
}

/* The detection rule: FANN's layout, never a CSV file. */
static void fann_data_detect(void)
{
    static const char *fann[] = {
        "4 2 1\n0 0\n0\n", "4\t2\t1\r\n0 0 \r\n0 \r\n", "1 3 2\n0.5 -1 2e3\n1 0\n",
        // a pair a line (FANN reads it: it was taken for CSV)
        "4 2 1\n0 0 0\n0 1 1\n1 0 1\n1 1 0\n", "2 3 2\r\n1 2 3 4 5\r\n6 7 8 9 10\r\n\r\n",
        "1 1 1\n0.5 -1", "3 2 1\n0 0 0\n0 1 1\n1 0 1", // no last line end
        "9 2 1\n0 0 0\n0 1 -", // cut by the caller in a number
    };
    static const char *csv[] = {
        "a,b,c\n1,2,3\n",           // a CSV header
        "4,2,1\n0,0\n0\n",           // commas
        "2\t3\t1\n1\t2\t3\n4\t5\t6\n", // three integer columns: 3 fields, not 3 then 1
        "3 2 1\n",                   // nothing after the header
        "3 2 1\n0 0 0\n0\n",         // inputs line of the wrong count
        "3 2 1\nx y\n0\n",           // not numbers
        "3 2 1 0\n0 0\n0\n",         // four counts
        "5.1,3.5,1.4,0.2,Iris-setosa\n", // UCI's iris.data is a CSV
        "2 2 1\n0 0 0\n0 1 1\n1 0 1\n",  // more rows than the header's pairs
        "3 2 1\n0 0 0\n0 1\n1 0 1\n",    // a short row
        "3 2 1\n0 0 0\n\n1 0 1\n",        // a blank line between rows
        "3 2 1\n0 0 0\n0 1 x\n",          // not a number
    };
    for (size_t i = 0; i < sizeof fann / sizeof *fann; i++)
        CHECKF(lm_fann_data_detect(fann[i], strlen(fann[i])) == 1, "FANN %zu not detected", i);
    for (size_t i = 0; i < sizeof csv / sizeof *csv; i++)
        CHECKF(lm_fann_data_detect(csv[i], strlen(csv[i])) == 0, "CSV %zu taken for FANN", i);
    CHECK(lm_fann_data_detect(NULL, 0) == 0);
}

/* -------------------------------------------------------------- nets */

/* Reads NAME.out: rows, inputs, outputs, then per row its inputs and
 * FANN's outputs. */
static int read_out(const char *name, int *rows, int *ni, int *no, float **x, float **y)
{
    char path[256];
    snprintf(path, sizeof path, FIXDIR "%s.out", name);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d %d %d", rows, ni, no) != 3) {
        if (f) fclose(f);
        return 0;
    }
    *x = malloc((size_t)*rows * (size_t)*ni * sizeof **x);
    *y = malloc((size_t)*rows * (size_t)*no * sizeof **y);
    int ok = *x && *y;
    for (int r = 0; ok && r < *rows; r++) {
        for (int i = 0; ok && i < *ni; i++) ok = fscanf(f, "%f", &(*x)[r * *ni + i]) == 1;
        for (int i = 0; ok && i < *no; i++) ok = fscanf(f, "%f", &(*y)[r * *no + i]) == 1;
    }
    fclose(f);
    return ok;
}

/* lamina's predictions of NAME.net match FANN's within float rounding. */
static void matches_fann(const char *name, lm_act want_last)
{
    char path[256];
    snprintf(path, sizeof path, FIXDIR "%s.net", name);
    lm_net *net = NULL;
    int rows, ni, no;
    float *x = NULL, *y = NULL;
    CHECKF(read_out(name, &rows, &ni, &no, &x, &y), "%s.out unreadable", name);
    lm_status st = lm_net_load_fann(&net, path);
    CHECKF(st == LM_OK, "%s: %s", name, lm_errmsg());
    if (net && x) {
        CHECK(lm_net_n_in(net) == ni && lm_net_n_out(net) == no);
        lm_layer_info li;
        CHECK_OK(lm_net_layer(net, lm_net_n_layers(net) - 1, &li));
        CHECKF(li.act == want_last, "%s: last act %d", name, (int)li.act);
        float *got = malloc((size_t)rows * (size_t)no * sizeof *got);
        CHECK_OK(lm_net_predict(net, x, (size_t)rows, got));
        size_t w;
        double r = th_close_ratio(got, y, (size_t)rows * (size_t)no, 2e-6, 2e-5, &w);
        CHECKF(r <= 1, "%s: output %zu: lamina %.9g, FANN %.9g", name, w, got[w], y[w]);
        // and it saves and loads as a lamina model, predicting the same
        lm_net *back = NULL;
        char saved[64]; // outside the build folder, whose name the build chooses
        snprintf(saved, sizeof saved, "/tmp/lamina-fann-%ld.lmn", (long)getpid());
        CHECK_OK(lm_net_save(net, saved));
        CHECK_OK(lm_net_load(&back, saved));
        float *again = malloc((size_t)rows * (size_t)no * sizeof *again);
        if (back) CHECK_OK(lm_net_predict(back, x, (size_t)rows, again));
        CHECK(back && memcmp(again, got, (size_t)rows * (size_t)no * sizeof *got) == 0);
        remove(saved);
        lm_net_free(back);
        free(again);
        free(got);
    }
    lm_net_free(net);
    free(x);
    free(y);
}

static void fann_net_sigmoid(void) { matches_fann("xor_sigmoid", LM_SIGMOID); }
static void fann_net_tanh_linear(void) { matches_fann("tanh_linear", LM_IDENTITY); }
static void fann_net_sparse(void) { matches_fann("sparse", LM_TANH); }
static void fann_net_mixed_steepness(void) { matches_fann("mixed_steepness", LM_SIGMOID); }
static void fann_net_scaled(void)
{
    matches_fann("scaled", LM_TANH);
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_fann(&net, FIXDIR "scaled.net"));
    CHECK(net && lm_net_get_norm(net, NULL, NULL) && lm_net_get_target_norm(net, NULL, NULL));
    lm_net_free(net);
}

/* A refusal of file NAME.net names its line and says want. */
static void refused_file(const char *name, const char *want)
{
    char path[256];
    snprintf(path, sizeof path, FIXDIR "%s.net", name);
    lm_net *net = (lm_net *)1;
    lm_status st = lm_net_load_fann(&net, path);
    CHECKF(st == LM_EFORMAT && strstr(lm_errmsg(), want) && strstr(lm_errmsg(), path),
           "%s: %s: %s (want '%s')", name, lm_status_name(st), lm_errmsg(), want);
    CHECK(net == NULL);
}

/* FANN's default activation, the stepwise sigmoid (here its symmetric
 * form on the hidden layer, the plain one on the output), was refused: it
 * imports as the sigmoid it approximates, within FANN's piecewise-linear
 * error of FANN's outputs, and the net's metadata says so. */
static void fann_net_stepwise(void)
{
    lm_net *net = NULL;
    int rows, ni, no;
    float *x = NULL, *y = NULL;
    CHECK(read_out("stepwise", &rows, &ni, &no, &x, &y));
    CHECK_OK(lm_net_load_fann(&net, FIXDIR "stepwise.net"));
    const char *note = net ? lm_net_get_meta(net, "fann_stepwise") : NULL;
    CHECKF(note && strstr(note, "FANN_SIGMOID_STEPWISE and FANN_SIGMOID_SYMMETRIC_STEPWISE "
                          "(layers 2, 3) imported as the sigmoids they approximate"),
           "note '%s'", note ? note : "(none)");
    float *got = net && x ? malloc((size_t)rows * (size_t)no * sizeof *got) : NULL;
    double worst = 0;
    if (got) {
        CHECK_OK(lm_net_predict(net, x, (size_t)rows, got));
        for (int i = 0; i < rows * no; i++)
            if (fabs((double)got[i] - (double)y[i]) > worst) worst = fabs((double)got[i] - (double)y[i]);
    }
    // one layer's 0.067 through the output's sigmoid, plus its own 0.034
    CHECKF(got && worst < 0.1, "largest difference from FANN %g", worst);
    free(got);
    free(x);
    free(y);
    lm_net_free(net);
}

static void fann_net_unsupported(void)
{
    refused_file("refuse_gaussian", "uses FANN_GAUSSIAN (7)");
    refused_file("refuse_mixed_function", "neuron 4 uses FANN_LINEAR but layer 2's first neuron uses FANN_SIGMOID");
    refused_file("refuse_shortcut", ":5: network_type=1: a shortcut net");
    refused_file("refuse_fixed", ":1: FANN_FIX_2.0 is a fixed-point FANN net");
}

/* The xor net's text with line `key=` replaced by repl (NULL: dropped). */
static char *xor_with(const char *key, const char *repl)
{
    FILE *f = fopen(FIXDIR "xor_sigmoid.net", "r");
    char *out = calloc(1, 1 << 16), line[8192];
    size_t n = 0;
    while (f && out && fgets(line, sizeof line, f)) {
        const char *s = line;
        if (!strncmp(line, key, strlen(key))) {
            if (!repl) continue;
            s = repl;
        }
        n += (size_t)snprintf(out + n, (1 << 16) - n, "%s", s);
    }
    if (f) fclose(f);
    return out;
}

/* lm_net_load_fann_mem of the xor net with key's line replaced is refused
 * saying want. */
static void refused_edit(const char *key, const char *repl, const char *want)
{
    char *text = xor_with(key, repl);
    lm_net *net = (lm_net *)1;
    lm_status st = lm_net_load_fann_mem(&net, text, strlen(text));
    CHECKF(st == LM_EFORMAT && strstr(lm_errmsg(), want), "%s -> %s: %s: %s (want '%s')", key,
           repl ? repl : "(dropped)", lm_status_name(st), lm_errmsg(), want);
    CHECK(net == NULL);
    free(text);
}

static void fann_net_malformed(void)
{
    refused_edit("num_layers=", "num_layers=4000000000\n", "line 2: num_layers: expected a whole number");
    refused_edit("num_layers=", "num_layers=1\n", "line 2: num_layers=1");
    refused_edit("layer_sizes=", "layer_sizes=3 4 \n", "layer_sizes: size 3 of num_layers=3 is missing");
    refused_edit("layer_sizes=", "layer_sizes=3 4 2 7\n", "more sizes than num_layers=3");
    refused_edit("layer_sizes=", "layer_sizes=3 16777217 2 \n", "claims 16777222 neurons, more than the line");
    refused_edit("layer_sizes=", "layer_sizes=3 1 2 \n", "layer 2 has 1 neurons");
    refused_edit("neurons (", NULL, "the file ends without neurons (num_inputs");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (3, 3, 0.5) (3, 3, 0.5) (3, 3, 0.5) (0, 3, 0.5) "
                 "(3, 3, 0.5) \n", "neuron 8 of 9 is missing");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (3, 3, 0.5) (3, 3, 0.5) (3, 3, nan) (0, 3, 0.5) "
                 "(4, 3, 0.5) (0, 3, 0.5) \n", "neuron 5 of 9 is missing or not");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (4000000000, 3, 0.5) (3, 3, 0.5) (3, 3, 0.5) "
                 "(0, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) \n", "neuron 3 of 9 is missing");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (4, 3, 0.5) (3, 3, 0.5) (3, 3, 0.5) "
                 "(0, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) \n", "neuron 3 (layer 2) has 4 connections");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (3, 3, 0.5) (3, 3, 0.5) (3, 3, 0.5) "
                 "(1, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) \n", "neuron 6 (the bias neuron of layer 2)");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (3, 3, 0.5) (3, 3, -1) (3, 3, 0.5) "
                 "(0, 3, 0.5) (4, 3, 0.5) (0, 3, 0.5) \n", "neuron 4 (layer 2) has steepness -1");
    refused_edit("neurons (", "neurons (num_inputs, activation_function, activation_steepness)="
                 "(0, 0, 0) (0, 0, 0) (0, 0, 0) (3, 3, 0.5) (3, 3, 0.5) (3, 3, 0.5) "
                 "(0, 3, 0.5) (3, 99, 0.5) (0, 3, 0.5) \n", "uses an unknown activation function (99)");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1) (1, 2)\n",
                 "line 36: connections: the neurons claim 13 connections, more than the line's 13 bytes");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1.00000000000000000000e+00) "
                 "(1, 2.00000000000000000000e+00)   \n",
                 "line 36: connections: connection 2 of 13 is missing");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1) (1, 2) (9, 1) "
                 "(0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) (3, 1) (4, 1) (5, 1) (6, 1) \n",
                 "connection 2 (of neuron 3, layer 2) comes from neuron 9, not one of layer 1's neurons 0..2");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1) (1, 2) (1, 1) "
                 "(0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) (3, 1) (4, 1) (5, 1) (6, 1) \n",
                 "connection 2: neuron 3 connects to neuron 1 twice");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1) (1, 2) (2, 1) "
                 "(0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) (3, 1) (4, 1) (5, 1) (6, 1) (0, 1) \n",
                 "more connections than the neurons' 13");
    refused_edit("connections (", "connections (connected_to_neuron, weight)=(0, 1e39) (1, 2) (2, 1) "
                 "(0, 1) (1, 1) (2, 1) (0, 1) (1, 1) (2, 1) (3, 1) (4, 1) (5, 1) (6, 1) \n",
                 "connection 0 of 13 is missing or not");
    refused_edit("network_type=", "network_type=7\n", "network_type=7: an unknown network type");
    refused_edit("scale_included=", "decimal_point=5\n", "decimal_point= belongs to fixed-point");
    refused_edit("learning_rate=", "num_layers=3\n", "line 3: num_layers= again (first on line 2)");
    refused_edit("learning_rate=", "learning rate 0.7\n", "line 3: expected key=value");
    refused_edit("FANN_FLO_2.1", "FANN_FLO_1.1\n", "line 1: FANN_FLO_1.1 is FANN 1.x's format");
    refused_edit("FANN_FLO_2.1", "hello\n", "line 1: not a FANN network file");
    // every truncation of the file is refused, never read past its end
    char *text = xor_with("@", NULL);
    size_t len = strlen(text);
    for (size_t cut = 0; cut + 2 < len; cut += 1 + cut / 7) {
        lm_net *net = NULL;
        lm_status st = lm_net_load_fann_mem(&net, text, cut);
        CHECKF(st == LM_EFORMAT && net == NULL, "cut at %zu: %s", cut, lm_status_name(st));
        lm_net_free(net);
    }
    free(text);
}

/* A FANN_FLO_2.0 file (no scale_included line) and a sparse layer whose
 * neuron takes no input (f(0): sigmoid 0.5) read as FANN computes them. */
static void fann_net_v20_and_empty_neuron(void)
{
    const char *t = "FANN_FLO_2.0\nnum_layers=2\nnetwork_type=0\nlayer_sizes=2 3 \n"
                    "neurons (num_inputs, activation_function, activation_steepness)="
                    "(0, 0, 0) (0, 0, 0) (2, 3, 0.5) (0, 3, 0.5) (0, 3, 0.5) \n"
                    "connections (connected_to_neuron, weight)=(0, 2) (1, -1) \n";
    lm_net *net = NULL;
    CHECK_OK(lm_net_load_fann_mem(&net, t, strlen(t)));
    if (!net) return;
    float x = 0.75f, y[2];
    CHECK_OK(lm_net_predict(net, &x, 1, y));
    CHECK(fabsf(y[0] - 1.0f / (1.0f + expf(-(2 * 0.75f - 1)))) < 1e-6f && y[1] == 0.5f);
    lm_net_free(net);
}

int main(void)
{
    RUN(fann_data_xor);
    RUN(fann_data_layout);
    RUN(fann_data_refusals);
    RUN(fann_data_detect);
    RUN(fann_net_sigmoid);
    RUN(fann_net_tanh_linear);
    RUN(fann_net_sparse);
    RUN(fann_net_mixed_steepness);
    RUN(fann_net_scaled);
    RUN(fann_net_stepwise);
    RUN(fann_net_unsupported);
    RUN(fann_net_malformed);
    RUN(fann_net_v20_and_empty_neuron);
    TEST_MAIN_END();
}
