/* gemm.c - the GEMM driver: picks a variant once at run time (AVX-512,
 * AVX2+FMA, or the portable reference; a BLAS backend when built with
 * LM_USE_CBLAS), packs A and B into panels for the micro-kernels, blocks
 * for the caches, and splits the output between the pool's threads.
 *
 * Determinism: the K dimension is cut into blocks that depend on K alone,
 * each output element is summed by the same micro-kernel in the same
 * order wherever its tile falls, and threads split M or N, or (an NN
 * product in two K slices) run the slices, whose sums are added in the
 * same way however they were computed. So the bits never depend on the
 * thread count.
 */
#include "cpu.h"
#include "gemm_impl.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef LM_USE_CBLAS
#include <cblas.h>
#endif

/* Cache blocking. KC_MAX bounds a K block (the B micro-panel, KC x NR,
 * stays in L1); MC rows of A (MC x KC) sit in L2; NC columns of B (KC x
 * NC) in L2/L3. MC and NC are the CPU's tune (cpu.h: 96 and 512 on AMD,
 * from its L2 on Intel); the buffers are sized for the largest. The K
 * blocks alone fix each element's order of summation, and they depend on
 * K alone, never on the tune. */
#define KC_MAX 256
/* An NN product with KC_MAX < K <= 2 * KS_MAX is summed in two K slices,
 * each one block of at most KS_MAX steps: C = (sum over the first slice)
 * + (sum over the second), each slice an FMA chain in k order. The split
 * depends on K alone, so the bits do not depend on the thread count; it
 * lets two threads each own half of a layer's weight rows (the forward
 * pass reads only its slice's rows, see gemm_run), which the first layer
 * of an MLP (K = its input width) needs to keep its weights, gradients
 * and optimizer state in one core's cache. Wider K is blocked as before:
 * equal blocks of at most KC_MAX, summed in order through C. */
#define KS_MAX 512
/* The second slice's sums when the two slices run at once (M x N). */
#define PARTIAL_FLOATS ((size_t)65536)
#define PA_FLOATS ((size_t)LM__MC_MAX * KS_MAX)
#define PB_FLOATS ((size_t)KC_MAX * LM__NC_MAX)
#define SCRATCH_FLOATS (PA_FLOATS + PB_FLOATS + PARTIAL_FLOATS)
/* Lists of A's nonzero k steps, one per row panel of an MC block (every
 * MR is at least 4): ints after the floats of the same scratch block. */
#define LIST_INTS ((size_t)(LM__MC_MAX / 4) * KS_MAX)

/* Below this many multiply-adds the tiny dot-product loops beat packing. */
#define TINY_MACS 512
/* A task with at most this many rows reads B's rows in place (NN, TN):
 * packing B costs about as much as one pass of the micro-kernel over it,
 * which a few row panels do not repay (64x256x784 with B in cache: ~5%
 * faster on 1 and 2 threads). The in-place micro-panel (1 KiB stride for
 * N = 256) does not stay in L1, but streams from L2 well within its
 * bandwidth: 2 lines per 16 FMAs. */
#define DIRECT_B_MAX_M 128
/* Below this many multiply-adds one thread beats waking the others. The
 * pool's spinning workers pick a job up in well under a microsecond, so
 * the 10-wide layers of a batch-64 step (82K MACs, ~2 us alone) already
 * gain from a second thread (~1.2 us); a worker that is late leaves its
 * task to the caller, which then costs no more than running alone. */
#define SERIAL_MACS (1u << 16)

typedef lm__gemm_op gemm_op;
#define OP_NN LM__OP_NN
#define OP_TN LM__OP_TN
#define OP_NT LM__OP_NT

/* ----------------------------------------------------- variant choice */

/* The portable GEMM (no micro-kernel: the reference loops) and the BLAS
 * one; which runs is cpu.c's choice. */
