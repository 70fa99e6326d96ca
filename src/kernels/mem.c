/* mem.c - memory for the buffers the kernels stream through every step.
 *
 * A training step of a Fashion-MNIST MLP touches about 900 pages of 4 KiB
 * (parameters, gradients, optimizer state, activations, packing scratch)
 * plus a page or two of each shuffled input row, more than the TLB
 * keeps: the optimizer's pass over the flat buffer ran at two thirds of
 * its speed in a loop that touched nothing else, and a single-row predict
 * took 13 us instead of 9. On 2 MiB pages the same buffers take a handful
 * of TLB entries. */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE */
#include "kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Below this a buffer is not worth a huge page (it would be rounded up to
 * 2 MiB, and a few small pages cost little). */
#define BIG_MIN ((size_t)512 << 10)
#define HUGE_PAGE ((size_t)2 << 20)

static atomic_uint_fast64_t hook_count, hook_bytes, hook_fail_at;

int lm__alloc_hook(size_t bytes)
{
    uint64_t k = atomic_fetch_add_explicit(&hook_count, 1, memory_order_relaxed) + 1;
    atomic_fetch_add_explicit(&hook_bytes, bytes, memory_order_relaxed);
    return k == atomic_load_explicit(&hook_fail_at, memory_order_relaxed);
}

void lm__alloc_hook_reset(uint64_t fail_at)
{
    atomic_store(&hook_fail_at, fail_at);
    atomic_store(&hook_count, 0);
    atomic_store(&hook_bytes, 0);
}

uint64_t lm__alloc_hook_count(void) { return atomic_load(&hook_count); }
uint64_t lm__alloc_hook_bytes(void) { return atomic_load(&hook_bytes); }

void *lm_big_alloc(size_t bytes)
{
    if (lm__alloc_hook(bytes)) return NULL;
    if (bytes < BIG_MIN) return aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (bytes > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
    /* advice only: where the system has no huge pages to give, the
     * buffer simply stays on small ones */
    if (p) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}
