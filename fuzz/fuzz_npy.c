/* fuzz_npy.c - libFuzzer target: fz_npy in entry.h (see that file for how
 * the input is laid out). Built and run by fuzz/run.sh. */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = fz_npy(data, size);
    if (rc == FZ_BROKEN || !fz_clean_status(rc)) {
        fprintf(stderr, "fuzz_npy: %s (status %d: %s)\n", rc == FZ_BROKEN ? fz_why : "unclean status", rc,
                lm_errmsg());
        abort();
    }
    return 0;
}