const lm__gemm_impl lm__gemm_ref = {"ref", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#ifdef LM_USE_CBLAS
const lm__gemm_impl lm__gemm_blas = {"blas", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif

static inline const lm__gemm_impl *current_impl(void) { return lm__variant_now()->gemm; }

const char *lm_gemm_variant(void) { return current_impl()->name; }

/* -------------------------------------------------- per-thread scratch */

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static int g_scratch_key_ok;

static void scratch_destroy(void *p) { free(p); }
static void scratch_key_init(void)
{
    g_scratch_key_ok = pthread_key_create(&g_scratch_key, scratch_destroy) == 0;
}

/* This thread's packing buffer (SCRATCH_FLOATS, 64-byte aligned), made
 * on first use and freed when the thread exits; NULL if out of memory. */
static float *thread_scratch(void)
{
    pthread_once(&g_scratch_once, scratch_key_init);
    if (!g_scratch_key_ok) return NULL;
    float *s = pthread_getspecific(g_scratch_key);
    if (s) return s;
    s = lm_big_alloc(SCRATCH_FLOATS * sizeof(float) + LIST_INTS * sizeof(int));
    if (s && pthread_setspecific(g_scratch_key, s) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

lm_status lm__gemm_thread_prepare(void)
{
    return thread_scratch() ? LM_OK : LM_ENOMEM;
}

void lm__gemm_thread_release(void)
{
    pthread_once(&g_scratch_once, scratch_key_init);
    if (!g_scratch_key_ok) return;
    free(pthread_getspecific(g_scratch_key));
    pthread_setspecific(g_scratch_key, NULL);
}

/* The pool's threads get their packing buffers when it starts, so that
 * no step allocates and a failure is reported there (a thread without
 * them would fall back to the slow reference). The pool only calls the
 * hooks: the dependency runs from the GEMM to the pool alone. */
lm_status lm_pool_new(lm_pool **out, int threads)
{
    return lm_pool_start(out, threads, lm__gemm_thread_prepare, lm__gemm_thread_release);
}

/* --------------------------------------------------------- vector ops */

int lm_vec_all_finite(const float *x, size_t n)
{
    int (*simd)(const float *, size_t) = lm__variant_now()->all_finite;
    if (simd) return simd(x, n);
    /* exponent bits all ones means NaN or Inf; 8 lanes keep it parallel */
    uint32_t bad[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) {
            uint32_t u;
            memcpy(&u, x + i + l, sizeof u);
            bad[l] |= (u & 0x7f800000u) == 0x7f800000u;
        }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        bad[0] |= (u & 0x7f800000u) == 0x7f800000u;
    }
    uint32_t any = 0;
    for (int l = 0; l < 8; l++) any |= bad[l];
    return !any;
}

/* ------------------------------------------------------------ packing */

/* Packs rows [i0, i0+mc) x k [k0, k0+kc) of op(A) into MR-row panels,
 * zero-filling the rows past mc. NN and NT read A (M,K); TN reads A (K,M). */
static void pack_a(gemm_op op, const float *A, int lda, int i0, int mc, int k0, int kc,
                   int MR, float *pa)
{
    for (int p = 0; p < mc; p += MR, pa += (size_t)MR * kc) {
        int mr = mc - p < MR ? mc - p : MR;
        if (op == OP_TN) {
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + p;
                float *dst = pa + (size_t)k * MR;
                int r = 0;
                for (; r < mr; r++) dst[r] = src[r];
                for (; r < MR; r++) dst[r] = 0.0f;
            }
        } else {
            for (int r = 0; r < MR; r++) {
                if (r < mr) {
                    const float *src = A + (size_t)(i0 + p + r) * lda + k0;
                    for (int k = 0; k < kc; k++) pa[(size_t)k * MR + r] = src[k];
                } else {
                    for (int k = 0; k < kc; k++) pa[(size_t)k * MR + r] = 0.0f;
                }
            }
        }
    }
}

/* Packs k [k0, k0+kc) x columns [j0, j0+nc) of op(B) into NR-column
 * panels, zero-filling past nc. NN and TN read B (K,N); NT reads B (N,K). */
static void pack_b(gemm_op op, const float *B, int ldb, int k0, int kc, int j0, int nc,
                   int NR, float *pb)
{
    for (int q = 0; q < nc; q += NR, pb += (size_t)NR * kc) {
        int nr = nc - q < NR ? nc - q : NR;
        if (op != OP_NT) {
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + q;
                float *dst = pb + (size_t)k * NR;
                int c = 0;
                for (; c < nr; c++) dst[c] = src[c];
                for (; c < NR; c++) dst[c] = 0.0f;
            }
        } else {
            for (int c = 0; c < NR; c++) {
                if (c < nr) {
                    const float *src = B + (size_t)(j0 + q + c) * ldb + k0;
                    for (int k = 0; k < kc; k++) pb[(size_t)k * NR + c] = src[k];
                } else {
                    for (int k = 0; k < kc; k++) pb[(size_t)k * NR + c] = 0.0f;
                }
            }
        }
    }
}

/* ------------------------------------------------------- sparse A */

/* Whether the driver skips A's all-zero k steps (tests turn it off to
 * compare the bits of both paths). */
static int g_sparse_a = 1;
/* k steps this thread has skipped (tests); per thread, so the hot path
 * shares no cache line between threads */
static _Thread_local long g_skipped;
void lm__gemm_sparse_a(int on) { g_sparse_a = on; }
long lm__gemm_sparse_skipped(void) { return g_skipped; }

/* The k steps of a row panel of A worth running (impl->nonzero_steps
 * lists them in out) and their count; or -1 when fewer than 1 in 8 could
 * be skipped, which the dense kernel does faster. Inputs such as images
 * (blank background) have many all-zero steps; skipping them leaves the
 * bits unchanged (see lm__ukernel_idx). */
static int sparse_steps(const lm__gemm_impl *impl, const float *a, int sa, int kc, int *out)
{
    int n = impl->nonzero_steps(a, sa, kc, out);
    if (n > kc - kc / 8) return -1;
    g_skipped += kc - n;
    return n;
}

/* ------------------------------------------------------------- driver */

/* Where a product's K blocks fall; they depend on the op and K alone. */
typedef struct kblocks {
    int len;   /* steps per block (the last may be shorter) */
    int slice; /* NN in two slices: where the second starts; else 0 */
} kblocks;

static kblocks k_blocks(gemm_op op, int K)
{
    if (op == OP_NN && K > KC_MAX && K <= 2 * KS_MAX) {
        int ks = ((K + 1) / 2 + 7) & ~7; /* a multiple of 8, as the TN row split */
        return (kblocks){ks, ks};
    }
    int nkb = (K + KC_MAX - 1) / KC_MAX;
    return (kblocks){(K + nkb - 1) / nkb, 0};
}

typedef struct gemm_job {
    gemm_op op;
    int M, N, K;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float *C;
    int ldc;
    const lm_epilogue *ep; /* NULL or the epilogue (NN only) */
    const lm__gemm_impl *impl;
    kblocks kb;
    int b_direct;   /* B's rows read in place, not packed (NN, TN) */
    int split_n;    /* tasks split N (else M) */
    int units;      /* NR- or MR-wide units along the split dimension */
    int unit;       /* NR or MR */
    int ntasks;
    int parts;      /* slices at once: tasks per slice (they split N) */
    float *partial; /* slices at once: the second slice's sums (M, N) */
    int shift;      /* two row halves: row panels moved from task 1 to task 0 */
    int timed;      /* two row halves: each task writes its seconds in dur */
    double dur[2];
} gemm_job;

/* The reference on one block of C over k [k0, k1), into C (leading
 * dimension ldc) with the epilogue if epi: used only if a thread's
 * scratch cannot be allocated. */
static void block_ref(const gemm_job *j, int i0, int i1, int j0, int j1, int k0, int k1,
                      float *C, int ldc, int epi)
{
    int m = i1 - i0, n = j1 - j0, kc = k1 - k0;
    float *c = C + (size_t)i0 * ldc + j0;
    if (j->op == OP_NN) {
        lm_epilogue ep = {0};
        if (j->ep) ep = (lm_epilogue){j->ep->bias ? j->ep->bias + j0 : NULL, j->ep->act};
        lm_gemm_nn_ref(m, n, kc, j->A + (size_t)i0 * j->lda + k0, j->lda,
                       j->B + (size_t)k0 * j->ldb + j0, j->ldb, c, ldc, j->ep && epi ? &ep : NULL);
    } else if (j->op == OP_TN) {
        lm_gemm_tn_ref(m, n, kc, j->A + (size_t)k0 * j->lda + i0, j->lda,
                       j->B + (size_t)k0 * j->ldb + j0, j->ldb, c, ldc);
    } else {
        lm_gemm_nt_ref(m, n, kc, j->A + (size_t)i0 * j->lda + k0, j->lda,
                       j->B + (size_t)j0 * j->ldb + k0, j->ldb, c, ldc);
    }
}

/* ------------------------------------------- balancing two row halves */

/* A weight gradient (TN) split by rows between two tasks: each element
 * is summed over the batch alone, so which task computes a row never
 * changes its bits, and the boundary between the halves can follow the
 * work. Sparse inputs make rows uneven: in Fashion-MNIST's images the
 * lower rows of pixels hold more ink (54% of their values nonzero against
 * 46%), the row panels with more nonzero steps take longer, and the task
 * with the lower half took 6-17 us longer of ~100 us while the other
 * thread waited (bench/THREADS.md). So each product (told apart by the
 * output it writes and its shape) keeps a shift of the boundary in row
 * panels, moved one panel at a time toward equal task times: when the
 * smoothed difference of the two tasks' seconds exceeds two panels' share,
 * moving a panel shrinks it. The shift stays within an eighth of the
 * panels, so a task slowed by the machine (a busy neighbour, a host's
 * pause) moves it little and only for a while. The state is per calling
 * thread (a pool has one caller at a time); two tasks only, as on the
 * 2-core machines this was measured on: with more threads the rows are
 * shared evenly as before. */
enum { BAL_SITES = 8 };
typedef struct bal_site {
    const float *C;
    int M, N, K;
    int shift;
    double gap; /* smoothed seconds of task 1 minus task 0 */
} bal_site;
static _Thread_local bal_site g_bal[BAL_SITES];
static _Thread_local int g_bal_next;
static int g_bal_force = INT_MIN; /* tests: a fixed shift */

void lm__gemm_balance_force(int shift) { g_bal_force = shift; }

/* This thread's state of the product writing C (M x N over K), or NULL. */
static bal_site *bal_lookup(const float *C, int M, int N, int K)
{
    for (int i = 0; i < BAL_SITES; i++) {
        bal_site *b = &g_bal[i];
        if (b->C == C && b->M == M && b->N == N && b->K == K) return b;
    }
    return NULL;
}

/* j's state, made (over the oldest) if it has none. */
static bal_site *bal_find(const gemm_job *j)
{
    bal_site *b = bal_lookup(j->C, j->M, j->N, j->K);
    if (b) return b;
    b = &g_bal[g_bal_next];
    g_bal_next = (g_bal_next + 1) % BAL_SITES;
    *b = (bal_site){j->C, j->M, j->N, j->K, 0, 0.0};
    return b;
}

int lm__gemm_balance_shift(const float *C, int M, int N, int K)
{
    const bal_site *b = bal_lookup(C, M, N, K);
    return b ? b->shift : 0;
}

/* After a job of `units` row panels: the two tasks' seconds move the
 * boundary. One job's times swing by a fifth on a shared machine, ten
 * panels' worth, so the difference is averaged over about 32 jobs and a
 * panel moves only when that exceeds two panels' share. */
static void bal_learn(bal_site *b, const gemm_job *j)
{
    double d0 = j->dur[0], d1 = j->dur[1];
    if (!(d0 > 0 && d1 > 0)) return;
    double panel = (d0 + d1) / j->units;
    int lim = j->units / 8;
    b->gap += (d1 - d0 - b->gap) / 32;
    if (b->gap > 2 * panel && b->shift < lim) {
        b->shift++;
        b->gap -= 2 * panel; /* what the move should do to the difference */
    } else if (b->gap < -2 * panel && b->shift > -lim) {
        b->shift--;
        b->gap += 2 * panel;
    }
}

/* C[i0:i1, j0:j1] (C with leading dimension ldc) summed over k [k0, k1),
 * a run of whole K blocks, BLIS loop order. The epilogue follows the last
 * block if epi is set. */
static void gemm_block(const gemm_job *j, int i0, int i1, int j0, int j1, int k0, int k1,
                       float *C, int ldc, int epi)
{
    float *scratch = thread_scratch();
    if (!scratch) {
        block_ref(j, i0, i1, j0, j1, k0, k1, C, ldc, epi);
        return;
    }
    const int MR = j->impl->mr, NR = j->impl->nr, kcb = j->kb.len;
    const lm__cpu_tune *tune = lm__cpu_tune_now();
    const int MC = tune->mc, NC = tune->nc;
    float *pa = scratch, *pb = scratch + PA_FLOATS;
    int *lists = (int *)(scratch + SCRATCH_FLOATS);
    /* NT's A is a gradient, seldom zero in whole panels */
    int sparse = j->impl->kern_idx && j->impl->nonzero_steps && j->op != OP_NT && g_sparse_a;
    /* a K block longer than KC_MAX (a slice) packs fewer columns of B at
     * a time, so the packed panel still fits its buffer */
    int ncb = kcb <= KC_MAX ? NC : (int)((size_t)KC_MAX * NC / (size_t)kcb) / 32 * 32;
    const float *bias = j->ep && epi ? j->ep->bias : NULL;
    lm_act act = j->ep && epi ? j->ep->act : LM_IDENTITY;
    for (int jc = j0; jc < j1; jc += ncb) {
        int nc = j1 - jc < ncb ? j1 - jc : ncb;
        for (int pc = k0; pc < k1; pc += kcb) {
            int kc = k1 - pc < kcb ? k1 - pc : kcb;
            int acc = pc == k0 ? LM__ACC_NONE : pc == j->kb.slice ? LM__ACC_ADD : LM__ACC_LOAD;
            int last = epi && pc + kc == k1;
            if (j->b_direct) {
                /* nothing to pack: the kernels read B's rows in place */
            } else if (j->impl->pack_b) {
                j->impl->pack_b(j->op, j->B, j->ldb, pc, kc, jc, nc, pb);
            } else {
                pack_b(j->op, j->B, j->ldb, pc, kc, jc, nc, NR, pb);
            }
            for (int ic = i0; ic < i1; ic += MC) {
                int mc = i1 - ic < MC ? i1 - ic : MC;
                /* TN's A rows already hold MR consecutive values per k:
                 * whole panels are read in place, only a ragged last one
                 * is packed */
                int direct = j->op == OP_TN, full = direct ? mc / MR * MR : 0;
                if (mc > full) {
                    float *dst = pa + (size_t)full * kc;
                    if (j->impl->pack_a)
                        j->impl->pack_a(j->op, j->A, j->lda, ic + full, mc - full, pc, kc, dst);
                    else
                        pack_a(j->op, j->A, j->lda, ic + full, mc - full, pc, kc, MR, dst);
                }
                /* each row panel's nonzero k steps, listed once for all
                 * the column tiles that use it (NN and TN: A holds the
                 * data, often mostly zeros; -1: run dense) */
                int nlist[LM__MC_MAX / 4];
                for (int ir = 0, p = 0; ir < mc; ir += MR, p++) {
                    /* a dense first panel says the block is dense data (a
                     * hidden layer's activations): skip the scan */
                    if (!sparse || (p > 0 && nlist[0] < 0)) {
                        nlist[p] = -1;
                        continue;
                    }
                    nlist[p] = ir < full ? sparse_steps(j->impl, j->A + (size_t)pc * j->lda + ic + ir,
                                                        j->lda, kc, lists + p * KS_MAX)
                                         : sparse_steps(j->impl, pa + (size_t)ir * kc, MR, kc,
                                                        lists + p * KS_MAX);
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bj = bias && last ? bias + jc + jr : NULL;
                    const float *bp = pb + (size_t)jr * kc;
                    int sb = 0;
                    if (j->b_direct) {
                        bp = j->B + (size_t)pc * j->ldb + jc + jr;
                        sb = j->ldb;
                    }
                    for (int ir = 0, p = 0; ir < mc; ir += MR, p++) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        const float *ap = pa + (size_t)ir * kc;
                        int sa = MR;
                        if (ir < full) {
                            ap = j->A + (size_t)pc * j->lda + ic + ir;
                            sa = j->lda;
                        }
                        float *ct = C + (size_t)(ic + ir) * ldc + jc + jr;
                        if (nlist[p] >= 0)
                            j->impl->kern_idx(nlist[p], lists + p * KS_MAX, ap, sa, bp, sb, ct,
                                              ldc, mr, nr, acc, last, bj, act);
                        else
                            j->impl->kern(kc, ap, sa, bp, sb, ct, ldc, mr, nr, acc, last, bj,
                                          act);
                    }
                }
            }
        }
    }
}

