/* csv_classifier.c - a classifier from a CSV file, start to finish:
 *
 *     csv_classifier FILE.csv [MODEL]      (MODEL defaults to classifier.lmn)
 *
 * The last column is the class (text such as "setosa"), the others are
 * numeric features. The program holds back a fifth of the rows for
 * validation, standardises the inputs with the training rows' statistics,
 * trains a dense net (softmax output, cross-entropy loss, Adam) with early
 * stopping on the validation loss, prints the validation accuracy, saves
 * the model and loads it back to check that it predicts the same.
 * Try it on tests/cli/fixtures/iris.csv. */
#include <lamina.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* on_epoch: called after every epoch with its losses and accuracies;
 * returning non-zero would stop training. ctx is lm_fit_opts.ctx, here
 * where to note the last epoch run. */
static int progress(const lm_epoch_info *e, void *ctx)
{
    *(int *)ctx = e->epoch;
    if (e->epoch == 1 || e->epoch % 20 == 0)
        printf("epoch %3d  train loss %.4f  val loss %.4f  val accuracy %.3f\n", e->epoch,
               e->train_loss, e->val_loss, e->val_acc);
    return 0;
}

/* The index of the largest of n values: the predicted class. */
static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: csv_classifier FILE.csv [MODEL]\n");
        return 2;
    }
    const char *csv = argv[1], *model = argc > 2 ? argv[2] : "classifier.lmn";

    /* Everything a failure must free is declared up front and starts
     * empty: lm_data_free and lm_net_free accept zeroed structs and NULL. */
    lm_data all = {0}, train = {0}, val = {0};
    lm_net *net = NULL, *loaded = NULL;
    float *mean = NULL, *scale = NULL, *p1 = NULL, *p2 = NULL;
    lm_rng rng = lm_rng_seed(42); /* every random draw below comes from here */
    int rc = 1;

    /* 1. Read the file. The defaults detect the header and the separator;
     *    a target column of text becomes labels 0..n_classes-1 with their
     *    names in class_names (sorted). Errors name the file, line and column. */
    lm_csv_opts co = lm_csv_defaults();
    lm_status st = lm_csv_read(&all, csv, &co);
    if (st != LM_OK) goto fail;
    if (!all.labels) {
        fprintf(stderr, "csv_classifier: %s: the last column holds numbers, not classes\n", csv);
        goto done;
    }
    printf("%s: %zu rows, %d features, %d classes\n", csv, all.n, all.nx, all.n_classes);

    /* 2. Shuffle and split: train gets 80% of the rows, val 20% (copies;
     *    both are freed with lm_data_free). */
    st = lm_data_split(&all, 0.2f, &rng, &train, &val);
    if (st != LM_OK) goto fail;

    /* 3. The net: n features -> 16 relu -> n_classes softmax. */
    const int nx = all.nx, nc = all.n_classes;
    st = lm_net_new(&net, nx);
    if (st == LM_OK) st = lm_net_add_dense(net, 16, LM_RELU, LM_BIAS);
    if (st == LM_OK) st = lm_net_add_dense(net, nc, LM_SOFTMAX, LM_BIAS);
    if (st == LM_OK) st = lm_net_init(net, LM_INIT_HE, &rng);
    /* The class names travel in the model file, so whoever loads it can
     * print "setosa" rather than 0 (predict_rows.c does). */
    if (st == LM_OK) st = lm_net_set_class_names(net, nc, (const char *const *)all.class_names);
    if (st != LM_OK) goto fail;

    /* 4. Standardise the inputs with the TRAINING rows' mean and 1/std
     *    only (the validation rows must stay unseen). The net applies
     *    them itself, in training and in every prediction, and keeps them
     *    in the model file: callers always pass raw rows. */
    mean = malloc((size_t)nx * sizeof *mean);
    scale = malloc((size_t)nx * sizeof *scale);
    if (!mean || !scale) {
        fprintf(stderr, "csv_classifier: out of memory\n");
        goto done;
    }
    st = lm_data_norm_stats(&train, mean, scale);
    if (st == LM_OK) st = lm_net_set_norm(net, mean, scale);
    if (st != LM_OK) goto fail;

    /* 5. Train: cross-entropy (fused with the softmax), Adam, minibatches
     *    of 16, at most 300 epochs; early_stop ends training once 30
     *    epochs in a row have not beaten the best validation loss, and
     *    lm_fit then puts the best epoch's parameters back. */
    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.01f;
    o.epochs = 300;
    o.batch = 16;
    o.val = &val;
    o.early_stop = 30;
    o.on_epoch = progress;
    int last_epoch = 0;
    o.ctx = &last_epoch;
    st = lm_fit(net, &train, &o, &rng);
    if (st != LM_OK) goto fail;
    if (last_epoch < o.epochs) printf("early stop after epoch %d\n", last_epoch);

    /* 6. Validation loss and accuracy of the restored best parameters. */
    float loss, acc;
    st = lm_evaluate(net, &val, LM_LOSS_CE, &loss, &acc);
    if (st != LM_OK) goto fail;
    printf("validation: loss %.4f  accuracy %.3f (%zu rows)\n", loss, acc, val.n);

    /* 7. Save (atomically: a temporary file, fsync, rename; a crash never
     *    leaves half a model) and load it back as a new net. */
    if ((st = lm_net_save(net, model)) != LM_OK) goto fail;
    if ((st = lm_net_load(&loaded, model)) != LM_OK) goto fail;

    /* 8. Predict the first validation row with both nets: the same bits.
     *    An lm_data's x is untyped (it may hold bytes); CSV data is float. */
    const float *row = (const float *)val.x;
    p1 = malloc((size_t)nc * sizeof *p1);
    p2 = malloc((size_t)nc * sizeof *p2);
    if (!p1 || !p2) {
        fprintf(stderr, "csv_classifier: out of memory\n");
        goto done;
    }
    st = lm_net_predict(net, row, 1, p1);
    if (st == LM_OK) st = lm_net_predict(loaded, row, 1, p2);
    if (st != LM_OK) goto fail;
    int k = argmax(p2, nc);
    printf("saved %s; reloaded, it predicts %s (p = %.3f) for a row of class %s: %s\n", model,
           lm_net_class_name(loaded, k), p2[k], val.class_names[val.labels[0]],
           memcmp(p1, p2, (size_t)nc * sizeof *p1) == 0 ? "the same as before saving"
                                                        : "NOT the same as before saving");
    rc = memcmp(p1, p2, (size_t)nc * sizeof *p1) != 0;
    goto done;

fail:
    /* lm_errmsg() says where and what: the file and line, the argument... */
    fprintf(stderr, "csv_classifier: %s (%s)\n", lm_errmsg(), lm_status_name(st));
done:
    free(p1);
    free(p2);
    free(mean);
    free(scale);
    lm_net_free(loaded);
    lm_net_free(net);
    lm_data_free(&val);
    lm_data_free(&train);
    lm_data_free(&all);
    return rc;
}
