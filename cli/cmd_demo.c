/* cmd_demo.c - `lamina demo`: the tutorial's network and data built in.
 * 3 -> 4 sigmoid -> 1 sigmoid, no biases, uniform [0,1) weights, SSE,
 * plain gradient descent at rate 1 on all four rows, 1500 iterations. */
#include "cli.h"
#include "opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DEMO_EPOCHS = 1500 };

typedef struct demo_log {
    float loss[DEMO_EPOCHS]; /* (epochs) SSE after each iteration's step */
    int n;
    int print;
} demo_log;

static int on_epoch(const lm_epoch_info *e, void *ctx)
{
    demo_log *log = ctx;
    if (log->n < DEMO_EPOCHS) log->loss[log->n++] = e->train_loss;
    if (log->print && (e->epoch == 1 || e->epoch % 100 == 0))
        printf("iteration %4d  loss %.6f\n", e->epoch, e->train_loss);
    return 0;
}

static void print_json(const demo_log *log, const float *yhat, const float *y)
{
    printf("{\"epochs\": %d, \"loss\": [", log->n);
    for (int i = 0; i < log->n; i++) {
        if (i) fputs(", ", stdout);
        json_num(stdout, log->loss[i]);
    }
    fputs("], \"predictions\": [", stdout);
    for (int i = 0; i < 4; i++) {
        if (i) fputs(", ", stdout);
        json_num(stdout, yhat[i]);
    }
    fputs("], \"targets\": [", stdout);
    for (int i = 0; i < 4; i++) printf("%s%g", i ? ", " : "", y[i]);
    puts("]}");
}

int cmd_demo(int argc, char **argv)
{
    const char *plot = NULL;
    uint64_t seed = 1;
    int json = 0;
    opt_spec specs[] = {
        opt_str("plot", &plot, "FILE.svg", "write the loss curve as an SVG plot", "none"),
        opt_u64("seed", &seed, "N", "seed of the weight initialisation", "1"),
        opt_flag("json", &json, 1, "print one JSON object: loss, predictions, targets"),
        opt_end(),
    };
    char *pos[1];
    int n_pos;
    int rc = opts_parse("demo", specs, argc, argv, 2, pos, 0, &n_pos, "[options]",
                        "Trains the tutorial's network (3 inputs -> 4 sigmoid -> 1 sigmoid, no "
                        "biases, weights uniform in [0,1)) on X=[[0,0,1],[0,1,1],[1,0,1],"
                        "[1,1,1]], y=[0,1,1,0] with the sum of squared errors and gradient "
                        "descent at rate 1 for 1500 iterations, and shows the loss falling.");
    if (rc) return rc == 1 ? CLI_OK : CLI_EUSAGE;
    if (plot && !cli_check_writable(plot)) return CLI_EFAIL;

    static const float X[12] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}; // (4, 3)
    static const float Y[4] = {0, 1, 1, 0};                           // (4, 1)
    demo_log *log = calloc(1, sizeof *log);
    lm_net *net = NULL;
    if (!log) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    log->print = !json;
    lm_rng rng = lm_rng_seed(seed);
    lm_status st = lm_net_new(&net, 3);
    if (!st) st = lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS);
    if (!st) st = lm_net_add_dense(net, 1, LM_SIGMOID, LM_NO_BIAS);
    if (!st) st = lm_net_init(net, LM_INIT_UNIFORM01, &rng);
    if (!st) st = lm_net_set_threads(net, 1);
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_SSE;
    o.optim.kind = LM_SGD;
    o.optim.lr = 1.0f;
    o.epochs = DEMO_EPOCHS;
    o.batch = 4;
    o.shuffle = 0;
    o.on_epoch = on_epoch;
    o.ctx = log;
    lm_data d = {.n = 4, .nx = 3, .x_type = LM_F32, .x = X, .y = Y, .ny = 1};
    if (!json) printf("training 3 -> 4 sigmoid -> 1 sigmoid on 4 rows, SSE, SGD rate 1\n");
    if (!st) st = lm_fit(net, &d, &o, &rng);
    float yhat[4];
    if (!st) st = lm_net_predict(net, X, 4, yhat);
    if (st) {
        rc = cli_lib_err(st == LM_ENUMERIC ? CLI_ENUMERIC : CLI_EFAIL, NULL);
        goto done;
    }
    if (json) {
        print_json(log, yhat, Y);
    } else {
        // The sparkline takes what the width leaves beside "loss " and the
        // two numbers, at most 60 cells.
        char ends[64];
        snprintf(ends, sizeof ends, "  %.4g -> %.4g", log->loss[0], log->loss[log->n - 1]);
        int cells = cli_out_width(fileno(stdout)) - 5 - (int)strlen(ends);
        printf("loss ");
        plot_sparkline(stdout, log->loss, (size_t)log->n, cells < 60 ? cells : 60);
        printf("%s\n\n   input    target  prediction\n", ends);
        for (int i = 0; i < 4; i++)
            printf("  [%g %g %g]   %g     %.4f\n", X[3 * i], X[3 * i + 1], X[3 * i + 2], Y[i],
                   yhat[i]);
    }
    if (plot) {
        plot_series s = {"training loss (SSE)", log->loss, (size_t)log->n, 0, "#1f77b4"};
        rc = plot_svg(plot, "lamina demo: the tutorial's 3-4-1 network", "iteration",
                      "loss (sum of squared errors)", NULL, &s, 1);
        if (rc == CLI_OK && !json) printf("\nwrote %s\n", plot);
    }
done:
    lm_net_free(net);
    free(log);
    return rc;
}