/* Units [u0, u1) of `units`, the share of part t of `parts`. */
static void share(int units, int parts, int t, int *u0, int *u1)
{
    *u0 = (int)((long long)units * t / parts);
    *u1 = (int)((long long)units * (t + 1) / parts);
}

static void gemm_task(void *ctx, int t)
{
    gemm_job *j = ctx;
    int u0, u1;
    if (j->partial) {
        /* slices at once: task t sums slice t / parts over its share of
         * the columns, the first slice into C, the second aside */
        int s = t / j->parts, k0 = s ? j->kb.slice : 0, k1 = s ? j->K : j->kb.slice;
        share(j->units, j->parts, t % j->parts, &u0, &u1);
        int lo = u0 * j->unit, hi = u1 * j->unit < j->N ? u1 * j->unit : j->N;
        if (lo < hi)
            gemm_block(j, 0, j->M, lo, hi, k0, k1, s ? j->partial : j->C, s ? j->N : j->ldc, 0);
        return;
    }
    /* task t gets units [u0, u1) of the split dimension */
    share(j->units, j->ntasks, t, &u0, &u1);
    if (j->shift) {
        /* two row halves: the boundary moved (see bal_learn) */
        int mid = j->units / 2 + j->shift;
        mid = mid < 0 ? 0 : mid > j->units ? j->units : mid;
        u0 = t ? mid : 0;
        u1 = t ? j->units : mid;
    }
    double t0 = j->timed ? lm__now_sec() : 0;
    int lo = u0 * j->unit, hi = u1 * j->unit;
    if (j->split_n) {
        if (hi > j->N) hi = j->N;
        if (lo < hi) gemm_block(j, 0, j->M, lo, hi, 0, j->K, j->C, j->ldc, 1);
    } else {
        if (hi > j->M) hi = j->M;
        if (lo < hi) gemm_block(j, lo, hi, 0, j->N, 0, j->K, j->C, j->ldc, 1);
    }
    if (j->timed) j->dur[t] = lm__now_sec() - t0;
}

