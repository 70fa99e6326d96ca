/* test_misuse.c - a caller's mistakes get a status, never a crash: every
 * public function with each pointer argument NULL in turn (LM_EINVAL and
 * a message naming the function and the argument, or the documented
 * neutral value), a net's shape frozen while a trainer or workspace uses
 * it, setters that change nothing when they refuse, and labels outside
 * the output range refused naming the row. Run under ASan in CI. */
#include "harness.h"

#include <math.h>

#include <lamina.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[64];

static lm_net *small_net(int n_out, lm_act last)
{
    lm_net *net = NULL;
    lm_rng rng = lm_rng_seed(3);
    lm_net_new(&net, 2);
    lm_net_add_dense(net, 4, LM_TANH, LM_BIAS);
    lm_net_add_dense(net, n_out, last, LM_BIAS);
    lm_net_init(net, LM_INIT_XAVIER, &rng);
    return net;
}

/* The call returns LM_EINVAL and the message names fn and arg. */
#define EXPECT_NULL(call, fn, arg)                                                        \
    do {                                                                                  \
        lm_status st_ = (call);                                                           \
        const char *m_ = lm_errmsg();                                                     \
        CHECKF(st_ == LM_EINVAL && strstr(m_, fn) && strstr(m_, arg),                     \
               "%s -> %s: '%s' (wanted LM_EINVAL naming %s and %s)", #call,                \
               lm_status_name(st_), m_, fn, arg);                                         \
    } while (0)

