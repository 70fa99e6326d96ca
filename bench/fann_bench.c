/* fann_bench.c - the Fashion-MNIST benchmark in FANN 2.2: 784-256-128-10,
 * symmetric sigmoid hidden units (FANN 2.2 has no relu), sigmoid outputs,
 * MSE on one-hot targets, FANN_TRAIN_INCREMENTAL (per-sample SGD with
 * momentum: FANN's RPROP and quickprop are full-batch, one step per epoch,
 * and need hundreds of epochs on 60000 rows). Pixels scaled to [0,1].
 * Usage: fann_bench DATA_DIR EPOCHS; prints one key=value line. */
#include <floatfann.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads a gzip IDX file of unsigned bytes; *n items of *per bytes each. */
static unsigned char *read_idx(const char *path, unsigned *n, unsigned *per)
{
    gzFile f = gzopen(path, "rb");
    unsigned char h[4], d[4];
    if (!f || gzread(f, h, 4) != 4 || h[2] != 0x08) {
        fprintf(stderr, "fann_bench: cannot read %s\n", path);
        exit(1);
    }
    unsigned total = 1;
    for (int i = 0; i < h[3]; i++) {
        if (gzread(f, d, 4) != 4) exit(1);
        unsigned v = (unsigned)d[0] << 24 | (unsigned)d[1] << 16 | (unsigned)d[2] << 8 | d[3];
        if (i == 0) *n = v;
        total *= v;
    }
    *per = total / *n;
    unsigned char *buf = malloc(total);
    if (!buf || gzread(f, buf, total) != (int)total) exit(1);
    gzclose(f);
    return buf;
}

static struct fann_train_data *load(const char *dir, const char *part)
{
    char p1[1024], p2[1024];
    unsigned n, per, nl, one;
    snprintf(p1, sizeof p1, "%s/%s-images-idx3-ubyte.gz", dir, part);
    snprintf(p2, sizeof p2, "%s/%s-labels-idx1-ubyte.gz", dir, part);
    unsigned char *x = read_idx(p1, &n, &per), *y = read_idx(p2, &nl, &one);
    struct fann_train_data *d = fann_create_train(n, per, 10);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < per; j++) d->input[i][j] = x[(size_t)i * per + j] / 255.0f;
        for (unsigned k = 0; k < 10; k++) d->output[i][k] = k == y[i] ? 1.0f : 0.0f;
    }
    free(x);
    free(y);
    return d;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fann_bench DATA_DIR EPOCHS\n");
        return 2;
    }
    int epochs = atoi(argv[2]);
    struct fann_train_data *train = load(argv[1], "train"), *test = load(argv[1], "t10k");
    srand(42);
    struct fann *ann = fann_create_standard(4, 784, 256, 128, 10);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(ann, 0.05f);
    fann_set_learning_momentum(ann, 0.9f);
    fann_randomize_weights(ann, -0.05f, 0.05f);
    double secs = 0, best_epoch = 1e30;
    for (int e = 0; e < epochs; e++) {
        fann_shuffle_train_data(train);
        double t0 = now();
        float mse = fann_train_epoch(ann, train);
        double dt = now() - t0;
        secs += dt;
        if (dt < best_epoch) best_epoch = dt;
        fprintf(stderr, "epoch %d: mse %.4f\n", e + 1, mse);
    }
    unsigned correct = 0, n = fann_length_train_data(test);
    for (unsigned i = 0; i < n; i++) {
        fann_type *o = fann_run(ann, test->input[i]);
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (o[k] > o[best]) best = k;
        correct += test->output[i][best] > 0.5f;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sec_per_epoch=%.3f best_epoch=%.3f test_acc=%.4f rss_mb=%.1f\n", secs / epochs,
           best_epoch, (double)correct / n, ru.ru_maxrss / 1024.0);
    fann_destroy(ann);
    fann_destroy_train(train);
    fann_destroy_train(test);
    return 0;
}