/* Slices at once, second round: task t adds the second slice's sums to
 * its share of C's rows and applies the epilogue, as a micro-kernel's
 * LM__ACC_ADD tile does (C + sum, then bias, then act). */
static void reduce_task(void *ctx, int t)
{
    const gemm_job *j = ctx;
    int r0, r1;
    share(j->M, j->ntasks, t, &r0, &r1);
    const float *bias = j->ep ? j->ep->bias : NULL;
    for (int r = r0; r < r1; r++) {
        float *c = j->C + (size_t)r * j->ldc;
        const float *q = j->partial + (size_t)r * j->N;
        if (bias)
            for (int i = 0; i < j->N; i++) c[i] = (c[i] + q[i]) + bias[i];
        else
            for (int i = 0; i < j->N; i++) c[i] += q[i];
        if (j->ep) lm_act_apply(j->ep->act, c, (size_t)j->N);
    }
}

/* Whether to run the two K slices at once, each on its own threads:
 * with two threads or more, and when the output is small enough to keep
 * the second slice's sums aside (a training batch; the weights are then
 * what the GEMM reads most, and each thread reads only its slice's). */
static int slices_at_once(const gemm_job *j, int T)
{
    return j->kb.slice && T >= 2 && (size_t)j->M * j->N <= PARTIAL_FLOATS &&
           (double)j->M * j->N * j->K >= SERIAL_MACS;
}

