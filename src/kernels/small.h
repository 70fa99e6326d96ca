/* small.h - the fused kernels of a small chain of matrix layers: rows go
 * a few at a time through every layer y = act(x W + b) in registers,
 * with no GEMM calls (small_avx512.c says how, and why it gives the
 * bits of the GEMM and elementwise kernels). What they see is plain
 * arrays and widths: they know nothing of nets, layers or workspaces.
 * Which net runs here, and when, is the net's plan (src/small_plan.c).
 *
 * The arithmetic is the AVX-512 variant's (cpu.h): on another CPU or
 * build lm_small_floats is 0 and nothing here runs. */
#ifndef LM_KERNELS_SMALL_H
#define LM_KERNELS_SMALL_H

#include <stddef.h>

#include "cpu.h"
#include "lamina.h"

/* The widest input or layer (a row of any layer fits one AVX-512
 * register). The kernels read up to LM_SMALL_WIDTH floats past the start
 * of any weight row or bias: the buffers the weights and biases lie in
 * must have LM_SMALL_WIDTH readable floats after their last value. */
#define LM_SMALL_WIDTH 16
/* Floats of scratch a layer carries between blocks (small_avx512.c). */
#define LM_SMALL_SCRATCH (LM_SMALL_WIDTH * LM_SMALL_WIDTH + LM_SMALL_WIDTH)

/* Whether this build has the AVX-512 kernels (x86 only). */
extern const int lm__small_built;

/* One layer as a call sees it: y = act(x W + b), W (n_in, n_out)
 * row-major, b (n_out) or NULL for none; the gradients dw, db of the
 * same shapes (db NULL where b is). act is elementwise (a softmax, or a
 * skipped activation, is LM_IDENTITY here: the caller applies it to the
 * dense rows). The widths are the ones the kernel was made for. */
typedef struct lm_small_layer {
    lm_act act;
    const float *w, *b;
    float *dw, *db;
} lm_small_layer;

/* What the kernels work out once for a chain of widths, and the buffers
 * they keep between a forward and its backward. */
typedef struct lm_small lm_small;

/* The floats of buffer a kernel of n_layers layers needs for up to rows
 * rows, a multiple of 16; 0 where the kernels cannot run (no AVX-512 in
 * the CPU or the build) or the size overflows. */
size_t lm_small_floats(int n_layers, size_t rows);

/* The kernel for n_layers layers of widths (n_layers + 1 values, each in
 * 1..LM_SMALL_WIDTH: the input's, then each layer's output), over pad
 * (lm_small_floats floats, 64-byte aligned, owned by the caller and
 * outliving the kernel); NULL if out of memory. Call only where
 * lm_small_floats is not 0 (its code uses AVX-512). Free with
 * lm_small_free (NULL is fine). */
lm_small *lm_small_new(int n_layers, const int *widths, float *pad, size_t rows);
void lm_small_free(lm_small *k);

/* Whether the kernel variant in use (cpu.h) is the one whose bits these
 * kernels reproduce: AVX-512's GEMM and elementwise kernels. Inline: it
 * is asked at every step. */
static inline int lm_small_matches_variant(void) { return lm__variant_now()->small; }

/* Forward of n rows (n <= the rows k was made for) of x (n, n_in)
 * through layer[0 .. n_layers): the last layer's output, dense, into out
 * (n, its width). Every layer's output is kept in k's buffers for the
 * backward. */
void lm_small_forward(lm_small *k, const lm_small_layer *layer, const float *x, float *out, size_t n);

/* Backward of the last forward through k (same rows, same x): dout (n,
 * last width) is the gradient with respect to the last layer's output
 * (through its act, so LM_IDENTITY there takes dout as the gradient of
 * the pre-activation). Writes every layer's dw and db (overwriting);
 * n >= 1. */
void lm_small_backward(lm_small *k, const lm_small_layer *layer, const float *x, const float *dout,
                       size_t n);

#endif
