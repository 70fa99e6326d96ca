/* act.c - activations: forward next to backward, and their names.
 * Backward works from the activation's output a, so a forward pass
 * keeps one buffer per layer. */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const act_names[LM_ACT_COUNT] = {"identity", "sigmoid", "tanh",
                                                    "relu",     "leaky",   "softmax"};

const char *lm_act_name(lm_act a)
{
    return (unsigned)a < LM_ACT_COUNT ? act_names[a] : "?";
}

int lm_act_from_name(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < LM_ACT_COUNT; i++)
        if (strcmp(s, act_names[i]) == 0) return i;
    if (strcmp(s, "linear") == 0) return LM_IDENTITY;
    if (strcmp(s, "leaky_relu") == 0) return LM_LEAKY_RELU;
    return -1;
}

/* Softmax over each row, shifted by the row max so large logits cannot
 * overflow. */
static void softmax_rows(float *x, size_t rows, int w)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * (size_t)w;
        float mx = v[0];
        for (int j = 1; j < w; j++) mx = v[j] > mx ? v[j] : mx;
        for (int j = 0; j < w; j++) v[j] -= mx;
        lm_vec_exp(v, (size_t)w);
        double sum = 0;
        for (int j = 0; j < w; j++) sum += v[j];
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < w; j++) v[j] *= inv;
    }
}

void lm__act_forward(lm_act act, float *x, size_t rows, int width)
{
    if (act == LM_SOFTMAX) softmax_rows(x, rows, width);
    else lm_act_apply(act, x, rows * (size_t)width);
}

void lm__act_backward(lm_act act, const float *a, float *d, size_t rows, int width)
{
    size_t n = rows * (size_t)width;
    switch (act) {
    case LM_IDENTITY: break;
    case LM_SIGMOID:
    case LM_TANH:
    case LM_RELU:
    case LM_LEAKY_RELU: lm_act_grad(act, a, d, n); break;
    case LM_SOFTMAX:
        /* d_in_j = a_j (d_j - sum_k d_k a_k): the row Jacobian of softmax. */
        for (size_t r = 0; r < rows; r++) {
            const float *ar = a + r * (size_t)width;
            float *dr = d + r * (size_t)width;
            double dot = 0;
            for (int j = 0; j < width; j++) dot += (double)dr[j] * ar[j];
            for (int j = 0; j < width; j++) dr[j] = ar[j] * (dr[j] - (float)dot);
        }
        break;
    default: break;
    }
}