static void every_function_refuses_null(void)
{
    lm_net *net = small_net(2, LM_SOFTMAX), *out = NULL;
    lm_rng rng = lm_rng_seed(1);
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    o.loss = LM_LOSS_CE;
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    lm_ws *ws = NULL;
    CHECK_OK(lm_ws_new(&ws, net, 4));
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[8] = {0}, mean[2] = {0, 0}, scale[2] = {1, 1};
    int32_t lab[4] = {0, 1, 1, 0};
    lm_data d = {.n = 4, .nx = 2, .x = x, .labels = lab, .n_classes = 2}, a, b;
    lm_layer_info info;
    float loss;
    const char *names[2] = {"a", "b"};
    char path[128];
    snprintf(path, sizeof path, "%s/m.lmn", tmpdir);

    /* rng: a neutral value */
    CHECK(lm_rng_next(NULL) == 0 && lm_rng_uniform(NULL) == 0.0f && lm_rng_normal(NULL) == 0.0f);
    CHECK(lm_rng_below(NULL, 5) == 0 && lm_rng_below(&rng, 0) == 0);
    CHECK(lm_act_from_name(NULL) == -1 && lm_loss_from_name(NULL) == -1);
    CHECK(lm_optim_from_name(NULL) == -1 && lm_init_from_name(NULL) == -1);
    CHECK(lm_lr_schedule_from_name(NULL) == -1);
    /* the functions without a pointer argument: a value out of range */
    CHECK(!strcmp(lm_act_name(LM_ACT_COUNT), "?") && !strcmp(lm_loss_name(-1), "?"));
    CHECK(!strcmp(lm_optim_name(LM_OPTIM_COUNT), "?") && !strcmp(lm_init_name(LM_INIT_COUNT), "?"));
    CHECK(!strcmp(lm_lr_schedule_name(LM_LR_COUNT), "?") && !strcmp(lm_status_name(99), "LM_E?"));
    CHECK(lm_version() && lm_errmsg() && lm_rng_seed(0).s[0] == lm_rng_seed(0).s[0]);
    uint64_t limit = lm_alloc_limit();
    lm_set_alloc_limit(limit);
    CHECK(lm_alloc_limit() == limit);
    EXPECT_NULL(lm_fit_opts_init(NULL, sizeof o), "lm_fit_opts_init", "o");
    EXPECT_NULL(lm_csv_opts_init(NULL, sizeof(lm_csv_opts)), "lm_csv_opts_init", "o");

    /* net */
    EXPECT_NULL(lm_net_new(NULL, 3), "lm_net_new", "out");
    EXPECT_NULL(lm_net_add_dense(NULL, 3, LM_RELU, LM_BIAS), "lm_net_add_dense", "net");
    EXPECT_NULL(lm_net_init(NULL, LM_INIT_HE, &rng), "lm_net_init", "net");
    EXPECT_NULL(lm_net_init(net, LM_INIT_HE, NULL), "lm_net_init", "rng");
    lm_net_free(NULL);
    EXPECT_NULL(lm_net_clone(NULL, net), "lm_net_clone", "out");
    out = net; /* a NULL source clears *out */
    EXPECT_NULL(lm_net_clone(&out, NULL), "lm_net_clone", "net");
    CHECK(out == NULL);
    CHECK(lm_net_n_in(NULL) == 0 && lm_net_n_out(NULL) == 0 && lm_net_n_layers(NULL) == 0);
    CHECK(lm_net_n_params(NULL) == 0);
    EXPECT_NULL(lm_net_layer(NULL, 0, &info), "lm_net_layer", "net");
    EXPECT_NULL(lm_net_layer(net, 0, NULL), "lm_net_layer", "info");
    CHECK(lm_net_params(NULL) == NULL && lm_net_params_const(NULL) == NULL && lm_net_grads(NULL) == NULL);
    /* the layer kinds (issue 12) */
    lm_layer_desc desc = {.size = sizeof desc};
    EXPECT_NULL(lm_net_layer_desc(NULL, 0, &desc), "lm_net_layer_desc", "net");
    EXPECT_NULL(lm_net_layer_desc(net, 0, NULL), "lm_net_layer_desc", "d");
    EXPECT_NULL(lm_net_set_input_shape(NULL, 1, 1, 2), "lm_net_set_input_shape", "net");
    EXPECT_NULL(lm_net_add_conv2d(NULL, 1, 1, 1, 1, 0, LM_RELU, LM_BIAS), "lm_net_add_conv2d", "net");
    EXPECT_NULL(lm_net_add_maxpool2d(NULL, 2, 2), "lm_net_add_maxpool2d", "net");
    EXPECT_NULL(lm_net_add_avgpool2d(NULL, 2, 2), "lm_net_add_avgpool2d", "net");
    EXPECT_NULL(lm_net_add_global_avgpool(NULL), "lm_net_add_global_avgpool", "net");
    EXPECT_NULL(lm_net_add_dropout(NULL, 0.5f), "lm_net_add_dropout", "net");
    EXPECT_NULL(lm_net_add_batchnorm(NULL, 0.1f, 1e-5f), "lm_net_add_batchnorm", "net");
    EXPECT_NULL(lm_net_add_activation(NULL, LM_RELU), "lm_net_add_activation", "net");
    CHECK(lm_net_n_state(NULL) == 0 && lm_net_state(NULL) == NULL);
    CHECK(!strcmp(lm_layer_kind_name(LM_LAYER_KIND_COUNT), "?"));
    CHECK(lm_data_shape(NULL, NULL, NULL, NULL) == 0);
    EXPECT_NULL(lm_net_set_norm(NULL, mean, scale), "lm_net_set_norm", "net");
    CHECK(lm_net_set_norm(net, NULL, scale) == LM_EINVAL && lm_net_set_norm(net, mean, NULL) == LM_EINVAL);
    CHECK(lm_net_get_norm(NULL, mean, scale) == 0);
    CHECK_OK(lm_net_set_norm(net, mean, scale));
    CHECK(lm_net_get_norm(net, NULL, NULL) == 1); /* outputs optional */
    EXPECT_NULL(lm_net_set_class_names(NULL, 2, names), "lm_net_set_class_names", "net");
    CHECK(lm_net_class_name(NULL, 0) == NULL);
    EXPECT_NULL(lm_net_set_meta(NULL, "k", "v"), "lm_net_set_meta", "net");
    EXPECT_NULL(lm_net_set_meta(net, NULL, "v"), "lm_net_set_meta", "key");
    CHECK_OK(lm_net_set_meta(net, "k", NULL)); /* NULL removes (1.4): not there, no error */
    CHECK(lm_net_get_meta(NULL, "k") == NULL && lm_net_get_meta(net, NULL) == NULL);
    CHECK(lm_net_n_meta(NULL) == 0);
    const char *k = "x", *v = "x";
    lm_net_meta_at(NULL, 0, &k, &v);
    CHECK(k == NULL && v == NULL);
    lm_net_meta_at(net, 0, NULL, NULL);
    EXPECT_NULL(lm_net_set_threads(NULL, 1), "lm_net_set_threads", "net");
    CHECK(lm_net_threads(NULL) == 0);
    /* target standardisation: both NULL clears it, one NULL is refused */
    EXPECT_NULL(lm_net_set_target_norm(NULL, mean, scale), "lm_net_set_target_norm", "net");
    EXPECT_NULL(lm_net_set_target_norm(net, NULL, scale), "lm_net_set_target_norm", "mean");
    EXPECT_NULL(lm_net_set_target_norm(net, mean, NULL), "lm_net_set_target_norm", "std");
    CHECK(lm_net_get_target_norm(NULL, mean, scale) == 0);
    CHECK_OK(lm_net_set_target_norm(net, mean, scale));
    CHECK(lm_net_get_target_norm(net, NULL, NULL) == 1); /* outputs optional */
    CHECK_OK(lm_net_set_target_norm(net, NULL, NULL));
    CHECK(lm_net_get_target_norm(net, mean, scale) == 0);
    EXPECT_NULL(lm_net_predict(NULL, x, 4, y), "lm_net_predict", "net");
    EXPECT_NULL(lm_net_predict(net, NULL, 4, y), "lm_net_predict", "x");
    EXPECT_NULL(lm_net_predict(net, x, 4, NULL), "lm_net_predict", "y");
    lm_ws *w2 = ws;
    EXPECT_NULL(lm_ws_new(NULL, net, 4), "lm_ws_new", "out");
    EXPECT_NULL(lm_ws_new(&w2, NULL, 4), "lm_ws_new", "net");
    CHECK(w2 == NULL);
    lm_ws_free(NULL);
    EXPECT_NULL(lm_net_predict_ws(NULL, ws, x, 4, y), "lm_net_predict_ws", "net");
    EXPECT_NULL(lm_net_predict_ws(net, NULL, x, 4, y), "lm_net_predict_ws", "ws");
    EXPECT_NULL(lm_net_predict_ws(net, ws, NULL, 4, y), "lm_net_predict_ws", "x");
    EXPECT_NULL(lm_net_predict_ws(net, ws, x, 4, NULL), "lm_net_predict_ws", "y");

    /* data */
    lm_data_free(NULL);
    lm_csv_opts co = lm_csv_defaults();
    EXPECT_NULL(lm_csv_read(NULL, "no.csv", &co), "lm_csv_read", "out");
    EXPECT_NULL(lm_csv_read(&a, NULL, &co), "lm_csv_read", "path");
    EXPECT_NULL(lm_csv_read_mem(NULL, "mem", "a,b\n1,2\n", 8, &co), "lm_csv_read_mem", "out");
    EXPECT_NULL(lm_csv_read_mem(&a, NULL, "a,b\n1,2\n", 8, &co), "lm_csv_read_mem", "name");
    EXPECT_NULL(lm_csv_read_mem(&a, "mem", NULL, 8, &co), "lm_csv_read_mem", "text");
    CHECK(lm_data_target_name(NULL, 0) == NULL);
    CHECK(lm_data_target_name(&d, 0) == NULL); /* a caller's view has no names */
    /* a NULL list, or a list at NULL, gives an empty item and no crash */
    char item[8] = "x";
    const char *none = NULL;
    CHECK(lm_csv_list_next(NULL, item, sizeof item) == 0 && item[0] == '\0');
    CHECK(lm_csv_list_next(&none, NULL, 0) == 0 && none == NULL);
    CHECK(lm_data_categories(NULL) == NULL);
    CHECK(lm_data_categories(&d) == NULL); /* nor an encoding */
    CHECK(lm_data_category(NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL) == 0);
    CHECK(lm_data_category(&d, 0, NULL, NULL, NULL, NULL, NULL, NULL) == 0);
    EXPECT_NULL(lm_idx_read(NULL, "no.idx", NULL), "lm_idx_read", "out");
    EXPECT_NULL(lm_idx_read(&a, NULL, NULL), "lm_idx_read", "images");
    EXPECT_NULL(lm_fann_data_read(NULL, "no.data"), "lm_fann_data_read", "out");
    EXPECT_NULL(lm_fann_data_read(&a, NULL), "lm_fann_data_read", "path");
    EXPECT_NULL(lm_fann_data_read_mem(NULL, "t", "1 1 1\n0\n0\n", 10), "lm_fann_data_read_mem", "out");
    EXPECT_NULL(lm_fann_data_read_mem(&a, "t", NULL, 10), "lm_fann_data_read_mem", "text");
    EXPECT_NULL(lm_npy_read(NULL, "x.npy", NULL), "lm_npy_read", "out");
    EXPECT_NULL(lm_npy_read(&a, NULL, NULL), "lm_npy_read", "x_path");
    EXPECT_NULL(lm_npy_read_mem(NULL, "x", "\x93NUMPY", 6, NULL, NULL, 0), "lm_npy_read_mem", "out");
    EXPECT_NULL(lm_npy_read_mem(&a, "x", NULL, 6, NULL, NULL, 0), "lm_npy_read_mem", "x");
    CHECK(lm_fann_data_detect(NULL, 10) == 0);
    EXPECT_NULL(lm_data_norm_stats(NULL, mean, scale), "lm_data_norm_stats", "d");
    EXPECT_NULL(lm_data_norm_stats(&d, NULL, scale), "lm_data_norm_stats", "mean");
    EXPECT_NULL(lm_data_norm_stats(&d, mean, NULL), "lm_data_norm_stats", "scale");
    EXPECT_NULL(lm_data_split(NULL, 0.5f, &rng, &a, &b), "lm_data_split", "d");
    EXPECT_NULL(lm_data_split(&d, 0.5f, NULL, &a, &b), "lm_data_split", "rng");
    EXPECT_NULL(lm_data_split(&d, 0.5f, &rng, NULL, &b), "lm_data_split", "a");
    EXPECT_NULL(lm_data_split(&d, 0.5f, &rng, &a, NULL), "lm_data_split", "b");

    /* train */
    lm_train *t2 = t;
    EXPECT_NULL(lm_train_new(NULL, net, &o, &rng), "lm_train_new", "out");
    EXPECT_NULL(lm_train_new(&t2, NULL, &o, &rng), "lm_train_new", "net");
    CHECK(t2 == NULL);
    EXPECT_NULL(lm_train_new(&t2, net, NULL, &rng), "lm_train_new", "opts");
    EXPECT_NULL(lm_train_new(&t2, net, &o, NULL), "lm_train_new", "rng");
    lm_train_free(NULL);
    EXPECT_NULL(lm_train_step(NULL, x, NULL, lab, 4, &loss), "lm_train_step", "t");
    EXPECT_NULL(lm_train_step(t, NULL, NULL, lab, 4, &loss), "lm_train_step", "x");
    EXPECT_NULL(lm_train_step(t, x, NULL, NULL, 4, &loss), "lm_train_step", "labels");
    CHECK_OK(lm_train_step(t, x, NULL, lab, 4, NULL)); /* loss optional */
    EXPECT_NULL(lm_train_step(t, x, NULL, lab, 0, &loss), "lm_train_step", "at least one row");
    EXPECT_NULL(lm_train_epoch(NULL, &d, NULL), "lm_train_epoch", "t");
    EXPECT_NULL(lm_train_epoch(t, NULL, NULL), "lm_train_epoch", "d");
    CHECK_OK(lm_train_epoch(t, &d, NULL)); /* info optional */
    CHECK(lm_train_epochs_done(NULL) == 0 && lm_train_steps(NULL) == 0);
    CHECK(isnan(lm_train_lr(NULL)));
    EXPECT_NULL(lm_train_set_lr(NULL, 0.1f), "lm_train_set_lr", "t");
    lm_epoch_info ei;
    CHECK(lm_train_should_stop(NULL) == 0 && lm_train_best(NULL, &ei) == 0);
    CHECK(lm_train_restore_best(NULL) == 0);
    CHECK(lm_train_best(t, NULL) == 0); /* info optional */
    EXPECT_NULL(lm_train_save(NULL, path), "lm_train_save", "t");
    EXPECT_NULL(lm_train_save(t, NULL), "lm_train_save", "path");
    int has = 1, ep = 1;
    uint64_t steps = 1;
    EXPECT_NULL(lm_train_state_info(NULL, &has, &ep, &steps), "lm_train_state_info", "path");
    EXPECT_NULL(lm_train_state_info(path, NULL, &ep, &steps), "lm_train_state_info", "has_state");
    CHECK_OK(lm_train_save(t, path));
    CHECK_OK(lm_train_state_info(path, &has, NULL, NULL)); /* counts optional */
    CHECK(has == 1);
    EXPECT_NULL(lm_train_resume(NULL, path), "lm_train_resume", "t");
    EXPECT_NULL(lm_train_resume(t, NULL), "lm_train_resume", "path");
    EXPECT_NULL(lm_evaluate(NULL, &d, LM_LOSS_CE, &loss, NULL), "lm_evaluate", "net");
    EXPECT_NULL(lm_evaluate(net, NULL, LM_LOSS_CE, &loss, NULL), "lm_evaluate", "d");
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_CE, NULL, NULL)); /* outputs optional */
    EXPECT_NULL(lm_fit(NULL, &d, &o, &rng), "lm_fit", "net");
    EXPECT_NULL(lm_fit(net, NULL, &o, &rng), "lm_fit", "d");
    EXPECT_NULL(lm_fit(net, &d, NULL, &rng), "lm_fit", "opts");
    EXPECT_NULL(lm_fit(net, &d, &o, NULL), "lm_fit", "rng");
    EXPECT_NULL(lm_train_loss_grad(NULL, x, NULL, lab, 4, &loss), "lm_train_loss_grad", "t");
    EXPECT_NULL(lm_train_loss_grad(t, NULL, NULL, lab, 4, &loss), "lm_train_loss_grad", "x");
    EXPECT_NULL(lm_train_loss_grad(t, x, NULL, NULL, 4, &loss), "lm_train_loss_grad", "labels");
    CHECK_OK(lm_train_loss_grad(t, x, NULL, lab, 4, NULL)); /* loss optional */
    EXPECT_NULL(lm_train_apply_grads(NULL), "lm_train_apply_grads", "t");

    /* files */
    EXPECT_NULL(lm_net_save(NULL, path), "lm_net_save", "net");
    EXPECT_NULL(lm_net_save(net, NULL), "lm_net_save", "path");
    EXPECT_NULL(lm_net_load(NULL, path), "lm_net_load", "out");
    out = net;
    EXPECT_NULL(lm_net_load(&out, NULL), "lm_net_load", "path");
    CHECK(out == NULL);
    EXPECT_NULL(lm_net_load_mem(NULL, x, 8), "lm_net_load_mem", "out");
    EXPECT_NULL(lm_net_load_mem(&out, NULL, 8), "lm_net_load_mem", "buf");
    /* C source export (issue 15) */
    EXPECT_NULL(lm_net_export_c(NULL, "m.c", "m", 0), "lm_net_export_c", "net");
    EXPECT_NULL(lm_net_export_c(net, NULL, "m", 0), "lm_net_export_c", "path");
    EXPECT_NULL(lm_net_export_c(net, "m.c", NULL, 0), "lm_net_export_c", "name");
    EXPECT_NULL(lm_net_quantize_int8(NULL), "lm_net_quantize_int8", "net");
    EXPECT_NULL(lm_net_save_onnx(NULL, path, 0), "lm_net_save_onnx", "net");
    EXPECT_NULL(lm_net_save_onnx(net, NULL, 0), "lm_net_save_onnx", "path");
    EXPECT_NULL(lm_net_load_onnx(NULL, path), "lm_net_load_onnx", "out");
    out = net;
    EXPECT_NULL(lm_net_load_onnx(&out, NULL), "lm_net_load_onnx", "path");
    CHECK(out == NULL);
    EXPECT_NULL(lm_net_load_onnx_mem(NULL, x, 8), "lm_net_load_onnx_mem", "out");
    EXPECT_NULL(lm_net_load_onnx_mem(&out, NULL, 8), "lm_net_load_onnx_mem", "buf");
    /* FANN's files (1.6) */
    EXPECT_NULL(lm_net_load_fann(NULL, path), "lm_net_load_fann", "out");
    out = net;
    EXPECT_NULL(lm_net_load_fann(&out, NULL), "lm_net_load_fann", "path");
    CHECK(out == NULL);
    EXPECT_NULL(lm_net_load_fann_mem(NULL, x, 8), "lm_net_load_fann_mem", "out");
    EXPECT_NULL(lm_net_load_fann_mem(&out, NULL, 8), "lm_net_load_fann_mem", "buf");

    lm_ws_free(ws);
    lm_train_free(t);
    lm_net_free(net);
}

