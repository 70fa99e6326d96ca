/* frozen_1_2.c - the ABI of lamina 1.2.0, frozen: every exported
 * function's type, every enum value, the layout of every public struct.
 * tests/test_abi.sh compiles it against the current include/lamina.h; it
 * compiles only while a program built against 1.2.0 still runs unchanged
 * (docs/API.md, "Versions"): a prototype whose type changed is a
 * conflicting redeclaration, a renumbered enum value or a field that
 * moved, changed size or type, or a fixed struct that grew fails a static
 * assertion. Never edit what is here; a later minor version that adds to
 * the API may freeze its additions in a file of its own. Made once from
 * the 1.2.0 header (comments dropped). Needs C11 and __typeof__ (GCC, clang). */
#include <stddef.h>

#include "lamina.h"

/* ------------------------------------------------------------ functions */

const char *lm_errmsg(void);
const char *lm_status_name(lm_status st);
const char *lm_version(void);
lm_rng lm_rng_seed(uint64_t seed);
uint64_t lm_rng_next(lm_rng *r);
float lm_rng_uniform(lm_rng *r);
float lm_rng_normal(lm_rng *r);
uint64_t lm_rng_below(lm_rng *r, uint64_t n);
const char *lm_act_name(lm_act a);
int lm_act_from_name(const char *s);
const char *lm_loss_name(lm_loss l);
int lm_loss_from_name(const char *s);
const char *lm_optim_name(lm_optim_kind k);
const char *lm_layer_kind_name(lm_layer_kind k);
int lm_optim_from_name(const char *s);
const char *lm_init_name(lm_init i);
int lm_init_from_name(const char *s);
lm_status lm_net_new(lm_net **out, int n_in);
lm_status lm_net_add_dense(lm_net *net, int n_out, lm_act act, int flags);
lm_status lm_net_set_input_shape(lm_net *net, int c, int h, int w);
lm_status lm_net_add_conv2d(lm_net *net, int filters, int kh, int kw, int stride, int pad, lm_act act, int flags);
lm_status lm_net_add_maxpool2d(lm_net *net, int size, int stride);
lm_status lm_net_add_avgpool2d(lm_net *net, int size, int stride);
lm_status lm_net_add_global_avgpool(lm_net *net);
lm_status lm_net_add_dropout(lm_net *net, float rate);
lm_status lm_net_add_batchnorm(lm_net *net, float momentum, float eps);
lm_status lm_net_init(lm_net *net, lm_init init, lm_rng *rng);
void lm_net_free(lm_net *net);
lm_status lm_net_clone(lm_net **out, const lm_net *net);
int lm_net_n_in(const lm_net *net);
int lm_net_n_out(const lm_net *net);
int lm_net_n_layers(const lm_net *net);
size_t lm_net_n_params(const lm_net *net);
lm_status lm_net_layer(const lm_net *net, int i, lm_layer_info *info);
lm_status lm_net_layer_desc(const lm_net *net, int i, lm_layer_desc *d);
float *lm_net_params(lm_net *net);
const float *lm_net_params_const(const lm_net *net);
float *lm_net_grads(lm_net *net);
size_t lm_net_n_state(const lm_net *net);
float *lm_net_state(lm_net *net);
lm_status lm_net_set_norm(lm_net *net, const float *mean, const float *scale);
int lm_net_get_norm(const lm_net *net, float *mean, float *scale);
lm_status lm_net_set_class_names(lm_net *net, int n, const char *const *names);
const char *lm_net_class_name(const lm_net *net, int i);
lm_status lm_net_set_meta(lm_net *net, const char *key, const char *value);
const char *lm_net_get_meta(const lm_net *net, const char *key);
int lm_net_n_meta(const lm_net *net);
void lm_net_meta_at(const lm_net *net, int i, const char **key, const char **value);
lm_status lm_net_set_threads(lm_net *net, int threads);
int lm_net_threads(const lm_net *net);
lm_status lm_net_set_target_norm(lm_net *net, const float *mean, const float *std);
int lm_net_get_target_norm(const lm_net *net, float *mean, float *std);
lm_status lm_net_predict(lm_net *net, const float *x, size_t n, float *y);
lm_status lm_ws_new(lm_ws **out, const lm_net *net, size_t max_rows);
void lm_ws_free(lm_ws *ws);
lm_status lm_net_predict_ws(const lm_net *net, lm_ws *ws, const float *x, size_t n, float *y);
const char *lm_data_target_name(const lm_data *d, int k);
int lm_data_shape(const lm_data *d, int *c, int *h, int *w);
void lm_data_free(lm_data *d);
lm_status lm_csv_opts_init(lm_csv_opts *o, size_t size);
lm_status lm_csv_read(lm_data *out, const char *path, const lm_csv_opts *o);
lm_status lm_csv_read_mem(lm_data *out, const char *name, const void *text, size_t len, const lm_csv_opts *o);
lm_status lm_idx_read(lm_data *out, const char *images, const char *labels);
void lm_set_alloc_limit(uint64_t bytes);
uint64_t lm_alloc_limit(void);
lm_status lm_data_norm_stats(const lm_data *d, float *mean, float *scale);
lm_status lm_data_split(const lm_data *d, float frac, lm_rng *rng, lm_data *a, lm_data *b);
const char *lm_lr_schedule_name(lm_lr_schedule s);
int lm_lr_schedule_from_name(const char *s);
lm_status lm_fit_opts_init(lm_fit_opts *o, size_t size);
lm_status lm_train_new(lm_train **out, lm_net *net, const lm_fit_opts *opts, const lm_rng *rng);
void lm_train_free(lm_train *t);
lm_status lm_train_step(lm_train *t, const float *x, const float *y, const int32_t *labels, size_t n, float *loss);
lm_status lm_train_epoch(lm_train *t, const lm_data *d, lm_epoch_info *info);
int lm_train_epochs_done(const lm_train *t);
uint64_t lm_train_steps(const lm_train *t);
int lm_train_should_stop(const lm_train *t);
int lm_train_best(const lm_train *t, lm_epoch_info *info);
int lm_train_restore_best(lm_train *t);
lm_status lm_train_save(const lm_train *t, const char *path);
lm_status lm_train_state_info(const char *path, int *has_state, int *epochs_done, uint64_t *steps);
lm_status lm_train_resume(lm_train *t, const char *path);
lm_status lm_evaluate(lm_net *net, const lm_data *d, lm_loss loss, float *out_loss, float *out_acc);
lm_status lm_fit(lm_net *net, const lm_data *d, const lm_fit_opts *opts, lm_rng *rng);
lm_status lm_train_loss_grad(lm_train *t, const float *x, const float *y, const int32_t *labels, size_t n, float *loss);
lm_status lm_train_apply_grads(lm_train *t);
lm_status lm_net_save(const lm_net *net, const char *path);
lm_status lm_net_load(lm_net **out, const char *path);
lm_status lm_net_load_mem(lm_net **out, const void *buf, size_t len);
lm_status lm_net_export_c(const lm_net *net, const char *path, const char *name, unsigned flags);
lm_status lm_net_quantize_int8(lm_net *net);
lm_status lm_net_save_onnx(const lm_net *net, const char *path, int opset);
lm_status lm_net_load_onnx(lm_net **out, const char *path);
lm_status lm_net_load_onnx_mem(lm_net **out, const void *buf, size_t len);

