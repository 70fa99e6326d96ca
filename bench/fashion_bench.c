/* fashion_bench.c - lamina on the Fashion-MNIST benchmark, through the
 * public API only: 784-256(relu)-128(relu)-10(softmax), cross-entropy,
 * SGD momentum 0.9, lr 0.05, batch 64, He init; pixels scaled to [0,1].
 *
 * Usage: fashion_bench DATA_DIR THREADS EPOCHS [SEED]
 * Prints one line of key=value pairs: sec_per_epoch (the mean), best_epoch
 * (the fastest epoch's seconds), test_acc,
 * latency_us (median lm_net_predict of one row), rss_mb (peak RSS). */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what)
{
    fprintf(stderr, "fashion_bench: %s: %s\n", what, lm_errmsg());
    return 1;
}

static double epoch_seconds, best_epoch = 1e30;
static int on_epoch(const lm_epoch_info *info, void *ctx)
{
    (void)ctx;
    epoch_seconds += info->seconds;
    if (info->seconds < best_epoch) best_epoch = info->seconds;
    fprintf(stderr, "epoch %d/%d: loss %.4f, %.2f s\n", info->epoch, info->epochs,
            info->train_loss, info->seconds);
    return 0;
}

/* Median latency in microseconds of predicting single rows. */
static double predict_latency(lm_net *net, const lm_data *test)
{
    enum { REPS = 2000 };
    static double t[REPS];
    float x[784], y[10];
    for (int r = 0; r < REPS; r++) {
        const unsigned char *px = (const unsigned char *)test->x + (size_t)(r % 1000) * 784;
        for (int j = 0; j < 784; j++) x[j] = px[j];
        double t0 = now();
        lm_net_predict(net, x, 1, y);
        t[r] = (now() - t0) * 1e6;
    }
    qsort(t, REPS, sizeof t[0], cmp_double);
    return t[REPS / 2];
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: fashion_bench DATA_DIR THREADS EPOCHS [SEED]\n");
        return 2;
    }
    const char *dir = argv[1];
    int threads = atoi(argv[2]), epochs = atoi(argv[3]);
    char img[1024], lab[1024];
    lm_data train, test;
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    if (lm_idx_read(&train, img, lab) != LM_OK) return die("reading the training set");
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (lm_idx_read(&test, img, lab) != LM_OK) return die("reading the test set");

    lm_net *net;
    lm_rng rng = lm_rng_seed(argc == 5 ? strtoull(argv[4], NULL, 10) : 42);
    if (lm_net_new(&net, 784) != LM_OK || lm_net_add_dense(net, 256, LM_RELU, LM_BIAS) ||
        lm_net_add_dense(net, 128, LM_RELU, LM_BIAS) ||
        lm_net_add_dense(net, 10, LM_SOFTMAX, LM_BIAS) ||
        lm_net_init(net, LM_INIT_HE, &rng) != LM_OK || lm_net_set_threads(net, threads))
        return die("building the net");
    /* x / 255, as the peers do */
    float mean[784], scale[784];
    for (int j = 0; j < 784; j++) {
        mean[j] = 0.0f;
        scale[j] = 1.0f / 255.0f;
    }
    if (lm_net_set_norm(net, mean, scale) != LM_OK) return die("setting the scaling");

    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_SGD;
    o.optim.lr = 0.05f;
    o.optim.momentum = 0.9f;
    o.epochs = epochs;
    o.batch = 64;
    o.on_epoch = on_epoch;
    double t0 = now();
    if (lm_fit(net, &train, &o, &rng) != LM_OK) return die("training");
    double wall = now() - t0;
    float loss, acc;
    if (lm_evaluate(net, &test, LM_LOSS_CE, &loss, &acc) != LM_OK) return die("evaluating");
    double lat = predict_latency(net, &test);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sec_per_epoch=%.3f best_epoch=%.3f wall_per_epoch=%.3f test_acc=%.4f latency_us=%.2f "
           "rss_mb=%.1f\n",
           epoch_seconds / epochs, best_epoch, wall / epochs, acc, lat, ru.ru_maxrss / 1024.0);
    lm_net_free(net);
    lm_data_free(&train);
    lm_data_free(&test);
    return 0;
}