/* A trainer's and a workspace's buffers are sized by the net's shape: a
 * layer added under them used to be stepped through NULL. */
static void shape_frozen_while_used(void)
{
    lm_net *net = small_net(2, LM_SOFTMAX);
    lm_rng rng = lm_rng_seed(1);
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    size_t np = lm_net_n_params(net);
    lm_status st = lm_net_add_dense(net, 3, LM_RELU, LM_BIAS);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "frozen"), "add under a trainer -> %s: %s",
           lm_status_name(st), lm_errmsg());
    CHECK(lm_net_n_layers(net) == 2 && lm_net_n_params(net) == np);
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[8] = {1, 0, 0, 1, 0, 1, 1, 0}, loss;
    CHECK_OK(lm_train_step(t, x, y, NULL, 4, &loss));
    lm_train_free(t);

    lm_ws *w1 = NULL, *w2 = NULL;
    CHECK_OK(lm_ws_new(&w1, net, 4));
    CHECK_OK(lm_ws_new(&w2, net, 4));
    CHECK(lm_net_add_dense(net, 3, LM_RELU, LM_BIAS) == LM_EINVAL);
    /* the thread count too: a trainer holds the pool through an epoch */
    CHECK(lm_net_set_threads(net, lm_net_threads(net) + 1) == LM_EINVAL);
    lm_ws_free(w1);
    CHECK(lm_net_add_dense(net, 3, LM_RELU, LM_BIAS) == LM_EINVAL);
    lm_ws_free(w2);
    /* a failed lm_train_new leaves nothing frozen */
    o.batch = 0;
    CHECK(lm_train_new(&t, net, &o, &rng) == LM_EINVAL);
    /* lm_fit and lm_evaluate let go of the net when they return */
    o.batch = 4;
    o.epochs = 1;
    lm_data d = {.n = 4, .nx = 2, .x = x, .y = y, .ny = 2};
    CHECK_OK(lm_fit(net, &d, &o, &rng));
    CHECK_OK(lm_evaluate(net, &d, LM_LOSS_MSE, &loss, NULL));
    CHECK_OK(lm_net_add_dense(net, 3, LM_RELU, LM_BIAS));
    CHECK(lm_net_n_layers(net) == 3);
    lm_net_free(net);
}