/* ----------------------------------------------------- enums, macros */

#define V(name, value) _Static_assert((long long)(name) == (value), #name " is not " #value)
V(LM_OK, 0);
V(LM_EINVAL, 1);
V(LM_ENOMEM, 2);
V(LM_EIO, 3);
V(LM_EFORMAT, 4);
V(LM_ENUMERIC, 5);
V(LM_ESTOPPED, 6);
V(LM_IDENTITY, 0);
V(LM_SIGMOID, 1);
V(LM_TANH, 2);
V(LM_RELU, 3);
V(LM_LEAKY_RELU, 4);
V(LM_SOFTMAX, 5);
V(LM_LOSS_SSE, 0);
V(LM_LOSS_MSE, 1);
V(LM_LOSS_BCE, 2);
V(LM_LOSS_CE, 3);
V(LM_SGD, 0);
V(LM_ADAM, 1);
V(LM_ADAMW, 2);
V(LM_INIT_UNIFORM01, 0);
V(LM_INIT_XAVIER, 1);
V(LM_INIT_HE, 2);
V(LM_LAYER_DENSE, 0);
V(LM_LAYER_CONV2D, 1);
V(LM_LAYER_MAXPOOL2D, 2);
V(LM_LAYER_AVGPOOL2D, 3);
V(LM_LAYER_GLOBAL_AVGPOOL, 4);
V(LM_LAYER_DROPOUT, 5);
V(LM_LAYER_BATCHNORM, 6);
V(LM_F32, 0);
V(LM_U8, 1);
V(LM_LR_CONSTANT, 0);
V(LM_LR_COSINE, 1);
V(LM_LR_STEP, 2);
V(LM_BIAS, 0);
V(LM_NO_BIAS, 1);
V(LM_PAD_SAME, -1);
V(LM_PAD_VALID, -2);
V(LM_OPTIM_ROOM, 128);
V(LM_EXPORT_INT8, 1);
V(LM_VERSION_MAJOR, 1);