static void gemm_run(gemm_job *j, lm_pool *pool)
{
    /* narrow outputs (a 10-class layer) waste fewer lanes on a narrow tile;
     * the choice depends on N alone */
    if (j->impl->narrow && j->N <= j->impl->narrow->nr) j->impl = j->impl->narrow;
    int MR = j->impl->mr, NR = j->impl->nr;
    int un = (j->N + NR - 1) / NR, um = (j->M + MR - 1) / MR;
    /* 1 while the pool's threads lose (a busy neighbour): the 1-thread
     * plan then runs as fast as 1 thread does, with the same bits */
    int T = lm_pool_width(pool);
    double macs = (double)j->M * j->N * j->K;
    j->kb = k_blocks(j->op, j->K);
    float *scratch = slices_at_once(j, T) ? thread_scratch() : NULL;
    if (scratch) {
        /* tasks split N within each slice; B's rows are read in place */
        j->partial = scratch + PA_FLOATS + PB_FLOATS;
        j->parts = T / 2 < un ? T / 2 : un;
        j->units = un;
        j->unit = NR;
        j->b_direct = j->M <= DIRECT_B_MAX_M;
        lm_pool_run(pool, 2 * j->parts, gemm_task, j);
        j->ntasks = T < j->M ? T : j->M;
        lm_pool_run(pool, j->ntasks, reduce_task, j);
        return;
    }
    /* TN (a weight gradient) splits its rows when each thread gets a
     * few panels: task t then writes a contiguous part of the gradient,
     * the part of the weights the optimizer's task t updates (optim.c)
     * and, for the first layer, the slice thread t reads in the forward
     * pass. On two threads the boundary may move by up to an eighth of
     * the rows toward equal work (bal_learn); the rows it moves are then
     * the only ones whose lines cross between the cores. Otherwise split
     * N when it has a unit per thread: each thread then packs only its
     * share of B. */
    if (j->op == OP_TN && um >= 4 * T) j->split_n = 0;
    else j->split_n = un >= T || un >= um;
    j->units = j->split_n ? un : um;
    j->unit = j->split_n ? NR : MR;
    j->ntasks = macs < SERIAL_MACS ? 1 : (T < j->units ? T : j->units);
    /* A packed B panel pays off when many row panels reuse it; with few
     * rows a task reads B's rows in place instead (NT's B must be
     * transposed, so it is always packed). */
    int rows = j->split_n ? j->M : (j->M + j->ntasks - 1) / j->ntasks;
    j->b_direct = j->op != OP_NT && rows <= DIRECT_B_MAX_M;
    if (j->ntasks <= 1) {
        j->ntasks = 1;
        gemm_task(j, 0);
        return;
    }
    bal_site *b = j->op == OP_TN && !j->split_n && j->ntasks == 2 ? bal_find(j) : NULL;
    if (b) {
        j->shift = g_bal_force != INT_MIN ? g_bal_force : b->shift;
        j->timed = g_bal_force == INT_MIN;
    }
    lm_pool_run(pool, j->ntasks, gemm_task, j);
    if (b && j->timed) bal_learn(b, j);
}