/* Every setter validates before it changes anything. */
static void refused_setters_change_nothing(void)
{
    lm_net *net = small_net(2, LM_SOFTMAX);
    float mean[2] = {1, 2}, scale[2] = {3, 4}, bad[2] = {1, NAN}, m[2], s[2];
    CHECK_OK(lm_net_set_norm(net, mean, scale));
    CHECK(lm_net_set_norm(net, bad, scale) == LM_EINVAL);
    CHECK(lm_net_set_norm(net, mean, NULL) == LM_EINVAL);
    CHECKF(lm_net_get_norm(net, m, s) && m[0] == 1 && m[1] == 2 && s[0] == 3 && s[1] == 4,
           "a refused normalisation dropped the old one");

    const char *names[2] = {"cat", "dog"}, *three[3] = {"a", "b", "c"}, *holed[2] = {"a", NULL};
    const char *twice[2] = {"cat", "cat"};
    CHECK_OK(lm_net_set_class_names(net, 2, names));
    CHECK(lm_net_set_class_names(net, 3, three) == LM_EINVAL);
    CHECK(lm_net_set_class_names(net, 2, holed) == LM_EINVAL);
    /* a class is found by its name: two alike would make one unreachable */
    CHECK(lm_net_set_class_names(net, 2, twice) == LM_EINVAL && strstr(lm_errmsg(), "'cat' is given twice"));
    CHECK(lm_net_set_class_names(net, -1, names) == LM_EINVAL);
    CHECK(lm_net_class_name(net, 1) && strcmp(lm_net_class_name(net, 1), "dog") == 0);

    CHECK_OK(lm_net_set_meta(net, "k", "v"));
    CHECK(lm_net_set_meta(net, "", "w") == LM_EINVAL);
    size_t big = (1u << 20) + 1;
    char *longv = malloc(big + 1);
    memset(longv, 'x', big);
    longv[big] = 0;
    CHECK(lm_net_set_meta(net, "k", longv) == LM_EINVAL);
    free(longv);
    CHECK(lm_net_n_meta(net) == 1 && strcmp(lm_net_get_meta(net, "k"), "v") == 0);

    CHECK_OK(lm_net_set_threads(net, 2));
    CHECK(lm_net_set_threads(net, -1) == LM_EINVAL && lm_net_set_threads(net, 5000) == LM_EINVAL);
    CHECK(lm_net_threads(net) == 2);

    size_t np = lm_net_n_params(net);
    CHECK(lm_net_add_dense(net, 0, LM_RELU, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 3, LM_ACT_COUNT, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 3, LM_RELU, 7) == LM_EINVAL);
    CHECK(lm_net_n_layers(net) == 2 && lm_net_n_params(net) == np);
    lm_rng rng = lm_rng_seed(1);
    float before = lm_net_params(net)[0];
    CHECK(lm_net_init(net, LM_INIT_COUNT, &rng) == LM_EINVAL && lm_net_params(net)[0] == before);

    /* a resume that is refused leaves the trainer and the net as they were */
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    o.optim.kind = LM_ADAM;
    lm_train *t = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[8] = {1, 0, 0, 1, 0, 1, 1, 0}, loss;
    CHECK_OK(lm_train_step(t, x, y, NULL, 4, &loss));
    char path[128];
    snprintf(path, sizeof path, "%s/other.lmn", tmpdir);
    lm_net *other = small_net(3, LM_SOFTMAX); /* another shape */
    CHECK_OK(lm_net_save(other, path));
    float *p0 = malloc(np * sizeof(float));
    memcpy(p0, lm_net_params(net), np * sizeof(float));
    CHECK(lm_train_resume(t, path) != LM_OK);
    CHECK(lm_train_steps(t) == 1 && memcmp(p0, lm_net_params(net), np * sizeof(float)) == 0);
    CHECK(lm_net_get_norm(net, m, s) && m[0] == 1);
    free(p0);
    lm_net_free(other);
    lm_train_free(t);
    lm_net_free(net);
}