/* The callbacks' types. */
#define SAME_TYPE(a, b) _Generic((__typeof__(a) *)0, __typeof__(b) *: 1, default: 0)
_Static_assert(SAME_TYPE(lm_epoch_cb, int (*)(const lm_epoch_info *, void *)), "lm_epoch_cb changed");
_Static_assert(SAME_TYPE(lm_batch_cb, int (*)(const lm_batch_info *, void *)), "lm_batch_cb changed");
_Static_assert(SAME_TYPE(lm_grads_cb, lm_status (*)(lm_grads_info *, void *)), "lm_grads_cb changed");
_Static_assert(SAME_TYPE(lm_reduce_cb, void (*)(double *, size_t, void *)), "lm_reduce_cb changed");

/* ------------------------------------------------------------- structs */

/* The 1.2.0 layouts, renamed. */

typedef struct lm_rng_frozen {
    uint64_t s[4];
} lm_rng_frozen;

typedef struct lm_layer_info_frozen {
    int n_in, n_out;
    lm_act act;
    int has_bias;
    size_t w_offset;
    size_t b_offset;
} lm_layer_info_frozen;

typedef struct lm_layer_desc_frozen {
    size_t size;
    lm_layer_kind kind;
    lm_act act;
    int has_bias;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int units;
    int kh, kw, stride, pad;
    float rate;
    float momentum, eps;
    size_t p_offset, n_params;
    size_t s_offset, n_state;
} lm_layer_desc_frozen;

typedef struct lm_data_frozen {
    size_t n;
    int nx;
    lm_dtype x_type;
    const void *x;
    const int32_t *labels;
    int n_classes;
    const float *y;
    int ny;
    char **class_names;
    char **feature_names;
    void *owned_;
} lm_data_frozen;

typedef struct lm_csv_opts_frozen {
    size_t size;
    int header;
    char sep;
    const char *target;
    int target_kind;
    int no_target;
    const char *ignore;
    int decimal_comma;
    const char *features;
} lm_csv_opts_frozen;

typedef struct lm_optim_opts_frozen {
    lm_optim_kind kind;
    float lr;
    float momentum;
    int nesterov;
    float beta1, beta2, eps;
    float weight_decay;
    float clip_norm;
} lm_optim_opts_frozen;

typedef struct lm_epoch_info_frozen {
    int epoch;
    int epochs;
    float train_loss;
    float train_acc;
    float val_loss;
    float val_acc;
    double seconds;
    uint64_t step;
    float lr;
} lm_epoch_info_frozen;

typedef struct lm_batch_info_frozen {
    int epoch;
    size_t batch, n_batches;
    size_t samples;
    float loss;
} lm_batch_info_frozen;

typedef struct lm_grads_info_frozen {
    float *grads;
    size_t n_grads;
    double *sums;
    size_t n_sums;
    size_t rows;
    size_t first, n;
    uint64_t step;
    float *state;
    size_t n_state;
} lm_grads_info_frozen;

typedef struct lm_fit_opts_frozen {
    size_t size;
    lm_loss loss;
    union {
        lm_optim_opts optim;
        uint64_t optim_room_[16];
    };
    lm_lr_schedule lr_schedule;
    float lr_min;
    int lr_step;
    float lr_gamma;
    int epochs;
    size_t batch;
    int shuffle;
    const lm_data *val;
    int early_stop;
    lm_epoch_cb on_epoch;
    lm_batch_cb on_batch;
    void *ctx;
    const volatile int *stop;
    int shards, shard;
    lm_grads_cb on_grads;
    void *grads_ctx;
    lm_reduce_cb on_reduce;
    void *reduce_ctx;
} lm_fit_opts_frozen;

/* F: field f of T sits where it did, with its size and type. S: T has
 * its size (the structs that never grow within a major version). G: T
 * has at least its size (the option structs, lm_layer_desc and the info
 * structs only lent to callbacks, which grow at their end). */