/* -------------------------------------------------------- tiny shapes */

/* Below TINY_MACS (the tutorial's 4x4x3 and such) the time goes to call
 * overhead, not arithmetic, so these are plain dot products with no
 * packing, no threads and no vectorised-loop prologues (gemm_impl.h's
 * lm__tiny). Each element is summed over k in order from 0 as the
 * variant's other kernels sum it: one FMA a step in an FMA variant (its
 * lm__tiny_fn, in its own file), a multiply and an add in the reference.
 * So the bits never depend on whether a product is tiny, which depends
 * on its rows: a row alone (tiny) gets the bits it gets in a batch
 * (packed). In an FMA variant only one K block is tiny: a longer K is
 * summed in the kernels' blocks or slices. */

/* The reference's epilogue on one row: bias, then the activation. */
static void tiny_epilogue(float *c, int N, const lm_epilogue *ep)
{
    if (ep->bias)
        for (int j = 0; j < N; j++) c[j] += ep->bias[j];
    lm_act_apply(ep->act, c, (size_t)N);
}

/* A tiny product in the variant's sums, then (NN) the epilogue. */
static void tiny(const lm__gemm_impl *impl, gemm_op op, int M, int N, int K, const float *A,
                 int lda, const float *B, int ldb, float *C, int ldc, const lm_epilogue *ep)
{
    if (impl->tiny) impl->tiny(op, M, N, K, A, lda, B, ldb, C, ldc);
    else lm__tiny(0, op, M, N, K, A, lda, B, ldb, C, ldc);
    if (!ep) return;
    if (ep->bias)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] += ep->bias[j];
    /* the activation in one call when C is contiguous: a vectorised
     * activation pays a fixed cost per call (elementwise, so the same bits) */
    if (ldc == N) lm_act_apply(ep->act, C, (size_t)M * N);
    else
        for (int i = 0; i < M; i++) lm_act_apply(ep->act, C + (size_t)i * ldc, (size_t)N);
}