/* A label indexes the output row: 99 and -7 used to step and return
 * LM_OK. */
static void labels_out_of_range(void)
{
    lm_net *net = small_net(3, LM_SOFTMAX), *bin = small_net(1, LM_SIGMOID);
    lm_rng rng = lm_rng_seed(1);
    lm_fit_opts o = lm_fit_defaults();
    o.batch = 4;
    o.loss = LM_LOSS_CE;
    lm_train *t = NULL, *tb = NULL;
    CHECK_OK(lm_train_new(&t, net, &o, &rng));
    o.loss = LM_LOSS_BCE;
    CHECK_OK(lm_train_new(&tb, bin, &o, &rng));
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, loss = -1;
    int32_t ok[4] = {0, 1, 2, 0}, high[4] = {0, 1, 99, 0}, neg[4] = {-7, 1, 2, 0};
    int32_t b_ok[4] = {0, 1, 1, 0}, b_bad[4] = {0, 1, 2, 0};
    size_t np = lm_net_n_params(net);
    float *p0 = malloc(np * sizeof(float));
    memcpy(p0, lm_net_params(net), np * sizeof(float));
    lm_status st = lm_train_step(t, x, NULL, high, 4, &loss);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "row 2") && strstr(lm_errmsg(), "99"),
           "label 99 -> %s: %s", lm_status_name(st), lm_errmsg());
    st = lm_train_step(t, x, NULL, neg, 4, &loss);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "row 0") && strstr(lm_errmsg(), "-7"),
           "label -7 -> %s: %s", lm_status_name(st), lm_errmsg());
    CHECK(lm_train_loss_grad(t, x, NULL, high, 4, &loss) == LM_EINVAL);
    CHECK(lm_train_steps(t) == 0 && memcmp(p0, lm_net_params(net), np * sizeof(float)) == 0);
    CHECK_OK(lm_train_step(t, x, NULL, ok, 4, &loss));
    CHECK(lm_train_step(tb, x, NULL, b_bad, 4, &loss) == LM_EINVAL);
    CHECK_OK(lm_train_step(tb, x, NULL, b_ok, 4, &loss));
    lm_data d = {.n = 4, .nx = 2, .x = x, .labels = high, .n_classes = 100};
    st = lm_evaluate(net, &d, LM_LOSS_CE, &loss, NULL);
    CHECKF(st == LM_EINVAL && strstr(lm_errmsg(), "row 3"), "evaluate -> %s: %s", lm_status_name(st),
           lm_errmsg());
    CHECK(lm_train_epoch(t, &d, NULL) == LM_EINVAL);
    free(p0);
    lm_train_free(t);
    lm_train_free(tb);
    lm_net_free(net);
    lm_net_free(bin);
}

/* `test_misuse NAME` runs one case (a crash in one then hides no other). */
#define RUN_IF(fn)                                    \
    do {                                              \
        if (argc < 2 || strcmp(argv[1], #fn) == 0) RUN(fn); \
    } while (0)

int main(int argc, char **argv)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lm_misuse_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN_IF(every_function_refuses_null);
    RUN_IF(shape_frozen_while_used);
    RUN_IF(refused_setters_change_nothing);
    RUN_IF(labels_out_of_range);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