#define F_AT(T, f)                                                                          \
    _Static_assert(offsetof(T, f) == offsetof(T##_frozen, f) &&                             \
                   sizeof(((T *)0)->f) == sizeof(((T##_frozen *)0)->f), #T "." #f " moved")
#define F(T, f)                                                                             \
    F_AT(T, f);                                                                             \
    _Static_assert(SAME_TYPE(__typeof__(((T *)0)->f), __typeof__(((T##_frozen *)0)->f)),    \
                   #T "." #f " changed type")
#define S(T) _Static_assert(sizeof(T) == sizeof(T##_frozen), #T " changed size")
#define G(T) _Static_assert(sizeof(T) >= sizeof(T##_frozen), #T " shrank")

F(lm_rng, s);
S(lm_rng);
F(lm_layer_info, n_in);
F(lm_layer_info, n_out);
F(lm_layer_info, act);
F(lm_layer_info, has_bias);
F(lm_layer_info, w_offset);
F(lm_layer_info, b_offset);
S(lm_layer_info);
F(lm_layer_desc, size);
F(lm_layer_desc, kind);
F(lm_layer_desc, act);
F(lm_layer_desc, has_bias);
F(lm_layer_desc, in_c);
F(lm_layer_desc, in_h);
F(lm_layer_desc, in_w);
F(lm_layer_desc, out_c);
F(lm_layer_desc, out_h);
F(lm_layer_desc, out_w);
F(lm_layer_desc, units);
F(lm_layer_desc, kh);
F(lm_layer_desc, kw);
F(lm_layer_desc, stride);
F(lm_layer_desc, pad);
F(lm_layer_desc, rate);
F(lm_layer_desc, momentum);
F(lm_layer_desc, eps);
F(lm_layer_desc, p_offset);
F(lm_layer_desc, n_params);
F(lm_layer_desc, s_offset);
F(lm_layer_desc, n_state);
G(lm_layer_desc);
F(lm_data, n);
F(lm_data, nx);
F(lm_data, x_type);
F(lm_data, x);
F(lm_data, labels);
F(lm_data, n_classes);
F(lm_data, y);
F(lm_data, ny);
F(lm_data, class_names);
F(lm_data, feature_names);
F(lm_data, owned_);
S(lm_data);
F(lm_csv_opts, size);
F(lm_csv_opts, header);
F(lm_csv_opts, sep);
F(lm_csv_opts, target);
F(lm_csv_opts, target_kind);
F(lm_csv_opts, no_target);
F(lm_csv_opts, ignore);
F(lm_csv_opts, decimal_comma);
F(lm_csv_opts, features);
G(lm_csv_opts);
F(lm_optim_opts, kind);
F(lm_optim_opts, lr);
F(lm_optim_opts, momentum);
F(lm_optim_opts, nesterov);
F(lm_optim_opts, beta1);
F(lm_optim_opts, beta2);
F(lm_optim_opts, eps);
F(lm_optim_opts, weight_decay);
F(lm_optim_opts, clip_norm);
G(lm_optim_opts);
F(lm_epoch_info, epoch);
F(lm_epoch_info, epochs);
F(lm_epoch_info, train_loss);
F(lm_epoch_info, train_acc);
F(lm_epoch_info, val_loss);
F(lm_epoch_info, val_acc);
F(lm_epoch_info, seconds);
F(lm_epoch_info, step);
F(lm_epoch_info, lr);
S(lm_epoch_info); /* the caller's memory in lm_train_epoch, lm_train_best */
F(lm_batch_info, epoch);
F(lm_batch_info, batch);
F(lm_batch_info, n_batches);
F(lm_batch_info, samples);
F(lm_batch_info, loss);
G(lm_batch_info);
F(lm_grads_info, grads);
F(lm_grads_info, n_grads);
F(lm_grads_info, sums);
F(lm_grads_info, n_sums);
F(lm_grads_info, rows);
F(lm_grads_info, first);
F(lm_grads_info, n);
F(lm_grads_info, step);
F(lm_grads_info, state);
F(lm_grads_info, n_state);
G(lm_grads_info);
F(lm_fit_opts, size);
F(lm_fit_opts, loss);
F(lm_fit_opts, optim);
F(lm_fit_opts, optim_room_);
F(lm_fit_opts, lr_schedule);
F(lm_fit_opts, lr_min);
F(lm_fit_opts, lr_step);
F(lm_fit_opts, lr_gamma);
F(lm_fit_opts, epochs);
F(lm_fit_opts, batch);
F(lm_fit_opts, shuffle);
F(lm_fit_opts, val);
F(lm_fit_opts, early_stop);
F(lm_fit_opts, on_epoch);
F(lm_fit_opts, on_batch);
F(lm_fit_opts, ctx);
F(lm_fit_opts, stop);
F(lm_fit_opts, shards);
F(lm_fit_opts, shard);
F(lm_fit_opts, on_grads);
F(lm_fit_opts, grads_ctx);
F(lm_fit_opts, on_reduce);
F(lm_fit_opts, reduce_ctx);
G(lm_fit_opts);

int main(void) { return 0; }
