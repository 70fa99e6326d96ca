/* test_layers.c - the layer interface: kind names, shapes reported per
 * layer, the input shape, the add functions' checks and messages, and a
 * net built through the kind table behaving as the dense layers did. */
#include "harness.h"

#include <lamina.h>

static void kind_names(void)
{
    static const char *const want[] = {"dense", "conv2d", "maxpool2d", "avgpool2d",
                                       "global_avgpool", "dropout", "batchnorm"};
    CHECK(LM_LAYER_KIND_COUNT == 7);
    for (int k = 0; k < LM_LAYER_KIND_COUNT; k++)
        CHECKF(strcmp(lm_layer_kind_name((lm_layer_kind)k), want[k]) == 0, "kind %d is %s", k,
               lm_layer_kind_name((lm_layer_kind)k));
    CHECK(strcmp(lm_layer_kind_name(LM_LAYER_KIND_COUNT), "?") == 0);
    CHECK(strcmp(lm_layer_kind_name((lm_layer_kind)-1), "?") == 0);
}

static void input_shape(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 784));
    CHECK(lm_net_set_input_shape(net, 1, 28, 27) == LM_EINVAL && strstr(lm_errmsg(), "(1, 28, 27)") &&
          strstr(lm_errmsg(), "784"));
    CHECK(lm_net_set_input_shape(net, 0, 28, 28) == LM_EINVAL);
    CHECK_OK(lm_net_set_input_shape(net, 1, 28, 28));
    CHECK_OK(lm_net_add_dense(net, 10, LM_SOFTMAX, LM_BIAS));
    lm_layer_info li;
    CHECK_OK(lm_net_layer(net, 0, &li));
    CHECK(li.kind == LM_LAYER_DENSE && li.in_c == 1 && li.in_h == 28 && li.in_w == 28);
    CHECK(li.out_c == 10 && li.out_h == 1 && li.out_w == 1 && li.n_in == 784 && li.n_out == 10);
    CHECK(li.n_params == 7850 && li.w_offset == 0 && li.b_offset == 7840);
    /* too late once a layer is there */
    CHECK(lm_net_set_input_shape(net, 784, 1, 1) == LM_EINVAL && strstr(lm_errmsg(), "before"));
    lm_net_free(net);
}

static void dense_info_offsets(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 3));
    CHECK_OK(lm_net_add_dense(net, 4, LM_SIGMOID, LM_NO_BIAS));
    CHECK_OK(lm_net_add_dense(net, 2, LM_RELU, LM_BIAS));
    lm_layer_info a, b;
    CHECK_OK(lm_net_layer(net, 0, &a));
    CHECK_OK(lm_net_layer(net, 1, &b));
    CHECK(a.w_offset == 0 && a.b_offset == (size_t)-1 && a.n_params == 12 && !a.has_bias);
    CHECK(a.in_c == 3 && a.in_h == 1 && a.out_c == 4);
    CHECK(b.w_offset == 12 && b.b_offset == 20 && b.n_params == 10 && b.in_c == 4 && b.out_c == 2);
    CHECK(lm_net_n_params(net) == 22);
    lm_net_free(net);
}

/* Kinds whose rows are not in the table yet fail with a message naming
 * the layer and the kind, and leave the net as it was. */
static void unbuilt_kinds_refused(void)
{
    lm_net *net;
    CHECK_OK(lm_net_new(&net, 16));
    CHECK_OK(lm_net_set_input_shape(net, 1, 4, 4));
    lm_status st = lm_net_add_conv2d(net, 2, 3, 3, 1, LM_PAD_SAME, LM_RELU, LM_BIAS);
    if (st != LM_OK) CHECK(st == LM_EINVAL && strstr(lm_errmsg(), "layer 1") && strstr(lm_errmsg(), "conv2d"));
    lm_net_free(net);
    CHECK_OK(lm_net_new(&net, 16));
    CHECK(lm_net_add_dense(net, 0, LM_RELU, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 4, LM_ACT_COUNT, LM_BIAS) == LM_EINVAL);
    CHECK(lm_net_add_dense(net, 4, LM_RELU, 7) == LM_EINVAL);
    CHECK(lm_net_n_layers(net) == 0 && lm_net_n_params(net) == 0);
    lm_net_free(net);
}

/* A clone goes through the table too: same layers, same parameters, same
 * predictions. */
static void clone_through_table(void)
{
    lm_net *a, *b = NULL;
    CHECK_OK(lm_net_new(&a, 6));
    CHECK_OK(lm_net_set_input_shape(a, 2, 1, 3));
    CHECK_OK(lm_net_add_dense(a, 5, LM_TANH, LM_BIAS));
    CHECK_OK(lm_net_add_dense(a, 3, LM_SOFTMAX, LM_NO_BIAS));
    lm_rng rng = lm_rng_seed(7);
    CHECK_OK(lm_net_init(a, LM_INIT_XAVIER, &rng));
    CHECK_OK(lm_net_clone(&b, a));
    if (!b) return;
    lm_layer_info x;
    CHECK_OK(lm_net_layer(b, 0, &x));
    CHECK(x.in_c == 2 && x.in_h == 1 && x.in_w == 3);
    float in[12] = {1, -2, 3, 0.5f, 0, 1, 2, 2, -1, 0, 3, 1}, ya[6], yb[6];
    CHECK_OK(lm_net_predict(a, in, 2, ya));
    CHECK_OK(lm_net_predict(b, in, 2, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    lm_net_free(a);
    lm_net_free(b);
}

int main(void)
{
    RUN(kind_names);
    RUN(input_shape);
    RUN(dense_info_offsets);
    RUN(unbuilt_kinds_refused);
    RUN(clone_through_table);
    TEST_MAIN_END();
}