/* K = 0: C is zero (then the epilogue), and A and B may be NULL. */
static void zero_c(int M, int N, float *C, int ldc, const lm_epilogue *ep)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] = 0.0f;
        if (ep) tiny_epilogue(c, N, ep);
    }
}

static int is_tiny(const lm__gemm_impl *impl, int M, int N, int K)
{
    return (long long)M * N * K < TINY_MACS && (!impl->tiny || K <= KC_MAX);
}

/* ------------------------------------------------------- BLAS backend */

#ifdef LM_USE_CBLAS
static void blas_epilogue(int M, int N, float *C, int ldc, const lm_epilogue *ep)
{
    if (!ep) return;
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (ep->bias)
            for (int j = 0; j < N; j++) c[j] += ep->bias[j];
        lm_act_apply(ep->act, c, (size_t)N);
    }
}
#endif

/* ---------------------------------------------------------- public */

void lm_gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const lm_epilogue *ep, lm_pool *pool)
{
    if (M <= 0 || N <= 0) return;
    const lm__gemm_impl *impl = current_impl();
#ifdef LM_USE_CBLAS
    if (impl == &lm__gemm_blas) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb,
                    0.0f, C, ldc);
        blas_epilogue(M, N, C, ldc, ep);
        return;
    }
#endif
    if (K <= 0 || is_tiny(impl, M, N, K)) {
        if (K <= 0) zero_c(M, N, C, ldc, ep);
        else tiny(impl, OP_NN, M, N, K, A, lda, B, ldb, C, ldc, ep);
        return;
    }
    if (!impl->kern) {
        lm_gemm_nn_ref(M, N, K, A, lda, B, ldb, C, ldc, ep);
        return;
    }
    if (impl->small_m && M <= impl->small_m_max) {
        /* a few rows (inference): stream B once, no packing, no threads;
         * in the same K slices as a batch, so a row alone gets its bits */
        int ks = k_blocks(OP_NN, K).slice;
        if (ks) {
            impl->small_m(M, N, ks, A, lda, B, ldb, C, ldc, NULL, 0);
            impl->small_m(M, N, K - ks, A + ks, lda, B + (size_t)ks * ldb, ldb, C, ldc, ep, 1);
        } else {
            impl->small_m(M, N, K, A, lda, B, ldb, C, ldc, ep, 0);
        }
        return;
    }
    gemm_job j = {.op = OP_NN, .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                  .C = C, .ldc = ldc, .ep = ep, .impl = impl};
    gemm_run(&j, pool);
}

