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

#include <stdlib.h>
#include <sys/mman.h>

/* Below this a buffer is not worth a huge page (it would be rounded up to
 * 2 MiB, and a few small pages cost little). */
#define BIG_MIN ((size_t)512 << 10)
#define HUGE_PAGE ((size_t)2 << 20)

void *lm_big_alloc(size_t bytes)
{
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
