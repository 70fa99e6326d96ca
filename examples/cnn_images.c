/* cnn_images.c - a small convolutional net on MNIST-style IDX images
 * (Fashion-MNIST: 28x28 gray pictures of 10 kinds of clothes):
 *
 *     cnn_images [--full] [DIR]    (DIR defaults to /usr/share/datasets/fashion-mnist)
 *
 * DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, as the data
 * set is published (lm_idx_read reads plain files as well).
 * By default it trains one epoch on the first 2000 training images and
 * tests on the first 1000 test images, under a second (about 0.78
 * accuracy); --full trains 5 epochs on all 60000 and tests on all 10000
 * (about 0.90, half a minute on one core).
 *
 * The net, as PyTorch would write it:
 *     conv 3x3, 16 filters (no bias: the batch norm's beta is one)
 *     -> batch norm -> ReLU -> max pool 2x2 -> dense 10 -> softmax */
#include <lamina.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* on_batch: after every minibatch (keep it cheap); prints four times an
 * epoch the running mean of the epoch's loss. */
static int progress(const lm_batch_info *b, void *ctx)
{
    (void)ctx;
    size_t every = (b->n_batches + 3) / 4;
    if (b->batch % every == 0 || b->batch == b->n_batches)
        printf("  epoch %d  batch %zu/%zu  loss %.4f\n", b->epoch, b->batch, b->n_batches, b->loss);
    return 0;
}

/* Reads DIR/PREFIX-images-idx3-ubyte(.gz) and its labels into *d. */
static lm_status read_set(lm_data *d, const char *dir, const char *prefix)
{
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    return lm_idx_read(d, images, labels);
}

/* The first n rows of d as a view: an lm_data filled by hand over the
 * same memory, which owns nothing (never given to lm_data_free; d is). */
static lm_data head(const lm_data *d, size_t n)
{
    lm_data v = {.n = n < d->n ? n : d->n, .nx = d->nx, .x_type = d->x_type, .x = d->x,
                 .labels = d->labels, .n_classes = d->n_classes};
    return v;
}

int main(int argc, char **argv)
{
    int full = 0, dirs = 0;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    for (int i = 1; i < argc; i++) { /* --full and DIR, in either order */
        if (strcmp(argv[i], "--full") == 0) full = 1;
        else if (argv[i][0] != '-' && dirs++ == 0) dir = argv[i];
        else {
            fprintf(stderr, "usage: cnn_images [--full] [DIR]\n");
            return 2;
        }
    }
    lm_data train_all = {0}, test_all = {0};
    lm_net *net = NULL;
    float *mean = NULL, *scale = NULL;
    int rc = 1;

    /* Images stay bytes in memory (x_type LM_U8, 784 a row); the net
     * converts each batch to floats through its normalisation. */
    lm_status st = read_set(&train_all, dir, "train");
    if (st == LM_OK) st = read_set(&test_all, dir, "t10k");
    if (st != LM_OK) goto fail;
    lm_data train = head(&train_all, full ? train_all.n : 2000);
    lm_data test = head(&test_all, full ? test_all.n : 1000);
    int c, h, w; /* the images' shape, from the IDX header: (1, 28, 28) */
    if (!lm_data_shape(&train_all, &c, &h, &w)) {
        fprintf(stderr, "cnn_images: %s: the images have no 2-D shape\n", dir);
        goto done;
    }
    printf("%zu training and %zu test images of %dx%d, %d classes\n", train.n, test.n, h, w,
           train.n_classes);

    lm_rng rng = lm_rng_seed(1);
    st = lm_net_new(&net, c * h * w);
    /* A row of 784 values is a (1, 28, 28) image; say so before adding layers. */
    if (st == LM_OK) st = lm_net_set_input_shape(net, c, h, w);
    /* 16 filters 3x3, stride 1, padded to keep 28x28; the activation comes
     * after the batch norm, so the conv's own is LM_IDENTITY. */
    if (st == LM_OK) st = lm_net_add_conv2d(net, 16, 3, 3, 1, LM_PAD_SAME, LM_IDENTITY, LM_NO_BIAS);
    if (st == LM_OK) st = lm_net_add_batchnorm(net, 0.1f, 1e-5f); /* PyTorch's defaults */
    if (st == LM_OK) st = lm_net_add_activation(net, LM_RELU);
    if (st == LM_OK) st = lm_net_add_maxpool2d(net, 2, 2);                   /* -> (16, 14, 14) */
    if (st == LM_OK) st = lm_net_add_dense(net, train.n_classes, LM_SOFTMAX, LM_BIAS); /* flattens */
    if (st == LM_OK) st = lm_net_init(net, LM_INIT_HE, &rng);
    if (st != LM_OK) goto fail;

    /* Per-pixel standardisation from the training images, kept in the net
     * (a model file carries it): callers give raw 0..255 pixels. */
    mean = malloc((size_t)train.nx * sizeof *mean);
    scale = malloc((size_t)train.nx * sizeof *scale);
    if (!mean || !scale) {
        fprintf(stderr, "cnn_images: out of memory\n");
        goto done;
    }
    st = lm_data_norm_stats(&train, mean, scale);
    if (st == LM_OK) st = lm_net_set_norm(net, mean, scale);
    if (st != LM_OK) goto fail;

    for (int i = 0; i < lm_net_n_layers(net); i++) {
        lm_layer_desc ld = {.size = sizeof ld};
        if ((st = lm_net_layer_desc(net, i, &ld)) != LM_OK) goto fail;
        printf("  layer %d %-10s -> (%d, %d, %d)\n", i, lm_layer_kind_name(ld.kind), ld.out_c,
               ld.out_h, ld.out_w);
    }
    printf("  %zu parameters\n", lm_net_n_params(net));

    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.003f;
    o.epochs = full ? 5 : 1;
    o.batch = 32;
    o.on_batch = progress;
    st = lm_fit(net, &train, &o, &rng);
    if (st != LM_OK) goto fail;

    /* lm_evaluate takes byte images too; batch norm uses its running
     * statistics here, as in every prediction. */
    float loss, acc;
    st = lm_evaluate(net, &test, LM_LOSS_CE, &loss, &acc);
    if (st != LM_OK) goto fail;
    printf("test: loss %.4f  accuracy %.3f\n", loss, acc);
    rc = 0;
    goto done;

fail:
    fprintf(stderr, "cnn_images: %s (%s)\n", lm_errmsg(), lm_status_name(st));
done:
    free(mean);
    free(scale);
    lm_net_free(net);
    lm_data_free(&test_all);
    lm_data_free(&train_all);
    return rc;
}