void lm_gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool)
{
    if (M <= 0 || N <= 0) return;
    const lm__gemm_impl *impl = current_impl();
#ifdef LM_USE_CBLAS
    if (impl == &lm__gemm_blas) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb,
                    0.0f, C, ldc);
        return;
    }
#endif
    if (K <= 0 || is_tiny(impl, M, N, K)) {
        if (K <= 0) zero_c(M, N, C, ldc, NULL);
        else tiny(impl, OP_TN, M, N, K, A, lda, B, ldb, C, ldc, NULL);
        return;
    }
    if (!impl->kern) {
        lm_gemm_tn_ref(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    gemm_job j = {.op = OP_TN, .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                  .C = C, .ldc = ldc, .impl = impl};
    gemm_run(&j, pool);
}

void lm_gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, lm_pool *pool)
{
    if (M <= 0 || N <= 0) return;
    const lm__gemm_impl *impl = current_impl();
#ifdef LM_USE_CBLAS
    if (impl == &lm__gemm_blas) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, lda, B, ldb,
                    0.0f, C, ldc);
        return;
    }
#endif
    if (K <= 0 || is_tiny(impl, M, N, K)) {
        if (K <= 0) zero_c(M, N, C, ldc, NULL);
        else tiny(impl, OP_NT, M, N, K, A, lda, B, ldb, C, ldc, NULL);
        return;
    }
    if (!impl->kern) {
        lm_gemm_nt_ref(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    gemm_job j = {.op = OP_NT, .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                  .C = C, .ldc = ldc, .impl = impl};
    gemm_run(&j, pool);
}
